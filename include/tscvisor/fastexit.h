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
 * them. The stubs run with RSP pointing at this structure (SVM: from before
 * VMRUN; VMX: the VMCS host RSP), so every field is [rsp + offset] and no
 * register is spent on finding it; struct vcpu's fx_stack below it takes
 * what a fault in the stub would push (a hypervisor bug: NMI, #DF and #MC have their own
 * stack). */
struct fastexit {
	/* Read by the stubs. */
	uint64_t leave_tsc;         /* 0x00: raw host TSC from which RDTSC/RDTSCP go
				     * to the slow path: the run loop's deadline, the
				     * TSC where fx_mul_div would decline
				     * (fx_tsc_limit); 0 = never answered here */
	uint64_t bias;              /* 0x08: this pCPU's test skew (vm_host_tsc) - host_base */
	uint64_t guest_khz;         /* 0x10 */
	uint64_t host_khz;          /* 0x18 */
	uint64_t offset;            /* 0x20: the vCPU's tsc_offset (TSC writes, TSC_ADJUST) */
	uint64_t *last;             /* 0x28: the VM-wide monotonic floor, last_emulated */
	uint64_t tsc_aux;           /* 0x30 */
	/* Without NRIPS (SVM): the linear page of the last exiting
	 * instruction the slow path decoded, and where its bytes are in host
	 * memory. Valid while the guest has not changed a translation: the
	 * backend intercepts INVLPG and MOV to CR0/CR3/CR4 while a page is
	 * recorded and forgets it at the first (docs/performance.md). 1 (never
	 * a page address): nothing recorded. */
	uint64_t page;              /* 0x38 */
	uint64_t host_page;         /* 0x40 */
	uint64_t leave_at;          /* 0x48: raw host TSC from which CPUID and the null
				     * hypercall go to the slow path; 0 = always */
	/* Counts of fast exits, folded into the vCPU's exit table after
	 * each return to C. */
	uint64_t n_rdtsc, n_rdtscp, n_cpuid, n_hc; /* 0x50 .. 0x68 */
	/* The stubs' own frame: the hypervisor's stack pointer, what the run
	 * call was given, the guest registers the fast path borrows. */
	uint64_t host_rsp;          /* 0x70 */
	uint64_t gprs;              /* 0x78: struct gprs * */
	uint64_t vmcb_pa;           /* 0x80: SVM: the guest's VMCB */
	uint64_t host_vmcb_pa;      /* 0x88: SVM */
	uint64_t save_rax, save_rbx, save_rcx, save_rdx; /* 0x90 .. 0xa8 */
	struct fx_cpuid cpuid[FX_CPUID_N];         /* 0xb0, 24 bytes each */
	/* C only. */
	uint64_t ok;                /* FX_OK_*: the C fast path (fastexit_handle) */
	uint64_t deadline;          /* the run loop's deadline as a raw TSC; ~0 = none */
	uint64_t cpuid_filled;
};

/* Room below struct fastexit for the stubs' stack (struct vcpu puts it
 * right before). */
#define FX_STACK_WORDS 384

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
/* The backend's own reasons: the stub must leave at the first exit (VMX
 * without a saved preemption timer), or by host TSC `at`. */
void fastexit_stub_off(struct fastexit *fx);
void fastexit_leave_by(struct fastexit *fx, uint64_t at);
/* Forget the recorded page (a translation may have changed). */
void fastexit_forget(struct fastexit *fx);

#endif
