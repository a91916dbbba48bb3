/* Host local APIC driver. */
#include <tscvisor/log.h>
#include "apic.h"
#include "percpu.h"
#include "insn.h"

#define ICR_BUSY           (1u << 12)   /* delivery status: send pending */
#define LVT_TSC_DEADLINE   (2u << 17)   /* timer mode, SDM Vol. 3A 11.5.1 */

static bool x2apic;
static volatile uint32_t *mmio;
static uint64_t timer_khz;        /* LAPIC timer ticks per ms at divide-by-1 */
static uint64_t host_tsc_khz;
static bool use_tsc_deadline;

static uint32_t rd(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + (reg >> 4));
	return mmio[reg / 4];
}

static void wr(uint32_t reg, uint32_t val)
{
	if (x2apic)
		wrmsr(MSR_X2APIC_FIRST + (reg >> 4), val);
	else
		mmio[reg / 4] = val;
}

void apic_init_cpu(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	uint32_t r[4];

	x2apic = base & APIC_BASE_X2APIC;
	mmio = (volatile uint32_t *)(uintptr_t)(base & ~0xfffull);
	wr(APIC_SVR, 0x100 | VEC_SPURIOUS);          /* software-enabled */
	wr(APIC_TPR, 0);                             /* firmware may leave it raised */
	wr(APIC_LVT_TIMER, 1u << 16);                /* masked until used */
	wr(APIC_TIMER_DCR, 0xb);                          /* divide by 1 */
	cpuid(1, r);
	use_tsc_deadline = r[2] & (1u << 24);
}

uint32_t apic_id(void)
{
	return x2apic ? rd(APIC_ID) : rd(APIC_ID) >> 24;
}

void hw_kick_cpu(unsigned cpu)
{
	apic_send_ipi(pcpus[cpu].apic_id, VEC_KICK);
}

void apic_eoi(void)
{
	wr(APIC_EOI, 0);
}

void apic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	unsigned spins = 0;

	if (x2apic) {
		wrmsr(MSR_X2APIC_FIRST + (APIC_ICR_LOW >> 4), ((uint64_t)dest << 32) | icr_lo);
		return;
	}
	wr(APIC_ICR_HIGH, dest << 24);
	wr(APIC_ICR_LOW, icr_lo);
	while ((rd(APIC_ICR_LOW) & ICR_BUSY) && ++spins < 1000000)
		cpu_relax();
}

/* One window: the timer's ticks over about 10 ms of TSC, each end of it
 * bracketed by two TSC reads. An emulator's vCPU thread can be descheduled
 * for tens of ms between a register access and the TSC read beside it
 * (QEMU TCG on a loaded host: a single unbracketed window read 1.5 to 4.3
 * GHz for QEMU's 1 GHz timer, and every host timer then fired that much
 * late); a window whose brackets are wider than 1/50 ms is thrown away. */
static uint64_t timer_window_khz(uint64_t tsc_khz)
{
	const uint32_t start = 0xffffffffu;
	uint64_t a, b, c, d, slack = tsc_khz / 50, ticks;

	a = rdtsc();
	wr(APIC_TIMER_ICR, start);
	b = rdtsc();
	while (rdtsc() - b < tsc_khz * 10)           /* 10 ms */
		cpu_relax();
	c = rdtsc();
	ticks = start - rd(APIC_TIMER_CCR);
	d = rdtsc();
	wr(APIC_TIMER_ICR, 0);
	if (b - a > slack || d - c > slack)
		return 0;
	/* ticks per kHz-cycle of the TSC between the brackets' midpoints */
	return (uint64_t)((unsigned __int128)ticks * tsc_khz / (((c + d) - (a + b)) / 2));
}

void apic_timer_calibrate(uint64_t tsc_khz)
{
	uint64_t khz[5], t;
	unsigned n = 0, tries, i, j;

	host_tsc_khz = tsc_khz;
	wr(APIC_LVT_TIMER, 1u << 16);                /* one-shot, masked */
	wr(APIC_TIMER_DCR, 0xb);
	/* The median of five undisturbed windows (at most 50 tries). */
	for (tries = 0; tries < 50 && n < 5; tries++) {
		t = timer_window_khz(tsc_khz);
		if (t)
			khz[n++] = t;
	}
	if (!n) {
		uint64_t t0 = rdtsc();

		log_warn("apic: timer calibration disturbed in all 50 windows; taking one as it is");
		wr(APIC_TIMER_ICR, 0xffffffffu);
		while (rdtsc() - t0 < tsc_khz * 10)
			cpu_relax();
		khz[n++] = (0xffffffffu - rd(APIC_TIMER_CCR)) / 10;
		wr(APIC_TIMER_ICR, 0);
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && khz[j - 1] > khz[j]; j--) {
			t = khz[j];
			khz[j] = khz[j - 1];
			khz[j - 1] = t;
		}
	timer_khz = khz[n / 2];
	if (!timer_khz)
		timer_khz = 1;
	log_info("apic: host %s, timer %lu kHz (median of %u windows, %u tries)%s",
		 x2apic ? "x2APIC" : "xAPIC", timer_khz, n, tries,
		 use_tsc_deadline ? ", TSC-deadline mode" : "");
}

uint64_t apic_timer_khz(void)
{
	return timer_khz;
}

void hw_timer_at(uint64_t deadline)
{
	struct pcpu *cpu = this_cpu();
	uint64_t now, ticks;

	/* Reprogramming costs LAPIC register writes (expensive when emulated):
	 * only when the deadline changed or the armed one has fired. */
	if (deadline == cpu->timer_armed && cpu->timer_irqs == cpu->timer_irqs_seen)
		return;
	cpu->timer_armed = deadline;
	cpu->timer_irqs_seen = cpu->timer_irqs;
	if (!deadline) {
		if (use_tsc_deadline)
			wrmsr(MSR_IA32_TSC_DEADLINE, 0);
		wr(APIC_TIMER_ICR, 0);
		return;
	}
	if (use_tsc_deadline) {
		wr(APIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_HOST_TIMER);
		wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		return;
	}
	now = rdtsc();
	ticks = deadline > now ?
		(uint64_t)((unsigned __int128)(deadline - now) * timer_khz / host_tsc_khz) : 1;
	if (!ticks)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	wr(APIC_LVT_TIMER, VEC_HOST_TIMER);          /* one-shot */
	wr(APIC_TIMER_ICR, (uint32_t)ticks);
}

void apic_debug_dump(void)
{
	log_dbg("apic: cpu apic id reg 0x%x, TPR 0x%x, PPR 0x%x, SVR 0x%x, IRR[7] 0x%x ISR[7] 0x%x",
		rd(APIC_ID), rd(APIC_TPR), rd(APIC_PPR), rd(APIC_SVR), rd(APIC_IRR + 0x70), rd(APIC_ISR + 0x70));
}
