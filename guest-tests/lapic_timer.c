/* lapic_timer — the local APIC timer's one-shot and periodic modes against
 * the ACPI PM timer, on the BSP.
 *
 * The LAPIC timer's clock is not architecturally known, so it is measured
 * first: the count of a masked one-shot timer started at 0xffffffff, read
 * at two PM timer edges window_ms apart. Then:
 *   - the divide configuration: the rate at divide D and D*16 (or D/16)
 *     differ by exactly 16;
 *   - where a hypervisor says (CPUID 0x40000010 EBX, KVM's "APIC bus kHz"),
 *     the measured bus rate matches it;
 *   - one-shots of 1, 5 and 20 ms, each waited for in HLT: the interrupt,
 *     stamped with the PM timer in its handler, comes no earlier than the
 *     programmed time (less the rate's measurement tolerance) and no later
 *     than late_us after it (a late one is tried again, up to `tries`
 *     times: lateness is what a busy host causes, earliness is not);
 *     afterwards it does not fire again and the current count stays 0;
 *   - a periodic timer of period_us, left running for periodic_ms while the
 *     CPU waits in HLT (checking the PM timer at each tick): the median interval
 *     between ticks (PM timer stamps taken in the handler) is the period,
 *     and the tick count is right: never more than 2 over, and at most
 *     half lost (an xAPIC merges a tick into one still pending, so a host
 *     that stalls the vCPU loses ticks; the median does not care; too few
 *     ticks or too long a median is tried again, like a late one-shot);
 *     writing an initial count of 0 stops it;
 *   - a masked timer runs out but raises no interrupt.
 *
 * Options: divide=D (1, 2, ... 128; default 1); window_ms (rate window,
 * default 100); period_us (default 1000); periodic_ms (default 200);
 * periodic_tol_pct (median interval, default 5); late_us (default 10000);
 * tol_ppm (rate comparisons and the early bound, default 5000); tries
 * (default 3); wait=spin
 * (poll with interrupts on instead of HLT); inject_early_us=N: expect each
 * one-shot N us later than programmed, a self-test that must FAIL.
 *
 * Why these tolerances: the rate is measured over 100 ms with two MMIO
 * reads of the count, each bracketed by PM timer reads and taken again when
 * the bracket is wider than usual, so each is off by about one read's
 * latency (microseconds even when every read exits to a hypervisor),
 * and a stall in between costs nothing; 5000 ppm is far above
 * that noise and far below a unit error (a timer run from the wrong clock
 * is off by 2x or more). Early is the strict side: nothing may fire before
 * its time. late_us = 10 ms: bare QEMU TCG delivers 0.1-0.4 ms late on an
 * idle host but was seen 2.4 ms late on a 2-core host busy with other
 * emulators, and a hypervisor's timer emulation on top of that adds an
 * exit, a host timer and a VM entry; 10 ms still tells a timer that fires
 * on time from one that waits for some unrelated event. */
#include "guest.h"

#define V_TIMER 0x30
#define MAX_STAMPS 2048

static const struct pmtimer *pm;
static volatile u32 fired;
static volatile u32 pm_at_irq;
static u32 stamps[MAX_STAMPS];		/* PM timer at each periodic tick */
static volatile unsigned nstamps;
static volatile bool stamping;

static void timer_irq(u8 v)
{
	(void)v;
	pm_at_irq = pmtimer_read(pm);
	if (stamping && nstamps < MAX_STAMPS)
		stamps[nstamps++] = pm_at_irq;
	atomic_inc(&fired);
}

static u64 pm_us(u32 ticks)
{
	return muldiv64(ticks, 1000000, PMTMR_HZ);
}

