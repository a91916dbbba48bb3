/* Hypercalls (VMMCALL / VMCALL; docs/abi.md): RAX = number, arguments in
 * RBX, RCX, RDX, RSI; the result in RAX; an unknown number returns -1000
 * (KVM's -KVM_ENOSYS). */
#include <tscvisor/hypercall.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

static int64_t hc_pvclock_refresh(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned i;
	int64_t n = 0;

	for (i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].pv_system_time & PVCLOCK_SYSTEM_TIME_ENABLE) {
			kvmclock_update(&vm->vcpus[i]);
			n++;
		}
	}
	return n;
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
		return vmtime_pv_fast_path(v, a0 != 0);
	case HC_PVCLOCK_REFRESH:
		return hc_pvclock_refresh(v);
	case HC_SAVE:
		return vm_request_save(v);
	default:
		return HC_ENOSYS;
	}
}

/* Saving a VM arrives with the save/restore work: until then the call says
 * it does not exist. */
int64_t vm_request_save(struct vcpu *v)
{
	(void)v;
	return HC_ENOSYS;
}
