/* mmio_insns: every instruction form a guest may aim at memory that is not
 * RAM gets the architectural answer. Unbacked guest-physical memory reads
 * as all-ones and drops writes (docs/platform.md "Outside RAM"), so each
 * form is run twice: on an 8-byte buffer of all-ones in RAM (the
 * reference: what the CPU itself does on that data) and on the target
 * address, with the same registers and flags in. The registers the form
 * writes (RAX RCX RSI RDI) and the flags the SDM defines for it must be
 * equal, and a plain load of the target must still give all-ones (the
 * write was dropped). Targets: the first byte past RAM and the MMIO hole's
 * start (0xC0000000), through the library's identity map. The VM going on
 * to the end is itself the check that nothing was refused.
 *
 * Option fill=0 makes the expected data zero: bare QEMU reads its unassigned
 * addresses as 0, so `scripts/bare-test mmio_insns.elf -m 16 -append
 * fill=0` runs the same forms against QEMU's own devices as a reference.
 *
 * Option do=movs: a MOVSB from RAM to the first byte past RAM, a form the
 * hypervisor does not emulate (a second memory operand): the VM must be
 * ended with a reason naming the instruction bytes (a4), and the next VM
 * must run. */
#include "guest.h"
#include "pvclock.h"

struct st {
	u64 rax, rcx, rsi, rdi, fl;
};

typedef void (*form_fn)(struct st *);

/* The form runs with RFLAGS = s->fl in and stores RFLAGS out (the guest
 * library builds without a red zone, so PUSHF/POPF are safe here). */
#define FORM(name, text) \
static void name(struct st *s) \
{ \
	__asm__ volatile("push %[fl]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[fl]" \
			 : "+a"(s->rax), "+c"(s->rcx), "+S"(s->rsi), "+D"(s->rdi), [fl] "+r"(s->fl) \
			 : : "cc", "memory"); \
}

#define CF 0x001
#define PF 0x004
#define AF 0x010
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define ALL (CF | PF | AF | ZF | SF | OF)
#define LOGIC (ALL & ~AF)

FORM(f_add_mr, "addl %%ecx, (%%rdi)")
FORM(f_add_rm, "addl (%%rdi), %%ecx")
FORM(f_or_b, "orb %%cl, (%%rdi)")
FORM(f_adc_rm, "adcq (%%rdi), %%rcx")
FORM(f_sbb_w, "sbbw %%cx, (%%rdi)")
FORM(f_and_imm, "andl $0x0f0f, (%%rdi)")
FORM(f_sub_imm8, "subq $1, (%%rdi)")
FORM(f_xor_rm, "xorl (%%rdi), %%ecx")
FORM(f_cmp_imm, "cmpl $-2, (%%rdi)")
FORM(f_cmp_rm, "cmpb (%%rdi), %%cl")
FORM(f_test_mr, "testl %%ecx, (%%rdi)")
FORM(f_test_imm, "testb $0x80, (%%rdi)")
FORM(f_mov_imm, "movl $0x12345678, (%%rdi)")
FORM(f_mov_imm16, "movw $0x1234, (%%rdi)")
FORM(f_mov_load, "movq (%%rdi), %%rcx")
FORM(f_inc, "incl (%%rdi)")
FORM(f_dec, "decw (%%rdi)")
FORM(f_not, "notq (%%rdi)")
FORM(f_neg, "negl (%%rdi)")
FORM(f_xchg, "xchgl %%ecx, (%%rdi)")
FORM(f_bt, "btl %%ecx, (%%rdi)")
FORM(f_bts, "btsl $5, (%%rdi)")
FORM(f_btr, "btrq %%rcx, (%%rdi)")
FORM(f_btc, "btcw $1, (%%rdi)")
FORM(f_sete, "sete (%%rdi)")
FORM(f_cmpxchg, "lock cmpxchgl %%ecx, (%%rdi)")
FORM(f_xadd, "lock xaddl %%ecx, (%%rdi)")
FORM(f_lock_add, "lock addl $1, (%%rdi)")
FORM(f_stos, "rep stosl")
FORM(f_stos_down, "std\n\trep stosb\n\tcld")
FORM(f_lods, "rep lodsb")
FORM(f_lods_q, "lodsq")
FORM(f_scas_e, "repe scasl")
FORM(f_scas_ne, "repne scasb")
FORM(f_scas_stop, "repe scasb")

