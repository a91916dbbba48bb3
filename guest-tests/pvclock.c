/* pvclock — kvmclock as a stock guest uses it (docs/abi.md).
 *
 * CPUID 0x40000000 must read "KVMKVMKVM\0\0\0" with max leaf >= 0x40000010;
 * 0x40000001 EAX has CLOCKSOURCE (0), CLOCKSOURCE2 (3) and STABLE_BIT (24);
 * 0x40000010 EAX is the guest TSC kHz. Then, once through the new MSRs
 * (0x4b564d01 / 0x4b564d00) and once through the legacy ones (0x12 / 0x11):
 * the system-time area is registered at a page-aligned GPA in this kernel's
 * bss; the hypervisor must have filled it (even version, non-zero mul); its
 * scale must match the CPUID kHz; RDMSR gives back what was written; reads
 * never go back over N reads; the time advances at the PM timer's rate;
 * bad addresses (beyond RAM, the LAPIC page, crossing a page, not 4-byte
 * aligned) are refused with #GP and leave the registration as it was; the
 * wall clock MSR fills a plausible boot time. Last, writes of IA32_TSC
 * (+2^40, then back) leave the pvclock time continuous.
 *
 * Skips (77) without the KVM signature (bare QEMU TCG says "TCGTCGTCGTCG")
 * unless require=kvmclock. Single vCPU: an update by the hypervisor happens
 * while this vCPU is stopped, so an odd version is never seen here (SMP:
 * see docs/abi.md).
 *
 * Options:
 *   reads=N          consecutive reads checked for monotonicity (default 200000)
 *   window_ms=M      PM timer window of the rate check (default 200)
 *   tol_ppm=T        rate tolerance (default 1000)
 *   expect_khz=K     CPUID 0x40000010 EAX must be K
 *   expect_stable=B  PVCLOCK_TSC_STABLE_BIT must be B (0 or 1)
 *   require=kvmclock fail instead of skipping when the signature is absent
 *   kvm_compat=1     skip the refusals that are tscvisor's own (real KVM
 *                    accepts any address and just does not write) */
#include "guest.h"
#include "pvclock.h"

#define WALL_2020 1577836800u	/* 2020-01-01T00:00:00Z */
#define WALL_2100 4102444800u	/* 2100-01-01T00:00:00Z */

/* The areas: one page of bss, page-aligned. The new MSRs use offset 0 and
 * 64, the legacy ones 128 and 192 (distinct, to see which one was filled).
 * A second page follows so that "crossing a page" is still inside RAM. */
static u8 page[2][4096] __attribute__((aligned(4096)));

struct pass {
	const char *name;
	u32 msr_time, msr_wall;
	unsigned time_off, wall_off;
};

static const struct pass passes[] = {
	{ "new MSRs 0x4b564d01/0x4b564d00", MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW, 0, 64 },
	{ "legacy MSRs 0x12/0x11", MSR_KVM_SYSTEM_TIME_OLD, MSR_KVM_WALL_CLOCK_OLD, 128, 192 },
};

#define CHECKS_PER_PASS 14

static u64 opt_reads, opt_window_ms, opt_tol_ppm, opt_expect_stable;
static bool have_expect_stable, kvm_compat;

static u64 gpa_of(const void *p)
{
	return (u64)(uintptr_t)p;
}

/* |a - b| <= ppm * ref / 10^6, exactly. */
static bool within_ppm(u64 a, u64 b, u64 ref, u64 ppm)
{
	u64 d = a > b ? a - b : b - a;

	return mul64x64(d, 1000000) <= mul64x64(ppm, ref);
}

/* ns for one second of TSC (khz * 1000 cycles) by the area's scale, against
 * 10^9: the pvclock scale's truncation is 0.47 ppb; allow 1 ppb + 2 ns. */
static bool scale_matches(const struct pvclock_area *f, u64 khz, u64 *ns_per_s)
{
	u64 cycles = khz * 1000;

	*ns_per_s = pvclock_scale(cycles, f->tsc_to_system_mul, f->tsc_shift);
	return *ns_per_s + 3 >= 1000000000u && *ns_per_s <= 1000000000u + 3;
}

/* A WRMSR that must be refused: #GP, and the registration unchanged. */
static void expect_gp(u32 msr, u64 value, u64 keep, const char *what)
{
	int fault = wrmsr_safe(msr, value);
	u64 back = 0;
	bool same = true;

	if (msr == MSR_KVM_SYSTEM_TIME_NEW || msr == MSR_KVM_SYSTEM_TIME_OLD)
		same = rdmsr_safe(msr, &back) < 0 && back == keep;
	ok(fault == 13 && same, "%s: WRMSR 0x%x = 0x%llx refused with #GP (got %s%d)%s", what,
	   msr, (unsigned long long)value, fault < 0 ? "no fault " : "vector ", fault,
	   same ? "" : ", and the registration changed");
}

