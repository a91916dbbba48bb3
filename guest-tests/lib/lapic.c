/* lapic.c — the local APIC through its xAPIC MMIO page (SDM vol. 3A ch. 11).
 *
 * IA32_APIC_BASE (MSR 0x1b): bits 12 and up the page's physical address,
 * bit 8 BSP, bit 10 x2APIC mode (then the MMIO page is gone), bit 11 global
 * enable. Registers are 32 bits at 16-byte offsets. The SVR's bit 8
 * software-enables the APIC; until then every LVT stays masked and no
 * interrupt is accepted. Interrupt command: ICR high holds the destination
 * APIC ID in bits 31:24, and the write of ICR low sends. LVT timer: vector
 * in bits 7:0, mask bit 16, mode bits 18:17 (one-shot, periodic,
 * TSC-deadline); the count runs at the APIC's bus clock divided by TDCR
 * (bits 0, 1, 3: 0b1011 = 1, else 2 << (the three bits)). */
#include "guest.h"

u64 lapic_mmio;				/* the page's address; used by entry.asm */
volatile u32 lapic_spurious_count;

u32 lapic_read(u32 reg)
{
	u32 v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(lapic_mmio + reg) : "memory");
	return v;
}

void lapic_write(u32 reg, u32 v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(lapic_mmio + reg) : "memory");
}

static void spurious(u8 vector)
{
	(void)vector;
	atomic_inc(&lapic_spurious_count);
}

bool lapic_init(void)
{
	u64 base;
	u64 addr;

	if (!(cpuid(1).edx & (1u << 9))) {
		diag("lapic: CPUID.1:EDX[9] says there is no local APIC");
		return false;
	}
	base = rdmsr(MSR_APIC_BASE);
	addr = base & ~0xfffull;
	if (!(base & APIC_BASE_ENABLE) || (base & APIC_BASE_X2APIC) || addr >= (1ull << 32) ||
	    addr < (3ull << 30)) {
		diag("lapic: IA32_APIC_BASE 0x%lx: need an enabled xAPIC in 3-4 GiB",
		     base);
		return false;
	}
	if (lapic_mmio && lapic_mmio != addr) {
		diag("lapic: this CPU's APIC page 0x%lx is not the BSP's 0x%lx",
		     addr, lapic_mmio);
		return false;
	}
	lapic_mmio = addr;
	tsc_hz();			/* calibrated on the first CPU here */
	/* The BIOS leaves the 8259s unmasked (timer tick) behind LINT0 in
	 * virtual-wire mode: none of that may reach a test. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	irq_set_handler(LAPIC_SPURIOUS_VECTOR, spurious);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TMICT, 0);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
	return true;
}

/* The delivery status bit clears once the APIC has sent the IPI. */
static bool icr_idle(void)
{
	u64 end = tsc_after_ms(100);

	while (lapic_read(LAPIC_ICR_LO) & ICR_BUSY) {
		if (timed_out(end))
			return false;
		cpu_relax();
	}
	return true;
}

bool lapic_icr(u32 apic_id, u32 low)
{
	u64 flags = irq_save();
	bool was_idle = icr_idle();

	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, low);
	was_idle = icr_idle() && was_idle;
	irq_restore(flags);
	return was_idle;
}

bool lapic_timer_divide(unsigned divide)
{
	static const u8 code[8] = { 0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa };

	for (unsigned i = 0; i < 8; i++) {
		if (divide == 1u << i) {
			lapic_write(LAPIC_TDCR, code[i]);
			return true;
		}
	}
	return false;
}

void lapic_timer_oneshot(u8 vec, u32 count)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | vec);
	lapic_write(LAPIC_TMICT, count);
}

void lapic_timer_periodic(u8 vec, u32 count)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | vec);
	lapic_write(LAPIC_TMICT, count);
}

void lapic_timer_stop(void)
{
	u32 lvt = lapic_read(LAPIC_LVT_TIMER);

	if ((lvt & (3u << 17)) == LVT_TIMER_TSC_DEADLINE)
		wrmsr(MSR_TSC_DEADLINE, 0);
	lapic_write(LAPIC_TMICT, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | (lvt & 0xff));
}

void lapic_timer_tsc_deadline(u8 vec, u64 deadline)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | vec);
	mfence();
	wrmsr(MSR_TSC_DEADLINE, deadline);
}