static void sort_u32(u32 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		u32 x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* ---- the timer's rate ---- */

static u32 bracket_limit;		/* PM ticks: an undisturbed count read */

/* The current count, and the PM timer at the moment it was read: the
 * midpoint of two PM reads around it. A bracket wider than usual (the
 * vCPU was preempted, code was being translated) is read again. */
static u32 stamp(u32 *count)
{
	u32 a, b, c, w;

	for (int i = 0;; i++) {
		a = pmtimer_read(pm);
		c = lapic_timer_count();
		b = pmtimer_read(pm);
		w = (b - a) & pm->mask;
		if (w <= bracket_limit || i == 1000)
			break;
	}
	*count = c;
	return (a + w / 2) & pm->mask;
}

/* Twice the median width of 31 brackets. */
static void calibrate_bracket(void)
{
	u32 w[31], c;

	bracket_limit = 0xffffffffu;
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		u32 a = pmtimer_read(pm);

		c = lapic_timer_count();
		w[i] = (pmtimer_read(pm) - a) & pm->mask;
	}
	(void)c;
	sort_u32(w, ARRAY_SIZE(w));
	bracket_limit = 2 * w[ARRAY_SIZE(w) / 2] + 1;
}

/* Counts per second at `divide`, over window_ms of a masked one-shot
 * started at 0xffffffff; 0 when it did not count down or ran out. */
static u64 measure_hz(unsigned divide, u64 window_ms)
{
	u32 c0, c1, m0, m1, d;

	lapic_timer_stop();
	lapic_timer_divide(divide);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT | V_TIMER);
	lapic_write(LAPIC_TMICT, 0xffffffffu);
	if (!bracket_limit)
		calibrate_bracket();
	m0 = stamp(&c0);
	pm_delay(pm, muldiv64(window_ms, PMTMR_HZ, 1000));
	m1 = stamp(&c1);
	lapic_timer_stop();
	d = (m1 - m0) & pm->mask;
	diag("divide %u: count 0x%08x -> 0x%08x in %u PM ticks (reads bracketed within %u)",
	     divide, c0, c1, d, bracket_limit);
	if (c1 == 0 || c1 >= c0 || !d)
		return 0;
	return muldiv64(c0 - c1, PMTMR_HZ, d);
}

static bool within_ppm(u64 a, u64 b, u64 ppm)
{
	u64 d = a > b ? a - b : b - a;

	return mul64x64(d, 1000000) <= mul64x64(ppm, b);
}

/* ---- one-shot ---- */

struct shot {
	bool came;
	u64 us;			/* arming to the handler, by the PM timer */
	u32 extra;		/* interrupts after the first */
	u32 count_after;	/* current count once it fired */
	u32 wakes;		/* HLT returns */
};

static struct shot oneshot(u32 count, u64 us, bool use_hlt, u64 late_us)
{
	struct shot r = { 0 };
	u32 n0 = fired, pm0;

	irq_disable();
	pm0 = pmtimer_read(pm);
	lapic_timer_oneshot(V_TIMER, count);
	r.came = wait_count(&fired, n0 + 1, (us + late_us) / 1000 + 1000, use_hlt, &r.wakes);
	if (r.came)
		r.us = pm_us((pm_at_irq - pm0) & pm->mask);
	/* It must stay quiet now, its count at 0. */
	irq_enable();
	udelay(2 * us + 2000);
	irq_disable();
	r.count_after = lapic_timer_count();
	r.extra = fired - n0 - (r.came ? 1 : 0);
	lapic_timer_stop();
	return r;
}

/* ---- periodic ---- */

struct run {
	u32 ticks;
	u64 median_us;
	u32 after;		/* ticks after TMICT := 0 */
};

static struct run periodic(u32 count, u64 period_us, u64 periodic_ms, bool use_hlt)
{
	static u32 gaps[MAX_STAMPS];
	struct run r = { 0 };
	unsigned n = 0;
	u32 n0, pm0, window = (u32)muldiv64(periodic_ms, PMTMR_HZ, 1000);

