/* The guest's platform (docs/platform.md): every device a VM has, created
 * with the VM, each registering its ranges on the VM's buses
 * (include/tscvisor/io.h). The order is the buses' priority where ranges
 * overlap: the PM timer goes first (its port is wherever a FADT put it). */
#include <tscvisor/bootinfo.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/lapic.h>
#include <tscvisor/dev/pci.h>
#include <tscvisor/dev/pm1.h>
#include <tscvisor/dev/platform.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmrun.h>

/* The guest's PM timer is the host's on a fresh VM; a VM restored from a
 * snapshot keeps the one its FADT names (the snapshot's PLATFORM section),
 * trapped and translated when this host's differs. */
static int pm_timer(struct vm *vm, const struct boot_vm *bv, const struct platform_info *pf)
{
	uint16_t port = pf->pm_timer_port;
	bool wide = pf->pm_timer_32bit;

	if (bv->snapshot && bv->snap_platform) {
		port = bv->snap_pm_port;
		wide = bv->snap_pm_32bit;
	}
	return acpi_pm_create(vm, port, wide, pf->pm_timer_port, pf->pm_timer_32bit, pf->tsc.tsc_khz);
}

int platform_create(struct vm *vm, const struct boot_vm *bv, const struct platform_info *pf)
{
	if (pm_timer(vm, bv, pf) || uart_create(vm) || exit_ports_create(vm) || fwcfg_create(vm) ||
	    pic_create(vm) || pci_create(vm) || lapic_create(vm) || ioapic_create(vm) ||
	    pm1_create(vm))
		return -1;
	return 0;
}