static void run_pass(const struct pass *p, u64 khz, const struct pmtimer *pm, u64 ram_top)
{
	volatile struct pvclock_area *a = (volatile struct pvclock_area *)&page[0][p->time_off];
	volatile struct pvclock_wall *w = (volatile struct pvclock_wall *)&page[0][p->wall_off];
	u64 reg = gpa_of((const void *)a) | 1, back = 0, ns_per_s = 0;
	struct pvclock_snap s = { 0 }, prev;
	int fault;

	diag("--- %s: area at 0x%llx, wall clock at 0x%llx", p->name,
	     (unsigned long long)gpa_of((const void *)a), (unsigned long long)gpa_of((const void *)w));
	memset(page, 0, sizeof(page));

	/* 1: registration accepted and read back. */
	fault = wrmsr_safe(p->msr_time, reg);
	if (fault < 0)
		fault = rdmsr_safe(p->msr_time, &back);
	if (!ok(fault < 0 && back == reg, "%s: WRMSR/RDMSR 0x%x = 0x%llx (read 0x%llx%s)", p->name,
		p->msr_time, (unsigned long long)reg, (unsigned long long)back,
		fault < 0 ? "" : ", faulted")) {
		for (int i = 1; i < CHECKS_PER_PASS; i++)
			skip("registration failed");
		return;
	}

	/* 2: filled in, consistently. */
	bool got = pvclock_read(a, &s);

	diag("area: version %u tsc_timestamp %llu system_time %llu mul 0x%08x shift %d flags 0x%x",
	     s.f.version, (unsigned long long)s.f.tsc_timestamp,
	     (unsigned long long)s.f.system_time, s.f.tsc_to_system_mul, s.f.tsc_shift, s.f.flags);
	ok(got && s.f.version >= 2 && s.retries == 0 && s.f.tsc_to_system_mul != 0 &&
	   !(s.f.flags & PVCLOCK_FLAG_STOPPED),
	   "%s: the hypervisor filled the area (even version %u >= 2, mul non-zero, "
	   "GUEST_STOPPED clear, %u odd/changed reads)", p->name, s.f.version, s.retries);

	/* 3: the scale is the CPUID rate's. */
	ok(scale_matches(&s.f, khz, &ns_per_s),
	   "%s: mul 0x%08x shift %d turn %llu kHz into %llu ns per second (10^9 +- 3)",
	   p->name, s.f.tsc_to_system_mul, s.f.tsc_shift, (unsigned long long)khz,
	   (unsigned long long)ns_per_s);

	/* 4: stable bit as expected. */
	if (have_expect_stable)
		ok(!!(s.f.flags & PVCLOCK_FLAG_STABLE) == !!opt_expect_stable,
		   "%s: PVCLOCK_TSC_STABLE_BIT is %u (expected %llu)", p->name,
		   s.f.flags & PVCLOCK_FLAG_STABLE, (unsigned long long)opt_expect_stable);
	else
		skip("no expect_stable= (stable bit is %u)", s.f.flags & PVCLOCK_FLAG_STABLE);

	/* 5: never back, and no odd version seen (single vCPU). */
	u64 back_steps = 0, worst = 0, odd = 0, changes = 0;
	u32 v0 = s.f.version;

	prev = s;
	for (u64 i = 0; i < opt_reads; i++) {
		struct pvclock_snap c = { 0 };

		if (!pvclock_read(a, &c)) {
			odd++;
			break;
		}
		odd += c.retries;
		if (c.f.version != prev.f.version)
			changes++;
		if (c.ns < prev.ns) {
			back_steps++;
			if (prev.ns - c.ns > worst)
				worst = prev.ns - c.ns;
		}
		prev = c;
	}
	diag("%llu reads: %llu steps back (worst %llu ns), %llu odd/changed versions seen, "
	     "%llu updates (version %u -> %u), %llu ns elapsed",
	     (unsigned long long)opt_reads, (unsigned long long)back_steps,
	     (unsigned long long)worst, (unsigned long long)odd, (unsigned long long)changes,
	     v0, prev.f.version, (unsigned long long)(prev.ns - s.ns));
	ok(back_steps == 0 && prev.ns > s.ns,
	   "%s: %llu consecutive reads never go back and the time advances", p->name,
	   (unsigned long long)opt_reads);
	ok(odd == 0 && (prev.f.version & 1) == 0,
	   "%s: every read saw an even, unchanged version", p->name);

	/* 7: rate against the PM timer. */
	if (!pm) {
		skip("no ACPI PM timer");
	} else {
		u64 ns = 0, acc = 0, err = 0;
		u32 ticks = (u32)muldiv64(opt_window_ms, PMTMR_HZ, 1000);
		bool measured = pvclock_measure_window(pm, a, ticks, &ns, &acc, &err);
		u64 want = measured ? muldiv64(acc, 1000000000u, PMTMR_HZ) : 0;
		u64 off_ppb = measured && want ? muldiv64(ns > want ? ns - want : want - ns,
							  1000000000u, want) : 0;

		diag("window: %llu ns of pvclock over %llu PM ticks (%llu ns), edge error <= %llu ns,"
		     " off by %llu.%03llu ppm", (unsigned long long)ns, (unsigned long long)acc,
		     (unsigned long long)want, (unsigned long long)err,
		     (unsigned long long)(off_ppb / 1000), (unsigned long long)(off_ppb % 1000));
		ok(measured && within_ppm(ns, want, want, opt_tol_ppm),
		   "%s: pvclock advances at the PM timer's rate within %llu ppm", p->name,
		   (unsigned long long)opt_tol_ppm);
	}

	/* 8-11: refusals (tscvisor's ABI: #GP, registration unchanged). */
	if (kvm_compat) {
		for (int i = 0; i < 4; i++)
			skip("kvm_compat=1: KVM takes any address without #GP");
	} else {
		u64 beyond = (ram_top + 0xfff) & ~0xfffull;

		expect_gp(p->msr_time, beyond | 1, reg, "area at the top of RAM (beyond it)");
		expect_gp(p->msr_time, 0xfee00000ull | 1, reg, "area in the LAPIC page (MMIO)");
		expect_gp(p->msr_time, (gpa_of(page[0]) + 4080) | 1, reg, "area crossing a page");
		expect_gp(p->msr_time, (gpa_of(page[0]) + 258) | 1, reg, "area not 4-byte aligned");
	}

	/* 12: wall clock. */
	fault = wrmsr_safe(p->msr_wall, gpa_of((const void *)w));
	u32 wv = w->version, sec = w->sec, nsec = w->nsec;

	diag("wall clock: version %u, boot at %u.%09u s since 1970 (+ %llu ns of system time)",
	     wv, sec, nsec, (unsigned long long)prev.ns);
	ok(fault < 0 && wv >= 2 && !(wv & 1) && sec >= WALL_2020 && sec < WALL_2100 &&
	   nsec < 1000000000u, "%s: wall clock MSR 0x%x gives a plausible boot time (%u s)",
	   p->name, p->msr_wall, sec);
	if (kvm_compat)
		skip("kvm_compat=1");
	else
		expect_gp(p->msr_wall, (gpa_of(page[0]) + 4088), 0, "wall clock crossing a page");

	/* Off again: a write with bit 0 clear is always accepted. */
	fault = wrmsr_safe(p->msr_time, 0);
	back = 1;
	if (fault < 0)
		fault = rdmsr_safe(p->msr_time, &back);
	ok(fault < 0 && back == 0, "%s: WRMSR 0x%x = 0 (off) accepted, reads back 0", p->name,
	   p->msr_time);
}

