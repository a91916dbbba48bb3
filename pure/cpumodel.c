/* The virtual CPU (include/tscvisor/cpumodel.h): one table of CPUID bits and
 * one of MSRs, per vendor. A guest may rely on everything the CPUID it is
 * shown promises and on what every CPU of the vendor has architecturally;
 * what is not virtualised (performance monitoring, machine check, MTRRs,
 * thermal/power control, speculation-control MSRs, nesting, tracing) is
 * hidden, and its MSRs #GP as on a CPU without the feature. */
#include <stddef.h>
#include <tscvisor/cpumodel.h>

/* Features an MSR entry refers to, by index into cpumodel_features[]. */
enum {
	F_TSC, F_MSR, F_APIC, F_SEP, F_MTRR, F_MCE, F_MCA, F_PAT, F_PSN, F_DS, F_ACPI,
	F_TM, F_PBE, F_DTES64, F_MONITOR, F_DSCPL, F_VMX, F_SMX, F_EST, F_TM2, F_XTPR,
	F_PDCM, F_DCA, F_X2APIC, F_TSC_DEADLINE, F_OSXSAVE, F_HYPERVISOR,
	F_SGX, F_TSC_ADJUST, F_PQM, F_PQE, F_PT, F_WAITPKG, F_CET_SS, F_TME, F_ENQCMD,
	F_SGX_LC, F_RDPID, F_PCONFIG, F_CET_IBT, F_IBRS, F_STIBP, F_L1D_FLUSH,
	F_ARCH_CAP, F_CORE_CAP, F_SSBD, F_UINTR, F_XSAVES,
	F_SVM, F_EXTAPIC, F_OSVW, F_IBS, F_SKINIT, F_WDT, F_LWP, F_NODEID, F_TOPOEXT,
	F_PERFCTR_CORE, F_PERFCTR_NB, F_DBX, F_PERFTSC, F_PERFCTR_LLC, F_MWAITX,
	F_E_MCE, F_E_MTRR, F_E_MCA, F_E_APIC, F_SYSCALL, F_NX, F_RDTSCP, F_LM,
	F_AMD_IBPB, F_AMD_IBRS, F_AMD_STIBP, F_AMD_SSBD, F_AMD_VIRT_SSBD,
	F_INVTSC,
	F_NR
};

#define FEAT(i, l, s, r, b, sh, v, n, w) \
	[i] = { .leaf = l, .subleaf = s, .reg = r, .bit = b, .show = sh, .vendors = v, .name = n, .why = w }
#define B CPUMODEL_V_BOTH

