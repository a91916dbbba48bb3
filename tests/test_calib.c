/* Host tests of pure/calib.c: the arithmetic, and calib_measure() against
 * simulated clocks (a TSC and a reference counter driven by one simulated
 * time line that advances on every read). */
#include "harness.h"
#include <tscvisor/calib.h>
#include <stdint.h>

typedef unsigned __int128 u128;

#define PS_PER_S 1000000000000ull

/* ---- simulated clocks ---------------------------------------------------- */

struct sim {
	uint64_t t_ps;          /* simulated time */
	uint64_t cost_ps;       /* every read takes this long */
	uint64_t tsc_hz, tsc0;
	uint64_t ref_hz, ref0;
	unsigned ref_bits;
	uint64_t ref_junk;      /* OR-ed into every reference read (above ref_bits) */
	unsigned tsc_reads, ref_reads;
	unsigned stall_tsc_read[4];     /* 1-based read numbers that stall... */
	uint64_t stall_ps;              /* ...by this long before sampling */
	unsigned freeze_ref_after;      /* reference stops after this many reads (0 = never) */
	uint64_t frozen;
	int tsc_backwards;              /* TSC runs down */
	int tsc_still;                  /* TSC never moves */
};

static uint64_t sim_tsc(void *ctx)
{
	struct sim *s = ctx;
	unsigned i;

	s->tsc_reads++;
	s->t_ps += s->cost_ps;
	for (i = 0; i < 4; i++)
		if (s->stall_tsc_read[i] == s->tsc_reads)
			s->t_ps += s->stall_ps;
	if (s->tsc_still)
		return s->tsc0;
	if (s->tsc_backwards)
		return s->tsc0 - (uint64_t)((u128)s->t_ps * s->tsc_hz / PS_PER_S);
	return s->tsc0 + (uint64_t)((u128)s->t_ps * s->tsc_hz / PS_PER_S);
}

static uint64_t sim_ref(void *ctx)
{
	struct sim *s = ctx;
	uint64_t mask = s->ref_bits >= 64 ? UINT64_MAX : ((uint64_t)1 << s->ref_bits) - 1;
	uint64_t v;

	s->ref_reads++;
	s->t_ps += s->cost_ps;
	v = (s->ref0 + (uint64_t)((u128)s->t_ps * s->ref_hz / PS_PER_S)) & mask;
	if (s->freeze_ref_after && s->ref_reads > s->freeze_ref_after)
		return s->frozen;
	s->frozen = v | s->ref_junk;
	return v | s->ref_junk;
}

static struct calib_ops sim_ops(struct sim *s)
{
	struct calib_ops ops = {
		.ctx = s, .read_tsc = sim_tsc, .read_ref = sim_ref,
		.ref_bits = s->ref_bits, .ref_hz = s->ref_hz,
	};
	return ops;
}

/* |got - want| <= want * ppm / 1e6 */
static int within_ppm(uint64_t got, uint64_t want, uint64_t ppm)
{
	uint64_t d = got > want ? got - want : want - got;

	if ((u128)d * 1000000u <= (u128)want * ppm)
		return 1;
	printf("#   %llu is %llu off %llu (> %llu ppm)\n", (unsigned long long)got,
	       (unsigned long long)d, (unsigned long long)want, (unsigned long long)ppm);
	return 0;
}

/* Reference rounding for the randomized cross-check (uses the host's
 * 128-bit division, which calib.c avoids). */
