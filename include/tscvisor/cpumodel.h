/* The virtual CPU, one description per vendor (pure/cpumodel.c): which CPUID
 * bits a guest is shown, and for each the MSRs that come with it and how
 * they behave; plus the vendor's architectural MSRs that exist without a
 * CPUID bit. vmm/cpuid.c filters CPUID and vmm/msr.c answers RDMSR/WRMSR
 * from it, so the two cannot disagree (docs/platform.md is generated from
 * it by build/tests/test_cpumodel --doc). Pure: no hypervisor state. */
#ifndef TSCVISOR_CPUMODEL_H
#define TSCVISOR_CPUMODEL_H

#include <stdbool.h>
#include <stdint.h>

enum cpumodel_vendor { CPUMODEL_INTEL, CPUMODEL_AMD, CPUMODEL_NR_VENDORS };
#define CPUMODEL_V_INTEL (1u << CPUMODEL_INTEL)
#define CPUMODEL_V_AMD   (1u << CPUMODEL_AMD)
#define CPUMODEL_V_BOTH  (CPUMODEL_V_INTEL | CPUMODEL_V_AMD)

enum cpumodel_reg { CR_EAX, CR_EBX, CR_ECX, CR_EDX };

/* What a CPUID bit reads as. */
enum cpumodel_show {
	SHOW_HOST,      /* the host's bit */
	SHOW_HIDE,      /* always 0: not virtualised */
	SHOW_ON,        /* always 1: the hypervisor provides it */
	SHOW_DYN,       /* computed per vCPU by vmm/cpuid.c (APIC, OSXSAVE, ...) */
};

struct cpumodel_feature {
	uint32_t leaf;
	uint8_t subleaf;        /* leaf 7 only; 0 elsewhere */
	uint8_t reg;            /* enum cpumodel_reg */
	uint8_t bit;
	uint8_t show;           /* enum cpumodel_show */
	uint8_t vendors;        /* CPUMODEL_V_* */
	const char *name;
	const char *why;        /* for the docs: why shown / hidden, MSRs */
};

/* How an MSR behaves. */
enum cpumodel_msr_kind {
	MSRK_GP,        /* #GP on read and write: no such MSR (or its feature is hidden) */
	MSRK_HANDLER,   /* emulated by vmm/msr.c (its handler named here for the docs) */
	MSRK_BACKEND,   /* held in the VMCB/VMCS by the backend (EFER, PAT) */
	MSRK_GUEST,     /* the guest's own, not intercepted (FS/GS base, SYSCALL, SYSENTER) */
	MSRK_CONST_WI,  /* reads a fixed value, writes ignored (as with no counter running) */
	MSRK_CONST_RO,  /* reads a fixed value, writes #GP (read-only on hardware) */
};

enum cpumodel_handler {
	MSRH_NONE, MSRH_TSC, MSRH_APIC_BASE, MSRH_TSC_ADJUST, MSRH_TSC_AUX,
	MSRH_TSC_DEADLINE, MSRH_X2APIC, MSRH_KVMCLOCK,
};

struct cpumodel_msr {
	uint32_t first, last;
	uint8_t kind;           /* enum cpumodel_msr_kind */
	uint8_t handler;        /* enum cpumodel_handler, with MSRK_HANDLER */
	uint8_t vendors;        /* CPUMODEL_V_* */
	int16_t feature;        /* index in cpumodel_features, -1: architectural */
	uint64_t value;         /* MSRK_CONST_* */
	const char *name;
};

extern const struct cpumodel_feature cpumodel_features[];
extern const unsigned cpumodel_nr_features;
extern const struct cpumodel_msr cpumodel_msrs[];
extern const unsigned cpumodel_nr_msrs;

/* Fold the feature table into per-leaf masks; once, at boot, before any
 * vCPU runs (single-threaded). */
void cpumodel_init(void);

/* How many subleaves of the leaf carry static masks (at most one may: the
 * per-leaf index holds one). */
unsigned cpumodel_masked_subleaves(enum cpumodel_vendor vd, uint32_t leaf);

/* Leaves read as all zero (not virtualised at all). */
bool cpumodel_leaf_zero(enum cpumodel_vendor vd, uint32_t leaf);

/* Apply the description's static part to the host's answer r[]: zeroed
 * leaves, hidden bits cleared, provided bits set. SHOW_DYN bits are left to
 * the caller. */
void cpumodel_cpuid(enum cpumodel_vendor vd, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

/* The MSR's description for this vendor (MSRK_GP when it has none or its
 * feature is hidden). Binary search over the sorted table. */
struct cpumodel_msr_answer {
	enum cpumodel_msr_kind kind;
	enum cpumodel_handler handler;
	uint64_t value;
	const struct cpumodel_msr *entry;   /* NULL when not in the table */
};
struct cpumodel_msr_answer cpumodel_msr(enum cpumodel_vendor vd, uint32_t msr);

/* Whether the feature is shown (SHOW_HIDE: false). */
bool cpumodel_feature_shown(enum cpumodel_vendor vd, int feature);

#endif
