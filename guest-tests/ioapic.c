/* ioapic — the I/O APIC at 0xFEC00000, as the MADT describes it, and PCI
 * configuration space with nothing in it.
 *
 * Checks:
 *   - the MADT: PCAT_COMPAT, one I/O APIC entry (address 0xFEC00000, GSI
 *     base 0), the overrides ISA IRQ 0 -> GSI 2 (flags 0) and IRQ 9 -> GSI 9
 *     level-triggered active-high (the FADT's SCI);
 *   - the registers: the ID register agrees with the MADT, keeps bits 27:24
 *     only, the arbitration register follows it; the version register is
 *     0x00170011 (version 0x11, maximum redirection entry 23) and read-only;
 *     IOREGSEL reads back; registers past the last entry read 0;
 *   - the 24 redirection entries: masked after reset; all-ones written
 *     reads back with the writable bits set and delivery status (12) and
 *     remote IRR (14) clear; a distinct pattern in every entry reads back;
 *   - every CPU (2 or more) hammering the entries at once (the IOAPIC is
 *     shared): afterwards no entry has a read-only or reserved bit set;
 *   - with pci=none: CONFIG_ADDRESS reads back as written, CONFIG_DATA reads
 *     all-ones for every device of bus 0.
 *   - with irq_source=uart: an actual interrupt through the IOAPIC from the
 *     UART's transmitter-empty interrupt on ISA IRQ 4 (pin 4): edge
 *     (delivered once, to the vector of the entry), then level (remote IRR
 *     set in the handler, cleared by the LAPIC's EOI), then masked (nothing).
 *     The UART's interrupt is not on every platform: off by default.
 *
 * Options: ioapic_version (the version the IOAPIC must have; without it
 * 0x11, the 82093AA's, or 0x20, QEMU's and later chipsets', pass),
 * reserved_zero=1 (reserved bits 17-55 of an entry read 0, as tscvisor's
 * do; QEMU's keep what is written), pci=none, irq_source=uart, hammer
 * (iterations per CPU, default 20000). */
#include "guest.h"

#define IOAPIC_DEFAULT 0xFEC00000u
#define IOREGSEL 0x00
#define IOWIN    0x10
#define REG_ID   0x00
#define REG_VER  0x01
#define REG_ARB  0x02
#define REG_RTE  0x10
#define PINS     24u

#define RTE_DELIVS    (1ull << 12)
#define RTE_REMOTE    (1ull << 14)
#define RTE_LEVEL     (1ull << 15)
#define RTE_MASKED    (1ull << 16)
#define RTE_RESERVED  0x00fffffffffe0000ull   /* bits 55:17 */
#define RTE_WRITABLE  (0xff0000000001ffffull & ~(RTE_DELIVS | RTE_REMOTE))

#define V_UART 0x48

static u64 ioapic = IOAPIC_DEFAULT;
static struct spinlock reglock;   /* IOREGSEL then IOWIN: one CPU at a time */

static u32 mmio_read(u32 off)
{
	u32 v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(ioapic + off) : "memory");
	return v;
}

static void mmio_write(u32 off, u32 v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(ioapic + off) : "memory");
}

static u32 io_read(u32 reg)
{
	u64 f = irq_save();
	u32 v;

	spin_lock(&reglock);
	mmio_write(IOREGSEL, reg);
	v = mmio_read(IOWIN);
	spin_unlock(&reglock);
	irq_restore(f);
	return v;
}

static void io_write(u32 reg, u32 v)
{
	u64 f = irq_save();

	spin_lock(&reglock);
	mmio_write(IOREGSEL, reg);
	mmio_write(IOWIN, v);
	spin_unlock(&reglock);
	irq_restore(f);
}

static u64 rte_read(unsigned pin)
{
	return ((u64)io_read(REG_RTE + 2 * pin + 1) << 32) | io_read(REG_RTE + 2 * pin);
}

/* High dword first: the entry is masked or its old self until the low
 * dword (vector, mask) lands. */
static void rte_write(unsigned pin, u64 e)
{
	io_write(REG_RTE + 2 * pin + 1, (u32)(e >> 32));
	io_write(REG_RTE + 2 * pin, (u32)e);
}

/* ---- the MADT ---- */

static u32 rd32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

struct madt_io {
	int ioapics;
	u32 addr, gsi_base;
	u8 id;
	bool iso0, iso9;
	u32 iso0_gsi, iso9_gsi;
	u16 iso0_flags, iso9_flags;
	u32 flags;
};

