/* Builder of the guest's minimal ACPI tables (pure C, no hardware access):
 * also linked into the host unit tests (tests/test_acpi_build.c). Field
 * offsets and values follow ACPI 6.0; docs/guest-acpi.md explains each
 * choice. Tables are packed byte arrays, so every multi-byte field is written
 * with memcpy (x86, like ACPI, is little-endian). */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <tscvisor/bytes.h>
#include <tscvisor/acpi_build.h>

/* ---- the DSDT's AML ------------------------------------------------------
 *
 * Encoded by hand (ACPI 6.0, chapter 20); docs/guest-acpi.md "DSDT" walks
 * through it. Three objects, nothing that runs at load time:
 *
 *   Name (\_S5, Package (4) { 7, 7, 0, 0 })     SLP_TYPa/b for soft-off
 *   Method (\_PIC, 1) { }                       the OS says PIC or APIC
 *   Device (\_SB.PCI0) {                        the PCI root bridge, bus 0
 *       Name (_HID, EisaId ("PNP0A03"))
 *       Name (_CRS, ResourceTemplate () {
 *           WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
 *                          0, 0x00, 0xFF, 0, 0x100) })
 *   }
 *
 * A package length (PkgLength) of one byte holds values below 64 and
 * counts itself and what follows it in the object. */
static const uint8_t dsdt_aml[] = {
	/* Name (_S5_, Package (4) { 7, 7, 0, 0 }): 14 bytes */
	0x08, '_', 'S', '5', '_',        /* NameOp, NameSeg */
	0x12, 0x08, 0x04,                /* PackageOp, PkgLength 8, 4 elements */
	0x0A, ACPI_GUEST_SLP_TYP_S5,     /* BytePrefix 7: SLP_TYPa */
	0x0A, ACPI_GUEST_SLP_TYP_S5,     /* BytePrefix 7: SLP_TYPb (no PM1b: unused) */
	0x00, 0x00,                      /* ZeroOp, ZeroOp: reserved */
	/* Method (_PIC, 1, NotSerialized) { }: 7 bytes */
	0x14, 0x06, '_', 'P', 'I', 'C',  /* MethodOp, PkgLength 6, NameSeg */
	0x01,                            /* MethodFlags: 1 argument */
	/* Device (\_SB.PCI0) { ... }: 50 bytes */
	0x5B, 0x82, 0x30,                /* ExtOpPrefix, DeviceOp, PkgLength 48 */
	'\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',  /* RootChar, DualNamePrefix */
	/* Name (_HID, EisaId ("PNP0A03")): 10 bytes */
	0x08, '_', 'H', 'I', 'D',
	0x0C, 0x41, 0xD0, 0x0A, 0x03,    /* DWordPrefix 0x030AD041: "PNP" packed, 0x0A03 */
	/* Name (_CRS, Buffer (18) { ... }): 27 bytes */
	0x08, '_', 'C', 'R', 'S',
	0x11, 0x15, 0x0A, 0x12,          /* BufferOp, PkgLength 21, BytePrefix 18 */
	0x88, 0x0D, 0x00,                /* Word Address Space Descriptor, 13 bytes */
	0x02,                            /* resource type: bus number range */
	0x0C,                            /* MaxFixed, MinFixed, positive decode, producer */
	0x00,                            /* type-specific flags */
	0x00, 0x00,                      /* granularity */
	0x00, 0x00,                      /* minimum: bus 0 */
	0xFF, 0x00,                      /* maximum: bus 255 */
	0x00, 0x00,                      /* translation offset */
	0x00, 0x01,                      /* length: 256 buses */
	0x79, 0x00,                      /* End Tag, checksum 0 (not checked) */
};
#define DSDT_AML_LEN   71u
_Static_assert(sizeof(dsdt_aml) == DSDT_AML_LEN, "DSDT AML length");

/* ---- layout (guest-physical) ---------------------------------------------- */

