/* Host tests of pure/acpi_build.c: the tables are checked field by field with
 * readers written here, then walked by the hypervisor's own parser
 * (pure/acpi.c) with address_base set to the buffer's host address. */
#include "harness.h"
#include <tscvisor/acpi_build.h>
#include <tscvisor/acpi.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/mman.h>

#define RAM_SIZE (2u << 20)
#define FILL     0xAA
#define PM_PORT  0x1808u
#define DSDT_LEN (36u + 71u)             /* header and the AML */

/* ---- independent readers ----------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static unsigned sum(const uint8_t *p, uint64_t len)
{
	unsigned s = 0;

	while (len--)
		s += *p++;
	return s & 0xff;
}

static uint8_t *map_ram(bool low)
{
	void *m = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (low ? MAP_32BIT : 0), -1, 0);

	if (m == MAP_FAILED)
		abort();
	memset(m, FILL, RAM_SIZE);
	return m;
}

static struct acpi_guest_params defaults(unsigned n)
{
	struct acpi_guest_params p;

	memset(&p, 0, sizeof(p));
	p.num_cpus = n;
	p.lapic_base = ACPI_GUEST_LAPIC_BASE;
	p.ioapic_addr = ACPI_GUEST_IOAPIC_BASE;
	p.ioapic_id = 0;
	p.pm_timer_port = PM_PORT;
	p.pm_timer_32bit = true;
	p.oem_id = "TSCVSR";
	p.oem_table_id = "TSCVTEST";
	p.oem_revision = 7;
	return p;
}

/* The MADT's length: a LAPIC entry per vCPU, and with an I/O APIC its
 * entry (12 bytes) and two interrupt source overrides (10 each). */
static uint32_t madt_len(const struct acpi_guest_params *p)
{
	return 44 + 8 * p->num_cpus + (p->ioapic_addr ? 12 + 2 * 10 : 0);
}

/* What a 32-bit address field must hold for address a. */
static uint32_t want32(uint64_t a)
{
	return a <= 0xFFFFFFFFu ? (uint32_t)a : 0;
}

/* The table at address `a` as written in the tables (address_base added). */
static const uint8_t *at(const uint8_t *ram, uint64_t base, uint64_t a)
{
	if (a < base || a - base >= RAM_SIZE)
		return NULL;
	return ram + (a - base);
}

static void check_header(const uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
			 const char *oem_id, const char *oem_table_id)
{
	CHECK(memcmp(t, sig, 4) == 0);
	CHECK_EQ_U64(rd32(t + 4), len);
	CHECK_EQ_U64(t[8], rev);
	CHECK_EQ_U64(sum(t, len), 0);
	CHECK(memcmp(t + 10, oem_id, 6) == 0);
	CHECK(memcmp(t + 16, oem_table_id, 8) == 0);
	CHECK_EQ_U64(rd32(t + 24), 7);
	CHECK(memcmp(t + 28, "TSCV", 4) == 0);
}

/* Where the 4-character name `seg` first appears in [p, p + len), or NULL. */
static const uint8_t *find_seg(const uint8_t *p, uint32_t len, const char *seg)
{
	uint32_t i;

	for (i = 0; i + 4 <= len; i++)
		if (memcmp(p + i, seg, 4) == 0)
			return p + i;
	return NULL;
}

/* EISA ID as the AML EisaId() macro packs it: three letters of 5 bits
 * ('A' = 1) and four hex digits, stored as a big-endian dword. */
static void eisa_id(const char *s, uint8_t out[4])
{
	unsigned v = (unsigned)(s[0] - '@') << 10 | (unsigned)(s[1] - '@') << 5 |
		     (unsigned)(s[2] - '@');
	unsigned prod = (unsigned)strtoul(s + 3, NULL, 16);

	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
	out[2] = (uint8_t)(prod >> 8);
	out[3] = (uint8_t)prod;
}