	irq_disable();
	n0 = fired;
	nstamps = 0;
	stamping = true;
	pm0 = pmtimer_read(pm);
	lapic_timer_periodic(V_TIMER, count);
	while (((pmtimer_read(pm) - pm0) & pm->mask) < window) {
		if (use_hlt) {
			sti_hlt();
		} else {
			irq_enable();
			cpu_relax();
		}
		irq_disable();
	}
	r.ticks = fired - n0;
	lapic_write(LAPIC_TMICT, 0);		/* stops it (SDM 11.5.4) */
	stamping = false;
	irq_enable();
	udelay(1000);
	n0 = fired;
	udelay(5 * period_us + 2000);
	r.after = fired - n0;
	irq_disable();
	lapic_timer_stop();
	for (unsigned i = 1; i < nstamps; i++)
		gaps[n++] = (stamps[i] - stamps[i - 1]) & pm->mask;
	sort_u32(gaps, n);
	if (n) {
		r.median_us = pm_us(gaps[n / 2]);
		diag("periodic: %u ticks, intervals shortest %llu us, median %llu us, longest %llu us",
		     r.ticks, (unsigned long long)pm_us(gaps[0]), (unsigned long long)r.median_us,
		     (unsigned long long)pm_us(gaps[n - 1]));
	}
	return r;
}