static bool read_madt(struct madt_io *m)
{
	const u8 *t = acpi_find_table("APIC");
	u32 len, off;

	memset(m, 0, sizeof(*m));
	if (!t)
		return false;
	len = rd32(t + 4);
	m->flags = rd32(t + 40);
	for (off = 44; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
		const u8 *e = t + off;

		if (e[0] == 1 && e[1] >= 12) {
			if (!m->ioapics++) {
				m->id = e[2];
				m->addr = rd32(e + 4);
				m->gsi_base = rd32(e + 8);
			}
		} else if (e[0] == 2 && e[1] >= 10 && e[2] == 0) {
			if (e[3] == 0) {
				m->iso0 = true;
				m->iso0_gsi = rd32(e + 4);
				m->iso0_flags = (u16)(e[8] | e[9] << 8);
			} else if (e[3] == 9) {
				m->iso9 = true;
				m->iso9_gsi = rd32(e + 4);
				m->iso9_flags = (u16)(e[8] | e[9] << 8);
			}
		}
	}
	return true;
}

/* ---- every CPU at once ---- */

static u64 hammer_n;
static volatile u32 hammer_done;

/* Unlocked on purpose: IOREGSEL races with the other CPUs', so each
 * IOWIN write lands in whatever entry is selected at that instant. The
 * IOAPIC must stay an IOAPIC. Bit 16 is set in every value: a low dword
 * written stays masked (a real machine's timer may be wired to a pin). */
static void hammer(unsigned cpu, void *arg)
{
	u64 i;

	(void)arg;
	for (i = 0; i < hammer_n; i++) {
		u32 reg = REG_RTE + (u32)((i * 7 + cpu * 13) % (2 * PINS));

		mmio_write(IOREGSEL, reg);
		mmio_write(IOWIN, (u32)(0xffffffffu - i * cpu) | (u32)RTE_MASKED);
		(void)mmio_read(IOWIN);
	}
	atomic_inc(&hammer_done);
}

/* ---- an actual interrupt: the UART's THRE on ISA IRQ 4 ---- */

#define COM1 0x3f8
#define UART_IER 1
#define UART_IIR 2
#define UART_MCR 4
#define IER_THRE 0x02
#define MCR_OUT2 0x08

static volatile u32 uart_irqs, uart_bad_vec;
static volatile u64 rte_in_handler;

static void on_uart(u8 v)
{
	if (v != V_UART)
		atomic_inc(&uart_bad_vec);
	/* In service: a level entry's remote IRR is set until the EOI the
	 * library sends after this handler. */
	mmio_write(IOREGSEL, REG_RTE + 2 * 4);
	rte_in_handler = mmio_read(IOWIN);
	outb(COM1 + UART_IER, 0);          /* source off ... */
	(void)inb(COM1 + UART_IIR);        /* ... and acknowledged */
	atomic_inc(&uart_irqs);
}

/* Enable THRE on the UART (the transmitter is empty: the interrupt is
 * raised at once) and wait up to 100 ms for it. */
static u32 uart_kick(void)
{
	u32 before = atomic_read(&uart_irqs);
	u64 end;

	outb(COM1 + UART_MCR, inb(COM1 + UART_MCR) | MCR_OUT2);
	irq_enable();
	outb(COM1 + UART_IER, IER_THRE);
	end = tsc_after_ms(100);
	while (atomic_read(&uart_irqs) == before && !timed_out(end))
		cpu_relax();
	udelay(2000);                      /* a second one would come now */
	irq_disable();
	outb(COM1 + UART_IER, 0);
	return atomic_read(&uart_irqs) - before;
}

static void test_uart_irq(void)
{
	u64 dest = (u64)lapic_id() << 56;
	u32 n;

	irq_set_handler(V_UART, on_uart);
	/* Edge, fixed, physical, to this CPU. */
	rte_write(4, dest | V_UART);
	n = uart_kick();
	ok(n == 1 && !uart_bad_vec, "edge entry: the UART's IRQ 4 arrives once at vector 0x%x (got %u)",
	   V_UART, n);
	ok(!(rte_in_handler & RTE_REMOTE), "edge entry: remote IRR clear in the handler (entry 0x%llx)",
	   (unsigned long long)rte_in_handler);
	/* Level: remote IRR set while in service, cleared by the EOI. */
	rte_write(4, dest | RTE_LEVEL | V_UART);
	n = uart_kick();
	ok(n == 1, "level entry: delivered once (got %u)", n);
	ok(rte_in_handler & RTE_REMOTE, "level entry: remote IRR set in the handler (entry 0x%llx)",
	   (unsigned long long)rte_in_handler);
	ok(!(rte_read(4) & RTE_REMOTE), "level entry: remote IRR cleared by the LAPIC's EOI (entry 0x%llx)",
	   (unsigned long long)rte_read(4));
	/* Masked: nothing. */
	rte_write(4, dest | RTE_MASKED | V_UART);
	n = uart_kick();
	ok(n == 0, "masked entry: nothing delivered (got %u)", n);
	irq_set_handler(V_UART, NULL);
}

