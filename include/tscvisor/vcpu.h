/* Virtual CPUs, VM exits and the vendor-ops interface.
 *
 * The core (vmm/) speaks of vCPUs and exits; a vendor backend (arch/x86/svm.c,
 * arch/x86/vmx.c) implements struct vendor_ops and turns its own exit codes
 * into struct vm_exit. One exit reason, one handler (vmm/exit.c). */
#ifndef TSCVISOR_VCPU_H
#define TSCVISOR_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/cpumodel.h>
#include <tscvisor/fastexit.h>
#include <tscvisor/guest_walk.h>
#include <tscvisor/vcpu_event.h>
#include <tscvisor/dev/lapic.h>

struct vm;
struct nested_bits;

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
	EXIT_INTR,          /* a host interrupt arrived (timer, IPI, kick) */
	EXIT_IRQ_WINDOW,    /* the guest can take an interrupt now (requested) */
	EXIT_INVD,          /* INVD or WBINVD: done as a no-op */
	EXIT_NOT_OFFERED,   /* an instruction the guest's CPU lacks (VMX, SVM,
			     * MONITOR/MWAIT; CPUID hides them): #UD */
	EXIT_XSETBV,        /* XSETBV (SVM: intercepted; VMX: always exits) */
	EXIT_RDPMC,         /* RDPMC: the guest has no counters, #GP */
	EXIT_MACHINE_CHECK, /* a #MC arrived while the guest ran (SVM) */
	EXIT_INVALID,       /* VM entry failed: bad guest state */
	EXIT_UNHANDLED,     /* an exit code the backend does not translate */
	EXIT_TLB_WATCH,     /* the guest changes a translation (INVLPG, MOV to a
			     * CR) while the exit fast path has a page recorded:
			     * forgotten, the instruction runs again unintercepted */
	EXIT_NR
};

