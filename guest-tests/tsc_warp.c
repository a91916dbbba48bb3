/* tsc_warp — the TSC never goes back when read on one CPU after another.
 *
 * The cross-CPU warp test (as Linux's check_tsc_warp): every CPU, started
 * together at a barrier, repeatedly takes one shared spinlock, reads the
 * TSC (fenced, so the read is not done ahead of taking the lock), compares
 * it with the last value any CPU read under the lock, stores its own, and
 * lets go. A warp is a read below the stored one: some CPU's TSC is behind
 * another's by more than the time the lock takes to change hands. Checks:
 * every CPU made its reads, no warp at all, the lock really went from CPU
 * to CPU (else nothing was compared across CPUs), and the TSC advanced.
 * In tscvisor's emulate mode 0 warps is guaranteed; in native mode it holds
 * when the host's TSCs are synchronised (QEMU TCG: one TSC for all CPUs).
 *
 * The lock is a test-and-set (xchg) lock whose holder, on letting go while
 * others wait, gives them a moment (a bounded number of PAUSEs) to take it:
 * without that one CPU takes it back again and again (seen under tscvisor
 * in emulate mode: one vCPU made all its reads before another got the lock
 * once). lock=ticket uses a FIFO ticket lock instead: strict turns, but on
 * QEMU TCG with more vCPUs than host cores each hand-off waits for a host
 * thread switch (40 us each, 80 s for 2 x 10^6 reads).
 *
 * Options: reads=N per CPU (default 1000000); stall_ms=M: fail when no CPU
 * at all takes the lock for M ms (default 10000); lock=ticket;
 * inject_warp=N: the last CPU's middle read is made N ticks smaller, a
 * self-test that must FAIL. */
#include "guest.h"

struct percpu {
	volatile u64 reads;
	u64 warps;
	u64 max_warp;		/* ticks */
	u64 handoffs;		/* reads compared with another CPU's */
	u64 first, last;
	bool barrier_ok;
	bool stalled;
} __attribute__((aligned(64)));

static struct percpu per[MAX_CPUS];
static struct ticketlock tlock;
static struct spinlock xlock;
static bool use_ticket;
static volatile u32 grabs;		/* lock acquisitions: progress */
static volatile u32 aborted;
static volatile u32 waiters;		/* CPUs spinning for the lock */
static volatile u64 last_tsc;
static volatile u32 last_cpu = ~0u;
static struct barrier start;
static u64 reads, stall_ms, inject;
static unsigned inject_cpu;

/* Takes the lock; gives up (and makes everyone give up) when nobody at
 * all has taken it for stall_ms. */
static bool lock_bounded(void)
{
	u32 t = use_ticket ? ticket_take(&tlock) : 0, seen = grabs, spins = 0;
	bool waiting = false;
	u64 end = 0;

	for (;;) {
		if (use_ticket ? ticket_turn(&tlock, t) : !xlock.locked && !atomic_xchg(&xlock.locked, 1))
			break;
		if (!waiting) {
			waiting = true;
			atomic_inc(&waiters);
		}
		if (aborted)
			break;
		cpu_relax();
		if (++spins % 1024)
			continue;
		if (grabs != seen) {
			seen = grabs;
			end = 0;
		} else if (!end) {
			end = tsc_after_ms(stall_ms);
		} else if (timed_out(end)) {
			atomic_set(&aborted, 1);
			break;
		}
	}
	if (waiting)
		__atomic_sub_fetch(&waiters, 1, __ATOMIC_SEQ_CST);
	return !aborted;
}

/* With the xchg lock, the CPU that lets go would mostly take it straight
 * back; while others wait, it gives them up to HANDOFF_SPINS PAUSEs to
 * take it first (bounded: a waiter whose vCPU is not running costs little). */
#define HANDOFF_SPINS 1000

static void unlock(void)
{
	u32 g = grabs;

	if (use_ticket) {
		ticket_unlock(&tlock);
		return;
	}
	spin_unlock(&xlock);
	for (u32 i = 0; i < HANDOFF_SPINS && waiters && grabs == g; i++)
		cpu_relax();
}

