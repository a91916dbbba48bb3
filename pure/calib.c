/* Host TSC calibration arithmetic (pure C): conversions of CPUID leaves 0x15
 * and 0x16, the rate computation, and the windowed measurement against a
 * reference counter read through struct calib_ops. No hardware access, no
 * floating point, no libgcc helpers (128-bit division is done by hand). */
#include <stdint.h>
#include <stdbool.h>
#include <tscvisor/calib.h>

typedef unsigned __int128 u128;

const char *calib_source_name(enum calib_source src)
{
	/* A switch rather than a table of pointers: no data relocations. */
	switch (src) {
	case CALIB_NONE:      return "none";
	case CALIB_CPUID_15H: return "CPUID 0x15";
	case CALIB_CPUID_HV:  return "hypervisor CPUID 0x40000010";
	case CALIB_PM_TIMER:  return "ACPI PM timer";
	case CALIB_PIT:       return "PIT";
	case CALIB_CPUID_16H: return "CPUID 0x16";
	}
	return "unknown";
}

/* n / d with the remainder in *rem; d != 0. Restoring shift-subtract division
 * when either operand needs more than 64 bits (at most 128 iterations), so the
 * freestanding build does not need __udivti3. */
static u128 udiv128(u128 n, u128 d, u128 *rem)
{
	u128 q = 0, r = 0;
	int i;

	if ((n >> 64) == 0 && (d >> 64) == 0) {
		uint64_t n64 = (uint64_t)n, d64 = (uint64_t)d;

		*rem = n64 % d64;
		return n64 / d64;
	}
	if (n < d) {
		*rem = n;
		return 0;
	}
	for (i = 127; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (u128)1 << i;
		}
	}
	*rem = r;
	return q;
}

/* n / d rounded to nearest (halves up); d != 0. Cannot overflow: compares the
 * remainder against d - rem instead of adding d / 2 to n. */
static u128 div_round(u128 n, u128 d)
{
	u128 rem, q = udiv128(n, d, &rem);

	if (rem >= d - rem)
		q++;
	return q;
}

uint64_t calib_khz_from_cpuid15(uint32_t eax, uint32_t ebx, uint32_t ecx)
{
	/* TSC Hz = ECX * EBX / EAX; both products fit in 64 bits. */
	if (!eax || !ebx || !ecx)
		return 0;
	return (uint64_t)div_round((u128)ecx * ebx, (u128)eax * 1000u);
}

uint64_t calib_khz_from_cpuid16(uint32_t eax)
{
	return (uint64_t)(eax & 0xffffu) * 1000u;
}

uint64_t calib_khz(uint64_t tsc_delta, uint64_t ref_ticks, uint64_t ref_hz)
{
	u128 khz;

	/* kHz = tsc_delta / (ref_ticks / ref_hz) / 1000. The numerator is below
	 * 2^128 and the denominator below 2^74, so neither product overflows. */
	if (!ref_ticks || !ref_hz)
		return 0;
	khz = div_round((u128)tsc_delta * ref_hz, (u128)ref_ticks * 1000u);
	if (khz >> 64)
		return 0;
	return (uint64_t)khz;
}

uint64_t calib_counter_delta(uint64_t start, uint64_t end, unsigned bits)
{
	uint64_t mask;

	if (bits == 0)
		return 0;
	mask = bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	/* Modular subtraction: a single wrap comes out right by itself. */
	return (end - start) & mask;
}