static uint64_t ref_khz(uint64_t t, uint64_t r, uint64_t h)
{
	u128 n = (u128)t * h, d = (u128)r * 1000u, q, rem;

	if (!r || !h)
		return 0;
	q = n / d;
	rem = n % d;
	if (rem * 2 >= d)
		q++;
	return q >> 64 ? 0 : (uint64_t)q;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- tests ------------------------------------------------------------- */

static void test_names(void)
{
	CHECK_STR(calib_source_name(CALIB_NONE), "none");
	CHECK_STR(calib_source_name(CALIB_CPUID_15H), "CPUID 0x15");
	CHECK_STR(calib_source_name(CALIB_CPUID_HV), "hypervisor CPUID 0x40000010");
	CHECK_STR(calib_source_name(CALIB_PM_TIMER), "ACPI PM timer");
	CHECK_STR(calib_source_name(CALIB_PIT), "PIT");
	CHECK_STR(calib_source_name(CALIB_CPUID_16H), "CPUID 0x16");
	CHECK_STR(calib_source_name((enum calib_source)99), "unknown");
}

static void test_cpuid(void)
{
	/* 24 MHz crystal * 184 / 2 = 2208 MHz */
	CHECK_EQ_U64(calib_khz_from_cpuid15(2, 184, 24000000), 2208000);
	/* 25 MHz * 3 / 1 ... and a ratio that needs rounding: 19.2 MHz * 125 / 3 */
	CHECK_EQ_U64(calib_khz_from_cpuid15(1, 3, 25000000), 75000);
	CHECK_EQ_U64(calib_khz_from_cpuid15(3, 125, 19200000), 800000);
	CHECK_EQ_U64(calib_khz_from_cpuid15(7, 1, 1000), 0);        /* 0.14 kHz */
	CHECK_EQ_U64(calib_khz_from_cpuid15(3, 2, 1000), 1);        /* 0.667 kHz */
	CHECK_EQ_U64(calib_khz_from_cpuid15(1, UINT32_MAX, UINT32_MAX),
		     ((uint64_t)UINT32_MAX * UINT32_MAX + 500) / 1000);
	CHECK_EQ_U64(calib_khz_from_cpuid15(0, 184, 24000000), 0);
	CHECK_EQ_U64(calib_khz_from_cpuid15(2, 0, 24000000), 0);
	CHECK_EQ_U64(calib_khz_from_cpuid15(2, 184, 0), 0);        /* no crystal given */
	CHECK_EQ_U64(calib_khz_from_cpuid15(0, 0, 0), 0);

	CHECK_EQ_U64(calib_khz_from_cpuid16(3500), 3500000);
	CHECK_EQ_U64(calib_khz_from_cpuid16(0xffff0000u | 2400), 2400000);
	CHECK_EQ_U64(calib_khz_from_cpuid16(0), 0);
	CHECK_EQ_U64(calib_khz_from_cpuid16(0xffff0000u), 0);
}

static void test_khz(void)
{
	static const uint64_t rates[] = {
		1000000, 10000000, 100000000, 999999000, 1000000000, 2208000000ull,
		2500000000ull, 3579545000ull, 4999999000ull, 10000000000ull,
	};
	static const uint64_t refs[] = { ACPI_PM_TIMER_HZ, PIT_HZ, 1000000000, 24000000 };
	const uint64_t M = UINT64_MAX;
	unsigned i, j, bad = 0;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		for (j = 0; j < sizeof(refs) / sizeof(refs[0]); j++) {
			uint64_t hz = refs[j], ticks, khz;

			/* One second of reference: exact. */
			if (calib_khz(rates[i], hz, hz) != rates[i] / 1000)
				bad++;
			/* 20 ms and 1000 s of reference; the TSC delta is truncated,
			 * which must still round to the exact rate. */
			ticks = hz / 50;
			if (calib_khz((uint64_t)((u128)rates[i] * ticks / hz), ticks, hz) != rates[i] / 1000)
				bad++;
			/* 1 ms: the truncation is worth up to 1 kHz. */
			ticks = hz / 1000;
			khz = calib_khz((uint64_t)((u128)rates[i] * ticks / hz), ticks, hz);
			if (khz != rates[i] / 1000 && khz + 1 != rates[i] / 1000)
				bad++;
			ticks = hz * 1000;
			if (calib_khz(rates[i] * 1000, ticks, hz) != rates[i] / 1000)
				bad++;
		}
	}
	CHECK_EQ_U64(bad, 0);

	/* Rounding to nearest, halves up. */
	CHECK_EQ_U64(calib_khz(1499, 1, 1), 1);
	CHECK_EQ_U64(calib_khz(1500, 1, 1), 2);
	CHECK_EQ_U64(calib_khz(2500, 1, 1), 3);
	CHECK_EQ_U64(calib_khz(499, 1, 1), 0);
	CHECK_EQ_U64(calib_khz(500, 1, 1), 1);
	CHECK_EQ_U64(calib_khz(2208000499ull, 1000, 1000), 2208000);
	CHECK_EQ_U64(calib_khz(2208000500ull, 1000, 1000), 2208001);

	/* TSC deltas near 2^64 and 128-bit intermediates. */
	CHECK_EQ_U64(calib_khz(M, 1000, 1000), 18446744073709552ull);
	CHECK_EQ_U64(calib_khz(M, 1, 1000), M);
	CHECK_EQ_U64(calib_khz(M, 1, 1001), 0);                     /* > 64 bits */
	CHECK_EQ_U64(calib_khz(M - 1, M, 1000), 1);
	CHECK_EQ_U64(calib_khz(M, M, M), 18446744073709552ull);
	CHECK_EQ_U64(calib_khz(M, M - 1, M), 18446744073709552ull);
	CHECK_EQ_U64(calib_khz(M, 3, 2999), 18440595159018315098ull);
	CHECK_EQ_U64(calib_khz(0xFFFFFFFFFFFFF000ull, 6600000000000ull, ACPI_PM_TIMER_HZ),
		     10004689472ull);
	CHECK_EQ_U64(calib_khz(0, 100, 100), 0);
	CHECK_EQ_U64(calib_khz(1000, 0, 100), 0);
	CHECK_EQ_U64(calib_khz(1000, 100, 0), 0);

	/* Randomized cross-check against the host's 128-bit division, with
	 * operands of every magnitude. */
	bad = 0;
	for (i = 0; i < 20000; i++) {
		uint64_t t = rng() >> (rng() % 64), r = rng() >> (rng() % 64);
		uint64_t h = rng() >> (rng() % 64);

		if (calib_khz(t, r, h) != ref_khz(t, r, h)) {
			if (bad++ < 5)
				printf("#   calib_khz(%llu, %llu, %llu) = %llu, want %llu\n",
				       (unsigned long long)t, (unsigned long long)r,
				       (unsigned long long)h, (unsigned long long)calib_khz(t, r, h),
				       (unsigned long long)ref_khz(t, r, h));
		}
	}
	CHECK_EQ_U64(bad, 0);
}

