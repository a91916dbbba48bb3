/* hlt_wake — HLT with interrupts enabled sleeps until an interrupt, and
 * wakes on it.
 *
 * Each case halts in a loop `cli; check; sti; hlt` and counts the HLT
 * returns: a HLT that returns without an interrupt (executed as a NOP)
 * shows up as many returns. Every halt has a rescue that ends it if the
 * expected interrupt never comes: the halted CPU's own LAPIC timer, or,
 * when that timer is what is being tested, an IPI from another CPU (with
 * one CPU there is none: a lost interrupt then hangs until the runner's
 * timeout, and the last diagnostic line says where). Cases:
 *   1. an IPI to self sent with interrupts off is pending at STI;HLT: the
 *      HLT returns at once (the STI shadow does not lose it);
 *   2. the BSP halts until its LAPIC one-shot timer fires (10 ms);
 *   3. the BSP halts until an AP sends it an IPI 10 ms later;
 *   4. every AP halts until the BSP sends it an IPI 10 ms later.
 * In each: woken by the right vector, once, the rescue unused; no
 * spurious interrupts.
 *
 * Options: delay_ms (the 10 ms, default 10); rescue_ms (default 1000);
 * inject_wakes=N expects N more HLT returns than one, a self-test that
 * must FAIL; the library's ap_idle=spin, ap_timeout_ms. */
#include "guest.h"

#define V_IPI 0x60
#define V_RESCUE 0x61
#define V_TIMER 0x62

static volatile u32 got_ipi[MAX_CPUS], got_rescue[MAX_CPUS], got_timer[MAX_CPUS];
static volatile u32 ap_wakes[MAX_CPUS], ap_ready[MAX_CPUS];
static volatile u32 bsp_awake;
static u64 delay_ms, rescue_ms, lapic_hz;
static u32 inject;

static void on_ipi(u8 v) { (void)v; atomic_inc(&got_ipi[smp_cpu()]); }
static void on_rescue(u8 v) { (void)v; atomic_inc(&got_rescue[smp_cpu()]); }
static void on_timer(u8 v) { (void)v; atomic_inc(&got_timer[smp_cpu()]); }

/* The LAPIC timer's rate at divide 16, against the TSC over 10 ms: only
 * for the rescue timers, which need not be precise. */
static u64 measure_lapic_hz(void)
{
	u32 c0, c1;

	lapic_timer_divide(16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | V_RESCUE);
	lapic_write(LAPIC_TMICT, 0xffffffffu);
	c0 = lapic_timer_count();
	udelay(10000);
	c1 = lapic_timer_count();
	lapic_timer_stop();
	return c1 < c0 ? (u64)(c0 - c1) * 100 : 0;
}

static void rescue_timer(u64 ms)
{
	u64 count = muldiv64(lapic_hz, ms, 1000);

	lapic_timer_divide(16);
	lapic_timer_oneshot(V_RESCUE, count > 0xffffffffu ? 0xffffffffu : (u32)count);
}

/* HLT until *a or *b reaches want; interrupts off on entry and exit.
 * Returns the number of HLT returns. */
static u32 halt_until(const volatile u32 *a, const volatile u32 *b, u32 want)
{
	u32 wakes = 0;

	while (atomic_read(a) < want && atomic_read(b) < want) {
		sti_hlt();
		wakes++;
		irq_disable();
	}
	return wakes;
}

/* Case 2's rescuer: AP 1 sends V_RESCUE to the BSP if it is still asleep
 * after rescue_ms. */
static void rescuer_job(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu != 1)
		return;
	if (!wait_count(&bsp_awake, 1, rescue_ms, false, NULL))
		lapic_ipi(smp.cpu[0].apic_id, V_RESCUE);
}

/* Case 3: the sender. */
static void sender_job(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu != 1)
		return;
	udelay(delay_ms * 1000);
	lapic_ipi(smp.cpu[0].apic_id, V_IPI);
}

/* Case 4: every AP sleeps until the BSP's IPI, its own timer as rescue. */
static void sleeper_job(unsigned cpu, void *arg)
{
	(void)arg;
	if (!cpu)
		return;
	irq_disable();
	rescue_timer(rescue_ms);
	atomic_set(&ap_ready[cpu], 1);
	ap_wakes[cpu] = halt_until(&got_ipi[cpu], &got_rescue[cpu], 1);
	lapic_timer_stop();
	irq_enable();
}

