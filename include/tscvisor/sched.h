/* Running VMs on the physical CPUs (vmm/sched.c): vCPUs pinned to pCPUs
 * while there are enough, time-sliced when there are more, moved between
 * pCPUs on request (test option), put to sleep by HLT and woken by
 * interrupts. */
#ifndef TSCVISOR_SCHED_H
#define TSCVISOR_SCHED_H

#include <stdint.h>
#include <tscvisor/vcpu.h>

struct vm;

/* The host TSC as this pCPU sees it (with the test skew, if any). */
uint64_t vm_host_tsc(void);
/* An interrupt became pending for v: wake it, kick its pCPU if needed. */
void sched_wake(struct vcpu *v);
/* INIT / SIPI delivered to v (from another vCPU's ICR write). */
void sched_init_vcpu(struct vcpu *v);
void sched_sipi_vcpu(struct vcpu *v, uint8_t vector);
/* Run `vm` on every online pCPU until it ends (called on the BSP). */
void sched_run_vm(struct vm *vm, unsigned npcpus);
/* Make every pCPU leave its guest (the VM ended). */
void sched_kick_all(void);
/* The pause protocol: stop every other pCPU's vCPUs of vm (they park with
 * their control blocks put) / let them go on. Called from a vCPU's exit
 * handler or a pCPU's run loop. Returns 0: paused, the caller holds the
 * pause and calls sched_resume_others(); SCHED_PAUSE_BUSY: another pCPU
 * holds it, the caller changes nothing and tries again later (its pCPU
 * parks for the holder on the way back to its run loop); -1: the VM ended
 * (also when a pCPU did not park in time), nothing may change. */
#define SCHED_PAUSE_BUSY 1
int sched_pause_others(struct vm *vm);
void sched_resume_others(struct vm *vm);
/* Kick v's pCPU (it looks at v's pending work before its next entry). */
void sched_kick_vcpu(struct vcpu *v);
/* The x87/SSE registers this pCPU holds for one of vm's vCPUs go to that
 * vCPU's image (v->fpu), for a save. */
void sched_fpu_flush(struct vm *vm);
/* The x87/SSE (XSAVE) registers, XCR0 and DR0-DR3 of vm's vCPUs are forgotten (a restore: they are
 * not in the snapshot): each starts again from the state after INIT.
 * Called with the VM's other pCPUs parked. */
void sched_fpu_forget(struct vm *vm);
/* After sched_fpu_forget: v's x87/SSE registers from a snapshot's 512-byte
 * FXSAVE image; every other XSAVE component initial, XCR0 1. */
void sched_fpu_set_legacy(struct vcpu *v, const uint8_t image[512]);
/* HLT from the guest. */
void sched_halt(struct vcpu *v);

#endif
