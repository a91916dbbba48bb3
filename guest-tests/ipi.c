/* ipi — inter-processor interrupts through the xAPIC ICR reach exactly the
 * CPUs they name, exactly once each.
 *
 * Every vector used has a handler that counts (per CPU, per vector) and
 * EOIs; an interrupt on a vector without a handler fails the test. Each
 * sender waits for its IPI to be counted before sending the next (a second
 * IPI on a vector still pending in the IRR would legitimately merge with
 * the first), every wait bounded. Scenarios, count=N IPIs each:
 *   BSP -> each AP, fixed, destination = its APIC ID      (vector 0x40)
 *   each CPU -> itself, destination shorthand "self"       (0x41)
 *   each CPU -> itself, fixed to its own APIC ID            (0x42)
 *   BSP -> itself with interrupts off: held until STI      (0x45)
 *   AP i -> BSP, all APs at once, one vector per AP         (0x50 + i)
 *   BSP -> all but self                                     (0x43)
 *   last AP -> all but self                                 (0x44)
 * Then, after 20 ms for stragglers, every CPU's count of every vector must
 * be what was sent to it: nothing lost, duplicated or misrouted.
 *
 * Options: count=N (default 100); timeout_ms=M bound on each wait (default
 * 1000); inject_expect=K expects K more self IPIs than are sent (self-test,
 * must FAIL); and the library's ap_idle=spin, ap_timeout_ms. */
#include "guest.h"

#define V_BASE 0x40
#define V_TO_AP 0x40
#define V_SELF 0x41
#define V_SELF_ID 0x42
#define V_BCAST 0x43
#define V_BCAST_AP 0x44
#define V_HELD 0x45
#define V_TO_BSP 0x50		/* + AP index */
#define NVEC 0x20

static volatile u32 hits[MAX_CPUS][NVEC];
static volatile u32 send_fail, wait_fail;
static u32 count;
static u64 wait_ms;
static unsigned online;

static void count_irq(u8 vector)
{
	atomic_inc(&hits[smp_cpu()][vector - V_BASE]);
}

static volatile u32 *hit(unsigned cpu, u8 vector)
{
	return &hits[cpu][vector - V_BASE];
}

/* Waits, interrupts on, until *c reaches want. A scenario stops at its
 * first timeout. */
static bool await(const volatile u32 *c, u32 want)
{
	if (wait_count(c, want, wait_ms, false, NULL))
		return true;
	atomic_inc(&wait_fail);
	return false;
}

static void sent(bool ok_send)
{
	if (!ok_send)
		atomic_inc(&send_fail);
}

static void self_job(unsigned cpu, void *arg)
{
	(void)arg;
	for (u32 k = 0; k < count; k++) {
		sent(lapic_ipi_self(V_SELF));
		if (!await(hit(cpu, V_SELF), k + 1))
			break;
	}
	for (u32 k = 0; k < count; k++) {
		sent(lapic_ipi(smp.cpu[cpu].apic_id, V_SELF_ID));
		if (!await(hit(cpu, V_SELF_ID), k + 1))
			break;
	}
}

static void to_bsp_job(unsigned cpu, void *arg)
{
	u8 v = (u8)(V_TO_BSP + cpu);

	(void)arg;
	if (!cpu)
		return;
	for (u32 k = 0; k < count; k++) {
		sent(lapic_ipi(smp.cpu[0].apic_id, v));
		if (!await(hit(0, v), k + 1))
			break;
	}
}

/* Waits until every online CPU but `except` has counted want of v. */
static bool await_all(u8 v, unsigned except, u32 want)
{
	for (unsigned i = 0; i < smp.ncpus; i++)
		if (i != except && smp.cpu[i].state == CPU_ONLINE && !await(hit(i, v), want))
			return false;
	return true;
}

static void bcast_job(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu != online - 1)
		return;
	for (u32 k = 0; k < count; k++) {
		sent(lapic_ipi_all_but_self(V_BCAST_AP));
		if (!await_all(V_BCAST_AP, cpu, k + 1))
			break;
	}
}

/* Every online CPU's count of v equals want(cpu); diagnostics otherwise. */
static bool counts_are(u8 v, u32 (*want)(unsigned cpu, u8 v))
{
	bool good = true;

	for (unsigned i = 0; i < smp.ncpus; i++) {
		u32 w, got;

		if (smp.cpu[i].state != CPU_ONLINE)
			continue;
		w = want(i, v);
		got = atomic_read(hit(i, v));
		if (got != w) {
			diag("vector 0x%x: CPU %u took %u, expected %u", v, i, got, w);
			good = false;
		}
	}
	return good;
}

static u32 inject;

