/* The guest's ACPI PM timer when it is not the host's own: its port is
 * trapped, each read reads the host's timer (or TSC) and translates
 * (pure/pmtimer.c). Read-only: writes are dropped. A read of fewer bytes,
 * or at an offset into the register, gets those bytes. When it is the
 * host's own (PM_DIRECT) the backends pass the port through and no access
 * reaches this file. */
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

#define PM_TMR_LEN 4                 /* PM_TMR_BLK: one 32-bit register */

static uint32_t pm_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	struct acpi_pm_state *pm = dev;
	uint64_t h = pm->xlate.host_port ? inl(pm->xlate.host_port) : vm_host_tsc();

	(void)vm;
	(void)size;
	return pm_xlate_read(&pm->xlate, h) >> (8 * off);
}

int acpi_pm_create(struct vm *vm, uint16_t guest_port, bool guest_32bit, uint16_t host_port,
		   bool host_32bit, uint64_t host_khz)
{
	struct acpi_pm_state *pm = &vm->pm;

	pm->port = guest_port;
	if (!guest_port)
		return 0;
	pm_xlate_init(&pm->xlate, guest_port, guest_32bit, host_port, host_32bit, host_khz);
	if (pm->xlate.kind != PM_DIRECT)
		log_info("vm %s: PM timer: the guest's at port 0x%x (%u-bit), this host's at 0x%x "
			 "(%u-bit): %s", vm->name, guest_port, guest_32bit ? 32 : 24, host_port,
			 host_32bit ? 32 : 24, pm_xlate_kind_name(pm->xlate.kind));
	/* First on the bus: the guest's FADT may put it anywhere, and it
	 * wins over any other device there (as it always has). */
	return port_register(vm, &(struct port_region){
		.first = guest_port,
		.last = guest_port > 0xffff - (PM_TMR_LEN - 1) ? 0xffff : guest_port + PM_TMR_LEN - 1,
		.name = "acpi-pm-timer", .dev = pm, .read = pm_read });
}

/* The PLATFORM section: where the guest's FADT put the timer, so that a VM
 * restored on another host keeps it there (boot/ reads it before the VM is
 * created: acpi_pm_create() takes it then). */
void acpi_pm_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	(void)c;
	s->platform.present = true;
	s->platform.pm_timer_port = vm->pm.port;
	s->platform.pm_timer_32bit = vm->pm.port && vm->pm.xlate.guest_32bit;
}

/* Nothing to do: the port was placed when the VM was created, from this
 * same section (a restore within the boot keeps the VM's own). */
int acpi_pm_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	(void)vm;
	(void)s;
	(void)c;
	return 0;
}