/* The DSDT's AML, read back with an independent reader of the few
 * encodings it uses: \_S5 a package whose first two elements are the S5
 * SLP_TYP, \_PIC a method of one argument, \_SB.PCI0 a device whose _HID
 * is PNP0A03 and whose _CRS is one bus-number range 0-255. */
static void check_aml(const uint8_t *dsdt)
{
	const uint8_t *aml = dsdt + 36, *e;
	uint32_t n = DSDT_LEN - 36;
	uint8_t pnp[4];

	e = find_seg(aml, n, "_S5_");
	CHECK(e && e == aml + 1 && e[-1] == 0x08);        /* NameOp at the root */
	if (e) {
		CHECK_EQ_U64(e[4], 0x12);                   /* PackageOp */
		CHECK_EQ_U64(e[5], 8);                      /* PkgLength */
		CHECK_EQ_U64(e[6], 4);                      /* elements */
		CHECK_EQ_U64(e[7], 0x0A);
		CHECK_EQ_U64(e[8], ACPI_GUEST_SLP_TYP_S5);
		CHECK_EQ_U64(e[9], 0x0A);
		CHECK_EQ_U64(e[10], ACPI_GUEST_SLP_TYP_S5);
		CHECK(ACPI_GUEST_SLP_TYP_S5 <= 7);           /* SLP_TYP is 3 bits */
	}
	e = find_seg(aml, n, "_PIC");
	CHECK(e && e[-2] == 0x14 && e[-1] == 6 && e[4] == 1);   /* Method, 1 argument */
	e = find_seg(aml, n, "PCI0");
	CHECK(e != NULL);
	if (e) {
		CHECK(memcmp(e - 6, "\\\x2E_SB_", 6) == 0);    /* \_SB.PCI0 */
		CHECK(e[-9] == 0x5B && e[-8] == 0x82);     /* Device */
		CHECK_EQ_U64(e[-7], 1 + 10 + 10 + 27);      /* PkgLength: to the end */
		CHECK(e - 9 + 2 + e[-7] == aml + n);
	}
	e = find_seg(aml, n, "_HID");
	eisa_id("PNP0A03", pnp);
	CHECK(e && e[4] == 0x0C && memcmp(e + 5, pnp, 4) == 0);
	e = find_seg(aml, n, "_CRS");
	CHECK(e != NULL);
	if (e) {
		const uint8_t *d = e + 8;               /* BufferOp, PkgLength, 0x0A, size */

		CHECK_EQ_U64(e[4], 0x11);
		CHECK_EQ_U64(e[6], 0x0A);
		CHECK_EQ_U64(e[7], 18);
		CHECK(d + 18 == aml + n);
		CHECK_EQ_U64(d[0], 0x88);               /* Word Address Space */
		CHECK_EQ_U64(rd16(d + 1), 13);
		CHECK_EQ_U64(d[3], 2);                  /* bus numbers */
		CHECK_EQ_U64(rd16(d + 8), 0);           /* minimum */
		CHECK_EQ_U64(rd16(d + 10), 0xFF);       /* maximum */
		CHECK_EQ_U64(rd16(d + 14), 0x100);      /* length */
		CHECK_EQ_U64(d[16], 0x79);              /* End Tag */
	}
}