struct form {
	const char *name;
	form_fn fn;
	u64 rax, rcx, fl, flags_defined;
	int off;                /* operand offset from the target (within 8 bytes) */
};

static const struct form forms[] = {
	{ "add [m],ecx", f_add_mr, 0, 1, 2, ALL, 0 },
	{ "add ecx,[m]", f_add_rm, 0, 5, 2, ALL, 0 },
	{ "or [m],cl", f_or_b, 0, 0x10, 2, LOGIC, 0 },
	{ "adc rcx,[m] (CF=1)", f_adc_rm, 0, 7, 2 | CF, ALL, 0 },
	{ "sbb [m],cx (CF=1)", f_sbb_w, 0, 0xfffe, 2 | CF, ALL, 0 },
	{ "and [m],imm32", f_and_imm, 0, 0, 2, LOGIC, 0 },
	{ "sub qword [m],imm8", f_sub_imm8, 0, 0, 2, ALL, 0 },
	{ "xor ecx,[m]", f_xor_rm, 0, 0x12345678, 2, LOGIC, 0 },
	{ "cmp [m],imm8", f_cmp_imm, 0, 0, 2, ALL, 0 },
	{ "cmp cl,[m]", f_cmp_rm, 0, 0x7f, 2, ALL, 0 },
	{ "test [m],ecx", f_test_mr, 0, 0x80000000, 2, LOGIC, 0 },
	{ "test byte [m],imm8", f_test_imm, 0, 0, 2, LOGIC, 0 },
	{ "mov dword [m],imm32", f_mov_imm, 0, 0, 2, ALL, 0 },
	{ "mov word [m],imm16", f_mov_imm16, 0, 0, 2, ALL, 2 },
	{ "mov rcx,[m]", f_mov_load, 0, 0, 2, ALL, 0 },
	{ "inc dword [m]", f_inc, 0, 0, 2 | CF, ALL, 0 },
	{ "dec word [m]", f_dec, 0, 0, 2, ALL, 0 },
	{ "not qword [m]", f_not, 0, 0, 2 | ZF | CF, ALL, 0 },
	{ "neg dword [m]", f_neg, 0, 0, 2, ALL, 0 },
	{ "xchg [m],ecx", f_xchg, 0, 0x55, 2, ALL, 0 },
	{ "bt [m],ecx", f_bt, 0, 33, 2, CF, 0 },
	{ "bts [m],5", f_bts, 0, 0, 2, CF, 0 },
	{ "btr [m],rcx", f_btr, 0, 3, 2, CF, 0 },
	{ "btc word [m],1", f_btc, 0, 0, 2, CF, 0 },
	{ "sete [m]", f_sete, 0, 0, 2 | ZF, ALL, 0 },
	{ "lock cmpxchg (equal)", f_cmpxchg, 0xffffffff, 9, 2, ALL, 0 },
	{ "lock cmpxchg (not equal)", f_cmpxchg, 5, 9, 2, ALL, 0 },
	{ "lock xadd [m],ecx", f_xadd, 0, 3, 2, ALL, 0 },
	{ "lock add [m],imm8", f_lock_add, 0, 0, 2, ALL, 0 },
	{ "rep stosd (rcx=2)", f_stos, 0xabcd, 2, 2, ALL, 0 },
	{ "std; rep stosb (rcx=3)", f_stos_down, 0xab, 3, 2, ALL, 4 },
	{ "rep lodsb (rcx=3)", f_lods, 0x1234, 3, 2, ALL, 0 },
	{ "lodsq", f_lods_q, 0, 0, 2, ALL, 0 },
	{ "repe scasd (all equal)", f_scas_e, 0xffffffff, 2, 2, ALL, 0 },
	{ "repne scasb (none equal)", f_scas_ne, 0, 3, 2, ALL, 0 },
	{ "repe scasb (stops at once)", f_scas_stop, 0, 3, 2, ALL, 0 },
};

