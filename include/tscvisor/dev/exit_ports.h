/* The ports a test guest ends its VM with (vmm/dev/exit_ports.c): QEMU's
 * isa-debug-exit at 0xf4 and Bochs's "Shutdown" port 0x8900. */
#ifndef TSCVISOR_DEV_EXIT_PORTS_H
#define TSCVISOR_DEV_EXIT_PORTS_H

struct vm;

#define PORT_DEBUG_EXIT     0xf4
#define PORT_BOCHS_SHUTDOWN 0x8900

struct exit_ports_state {
	unsigned shutdown_pos;       /* progress through "Shutdown" on 0x8900 */
};

int exit_ports_create(struct vm *vm);

#endif
