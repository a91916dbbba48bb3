/* CPUID as a guest sees it: the host's, minus what the VM does not offer,
 * plus what the hypervisor says about itself (docs/abi.md). */
#include <tscvisor/guest.h>
#include <tscvisor/vm.h>
#include "x86.h"

void guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	struct vcpu_sregs s;

	if (leaf >= 0x40000000 && leaf <= 0x4fffffff) {
		/* Hypervisor leaves: none defined yet (kvmclock and the time
		 * leaf come with the guest-time work). */
		r[0] = r[1] = r[2] = r[3] = 0;
		return;
	}
	cpuid_count(leaf, subleaf, r);
	switch (leaf) {
	case 1:
		v->vm->ops->get_sregs(v, &s);
		r[1] = (r[1] & 0x0000ffffu) | (v->id << 24) | (v->vm->nvcpus << 16);
		/* No VMX/SMX (no nesting), MONITOR; the virtual LAPIC offers
		 * x2APIC and TSC-deadline; hypervisor present; OSXSAVE mirrors
		 * the guest. */
		r[2] &= ~((1u << 3) | (1u << 5) | (1u << 6) | (1u << 27));
		r[2] |= (1u << 21) | (1u << 24) | (1u << 31);
		r[3] |= 1u << 9;        /* APIC on chip */
		if (s.cr4 & (1u << 18))
			r[2] |= 1u << 27;
		/* No MCE, MTRR, MCA, perfmon-ish ACPI/thermal MSRs behind them. */
		r[3] &= ~((1u << 7) | (1u << 12) | (1u << 14) | (1u << 22) | (1u << 29));
		break;
	case 0xb:               /* topology: one thread per core, x2APIC ID */
	case 0x1f:
		r[0] = subleaf == 0 ? 0 : 0;
		r[1] = subleaf == 0 ? 1 : 0;
		r[2] = subleaf == 0 ? (1u << 8) : subleaf;
		r[3] = v->id;
		break;
	case 6:                 /* thermal and power: nothing */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 7:
		if (subleaf == 0) {
			r[1] |= 1u << 1;        /* IA32_TSC_ADJUST */
			r[2] |= 1u << 22;       /* RDPID: native, or emulated on #UD */
		}
		break;
	case 0xa:               /* architectural perfmon: none */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 0x80000001:
		r[2] &= ~(1u << 2);     /* SVM: no nesting */
		break;
	case 0x80000007:
		/* Invariant TSC only when the VM's rate is guaranteed (SPEC 2). */
		r[0] = r[1] = r[2] = 0;
		r[3] = v->vm->time.d.rate_guaranteed ? 1u << 8 : 0;
		break;
	case 0x8000000a:        /* SVM features: none */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	default:
		break;
	}
}