const struct cpumodel_feature cpumodel_features[F_NR] = {
	FEAT(F_TSC,      1, 0, CR_EDX, 4,  SHOW_HOST, B, "TSC", "IA32_TSC (0x10) per the VM's TSC mode"),
	FEAT(F_MSR,      1, 0, CR_EDX, 5,  SHOW_HOST, B, "MSR", "RDMSR/WRMSR per this table"),
	FEAT(F_APIC,     1, 0, CR_EDX, 9,  SHOW_DYN,  B, "APIC", "1 while IA32_APIC_BASE.EN is set (SDM Vol. 3A 11.4.3)"),
	FEAT(F_SEP,      1, 0, CR_EDX, 11, SHOW_HOST, B, "SEP", "SYSENTER_CS/ESP/EIP (0x174-0x176) are the guest's"),
	FEAT(F_MTRR,     1, 0, CR_EDX, 12, SHOW_HIDE, B, "MTRR", "no MTRRs: 0xFE, 0x200-0x26F, 0x2FF #GP"),
	FEAT(F_MCE,      1, 0, CR_EDX, 7,  SHOW_HIDE, B, "MCE", "no machine-check exception"),
	FEAT(F_MCA,      1, 0, CR_EDX, 14, SHOW_HIDE, B, "MCA", "no MCA: 0x179-0x17B, 0x400-0x47F #GP"),
	FEAT(F_PAT,      1, 0, CR_EDX, 16, SHOW_HOST, B, "PAT", "IA32_PAT (0x277) in the VMCB/VMCS"),
	FEAT(F_PSN,      1, 0, CR_EDX, 18, SHOW_HIDE, B, "PSN", "no processor serial number"),
	FEAT(F_DS,       1, 0, CR_EDX, 21, SHOW_HIDE, B, "DS", "no debug store: IA32_DS_AREA (0x600) #GP"),
	FEAT(F_ACPI,     1, 0, CR_EDX, 22, SHOW_HIDE, B, "ACPI", "no thermal MSRs: 0x19A-0x19C #GP"),
	FEAT(F_TM,       1, 0, CR_EDX, 29, SHOW_HIDE, B, "TM", "no thermal monitor"),
	FEAT(F_PBE,      1, 0, CR_EDX, 31, SHOW_HIDE, B, "PBE", "no pending-break enable"),
	FEAT(F_DTES64,   1, 0, CR_ECX, 2,  SHOW_HIDE, B, "DTES64", "no debug store"),
	FEAT(F_MONITOR,  1, 0, CR_ECX, 3,  SHOW_HIDE, B, "MONITOR", "MONITOR/MWAIT not offered"),
	FEAT(F_DSCPL,    1, 0, CR_ECX, 4,  SHOW_HIDE, B, "DS-CPL", "no debug store"),
	FEAT(F_VMX,      1, 0, CR_ECX, 5,  SHOW_HIDE, B, "VMX", "no nesting: IA32_FEATURE_CONTROL (0x3A), 0x480-0x491 #GP"),
	FEAT(F_SMX,      1, 0, CR_ECX, 6,  SHOW_HIDE, B, "SMX", "no GETSEC"),
	FEAT(F_EST,      1, 0, CR_ECX, 7,  SHOW_HIDE, B, "EST", "no P-states: IA32_PERF_STATUS/CTL (0x198/0x199) #GP"),
	FEAT(F_TM2,      1, 0, CR_ECX, 8,  SHOW_HIDE, B, "TM2", "no thermal monitor"),
	FEAT(F_XTPR,     1, 0, CR_ECX, 14, SHOW_HIDE, B, "xTPR", "no xTPR update control"),
	FEAT(F_PDCM,     1, 0, CR_ECX, 15, SHOW_HIDE, B, "PDCM", "no PMU: IA32_PERF_CAPABILITIES (0x345) #GP"),
	FEAT(F_DCA,      1, 0, CR_ECX, 18, SHOW_HIDE, B, "DCA", "no direct cache access"),
	FEAT(F_X2APIC,   1, 0, CR_ECX, 21, SHOW_ON,   B, "x2APIC", "x2APIC MSRs 0x800-0x8FF (vmm/dev/lapic.c)"),
	FEAT(F_TSC_DEADLINE, 1, 0, CR_ECX, 24, SHOW_ON, B, "TSC-deadline", "IA32_TSC_DEADLINE (0x6E0) (vmm/dev/lapic.c)"),
	FEAT(F_OSXSAVE,  1, 0, CR_ECX, 27, SHOW_DYN,  B, "OSXSAVE", "mirrors the guest's CR4.OSXSAVE (pure/xstate.c)"),
	FEAT(F_HYPERVISOR, 1, 0, CR_ECX, 31, SHOW_ON, B, "hypervisor", "leaves 0x40000000-0x40000102 (docs/abi.md)"),
	FEAT(F_SGX,      7, 0, CR_EBX, 2,  SHOW_HIDE, B, "SGX", "no enclaves"),
	FEAT(F_TSC_ADJUST, 7, 0, CR_EBX, 1, SHOW_ON,  B, "TSC_ADJUST", "IA32_TSC_ADJUST (0x3B) per the VM's TSC mode"),
	FEAT(F_PQM,      7, 0, CR_EBX, 12, SHOW_HIDE, B, "RDT-M", "no resource monitoring (0xC8D-0xC8F)"),
	FEAT(F_PQE,      7, 0, CR_EBX, 15, SHOW_HIDE, B, "RDT-A", "no resource allocation"),
	FEAT(F_PT,       7, 0, CR_EBX, 25, SHOW_HIDE, B, "Intel PT", "no processor trace (0x560-0x571)"),
	FEAT(F_WAITPKG,  7, 0, CR_ECX, 5,  SHOW_HIDE, B, "WAITPKG", "no UMWAIT_CONTROL (0xE1)"),
	FEAT(F_CET_SS,   7, 0, CR_ECX, 7,  SHOW_HIDE, B, "CET_SS", "no CET state (0x6A0-0x6A7)"),
	FEAT(F_TME,      7, 0, CR_ECX, 13, SHOW_HIDE, B, "TME", "no memory encryption MSRs"),
	FEAT(F_ENQCMD,   7, 0, CR_ECX, 29, SHOW_HIDE, B, "ENQCMD", "no IA32_PASID (0xD93)"),
	FEAT(F_SGX_LC,   7, 0, CR_ECX, 30, SHOW_HIDE, B, "SGX_LC", "no enclaves"),
	FEAT(F_RDPID,    7, 0, CR_ECX, 22, SHOW_ON,   B, "RDPID", "reads IA32_TSC_AUX (0xC0000103); emulated on #UD"),
	FEAT(F_PCONFIG,  7, 0, CR_EDX, 18, SHOW_HIDE, B, "PCONFIG", "no PCONFIG"),
	FEAT(F_CET_IBT,  7, 0, CR_EDX, 20, SHOW_HIDE, B, "CET_IBT", "no CET state"),
	FEAT(F_IBRS,     7, 0, CR_EDX, 26, SHOW_HIDE, B, "IBRS/IBPB", "no IA32_SPEC_CTRL/PRED_CMD (0x48/0x49)"),
	FEAT(F_STIBP,    7, 0, CR_EDX, 27, SHOW_HIDE, B, "STIBP", "no IA32_SPEC_CTRL"),
	FEAT(F_L1D_FLUSH, 7, 0, CR_EDX, 28, SHOW_HIDE, B, "L1D_FLUSH", "no IA32_FLUSH_CMD (0x10B)"),
	FEAT(F_ARCH_CAP, 7, 0, CR_EDX, 29, SHOW_HIDE, B, "ARCH_CAPABILITIES", "no IA32_ARCH_CAPABILITIES (0x10A)"),
	FEAT(F_CORE_CAP, 7, 0, CR_EDX, 30, SHOW_HIDE, B, "CORE_CAPABILITIES", "no IA32_CORE_CAPABILITIES (0xCF)"),
	FEAT(F_SSBD,     7, 0, CR_EDX, 31, SHOW_HIDE, B, "SSBD", "no IA32_SPEC_CTRL"),
	FEAT(F_UINTR,    7, 0, CR_EDX, 5,  SHOW_HIDE, B, "UINTR", "no user interrupts"),
	FEAT(F_XSAVES, 0xd, 1, CR_EAX, 3,  SHOW_HIDE, B, "XSAVES", "no IA32_XSS (0xDA0) (pure/xstate.c)"),
	FEAT(F_SVM, 0x80000001, 0, CR_ECX, 2,  SHOW_HIDE, B, "SVM", "no nesting: VM_CR, VM_HSAVE_PA #GP"),
	FEAT(F_EXTAPIC, 0x80000001, 0, CR_ECX, 3, SHOW_HIDE, B, "ExtApicSpace", "no extended APIC registers"),
	FEAT(F_OSVW, 0x80000001, 0, CR_ECX, 9, SHOW_HIDE, B, "OSVW", "no OSVW MSRs (0xC0010140/0xC0010141)"),
	FEAT(F_IBS, 0x80000001, 0, CR_ECX, 10, SHOW_HIDE, B, "IBS", "no instruction-based sampling"),
	FEAT(F_SKINIT, 0x80000001, 0, CR_ECX, 12, SHOW_HIDE, B, "SKINIT", "no SKINIT/STGI"),
	FEAT(F_WDT, 0x80000001, 0, CR_ECX, 13, SHOW_HIDE, B, "WDT", "no watchdog timer"),
	FEAT(F_LWP, 0x80000001, 0, CR_ECX, 15, SHOW_HIDE, B, "LWP", "no lightweight profiling"),
	FEAT(F_NODEID, 0x80000001, 0, CR_ECX, 19, SHOW_HIDE, B, "NodeId", "no NodeId MSR"),
	FEAT(F_TOPOEXT, 0x80000001, 0, CR_ECX, 22, SHOW_HIDE, B, "TopologyExtensions", "leaves 0x8000001D/1E are zero"),
	FEAT(F_PERFCTR_CORE, 0x80000001, 0, CR_ECX, 23, SHOW_HIDE, B, "PerfCtrExtCore",
	     "no PMU: 0xC0010200-0xC001020B #GP"),
	FEAT(F_PERFCTR_NB, 0x80000001, 0, CR_ECX, 24, SHOW_HIDE, B, "PerfCtrExtNB", "no PMU: 0xC0010240-0xC0010247 #GP"),
	FEAT(F_DBX, 0x80000001, 0, CR_ECX, 26, SHOW_HIDE, B, "DataBreakpointExtension", "no DR address masks"),
	FEAT(F_PERFTSC, 0x80000001, 0, CR_ECX, 27, SHOW_HIDE, B, "PerfTsc", "no 0xC0010280"),
	FEAT(F_PERFCTR_LLC, 0x80000001, 0, CR_ECX, 28, SHOW_HIDE, B, "PerfCtrExtLLC", "no PMU: 0xC0010230-0xC001023B #GP"),
	FEAT(F_MWAITX, 0x80000001, 0, CR_ECX, 29, SHOW_HIDE, B, "MwaitExtended", "MONITORX/MWAITX not offered"),
	FEAT(F_E_MCE, 0x80000001, 0, CR_EDX, 7, SHOW_HIDE, B, "MCE (AMD mirror)", "as leaf 1"),
	FEAT(F_E_MTRR, 0x80000001, 0, CR_EDX, 12, SHOW_HIDE, B, "MTRR (AMD mirror)", "as leaf 1"),
	FEAT(F_E_MCA, 0x80000001, 0, CR_EDX, 14, SHOW_HIDE, B, "MCA (AMD mirror)", "as leaf 1"),
	FEAT(F_E_APIC, 0x80000001, 0, CR_EDX, 9, SHOW_DYN, CPUMODEL_V_AMD, "APIC (AMD mirror)", "as leaf 1"),
	FEAT(F_SYSCALL, 0x80000001, 0, CR_EDX, 11, SHOW_HOST, B, "SYSCALL", "STAR/LSTAR/CSTAR/SFMASK are the guest's"),
	FEAT(F_NX, 0x80000001, 0, CR_EDX, 20, SHOW_HOST, B, "NX", "EFER.NXE"),
	FEAT(F_RDTSCP, 0x80000001, 0, CR_EDX, 27, SHOW_HOST, B, "RDTSCP", "reads IA32_TSC_AUX"),
	FEAT(F_LM, 0x80000001, 0, CR_EDX, 29, SHOW_HOST, B, "LM", "EFER.LME/LMA"),
	FEAT(F_AMD_IBPB, 0x80000008, 0, CR_EBX, 12, SHOW_HIDE, B, "IBPB (AMD)", "no PRED_CMD"),
	FEAT(F_AMD_IBRS, 0x80000008, 0, CR_EBX, 14, SHOW_HIDE, B, "IBRS (AMD)", "no SPEC_CTRL"),
	FEAT(F_AMD_STIBP, 0x80000008, 0, CR_EBX, 15, SHOW_HIDE, B, "STIBP (AMD)", "no SPEC_CTRL"),
	FEAT(F_AMD_SSBD, 0x80000008, 0, CR_EBX, 24, SHOW_HIDE, B, "SSBD (AMD)", "no SPEC_CTRL"),
	FEAT(F_AMD_VIRT_SSBD, 0x80000008, 0, CR_EBX, 25, SHOW_HIDE, B, "VIRT_SSBD", "no VIRT_SPEC_CTRL (0xC001011F)"),
	FEAT(F_INVTSC, 0x80000007, 0, CR_EDX, 8, SHOW_DYN, B, "Invariant TSC",
	     "1 when the VM's TSC rate is guaranteed; the rest of the leaf is zero"),
};
const unsigned cpumodel_nr_features = F_NR;

