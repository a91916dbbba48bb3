/* Hypercalls (VMMCALL / VMCALL; docs/abi.md): RAX = number, arguments in
 * RBX, RCX, RDX, RSI; the result in RAX; an unknown number returns -1000
 * (KVM's -KVM_ENOSYS). */
#include <tscvisor/hypercall.h>
#include <tscvisor/kvmclock.h>
#include <string.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/sched.h>
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

/* The guest asked for a snapshot now (HC_SAVE): every other vCPU parked,
 * the snapshot taken as if the call had returned 0, then the VM's on_save.
 * Returns 0 (also to the restored guest), or -1 when the save failed. */
int64_t vm_request_save(struct vcpu *v)
{
	struct vm *vm = v->vm;
	const uint8_t *buf;
	uint64_t len = 0;
	int64_t rc = 0;

	sched_pause_others(vm);
	v->regs.rax = 0;
	buf = save_vm(vm, v, &len);
	if (!buf) {
		rc = -1;
	} else {
		vm->saves++;
		switch (vm->cfg->on_save) {
		case ON_SAVE_STOP:
			vm_end(vm, VM_END_SAVED, 1, "saved; on_save = stop");
			break;
		case ON_SAVE_CONTINUE:
			break;
		case ON_SAVE_RESTORE:
		default:
			/* Destroy (RAM and vCPU state gone), restore, go on. */
			memset(vm->ram, 0, vm->ram_size);
			if (restore_vm(vm, v, buf, len))
				vm_end(vm, VM_END_UNHANDLED, 0, "restore from its own snapshot failed");
			break;
		}
	}
	sched_resume_others(vm);
	return rc;
}
