/* Workarounds for faults of the emulators the suite runs on (the list is in
 * include/tscvisor/quirks.h). Each quirk says: which emulator and version,
 * the symptom, what the hypervisor does about it, and which test case
 * proves that the workaround works and that it hides nothing. */
#include <tscvisor/guest.h>
#include <tscvisor/log.h>
#include <tscvisor/quirks.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

/* ---- QEMU TCG: page faults the guest's page tables do not explain ------
 *
 * Emulator: QEMU 7.2 with TCG, one host thread per emulated CPU, SVM
 * (docs/platform.md, "Page faults the guest's page tables do not explain").
 * Symptom: about once in a few million exits, on a vCPU that shares its
 * pCPU with another, a not-present #PF on the first instruction fetch after
 * a VMRUN (CR2 = RIP, error code 0; once on a data read), while the guest's
 * tables map that page and the guest's own handler then runs from the same
 * page. Delivered, it kills a correct guest.
 * What we do: a not-present #PF that the tables, walked now, explain is
 * delivered as always. One they do not explain is retried: CR2 is put back
 * and the instruction runs again, which is what a CPU does whose walk comes
 * after the tables' last change (a legal order, so no guest can tell). At
 * most PF_RETRY_MAX times in a row for one RIP and address, then delivered.
 * Every retry is logged ("... that its page tables do not explain:
 * retried") and counted in the VM's end report, so it never goes unseen.
 * Tested: the VM key test_spurious_pf = N makes each vCPU see N such faults
 * as the emulator raises them, CR2 change included (quirk_spurious_pf_test);
 * qemu-svm:smp-guests-2cpu makes 20 per vCPU of its emulate warp VM and
 * requires every one retried, unseen by the guest. */
#define PF_RETRY_MAX 3
/* "In a row": the same RIP and address again within this many exits (a
 * timer or a kick may come between). */
#define PF_RETRY_WINDOW 16

static uint64_t vcpu_exits(const struct vcpu *v)
{
	uint64_t n = 0;
	unsigned r;

	for (r = 0; r < EXIT_NR; r++)
		n += v->stats[r].count;
	return n;
}

static bool pf_retry(struct vcpu *v, const struct vm_exit *e, bool made)
{
	uint64_t la = e->u.exc.cr2, at = vcpu_exits(v);
	struct vcpu_sregs sr;

	if (!guest_pf_unexplained_now(v, la, e->u.exc.error))
		return false;
	/* A loop that meets the emulator fault again much later starts a new
	 * run. */
	if (v->pf_retry_rip == v->regs.rip && v->pf_retry_la == la &&
	    at - v->pf_retry_at <= PF_RETRY_WINDOW) {
		if (++v->pf_retry_run > PF_RETRY_MAX)
			return false;
	} else {
		v->pf_retry_run = 1;
	}
	v->pf_retry_rip = v->regs.rip;
	v->pf_retry_la = la;
	v->pf_retry_at = at;
	/* The backend made the address the guest's CR2: undo that. */
	v->vm->ops->get_sregs(v, &sr);
	sr.cr2 = e->u.exc.prev_cr2;
	v->vm->ops->set_sregs(v, &sr);
	v->pf_retried++;
	vm_info(v->vm, "vm %s: vCPU %u: %spage fault at 0x%lx (rip 0x%lx, error 0x%x) that its page "
		       "tables do not explain: retried", v->vm->name, v->id, made ? "test_spurious_pf: " : "",
		       la, v->regs.rip, e->u.exc.error);
	return true;
}

bool quirk_pf_retry(struct vcpu *v, const struct vm_exit *e)
{
	return pf_retry(v, e, false);
}

static void test_failed(struct vcpu *v, const char *why)
{
	vcpu_dump(v, why);
	vm_end(v->vm, VM_END_UNHANDLED, 0, why);
}

/* One fault as the emulator makes it: a not-present #PF on the fetch at
 * RIP, which the tables map, with the backend's CR2 change. It must be
 * retried and CR2 must be back. Only with 64-bit paging on (the mode the
 * emulator fault was seen in). */
static void make_spurious_pf(struct vcpu *v)
{
	struct vcpu_sregs sr;
	struct vm_exit f = { .reason = EXIT_EXCEPTION };

	v->vm->ops->get_sregs(v, &sr);
	if (!(sr.cr0 & X86_CR0_PG) || !guest_long_mode(v))
		return;
	f.u.exc.vector = X86_EXC_PF;
	f.u.exc.has_error = true;
	f.u.exc.cr2 = v->regs.rip;
	f.u.exc.prev_cr2 = sr.cr2;
	sr.cr2 = f.u.exc.cr2;
	v->vm->ops->set_sregs(v, &sr);
	v->pf_tested++;
	if (!pf_retry(v, &f, true)) {
		test_failed(v, "test_spurious_pf: a page fault at a mapped RIP was not retried");
		return;
	}
	v->vm->ops->get_sregs(v, &sr);
	if (sr.cr2 != f.u.exc.prev_cr2)
		test_failed(v, "test_spurious_pf: CR2 was not put back");
}

void quirk_spurious_pf_test(struct vcpu *v)
{
	/* Spaced out: a vCPU spinning at one RIP must not make a run of
	 * them, which pf_retry rightly stops retrying. */
	if (v->pf_tested < v->vm->cfg->test_spurious_pf &&
	    (!v->pf_tested || vcpu_exits(v) - v->pf_retry_at > PF_RETRY_WINDOW))
		make_spurious_pf(v);
}

void quirk_report(const struct vm *vm, unsigned i)
{
	const struct vcpu *v = &vm->vcpus[i];

	if (v->pf_retried > v->pf_tested)
		log_warn("vm %s: vCPU %u: %lu page fault(s) its page tables did not explain were "
			 "retried, not delivered (an emulator fault: docs/platform.md)", vm->name, i,
			 v->pf_retried - v->pf_tested);
	if (v->pf_tested)
		log_info("vm %s: vCPU %u: test_spurious_pf: %u made, %lu retried in all", vm->name,
			 i, v->pf_tested, v->pf_retried);
}

/* ---- QEMU TCG: guest breakpoints survive #VMEXIT -----------------------
 *
 * Emulator: QEMU's TCG (7.2) with SVM (docs/platform.md, "Registers the
 * guest sets").
 * Symptom: the instruction breakpoints a guest armed with MOV to DR7 stay
 * armed across #VMEXIT and fire in the next guest run on that pCPU,
 * whatever that guest's DR7 says; TCG drops them only on a MOV to DR7 that
 * changes the type/length bits.
 * What we do: whenever a pCPU switches to another vCPU's debug registers,
 * DR7 is written twice: a disabled breakpoint 0 of another type (R/W0 =
 * data write), then 0x400 again. On hardware that is two harmless writes of
 * a DR7 that enables nothing.
 * Tested: guest-tests/hostile_state.c arms four execution breakpoints in
 * one VM; the next VM runs those addresses without a #DB and time-sliced
 * vCPUs keep their own DR7 (qemu-svm:hostile-state-1cpu, -2cpu). */
void quirk_dr7_disarm(void)
{
	dr7_write(X86_DR7_RW0_WRITE | X86_DR7_FIXED);
	dr7_write(X86_DR7_FIXED);
}
