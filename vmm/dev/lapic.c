/* The virtual local APIC of a vCPU (SDM Vol. 3A ch. 11): xAPIC MMIO and
 * x2APIC MSRs over one register file, interrupt acceptance (IRR/ISR/PPR),
 * IPIs (fixed, INIT, SIPI; physical destination, self, all, all-but-self),
 * and the timer in one-shot, periodic and TSC-deadline modes. Timers are kept
 * as host TSC deadlines; the scheduler brings the vCPU back in time to fire
 * them (vmm/sched.c). Missed periodic ticks follow the VM's tick_policy. */
#include <tscvisor/apic_mode.h>
#include <tscvisor/guest.h>
#include <tscvisor/log.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

#define APIC_ID      0x020
#define APIC_VERSION 0x030
#define APIC_TPR     0x080
#define APIC_APR     0x090
#define APIC_PPR     0x0a0
#define APIC_EOI     0x0b0
#define APIC_LDR     0x0d0
#define APIC_DFR     0x0e0
#define APIC_SVR     0x0f0
#define APIC_ISR     0x100
#define APIC_TMR     0x180
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_FIRST 0x320
#define APIC_LVT_LAST  0x370
#define APIC_TMICT   0x380
#define APIC_TMCCT   0x390
#define APIC_TDCR    0x3e0
#define APIC_SELF_IPI 0x3f0   /* x2APIC only */

#define LVT_MASKED   (1u << 16)
#define TIMER_MODE(lvt) (((lvt) >> 17) & 3)
#define TIMER_ONESHOT 0
#define TIMER_PERIODIC 1
#define TIMER_DEADLINE 2

static uint32_t *reg(struct vcpu *v, uint32_t offset)
{
	return &v->lapic_regs[(offset >> 4) & 63];
}

static bool x2apic_mode(const struct vcpu *v)
{
	return v->apic_base & APIC_BASE_EXTD;
}

void lapic_reset(struct vcpu *v)
{
	uint32_t off;

	for (off = 0; off < 0x400; off += 16)
		*reg(v, off) = 0;
	*reg(v, APIC_ID) = v->id << 24;
	*reg(v, APIC_DFR) = 0xffffffffu;
	*reg(v, APIC_SVR) = 0xff;            /* software-disabled, vector 0xff */
	for (off = APIC_LVT_FIRST; off <= APIC_LVT_LAST; off += 16)
		*reg(v, off) = LVT_MASKED;
	v->timer.host_deadline = 0;
	v->timer.period = 0;
	v->timer.guest_deadline = 0;
}

/* ---- interrupt acceptance (SDM 11.8) ---- */

