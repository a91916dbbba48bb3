/* The virtual local APIC of a vCPU (SDM Vol. 3A ch. 11): xAPIC MMIO and
 * x2APIC MSRs over one register file, interrupt acceptance (IRR/ISR/PPR),
 * IPIs (fixed, INIT, SIPI; physical destination, self, all, all-but-self),
 * and the timer in one-shot, periodic and TSC-deadline modes. Timers are kept
 * as host TSC deadlines; the scheduler brings the vCPU back in time to fire
 * them (vmm/sched.c). Missed periodic ticks follow the VM's tick_policy. */
#include <string.h>
#include <tscvisor/apic_mode.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/lapic.h>
#include <tscvisor/io.h>
#include <tscvisor/save.h>
#include <tscvisor/guest.h>
#include <tscvisor/log.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

#define APIC_LVT_FIRST   APIC_LVT_TIMER
#define APIC_LVT_LAST    APIC_LVT_ERROR
#define APIC_VERSION_VAL 0x00050014u  /* integrated APIC, 6 LVT entries */
#define APIC_ID_SHIFT    24           /* xAPIC: the ID is bits 31:24 */
#define BROADCAST_XAPIC  0xffu        /* physical destination "all" */
#define BROADCAST_X2APIC 0xffffffffu
/* A vector's priority class is its upper four bits (SDM 11.8.3). */
#define PRIO_CLASS(x)    ((x) & 0xf0u)
/* The bits a guest's write keeps (SDM 11.4.6, 11.5.1, 11.6.2.2, 11.9). */
#define ID_WRITABLE      0xff000000u  /* xAPIC ID: bits 31:24 */
#define TPR_WRITABLE     0xffu        /* priority class and sub-class */
#define LDR_WRITABLE     0xff000000u  /* logical APIC ID */
#define DFR_ONES         0x0fffffffu  /* DFR: bits 27:0 read as ones */
#define SVR_WRITABLE     0x13ffu      /* vector, enable, focus check, EOI suppression */
#define LVT_TIMER_WRITABLE (0xffu | APIC_LVT_MASKED | (3u << 17))   /* vector, mask, mode */
#define LVT_WRITABLE     0x000317ffu  /* vector, delivery mode, polarity, trigger, mask */
#define TDCR_WRITABLE    0xbu         /* divide value bits 0, 1, 3 */

static uint32_t *reg(struct vcpu *v, uint32_t offset)
{
	return &v->lapic.regs[(offset >> 4) & (APIC_NR_REGS - 1)];
}

static bool x2apic_mode(const struct vcpu *v)
{
	return v->apic_base & APIC_BASE_X2APIC;
}

