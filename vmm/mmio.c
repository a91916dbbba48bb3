/* MMIO emulation: a nested page fault on a guest-physical address that is
 * not RAM. The local APIC page is emulated (vmm/lapic.c); any other address
 * reads all-ones and drops writes, logged once per page (SPEC section 6). */
#include <tscvisor/guest.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>

static uint64_t mask_of(unsigned bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

static uint64_t read_reg(struct vcpu *v, unsigned idx, bool high8)
{
	if (high8)
		return (*gpr_by_index(&v->regs, idx - 4) >> 8) & 0xff;
	return *gpr_by_index(&v->regs, idx);
}

/* Register write with x86's width rules: 32-bit results zero-extend to 64
 * bits, 8- and 16-bit results leave the rest of the register alone. */
static void write_reg(struct vcpu *v, unsigned idx, bool high8, unsigned bytes, uint64_t val)
{
	uint64_t *r;

	if (high8) {
		r = gpr_by_index(&v->regs, idx - 4);
		*r = (*r & ~0xff00ull) | ((val & 0xff) << 8);
		return;
	}
	r = gpr_by_index(&v->regs, idx);
	if (bytes == 4)
		*r = (uint32_t)val;
	else if (bytes == 8)
		*r = val;
	else
		*r = (*r & ~mask_of(bytes)) | (val & mask_of(bytes));
}

static bool unbacked_logged(struct vm *vm, uint64_t page)
{
	unsigned i;

	for (i = 0; i < vm->mmio_logged_n; i++)
		if (vm->mmio_logged[i] == page)
			return true;
	if (vm->mmio_logged_n < VM_MMIO_LOG_PAGES)
		vm->mmio_logged[vm->mmio_logged_n++] = page;
	return false;
}

bool guest_mmio(struct vcpu *v, struct vm_exit *e)
{
	struct vm *vm = v->vm;
	uint64_t gpa = e->u.npf.gpa, val = 0, base = v->apic_base & ~0xfffull;
	struct x86_insn insn;
	bool lapic;

	if (gpa < vm->ram_size)
		return false;   /* RAM is always mapped: this is not an MMIO access */
	/* The guest's page tables point outside RAM: the instruction's own
	 * operand was never reached, so there is nothing to emulate (giving it
	 * all-ones would complete an access its tables do not map). */
	if (e->u.npf.walk) {
		log_warn("vm %s: the guest's page-table walk reached unbacked address 0x%llx",
			 vm->name, (unsigned long long)gpa);
		return false;
	}
	if (guest_decode_at_rip(v, &insn) || !insn.has_mem ||
	    (insn.kind != X86_INSN_MOV && insn.kind != X86_INSN_MOVZX && insn.kind != X86_INSN_MOVSX)) {
		vm_warn(vm, "vm %s: access to unbacked address 0x%llx by an instruction the hypervisor "
			    "does not emulate", vm->name, (unsigned long long)gpa);
		return false;
	}
	lapic = (v->apic_base & APIC_BASE_ENABLE) && gpa >= base && gpa < base + 0x1000;

	if (insn.write) {
		val = insn.has_imm ? insn.imm : read_reg(v, insn.reg, insn.reg_high8);
		val &= mask_of(insn.memsize);
		if (lapic)
			lapic_write(v, (uint32_t)(gpa - base), (uint32_t)val);
		else if (!unbacked_logged(vm, gpa >> 12))
			vm_info(vm, "vm %s: write to unbacked address 0x%llx dropped (logged once per page)",
				    vm->name, (unsigned long long)gpa);
	} else {
		if (lapic) {
			uint32_t off = (uint32_t)(gpa - base);

			val = lapic_read(v, off & ~0xfu) >> ((off & 3) * 8);
		} else {
			val = ~0ull;
			if (!unbacked_logged(vm, gpa >> 12))
				vm_info(vm, "vm %s: read of unbacked address 0x%llx gives all-ones "
					    "(logged once per page)", vm->name, (unsigned long long)gpa);
		}
		val &= mask_of(insn.memsize);
		if (insn.kind == X86_INSN_MOVSX && insn.memsize < 8 &&
		    (val >> (insn.memsize * 8 - 1)) & 1)
			val |= ~mask_of(insn.memsize);
		write_reg(v, insn.reg, insn.reg_high8, insn.opsize, val);
	}
	v->regs.rip += insn.len;
	return true;
}