#define HDR_LEN        36u              /* System Description Table header */
#define RSDP_LEN       36u              /* revision 2 */
#define RSDP_V1_LEN    20u              /* what the first checksum covers */
#define FACS_LEN       64u
#define DSDT_LEN       (HDR_LEN + DSDT_AML_LEN)
#define FADT_LEN       276u             /* ACPI 6.0, revision 6 */
#define RSDT_LEN       (HDR_LEN + 2u * 4u)
#define XSDT_LEN       (HDR_LEN + 2u * 8u)
#define MADT_HDR_LEN   44u              /* header, Local APIC Address, Flags */
#define MADT_LAPIC_LEN 8u
#define MADT_IOAPIC_LEN 12u
#define MADT_ISO_LEN   10u              /* Interrupt Source Override */
#define MADT_ISO_N     2u               /* IRQ 0 -> GSI 2, the SCI */
#define MADT_IO_LEN    (MADT_IOAPIC_LEN + MADT_ISO_N * MADT_ISO_LEN)
#define MADT_MAX_LEN   (MADT_HDR_LEN + ACPI_GUEST_MAX_CPUS * MADT_LAPIC_LEN + MADT_IO_LEN)

#define FACS_GPA  0xE0000u              /* 64-byte aligned, as required */
#define FADT_GPA  0xE0080u              /* 0xE0040-0xE007F: unused (the empty
					 * DSDT's place before it had AML) */
#define RSDT_GPA  0xE01A0u
#define XSDT_GPA  0xE01D0u
#define MADT_GPA  0xE0210u
#define DSDT_GPA  0xE0C00u              /* after the largest MADT */

_Static_assert(FACS_GPA % 64 == 0, "FACS must be 64-byte aligned");
_Static_assert(FACS_GPA >= ACPI_GUEST_AREA_BASE, "FACS below the area");
_Static_assert(FACS_GPA + FACS_LEN <= FADT_GPA, "FACS overlaps FADT");
_Static_assert(FADT_GPA + FADT_LEN <= RSDT_GPA, "FADT overlaps RSDT");
_Static_assert(RSDT_GPA + RSDT_LEN <= XSDT_GPA, "RSDT overlaps XSDT");
_Static_assert(XSDT_GPA + XSDT_LEN <= MADT_GPA, "XSDT overlaps MADT");
_Static_assert(MADT_GPA + MADT_MAX_LEN <= DSDT_GPA, "MADT overlaps DSDT");
_Static_assert(DSDT_GPA + DSDT_LEN <= ACPI_GUEST_RSDP_GPA, "DSDT overlaps RSDP");
_Static_assert(ACPI_GUEST_RSDP_GPA % 16 == 0, "RSDP must be 16-byte aligned");
_Static_assert(ACPI_GUEST_RSDP_GPA + RSDP_LEN <= ACPI_GUEST_AREA_END, "RSDP past the area");

/* ---- field offsets and values ------------------------------------------ */

/* Common header (ACPI 6.0, 5.2.6). */
#define H_SIGNATURE     0
#define H_LENGTH        4
#define H_REVISION      8
#define H_CHECKSUM      9
#define H_OEM_ID        10
#define H_OEM_TABLE_ID  16
#define H_OEM_REVISION  24
#define H_CREATOR_ID    28
#define H_CREATOR_REV   32
#define CREATOR_ID      "TSCV"
#define CREATOR_REV     1u

/* RSDP (5.2.5.3). */
#define RSDP_CHECKSUM   8
#define RSDP_OEM_ID     9
#define RSDP_REVISION   15
#define RSDP_RSDT       16
#define RSDP_LENGTH     20
#define RSDP_XSDT       24
#define RSDP_XCHECKSUM  32

/* FACS (5.2.10). */
#define FACS_LENGTH     4
#define FACS_VERSION    32

