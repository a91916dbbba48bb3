/* The host's own local APIC (SDM Vol. 3A ch. 11), xAPIC or x2APIC mode as
 * the firmware left it: IPIs for AP start-up and kicks, EOI, and a one-shot
 * timer that brings the CPU back from a guest at a host TSC deadline. */
#ifndef ARCH_X86_APIC_H
#define ARCH_X86_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define VEC_HOST_TIMER 0xec
#define VEC_KICK       0xed
#define VEC_SPURIOUS   0xff

#define ICR_INIT       (5u << 8)
#define ICR_STARTUP    (6u << 8)
#define ICR_FIXED      (0u << 8)
#define ICR_ASSERT     (1u << 14)
#define ICR_LEVEL      (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)

void apic_init_cpu(void);
uint32_t apic_id(void);
void apic_eoi(void);
/* Send an IPI (ICR low bits) to APIC ID `dest` (ignored with a shorthand). */
void apic_send_ipi(uint32_t dest, uint32_t icr_lo);
/* Measure the timer's rate against the TSC (once, on the boot CPU). */
void apic_timer_calibrate(uint64_t tsc_khz);
/* hw_timer_at (<tscvisor/hw.h>) fires VEC_HOST_TIMER on this CPU at a host
 * TSC deadline; hw_kick_cpu sends VEC_KICK. */
uint64_t apic_timer_khz(void);
void apic_debug_dump(void);

#endif