struct vm_exit {
	enum exit_reason reason;
	uint64_t code;          /* the vendor's raw exit code, for dumps */
	uint64_t info1, info2;  /* the vendor's raw qualifiers, for dumps */
	unsigned insn_len;      /* 0 when the hardware did not say */
	union {
		struct { uint16_t port; uint8_t size; bool in, string, rep; } io;
		/* walk: the access was the guest's own page-table walk, not the
		 * data the instruction names (never emulated as MMIO). */
		struct { uint64_t gpa; bool write, fetch, walk; } npf;
		/* cr2: the #PF address, already made the guest's CR2 by the backend;
		 * prev_cr2: what CR2 held before (restored when the fault is retried). */
		struct { uint8_t vector; bool has_error; uint32_t error; uint64_t cr2, prev_cr2; } exc;
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


/* The architectural state beyond struct gprs that a backend exposes to the
 * core and to the snapshot code, vendor-neutral: a snapshot taken on SVM
 * restores on VMX and back. Segment attributes use SVM's 12-bit packing
 * (VMX converts); an unusable VMX segment is attr 0. */
struct vcpu_sregs {
	struct segment seg[SEG_NR];
	uint64_t cr0, cr2, cr3, cr4, efer, pat;
	uint64_t dr6, dr7;
	uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint32_t interrupt_shadow;   /* 1: the next instruction is in an STI/MOV SS shadow */
	struct vcpu_event pending_event; /* an event being delivered at the exit */
};

/* A vCPU's guest TSC (vmm/vmtime.c, docs/tsc-modes.md). */
struct vcpu_tsc {
	uint64_t offset;             /* additive term of this vCPU's G(h) */
	uint64_t adjust;             /* IA32_TSC_ADJUST */
	volatile uint32_t resync;    /* the VM's TSC formula changed: re-apply before entry */
};

/* A vCPU's kvmclock (vmm/kvmclock.c, docs/abi.md). */
struct kvmclock_vcpu {
	uint64_t system_time;        /* the system-time MSR: GPA | enable */
	uint64_t updates;            /* times its area was written */
	bool stopped_pending;        /* next update says PVCLOCK_GUEST_STOPPED */
	uint8_t *window_page;        /* what the pvclock window shows this vCPU; NULL: none yet */
	volatile uint32_t resync;    /* another vCPU changed what its pvclock area must say:
				      * its own pCPU rewrites it (one writer per area) */
};

struct exit_stat {
	uint64_t count;
	uint64_t cycles;   /* host TSC cycles spent in the hypervisor for this reason */
};

enum vcpu_state {
	VCPU_RUNNABLE = 0,
	VCPU_HALTED,        /* HLT: until an interrupt it can take */
	VCPU_WAIT_SIPI,     /* an AP before (or after) INIT, until a SIPI */
};

#define DC_PATH_SLOW 0xff

/* The last instruction decoded at an exit, reused while RIP, CR3, the
 * guest page-table entries that translated RIP to gpa, and its bytes in
 * guest memory are unchanged (vmm/guest.c). */
struct decode_cache {
	uint64_t rip, cr3, gpa;
	uint64_t off;          /* gpa's offset in the VM's RAM buffer (gmem_offset) */
	struct guest_walk_path path;
	/* 8-byte entries (PAE, long mode): where path.gpa[i] lies in host
	 * memory, in guest RAM (checked when recorded; RAM never moves). */
	const uint64_t *pte[GW_PATH_MAX];
	uint8_t npte;          /* path.n, or DC_PATH_SLOW for 4-byte entries */
	uint8_t bytes[16];
	uint8_t len;           /* 0: empty */
	uint8_t insn[128] __attribute__((aligned(8)));   /* struct x86_insn */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	volatile enum vcpu_state state;
	volatile unsigned cpu;       /* the pCPU this vCPU runs on */
	int loaded_on;               /* the pCPU its control block is loaded on, -1 none */
	volatile uint32_t wake;      /* set by whoever makes an interrupt pending */
	volatile uint32_t pending_init, pending_sipi; /* from another vCPU's ICR */
	bool irq_window_requested;
	uint64_t irqs_injected;
	uint64_t rdpid_emulated;
	/* Not-present #PFs the guest's page tables do not explain, retried
	 * (vmm/exit.c); the last one's RIP and address, and how many times in
	 * a row it came back. */
	uint64_t pf_retried, pf_retry_rip, pf_retry_la, pf_retry_at;
	unsigned pf_retry_run;
	unsigned pf_tested;          /* test_spurious_pf faults made so far */
	struct kvmclock_vcpu pv;     /* its pvclock area and window page (vmm/kvmclock.c) */
	uint64_t hypercalls;
	uint64_t next_move;          /* host TSC of the next forced move (test option) */
	uint64_t moves;              /* pCPU changes */
	/* The hypervisor's share of the guest time across the last save
	 * (docs/save-restore.md "The step across a restore"): the host TSC of
	 * its latest exit handled by the run loop, how long before the save
	 * instant that was, and how long after the clocks resumed its next
	 * entry came (resume_pending: not yet). */
	uint64_t exit_host;
	uint64_t save_lead, resume_lag;
	bool resume_pending;
	/* Its first exits the run loop handled after the clocks resumed:
	 * reason, host cycles since, interrupts injected so far (the
	 * end-of-VM line; what the guest did in its step across the restore). */
	struct { uint8_t reason; uint32_t at; uint32_t irqs; } after_resume[6];
	unsigned after_resume_n;
	uint64_t ipis_sent;
	uint32_t inits_seen, sipis_seen, sipis_taken; /* for the end-of-VM line */
	struct gprs regs;
	void *arch;                  /* the backend's per-vCPU state (VMCB, VMCS...) */
	uint64_t tsc_aux;            /* IA32_TSC_AUX as the guest wrote it */
	struct vcpu_tsc tsc;         /* its guest TSC (vmm/vmtime.c) */
	uint64_t apic_base;          /* IA32_APIC_BASE */
	struct lapic_state lapic;    /* registers and timer (vmm/dev/lapic.c) */
	bool halted;
	struct exit_stat stats[EXIT_NR];
	struct decode_cache dcache[4];   /* any RIP in any slot: a loop of up to four
					  * trapping instructions always hits */
	unsigned dcache_next;            /* the slot the next miss replaces */
	uint64_t fx_stack[FX_STACK_WORDS]; /* the stubs' stack, right below fx */
	struct fastexit fx;              /* the exit fast path's view (vmm/fastexit.c) */
	/* The registers no VM entry switches (<tscvisor/hw.h>, vmm/fpuswitch.c)
	 * while another vCPU has the pCPU's: x87/SSE and the other XSAVE
	 * components (an XSAVE area, standard format, whose first 512 bytes are
	 * the FXSAVE image; FXSAVE alone without XSAVE), XCR0 and DR0-DR3.
	 * fpu_saved: the image is current, load it. */
	uint8_t fpu[4096] __attribute__((aligned(64)));
	bool fpu_saved;
	uint64_t xcr0;               /* as the guest set it (XSETBV); 1 after reset */
	uint64_t dr[4];              /* DR0-DR3 */
};

/* A virtualisation backend. The core decides what a VM is (which guest
 * memory is mapped, which ports and MSRs belong to the guest outright:
 * vmm/backend.c); a backend knows only how its hardware says so. Where the
 * two vendors differ in something the core must know, that is a field here,
 * never a test of which backend is in use. */
struct vendor_ops {
	const char *name;                         /* "SVM" or "VMX" */
	/* Enable the extension on the current CPU (VMXON / EFER.SVME); called
	 * once on every pCPU that will run guests, with its own per-CPU state. */
	int (*cpu_enable)(void);
	/* Per-VM: the backend's state, with an empty nested page table (its
	 * root in *nested_root, a zeroed page), every I/O port and every MSR
	 * intercepted. vm_backend_init() (vmm/backend.c) then maps guest RAM
	 * and opens what the guest owns with pass_io_port and pass_msr. */
	int (*vm_init)(struct vm *vm, uint64_t **nested_root);
	/* Per-vCPU: control block, intercepts, initial multiboot state. */
	int (*vcpu_init)(struct vcpu *v);
	/* Run the guest until its next exit; fill *e. regs are in v->regs. */
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *e);
	/* Inject an exception at the next entry. */
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	/* CR3 alone (the decode cache's key; cheaper than get_sregs). */
	uint64_t (*get_cr3)(struct vcpu *v);
	/* Load the whole state (restore). EFER/CR0/CR4 values the hardware
	 * refuses make the next entry fail (EXIT_INVALID): the snapshot code
	 * validates first. */
	void (*set_sregs)(struct vcpu *v, const struct vcpu_sregs *s);
	/* INIT then SIPI (SDM Vol. 3A 8.4.4): real mode at CS = vector << 8,
	 * base vector << 12, IP 0, as a started AP. */
	void (*vcpu_sipi)(struct vcpu *v, uint8_t vector);
	/* Interrupt delivery. The core (virtual LAPIC) decides; the backend
	 * delivers: irq_window_open says whether an external interrupt can be
	 * injected at the next entry (RFLAGS.IF, no STI/MOV SS shadow, no event
	 * already pending); inject_irq queues one; request_irq_window asks for
	 * an EXIT_IRQ_WINDOW as soon as the window opens (SVM: V_IRQ + VINTR
	 * intercept; VMX: interrupt-window exiting). Host interrupts always
	 * exit (EXIT_INTR) and stay pending for the host (VMX: acknowledge on
	 * exit off; SVM: INTR intercept). */
	bool (*irq_window_open)(struct vcpu *v);
	/* The hypervisor completed an instruction for the guest (RIP moved
	 * past it): an STI / MOV SS interrupt shadow covering it is over
	 * (SVM: interrupt_shadow; VMX: guest interruptibility state bits 0-1). */
	void (*clear_irq_shadow)(struct vcpu *v);
	void (*inject_irq)(struct vcpu *v, uint8_t vector);
	void (*request_irq_window)(struct vcpu *v, bool on);
	/* A vCPU moves between pCPUs: put on the one it leaves, load on the one
	 * it goes to, both with interrupts off (VMX: VMCLEAR / VMPTRLD and the
	 * host-state fields of the new CPU; SVM: nothing). vcpu_run loads on
	 * first use. */
	void (*vcpu_put)(struct vcpu *v);
	void (*vcpu_load)(struct vcpu *v);
	/* MSRs the backend keeps in its control block (EFER, PAT, ...):
	 * returns true when handled. */
	bool (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
	/* TSC: apply the VM's offset (and ratio, when hardware scaling is in
	 * use) and whether RDTSC/RDTSCP exit. */
	void (*set_tsc)(struct vcpu *v, uint64_t offset, uint64_t ratio, bool trap_rdtsc);
	/* The pvclock window (docs/abi.md): guest-physical page gpa, in
	 * guest RAM, reads for this vCPU alone as host page host_pa,
	 * read-only (a write is a nested page fault); host_pa 0 gives the RAM
	 * page back. Called while the vCPU is not running; takes effect at its
	 * next entry. Returns 0, or -1 (bad address, out of memory). */
	int (*set_window)(struct vcpu *v, uint64_t gpa, uint64_t host_pa);
	/* Print the backend's view of the guest (control block fields). */
	void (*dump)(struct vcpu *v);
	/* (The members below come last so that the hot paths' offsets into
	 * the table stay small: one-byte displacements.) */
	/* Let the guest access I/O port `port` / MSR `msr` (read and write)
	 * without an exit. */
	void (*pass_io_port)(struct vm *vm, uint16_t port);
	void (*pass_msr)(struct vm *vm, uint32_t msr);
	/* The CPU vendor a guest is told of (CPUID; pure/cpumodel.c): the
	 * host's (SVM runs on AMD, VMX on Intel). */
	enum cpumodel_vendor guest_vendor;
	/* The TSC ratio's format (pure/tsc.c): fraction bits and the largest
	 * ratio the hardware takes (TSC_SVM_*, TSC_VMX_*). */
	unsigned tsc_scale_frac;
	uint64_t tsc_max_ratio;
	/* Nested page table entry bits (NPT or EPT) for pure/nested.c. */
	const struct nested_bits *nested_bits;
	/* What a snapshot records as the backend it was taken on
	 * (SNAP_VENDOR_*, pure/snapshot.h): a restore on the other one
	 * translates what differs (docs/save-restore.md). */
	unsigned snap_vendor;
};

/* What the core does for the backends (vmm/backend.c). */

/* The VM's backend state: ops->vm_init, then guest RAM mapped in the nested
 * page tables, then the ports and MSRs the guest owns passed through.
 * Returns 0 or -1. */
int vm_backend_init(struct vm *vm);
/* CR8, the guest's task priority (SDM Vol. 3A 10.8.6.1: CR8[3:0] is
 * TPR[7:4]), for a backend that intercepts MOV CR8: the virtual local APIC's
 * TPR. vcpu_cr8_write returns false (#GP) when reserved bits are set. */
uint64_t vcpu_cr8_read(struct vcpu *v);
bool vcpu_cr8_write(struct vcpu *v, uint64_t val);

#endif