static u32 want_aps(unsigned cpu, u8 v) { (void)v; return cpu ? count : 0; }
static u32 want_all(unsigned cpu, u8 v) { (void)cpu; return count + (v == V_SELF ? inject : 0); }
static u32 want_bsp(unsigned cpu, u8 v) { return !cpu && v - V_TO_BSP < (int)online ? count : 0; }
static u32 want_not_last(unsigned cpu, u8 v) { (void)v; return cpu != online - 1 ? count : 0; }

void test_main(const struct mb_info *mbi)
{
	u32 before, after;
	bool held, to_bsp_ok = true;

	(void)mbi;
	count = (u32)cmdline_u64("count", 100, NULL);
	wait_ms = cmdline_u64("timeout_ms", 1000, NULL);
	inject = (u32)cmdline_u64("inject_expect", 0, NULL);
	online = smp_init();
	plan(8);
	if (inject)
		diag("self-test: expecting %u more self IPIs than are sent", inject);
	if (!smp.cpu[0].lapic_ok)
		skip_rest("no usable local APIC");
	for (unsigned v = V_BASE; v < V_BASE + NVEC; v++)
		irq_set_handler((u8)v, count_irq);
	diag("%u CPU(s) online; %u IPIs per scenario", online, count);

	/* BSP -> each AP. */
	if (online > 1) {
		for (unsigned i = 1; i < smp.ncpus; i++) {
			if (smp.cpu[i].state != CPU_ONLINE)
				continue;
			for (u32 k = 0; k < count; k++) {
				sent(lapic_ipi(smp.cpu[i].apic_id, V_TO_AP));
				if (!await(hit(i, V_TO_AP), k + 1))
					break;
			}
		}
	}

	/* Each CPU -> itself, both ways. */
	if (!smp_call_all(self_job, NULL, wait_ms * (2 * count + 1)))
		atomic_inc(&wait_fail);

	/* Held while IF = 0, taken at STI. */
	irq_disable();
	before = atomic_read(hit(0, V_HELD));
	sent(lapic_ipi_self(V_HELD));
	udelay(1000);
	after = atomic_read(hit(0, V_HELD));
	irq_enable();
	held = wait_count(hit(0, V_HELD), 1, wait_ms, false, NULL);
	irq_disable();
	ok(before == 0 && after == 0 && held && atomic_read(hit(0, V_HELD)) == 1,
	   "a self IPI sent with interrupts off waits for STI (taken %u time(s) before STI, "
	   "%u after)", after, atomic_read(hit(0, V_HELD)));

	/* APs -> BSP, all at once. */
	if (online > 1) {
		irq_enable();
		smp_start_aps(to_bsp_job, NULL);
		to_bsp_ok = smp_wait_aps(wait_ms * (count + 1));
		irq_disable();
		if (!to_bsp_ok)
			atomic_inc(&wait_fail);
	}

	/* Broadcasts. */
	if (online > 1) {
		for (u32 k = 0; k < count; k++) {
			sent(lapic_ipi_all_but_self(V_BCAST));
			if (!await_all(V_BCAST, 0, k + 1))
				break;
		}
		irq_enable();
		if (!smp_call_all(bcast_job, NULL, wait_ms * (count + 1)))
			atomic_inc(&wait_fail);
		irq_disable();
	}

	/* Late or duplicate deliveries get 20 ms to show up. */
	irq_enable();
	udelay(20000);
	irq_disable();

	if (online > 1)
		ok(counts_are(V_TO_AP, want_aps),
		   "BSP -> each AP (fixed, by APIC ID): %u IPIs each, none to the BSP", count);
	else
		skip("one CPU: no AP to send to");
	ok(counts_are(V_SELF, want_all),
	   "every CPU took %u self IPIs (shorthand self) on itself", count);
	ok(counts_are(V_SELF_ID, want_all),
	   "every CPU took %u fixed IPIs to its own APIC ID", count);
	if (online > 1) {
		bool good = true;

		for (unsigned i = 1; i < online; i++)
			good = counts_are((u8)(V_TO_BSP + i), want_bsp) && good;
		ok(good, "each AP -> BSP, concurrently: %u IPIs each on its own vector", count);
		ok(counts_are(V_BCAST, want_aps),
		   "BSP -> all but self: %u IPIs on every AP, none on the BSP", count);
		ok(counts_are(V_BCAST_AP, want_not_last),
		   "CPU %u -> all but self: %u IPIs on every other CPU, none on itself", online - 1,
		   count);
	} else {
		skip("one CPU: no AP to send from");
		skip("one CPU: nobody to broadcast to");
		skip("one CPU: nobody to broadcast to");
	}
	ok(!send_fail && !wait_fail && !lapic_spurious_count,
	   "no ICR stuck busy (%u), no wait timed out (%u), no spurious interrupt (%u)", send_fail,
	   wait_fail, lapic_spurious_count);
}