void lapic_reset(struct vcpu *v)
{
	uint32_t off;

	for (off = 0; off < APIC_REGS_END; off += 16)
		*reg(v, off) = 0;
	*reg(v, APIC_ID) = v->id << APIC_ID_SHIFT;
	*reg(v, APIC_DFR) = 0xffffffffu;
	*reg(v, APIC_SVR) = 0xff;            /* software-disabled, spurious vector 0xff */
	for (off = APIC_LVT_FIRST; off <= APIC_LVT_LAST; off += 16)
		*reg(v, off) = APIC_LVT_MASKED;
	v->lapic.timer.host_deadline = 0;
	v->lapic.timer.period = 0;
	v->lapic.timer.guest_deadline = 0;
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
	uint32_t tpr = *reg(v, APIC_TPR) & TPR_WRITABLE;
	int isr = highest_bit(v, APIC_ISR);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

	return PRIO_CLASS(tpr) >= PRIO_CLASS(isrv) ? tpr : PRIO_CLASS(isrv);
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

/* An interrupt from the I/O APIC: as lapic_accept(), and the trigger mode
 * goes to the TMR so that the EOI of a level-triggered vector is passed
 * back to the IOAPIC (eoi()). Whether the APIC accepted it. */
bool lapic_accept_irq(struct vcpu *v, uint8_t vector, bool level)
{
	uint32_t *tmr = reg(v, APIC_TMR + (vector / 32u) * 16), bit = 1u << (vector % 32);

	if (vector < 16 || !(__atomic_load_n(&v->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_ENABLE))
		return false;
	if (level)
		__atomic_or_fetch(tmr, bit, __ATOMIC_ACQ_REL);
	else
		__atomic_and_fetch(tmr, ~bit, __ATOMIC_ACQ_REL);
	lapic_accept(v, vector);
	return true;
}

/* The vector to deliver now, or -1 (SVR software-disabled delivers none). */
int lapic_pending(struct vcpu *v)
{
	int irr;

	if (!lapic_irr_any(v))
		return -1;      /* the common case on the exit path: nothing */
	irr = highest_bit(v, APIC_IRR);

	if (irr < 0 || !(*reg(v, APIC_SVR) & APIC_SVR_ENABLE) || !(v->apic_base & APIC_BASE_ENABLE))
		return -1;
	if (PRIO_CLASS((uint32_t)irr) <= PRIO_CLASS(ppr(v)))
		return -1;
	return irr;
}

/* The guest took `vector`: IRR -> ISR. */
void lapic_ack(struct vcpu *v, uint8_t vector)
{
	__atomic_and_fetch(reg(v, APIC_IRR + (vector / 32u) * 16), ~(1u << (vector % 32)), __ATOMIC_ACQ_REL);
	*reg(v, APIC_ISR + (vector / 32u) * 16) |= 1u << (vector % 32);
}

/* The highest in-service vector leaves service; a level-triggered one
 * (its TMR bit, set by lapic_accept_irq()) is broadcast to the I/O APIC,
 * whose entries with that vector leave service in turn (SDM 11.8.5). */
static void eoi(struct vcpu *v)
{
	int isr = highest_bit(v, APIC_ISR);
	uint32_t *tmr, bit;

	if (isr < 0)
		return;
	*reg(v, APIC_ISR + ((unsigned)isr / 32) * 16) &= ~(1u << (isr % 32));
	tmr = reg(v, APIC_TMR + ((unsigned)isr / 32) * 16);
	bit = 1u << (isr % 32);
	if (__atomic_load_n(tmr, __ATOMIC_ACQUIRE) & bit) {
		__atomic_and_fetch(tmr, ~bit, __ATOMIC_ACQ_REL);
		ioapic_eoi(v->vm, (uint8_t)isr);
	}
}

/* ---- timer ---- */

/* The virtual bus clock behind the one-shot and periodic modes (CPUID
 * 0x40000010 EBX says so to a guest), divided by TDCR. */
static uint64_t timer_divisor(struct vcpu *v)
{
	uint32_t d = *reg(v, APIC_TIMER_DCR);
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
	uint32_t count = *reg(v, APIC_TIMER_ICR);
	uint32_t lvt = *reg(v, APIC_LVT_TIMER);

	v->lapic.timer.host_deadline = 0;
	v->lapic.timer.period = 0;
	if (!count || APIC_LVT_TIMER_MODE(lvt) == APIC_TIMER_TSC_DEADLINE)
		return;
	v->lapic.timer.period = ticks_to_host(v, count);
	if (!v->lapic.timer.period)
		v->lapic.timer.period = 1;
	v->lapic.timer.host_deadline = vm_host_tsc() + v->lapic.timer.period;
}

/* Fire the timer if due: sets IRR (unless masked), re-arms periodic mode
 * per the VM's tick_policy. Called by the scheduler before every entry. */
void lapic_timer_check(struct vcpu *v, uint64_t now)
{
	uint32_t lvt = *reg(v, APIC_LVT_TIMER);
	uint8_t vec = APIC_VECTOR(lvt);
	uint64_t missed;

	/* catchup: one owed tick each time the last one has been taken. */
	if (v->lapic.timer.catchup && !(lvt & APIC_LVT_MASKED) &&
	    !(*reg(v, APIC_IRR + (vec / 32u) * 16) & (1u << (vec % 32)))) {
		v->lapic.timer.catchup--;
		lapic_accept(v, vec);
	}
	if (!v->lapic.timer.host_deadline || now < v->lapic.timer.host_deadline)
		return;
	if (!(lvt & APIC_LVT_MASKED))
		lapic_accept(v, (uint8_t)APIC_VECTOR(lvt));
	v->lapic.timer.fired++;
	if (v->lapic.timer.host_deadline > 1) {        /* 1 = "already due when armed" */
		v->lapic.timer.late_total += now - v->lapic.timer.host_deadline;
		if (now - v->lapic.timer.host_deadline > v->lapic.timer.late_max)
			v->lapic.timer.late_max = now - v->lapic.timer.host_deadline;
	}
	if (APIC_LVT_TIMER_MODE(lvt) == APIC_TIMER_PERIODIC && v->lapic.timer.period) {
		missed = (now - v->lapic.timer.host_deadline) / v->lapic.timer.period;
		switch (v->vm->cfg->tick_policy) {
		case TICK_CATCHUP:
			/* Deliver the missed ticks one per entry, as fast as the
			 * guest takes them, then resume the schedule. */
			v->lapic.timer.catchup += missed;
			v->lapic.timer.host_deadline += v->lapic.timer.period * (missed + 1);
			break;
		case TICK_MERGE:
		case TICK_DISCARD:
			/* One tick stands for all missed; the schedule is kept. */
			v->lapic.timer.host_deadline += v->lapic.timer.period * (missed + 1);
			break;
		case TICK_DELAY:
		default:
			/* Every tick, late: the next one a period after this. */
			v->lapic.timer.host_deadline = (missed ? now : v->lapic.timer.host_deadline) + v->lapic.timer.period;
			break;
		}
	} else {
		v->lapic.timer.host_deadline = 0;
		if (APIC_LVT_TIMER_MODE(lvt) == APIC_TIMER_TSC_DEADLINE)
			v->lapic.timer.guest_deadline = 0;   /* the MSR reads 0 once fired (SDM 11.5.4.1) */
	}
}

uint64_t lapic_next_deadline(struct vcpu *v)
{
	return v->lapic.timer.host_deadline;
}

uint64_t lapic_read_tsc_deadline(struct vcpu *v)
{
	return APIC_LVT_TIMER_MODE(*reg(v, APIC_LVT_TIMER)) == APIC_TIMER_TSC_DEADLINE ? v->lapic.timer.guest_deadline : 0;
}

void lapic_write_tsc_deadline(struct vcpu *v, uint64_t guest_tsc)
{
	if (APIC_LVT_TIMER_MODE(*reg(v, APIC_LVT_TIMER)) != APIC_TIMER_TSC_DEADLINE)
		return;                    /* ignored outside TSC-deadline mode */
	v->lapic.timer.guest_deadline = guest_tsc;
	v->lapic.timer.host_deadline = guest_tsc ? vmtime_guest_to_host(v, guest_tsc) : 0;
	if (guest_tsc && !v->lapic.timer.host_deadline)
		v->lapic.timer.host_deadline = 1;  /* already in the past: fire at once */
}

/* ---- IPIs ---- */

static void deliver(struct vcpu *from, struct vcpu *to, uint32_t icr_lo)
{
	uint8_t vector = APIC_VECTOR(icr_lo);

	/* No APIC to receive it, INIT and SIPI included (SDM 11.4.3). */
	if (!(__atomic_load_n(&to->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_ENABLE))
		return;

	switch (APIC_ICR_DELIVERY_MODE(icr_lo)) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:            /* lowest priority: to the named CPU */
		lapic_accept(to, vector);
		break;
	case APIC_DM_INIT:              /* level de-assert is a no-op */
		if ((icr_lo & APIC_ICR_ASSERT) || !(icr_lo & APIC_ICR_LEVEL))
			sched_init_vcpu(to);
		break;
	case APIC_DM_STARTUP:
		sched_sipi_vcpu(to, vector);
		break;
	default:
		vm_dbg(from->vm, "vm %s: vCPU %u: IPI delivery mode %u not emulated", from->vm->name, from->id,
				 APIC_ICR_DELIVERY_MODE(icr_lo));
		break;
	}
}

static void send_ipi(struct vcpu *v, uint32_t icr_lo, uint32_t dest)
{
	struct vm *vm = v->vm;
	unsigned shorthand = APIC_ICR_SHORTHAND(icr_lo), i;

	v->ipis_sent++;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];
		bool hit;

		switch (shorthand) {
		case APIC_DEST_SELF: hit = t == v; break;
		case APIC_DEST_ALL: hit = true; break;
		case APIC_DEST_ALL_BUT_SELF: hit = t != v; break;
		default:
			/* Physical destination; 0xff (xAPIC) / 0xffffffff (x2APIC)
			 * broadcast. Logical mode is not emulated. */
			hit = dest == t->id || dest == (x2apic_mode(v) ? BROADCAST_X2APIC : BROADCAST_XAPIC);
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
		return x2apic_mode(v) ? v->id : v->id << APIC_ID_SHIFT;
	case APIC_VERSION:
		return APIC_VERSION_VAL;
	case APIC_PPR:
		return ppr(v);
	case APIC_EOI:
	case APIC_SELF_IPI:
		return 0;
	case APIC_TIMER_CCR: {
		uint64_t now = vm_host_tsc(), left;
		bool ovf;

		if (!v->lapic.timer.host_deadline || now >= v->lapic.timer.host_deadline ||
		    APIC_LVT_TIMER_MODE(*reg(v, APIC_LVT_TIMER)) == APIC_TIMER_TSC_DEADLINE)
			return 0;
		left = mul_div_u64(v->lapic.timer.host_deadline - now, LAPIC_TIMER_KHZ,
				   v->vm->time.host.tsc_khz * timer_divisor(v), &ovf);
		return left > 0xffffffffu ? 0xffffffffu : (uint32_t)left;
	}
	default:
		return offset < APIC_REGS_END ? __atomic_load_n(reg(v, offset), __ATOMIC_ACQUIRE) : 0;
	}
}

void lapic_write(struct vcpu *v, uint32_t offset, uint32_t val)
{
	switch (offset) {
	case APIC_ID:
		if (!x2apic_mode(v))
			*reg(v, offset) = val & ID_WRITABLE;
		break;
	case APIC_TPR:
		*reg(v, offset) = val & TPR_WRITABLE;
		break;
	case APIC_EOI:
		eoi(v);
		break;
	case APIC_LDR:
		*reg(v, offset) = val & LDR_WRITABLE;
		break;
	case APIC_DFR:
		*reg(v, offset) = val | DFR_ONES;
		break;
	case APIC_SVR:
		*reg(v, offset) = val & SVR_WRITABLE;
		break;
	case APIC_ESR:
		*reg(v, offset) = 0;
		break;
	case APIC_ICR_LOW:
		*reg(v, offset) = val & ~APIC_ICR_PENDING;   /* delivery is instant: never "pending" */
		send_ipi(v, val, *reg(v, APIC_ICR_HIGH) >> APIC_DEST_SHIFT);
		break;
	case APIC_ICR_HIGH:
		*reg(v, offset) = val;
		break;
	case APIC_LVT_TIMER: {
		uint32_t old = *reg(v, offset);

		*reg(v, offset) = val & LVT_TIMER_WRITABLE;
		/* Switching into or out of TSC-deadline mode disarms the timer
		 * (SDM 11.5.4.1); one-shot <-> periodic keeps counting. */
		if ((APIC_LVT_TIMER_MODE(old) == APIC_TIMER_TSC_DEADLINE) != (APIC_LVT_TIMER_MODE(val) == APIC_TIMER_TSC_DEADLINE)) {
			v->lapic.timer.host_deadline = 0;
			v->lapic.timer.guest_deadline = 0;
			v->lapic.timer.period = 0;
			*reg(v, APIC_TIMER_ICR) = 0;
		} else if (APIC_LVT_TIMER_MODE(val) == APIC_TIMER_PERIODIC && v->lapic.timer.host_deadline && !v->lapic.timer.period) {
			v->lapic.timer.period = ticks_to_host(v, *reg(v, APIC_TIMER_ICR));
		}
		break;
	}
	case APIC_TIMER_ICR:
		*reg(v, offset) = val;
		timer_start_count(v);
		break;
	case APIC_TIMER_DCR:
		*reg(v, offset) = val & TDCR_WRITABLE;
		break;
	case APIC_SELF_IPI:
		if (x2apic_mode(v))
			lapic_accept(v, (uint8_t)val);
		break;
	default:
		if (offset > APIC_LVT_TIMER && offset <= APIC_LVT_LAST)
			*reg(v, offset) = val & LVT_WRITABLE;
		/* read-only and reserved registers: writes ignored */
		break;
	}
}

/* x2APIC MSRs MSR_X2APIC_FIRST..LAST (SDM 11.12.1): 0 = handled, -1 = #GP. */
int lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	uint32_t off = (msr - MSR_X2APIC_FIRST) << 4;

	if (!x2apic_mode(v) || off == APIC_DFR || off == APIC_ICR_HIGH || off == APIC_SELF_IPI)
		return -1;
	if (off == APIC_ICR_LOW) {
		*val = ((uint64_t)*reg(v, APIC_ICR_HIGH) << 32) | *reg(v, APIC_ICR_LOW);
		return 0;
	}
	*val = lapic_read(v, off);
	return 0;
}

int lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	uint32_t off = (msr - MSR_X2APIC_FIRST) << 4;

	if (!x2apic_mode(v) || off == APIC_ID || off == APIC_VERSION || off == APIC_PPR ||
	    off == APIC_LDR || off == APIC_DFR || off == APIC_ICR_HIGH || off == APIC_TIMER_CCR)
		return -1;
	if (off == APIC_ICR_LOW) {
		*reg(v, APIC_ICR_HIGH) = (uint32_t)(val >> 32);
		*reg(v, APIC_ICR_LOW) = (uint32_t)val;
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

	guest_cpuid(v, X86_CPUID_EXT_MAX_LEAF, 0, r);
	if (r[0] < X86_CPUID_ADDR_SIZES)
		return 36;          /* the SDM's MAXPHYADDR without the leaf */
	guest_cpuid(v, X86_CPUID_ADDR_SIZES, 0, r);
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
	if (apic_base_check(old, val, guest_maxphyaddr(v), !!(r[2] & X86_CPUID1_ECX_X2APIC)))
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

/* ---- the MMIO bus (include/tscvisor/io.h) ---- */

/* The xAPIC page answers only in xAPIC mode: in x2APIC mode MMIO "behaves
 * similar to that of a legacy xAPIC in globally disabled state" (SDM Vol.
 * 3A 11.12.2), and a disabled APIC is no device at all (11.4.3). */
static bool lapic_claims(struct vcpu *v, uint64_t gpa)
{
	uint64_t b = v->apic_base;

	return (b & (APIC_BASE_ENABLE | APIC_BASE_X2APIC)) == APIC_BASE_ENABLE &&
	       gpa - (b & ~(X86_PAGE_SIZE - 1)) < X86_PAGE_SIZE;
}

/* A read of part of a register gets those bytes of it. */
static uint64_t lapic_mmio_read(struct vcpu *v, void *dev, uint64_t gpa, unsigned size)
{
	uint32_t off = (uint32_t)(gpa & (X86_PAGE_SIZE - 1));

	(void)dev;
	(void)size;
	return lapic_read(v, off & ~0xfu) >> ((off & 3) * 8);
}

static void lapic_mmio_write(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, uint64_t val)
{
	(void)dev;
	(void)size;
	lapic_write(v, (uint32_t)(gpa & (X86_PAGE_SIZE - 1)), (uint32_t)val);
}

/* One region for every vCPU: the page each vCPU sees is its own LAPIC's,
 * wherever its IA32_APIC_BASE puts it. */
int lapic_create(struct vm *vm)
{
	return mmio_register(vm, &(struct mmio_region){
		.name = "lapic", .claims = lapic_claims, .read = lapic_mmio_read,
		.write = lapic_mmio_write });
}

/* ---- save and restore (docs/save-restore.md) ---- */

static unsigned timer_mode_of(const struct vcpu *v)
{
	if (!v->lapic.timer.host_deadline)
		return SNAP_TIMER_IDLE;
	switch (APIC_LVT_TIMER_MODE(v->lapic.regs[APIC_LVT_TIMER >> 4])) {
	case APIC_TIMER_PERIODIC: return SNAP_TIMER_PERIODIC;
	case APIC_TIMER_TSC_DEADLINE: return SNAP_TIMER_DEADLINE;
	default: return SNAP_TIMER_ONESHOT;
	}
}

/* IA32_APIC_BASE, the registers, and the timer as guest time left (or the
 * guest TSC deadline) at the save instant. */
void lapic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		struct snap_vcpu *sv = &s->vcpu[i];

		sv->apic_base = v->apic_base;
		memcpy(sv->lapic, v->lapic.regs, sizeof(sv->lapic));
		sv->timer_mode = timer_mode_of(v);
		sv->timer_deadline = sv->timer_mode == SNAP_TIMER_DEADLINE ? v->lapic.timer.guest_deadline : 0;
		if (sv->timer_mode == SNAP_TIMER_ONESHOT || sv->timer_mode == SNAP_TIMER_PERIODIC) {
			bool ovf;
			uint64_t left = v->lapic.timer.host_deadline > c->now ? v->lapic.timer.host_deadline - c->now : 0;

			/* host cycles -> guest TSC cycles at the VM's rate */
			sv->timer_remaining = mul_div_u64(left, vm->time.emul.guest_khz,
							  vm->time.host.tsc_khz, &ovf) + 1;
		}
	}
}