/* Verify every table of a build into `ram` with parameters p. */
static void verify(const uint8_t *ram, const struct acpi_guest_params *p,
		   const struct acpi_build_result *r)
{
	uint64_t b = p->address_base;
	const uint8_t *rsdp = ram + ACPI_GUEST_RSDP_GPA, *rsdt, *xsdt, *fadt, *madt, *facs, *dsdt;
	const char *oem = "TSCVSR", *tid = "TSCVTEST";
	uint64_t facs_addr, dsdt_addr;
	unsigned i;

	CHECK(r->error == NULL);
	CHECK_EQ_U64(r->rsdp, ACPI_GUEST_RSDP_GPA);
	CHECK_EQ_U64(r->area_start, 0xE0000);
	CHECK_EQ_U64(r->area_end, 0x100000);

	/* RSDP: revision 2, 36 bytes, both checksums, in both scan ranges. */
	CHECK(r->rsdp >= 0xF0000 && r->rsdp + 36 <= 0x100000 && r->rsdp % 16 == 0);
	CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
	CHECK_EQ_U64(sum(rsdp, 20), 0);
	CHECK_EQ_U64(rsdp[15], 2);
	CHECK_EQ_U64(rd32(rsdp + 20), 36);
	CHECK_EQ_U64(sum(rsdp, 36), 0);
	CHECK(memcmp(rsdp + 9, oem, 6) == 0);
	CHECK_EQ_U64(rd32(rsdp + 16), want32(b + r->rsdt));
	CHECK_EQ_U64(rd64(rsdp + 24), b + r->xsdt);

	/* Every table inside the area, below 1 MiB. */
	CHECK(r->facs >= 0xE0000 && r->facs + 64 <= 0x100000 && r->facs % 64 == 0);
	CHECK(r->dsdt >= 0xE0000 && r->dsdt + DSDT_LEN <= 0x100000);
	CHECK(r->fadt >= 0xE0000 && r->fadt + 276 <= 0x100000);
	CHECK(r->rsdt >= 0xE0000 && r->rsdt + 44 <= 0x100000);
	CHECK(r->xsdt >= 0xE0000 && r->xsdt + 52 <= 0x100000);
	CHECK(r->madt >= 0xE0000 && r->madt + madt_len(p) <= 0x100000);
	CHECK(r->madt + madt_len(p) <= r->rsdp || r->madt >= r->rsdp + 36);

	/* XSDT: 64-bit entries to FACP and APIC. */
	xsdt = at(ram, b, rd64(rsdp + 24));
	CHECK(xsdt != NULL);
	if (!xsdt)
		return;
	check_header(xsdt, "XSDT", 52, 1, oem, tid);
	CHECK_EQ_U64(rd64(xsdt + 36), b + r->fadt);
	CHECK_EQ_U64(rd64(xsdt + 44), b + r->madt);
	fadt = at(ram, b, rd64(xsdt + 36));
	madt = at(ram, b, rd64(xsdt + 44));
	CHECK(fadt && madt);
	if (!fadt || !madt)
		return;

	/* RSDT: 32-bit entries, the same tables (0 when out of reach). */
	rsdt = ram + r->rsdt;
	check_header(rsdt, "RSDT", 44, 1, oem, tid);
	CHECK_EQ_U64(rd32(rsdt + 36), want32(b + r->fadt));
	CHECK_EQ_U64(rd32(rsdt + 40), want32(b + r->madt));

	/* FADT, revision 6.0 layout. */
	check_header(fadt, "FACP", 276, 6, oem, tid);
	CHECK_EQ_U64(fadt[131], 0);                     /* minor version */
	facs_addr = rd32(fadt + 36) ? rd32(fadt + 36) : rd64(fadt + 132);
	CHECK(rd32(fadt + 36) == 0 || rd64(fadt + 132) == 0);   /* at most one */
	CHECK_EQ_U64(facs_addr, b + r->facs);
	CHECK_EQ_U64(rd32(fadt + 36), want32(b + r->facs));
	dsdt_addr = rd64(fadt + 140);
	CHECK_EQ_U64(dsdt_addr, b + r->dsdt);
	CHECK_EQ_U64(rd32(fadt + 40), want32(b + r->dsdt));
	CHECK_EQ_U64(rd16(fadt + 46), 9);               /* SCI_INT */
	CHECK_EQ_U64(rd32(fadt + 48), 0);               /* SMI_CMD: ACPI already on */
	CHECK_EQ_U64(fadt[52], 0);
	CHECK_EQ_U64(fadt[53], 0);
	/* PM1a event block (4 bytes at 0x600), control block (2 at 0x604),
	 * nothing for PM1b, PM2, GPE0/1; the X_ forms agree. */
	CHECK_EQ_U64(rd32(fadt + 56), 0x600);           /* PM1a_EVT_BLK */
	CHECK_EQ_U64(rd32(fadt + 60), 0);               /* PM1b_EVT_BLK */
	CHECK_EQ_U64(rd32(fadt + 64), 0x604);           /* PM1a_CNT_BLK */
	CHECK_EQ_U64(rd32(fadt + 68), 0);               /* PM1b_CNT_BLK */
	CHECK_EQ_U64(rd32(fadt + 72), 0);               /* PM2_CNT_BLK */
	CHECK_EQ_U64(rd32(fadt + 80), 0);               /* GPE0_BLK */
	CHECK_EQ_U64(rd32(fadt + 84), 0);               /* GPE1_BLK */
	CHECK_EQ_U64(fadt[88], 4);                      /* PM1_EVT_LEN */
	CHECK_EQ_U64(fadt[89], 2);                      /* PM1_CNT_LEN */
	CHECK_EQ_U64(fadt[90], 0);                      /* PM2_CNT_LEN */
	CHECK_EQ_U64(fadt[92], 0);                      /* GPE0_BLK_LEN */
	CHECK_EQ_U64(fadt[148], 1);                     /* X_PM1a_EVT_BLK: System I/O */
	CHECK_EQ_U64(fadt[149], 32);
	CHECK_EQ_U64(fadt[150], 0);
	CHECK_EQ_U64(fadt[151], 2);                     /* word access */
	CHECK_EQ_U64(rd64(fadt + 152), 0x600);
	CHECK_EQ_U64(fadt[172], 1);                     /* X_PM1a_CNT_BLK */
	CHECK_EQ_U64(fadt[173], 16);
	CHECK_EQ_U64(fadt[174], 0);
	CHECK_EQ_U64(fadt[175], 2);
	CHECK_EQ_U64(rd64(fadt + 176), 0x604);
	{
		static const uint8_t zero[12];

		CHECK(memcmp(fadt + 160, zero, 12) == 0);   /* X_PM1b_EVT_BLK */
		CHECK(memcmp(fadt + 184, zero, 12) == 0);   /* X_PM1b_CNT_BLK */
		CHECK(memcmp(fadt + 196, zero, 12) == 0);   /* X_PM2_CNT_BLK */
		CHECK(memcmp(fadt + 220, zero, 12) == 0);   /* X_GPE0_BLK */
	}
	CHECK_EQ_U64(rd32(fadt + 76), p->pm_timer_port);
	CHECK_EQ_U64(fadt[91], p->pm_timer_port ? 4 : 0);
	if (p->pm_timer_port) {
		CHECK_EQ_U64(fadt[208], 1);             /* System I/O */
		CHECK_EQ_U64(fadt[209], 32);
		CHECK_EQ_U64(fadt[210], 0);
		CHECK_EQ_U64(fadt[211], 3);             /* dword access */
		CHECK_EQ_U64(rd64(fadt + 212), p->pm_timer_port);
	} else {
		static const uint8_t zero[12];

		CHECK(memcmp(fadt + 208, zero, 12) == 0);
	}
	CHECK_EQ_U64((rd32(fadt + 112) >> 8) & 1, p->pm_timer_port && p->pm_timer_32bit);
	CHECK_EQ_U64((rd32(fadt + 112) >> 20) & 1, 0); /* not HW-reduced */
	CHECK_EQ_U64((rd32(fadt + 112) >> 4) & 3, 3);  /* no fixed power/sleep buttons */
	CHECK_EQ_U64(rd32(fadt + 112) & 1, 1);          /* WBINVD */
	CHECK_EQ_U64(rd16(fadt + 109) & 1, 1);          /* legacy devices */
	CHECK_EQ_U64(rd16(fadt + 109) & 2, 0);          /* no 8042 */
	CHECK(memcmp(fadt + 268, "TSCVISOR", 8) == 0);

	/* FACS and DSDT. */
	facs = at(ram, b, facs_addr);
	dsdt = at(ram, b, dsdt_addr);
	CHECK(facs && dsdt);
	if (facs) {
		CHECK(memcmp(facs, "FACS", 4) == 0);
		CHECK_EQ_U64(rd32(facs + 4), 64);
		CHECK_EQ_U64(facs[32], 2);
		CHECK_EQ_U64(rd32(facs + 16), 0);       /* global lock free */
	}
	if (dsdt) {
		check_header(dsdt, "DSDT", DSDT_LEN, 2, oem, tid);
		check_aml(dsdt);
	}

	/* MADT: one enabled Processor Local APIC per vCPU, then the I/O APIC
	 * and its two overrides. */
	check_header(madt, "APIC", madt_len(p), 4, oem, tid);
	CHECK_EQ_U64(rd32(madt + 36), p->lapic_base);
	CHECK_EQ_U64(rd32(madt + 40), 1);               /* PCAT_COMPAT */
	for (i = 0; i < p->num_cpus; i++) {
		const uint8_t *e = madt + 44 + 8 * i;
		unsigned id = p->apic_ids ? p->apic_ids[i] : i;

		if (e[0] != 0 || e[1] != 8 || e[2] != i || e[3] != id || rd32(e + 4) != 1) {
			CHECK(!"MADT entry as expected");
			printf("#   entry %u: %u %u %u %u %u\n", i, e[0], e[1], e[2], e[3], rd32(e + 4));
			break;
		}
	}
	CHECK_EQ_U64(i, p->num_cpus);
	if (p->ioapic_addr) {
		const uint8_t *e = madt + 44 + 8 * p->num_cpus;

		/* I/O APIC: type 1, 12 bytes, ID, reserved, address, GSI base 0. */
		CHECK_EQ_U64(e[0], 1);
		CHECK_EQ_U64(e[1], 12);
		CHECK_EQ_U64(e[2], p->ioapic_id);
		CHECK_EQ_U64(e[3], 0);
		CHECK_EQ_U64(rd32(e + 4), p->ioapic_addr);
		CHECK_EQ_U64(rd32(e + 8), 0);
		/* ISA IRQ 0 -> GSI 2, flags "conforms to the bus". */
		e += 12;
		CHECK_EQ_U64(e[0], 2);
		CHECK_EQ_U64(e[1], 10);
		CHECK_EQ_U64(e[2], 0);
		CHECK_EQ_U64(e[3], 0);
		CHECK_EQ_U64(rd32(e + 4), 2);
		CHECK_EQ_U64(e[8] | (e[9] << 8), 0);
		/* The SCI: the FADT's SCI_INT, level (3 << 2), active high (1). */
		e += 10;
		CHECK_EQ_U64(e[0], 2);
		CHECK_EQ_U64(e[1], 10);
		CHECK_EQ_U64(e[2], 0);
		CHECK_EQ_U64(e[3], fadt[46] | (fadt[47] << 8));
		CHECK_EQ_U64(rd32(e + 4), 9);
		CHECK_EQ_U64(e[8] | (e[9] << 8), 0xD);
	}
}

