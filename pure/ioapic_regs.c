/* The I/O APIC's registers and pins (include/tscvisor/ioapic_regs.h), after
 * the 82093AA datasheet: IOREGSEL selects, IOWIN reads or writes the ID,
 * version, arbitration ID and the 64-bit redirection entries a dword at a
 * time. Pure: the caller locks and delivers. Everything here is bounded (one
 * message per call, IOAPIC_PINS for an EOI) whatever the guest wrote. */
#include <tscvisor/ioapic_regs.h>

void ioapic_regs_reset(struct ioapic_regs *s, uint8_t id)
{
	unsigned i;

	s->id = ((uint32_t)id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
	s->ioregsel = 0;
	s->line = 0;
	for (i = 0; i < IOAPIC_PINS; i++)
		s->rte[i] = IOAPIC_RTE_MASKED;
}

void ioapic_regs_sanitize(struct ioapic_regs *s)
{
	unsigned i;

	s->id &= IOAPIC_ID_MASK;
	s->ioregsel &= 0xff;
	s->line &= (1u << IOAPIC_PINS) - 1;
	for (i = 0; i < IOAPIC_PINS; i++) {
		s->rte[i] &= IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR;
		if (!(s->rte[i] & IOAPIC_RTE_LEVEL))
			s->rte[i] &= ~IOAPIC_RTE_REMOTE_IRR;
	}
}

uint32_t ioapic_regs_read(const struct ioapic_regs *s)
{
	uint32_t r = s->ioregsel;

	switch (r) {
	case IOAPIC_REG_ID:
		return s->id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION_VAL;
	case IOAPIC_REG_ARB:
		return s->id;            /* the arbitration ID is loaded from the ID */
	default:
		if (r >= IOAPIC_REG_REDIR && r < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS) {
			uint64_t e = s->rte[(r - IOAPIC_REG_REDIR) / 2];

			return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0;
	}
}

/* Send entry `pin`'s message if it should go now; a level message that a
 * local APIC accepts puts the entry in service (remote IRR). */
static void service(struct ioapic_regs *s, unsigned pin, ioapic_deliver_fn fn, void *ctx)
{
	uint64_t e = s->rte[pin];
	unsigned dm = (unsigned)((e & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT);
	struct ioapic_msg m;

	if (e & IOAPIC_RTE_MASKED)
		return;
	if ((e & IOAPIC_RTE_LEVEL) && (e & IOAPIC_RTE_REMOTE_IRR))
		return;
	/* Only fixed and lowest-priority messages are emulated. A vector
	 * below 16 is illegal: a local APIC would refuse it (and set its
	 * ESR), so no message goes and no entry enters service. */
	if ((dm != IOAPIC_DM_FIXED && dm != IOAPIC_DM_LOWEST) || (e & IOAPIC_RTE_VECTOR) < 16)
		return;
	m.vector = (uint8_t)(e & IOAPIC_RTE_VECTOR);
	m.delivery_mode = (uint8_t)dm;
	m.logical = !!(e & IOAPIC_RTE_DESTMODE);
	m.level = !!(e & IOAPIC_RTE_LEVEL);
	m.dest = (uint8_t)(e >> IOAPIC_RTE_DEST_SHIFT);
	m.pin = (uint8_t)pin;
	if (fn(ctx, &m) && m.level)
		s->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

void ioapic_regs_write(struct ioapic_regs *s, uint32_t val, ioapic_deliver_fn fn, void *ctx)
{
	uint32_t r = s->ioregsel;
	unsigned pin;
	uint64_t old, e;

	if (r == IOAPIC_REG_ID) {
		s->id = val & IOAPIC_ID_MASK;
		return;
	}
	if (r < IOAPIC_REG_REDIR || r >= IOAPIC_REG_REDIR + 2 * IOAPIC_PINS)
		return;                  /* version, arbitration, reserved: read-only */
	pin = (r - IOAPIC_REG_REDIR) / 2;
	old = s->rte[pin];
	if (r & 1)
		e = (old & 0xffffffffull) | ((uint64_t)val << 32);
	else
		e = (old & 0xffffffff00000000ull) | val;
	e = (e & IOAPIC_RTE_WRITABLE) | (old & IOAPIC_RTE_REMOTE_IRR);
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;   /* an edge entry is never in service */
	s->rte[pin] = e;
	if ((e & IOAPIC_RTE_LEVEL) && (s->line & (1u << pin)))
		service(s, pin, fn, ctx);
}

void ioapic_regs_set_line(struct ioapic_regs *s, unsigned pin, bool level, ioapic_deliver_fn fn, void *ctx)
{
	uint32_t bit, was;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	was = s->line & bit;
	if (!level) {
		s->line &= ~bit;
		return;
	}
	s->line |= bit;
	if (s->rte[pin] & IOAPIC_RTE_LEVEL)
		service(s, pin, fn, ctx);
	else if (!was)
		service(s, pin, fn, ctx);
}

void ioapic_regs_eoi(struct ioapic_regs *s, uint8_t vector, ioapic_deliver_fn fn, void *ctx)
{
	unsigned pin;

	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = s->rte[pin];

		if (!(e & IOAPIC_RTE_LEVEL) || !(e & IOAPIC_RTE_REMOTE_IRR) ||
		    (e & IOAPIC_RTE_VECTOR) != vector)
			continue;
		s->rte[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		if (s->line & (1u << pin))
			service(s, pin, fn, ctx);
	}
}
