/* PCI configuration space, mechanism #1 (include/tscvisor/dev/pci.h,
 * docs/platform.md "PCI"): one function, the host bridge at 00:00.0, and
 * nothing else. CONFIG_ADDRESS at 0xCF8 keeps the dword a guest writes
 * there and reads it back (how a guest tells that the mechanism exists);
 * CONFIG_DATA (0xCFC-0xCFF, any size) reads the bridge's configuration
 * space when CONFIG_ADDRESS has its enable bit and names bus 0, device 0,
 * function 0, and all-ones for any other function (nobody answers), for
 * the AMD extended-register bits 27:24 (no extended space) and with the
 * enable bit clear. The bridge's header is read-only: no BARs, no command
 * bits to set, no interrupt; writes to CONFIG_DATA are dropped. As on a
 * PC's host bridge, only dword accesses reach CONFIG_ADDRESS; narrower ones
 * there read all-ones and are dropped (the configuration mechanism #2 probe
 * then finds nothing). */
#include <tscvisor/dev/pci.h>
#include <tscvisor/io.h>
#include <tscvisor/vm.h>

#define DATA_OFF (PORT_PCI_DATA - PORT_PCI_ADDR)

#define ADDR_ENABLE   (1u << 31)
#define ADDR_EXT_REG  (0xfu << 24)       /* AMD: register bits 11:8 */
#define ADDR_BDF      (0xffffu << 8)     /* bus 23:16, device 15:11, function 10:8 */
#define ADDR_REG      0xfcu

/* The host bridge's first 16 bytes (type 0 header); the rest of its 256
 * bytes read 0: no BARs, subsystem IDs, capabilities or interrupt pin. */
static uint32_t bridge_dword(unsigned reg)
{
	switch (reg) {
	case 0x00:
		return (uint32_t)PCI_HOST_DEVICE_ID << 16 | PCI_HOST_VENDOR_ID;
	case 0x08:                          /* revision 0, prog-if 0, subclass, class */
		return PCI_HOST_CLASS << 8;
	default:                            /* command, status, header type 0, ... */
		return 0;
	}
}

static uint32_t pci_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	const struct pci_state *p = dev;
	uint32_t a = p->addr;

	(void)vm;
	(void)size;
	if (off < DATA_OFF)
		return off == 0 && size == 4 ? a : 0xffffffffu;
	if (!(a & ADDR_ENABLE) || (a & ADDR_EXT_REG) || (a & ADDR_BDF) != 0)
		return 0xffffffffu;
	/* The bus masks the result to `size`; bytes past the dword are ones. */
	return (uint32_t)(((uint64_t)bridge_dword(a & ADDR_REG) | 0xffffffff00000000ull) >>
			  (8 * (off - DATA_OFF)));
}

static void pci_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val)
{
	struct pci_state *p = dev;

	(void)vm;
	if (off == 0 && size == 4)
		p->addr = val;
	/* CONFIG_DATA writes: the bridge's header has nothing writable. */
}

int pci_create(struct vm *vm)
{
	_Static_assert(DATA_OFF == 4, "CONFIG_DATA follows CONFIG_ADDRESS");
	vm->pci.addr = 0;
	return port_register(vm, &(struct port_region){
		.first = PORT_PCI_ADDR, .last = PORT_PCI_DATA + 3, .name = "pci-conf1",
		.dev = &vm->pci, .read = pci_read, .write = pci_write });
}
