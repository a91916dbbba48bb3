/* save_restore — guest time across a save and a restore (docs/save-restore.md):
 * the guest asks for a snapshot with the save hypercall at a moment of its
 * choosing, and checks what it sees when the call returns in the restored
 * VM (in the same boot, or in a later boot on another host):
 *   - the hypercall returns 0; the incarnation (time leaf 0x40000101 EDX)
 *     went up by one, and RDTSCP's ECX follows it in pvrdtscp mode;
 *   - no backward step: the TSC after the call is not below the TSC before,
 *     and the jump is small ("pause" semantics: the guest clock does not see
 *     the time the VM was not running); the step is printed in guest ns
 *     ("# step across the save/restore: N ns"), for the cases to hold to
 *     their host's bound;
 *   - the TSC rate measured against the PM timer after the restore equals
 *     the rate before (and tsc_khz when given), within tol_ppm;
 *   - kvmclock: the time does not go back and barely moves across the
 *     restore, and the area says PVCLOCK_GUEST_STOPPED.
 * Everything measured before the save lives in guest memory, so a restore
 * in another boot compares with what this kernel measured in the first.
 *
 * Options: expect_khz=K; tol_ppm=T (default 1000); window_ms=M (default
 * 100; the rate is the median of 5 such windows); jump_ms=J: largest allowed TSC/pvclock advance across the call
 * (default 50); expect_restore=0|1 (default 1: 0 when on_save = continue);
 * inject_jump=N: pretend the TSC after the call is N cycles lower (must
 * FAIL); samples=N: also record N (PM timer, TSC) pairs 5 ms apart before
 * the save and after the restore and print them as "# sample before|after
 * PM_US TSC" lines (scripts/plot-migration draws them); wait_save=MS: do
 * not call the hypercall but wait up to MS ms, reading the TSC and the
 * incarnation back to back, for the operator's save (config save_after_ms;
 * it must be followed by a restore, in this boot or the next): the checks
 * then apply to the last (pvclock, TSC) sample before the exit that took
 * the save and the first after it.
 * Skips (77) without the time leaf (bare QEMU). */
#include "guest.h"
#include "pvclock.h"

static struct pvclock_area area __attribute__((aligned(64)));

#define MAX_SAMPLES 200
struct sample { u32 pm; u64 tsc; };
static struct sample before_s[MAX_SAMPLES], after_s[MAX_SAMPLES];

/* n pairs 5 ms apart; the PM timer is the reference clock. */
static void take_samples(const struct pmtimer *pm, struct sample *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			pm_delay(pm, PMTMR_HZ / 200);
		s[i].pm = pmtimer_read(pm);
		s[i].tsc = rdtsc();
	}
}

static void print_samples(const struct pmtimer *pm, const char *tag, const struct sample *s,
			  unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		u64 ticks = (s[i].pm - s[0].pm) & pm->mask;

		diag("sample %s %llu %llu", tag, (unsigned long long)(ticks * 1000000 / PMTMR_HZ),
		     (unsigned long long)s[i].tsc);
	}
}

static u32 incarnation(void)
{
	struct cpuid_regs r = cpuid(TV_LEAF_TIME);

	return r.edx;
}

/* The median of 5 windows: one window disturbed by the host (an emulator
 * thread descheduled at an edge) does not move it. */
static u64 measure_hz(const struct pmtimer *pm, u64 window_ms)
{
	u64 hz[5];
	unsigned n = 0, i, j;

	for (i = 0; i < 5; i++) {
		struct tsc_window w;

		if (tsc_measure_window(pm, (u32)(window_ms * PMTMR_HZ / 1000), &w))
			hz[n++] = w.tsc_hz;
	}
	if (!n)
		return 0;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && hz[j - 1] > hz[j]; j--) {
			u64 t = hz[j];

			hz[j] = hz[j - 1];
			hz[j - 1] = t;
		}
	return hz[n / 2];
}

/* Guest TSC cycles (signed: a backward step stays visible) to ns at hz,
 * without a 128-bit division (no libgcc here); hz below 18 GHz. */
static s64 cycles_to_ns(s64 c, u64 hz)
{
	u64 a = c < 0 ? -(u64)c : (u64)c, ns;

	if (!hz)
		return -1;
	ns = a / hz * 1000000000ull + (a % hz) * 1000000000ull / hz;
	return c < 0 ? -(s64)ns : (s64)ns;
}

