/* The guest's port I/O (docs/platform.md "Devices"): dispatched over the
 * ranges the devices of vmm/dev/ register (include/tscvisor/io.h);
 * everything else reads all-ones and drops writes. */
#ifndef TSCVISOR_PIO_H
#define TSCVISOR_PIO_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/vm.h>

/* size is 1, 2 or 4. For an IN, *val is filled (low `size` bytes). Called
 * with the VM's device lock held. */
void pio_access(struct vm *vm, uint16_t port, unsigned size, bool in, uint32_t *val);

#endif
