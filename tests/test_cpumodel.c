/* Host tests of pure/cpumodel.c: the CPUID bits a guest is shown and the
 * MSRs that come with them agree; the tables are well formed. With --doc,
 * prints the tables of docs/platform.md instead. */
#include "harness.h"
#include <tscvisor/cpumodel.h>

static const char *const vendor_name[] = { "Intel (VMX)", "AMD (SVM)" };
static const char *const reg_name[] = { "EAX", "EBX", "ECX", "EDX" };
static const char *const show_name[] = { "host's", "hidden (0)", "shown (1)", "per vCPU" };
static const char *const kind_name[] = {
	"#GP", "emulated", "VMCB/VMCS (backend)", "the guest's (not intercepted)",
	"reads 0x%llx, writes ignored", "reads 0x%llx, writes #GP",
};
static const char *const handler_name[] = {
	"", "vmtime (TSC mode)", "APIC base (vmm/dev/lapic.c)", "vmtime (TSC_ADJUST)", "TSC_AUX",
	"vmm/dev/lapic.c TSC deadline", "vmm/dev/lapic.c x2APIC", "vmm/kvmclock.c",
};

static void doc(void)
{
	unsigned vd, i;

	for (vd = 0; vd < CPUMODEL_NR_VENDORS; vd++) {
		printf("#### %s: CPUID\n\n| Leaf | Reg | Bit | Feature | Shown | Why / MSRs |\n"
		       "|---|---|---|---|---|---|\n", vendor_name[vd]);
		for (i = 0; i < cpumodel_nr_features; i++) {
			const struct cpumodel_feature *f = &cpumodel_features[i];

			if (!(f->vendors & (1u << vd)))
				continue;
			printf("| 0x%x%s | %s | %u | %s | %s | %s |\n", f->leaf,
			       f->leaf == 7 || f->leaf == 0xd ? (f->subleaf ? ".1" : ".0") : "",
			       reg_name[f->reg], f->bit, f->name, show_name[f->show], f->why);
		}
		printf("\nLeaves read as zero:");
		for (i = 0; i < 0x100; i++)
			if (cpumodel_leaf_zero(vd, i))
				printf(" 0x%x", i);
		for (i = 0x80000000u; i < 0x80000100u; i++)
			if (cpumodel_leaf_zero(vd, i))
				printf(" 0x%x", i);
		printf(".\n\n#### %s: MSRs\n\n| MSR | Name | With | Behaviour |\n|---|---|---|---|\n",
		       vendor_name[vd]);
		for (i = 0; i < cpumodel_nr_msrs; i++) {
			const struct cpumodel_msr *m = &cpumodel_msrs[i];
			struct cpumodel_msr_answer a = cpumodel_msr(vd, m->first);
			char range[40], beh[120];

			if (!(m->vendors & (1u << vd)))
				continue;
			if (m->first == m->last)
				snprintf(range, sizeof(range), "0x%x", m->first);
			else
				snprintf(range, sizeof(range), "0x%x-0x%x", m->first, m->last);
			snprintf(beh, sizeof(beh), kind_name[a.kind], (unsigned long long)a.value);
			if (a.kind == MSRK_HANDLER) {
				strcat(beh, ": ");
				strcat(beh, handler_name[a.handler]);
			}
			if (a.kind == MSRK_GP && m->feature >= 0 && !cpumodel_feature_shown(vd, m->feature))
				strcat(beh, " (feature hidden)");
			printf("| %s | %s | %s | %s |\n", range, m->name,
			       m->feature < 0 ? "architectural" : cpumodel_features[m->feature].name, beh);
		}
		printf("\nAny other MSR: #GP.\n\n");
	}
}

static int find_feature(uint32_t leaf, unsigned reg, unsigned bit)
{
	unsigned i;

	for (i = 0; i < cpumodel_nr_features; i++)
		if (cpumodel_features[i].leaf == leaf && cpumodel_features[i].reg == reg &&
		    cpumodel_features[i].bit == bit)
			return (int)i;
	return -1;
}