/* Leaves that read all zero: nothing behind them is virtualised. */
static const struct { uint32_t leaf; uint8_t vendors; } zero_leaves[] = {
	{ 0x6, B },             /* thermal and power */
	{ 0xa, B },             /* architectural performance monitoring */
	{ 0xf, B },             /* RDT monitoring */
	{ 0x10, B },            /* RDT allocation */
	{ 0x12, B },            /* SGX */
	{ 0x14, B },            /* processor trace */
	{ 0x8000000a, B },      /* SVM features: no nesting */
	{ 0x8000001b, B },      /* IBS */
	{ 0x8000001d, B },      /* cache topology: TopologyExtensions hidden */
	{ 0x8000001e, B },
	{ 0x8000001f, B },      /* SEV */
	{ 0x80000022, B },      /* PerfMonV2 */
};

bool cpumodel_leaf_zero(enum cpumodel_vendor vd, uint32_t leaf)
{
	unsigned i;

	for (i = 0; i < sizeof(zero_leaves) / sizeof(zero_leaves[0]); i++)
		if (zero_leaves[i].leaf == leaf && (zero_leaves[i].vendors & (1u << vd)))
			return true;
	return false;
}

bool cpumodel_feature_shown(enum cpumodel_vendor vd, int feature)
{
	if (feature < 0)
		return true;
	if (feature >= F_NR || !(cpumodel_features[feature].vendors & (1u << vd)))
		return false;
	return cpumodel_features[feature].show != SHOW_HIDE;
}