void test_main(const struct mb_info *mbi)
{
	struct madt_io m;
	char opt[16];
	bool pci_none = cmdline_get("pci", opt, sizeof(opt)) && !strncmp(opt, "none", 5);
	bool uart = cmdline_get("irq_source", opt, sizeof(opt)) && !strncmp(opt, "uart", 5);
	bool res0 = cmdline_u64("reserved_zero", 0, NULL) != 0;
	bool ver_given;
	u32 want_ver = (u32)cmdline_u64("ioapic_version", 0x11, &ver_given);
	u32 id, v, bad, pin;
	unsigned cpus;
	u64 e;

	(void)mbi;
	hammer_n = cmdline_u64("hammer", 20000, NULL);
	plan(23 + (pci_none ? 3 : 0) + (uart ? 6 : 0));

	/* The MADT. */
	ok(read_madt(&m), "the MADT is there");
	ok(m.flags & 1, "MADT flags 0x%x: PCAT_COMPAT (8259s present)", m.flags);
	ok(m.ioapics == 1 && m.addr == IOAPIC_DEFAULT && m.gsi_base == 0,
	   "one I/O APIC in the MADT: %d, address 0x%x, GSI base %u", m.ioapics, m.addr, m.gsi_base);
	ok(m.iso0 && m.iso0_gsi == 2 && m.iso0_flags == 0,
	   "override IRQ 0 -> GSI %u, flags 0x%x", m.iso0_gsi, m.iso0_flags);
	ok(m.iso9 && m.iso9_gsi == 9 && m.iso9_flags == 0xd,
	   "override IRQ 9 (SCI) -> GSI %u, flags 0x%x (level, active high)", m.iso9_gsi, m.iso9_flags);
	if (m.ioapics && m.addr)
		ioapic = m.addr;

	if (!lapic_init())
		skip_rest("no local APIC");
	cpus = smp_init();
	diag("%u CPU(s) online", cpus);

	/* ID, version, arbitration. */
	id = io_read(REG_ID);
	ok(((id >> 24) & 0xf) == m.id, "IOAPIC ID register 0x%08x: ID %u as the MADT says (%u)", id,
	   (id >> 24) & 0xf, m.id);
	v = io_read(REG_VER);
	if (!ver_given && (v & 0xff) == 0x20)
		want_ver = 0x20;
	ok(v == (((PINS - 1) << 16) | want_ver),
	   "version register 0x%08x: version 0x%x, maximum redirection entry %u", v, v & 0xff, (v >> 16) & 0xff);
	io_write(REG_VER, 0);
	ok(io_read(REG_VER) == v, "version register read-only (0x%08x)", io_read(REG_VER));
	io_write(REG_ID, 0x0a000000u);
	ok(io_read(REG_ID) == 0x0a000000u, "ID register keeps a written ID (0x%08x)", io_read(REG_ID));
	io_write(REG_ID, 0xffffffffu);
	ok((io_read(REG_ID) & 0xf0ffffffu) == 0, "ID register: bits other than 27:24 read 0 (0x%08x)",
	   io_read(REG_ID));
	ok((io_read(REG_ARB) & 0x0f000000u) == (io_read(REG_ID) & 0x0f000000u),
	   "arbitration ID 0x%08x follows the ID", io_read(REG_ARB));
	io_write(REG_ID, id);
	mmio_write(IOREGSEL, 0x2a);
	ok((mmio_read(IOREGSEL) & 0xff) == 0x2a, "IOREGSEL reads back (0x%x)", mmio_read(IOREGSEL));

	/* The entries. */
	bad = 0;
	for (pin = 0; pin < PINS; pin++)
		if (!(rte_read(pin) & RTE_MASKED))
			bad++;
	ok(bad == 0, "all %u entries masked after reset (%u not)", PINS, bad);
	io_write(REG_RTE + 2 * PINS, 0x55);
	ok(io_read(REG_RTE + 2 * PINS) == 0 && io_read(REG_RTE + 2 * PINS + 1) == 0,
	   "register 0x%x (past entry 23) reads 0", REG_RTE + 2 * PINS);
	rte_write(7, ~0ull);
	e = rte_read(7);
	ok((e & ~RTE_RESERVED) == RTE_WRITABLE, "entry 7 with all-ones written: 0x%016llx, writable bits "
	   "set, delivery status and remote IRR clear", (unsigned long long)e);
	ok(!res0 || !(e & RTE_RESERVED), "entry 7: reserved bits 55:17 read 0 (%s)",
	   res0 ? "checked" : "not checked here");
	rte_write(7, RTE_MASKED);
	for (pin = 0; pin < PINS; pin++)
		rte_write(pin, RTE_MASKED | (u64)pin << 56 | (pin % 2 ? RTE_LEVEL : 0) | (0x30 + pin) |
			  (u64)(pin % 4 == 1) << 11 | (u64)(pin % 3 == 0) << 13 | (u64)(pin % 2) << 8);
	bad = 0;
	for (pin = 0; pin < PINS; pin++) {
		u64 want = RTE_MASKED | (u64)pin << 56 | (pin % 2 ? RTE_LEVEL : 0) | (0x30 + pin) |
			   (u64)(pin % 4 == 1) << 11 | (u64)(pin % 3 == 0) << 13 | (u64)(pin % 2) << 8;

		if ((rte_read(pin) & ~RTE_RESERVED) != want) {
			if (!bad)
				diag("entry %u: 0x%016llx, wrote 0x%016llx", pin,
				     (unsigned long long)rte_read(pin), (unsigned long long)want);
			bad++;
		}
	}
	ok(bad == 0, "a distinct pattern in each of the 24 entries reads back (%u differ)", bad);

	/* Every CPU at once. */
	if (cpus >= 2) {
		hammer_done = 0;
		smp_start_aps(hammer, NULL);
		hammer(0, NULL);
		bool waited = smp_wait_aps(20000);

		ok(waited && atomic_read(&hammer_done) == cpus,
		   "%u CPUs wrote entries at once, %llu writes each", atomic_read(&hammer_done),
		   (unsigned long long)hammer_n);
	} else {
		skip("one CPU: nothing to write at once");
	}
	bad = 0;
	for (pin = 0; pin < PINS; pin++) {
		e = rte_read(pin);
		if ((e & (RTE_DELIVS | RTE_REMOTE)) || (res0 && (e & RTE_RESERVED)))
			bad++;
		rte_write(pin, RTE_MASKED);
	}
	ok(bad == 0, "after that no entry has a read-only%s bit set (%u do)", res0 ? " or reserved" : "", bad);
	v = io_read(REG_VER);
	ok(v == (((PINS - 1) << 16) | want_ver), "version register still 0x%08x", v);
	ok(((io_read(REG_ID) >> 24) & 0xf) == m.id, "ID register still %u", (io_read(REG_ID) >> 24) & 0xf);
	bad = 0;
	for (pin = 0; pin < PINS; pin++)
		if (rte_read(pin) != RTE_MASKED)
			bad++;
	ok(bad == 0, "every entry masked again (%u not)", bad);

	/* PCI: the mechanism answers, no device does. */
	if (pci_none) {
		u32 dev, found = 0;

		outl(0xcf8, 0x80000000u);
		v = inl(0xcf8);
		outl(0xcf8, 0x80fff8fcu);
		ok(v == 0x80000000u && inl(0xcf8) == 0x80fff8fcu,
		   "PCI CONFIG_ADDRESS reads back as written (0x%08x, 0x%08x)", v, inl(0xcf8));
		for (dev = 0; dev < 32; dev++)
			if (pci_read32(0, (u8)dev, 0, 0) != 0xffffffffu)
				found++;
		ok(found == 0, "PCI bus 0: no device answers (%u did)", found);
		outl(0xcf8, 0x80000000u);
		ok(inb(0xcfc) == 0xff && inw(0xcfe) == 0xffff, "PCI CONFIG_DATA byte and word reads all-ones");
	}

	if (uart)
		test_uart_irq();
	ok(lapic_spurious_count == 0, "no spurious interrupts (%u)", lapic_spurious_count);
}
