/* clock.c — the TSC measured against the ACPI PM timer (3.579545 MHz).
 *
 * A window runs from one PM timer edge to a later one. An edge is seen as
 * a change of the counter between two consecutive reads, each bracketed by
 * RDTSC: the transition happened after the earlier read began and before
 * the later one ended, so its TSC is the midpoint of that bracket, off by
 * at most half its width. A bracket much wider than usual means the read
 * was disturbed (the vCPU thread was preempted, an exit was slow): such
 * an edge is not used and the next one is taken instead, so one hiccup
 * does not spoil a window. Counter differences are taken modulo the
 * counter width (24 or 32 bits), and accumulated at every read, so wraps
 * do not matter as long as two reads are less than one wrap (4.7 s) apart. */
#include "guest.h"

/* Reads without any change of the counter before we call it stuck: far
 * more than one tick (279 ns) even at 1 ns per read. */
#define STUCK_READS 10000000u
/* Consecutive disturbed edges after which we take one anyway. */
#define MAX_REJECT_RUN 1000u

struct sample {
	u64 before, after;
	u32 pm;
};

static inline void take(const struct pmtimer *pm, struct sample *s)
{
	s->before = rdtsc();
	s->pm = pmtimer_read(pm);
	s->after = rdtsc();
}

/* The width of an undisturbed bracket: twice the median over a few
 * hundred consecutive read pairs. Measured once. */
static u64 max_width(const struct pmtimer *pm)
{
	static u64 limit;
	u64 w[255];
	struct sample a, b;

	if (limit)
		return limit;
	take(pm, &a);
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		take(pm, &b);
		w[i] = b.after - a.before;
		a = b;
	}
	for (unsigned i = 1; i < ARRAY_SIZE(w); i++) {	/* insertion sort */
		u64 v = w[i];
		unsigned j = i;

		for (; j > 0 && w[j - 1] > v; j--)
			w[j] = w[j - 1];
		w[j] = v;
	}
	limit = 2 * w[ARRAY_SIZE(w) / 2];
	if (!limit)
		limit = 1;
	return limit;
}

bool tsc_measure_window(const struct pmtimer *pm, u32 pm_ticks, struct tsc_window *w)
{
	u64 limit = max_width(pm), acc = 0, t_start = 0, err = 0;
	u32 stuck = 0, reject_run = 0;
	bool started = false;
	struct sample prev, cur;

	memset(w, 0, sizeof(*w));
	take(pm, &prev);
	for (;;) {
		u32 d;
		u64 width;

		take(pm, &cur);
		d = (cur.pm - prev.pm) & pm->mask;
		if (!d) {
			if (++stuck >= STUCK_READS)
				return false;
			prev = cur;
			continue;
		}
		stuck = 0;
		acc += d;
		width = cur.after - prev.before;
		if (width > limit && reject_run < MAX_REJECT_RUN) {
			reject_run++;
			w->rejected++;
		} else {
			u64 mid = prev.before + width / 2;

			reject_run = 0;
			if (!started) {
				started = true;
				t_start = mid;
				err = width / 2 + 1;
				acc = 0;
			} else if (acc >= pm_ticks) {
				w->tsc_ticks = mid - t_start;
				w->pm_ticks = acc;
				w->tsc_hz = muldiv64(w->tsc_ticks, PMTMR_HZ, acc);
				w->edge_err = err > width / 2 + 1 ? err : width / 2 + 1;
				return true;
			}
		}
		prev = cur;
	}
}

bool pm_delay(const struct pmtimer *pm, u64 pm_ticks)
{
	u64 acc = 0;
	u32 prev = pmtimer_read(pm), stuck = 0;

	while (acc < pm_ticks) {
		u32 now = pmtimer_read(pm), d = (now - prev) & pm->mask;

		if (!d && ++stuck >= STUCK_READS)
			return false;
		if (d)
			stuck = 0;
		acc += d;
		prev = now;
	}
	return true;
}

/* ---- the TSC as a time base for delays and timeouts ---- */

static u64 tsc_rate;

u64 tsc_hz(void)
{
	const struct pmtimer *pm;
	struct tsc_window w;

	if (tsc_rate)
		return tsc_rate;
	pm = pmtimer_init();
	if (pm && tsc_measure_window(pm, PMTMR_HZ / 50, &w) && w.tsc_hz) {
		tsc_rate = w.tsc_hz;
		diag("tsc: %lu Hz against the PM timer (one 20 ms window)",
		     tsc_rate);
		return tsc_rate;
	}
	if (cpuid(0x40000000u).eax >= 0x40000010u && cpuid(0x40000000u).eax < 0x40010000u &&
	    cpuid(0x40000010u).eax) {
		tsc_rate = (u64)cpuid(0x40000010u).eax * 1000;
		diag("tsc: %lu Hz from CPUID 0x40000010 EAX", tsc_rate);
		return tsc_rate;
	}
	tsc_rate = 3000000000ull;
	diag("tsc: rate unknown, delays and timeouts assume 3 GHz");
	return tsc_rate;
}

u64 us_to_tsc(u64 us)
{
	return muldiv64(us, tsc_hz(), 1000000);
}

u64 tsc_to_us(u64 ticks)
{
	return muldiv64(ticks, 1000000, tsc_hz());
}

void udelay(u64 us)
{
	u64 end = rdtsc() + us_to_tsc(us);

	while (!timed_out(end))
		cpu_relax();
}