/* The static masks, per vendor and leaf, folded from the feature table once
 * (cpumodel_init), with a direct index by leaf number, so a CPUID exit costs
 * one lookup, not a walk over the features. */
struct leaf_mask {
	uint32_t leaf, subleaf;
	uint32_t keep[4], set[4];
};
#define NR_MASKED  8
#define NR_INDEXED 0x40         /* leaves 0..0x3f and 0x80000000..0x8000003f */
#define IDX_NONE   0
#define IDX_ZERO   0xff
static struct leaf_mask masks[CPUMODEL_NR_VENDORS][NR_MASKED];
static unsigned nr_masks[CPUMODEL_NR_VENDORS];
static uint8_t idx_basic[CPUMODEL_NR_VENDORS][NR_INDEXED], idx_ext[CPUMODEL_NR_VENDORS][NR_INDEXED];
static int masks_ready;

static bool has_subleaves(uint32_t leaf)
{
	return leaf == 7 || leaf == 0xd;
}

static uint8_t *leaf_index(unsigned vd, uint32_t leaf)
{
	if (leaf < NR_INDEXED)
		return &idx_basic[vd][leaf];
	if (leaf - 0x80000000u < NR_INDEXED)
		return &idx_ext[vd][leaf - 0x80000000u];
	return NULL;
}