/* System time counts ns since the VM was created, whatever the guest does
 * to its TSC (docs/abi.md): WRMSR IA32_TSC forward by 2^40 cycles and
 * back again must leave the pvclock time continuous (a step of at most
 * 1 s, never back), and, on this single vCPU (never written "apart from
 * the others"), the stable bit as it was. */
static void tsc_writes(void)
{
	volatile struct pvclock_area *a = (volatile struct pvclock_area *)&page[1][0];
	struct pvclock_snap s0 = { 0 }, s1 = { 0 }, s2 = { 0 };
	u64 t, reg = gpa_of((const void *)a) | 1;
	int f1, f2;

	if (wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, reg) >= 0 || !pvclock_read(a, &s0)) {
		ok(false, "area registered for the TSC-write checks");
		ok(false, "area registered for the TSC-write checks");
		return;
	}
	t = rdtsc();
	f1 = wrmsr_safe(0x10, t + (1ull << 40));
	pvclock_read(a, &s1);
	t = rdtsc();
	f2 = wrmsr_safe(0x10, t - (1ull << 40));
	pvclock_read(a, &s2);
	wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, 0);
	diag("around TSC writes: %llu ns (TSC %llu), %llu ns (TSC %llu), %llu ns (TSC %llu); "
	     "tsc_timestamp %llu -> %llu -> %llu", (unsigned long long)s0.ns,
	     (unsigned long long)s0.tsc, (unsigned long long)s1.ns, (unsigned long long)s1.tsc,
	     (unsigned long long)s2.ns, (unsigned long long)s2.tsc,
	     (unsigned long long)s0.f.tsc_timestamp, (unsigned long long)s1.f.tsc_timestamp,
	     (unsigned long long)s2.f.tsc_timestamp);
	if (f1 >= 0 || f2 >= 0 || s1.tsc - s0.tsc < (1ull << 39)) {
		skip("IA32_TSC writes have no effect or fault here");
		skip("IA32_TSC writes have no effect or fault here");
		return;
	}
	ok(s1.ns >= s0.ns && s1.ns - s0.ns < 1000000000u && s2.ns >= s1.ns &&
	   s2.ns - s1.ns < 1000000000u,
	   "pvclock time continues across WRMSR IA32_TSC +2^40 and -2^40 (steps %lld, %lld ns)",
	   (long long)(s1.ns - s0.ns), (long long)(s2.ns - s1.ns));
	ok(s1.f.flags == s0.f.flags && s2.f.flags == s0.f.flags,
	   "single vCPU: flags stay 0x%x across the writes (0x%x, 0x%x)", s0.f.flags, s1.f.flags,
	   s2.f.flags);
}