/* The reference buffer: 16 bytes of all-ones, 8-byte aligned, in RAM. */
static u64 ref_buf[2] __attribute__((aligned(16)));
static u64 fill = ~0ull;

static void run(const struct form *f, u64 base, struct st *s)
{
	s->rax = f->rax;
	s->rcx = f->rcx;
	s->rsi = base + (u64)f->off;
	s->rdi = base + (u64)f->off;
	s->fl = f->fl;
	f->fn(s);
}

static void check_target(u64 target, const char *what)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		const struct form *f = &forms[i];
		struct st r, t;
		u64 after;

		ref_buf[0] = ref_buf[1] = fill;
		run(f, (u64)(uintptr_t)ref_buf, &r);
		run(f, target, &t);
		after = *(volatile u64 *)(uintptr_t)target;
		/* Pointers differ by the base; compare their advance. */
		r.rsi -= (u64)(uintptr_t)ref_buf;
		r.rdi -= (u64)(uintptr_t)ref_buf;
		t.rsi -= target;
		t.rdi -= target;
		ok(r.rax == t.rax && r.rcx == t.rcx && r.rsi == t.rsi && r.rdi == t.rdi &&
		   !((r.fl ^ t.fl) & f->flags_defined) && after == fill,
		   "%s: %s as on the same data in RAM, write dropped", what, f->name);
		if (r.rax != t.rax || r.rcx != t.rcx || r.rsi != t.rsi || r.rdi != t.rdi ||
		    ((r.fl ^ t.fl) & f->flags_defined) || after != fill)
			diag("ref rax %llx rcx %llx rsi %+lld rdi %+lld fl %llx; got rax %llx rcx %llx "
			     "rsi %+lld rdi %+lld fl %llx; after %llx", (unsigned long long)r.rax,
			     (unsigned long long)r.rcx, (long long)r.rsi, (long long)r.rdi,
			     (unsigned long long)r.fl, (unsigned long long)t.rax, (unsigned long long)t.rcx,
			     (long long)t.rsi, (long long)t.rdi, (unsigned long long)t.fl,
			     (unsigned long long)after);
	}
}

void test_main(const struct mb_info *mbi)
{
	u64 ram_end = mb_ram_end(mbi);

	bool found;
	u32 tv_max;

	char what[16];

	if (cmdline_u64("fill", 1, &found) == 0 && found)
		fill = 0;
	if (cmdline_get("do", what, sizeof(what)) && !strncmp(what, "movs", 5)) {
		u64 src = (u64)(uintptr_t)ref_buf, dst = ram_end;

		plan(1);
		diag("MOVSB from 0x%llx to 0x%llx: the VM should end here", (unsigned long long)src,
		     (unsigned long long)dst);
		__asm__ volatile("movsb" : "+S"(src), "+D"(dst) : : "memory");
		ok(false, "MOVSB to unbacked memory was not refused");
		done();
	}
	plan(2 * (int)ARRAY_SIZE(forms) + 1);
	/* Bare QEMU keeps ACPI-reserved RAM past the memory map's last range,
	 * so "past RAM" is memory there (the bare run skips; `fill=0` runs the
	 * hole forms against QEMU's unassigned memory by hand). */
	if (!tv_signature(&tv_max) && !(cmdline_u64("fill", 1, &found) == 0 && found))
		skip_rest("not under tscvisor: past the memory map is RAM on bare QEMU");
	if (!ok(ram_end && ram_end < 0xc0000000ull, "RAM ends at 0x%llx", (unsigned long long)ram_end))
		skip_rest("no memory map");
	check_target(ram_end, "past RAM");
	check_target(0xc0000000ull, "MMIO hole");
	done();
}
