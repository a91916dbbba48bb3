/* tsc_deadline — the LAPIC timer's TSC-deadline mode (SDM vol. 3A
 * 11.5.4.1): an interrupt when the TSC reaches IA32_TSC_DEADLINE (MSR
 * 0x6e0), in guest TSC units whatever the hypervisor does to the TSC.
 *
 * SKIP (77) when CPUID.1:ECX[24] does not offer it (bare QEMU TCG).
 *
 * For several distances D (0, 100 us, 1, 10, 50 ms): read the TSC and the
 * PM timer, arm the deadline at TSC + D, HLT until the interrupt; the
 * handler reads the TSC and the PM timer. Checks, per D:
 *   - by the TSC: the handler's TSC >= the deadline (never early: exact,
 *     the architecture promises it) and <= deadline + late_us;
 *   - by the PM timer, the guest's independent clock: the time from arming
 *     to the handler is D / (TSC rate) within tol_ppm (not early in real
 *     time: a deadline taken in host units, or scaled the wrong way, fires
 *     at the wrong time even when the TSC check passes) and at most late_us
 *     after it.
 * And: each deadline raises exactly one interrupt (none more in the 2 ms
 * after); a deadline already past fires at once; the MSR reads back the
 * armed deadline and 0 once it fired; writing 0 disarms; a new write
 * replaces the old deadline (one interrupt, at the new time); in one-shot
 * mode the MSR reads 0 and ignores writes; no spurious interrupts.
 *
 * A late interrupt (by the TSC or the PM timer) is tried again, up to
 * `tries` times: lateness is what a busy host causes; an early one fails
 * at once.
 *
 * Options: late_us (default 10000; see lapic_timer.c for the reasoning);
 * tries (default 3);
 * tol_ppm (default 1000: the TSC rate is measured over 100 ms, good to
 * ~10 ppm); wait=spin (poll with interrupts on instead of HLT);
 * inject_late=N: expect each interrupt N TSC ticks after its deadline, a
 * self-test that must FAIL. */
#include "guest.h"

#define V_TIMER 0x31

static const struct pmtimer *pm;
static volatile u32 fired;
static volatile u64 tsc_at_irq;
static volatile u32 pm_at_irq;

static void timer_irq(u8 v)
{
	(void)v;
	tsc_at_irq = rdtsc();
	pm_at_irq = pmtimer_read(pm);
	atomic_inc(&fired);
}

static u64 pm_elapsed_us(u32 from, u32 to)
{
	return muldiv64((to - from) & pm->mask, 1000000, PMTMR_HZ);
}

static u64 hz;

static u64 us_to_ticks(u64 us) { return muldiv64(us, hz, 1000000); }
static u64 ticks_to_us(u64 t) { return muldiv64(t, 1000000, hz); }

/* Interrupts on, no HLT, for us microseconds. */
static void quiet_wait(u64 us)
{
	irq_enable();
	udelay(us);
	irq_disable();
}

struct shot {
	bool came;
	u64 t0, deadline, tsc_irq;
	u64 pm_us;		/* arming to the handler, by the PM timer */
	u32 wakes;		/* HLT returns */
	u64 readback;		/* the MSR right after arming, and once fired */
	u64 after;
	u32 extra;		/* interrupts in the 2 ms after the first */
};

static u32 duplicates;		/* over every arm() */

/* Arms the deadline `ticks` from now and waits for it. */
static struct shot arm(u64 ticks, u64 late_us, bool use_hlt)
{
	struct shot r = { 0 };
	u32 n0 = fired, pm0;

