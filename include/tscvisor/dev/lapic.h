/* The local APIC's place on the MMIO bus and in a snapshot
 * (vmm/dev/lapic.c; the rest of its interface is in <tscvisor/guest.h>). */
#ifndef TSCVISOR_DEV_LAPIC_H
#define TSCVISOR_DEV_LAPIC_H

struct vm;
struct snap_vm;
struct save_ctx;

/* Register the xAPIC page of every vCPU on the VM's MMIO bus. */
int lapic_create(struct vm *vm);
void lapic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int lapic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
