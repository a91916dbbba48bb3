/* The guest's instruction stream: where RIP points, through the guest's own
 * page tables, and what the instruction there is. Needed where the hardware
 * gives no instruction length (SVM without NRIPS) or no decoded operands
 * (MMIO without decode assists). */
#include <string.h>
#include <tscvisor/guest.h>
#include <tscvisor/guest_walk.h>
#include <tscvisor/vm.h>

#define EFER_LMA   (1ull << 10)
#define SEG_ATTR_L (1u << 9)
#define SEG_ATTR_D (1u << 10)

bool guest_long_mode(struct vcpu *v)
{
	struct vcpu_sregs s;

	v->vm->ops->get_sregs(v, &s);
	return (s.efer & EFER_LMA) && (s.seg[SEG_CS].attr & SEG_ATTR_L);
}

static int read_guest_ram(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	const struct vm *vm = ctx;

	if (gpa >= vm->ram_size || len > vm->ram_size - gpa)
		return -1;
	memcpy(buf, vm->ram + gpa, len);
	return 0;
}

int guest_decode_at_rip(struct vcpu *v, struct x86_insn *insn)
{
	struct vcpu_sregs s;
	struct guest_mmu mmu;
	enum cpu_mode mode;
	uint8_t bytes[X86_MAX_INSN_LEN];
	unsigned got = 0;
	uint64_t la;

	v->vm->ops->get_sregs(v, &s);
	mode = x86_cpu_mode(s.cr0, s.efer, v->regs.rflags, s.seg[SEG_CS].attr & SEG_ATTR_L,
			    s.seg[SEG_CS].attr & SEG_ATTR_D);
	/* In 64-bit mode the CS base is ignored (SDM Vol. 3A 3.2.4). */
	la = mode == CPU_MODE_64 ? v->regs.rip : s.seg[SEG_CS].base + v->regs.rip;
	mmu = (struct guest_mmu){
		.cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer,
		.maxphyaddr = 48, .read_gpa = read_guest_ram, .ctx = v->vm,
	};
	if (guest_fetch(&mmu, la, bytes, sizeof(bytes), &got, NULL, NULL) != GW_OK || !got)
		return -1;
	return x86_decode(bytes, got, mode, insn) == 0 ? 0 : -1;
}
