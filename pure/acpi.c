/* ACPI table lookup (pure C). Tables are read through pointers made from
 * physical addresses (identity-mapped in the hypervisor). Firmware tables are
 * packed and their fields are often misaligned, so every multi-byte field is
 * read with memcpy (x86 is little-endian, like ACPI). */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <tscvisor/bytes.h>
#include <tscvisor/acpi.h>

#define RSDP_V1_LEN      20
#define RSDP_V2_MIN_LEN  36
#define RSDP_MAX_LEN     4096
#define HDR_LEN          36             /* common System Description Table header */
#define TABLE_MAX_LEN    (1u << 20)     /* refuse anything longer than 1 MiB */

/* FADT field offsets (ACPI 6.x, table 5.9). */
#define FADT_MIN_LEN        116         /* the ACPI 1.0 FADT */
#define FADT_PM_TMR_BLK     76
#define FADT_PM_TMR_LEN     91
#define FADT_FLAGS          112
#define FADT_TMR_VAL_EXT    (1u << 8)
#define FADT_X_PM_TMR_BLK   208         /* 12-byte Generic Address Structure */
#define GAS_LEN             12
#define GAS_SPACE_IO        1

/* MADT (ACPI 6.x, 5.2.12). */
#define MADT_LAPIC_ADDR     36
#define MADT_ENTRIES        44
#define MADT_LAPIC          0
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC         9
#define MADT_ENABLED        (1u << 0)
#define MADT_ONLINE_CAPABLE (1u << 1)

static const uint8_t *ptr(uint64_t addr)
{
	return (const uint8_t *)(uintptr_t)addr;
}

