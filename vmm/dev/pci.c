/* PCI configuration space, mechanism #1, on a machine with no PCI devices
 * (include/tscvisor/dev/pci.h): CONFIG_ADDRESS at 0xCF8 keeps the dword a
 * guest writes there and reads it back (how a guest tells that the
 * mechanism exists), and every read of CONFIG_DATA (0xCFC-0xCFF, any size)
 * is all-ones: no function answers at any bus, device and function, so a
 * probe finds nothing at once. As on a PC's host bridge, only dword
 * accesses reach CONFIG_ADDRESS; narrower ones there read all-ones and are
 * dropped (the configuration mechanism #2 probe then finds nothing). */
#include <tscvisor/dev/pci.h>
#include <tscvisor/io.h>
#include <tscvisor/vm.h>

#define DATA_OFF (PORT_PCI_DATA - PORT_PCI_ADDR)

static uint32_t pci_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	const struct pci_state *p = dev;

	(void)vm;
	if (off == 0 && size == 4)
		return p->addr;
	return 0xffffffffu;
}

static void pci_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val)
{
	struct pci_state *p = dev;

	(void)vm;
	if (off == 0 && size == 4)
		p->addr = val;
	/* CONFIG_DATA writes: no device to take them. */
}

int pci_create(struct vm *vm)
{
	_Static_assert(DATA_OFF == 4, "CONFIG_DATA follows CONFIG_ADDRESS");
	vm->pci.addr = 0;
	return port_register(vm, &(struct port_region){
		.first = PORT_PCI_ADDR, .last = PORT_PCI_DATA + 3, .name = "pci-conf1",
		.dev = &vm->pci, .read = pci_read, .write = pci_write });
}
