/* Exit dispatch: one exit reason, one handler, one table. Handlers see
 * vendor-neutral exits (struct vm_exit) and registers (struct gprs). */
#include <stddef.h>
#include <tscvisor/exit.h>
#include <tscvisor/format.h>
#include <tscvisor/guest.h>
#include <tscvisor/hypercall.h>
#include <tscvisor/log.h>
#include <tscvisor/pio.h>
#include <tscvisor/quirks.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include <tscvisor/xstate.h>
#include <tscvisor/hw.h>

typedef void exit_handler_fn(struct vcpu *v, struct vm_exit *e);

/* arch/x86/gprs.inc hard-codes these for the world switch. */
_Static_assert(__builtin_offsetof(struct gprs, rax) == 0 && __builtin_offsetof(struct gprs, rdi) == 56 &&
	       __builtin_offsetof(struct gprs, r15) == 120, "struct gprs layout (arch/x86/gprs.inc)");

static const char *const reason_names[EXIT_NR] = {
	[EXIT_NONE] = "none",           [EXIT_CPUID] = "CPUID",
	[EXIT_RDTSC] = "RDTSC",         [EXIT_RDTSCP] = "RDTSCP",
	[EXIT_RDMSR] = "RDMSR",         [EXIT_WRMSR] = "WRMSR",
	[EXIT_IO] = "I/O",              [EXIT_HLT] = "HLT",
	[EXIT_HYPERCALL] = "hypercall", [EXIT_NPF] = "nested page fault",
	[EXIT_EXCEPTION] = "exception", [EXIT_SHUTDOWN] = "triple fault",
	[EXIT_INTR] = "interrupt",      [EXIT_IRQ_WINDOW] = "interrupt window",
	[EXIT_INVD] = "INVD/WBINVD",
	[EXIT_NOT_OFFERED] = "not offered (#UD)",
	[EXIT_XSETBV] = "XSETBV",       [EXIT_RDPMC] = "RDPMC",
	[EXIT_MACHINE_CHECK] = "machine check",
	[EXIT_INVALID] = "invalid state",
	[EXIT_UNHANDLED] = "unhandled",
	[EXIT_TLB_WATCH] = "TLB watch",
};

const char *exit_reason_name(enum exit_reason r)
{
	return r < EXIT_NR && reason_names[r] ? reason_names[r] : "?";
}

/* The guest did something the hypervisor cannot give meaning to: stop its
 * VM (never the hypervisor) with a register dump. */
static void stop_vm(struct vcpu *v, enum vm_end how, const char *why)
{
	vcpu_dump(v, why);
	vm_end(v->vm, how, 0, why);
}

/* Length of the exiting instruction: the hardware's word when it gave one,
 * else decoded from guest memory (QEMU's SVM has no NRIPS). */
static bool insn_length(struct vcpu *v, struct vm_exit *e, enum x86_insn_kind want)
{
	const struct x86_insn *insn;

	if (e->insn_len)
		return true;
	insn = guest_insn_at_rip(v);
	if (!insn || insn->kind != want) {
		stop_vm(v, VM_END_UNHANDLED, "cannot decode the exiting instruction");
		return false;
	}
	e->insn_len = insn->len;
	return true;
}

/* The same for exits that come from either of two instructions. */
static bool insn_length_either(struct vcpu *v, struct vm_exit *e, enum x86_insn_kind a,
			       enum x86_insn_kind b, const char *why)
{
	const struct x86_insn *insn;

	if (e->insn_len)
		return true;
	insn = guest_insn_at_rip(v);
	if (!insn || (insn->kind != a && insn->kind != b)) {
		stop_vm(v, VM_END_UNHANDLED, why);
		return false;
	}
	e->insn_len = insn->len;
	return true;
}

/* The instruction is done: RIP past it, and any STI / MOV SS shadow that
 * covered it is over (else `sti; hlt` would leave the interrupt that woke
 * the HLT blocked for one more instruction, typically the loop's `cli`). */
static void skip(struct vcpu *v, const struct vm_exit *e)
{
	v->regs.rip += e->insn_len;
	if ((v->regs.rip >> 32) && !guest_long_mode(v))
		v->regs.rip &= 0xffffffffu;
	v->vm->ops->clear_irq_shadow(v);
}

static void handle_cpuid(struct vcpu *v, struct vm_exit *e)
{
	uint32_t r[4];

	if (!insn_length(v, e, X86_INSN_CPUID))
		return;
	guest_cpuid(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, r);
	v->regs.rax = r[0];
	v->regs.rbx = r[1];
	v->regs.rcx = r[2];
	v->regs.rdx = r[3];
	skip(v, e);
}

