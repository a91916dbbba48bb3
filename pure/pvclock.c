/* pvclock (kvmclock ABI): the clock pair, the fields of a vCPU's area, the
 * version protocol and the validation of the kvmclock MSRs. Pure C: no
 * hardware access, no floating point, no libgcc helpers. The interface and
 * the protocol are described in include/tscvisor/pvclock.h and docs/abi.md. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/pvclock.h>
#include <tscvisor/tsc.h>

#define PAGE_SIZE   4096u
#define NS_PER_SEC  1000000000ull
#define AREA_WORDS  (sizeof(struct pvclock_vcpu_time_info) / 4)
#define WALL_WORDS  (sizeof(struct pvclock_wall_clock) / 4)

/* ---- The clock -------------------------------------------------------- */

int pvclock_clock_init(struct pvclock_clock *c, uint64_t tsc, uint64_t ns, uint64_t tsc_khz)
{
	struct pvclock_scale s;

	if (pvclock_scale_for(tsc_khz, &s))
		return -1;
	c->tsc = tsc;
	c->ns = ns;
	c->tsc_khz = tsc_khz;
	c->scale = s;
	return 0;
}

uint64_t pvclock_clock_ns(const struct pvclock_clock *c, uint64_t tsc)
{
	return c->ns + pvclock_scale_delta(tsc - c->tsc, c->scale.mul, c->scale.shift);
}

static unsigned trailing_zeros32(uint32_t v)
{
	unsigned n = 0;

	if (!v)
		return 32;
	while (!(v & 1)) {
		v >>= 1;
		n++;
	}
	return n;
}

/* The guest computes floor(d * mul / 2^32) with d = delta << s (s >= 0) or
 * delta >> -s. For delta = k * 2^e + x:
 *   s >= 0: (k 2^e << s) * mul = k * 2^(e + s + tz(mul)) * odd(mul) is a
 *           multiple of 2^32 once e >= 32 - s - tz(mul), and an integer
 *           term passes through the floor unchanged;
 *   s < 0:  (k 2^e + x) >> -s = k 2^(e + s) + (x >> -s) once e >= -s, and
 *           then the same argument with e + s in place of e + s above.
 * Both: e = max(0, 32 - tz(mul) - s). */
unsigned pvclock_exact_period_log2(struct pvclock_scale s)
{
	int e = 32 - (int)trailing_zeros32(s.mul) - s.shift;

	return e > 0 ? (unsigned)e : 0;
}

/* The largest advance <= delta that is a multiple of the exact period, and
 * the ns it is worth: adv * mul * 2^shift / 2^32, an exact integer, taken in
 * 128 bits (no wrap even where the guest's 64-bit shift would). */
static uint64_t exact_advance(const struct pvclock_clock *c, uint64_t delta, uint64_t *ns_adv)
{
	unsigned e = pvclock_exact_period_log2(c->scale);
	uint64_t adv = e >= 64 ? 0 : delta >> e << e;

	*ns_adv = mul_u64_u64_shr(adv, c->scale.mul, (unsigned)(32 - c->scale.shift), NULL);
	return adv;
}

/* A delta of 2^63 or more is taken as "before the pair": the counters wrap,
 * and no VM runs the 29 years that 2^63 cycles take at 10 GHz. */
#define BEFORE_PAIR(delta) ((delta) >> 63)

int pvclock_clock_update(struct pvclock_clock *c, uint64_t tsc_now, uint64_t new_khz)
{
	uint64_t delta = tsc_now - c->tsc, ns_adv;
	struct pvclock_scale s;

	if (BEFORE_PAIR(delta))
		return -1;
	if (!new_khz || new_khz == c->tsc_khz) {
		/* Same function of the TSC before and after (see the header). */
		uint64_t adv = exact_advance(c, delta, &ns_adv);

		c->tsc += adv;
		c->ns += ns_adv;
		return 0;
	}
	if (pvclock_scale_for(new_khz, &s))
		return -1;
	/* The time readers of the old fields reached at tsc_now. */
	c->ns = pvclock_clock_ns(c, tsc_now);
	c->tsc = tsc_now;
	c->tsc_khz = new_khz;
	c->scale = s;
	return 0;
}

/* ---- Fields ----------------------------------------------------------- */