/* FADT (5.2.9, table 5-34). */
#define F_FIRMWARE_CTRL   36
#define F_DSDT            40
#define F_PM_PROFILE      45
#define F_SCI_INT         46
#define F_SMI_CMD         48
#define F_PM1A_EVT_BLK    56
#define F_PM1A_CNT_BLK    64
#define F_PM_TMR_BLK      76
#define F_PM1_EVT_LEN     88
#define F_PM1_CNT_LEN     89
#define F_PM_TMR_LEN      91
#define F_IAPC_BOOT_ARCH  109
#define F_FLAGS           112
#define F_MINOR_VERSION   131
#define F_X_FIRMWARE_CTRL 132
#define F_X_DSDT          140
#define F_X_PM1A_EVT_BLK  148
#define F_X_PM1A_CNT_BLK  172
#define F_X_PM_TMR_BLK    208
#define F_HYPERVISOR_ID   268

#define FLAG_WBINVD       (1u << 0)
#define FLAG_PROC_C1      (1u << 2)
#define FLAG_PWR_BUTTON   (1u << 4)     /* 1: no fixed-feature power button */
#define FLAG_SLP_BUTTON   (1u << 5)     /* 1: no fixed-feature sleep button */
#define FLAG_FIX_RTC      (1u << 6)     /* 1: no RTC wake status in fixed space */
#define FLAG_TMR_VAL_EXT  (1u << 8)
#define FLAG_HEADLESS     (1u << 12)

#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SPACE_IO    1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* MADT (5.2.12). */
#define M_LAPIC_ADDR    36
#define M_FLAGS         40
#define M_PCAT_COMPAT   (1u << 0)
#define M_TYPE_LAPIC    0
#define M_LAPIC_ENABLED (1u << 0)
#define M_TYPE_IOAPIC   1
#define M_TYPE_ISO      2
#define ISO_BUS_ISA     0
#define ISO_IRQ_TIMER   0u
#define ISO_GSI_TIMER   2u
/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2 (01 high/edge,
 * 11 low/level, 00 as the bus says). */
#define INTI_CONFORMS   0x0u
#define INTI_ACTIVE_HIGH 0x1u
#define INTI_LEVEL      (0x3u << 2)

#define REV_RSDP  2
#define REV_RSDT  1
#define REV_XSDT  1
#define REV_FADT  6
#define MINOR_FADT 0
#define REV_DSDT  2                     /* 64-bit AML integers */
#define REV_MADT  4
#define VER_FACS  2

/* ---- helpers ------------------------------------------------------------- */

/* Store the byte at `at` that makes bytes [0, len) of p sum to 0. */
static void fix_checksum(uint8_t *p, uint32_t len, uint32_t at)
{
	uint8_t sum = 0;
	uint32_t i;

	p[at] = 0;
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)-sum;
}

/* Copy a string of at most `width` chars into a space-padded field. */
static void put_padded(uint8_t *p, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(p, ' ', width);
	memcpy(p, s, n);
}

struct ids {
	const char *oem_id, *oem_table_id;
	uint32_t oem_revision;
};

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
		   const struct ids *ids)
{
	memcpy(t + H_SIGNATURE, sig, 4);
	put_le32(t + H_LENGTH, len);
	t[H_REVISION] = rev;
	put_padded(t + H_OEM_ID, ids->oem_id, 6);
	put_padded(t + H_OEM_TABLE_ID, ids->oem_table_id, 8);
	put_le32(t + H_OEM_REVISION, ids->oem_revision);
	memcpy(t + H_CREATOR_ID, CREATOR_ID, 4);
	put_le32(t + H_CREATOR_REV, CREATOR_REV);
}

/* A 32-bit address field holds the address only when it fits. */
static uint32_t addr32(uint64_t a)
{
	return a <= 0xFFFFFFFFu ? (uint32_t)a : 0;
}

