/* The ports a test guest ends its VM with: QEMU's isa-debug-exit at 0xf4
 * (status (c << 1) | 1, as QEMU exits) and Bochs's shutdown port 0x8900,
 * which takes the bytes of "Shutdown" in order. Both read all-ones. */
#include <tscvisor/io.h>
#include <tscvisor/vm.h>

static void debug_exit_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t v)
{
	(void)dev;
	(void)off;
	(void)size;
	uart_flush(vm);
	vm_end(vm, VM_END_EXIT_PORT, (v << 1) | 1, "exit port 0xf4");
}

static void shutdown_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t v)
{
	static const char word[] = "Shutdown";
	struct exit_ports_state *x = dev;

	(void)off;
	(void)size;
	if ((char)v == word[x->shutdown_pos])
		x->shutdown_pos++;
	else
		x->shutdown_pos = (char)v == word[0] ? 1 : 0;
	if (x->shutdown_pos == sizeof(word) - 1) {
		uart_flush(vm);
		vm_end(vm, VM_END_SHUTDOWN, 1, "\"Shutdown\" on port 0x8900");
	}
}

int exit_ports_create(struct vm *vm)
{
	if (port_register(vm, &(struct port_region){
		.first = PORT_DEBUG_EXIT, .last = PORT_DEBUG_EXIT, .name = "debug-exit",
		.write = debug_exit_write }))
		return -1;
	return port_register(vm, &(struct port_region){
		.first = PORT_BOCHS_SHUTDOWN, .last = PORT_BOCHS_SHUTDOWN, .name = "bochs-shutdown",
		.dev = &vm->exit_ports, .write = shutdown_write });
}
