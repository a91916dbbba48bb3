/* The virtual CPU is consistent (pure/cpumodel.c, docs/platform.md): every
 * CPUID leaf the VM is shown is read, and for each feature the MSRs and
 * instructions it implies work, while those of hidden features fail as on
 * hardware without them (#GP for MSRs, #UD for instructions). Plus what
 * every CPU of the vendor has without a CPUID bit: AMD's legacy
 * PerfEvtSel/PerfCtr 0-3 (the MSRs multiboot test kernels written for
 * QEMU/KVM reset at start-up), Intel's MISC_ENABLE and PLATFORM_ID.
 * Runs bare on QEMU too: checks of what only tscvisor promises skip there. */
#include "guest.h"

static bool under_tscvisor, amd;

static bool bit(u32 reg, unsigned b) { return (reg >> b) & 1; }

static const char *fault_name(int vec)
{
	return vec < 0 ? "no fault" : vec == 13 ? "#GP" : vec == 6 ? "#UD" : "another fault";
}

/* One check: the MSR exists when its feature is shown, #GPs when hidden. */
static void feature_msr(const char *feature, bool shown, u32 msr)
{
	u64 v = 0;
	int r = rdmsr_safe(msr, &v);

	if (shown)
		ok(r < 0, "%s shown: RDMSR 0x%x works (%s, 0x%llx)", feature, msr, fault_name(r),
		   (unsigned long long)v);
	else if (under_tscvisor)
		ok(r == 13, "%s hidden: RDMSR 0x%x #GPs (%s)", feature, msr, fault_name(r));
	else    /* QEMU's TCG reads MSRs it does not know as 0 */
		skip("bare: %s hidden, RDMSR 0x%x gave %s", feature, msr, fault_name(r));
}

/* An MSR that must read and take back what it holds. */
static void msr_roundtrip(const char *name, u32 msr, u64 newval)
{
	u64 old = 0, back = 0;
	int r1 = rdmsr_safe(msr, &old), r2 = wrmsr_safe(msr, newval), r3 = rdmsr_safe(msr, &back);
	int r4 = wrmsr_safe(msr, old);

	ok(r1 < 0 && r2 < 0 && r3 < 0 && r4 < 0 && back == newval,
	   "%s (0x%x): read 0x%llx, wrote 0x%llx, read back 0x%llx (%s/%s/%s/%s)", name, msr,
	   (unsigned long long)old, (unsigned long long)newval, (unsigned long long)back,
	   fault_name(r1), fault_name(r2), fault_name(r3), fault_name(r4));
}

static int try_rdtscp(u32 *aux)
{
	u32 lo, hi, c = 0;

	fault_arm();
	__asm__ volatile("1: rdtscp\n2:\n\t" EXTABLE("1b", "2b") : "=a"(lo), "=d"(hi), "+c"(c) : : "memory");
	*aux = c;
	return fault_seen();
}

static int try_rdpid(u64 *val)
{
	u64 v = ~0ull;

	fault_arm();
	/* RDPID RAX: F3 0F C7 /7 */
	__asm__ volatile("1: .byte 0xf3, 0x0f, 0xc7, 0xf8\n2:\n\t" EXTABLE("1b", "2b") : "+a"(v) : : "memory");
	*val = v;
	return fault_seen();
}

static int try_xgetbv(u64 *val)
{
	u32 lo = 0, hi = 0;

	fault_arm();
	__asm__ volatile("1: xgetbv\n2:\n\t" EXTABLE("1b", "2b") : "+a"(lo), "+d"(hi) : "c"(0) : "memory");
	*val = ((u64)hi << 32) | lo;
	return fault_seen();
}

