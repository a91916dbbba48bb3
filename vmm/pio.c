/* The port bus (docs/platform.md "Devices"): an IN or OUT goes to the first
 * registered range holding the port (include/tscvisor/io.h); a port no
 * device claims reads all-ones and drops writes. The devices are in
 * vmm/dev/. */
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/pio.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

int port_register(struct vm *vm, const struct port_region *r)
{
	struct port_bus *b = &vm->ports;

	if (b->n >= IO_MAX_PORT_REGIONS || r->first > r->last) {
		log_err("vm %s: device %s: ports 0x%x-0x%x cannot be registered (%s)", vm->name,
			r->name, r->first, r->last, r->first > r->last ? "empty range" : "table full");
		return -1;
	}
	b->r[b->n++] = *r;
	return 0;
}

static void unknown_port(struct vm *vm, uint16_t port, unsigned size, bool in)
{
	struct port_bus *b = &vm->ports;
	uint64_t *w = &b->unknown_logged[port / 64], bit = 1ull << (port % 64);

	if (*w & bit)
		return;
	*w |= bit;
	/* Once per port, and for VM_PORT_LOG_LINES ports: a guest walking
	 * the 64 Ki ports must not make a log line of each (the caller holds
	 * the device lock). */
	if (b->unknown_lines > VM_PORT_LOG_LINES)
		return;
	b->unknown_lines++;
	vm_info(vm, "vm %s: %s of unemulated port 0x%x (%u bytes): %s (logged once per port%s)",
		    vm->name, in ? "read" : "write", port, size, in ? "all-ones" : "dropped",
		    b->unknown_lines > VM_PORT_LOG_LINES ? "; the ports after this one are not logged" : "");
}

void pio_access(struct vm *vm, uint16_t port, unsigned size, bool in, uint32_t *val)
{
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	const struct port_region *r = vm->ports.r, *end = r + vm->ports.n;

	for (; r < end; r++) {
		if (port < r->first || port > r->last)
			continue;
		if (in)
			*val = r->read ? r->read(vm, r->dev, (uint16_t)(port - r->first), size) & mask : mask;
		else if (r->write)
			r->write(vm, r->dev, (uint16_t)(port - r->first), size, *val & mask);
		return;
	}
	unknown_port(vm, port, size, in);
	if (in)
		*val = mask;
}
