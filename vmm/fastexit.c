/* The exit fast path's C side (include/tscvisor/fastexit.h,
 * docs/performance.md): what the SVM stub (arch/x86/svm_entry.asm) reads,
 * filled before each slow entry; the exits it answered, folded into the
 * exit table; the page of the last exiting instruction, recorded when the
 * slow path decodes one; and the same answers in C for VMX, where the CPU
 * gives the instruction length and the exit is re-entered from the
 * backend's own loop. */
#include <stddef.h>
#include <tscvisor/exit.h>
#include <tscvisor/fastexit.h>
#include <tscvisor/guest.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/vm.h>
#include <tscvisor/x86.h>
#include <tscvisor/x86_decode.h>
#include <tscvisor/hw.h>

/* arch/x86/fastexit.inc hard-codes these. */
_Static_assert(offsetof(struct fastexit, leave_tsc) == 0x00 && offsetof(struct fastexit, bias) == 0x08 &&
	       offsetof(struct fastexit, guest_khz) == 0x10 && offsetof(struct fastexit, host_khz) == 0x18 &&
	       offsetof(struct fastexit, offset) == 0x20 && offsetof(struct fastexit, last) == 0x28 &&
	       offsetof(struct fastexit, tsc_aux) == 0x30 && offsetof(struct fastexit, page) == 0x38 &&
	       offsetof(struct fastexit, host_page) == 0x40 && offsetof(struct fastexit, leave_at) == 0x48 &&
	       offsetof(struct fastexit, n_rdtsc) == 0x50 && offsetof(struct fastexit, n_rdtscp) == 0x58 &&
	       offsetof(struct fastexit, n_cpuid) == 0x60 && offsetof(struct fastexit, n_hc) == 0x68 &&
	       offsetof(struct fastexit, host_rsp) == 0x70 && offsetof(struct fastexit, gprs) == 0x78 &&
	       offsetof(struct fastexit, vmcb_pa) == 0x80 && offsetof(struct fastexit, host_vmcb_pa) == 0x88 &&
	       offsetof(struct fastexit, save_rax) == 0x90 && offsetof(struct fastexit, save_rbx) == 0x98 &&
	       offsetof(struct fastexit, save_rcx) == 0xa0 && offsetof(struct fastexit, save_rdx) == 0xa8 &&
	       offsetof(struct fastexit, cpuid) == 0xb0 && sizeof(struct fx_cpuid) == 24,
	       "struct fastexit layout (arch/x86/fastexit.inc)");
/* The stubs' stack lies right below fx. */
_Static_assert(offsetof(struct vcpu, fx) == offsetof(struct vcpu, fx_stack) + sizeof(((struct vcpu *)0)->fx_stack),
	       "fx_stack right below fx");

/* Leaves whose answer never changes for a vCPU (no CR4, APIC, XCR0 or
 * TSC-mode part): the vendor and maximum leaves, the KVM signature and
 * features. Leaf 0 first: the one a guest's CPUID loop usually asks. */
static const uint32_t fx_leaves[FX_CPUID_N] = { 0, 0x80000000u, 0x40000000u, 0x40000001u };

static void fill_cpuid(struct vcpu *v)
{
	struct fastexit *fx = &v->fx;
	unsigned i;

	for (i = 0; i < FX_CPUID_N; i++) {
		fx->cpuid[i].leaf = fx_leaves[i];
		guest_cpuid(v, fx_leaves[i], 0, fx->cpuid[i].r);
	}
	fx->cpuid_filled = 1;
}

void fastexit_forget(struct fastexit *fx)
{
	fx->page = 1;           /* never equal to a linear page address */
}

void fastexit_stub_off(struct fastexit *fx)
{
	fx->leave_tsc = fx->leave_at = 0;
}

void fastexit_leave_by(struct fastexit *fx, uint64_t at)
{
	if (at < fx->deadline)
		fx->deadline = at;
	if (at < fx->leave_at)
		fx->leave_at = at;
	if (at < fx->leave_tsc)
		fx->leave_tsc = at;
}

void fastexit_prepare(struct vcpu *v)
{
	struct fastexit *fx = &v->fx;
	const struct vm_time *t = &v->vm->time;
	uint64_t ok = FX_OK_HC | FX_OK_CPUID;

	if (!fx->cpuid_filled) {
		fastexit_forget(fx);
		fill_cpuid(v);
	}
	if (t->d.trap_rdtsc) {
		ok |= FX_OK_TSC;
		fx->bias = (uint64_t)this_cpu()->tsc_skew - t->emul.host_base;
		fx->guest_khz = t->emul.guest_khz;
		fx->host_khz = t->emul.host_khz;
		fx->offset = v->tsc.offset;
		fx->last = &v->vm->time.last_emulated;
		fx->tsc_aux = (uint32_t)v->tsc_aux;
	}
	/* The host deadline the run loop armed (vm_host_tsc units, skew
	 * included), as a raw TSC. */
	{
		const struct pcpu *cpu = this_cpu();
		uint64_t skew = (uint64_t)cpu->tsc_skew, at = cpu->timer_armed;

		fx->deadline = !at ? ~0ull : at > skew ? at - skew : 0;
	}
	/* A periodic LAPIC timer catching up wants the run loop's timer
	 * check before every entry, with no interrupt to say so. */
	if (v->lapic.timer.catchup)
		ok = 0;
	fx->ok = ok;
	/* The stubs' view: one compare each. */
	fx->leave_at = (ok & FX_OK_CPUID) ? fx->deadline : 0;
	fx->leave_tsc = 0;
	if (ok & FX_OK_TSC) {
		uint64_t limit = fx_tsc_limit(rdtsc(), fx->bias, fx->guest_khz, fx->host_khz);

		fx->leave_tsc = limit < fx->deadline ? limit : fx->deadline;
	}
}