static bool diff_ok(u64 a, u64 b, u64 ppm)
{
	u64 d = a > b ? a - b : b - a;

	return (unsigned __int128)d * 1000000 <= (unsigned __int128)ppm * b;
}

void test_main(const struct mb_info *mbi)
{
	u64 expect_khz = cmdline_u64("expect_khz", 0, NULL);
	u64 tol = cmdline_u64("tol_ppm", 1000, NULL);
	u64 window_ms = cmdline_u64("window_ms", 100, NULL);
	u64 jump_ms = cmdline_u64("jump_ms", 50, NULL);
	u64 expect_restore = cmdline_u64("expect_restore", 1, NULL);
	u64 inject = cmdline_u64("inject_jump", 0, NULL);
	unsigned nsamples = (unsigned)cmdline_u64("samples", 0, NULL);
	u64 wait_save = cmdline_u64("wait_save", 0, NULL);
	u64 waited = 0, backs = 0, gap = ~0ull;
	unsigned intervals = 0;
	const struct pmtimer *pm;
	u64 hz_before, hz_after, tsc0, tsc1, ns0 = 0, ns1 = 0, jump_cycles;
	u32 inc0, inc1, mode, aux = 0;
	struct pvclock_snap s;
	bool have_pv;
	s64 rc, step_ns;
	u32 max;

	(void)mbi;
	plan(9);
	if (!tv_signature(&max)) {
		skip_rest("no tscvisor time leaf: not under tscvisor");
	}
	pm = pmtimer_init();
	have_pv = kvm_signature(&max);
	if (have_pv)
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)&area | 1);
	mode = cpuid(TV_LEAF_TIME).ebx & 0xff;
	if (nsamples > MAX_SAMPLES)
		nsamples = MAX_SAMPLES;
	hz_before = measure_hz(pm, window_ms);
	take_samples(pm, before_s, nsamples);   /* right before the save */
	inc0 = incarnation();
	diag("before: TSC %llu Hz, incarnation %u, mode %u", (unsigned long long)hz_before, inc0, mode);
	if (have_pv && pvclock_read(&area, &s))
		ns0 = s.ns;
	if (!wait_save) {
		tsc0 = rdtsc();
		rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
		tsc1 = rdtsc() - inject;
		if (have_pv && pvclock_read(&area, &s))
			ns1 = s.ns;
		inc1 = incarnation();
	} else {
		/* The save comes at some exit, any of them: a trapped CPUID
		 * or RDTSC, the host timer's interrupt. A sample (incarnation,
		 * pvclock, TSC, incarnation) lies wholly before the save or
		 * wholly after it when its two incarnations agree: the step is
		 * measured from the last sample wholly before to the first
		 * wholly after, so it holds the save whichever exit took it
		 * (and a few exits of the samples around it). */
		u64 start = rdtsc(), limit = hz_before / 1000 * wait_save, t, n = 0;
		u32 ia, ib;
		unsigned straddled = 0;
		bool clean = false;     /* tsc0 is a sample's, not the start */

		rc = 0;
		tsc0 = start;
		inc1 = inc0;
		tsc1 = start;
		for (;;) {
			ia = incarnation();
			if (have_pv && pvclock_read(&area, &s))
				n = s.ns;
			t = rdtsc();
			ib = incarnation();
			if (ia == ib && ia != inc0) {
				inc1 = ia;
				tsc1 = t - inject;
				ns1 = n;
				intervals = straddled + 1;
				break;
			}
			if (ia == ib) {
				if ((s64)(t - tsc0) < 0)
					backs++;
				/* the guest's own time from one sample to the next */
				if (clean && t - tsc0 < gap)
					gap = t - tsc0;
				clean = true;
				tsc0 = t;
				ns0 = n;
				straddled = 0;
			} else {
				straddled++;    /* the save fell inside this sample */
			}
			if (t - start > limit) {
				rc = -1;
				inc1 = ib;
				tsc1 = t - inject;
				ns1 = n;
				break;
			}
		}
		waited = (tsc0 - start) / (hz_before / 1000 ? hz_before / 1000 : 1);
	}
	if (mode == TV_MODE_PVRDTSCP)
		rdtscp(&aux);
	take_samples(pm, after_s, nsamples);    /* right after the restore */
	hz_after = measure_hz(pm, window_ms);
	print_samples(pm, "before", before_s, nsamples);
	print_samples(pm, "after", after_s, nsamples);
	diag("after: TSC %llu Hz, incarnation %u, TSC advanced %llu across the call, pvclock %llu ns",
	     (unsigned long long)hz_after, inc1, (unsigned long long)(tsc1 - tsc0),
	     (unsigned long long)(ns1 - ns0));
	/* The step the guest saw, in its own time: its TSC before the save
	 * (the hypercall, or the exit that took the operator's) and after
	 * the restore, at the rate it measured before. The cases compare it
	 * with their host's bound (scripts/cases). */
	step_ns = cycles_to_ns((s64)(tsc1 - tsc0), hz_before);
	diag("step across the save/restore: %lld ns of guest time (%lld TSC cycles at %llu Hz; "
	     "pvclock %lld ns)", (long long)step_ns, (long long)(s64)(tsc1 - tsc0),
	     (unsigned long long)hz_before, (long long)(s64)(ns1 - ns0));
	/* Waiting for the operator's save, the step spans the samples around
	 * it: the guest's own work of `intervals` sample intervals (the
	 * shortest seen before, `gap`), whatever the save cost. What is
	 * beyond them is the save's and the restore's. */
	if (intervals && gap != ~0ull)
		diag("step beyond the guest's own sampling: %lld ns (%u sample interval(s) of %lld ns "
		     "taken off)", (long long)(step_ns - (s64)intervals * cycles_to_ns((s64)gap, hz_before)),
		     intervals, (long long)cycles_to_ns((s64)gap, hz_before));

	if (wait_save)
		ok(rc == 0 && backs == 0, "the operator's save came after %llu ms (allowed %llu), "
		   "no backward step while waiting (%llu)", (unsigned long long)waited,
		   (unsigned long long)wait_save, (unsigned long long)backs);
	else
		ok(rc == 0, "the save hypercall returned 0 (%lld)", (long long)rc);
	ok(inc1 == inc0 + (expect_restore ? 1 : 0), "incarnation %u -> %u (%s)", inc0, inc1,
	   expect_restore ? "restored: +1" : "not restored: unchanged");
	if (mode == TV_MODE_PVRDTSCP)
		ok(aux == inc1, "pvrdtscp: RDTSCP's ECX %u is the incarnation %u", aux, inc1);
	else
		skip("not pvrdtscp mode");
	ok((s64)(tsc1 - tsc0) >= 0, "no backward TSC step across the save/restore (%lld)",
	   (long long)(tsc1 - tsc0));
	jump_cycles = hz_before / 1000 * jump_ms;
	ok(tsc1 - tsc0 <= jump_cycles, "the TSC advanced %llu cycles across it, at most %llu (%llu ms)",
	   (unsigned long long)(tsc1 - tsc0), (unsigned long long)jump_cycles,
	   (unsigned long long)jump_ms);
	ok(hz_before && hz_after && diff_ok(hz_after, hz_before, tol),
	   "the TSC rate after (%llu Hz) equals the rate before (%llu Hz) within %llu ppm",
	   (unsigned long long)hz_after, (unsigned long long)hz_before, (unsigned long long)tol);
	if (expect_khz)
		ok(diff_ok(hz_after, expect_khz * 1000, tol), "the rate after is tsc_khz %llu within %llu ppm",
		   (unsigned long long)expect_khz, (unsigned long long)tol);
	else
		skip("no expect_khz=");
	if (have_pv) {
		ok(ns1 >= ns0 && ns1 - ns0 <= jump_ms * 1000000,
		   "pvclock continues across it: %llu ns later (at most %llu ms)",
		   (unsigned long long)(ns1 - ns0), (unsigned long long)jump_ms);
		ok(!expect_restore || (s.f.flags & PVCLOCK_FLAG_STOPPED),
		   "the pvclock area says PVCLOCK_GUEST_STOPPED after a restore (flags 0x%x)", s.f.flags);
	} else {
		skip("no kvmclock");
		skip("no kvmclock");
	}
	done();
}
