/* tsc_rate — the TSC rate measured against the ACPI PM timer (3.579545 MHz,
 * the guest's independent reference clock) over several windows: the
 * windows must agree with each other, and, when the command line names an
 * expected rate, the median must match it.
 *
 * Options (multiboot command line, key=value):
 *   expect_khz=K    also check the median rate against K kHz
 *   tol_ppm=T       tolerance of that check (default 1000)
 *   spread_ppm=S    limit on (max - min) / median over the windows (default 1000)
 *   windows=N       number of windows (default 10, at most 64)
 *   window_ms=M     length of each window in ms (default 50)
 *   pmtimer=pci     find the PM timer through PCI, not the FADT
 * Prints "# tsc_khz=N" (the median, rounded) for runners to pick up.
 *
 * Why 1000 ppm by default: one 100 ms window is good to 2-3 ppm on an idle
 * QEMU TCG host and to 0.2 ppm under icount, but the test matrix runs
 * several emulators at once on a 2-core machine. An edge whose read was
 * disturbed is dropped (clock.c), yet a vCPU thread can still be delayed
 * for tens of microseconds in the middle of a bracket that looks normal,
 * and under a hypervisor that traps RDTSC every read is an exit whose cost
 * varies. 1000 ppm over 50 ms is 50 us of error: far above that noise,
 * still far below any real rate error (a wrong scale, a missed offset, a
 * host-rate leak after migration is 1000s of ppm or more). Measured bare
 * on QEMU TCG: spread 4-8 ppm with five QEMUs on two cores, 0.4 ppm under
 * icount. Runs that need tighter bounds pass spread_ppm= and tol_ppm=. */
#include "guest.h"

#define MAX_WINDOWS 64

static void sort_u64(u64 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		u64 x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* |a - b| * 10^6 <= ppm * ref, exactly (128-bit products). */
static bool within_ppm(u64 a, u64 b, u64 ref, u64 ppm)
{
	u64 diff = a > b ? a - b : b - a;

	return mul64x64(diff, 1000000) <= mul64x64(ppm, ref);
}

/* diff / ref in ppm with three decimals, into buf. */
static const char *ppm_str(char *buf, size_t size, u64 diff, u64 ref)
{
	u64 ppb = muldiv64(diff, 1000000000, ref);

	snprintf(buf, size, "%llu.%03llu", (unsigned long long)(ppb / 1000),
		 (unsigned long long)(ppb % 1000));
	return buf;
}

void test_main(const struct mb_info *mbi)
{
	bool have_expect;
	u64 expect_khz = cmdline_u64("expect_khz", 0, &have_expect);
	u64 tol_ppm = cmdline_u64("tol_ppm", 1000, NULL);
	u64 spread_ppm = cmdline_u64("spread_ppm", 1000, NULL);
	u64 nwin = cmdline_u64("windows", 10, NULL);
	u64 window_ms = cmdline_u64("window_ms", 50, NULL);
	u64 hz[MAX_WINDOWS];
	const struct pmtimer *pm;
	bool measured = true;
	char p1[32], p2[32];

	(void)mbi;
	if (nwin < 1)
		nwin = 1;
	if (nwin > MAX_WINDOWS)
		nwin = MAX_WINDOWS;
	if (window_ms < 1)
		window_ms = 1;
	if (window_ms > 4000)		/* less than one 24-bit wrap (4.69 s) */
		window_ms = 4000;
	plan(have_expect ? 4 : 3);

	pm = pmtimer_init();
	if (!ok(pm != NULL, "ACPI PM timer found"))
		done();

	u32 ticks = (u32)muldiv64(window_ms, PMTMR_HZ, 1000);
	u32 pm0 = pmtimer_read(pm);

	diag("%llu windows of %llu ms (%u PM timer ticks)", (unsigned long long)nwin,
	     (unsigned long long)window_ms, ticks);
	for (unsigned i = 0; i < nwin; i++) {
		struct tsc_window w;

		if (!tsc_measure_window(pm, ticks, &w) || !w.tsc_ticks) {
			diag("window %u: the PM timer or the TSC did not move", i);
			measured = false;
			break;
		}
		hz[i] = w.tsc_hz;
		diag("window %u: %llu kHz (%llu TSC ticks / %llu PM ticks, edge error <= %llu ticks"
		     " = %s ppm, %u disturbed edge(s) skipped)",
		     i, (unsigned long long)((w.tsc_hz + 500) / 1000),
		     (unsigned long long)w.tsc_ticks, (unsigned long long)w.pm_ticks,
		     (unsigned long long)w.edge_err,
		     ppm_str(p1, sizeof(p1), 2 * w.edge_err, w.tsc_ticks), w.rejected);
	}
	diag("PM timer ran from 0x%06x to 0x%06x", pm0, pmtimer_read(pm));
	if (!ok(measured, "the PM timer and the TSC advance in every window"))
		done();

	sort_u64(hz, (unsigned)nwin);
	u64 lo = hz[0], hi = hz[nwin - 1];
	u64 median = nwin & 1 ? hz[nwin / 2]
			      : hz[nwin / 2 - 1] + (hz[nwin / 2] - hz[nwin / 2 - 1]) / 2;

	diag("median %llu Hz, min %llu Hz, max %llu Hz", (unsigned long long)median,
	     (unsigned long long)lo, (unsigned long long)hi);
	diag("tsc_hz=%llu", (unsigned long long)median);
	diag("tsc_khz=%llu", (unsigned long long)((median + 500) / 1000));
	ok(within_ppm(hi, lo, median, spread_ppm),
	   "windows agree: spread (max - min) / median = %s ppm <= %llu ppm",
	   ppm_str(p1, sizeof(p1), hi - lo, median), (unsigned long long)spread_ppm);

	if (have_expect) {
		u64 expect_hz = expect_khz * 1000;
		u64 off = median > expect_hz ? median - expect_hz : expect_hz - median;

		ok(expect_hz && within_ppm(median, expect_hz, expect_hz, tol_ppm),
		   "median %llu kHz is within %llu ppm of expected %llu kHz (off by %s ppm)",
		   (unsigned long long)((median + 500) / 1000), (unsigned long long)tol_ppm,
		   (unsigned long long)expect_khz,
		   expect_hz ? ppm_str(p2, sizeof(p2), off, expect_hz) : "?");
	}
}
