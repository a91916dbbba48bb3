/* Host tests of the I/O APIC's registers and pin logic (pure/ioapic_regs.c). */
#include "harness.h"
#include <tscvisor/ioapic_regs.h>

struct sink {
	unsigned n;
	struct ioapic_msg last;
	bool accept;
};

static bool deliver(void *ctx, const struct ioapic_msg *m)
{
	struct sink *k = ctx;

	k->n++;
	k->last = *m;
	return k->accept;
}

static uint32_t rd(struct ioapic_regs *s, uint32_t reg)
{
	s->ioregsel = reg;
	return ioapic_regs_read(s);
}

static void wr(struct ioapic_regs *s, uint32_t reg, uint32_t v, struct sink *k)
{
	s->ioregsel = reg;
	ioapic_regs_write(s, v, deliver, k);
}

static void set_rte(struct ioapic_regs *s, unsigned pin, uint64_t e, struct sink *k)
{
	wr(s, IOAPIC_REG_REDIR + 2 * pin + 1, (uint32_t)(e >> 32), k);
	wr(s, IOAPIC_REG_REDIR + 2 * pin, (uint32_t)e, k);
}

static uint64_t get_rte(struct ioapic_regs *s, unsigned pin)
{
	return ((uint64_t)rd(s, IOAPIC_REG_REDIR + 2 * pin + 1) << 32) | rd(s, IOAPIC_REG_REDIR + 2 * pin);
}

static void test_registers(void)
{
	struct ioapic_regs s;
	struct sink k = { .accept = true };
	unsigned i;

	ioapic_regs_reset(&s, 0);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_ID), 0);
	for (i = 0; i < IOAPIC_PINS; i++)
		CHECK_EQ_U64(get_rte(&s, i), IOAPIC_RTE_MASKED);
	/* ID: bits 27:24 only; arbitration follows it; version read-only. */
	wr(&s, IOAPIC_REG_ID, 0xffffffffu, &k);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_ID), 0x0f000000);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_ARB), 0x0f000000);
	wr(&s, IOAPIC_REG_VER, 0, &k);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_VER), 0x00170011);
	wr(&s, IOAPIC_REG_ID, 0x02000000u, &k);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_ID), 0x02000000);
	/* Entries: the writable bits kept, delivery status, remote IRR and
	 * reserved bits read 0 whatever was written. */
	set_rte(&s, 5, ~0ull, &k);
	CHECK_EQ_U64(get_rte(&s, 5), 0xff0000000001afffull);
	CHECK_EQ_U64(k.n, 0);                 /* masked: nothing sent */
	set_rte(&s, 23, 0x1200000000008931ull, &k);
	CHECK_EQ_U64(get_rte(&s, 23), 0x1200000000008931ull);
	/* Past the last entry and unknown registers: read 0, writes dropped. */
	wr(&s, IOAPIC_REG_REDIR + 2 * IOAPIC_PINS, 0x55, &k);
	CHECK_EQ_U64(rd(&s, IOAPIC_REG_REDIR + 2 * IOAPIC_PINS), 0);
	CHECK_EQ_U64(rd(&s, 0x03), 0);
	CHECK_EQ_U64(rd(&s, 0xff), 0);
	for (i = 0; i < IOAPIC_PINS; i++)
		if (i != 5 && i != 23)
			CHECK_EQ_U64(get_rte(&s, i), IOAPIC_RTE_MASKED);
}

