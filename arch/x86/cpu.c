/* CPU discovery: vendor, virtualisation extension and the features tscvisor
 * builds on. MSRs are read only where CPUID says they exist. */
#include <string.h>
#include <tscvisor/log.h>
#include "cpu.h"
#include "insn.h"

static void regs_to_str(char *dst, const uint32_t *regs, unsigned n)
{
	memcpy(dst, regs, n * 4);
	dst[n * 4] = 0;
}

/* VMX capability MSRs: bits 63:32 are the allowed-1 settings. */
static bool vmx_allows(uint32_t msr, unsigned bit)
{
	return (rdmsr(msr) >> 32) & (1ull << bit);
}

static void discover_vmx(struct cpu_info *ci)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL), basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t proc = MSR_IA32_VMX_PROCBASED, pin = MSR_IA32_VMX_PINBASED;

	/* Locked (bit 0) without VMX-outside-SMX (bit 2): firmware forbade VMX. */
	ci->vmx_locked_off = (fc & 1) && !(fc & 4);
	ci->vmx_true_ctls = basic & (1ull << 55);
	if (ci->vmx_true_ctls) {
		proc = MSR_IA32_VMX_TRUE_PROC;
		pin = MSR_IA32_VMX_TRUE_PIN;
	}
	ci->vmx_tsc_offset = vmx_allows(proc, 3);
	ci->vmx_rdtsc_exiting = vmx_allows(proc, 12);
	ci->vmx_preemption_timer = vmx_allows(pin, 6);
	if (vmx_allows(proc, 31)) {        /* activate secondary controls */
		ci->vmx_ept = vmx_allows(MSR_IA32_VMX_PROCBASED2, 1);
		ci->vmx_rdtscp = vmx_allows(MSR_IA32_VMX_PROCBASED2, 3);
		ci->vmx_vpid = vmx_allows(MSR_IA32_VMX_PROCBASED2, 5);
		ci->vmx_unrestricted = vmx_allows(MSR_IA32_VMX_PROCBASED2, 7);
		ci->vmx_tsc_scaling = vmx_allows(MSR_IA32_VMX_PROCBASED2, 25);
	}
}

static void discover_svm(struct cpu_info *ci)
{
	uint32_t r[4];

	ci->svm_disabled = rdmsr(MSR_AMD_VM_CR) & (1u << 4);
	if (ci->max_ext_leaf < 0x8000000a)
		return;
	cpuid(0x8000000a, r);
	ci->svm_asids = r[1];
	ci->svm_npt = r[3] & (1u << 0);
	ci->svm_nrips = r[3] & (1u << 3);
	ci->svm_tsc_ratio = r[3] & (1u << 4);
	ci->svm_vmcb_clean = r[3] & (1u << 5);
	ci->svm_flush_asid = r[3] & (1u << 6);
	ci->svm_decode = r[3] & (1u << 7);
}

void cpu_discover(struct cpu_info *ci)
{
	uint32_t r[4], id[3];
	unsigned i;

	memset(ci, 0, sizeof(*ci));
	cpuid(0, r);
	ci->max_leaf = r[0];
	id[0] = r[1]; id[1] = r[3]; id[2] = r[2];
	regs_to_str(ci->vendor_id, id, 3);
	if (!strcmp(ci->vendor_id, "GenuineIntel"))
		ci->vendor = VENDOR_INTEL;
	else if (!strcmp(ci->vendor_id, "AuthenticAMD"))
		ci->vendor = VENDOR_AMD;

	cpuid(1, r);
	ci->stepping = r[0] & 0xf;
	ci->model = ((r[0] >> 4) & 0xf) | (((r[0] >> 16) & 0xf) << 4);
	ci->family = ((r[0] >> 8) & 0xf) + (((r[0] >> 8) & 0xf) == 0xf ? ((r[0] >> 20) & 0xff) : 0);
	ci->vmx = r[2] & (1u << 5);
	ci->x2apic = r[2] & (1u << 21);
	ci->tsc_deadline = r[2] & (1u << 24);
	ci->hypervisor_bit = r[2] & (1u << 31);

	cpuid(0x80000000, r);
	ci->max_ext_leaf = r[0];
	if (ci->max_ext_leaf >= 0x80000001) {
		cpuid(0x80000001, r);
		ci->svm = r[2] & (1u << 2);
		ci->rdtscp = r[3] & (1u << 27);
		ci->gbpages = r[3] & (1u << 26);
	}
	if (ci->max_ext_leaf >= 0x80000004) {
		for (i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, r);
			memcpy(ci->brand + 16 * i, r, 16);
		}
		ci->brand[48] = 0;
	}
	if (ci->max_ext_leaf >= 0x80000007) {
		cpuid(0x80000007, r);
		ci->invariant_tsc = r[3] & (1u << 8);
	}
	if (ci->hypervisor_bit) {
		cpuid(0x40000000, r);
		ci->hv_max_leaf = r[0];
		regs_to_str(ci->hv_signature, r + 1, 3);
	}
	if (ci->vmx)
		discover_vmx(ci);
	if (ci->svm)
		discover_svm(ci);
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

void cpu_print(const struct cpu_info *ci)
{
	const char *brand = ci->brand;

	while (*brand == ' ')
		brand++;
	log_info("cpu: vendor %s, family 0x%x model 0x%x stepping %u, \"%s\"",
		 ci->vendor_id, ci->family, ci->model, ci->stepping, brand);
	if (ci->hypervisor_bit)
		log_info("cpu: running under a hypervisor: \"%s\" (max leaf 0x%x)",
			 ci->hv_signature, ci->hv_max_leaf);
	log_info("cpu: invariant TSC %s, RDTSCP %s, TSC-deadline %s, x2APIC %s",
		 yn(ci->invariant_tsc), yn(ci->rdtscp), yn(ci->tsc_deadline), yn(ci->x2apic));
	if (ci->vmx)
		log_info("cpu: VMX yes%s: EPT %s, VPID %s, unrestricted guest %s, TSC offsetting %s, "
			 "RDTSC exiting %s, TSC multiplier %s, RDTSCP %s, preemption timer %s, true controls %s",
			 ci->vmx_locked_off ? " (LOCKED OFF by firmware)" : "",
			 yn(ci->vmx_ept), yn(ci->vmx_vpid), yn(ci->vmx_unrestricted),
			 yn(ci->vmx_tsc_offset), yn(ci->vmx_rdtsc_exiting), yn(ci->vmx_tsc_scaling),
			 yn(ci->vmx_rdtscp), yn(ci->vmx_preemption_timer), yn(ci->vmx_true_ctls));
	if (ci->svm)
		log_info("cpu: SVM yes%s: NPT %s, NRIPS %s, TSC ratio MSR %s, VMCB clean bits %s, "
			 "flush by ASID %s, decode assists %s, %u ASIDs",
			 ci->svm_disabled ? " (DISABLED by VM_CR.SVMDIS)" : "",
			 yn(ci->svm_npt), yn(ci->svm_nrips), yn(ci->svm_tsc_ratio),
			 yn(ci->svm_vmcb_clean), yn(ci->svm_flush_asid), yn(ci->svm_decode),
			 ci->svm_asids);
	if (!ci->vmx && !ci->svm)
		log_warn("cpu: neither VMX nor SVM: no VM can run on this machine");
}
