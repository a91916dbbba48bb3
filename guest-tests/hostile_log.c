/* hostile_log — a guest that makes the hypervisor want to log, as fast as it
 * can, while another vCPU measures that it still gets its share.
 *
 * The BSP (vCPU 0) floods, each kind of event one the hypervisor used to log
 * every time (or once per port/page, of which there are many):
 *   - wrmsr=N (100000) WRMSRs to MSR_KVM_SYSTEM_TIME_NEW of an area beyond
 *     RAM: each refused with #GP;
 *   - hc=N (2000) hypercalls 4 (pvclock window) at a page beyond RAM: each
 *     refused (negative result);
 *   - mmio=N (4096) reads of distinct unbacked pages from 1 GiB up: each
 *     all-ones;
 *   - ports=N (4096) reads of distinct ports nothing decodes from 0x2000 up:
 *     each all-ones;
 *   - msr=N (20000) RDMSRs of MSRs that do not exist: each #GP.
 * vCPU 1 meanwhile counts CPUID round trips (an exit the hypervisor answers
 * without logging, and a short spin) per PM-timer second: first alone (the baseline),
 * then during the flood. It must keep at least 1/starve (20) of its
 * baseline rate: a hypervisor that holds the log lock, with interrupts off,
 * for every line the flood causes would stall it once it needs the lock,
 * and it must not be stopped outright.
 *
 * The case around it (scripts/cases/hostile_log.py) counts the hypervisor's
 * lines about this VM: they must stay few (rate limit) and a "suppressed"
 * summary must say how many were dropped. */
#include "guest.h"
#include "pvclock.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

static const struct pmtimer *pm;
static volatile u32 phase;              /* 0 baseline, 1 flood, 2 done */
static volatile u32 ap_ready, ap_finished;
static u64 base_iters, base_ticks, flood_iters, flood_ticks;

/* PM ticks since *last, 24/32-bit wrap handled; updates *last. */
static u64 pm_step(u32 *last)
{
	u32 now = pmtimer_read(pm);
	u32 d = (now - *last) & pm->mask;

	*last = now;
	return d;
}

/* One unit of progress: a CPUID (an exit the hypervisor answers without
 * logging) and a short spin, so that the flood's exits dominate. */
static void round_trip(void)
{
	(void)cpuid(0);
	for (int i = 0; i < 64; i++)
		__asm__ volatile("pause");
}

static void measurer(unsigned cpu, void *arg)
{
	u64 iters = 0, ticks = 0;
	u32 last;

	(void)arg;
	if (cpu != 1)
		return;
	/* Baseline: 100 ms of PM time alone. */
	last = pmtimer_read(pm);
	atomic_set(&ap_ready, 1);
	while (ticks < PMTMR_HZ / 10) {
		round_trip();
		iters++;
		ticks += pm_step(&last);
	}
	base_iters = iters;
	base_ticks = ticks;
	atomic_set(&phase, 1);
	/* During the flood, until the BSP says it is over. */
	iters = ticks = 0;
	last = pmtimer_read(pm);
	while (atomic_read(&phase) == 1) {
		round_trip();
		iters++;
		ticks += pm_step(&last);
	}
	flood_iters = iters;
	flood_ticks = ticks;
	atomic_set(&ap_finished, 1);
}

void test_main(const struct mb_info *mbi)
{
	u64 n_wrmsr = cmdline_u64("wrmsr", 100000, NULL);
	u64 n_hc = cmdline_u64("hc", 2000, NULL);
	u64 n_mmio = cmdline_u64("mmio", 4096, NULL);
	u64 n_ports = cmdline_u64("ports", 4096, NULL);
	u64 n_msr = cmdline_u64("msr", 20000, NULL);
	u64 starve = cmdline_u64("starve", 20, NULL);
	u64 bad, i, t0, base_rate, flood_rate;
	unsigned online;
	u32 tv_max;

	(void)mbi;
	pm = pmtimer_init();
	online = smp_init();
	plan(9);
	if (!tv_signature(&tv_max))
		skip_rest("not under tscvisor: the flood is of the hypervisor's log");
	if (!ok(pm != NULL && online >= 2, "a PM timer and 2 CPUs (%u online)", online))
		done();

	smp_start_aps(measurer, NULL);
	t0 = rdtsc();
	while (!atomic_read(&phase) && rdtsc() - t0 < 50ull * 1000 * 1000 * 1000)
		__asm__ volatile("pause");
	if (!ok(atomic_read(&phase) == 1, "CPU 1 measured its baseline"))
		done();

	for (i = 0, bad = 0; i < n_wrmsr; i++)
		bad += wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, (0x7ff00000ull + (i & 0xffff) * 64) | 1) != 13;
	ok(bad == 0, "%llu kvmclock WRMSRs of areas beyond RAM: each #GP (%llu not)",
	   (unsigned long long)n_wrmsr, (unsigned long long)bad);

	for (i = 0, bad = 0; i < n_hc; i++)
		bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0x7fe00000ull + (i & 0xff) * 4096, 0, 0, 0) >= 0;
	ok(bad == 0, "%llu pvclock-window hypercalls beyond RAM: each refused (%llu not)",
	   (unsigned long long)n_hc, (unsigned long long)bad);

	for (i = 0, bad = 0; i < n_mmio; i++) {
		volatile u32 *p = (volatile u32 *)(uintptr_t)(0x40000000ull + i * 4096);

		bad += *p != 0xffffffffu;
	}
	for (i = 0; i < n_ports; i++)
		bad += inb((u16)(0x2000 + i)) != 0xff;
	ok(bad == 0, "%llu unbacked pages and %llu unknown ports read all-ones (%llu not)",
	   (unsigned long long)n_mmio, (unsigned long long)n_ports, (unsigned long long)bad);

	for (i = 0, bad = 0; i < n_msr; i++) {
		u64 v;

		bad += rdmsr_safe(0x0badc000u + (u32)(i & 0xfff), &v) != 13;
	}
	ok(bad == 0, "%llu RDMSRs of MSRs that do not exist: each #GP (%llu not)",
	   (unsigned long long)n_msr, (unsigned long long)bad);

	atomic_set(&phase, 2);
	t0 = rdtsc();
	while (!atomic_read(&ap_finished) && rdtsc() - t0 < 50ull * 1000 * 1000 * 1000)
		__asm__ volatile("pause");
	smp_wait_aps(1000);
	ok(ap_finished, "CPU 1 finished its measurement");

	/* Round trips per PM-timer second. */
	base_rate = base_ticks ? base_iters * PMTMR_HZ / base_ticks : 0;
	flood_rate = flood_ticks ? flood_iters * PMTMR_HZ / flood_ticks : 0;
	diag("CPU 1: %llu round trips/s alone (%llu in %llu PM ticks), %llu/s during the flood "
	     "(%llu in %llu PM ticks)", (unsigned long long)base_rate,
	     (unsigned long long)base_iters, (unsigned long long)base_ticks,
	     (unsigned long long)flood_rate, (unsigned long long)flood_iters,
	     (unsigned long long)flood_ticks);
	ok(flood_iters > 0 && flood_rate * starve >= base_rate,
	   "CPU 1 not starved by the flood: %llu/s, at least 1/%llu of its %llu/s alone",
	   (unsigned long long)flood_rate, (unsigned long long)starve,
	   (unsigned long long)base_rate);
	diag("flood took %llu PM ticks (%llu ms)", (unsigned long long)flood_ticks,
	     (unsigned long long)(flood_ticks * 1000 / PMTMR_HZ));
	ok(1, "the console still works after the flood");
}
