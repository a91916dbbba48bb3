/* What the core decides for both virtualisation backends, and the services
 * it offers them, so that arch/x86/svm.c and vmx.c hold only what their
 * hardware needs (docs/vendor-ops.md).
 *
 * The hypervisor runs identity-mapped: a host pointer is its host-physical
 * address. */
#include <tscvisor/guest.h>
#include <tscvisor/mem.h>
#include <tscvisor/nested.h>
#include <tscvisor/vm.h>
#include <tscvisor/x86.h>

/* MSRs that belong to the guest outright, on either vendor: FS/GS base,
 * KERNEL_GS_BASE and the SYSCALL/SYSENTER MSRs are state the guest switches
 * at will (SWAPGS, every context switch) and the hypervisor never looks at;
 * the backends keep them in their control blocks or in the hardware while
 * the vCPU runs (docs/svm.md, docs/vmx.md). */
static const uint32_t guest_owned_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

#define PM_TIMER_PORTS 4u     /* the PM timer is a 32-bit register */

static void *nested_page(void)
{
	return mem_alloc_pages(1);
}

/* Guest-physical [0, ram_size) -> the VM's RAM and nothing else of the host
 * (nested_map_ram() maps exactly that): every other GPA takes a nested page
 * fault (SVM) or an EPT violation (VMX). */
int vm_backend_init(struct vm *vm)
{
	const struct vendor_ops *ops = vm->ops;
	uint64_t *root;
	unsigned i;

	if (ops->vm_init(vm, &root))
		return -1;
	if (nested_map_ram(root, (uint64_t)(uintptr_t)vm->ram, vm->ram_size, ops->nested_bits,
			   nested_page))
		return -1;
	if (vm->pm.port && vm->pm.xlate.kind == PM_DIRECT) {
		/* The PM timer is the guest's independent reference clock: reads go
		 * straight to the hardware (the register is read-only). */
		for (i = 0; i < PM_TIMER_PORTS; i++)
			ops->pass_io_port(vm, (uint16_t)(vm->pm.port + i));
	}
	for (i = 0; i < sizeof(guest_owned_msrs) / sizeof(guest_owned_msrs[0]); i++)
		ops->pass_msr(vm, guest_owned_msrs[i]);
	return 0;
}

uint64_t vcpu_cr8_read(struct vcpu *v)
{
	return (lapic_read(v, APIC_TPR) >> 4) & 15;
}

bool vcpu_cr8_write(struct vcpu *v, uint64_t val)
{
	if (val >> 4)
		return false;
	lapic_write(v, APIC_TPR, (uint32_t)(val << 4));
	return true;
}
