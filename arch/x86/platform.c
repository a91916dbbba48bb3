/* Ending a run. Under QEMU (isa-debug-exit at 0xf4) the process status then
 * tells pass (1) from fail (3); Bochs ends on "Shutdown" written to 0x8900;
 * real hardware powers off through UEFI's ResetSystem; if all of that is
 * absent the CPU halts with interrupts off. The result line before it is
 * the core's (hv_exit, vmm/log.c): this layer only stops the machine. */
#include "platform.h"
#include "insn.h"

#define DEBUG_EXIT_PORT  0xf4
#define BOCHS_SHUTDOWN   0x8900

static void (*fw_shutdown)(bool pass);

void platform_set_fw_shutdown(void (*fn)(bool pass))
{
	fw_shutdown = fn;
}

void hw_power_off(bool pass)
{
	const char *s = "Shutdown";

	cli();
	outl(DEBUG_EXIT_PORT, pass ? 0 : 1);
	while (*s)
		outb(BOCHS_SHUTDOWN, (uint8_t)*s++);
	if (fw_shutdown)
		fw_shutdown(pass);
	for (;;)
		hlt();
}