/* Bytes of the area that belong to no table are zero; RAM outside it is as
 * it was filled. */
static void check_area(const uint8_t *ram, const struct acpi_guest_params *p,
		       const struct acpi_build_result *r)
{
	struct { uint64_t a, len; } t[] = {
		{ r->rsdp, 36 }, { r->rsdt, 44 }, { r->xsdt, 52 }, { r->fadt, 276 },
		{ r->facs, 64 }, { r->dsdt, DSDT_LEN }, { r->madt, madt_len(p) },
	};
	uint64_t x, stray = 0, outside = 0;
	unsigned i;

	for (x = 0xE0000; x < 0x100000; x++) {
		bool in = false;

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			in |= x >= t[i].a && x < t[i].a + t[i].len;
		if (!in && ram[x] != 0)
			stray++;
	}
	for (x = 0; x < RAM_SIZE; x++)
		if ((x < 0xE0000 || x >= 0x100000) && ram[x] != FILL)
			outside++;
	CHECK_EQ_U64(stray, 0);
	CHECK_EQ_U64(outside, 0);
}

/* Walk the tables with pure/acpi.c (address_base = host address of ram). */
static void round_trip(uint8_t *ram, const struct acpi_guest_params *p,
		       const struct acpi_build_result *r)
{
	uint64_t h = (uint64_t)(uintptr_t)ram;
	uint64_t rsdp = h + ACPI_GUEST_RSDP_GPA;
	struct acpi_pm_timer tmr;
	uint32_t ids[ACPI_GUEST_MAX_CPUS + 1];
	unsigned count = 0, i;
	uint64_t lapic = 0;
	int rc;

	CHECK_EQ_U64(p->address_base, h);
	CHECK(acpi_rsdp_valid(rsdp));
	/* Found by a Linux-style scan of 0xE0000-0xFFFFF and by a
	 * kvm-unit-tests/SeaBIOS-style scan of 0xF0000-0xFFFFF. */
	CHECK_EQ_U64(acpi_scan_rsdp(h + 0xE0000, 0x20000), rsdp);
	CHECK_EQ_U64(acpi_scan_rsdp(h + 0xF0000, 0x10000), rsdp);
	CHECK_EQ_U64(acpi_find_table(rsdp, "FACP"), h + r->fadt);
	CHECK_EQ_U64(acpi_find_table(rsdp, "APIC"), h + r->madt);
	CHECK(acpi_find_table(rsdp, "HPET") == 0);
	rc = acpi_pm_timer(rsdp, &tmr);
	if (p->pm_timer_port) {
		CHECK_EQ_U64(rc, 0);
		CHECK_EQ_U64(tmr.port, p->pm_timer_port);
		CHECK_EQ_U64(tmr.is_32bit, p->pm_timer_32bit);
	} else {
		CHECK_EQ_U64(rc, -1);
	}
	rc = acpi_madt_cpus(rsdp, ids, ACPI_GUEST_MAX_CPUS + 1, &count, &lapic);
	CHECK_EQ_U64(rc, 0);
	CHECK_EQ_U64(count, p->num_cpus);
	CHECK_EQ_U64(lapic, p->lapic_base);
	for (i = 0; i < count && i < p->num_cpus; i++)
		if (ids[i] != (p->apic_ids ? p->apic_ids[i] : i))
			break;
	CHECK_EQ_U64(i, p->num_cpus);
}