static void warp_job(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];

	(void)arg;
	p->barrier_ok = barrier_wait(&start, 10000);
	p->first = rdtsc_ordered();
	for (u64 i = 0; i < reads; i++) {
		u64 t, prev;

		if (!lock_bounded()) {
			p->stalled = true;
			return;
		}
		grabs++;
		t = rdtsc_ordered();
		if (inject && cpu == inject_cpu && i == reads / 2)
			t -= inject;
		prev = last_tsc;
		if (t < prev) {
			p->warps++;
			if (prev - t > p->max_warp)
				p->max_warp = prev - t;
		}
		if (last_cpu != cpu)
			p->handoffs++;
		last_tsc = t;
		last_cpu = cpu;
		unlock();
		p->reads = i + 1;
	}
	p->last = rdtsc_ordered();
}

static u64 total_reads(unsigned n)
{
	u64 sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += per[i].reads;
	return sum;
}

void test_main(const struct mb_info *mbi)
{
	unsigned online, finished = 0;
	u64 warps = 0, max_warp = 0, handoffs = 0, t0, us, seen, end;
	bool all_done = true, advanced = true;
	char how[8];

	(void)mbi;
	reads = cmdline_u64("reads", 1000000, NULL);
	stall_ms = cmdline_u64("stall_ms", 10000, NULL);
	use_ticket = cmdline_get("lock", how, sizeof(how)) && !strncmp(how, "ticket", 7);
	inject = cmdline_u64("inject_warp", 0, NULL);
	online = smp_init();
	plan(4);
	if (reads < 1)
		reads = 1;
	inject_cpu = online - 1;
	if (inject)
		diag("self-test: CPU %u's read %llu is made %llu ticks smaller", inject_cpu,
		     (unsigned long long)(reads / 2), (unsigned long long)inject);
	diag("%u CPU(s), %llu reads each, %s lock", online, (unsigned long long)reads,
	     use_ticket ? "ticket (FIFO)" : "xchg");

	barrier_init(&start, online);
	t0 = rdtsc();
	smp_start_aps(warp_job, NULL);
	warp_job(0, NULL);
	/* The APs may still be at it: wait as long as someone makes progress. */
	seen = total_reads(online);
	end = tsc_after_ms(stall_ms);
	while (smp_aps_done() < online - 1) {
		u64 now = total_reads(online);

		if (now != seen) {
			seen = now;
			end = tsc_after_ms(stall_ms);
		} else if (timed_out(end)) {
			diag("no progress for %llu ms: %u of %u AP(s) finished",
			     (unsigned long long)stall_ms, smp_aps_done(), online - 1);
			all_done = false;
			break;
		}
		cpu_relax();
	}
	us = tsc_to_us(rdtsc() - t0);

	for (unsigned i = 0; i < online; i++) {
		struct percpu *p = &per[i];

		diag("CPU %u: %llu reads, %llu warp(s), largest %llu ticks, %llu compared with "
		     "another CPU's read%s%s", i, (unsigned long long)p->reads,
		     (unsigned long long)p->warps, (unsigned long long)p->max_warp,
		     (unsigned long long)p->handoffs, p->barrier_ok ? "" : "; missed the start",
		     p->stalled ? "; stalled on the lock" : "");
		if (p->reads == reads && p->barrier_ok && !p->stalled)
			finished++;
		warps += p->warps;
		handoffs += p->handoffs;
		if (p->max_warp > max_warp)
			max_warp = p->max_warp;
		if (p->reads == reads && p->last <= p->first)
			advanced = false;
	}
	diag("total: %llu reads in %llu us (%llu per ms), %llu warp(s), largest %llu ticks "
	     "(%llu ns), %llu cross-CPU comparisons", (unsigned long long)total_reads(online),
	     (unsigned long long)us,
	     (unsigned long long)(us ? total_reads(online) * 1000 / us : 0),
	     (unsigned long long)warps, (unsigned long long)max_warp,
	     (unsigned long long)muldiv64(max_warp, 1000000000, tsc_hz()),
	     (unsigned long long)handoffs);

	ok(all_done && finished == online, "all %u CPU(s) started together and made %llu reads",
	   online, (unsigned long long)reads);
	ok(warps == 0, "no TSC warp across CPUs: %llu warp(s), largest %llu ticks",
	   (unsigned long long)warps, (unsigned long long)max_warp);
	if (online > 1)
		ok(handoffs > 0, "the lock went from CPU to CPU (%llu cross-CPU comparisons)",
		   (unsigned long long)handoffs);
	else
		skip("one CPU: nothing to compare across CPUs");
	ok(advanced && last_tsc > per[0].first, "the TSC advanced on every CPU");
}
