/* Host tests of pure/tsc.c: 128-bit helpers, hardware and exact scaling,
 * offsets, pvclock mul/shift, TSC MSR semantics and the tsc_mode policy.
 * References are computed here independently with the host's 128-bit
 * division (libgcc is fine in a host test). */
#include "harness.h"
#include <tscvisor/tsc.h>
#include <stdbool.h>
#include <stdint.h>

typedef unsigned __int128 u128;

/* Checks in loops report only failures, then count as one check each. */
static unsigned loop_fail;
#define LOOP_CHECK(cond, ...) do { \
	if (!(cond)) { \
		if (loop_fail++ < 10) { printf("#   " __VA_ARGS__); printf("\n"); } \
	} \
} while (0)
#define LOOP_DONE(what) do { th_check(loop_fail == 0, what, __FILE__, __LINE__); loop_fail = 0; } while (0)

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)       /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Rates from 1 MHz to 10 GHz, with awkward ones (primes, near-equal pairs). */
static const uint64_t rates[] = {
	1000, 1001, 3579, 999983, 1000000, 1000001, 2000000, 2000002, 2399987,
	2500000, 2900000, 3000000, 3579545, 4294967, 7777777, 9999991, 10000000,
};
#define NRATES (sizeof(rates) / sizeof(rates[0]))

static void test_mul_shr(void)
{
	bool over = true;
	int i;

	CHECK_EQ_U64(mul_u64_u64_shr(3, 5, 0, &over), 15);
	CHECK(!over);
	CHECK_EQ_U64(mul_u64_u64_shr(UINT64_MAX, UINT64_MAX, 64, &over), UINT64_MAX - 1);
	CHECK(!over);
	/* (2^64-1)^2 = 2^128 - 2^65 + 1: low 64 bits 1, overflow reported. */
	CHECK_EQ_U64(mul_u64_u64_shr(UINT64_MAX, UINT64_MAX, 0, &over), 1);
	CHECK(over);
	CHECK_EQ_U64(mul_u64_u64_shr(UINT64_MAX, UINT64_MAX, 127, &over), 1);
	CHECK(!over);
	CHECK_EQ_U64(mul_u64_u64_shr(UINT64_MAX, UINT64_MAX, 128, &over), 0);
	CHECK_EQ_U64(mul_u64_u64_shr(1ull << 63, 2, 0, &over), 0);
	CHECK(over);
	CHECK_EQ_U64(mul_u64_u64_shr(1ull << 63, 2, 1, NULL), 1ull << 63);
	for (i = 0; i < 100000; i++) {
		uint64_t a = rnd() >> (rnd() & 63), b = rnd() >> (rnd() & 63);
		unsigned s = (unsigned)(rnd() % 130);
		u128 p = (u128)a * b, want = s >= 128 ? 0 : p >> s;
		uint64_t got = mul_u64_u64_shr(a, b, s, &over);

		LOOP_CHECK(got == (uint64_t)want && over == ((want >> 64) != 0),
			   "mul_shr %lx %lx %u", a, b, s);
	}
	LOOP_DONE("mul_u64_u64_shr matches 128-bit reference (100000 random)");
}

static void test_mul_div(void)
{
	bool over = false;
	int i;

	CHECK_EQ_U64(mul_div_u64(10, 3, 4, &over), 7);
	CHECK(!over);
	CHECK_EQ_U64(mul_div_u64(UINT64_MAX, UINT64_MAX, UINT64_MAX, &over), UINT64_MAX);
	CHECK(!over);
	CHECK_EQ_U64(mul_div_u64(UINT64_MAX, 10000000, 1000, &over),
		     (uint64_t)((u128)UINT64_MAX * 10000));
	CHECK(over);
	CHECK_EQ_U64(mul_div_u64(5, 5, 0, &over), UINT64_MAX);
	CHECK(over);
	/* Slow path: r * mul above 2^64. */
	CHECK_EQ_U64(mul_div_u64(UINT64_MAX - 1, UINT64_MAX - 2, UINT64_MAX, &over),
		     (uint64_t)(((u128)(UINT64_MAX - 1) * (UINT64_MAX - 2)) / UINT64_MAX));
	CHECK(!over);
	for (i = 0; i < 200000; i++) {
		uint64_t a = rnd() >> (rnd() & 63), m = rnd() >> (rnd() & 63);
		uint64_t d = (rnd() >> (rnd() & 63)) | 1;
		u128 want = (u128)a * m / d;
		uint64_t got = mul_div_u64(a, m, d, &over);

		LOOP_CHECK(got == (uint64_t)want && over == ((want >> 64) != 0),
			   "mul_div %lx %lx %lx", a,
			   m, d);
	}
	LOOP_DONE("mul_div_u64 matches 128-bit reference incl. overflow (200000 random)");
}

/* Reference ratio: round(g * 2^f / h), halves up, as a 128-bit value. */
static u128 ref_ratio(uint64_t g, uint64_t h, unsigned f)
{
	u128 n = (u128)g << f;

	return n / h + (2 * (n % h) >= h);
}