static void test_edge(void)
{
	struct ioapic_regs s;
	struct sink k = { .accept = true };

	ioapic_regs_reset(&s, 0);
	set_rte(&s, 4, (3ull << 56) | 0x130 | IOAPIC_RTE_DESTMODE, &k);  /* lowest, logical, vector 0x30 */
	CHECK_EQ_U64(k.n, 0);
	ioapic_regs_set_line(&s, 4, true, deliver, &k);
	CHECK_EQ_U64(k.n, 1);
	CHECK_EQ_U64(k.last.vector, 0x30);
	CHECK_EQ_U64(k.last.delivery_mode, IOAPIC_DM_LOWEST);
	CHECK(k.last.logical);
	CHECK(!k.last.level);
	CHECK_EQ_U64(k.last.dest, 3);
	CHECK_EQ_U64(k.last.pin, 4);
	ioapic_regs_set_line(&s, 4, true, deliver, &k);    /* no new edge */
	CHECK_EQ_U64(k.n, 1);
	ioapic_regs_set_line(&s, 4, false, deliver, &k);
	ioapic_regs_set_line(&s, 4, true, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	CHECK_EQ_U64(get_rte(&s, 4) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Masked: the edge is lost, unmasking later sends nothing. */
	ioapic_regs_set_line(&s, 4, false, deliver, &k);
	set_rte(&s, 4, 0x30 | IOAPIC_RTE_MASKED, &k);
	ioapic_regs_set_line(&s, 4, true, deliver, &k);
	set_rte(&s, 4, 0x30, &k);
	CHECK_EQ_U64(k.n, 2);
	/* An EOI does nothing to edge entries. */
	ioapic_regs_eoi(&s, 0x30, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	/* Out-of-range pins are ignored. */
	ioapic_regs_set_line(&s, 24, true, deliver, &k);
	ioapic_regs_set_line(&s, 1000, true, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	CHECK_EQ_U64(s.line, 1u << 4);
}

static void test_level(void)
{
	struct ioapic_regs s;
	struct sink k = { .accept = true };

	ioapic_regs_reset(&s, 0);
	set_rte(&s, 9, IOAPIC_RTE_LEVEL | 0x41, &k);
	ioapic_regs_set_line(&s, 9, true, deliver, &k);
	CHECK_EQ_U64(k.n, 1);
	CHECK(k.last.level);
	CHECK(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* In service: asserting again sends nothing; a write keeps remote IRR. */
	ioapic_regs_set_line(&s, 9, true, deliver, &k);
	CHECK_EQ_U64(k.n, 1);
	set_rte(&s, 9, IOAPIC_RTE_LEVEL | 0x41, &k);
	CHECK(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	CHECK_EQ_U64(k.n, 1);
	/* EOI of another vector: nothing; of its vector with the line still
	 * asserted: sent again, back in service. */
	ioapic_regs_eoi(&s, 0x42, deliver, &k);
	CHECK_EQ_U64(k.n, 1);
	ioapic_regs_eoi(&s, 0x41, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	CHECK(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Line low, EOI: out of service, nothing sent. */
	ioapic_regs_set_line(&s, 9, false, deliver, &k);
	ioapic_regs_eoi(&s, 0x41, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	CHECK_EQ_U64(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Masked while asserted: sent when unmasked. */
	set_rte(&s, 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | 0x41, &k);
	ioapic_regs_set_line(&s, 9, true, deliver, &k);
	CHECK_EQ_U64(k.n, 2);
	set_rte(&s, 9, IOAPIC_RTE_LEVEL | 0x41, &k);
	CHECK_EQ_U64(k.n, 3);
	CHECK(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Switching to edge leaves service. */
	set_rte(&s, 9, 0x41, &k);
	CHECK_EQ_U64(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Accepted by no local APIC: the entry does not enter service, so
	 * nothing waits for an EOI that will never come. */
	k.accept = false;
	ioapic_regs_set_line(&s, 9, false, deliver, &k);
	set_rte(&s, 9, IOAPIC_RTE_LEVEL | 0x41, &k);
	ioapic_regs_set_line(&s, 9, true, deliver, &k);
	CHECK_EQ_U64(k.n, 4);
	CHECK_EQ_U64(get_rte(&s, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
}

/* A guest's hostile entries: illegal vectors and delivery modes not
 * emulated send nothing and never enter service; an EOI storm is bounded. */
static void test_hostile(void)
{
	struct ioapic_regs s;
	struct sink k = { .accept = true };
	unsigned pin, v;

	ioapic_regs_reset(&s, 0);
	set_rte(&s, 1, IOAPIC_RTE_LEVEL | 0x0f, &k);
	ioapic_regs_set_line(&s, 1, true, deliver, &k);
	set_rte(&s, 2, 0x0, &k);
	ioapic_regs_set_line(&s, 2, true, deliver, &k);
	set_rte(&s, 3, IOAPIC_RTE_LEVEL | (IOAPIC_DM_EXTINT << 8) | 0x40, &k);
	ioapic_regs_set_line(&s, 3, true, deliver, &k);
	set_rte(&s, 6, (IOAPIC_DM_NMI << 8) | 0x40, &k);
	ioapic_regs_set_line(&s, 6, true, deliver, &k);
	CHECK_EQ_U64(k.n, 0);
	CHECK_EQ_U64(get_rte(&s, 1) & IOAPIC_RTE_REMOTE_IRR, 0);
	CHECK_EQ_U64(get_rte(&s, 3) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Every pin level, same vector, asserted: one EOI sends each at most once. */
	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		set_rte(&s, pin, IOAPIC_RTE_LEVEL | 0x50, &k);
		ioapic_regs_set_line(&s, pin, true, deliver, &k);
	}
	CHECK_EQ_U64(k.n, IOAPIC_PINS);
	ioapic_regs_eoi(&s, 0x50, deliver, &k);
	CHECK_EQ_U64(k.n, 2 * IOAPIC_PINS);
	for (v = 0; v < 256; v++)
		ioapic_regs_eoi(&s, (uint8_t)v, deliver, &k);
	CHECK_EQ_U64(k.n, 3 * IOAPIC_PINS);
	/* sanitize: bits no IOAPIC holds go. */
	s.id = 0xffffffffu;
	s.ioregsel = 0x1234;
	s.line = ~0u;
	s.rte[0] = ~0ull;
	s.rte[1] = ~0ull & ~IOAPIC_RTE_LEVEL;
	ioapic_regs_sanitize(&s);
	CHECK_EQ_U64(s.id, 0x0f000000);
	CHECK_EQ_U64(s.ioregsel, 0x34);
	CHECK_EQ_U64(s.line, 0xffffff);
	CHECK_EQ_U64(s.rte[0], 0xff0000000001efffull);
	CHECK_EQ_U64(s.rte[1], 0xff00000000012fffull);
}

/* Random guest actions (register writes through IOREGSEL/IOWIN, line
 * changes, EOIs): the invariants hold after each, and no call sends more
 * messages than it may (one for a write or a line change, 24 for an EOI). */
static uint64_t rng = 0x0123456789abcdefull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random(void)
{
	struct ioapic_regs s;
	struct sink k = { .accept = true };
	unsigned i, bad = 0, over = 0, pin;
	uint64_t e;

	ioapic_regs_reset(&s, 0);
	for (i = 0; i < 200000; i++) {
		unsigned before = k.n, limit = 1;
		uint64_t r = rnd();

		k.accept = (r >> 40) & 1;
		switch (r % 4) {
		case 0:
			/* mostly entries, half of the low dwords unmasked and fixed */
			s.ioregsel = (r >> 63) ? (uint32_t)(r >> 8) & 0xff
					       : IOAPIC_REG_REDIR + (uint32_t)((r >> 8) % (2 * IOAPIC_PINS));
			ioapic_regs_write(&s, (r >> 62) & 1 ? (uint32_t)(r >> 16) & ~0x10700u
							    : (uint32_t)(r >> 16), deliver, &k);
			break;
		case 1:
			ioapic_regs_set_line(&s, (unsigned)(r >> 8) % 30, (r >> 16) & 1, deliver, &k);
			break;
		case 2:
			ioapic_regs_eoi(&s, (uint8_t)(0x30 + ((r >> 8) & 0x1f)), deliver, &k);
			limit = IOAPIC_PINS;
			break;
		default:
			s.ioregsel = (uint32_t)(r >> 8) & 0xff;
			(void)ioapic_regs_read(&s);
			limit = 0;
			break;
		}
		if (k.n - before > limit)
			over++;
		for (pin = 0; pin < IOAPIC_PINS; pin++) {
			e = s.rte[pin];
			if ((e & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR)) ||
			    ((e & IOAPIC_RTE_REMOTE_IRR) && !(e & IOAPIC_RTE_LEVEL)))
				bad++;
		}
		if ((s.id & ~IOAPIC_ID_MASK) || s.ioregsel > 0xff || (s.line >> IOAPIC_PINS))
			bad++;
	}
	CHECK_EQ_U64(bad, 0);
	CHECK_EQ_U64(over, 0);
	CHECK(k.n > 1000);               /* the walk did send messages */
	printf("# random walk: %u messages in 200000 actions\n", k.n);
}

int main(void)
{
	test_registers();
	test_edge();
	test_level();
	test_hostile();
	test_random();
	return th_done();
}
