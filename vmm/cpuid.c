/* CPUID as a guest sees it: the host's, minus what the VM does not offer,
 * plus what the hypervisor says about itself (docs/abi.md). */
#include <string.h>
#include <tscvisor/cpumodel.h>
#include <tscvisor/guest.h>
#include <tscvisor/pvclock.h>
#include <tscvisor/vm.h>
#include <tscvisor/xstate.h>
#include <tscvisor/hw.h>

/* The hypervisor's leaves (docs/abi.md): KVM's at 0x40000000 so stock
 * guests find kvmclock, tscvisor's time leaf at 0x40000100. */
static void hypervisor_leaf(struct vcpu *v, uint32_t leaf, uint32_t r[4])
{
	const struct vm_time *t = &v->vm->time;
	uint64_t rate = t->d.guest_rate_khz ? t->d.guest_rate_khz : t->emul.guest_khz;

	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case KVM_CPUID_SIGNATURE:
		r[0] = KVM_CPUID_TIMING;
		r[1] = KVM_SIGNATURE_EBX;
		r[2] = KVM_SIGNATURE_ECX;
		r[3] = KVM_SIGNATURE_EDX;
		break;
	case KVM_CPUID_FEATURES:
		r[0] = KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2 |
		       KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
		break;
	case KVM_CPUID_TIMING:
		r[0] = (uint32_t)rate;                 /* the rate the guest TSC runs at */
		r[1] = (uint32_t)LAPIC_TIMER_KHZ;
		break;
	case TIMELEAF_BASE:
		r[0] = TIMELEAF_MAX;
		memcpy(&r[1], "TSCV", 4);
		memcpy(&r[2], "isor", 4);
		memcpy(&r[3], "TSCV", 4);
		break;
	case TIMELEAF_STATE:
		r[0] = (t->d.trap_rdtsc ? TIMELEAF_TRAPPED : 0) |
		       (t->d.host_reliable ? TIMELEAF_HOST_RELIABLE : 0) |
		       (t->d.use_hw_scaling ? TIMELEAF_HW_SCALING : 0) |
		       (t->d.pv_fast_path ? TIMELEAF_PV_FAST_PATH : 0) |
		       (t->d.rate_guaranteed ? TIMELEAF_RATE_GUARANTEED : 0);
		r[1] = (uint32_t)t->d.mode | ((uint32_t)v->vm->cfg->tsc_mode << 8);
		r[2] = (uint32_t)t->emul.guest_khz;
		r[3] = t->incarnation;
		break;
	case TIMELEAF_SCALE: {
		struct pvclock_scale sc;

		if (pvclock_scale_for(rate, &sc) == 0) {
			r[0] = sc.mul;
			r[1] = (uint32_t)(int32_t)sc.shift;
		}
		r[2] = (uint32_t)rate;
		r[3] = (uint32_t)(rate >> 32);
		break;
	}
	default:
		break;
	}
}

/* The VM's vendor is the host's: the SVM backend runs on AMD, VMX on Intel. */
enum cpumodel_vendor guest_cpu_vendor(const struct vm *vm)
{
	return vm->ops->guest_vendor;
}

/* The host's answer through the VM's description (pure/cpumodel.c), then the
 * per-vCPU parts: APIC ID and count, APIC present while enabled, OSXSAVE,
 * topology, invariant TSC, XSAVE (pure/xstate.c). */
void guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	struct vcpu_sregs s;

	if (leaf >= CPUID_LEAF_HV_FIRST && leaf <= CPUID_LEAF_HV_LAST) {
		hypervisor_leaf(v, leaf, r);
		return;
	}
	cpuid_count(leaf, subleaf, r);
	cpumodel_cpuid(guest_cpu_vendor(v->vm), leaf, subleaf, r);
	switch (leaf) {
	case 1:
		v->vm->ops->get_sregs(v, &s);
		r[1] = (r[1] & 0x0000ffffu) | (v->id << 24) | (v->vm->nvcpus << 16);
		/* APIC on chip reads 0 while the vCPU's APIC is globally
		 * disabled (SDM Vol. 3A 11.4.3); OSXSAVE mirrors CR4. */
		r[3] = (r[3] & ~CPUID_1_EDX_APIC) |
		       ((v->apic_base & APIC_BASE_ENABLE) ? CPUID_1_EDX_APIC : 0);
		r[2] &= ~CPUID_1_ECX_OSXSAVE;
		if (s.cr4 & X86_CR4_OSXSAVE)
			r[2] |= CPUID_1_ECX_OSXSAVE;
		break;
	case 0xb:               /* topology: one thread per core, x2APIC ID */
	case 0x1f:
		r[0] = 0;
		r[1] = subleaf == 0 ? 1 : 0;
		r[2] = subleaf == 0 ? CPUID_TOPO_LEVEL_SMT : subleaf;
		r[3] = v->id;
		break;
	case 0x80000001:
		/* AMD mirrors the APIC bit here (APM Vol. 3 E.4.2). */
		if (guest_cpu_vendor(v->vm) == CPUMODEL_AMD)
			r[3] = (r[3] & ~CPUID_80000001_EDX_APIC) |
			       ((v->apic_base & APIC_BASE_ENABLE) ? CPUID_80000001_EDX_APIC : 0);
		if (!(fpu_host.offered & XS_AVX))
			r[2] &= ~(CPUID_80000001_ECX_XOP | CPUID_80000001_ECX_FMA4);   /* AVX state */
		break;
	case 0x80000007:
		/* Invariant TSC only when the VM's rate is guaranteed. */
		r[0] = r[1] = r[2] = 0;
		r[3] = v->vm->time.d.rate_guaranteed ? CPUID_80000007_EDX_INVTSC : 0;
		break;
	default:
		break;
	}
	/* XSAVE, OSXSAVE, AVX, AVX-512 and leaf 0DH say what XSETBV accepts
	 * and vmm/fpuswitch.c switches (pure/xstate.c), nothing more. */
	if (leaf == 1 || leaf == 7 || leaf == 0xd)
		xstate_cpuid(leaf, subleaf, fpu_host.offered, v->xcr0, &fpu_host.layout, r);
}