/* RDTSC and RDTSCP: the VM's guest TSC (vmm/vmtime.c). Under QEMU a trapped
 * RDTSCP arrives as an RDTSC exit, so the instruction decides, not the exit. */
static void handle_rdtsc(struct vcpu *v, struct vm_exit *e)
{
	const struct x86_insn *insn;
	bool is_rdtscp = e->reason == EXIT_RDTSCP;
	uint64_t tsc;

	/* With the length known, a 2-byte RDTSC exit is RDTSC (0F 31; RDTSCP
	 * is 0F 01 F9): only the other cases need the instruction decoded. */
	if (!e->insn_len || (!is_rdtscp && e->insn_len != 2)) {
		insn = guest_insn_at_rip(v);
		if (!insn || (insn->kind != X86_INSN_RDTSC && insn->kind != X86_INSN_RDTSCP)) {
			stop_vm(v, VM_END_UNHANDLED, "RDTSC exit at an instruction that is neither RDTSC nor RDTSCP");
			return;
		}
		is_rdtscp = insn->kind == X86_INSN_RDTSCP;
		e->insn_len = insn->len;
		if (is_rdtscp)
			e->reason = EXIT_RDTSCP;   /* count it as what it is */
	}
	tsc = vmtime_read_guest_tsc(v);
	v->regs.rax = (uint32_t)tsc;
	v->regs.rdx = tsc >> 32;
	if (is_rdtscp)
		v->regs.rcx = (uint32_t)v->tsc_aux;
	skip(v, e);
}

static void handle_msr(struct vcpu *v, struct vm_exit *e)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	bool write = e->reason == EXIT_WRMSR;
	uint64_t val = 0;

	if (!insn_length(v, e, write ? X86_INSN_WRMSR : X86_INSN_RDMSR))
		return;
	if (write) {
		val = (uint32_t)v->regs.rax | (v->regs.rdx << 32);
		if (guest_wrmsr(v, msr, val)) {
			inject_gp(v, 0);
			return;
		}
	} else {
		if (guest_rdmsr(v, msr, &val)) {
			inject_gp(v, 0);
			return;
		}
		v->regs.rax = (uint32_t)val;
		v->regs.rdx = val >> 32;
	}
	skip(v, e);
}

static void handle_io(struct vcpu *v, struct vm_exit *e)
{
	uint32_t val;

	if (e->u.io.string) {
		/* INS/OUTS: no device of ours needs them; refuse like hardware
		 * refuses the impossible. */
		inject_gp(v, 0);
		return;
	}
	val = (uint32_t)v->regs.rax;
	spin_lock(&v->vm->dev_lock);
	pio_access(v->vm, e->u.io.port, e->u.io.size, e->u.io.in, &val);
	spin_unlock(&v->vm->dev_lock);
	if (e->u.io.in) {
		if (e->u.io.size == 4)
			v->regs.rax = val;   /* 32-bit writes zero-extend */
		else if (e->u.io.size == 2)
			v->regs.rax = (v->regs.rax & ~0xffffull) | (val & 0xffff);
		else
			v->regs.rax = (v->regs.rax & ~0xffull) | (val & 0xff);
	}
	skip(v, e);
}

static void handle_hlt(struct vcpu *v, struct vm_exit *e)
{
	if (!insn_length(v, e, X86_INSN_HLT))
		return;
	skip(v, e);
	/* Sleep until an interrupt it can take (vmm/sched.c); a VM whose every
	 * vCPU sleeps with nothing to wake it ends there. */
	sched_halt(v);
}

/* INVD would throw away every dirty cache line of the CPU, the
 * hypervisor's and other VMs' included; WBINVD only costs time. Guest RAM is
 * ordinary write-back memory no device writes behind the CPU's back, so
 * both are done as nothing at all (KVM treats INVD the same way). Both are
 * intercepted on SVM because QEMU checks INVD against the WBINVD intercept. */
static void handle_invd(struct vcpu *v, struct vm_exit *e)
{
	if (insn_length_either(v, e, X86_INSN_INVD, X86_INSN_WBINVD,
			       "cannot decode the INVD/WBINVD instruction"))
		skip(v, e);
}

static void handle_hypercall(struct vcpu *v, struct vm_exit *e)
{
	uint64_t rip = v->regs.rip;
	int64_t rc;

	if (!insn_length_either(v, e, X86_INSN_VMMCALL, X86_INSN_VMCALL,
				"cannot decode the hypercall instruction"))
		return;
	skip(v, e);   /* first: a save taken by the call resumes after it */
	rc = hypercall(v, v->regs.rax, v->regs.rbx, v->regs.rcx, v->regs.rdx, v->regs.rsi);
	if (rc == HC_RETRY) {
		/* Another pCPU holds the VM's pause (vmm/pause.c): the call
		 * is executed again once this pCPU has parked for it. */
		v->regs.rip = rip;
		return;
	}
	v->regs.rax = (uint64_t)rc;
}

