/* Host tests of pure/pvclock.c: the clock pair against exact arithmetic,
 * updates that keep the guest's time from going back, per-vCPU pairs, the
 * version protocol (also under concurrent readers: host threads), the wall
 * clock and the validation of kvmclock MSR values.
 *
 * Environment: PVCLOCK_RACE_MS sets the length of the concurrent test
 * (default 1000 ms). Built like every unit test (ASan + UBSan); for a
 * thread-sanitizer run see docs/abi.md ("Testing the protocol"). */
#include "harness.h"
#include <tscvisor/pvclock.h>
#include <tscvisor/tsc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef unsigned __int128 u128;

/* Checks in loops: slot n collects the failures of one property, printed
 * (the first few) as they happen and counted as one check by LOOP_DONE. */
static unsigned loop_fail[8], loop_printed;
#define LOOP_CHECK(n, cond, ...) do { \
	if (!(cond)) { \
		loop_fail[n]++; \
		if (loop_printed++ < 10) { printf("#   " __VA_ARGS__); printf("\n"); } \
	} \
} while (0)
#define LOOP_DONE(n, what) do { \
	th_check(loop_fail[n] == 0, what, __FILE__, __LINE__); \
	loop_fail[n] = 0; \
	loop_printed = 0; \
} while (0)

