/* The guest's ACPI PM timer port (vmm/dev/acpi_pm.c; the translation
 * arithmetic is pure/pmtimer.c). */
#ifndef TSCVISOR_DEV_ACPI_PM_H
#define TSCVISOR_DEV_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/pmtimer.h>

struct vm;
struct snap_vm;
struct save_ctx;

struct acpi_pm_state {
	uint16_t port;               /* the guest's PM timer port (its FADT), 0: none */
	struct pm_xlate xlate;       /* how it maps onto this host's (pure/pmtimer.c);
				      * PM_DIRECT: passed through read-only */
};

/* The guest's timer at guest_port (0: none), guest_32bit wide, on a host
 * whose own is at host_port (0: none), host_32bit wide, its TSC at
 * host_khz: registered as a trapped port unless it is the host's own. */
int acpi_pm_create(struct vm *vm, uint16_t guest_port, bool guest_32bit, uint16_t host_port,
		   bool host_32bit, uint64_t host_khz);
void acpi_pm_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int acpi_pm_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
