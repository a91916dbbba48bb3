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
 * when revision >= 2 and its address is non-zero, else RSDT). Returns its
 * address (validated length >= 36 and checksum) or 0. */
uint64_t acpi_find_table(uint64_t rsdp_addr, const char signature[4]);

/* PM timer from the FADT ("FACP"): X_PM_TMR_BLK when it is a valid I/O-space
 * GAS, else PM_TMR_BLK. Returns 0 on success, -1 when absent. */
int acpi_pm_timer(uint64_t rsdp_addr, struct acpi_pm_timer *out);

/* Search for an RSDP signature on 16-byte boundaries in [start, start+len)
 * (BIOS area 0xE0000-0xFFFFF). Returns its address or 0. */
uint64_t acpi_scan_rsdp(uint64_t start, uint64_t len);

#endif