void test_main(const struct mb_info *mbi)
{
	unsigned online;
	u32 wakes, ipi0, rescue0;
	u64 t0, t1, delay_ticks;

	(void)mbi;
	delay_ms = cmdline_u64("delay_ms", 10, NULL);
	rescue_ms = cmdline_u64("rescue_ms", 1000, NULL);
	inject = (u32)cmdline_u64("inject_wakes", 0, NULL);
	online = smp_init();
	plan(5);
	if (!smp.cpu[0].lapic_ok)
		skip_rest("no usable local APIC");
	if (inject)
		diag("self-test: expecting %u more HLT return(s) than one", inject);
	irq_set_handler(V_IPI, on_ipi);
	irq_set_handler(V_RESCUE, on_rescue);
	irq_set_handler(V_TIMER, on_timer);
	lapic_hz = measure_lapic_hz();
	delay_ticks = us_to_tsc(delay_ms * 1000);
	diag("%u CPU(s); LAPIC timer %llu Hz at divide 16; delay %llu ms, rescue %llu ms", online,
	     (unsigned long long)lapic_hz, (unsigned long long)delay_ms,
	     (unsigned long long)rescue_ms);

	/* 1. A self IPI pending at STI;HLT. */
	irq_disable();
	rescue_timer(rescue_ms);
	lapic_ipi_self(V_IPI);
	t0 = rdtsc();
	wakes = halt_until(&got_ipi[0], &got_rescue[0], 1);
	t1 = rdtsc();
	lapic_timer_stop();
	ok(got_ipi[0] == 1 && got_rescue[0] == 0 && wakes == 1 + inject,
	   "a self IPI pending at STI;HLT wakes it at once (%llu us, %u HLT return(s), "
	   "rescued %u)", (unsigned long long)tsc_to_us(t1 - t0), wakes, got_rescue[0]);

	/* 2. The LAPIC timer wakes the BSP. */
	diag("case 2: HLT until the LAPIC timer (rescue: %s)",
	     online > 1 ? "an IPI from CPU 1" : "none, one CPU");
	if (online > 1)
		smp_start_aps(rescuer_job, NULL);
	irq_disable();
	lapic_timer_divide(16);
	t0 = rdtsc();
	lapic_timer_oneshot(V_TIMER, (u32)muldiv64(lapic_hz, delay_ms, 1000));
	wakes = halt_until(&got_timer[0], &got_rescue[0], 1);
	t1 = rdtsc();
	atomic_set(&bsp_awake, 1);
	lapic_timer_stop();
	if (online > 1 && !smp_wait_aps(rescue_ms + 1000))
		diag("case 2: the rescuer did not finish");
	ok(got_timer[0] == 1 && got_rescue[0] == 0 && wakes == 1 + inject &&
	   t1 - t0 >= delay_ticks * 9 / 10,
	   "HLT slept until the LAPIC timer (%llu us, %u HLT return(s), rescued %u)",
	   (unsigned long long)tsc_to_us(t1 - t0), wakes, got_rescue[0]);

	/* 3. An AP's IPI wakes the BSP. */
	if (online > 1) {
		ipi0 = got_ipi[0];
		rescue0 = got_rescue[0];
		irq_disable();
		rescue_timer(rescue_ms);
		t0 = rdtsc();
		smp_start_aps(sender_job, NULL);
		wakes = halt_until(&got_ipi[0], &got_rescue[0], ipi0 + 1);
		t1 = rdtsc();
		lapic_timer_stop();
		smp_wait_aps(1000);
		ok(got_ipi[0] == ipi0 + 1 && got_rescue[0] == rescue0 && wakes == 1 + inject &&
		   t1 - t0 >= delay_ticks * 9 / 10,
		   "HLT slept until CPU 1's IPI (%llu us, %u HLT return(s), rescued %u)",
		   (unsigned long long)tsc_to_us(t1 - t0), wakes, got_rescue[0] - rescue0);
	} else {
		skip("one CPU: no AP to send an IPI");
	}

	/* 4. The BSP's IPIs wake the APs. */
	if (online > 1) {
		bool good = true;

		smp_start_aps(sleeper_job, NULL);
		for (unsigned i = 1; i < smp.ncpus; i++)
			if (smp.cpu[i].state == CPU_ONLINE)
				wait_count(&ap_ready[i], 1, 1000, false, NULL);
		udelay(delay_ms * 1000);
		for (unsigned i = 1; i < smp.ncpus; i++)
			if (smp.cpu[i].state == CPU_ONLINE)
				lapic_ipi(smp.cpu[i].apic_id, V_IPI);
		if (!smp_wait_aps(rescue_ms + 1000)) {
			diag("case 4: not every AP finished");
			good = false;
		}
		for (unsigned i = 1; i < smp.ncpus; i++) {
			if (smp.cpu[i].state != CPU_ONLINE)
				continue;
			if (got_ipi[i] != 1 || got_rescue[i] || ap_wakes[i] != 1 + inject || !ap_ready[i]) {
				diag("case 4: CPU %u: %u IPI(s), rescued %u, %u HLT return(s)", i,
				     got_ipi[i], got_rescue[i], ap_wakes[i]);
				good = false;
			}
		}
		ok(good, "every AP slept in HLT until the BSP's IPI, waking once");
	} else {
		skip("one CPU: no AP to wake");
	}
	ok(lapic_spurious_count == 0, "no spurious interrupt (%u)", lapic_spurious_count);
}
