/* Running VMs on the physical CPUs: vCPUs pinned to pCPUs while there are
 * enough, time-sliced when there are more, moved between pCPUs on request
 * (test option), put to sleep by HLT and woken by interrupts. Four files,
 * bottom up: vmm/kick.c (kicks, wake, halt), vmm/fpuswitch.c (registers VM
 * entry does not switch), vmm/pause.c (the pause protocol), vmm/sched.c
 * (the run loop). */
#ifndef TSCVISOR_SCHED_H
#define TSCVISOR_SCHED_H

#include <stdint.h>
#include <tscvisor/vcpu.h>
/* vm_host_tsc() lives in vmm/hosttime.c now; included here for the files
 * that still find it through this header. */
#include <tscvisor/hosttime.h>

struct vm;
struct pcpu;

/* ---- Kicks (vmm/kick.c): callable from anywhere in the core ---- */
/* An interrupt became pending for v: wake it, kick its pCPU if needed. */
void sched_wake(struct vcpu *v);
/* INIT / SIPI delivered to v (from another vCPU's ICR write). */
void sched_init_vcpu(struct vcpu *v);
void sched_sipi_vcpu(struct vcpu *v, uint8_t vector);
/* Make every pCPU leave its guest (the VM ended). */
void sched_kick_all(void);
/* Kick v's pCPU (it looks at v's pending work before its next entry). */
void sched_kick_vcpu(struct vcpu *v);
/* Kick one pCPU (not this one). */
void sched_kick_pcpu(unsigned cpu);
/* The pCPUs the running VM uses (set by the run loop when it starts). */
void sched_set_pcpus(unsigned n);
unsigned sched_pcpus(void);
/* HLT from the guest. */
void sched_halt(struct vcpu *v);

/* ---- The run loop (vmm/sched.c) ---- */
/* Run `vm` on every online pCPU until it ends (called on the BSP). */
void sched_run_vm(struct vm *vm, unsigned npcpus);

/* ---- The pause protocol (vmm/pause.c) ---- */
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
/* The holder says it is still at work on something long but bounded (a
 * snapshot streamed out of COM2, at most the guest's RAM): each parked
 * pCPU's wait bound (PAUSE_HOLD_MS) starts again. */
void sched_pause_alive(struct vm *vm);
/* The run loop's side: stop here while another pCPU holds the pause. */
void sched_park(struct vm *vm, unsigned me);

/* ---- Registers VM entry does not switch (vmm/fpuswitch.c) ---- */
/* Before v runs on cpu: its x87/SSE/XSAVE state, XCR0 and DR0-DR3 there. */
void sched_fpu_take(struct pcpu *cpu, struct vcpu *v);
/* v leaves cpu (a move, a pause): its registers back to its image. */
void sched_fpu_release(struct pcpu *cpu, struct vcpu *v);
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

#endif
