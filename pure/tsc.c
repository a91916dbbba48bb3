/* Guest TSC arithmetic and the tsc_mode policy (pure C): fixed-point and exact
 * scaling, offsets, pvclock's mul/shift, TSC MSR semantics, and the decision
 * table of docs/tsc-modes.md. No hardware access, no floating point, no libgcc
 * helpers (128-by-64 division is done here). See docs/tsc-modes.md. */
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <tscvisor/tsc.h>
#include <tscvisor/format.h>

typedef unsigned __int128 u128;

#define NS_PER_MS 1000000u      /* ns per kHz-cycle: ns = cycles * 10^6 / khz */

static void report(bool *overflow, bool value)
{
	if (overflow)
		*overflow = value;
}

/* n / d for a quotient that fits 64 bits: requires (n >> 64) < d. Restoring
 * shift-subtract over the low 64 bits. The partial remainder stays below d,
 * so after each doubling it is below 2d and one subtraction suffices; when
 * the doubling carries out of 64 bits the value exceeds d and the wrapped
 * 64-bit subtraction gives the right remainder. */
static uint64_t div128_64(u128 n, uint64_t d, uint64_t *rem)
{
	uint64_t hi = (uint64_t)(n >> 64), lo = (uint64_t)n, q = 0;
	int i;

	if (hi == 0) {
		*rem = lo % d;
		return lo / d;
	}
	for (i = 0; i < 64; i++) {
		bool carry = hi >> 63;

		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		q <<= 1;
		if (carry || hi >= d) {
			hi -= d;
			q |= 1;
		}
	}
	*rem = hi;
	return q;
}

uint64_t mul_u64_u64_shr(uint64_t a, uint64_t b, unsigned shift, bool *overflow)
{
	u128 p = (u128)a * b;

	p = shift >= 128 ? 0 : p >> shift;
	report(overflow, (p >> 64) != 0);
	return (uint64_t)p;
}

uint64_t mul_div_u64(uint64_t a, uint64_t mul, uint64_t div, bool *overflow)
{
	uint64_t q, r, part, rem;
	u128 whole, rest, sum;

	if (div == 0) {
		report(overflow, true);
		return UINT64_MAX;
	}
	/* a = q * div + r, so a * mul / div = q * mul + r * mul / div with the
	 * first term an exact integer: floor(a * mul / div) = q * mul +
	 * floor(r * mul / div). r * mul < div * mul, which fits 64 bits for any
	 * two kHz values, and then both divisions are native 64-bit ones. */
	q = a / div;
	r = a % div;
	whole = (u128)q * mul;
	rest = (u128)r * mul;
	if ((rest >> 64) == 0)
		part = (uint64_t)rest / div;
	else    /* rest < div * 2^64: the quotient fits */
		part = div128_64(rest, div, &rem);
	sum = whole + part;     /* <= a * mul < 2^128: no carry out */
	report(overflow, (sum >> 64) != 0);
	return (uint64_t)sum;
}

/* ---- Fixed-point scale ------------------------------------------------ */

enum tsc_scale_result tsc_scale_for(uint64_t guest_khz, uint64_t host_khz, unsigned frac,
				    uint64_t max_ratio, struct tsc_scale *out)
{
	u128 n;
	uint64_t ratio, rem;

	if (!guest_khz || !host_khz || frac > 63 || !max_ratio)
		return TSC_SCALE_BAD_ARGS;
	n = (u128)guest_khz << frac;    /* < 2^127 */
	if ((n >> 64) >= host_khz)      /* quotient >= 2^64 */
		return TSC_SCALE_TOO_LARGE;
	ratio = div128_64(n, host_khz, &rem);
	if (rem >= host_khz - rem) {    /* round half up, without overflow */
		if (ratio == UINT64_MAX)
			return TSC_SCALE_TOO_LARGE;
		ratio++;
	}
	if (ratio == 0)
		return TSC_SCALE_TOO_SMALL;
	if (ratio > max_ratio)
		return TSC_SCALE_TOO_LARGE;
	out->ratio = ratio;
	out->frac = frac;
	return TSC_SCALE_OK;
}

const char *tsc_scale_result_name(enum tsc_scale_result r)
{
	switch (r) {
	case TSC_SCALE_OK:        return "ok";
	case TSC_SCALE_BAD_ARGS:  return "invalid rate";
	case TSC_SCALE_TOO_SMALL: return "ratio below the smallest step";
	case TSC_SCALE_TOO_LARGE: return "ratio above the hardware maximum";
	}
	return "unknown";
}