static u64 read_cr4(void)
{
	u64 v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void dump_leaves(u32 first, u32 last)
{
	u32 l;

	for (l = first; l <= last && l - first < 0x40; l++) {
		struct cpuid_regs r = cpuid_count(l, 0);

		diag("CPUID 0x%08x: %08x %08x %08x %08x", l, r.eax, r.ebx, r.ecx, r.edx);
	}
}

void test_main(const struct mb_info *mbi)
{
	struct cpuid_regs c0 = cpuid(0), c1 = cpuid(1), c7 = { 0, 0, 0, 0 }, e0 = cpuid(0x80000000);
	struct cpuid_regs e1 = { 0, 0, 0, 0 }, e8 = { 0, 0, 0, 0 }, d1 = { 0, 0, 0, 0 };
	struct cpuid_regs h = cpuid(0x40000100);
	u64 v = 0, efer = 0, apic_base = 0;
	u32 aux = 0, i;
	int r;

	(void)mbi;
	plan(31);
	under_tscvisor = h.ebx == 0x56435354u && h.ecx == 0x726f7369u;  /* "TSCV" "isor" */
	amd = c0.ebx == 0x68747541u;                                    /* "Auth" */
	diag("%s, %s", amd ? "AMD" : "Intel", under_tscvisor ? "under tscvisor" : "bare");

	/* Every leaf the VM is shown. */
	dump_leaves(0, c0.eax);
	dump_leaves(0x80000000, e0.eax);
	if (bit(c1.ecx, 31))
		dump_leaves(0x40000000, cpuid(0x40000000).eax);
	if (c0.eax >= 7)
		c7 = cpuid_count(7, 0);
	if (c0.eax >= 0xd)
		d1 = cpuid_count(0xd, 1);
	if (e0.eax >= 0x80000001)
		e1 = cpuid(0x80000001);
	if (e0.eax >= 0x80000008)
		e8 = cpuid(0x80000008);
	ok(c0.eax >= 1 && e0.eax >= 0x80000001, "basic leaves up to 0x%x, extended up to 0x%x", c0.eax, e0.eax);

	/* Shown features: their MSRs and instructions work. */
	/* Arguments are evaluated in no fixed order: fault first, print after. */
	r = rdmsr_safe(0x10, &v);
	/* (QEMU's TCG reads IA32_TSC as the last value written to it.) */
	ok(bit(c1.edx, 4) && bit(c1.edx, 5) && r < 0 && (v != 0 || !under_tscvisor),
	   "TSC, MSR: IA32_TSC reads 0x%llx (%s)", (unsigned long long)v, fault_name(r));
	r = rdmsr_safe(0x1b, &apic_base);
	ok(r < 0 && bit(c1.edx, 9) == !!(apic_base & (1u << 11)),
	   "APIC (CPUID.1:EDX[9] = %u) agrees with IA32_APIC_BASE.EN (0x%llx)", bit(c1.edx, 9),
	   (unsigned long long)apic_base);
	if (bit(c1.edx, 16))
		msr_roundtrip("PAT", 0x277, 0x0007040600070406ull ^ 0x0100000000000000ull);
	else
		feature_msr("PAT", false, 0x277);
	if (bit(c1.edx, 11))
		msr_roundtrip("SEP: SYSENTER_ESP", 0x175, 0x123450);
	else
		skip("SEP not shown");
	if (bit(e1.edx, 11))
		msr_roundtrip("SYSCALL: LSTAR", 0xc0000082, 0xffffffff80001000ull);
	else
		skip("SYSCALL not shown");
	msr_roundtrip("KERNEL_GS_BASE", 0xc0000102, 0x12345000);
	r = rdmsr_safe(0xc0000080, &efer);
	ok(r < 0 && (efer & (1u << 10)) && (efer & (1u << 8)) && bit(e1.edx, 29),
	   "LM shown, EFER 0x%llx has LME and LMA in long mode", (unsigned long long)efer);
	r = wrmsr_safe(0xc0000080, efer | (1u << 11));
	if (bit(e1.edx, 20)) {
		bool read = rdmsr_safe(0xc0000080, &v) < 0;

		ok(r < 0 && read && (v & (1u << 11)), "NX shown: EFER.NXE can be set (EFER 0x%llx)",
		   (unsigned long long)v);
	} else {
		ok(r == 13, "NX hidden: EFER.NXE #GPs (%s)", fault_name(r));
	}
	feature_msr("TSC_ADJUST", bit(c7.ebx, 1), 0x3b);
	feature_msr("TSC-deadline", bit(c1.ecx, 24), 0x6e0);
	if (bit(e1.edx, 27)) {
		bool aux_ok = wrmsr_safe(0xc0000103, 0x5a) < 0;

		r = try_rdtscp(&aux);
		ok(aux_ok && r < 0 && aux == 0x5a, "RDTSCP shown: TSC_AUX takes 0x5a, RDTSCP returns 0x%x (%s)",
		   aux, fault_name(r));
	} else {
		r = try_rdtscp(&aux);
		ok(r == 6, "RDTSCP hidden: #UD (%s)", fault_name(r));
	}
	r = try_rdpid(&v);
	if (bit(c7.ecx, 22)) {
		u64 tscaux = 0;

		rdmsr_safe(0xc0000103, &tscaux);
		ok(r < 0 && v == tscaux, "RDPID shown: returns 0x%llx = TSC_AUX (%s)", (unsigned long long)v,
		   fault_name(r));
	} else {
		ok(r == 6, "RDPID hidden: #UD (%s)", fault_name(r));
	}
	if (bit(c1.ecx, 26)) {
		__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | (1ull << 18)));
		r = try_xgetbv(&v);
		ok(r < 0 && (v & 1) && bit(cpuid(1).ecx, 27),
		   "XSAVE shown: with CR4.OSXSAVE, OSXSAVE reads 1 and XGETBV gives XCR0 0x%llx (%s)",
		   (unsigned long long)v, fault_name(r));
	} else {
		r = try_xgetbv(&v);
		ok(r == 6, "XSAVE hidden: XGETBV #UD (%s)", fault_name(r));
	}

	/* Hidden (or shown) features: their MSRs as the bit says. */
	feature_msr("MTRR", bit(c1.edx, 12), 0xfe);
	feature_msr("MCA", bit(c1.edx, 14), 0x179);
	feature_msr("PDCM", bit(c1.ecx, 15), 0x345);
	feature_msr("DS", bit(c1.edx, 21), 0x600);
	feature_msr("ARCH_CAPABILITIES", bit(c7.edx, 29), 0x10a);
	feature_msr("IBRS (SPEC_CTRL)", bit(c7.edx, 26) || bit(e8.ebx, 14) || bit(c7.edx, 31) || bit(e8.ebx, 24), 0x48);
	feature_msr("XSAVES (IA32_XSS)", bit(d1.eax, 3), 0xda0);
	if (amd) {
		feature_msr("PerfCtrExtCore", bit(e1.ecx, 23), 0xc0010200);
		feature_msr("PerfCtrExtNB", bit(e1.ecx, 24), 0xc0010240);
		feature_msr("SVM (VM_CR)", bit(e1.ecx, 2), 0xc0010114);
	} else {
		skip("PerfCtrExtCore: AMD only");
		skip("PerfCtrExtNB: AMD only");
		skip("SVM: AMD only");
	}
	{
		struct cpuid_regs pm = c0.eax >= 0xa ? cpuid(0xa) : (struct cpuid_regs){ 0, 0, 0, 0 };

		diag("leaf 0xA: perfmon version %u", pm.eax & 0xff);
		if (under_tscvisor)
			ok((pm.eax & 0xff) == 0 && !bit(c1.ecx, 15) && !bit(e1.ecx, 23) && !bit(e1.ecx, 24) &&
			   !bit(e1.ecx, 28), "no PMU beyond the architectural: leaf 0xA, PDCM, PerfCtrExt* all 0");
		else
			skip("bare: the emulator's PMU is its own");
	}

	/* What every CPU of the vendor has without a CPUID bit. */
	if (amd) {
		u32 bad = 0, first_bad = 0;
		int wr = -1;

		for (i = 0; i < 8; i++) {
			r = rdmsr_safe(0xc0010000 + i, &v);
			if (r >= 0 || (under_tscvisor && v)) {
				if (!bad++)
					first_bad = 0xc0010000 + i;
			}
		}
		ok(!bad, "AMD legacy PerfEvtSel0-3/PerfCtr0-3 read%s without #GP (%u bad, first 0x%x)",
		   under_tscvisor ? " 0" : "", bad, first_bad);
		for (i = 0; i < 8 && wr < 0; i++)
			wr = wrmsr_safe(0xc0010000 + i, 0);     /* the reset test kernels do */
		ok(wr < 0, "AMD legacy PerfEvtSel0-3/PerfCtr0-3 take writes of 0 (%s)", fault_name(wr));
		skip("MISC_ENABLE: Intel only");
		skip("PLATFORM_ID: Intel only");
	} else {
		skip("legacy PerfEvtSel: AMD only");
		skip("legacy PerfCtr: AMD only");
		r = rdmsr_safe(0x1a0, &v);
		ok(r < 0 && (v & (1u << 12)) && (v & (1u << 11)),
		   "IA32_MISC_ENABLE reads 0x%llx: BTS and PEBS unavailable (%s)", (unsigned long long)v,
		   fault_name(r));
		r = rdmsr_safe(0x17, &v);
		ok(r < 0, "IA32_PLATFORM_ID reads 0x%llx (%s)", (unsigned long long)v, fault_name(r));
	}
	r = wrmsr_safe(0x8b, 0);
	if (r < 0)
		r = rdmsr_safe(0x8b, &v);
	ok(r < 0, "microcode revision: write 0, read 0x%llx (%s)",
	   (unsigned long long)v, fault_name(r));

	/* Last: x2APIC, as leaving it needs a trip through the disabled state.
	 * Its MSRs exist only in x2APIC mode (SDM Vol. 3A 11.12.1). */
	if (bit(c1.ecx, 21)) {
		u64 id = ~0ull;
		u32 xid = lapic_id();

		int r2;

		r = wrmsr_safe(0x1b, apic_base | (1u << 10));
		r2 = rdmsr_safe(0x802, &id);
		ok(r < 0 && r2 < 0 && id == xid,
		   "x2APIC shown: enabled it (%s), ID MSR 0x802 = %llu (xAPIC ID %u)", fault_name(r),
		   (unsigned long long)id, xid);
	} else {
		feature_msr("x2APIC", false, 0x802);
	}
}