static const char *check(const uint8_t *ram, uint64_t ram_size,
			 const struct acpi_guest_params *p)
{
	if (!ram || !p)
		return "no RAM buffer or no parameters";
	if (ram_size < ACPI_GUEST_AREA_END)
		return "guest RAM below 1 MiB: no room for the ACPI tables";
	if (p->num_cpus == 0)
		return "no vCPUs";
	if (p->num_cpus > ACPI_GUEST_MAX_CPUS)
		return "too many vCPUs for the MADT (at most 255)";
	if (p->apic_ids) {
		for (unsigned i = 0; i < p->num_cpus; i++) {
			if (p->apic_ids[i] == 0xFF)
				return "APIC ID 0xFF (broadcast) listed";
			for (unsigned j = 0; j < i; j++)
				if (p->apic_ids[j] == p->apic_ids[i])
					return "APIC ID listed twice";
		}
	}
	if (p->lapic_base == 0)
		return "Local APIC address is 0";
	if (p->ioapic_addr && p->ioapic_id > ACPI_GUEST_IOAPIC_MAX_ID)
		return "I/O APIC ID above 15";
	if (p->pm_timer_port && p->pm_timer_port <= ACPI_GUEST_PM1_LAST_PORT &&
	    p->pm_timer_port + 3u >= ACPI_GUEST_PM1A_EVT_PORT)
		return "PM timer port overlaps the PM1 blocks";
	if (p->oem_id && strlen(p->oem_id) > 6)
		return "OEM ID longer than 6 characters";
	if (p->oem_table_id && strlen(p->oem_table_id) > 8)
		return "OEM table ID longer than 8 characters";
	if (p->address_base > UINT64_MAX - ACPI_GUEST_AREA_END)
		return "address base makes table addresses wrap";
	return NULL;
}

/* ---- the tables ---------------------------------------------------------- */

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put_le32(t + FACS_LENGTH, FACS_LEN);
	t[FACS_VERSION] = VER_FACS;
	/* Hardware signature, waking vectors, global lock, flags: all 0. */
}

static void build_dsdt(uint8_t *t, const struct ids *ids)
{
	header(t, "DSDT", DSDT_LEN, REV_DSDT, ids);
	memcpy(t + HDR_LEN, dsdt_aml, DSDT_AML_LEN);
	fix_checksum(t, DSDT_LEN, H_CHECKSUM);
}

static void put_gas_io(uint8_t *g, uint16_t port, uint8_t bytes, uint8_t access)
{
	g[0] = GAS_SPACE_IO;
	g[1] = (uint8_t)(8 * bytes);    /* register bit width: the block's length */
	g[2] = 0;                       /* bit offset */
	g[3] = access;
	put_le64(g + 4, port);
}

