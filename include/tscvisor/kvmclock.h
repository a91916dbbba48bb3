/* kvmclock for a VM (docs/abi.md): the master clock, the vCPUs' areas,
 * the wall clock, the CPUID leaves and MSRs of the kvmclock ABI. The pure
 * arithmetic and the version protocol are pure/pvclock.c. */
#ifndef TSCVISOR_KVMCLOCK_H
#define TSCVISOR_KVMCLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/vcpu.h>

struct vm;

/* The master pair (0, 0) at the VM's guest rate: system_time counts ns since
 * the VM was created. */
void kvmclock_init(struct vm *vm);
bool kvmclock_is_msr(uint32_t msr);
int kvmclock_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
/* 0, or -1 for #GP (bad GPA: outside RAM, crossing a page, misaligned). */
int kvmclock_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);
/* The pvclock window (hypercall 4, docs/abi.md): every vCPU reads, at
 * guest-physical page gpa, a page of its own: its pvclock area at offset 0,
 * its vCPU index (u32) at offset 32, zeros after; gpa 0 removes it. Only
 * while no other vCPU of the VM runs (paused, or not started); the caller
 * then updates the areas (kvmclock_update). 0, or -1 for an address that is
 * not a page of guest RAM (-22 to the guest). */
int kvmclock_set_window(struct vm *vm, uint64_t gpa);
/* Rewrite the vCPU's area (after a TSC write, a move, a restore...). */
void kvmclock_update(struct vcpu *v);
/* The update another vCPU asked of v (v->pv.resync), on v's own pCPU. */
void kvmclock_update_if_asked(struct vcpu *v);
/* Whether the VM's areas carry PVCLOCK_TSC_STABLE_BIT now. */
bool kvmclock_stable(const struct vm *vm);
/* The wall clock (ns since 1970) at host TSC `host_tsc` (from UEFI's
 * GetTime at boot); 0 when unknown. */
void kvmclock_set_boot_wall(uint64_t unix_ns, uint64_t host_tsc, uint64_t host_khz);

#endif