struct tsc_scale tsc_scale_identity(unsigned frac)
{
	struct tsc_scale s = { (uint64_t)1 << (frac & 63), frac & 63 };

	return s;
}

bool tsc_scale_is_identity(struct tsc_scale s)
{
	return s.frac < 64 && s.ratio == (uint64_t)1 << s.frac;
}

uint64_t tsc_guest(uint64_t host_tsc, struct tsc_scale s, uint64_t offset)
{
	return mul_u64_u64_shr(host_tsc, s.ratio, s.frac, NULL) + offset;
}

uint64_t tsc_offset_for(uint64_t host_tsc_now, struct tsc_scale s, uint64_t guest_tsc_wanted)
{
	return guest_tsc_wanted - mul_u64_u64_shr(host_tsc_now, s.ratio, s.frac, NULL);
}

/* ---- Emulated TSC ----------------------------------------------------- */

/* Why the exact fraction rather than a fixed-point ratio here: a ratio with
 * f fraction bits is off by up to 2^-(f+1) guest cycles per host cycle, so a
 * host at H Hz accumulates H / 2^(f+1) cycles of error per second (f = 32,
 * H = 10 GHz: 1.2 cycles/s, 4200 per hour) and the error grows without bound.
 * The exact form costs two native 64-bit divisions per trapped RDTSC, a few
 * tens of cycles against the thousand or more of the exit itself, and its
 * only error is the floor: the result is within 1 cycle below the ideal. */
uint64_t tsc_emul_guest(const struct tsc_emul *e, uint64_t host_tsc, uint64_t offset)
{
	return mul_div_u64(host_tsc - e->host_base, e->guest_khz, e->host_khz, NULL) + offset;
}

uint64_t tsc_emul_offset_for(const struct tsc_emul *e, uint64_t host_tsc_now,
			     uint64_t guest_tsc_wanted)
{
	return guest_tsc_wanted - tsc_emul_guest(e, host_tsc_now, 0);
}

/* ---- Time conversions ------------------------------------------------- */

static uint64_t mul_div_sat(uint64_t a, uint64_t mul, uint64_t div)
{
	bool over;
	uint64_t v = mul_div_u64(a, mul, div, &over);

	return over ? UINT64_MAX : v;
}

uint64_t tsc_to_ns(uint64_t cycles, uint64_t khz)
{
	return mul_div_sat(cycles, NS_PER_MS, khz);
}

uint64_t ns_to_tsc(uint64_t ns, uint64_t khz)
{
	return mul_div_sat(ns, khz, NS_PER_MS);
}

/* ns per cycle is r = 10^6 / tsc_khz. With 2^(s-1) <= r < 2^s, mul = r *
 * 2^(32-s) lies in [2^31, 2^32): 31 to 32 significant bits. mul is
 * truncated, as KVM does: off by less than 1, a relative 2^-31 at worst,
 * and never above the exact value, so a guest that turns the scale back
 * into kHz (Linux: floor(10^6 * 2^32 / mul), shifted) gets tsc_khz itself
 * for every rate up to 2 GHz (s >= 0) instead of 1 kHz less when mul would
 * round up (1500000 kHz showed as 1499.999 MHz). The final floor loses
 * < 1 ns, and for s < 0 the guest's right shift drops < 2^-s cycles of
 * r < 2^s ns each, < 1 ns. Hence the bound in tsc.h. */
int pvclock_scale_for(uint64_t tsc_khz, struct pvclock_scale *out)
{
	int s = 0;
	u128 n;
	uint64_t mul, rem;

	if (!tsc_khz)
		return -1;
	/* The smallest s with r < 2^s, i.e. 10^6 < tsc_khz * 2^s. */
	if (tsc_khz <= NS_PER_MS) {             /* r >= 1: s = 1..20 */
		while ((u128)NS_PER_MS >= (u128)tsc_khz << s)
			s++;
	} else {                                /* r < 1: s = 0..-44 */
		while (((u128)NS_PER_MS << (1 - s)) < tsc_khz)
			s--;                    /* r < 2^(s-1) too: go lower */
	}
	/* mul = floor(10^6 * 2^(32-s) / tsc_khz); 32 - s is 12..76, and the
	 * quotient is below 2^32 (r < 2^s), so div128_64's precondition holds. */
	n = (u128)NS_PER_MS << (32 - s);
	mul = div128_64(n, tsc_khz, &rem);
	(void)rem;
	out->mul = (uint32_t)mul;
	out->shift = (int8_t)s;
	return 0;
}

uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift >= 64 || shift <= -64)
		delta = 0;
	else if (shift >= 0)
		delta <<= shift;
	else
		delta >>= -shift;
	return (uint64_t)(((u128)delta * mul) >> 32);
}