static void build_fadt(uint8_t *t, const struct acpi_guest_params *p,
		       const struct ids *ids)
{
	uint64_t facs = p->address_base + FACS_GPA;
	uint64_t dsdt = p->address_base + DSDT_GPA;
	uint32_t flags = FLAG_WBINVD | FLAG_PROC_C1 | FLAG_PWR_BUTTON |
			 FLAG_SLP_BUTTON | FLAG_FIX_RTC | FLAG_HEADLESS;

	header(t, "FACP", FADT_LEN, REV_FADT, ids);
	/* FIRMWARE_CTRL and X_FIRMWARE_CTRL: at most one of them non-zero. */
	if (addr32(facs))
		put_le32(t + F_FIRMWARE_CTRL, (uint32_t)facs);
	else
		put_le64(t + F_X_FIRMWARE_CTRL, facs);
	put_le32(t + F_DSDT, addr32(dsdt));
	put_le64(t + F_X_DSDT, dsdt);
	t[F_PM_PROFILE] = 0;            /* unspecified */
	put_le16(t + F_SCI_INT, ACPI_GUEST_SCI_INT);
	put_le32(t + F_SMI_CMD, 0);        /* no SMM: ACPI mode is always on */
	/* PM1a: the event block (PM1_STS, PM1_EN) and the control block
	 * (PM1_CNT), both in the 32-bit and the X_ fields, with the same
	 * lengths (a reader compares them); no PM1b, PM2 or GPE blocks. */
	put_le32(t + F_PM1A_EVT_BLK, ACPI_GUEST_PM1A_EVT_PORT);
	t[F_PM1_EVT_LEN] = ACPI_GUEST_PM1_EVT_LEN;
	put_gas_io(t + F_X_PM1A_EVT_BLK, ACPI_GUEST_PM1A_EVT_PORT, ACPI_GUEST_PM1_EVT_LEN,
		   GAS_ACCESS_WORD);
	put_le32(t + F_PM1A_CNT_BLK, ACPI_GUEST_PM1A_CNT_PORT);
	t[F_PM1_CNT_LEN] = ACPI_GUEST_PM1_CNT_LEN;
	put_gas_io(t + F_X_PM1A_CNT_BLK, ACPI_GUEST_PM1A_CNT_PORT, ACPI_GUEST_PM1_CNT_LEN,
		   GAS_ACCESS_WORD);
	if (p->pm_timer_port) {
		put_le32(t + F_PM_TMR_BLK, p->pm_timer_port);
		t[F_PM_TMR_LEN] = 4;
		put_gas_io(t + F_X_PM_TMR_BLK, p->pm_timer_port, 4, GAS_ACCESS_DWORD);
		if (p->pm_timer_32bit)
			flags |= FLAG_TMR_VAL_EXT;
	}
	put_le16(t + F_IAPC_BOOT_ARCH, BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT |
	      BOOT_CMOS_RTC_NOT_PRESENT);
	put_le32(t + F_FLAGS, flags);      /* HW_REDUCED_ACPI (bit 20) clear */
	t[F_MINOR_VERSION] = MINOR_FADT;
	memcpy(t + F_HYPERVISOR_ID, "TSCVISOR", 8);
	fix_checksum(t, FADT_LEN, H_CHECKSUM);
}

static uint32_t madt_len(const struct acpi_guest_params *p)
{
	return MADT_HDR_LEN + p->num_cpus * MADT_LAPIC_LEN + (p->ioapic_addr ? MADT_IO_LEN : 0);
}

static uint8_t *put_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = M_TYPE_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = ISO_BUS_ISA;
	e[3] = irq;
	put_le32(e + 4, gsi);
	put_le16(e + 8, flags);
	return e + MADT_ISO_LEN;
}

/* The LAPICs in order, then the I/O APIC (GSI base 0: its pins are GSIs
 * 0-23) and the overrides every PC firmware gives: the timer's IRQ 0 on
 * pin 2, and the SCI (the FADT's SCI_INT, IRQ 9) level-triggered
 * active-high. PCAT_COMPAT stays set: the two 8259s are there (masked by
 * the guest, delivering nothing), and a guest must disable them. */
static void build_madt(uint8_t *t, const struct acpi_guest_params *p,
		       const struct ids *ids)
{
	uint32_t len = madt_len(p);
	uint8_t *e;
	unsigned i;

	header(t, "APIC", len, REV_MADT, ids);
	put_le32(t + M_LAPIC_ADDR, p->lapic_base);
	put_le32(t + M_FLAGS, M_PCAT_COMPAT);
	for (i = 0; i < p->num_cpus; i++) {
		e = t + MADT_HDR_LEN + i * MADT_LAPIC_LEN;
		e[0] = M_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i;      /* ACPI Processor UID */
		e[3] = p->apic_ids ? p->apic_ids[i] : (uint8_t)i;
		put_le32(e + 4, M_LAPIC_ENABLED);
	}
	if (p->ioapic_addr) {
		e = t + MADT_HDR_LEN + p->num_cpus * MADT_LAPIC_LEN;
		e[0] = M_TYPE_IOAPIC;
		e[1] = MADT_IOAPIC_LEN;
		e[2] = p->ioapic_id;
		e[3] = 0;               /* reserved */
		put_le32(e + 4, p->ioapic_addr);
		put_le32(e + 8, 0);     /* Global System Interrupt Base */
		e = put_iso(e + MADT_IOAPIC_LEN, ISO_IRQ_TIMER, ISO_GSI_TIMER, INTI_CONFORMS);
		put_iso(e, ACPI_GUEST_SCI_INT, ACPI_GUEST_SCI_INT, INTI_ACTIVE_HIGH | INTI_LEVEL);
	}
	fix_checksum(t, len, H_CHECKSUM);
}