static void sort_u64(uint64_t *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		uint64_t x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Poll the reference until it changes from `*prev`. Adds the ticks seen to
 * *acc (saturating) and updates *prev. Returns -1 after CALIB_STUCK_POLLS
 * consecutive polls without a change. */
static int wait_tick(const struct calib_ops *ops, uint64_t *prev, uint64_t *acc)
{
	uint32_t polls;

	for (polls = 0; polls < CALIB_STUCK_POLLS; polls++) {
		uint64_t cur = ops->read_ref(ops->ctx);
		uint64_t d = calib_counter_delta(*prev, cur, ops->ref_bits);

		if (d) {
			*prev = cur;
			*acc = d > UINT64_MAX - *acc ? UINT64_MAX : *acc + d;
			return 0;
		}
	}
	return -1;
}

/* One window: start on a reference edge (so the first partial tick does not
 * count), accumulate ticks until at least window_ticks, then read the TSC
 * right after the edge that completed the window. *lag gets the larger of
 * the two edges' lags: reference ticks from the edge to a read right after
 * the TSC read (which does not count towards the window). */
static int measure_window(const struct calib_ops *ops, uint64_t window_ticks, uint64_t *khz,
			  uint64_t *lag)
{
	uint64_t prev, acc = 0, t0, t1, lag0, lag1;

	prev = ops->read_ref(ops->ctx);
	if (wait_tick(ops, &prev, &acc))
		return -1;
	t0 = ops->read_tsc(ops->ctx);
	lag0 = calib_counter_delta(prev, ops->read_ref(ops->ctx), ops->ref_bits);
	acc = 0;
	while (acc < window_ticks) {
		if (wait_tick(ops, &prev, &acc))
			return -1;
	}
	t1 = ops->read_tsc(ops->ctx);
	lag1 = calib_counter_delta(prev, ops->read_ref(ops->ctx), ops->ref_bits);
	if (t1 <= t0)                   /* TSC went backwards or stood still */
		return -1;
	*khz = calib_khz(t1 - t0, acc, ops->ref_hz);
	*lag = lag0 > lag1 ? lag0 : lag1;
	return *khz ? 0 : -1;
}

int calib_measure(const struct calib_ops *ops, uint64_t window_ticks,
		  unsigned windows, struct calib_result *res)
{
	uint64_t all[CALIB_MAX_WINDOWS], lag[CALIB_MAX_WINDOWS], clean[CALIB_MAX_WINDOWS];
	uint64_t *khz, med, min_lag = UINT64_MAX, limit = 0;
	unsigned i, n = 0, nclean = 0, max_tries, used;
	u128 spread;

	if (!ops || !ops->read_tsc || !ops->read_ref || !res || !ops->ref_hz ||
	    ops->ref_bits == 0 || ops->ref_bits > 64 || window_ticks == 0 ||
	    windows == 0 || windows > CALIB_MAX_WINDOWS)
		return -1;
	max_tries = 3 * windows < CALIB_MAX_WINDOWS ? 3 * windows : CALIB_MAX_WINDOWS;
	for (;;) {
		if (measure_window(ops, window_ticks, &all[n], &lag[n]))
			return -1;
		if (lag[n] < min_lag)
			min_lag = lag[n];
		n++;
		/* The smallest lag seen is what a read pair costs undisturbed. */
		limit = 2 * min_lag + 2;
		nclean = 0;
		for (i = 0; i < n; i++)
			if (lag[i] <= limit)
				clean[nclean++] = all[i];
		if ((nclean >= windows && n >= windows) || n == max_tries)
			break;
	}
	if (nclean >= (windows + 1) / 2) {
		khz = clean;
		used = nclean < windows ? nclean : windows;
		if (used < nclean) {    /* keep the first `windows` clean ones */
			nclean = 0;
			for (i = 0; i < n && nclean < used; i++)
				if (lag[i] <= limit)
					clean[nclean++] = all[i];
		}
	} else {
		khz = all;
		used = n;
	}
	sort_u64(khz, used);
	if (used & 1)
		med = khz[used / 2];
	else    /* mean of the middle two, rounded down, without overflow */
		med = khz[used / 2 - 1] + (khz[used / 2] - khz[used / 2 - 1]) / 2;
	spread = div_round((u128)(khz[used - 1] - khz[0]) * 1000000u, med);
	res->khz = med;
	res->min_khz = khz[0];
	res->max_khz = khz[used - 1];
	res->spread_ppm = spread > UINT32_MAX ? UINT32_MAX : (uint32_t)spread;
	res->windows = used;
	res->rejected = n - used;
	return 0;
}