static void handle_npf(struct vcpu *v, struct vm_exit *e)
{
	uint64_t w = v->vm->time.window_gpa;

	if (guest_mmio(v, e))
		return;
	if (w && e->u.npf.gpa - w < X86_PAGE_SIZE) {
		stop_vm(v, VM_END_UNHANDLED, "write to the read-only pvclock window");
	} else {
		char why[120];

		tv_snprintf(why, sizeof(why),
			    "nested page fault the hypervisor cannot emulate (GPA 0x%lx, %s, exit 0x%lx, "
			    "info1 0x%lx)", e->u.npf.gpa,
			    e->u.npf.fetch ? "fetch" : e->u.npf.write ? "write" : "read",
			    e->code, e->info1);
		stop_vm(v, VM_END_UNHANDLED, why);
	}
}

/* RDPID where the CPU has none (QEMU TCG): the guest was told it exists
 * (CPUID.7.0:ECX[22]), so its #UD is ours to turn into the instruction. */
static bool emulate_rdpid(struct vcpu *v)
{
	struct x86_insn insn;

	if (guest_decode_at_rip(v, &insn) || insn.kind != X86_INSN_RDPID)
		return false;
	/* 64-bit destination in 64-bit mode, 32-bit otherwise: either way the
	 * value is TSC_AUX zero-extended. */
	*gpr_by_index(&v->regs, insn.reg) = (uint32_t)v->tsc_aux;
	v->regs.rip += insn.len;
	v->rdpid_emulated++;
	return true;
}

/* Exceptions the CPU combines into #DF when one comes while delivering
 * another (SDM Vol. 3A 6.15 table 6-5, APM 8.2.9): #DE, #TS, #NP, #SS, #GP. */
static bool contributory(unsigned vec)
{
	return vec == X86_EXC_DE || vec == X86_EXC_TS || vec == X86_EXC_NP || vec == X86_EXC_SS ||
	       vec == X86_EXC_GP;
}

static void handle_intr(struct vcpu *v, struct vm_exit *e)
{
	(void)e;
	quirk_spurious_pf_test(v);   /* test option test_spurious_pf */
}

static void handle_exception(struct vcpu *v, struct vm_exit *e)
{
	struct vcpu_sregs sr;
	unsigned vec = e->u.exc.vector;

	if (vec == X86_EXC_UD && emulate_rdpid(v))
		return;
	if (vec == X86_EXC_PF && quirk_pf_retry(v, e))   /* QEMU TCG */
		return;
	/* An intercepted exception raised while the CPU delivered another one:
	 * the backend has armed that one again (EXITINTINFO, IDT-vectoring).
	 * Reflecting the new one as is would loop for ever on a guest whose
	 * IDT is broken (#GP delivering #GP); combine them as the CPU does. */
	v->vm->ops->get_sregs(v, &sr);
	if (sr.pending_event.valid && sr.pending_event.type == VCPU_EVENT_EXCEPTION) {
		unsigned first = sr.pending_event.vector;

		if (first == X86_EXC_DF) {
			uart_flush(v->vm);
			stop_vm(v, VM_END_TRIPLE_FAULT, "triple fault (an exception while delivering #DF)");
			return;
		}
		if ((contributory(first) && contributory(vec)) ||
		    (first == X86_EXC_PF && (contributory(vec) || vec == X86_EXC_PF))) {
			vm_dbg(v->vm, "vm %s: exception %u while delivering %u: #DF", v->vm->name, vec, first);
			inject_df(v);
			return;
		}
	}
	/* Intercepted only to be seen: reflect it into the guest unchanged. */
	vm_dbg(v->vm, "vm %s: guest exception %u (error 0x%x) at rip 0x%lx, reflected", v->vm->name,
		      vec, e->u.exc.error, v->regs.rip);
	v->vm->ops->inject_exception(v, (uint8_t)vec, e->u.exc.has_error, e->u.exc.error);
}

static void handle_shutdown(struct vcpu *v, struct vm_exit *e)
{
	(void)e;
	uart_flush(v->vm);
	stop_vm(v, VM_END_TRIPLE_FAULT, "triple fault");
}

/* The guest's CPU has no such instruction (CPUID says so): #UD, as on a CPU
 * without it. Logged once per vCPU: a guest probing for VMX or SVM is normal;
 * one doing it in a loop must not flood the log. */
