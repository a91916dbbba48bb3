/* Virtual CPUs, VM exits and the vendor-ops interface.
 *
 * The core (vmm/) speaks of vCPUs and exits; a vendor backend (arch/x86/svm.c,
 * arch/x86/vmx.c) implements struct vendor_ops and turns its own exit codes
 * into struct vm_exit. One exit reason, one handler (vmm/exit.c). */
#ifndef TSCVISOR_VCPU_H
#define TSCVISOR_VCPU_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Guest general-purpose registers. RAX, RSP, RIP and RFLAGS live in the
 * VMCB/VMCS; the backend copies them here before an exit is handled and back
 * before the next entry, so handlers only ever touch this struct. Order is
 * the hardware register number (ModRM encoding), which the decoder uses. */
struct gprs {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

static inline uint64_t *gpr_by_index(struct gprs *g, unsigned idx)
{
	return &(&g->rax)[idx & 15];
}

enum exit_reason {
	EXIT_NONE = 0,
	EXIT_CPUID,
	EXIT_RDTSC,
	EXIT_RDTSCP,
	EXIT_RDMSR,
	EXIT_WRMSR,
	EXIT_IO,
	EXIT_HLT,
	EXIT_HYPERCALL,     /* VMMCALL / VMCALL */
	EXIT_NPF,           /* nested page fault / EPT violation */
	EXIT_EXCEPTION,     /* an intercepted guest exception */
	EXIT_SHUTDOWN,      /* triple fault */
	EXIT_INTR,          /* a host interrupt arrived */
	EXIT_INVALID,       /* VM entry failed: bad guest state */
	EXIT_UNHANDLED,     /* an exit code the backend does not translate */
	EXIT_NR
};

struct vm_exit {
	enum exit_reason reason;
	uint64_t code;          /* the vendor's raw exit code, for dumps */
	uint64_t info1, info2;  /* the vendor's raw qualifiers, for dumps */
	unsigned insn_len;      /* 0 when the hardware did not say */
	union {
		struct { uint16_t port; uint8_t size; bool in, string, rep; } io;
		struct { uint64_t gpa; bool write, fetch; } npf;
		struct { uint8_t vector; bool has_error; uint32_t error; uint64_t cr2; } exc;
	} u;
};

/* Segment register in a vendor-neutral form (as in a descriptor). */
struct segment {
	uint16_t sel;
	uint16_t attr;   /* type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1 (SVM packing) */
	uint32_t limit;
	uint64_t base;
};

enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
	       SEG_GDTR, SEG_IDTR, SEG_NR };

/* The architectural state a backend exposes to the core (and later the
 * snapshot code), vendor-neutral. */
struct vcpu_sregs {
	struct segment seg[SEG_NR];
	uint64_t cr0, cr2, cr3, cr4, efer, pat;
};

struct exit_stat {
	uint64_t count;
	uint64_t cycles;   /* host TSC cycles spent in the hypervisor for this reason */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct gprs regs;
	void *arch;                  /* the backend's per-vCPU state (VMCB, VMCS...) */
	uint64_t tsc_aux;            /* IA32_TSC_AUX as the guest wrote it */
	uint64_t tsc_offset;         /* additive term of this vCPU's G(h) */
	uint64_t tsc_adjust;         /* IA32_TSC_ADJUST */
	uint64_t apic_base;          /* IA32_APIC_BASE */
	uint32_t lapic_regs[64];     /* xAPIC registers at 16-byte offsets */
	bool halted;
	struct exit_stat stats[EXIT_NR];
};

struct vendor_ops {
	const char *name;                         /* "SVM" or "VMX" */
	/* Enable the extension on the current CPU (VMXON / EFER.SVME). */
	int (*cpu_enable)(void);
	/* Per-VM: build the nested page tables mapping guest RAM. */
	int (*vm_init)(struct vm *vm);
	/* Per-vCPU: control block, intercepts, initial multiboot state. */
	int (*vcpu_init)(struct vcpu *v);
	/* Run the guest until its next exit; fill *e. regs are in v->regs. */
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *e);
	/* Inject an exception at the next entry. */
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	/* MSRs the backend keeps in its control block (EFER, PAT, ...):
	 * returns true when handled. */
	bool (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
	/* TSC: apply the VM's offset (and ratio, when hardware scaling is in
	 * use) and whether RDTSC/RDTSCP exit. */
	void (*set_tsc)(struct vcpu *v, uint64_t offset, uint64_t ratio, bool trap_rdtsc);
	/* Print the backend's view of the guest (control block fields). */
	void (*dump)(struct vcpu *v);
};

#endif