void cpumodel_init(void)
{
	unsigned vd, i, j;

	for (vd = 0; vd < CPUMODEL_NR_VENDORS; vd++) {
		nr_masks[vd] = 0;
		for (i = 0; i < F_NR; i++) {
			const struct cpumodel_feature *f = &cpumodel_features[i];
			struct leaf_mask *m = NULL;

			if (!(f->vendors & (1u << vd)) || f->show == SHOW_HOST || f->show == SHOW_DYN)
				continue;
			for (j = 0; j < nr_masks[vd]; j++)
				if (masks[vd][j].leaf == f->leaf && masks[vd][j].subleaf == f->subleaf)
					m = &masks[vd][j];
			if (!m) {
				if (nr_masks[vd] == NR_MASKED)
					continue;       /* the unit test keeps this from happening */
				m = &masks[vd][nr_masks[vd]++];
				m->leaf = f->leaf;
				m->subleaf = f->subleaf;
				m->keep[0] = m->keep[1] = m->keep[2] = m->keep[3] = ~0u;
				m->set[0] = m->set[1] = m->set[2] = m->set[3] = 0;
			}
			if (f->show == SHOW_HIDE)
				m->keep[f->reg] &= ~(1u << f->bit);
			else
				m->set[f->reg] |= 1u << f->bit;
		}
		for (i = 0; i < NR_INDEXED; i++)
			idx_basic[vd][i] = idx_ext[vd][i] = IDX_NONE;
		/* One masked subleaf per leaf (the unit test checks it). */
		for (j = 0; j < nr_masks[vd]; j++) {
			uint8_t *x = leaf_index(vd, masks[vd][j].leaf);

			if (x)
				*x = (uint8_t)(j + 1);
		}
		for (i = 0; i < sizeof(zero_leaves) / sizeof(zero_leaves[0]); i++) {
			uint8_t *x = leaf_index(vd, zero_leaves[i].leaf);

			if (x && (zero_leaves[i].vendors & (1u << vd)))
				*x = IDX_ZERO;
		}
	}
	__atomic_store_n(&masks_ready, 1, __ATOMIC_RELEASE);
}

