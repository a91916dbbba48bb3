/* Hypercalls (VMMCALL / VMCALL; docs/abi.md): RAX = number, arguments in
 * RBX, RCX, RDX, RSI; the result in RAX; an unknown number returns -1000
 * (KVM's -KVM_ENOSYS). */
#include <tscvisor/hypercall.h>
#include <tscvisor/kvmclock.h>
#include <string.h>
#include <tscvisor/log.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

/* Hypercalls 1 and 4 change other vCPUs' TSC formula or nested page
 * tables: each runs with every other pCPU of the VM parked (vmm/pause.c's
 * pause protocol), so no vCPU runs or writes its own area meanwhile. When another pCPU holds the pause, the call is executed again
 * after it (HC_RETRY); when the VM is ending it returns -1. */
static int64_t paused_call(struct vcpu *v, int64_t (*fn)(struct vcpu *, uint64_t), uint64_t a0)
{
	int64_t rc;
	int p = sched_pause_others(v->vm);

	if (p == SCHED_PAUSE_BUSY)
		return HC_RETRY;
	if (p)
		return -1;
	rc = fn(v, a0);
	sched_resume_others(v->vm);
	return rc;
}

static int64_t hc_pvclock_fast_path(struct vcpu *v, uint64_t enable)
{
	return vmtime_pv_fast_path(v, enable != 0);
}

/* Hypercall 2 needs no pause: this vCPU's area is rewritten here, every
 * other vCPU's by its own pCPU before that vCPU next runs (or at once where
 * it sleeps), as after a TSC write: one writer per area, and a guest that
 * refreshes in a loop does not stop its siblings each time. */
static int64_t hc_pvclock_refresh(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned i;
	int64_t n = 0;

	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *o = &vm->vcpus[i];

		if (!(o->pv.system_time & PVCLOCK_SYSTEM_TIME_ENABLE))
			continue;
		n++;
		if (o == v) {
			kvmclock_update(v);
		} else {
			__atomic_store_n(&o->pv.resync, 1, __ATOMIC_RELEASE);
			sched_kick_vcpu(o);
		}
	}
	return n;
}

/* Every other vCPU parked while their nested page tables change: when the
 * call returns, every vCPU sees the window. */
static int64_t hc_pvclock_window(struct vcpu *v, uint64_t gpa)
{
	struct vm *vm = v->vm;
	unsigned i;
	int rc;

	rc = kvmclock_set_window(vm, gpa);
	for (i = 0; !rc && i < vm->nvcpus; i++)
		kvmclock_update(&vm->vcpus[i]);
	if (rc)
		vm_warn(vm, "vm %s: vCPU %u: pvclock window at 0x%lx refused: not a page of guest RAM",
			    vm->name, v->id, gpa);
	else if (gpa)
		vm_info(vm, "vm %s: pvclock window at 0x%lx: each vCPU reads its own area there",
			    vm->name, gpa);
	else
		vm_info(vm, "vm %s: pvclock window removed", vm->name);
	return rc ? HC_EINVAL : 0;
}

int64_t hypercall(struct vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a1;
	(void)a2;
	(void)a3;
	v->hypercalls++;
	switch (nr) {
	case HC_NULL:
		return 0;
	case HC_PVCLOCK_FAST_PATH:
		return paused_call(v, hc_pvclock_fast_path, a0);
	case HC_PVCLOCK_REFRESH:
		return hc_pvclock_refresh(v);
	case HC_SAVE:
		return vm_request_save(v);
	case HC_PVCLOCK_WINDOW:
		return paused_call(v, hc_pvclock_window, a0);
	default:
		return HC_ENOSYS;
	}
}