static int highest_bit(struct vcpu *v, uint32_t base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		uint32_t w = __atomic_load_n(reg(v, base + (uint32_t)i * 16), __ATOMIC_ACQUIRE);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static uint32_t ppr(struct vcpu *v)
{
	uint32_t tpr = *reg(v, APIC_TPR) & 0xff;
	int isr = highest_bit(v, APIC_ISR);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

	return (tpr >> 4) >= (isrv >> 4) ? tpr : (isrv & 0xf0);
}

/* Make `vector` pending in v's IRR; callable from any pCPU. */
void lapic_accept(struct vcpu *v, uint8_t vector)
{
	if (vector < 16)
		return;              /* illegal vector: dropped (ESR would say so) */
	/* A globally disabled APIC accepts nothing (SDM Vol. 3A 11.4.3: the
	 * processor is then one without an APIC). A request racing with the
	 * disable may still land in the IRR: lapic_pending() ignores it while
	 * disabled and the reset on re-enable clears it. */
	if (!(__atomic_load_n(&v->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_ENABLE))
		return;
	__atomic_or_fetch(reg(v, APIC_IRR + (vector / 32u) * 16), 1u << (vector % 32), __ATOMIC_ACQ_REL);
	sched_wake(v);
}

/* The vector to deliver now, or -1 (SVR software-disabled delivers none). */
int lapic_pending(struct vcpu *v)
{
	int irr;

	if (!lapic_irr_any(v))
		return -1;      /* the common case on the exit path: nothing */
	irr = highest_bit(v, APIC_IRR);

	if (irr < 0 || !(*reg(v, APIC_SVR) & 0x100) || !(v->apic_base & APIC_BASE_ENABLE))
		return -1;
	if (((uint32_t)irr & 0xf0) <= (ppr(v) & 0xf0))
		return -1;
	return irr;
}

/* The guest took `vector`: IRR -> ISR. */
void lapic_ack(struct vcpu *v, uint8_t vector)
{
	__atomic_and_fetch(reg(v, APIC_IRR + (vector / 32u) * 16), ~(1u << (vector % 32)), __ATOMIC_ACQ_REL);
	*reg(v, APIC_ISR + (vector / 32u) * 16) |= 1u << (vector % 32);
}

static void eoi(struct vcpu *v)
{
	int isr = highest_bit(v, APIC_ISR);

	if (isr >= 0)
		*reg(v, APIC_ISR + ((unsigned)isr / 32) * 16) &= ~(1u << (isr % 32));
}

/* ---- timer ---- */

/* The virtual bus clock behind the one-shot and periodic modes (CPUID
 * 0x40000010 EBX says so to a guest), divided by TDCR. */
static uint64_t timer_divisor(struct vcpu *v)
{
	uint32_t d = *reg(v, APIC_TDCR);
	unsigned code = (d & 3) | ((d >> 1) & 4);

	return code == 7 ? 1 : 2u << code;
}

static uint64_t ticks_to_host(struct vcpu *v, uint64_t ticks)
{
	bool ovf;

	return mul_div_u64(ticks * timer_divisor(v), v->vm->time.host.tsc_khz, LAPIC_TIMER_KHZ, &ovf);
}

static void timer_start_count(struct vcpu *v)
{
	uint32_t count = *reg(v, APIC_TMICT);
	uint32_t lvt = *reg(v, APIC_LVT_TIMER);

	v->timer.host_deadline = 0;
	v->timer.period = 0;
	if (!count || TIMER_MODE(lvt) == TIMER_DEADLINE)
		return;
	v->timer.period = ticks_to_host(v, count);
	if (!v->timer.period)
		v->timer.period = 1;
	v->timer.host_deadline = vm_host_tsc() + v->timer.period;
}

/* Fire the timer if due: sets IRR (unless masked), re-arms periodic mode
 * per the VM's tick_policy. Called by the scheduler before every entry. */
void lapic_timer_check(struct vcpu *v, uint64_t now)
{
	uint32_t lvt = *reg(v, APIC_LVT_TIMER);
	uint8_t vec = lvt & 0xff;
	uint64_t missed;

	/* catchup: one owed tick each time the last one has been taken. */
	if (v->timer.catchup && !(lvt & LVT_MASKED) &&
	    !(*reg(v, APIC_IRR + (vec / 32u) * 16) & (1u << (vec % 32)))) {
		v->timer.catchup--;
		lapic_accept(v, vec);
	}
	if (!v->timer.host_deadline || now < v->timer.host_deadline)
		return;
	if (!(lvt & LVT_MASKED))
		lapic_accept(v, (uint8_t)(lvt & 0xff));
	v->timer.fired++;
	if (v->timer.host_deadline > 1) {        /* 1 = "already due when armed" */
		v->timer.late_total += now - v->timer.host_deadline;
		if (now - v->timer.host_deadline > v->timer.late_max)
			v->timer.late_max = now - v->timer.host_deadline;
	}
	if (TIMER_MODE(lvt) == TIMER_PERIODIC && v->timer.period) {
		missed = (now - v->timer.host_deadline) / v->timer.period;
		switch (v->vm->cfg->tick_policy) {
		case TICK_CATCHUP:
			/* Deliver the missed ticks one per entry, as fast as the
			 * guest takes them, then resume the schedule. */
			v->timer.catchup += missed;
			v->timer.host_deadline += v->timer.period * (missed + 1);
			break;
		case TICK_MERGE:
		case TICK_DISCARD:
			/* One tick stands for all missed; the schedule is kept. */
			v->timer.host_deadline += v->timer.period * (missed + 1);
			break;
		case TICK_DELAY:
		default:
			/* Every tick, late: the next one a period after this. */
			v->timer.host_deadline = (missed ? now : v->timer.host_deadline) + v->timer.period;
			break;
		}
	} else {
		v->timer.host_deadline = 0;
		if (TIMER_MODE(lvt) == TIMER_DEADLINE)
			v->timer.guest_deadline = 0;   /* the MSR reads 0 once fired (SDM 11.5.4.1) */
	}
}

uint64_t lapic_next_deadline(struct vcpu *v)
{
	return v->timer.host_deadline;
}

uint64_t lapic_read_tsc_deadline(struct vcpu *v)
{
	return TIMER_MODE(*reg(v, APIC_LVT_TIMER)) == TIMER_DEADLINE ? v->timer.guest_deadline : 0;
}

void lapic_write_tsc_deadline(struct vcpu *v, uint64_t guest_tsc)
{
	if (TIMER_MODE(*reg(v, APIC_LVT_TIMER)) != TIMER_DEADLINE)
		return;                    /* ignored outside TSC-deadline mode */
	v->timer.guest_deadline = guest_tsc;
	v->timer.host_deadline = guest_tsc ? vmtime_guest_to_host(v, guest_tsc) : 0;
	if (guest_tsc && !v->timer.host_deadline)
		v->timer.host_deadline = 1;  /* already in the past: fire at once */
}

/* ---- IPIs ---- */

static void deliver(struct vcpu *from, struct vcpu *to, uint32_t icr_lo)
{
	uint8_t vector = icr_lo & 0xff;

	/* No APIC to receive it, INIT and SIPI included (SDM 11.4.3). */
	if (!(__atomic_load_n(&to->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_ENABLE))
		return;

	switch ((icr_lo >> 8) & 7) {
	case 0:                         /* fixed */
	case 1:                         /* lowest priority: to the named CPU */
		lapic_accept(to, vector);
		break;
	case 5:                         /* INIT (level de-assert is a no-op) */
		if ((icr_lo & (1u << 14)) || !(icr_lo & (1u << 15)))
			sched_init_vcpu(to);
		break;
	case 6:                         /* start-up */
		sched_sipi_vcpu(to, vector);
		break;
	default:
		vm_dbg(from->vm, "vm %s: vCPU %u: IPI delivery mode %u not emulated", from->vm->name, from->id,
				 (icr_lo >> 8) & 7);
		break;
	}
}

static void send_ipi(struct vcpu *v, uint32_t icr_lo, uint32_t dest)
{
	struct vm *vm = v->vm;
	unsigned shorthand = (icr_lo >> 18) & 3, i;

	v->ipis_sent++;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];
		bool hit;

		switch (shorthand) {
		case 1: hit = t == v; break;
		case 2: hit = true; break;
		case 3: hit = t != v; break;
		default:
			/* Physical destination; 0xff (xAPIC) / 0xffffffff (x2APIC)
			 * broadcast. Logical mode is not emulated. */
			hit = dest == t->id || dest == (x2apic_mode(v) ? 0xffffffffu : 0xffu);
			break;
		}
		if (hit)
			deliver(v, t, icr_lo);
	}
}

/* ---- register access ---- */

uint32_t lapic_read(struct vcpu *v, uint32_t offset)
{
	switch (offset) {
	case APIC_ID:
		return x2apic_mode(v) ? v->id : v->id << 24;
	case APIC_VERSION:
		return 0x00050014;               /* integrated APIC, 6 LVT entries */
	case APIC_PPR:
		return ppr(v);
	case APIC_EOI:
	case APIC_SELF_IPI:
		return 0;
	case APIC_TMCCT: {
		uint64_t now = vm_host_tsc(), left;
		bool ovf;

		if (!v->timer.host_deadline || now >= v->timer.host_deadline ||
		    TIMER_MODE(*reg(v, APIC_LVT_TIMER)) == TIMER_DEADLINE)
			return 0;
		left = mul_div_u64(v->timer.host_deadline - now, LAPIC_TIMER_KHZ,
				   v->vm->time.host.tsc_khz * timer_divisor(v), &ovf);
		return left > 0xffffffffu ? 0xffffffffu : (uint32_t)left;
	}
	default:
		return offset < 0x400 ? __atomic_load_n(reg(v, offset), __ATOMIC_ACQUIRE) : 0;
	}
}

void lapic_write(struct vcpu *v, uint32_t offset, uint32_t val)
{
	switch (offset) {
	case APIC_ID:
		if (!x2apic_mode(v))
			*reg(v, offset) = val & 0xff000000u;
		break;
	case APIC_TPR:
		*reg(v, offset) = val & 0xff;
		break;
	case APIC_EOI:
		eoi(v);
		break;
	case APIC_LDR:
		*reg(v, offset) = val & 0xff000000u;
		break;
	case APIC_DFR:
		*reg(v, offset) = val | 0x0fffffffu;
		break;
	case APIC_SVR:
		*reg(v, offset) = val & 0x13ff;
		break;
	case APIC_ESR:
		*reg(v, offset) = 0;
		break;
	case APIC_ICR_LO:
		*reg(v, offset) = val & ~(1u << 12);   /* delivery is instant: never "pending" */
		send_ipi(v, val, *reg(v, APIC_ICR_HI) >> 24);
		break;
	case APIC_ICR_HI:
		*reg(v, offset) = val;
		break;
	case APIC_LVT_TIMER: {
		uint32_t old = *reg(v, offset);

		*reg(v, offset) = val & (0xff | LVT_MASKED | (3u << 17));
		/* Switching into or out of TSC-deadline mode disarms the timer
		 * (SDM 11.5.4.1); one-shot <-> periodic keeps counting. */
		if ((TIMER_MODE(old) == TIMER_DEADLINE) != (TIMER_MODE(val) == TIMER_DEADLINE)) {
			v->timer.host_deadline = 0;
			v->timer.guest_deadline = 0;
			v->timer.period = 0;
			*reg(v, APIC_TMICT) = 0;
		} else if (TIMER_MODE(val) == TIMER_PERIODIC && v->timer.host_deadline && !v->timer.period) {
			v->timer.period = ticks_to_host(v, *reg(v, APIC_TMICT));
		}
		break;
	}
	case APIC_TMICT:
		*reg(v, offset) = val;
		timer_start_count(v);
		break;
	case APIC_TDCR:
		*reg(v, offset) = val & 0xb;
		break;
	case APIC_SELF_IPI:
		if (x2apic_mode(v))
			lapic_accept(v, (uint8_t)val);
		break;
	default:
		if (offset > APIC_LVT_TIMER && offset <= APIC_LVT_LAST)
			*reg(v, offset) = val & 0x000317ffu;
		/* read-only and reserved registers: writes ignored */
		break;
	}
}

/* x2APIC MSRs 0x800-0x8ff (SDM 11.12.1): 0 = handled, -1 = #GP. */
int lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	uint32_t off = (msr - 0x800) << 4;

	if (!x2apic_mode(v) || off == APIC_DFR || off == APIC_ICR_HI || off == APIC_SELF_IPI)
		return -1;
	if (off == APIC_ICR_LO) {
		*val = ((uint64_t)*reg(v, APIC_ICR_HI) << 32) | *reg(v, APIC_ICR_LO);
		return 0;
	}
	*val = lapic_read(v, off);
	return 0;
}

int lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	uint32_t off = (msr - 0x800) << 4;

	if (!x2apic_mode(v) || off == APIC_ID || off == APIC_VERSION || off == APIC_PPR ||
	    off == APIC_LDR || off == APIC_DFR || off == APIC_ICR_HI || off == APIC_TMCCT)
		return -1;
	if (off == APIC_ICR_LO) {
		*reg(v, APIC_ICR_HI) = (uint32_t)(val >> 32);
		*reg(v, APIC_ICR_LO) = (uint32_t)val;
		send_ipi(v, (uint32_t)val, (uint32_t)(val >> 32));
		return 0;
	}
	lapic_write(v, off, (uint32_t)val);
	return 0;
}

/* The guest's view of its MAXPHYADDR and x2APIC support, through CPUID as
 * the guest sees it (so IA32_APIC_BASE and CPUID never disagree). */
static unsigned guest_maxphyaddr(struct vcpu *v)
{
	uint32_t r[4];

	guest_cpuid(v, 0x80000000u, 0, r);
	if (r[0] < 0x80000008u)
		return 36;
	guest_cpuid(v, 0x80000008u, 0, r);
	return r[0] & 0xff;
}

/* WRMSR IA32_APIC_BASE: 0, or -1 for #GP (apic_base_check()). Leaving the
 * enabled modes resets the APIC (SDM 11.4.3: "prior initialization to the
 * APIC may be lost and the APIC may return to the state described in
 * 11.4.7.1"): pending and in-service interrupts are dropped, the timer
 * stops, the LVTs are masked. Re-enabling starts from that reset state
 * again (clearing anything that raced with the disable). */
int lapic_write_apic_base(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->apic_base;
	uint32_t r[4];

	guest_cpuid(v, 1, 0, r);
	if (apic_base_check(old, val, guest_maxphyaddr(v), (r[2] >> 21) & 1))
		return -1;
	if ((old & APIC_BASE_ENABLE) && !(val & APIC_BASE_ENABLE)) {
		__atomic_store_n(&v->apic_base, val, __ATOMIC_RELEASE);
		lapic_reset(v);
		return 0;
	}
	if (!(old & APIC_BASE_ENABLE) && (val & APIC_BASE_ENABLE))
		lapic_reset(v);
	__atomic_store_n(&v->apic_base, val, __ATOMIC_RELEASE);
	return 0;
}
