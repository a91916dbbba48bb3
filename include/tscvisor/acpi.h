/* ACPI table lookup (pure C): walks RSDP -> XSDT/RSDT -> tables through plain
 * pointers. In the hypervisor physical memory is identity-mapped, so a physical
 * address is a pointer; host tests build tables in buffers and pass their
 * addresses. Every table's length and checksum are checked before use. */
#ifndef TSCVISOR_ACPI_H
#define TSCVISOR_ACPI_H

#include <stdint.h>
#include <stdbool.h>

struct acpi_pm_timer {
	uint16_t port;      /* I/O port of PM_TMR_BLK (0 when absent) */
	bool is_32bit;      /* FADT flags TMR_VAL_EXT */
};

/* Validate an RSDP at `rsdp_addr` (signature "RSD PTR ", checksum of the first
 * 20 bytes, extended checksum for revision >= 2). Returns true when valid. */
bool acpi_rsdp_valid(uint64_t rsdp_addr);

/* Find the table with `signature` (4 chars) through the RSDP (XSDT preferred
 * when revision >= 2 and its address is non-zero, else RSDT; a broken XSDT
 * falls back to the RSDT). XSDT entries are 64-bit and may be misaligned.
 * Returns the address of the first matching table that validates (length
 * 36..1 MiB, checksum) or 0. The XSDT/RSDT are validated the same way. */
uint64_t acpi_find_table(uint64_t rsdp_addr, const char signature[4]);

/* PM timer from the FADT ("FACP", at least the 116 bytes of ACPI 1.0):
 * X_PM_TMR_BLK (offset 208) when the FADT holds it and it is a System I/O
 * (space id 1) GAS with a non-zero port address, else PM_TMR_BLK (offset 76)
 * when non-zero and PM_TMR_LEN (offset 91) is 4. is_32bit is TMR_VAL_EXT,
 * flags (offset 112) bit 8. Returns 0 on success, -1 when absent (*out is
 * then zeroed). */
int acpi_pm_timer(uint64_t rsdp_addr, struct acpi_pm_timer *out);

/* Search for a valid RSDP (as acpi_rsdp_valid, and lying wholly inside the
 * range) on 16-byte boundaries in [start, start+len) (BIOS area
 * 0xE0000-0xFFFFF). Candidates with a bad checksum are skipped. Returns the
 * first one's address or 0. */
uint64_t acpi_scan_rsdp(uint64_t start, uint64_t len);

/* CPUs from the MADT ("APIC"): the APIC IDs of Processor Local APIC (type 0)
 * and Processor Local x2APIC (type 9) entries whose flags have Enabled (bit 0)
 * or Online Capable (bit 1) set, in table order, without duplicates (an ID
 * listed in both forms counts once; IDs 0xff / 0xffffffff are skipped). Stores
 * at most `max` IDs in apic_ids[] and their number in *count (when count is
 * non-NULL). *lapic_base (when non-NULL) gets the Local APIC address, from a
 * Local APIC Address Override (type 5) entry if there is one. Returns 0, 1
 * when more CPUs than `max` were present (the rest are dropped), -1 when
 * there is no valid MADT or an entry is malformed (*count is then 0). */
int acpi_madt_cpus(uint64_t rsdp_addr, uint32_t *apic_ids, unsigned max,
		   unsigned *count, uint64_t *lapic_base);

#endif