static void handle_not_offered(struct vcpu *v, struct vm_exit *e)
{
	if (!v->stats[EXIT_NOT_OFFERED].count)
		vm_info(v->vm, "vm %s: vCPU %u: an instruction it does not have (exit code 0x%lx) at "
			       "rip 0x%lx: #UD", v->vm->name, v->id, e->code, v->regs.rip);
	inject_ud(v);
}

/* XSETBV: XCR0 is the guest's own (vmm/fpuswitch.c loads it before every
 * entry); only components the VM is offered and the hypervisor switches
 * (fpu_host.offered), with the checks of SDM Vol. 1 13.3 and the XSETBV
 * page: #UD without CR4.OSXSAVE, #GP(0) at CPL > 0, for ECX != 0 or an
 * illegal value. On VMX the CPU checks CR4.OSXSAVE and CPL before the exit
 * (Vol. 3C 25.1.1); SVM intercepts first, so both are checked here. */
static void handle_xsetbv(struct vcpu *v, struct vm_exit *e)
{
	struct vcpu_sregs sr;
	uint64_t val = (uint32_t)v->regs.rax | ((uint64_t)(uint32_t)v->regs.rdx << 32);
	int vec;

	v->vm->ops->get_sregs(v, &sr);
	vec = xstate_xsetbv_check(fpu_host.offered, X86_SEG_ATTR_DPL(sr.seg[SEG_SS].attr),
				  !!(sr.cr4 & X86_CR4_OSXSAVE), (uint32_t)v->regs.rcx, val);
	if (vec == X86_EXC_UD) {
		inject_ud(v);
		return;
	}
	if (vec) {
		inject_gp(v, 0);
		return;
	}
	if (!insn_length(v, e, X86_INSN_XSETBV))
		return;
	v->xcr0 = val;
	skip(v, e);
}

/* RDPMC: the guest is shown no performance counters (CPUID leaf 0AH is
 * zero, the counter MSRs #GP), so every counter index is invalid: #GP(0)
 * at any CPL, as on a CPU without the counter (SDM Vol. 2 RDPMC; APM Vol. 3
 * RDPMC). Intercepted on both backends, so the host's counters stay
 * unreadable. */
static void handle_rdpmc(struct vcpu *v, struct vm_exit *e)
{
	(void)e;
	inject_gp(v, 0);
}

/* A machine check while the guest ran (SVM intercepts #MC, APM 15.13): it
 * is the host's, never the guest's to see; the hypervisor cannot tell what
 * it hit, so the VM ends. */
static void handle_machine_check(struct vcpu *v, struct vm_exit *e)
{
	(void)e;
	log_err("vm %s: vCPU %u: machine check while the guest ran", v->vm->name, v->id);
	uart_flush(v->vm);
	stop_vm(v, VM_END_UNHANDLED, "machine check while the guest ran");
}

static void handle_nothing(struct vcpu *v, struct vm_exit *e)
{
	(void)v;
	(void)e;
}

static void handle_fatal(struct vcpu *v, struct vm_exit *e)
{
	char why[80];

	tv_snprintf(why, sizeof(why), "%s exit (code 0x%lx)", exit_reason_name(e->reason), e->code);
	uart_flush(v->vm);
	stop_vm(v, VM_END_UNHANDLED, why);
}

static exit_handler_fn *const handlers[EXIT_NR] = {
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_RDTSC] = handle_rdtsc,
	[EXIT_RDTSCP] = handle_rdtsc,
	[EXIT_RDMSR] = handle_msr,
	[EXIT_WRMSR] = handle_msr,
	[EXIT_IO] = handle_io,
	[EXIT_HLT] = handle_hlt,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_NPF] = handle_npf,
	[EXIT_EXCEPTION] = handle_exception,
	[EXIT_SHUTDOWN] = handle_shutdown,
	[EXIT_INTR] = handle_intr,
	[EXIT_IRQ_WINDOW] = handle_nothing,
	[EXIT_INVD] = handle_invd,
	[EXIT_NOT_OFFERED] = handle_not_offered,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_RDPMC] = handle_rdpmc,
	[EXIT_MACHINE_CHECK] = handle_machine_check,
	[EXIT_INVALID] = handle_fatal,
	[EXIT_UNHANDLED] = handle_fatal,
	[EXIT_TLB_WATCH] = handle_nothing,
};

void exit_handle(struct vcpu *v, struct vm_exit *e)
{
	enum exit_reason r = e->reason < EXIT_NR ? e->reason : EXIT_UNHANDLED;
	exit_handler_fn *fn = handlers[r] ? handlers[r] : handle_fatal;

	fn(v, e);
	r = e->reason < EXIT_NR ? e->reason : EXIT_UNHANDLED;   /* RDTSC may become RDTSCP */
	e->reason = r;
	v->stats[r].count++;
}