static void test_delta(void)
{
	CHECK_EQ_U64(calib_counter_delta(100, 250, 16), 150);
	CHECK_EQ_U64(calib_counter_delta(0xfff0, 0x0010, 16), 0x20);
	CHECK_EQ_U64(calib_counter_delta(0xffff, 0xffff, 16), 0);
	CHECK_EQ_U64(calib_counter_delta(1, 0, 16), 0xffff);
	CHECK_EQ_U64(calib_counter_delta(0xffffff, 0, 24), 1);
	CHECK_EQ_U64(calib_counter_delta(0xfffff0, 0x00000f, 24), 0x1f);
	CHECK_EQ_U64(calib_counter_delta(0x123456, 0x123457, 24), 1);
	/* Reserved bits above the counter width are ignored. */
	CHECK_EQ_U64(calib_counter_delta(0xab000010, 0xcd000020, 24), 0x10);
	CHECK_EQ_U64(calib_counter_delta(0xffab0010, 0x00000020, 16), 0x10);
	CHECK_EQ_U64(calib_counter_delta(0xfffffffe, 3, 32), 5);
	CHECK_EQ_U64(calib_counter_delta(0, 0xffffffff, 32), 0xffffffff);
	CHECK_EQ_U64(calib_counter_delta(UINT64_MAX, 5, 64), 6);
	CHECK_EQ_U64(calib_counter_delta(5, UINT64_MAX, 64), UINT64_MAX - 5);
	CHECK_EQ_U64(calib_counter_delta(7, 3, 1), 0);
	CHECK_EQ_U64(calib_counter_delta(0, 1, 1), 1);
	CHECK_EQ_U64(calib_counter_delta(1, 0, 1), 1);
	CHECK_EQ_U64(calib_counter_delta(1, 2, 0), 0);
	CHECK_EQ_U64(calib_counter_delta(1, 2, 99), 1);
}