/* Point the RSDP's XSDT address at nothing (fixing the extended checksum) so
 * that acpi.c has to go through the RSDT. */
static void drop_xsdt(uint8_t *ram)
{
	uint8_t *rsdp = ram + ACPI_GUEST_RSDP_GPA;

	memset(rsdp + 24, 0, 8);
	rsdp[32] = 0;
	rsdp[32] = (uint8_t)(0x100 - sum(rsdp, 36));
}

static bool untouched(const uint8_t *ram)
{
	uint64_t x;

	for (x = 0; x < RAM_SIZE; x++)
		if (ram[x] != FILL)
			return false;
	return true;
}

static void refused(uint8_t *ram, uint64_t size, const struct acpi_guest_params *p,
		    const char *why)
{
	struct acpi_build_result r;

	memset(ram, FILL, RAM_SIZE);
	memset(&r, 0x5A, sizeof(r));
	CHECK_EQ_U64(acpi_build_guest_tables(ram, size, p, &r), -1);
	CHECK(r.error != NULL);
	if (r.error)
		printf("# %s: %s\n", why, r.error);
	CHECK_EQ_U64(r.rsdp, 0);
	CHECK(untouched(ram));
}

int main(void)
{
	uint8_t *ram = map_ram(false), *low = map_ram(true);
	struct acpi_guest_params p;
	struct acpi_build_result r, r2;
	static uint8_t ids[ACPI_GUEST_MAX_CPUS];
	unsigned i;

	/* Guest view: 4 vCPUs, 32-bit timer, address_base 0. */
	p = defaults(4);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	check_area(ram, &p, &r);
	CHECK_EQ_U64(rd32(ram + r.rsdt + 36), r.fadt);  /* below 4 GiB: both forms */

	/* Exactly 1 MiB of RAM is enough; a 24-bit timer; one vCPU. */
	p = defaults(1);
	p.pm_timer_32bit = false;
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, 0x100000, &p, &r), 0);
	verify(ram, &p, &r);
	CHECK_EQ_U64(rd32(ram + r.fadt + 112) & 0x100, 0);

	/* The area is zeroed first: a previous build with more vCPUs leaves
	 * nothing behind. */
	p = defaults(ACPI_GUEST_MAX_CPUS);
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	check_area(ram, &p, &r);
	p = defaults(2);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	check_area(ram, &p, &r);

	/* Same parameters, same bytes; defaults for NULL OEM strings. */
	memcpy(low, ram, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(low, RAM_SIZE, &p, &r2), 0);
	CHECK(memcmp(low, ram, RAM_SIZE) == 0);
	CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
	p.oem_id = NULL;
	p.oem_table_id = "X";
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, NULL), 0);
	CHECK(memcmp(ram + r.fadt + 10, "TSCVSRX       ", 14) == 0);
	CHECK(memcmp(ram + ACPI_GUEST_RSDP_GPA + 9, "TSCVSR", 6) == 0);
	CHECK_EQ_U64(sum(ram + r.madt, rd32(ram + r.madt + 4)), 0);
	p.oem_table_id = NULL;
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, NULL), 0);
	CHECK(memcmp(ram + r.xsdt + 16, "TSCVISOR", 8) == 0);

	/* No PM timer on the host: the FADT names none. */
	p = defaults(3);
	p.pm_timer_port = 0;
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);

	/* No I/O APIC: the MADT lists the LAPICs alone; another ID is named. */
	p = defaults(3);
	p.ioapic_addr = 0;
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	check_area(ram, &p, &r);
	CHECK_EQ_U64(rd32(ram + r.madt + 4), 44 + 3 * 8);
	p = defaults(3);
	p.ioapic_id = 15;
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	CHECK_EQ_U64(ram[r.madt + 44 + 3 * 8 + 2], 15);

	/* Explicit APIC IDs, in order. */
	p = defaults(4);
	ids[0] = 0; ids[1] = 2; ids[2] = 4; ids[3] = 254;
	p.apic_ids = ids;
	memset(ram, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);

	/* Round trip through pure/acpi.c, tables below 4 GiB: through the
	 * XSDT, then through the RSDT alone. */
	p = defaults(8);
	p.address_base = (uint64_t)(uintptr_t)low;
	memset(low, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(low, RAM_SIZE, &p, &r), 0);
	verify(low, &p, &r);
	check_area(low, &p, &r);
	round_trip(low, &p, &r);
	drop_xsdt(low);
	round_trip(low, &p, &r);
	p = defaults(ACPI_GUEST_MAX_CPUS);
	p.address_base = (uint64_t)(uintptr_t)low;
	p.pm_timer_32bit = false;
	CHECK_EQ_U64(acpi_build_guest_tables(low, RAM_SIZE, &p, &r), 0);
	round_trip(low, &p, &r);
	p = defaults(2);
	p.address_base = (uint64_t)(uintptr_t)low;
	p.pm_timer_port = 0;
	CHECK_EQ_U64(acpi_build_guest_tables(low, RAM_SIZE, &p, &r), 0);
	round_trip(low, &p, &r);

	/* Round trip with the buffer above 4 GiB (usual for mmap): 32-bit
	 * address fields are 0, the 64-bit ones carry the addresses. */
	if ((uintptr_t)ram > 0xFFFFFFFFu) {
		p = defaults(16);
		p.address_base = (uint64_t)(uintptr_t)ram;
		memset(ram, FILL, RAM_SIZE);
		CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
		verify(ram, &p, &r);
		CHECK_EQ_U64(rd32(ram + ACPI_GUEST_RSDP_GPA + 16), 0);
		CHECK_EQ_U64(rd32(ram + r.fadt + 36), 0);
		CHECK_EQ_U64(rd64(ram + r.fadt + 132), p.address_base + r.facs);
		round_trip(ram, &p, &r);
	} else {
		printf("# buffer below 4 GiB: high-address round trip skipped\n");
	}

	/* Refusals leave RAM untouched. */
	p = defaults(4);
	refused(ram, 0xFFFFF, &p, "RAM below 1 MiB");
	refused(ram, 0, &p, "no RAM");
	CHECK_EQ_U64(acpi_build_guest_tables(NULL, RAM_SIZE, &p, &r), -1);
	CHECK(r.error != NULL);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, NULL, &r), -1);
	CHECK(r.error != NULL);
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, NULL, NULL), -1);
	p = defaults(0);
	refused(ram, RAM_SIZE, &p, "no vCPUs");
	p = defaults(ACPI_GUEST_MAX_CPUS + 1);
	refused(ram, RAM_SIZE, &p, "256 vCPUs");
	p = defaults(100000);
	refused(ram, RAM_SIZE, &p, "100000 vCPUs");
	p = defaults(3);
	ids[0] = 0; ids[1] = 0xFF; ids[2] = 1;
	p.apic_ids = ids;
	refused(ram, RAM_SIZE, &p, "APIC ID 0xFF");
	ids[1] = 2; ids[2] = 0;
	refused(ram, RAM_SIZE, &p, "duplicate APIC ID");
	p = defaults(2);
	p.lapic_base = 0;
	refused(ram, RAM_SIZE, &p, "LAPIC base 0");
	p = defaults(2);
	p.ioapic_id = 16;
	refused(ram, RAM_SIZE, &p, "IOAPIC ID 16");
	p.ioapic_addr = 0;                      /* no IOAPIC: its ID is not looked at */
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	p = defaults(2);
	p.oem_id = "TSCVSR7";
	refused(ram, RAM_SIZE, &p, "long OEM ID");
	p = defaults(2);
	p.oem_table_id = "TSCVISOR9";
	refused(ram, RAM_SIZE, &p, "long OEM table ID");
	p = defaults(2);
	p.address_base = UINT64_MAX - 0xFFFFF;
	refused(ram, RAM_SIZE, &p, "address base wraps");
	/* A PM timer port whose 4 bytes touch [0x600, 0x605] is refused;
	 * 0x5FC and 0x606 are just clear of the PM1 blocks. */
	p = defaults(2);
	p.pm_timer_port = 0x5FD;
	refused(ram, RAM_SIZE, &p, "PM timer at 0x5FD");
	p.pm_timer_port = 0x605;
	refused(ram, RAM_SIZE, &p, "PM timer at 0x605");
	p.pm_timer_port = 0x5FC;
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	p.pm_timer_port = 0x606;
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	p.pm_timer_port = 0x608;                /* Q35's */
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);
	verify(ram, &p, &r);
	p.address_base = UINT64_MAX - 0x100000;      /* the last base that fits */
	CHECK_EQ_U64(acpi_build_guest_tables(ram, RAM_SIZE, &p, &r), 0);

	/* All 255 one-byte IDs but 0xFF, in reverse: the BSP need not be 0. */
	for (i = 0; i < ACPI_GUEST_MAX_CPUS; i++)
		ids[i] = (uint8_t)(254 - i);
	p = defaults(ACPI_GUEST_MAX_CPUS);
	p.apic_ids = ids;
	p.address_base = (uint64_t)(uintptr_t)low;
	memset(low, FILL, RAM_SIZE);
	CHECK_EQ_U64(acpi_build_guest_tables(low, RAM_SIZE, &p, &r), 0);
	verify(low, &p, &r);
	round_trip(low, &p, &r);

	munmap(ram, RAM_SIZE);
	munmap(low, RAM_SIZE);
	return th_done();
}
