/* The exit fast path (docs/performance.md): RDTSC, RDTSCP, CPUID of a few
 * fixed leaves and the null hypercall handled right after the world switch
 * and re-entered without the run loop. The backend's run call is handed
 * one struct fastexit per vCPU, filled before every slow entry
 * (fastexit_prepare) with all the fast path reads; whatever it cannot
 * answer exactly (another exit, another leaf, an instruction whose length
 * is not known cheaply, a TSC value that would need the 128-bit quotient)
 * goes back to the C run loop unchanged.
 *
 * "Nothing else to do" is the word `ok`: the run loop clears it when an
 * entry must go through its checks every time (a periodic timer catching
 * up). Every other reason to leave the guest (an interrupt to inject, a
 * kick from another pCPU for INIT/SIPI, a pause, a TSC resync, the VM's
 * end; a LAPIC timer, a slice or a move deadline) arrives as a host
 * interrupt, which makes the next entry exit at once as EXIT_INTR, and that
 * exit is never a fast one; the deadlines are also checked against the TSC
 * (leave_at), since Bochs does not exit for a host interrupt while the
 * guest has IF = 0. */
#ifndef TSCVISOR_FASTEXIT_H
#define TSCVISOR_FASTEXIT_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/tsc.h>   /* fx_mul_div */

#define FX_OK_TSC    1u     /* RDTSC/RDTSCP trap and may be answered here */
#define FX_OK_CPUID  2u
#define FX_OK_HC     4u

#define FX_CPUID_N   4      /* leaves answered from the table */
#define FX_PTE_N     4      /* paging levels checked (4-level and PAE) */

struct fx_cpuid {
	uint32_t leaf, r[4], pad;
};

/* Offsets are the assembly's (arch/x86/fastexit.inc); fastexit.c asserts
 * them. */
struct fastexit {
	uint64_t ok;                /* 0x00: FX_OK_* */
	uint64_t bias;              /* 0x08: this pCPU's test skew (vm_host_tsc) - host_base */
	uint64_t host_base;         /* 0x10: struct tsc_emul (bias has it) */
	uint64_t guest_khz;         /* 0x18 */
	uint64_t host_khz;          /* 0x20 */
	uint64_t offset;            /* 0x28: the vCPU's tsc_offset (TSC writes, TSC_ADJUST) */
	uint64_t *last;             /* 0x30: the VM-wide monotonic floor, last_emulated */
	uint64_t tsc_aux;           /* 0x38 */
	/* Without NRIPS: where the last exiting instruction's page was. The
	 * fast path takes its bytes from there while CR0, CR3, the CS base
	 * (0) and the linear page are those recorded and every
	 * paging-structure entry that translated it still holds its value
	 * (unused levels point at `zero`). page = 1 (never a page address):
	 * nothing recorded. */
	uint64_t cr0, cr3;          /* 0x40, 0x48 */
	uint64_t cr4;               /* 0x50: recorded, not checked (fastexit_learn) */
	uint64_t page;              /* 0x58: RIP & ~0xfff */
	uint64_t host_delta;        /* 0x60: RIP + host_delta = its bytes in host memory */
	const uint64_t *pte[FX_PTE_N]; /* 0x68 */
	uint64_t val[FX_PTE_N];     /* 0x88 */
	uint64_t zero;              /* 0xa8 */
	/* Counts of fast exits, folded into the vCPU's exit table after
	 * each return to C. */
	uint64_t n_rdtsc, n_rdtscp, n_cpuid, n_hc; /* 0xb0 .. 0xc8 */
	struct fx_cpuid cpuid[FX_CPUID_N];         /* 0xd0, 24 bytes each */
	/* 0x130: raw host TSC from which the slow path must run again: the
	 * deadline the run loop armed (LAPIC timer, slice, move, save) and on
	 * VMX the preemption timer's; ~0 = none. A fast exit at or after it
	 * leaves, whatever the emulator does with the host's interrupts. */
	uint64_t leave_at;
	uint64_t cpuid_filled;
};

struct vcpu;
struct decode_cache;

/* Before an entry from the run loop: the fast path's copy of the TSC
 * formula and the ok word. */
void fastexit_prepare(struct vcpu *v);
/* After the run call: fast exits into the exit statistics. */
void fastexit_fold(struct vcpu *v);
/* The slow path decoded (or found cached) the instruction at RIP: record
 * its page for the fast path when it is one the fast path answers. */
void fastexit_learn(struct vcpu *v, const struct decode_cache *dc, int kind);
/* C fast path for backends that give the instruction length (VMX):
 * true when the exit was answered and the guest can be re-entered. */
struct vm_exit;
bool fastexit_handle(struct vcpu *v, struct vm_exit *e);

#endif