static void build_rsdt(uint8_t *t, uint64_t base, const struct ids *ids)
{
	header(t, "RSDT", RSDT_LEN, REV_RSDT, ids);
	put_le32(t + HDR_LEN, addr32(base + FADT_GPA));
	put_le32(t + HDR_LEN + 4, addr32(base + MADT_GPA));
	fix_checksum(t, RSDT_LEN, H_CHECKSUM);
}

static void build_xsdt(uint8_t *t, uint64_t base, const struct ids *ids)
{
	header(t, "XSDT", XSDT_LEN, REV_XSDT, ids);
	put_le64(t + HDR_LEN, base + FADT_GPA);
	put_le64(t + HDR_LEN + 8, base + MADT_GPA);
	fix_checksum(t, XSDT_LEN, H_CHECKSUM);
}

static void build_rsdp(uint8_t *t, uint64_t base, const struct ids *ids)
{
	memcpy(t, "RSD PTR ", 8);
	put_padded(t + RSDP_OEM_ID, ids->oem_id, 6);
	t[RSDP_REVISION] = REV_RSDP;
	put_le32(t + RSDP_RSDT, addr32(base + RSDT_GPA));
	put_le32(t + RSDP_LENGTH, RSDP_LEN);
	put_le64(t + RSDP_XSDT, base + XSDT_GPA);
	fix_checksum(t, RSDP_V1_LEN, RSDP_CHECKSUM);
	fix_checksum(t, RSDP_LEN, RSDP_XCHECKSUM);
}

int acpi_build_guest_tables(uint8_t *ram, uint64_t ram_size,
			    const struct acpi_guest_params *p,
			    struct acpi_build_result *res)
{
	const char *err = check(ram, ram_size, p);
	struct ids ids;

	if (res) {
		memset(res, 0, sizeof(*res));
		res->error = err;
	}
	if (err)
		return -1;

	ids.oem_id = p->oem_id ? p->oem_id : "TSCVSR";
	ids.oem_table_id = p->oem_table_id ? p->oem_table_id : "TSCVISOR";
	ids.oem_revision = p->oem_revision;

	memset(ram + ACPI_GUEST_AREA_BASE, 0, ACPI_GUEST_AREA_END - ACPI_GUEST_AREA_BASE);
	build_facs(ram + FACS_GPA);
	build_dsdt(ram + DSDT_GPA, &ids);
	build_fadt(ram + FADT_GPA, p, &ids);
	build_madt(ram + MADT_GPA, p, &ids);
	build_rsdt(ram + RSDT_GPA, p->address_base, &ids);
	build_xsdt(ram + XSDT_GPA, p->address_base, &ids);
	build_rsdp(ram + ACPI_GUEST_RSDP_GPA, p->address_base, &ids);

	if (res) {
		res->rsdp = ACPI_GUEST_RSDP_GPA;
		res->rsdt = RSDT_GPA;
		res->xsdt = XSDT_GPA;
		res->fadt = FADT_GPA;
		res->facs = FACS_GPA;
		res->dsdt = DSDT_GPA;
		res->madt = MADT_GPA;
		res->area_start = ACPI_GUEST_AREA_BASE;
		res->area_end = ACPI_GUEST_AREA_END;
	}
	return 0;
}