unsigned cpumodel_masked_subleaves(enum cpumodel_vendor vd, uint32_t leaf)
{
	unsigned j, n = 0;

	if (!__atomic_load_n(&masks_ready, __ATOMIC_ACQUIRE))
		cpumodel_init();
	for (j = 0; j < nr_masks[vd]; j++)
		n += masks[vd][j].leaf == leaf;
	return n;
}

void cpumodel_cpuid(enum cpumodel_vendor vd, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	const struct leaf_mask *m;
	const uint8_t *x;
	unsigned k;

	if ((unsigned)vd >= CPUMODEL_NR_VENDORS)
		return;
	/* The hypervisor calls cpumodel_init() at boot, before any vCPU runs;
	 * the unit tests get it here. */
	if (!__atomic_load_n(&masks_ready, __ATOMIC_ACQUIRE))
		cpumodel_init();
	x = leaf_index(vd, leaf);
	if (!x || *x == IDX_NONE)
		return;
	if (*x == IDX_ZERO) {
		r[0] = r[1] = r[2] = r[3] = 0;
		return;
	}
	m = &masks[vd][*x - 1];
	if (has_subleaves(leaf) ? m->subleaf != subleaf : false)
		return;
	for (k = 0; k < 4; k++)
		r[k] = (r[k] & m->keep[k]) | m->set[k];
}

/* The MSRs, sorted by first, ranges disjoint (the unit test checks both).
 * An entry tied to a hidden feature reads/writes #GP whatever its kind. */
#define MSR(f, l, k, h, v, ft, val, n) \
	{ .first = f, .last = l, .kind = k, .handler = h, .vendors = v, .feature = ft, .value = val, .name = n }
#define I CPUMODEL_V_INTEL
#define A CPUMODEL_V_AMD