static uint64_t rng_state = 0x6a09e667f3bcc908ull;
static uint64_t rnd(void)               /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 1 MHz .. 10 GHz, with awkward values (primes, near-equal pairs, the PM
 * timer's rate, 2^32 / 1000). */
static const uint64_t rates[] = {
	1000, 1001, 3579, 999983, 1000000, 1000001, 1843200, 2000000, 2000002, 2399987,
	2500000, 2900000, 3000000, 3579545, 4294967, 4294968, 7777777, 9999991, 10000000,
};
#define NRATES (sizeof(rates) / sizeof(rates[0]))

static uint64_t random_rate(void)
{
	return 1000 + rnd() % (10000000 - 1000 + 1);
}

/* A delta whose shifted value fits 64 bits with room (the guest formula's
 * domain), of a random magnitude. */
static uint64_t random_delta(struct pvclock_scale s)
{
	unsigned bits = 62 - (s.shift > 0 ? (unsigned)s.shift : 0);

	return rnd() >> (64 - 1 - rnd() % bits);
}

/* floor(delta * 10^6 / khz), exactly. */
static uint64_t exact_ns(uint64_t delta, uint64_t khz)
{
	return (uint64_t)((u128)delta * 1000000u / khz);
}

/* ---- layout ------------------------------------------------------------ */

static void test_layout(void)
{
	struct pvclock_vcpu_time_info f;
	unsigned char b[32];

	CHECK_EQ_U64(sizeof(struct pvclock_vcpu_time_info), 32);
	CHECK_EQ_U64(sizeof(struct pvclock_wall_clock), 12);
	CHECK_EQ_U64(offsetof(struct pvclock_vcpu_time_info, pad0), 4);
	CHECK_EQ_U64(offsetof(struct pvclock_vcpu_time_info, pad), 30);
	CHECK_EQ_U64(offsetof(struct pvclock_wall_clock, sec), 4);
	CHECK_EQ_U64(offsetof(struct pvclock_wall_clock, nsec), 8);
	/* Byte image as a guest sees it (little-endian). */
	memset(&f, 0, sizeof(f));
	f.tsc_timestamp = 0x0807060504030201ull;
	f.tsc_shift = -2;
	f.flags = PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED;
	memcpy(b, &f, sizeof(b));
	CHECK(b[8] == 1 && b[15] == 8 && b[28] == 0xfe && b[29] == 3);
	CHECK_EQ_U64(KVM_SIGNATURE_EBX, 'K' | 'V' << 8 | 'M' << 16 | (uint32_t)'K' << 24);
	CHECK_EQ_U64(KVM_SIGNATURE_ECX, 'V' | 'M' << 8 | 'K' << 16 | (uint32_t)'V' << 24);
	CHECK_EQ_U64(KVM_SIGNATURE_EDX, 'M');
}

/* ---- the clock against exact arithmetic ------------------------------- */

/* tsc.h: the guest's result differs from the exact one by less than
 * 2 ns + exact / 2^32. */
/* Within 2 ns + 2^-31 of the exact value: the scale's mul is truncated
 * (pvclock_scale_for(), include/tscvisor/tsc.h). */
static bool close_to_exact(uint64_t got, uint64_t exact)
{
	uint64_t slack = (exact >> 31) + 2;

	return got <= exact + slack && got + slack >= exact;
}

static void test_clock_vs_exact(void)
{
	struct pvclock_clock c;
	struct pvclock_vcpu_time_info f;
	unsigned r, i;

	CHECK(pvclock_clock_init(&c, 1, 2, 0) == -1);
	CHECK(pvclock_clock_init(&c, 0, 0, 1000000) == 0);
	CHECK(c.scale.mul == 1u << 31 && c.scale.shift == 1);   /* 1 GHz: 1 ns per cycle */
	CHECK_EQ_U64(pvclock_clock_ns(&c, 123456789012ull), 123456789012ull);

	for (r = 0; r < NRATES + 200; r++) {
		uint64_t khz = r < NRATES ? rates[r] : random_rate();
		uint64_t t0 = rnd(), s0 = rnd() >> 2;

		if (pvclock_clock_init(&c, t0, s0, khz)) {
			LOOP_CHECK(0, 0, "init failed at %llu kHz", (unsigned long long)khz);
			continue;
		}
		pvclock_fields_master(&c, 0, &f);
		LOOP_CHECK(1, f.tsc_timestamp == t0 && f.system_time == s0 &&
			   f.tsc_to_system_mul == c.scale.mul && f.tsc_shift == c.scale.shift &&
			   f.flags == PVCLOCK_TSC_STABLE_BIT && f.version == 0 && f.pad0 == 0,
			   "master fields at %llu kHz", (unsigned long long)khz);
		for (i = 0; i < 2000; i++) {
			uint64_t d = i < 64 ? i : random_delta(c.scale);
			uint64_t got = pvclock_clock_ns(&c, t0 + d), want = exact_ns(d, khz);

			LOOP_CHECK(0, close_to_exact(got - s0, want),
				   "%llu kHz, delta %llu: %llu ns, exact %llu",
				   (unsigned long long)khz, (unsigned long long)d,
				   (unsigned long long)(got - s0), (unsigned long long)want);
			LOOP_CHECK(1, pvclock_read_ns(&f, t0 + d) == got,
				   "guest formula == clock at %llu kHz", (unsigned long long)khz);
		}
	}
	LOOP_DONE(0, "clock ns within 2 ns + 0.47 ppb of exact, 1 MHz..10 GHz, any pair");
	LOOP_DONE(1, "guest's read of the master fields == the clock, bit for bit");
}

/* The guest's time never goes back while t grows: per clock. */
static void test_clock_monotonic(void)
{
	struct pvclock_clock c;
	unsigned r, i;

	for (r = 0; r < NRATES; r++) {
		pvclock_clock_init(&c, rnd(), rnd() >> 2, rates[r]);
		uint64_t t = c.tsc + (rnd() >> 40), prev = pvclock_clock_ns(&c, t);

		for (i = 0; i < 100000; i++) {
			uint64_t now;

			t += rnd() % 3;
			now = pvclock_clock_ns(&c, t);
			LOOP_CHECK(0, now >= prev, "back from %llu to %llu at %llu kHz",
				   (unsigned long long)prev, (unsigned long long)now,
				   (unsigned long long)rates[r]);
			prev = now;
		}
	}
	LOOP_DONE(0, "one clock: ns(t) never decreases as t grows");
}

/* ---- exact period ------------------------------------------------------ */

static void test_exact_period(void)
{
	struct pvclock_scale s;
	unsigned r, i;

	pvclock_scale_for(1000000, &s);
	CHECK_EQ_U64(pvclock_exact_period_log2(s), 0);          /* 1 GHz: every cycle */
	for (r = 0; r < NRATES + 100; r++) {
		uint64_t khz = r < NRATES ? rates[r] : random_rate();
		unsigned e;
		uint64_t p;
		bool found_half = false;

		pvclock_scale_for(khz, &s);
		e = pvclock_exact_period_log2(s);
		LOOP_CHECK(0, e <= 36, "period 2^%u at %llu kHz", e, (unsigned long long)khz);
		if (e > 36)
			continue;
		p = 1ull << e;
		for (i = 0; i < 3000; i++) {
			uint64_t k = rnd() >> (30 + rnd() % 30), x = random_delta(s) >> 4;
			uint64_t kp = k << e;

			if (kp >> e != k || kp + x < kp ||
			    (s.shift > 0 && ((kp + x) >> (63 - s.shift))))
				continue;       /* outside the guest formula's domain */
			LOOP_CHECK(0, pvclock_scale_delta(kp + x, s.mul, s.shift) ==
				   pvclock_scale_delta(kp, s.mul, s.shift) +
				   pvclock_scale_delta(x, s.mul, s.shift),
				   "%llu kHz: not exact at k=%llu x=%llu", (unsigned long long)khz,
				   (unsigned long long)k, (unsigned long long)x);
		}
		/* Minimal: half the period loses a rounding somewhere. */
		if (e == 0)
			continue;
		for (i = 1; i < 100000 && !found_half; i++)
			found_half = pvclock_scale_delta(p / 2 + i, s.mul, s.shift) !=
				     pvclock_scale_delta(p / 2, s.mul, s.shift) +
				     pvclock_scale_delta(i, s.mul, s.shift);
		LOOP_CHECK(1, found_half, "%llu kHz: half the period 2^%u is exact too",
			   (unsigned long long)khz, e);
	}
	LOOP_DONE(0, "exact period: delta(kP + x) == delta(kP) + delta(x) for all rates");
	LOOP_DONE(1, "exact period is minimal (P/2 is not exact)");
}

/* ---- updates ----------------------------------------------------------- */

/* Same rate: the function of the TSC does not change at all. */
static void test_update_same_rate(void)
{
	struct pvclock_clock c, old;
	unsigned r, i;
	int naive_back = 0;

	for (r = 0; r < NRATES + 100; r++) {
		uint64_t khz = r < NRATES ? rates[r] : random_rate();

		pvclock_clock_init(&c, rnd(), rnd() >> 2, khz);
		for (i = 0; i < 200; i++) {
			uint64_t now = c.tsc + random_delta(c.scale) / 4;
			unsigned e = pvclock_exact_period_log2(c.scale);
			struct pvclock_clock naive;

			old = c;
			LOOP_CHECK(0, pvclock_clock_update(&c, now, i & 1 ? 0 : khz) == 0, "update");
			LOOP_CHECK(1, c.tsc_khz == khz && c.scale.mul == old.scale.mul &&
				   c.scale.shift == old.scale.shift, "rate kept");
			LOOP_CHECK(2, c.tsc <= now - old.tsc + old.tsc && now - c.tsc < (1ull << e) &&
				   ((c.tsc - old.tsc) & ((1ull << e) - 1)) == 0,
				   "%llu kHz: pair moved to the last exact point before now",
				   (unsigned long long)khz);
			for (unsigned j = 0; j < 50; j++) {
				uint64_t t = c.tsc + (j < 10 ? j : rnd() >> (24 + rnd() % 30));

				LOOP_CHECK(3, pvclock_clock_ns(&c, t) == pvclock_clock_ns(&old, t),
					   "%llu kHz: same-rate update changed ns at delta %llu",
					   (unsigned long long)khz, (unsigned long long)(t - old.tsc));
			}
			/* Why not simply (now, ns(now)): that loses the rounding,
			 * and a reader who still uses the old fields after now is
			 * ahead by up to 2 ns of one who uses the new ones. */
			naive = old;
			naive.tsc = now;
			naive.ns = pvclock_clock_ns(&old, now);
			for (unsigned j = 1; j < 64 && !naive_back; j++)
				if (pvclock_clock_ns(&naive, now + j) < pvclock_clock_ns(&old, now + j - 1))
					naive_back = 1;
		}
	}
	LOOP_DONE(0, "same-rate update succeeds");
	LOOP_DONE(1, "same-rate update keeps the rate");
	LOOP_DONE(2, "same-rate update moves to the last exact point");
	LOOP_DONE(3, "same-rate update: old and new fields give the same ns for every TSC");
	CHECK(naive_back);      /* the reason for the exact point: it does happen */
	/* Before the pair: refused, nothing changed. */
	pvclock_clock_init(&c, 1000, 5, 3000000);
	old = c;
	CHECK(pvclock_clock_update(&c, 999, 0) == -1);
	CHECK(pvclock_clock_update(&c, 0, 2000000) == -1);
	CHECK(memcmp(&c, &old, sizeof(c)) == 0);
	/* Wrapping TSC: a pair just below 2^64 and now just above 0 is after. */
	pvclock_clock_init(&c, UINT64_MAX - 5000, 7, 1000000);
	CHECK(pvclock_clock_update(&c, 20000, 0) == 0);
	CHECK_EQ_U64(c.ns, 7 + 25001);
	CHECK_EQ_U64(c.tsc, 20000);
}

/* New rate: for every t1 <= t0 <= t2, a reader with the old fields at t1
 * gets no more than a reader with the new fields at t2; and the new fields
 * run at the new rate. Scanned densely around t0. */
static void test_update_new_rate(void)
{
	struct pvclock_clock c, old;
	unsigned i;

	for (i = 0; i < 3000; i++) {
		uint64_t k1 = i < NRATES * NRATES ? rates[i % NRATES] : random_rate();
		uint64_t k2 = i < NRATES * NRATES ? rates[i / NRATES % NRATES] : random_rate();
		uint64_t t0, prev, d;
		int64_t j;

		if (k1 == k2)
			k2++;
		pvclock_clock_init(&c, rnd(), rnd() >> 2, k1);
		t0 = c.tsc + (1ull << 24) + random_delta(c.scale) / 4;   /* room before t0 */
		old = c;
		LOOP_CHECK(0, pvclock_clock_update(&c, t0, k2) == 0, "update to a new rate");
		LOOP_CHECK(1, c.tsc == t0 && c.ns == pvclock_clock_ns(&old, t0) && c.tsc_khz == k2,
			   "new pair is (t0, old ns(t0)) at the new rate");
		/* The reader's view: old fields up to t0, new ones after. */
		prev = pvclock_clock_ns(&old, t0 - 3000);
		for (j = -2999; j <= 3000; j++) {
			uint64_t t = t0 + (uint64_t)j;
			uint64_t now = j <= 0 ? pvclock_clock_ns(&old, t) : pvclock_clock_ns(&c, t);

			LOOP_CHECK(2, now >= prev, "%llu -> %llu kHz: back by %llu ns at t0%+lld",
				   (unsigned long long)k1, (unsigned long long)k2,
				   (unsigned long long)(prev - now), (long long)j);
			prev = now;
		}
		/* And far apart: any t1 <= t0 against any t2 >= t0. */
		for (j = 0; j < 20; j++) {
			uint64_t t1 = t0 - (rnd() >> 41), t2 = t0 + (rnd() >> 40);

			LOOP_CHECK(3, pvclock_clock_ns(&old, t1) <= pvclock_clock_ns(&c, t2),
				   "t1 <= t0 <= t2 ordered");
		}
		d = rnd() >> 30;        /* the new rate from now on */
		LOOP_CHECK(4, close_to_exact(pvclock_clock_ns(&c, t0 + d) - c.ns, exact_ns(d, k2)),
			   "new rate %llu kHz", (unsigned long long)k2);
	}
	LOOP_DONE(0, "new-rate update succeeds");
	LOOP_DONE(1, "new-rate update: pair (t0, ns(t0))");
	LOOP_DONE(2, "new-rate update: old fields up to t0, new after: never back (dense scan)");
	LOOP_DONE(3, "new-rate update: old(t1) <= new(t2) for t1 <= t0 <= t2");
	LOOP_DONE(4, "new-rate update: runs at the new rate");
}

/* ---- per-vCPU pairs ---------------------------------------------------- */

static void test_vcpu_pairs(void)
{
	struct pvclock_clock m;
	struct pvclock_vcpu_time_info f;
	unsigned i;

	for (i = 0; i < 2000; i++) {
		uint64_t khz = i < NRATES ? rates[i] : random_rate();
		uint64_t diff = i & 1 ? rnd() : rnd() >> 40;    /* vCPU TSC - VM TSC */
		uint64_t vm_now, ns_now;
		unsigned e;

		pvclock_clock_init(&m, rnd(), rnd() >> 2, khz);
		e = pvclock_exact_period_log2(m.scale);
		vm_now = m.tsc + random_delta(m.scale) / 4;
		ns_now = pvclock_clock_ns(&m, vm_now);
		pvclock_fields_vcpu(&m, vm_now + diff, vm_now, (uint8_t)(i & 3), &f);
		LOOP_CHECK(0, f.flags == (i & 3), "flags as given");
		LOOP_CHECK(1, f.tsc_to_system_mul == m.scale.mul && f.tsc_shift == m.scale.shift,
			   "scale");
		LOOP_CHECK(2, vm_now + diff - f.tsc_timestamp < (1ull << e) && f.system_time <= ns_now,
			   "pair at most one exact period back");
		for (unsigned j = 0; j < 40; j++) {
			uint64_t later = vm_now + (j < 8 ? j : rnd() >> (20 + rnd() % 30));

			LOOP_CHECK(3, pvclock_read_ns(&f, later + diff) == pvclock_clock_ns(&m, later),
				   "%llu kHz: vCPU pair differs from master",
				   (unsigned long long)khz);
		}
	}
	LOOP_DONE(0, "per-vCPU pair: flags as given");
	LOOP_DONE(1, "per-vCPU pair: scale");
	LOOP_DONE(2, "per-vCPU pair: at the last exact point");
	LOOP_DONE(3, "per-vCPU pair of a written TSC gives the master's time bit for bit");
}

/* ---- version protocol, one thread ------------------------------------- */

static void sample_fields(struct pvclock_vcpu_time_info *f, uint64_t n)
{
	memset(f, 0, sizeof(*f));
	f->tsc_timestamp = n;
	f->system_time = n * 0x9e3779b97f4a7c15ull;
	f->tsc_to_system_mul = (uint32_t)(n * 2654435761u) | 1;
	f->tsc_shift = (int8_t)(n * 7);
	f->flags = (uint8_t)(n * 13);
	f->pad0 = (uint32_t)(n >> 3);
	f->pad[0] = (uint8_t)(n >> 11);
	f->pad[1] = (uint8_t)(n >> 19);
}

static bool sample_consistent(const struct pvclock_vcpu_time_info *f)
{
	struct pvclock_vcpu_time_info want;

	sample_fields(&want, f->tsc_timestamp);
	want.version = f->version;
	return memcmp(&want, f, sizeof(want)) == 0;
}

static void test_protocol_single(void)
{
	uint32_t area[8] = { 0 }, wall[3] = { 0 };
	struct pvclock_vcpu_time_info f, got;
	struct pvclock_wall_clock wc;
	uint32_t odd;

	sample_fields(&f, 42);
	f.version = 77;                         /* ignored */
	CHECK_EQ_U64(pvclock_publish(area, &f), 2);
	CHECK_EQ_U64(area[0], 2);
	CHECK(pvclock_read_area(area, &got) == 0 && got.version == 2 && sample_consistent(&got));
	CHECK_EQ_U64(pvclock_publish(area, &f), 4);
	/* A guest that scribbled an odd version: the next values differ from it. */
	area[0] = 5;
	CHECK(pvclock_read_area(area, &got) == -1);
	CHECK_EQ_U64(pvclock_publish(area, &f), 8);
	area[0] = UINT32_MAX;
	CHECK_EQ_U64(pvclock_publish(area, &f), 2);
	area[0] = UINT32_MAX - 1;
	CHECK_EQ_U64(pvclock_publish(area, &f), 0);
	/* Split publish: odd in between, readers refused. */
	odd = pvclock_publish_begin(area);
	CHECK_EQ_U64(odd, 1);
	CHECK(area[0] == 1 && pvclock_read_area(area, &got) == -1);
	sample_fields(&f, 43);
	CHECK_EQ_U64(pvclock_publish_end(area, odd, &f), 2);
	CHECK(pvclock_read_area(area, &got) == 0 && got.tsc_timestamp == 43 && sample_consistent(&got));
	/* Byte image: version, pad0 (from the fields), then the rest. */
	CHECK(area[2] == 43 && area[3] == 0 && area[1] == f.pad0);

	/* Wall clock. */
	pvclock_wall_fields(1700000000123456789ull, 5000000001ull, &wc);
	CHECK(wc.sec == 1699999995u && wc.nsec == 123456788u && wc.version == 0);
	pvclock_wall_fields(10, 11, &wc);
	CHECK(wc.sec == 0 && wc.nsec == 0);
	pvclock_wall_fields(1700000000123456789ull, 5000000001ull, &wc);
	CHECK_EQ_U64(pvclock_publish_wall(wall, &wc), 2);
	CHECK(wall[0] == 2 && wall[1] == 1699999995u && wall[2] == 123456788u);
	wall[0] = 9;
	CHECK_EQ_U64(pvclock_publish_wall(wall, &wc), 12);
}

/* ---- version protocol, concurrent readers ----------------------------- */

static uint32_t race_area[8] __attribute__((aligned(64)));
static volatile int race_stop;

struct reader_stats {
	uint64_t reads, retries, torn, version_back;
	uint64_t unchecked, unchecked_torn;     /* control: no version check */
};

static void *race_writer(void *arg)
{
	uint64_t *updates = arg, n = 1;
	struct pvclock_vcpu_time_info f;

	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		sample_fields(&f, n++);
		pvclock_publish(race_area, &f);
	}
	*updates = n - 1;
	return NULL;
}