/* After the time: the timers resume with the guest time they had left, at
 * the guest's rate on this host (c->now is the instant the clocks resume). */
int lapic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		const struct snap_vcpu *sv = &s->vcpu[i];
		bool ovf;

		v->apic_base = sv->apic_base;
		memcpy(v->lapic.regs, sv->lapic, sizeof(v->lapic.regs));
		v->lapic.timer = (struct lapic_timer){ 0 };
		switch (sv->timer_mode) {
		case SNAP_TIMER_ONESHOT:
		case SNAP_TIMER_PERIODIC:
			v->lapic.timer.host_deadline = c->now + mul_div_u64(sv->timer_remaining, vm->time.host.tsc_khz,
								     vm->time.emul.guest_khz, &ovf);
			if (sv->timer_mode == SNAP_TIMER_PERIODIC)
				v->lapic.timer.period = ticks_to_host(v, *reg(v, APIC_TIMER_ICR));
			break;
		case SNAP_TIMER_DEADLINE:
			v->lapic.timer.guest_deadline = sv->timer_deadline;
			v->lapic.timer.host_deadline = vmtime_guest_to_host(v, sv->timer_deadline);
			if (!v->lapic.timer.host_deadline)
				v->lapic.timer.host_deadline = 1;
			break;
		default:
			break;
		}
	}
	return 0;
}
