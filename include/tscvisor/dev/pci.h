/* PCI configuration mechanism #1 with a host bridge at 00:00.0 and nothing
 * else behind it (vmm/dev/pci.c): the address register at 0xCF8 and the
 * data window at 0xCFC. */
#ifndef TSCVISOR_DEV_PCI_H
#define TSCVISOR_DEV_PCI_H

#include <stdint.h>

struct vm;

#define PORT_PCI_ADDR 0xcf8
#define PORT_PCI_DATA 0xcfc

/* The host bridge: Red Hat's "QEMU PCIe Host bridge" IDs (a bridge with no
 * registers of its own beyond the header, so no guest driver or quirk
 * pokes at it), class 06 00 00 (bridge, host, no programming interface). */
#define PCI_HOST_VENDOR_ID 0x1b36
#define PCI_HOST_DEVICE_ID 0x0008
#define PCI_HOST_CLASS     0x060000u

struct pci_state {
	uint32_t addr;              /* CONFIG_ADDRESS as last written */
};

int pci_create(struct vm *vm);

#endif