static void test_measure_pm_timer(void)
{
	struct sim s;
	struct calib_ops ops;
	struct calib_result res;
	int rc;

	/* 24-bit PM timer about to wrap: the first window spans the wrap. Reserved
	 * upper byte set, as an inl() of a 24-bit timer may return. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .tsc0 = 123456789,
			  .ref_hz = ACPI_PM_TIMER_HZ, .ref0 = 0xffffff - 1000, .ref_bits = 24,
			  .ref_junk = 0x5a000000 };
	ops = sim_ops(&s);
	rc = calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res);
	CHECK_EQ_U64(rc, 0);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK(within_ppm(res.min_khz, 2500000, 60));
	CHECK(within_ppm(res.max_khz, 2500000, 60));
	CHECK(res.min_khz <= res.khz && res.khz <= res.max_khz);
	CHECK(res.spread_ppm <= 120);
	CHECK_EQ_U64(res.windows, 5);
	/* 5 windows of 20 ms polled every 1 us: about 100000 reads, no more. */
	CHECK(s.ref_reads > 90000 && s.ref_reads < 110000);
	CHECK_EQ_U64(s.tsc_reads, 10);
	CHECK(s.t_ps > 100 * PS_PER_S / 1000 && s.t_ps < 110 * PS_PER_S / 1000);

	/* 32-bit PM timer, 3.1 GHz, wrapping in the middle of window 3; slow
	 * (emulated) port reads of 5 us that skip many ticks per poll. */
	s = (struct sim){ .cost_ps = 5000000, .tsc_hz = 3123456789ull, .tsc0 = ~0ull / 3,
			  .ref_hz = ACPI_PM_TIMER_HZ, .ref_bits = 32,
			  .ref0 = 0xffffffffull - ACPI_PM_TIMER_HZ / 50 * 5 / 2 };
	ops = sim_ops(&s);
	rc = calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res);
	CHECK_EQ_U64(rc, 0);
	CHECK(within_ppm(res.khz, 3123457, 300));
	CHECK(res.spread_ppm <= 600);

	/* Exactly reproducible: a second identical run gives the same result. */
	{
		struct calib_result res2;

		s = (struct sim){ .cost_ps = 5000000, .tsc_hz = 3123456789ull, .tsc0 = ~0ull / 3,
				  .ref_hz = ACPI_PM_TIMER_HZ, .ref_bits = 32,
				  .ref0 = 0xffffffffull - ACPI_PM_TIMER_HZ / 50 * 5 / 2 };
		ops = sim_ops(&s);
		CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res2), 0);
		CHECK_EQ_U64(res2.khz, res.khz);
		CHECK_EQ_U64(res2.spread_ppm, res.spread_ppm);
	}

	/* Many windows, slow TSC: 32 windows of 2 ms, 1 MHz TSC. */
	s = (struct sim){ .cost_ps = 200000, .tsc_hz = 1000000, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24 };
	ops = sim_ops(&s);
	rc = calib_measure(&ops, ACPI_PM_TIMER_HZ / 500, 32, &res);
	CHECK_EQ_U64(rc, 0);
	CHECK(within_ppm(res.khz, 1000, 1000));
	CHECK_EQ_U64(res.windows, 32);

	/* 10 GHz TSC. */
	s = (struct sim){ .cost_ps = 700000, .tsc_hz = 10000000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .ref0 = 0xfffff0 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 3, &res), 0);
	CHECK(within_ppm(res.khz, 10000000, 60));
}