void test_main(const struct mb_info *mbi)
{
	unsigned divide = (unsigned)cmdline_u64("divide", 1, NULL);
	u64 window_ms = cmdline_u64("window_ms", 100, NULL);
	u64 period_us = cmdline_u64("period_us", 1000, NULL);
	u64 periodic_ms = cmdline_u64("periodic_ms", 200, NULL);
	u64 tol_pct = cmdline_u64("periodic_tol_pct", 5, NULL);
	u64 late_us = cmdline_u64("late_us", 10000, NULL);
	u64 tol_ppm = cmdline_u64("tol_ppm", 5000, NULL);
	u64 tries = cmdline_u64("tries", 3, NULL);
	u64 inject = cmdline_u64("inject_early_us", 0, NULL);
	char wait[8];
	bool use_hlt = !(cmdline_get("wait", wait, sizeof(wait)) && !strncmp(wait, "spin", 5));
	static const u64 oneshot_us[] = { 1000, 5000, 20000 };
	struct cpuid_regs hv = cpuid(0x40000000u);
	bool quiet = true;
	unsigned div2;
	u64 hz, hz2, bus_khz;

	(void)mbi;
	if (!divide || divide > 128 || (divide & (divide - 1))) {
		ok(false, "divide=%u is a power of two from 1 to 128", divide);
		divide = 1;
	}
	plan(12);
	if (window_ms < 10 || window_ms > 4000)
		window_ms = 100;
	if (period_us < 100)
		period_us = 100;
	if (tries < 1)
		tries = 1;
	if (!lapic_init())
		skip_rest("no usable local APIC");
	pm = pmtimer_init();
	if (!pm)
		skip_rest("no ACPI PM timer to measure against");
	irq_set_handler(V_TIMER, timer_irq);
	if (inject)
		diag("self-test: expecting every one-shot %llu us late", (unsigned long long)inject);

	/* The rate, at two divide settings. */
	hz = measure_hz(divide, window_ms);
	ok(hz > 0, "the LAPIC timer counts down: %llu Hz at divide %u (bus %llu kHz)",
	   (unsigned long long)hz, divide, (unsigned long long)(hz * divide / 1000));
	if (!hz)
		skip_rest("the LAPIC timer does not count");
	div2 = divide <= 8 ? divide * 16 : divide / 16;
	hz2 = measure_hz(div2, window_ms);
	ok(hz2 && within_ppm(hz * divide, hz2 * div2, tol_ppm),
	   "divide %u counts at %llu Hz, %u/%u of divide %u's (within %llu ppm)", div2,
	   (unsigned long long)hz2, divide, div2, divide, (unsigned long long)tol_ppm);
	lapic_timer_divide(divide);		/* for everything below */
	bus_khz = hz * divide / 1000;
	if (hv.eax >= 0x40000010u && hv.eax < 0x40010000u && cpuid(0x40000010u).ebx)
		ok(within_ppm(bus_khz, cpuid(0x40000010u).ebx, tol_ppm),
		   "measured bus %llu kHz matches CPUID 0x40000010 EBX %u kHz within %llu ppm",
		   (unsigned long long)bus_khz, cpuid(0x40000010u).ebx, (unsigned long long)tol_ppm);
	else
		skip("no CPUID 0x40000010 (hypervisor leaves up to 0x%08x)", hv.eax);

	/* One-shots. Early is a failure at once; late (the host did not run
	 * us) is tried again, up to `tries` times. */
	for (unsigned i = 0; i < ARRAY_SIZE(oneshot_us); i++) {
		u64 us = oneshot_us[i], want_us = us + inject;
		u64 early_us = want_us - muldiv64(want_us, tol_ppm, 1000000);
		u32 count = (u32)muldiv64(hz, us, 1000000);
		struct shot r;
		unsigned t = 0;

		do {
			t++;
			diag("one-shot %llu us (count %u), try %u: %s until the interrupt",
			     (unsigned long long)us, count, t, use_hlt ? "HLT" : "polling");
			r = oneshot(count, us, use_hlt, late_us);
			if (r.extra || r.count_after) {
				diag("one-shot %llu us: %u more interrupt(s), current count %u afterwards",
				     (unsigned long long)us, r.extra, r.count_after);
				quiet = false;
			}
		} while (r.came && r.us + 1 >= early_us && r.us > want_us + late_us && t < tries);
		ok(r.came && r.us + 1 >= early_us && r.us <= want_us + late_us,
		   "one-shot of %llu us fired after %llu us by the PM timer (allowed %llu..%llu; "
		   "try %u, HLT returned %u time(s))%s", (unsigned long long)us,
		   (unsigned long long)r.us, (unsigned long long)early_us,
		   (unsigned long long)(want_us + late_us), t, r.wakes,
		   r.came ? "" : " - never fired");
	}
	ok(quiet, "each one-shot fired once, and its current count stayed 0");

	/* Periodic, in HLT between ticks (polling with wait=spin). Too many
	 * ticks or too short a period fails at once; too few (ticks merged
	 * while the host did not run us) is tried again. */
	{
		u32 count = (u32)muldiv64(hz, period_us, 1000000);
		u64 expect = periodic_ms * 1000 / period_us;
		u64 lo_us = period_us * (100 - tol_pct) / 100, hi_us = period_us * (100 + tol_pct) / 100;
		struct run r;
		unsigned t = 0;
		bool med_ok, ticks_ok;

		do {
			t++;
			r = periodic(count, period_us, periodic_ms, use_hlt);
			med_ok = r.median_us >= lo_us && r.median_us <= hi_us;
			ticks_ok = r.ticks <= expect + 2 && r.ticks * 2 >= expect;
		} while ((!med_ok || !ticks_ok) && r.median_us >= lo_us && r.ticks <= expect + 2 &&
			 t < tries);
		ok(med_ok, "periodic timer of %llu us: the median interval between ticks is %llu us "
		   "(allowed %llu..%llu; try %u)", (unsigned long long)period_us,
		   (unsigned long long)r.median_us, (unsigned long long)lo_us,
		   (unsigned long long)hi_us, t);
		ok(ticks_ok, "periodic: %u ticks in %llu ms, expected %llu (at most 2 more, at most "
		   "half lost; try %u)", r.ticks, (unsigned long long)periodic_ms,
		   (unsigned long long)expect, t);
		ok(r.after == 0, "an initial count of 0 stops it (%u ticks afterwards)", r.after);
	}

	/* Masked: runs out, but raises no interrupt. */
	{
		u32 n0 = fired, c;

		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT | V_TIMER);
		lapic_write(LAPIC_TMICT, (u32)muldiv64(hz, 1000, 1000000));
		irq_enable();
		udelay(5000);
		irq_disable();
		c = lapic_timer_count();
		ok(fired == n0 && c == 0,
		   "a masked 1 ms one-shot runs out (count %u after 5 ms) and raises nothing "
		   "(%u interrupts)", c, fired - n0);
		lapic_timer_stop();
	}
	ok(lapic_spurious_count == 0, "no spurious interrupt (%u)", lapic_spurious_count);
}