static void fill(struct pvclock_vcpu_time_info *out, uint64_t tsc, uint64_t ns,
		 struct pvclock_scale s, uint8_t flags)
{
	memset(out, 0, sizeof(*out));
	out->tsc_timestamp = tsc;
	out->system_time = ns;
	out->tsc_to_system_mul = s.mul;
	out->tsc_shift = s.shift;
	out->flags = flags;
}

void pvclock_fields_master(const struct pvclock_clock *master, uint8_t flags,
			   struct pvclock_vcpu_time_info *out)
{
	fill(out, master->tsc, master->ns, master->scale,
	     (uint8_t)(flags | PVCLOCK_TSC_STABLE_BIT));
}

/* The pair is taken at the latest exact point of the master at or before
 * the instant (vm_tsc aligned down to the master's exact period), moved to
 * the vCPU's TSC by the constant difference: the vCPU's area then yields
 * the master's time bit for bit, with a delta that stays small. */
void pvclock_fields_vcpu(const struct pvclock_clock *master, uint64_t vcpu_tsc,
			 uint64_t vm_tsc, uint8_t flags, struct pvclock_vcpu_time_info *out)
{
	uint64_t delta = vm_tsc - master->tsc, ns_adv, adv;

	if (BEFORE_PAIR(delta))
		delta = 0;      /* documented as not allowed: keep it sane */
	adv = exact_advance(master, delta, &ns_adv);
	fill(out, vcpu_tsc - (delta - adv), master->ns + ns_adv, master->scale, flags);
}

uint64_t pvclock_read_ns(const struct pvclock_vcpu_time_info *f, uint64_t tsc)
{
	return f->system_time + pvclock_scale_delta(tsc - f->tsc_timestamp, f->tsc_to_system_mul,
						    f->tsc_shift);
}

/* ---- The version protocol --------------------------------------------- */

/* One aligned 32-bit access each. Relaxed atomics compile to plain MOVs on
 * x86 (no lock prefix, no fence), but the compiler may not tear, merge,
 * cache or invent them, and a thread sanitizer sees no data race. The
 * ordering between them comes from PVCLOCK_BARRIER() and x86's TSO. */
static inline void store_word(void *area, unsigned i, uint32_t v)
{
	__atomic_store_n((uint32_t *)area + i, v, __ATOMIC_RELAXED);
}

static inline uint32_t load_word(const void *area, unsigned i)
{
	return __atomic_load_n((const uint32_t *)area + i, __ATOMIC_RELAXED);
}

/* An odd version the area does not hold now. */
static uint32_t begin(void *area)
{
	uint32_t cur = load_word(area, 0), odd = cur & 1 ? cur + 2 : cur + 1;

	store_word(area, 0, odd);
	/* The odd version is stored before any field: x86 makes stores visible
	 * in program order, so a reader that sees a new field sees the odd
	 * version too (in its second read at the latest). */
	PVCLOCK_BARRIER();
	return odd;
}

/* Words 1..n-1 from w, then the even version. */
static uint32_t end(void *area, uint32_t odd, const uint32_t *w, unsigned n)
{
	unsigned i;

	PVCLOCK_BARRIER();
	for (i = 1; i < n; i++)
		store_word(area, i, w[i]);
	/* Every field is stored before the even version (TSO as above): a
	 * reader that sees the even version sees all the fields. */
	PVCLOCK_BARRIER();
	store_word(area, 0, odd + 1);
	return odd + 1;
}

uint32_t pvclock_publish_begin(void *area)
{
	return begin(area);
}

uint32_t pvclock_publish_end(void *area, uint32_t odd_version,
			     const struct pvclock_vcpu_time_info *fields)
{
	uint32_t w[AREA_WORDS];

	memcpy(w, fields, sizeof(w));   /* little-endian: word i = bytes 4i..4i+3 */
	return end(area, odd_version, w, AREA_WORDS);
}

uint32_t pvclock_publish(void *area, const struct pvclock_vcpu_time_info *fields)
{
	return pvclock_publish_end(area, begin(area), fields);
}

int pvclock_read_area(const void *area, struct pvclock_vcpu_time_info *out)
{
	uint32_t w[AREA_WORDS], v2;
	unsigned i;

	w[0] = load_word(area, 0);
	if (w[0] & 1)
		return -1;
	PVCLOCK_BARRIER();
	for (i = 1; i < AREA_WORDS; i++)
		w[i] = load_word(area, i);
	PVCLOCK_BARRIER();
	v2 = load_word(area, 0);
	if (v2 != w[0])
		return -1;
	memcpy(out, w, sizeof(w));
	return 0;
}