const struct cpumodel_msr cpumodel_msrs[] = {
	MSR(0x10, 0x10, MSRK_HANDLER, MSRH_TSC, B, F_TSC, 0, "IA32_TSC"),
	MSR(0x11, 0x12, MSRK_HANDLER, MSRH_KVMCLOCK, B, -1, 0, "kvmclock (legacy)"),
	/* Read-only on every Intel CPU since the P6 (SDM Vol. 4 2.1); platform 0. */
	MSR(0x17, 0x17, MSRK_CONST_RO, MSRH_NONE, I, -1, 0, "IA32_PLATFORM_ID"),
	MSR(0x1b, 0x1b, MSRK_HANDLER, MSRH_APIC_BASE, B, -1, 0, "IA32_APIC_BASE"),
	MSR(0x3b, 0x3b, MSRK_HANDLER, MSRH_TSC_ADJUST, B, F_TSC_ADJUST, 0, "IA32_TSC_ADJUST"),
	MSR(0x48, 0x49, MSRK_GP, MSRH_NONE, B, F_IBRS, 0, "IA32_SPEC_CTRL, IA32_PRED_CMD"),
	/* Microcode revision (Intel BIOS_SIGN_ID, AMD PATCH_LEVEL): 0; the
	 * write-0-then-CPUID idiom (SDM Vol. 3A 10.11.7.1) works. */
	MSR(0x8b, 0x8b, MSRK_CONST_WI, MSRH_NONE, B, -1, 0, "IA32_BIOS_SIGN_ID"),
	MSR(0xc1, 0xc8, MSRK_GP, MSRH_NONE, I, -1, 0, "IA32_PMC0-7 (leaf 0AH is zero)"),
	MSR(0xfe, 0xfe, MSRK_GP, MSRH_NONE, B, F_MTRR, 0, "IA32_MTRRCAP"),
	MSR(0x10a, 0x10a, MSRK_GP, MSRH_NONE, B, F_ARCH_CAP, 0, "IA32_ARCH_CAPABILITIES"),
	MSR(0x10b, 0x10b, MSRK_GP, MSRH_NONE, B, F_L1D_FLUSH, 0, "IA32_FLUSH_CMD"),
	MSR(0x174, 0x176, MSRK_GUEST, MSRH_NONE, B, F_SEP, 0, "IA32_SYSENTER_CS/ESP/EIP"),
	MSR(0x179, 0x17b, MSRK_GP, MSRH_NONE, B, F_MCA, 0, "IA32_MCG_CAP/STATUS/CTL"),
	MSR(0x186, 0x189, MSRK_GP, MSRH_NONE, I, -1, 0, "IA32_PERFEVTSEL0-3 (leaf 0AH is zero)"),
	MSR(0x198, 0x199, MSRK_GP, MSRH_NONE, B, F_EST, 0, "IA32_PERF_STATUS/CTL"),
	MSR(0x19a, 0x19c, MSRK_GP, MSRH_NONE, B, F_ACPI, 0, "IA32_CLOCK_MODULATION, THERM_INTERRUPT/STATUS"),
	/* Architectural on Intel (SDM Vol. 4 2.1): fast strings on, BTS and
	 * PEBS unavailable (bits 0, 11, 12), as KVM reports; writes ignored. */
	MSR(0x1a0, 0x1a0, MSRK_CONST_WI, MSRH_NONE, I, -1, (1u << 0) | (1u << 11) | (1u << 12),
	    "IA32_MISC_ENABLE"),
	MSR(0x200, 0x26f, MSRK_GP, MSRH_NONE, B, F_MTRR, 0, "MTRR variable and fixed ranges"),
	MSR(0x277, 0x277, MSRK_BACKEND, MSRH_NONE, B, F_PAT, 0, "IA32_PAT"),
	MSR(0x2ff, 0x2ff, MSRK_GP, MSRH_NONE, B, F_MTRR, 0, "IA32_MTRR_DEF_TYPE"),
	MSR(0x345, 0x345, MSRK_GP, MSRH_NONE, I, F_PDCM, 0, "IA32_PERF_CAPABILITIES"),
	MSR(0x400, 0x47f, MSRK_GP, MSRH_NONE, B, F_MCA, 0, "IA32_MCi_CTL/STATUS/ADDR/MISC"),
	MSR(0x600, 0x600, MSRK_GP, MSRH_NONE, B, F_DS, 0, "IA32_DS_AREA"),
	MSR(0x6e0, 0x6e0, MSRK_HANDLER, MSRH_TSC_DEADLINE, B, F_TSC_DEADLINE, 0, "IA32_TSC_DEADLINE"),
	MSR(0x800, 0x8ff, MSRK_HANDLER, MSRH_X2APIC, B, F_X2APIC, 0, "x2APIC registers"),
	MSR(0xda0, 0xda0, MSRK_GP, MSRH_NONE, B, F_XSAVES, 0, "IA32_XSS"),
	MSR(0x4b564d00, 0x4b564d01, MSRK_HANDLER, MSRH_KVMCLOCK, B, -1, 0, "kvmclock (CLOCKSOURCE2)"),
	MSR(0xc0000080, 0xc0000080, MSRK_BACKEND, MSRH_NONE, B, -1, 0, "EFER (SCE, LME, LMA, NXE)"),
	MSR(0xc0000081, 0xc0000084, MSRK_GUEST, MSRH_NONE, B, F_SYSCALL, 0, "STAR/LSTAR/CSTAR/SFMASK"),
	MSR(0xc0000100, 0xc0000102, MSRK_GUEST, MSRH_NONE, B, -1, 0, "FS_BASE/GS_BASE/KERNEL_GS_BASE"),
	MSR(0xc0000103, 0xc0000103, MSRK_HANDLER, MSRH_TSC_AUX, B, F_RDPID, 0, "IA32_TSC_AUX"),
	/* Every AMD64 CPU has the four legacy counters without a CPUID bit
	 * (APM Vol. 2 13.2.1): they exist, count nothing, read 0. */
	MSR(0xc0010000, 0xc0010007, MSRK_CONST_WI, MSRH_NONE, A, -1, 0, "PerfEvtSel0-3, PerfCtr0-3"),
	MSR(0xc0010140, 0xc0010141, MSRK_GP, MSRH_NONE, A, F_OSVW, 0, "OSVW_ID_Length, OSVW_Status"),
	MSR(0xc0010200, 0xc001020b, MSRK_GP, MSRH_NONE, A, F_PERFCTR_CORE, 0, "PerfEvtSel/PerfCtr 0-5 (core ext.)"),
	MSR(0xc0010230, 0xc001023b, MSRK_GP, MSRH_NONE, A, F_PERFCTR_LLC, 0, "L3 PMC"),
	MSR(0xc0010240, 0xc0010247, MSRK_GP, MSRH_NONE, A, F_PERFCTR_NB, 0, "NB PMC"),
	MSR(0xc0010280, 0xc0010280, MSRK_GP, MSRH_NONE, A, F_PERFTSC, 0, "PTSC"),
};
const unsigned cpumodel_nr_msrs = sizeof(cpumodel_msrs) / sizeof(cpumodel_msrs[0]);

struct cpumodel_msr_answer cpumodel_msr(enum cpumodel_vendor vd, uint32_t msr)
{
	struct cpumodel_msr_answer a = { MSRK_GP, MSRH_NONE, 0, NULL };
	unsigned lo = 0, hi = cpumodel_nr_msrs;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct cpumodel_msr *e = &cpumodel_msrs[mid];

		if (msr < e->first) {
			hi = mid;
		} else if (msr > e->last) {
			lo = mid + 1;
		} else {
			a.entry = e;
			if ((unsigned)vd < CPUMODEL_NR_VENDORS && (e->vendors & (1u << vd)) &&
			    cpumodel_feature_shown(vd, e->feature)) {
				a.kind = (enum cpumodel_msr_kind)e->kind;
				a.handler = (enum cpumodel_handler)e->handler;
				a.value = e->value;
			}
			break;
		}
	}
	return a;
}
