/* MSRs as a guest sees them. Whether an MSR exists, and how it behaves, is
 * the VM's description's (pure/cpumodel.c): everything it does not list, and
 * the MSRs of features it hides, get #GP, as on a CPU without that MSR;
 * constant MSRs are answered from it; the rest reach the handlers below
 * (docs/platform.md, docs/abi.md). */
#include <tscvisor/cpumodel.h>
#include <tscvisor/guest.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

int guest_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct cpumodel_msr_answer a = cpumodel_msr(guest_cpu_vendor(v->vm), msr);

	if (a.kind == MSRK_GP)
		goto refuse;
	if (a.kind == MSRK_CONST_WI || a.kind == MSRK_CONST_RO) {
		*val = a.value;
		return 0;
	}
	if (v->vm->ops->msr_read(v, msr, val))
		return 0;
	switch (msr) {
	case MSR_IA32_TSC:
		*val = vmtime_read_guest_tsc(v);
		return 0;
	case MSR_IA32_APIC_BASE:
		*val = v->apic_base;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*val = v->tsc.adjust;
		return 0;
	case MSR_IA32_TSC_AUX:
		*val = v->tsc_aux;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		*val = lapic_read_tsc_deadline(v);
		return 0;
	default:
		if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
			return lapic_msr_read(v, msr, val);
		if (kvmclock_is_msr(msr))
			return kvmclock_rdmsr(v, msr, val);
	refuse:
		vm_dbg(v->vm, "vm %s: RDMSR 0x%x: no such MSR, #GP", v->vm->name, msr);
		return -1;
	}
}

int guest_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct cpumodel_msr_answer a = cpumodel_msr(guest_cpu_vendor(v->vm), msr);

	if (a.kind == MSRK_CONST_WI)
		return 0;               /* as with no counter running */
	if (a.kind == MSRK_GP || a.kind == MSRK_CONST_RO)
		goto refuse;
	switch (msr) {
	case MSR_IA32_TSC:
		vmtime_write_guest_tsc(v, val);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		vmtime_write_tsc_adjust(v, val);
		return 0;
	case MSR_IA32_APIC_BASE:
		return lapic_write_apic_base(v, val);
	case MSR_IA32_TSC_AUX:
		if (val >> 32)
			return -1;
		/* pvrdtscp: TSC_AUX is the VM's incarnation, the hypervisor's to
		 * set (as Xen's native_paravirt): the write is ignored. */
		if (v->vm->time.d.mode == TSC_MODE_PVRDTSCP)
			return 0;
		v->tsc_aux = val;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		lapic_write_tsc_deadline(v, val);
		return 0;
	default:
		if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
			return lapic_msr_write(v, msr, val);
		if (kvmclock_is_msr(msr))
			return kvmclock_wrmsr(v, msr, val);
		if (v->vm->ops->msr_write(v, msr, val))
			return 0;
	refuse:
		vm_dbg(v->vm, "vm %s: WRMSR 0x%x = 0x%lx: refused, #GP", v->vm->name, msr,
			      val);
		return -1;
	}
}
