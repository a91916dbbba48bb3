/* What the boot CPU offers that matters to tscvisor. */
#ifndef ARCH_X86_CPU_H
#define ARCH_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

struct cpu_info {
	enum cpu_vendor vendor;
	char vendor_id[13];
	char brand[49];
	uint32_t family, model, stepping;
	uint32_t max_leaf, max_ext_leaf;
	bool hypervisor_bit;        /* CPUID.1:ECX[31]: we run nested */
	char hv_signature[13];      /* leaf 0x40000000, when present */
	uint32_t hv_max_leaf;
	bool invariant_tsc;         /* CPUID.80000007:EDX[8] */
	bool rdtscp;                /* CPUID.80000001:EDX[27] */
	bool tsc_deadline;          /* CPUID.1:ECX[24] */
	bool x2apic;                /* CPUID.1:ECX[21] */
	bool gbpages;               /* CPUID.80000001:EDX[26] */

	/* Intel VMX (SDM Vol. 3C appendix A) */
	bool vmx;
	bool vmx_locked_off;        /* IA32_FEATURE_CONTROL locked with VMX disabled */
	bool vmx_true_ctls;         /* IA32_VMX_BASIC[55] */
	bool vmx_ept, vmx_vpid, vmx_unrestricted, vmx_tsc_offset, vmx_rdtsc_exiting;
	bool vmx_tsc_scaling, vmx_rdtscp, vmx_preemption_timer;

	/* AMD SVM (APM Vol. 2 ch. 15; CPUID 0x8000000A) */
	bool svm;
	bool svm_disabled;          /* VM_CR.SVMDIS */
	bool svm_npt, svm_nrips, svm_tsc_ratio, svm_vmcb_clean, svm_flush_asid, svm_decode;
	uint32_t svm_asids;
};

void cpu_discover(struct cpu_info *ci);
void cpu_print(const struct cpu_info *ci);

#endif
