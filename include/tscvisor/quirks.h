/* Workarounds for faults of the emulators the test suite runs on
 * (vmm/quirks.c). Each one is here rather than in the code it touches, so
 * that the core reads as what real hardware needs and the price of each
 * emulator fault stays visible. Every quirk is documented where it is
 * implemented with: the emulator and version, the symptom, what the
 * hypervisor does, and how it is tested; docs/platform.md describes them
 * for the reader of the log.
 *
 * The quirks:
 *   quirk_pf_retry / quirk_spurious_pf_test   QEMU TCG: not-present #PF the
 *       guest's page tables do not explain (retried, logged, counted)
 *   quirk_dr7_disarm                          QEMU TCG: guest breakpoints
 *       survive #VMEXIT (dropped on every vCPU switch)
 * In the SVM backend (arch/x86/svm.c), not here, because they are how it
 * talks to the CPU: under QEMU TCG external interrupts are injected through
 * V_IRQ instead of EVENTINJ (QEMU 7.2 can deliver an EVENTINJ interrupt
 * twice), and the register dump names QEMU writing the host state into a
 * VMCB's guest state (not worked around: the test suite runs the cases
 * where it comes with one QEMU thread). docs/platform.md has both. */
#ifndef TSCVISOR_QUIRKS_H
#define TSCVISOR_QUIRKS_H

#include <stdbool.h>
#include <tscvisor/exit.h>
#include <tscvisor/vcpu.h>

struct vm;

/* A page-fault exception exit: true when the fault is one the guest's page
 * tables do not explain and it was retried (CR2 put back, nothing to
 * deliver); false: the exit handler delivers it as usual. */
bool quirk_pf_retry(struct vcpu *v, const struct vm_exit *e);
/* At a host-interrupt exit: the test option test_spurious_pf makes the
 * vCPU see such a fault now, when it is due (stops the VM if it is not
 * retried unseen). */
void quirk_spurious_pf_test(struct vcpu *v);
/* The VM's end report: retried faults (a warning) and test faults. */
void quirk_report(const struct vm *vm, unsigned vcpu);
/* After loading a vCPU's DR0-DR3: drop breakpoints the previous guest armed
 * (host DR7 is left at 0x400). */
void quirk_dr7_disarm(void);

#endif