static uint8_t sum8(const uint8_t *p, uint64_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* [addr, addr + len) must not wrap around the address space. */
static bool range_ok(uint64_t addr, uint64_t len)
{
	return addr != 0 && len <= UINTPTR_MAX && addr <= UINTPTR_MAX - len;
}

/* RSDP at addr, reading no more than `avail` bytes from it. */
static bool rsdp_check(uint64_t addr, uint64_t avail)
{
	const uint8_t *p;
	uint32_t len;

	if (avail < RSDP_V1_LEN || !range_ok(addr, RSDP_V1_LEN))
		return false;
	p = ptr(addr);
	if (__builtin_memcmp(p, "RSD PTR ", 8) != 0 || sum8(p, RSDP_V1_LEN) != 0)
		return false;
	if (p[15] < 2)                  /* revision 0: ACPI 1.0, 20 bytes */
		return true;
	if (avail < RSDP_V2_MIN_LEN || !range_ok(addr, RSDP_V2_MIN_LEN))
		return false;
	len = get_le32(p + 20);
	if (len < RSDP_V2_MIN_LEN || len > RSDP_MAX_LEN || len > avail || !range_ok(addr, len))
		return false;
	return sum8(p, len) == 0;
}

bool acpi_rsdp_valid(uint64_t rsdp_addr)
{
	return rsdp_check(rsdp_addr, UINT64_MAX);
}

/* A System Description Table at addr: header length within bounds, checksum
 * over the whole table, and the signature when sig is non-NULL. Returns its
 * length, or 0 when invalid. */
static uint32_t table_check(uint64_t addr, const char *sig)
{
	const uint8_t *p;
	uint32_t len;

	if (!range_ok(addr, HDR_LEN))
		return 0;
	p = ptr(addr);
	if (sig && __builtin_memcmp(p, sig, 4) != 0)
		return 0;
	len = get_le32(p + 4);
	if (len < HDR_LEN || len > TABLE_MAX_LEN || !range_ok(addr, len))
		return 0;
	return sum8(p, len) == 0 ? len : 0;
}

/* Look for `sig` among the entries of a validated XSDT (8-byte entries) or
 * RSDT (4-byte entries). Entries are compared by signature first and only a
 * match is validated in full; an invalid match does not end the search. */
static uint64_t search_sdt(uint64_t sdt, uint32_t len, unsigned entry_size, const char *sig)
{
	const uint8_t *p = ptr(sdt);
	uint32_t off;

	for (off = HDR_LEN; off + entry_size <= len; off += entry_size) {
		uint64_t a = entry_size == 8 ? get_le64(p + off) : get_le32(p + off);

		if (!range_ok(a, HDR_LEN) || __builtin_memcmp(ptr(a), sig, 4) != 0)
			continue;
		if (table_check(a, sig))
			return a;
	}
	return 0;
}

uint64_t acpi_find_table(uint64_t rsdp_addr, const char signature[4])
{
	const uint8_t *rsdp;
	uint64_t rsdt;
	uint32_t len;

	if (!signature || !acpi_rsdp_valid(rsdp_addr))
		return 0;
	rsdp = ptr(rsdp_addr);
	if (rsdp[15] >= 2) {
		uint64_t xsdt = get_le64(rsdp + 24);

		if (xsdt && (len = table_check(xsdt, "XSDT")) != 0)
			return search_sdt(xsdt, len, 8, signature);
		/* A broken XSDT: fall back to the RSDT below when it is valid. */
	}
	rsdt = get_le32(rsdp + 16);
	if (rsdt && (len = table_check(rsdt, "RSDT")) != 0)
		return search_sdt(rsdt, len, 4, signature);
	return 0;
}

int acpi_pm_timer(uint64_t rsdp_addr, struct acpi_pm_timer *out)
{
	uint64_t fadt = acpi_find_table(rsdp_addr, "FACP");
	const uint8_t *p;
	uint32_t len, blk;

	if (!out)
		return -1;
	out->port = 0;
	out->is_32bit = false;
	if (!fadt)
		return -1;
	p = ptr(fadt);
	len = get_le32(p + 4);              /* validated by acpi_find_table */
	if (len < FADT_MIN_LEN)
		return -1;
	if (len >= FADT_X_PM_TMR_BLK + GAS_LEN && p[FADT_X_PM_TMR_BLK] == GAS_SPACE_IO) {
		uint64_t x = get_le64(p + FADT_X_PM_TMR_BLK + 4);

		if (x != 0 && x <= 0xffff) {
			out->port = (uint16_t)x;
			out->is_32bit = (get_le32(p + FADT_FLAGS) & FADT_TMR_VAL_EXT) != 0;
			return 0;
		}
	}
	blk = get_le32(p + FADT_PM_TMR_BLK);
	if (blk == 0 || blk > 0xffff || p[FADT_PM_TMR_LEN] != 4)
		return -1;
	out->port = (uint16_t)blk;
	out->is_32bit = (get_le32(p + FADT_FLAGS) & FADT_TMR_VAL_EXT) != 0;
	return 0;
}

uint64_t acpi_scan_rsdp(uint64_t start, uint64_t len)
{
	uint64_t end, a;

	if (len > UINT64_MAX - start)
		len = UINT64_MAX - start;
	end = start + len;
	a = (start + 15) & ~(uint64_t)15;
	if (a < start)                  /* start + 15 wrapped */
		return 0;
	for (; a < end && end - a >= RSDP_V1_LEN; a += 16) {
		if (rsdp_check(a, end - a))
			return a;
		if (a > UINT64_MAX - 16)
			break;
	}
	return 0;
}

static bool have_id(const uint32_t *ids, unsigned n, uint32_t id)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int acpi_madt_cpus(uint64_t rsdp_addr, uint32_t *apic_ids, unsigned max,
		   unsigned *count, uint64_t *lapic_base)
{
	uint64_t madt = acpi_find_table(rsdp_addr, "APIC");
	const uint8_t *p;
	uint32_t len, off;
	uint64_t base;
	unsigned n = 0;
	bool truncated = false;

	if (count)
		*count = 0;
	if (!madt || (max && !apic_ids))
		return -1;
	p = ptr(madt);
	len = get_le32(p + 4);
	if (len < MADT_ENTRIES)
		return -1;
	base = get_le32(p + MADT_LAPIC_ADDR);
	for (off = MADT_ENTRIES; off < len; off += p[off + 1]) {
		uint8_t type, elen;
		uint32_t id, flags;

		if (len - off < 2)
			return -1;
		type = p[off];
		elen = p[off + 1];
		if (elen < 2 || elen > len - off)
			return -1;
		if (type == MADT_LAPIC) {
			if (elen < 8)
				return -1;
			id = p[off + 3];
			flags = get_le32(p + off + 4);
			if (id == 0xff)         /* not a real APIC ID */
				continue;
		} else if (type == MADT_X2APIC) {
			if (elen < 16)
				return -1;
			id = get_le32(p + off + 4);
			flags = get_le32(p + off + 8);
			if (id == 0xffffffffu)
				continue;
		} else {
			if (type == MADT_LAPIC_OVERRIDE) {
				if (elen < 12)
					return -1;
				base = get_le64(p + off + 4);
			}
			continue;
		}
		if (!(flags & (MADT_ENABLED | MADT_ONLINE_CAPABLE)))
			continue;
		/* Some firmware lists a CPU both as LAPIC and as x2APIC. */
		if (have_id(apic_ids, n, id))
			continue;
		if (n < max)
			apic_ids[n++] = id;
		else
			truncated = true;
	}
	if (count)
		*count = n;
	if (lapic_base)
		*lapic_base = base;
	return truncated ? 1 : 0;
}
