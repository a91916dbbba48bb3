/* acpi.c — find the ACPI PM timer, the guest's reference clock.
 *
 * ACPI 6.4: RSDP 5.2.5 (found on 16-byte boundaries in the first KiB of the
 * EBDA or in 0xE0000-0xFFFFF; checksum over 20 bytes, extended checksum over
 * 36 when revision >= 2), RSDT 5.2.7 / XSDT 5.2.8, FADT 5.2.9: PM_TMR_BLK at
 * offset 76, PM_TMR_LEN at 91, flags at 112 (bit 8 TMR_VAL_EXT: 32-bit
 * counter, else 24-bit), X_PM_TMR_BLK (a Generic Address Structure) at 208,
 * used in preference when it names a non-zero I/O port.
 *
 * No FADT (OVMF under Bochs installs no ACPI tables): the chipset's PM I/O
 * base from PCI configuration space, PIIX4 function 3 (8086:7113, PMBA at
 * 0x40, bit 0 = I/O space) or ICH9 LPC (8086:2918, PMBASE at 0x40); the
 * timer is at base + 8, 24-bit on PIIX4 and ICH9. */
#include "guest.h"

struct rsdp {
	char sig[8];
	u8 checksum;
	char oem[6];
	u8 revision;
	u32 rsdt;
	u32 length;
	u64 xsdt;
	u8 xchecksum;
	u8 reserved[3];
} __attribute__((packed));