/* ---- Wall clock ------------------------------------------------------- */

void pvclock_wall_fields(uint64_t wall_ns_now, uint64_t system_ns_now,
			 struct pvclock_wall_clock *out)
{
	uint64_t boot = wall_ns_now > system_ns_now ? wall_ns_now - system_ns_now : 0;

	out->version = 0;
	out->sec = (uint32_t)(boot / NS_PER_SEC);
	out->nsec = (uint32_t)(boot % NS_PER_SEC);
}

uint32_t pvclock_publish_wall(void *area, const struct pvclock_wall_clock *wc)
{
	uint32_t w[WALL_WORDS];

	memcpy(w, wc, sizeof(w));
	return end(area, begin(area), w, WALL_WORDS);
}

/* ---- MSRs and guest addresses ---------------------------------------- */

/* [a, a + an) and [b, b + bn) overlap; neither end may be computed (it
 * can wrap), so compare distances from the lower start. */
static bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	if (!an || !bn)
		return false;
	return a <= b ? b - a < an : a - b < bn;
}

enum pvclock_gpa_result pvclock_gpa_check(uint64_t gpa, uint64_t size, uint64_t ram_size,
					  const struct pvclock_gpa_range *mmio, unsigned n)
{
	unsigned i;

	if (gpa & 3)
		return PVCLOCK_GPA_MISALIGNED;
	if (!gmem_offset(ram_size, gpa, size ? size : 1, NULL))
		return PVCLOCK_GPA_BEYOND_RAM;
	if (!size || size > PAGE_SIZE || (gpa & (PAGE_SIZE - 1)) > PAGE_SIZE - size)
		return PVCLOCK_GPA_CROSSES_PAGE;
	for (i = 0; i < n; i++)
		if (overlap(gpa, size, mmio[i].base, mmio[i].size))
			return PVCLOCK_GPA_MMIO;
	return PVCLOCK_GPA_OK;
}

bool pvclock_gpa_ok(uint64_t gpa, uint64_t size, uint64_t ram_size)
{
	return pvclock_gpa_check(gpa, size, ram_size, NULL, 0) == PVCLOCK_GPA_OK;
}

const char *pvclock_gpa_result_name(enum pvclock_gpa_result r)
{
	switch (r) {
	case PVCLOCK_GPA_OK:            return "ok";
	case PVCLOCK_GPA_MISALIGNED:    return "address not 4-byte aligned";
	case PVCLOCK_GPA_BEYOND_RAM:    return "area not inside guest RAM";
	case PVCLOCK_GPA_CROSSES_PAGE:  return "area crosses a page boundary";
	case PVCLOCK_GPA_MMIO:          return "area overlaps MMIO";
	case PVCLOCK_GPA_NOT_KVMCLOCK:  return "not a kvmclock MSR";
	}
	return "unknown";
}

bool pvclock_is_msr(uint32_t msr)
{
	return msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_SYSTEM_TIME ||
	       msr == MSR_KVM_WALL_CLOCK_NEW || msr == MSR_KVM_SYSTEM_TIME_NEW;
}

enum pvclock_gpa_result pvclock_msr_decode(uint32_t msr, uint64_t value, uint64_t ram_size,
					   const struct pvclock_gpa_range *mmio, unsigned n,
					   struct pvclock_msr_req *out)
{
	out->wall = msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_WALL_CLOCK_NEW;
	if (out->wall) {
		out->enable = true;
		out->gpa = value;
		return pvclock_gpa_check(value, sizeof(struct pvclock_wall_clock), ram_size,
					 mmio, n);
	}
	out->enable = value & PVCLOCK_SYSTEM_TIME_ENABLE;
	out->gpa = value & ~PVCLOCK_SYSTEM_TIME_ENABLE;
	if (msr != MSR_KVM_SYSTEM_TIME && msr != MSR_KVM_SYSTEM_TIME_NEW) {
		out->enable = false;
		return PVCLOCK_GPA_NOT_KVMCLOCK;
	}
	if (!out->enable)
		return PVCLOCK_GPA_OK;
	return pvclock_gpa_check(out->gpa, sizeof(struct pvclock_vcpu_time_info), ram_size,
				 mmio, n);
}