static void test_tables(void)
{
	unsigned i, j, vd;

	for (i = 0; i < cpumodel_nr_msrs; i++) {
		CHECK(cpumodel_msrs[i].first <= cpumodel_msrs[i].last);
		if (i)
			CHECK(cpumodel_msrs[i - 1].last < cpumodel_msrs[i].first);
		CHECK(cpumodel_msrs[i].feature < (int)cpumodel_nr_features);
		CHECK((cpumodel_msrs[i].kind == MSRK_HANDLER) == (cpumodel_msrs[i].handler != MSRH_NONE));
	}
	/* The CPUID index holds one masked subleaf per leaf; every masked and
	 * every zeroed leaf is in its range (0-0x3f, 0x80000000-0x8000003f). */
	for (vd = 0; vd < CPUMODEL_NR_VENDORS; vd++)
		for (i = 0; i < cpumodel_nr_features; i++) {
			uint32_t l = cpumodel_features[i].leaf;

			CHECK(cpumodel_masked_subleaves(vd, l) <= 1);
			CHECK(l < 0x40 || (l >= 0x80000000u && l < 0x80000040u));
		}
	CHECK(cpumodel_leaf_zero(CPUMODEL_AMD, 0x80000022));
	/* Every feature entry is one bit, named once per vendor. */
	for (i = 0; i < cpumodel_nr_features; i++) {
		CHECK(cpumodel_features[i].name != NULL);
		for (j = i + 1; j < cpumodel_nr_features; j++)
			CHECK(!(cpumodel_features[i].leaf == cpumodel_features[j].leaf &&
				cpumodel_features[i].subleaf == cpumodel_features[j].subleaf &&
				cpumodel_features[i].reg == cpumodel_features[j].reg &&
				cpumodel_features[i].bit == cpumodel_features[j].bit &&
				(cpumodel_features[i].vendors & cpumodel_features[j].vendors)));
	}
	/* The rule the tables exist for: an MSR that is not #GP belongs to a
	 * feature the vendor shows (or is architectural), and an MSR of a hidden
	 * feature #GPs. */
	for (vd = 0; vd < CPUMODEL_NR_VENDORS; vd++)
		for (i = 0; i < cpumodel_nr_msrs; i++) {
			const struct cpumodel_msr *m = &cpumodel_msrs[i];
			struct cpumodel_msr_answer a = cpumodel_msr(vd, m->last);

			CHECK(a.entry == m);
			if (!(m->vendors & (1u << vd)) || !cpumodel_feature_shown(vd, m->feature))
				CHECK_EQ_U64(a.kind, MSRK_GP);
		}
}

static void test_cpuid(void)
{
	uint32_t r[4];

	/* A host with everything set: what is left. */
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_INTEL, 1, 0, r);
	CHECK_EQ_U64(r[2] & (1u << 15), 0);              /* PDCM hidden */
	CHECK_EQ_U64(r[2] & (1u << 5), 0);               /* VMX hidden */
	CHECK_EQ_U64(r[3] & (1u << 12), 0);              /* MTRR hidden */
	CHECK_EQ_U64(r[3] & (1u << 14), 0);              /* MCA hidden */
	CHECK(r[3] & (1u << 16));                        /* PAT kept */
	CHECK(r[3] & (1u << 9));                         /* APIC: the caller's (dynamic) */
	r[0] = r[1] = r[2] = r[3] = 0;
	cpumodel_cpuid(CPUMODEL_INTEL, 1, 0, r);
	CHECK(r[2] & (1u << 21));                        /* x2APIC provided */
	CHECK(r[2] & (1u << 24));                        /* TSC-deadline provided */
	CHECK(r[2] & (1u << 31));                        /* hypervisor */
	CHECK_EQ_U64(r[3], 0);
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_AMD, 0x80000001, 0, r);
	CHECK_EQ_U64(r[2] & ((1u << 23) | (1u << 24) | (1u << 28) | (1u << 2)), 0);
	CHECK_EQ_U64(r[3] & ((1u << 12) | (1u << 14) | (1u << 7)), 0);
	CHECK(r[3] & (1u << 27));                        /* RDTSCP: the host's */
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_AMD, 0xa, 0, r);
	CHECK_EQ_U64(r[0] | r[1] | r[2] | r[3], 0);
	for (uint32_t l = 0; l < 0x40; l++) {     /* the index agrees with the list */
		r[0] = r[1] = r[2] = r[3] = ~0u;
		cpumodel_cpuid(CPUMODEL_INTEL, l, 0, r);
		CHECK_EQ_U64(cpumodel_leaf_zero(CPUMODEL_INTEL, l), (r[0] | r[1] | r[2] | r[3]) == 0);
		r[0] = r[1] = r[2] = r[3] = ~0u;
		cpumodel_cpuid(CPUMODEL_AMD, 0x80000000u + l, 0, r);
		CHECK_EQ_U64(cpumodel_leaf_zero(CPUMODEL_AMD, 0x80000000u + l), (r[0] | r[1] | r[2] | r[3]) == 0);
	}
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_INTEL, 0x40000000, 0, r);          /* not indexed: untouched */
	CHECK_EQ_U64(r[0] & r[1] & r[2] & r[3], ~0u);
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_INTEL, 7, 0, r);
	CHECK_EQ_U64(r[3] & (1u << 29), 0);              /* ARCH_CAPABILITIES */
	CHECK(r[2] & (1u << 22));                        /* RDPID */
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_INTEL, 7, 1, r);         /* subleaf 1 untouched here */
	CHECK_EQ_U64(r[3], ~0u);
	r[0] = r[1] = r[2] = r[3] = 0;
	cpumodel_cpuid(CPUMODEL_INTEL, 7, 1, r);
	CHECK_EQ_U64(r[2] & (1u << 22), 0);              /* RDPID only in subleaf 0 */
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpumodel_cpuid(CPUMODEL_INTEL, 0xd, 1, r);
	CHECK_EQ_U64(r[0] & (1u << 3), 0);               /* XSAVES */
	/* Every hidden bit reads 0, every SHOW_ON bit 1, on an all-ones and an
	 * all-zeros host. */
	for (unsigned vd = 0; vd < CPUMODEL_NR_VENDORS; vd++)
		for (unsigned i = 0; i < cpumodel_nr_features; i++) {
			const struct cpumodel_feature *f = &cpumodel_features[i];
			uint32_t a[4] = { ~0u, ~0u, ~0u, ~0u }, z[4] = { 0, 0, 0, 0 };

			if (!(f->vendors & (1u << vd)))
				continue;
			cpumodel_cpuid(vd, f->leaf, f->subleaf, a);
			cpumodel_cpuid(vd, f->leaf, f->subleaf, z);
			if (f->show == SHOW_HIDE)
				CHECK_EQ_U64((a[f->reg] >> f->bit) & 1, 0);
			if (f->show == SHOW_ON)
				CHECK_EQ_U64((z[f->reg] >> f->bit) & 1, 1);
			if (f->show == SHOW_HOST)
				CHECK_EQ_U64(((a[f->reg] >> f->bit) & 1) - ((z[f->reg] >> f->bit) & 1), 1);
		}
}

