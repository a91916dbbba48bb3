/* IA32_APIC_BASE: the local APIC's modes and the legal changes between them
 * (Intel SDM Vol. 3A 11.12.5 "x2APIC State Transitions", figure "Local
 * x2APIC State Transitions"). Pure C, host-tested (tests/test_x86_alu.c). */
#ifndef TSCVISOR_APIC_MODE_H
#define TSCVISOR_APIC_MODE_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_BASE_BSP_BIT    (1ull << 8)
#define APIC_BASE_EXTD_BIT   (1ull << 10)
#define APIC_BASE_EN_BIT     (1ull << 11)

enum apic_mode {
	APIC_MODE_DISABLED,     /* EN=0 EXTD=0: no APIC at all (SDM 11.4.3) */
	APIC_MODE_INVALID,      /* EN=0 EXTD=1: cannot be entered */
	APIC_MODE_XAPIC,        /* EN=1 EXTD=0: the MMIO page */
	APIC_MODE_X2APIC,       /* EN=1 EXTD=1: MSRs 0x800-0x8ff */
};

enum apic_mode apic_mode_of(uint64_t apic_base);

/* Whether a WRMSR of `val` to IA32_APIC_BASE, now holding `old`, is legal:
 * 0, or -1 for #GP. maxphyaddr is CPUID 0x80000008 EAX[7:0] as the guest
 * sees it; x2apic is CPUID.1:ECX[21] (without it EXTD is reserved). Refused:
 * reserved bits (0-7, 9, MAXPHYADDR and above), a change of the BSP flag
 * (set by the platform at reset), the invalid state, x2APIC -> xAPIC and
 * disabled -> x2APIC. */
int apic_base_check(uint64_t old, uint64_t val, unsigned maxphyaddr, bool x2apic);

#endif
