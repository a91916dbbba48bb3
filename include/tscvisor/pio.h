/* Port I/O seen by a guest (docs/platform.md): the UART console, the exit
 * ports, fw_cfg, PIC masks; everything else reads all-ones and drops writes. */
#ifndef TSCVISOR_PIO_H
#define TSCVISOR_PIO_H

#include <stdint.h>
#include <tscvisor/vm.h>

#define PORT_DEBUG_EXIT 0xf4
#define PORT_BOCHS_SHUTDOWN 0x8900
#define PORT_FWCFG_SEL  0x510
#define PORT_FWCFG_DATA 0x511
#define PORT_COM1       0x3f8

/* size is 1, 2 or 4. For an IN, *val is filled (low `size` bytes). */
void pio_access(struct vm *vm, uint16_t port, unsigned size, bool in, uint32_t *val);
/* Flush a partial console line (at VM end). */
void uart_flush(struct vm *vm);

#endif
