/* MMIO emulation: a nested page fault on a guest-physical address that is
 * not RAM. The address goes to the first device on the VM's MMIO bus that
 * claims it (include/tscvisor/io.h: the local APIC page of
 * vmm/dev/lapic.c, in xAPIC mode only); any other address reads all-ones
 * and drops writes, logged once per page (docs/platform.md "Outside RAM").
 *
 * Every instruction a guest plausibly aims at such an address is carried
 * out here on the data the device gives: the decoder (pure/x86_decode.c)
 * names the operands, pure/x86_alu.c computes the result and the flags
 * (both pure and host-tested), and this file reads the device, writes the
 * registers and the device, and advances RIP. Anything else ends the VM
 * with the instruction bytes in a rate-limited log line: the hypervisor
 * never guesses an instruction's effect. */
#include <tscvisor/guest.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>
#include <tscvisor/x86_alu.h>

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

int mmio_register(struct vm *vm, const struct mmio_region *r)
{
	struct mmio_bus *b = &vm->mmio;

	if (b->n >= IO_MAX_MMIO_REGIONS || (!r->claims && r->first > r->last)) {
		log_err("vm %s: device %s: MMIO range 0x%lx-0x%lx cannot be registered (%s)", vm->name,
			r->name, r->first, r->last, b->n >= IO_MAX_MMIO_REGIONS ? "table full" : "empty range");
		return -1;
	}
	b->r[b->n++] = *r;
	return 0;
}

static const struct mmio_region *claimant(struct vcpu *v, uint64_t gpa)
{
	const struct mmio_region *r = v->vm->mmio.r, *end = r + v->vm->mmio.n;

	for (; r < end; r++)
		if (r->claims ? r->claims(v, gpa) : gpa >= r->first && gpa <= r->last)
			return r;
	return NULL;
}

/* Whether the page was logged already; a guest touching many pages gets
 * VM_MMIO_LOG_PAGES lines and one saying that the rest go unlogged, never a
 * line per access. vCPUs of one VM fault in parallel: the table is theirs
 * together, so it is changed under the VM's device lock (without it, two
 * vCPUs could both take the last free slot and write past the table). */
static bool unbacked_logged(struct vm *vm, uint64_t page, bool *last)
{
	struct mmio_bus *b = &vm->mmio;
	unsigned i, n;
	bool seen = false;

	*last = false;
	spin_lock(&vm->dev_lock);
	n = b->logged_n < VM_MMIO_LOG_PAGES ? b->logged_n : VM_MMIO_LOG_PAGES;
	for (i = 0; i < n && !seen; i++)
		seen = b->logged[i] == page;
	if (!seen) {
		if (b->logged_n < VM_MMIO_LOG_PAGES) {
			b->logged[b->logged_n++] = page;
		} else if (b->logged_n == VM_MMIO_LOG_PAGES) {
			b->logged_n++;              /* the table is full: say so once */
			*last = true;
		} else {
			seen = true;                /* full, and said so: quiet */
		}
	}
	spin_unlock(&vm->dev_lock);
	return seen;
}

#define LOG_FULL "; the pages after this one are not logged"

static uint64_t dev_read(struct vcpu *v, uint64_t gpa, unsigned size)
{
	const struct mmio_region *r = claimant(v, gpa);
	bool last;

	if (r)
		return r->read ? r->read(v, r->dev, gpa, size) & mask_of(size) : mask_of(size);
	if (!unbacked_logged(v->vm, gpa >> X86_PAGE_SHIFT, &last))
		vm_info(v->vm, "vm %s: read of unbacked address 0x%lx gives all-ones (logged once per page%s)",
			v->vm->name, gpa, last ? LOG_FULL : "");
	return mask_of(size);
}

static void dev_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val)
{
	const struct mmio_region *r = claimant(v, gpa);
	bool last;

	if (r) {
		if (r->write)
			r->write(v, r->dev, gpa, size, val & mask_of(size));
		return;
	}
	if (!unbacked_logged(v->vm, gpa >> X86_PAGE_SHIFT, &last))
		vm_info(v->vm, "vm %s: write to unbacked address 0x%lx dropped (logged once per page%s)",
			v->vm->name, gpa, last ? LOG_FULL : "");
}

static void set_flags(struct vcpu *v, uint64_t f)
{
	v->regs.rflags = (v->regs.rflags & ~X86_ARITH_FLAGS) | (f & X86_ARITH_FLAGS);
}

/* An address register (rSI, rDI, rCX) of the string instructions at the
 * address size: 16 bits leave the rest alone, 32 bits zero-extend. */