void fastexit_fold(struct vcpu *v)
{
	struct fastexit *fx = &v->fx;

	if (!(fx->n_rdtsc | fx->n_rdtscp | fx->n_cpuid | fx->n_hc))
		return;
	v->stats[EXIT_RDTSC].count += fx->n_rdtsc;
	v->stats[EXIT_RDTSCP].count += fx->n_rdtscp;
	v->stats[EXIT_CPUID].count += fx->n_cpuid;
	v->stats[EXIT_HYPERCALL].count += fx->n_hc;
	v->hypercalls += fx->n_hc;
	fx->n_rdtsc = fx->n_rdtscp = fx->n_cpuid = fx->n_hc = 0;
}

/* Recorded only where a linear address is RIP and the stub's check is
 * exact: long mode (4-level paging) or paging off, CS base 0 (the stub
 * adds the CS base it finds, so a segment with another base misses), the
 * whole page in RAM. The backend watches for a changed translation from
 * here on (INVLPG, MOV to CR0/CR3/CR4 intercepted while a page is
 * recorded), and a TLB flush of its own forgets the page too. */
void fastexit_learn(struct vcpu *v, const struct decode_cache *dc, int kind)
{
	struct fastexit *fx = &v->fx;
	const struct vm *vm = v->vm;
	struct vcpu_sregs s;
	uint64_t gpage = dc->gpa & ~0xfffull, goff;
	unsigned j;

	/* Only what the stub would answer: a CPUID of another leaf or another
	 * hypercall must not replace the page of a loop's RDTSC (and costs a
	 * get_sregs() here on every such exit). */
	if (kind == X86_INSN_CPUID) {
		for (j = 0; j < FX_CPUID_N && fx->cpuid[j].leaf != (uint32_t)v->regs.rax; j++)
			;
		if (j == FX_CPUID_N)
			return;
	} else if (kind == X86_INSN_VMMCALL) {
		if (v->regs.rax)
			return;
	} else if (kind != X86_INSN_RDTSC && kind != X86_INSN_RDTSCP) {
		return;
	}
	fastexit_forget(fx);
	if (!gmem_offset(vm->ram_size, gpage, 4096, &goff))
		return;
	vm->ops->get_sregs(v, &s);
	if (s.seg[SEG_CS].base || s.cr3 != dc->cr3 ||
	    ((s.cr0 & X86_CR0_PG) && !(s.efer & X86_EFER_LMA)))
		return;
	fx->page = dc->rip & ~0xfffull;
	fx->host_page = (uint64_t)(uintptr_t)(vm->ram + goff);
}

/* The same value as vmtime_read_guest_tsc() in emulate mode. */
static bool fx_tsc(struct fastexit *fx, uint64_t *out)
{
	uint64_t base, last;

	uint64_t h = rdtsc();

	if (h >= fx->deadline || !fx_mul_div(h + fx->bias, fx->guest_khz, fx->host_khz, &base))
		return false;
	last = __atomic_load_n(fx->last, __ATOMIC_ACQUIRE);
	for (;;) {
		if (base <= last) {
			base = last;
			break;
		}
		if (__atomic_compare_exchange_n(fx->last, &last, base, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	*out = base + fx->offset;
	return true;
}

bool fastexit_handle(struct vcpu *v, struct vm_exit *e)
{
	struct fastexit *fx = &v->fx;
	uint64_t tsc;
	unsigned i;

	/* RIP stays below 4 GiB outside long mode: a wrap is the slow path's.
	 * A pause or the VM's end also comes with a kick, but Bochs does not
	 * exit for the host's interrupts while the guest has IF = 0: look. */
	if ((((v->regs.rip + e->insn_len) ^ v->regs.rip) >> 32) || rdtsc() >= fx->deadline ||
	    __atomic_load_n(&v->vm->pause_req, __ATOMIC_RELAXED) || v->vm->end != VM_RUNNING)
		return false;
	switch (e->reason) {
	case EXIT_RDTSC:
	case EXIT_RDTSCP:
		if (!(fx->ok & FX_OK_TSC) || e->insn_len != (e->reason == EXIT_RDTSC ? 2u : 3u) ||
		    !fx_tsc(fx, &tsc))
			return false;
		v->regs.rax = (uint32_t)tsc;
		v->regs.rdx = tsc >> 32;
		if (e->reason == EXIT_RDTSCP)
			v->regs.rcx = fx->tsc_aux;
		break;
	case EXIT_CPUID:
		if (!(fx->ok & FX_OK_CPUID) || e->insn_len != 2)
			return false;
		for (i = 0; i < FX_CPUID_N && fx->cpuid[i].leaf != (uint32_t)v->regs.rax; i++)
			;
		if (i == FX_CPUID_N)
			return false;
		v->regs.rax = fx->cpuid[i].r[0];
		v->regs.rbx = fx->cpuid[i].r[1];
		v->regs.rcx = fx->cpuid[i].r[2];
		v->regs.rdx = fx->cpuid[i].r[3];
		break;
	case EXIT_HYPERCALL:
		if (!(fx->ok & FX_OK_HC) || e->insn_len != 3 || v->regs.rax != 0)
			return false;
		v->hypercalls++;
		break;
	default:
		return false;
	}
	v->regs.rip += e->insn_len;
	v->vm->ops->clear_irq_shadow(v);
	v->stats[e->reason].count++;
	return true;
}