struct sdt_header {
	char sig[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem[6];
	char oem_table[8];
	u32 oem_rev;
	u32 creator;
	u32 creator_rev;
} __attribute__((packed));

#define FADT_PM_TMR_BLK 76
#define FADT_PM_TMR_LEN 91
#define FADT_FLAGS 112
#define FADT_X_PM_TMR_BLK 208
#define FADT_TMR_VAL_EXT (1u << 8)
#define GAS_SYSTEM_IO 1

static u8 sum8(const void *p, size_t n)
{
	const u8 *b = p;
	u8 s = 0;

	while (n--)
		s = (u8)(s + *b++);
	return s;
}

static const struct rsdp *rsdp_scan(u64 start, u64 len)
{
	for (u64 a = start; a + 20 <= start + len; a += 16) {
		const struct rsdp *r = phys_ptr(a);

		if (memcmp(r->sig, "RSD PTR ", 8) || sum8(r, 20))
			continue;
		if (r->revision >= 2 && (r->length < 36 || sum8(r, 36)))
			continue;
		return r;
	}
	return NULL;
}

static const char *rsdp_where;

const void *acpi_find_rsdp(void)
{
	u64 ebda = (u64)*(const volatile u16 *)phys_ptr(0x40E) << 4;
	const struct rsdp *r = NULL;

	if (ebda >= 0x80000 && ebda < 0xA0000) {
		r = rsdp_scan(ebda, 1024);
		rsdp_where = "EBDA";
	}
	if (!r) {
		r = rsdp_scan(0xE0000, 0x20000);
		rsdp_where = "BIOS area";
	}
	return r;
}

/* A table is usable when its header is in the first 4 GiB (our identity
 * map), its length is sane and its checksum is zero. */
static const struct sdt_header *sdt_at(u64 addr)
{
	const struct sdt_header *h = phys_ptr(addr);

	if (!addr || addr > (1ull << 32) - sizeof(*h))
		return NULL;
	if (h->length < sizeof(*h) || h->length > (1u << 20) ||
	    addr + h->length > (1ull << 32))
		return NULL;
	if (sum8(h, h->length))
		return NULL;
	return h;
}

static const char *table_via;

const void *acpi_find_table(const char *sig)
{
	const struct rsdp *r = acpi_find_rsdp();
	const struct sdt_header *root = NULL;
	unsigned entry_size = 4;

	if (!r)
		return NULL;
	if (r->revision >= 2 && r->xsdt) {
		root = sdt_at(r->xsdt);
		if (root && !memcmp(root->sig, "XSDT", 4)) {
			entry_size = 8;
			table_via = "XSDT";
		} else {
			root = NULL;
		}
	}
	if (!root) {
		root = sdt_at(r->rsdt);
		if (!root || memcmp(root->sig, "RSDT", 4))
			return NULL;
		table_via = "RSDT";
	}
	const u8 *p = (const u8 *)root + sizeof(*root);
	const u8 *end = (const u8 *)root + root->length;

	for (; p + entry_size <= end; p += entry_size) {
		u64 a = 0;
		const struct sdt_header *t;

		memcpy(&a, p, entry_size);
		t = sdt_at(a);
		if (t && !memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}

u32 pci_read32(u8 bus, u8 dev, u8 fn, u8 reg)
{
	outl(0xcf8, 0x80000000u | (u32)bus << 16 | (u32)(dev & 31) << 11 |
		    (u32)(fn & 7) << 8 | (reg & 0xfc));
	return inl(0xcfc);
}

static struct pmtimer pm;
static char pm_source[64];
static bool pm_searched;

static bool from_fadt(void)
{
	const u8 *f = acpi_find_table("FACP");
	const struct sdt_header *h = (const void *)f;
	u32 flags;
	u64 port = 0;
	const char *field = "PM_TMR_BLK";

	if (!f) {
		diag("pmtimer: no FADT (RSDP %s)", acpi_find_rsdp() ? "found" : "not found");
		return false;
	}
	if (h->length < FADT_FLAGS + 4) {
		diag("pmtimer: FADT too short (%u bytes)", h->length);
		return false;
	}
	memcpy(&flags, f + FADT_FLAGS, 4);
	if (h->length >= FADT_X_PM_TMR_BLK + 12 && f[FADT_X_PM_TMR_BLK] == GAS_SYSTEM_IO) {
		memcpy(&port, f + FADT_X_PM_TMR_BLK + 4, 8);
		field = "X_PM_TMR_BLK";
	}
	if (!port) {
		u32 blk;

		memcpy(&blk, f + FADT_PM_TMR_BLK, 4);
		port = blk;
		field = "PM_TMR_BLK";
		if (port && f[FADT_PM_TMR_LEN] != 4)
			diag("pmtimer: FADT PM_TMR_LEN is %u, not 4", f[FADT_PM_TMR_LEN]);
	}
	if (!port || port > 0xffff) {
		diag("pmtimer: FADT names no PM timer I/O port (0x%lx)",
		     port);
		return false;
	}
	pm.port = (u16)port;
	pm.mask = flags & FADT_TMR_VAL_EXT ? 0xffffffffu : 0xffffffu;
	snprintf(pm_source, sizeof(pm_source), "ACPI FADT %s via %s/%s", field, table_via,
		 rsdp_where);
	return true;
}

static bool from_pci(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			u32 id = pci_read32(0, (u8)dev, (u8)fn, 0);
			u32 base, mask, enable;
			const char *name;

			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;	/* no device */
				continue;
			}
			if (id == 0x71138086) {
				/* PMBA bits 15:6; PMIOSE is bit 0 of register 0x80. */
				name = "PIIX4 PM";
				mask = 0xffc0;
				enable = pci_read32(0, (u8)dev, (u8)fn, 0x80) & 1;
			} else if (id == 0x29188086) {
				/* PMBASE bits 15:7; ACPI_EN is bit 7 of ACPI_CNTL (0x44). */
				name = "ICH9 LPC";
				mask = 0xff80;
				enable = pci_read32(0, (u8)dev, (u8)fn, 0x44) & 0x80;
			} else {
				continue;
			}
			base = pci_read32(0, (u8)dev, (u8)fn, 0x40);
			if (!(base & 1) || !(base & mask)) {
				diag("pmtimer: %s 00:%02x.%u PM base register 0x%08x unusable",
				     name, dev, fn, base);
				continue;
			}
			if (!enable)
				diag("pmtimer: %s 00:%02x.%u: PM I/O decoding is not enabled",
				     name, dev, fn);
			pm.port = (u16)((base & mask) + 8);
			pm.mask = 0xffffffu;
			snprintf(pm_source, sizeof(pm_source), "PCI %s 00:%02x.%u reg 0x40 = 0x%04x",
				 name, dev, fn, base & 0xffff);
			return true;
		}
	}
	diag("pmtimer: no PIIX4 PM or ICH9 LPC function on PCI bus 0");
	return false;
}

const struct pmtimer *pmtimer_init(void)
{
	char how[8];
	bool pci_only = cmdline_get("pmtimer", how, sizeof(how)) && !strncmp(how, "pci", 4);

	if (pm_searched)
		return pm.port ? &pm : NULL;
	pm_searched = true;
	if ((!pci_only && from_fadt()) || from_pci()) {
		pm.source = pm_source;
		diag("pmtimer: port 0x%x, %u-bit, found by %s", pm.port,
		     pm.mask == 0xffffffu ? 24 : 32, pm.source);
		return &pm;
	}
	pm.port = 0;
	diag("pmtimer: none found");
	return NULL;
}