static void test_msrs(void)
{
	struct cpumodel_msr_answer a;

	/* The issue: AMD's legacy counters exist on every AMD64 CPU. */
	a = cpumodel_msr(CPUMODEL_AMD, 0xc0010000);
	CHECK_EQ_U64(a.kind, MSRK_CONST_WI);
	CHECK_EQ_U64(a.value, 0);
	a = cpumodel_msr(CPUMODEL_AMD, 0xc0010007);
	CHECK_EQ_U64(a.kind, MSRK_CONST_WI);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_AMD, 0xc0010008).kind, MSRK_GP);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0xc0010000).kind, MSRK_GP);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_AMD, 0xc0010200).kind, MSRK_GP);   /* PerfCtrExtCore hidden */
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0x345).kind, MSRK_GP);      /* PDCM hidden */
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0xfe).kind, MSRK_GP);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0x179).kind, MSRK_GP);
	a = cpumodel_msr(CPUMODEL_INTEL, 0x1a0);
	CHECK_EQ_U64(a.kind, MSRK_CONST_WI);
	CHECK_EQ_U64(a.value, 0x1801);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_AMD, 0x1a0).kind, MSRK_GP);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0x17).kind, MSRK_CONST_RO);
	a = cpumodel_msr(CPUMODEL_AMD, 0x850);
	CHECK_EQ_U64(a.kind, MSRK_HANDLER);
	CHECK_EQ_U64(a.handler, MSRH_X2APIC);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_AMD, 0x10).handler, MSRH_TSC);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_AMD, 0x4b564d01).handler, MSRH_KVMCLOCK);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0x12).handler, MSRH_KVMCLOCK);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0xc0000103).handler, MSRH_TSC_AUX);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0xc0000080).kind, MSRK_BACKEND);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0x277).kind, MSRK_BACKEND);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0).kind, MSRK_GP);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_INTEL, 0xffffffff).kind, MSRK_GP);
	CHECK(cpumodel_msr(CPUMODEL_INTEL, 0xffffffff).entry == NULL);
	CHECK_EQ_U64(cpumodel_msr(CPUMODEL_NR_VENDORS, 0x10).kind, MSRK_GP);
	/* The feature of every hidden-MSR entry really is hidden in CPUID. */
	CHECK(find_feature(1, CR_ECX, 15) >= 0 && !cpumodel_feature_shown(CPUMODEL_INTEL, find_feature(1, CR_ECX, 15)));
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--doc")) {
		doc();
		return 0;
	}
	test_tables();
	test_cpuid();
	test_msrs();
	return th_done();
}
