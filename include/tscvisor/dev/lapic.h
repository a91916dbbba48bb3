/* The local APIC's state, its place on the MMIO bus and in a snapshot
 * (vmm/dev/lapic.c; the rest of its interface is in <tscvisor/guest.h>). */
#ifndef TSCVISOR_DEV_LAPIC_H
#define TSCVISOR_DEV_LAPIC_H

#include <stdint.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define APIC_NR_REGS 64              /* 16-byte slots below APIC_REGS_END */

struct lapic_timer {
	uint64_t host_deadline;     /* host TSC at which it fires, 0 = disarmed */
	uint64_t period;            /* host TSC cycles, periodic mode */
	uint64_t guest_deadline;    /* IA32_TSC_DEADLINE as written */
	uint64_t fired;             /* times it fired */
	uint64_t catchup;           /* missed periodic ticks still to deliver */
	uint64_t late_total, late_max; /* host cycles between deadline and firing */
};

/* A vCPU's local APIC (struct vcpu's `lapic`; IA32_APIC_BASE is the
 * vCPU's apic_base). */
struct lapic_state {
	uint32_t regs[APIC_NR_REGS]; /* xAPIC registers at 16-byte offsets */
	struct lapic_timer timer;
};

/* Register the xAPIC page of every vCPU on the VM's MMIO bus. */
int lapic_create(struct vm *vm);
void lapic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int lapic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