static void add_areg(struct vcpu *v, unsigned idx, unsigned asz, int64_t delta)
{
	uint64_t *r = gpr_by_index(&v->regs, idx);

	write_reg(v, idx, false, asz, *r + (uint64_t)delta);
}

#define R_AX 0
#define R_CX 1
#define R_SI 6
#define R_DI 7

/* STOS, LODS, SCAS with one operand in MMIO: the elements that fall in the
 * faulting page are done now (the same page, so the same device); the
 * instruction is then finished (RIP advanced) or, with REP and a count
 * left, re-executed by the guest, which faults again on the next page or
 * runs natively where the next element is RAM (SDM Vol. 2 "REP": a
 * repeated string instruction can be interrupted and resumed). */
static void string_op(struct vcpu *v, const struct x86_insn *in, uint64_t gpa)
{
	unsigned size = in->opsize, asz = in->addrsize, idx;
	int64_t step = (v->regs.rflags & X86_DF) ? -(int64_t)size : (int64_t)size;
	uint64_t left, n, i, f, acc;
	bool done = false;

	/* Elements from gpa to the edge of its page in the direction of DF. */
	if (step > 0)
		left = (X86_PAGE_SIZE - (gpa & (X86_PAGE_SIZE - 1)) + size - 1) / size;
	else
		left = (gpa & (X86_PAGE_SIZE - 1)) / size + 1;
	n = in->rep ? read_reg(v, R_CX, false) & mask_of(asz) : 1;
	if (n > left)
		n = left;
	if (!n)
		n = 1;   /* cannot fault with rCX = 0; be safe */
	idx = in->kind == X86_INSN_LODS ? R_SI : R_DI;
	acc = read_reg(v, R_AX, false) & mask_of(size);
	for (i = 0; i < n && !done; i++, gpa += (uint64_t)step) {
		switch (in->kind) {
		case X86_INSN_STOS:
			dev_write(v, gpa, size, acc);
			break;
		case X86_INSN_LODS:
			write_reg(v, R_AX, false, size, dev_read(v, gpa, size));
			break;
		default:                /* SCAS: CMP rAX, mem */
			x86_alu(X86_ALU_CMP, size, acc, dev_read(v, gpa, size), v->regs.rflags, &f);
			set_flags(v, f);
			if (in->rep && ((in->last_rep == X86_PREFIX_REP) != !!(f & X86_ZF)))
				done = true;   /* REPE: stop on unequal; REPNE: on equal */
			break;
		}
		add_areg(v, idx, asz, step);
		if (in->rep) {
			add_areg(v, R_CX, asz, -1);
			if (!(read_reg(v, R_CX, false) & mask_of(asz)))
				done = true;
		}
	}
	if (!in->rep || done)
		v->regs.rip += in->len;
}

static void refuse(struct vcpu *v, uint64_t gpa, const char *why)
{
	uint8_t b[X86_MAX_INSN_LEN];
	char hex[3 * X86_MAX_INSN_LEN + 1];
	unsigned n = guest_bytes_at_rip(v, b), i;
	static const char digits[] = "0123456789abcdef";

	for (i = 0; i < n; i++) {
		hex[3 * i] = digits[b[i] >> 4];
		hex[3 * i + 1] = digits[b[i] & 15];
		hex[3 * i + 2] = i + 1 < n ? ' ' : 0;
	}
	hex[n ? 3 * n - 1 : 0] = 0;
	vm_warn(v->vm, "vm %s: access to unbacked address 0x%lx at RIP 0x%lx by an instruction the "
		       "hypervisor does not emulate (%s; bytes: %s)", v->vm->name, gpa, v->regs.rip, why,
		n ? hex : "unreadable");
}

