/* The VM's I/O APIC at 0xFEC00000 (vmm/dev/ioapic.c): the register logic of
 * pure/ioapic_regs.c behind a lock, on the VM's MMIO bus, delivering to the
 * vCPUs' local APICs. docs/platform.md "Interrupt routing". */
#ifndef TSCVISOR_DEV_IOAPIC_H
#define TSCVISOR_DEV_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/ioapic_regs.h>
#include <tscvisor/spinlock.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define IOAPIC_BASE  0xFEC00000ull
#define IOAPIC_SIZE  0x1000ull
#define IOAPIC_ID    0u             /* the MADT's I/O APIC ID (vCPUs' IDs are separate) */

struct ioapic_state {
	struct spinlock lock;          /* its own: isa_irq_set() may be called under dev_lock */
	struct ioapic_regs r;
	uint64_t sent, eois;           /* messages delivered, level EOIs taken */
};

int ioapic_create(struct vm *vm);
void ioapic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int ioapic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

/* Input pin `pin` (0-23) is now at `level`. Any pCPU, any lock but the
 * IOAPIC's own held. */
void ioapic_set_irq(struct vm *vm, unsigned pin, bool level);

/* A local APIC's EOI of a level-triggered `vector` (vmm/dev/lapic.c). */
void ioapic_eoi(struct vm *vm, uint8_t vector);

#endif
