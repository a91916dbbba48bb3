/* The VM's ISA interrupt lines (vmm/dev/irq.c): a device raises or lowers
 * its line here, and whatever interrupt controller the VM has routes it. */
#ifndef TSCVISOR_DEV_IRQ_H
#define TSCVISOR_DEV_IRQ_H

#include <stdbool.h>

struct vm;

#define ISA_IRQ_N 16

/* Line `irq` (0-15) of the VM is now at `level` (true: asserted). Safe from
 * any vCPU's exit handling; an out-of-range line is ignored. */
void isa_irq_set(struct vm *vm, unsigned irq, bool level);

#endif
