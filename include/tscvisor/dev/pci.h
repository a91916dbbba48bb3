/* PCI configuration mechanism #1 with no devices behind it (vmm/dev/pci.c):
 * the address register at 0xCF8 and the data window at 0xCFC. */
#ifndef TSCVISOR_DEV_PCI_H
#define TSCVISOR_DEV_PCI_H

#include <stdint.h>

struct vm;

#define PORT_PCI_ADDR 0xcf8
#define PORT_PCI_DATA 0xcfc

struct pci_state {
	uint32_t addr;              /* CONFIG_ADDRESS as last written */
};

int pci_create(struct vm *vm);

#endif