void test_main(const struct mb_info *mbi)
{
	char req[64] = "";
	u32 max = 0;
	bool have_khz;
	u64 expect_khz;

	(void)mbi;
	cmdline_get("require", req, sizeof(req));
	opt_reads = cmdline_u64("reads", 200000, NULL);
	opt_window_ms = cmdline_u64("window_ms", 200, NULL);
	opt_tol_ppm = cmdline_u64("tol_ppm", 1000, NULL);
	opt_expect_stable = cmdline_u64("expect_stable", 0, &have_expect_stable);
	kvm_compat = cmdline_u64("kvm_compat", 0, NULL) != 0;
	expect_khz = cmdline_u64("expect_khz", 0, &have_khz);
	if (opt_window_ms < 10)
		opt_window_ms = 10;
	if (opt_window_ms > 4000)
		opt_window_ms = 4000;

	plan(4 + CHECKS_PER_PASS * (int)ARRAY_SIZE(passes) + 2);

	bool sig = kvm_signature(&max);
	struct cpuid_regs h = cpuid(KVM_LEAF_SIGNATURE);
	char sigbuf[13];

	diag("CPUID 0x40000000: EAX 0x%08x \"%s\"", h.eax, tv_sig_str(h, sigbuf));
	if (!sig) {
		if (strncmp(req, "kvmclock", 8) == 0)
			ok(false, "KVM signature present (require=kvmclock)");
		skip_rest("no KVM signature at CPUID 0x40000000");
	}
	ok(max >= KVM_LEAF_TIMING, "max hypervisor leaf 0x%08x >= 0x40000010", max);

	u32 feat = cpuid(KVM_LEAF_FEATURES).eax;
	u32 want = KVM_FEAT_CLOCKSOURCE | KVM_FEAT_CLOCKSOURCE2 | KVM_FEAT_STABLE_BIT;

	ok((feat & want) == want, "CPUID 0x40000001 EAX 0x%08x has bits 0, 3 and 24", feat);

	struct cpuid_regs t = cpuid(KVM_LEAF_TIMING);
	u64 khz = t.eax;

	diag("CPUID 0x40000010: TSC %u kHz, LAPIC timer %u kHz", t.eax, t.ebx);
	ok(khz != 0, "CPUID 0x40000010 EAX (guest TSC kHz) is non-zero: %llu",
	   (unsigned long long)khz);
	if (have_khz)
		ok(khz == expect_khz, "guest TSC %llu kHz == expected %llu kHz",
		   (unsigned long long)khz, (unsigned long long)expect_khz);
	else
		skip("no expect_khz=");
	if (!khz)
		skip_rest("no TSC rate to check the scale against");

	const struct pmtimer *pm = pmtimer_init();
	u64 ram_top = mb_ram_top();

	diag("RAM top 0x%llx (multiboot)", (unsigned long long)ram_top);
	for (unsigned i = 0; i < ARRAY_SIZE(passes); i++)
		run_pass(&passes[i], khz, pm, ram_top);
	tsc_writes();
}
