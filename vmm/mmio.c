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

/* Whether the page was logged already; a guest touching many pages gets
 * VM_MMIO_LOG_PAGES lines and one saying that the rest go unlogged, never a
 * line per access. vCPUs of one VM fault in parallel: the table is theirs
 * together, so it is changed under the VM's device lock (without it, two
 * vCPUs could both take the last free slot and write past the table). */
static bool unbacked_logged(struct vm *vm, uint64_t page, bool *last)
{
	unsigned i, n;
	bool seen = false;

	*last = false;
	spin_lock(&vm->dev_lock);
	n = vm->mmio_logged_n < VM_MMIO_LOG_PAGES ? vm->mmio_logged_n : VM_MMIO_LOG_PAGES;
	for (i = 0; i < n && !seen; i++)
		seen = vm->mmio_logged[i] == page;
	if (!seen) {
		if (vm->mmio_logged_n < VM_MMIO_LOG_PAGES) {
			vm->mmio_logged[vm->mmio_logged_n++] = page;
		} else if (vm->mmio_logged_n == VM_MMIO_LOG_PAGES) {
			vm->mmio_logged_n++;        /* the table is full: say so once */
			*last = true;
		} else {
			seen = true;                /* full, and said so: quiet */
		}
	}
	spin_unlock(&vm->dev_lock);
	return seen;
}

#define LOG_FULL "; the pages after this one are not logged"

bool guest_mmio(struct vcpu *v, struct vm_exit *e)
{
	struct vm *vm = v->vm;
	uint64_t gpa = e->u.npf.gpa, val = 0, base = v->apic_base & ~0xfffull;
	struct x86_insn insn;
	bool lapic, last;

	if (gpa < vm->ram_size)
		return false;   /* RAM is always mapped: this is not an MMIO access */
	if (guest_decode_at_rip(v, &insn) || !insn.has_mem ||
	    (insn.kind != X86_INSN_MOV && insn.kind != X86_INSN_MOVZX && insn.kind != X86_INSN_MOVSX)) {
		log_warn("vm %s: access to unbacked address 0x%llx by an instruction the hypervisor "
			 "does not emulate", vm->name, (unsigned long long)gpa);
		return false;
	}
	lapic = (v->apic_base & APIC_BASE_ENABLE) && gpa >= base && gpa < base + 0x1000;

	if (insn.write) {
		val = insn.has_imm ? insn.imm : read_reg(v, insn.reg, insn.reg_high8);
		val &= mask_of(insn.memsize);
		if (lapic)
			lapic_write(v, (uint32_t)(gpa - base), (uint32_t)val);
		else if (!unbacked_logged(vm, gpa >> 12, &last))
			log_info("vm %s: write to unbacked address 0x%llx dropped (logged once per page%s)",
				 vm->name, (unsigned long long)gpa, last ? LOG_FULL : "");
	} else {
		if (lapic) {
			uint32_t off = (uint32_t)(gpa - base);

			val = lapic_read(v, off & ~0xfu) >> ((off & 3) * 8);
		} else {
			val = ~0ull;
			if (!unbacked_logged(vm, gpa >> 12, &last))
				log_info("vm %s: read of unbacked address 0x%llx gives all-ones "
					 "(logged once per page%s)", vm->name, (unsigned long long)gpa,
					 last ? LOG_FULL : "");
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