static void test_measure_pit(void)
{
	struct sim s;
	struct calib_ops ops;
	struct calib_result res;

	/* PIT-like 16-bit counter (wraps every 55 ms), 20 ms windows. Reads take
	 * 3 us (latch + two byte reads). */
	s = (struct sim){ .cost_ps = 3000000, .tsc_hz = 2208000000ull, .ref_hz = PIT_HZ,
			  .ref_bits = 16, .ref0 = 0xff00 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, PIT_HZ / 50, 5, &res), 0);
	CHECK(within_ppm(res.khz, 2208000, 200));
	CHECK(res.spread_ppm <= 400);

	/* Windows longer than the counter's period: each window accumulates
	 * across several wraps. */
	s = (struct sim){ .cost_ps = 3000000, .tsc_hz = 1800000000ull, .ref_hz = PIT_HZ,
			  .ref_bits = 16, .ref0 = 12345 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, 200000, 3, &res), 0);
	CHECK(within_ppm(res.khz, 1800000, 50));
	CHECK(s.t_ps > 3 * 200000 * (PS_PER_S / PIT_HZ));
}

static void test_measure_jitter(void)
{
	struct sim s;
	struct calib_ops ops;
	struct calib_result res;

	/* An SMI-like 2 ms stall before window 2's closing TSC read (it would
	 * read +10%) and before window 3's opening TSC read (-10%): the
	 * reference read after each TSC read shows the stall, both windows are
	 * set aside and two more measured; min/max/spread are the clean ones'. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .stall_tsc_read = { 4, 5 }, .stall_ps = 2 * PS_PER_S / 1000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res), 0);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK(within_ppm(res.max_khz, 2500000, 60));
	CHECK(within_ppm(res.min_khz, 2500000, 60));
	CHECK(res.spread_ppm <= 120);
	CHECK_EQ_U64(res.windows, 5);
	CHECK_EQ_U64(res.rejected, 2);
	CHECK_EQ_U64(s.tsc_reads, 14);

	/* One bad window out of three. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .stall_tsc_read = { 2 }, .stall_ps = 5 * PS_PER_S / 1000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 3, &res), 0);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK(within_ppm(res.max_khz, 2500000, 60));
	CHECK_EQ_U64(res.rejected, 1);

	/* The first two windows stalled at both edges, alike: the smallest lag
	 * is only known once a clean window came; they are set aside then. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .stall_tsc_read = { 1, 2, 3, 4 },
			  .stall_ps = 3 * PS_PER_S / 1000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 3, &res), 0);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK_EQ_U64(res.windows, 3);
	CHECK_EQ_U64(res.rejected, 2);

	/* No stall: nothing set aside, no window more than asked for. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 7, &res), 0);
	CHECK_EQ_U64(res.rejected, 0);
	CHECK_EQ_U64(s.tsc_reads, 14);

	/* Even number of windows: the mean of the middle two. With window 1
	 * high and window 2 low, the middle two are both good ones. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .stall_tsc_read = { 2, 3 }, .stall_ps = 2 * PS_PER_S / 1000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 4, &res), 0);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK_EQ_U64(res.windows, 4);
	/* Two windows, one stalled: replaced; the median of two is their
	 * midpoint. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .stall_tsc_read = { 2 }, .stall_ps = 2 * PS_PER_S / 1000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 2, &res), 0);
	CHECK_EQ_U64(res.khz, res.min_khz + (res.max_khz - res.min_khz) / 2);
	CHECK(within_ppm(res.khz, 2500000, 60));
	CHECK_EQ_U64(res.rejected, 1);
}

static void test_measure_failures(void)
{
	const struct calib_result sentinel = { 1, 2, 3, 4, 5, 6 };
	struct calib_result res;
	struct calib_ops ops;
	struct sim s;

	/* A reference that never moves: gives up after a bounded number of polls. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .freeze_ref_after = 1 };
	ops = sim_ops(&s);
	res = sentinel;
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res), (uint64_t)-1);
	CHECK(s.ref_reads <= CALIB_STUCK_POLLS + 2);
	CHECK(memcmp(&res, &sentinel, sizeof(res)) == 0);

	/* A reference that stops in the middle of window 2. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24, .freeze_ref_after = 30000 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res), (uint64_t)-1);
	CHECK(s.ref_reads <= 30000 + CALIB_STUCK_POLLS + 1);
	CHECK_EQ_U64(s.tsc_reads, 3);

	/* A 16-bit counter stuck at 0 from the start. */
	s = (struct sim){ .cost_ps = 3000000, .tsc_hz = 2500000000ull, .ref_hz = PIT_HZ,
			  .ref_bits = 16, .freeze_ref_after = 0, .ref0 = 0 };
	s.ref_hz = 0;       /* simulated counter does not advance ... */
	ops = sim_ops(&s);
	ops.ref_hz = PIT_HZ; /* ... although the caller claims it runs */
	CHECK_EQ_U64(calib_measure(&ops, PIT_HZ / 50, 5, &res), (uint64_t)-1);

	/* TSC going backwards, and a TSC standing still. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .tsc0 = 1ull << 62,
			  .ref_hz = ACPI_PM_TIMER_HZ, .ref_bits = 24, .tsc_backwards = 1 };
	ops = sim_ops(&s);
	res = sentinel;
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res), (uint64_t)-1);
	CHECK_EQ_U64(s.tsc_reads, 2);
	CHECK(memcmp(&res, &sentinel, sizeof(res)) == 0);
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .tsc0 = 77,
			  .ref_hz = ACPI_PM_TIMER_HZ, .ref_bits = 24, .tsc_still = 1 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, ACPI_PM_TIMER_HZ / 50, 5, &res), (uint64_t)-1);

	/* Bad arguments. */
	s = (struct sim){ .cost_ps = 1000000, .tsc_hz = 2500000000ull, .ref_hz = ACPI_PM_TIMER_HZ,
			  .ref_bits = 24 };
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, 1000, 0, &res), (uint64_t)-1);
	CHECK_EQ_U64(calib_measure(&ops, 1000, CALIB_MAX_WINDOWS + 1, &res), (uint64_t)-1);
	CHECK_EQ_U64(calib_measure(&ops, 0, 5, &res), (uint64_t)-1);
	CHECK_EQ_U64(calib_measure(NULL, 1000, 5, &res), (uint64_t)-1);
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, NULL), (uint64_t)-1);
	ops.ref_bits = 0;
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, &res), (uint64_t)-1);
	ops.ref_bits = 65;
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, &res), (uint64_t)-1);
	ops = sim_ops(&s);
	ops.ref_hz = 0;
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, &res), (uint64_t)-1);
	ops = sim_ops(&s);
	ops.read_ref = NULL;
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, &res), (uint64_t)-1);
	ops = sim_ops(&s);
	ops.read_tsc = NULL;
	CHECK_EQ_U64(calib_measure(&ops, 1000, 5, &res), (uint64_t)-1);
	CHECK_EQ_U64(s.ref_reads + s.tsc_reads, 0);
	/* ... and the boundary that is allowed. */
	ops = sim_ops(&s);
	CHECK_EQ_U64(calib_measure(&ops, 1000, CALIB_MAX_WINDOWS, &res), 0);
	CHECK(within_ppm(res.khz, 2500000, 2000));
}

int main(void)
{
	test_names();
	test_cpuid();
	test_khz();
	test_delta();
	test_measure_pm_timer();
	test_measure_pit();
	test_measure_jitter();
	test_measure_failures();
	return th_done();
}