/* ---- TSC MSRs --------------------------------------------------------- */

/* SDM Vol. 3B 17.17.3: a WRMSR that adds X to the TSC also adds X to
 * IA32_TSC_ADJUST, and a WRMSR that adds X to IA32_TSC_ADJUST also adds X to
 * the TSC. Everything modulo 2^64 (TSC_ADJUST is a signed 64-bit value; its
 * two's complement bits add the same way). */
void tsc_msr_write_tsc(uint64_t *offset, uint64_t *tsc_adjust, uint64_t guest_tsc_now,
		       uint64_t value)
{
	uint64_t x = value - guest_tsc_now;

	*offset += x;
	*tsc_adjust += x;
}

void tsc_msr_write_tsc_adjust(uint64_t *offset, uint64_t *tsc_adjust, uint64_t value)
{
	*offset += value - *tsc_adjust;
	*tsc_adjust = value;
}

/* ---- Mode policy ------------------------------------------------------ */

uint64_t tsc_ppm_diff(uint64_t a, uint64_t b)
{
	return mul_div_sat(a > b ? a - b : b - a, 1000000u, b);
}

static bool within_tolerance(uint64_t a, uint64_t b)
{
	uint64_t d = a > b ? a - b : b - a;

	return (u128)d * 1000000u <= (u128)b * TSC_TOLERANCE_PPM;
}

/* A switch rather than a table of pointers: no data relocations. (Mirrors
 * tsc_mode_name() of pure/config.c, which this file does not link against.) */
static const char *mode_word(enum tsc_mode m)
{
	switch (m) {
	case TSC_MODE_AUTO:     return "auto";
	case TSC_MODE_NATIVE:   return "native";
	case TSC_MODE_EMULATE:  return "emulate";
	case TSC_MODE_PVRDTSCP: return "pvrdtscp";
	}
	return "unknown";
}

/* ---- The decision (the table of docs/tsc-modes.md) -------------------- */

/* safe: invariant (or vouched) and synchronised (or vouched). */
static bool host_invariant(const struct tsc_host_info *h)
{
	return h->invariant || h->vouched;
}

static bool host_synchronised(const struct tsc_host_info *h)
{
	return h->synchronised || h->vouched;
}

/* How the guest TSC can run at tsc_khz untrapped. Scaling is preferred over
 * the tolerance: exact, and free at run time. */
static enum tsc_rate_way rate_way(const struct tsc_host_info *h, uint64_t tsc_khz,
				  enum tsc_scale_result *result, struct tsc_scale *hw)
{
	*hw = (struct tsc_scale){ 0, 0 };
	*result = h->hw_scaling ? tsc_scale_for(tsc_khz, h->tsc_khz, h->scale_frac, h->max_ratio, hw) :
				  TSC_SCALE_BAD_ARGS;
	if (tsc_khz == h->tsc_khz)
		return TSC_RATE_EQUAL;
	if (*result == TSC_SCALE_OK && !tsc_scale_is_identity(*hw))
		return TSC_RATE_SCALED;
	if (within_tolerance(tsc_khz, h->tsc_khz))
		return TSC_RATE_TOLERATED;
	return TSC_RATE_NONE;
}

/* RDTSC runs natively: offset, plus scaling where it is needed and possible.
 * TSC_RATE_TOLERATED runs at the host rate: the guest TSC is then up to
 * 250 ppm off tsc_khz (21.6 s a day), and after a migration between two such
 * hosts its rate may step by up to 500 ppm. That is within the tolerance the
 * specification grants, so it counts as guaranteed (CPUID may show invariant
 * TSC), but pvclock must use guest_rate_khz, the real rate, not tsc_khz, so
 * the guest's ns stay exact. TSC_RATE_NONE: the host rate, not guaranteed;
 * and a rate is only constant on a host TSC that is invariant (or vouched). */
static void run_native(struct tsc_decision *d, const struct tsc_host_info *h, struct tsc_scale hw)
{
	d->trap_rdtsc = false;
	d->use_hw_scaling = d->rate_way == TSC_RATE_SCALED;
	d->scale = d->use_hw_scaling ? hw : tsc_scale_identity(h->scale_frac);
	d->guest_rate_khz = d->use_hw_scaling || d->rate_way == TSC_RATE_EQUAL ? d->tsc_khz :
			    h->tsc_khz;
	d->rate_guaranteed = d->rate_way != TSC_RATE_NONE && host_invariant(h);
}