/* A reader that copies without the protocol: shows that tearing is real
 * here, i.e. that the checked reader's zero is meaningful. */
static void unchecked_read(struct pvclock_vcpu_time_info *out)
{
	uint32_t w[8];

	for (unsigned i = 0; i < 8; i++)
		w[i] = __atomic_load_n(&race_area[i], __ATOMIC_RELAXED);
	memcpy(out, w, sizeof(w));
}

static void *race_reader(void *arg)
{
	struct reader_stats *st = arg;
	struct pvclock_vcpu_time_info f;
	uint32_t last = 0;

	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		if (pvclock_read_area(race_area, &f)) {
			st->retries++;
		} else {
			st->reads++;
			if (!sample_consistent(&f))
				st->torn++;
			if ((int32_t)(f.version - last) < 0)
				st->version_back++;
			last = f.version;
		}
		if ((st->reads & 15) == 0) {
			unchecked_read(&f);
			st->unchecked++;
			if (f.tsc_timestamp && !sample_consistent(&f))
				st->unchecked_torn++;
		}
	}
	return NULL;
}

static void test_protocol_concurrent(void)
{
	enum { NREADERS = 3 };
	pthread_t w, r[NREADERS];
	struct reader_stats st[NREADERS], sum = { 0 };
	uint64_t updates = 0, ms = 1000;
	struct pvclock_vcpu_time_info f;
	struct timespec ts;
	const char *env = getenv("PVCLOCK_RACE_MS");

	if (env)
		ms = strtoull(env, NULL, 0);
	memset(st, 0, sizeof(st));
	sample_fields(&f, 0);
	pvclock_publish(race_area, &f);
	race_stop = 0;
	CHECK(pthread_create(&w, NULL, race_writer, &updates) == 0);
	for (int i = 0; i < NREADERS; i++)
		CHECK(pthread_create(&r[i], NULL, race_reader, &st[i]) == 0);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(w, NULL);
	for (int i = 0; i < NREADERS; i++) {
		pthread_join(r[i], NULL);
		sum.reads += st[i].reads;
		sum.retries += st[i].retries;
		sum.torn += st[i].torn;
		sum.version_back += st[i].version_back;
		sum.unchecked += st[i].unchecked;
		sum.unchecked_torn += st[i].unchecked_torn;
	}
	printf("# concurrent: %llu ms, %llu updates, %d readers: %llu consistent reads, "
	       "%llu retries; control without the version check: %llu of %llu reads torn\n",
	       (unsigned long long)ms, (unsigned long long)updates, NREADERS,
	       (unsigned long long)sum.reads, (unsigned long long)sum.retries,
	       (unsigned long long)sum.unchecked_torn, (unsigned long long)sum.unchecked);
	CHECK(updates > 1000 && sum.reads > 1000);
	CHECK_EQ_U64(sum.torn, 0);              /* never a mix of two updates */
	CHECK_EQ_U64(sum.version_back, 0);      /* each reader sees versions in order */
	CHECK(race_area[0] == 2 * (updates + 1));
}