	irq_disable();
	/* The PM timer first: a host stall between the two reads then makes
	 * the interval measured by the PM timer longer (late, tried again),
	 * never shorter. Read the other way round, a stall of a few ms here
	 * under a loaded host made a correct 50 ms deadline look early by the
	 * PM timer, which fails at once (CI, deadline-emulate). */
	pm0 = pmtimer_read(pm);
	r.t0 = rdtsc();
	r.deadline = r.t0 + ticks;	/* ticks "negative": in the past */
	lapic_timer_tsc_deadline(V_TIMER, r.deadline);
	r.readback = rdmsr(MSR_TSC_DEADLINE);
	r.came = wait_count(&fired, n0 + 1,
			    ((s64)ticks > 0 ? ticks_to_us(ticks) / 1000 : 0) + late_us / 1000 + 1000,
			    use_hlt, &r.wakes);
	r.after = rdmsr(MSR_TSC_DEADLINE);
	if (r.came) {
		r.tsc_irq = tsc_at_irq;
		r.pm_us = pm_elapsed_us(pm0, pm_at_irq);
	}
	quiet_wait(2000);
	r.extra = fired - n0 - (r.came ? 1 : 0);
	duplicates += r.extra;
	return r;
}

void test_main(const struct mb_info *mbi)
{
	static const u64 dist_us[] = { 0, 100, 1000, 10000, 50000 };
	u64 late_us = cmdline_u64("late_us", 10000, NULL);
	u64 tol_ppm = cmdline_u64("tol_ppm", 1000, NULL);
	u64 inject = cmdline_u64("inject_late", 0, NULL);
	u64 tries = cmdline_u64("tries", 3, NULL);
	char wait[8];
	bool use_hlt = !(cmdline_get("wait", wait, sizeof(wait)) && !strncmp(wait, "spin", 5));
	u64 late, armed = 0, readback = 0, after = 1;
	struct tsc_window w;
	u32 n0;

	(void)mbi;
	plan(2 * ARRAY_SIZE(dist_us) + 7);
	diag("CPUID.1:ECX 0x%08x", cpuid(1).ecx);
	if (!cpu_has_tsc_deadline())
		skip_rest("no TSC-deadline timer (CPUID.1:ECX[24] clear)");
	if (!lapic_init())
		skip_rest("no usable local APIC");
	pm = pmtimer_init();
	if (!pm)
		skip_rest("no ACPI PM timer to measure against");
	if (!tsc_measure_window(pm, PMTMR_HZ / 10, &w) || !w.tsc_hz)
		skip_rest("the PM timer does not move");
	hz = w.tsc_hz;
	late = us_to_ticks(late_us);
	diag("TSC %llu Hz (100 ms against the PM timer); late_us %llu = %llu ticks",
	     (unsigned long long)hz, (unsigned long long)late_us, (unsigned long long)late);
	if (inject)
		diag("self-test: expecting each interrupt %llu ticks after its deadline",
		     (unsigned long long)inject);
	irq_set_handler(V_TIMER, timer_irq);

	for (unsigned i = 0; i < ARRAY_SIZE(dist_us); i++) {
		u64 us = dist_us[i], early_us = us - muldiv64(us, tol_ppm, 1000000);
		struct shot r;
		bool early, late_tsc, late_pm;
		unsigned t = 0;

		do {
			t++;
			r = arm(us_to_ticks(us), late_us, use_hlt);
			diag("deadline +%llu us (%llu ticks), try %u: %s; HLT returned %u time(s)",
			     (unsigned long long)us, (unsigned long long)(r.deadline - r.t0), t,
			     r.came ? "fired" : "NEVER FIRED", r.wakes);
			early = r.tsc_irq < r.deadline + inject || r.pm_us + 1 < early_us;
			late_tsc = r.tsc_irq - r.deadline > late;
			late_pm = r.pm_us > us + late_us;
		} while (r.came && !early && (late_tsc || late_pm) && t < tries);
		if (i == ARRAY_SIZE(dist_us) - 1) {
			armed = r.deadline;
			readback = r.readback;
			after = r.after;
		}
		if (r.came && r.tsc_irq < r.deadline)
			ok(false, "+%llu us: the handler's TSC is %llu ticks BEFORE the deadline",
			   (unsigned long long)us, (unsigned long long)(r.deadline - r.tsc_irq));
		else
			ok(r.came && !early && !late_tsc,
			   "+%llu us: the handler's TSC is %llu ticks after the deadline (allowed "
			   "%llu..%llu; try %u)", (unsigned long long)us,
			   (unsigned long long)(r.came ? r.tsc_irq - r.deadline : 0),
			   (unsigned long long)inject, (unsigned long long)late, t);
		ok(r.came && r.pm_us + 1 >= early_us && !late_pm,
		   "+%llu us: by the PM timer it fired after %llu us (allowed %llu..%llu)",
		   (unsigned long long)us, (unsigned long long)r.pm_us, (unsigned long long)early_us,
		   (unsigned long long)(us + late_us));
	}

	/* A deadline in the past fires at once. */
	{
		struct shot r;
		unsigned t = 0;

		do {
			t++;
			r = arm((u64)0 - us_to_ticks(1000), late_us, use_hlt);
		} while (r.came && r.tsc_irq - r.t0 > late && t < tries);
		ok(r.came && r.tsc_irq - r.t0 <= late,
		   "a deadline 1 ms in the past fires at once (%llu us after arming; try %u)",
		   (unsigned long long)(r.came ? ticks_to_us(r.tsc_irq - r.t0) : 0), t);
	}

	ok(duplicates == 0, "each deadline raised one interrupt (%u more within 2 ms)", duplicates);
	ok(readback == armed && after == 0,
	   "IA32_TSC_DEADLINE reads back the armed deadline (0x%llx, armed 0x%llx) and 0 once "
	   "it fired (0x%llx)", (unsigned long long)readback, (unsigned long long)armed,
	   (unsigned long long)after);

	/* Writing 0 disarms. The deadline is 50 ms out so that the write of 0
	 * lands before it even when the host stalls this vCPU between the two
	 * WRMSRs; if the second write still came after the deadline (a stall of
	 * 50 ms), the interrupt was rightly pending already: try again. */
	{
		u64 dl, t_disarm;
		unsigned t = 0;

		do {
			t++;
			irq_disable();
			n0 = fired;
			dl = rdtsc() + us_to_ticks(50000);
			lapic_timer_tsc_deadline(V_TIMER, dl);
			wrmsr(MSR_TSC_DEADLINE, 0);
			t_disarm = rdtsc();
			quiet_wait(100000);
		} while (t_disarm >= dl && t < tries);
		ok(t_disarm < dl && fired == n0,
		   "writing 0 disarms: no interrupt in the 100 ms after (%u; disarmed %lld us before "
		   "the deadline; try %u)", fired - n0,
		   t_disarm < dl ? (long long)ticks_to_us(dl - t_disarm) : -(long long)ticks_to_us(t_disarm - dl), t);
	}

	/* A second write replaces the first: one interrupt, before the first
	 * deadline would have come. */
	{
		u64 t0 = rdtsc(), first = t0 + us_to_ticks(200000), second = t0 + us_to_ticks(1000);
		bool came;

		n0 = fired;
		lapic_timer_tsc_deadline(V_TIMER, first);
		wrmsr(MSR_TSC_DEADLINE, second);
		came = wait_count(&fired, n0 + 1, 1000, use_hlt, NULL);
		quiet_wait(250000);
		ok(came && tsc_at_irq >= second && tsc_at_irq < first && fired == n0 + 1,
		   "re-arming replaces the deadline: one interrupt, %lld us after the new one, none "
		   "at the old one 200 ms out (%u in all)",
		   came ? (long long)ticks_to_us(tsc_at_irq - second) : -1LL, fired - n0);
	}

	/* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
	{
		u64 back;

		n0 = fired;
		lapic_timer_stop();
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | V_TIMER);
		mfence();
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + us_to_ticks(1000));
		back = rdmsr(MSR_TSC_DEADLINE);
		quiet_wait(5000);
		ok(back == 0 && fired == n0,
		   "in one-shot mode IA32_TSC_DEADLINE reads 0 (0x%llx) and a write arms nothing "
		   "(%u interrupts)", (unsigned long long)back, fired - n0);
		lapic_timer_stop();
	}
	ok(lapic_spurious_count == 0, "no spurious interrupt (%u)", lapic_spurious_count);
}
