/* What the core emulates for a guest beyond port I/O: CPUID, MSRs, MMIO
 * (the local APIC page and unbacked addresses), and access to the guest's
 * instruction stream. */
#ifndef TSCVISOR_GUEST_H
#define TSCVISOR_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/cpumodel.h>
#include <tscvisor/vcpu.h>
#include <tscvisor/x86_decode.h>

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define APIC_BASE_BSP      (1ull << 8)
#define APIC_BASE_EXTD     (1ull << 10)
#define APIC_BASE_ENABLE   (1ull << 11)
/* The virtual LAPIC timer's bus clock (CPUID 0x40000010 EBX). */
#define LAPIC_TIMER_KHZ    1000000ull

/* Long mode with a 64-bit code segment (EFER.LMA and CS.L). */
bool guest_long_mode(struct vcpu *v);
/* Decode the instruction at the guest's RIP (CS base + RIP through the
 * guest's own page tables). Returns 0 or -1. */
int guest_decode_at_rip(struct vcpu *v, struct x86_insn *insn);
/* The same without the copy: the cached decode (valid until the next
 * decode on this vCPU), or NULL. */
const struct x86_insn *guest_insn_at_rip(struct vcpu *v);
/* Up to 15 bytes at RIP (for a log line): the count read, 0 if none. */
unsigned guest_bytes_at_rip(struct vcpu *v, uint8_t bytes[X86_MAX_INSN_LEN]);
/* A not-present #PF at linear address la (error code pfec) that the
 * guest's page tables, as they are now, do not explain (guest_walk.h). */
bool guest_pf_unexplained_now(struct vcpu *v, uint64_t la, uint32_t pfec);

/* vmm/cpuid.c. The time leaf (docs/abi.md). */
#define TIMELEAF_BASE   0x40000100u  /* EAX max leaf, "TSCVisorTSCV" */
#define TIMELEAF_STATE  0x40000101u  /* EAX flags, EBX mode, ECX tsc_khz, EDX incarnation */
#define TIMELEAF_SCALE  0x40000102u  /* EAX mul, EBX shift, ECX:EDX guest rate kHz */
#define TIMELEAF_MAX    TIMELEAF_SCALE
#define TIMELEAF_TRAPPED         (1u << 0)
#define TIMELEAF_HOST_RELIABLE   (1u << 1)
#define TIMELEAF_HW_SCALING      (1u << 2)
#define TIMELEAF_PV_FAST_PATH    (1u << 3)
#define TIMELEAF_RATE_GUARANTEED (1u << 4)
void guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* The vendor whose description (pure/cpumodel.c) the VM is shown. */
enum cpumodel_vendor guest_cpu_vendor(const struct vm *vm);

/* vmm/msr.c: 0 on success, -1 when the guest must get #GP. */
int guest_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
int guest_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);

/* vmm/mmio.c: emulate the access that caused a nested page fault. Returns
 * false when it cannot (the caller stops the VM). */
bool guest_mmio(struct vcpu *v, struct vm_exit *e);

/* vmm/dev/lapic.c: the virtual local APIC. */
void lapic_reset(struct vcpu *v);
/* WRMSR IA32_APIC_BASE: 0, or -1 for #GP. */
int lapic_write_apic_base(struct vcpu *v, uint64_t val);
uint32_t lapic_read(struct vcpu *v, uint32_t offset);
void lapic_write(struct vcpu *v, uint32_t offset, uint32_t val);
int lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);
void lapic_accept(struct vcpu *v, uint8_t vector);
bool lapic_accept_irq(struct vcpu *v, uint8_t vector, bool level);
int lapic_pending(struct vcpu *v);
/* Whether any vector is requested (IRR non-empty): the run loop's cheap
 * test before lapic_pending(). The IRR is lapic.regs[0x20..0x27]. */
static inline bool lapic_irr_any(const struct vcpu *v)
{
	const uint32_t *irr = &v->lapic.regs[0x200 >> 4];
	uint32_t any = __atomic_load_n(&irr[0], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[1], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[2], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[3], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[4], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[5], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[6], __ATOMIC_RELAXED) |
		       __atomic_load_n(&irr[7], __ATOMIC_RELAXED);

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return any != 0;
}
void lapic_ack(struct vcpu *v, uint8_t vector);
void lapic_timer_check(struct vcpu *v, uint64_t now);
uint64_t lapic_next_deadline(struct vcpu *v);
uint64_t lapic_read_tsc_deadline(struct vcpu *v);
void lapic_write_tsc_deadline(struct vcpu *v, uint64_t guest_tsc);

#endif