/* ---- GPA and MSR validation ------------------------------------------- */

static void test_gpa(void)
{
	const uint64_t ram = 16ull << 20;
	struct pvclock_gpa_range holes[] = {
		{ 0xa0000, 0x20000 },           /* legacy VGA window */
		{ 0x200000, 0 },                /* empty: never matches */
		{ UINT64_MAX - 0xfff, 0x1000 }, /* ends at 2^64: no wrap in the check */
	};
	struct pvclock_msr_req q;

	CHECK(pvclock_gpa_ok(0, 32, ram));
	CHECK(pvclock_gpa_ok(ram - 32, 32, ram));
	CHECK(pvclock_gpa_ok(4064, 32, ram));                   /* ends at the page end */
	CHECK(pvclock_gpa_ok(4084, 12, ram));
	CHECK(!pvclock_gpa_ok(0, 32, 0));
	CHECK(!pvclock_gpa_ok(0, 32, 31));
	CHECK_EQ_U64(pvclock_gpa_check(ram - 28, 32, ram, NULL, 0), PVCLOCK_GPA_BEYOND_RAM);
	CHECK_EQ_U64(pvclock_gpa_check(ram, 32, ram, NULL, 0), PVCLOCK_GPA_BEYOND_RAM);
	CHECK_EQ_U64(pvclock_gpa_check(UINT64_MAX - 3, 32, ram, NULL, 0), PVCLOCK_GPA_BEYOND_RAM);
	CHECK_EQ_U64(pvclock_gpa_check(UINT64_MAX - 3, 32, UINT64_MAX, NULL, 0),
		     PVCLOCK_GPA_BEYOND_RAM);                   /* gpa + size wraps */
	CHECK_EQ_U64(pvclock_gpa_check(1ull << 52, 32, ram, NULL, 0), PVCLOCK_GPA_BEYOND_RAM);
	CHECK_EQ_U64(pvclock_gpa_check(4068, 32, ram, NULL, 0), PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(ram - 4096 - 4, 32, ram, NULL, 0),
		     PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(4088, 12, ram, NULL, 0), PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(0, 0, ram, NULL, 0), PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(0, 4097, ram, NULL, 0), PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(0x1002, 32, ram, NULL, 0), PVCLOCK_GPA_MISALIGNED);
	CHECK_EQ_U64(pvclock_gpa_check(0x1001, 32, ram, NULL, 0), PVCLOCK_GPA_MISALIGNED);
	CHECK_EQ_U64(pvclock_gpa_check(0x1004, 32, ram, NULL, 0), PVCLOCK_GPA_OK);
	/* MMIO ranges inside RAM. */
	CHECK_EQ_U64(pvclock_gpa_check(0xa0000, 32, ram, holes, 3), PVCLOCK_GPA_MMIO);
	CHECK_EQ_U64(pvclock_gpa_check(0xbffe0, 32, ram, holes, 3), PVCLOCK_GPA_MMIO);
	CHECK_EQ_U64(pvclock_gpa_check(0x9ffe0, 32, ram, holes, 3), PVCLOCK_GPA_OK);  /* ends at base */
	CHECK_EQ_U64(pvclock_gpa_check(0x9ffe4, 32, ram, holes, 3), PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_gpa_check(0xc0000, 32, ram, holes, 3), PVCLOCK_GPA_OK);  /* just after */
	CHECK_EQ_U64(pvclock_gpa_check(0x200000, 32, ram, holes, 3), PVCLOCK_GPA_OK); /* empty hole */
	CHECK_EQ_U64(pvclock_gpa_check(UINT64_MAX - 0xfff, 32, UINT64_MAX, holes, 3),
		     PVCLOCK_GPA_MMIO);
	CHECK_EQ_U64(pvclock_gpa_check(UINT64_MAX - 0x101f, 32, UINT64_MAX, holes, 3),
		     PVCLOCK_GPA_OK);
	CHECK_STR(pvclock_gpa_result_name(PVCLOCK_GPA_CROSSES_PAGE), "area crosses a page boundary");
	CHECK_STR(pvclock_gpa_result_name((enum pvclock_gpa_result)99), "unknown");

	/* MSR values. */
	CHECK(pvclock_is_msr(0x11) && pvclock_is_msr(0x12) && pvclock_is_msr(0x4b564d00) &&
	      pvclock_is_msr(0x4b564d01) && !pvclock_is_msr(0x10) && !pvclock_is_msr(0x4b564d02));
	CHECK(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, 0x5000 | 1, ram, NULL, 0, &q) ==
	      PVCLOCK_GPA_OK && q.enable && !q.wall && q.gpa == 0x5000);
	CHECK(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME, 0x5020 | 1, ram, NULL, 0, &q) ==
	      PVCLOCK_GPA_OK && q.enable && q.gpa == 0x5020);
	/* Disabling is always accepted, whatever the address bits. */
	CHECK(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, 0, ram, NULL, 0, &q) == PVCLOCK_GPA_OK &&
	      !q.enable);
	CHECK(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, 0xfffffffffffffffeull, ram, NULL, 0, &q) ==
	      PVCLOCK_GPA_OK && !q.enable);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, ram | 1, ram, NULL, 0, &q),
		     PVCLOCK_GPA_BEYOND_RAM);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME, 0x5ff0 | 1, ram, NULL, 0, &q),
		     PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, 0x5002 | 1, ram, NULL, 0, &q),
		     PVCLOCK_GPA_MISALIGNED);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_SYSTEM_TIME_NEW, 0xa0100 | 1, ram, holes, 3, &q),
		     PVCLOCK_GPA_MMIO);
	CHECK(pvclock_msr_decode(MSR_KVM_WALL_CLOCK_NEW, 0x6000, ram, NULL, 0, &q) ==
	      PVCLOCK_GPA_OK && q.wall && q.enable && q.gpa == 0x6000);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_WALL_CLOCK, 0x6ff8, ram, NULL, 0, &q),
		     PVCLOCK_GPA_CROSSES_PAGE);
	CHECK_EQ_U64(pvclock_msr_decode(MSR_KVM_WALL_CLOCK, 0x6001, ram, NULL, 0, &q),
		     PVCLOCK_GPA_MISALIGNED);                   /* no enable bit: bit 0 is address */
	CHECK(pvclock_msr_decode(MSR_KVM_WALL_CLOCK, 0x6ff4, ram, NULL, 0, &q) == PVCLOCK_GPA_OK);
	CHECK(pvclock_msr_decode(0x10, 0x5001, ram, NULL, 0, &q) == PVCLOCK_GPA_NOT_KVMCLOCK &&
	      !q.enable);
}

int main(void)
{
	test_layout();
	test_clock_vs_exact();
	test_clock_monotonic();
	test_exact_period();
	test_update_same_rate();
	test_update_new_rate();
	test_vcpu_pairs();
	test_protocol_single();
	test_protocol_concurrent();
	test_gpa();
	return th_done();
}
