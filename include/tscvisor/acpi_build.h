/* Builder of the minimal ACPI tables a guest finds in its memory (pure C):
 * RSDP, RSDT, XSDT, FADT (naming the host's ACPI PM timer, passed through
 * read-only as the guest's reference clock, and the PM1a event and control
 * blocks of vmm/dev/pm1.c), FACS, a DSDT of a few objects (\_S5, \_PIC, the
 * PCI root bridge \_SB.PCI0) and a MADT
 * listing the VM's vCPUs and, when it has one, its I/O APIC with the PC's
 * two interrupt source overrides (ISA IRQ 0 -> GSI 2; the SCI, IRQ 9,
 * level-triggered active-high). Layout and field choices: docs/guest-acpi.md.
 *
 * Guest-physical address X is ram[X]. Every address written into a table is
 * params->address_base + X: 0 for a guest; host tests pass the host address
 * of `ram` so that the hypervisor's own parser (acpi.h), which follows
 * pointers, can walk the result. */
#ifndef TSCVISOR_ACPI_BUILD_H
#define TSCVISOR_ACPI_BUILD_H

#include <stdint.h>
#include <stdbool.h>

/* The builder owns [ACPI_GUEST_AREA_BASE, ACPI_GUEST_AREA_END): the BIOS
 * area of a PC, which the multiboot loader reserves in the memory map. It
 * zeroes all of it and puts the tables there at fixed addresses. */
#define ACPI_GUEST_AREA_BASE  0xE0000u
#define ACPI_GUEST_AREA_END   0x100000u
#define ACPI_GUEST_RSDP_GPA   0xF0000u  /* found by 0xE0000 and 0xF0000 scans */
#define ACPI_GUEST_MAX_CPUS   255u      /* one-byte APIC IDs, 0xFF is broadcast */
#define ACPI_GUEST_LAPIC_BASE 0xFEE00000u
#define ACPI_GUEST_SCI_INT    9u
#define ACPI_GUEST_IOAPIC_BASE 0xFEC00000u
#define ACPI_GUEST_IOAPIC_MAX_ID 0x0Fu  /* the IOAPIC's ID register holds 4 bits */

/* The PM1a register blocks the FADT names (vmm/dev/pm1.c answers them):
 * PM1_STS at 0x600 and PM1_EN at 0x602, PM1_CNT at 0x604, where a Q35
 * chipset has them (its PM timer, 0x608, stays clear of them, as does a
 * PIIX4's 0xb008). The SLP_TYP value of S5 (soft-off) in the DSDT's \_S5. */
#define ACPI_GUEST_PM1A_EVT_PORT 0x600u
#define ACPI_GUEST_PM1_EVT_LEN   4u
#define ACPI_GUEST_PM1A_CNT_PORT 0x604u
#define ACPI_GUEST_PM1_CNT_LEN   2u
#define ACPI_GUEST_PM1_LAST_PORT (ACPI_GUEST_PM1A_CNT_PORT + ACPI_GUEST_PM1_CNT_LEN - 1u)
#define ACPI_GUEST_SLP_TYP_S5    7u

struct acpi_guest_params {
	unsigned num_cpus;          /* 1..ACPI_GUEST_MAX_CPUS */
	const uint8_t *apic_ids;    /* num_cpus distinct IDs (not 0xFF), in MADT
				     * order, the first the BSP; NULL: 0..n-1 */
	uint32_t lapic_base;        /* MADT Local APIC Address, non-zero */
	uint32_t ioapic_addr;       /* the I/O APIC's address; 0: none in the MADT */
	uint8_t ioapic_id;          /* its ID, 0..ACPI_GUEST_IOAPIC_MAX_ID */
	uint16_t pm_timer_port;     /* host PM_TMR_BLK; 0: the FADT names none */
	bool pm_timer_32bit;        /* FADT flags TMR_VAL_EXT */
	const char *oem_id;         /* <= 6 chars, space-padded; NULL: "TSCVSR" */
	const char *oem_table_id;   /* <= 8 chars, space-padded; NULL: "TSCVISOR" */
	uint32_t oem_revision;
	uint64_t address_base;      /* added to every address written; 0 for guests */
};

/* Where the tables are, as guest-physical addresses (address_base not added). */
struct acpi_build_result {
	uint64_t rsdp, rsdt, xsdt, fadt, facs, dsdt, madt;
	uint64_t area_start, area_end;  /* the range zeroed and owned */
	const char *error;              /* why it refused; NULL on success */
};

/* Build the tables into ram[0 .. ram_size). Checks everything before writing
 * anything: on refusal (-1, res->error says why) ram is untouched. Refuses a
 * NULL ram or p, ram_size < 1 MiB, num_cpus 0 or above ACPI_GUEST_MAX_CPUS,
 * APIC ID 0xFF or a repeated one, lapic_base 0, an I/O APIC ID above
 * ACPI_GUEST_IOAPIC_MAX_ID (when ioapic_addr is set), a PM timer port whose
 * four bytes overlap the PM1 blocks, an OEM string too long, and
 * an address_base that makes an address wrap. A 32-bit address field
 * (RsdtAddress, RSDT entries, FIRMWARE_CTRL, DSDT) gets 0 when the address
 * does not fit in 32 bits (only possible with a large address_base); the
 * 64-bit fields (XsdtAddress, XSDT entries, X_FIRMWARE_CTRL, X_DSDT) always
 * carry it. res may be NULL. Returns 0 on success. */
int acpi_build_guest_tables(uint8_t *ram, uint64_t ram_size,
			    const struct acpi_guest_params *p,
			    struct acpi_build_result *res);

#endif
