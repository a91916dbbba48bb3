/* Hypercall numbers (docs/abi.md). */
#ifndef TSCVISOR_HYPERCALL_H
#define TSCVISOR_HYPERCALL_H

#include <stdint.h>
#include <tscvisor/save.h>   /* vm_request_save(), vm_operator_save() */
#include <tscvisor/vcpu.h>

#define HC_NULL              0   /* returns 0: the cheapest exit there is */
#define HC_PVCLOCK_FAST_PATH 1   /* RBX=1: stop RDTSC trapping VM-wide (emulate mode); 0: trap again */
#define HC_PVCLOCK_REFRESH   2   /* rewrite every vCPU's pvclock area now; returns how many */
#define HC_SAVE              3   /* take a snapshot of the VM now (save/restore) */
#define HC_PVCLOCK_WINDOW    4   /* RBX: GPA of the per-vCPU pvclock window, 0 removes it */
#define HC_EINVAL            (-22)
#define HC_ENOSYS            (-1000)
/* Never seen by a guest: another pCPU holds the VM's pause; the exit
 * handler leaves RIP on the call, which is executed again after it. */
#define HC_RETRY             INT64_MIN

int64_t hypercall(struct vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