static void test_scale(void)
{
	struct tsc_scale s = { 7, 7 }, before;
	unsigned i, j;

	/* VMX 16.48 */
	CHECK_EQ_U64(tsc_scale_for(1000000, 2000000, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 1ull << 47);
	CHECK_EQ_U64(s.frac, 48);
	CHECK_EQ_U64(tsc_scale_for(2500000, 2500000, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK(tsc_scale_is_identity(s));
	CHECK_EQ_U64(tsc_scale_for(65535000, 1000, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 65535ull << 48);
	before = s;
	CHECK_EQ_U64(tsc_scale_for(65536000, 1000, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s),
		     TSC_SCALE_TOO_LARGE);       /* 2^64 */
	CHECK(s.ratio == before.ratio && s.frac == before.frac);        /* untouched */
	CHECK_EQ_U64(tsc_scale_for(10000000, 1000, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 10000ull << 48);
	/* SVM 8.32 */
	CHECK_EQ_U64(tsc_scale_for(1000000, 2000000, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 0x80000000ull);
	CHECK_EQ_U64(tsc_scale_for(255000, 1000, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 0xff00000000ull);
	CHECK_EQ_U64(tsc_scale_for(256000, 1000, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_TOO_LARGE);
	CHECK_EQ_U64(tsc_scale_for(10000000, 1000, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_TOO_LARGE);       /* 10 GHz guest on a 1 MHz host */
	/* 255.99999999: the largest value below 256 that rounds into range */
	CHECK_EQ_U64(tsc_scale_for(0xffffffffffull, 1ull << 32, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, TSC_SVM_MAX_RATIO);
	CHECK_EQ_U64(tsc_scale_for(1000, 10000000, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 429497);   /* round(2^32 / 10^4) */
	/* Too small: 1 kHz on a 2^40 kHz host is 2^-40, below 2^-32. */
	CHECK_EQ_U64(tsc_scale_for(1, 1ull << 40, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_TOO_SMALL);
	CHECK_EQ_U64(tsc_scale_for(1, 1ull << 33, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_OK);      /* 2^-33 rounds half up to 2^-32 */
	CHECK_EQ_U64(s.ratio, 1);
	CHECK_EQ_U64(tsc_scale_for(1, (1ull << 33) + 1, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s),
		     TSC_SCALE_TOO_SMALL);
	CHECK_EQ_U64(tsc_scale_for(0, 1000, 32, UINT64_MAX, &s), TSC_SCALE_BAD_ARGS);
	CHECK_EQ_U64(tsc_scale_for(1000, 0, 32, UINT64_MAX, &s), TSC_SCALE_BAD_ARGS);
	CHECK_EQ_U64(tsc_scale_for(1000, 1000, 64, UINT64_MAX, &s), TSC_SCALE_BAD_ARGS);
	CHECK_EQ_U64(tsc_scale_for(UINT64_MAX, 1, 63, UINT64_MAX, &s), TSC_SCALE_TOO_LARGE);
	CHECK_EQ_U64(tsc_scale_for(1, 2, 63, UINT64_MAX, &s), TSC_SCALE_OK);
	CHECK_EQ_U64(s.ratio, 1ull << 62);
	CHECK_STR(tsc_scale_result_name(TSC_SCALE_TOO_LARGE), "ratio above the hardware maximum");

	s = tsc_scale_identity(48);
	CHECK_EQ_U64(s.ratio, 1ull << 48);
	CHECK(tsc_scale_is_identity(s));
	s.ratio++;
	CHECK(!tsc_scale_is_identity(s));

	/* Every pair of rates in both directions: the ratio is the rounded
	 * exact one, so the rate is off by at most host_khz / 2^(frac+1). */
	for (i = 0; i < NRATES; i++) {
		for (j = 0; j < NRATES; j++) {
			uint64_t g = rates[i], h = rates[j];
			u128 want;

			want = ref_ratio(g, h, TSC_VMX_FRAC);
			LOOP_CHECK(tsc_scale_for(g, h, TSC_VMX_FRAC, TSC_VMX_MAX_RATIO, &s) == TSC_SCALE_OK &&
				   s.ratio == (uint64_t)want,
				   "vmx %lu/%lu", g, h);
			LOOP_CHECK(2 * (((u128)s.ratio * h > (u128)g << 48) ?
					(u128)s.ratio * h - ((u128)g << 48) :
					((u128)g << 48) - (u128)s.ratio * h) <= h,
				   "vmx rounding %lu/%lu", g, h);
			want = ref_ratio(g, h, TSC_SVM_FRAC);
			if (want <= TSC_SVM_MAX_RATIO)
				LOOP_CHECK(tsc_scale_for(g, h, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s) ==
					   TSC_SCALE_OK && s.ratio == (uint64_t)want,
					   "svm %lu/%lu", g, h);
			else
				LOOP_CHECK(tsc_scale_for(g, h, TSC_SVM_FRAC, TSC_SVM_MAX_RATIO, &s) ==
					   TSC_SCALE_TOO_LARGE,
					   "svm too large %lu/%lu", g,
					   h);
		}
	}
	LOOP_DONE("VMX and SVM ratios for all rate pairs: rounded exact, SVM range enforced");
}

/* |G - exact| over one hour of host time with hardware scaling: at most
 * d / 2^(frac+1) + 1 cycles, checked in integers (times h * 2^(frac+1)). */
static void test_hw_guest(void)
{
	struct tsc_scale s;
	unsigned i, j, k;
	uint64_t off, h, g;

	s = tsc_scale_identity(48);
	CHECK_EQ_U64(tsc_guest(123456789, s, 1000), 123457789);
	CHECK_EQ_U64(tsc_guest(UINT64_MAX, s, 1), 0);           /* offset add wraps */
	CHECK_EQ_U64(tsc_guest(5, s, (uint64_t)-10), (uint64_t)-5);
	s = tsc_scale_identity(0);
	CHECK_EQ_U64(tsc_guest(UINT64_MAX, s, 0), UINT64_MAX);
	/* Scaled past 2^64: the low 64 bits, as hardware (3x host near 2^64). */
	tsc_scale_for(3000000, 1000000, 48, UINT64_MAX, &s);
	CHECK_EQ_U64(tsc_guest(UINT64_MAX - 2, s, 0), (uint64_t)((u128)(UINT64_MAX - 2) * 3));

	for (i = 0; i < NRATES; i++) {
		for (j = 0; j < NRATES; j++) {
			unsigned fr;

			g = rates[i];
			h = rates[j];
			for (fr = 0; fr < 2; fr++) {
				unsigned f = fr ? TSC_SVM_FRAC : TSC_VMX_FRAC;
				uint64_t hour = 3600ull * h * 1000;

				if (tsc_scale_for(g, h, f, fr ? TSC_SVM_MAX_RATIO : TSC_VMX_MAX_RATIO, &s))
					continue;
				for (k = 0; k <= 64; k++) {
					uint64_t d = k == 64 ? hour : rnd() % hour;
					uint64_t got = tsc_guest(d, s, 0);
					u128 lhs = (u128)got * h, ex = (u128)d * g;
					u128 err = lhs > ex ? lhs - ex : ex - lhs;

					/* err / h <= d / 2^(f+1) + 1 */
					LOOP_CHECK((err << (f + 1)) <= (u128)d * h + ((u128)h << (f + 1)),
						   "hw error g %lu h %lu f %u d %lu",
						   g, h, f,
						   d);
				}
			}
		}
	}
	LOOP_DONE("hardware-scaled G within d/2^(frac+1) + 1 cycles over an hour, all pairs");

	/* Offsets: G(h_now) == wanted exactly, any scale, any host TSC. */
	for (i = 0; i < 20000; i++) {
		uint64_t now = i < 8 ? UINT64_MAX - i : rnd(), want = rnd();
		unsigned f = (i & 1) ? TSC_SVM_FRAC : TSC_VMX_FRAC;

		g = rates[rnd() % NRATES];
		h = rates[rnd() % NRATES];
		if (tsc_scale_for(g, h, f, (i & 1) ? TSC_SVM_MAX_RATIO : TSC_VMX_MAX_RATIO, &s))
			s = tsc_scale_identity(f);
		off = tsc_offset_for(now, s, want);
		LOOP_CHECK(tsc_guest(now, s, off) == want, "offset at %lu", now);
	}
	LOOP_DONE("tsc_offset_for: G(h_now) == wanted (20000 random, host TSC near 2^64)");

	/* VM creation: guest starts at 0 on a host that has run for years. */
	tsc_scale_for(1000000, 2900000, 48, UINT64_MAX, &s);
	off = tsc_offset_for(0xfedcba9876543210ull, s, 0);
	CHECK_EQ_U64(tsc_guest(0xfedcba9876543210ull, s, off), 0);
	CHECK(tsc_guest(0xfedcba9876543210ull + 2900000000ull, s, off) - 1000000000ull + 1 <= 2);
}

/* Exact reference of the emulated TSC. */
static uint64_t ref_emul(uint64_t d, uint64_t g, uint64_t h)
{
	return (uint64_t)((u128)d * g / h);
}

static void test_emul(void)
{
	struct tsc_emul e;
	unsigned i, j, k;

	/* The base may sit just below 2^64: the host counter wraps. */
	e.host_base = UINT64_MAX - 999;
	e.guest_khz = 1000000;
	e.host_khz = 2000000;
	CHECK_EQ_U64(tsc_emul_guest(&e, e.host_base, 0), 0);
	CHECK_EQ_U64(tsc_emul_guest(&e, 1000, 7), 1000 + 7);        /* 2000 host cycles on */
	CHECK_EQ_U64(tsc_emul_guest(&e, e.host_base - 1, 0), (UINT64_MAX) / 2);
	/* Deltas up to 2^64 - 1, guest slower and faster (wraps like a counter). */
	e.host_base = 0;
	CHECK_EQ_U64(tsc_emul_guest(&e, UINT64_MAX, 0), UINT64_MAX / 2);
	e.guest_khz = 10000000;
	e.host_khz = 1000;
	CHECK_EQ_U64(tsc_emul_guest(&e, UINT64_MAX, 0), (uint64_t)((u128)UINT64_MAX * 10000));
	e.guest_khz = 1000;
	e.host_khz = 10000000;
	CHECK_EQ_U64(tsc_emul_guest(&e, UINT64_MAX, 0), UINT64_MAX / 10000);

	/* One hour of host time, every pair of rates, bases anywhere (also
	 * where the hour crosses 2^64): equal to floor(d * g / h), i.e. within
	 * 1 cycle below the exact rational value. */
	for (i = 0; i < NRATES; i++) {
		for (j = 0; j < NRATES; j++) {
			uint64_t hour, prev = 0, base = (i + j) & 1 ? UINT64_MAX - 1234567 : rnd();

			e.host_base = base;
			e.guest_khz = rates[i];
			e.host_khz = rates[j];
			hour = 3600ull * rates[j] * 1000;
			for (k = 0; k <= 2000; k++) {
				/* increasing host times, with the end of the hour last */
				uint64_t d = k == 2000 ? hour : hour / 2000 * k + rnd() % (hour / 2000);
				uint64_t got = tsc_emul_guest(&e, base + d, 0);
				u128 ex = (u128)d * rates[i];

				LOOP_CHECK(got == ref_emul(d, rates[i], rates[j]) &&
					   (u128)got * rates[j] <= ex && ex < ((u128)got + 1) * rates[j],
					   "emul g %lu h %lu d %lu", rates[i],
					   rates[j], d);
				LOOP_CHECK(got >= prev, "emul monotonic");
				prev = got;
			}
			LOOP_CHECK(tsc_emul_guest(&e, base + hour, 0) == 3600ull * rates[i] * 1000,
				   "emul: one hour is exactly 3600 s of guest cycles");
		}
	}
	LOOP_DONE("emulated TSC exact over one hour, all rate pairs, bases near 2^64");

	/* Monotonic, step by step: each host step of s cycles moves the guest
	 * by floor or ceil of s * g / h. */
	for (i = 0; i < NRATES; i++) {
		uint64_t host = UINT64_MAX - 5000, prev;

		e.host_base = host;
		e.guest_khz = rates[i];
		e.host_khz = rates[(i * 7 + 3) % NRATES];
		prev = tsc_emul_guest(&e, host, 0);
		for (k = 0; k < 20000; k++) {
			uint64_t step = rnd() % 5000, cur;
			u128 lo;

			host += step;
			cur = tsc_emul_guest(&e, host, 0);
			lo = (u128)step * e.guest_khz / e.host_khz;
			LOOP_CHECK(cur - prev == (uint64_t)lo || cur - prev == (uint64_t)lo + 1,
				   "emul step g %lu h %lu", e.guest_khz,
				   e.host_khz);
			prev = cur;
		}
	}
	LOOP_DONE("emulated TSC monotonic step by step across the host wrap");

	/* Offsets, exact. */
	for (i = 0; i < 20000; i++) {
		uint64_t now = rnd(), want = i < 4 ? (uint64_t)0 - i : rnd(), off;

		e.host_base = rnd();
		e.guest_khz = rates[rnd() % NRATES];
		e.host_khz = rates[rnd() % NRATES];
		off = tsc_emul_offset_for(&e, now, want);
		LOOP_CHECK(tsc_emul_guest(&e, now, off) == want, "emul offset");
	}
	LOOP_DONE("tsc_emul_offset_for: G(h_now) == wanted (20000 random)");

	/* Switching native -> emulated -> native without a jump. */
	{
		struct tsc_scale s;
		uint64_t t = 0xfffffffff0000000ull, off_n, off_e, off_n2, v;

		tsc_scale_for(1000000, 2900000, 48, UINT64_MAX, &s);
		off_n = tsc_offset_for(t, s, 0);
		t += 2900000000ull;                      /* 1 s */
		v = tsc_guest(t, s, off_n);
		e.host_base = t;
		e.guest_khz = 1000000;
		e.host_khz = 2900000;
		off_e = tsc_emul_offset_for(&e, t, v);
		CHECK_EQ_U64(tsc_emul_guest(&e, t, off_e), v);
		t += 2900000000ull;                      /* crosses 2^64 */
		v = tsc_emul_guest(&e, t, off_e);
		CHECK_EQ_U64(v - tsc_guest(t - 2900000000ull, s, off_n), 1000000000ull);
		off_n2 = tsc_offset_for(t, s, v);
		CHECK_EQ_U64(tsc_guest(t, s, off_n2), v);
	}
}

static void test_conversions(void)
{
	CHECK_EQ_U64(tsc_to_ns(2500000000ull, 2500000), 1000000000ull);
	CHECK_EQ_U64(tsc_to_ns(1, 3000000), 0);
	CHECK_EQ_U64(tsc_to_ns(3, 3000000), 1);
	CHECK_EQ_U64(tsc_to_ns(UINT64_MAX, 1000), UINT64_MAX);  /* saturates */
	CHECK_EQ_U64(tsc_to_ns(UINT64_MAX, 10000000), UINT64_MAX / 10);
	CHECK_EQ_U64(tsc_to_ns(5, 0), UINT64_MAX);
	CHECK_EQ_U64(ns_to_tsc(1000000000ull, 2399987), 2399987000ull);
	CHECK_EQ_U64(ns_to_tsc(1, 999983), 0);
	CHECK_EQ_U64(ns_to_tsc(UINT64_MAX, 10000000), UINT64_MAX);     /* saturates */
	CHECK_EQ_U64(ns_to_tsc(UINT64_MAX, 1000), UINT64_MAX / 1000);
	CHECK_EQ_U64(ns_to_tsc(5, 0), 0);
	CHECK_EQ_U64(tsc_ppm_diff(1000000, 2000002), 500000);
	CHECK_EQ_U64(tsc_ppm_diff(2000500, 2000000), 250);
	CHECK_EQ_U64(tsc_ppm_diff(UINT64_MAX, 1), UINT64_MAX);
}

/* (d * mul) >> 32 the way a 32-bit guest does it: in 32-bit halves. */
static uint64_t guest32_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	uint64_t lo, hi;

	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	lo = (delta & 0xffffffffu) * mul;
	hi = (delta >> 32) * mul;
	return hi + (lo >> 32);
}

static void test_pvclock(void)
{
	struct pvclock_scale p;
	unsigned i, k;
	int min_shift = 100, max_shift = -100;

	CHECK_EQ_U64(pvclock_scale_for(0, &p), (uint64_t)-1);
	CHECK_EQ_U64(pvclock_scale_for(1000000, &p), 0);         /* 1 GHz: 1 ns per cycle */
	CHECK_EQ_U64(p.mul, 1u << 31);
	CHECK_EQ_U64(p.shift, 1);
	CHECK_EQ_U64(pvclock_scale_delta(123456789, p.mul, p.shift), 123456789);
	CHECK_EQ_U64(pvclock_scale_for(2000000, &p), 0);         /* 0.5 ns */
	CHECK(p.mul == 1u << 31 && p.shift == 0);
	CHECK_EQ_U64(pvclock_scale_for(1, &p), 0);               /* 1 kHz: 10^6 ns */
	CHECK(p.mul == 4096000000u && p.shift == 20);
	CHECK_EQ_U64(pvclock_scale_delta(3, p.mul, p.shift), 3000000);
	CHECK_EQ_U64(pvclock_scale_for(UINT64_MAX, &p), 0);
	CHECK(p.shift == -44 && p.mul >= 1u << 31);
	CHECK_EQ_U64(pvclock_scale_delta(12345, 0x80000000u, 64), 0);
	CHECK_EQ_U64(pvclock_scale_delta(12345, 0x80000000u, -64), 0);
	CHECK_EQ_U64(pvclock_scale_delta(UINT64_MAX, 0xffffffffu, 0),
		     (uint64_t)(((u128)UINT64_MAX * 0xffffffffu) >> 32));
	CHECK_EQ_U64(pvclock_scale_delta(1ull << 63, 0x80000000u, 1), 0);  /* shifted out, as a guest */

	/* Many frequencies, 1 kHz .. 100 GHz; deltas up to the largest the
	 * shift allows. Bound: |ns - delta * 10^6 / khz| < 2 + exact / 2^31,
	 * in integers: |ns * khz - delta * 10^6| * 2^31 < 2^32 * khz + delta * 10^6.
	 * mul is truncated: Linux's floor(10^6 * 2^32 / mul) >> shift gives
	 * khz back for every rate up to 2 GHz. */
	for (i = 0; i < 3000; i++) {
		uint64_t khz = i < NRATES ? rates[i] : i < 2 * NRATES ? rates[i - NRATES] * 10 + 1 :
		      1 + rnd() % (i & 1 ? 10000000 : 100000000);
		if (pvclock_scale_for(khz, &p)) {
			LOOP_CHECK(0, "pvclock_scale_for(%lu) failed", khz);
			continue;
		}
		if (p.shift < min_shift)
			min_shift = p.shift;
		if (p.shift > max_shift)
			max_shift = p.shift;
		LOOP_CHECK(p.mul >= 1u << 31, "mul normalised for %lu", khz);
		for (k = 0; k < 200; k++) {
			uint64_t lim = p.shift > 0 ? UINT64_MAX >> p.shift : UINT64_MAX;
			uint64_t delta = k == 0 ? lim : k == 1 ? khz * 1000 : k == 2 ? 0 :
					 (rnd() >> (rnd() & 63)) % lim;
			uint64_t ns = pvclock_scale_delta(delta, p.mul, p.shift);
			u128 a = (u128)ns * khz, b = (u128)delta * 1000000u;
			u128 err = a > b ? a - b : b - a;

			LOOP_CHECK((err << 31) < ((u128)khz << 32) + b,
				   "pvclock bound khz %lu delta %lu ns %lu",
				   khz, delta,
				   ns);
			LOOP_CHECK(ns == guest32_scale(delta, p.mul, p.shift), "guest-side formula");
		}
	}
	LOOP_DONE("pvclock mul/shift: error < 2 ns + 2^-31 relative, 3000 rates x 200 deltas");
	/* What Linux's kvm-clock makes of the scale (pvclock_tsc_khz): the
	 * rate itself for every kHz up to 2 GHz (shift >= 0). */
	for (i = 0; i < 3000; i++) {
		uint64_t khz = i < 1000 ? 1499000 + i : i < 2000 ? 1000 + rnd() % 2000000 :
			       1000000 + rnd() % 1000001, back;

		pvclock_scale_for(khz, &p);
		back = (1000000ull << 32) / p.mul;
		back = p.shift < 0 ? back << -p.shift : back >> p.shift;
		LOOP_CHECK(back == khz, "Linux reads %lu kHz back as %lu", khz, back);
	}
	LOOP_DONE("pvclock: Linux's rate from the scale is tsc_khz for 3000 rates up to 2 GHz");
	CHECK(min_shift >= -44 && max_shift <= 20);
	/* 1 MHz .. 10 GHz: shifts 10 .. -3. */
	pvclock_scale_for(1000, &p);
	CHECK_EQ_U64(p.shift, 10);
	pvclock_scale_for(10000000, &p);
	CHECK_EQ_U64(p.shift, (uint64_t)-3);
	/* One second at tsc_khz comes out as 10^9 ns within the bound (<= 2 + 0.24 ns). */
	for (i = 0; i < NRATES; i++) {
		uint64_t ns;

		pvclock_scale_for(rates[i], &p);
		ns = pvclock_scale_delta(rates[i] * 1000, p.mul, p.shift);
		LOOP_CHECK(ns + 2 >= 1000000000ull && ns <= 1000000000ull + 1,
			   "1 s at %lu kHz = %lu ns", rates[i],
			   ns);
	}
	LOOP_DONE("pvclock: one second of cycles is 10^9 ns within 2 ns, all rates");
}

/* A vCPU whose TSC is G(h) = scaled(h) + offset. */
struct vcpu {
	struct tsc_scale s;
	uint64_t offset, adjust;
};

static uint64_t vread(const struct vcpu *v, uint64_t h)
{
	return tsc_guest(h, v->s, v->offset);
}

static void test_msrs(void)
{
	static const uint64_t vals[] = {
		0, 1, 1ull << 63, (1ull << 63) - 1, UINT64_MAX, UINT64_MAX - 1,
		(uint64_t)-1000000000ll, 1000000000ull, 0x123456789abcdefull,
	};
	struct vcpu v;
	unsigned i, j;
	uint64_t h = UINT64_MAX - 77, g0, off, adj;

	v.s = tsc_scale_identity(48);
	v.offset = tsc_offset_for(h, v.s, 1000);
	v.adjust = 0;
	/* WRMSR TSC = 0 at guest 1000: TSC reads 0, adjust is -1000. */
	tsc_msr_write_tsc(&v.offset, &v.adjust, vread(&v, h), 0);
	CHECK_EQ_U64(vread(&v, h), 0);
	CHECK_EQ_U64(v.adjust, (uint64_t)-1000);
	/* WRMSR TSC_ADJUST = 0: the TSC moves back by +1000. */
	tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, 0);
	CHECK_EQ_U64(v.adjust, 0);
	CHECK_EQ_U64(vread(&v, h), 1000);
	/* The host advances; the TSC keeps running across the writes. */
	CHECK_EQ_U64(vread(&v, h + 100), 1100);         /* crosses host 2^64 */
	/* Negative adjust, then 2^63: moves by the difference modulo 2^64. */
	tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, (uint64_t)-5);
	CHECK_EQ_U64(vread(&v, h), 995);
	tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, 1ull << 63);
	CHECK_EQ_U64(vread(&v, h), 1000 + (1ull << 63));
	tsc_msr_write_tsc(&v.offset, &v.adjust, vread(&v, h), UINT64_MAX);
	CHECK_EQ_U64(vread(&v, h), UINT64_MAX);
	CHECK_EQ_U64(v.adjust, UINT64_MAX - 1000);     /* 2^63 + (2^63 - 1 - 1000) */
	CHECK_EQ_U64(vread(&v, h + 1), 0);             /* guest TSC wraps */

	/* Every pair of extreme values, on a scaled TSC: a TSC write lands
	 * exactly; an adjust write moves the TSC by the adjust difference; an
	 * adjust write back to the old value undoes it (SDM 17.17.3). */
	tsc_scale_for(3000000, 2399987, 48, UINT64_MAX, &v.s);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			h = vals[(i + j) % (sizeof(vals) / sizeof(vals[0]))];
			v.offset = vals[j] ^ 0x5555;
			v.adjust = vals[i];
			g0 = vread(&v, h);
			off = v.offset;
			adj = v.adjust;
			tsc_msr_write_tsc(&v.offset, &v.adjust, g0, vals[j]);
			LOOP_CHECK(vread(&v, h) == vals[j] && v.adjust - adj == vals[j] - g0,
				   "wrmsr tsc %u %u", i, j);
			tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, vals[(j + 3) % 9]);
			LOOP_CHECK(vread(&v, h) - vals[j] == vals[(j + 3) % 9] - (adj + vals[j] - g0),
				   "wrmsr adjust %u %u", i, j);
			tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, adj + vals[j] - g0);
			tsc_msr_write_tsc(&v.offset, &v.adjust, vread(&v, h), g0);
			LOOP_CHECK(v.offset == off && v.adjust == adj, "writes undone %u %u", i, j);
		}
	}
	LOOP_DONE("TSC / TSC_ADJUST writes with extreme values (2^63, 2^64-1, negative)");

	/* offset - adjust never changes under either write: both move together. */
	v.offset = 42;
	v.adjust = 0;
	for (i = 0; i < 10000; i++) {
		if (rnd() & 1)
			tsc_msr_write_tsc(&v.offset, &v.adjust, vread(&v, rnd()), rnd());
		else
			tsc_msr_write_tsc_adjust(&v.offset, &v.adjust, rnd());
		LOOP_CHECK(v.offset - v.adjust == 42, "offset - adjust invariant");
	}
	LOOP_DONE("offset - TSC_ADJUST constant over 10000 random writes");
}

/* ---- Policy ----------------------------------------------------------- */

struct rate_case {
	const char *name;
	uint64_t tsc_khz, host_khz;
};

static const struct rate_case rate_cases[] = {
	{ "equal",            2000000, 2000000 },
	{ "default (0)",      0,       2000000 },
	{ "+249 ppm",         2000498, 2000000 },
	{ "+250 ppm",         2000500, 2000000 },
	{ "+251 ppm",         2000502, 2000000 },
	{ "-250 ppm",         1999500, 2000000 },
	{ "half",             1000000, 2000002 },
	{ "double",           4000000, 2000000 },
	{ "300x (SVM cannot)", 3000000, 10000 },
	{ "1 MHz on 10 GHz",  1000,    10000000 },
	{ "10 GHz on 1 MHz",  10000000, 1000 },
};

/* The rules of docs/tsc-modes.md, written out again independently. */
static void oracle(enum tsc_mode mode, const struct rate_case *rc, const struct tsc_host_info *h,
		   bool fast, struct tsc_decision *want)
{
	uint64_t g = rc->tsc_khz ? rc->tsc_khz : rc->host_khz, hk = rc->host_khz;
	bool inv = h->invariant || h->vouched, sync = h->synchronised || h->vouched;
	bool safe = inv && sync, equal = g == hk;
	uint64_t diff = g > hk ? g - hk : hk - g;
	bool within = (u128)diff * 1000000 <= (u128)hk * 250;
	u128 r = h->hw_scaling ? ref_ratio(g, hk, h->scale_frac) : 0;
	bool scalable = h->hw_scaling && r >= 1 && r <= h->max_ratio &&
			r != (u128)1 << h->scale_frac;
	bool rate_ok = equal || scalable || within;

	memset(want, 0, sizeof(*want));
	switch (mode) {
	case TSC_MODE_AUTO:
		want->mode = safe && rate_ok ? TSC_MODE_NATIVE : TSC_MODE_EMULATE;
		want->trap_rdtsc = !(safe && rate_ok) && !(fast && safe);
		break;
	case TSC_MODE_NATIVE:
		want->mode = TSC_MODE_NATIVE;
		want->trap_rdtsc = false;
		break;
	case TSC_MODE_EMULATE:
		want->mode = TSC_MODE_EMULATE;
		want->trap_rdtsc = !(fast && safe);
		break;
	case TSC_MODE_PVRDTSCP:
		want->mode = TSC_MODE_PVRDTSCP;
		want->trap_rdtsc = !(safe && rate_ok);
		break;
	}
	want->use_hw_scaling = !want->trap_rdtsc && !equal && scalable;
	want->scale.ratio = want->use_hw_scaling ? (uint64_t)r : 0;
	want->guest_rate_khz = want->trap_rdtsc || want->use_hw_scaling || equal ? g : hk;
	want->rate_guaranteed = want->trap_rdtsc || (rate_ok && inv);
	want->host_reliable = safe;
	want->pv_fast_path = fast && safe && !want->trap_rdtsc && want->mode == TSC_MODE_EMULATE;
	want->why = mode == TSC_MODE_NATIVE ? TSC_WHY_NATIVE :
		    mode == TSC_MODE_PVRDTSCP ? (want->trap_rdtsc ? TSC_WHY_PVRDTSCP_TRAPPED :
						 TSC_WHY_PVRDTSCP_NATIVE) :
		    want->mode == TSC_MODE_NATIVE ? TSC_WHY_AUTO_NATIVE :
		    want->pv_fast_path ? TSC_WHY_FAST_PATH : TSC_WHY_EMULATE;
	want->rate_way = equal ? TSC_RATE_EQUAL : scalable ? TSC_RATE_SCALED :
			 within ? TSC_RATE_TOLERATED : TSC_RATE_NONE;
}

static void test_policy_table(void)
{
	static const enum tsc_mode modes[] = {
		TSC_MODE_AUTO, TSC_MODE_NATIVE, TSC_MODE_EMULATE, TSC_MODE_PVRDTSCP,
	};
	unsigned m, rc, bits, hw, fast, n = 0;

	for (m = 0; m < 4; m++)
	for (rc = 0; rc < sizeof(rate_cases) / sizeof(rate_cases[0]); rc++)
	for (bits = 0; bits < 8; bits++)
	for (hw = 0; hw < 3; hw++)
	for (fast = 0; fast < 2; fast++) {
		struct tsc_host_info host = {
			.tsc_khz = rate_cases[rc].host_khz,
			.invariant = bits & 1, .synchronised = bits & 2, .vouched = bits & 4,
			.hw_scaling = hw != 0,
			.scale_frac = hw == 1 ? TSC_VMX_FRAC : hw == 2 ? TSC_SVM_FRAC : 0,
			.max_ratio = hw == 1 ? TSC_VMX_MAX_RATIO : hw == 2 ? TSC_SVM_MAX_RATIO : 0,
		};
		struct tsc_decision got, want;
		int rv = tsc_decide(modes[m], rate_cases[rc].tsc_khz, fast, &host, &got);
		size_t len = strlen(got.reason);

		oracle(modes[m], &rate_cases[rc], &host, fast, &want);
		n++;
		LOOP_CHECK(rv == 0 && got.mode == want.mode && got.trap_rdtsc == want.trap_rdtsc &&
			   got.use_hw_scaling == want.use_hw_scaling &&
			   (!want.use_hw_scaling || got.scale.ratio == want.scale.ratio) &&
			   (want.use_hw_scaling || tsc_scale_is_identity(got.scale)) &&
			   got.guest_rate_khz == want.guest_rate_khz &&
			   got.rate_guaranteed == want.rate_guaranteed &&
			   got.host_reliable == want.host_reliable &&
			   got.pv_fast_path == want.pv_fast_path &&
			   got.why == want.why && got.rate_way == want.rate_way &&
			   len > 10 && len < TSC_REASON_MAX - 1,
			   "mode %u rate %s inv %u sync %u vouch %u hw %u fast %u: got mode %d trap %d "
			   "hw %d rate %lu guar %d rel %d fast %d \"%s\"", m, rate_cases[rc].name,
			   bits & 1, (bits >> 1) & 1, bits >> 2, hw, fast, got.mode, got.trap_rdtsc,
			   got.use_hw_scaling, got.guest_rate_khz,
			   got.rate_guaranteed, got.host_reliable, got.pv_fast_path, got.reason);
		/* Invariants that hold whatever the oracle says. */
		LOOP_CHECK(got.mode != TSC_MODE_AUTO, "never auto");
		LOOP_CHECK(modes[m] != TSC_MODE_NATIVE || !got.trap_rdtsc, "native never traps");
		LOOP_CHECK(!got.trap_rdtsc || got.rate_guaranteed, "trapped => rate guaranteed");
		LOOP_CHECK(!got.use_hw_scaling || got.guest_rate_khz != host.tsc_khz,
			   "scaling only when the rates differ");
		/* tsc_decide is the decision plus its explanation, nothing more. */
		{
			struct tsc_decision only;
			char words[TSC_REASON_MAX];

			tsc_decide_only(modes[m], rate_cases[rc].tsc_khz, fast, &host, &only);
			tsc_explain(&only, &host, words, sizeof(words));
			LOOP_CHECK(!only.reason[0] && !strcmp(words, got.reason) &&
				   only.mode == got.mode && only.trap_rdtsc == got.trap_rdtsc &&
				   only.use_hw_scaling == got.use_hw_scaling &&
				   only.scale.ratio == got.scale.ratio &&
				   only.scale.frac == got.scale.frac &&
				   only.guest_rate_khz == got.guest_rate_khz &&
				   only.rate_guaranteed == got.rate_guaranteed &&
				   only.warn == got.warn && only.why == got.why,
				   "decide_only + explain == decide: \"%s\" vs \"%s\"", words, got.reason);
		}
		LOOP_CHECK(modes[m] != TSC_MODE_AUTO ||
			   (got.mode == TSC_MODE_NATIVE) == !strncmp(got.reason, "auto -> native", 14),
			   "reason names the choice: %s", got.reason);
	}
	LOOP_DONE("policy: every mode x rate case x invariant/sync/vouched x hw scaling x fast path");
	CHECK_EQ_U64(n, 4 * 11 * 8 * 3 * 2);
}

static struct tsc_decision decide(enum tsc_mode mode, uint64_t tsc_khz, uint64_t host_khz,
				  bool inv, bool sync, bool vouch, int hw, bool fast)
{
	struct tsc_host_info host = {
		.tsc_khz = host_khz, .invariant = inv, .synchronised = sync, .vouched = vouch,
		.hw_scaling = hw != 0,
		.scale_frac = hw == 1 ? TSC_VMX_FRAC : TSC_SVM_FRAC,
		.max_ratio = hw == 1 ? TSC_VMX_MAX_RATIO : TSC_SVM_MAX_RATIO,
	};
	struct tsc_decision d;

	tsc_decide(mode, tsc_khz, fast, &host, &d);
	return d;
}

static void test_policy_reasons(void)
{
	struct tsc_decision d;
	struct tsc_host_info host = { 0 };

	d = decide(TSC_MODE_AUTO, 2000000, 2000002, true, true, false, 0, false);
	CHECK_STR(d.reason, "auto -> native: invariant host TSC, synchronised, "
		  "tsc_khz 2000000 within 250 ppm of host 2000002");
	CHECK(!d.trap_rdtsc && d.rate_guaranteed && !d.warn && d.guest_rate_khz == 2000002);

	d = decide(TSC_MODE_AUTO, 1000000, 2000002, true, true, false, 0, false);
	CHECK_STR(d.reason, "auto -> emulate: tsc_khz 1000000 differs from host 2000002 by "
		  "500000 ppm and no hardware scaling");
	CHECK(d.trap_rdtsc && d.rate_guaranteed && d.guest_rate_khz == 1000000);

	d = decide(TSC_MODE_AUTO, 1000000, 2000000, true, true, false, 1, false);
	CHECK_STR(d.reason, "auto -> native: invariant host TSC, synchronised, hardware scaling "
		  "to tsc_khz 1000000 from host 2000000 (ratio 0x800000000000 >> 48)");
	CHECK(d.use_hw_scaling && d.scale.ratio == 1ull << 47 && d.scale.frac == 48);

	d = decide(TSC_MODE_AUTO, 3000000, 10000, true, true, false, 2, false);
	CHECK_STR(d.reason, "auto -> emulate: tsc_khz 3000000 differs from host 10000 by "
		  "299000000 ppm and hardware scaling cannot reach it (ratio above the maximum)");

	d = decide(TSC_MODE_AUTO, 0, 2300000, false, true, false, 0, false);
	CHECK_STR(d.reason, "auto -> emulate: host TSC not invariant (CPUID 0x80000007 EDX[8] clear)");
	CHECK(d.trap_rdtsc && !d.host_reliable);

	d = decide(TSC_MODE_AUTO, 0, 2300000, false, false, false, 0, false);
	CHECK_STR(d.reason, "auto -> emulate: host TSC not invariant (CPUID 0x80000007 EDX[8] "
		  "clear) and host TSC failed the cross-pCPU synchronisation check");

	d = decide(TSC_MODE_AUTO, 0, 2300000, false, false, true, 0, false);
	CHECK_STR(d.reason, "auto -> native: host TSC invariant by tsc_reliable, synchronised by "
		  "tsc_reliable, tsc_khz 2300000 equals host");
	CHECK(!d.trap_rdtsc && d.rate_guaranteed && d.host_reliable);

	d = decide(TSC_MODE_NATIVE, 1000000, 2000002, true, true, false, 0, false);
	CHECK_STR(d.reason, "native: tsc_khz 1000000 differs from host 2000002 by 500000 ppm and "
		  "no hardware scaling: guest TSC runs at the host rate");
	CHECK(!d.trap_rdtsc && !d.rate_guaranteed && d.warn && d.guest_rate_khz == 2000002);

	d = decide(TSC_MODE_NATIVE, 2000000, 2000000, false, false, false, 0, false);
	CHECK_STR(d.reason, "native: host TSC not invariant (CPUID 0x80000007 EDX[8] clear) and "
		  "host TSC failed the cross-pCPU synchronisation check: monotonic only as far "
		  "as the host TSC is");
	CHECK(!d.trap_rdtsc && !d.rate_guaranteed && d.warn);

	d = decide(TSC_MODE_NATIVE, 2000000, 2000000, true, false, false, 0, false);
	CHECK_STR(d.reason, "native: host TSC failed the cross-pCPU synchronisation check: "
		  "monotonic only as far as the host TSC is");
	CHECK(!d.trap_rdtsc && d.rate_guaranteed && d.warn && !d.host_reliable);

	d = decide(TSC_MODE_NATIVE, 1000000, 2000000, true, false, false, 0, false);
	CHECK_STR(d.reason, "native: host TSC failed the cross-pCPU synchronisation check: "
		  "monotonic only as far as the host TSC is; tsc_khz 1000000 differs from host "
		  "2000000 by 500000 ppm and no hardware scaling: guest TSC runs at the host rate");

	d = decide(TSC_MODE_EMULATE, 1000000, 2000000, true, true, false, 1, false);
	CHECK_STR(d.reason, "emulate: RDTSC/RDTSCP trapped, guest TSC at tsc_khz 1000000 (host 2000000)");
	CHECK(d.trap_rdtsc && !d.use_hw_scaling && d.rate_guaranteed && d.mode == TSC_MODE_EMULATE);

	d = decide(TSC_MODE_EMULATE, 1000000, 2000000, true, true, false, 0, true);
	CHECK_STR(d.reason, "emulate, pvclock fast path: RDTSC not trapped; invariant host TSC, "
		  "synchronised, tsc_khz 1000000 differs from host 2000000 by 500000 ppm and no "
		  "hardware scaling: raw TSC at the host rate, pvclock scaled to it");
	CHECK(!d.trap_rdtsc && d.pv_fast_path && !d.rate_guaranteed && d.guest_rate_khz == 2000000);

	d = decide(TSC_MODE_EMULATE, 1000000, 2000000, true, true, false, 2, true);
	CHECK(!d.trap_rdtsc && d.pv_fast_path && d.use_hw_scaling && d.rate_guaranteed &&
	      d.scale.ratio == 0x80000000u && d.guest_rate_khz == 1000000);

	d = decide(TSC_MODE_EMULATE, 1000000, 2000000, true, false, false, 0, true);
	CHECK_STR(d.reason, "emulate: RDTSC/RDTSCP trapped, guest TSC at tsc_khz 1000000 (host "
		  "2000000); pvclock fast path refused: host TSC failed the cross-pCPU "
		  "synchronisation check");
	CHECK(d.trap_rdtsc && !d.pv_fast_path && d.warn);

	d = decide(TSC_MODE_AUTO, 1000000, 2000000, true, true, false, 0, true);
	CHECK_STR(d.reason, "auto -> emulate, pvclock fast path: RDTSC not trapped; invariant host "
		  "TSC, synchronised, tsc_khz 1000000 differs from host 2000000 by 500000 ppm and no "
		  "hardware scaling: raw TSC at the host rate, pvclock scaled to it");
	CHECK(d.mode == TSC_MODE_EMULATE && !d.trap_rdtsc);

	d = decide(TSC_MODE_AUTO, 1000000, 2000000, false, true, false, 0, true);
	CHECK_STR(d.reason, "auto -> emulate: host TSC not invariant (CPUID 0x80000007 EDX[8] "
		  "clear); pvclock fast path refused");

	d = decide(TSC_MODE_PVRDTSCP, 2000000, 2000000, true, true, false, 0, false);
	CHECK_STR(d.reason, "pvrdtscp -> native: invariant host TSC, synchronised, tsc_khz 2000000 "
		  "equals host");
	CHECK(d.mode == TSC_MODE_PVRDTSCP && !d.trap_rdtsc);
	d = decide(TSC_MODE_PVRDTSCP, 1000000, 2000000, true, true, false, 0, false);
	CHECK_STR(d.reason, "pvrdtscp -> emulated: tsc_khz 1000000 differs from host 2000000 by "
		  "500000 ppm and no hardware scaling");
	CHECK(d.mode == TSC_MODE_PVRDTSCP && d.trap_rdtsc && d.rate_guaranteed);

	/* Within tolerance but scaling available: scaling is preferred (exact). */
	d = decide(TSC_MODE_AUTO, 2000100, 2000000, true, true, false, 1, false);
	CHECK(d.use_hw_scaling && d.guest_rate_khz == 2000100);
	/* tsc_khz 0 is the host's. */
	d = decide(TSC_MODE_AUTO, 0, 2000000, true, true, false, 1, false);
	CHECK(!d.use_hw_scaling && d.guest_rate_khz == 2000000 && tsc_scale_is_identity(d.scale));

	/* Errors: unknown host rate, unknown mode. */
	CHECK_EQ_U64(tsc_decide(TSC_MODE_AUTO, 1000000, false, &host, &d), (uint64_t)-1);
	CHECK_STR(d.reason, "auto: host TSC rate unknown");
	CHECK(d.trap_rdtsc && !d.rate_guaranteed && d.warn);
	host.tsc_khz = 1000000;
	CHECK_EQ_U64(tsc_decide((enum tsc_mode)9, 1000000, false, &host, &d), (uint64_t)-1);
	CHECK_STR(d.reason, "tsc_mode 9 unknown");
}

/* The explanation alone: decisions written by hand, one per reason code,
 * give the words the log prints (scripts/cases grep them). */
static struct tsc_decision by_hand(enum tsc_why why, enum tsc_mode asked, enum tsc_rate_way way,
				   bool safe, bool fast_asked, uint64_t tsc_khz)
{
	struct tsc_decision d;

	memset(&d, 0, sizeof(d));
	d.why = why;
	d.asked = asked;
	d.rate_way = way;
	d.host_reliable = safe;
	d.fast_asked = fast_asked;
	d.tsc_khz = tsc_khz;
	d.scale_result = TSC_SCALE_TOO_SMALL;
	return d;
}

static void test_explain(void)
{
	struct tsc_host_info good = { .tsc_khz = 2000000, .invariant = true, .synchronised = true };
	struct tsc_host_info vouched = { .tsc_khz = 2000000, .vouched = true };
	struct tsc_host_info skewed = { .tsc_khz = 2000000, .invariant = true };
	struct tsc_host_info vmx = { .tsc_khz = 2000000, .invariant = true, .synchronised = true,
				     .hw_scaling = true, .scale_frac = TSC_VMX_FRAC,
				     .max_ratio = TSC_VMX_MAX_RATIO };
	struct tsc_decision d;
	char buf[TSC_REASON_MAX], tiny[8];

	d = by_hand(TSC_WHY_AUTO_NATIVE, TSC_MODE_AUTO, TSC_RATE_EQUAL, true, false, 2000000);
	tsc_explain(&d, &good, buf, sizeof(buf));
	CHECK_STR(buf, "auto -> native: invariant host TSC, synchronised, tsc_khz 2000000 equals host");
	tsc_explain(&d, &vouched, buf, sizeof(buf));
	CHECK_STR(buf, "auto -> native: host TSC invariant by tsc_reliable, synchronised by "
		  "tsc_reliable, tsc_khz 2000000 equals host");

	d = by_hand(TSC_WHY_NATIVE, TSC_MODE_NATIVE, TSC_RATE_SCALED, true, false, 500000);
	tsc_explain(&d, &vmx, buf, sizeof(buf));
	CHECK_STR(buf, "native: invariant host TSC, synchronised, hardware scaling to tsc_khz "
		  "500000 from host 2000000 (ratio 0x400000000000 >> 48)");

	d = by_hand(TSC_WHY_NATIVE, TSC_MODE_NATIVE, TSC_RATE_NONE, false, false, 1000000);
	tsc_explain(&d, &skewed, buf, sizeof(buf));
	CHECK_STR(buf, "native: host TSC failed the cross-pCPU synchronisation check: monotonic "
		  "only as far as the host TSC is; tsc_khz 1000000 differs from host 2000000 by "
		  "500000 ppm and no hardware scaling: guest TSC runs at the host rate");

	d = by_hand(TSC_WHY_PVRDTSCP_NATIVE, TSC_MODE_PVRDTSCP, TSC_RATE_TOLERATED, true, false,
		    2000400);
	tsc_explain(&d, &good, buf, sizeof(buf));
	CHECK_STR(buf, "pvrdtscp -> native: invariant host TSC, synchronised, tsc_khz 2000400 "
		  "within 250 ppm of host 2000000");

	d = by_hand(TSC_WHY_PVRDTSCP_TRAPPED, TSC_MODE_PVRDTSCP, TSC_RATE_EQUAL, false, false,
		    2000000);
	tsc_explain(&d, &skewed, buf, sizeof(buf));
	CHECK_STR(buf, "pvrdtscp -> emulated: host TSC failed the cross-pCPU synchronisation check");

	d = by_hand(TSC_WHY_EMULATE, TSC_MODE_AUTO, TSC_RATE_NONE, true, false, 3000000);
	d.scale_result = TSC_SCALE_TOO_LARGE;
	tsc_explain(&d, &vmx, buf, sizeof(buf));
	CHECK_STR(buf, "auto -> emulate: tsc_khz 3000000 differs from host 2000000 by 500000 ppm "
		  "and hardware scaling cannot reach it (ratio above the maximum)");
	d.scale_result = TSC_SCALE_TOO_SMALL;
	tsc_explain(&d, &vmx, buf, sizeof(buf));
	CHECK_STR(buf, "auto -> emulate: tsc_khz 3000000 differs from host 2000000 by 500000 ppm "
		  "and hardware scaling cannot represent it");

	d = by_hand(TSC_WHY_EMULATE, TSC_MODE_EMULATE, TSC_RATE_EQUAL, false, true, 2000000);
	tsc_explain(&d, &skewed, buf, sizeof(buf));
	CHECK_STR(buf, "emulate: RDTSC/RDTSCP trapped, guest TSC at tsc_khz 2000000 (host 2000000); "
		  "pvclock fast path refused: host TSC failed the cross-pCPU synchronisation check");

	d = by_hand(TSC_WHY_FAST_PATH, TSC_MODE_AUTO, TSC_RATE_EQUAL, true, true, 2000000);
	tsc_explain(&d, &good, buf, sizeof(buf));
	CHECK_STR(buf, "auto -> emulate, pvclock fast path: RDTSC not trapped; invariant host TSC, "
		  "synchronised, tsc_khz 2000000 equals host");

	d = by_hand(TSC_WHY_NO_HOST_RATE, TSC_MODE_PVRDTSCP, TSC_RATE_NONE, false, false, 0);
	tsc_explain(&d, &good, buf, sizeof(buf));
	CHECK_STR(buf, "pvrdtscp: host TSC rate unknown");
	d = by_hand(TSC_WHY_UNKNOWN_MODE, (enum tsc_mode)7, TSC_RATE_NONE, false, false, 0);
	tsc_explain(&d, &good, buf, sizeof(buf));
	CHECK_STR(buf, "tsc_mode 7 unknown");

	/* A short buffer is cut, never overrun. */
	d = by_hand(TSC_WHY_AUTO_NATIVE, TSC_MODE_AUTO, TSC_RATE_EQUAL, true, false, 2000000);
	tsc_explain(&d, &good, tiny, sizeof(tiny));
	CHECK_STR(tiny, "auto ->");
}

/* The exit fast path's one-MUL-one-DIV quotient (include/tscvisor/fastexit.h,
 * mirrored by arch/x86/svm_entry.asm) equals the exact slow path whenever it
 * answers, and declines exactly when the quotient does not fit 64 bits. */
static void test_fx_mul_div(void)
{
	uint64_t q = 0;
	int i, declined = 0;

	CHECK(fx_mul_div(10, 3, 4, &q) && q == 7);
	CHECK(!fx_mul_div(UINT64_MAX, 2, 1, &q));
	CHECK(fx_mul_div(UINT64_MAX, 1, 1, &q) && q == UINT64_MAX);
	CHECK(fx_mul_div(UINT64_MAX, 1000000, 1000000, &q) && q == UINT64_MAX);
	for (i = 0; i < 200000; i++) {
		uint64_t a = rnd() >> (rnd() & 63), m = i & 1 ? rates[rnd() % NRATES] : rnd() >> (rnd() & 63);
		uint64_t d = i & 1 ? rates[rnd() % NRATES] : (rnd() >> (rnd() & 63)) | 1;
		bool over = false, fits = ((u128)a * m / d) >> 64 == 0;
		uint64_t want = mul_div_u64(a, m, d, &over);
		bool got = fx_mul_div(a, m, d, &q);

		declined += !got;
		LOOP_CHECK(got == fits && (!got || q == want),
			   "fx_mul_div %lx %lx %lx", a, m, d);
	}
	LOOP_DONE("fx_mul_div equals mul_div_u64 where the quotient fits (200000 random)");
	CHECK(declined > 0);   /* the random set reaches the overflow side too */
}

/* fx_tsc_limit: below it fx_mul_div answers, from it on it declines. */
static void test_fx_tsc_limit(void)
{
	uint64_t q = 0;
	int i, limited = 0;

	CHECK(fx_tsc_limit(5, 0, 1000, 1000) == UINT64_MAX);
	CHECK(fx_tsc_limit(5, 0, 999, 1000) == UINT64_MAX);
	/* mul = 2 div: declines from x = 2^63. */
	CHECK(fx_tsc_limit(0, 0, 2, 1) == 1ull << 63);
	CHECK(fx_tsc_limit(100, (1ull << 63) - 100, 2, 1) == 100);
	CHECK(fx_tsc_limit(100, (1ull << 63) - 101, 2, 1) == 101);
	for (i = 0; i < 200000; i++) {
		uint64_t h0 = rnd() >> (rnd() & 63), bias = rnd() >> (rnd() & 63);
		uint64_t m = i & 1 ? rates[rnd() % NRATES] : (rnd() >> (rnd() & 63)) | 1;
		uint64_t d = i & 1 ? rates[rnd() % NRATES] : (rnd() >> (rnd() & 63)) | 1;
		uint64_t lim = fx_tsc_limit(h0, bias, m, d);
		bool ok = lim >= h0;

		if (lim > h0)
			ok = ok && fx_mul_div(h0 + bias, m, d, &q) && fx_mul_div(lim - 1 + bias, m, d, &q);
		if (lim != UINT64_MAX) {
			ok = ok && !fx_mul_div(lim + bias, m, d, &q);
			limited++;
		}
		LOOP_CHECK(ok, "fx_tsc_limit %lx %lx %lx %lx -> %lx", h0, bias, m, d, lim);
	}
	LOOP_DONE("fx_tsc_limit is where fx_mul_div starts declining (200000 random)");
	CHECK(limited > 0);
}

int main(void)
{
	test_mul_shr();
	test_mul_div();
	test_fx_mul_div();
	test_fx_tsc_limit();
	test_scale();
	test_hw_guest();
	test_emul();
	test_conversions();
	test_pvclock();
	test_msrs();
	test_policy_table();
	test_policy_reasons();
	test_explain();
	return th_done();
}