/* RDTSC traps; the VMM returns tsc_emul_guest() at exactly tsc_khz. */
static void run_trapped(struct tsc_decision *d, const struct tsc_host_info *h)
{
	d->trap_rdtsc = true;
	d->use_hw_scaling = false;
	d->scale = tsc_scale_identity(h->scale_frac);
	d->guest_rate_khz = d->tsc_khz;
	d->rate_guaranteed = true;
}

int tsc_decide_only(enum tsc_mode mode, uint64_t tsc_khz, bool pv_fast_path,
		    const struct tsc_host_info *h, struct tsc_decision *d)
{
	struct tsc_scale hw;
	bool safe, rate_ok;

	memset(d, 0, sizeof(*d));
	d->asked = mode;
	d->fast_asked = pv_fast_path;
	d->mode = TSC_MODE_EMULATE;
	d->trap_rdtsc = true;
	d->scale = tsc_scale_identity(0);
	d->warn = true;
	if (!h->tsc_khz) {
		d->why = TSC_WHY_NO_HOST_RATE;
		return -1;
	}
	if (mode != TSC_MODE_AUTO && mode != TSC_MODE_NATIVE && mode != TSC_MODE_EMULATE &&
	    mode != TSC_MODE_PVRDTSCP) {
		d->why = TSC_WHY_UNKNOWN_MODE;
		return -1;
	}
	d->warn = false;
	d->tsc_khz = tsc_khz ? tsc_khz : h->tsc_khz;
	d->rate_way = rate_way(h, d->tsc_khz, &d->scale_result, &hw);
	safe = host_invariant(h) && host_synchronised(h);
	rate_ok = d->rate_way != TSC_RATE_NONE;
	d->host_reliable = safe;

	/* mode      | safe and rate ok   | otherwise
	 * native    | native             | native, warned
	 * pvrdtscp  | native             | trapped
	 * auto      | native             | as emulate
	 * emulate   | trapped; untrapped on the pvclock fast path when safe */
	switch (mode) {
	case TSC_MODE_NATIVE:
		d->mode = TSC_MODE_NATIVE;
		d->why = TSC_WHY_NATIVE;
		d->warn = !safe || !rate_ok;
		run_native(d, h, hw);
		return 0;
	case TSC_MODE_PVRDTSCP:
		d->mode = TSC_MODE_PVRDTSCP;
		if (safe && rate_ok) {
			d->why = TSC_WHY_PVRDTSCP_NATIVE;
			run_native(d, h, hw);
		} else {
			d->why = TSC_WHY_PVRDTSCP_TRAPPED;
			run_trapped(d, h);
		}
		return 0;
	case TSC_MODE_AUTO:
		if (safe && rate_ok) {
			d->mode = TSC_MODE_NATIVE;
			d->why = TSC_WHY_AUTO_NATIVE;
			run_native(d, h, hw);
			return 0;
		}
		break;
	case TSC_MODE_EMULATE:
		break;
	}
	/* Emulated, configured or chosen by auto. The pvclock fast path
	 * (docs/abi.md) lifts the trap when the host TSC can be trusted; the raw
	 * TSC may then run at the host's rate, which guest_rate_khz (pvclock's
	 * scale) says. */
	d->mode = TSC_MODE_EMULATE;
	if (pv_fast_path && safe) {
		d->why = TSC_WHY_FAST_PATH;
		d->pv_fast_path = true;
		run_native(d, h, hw);
		return 0;
	}
	d->why = TSC_WHY_EMULATE;
	d->warn = pv_fast_path;       /* the guest asked, and was refused */
	run_trapped(d, h);
	return 0;
}

/* ---- The explanation: a decision in words, for the log ----------------- */

/* "invariant host TSC, synchronised", or what is wrong with the host TSC. */
static int host_words(char *buf, size_t size, const struct tsc_host_info *h)
{
	bool inv = host_invariant(h), sync = host_synchronised(h);

	if (inv && sync)
		return tv_snprintf(buf, size, "%s, %s",
				   h->invariant ? "invariant host TSC" : "host TSC invariant by tsc_reliable",
				   h->synchronised ? "synchronised" : "synchronised by tsc_reliable");
	return tv_snprintf(buf, size, "%s%s%s",
			   inv ? "" : "host TSC not invariant (CPUID 0x80000007 EDX[8] clear)",
			   !inv && !sync ? " and " : "",
			   sync ? "" : "host TSC failed the cross-pCPU synchronisation check");
}