bool guest_mmio(struct vcpu *v, struct vm_exit *e)
{
	struct vm *vm = v->vm;
	uint64_t gpa = e->u.npf.gpa, val, m, src, f;
	unsigned size;
	struct x86_insn in;

	if (gmem_is_ram(vm->ram_size, gpa))
		return false;   /* RAM is always mapped: this is not an MMIO access */
	/* The guest's page tables point outside RAM: the instruction's own
	 * operand was never reached, so there is nothing to emulate (giving it
	 * all-ones would complete an access its tables do not map). */
	if (e->u.npf.walk) {
		log_warn("vm %s: the guest's page-table walk reached unbacked address 0x%lx",
			 vm->name, gpa);
		return false;
	}
	if (e->u.npf.fetch) {
		refuse(v, gpa, "instruction fetch");
		return false;
	}
	if (guest_decode_at_rip(v, &in)) {
		refuse(v, gpa, "not decoded");
		return false;
	}
	switch (in.kind) {
	case X86_INSN_STOS:
	case X86_INSN_LODS:
	case X86_INSN_SCAS:
		string_op(v, &in, gpa);
		return true;
	case X86_INSN_MOVS:
	case X86_INSN_CMPS:
	case X86_INSN_PUSH:
	case X86_INSN_POP:
		/* A second memory operand through the guest's page tables
		 * (with its own faults): not emulated. */
		refuse(v, gpa, "second memory operand");
		return false;
	default:
		break;
	}
	if (!in.has_mem) {
		refuse(v, gpa, x86_insn_kind_name(in.kind));
		return false;
	}
	size = in.memsize;
	m = mask_of(in.opsize);

	switch (in.kind) {
	case X86_INSN_MOV:
		if (in.write) {
			val = in.has_imm ? in.imm : read_reg(v, in.reg, in.reg_high8);
			dev_write(v, gpa, size, val);
		} else {
			write_reg(v, in.reg, in.reg_high8, in.opsize, dev_read(v, gpa, size));
		}
		break;
	case X86_INSN_MOVZX:
	case X86_INSN_MOVSX:
		val = dev_read(v, gpa, size);
		if (in.kind == X86_INSN_MOVSX && size < 8 && (val >> (size * 8 - 1)) & 1)
			val |= ~mask_of(size);
		write_reg(v, in.reg, in.reg_high8, in.opsize, val);
		break;
	case X86_INSN_ALU:
	case X86_INSN_TEST:
	case X86_INSN_BT: {
		enum x86_alu_op op = in.kind == X86_INSN_TEST ? X86_ALU_TEST :
				     in.kind == X86_INSN_BT ? (enum x86_alu_op)(X86_ALU_BT + in.alu_op) :
				     (enum x86_alu_op)in.alu_op;

		src = in.has_imm ? in.imm : read_reg(v, in.reg, in.reg_high8) & m;
		val = dev_read(v, gpa, size);
		if (in.mem_is_dst) {
			val = x86_alu(op, size, val, src, v->regs.rflags, &f);
			if (in.write)
				dev_write(v, gpa, size, val);
		} else {
			val = x86_alu(op, size, src, val, v->regs.rflags, &f);
			if (op != X86_ALU_CMP)
				write_reg(v, in.reg, in.reg_high8, in.opsize, val);
		}
		set_flags(v, f);
		break;
	}
	case X86_INSN_INC:
	case X86_INSN_DEC:
	case X86_INSN_NOT:
	case X86_INSN_NEG:
		val = x86_alu(in.kind == X86_INSN_INC ? X86_ALU_INC : in.kind == X86_INSN_DEC ? X86_ALU_DEC :
			      in.kind == X86_INSN_NOT ? X86_ALU_NOT : X86_ALU_NEG,
			      size, dev_read(v, gpa, size), 0, v->regs.rflags, &f);
		dev_write(v, gpa, size, val);
		set_flags(v, f);
		break;
	case X86_INSN_XCHG:
		val = dev_read(v, gpa, size);
		dev_write(v, gpa, size, read_reg(v, in.reg, in.reg_high8));
		write_reg(v, in.reg, in.reg_high8, in.opsize, val);
		break;
	case X86_INSN_XADD:
		val = dev_read(v, gpa, size);
		src = read_reg(v, in.reg, in.reg_high8) & m;
		dev_write(v, gpa, size, x86_alu(X86_ALU_ADD, size, val, src, v->regs.rflags, &f));
		write_reg(v, in.reg, in.reg_high8, in.opsize, val);
		set_flags(v, f);
		break;
	case X86_INSN_CMPXCHG:
		/* CMP rAX, mem; equal: mem = src, else rAX = mem. The SDM's
		 * write-back of the unchanged value on a miss is not passed to
		 * the APIC (it would be a second register write, e.g. an EOI). */
		val = dev_read(v, gpa, size);
		x86_alu(X86_ALU_CMP, size, read_reg(v, R_AX, false) & m, val, v->regs.rflags, &f);
		if (f & X86_ZF)
			dev_write(v, gpa, size, read_reg(v, in.reg, in.reg_high8));
		else
			write_reg(v, R_AX, false, in.opsize, val);
		set_flags(v, f);
		break;
	case X86_INSN_SETCC:
		dev_write(v, gpa, 1, x86_cond(in.alu_op, v->regs.rflags));
		break;
	default:
		refuse(v, gpa, x86_insn_kind_name(in.kind));
		return false;
	}
	v->regs.rip += in.len;
	return true;
}
