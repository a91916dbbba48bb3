/* A VM's time on the running host: applies pure/tsc.c's decision to the
 * vCPUs and serves trapped reads of the guest TSC. */
#ifndef TSCVISOR_VMTIME_H
#define TSCVISOR_VMTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/tsc.h>
#include <tscvisor/vcpu.h>

struct vm;

/* Decide the VM's mode on this host and start its guest TSC at 0. */
void vmtime_init(struct vm *vm, const struct tsc_host_info *host);
/* The vCPU's guest TSC now (trapped RDTSC/RDTSCP, RDMSR IA32_TSC). */
uint64_t vmtime_read_guest_tsc(struct vcpu *v);
/* The vCPU's guest TSC at host TSC h (all vCPUs at one instant: save). */
uint64_t vmtime_guest_tsc_at(struct vcpu *v, uint64_t h);
/* WRMSR IA32_TSC (SDM semantics, with IA32_TSC_ADJUST following). */
void vmtime_write_guest_tsc(struct vcpu *v, uint64_t value);
/* Hypercall: the pvclock fast path on/off (emulate mode). */
int64_t vmtime_pv_fast_path(struct vcpu *v, bool enable);
/* Apply a VM-wide TSC change to this vCPU on its own pCPU before entry. */
void vmtime_resync_if_needed(struct vcpu *v);
/* WRMSR IA32_TSC_ADJUST: the TSC moves by the difference. */
void vmtime_write_tsc_adjust(struct vcpu *v, uint64_t value);
/* The host TSC at which this vCPU's guest TSC reaches `guest_tsc` (rounded
 * up: a deadline never fires early); 0 when that is already past. */
uint64_t vmtime_guest_to_host(struct vcpu *v, uint64_t guest_tsc);
/* The vCPU is about to run on this pCPU (after a move): re-apply its TSC. */
void vmtime_vcpu_loaded(struct vcpu *v);
/* A restore resumes the guest clocks at host TSC vm->time.resume_host; the
 * VM runs later (the restore's log lines go out on a 115200-baud console at
 * ~87 us a character, and other VMs may be created in between). Called
 * right before the VM runs again, after the last log line (sched_run_vm,
 * or the in-boot restore once its lines are out): every guest TSC, emulated
 * or native, and every LAPIC timer moves on by the host time in between, so
 * the guest sees none of it ("pause" semantics, docs/save-restore.md). */
void vmtime_resume(struct vm *vm);

#endif