/* How tsc_khz is (or is not) reached without trapping. */
static int rate_words(char *buf, size_t size, const struct tsc_decision *d,
		      const struct tsc_host_info *h)
{
	uint64_t g = d->tsc_khz, hk = h->tsc_khz;
	struct tsc_scale hw;

	switch (d->rate_way) {
	case TSC_RATE_EQUAL:
		return tv_snprintf(buf, size, "tsc_khz %lu equals host", g);
	case TSC_RATE_SCALED:
		/* The decision keeps the scale only when it is used. */
		tsc_scale_for(g, hk, h->scale_frac, h->max_ratio, &hw);
		return tv_snprintf(buf, size,
				   "hardware scaling to tsc_khz %lu from host %lu (ratio 0x%lx >> %u)",
				   g, hk, hw.ratio, hw.frac);
	case TSC_RATE_TOLERATED:
		return tv_snprintf(buf, size, "tsc_khz %lu within %u ppm of host %lu", g,
				   TSC_TOLERANCE_PPM, hk);
	case TSC_RATE_NONE:
		break;
	}
	return tv_snprintf(buf, size, "tsc_khz %lu differs from host %lu by %lu ppm and %s", g, hk,
			   tsc_ppm_diff(g, hk),
			   !h->hw_scaling ? "no hardware scaling" :
			   d->scale_result == TSC_SCALE_TOO_LARGE ?
			   "hardware scaling cannot reach it (ratio above the maximum)" :
			   "hardware scaling cannot represent it");
}

void tsc_explain(const struct tsc_decision *d, const struct tsc_host_info *h, char *buf,
		 size_t size)
{
	char host[128], rate[160];
	bool safe = d->host_reliable, rate_ok = d->rate_way != TSC_RATE_NONE;
	const char *mode = d->asked == TSC_MODE_AUTO ? "auto -> emulate" : "emulate";

	if (d->why == TSC_WHY_NO_HOST_RATE) {
		tv_snprintf(buf, size, "%s: host TSC rate unknown", mode_word(d->asked));
		return;
	}
	if (d->why == TSC_WHY_UNKNOWN_MODE) {
		tv_snprintf(buf, size, "tsc_mode %d unknown", (int)d->asked);
		return;
	}
	host_words(host, sizeof(host), h);
	rate_words(rate, sizeof(rate), d, h);
	switch (d->why) {
	case TSC_WHY_NATIVE:
		if (safe && rate_ok)
			tv_snprintf(buf, size, "native: %s, %s", host, rate);
		else
			tv_snprintf(buf, size, "native: %s%s%s%s%s",
				    safe ? "" : host,
				    safe ? "" : ": monotonic only as far as the host TSC is",
				    !safe && !rate_ok ? "; " : "",
				    rate_ok ? "" : rate,
				    rate_ok ? "" : ": guest TSC runs at the host rate");
		return;
	case TSC_WHY_PVRDTSCP_NATIVE:
		tv_snprintf(buf, size, "pvrdtscp -> native: %s, %s", host, rate);
		return;
	case TSC_WHY_PVRDTSCP_TRAPPED:
		tv_snprintf(buf, size, "pvrdtscp -> emulated: %s", !safe ? host : rate);
		return;
	case TSC_WHY_AUTO_NATIVE:
		tv_snprintf(buf, size, "auto -> native: %s, %s", host, rate);
		return;
	case TSC_WHY_FAST_PATH:
		tv_snprintf(buf, size, "%s, pvclock fast path: RDTSC not trapped; %s, %s%s", mode, host,
			    rate, rate_ok ? "" : ": raw TSC at the host rate, pvclock scaled to it");
		return;
	case TSC_WHY_EMULATE:
		if (d->asked == TSC_MODE_AUTO)
			tv_snprintf(buf, size, "auto -> emulate: %s%s", !safe ? host : rate,
				    d->fast_asked ? "; pvclock fast path refused" : "");
		else
			tv_snprintf(buf, size, "emulate: RDTSC/RDTSCP trapped, guest TSC at tsc_khz %lu "
				    "(host %lu)%s%s", d->tsc_khz, h->tsc_khz,
				    d->fast_asked ? "; pvclock fast path refused: " : "",
				    d->fast_asked ? host : "");
		return;
	case TSC_WHY_NO_HOST_RATE:
	case TSC_WHY_UNKNOWN_MODE:
		break;
	}
}

int tsc_decide(enum tsc_mode mode, uint64_t tsc_khz, bool pv_fast_path,
	       const struct tsc_host_info *host, struct tsc_decision *d)
{
	int rc = tsc_decide_only(mode, tsc_khz, pv_fast_path, host, d);

	tsc_explain(d, host, d->reason, sizeof(d->reason));
	return rc;
}
