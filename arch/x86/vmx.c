/* Intel VMX backend (SDM Vol. 3C, chapters 23-28). Implements struct
 * vendor_ops; reads like svm.c: per CPU enable, per VM extended page tables
 * and permission bitmaps, per vCPU a VMCS, run, translate the exit.
 *
 * Where SVM keeps guest state in a memory block the hypervisor reads at
 * will, VMX keeps it in a VMCS reached only by VMREAD/VMWRITE while the VMCS
 * is current on the CPU: every op that touches it first makes it current
 * (vmcs_acquire) and, when the vCPU was not loaded on any CPU, lets go of it
 * again (vmcs_release) so the scheduler may load it anywhere. */
#include <string.h>
#include <tscvisor/guest.h>
#include <tscvisor/fastexit.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/vm.h>
#include "cpu.h"
#include <tscvisor/nested.h>
#include <tscvisor/snapshot.h>
#include "percpu.h"
#include "vendor.h"
#include "vmx.h"
#include "insn.h"

int vmx_run(struct gprs *g, int launched, struct fastexit *fx);
void vmx_exit(void);

/* Per-VM backend state. */
struct vmx_vm {
	uint64_t *ept_pml4;
	uint64_t eptp;
	uint8_t *io_bitmaps;   /* 8 KiB: A (ports 0-0x7fff) then B; set = exit */
	uint8_t *msr_bitmap;   /* 4 KiB: read low/high, write low/high; set = exit */
};

/* The guest's SYSCALL MSRs and KERNEL_GS_BASE, and DR6: no VMCS field holds
 * them and the hypervisor never uses them, so they live in the hardware
 * while the vCPU owns its CPU's copy (vmx_pcpu.owner) and here otherwise. */
enum { GM_STAR, GM_LSTAR, GM_CSTAR, GM_SFMASK, GM_KERNEL_GS_BASE, GM_NR };
static const uint32_t guest_msr_index[GM_NR] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102,
};

/* Per-vCPU backend state. */
struct vmx_vcpu {
	uint8_t *vmcs;
	uint64_t vmcs_pa;
	struct pcpu *cpu;        /* where the VMCS is active (VMPTRLD), NULL = clear */
	bool launched;           /* VMRESUME, not VMLAUNCH */
	bool flush_tlb;          /* INVEPT/INVVPID before the next entry */
	uint16_t vpid;
	uint32_t proc, proc2;    /* VM-execution controls as last written */
	uint64_t cr2;            /* not in the VMCS: loaded before every entry */
	uint64_t msr[GM_NR];
	uint64_t dr6;
	uint32_t intr_state;     /* guest interruptibility state, as in the VMCS */
	uint64_t eptp;           /* the VM's, or this vCPU's own (pvclock window) */
	bool eptp_dirty;         /* write it into the VMCS before the next entry */
	uint64_t *win[4];        /* pvclock window: this vCPU's PML4, PDPT, PD, PT */
	uint64_t preempt_at;     /* host TSC by which the preemption timer ends the run */
};

/* Per physical CPU (struct pcpu.vendor). */
struct vmx_pcpu {
	uint64_t vmxon_pa;
	uint64_t current_vmcs;   /* physical address VMPTRLD'd here, 0 = none */
	struct vcpu *owner;      /* whose guest MSRs and DR6 the hardware holds */
};

/* Found once, on the boot CPU: what every VMCS is built from. */
static struct {
	bool ready;
	uint32_t revision;
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t proc_may1, proc2_may1;   /* allowed-1 settings of the toggled controls */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t cr0_mask, cr4_mask;      /* bits the guest must not own (guest/host masks) */
	unsigned invept_type, invvpid_type; /* 0 = not available */
	unsigned preempt_shift;           /* preemption timer ticks = TSC >> this */
} caps;

static struct cpu_info vmx_cpu;

#define PA(p) ((uint64_t)(uintptr_t)(p))

/* ---- VMX instructions (SDM Vol. 3C 31.3; fail = CF or ZF) ----------- */

static inline uint64_t vmread(uint64_t field)
{
	uint64_t val;

	__asm__ volatile("vmread %1, %0" : "=r"(val) : "r"(field) : "cc");
	return val;
}

static void vmwrite_failed(uint64_t field, uint64_t val)
{
	static unsigned logged;

	if (logged++ < 8)
		log_err("vmx: VMWRITE 0x%04lx = 0x%lx failed (VM-instruction error %lu)",
			field, val,
			vmread(VMCS_INSN_ERROR));
}

static inline void vmwrite(uint64_t field, uint64_t val)
{
	uint8_t bad;

	__asm__ volatile("vmwrite %2, %1\n\tsetna %0" : "=qm"(bad) : "r"(field), "rm"(val)
			 : "cc", "memory");
	if (bad)
		vmwrite_failed(field, val);
}

static inline bool vmx_insn_pa(int which, uint64_t pa)
{
	uint8_t bad;

	if (which == 0)
		__asm__ volatile("vmxon %1\n\tsetna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	else if (which == 1)
		__asm__ volatile("vmptrld %1\n\tsetna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	else
		__asm__ volatile("vmclear %1\n\tsetna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	return !bad;
}
#define vmxon(pa)   vmx_insn_pa(0, pa)
#define vmptrld(pa) vmx_insn_pa(1, pa)
#define vmclear(pa) vmx_insn_pa(2, pa)

static void invept(unsigned type, uint64_t eptp)
{
	struct { uint64_t eptp, zero; } d = { eptp, 0 };

	__asm__ volatile("invept %0, %1" :: "m"(d), "r"((uint64_t)type) : "cc", "memory");
}

static void invvpid(unsigned type, uint16_t vpid)
{
	struct { uint64_t vpid, linear; } d = { vpid, 0 };

	__asm__ volatile("invvpid %0, %1" :: "m"(d), "r"((uint64_t)type) : "cc", "memory");
}

static inline uint64_t read_dr6(void)
{
	uint64_t v;

	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void write_dr6(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr6" :: "r"(v));
}

/* ---- Per CPU --------------------------------------------------------- */

/* A control word from its capability MSR (SDM Vol. 3C A.3-A.5): the low
 * half says which bits must be 1, the high half which may be 1. */
static bool make_ctls(const char *what, uint32_t msr, uint32_t want, uint32_t optional,
		      uint32_t *out, uint32_t *may1_out)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);

	if (want & ~may1) {
		log_err("vmx: %s controls: this CPU cannot set 0x%x (allowed 0x%x)", what,
			want & ~may1, may1);
		return false;
	}
	*out = want | (optional & may1) | must1;
	if (may1_out)
		*may1_out = may1;
	return true;
}

static int find_caps(void)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC), ept = rdmsr(MSR_IA32_VMX_EPT_VPID);
	bool tru = basic & VMX_BASIC_TRUE_CTLS;
	struct cpu_info ci;

	/* As svm_cpu_enable: a local copy, published whole, so no pCPU ever
	 * reads vmx_cpu half rewritten by another's discovery. */
	cpu_discover(&ci);
	vmx_cpu = ci;
	if (!ci.vmx_ept || !ci.vmx_unrestricted || !ci.vmx_tsc_offset || !ci.vmx_rdtsc_exiting) {
		log_err("vmx: needs EPT, unrestricted guest, TSC offsetting and RDTSC exiting");
		return -1;
	}
	if (((basic >> 32) & 0x1fff) > 4096) {
		log_err("vmx: VMCS size %lu above one page", ((basic >> 32) & 0x1fff));
		return -1;
	}
	/* With unrestricted guest the guest enters long mode on its own; VM
	 * exits then record EFER.LMA in the "IA-32e mode guest" entry control
	 * (SDM Vol. 3C 27.2, A.6: always so where unrestricted guest exists). */
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_STORE_LMA)) {
		log_err("vmx: VM exits do not store EFER.LMA (IA32_VMX_MISC[5])");
		return -1;
	}
	if ((ept & (EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M)) != (EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M)) {
		log_err("vmx: EPT needs 4-level walks, write-back and 2 MiB pages (cap 0x%lx)",
			ept);
		return -1;
	}
	caps.revision = (uint32_t)basic & 0x7fffffff;
	caps.preempt_shift = rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_PREEMPT_RATE;
	if (!make_ctls("pin-based", tru ? MSR_IA32_VMX_TRUE_PIN : MSR_IA32_VMX_PINBASED,
		       PIN_EXTINT_EXITING | PIN_NMI_EXITING, PIN_PREEMPTION_TIMER, &caps.pin, NULL) ||
	    !make_ctls("primary", tru ? MSR_IA32_VMX_TRUE_PROC : MSR_IA32_VMX_PROCBASED,
		       PROC_HLT_EXITING | PROC_TSC_OFFSETTING | PROC_IO_BITMAPS | PROC_MSR_BITMAPS |
		       PROC_SECONDARY | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		       PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_RDPMC_EXITING, 0, &caps.proc,
		       &caps.proc_may1) ||
	    !make_ctls("secondary", MSR_IA32_VMX_PROCBASED2, PROC2_EPT | PROC2_UNRESTRICTED,
		       PROC2_VPID | PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES, &caps.proc2,
		       &caps.proc2_may1) ||
	    !make_ctls("VM-exit", tru ? MSR_IA32_VMX_TRUE_EXIT : MSR_IA32_VMX_EXIT_CTLS,
		       EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
		       EXIT_SAVE_DEBUG | EXIT_SAVE_PREEMPT, &caps.exit, NULL) ||
	    !make_ctls("VM-entry", tru ? MSR_IA32_VMX_TRUE_ENTRY : MSR_IA32_VMX_ENTRY_CTLS,
		       ENTRY_LOAD_EFER | ENTRY_LOAD_PAT, ENTRY_LOAD_DEBUG, &caps.entry, NULL))
		return -1;
	if (caps.exit & EXIT_ACK_INTR) {
		log_err("vmx: this CPU forces acknowledge-interrupt-on-exit");
		return -1;
	}
	caps.entry &= ~ENTRY_IA32E_GUEST;   /* follows the guest's EFER.LMA */
	if (!(caps.proc2 & PROC2_VPID) || !(ept & VPID_CAP_INVVPID))
		caps.proc2 &= ~PROC2_VPID;
	else
		caps.invvpid_type = ept & VPID_CAP_INVVPID_SINGLE ? 1 : ept & VPID_CAP_INVVPID_ALL ? 2 : 0;
	if (ept & EPT_CAP_INVEPT)
		caps.invept_type = ept & EPT_CAP_INVEPT_SINGLE ? 1 : ept & EPT_CAP_INVEPT_ALL ? 2 : 0;

	/* CR0 and CR4 bits fixed in VMX operation (SDM Vol. 3C A.7, A.8). The
	 * guest does not see them: they are in the guest/host masks, and the
	 * read shadows show the guest its own values. Unrestricted guest frees
	 * PE and PG. Bits CR4 may not have become masked too, so setting one
	 * exits and gets the #GP it deserves. */
	caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	caps.cr0_mask = (caps.cr0_fixed0 | ~caps.cr0_fixed1) & 0xffffffffull & ~(X86_CR0_PE | X86_CR0_PG);
	caps.cr4_mask = (caps.cr4_fixed0 | ~caps.cr4_fixed1) & 0xffffffffull;

	log_info("vmx: VMCS revision 0x%x; controls pin 0x%x, primary 0x%x, secondary 0x%x, exit 0x%x, "
		 "entry 0x%x; CR0/CR4 guest-host masks 0x%lx/0x%lx; VPID %s, INVEPT type %u",
		 caps.revision, caps.pin, caps.proc, caps.proc2, caps.exit, caps.entry,
		 caps.cr0_mask, caps.cr4_mask,
		 caps.proc2 & PROC2_VPID ? "yes" : "no", caps.invept_type);
	caps.ready = true;
	return 0;
}

static int vmx_cpu_enable(void)
{
	struct vmx_pcpu *p;
	uint32_t *vmxon_region;
	uint64_t fc;
	uint32_t r[4];

	cpuid(1, r);
	if (!(r[2] & (1u << 5)))
		return -1;
	/* IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7): lock bit 0, VMX outside SMX
	 * bit 2. Firmware that locked it without bit 2 forbids VMX until the
	 * next reset; unlocked (OVMF under Bochs leaves 0), we allow and lock. */
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		log_err("vmx: CPU %u: IA32_FEATURE_CONTROL is locked (0x%lx) with VMX outside SMX off: "
			"the firmware forbids VMX; enable it in the firmware setup", this_cpu()->index,
			fc);
		return -1;
	}
	if (!caps.ready && find_caps())
		return -1;
	/* CR0/CR4 as VMX operation requires (SDM Vol. 3C 24.8), then VMXON
	 * with a region carrying the VMCS revision identifier. */
	write_cr0((read_cr0() | caps.cr0_fixed0) & caps.cr0_fixed1);
	write_cr4((read_cr4() | caps.cr4_fixed0 | X86_CR4_VMXE) & caps.cr4_fixed1);
	p = mem_alloc_pages(1);
	vmxon_region = mem_alloc_pages(1);
	vmxon_region[0] = caps.revision;
	p->vmxon_pa = PA(vmxon_region);
	if (!vmxon(p->vmxon_pa)) {
		log_err("vmx: CPU %u: VMXON failed", this_cpu()->index);
		return -1;
	}
	/* TSC_AUX is switched lazily (cur_tsc_aux): start from a known 0, not
	 * what the firmware left, so a vCPU that never wrote it reads 0. */
	if (vmx_cpu.rdtscp)
		wrmsr(MSR_IA32_TSC_AUX, 0);
	this_cpu()->cur_tsc_aux = 0;
	this_cpu()->vendor = p;
	return 0;
}

/* ---- Per VM ---------------------------------------------------------- */

static void msr_bitmap_pass(uint8_t *bm, uint32_t msr)
{
	uint32_t read_base, write_base, bit;

	if (msr < 0x2000) {
		read_base = 0, write_base = 0x800, bit = msr;
	} else if (msr >= 0xc0000000 && msr < 0xc0002000) {
		read_base = 0x400, write_base = 0xc00, bit = msr - 0xc0000000;
	} else {
		return;
	}
	bm[read_base + bit / 8] &= ~(1u << (bit % 8));
	bm[write_base + bit / 8] &= ~(1u << (bit % 8));
}

/* EPT entry bits (SDM Vol. 3C 29.3.2): RWX everywhere, write-back leaves. */
static const struct nested_bits vmx_ept_bits = {
	.table = EPT_RWX, .large = EPT_RWX | EPT_MT_WB | EPT_LARGE,
	.page = EPT_RWX | EPT_MT_WB, .ro_page = EPT_R | EPT_MT_WB,
};

/* The VM's EPT root (EPTP: write-back, 4 levels), its I/O bitmaps A and B
 * (one page each, B following A so that the port number is the bit number)
 * and MSR bitmap (one page), everything intercepted until vm_backend_init()
 * opens what the guest owns. The SYSCALL MSRs and KERNEL_GS_BASE it opens
 * stay in the hardware while the vCPU runs (SWAPGS changes KERNEL_GS_BASE
 * without an exit, so a copy kept here would go stale); FS/GS base and
 * SYSENTER_* are VMCS guest-state fields. */
static int vmx_vm_init(struct vm *vm, uint64_t **nested_root)
{
	struct vmx_vm *x = mem_alloc_pages(1);

	x->ept_pml4 = mem_alloc_pages(1);
	x->eptp = PA(x->ept_pml4) | EPTP_WB_4LEVEL;
	x->io_bitmaps = mem_alloc_pages(2);
	memset(x->io_bitmaps, 0xff, 2 * 4096);
	x->msr_bitmap = mem_alloc_pages(1);
	memset(x->msr_bitmap, 0xff, 4096);
	vm->arch = x;
	*nested_root = x->ept_pml4;
	return 0;
}

static void vmx_pass_io_port(struct vm *vm, uint16_t port)
{
	struct vmx_vm *x = vm->arch;

	x->io_bitmaps[port / 8] &= ~(1u << (port % 8));
}

static void vmx_pass_msr(struct vm *vm, uint32_t msr)
{
	struct vmx_vm *x = vm->arch;

	msr_bitmap_pass(x->msr_bitmap, msr);
}

/* ---- VMCS ownership -------------------------------------------------- */

static void write_host_state(void);

/* Make v's VMCS current here. Returns true when it was not active on any
 * CPU and has only been borrowed: vmcs_release then clears it again. */
static bool vmcs_acquire(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	struct pcpu *cpu = this_cpu();
	struct vmx_pcpu *p = cpu->vendor;

	if (s->cpu == cpu) {
		if (p->current_vmcs != s->vmcs_pa) {
			vmptrld(s->vmcs_pa);
			p->current_vmcs = s->vmcs_pa;
		}
		return false;
	}
	if (s->cpu)
		log_err("vmx: VM '%s' vCPU %u touched on CPU %u while its VMCS is active on CPU %u",
			v->vm->name, v->id, cpu->index, s->cpu->index);
	vmptrld(s->vmcs_pa);
	p->current_vmcs = s->vmcs_pa;
	return true;
}

static void vmcs_release(struct vcpu *v, bool borrowed)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_pcpu *p = this_cpu()->vendor;

	if (!borrowed)
		return;
	vmclear(s->vmcs_pa);
	p->current_vmcs = 0;
}

/* ---- Per vCPU -------------------------------------------------------- */

/* Segment i of ES, CS, SS, DS, FS, GS, LDTR, TR (the VMCS field order, and
 * enum seg_reg's). attr in SVM's 12-bit packing; 0 = unusable. */
static uint32_t ar_of(uint16_t attr)
{
	return attr ? (attr & 0xffu) | ((attr & 0xf00u) << 4) : VMX_AR_UNUSABLE;
}

static uint16_t attr_of(uint32_t ar)
{
	return ar & VMX_AR_UNUSABLE ? 0 : (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00));
}

static void set_seg(unsigned i, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
	vmwrite(VMCS_GUEST_ES_SEL + 2 * i, sel);
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, ar_of(attr));
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, base);
}

/* The guest-visible CR0/CR4 goes to the read shadow; the real register gets
 * the same value with the bits VMX fixes forced as they must be. */
static void write_cr0_fields(uint64_t cr0)
{
	vmwrite(VMCS_CR0_SHADOW, cr0);
	vmwrite(VMCS_GUEST_CR0, (cr0 & ~caps.cr0_mask) | (caps.cr0_fixed0 & caps.cr0_mask));
}

static void write_cr4_fields(uint64_t cr4)
{
	vmwrite(VMCS_CR4_SHADOW, cr4);
	vmwrite(VMCS_GUEST_CR4, (cr4 & ~caps.cr4_mask) | (caps.cr4_fixed0 & caps.cr4_mask));
}

static uint64_t guest_cr0(void)
{
	return (vmread(VMCS_GUEST_CR0) & ~caps.cr0_mask) | (vmread(VMCS_CR0_SHADOW) & caps.cr0_mask);
}

static uint64_t guest_cr4(void)
{
	return (vmread(VMCS_GUEST_CR4) & ~caps.cr4_mask) | (vmread(VMCS_CR4_SHADOW) & caps.cr4_mask);
}

/* EFER and the "IA-32e mode guest" entry control must agree (SDM Vol. 3C
 * 26.3.1.1): both follow EFER.LMA. */
static void write_efer(uint64_t efer)
{
	uint64_t entry = vmread(VMCS_ENTRY_CTLS);

	vmwrite(VMCS_GUEST_EFER, efer);
	vmwrite(VMCS_ENTRY_CTLS, efer & X86_EFER_LMA ? entry | ENTRY_IA32E_GUEST : entry & ~ENTRY_IA32E_GUEST);
}

/* PAE paging outside long mode: with EPT, VM entry takes the four PDPTEs
 * from the VMCS (SDM Vol. 3C 26.3.2.4); a MOV to CR0/CR3/CR4 the backend
 * emulates must load them as the CPU would. */
static void load_pdptes(struct vcpu *v)
{
	uint64_t cr3 = vmread(VMCS_GUEST_CR3) & 0xffffffe0ull, pdpte[4] = { 0, 0, 0, 0 }, off;
	unsigned i;

	if (!(guest_cr0() & X86_CR0_PG) || !(guest_cr4() & X86_CR4_PAE) || (vmread(VMCS_GUEST_EFER) & X86_EFER_LMA))
		return;
	if (gmem_offset(v->vm->ram_size, cr3, sizeof(pdpte), &off))
		memcpy(pdpte, v->vm->ram + off, sizeof(pdpte));
	for (i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static void write_host_state(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdtr, idtr;
	uint16_t cs, ss, ds, es, fs, gs, tr;
	const uint64_t *desc;
	uint64_t tr_base;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	__asm__ volatile("mov %%es, %0" : "=r"(es));
	__asm__ volatile("mov %%fs, %0" : "=r"(fs));
	__asm__ volatile("mov %%gs, %0" : "=r"(gs));
	__asm__ volatile("str %0" : "=r"(tr));
	/* The 16-byte TSS descriptor (SDM Vol. 3A 7.2.3): base 23:0 in bits
	 * 16-39, 31:24 in bits 56-63, 63:32 in the second quadword. */
	desc = (const uint64_t *)(uintptr_t)(gdtr.base + (tr & ~7u));
	tr_base = ((desc[0] >> 16) & 0xffffff) | (((desc[0] >> 56) & 0xff) << 24) | (desc[1] << 32);

	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	/* Selectors with RPL and TI 0 (SDM Vol. 3C 26.2.3). */
	vmwrite(VMCS_HOST_CS_SEL, cs & ~7u);
	vmwrite(VMCS_HOST_SS_SEL, ss & ~7u);
	vmwrite(VMCS_HOST_DS_SEL, ds & ~7u);
	vmwrite(VMCS_HOST_ES_SEL, es & ~7u);
	vmwrite(VMCS_HOST_FS_SEL, fs & ~7u);
	vmwrite(VMCS_HOST_GS_SEL, gs & ~7u);
	vmwrite(VMCS_HOST_TR_SEL, tr & ~7u);
	vmwrite(VMCS_HOST_FS_BASE, rdmsr(0xc0000100));
	vmwrite(VMCS_HOST_GS_BASE, rdmsr(0xc0000101));   /* this_cpu() */
	vmwrite(VMCS_HOST_TR_BASE, tr_base);
	vmwrite(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_SYSENTER_CS, rdmsr(0x174));
	vmwrite(VMCS_HOST_SYSENTER_ESP, rdmsr(0x175));
	vmwrite(VMCS_HOST_SYSENTER_EIP, rdmsr(0x176));
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit);
	/* VMCS_HOST_RSP: written by vmx_run before every entry. */
}

/* Multiboot entry state (Multiboot 0.6.96, 3.2): 32-bit protected mode,
 * paging off, flat 4 GiB code and data segments; EAX/EBX set by the core.
 * The VMCS is written on this CPU and cleared again: the scheduler loads
 * it on whichever CPU the vCPU runs. */
static int vmx_vcpu_init(struct vcpu *v)
{
	const struct vmx_vm *x = v->vm->arch;
	struct vmx_vcpu *s = mem_alloc_pages(1);
	struct vmx_pcpu *p = this_cpu()->vendor;
	unsigned i;

	s->vmcs = mem_alloc_pages(1);
	s->vmcs_pa = PA(s->vmcs);
	*(uint32_t *)s->vmcs = caps.revision;
	s->vpid = caps.proc2 & PROC2_VPID ? (uint16_t)(1 + v->vm->index * VM_MAX_VCPUS + v->id) : 0;
	s->proc = caps.proc;
	s->proc2 = caps.proc2;
	s->dr6 = 0xffff0ff0;
	v->arch = s;
	if (!vmclear(s->vmcs_pa) || !vmptrld(s->vmcs_pa)) {
		log_err("vmx: VMCLEAR/VMPTRLD of a new VMCS failed");
		return -1;
	}
	p->current_vmcs = s->vmcs_pa;

	/* Controls (SDM Vol. 3C 24.6-24.8). Every field the CPU will consult
	 * is written: a VMCS region's contents are not defined until then. */
	vmwrite(VMCS_PIN_CTLS, caps.pin);
	vmwrite(VMCS_PROC_CTLS, s->proc);
	vmwrite(VMCS_PROC2_CTLS, s->proc2);
	vmwrite(VMCS_EXIT_CTLS, caps.exit);
	vmwrite(VMCS_ENTRY_CTLS, caps.entry);
	if (s->vpid)
		vmwrite(VMCS_VPID, s->vpid);
	/* Every exception except #DB, NMI, #BP, #OF and #MC exits to be counted
	 * and reflected back (as on SVM): a guest that faults shows in the log.
	 * All page faults (mask = match = 0). */
	vmwrite(VMCS_EXCEPTION_BITMAP, 0xffffffffu & ~((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 18)));
	vmwrite(VMCS_PF_ERROR_MASK, 0);
	vmwrite(VMCS_PF_ERROR_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_ENTRY_EXC_ERROR, 0);
	vmwrite(VMCS_ENTRY_INSN_LEN, 0);
	vmwrite(VMCS_TPR_THRESHOLD, 0);
	vmwrite(VMCS_IO_BITMAP_A, PA(x->io_bitmaps));
	vmwrite(VMCS_IO_BITMAP_B, PA(x->io_bitmaps) + 4096);
	vmwrite(VMCS_MSR_BITMAP, PA(x->msr_bitmap));
	s->eptp = x->eptp;
	vmwrite(VMCS_EPTP, s->eptp);
	vmwrite(VMCS_TSC_OFFSET, 0);
	if (caps.proc2_may1 & PROC2_TSC_SCALING)
		vmwrite(VMCS_TSC_MULTIPLIER, 1ull << 48);
	if (s->proc2 & PROC2_XSAVES)
		vmwrite(VMCS_XSS_EXIT_BITMAP, 0);
	vmwrite(VMCS_CR0_MASK, caps.cr0_mask);
	vmwrite(VMCS_CR4_MASK, caps.cr4_mask);
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	write_host_state();

	set_seg(SEG_CS, 0x08, 0xc9b, 0xffffffff, 0);   /* 32-bit code, read/exec, accessed */
	set_seg(SEG_DS, 0x10, 0xc93, 0xffffffff, 0);   /* data, read/write, accessed */
	set_seg(SEG_ES, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(SEG_SS, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(SEG_FS, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(SEG_GS, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(SEG_TR, 0, 0x08b, 0xffff, 0);          /* busy 32-bit TSS */
	set_seg(SEG_LDTR, 0, 0x082, 0xffff, 0);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	write_cr0_fields(0x11);                        /* PE | ET */
	write_cr4_fields(0);
	vmwrite(VMCS_GUEST_CR3, 0);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_PAT, 0x0007040600070406ull);
	write_efer(0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	for (i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, 0);
	vmwrite(VMCS_GUEST_RFLAGS, 0x2);
	v->regs.rflags = 0x2;

	vmclear(s->vmcs_pa);
	p->current_vmcs = 0;
	return 0;
}

static void vmx_set_tsc(struct vcpu *v, uint64_t offset, uint64_t ratio, bool trap_rdtsc)
{
	struct vmx_vcpu *s = v->arch;
	bool borrowed = vmcs_acquire(v);

	/* RDTSC(P) = ((TSC * multiplier) >> 48) + offset (SDM Vol. 3C 25.3);
	 * RDTSCP exits with RDTSC when "RDTSC exiting" is set (and "enable
	 * RDTSCP", without which it would be #UD). */
	vmwrite(VMCS_TSC_OFFSET, offset);
	if (ratio && (caps.proc2_may1 & PROC2_TSC_SCALING)) {
		vmwrite(VMCS_TSC_MULTIPLIER, ratio);
		s->proc2 |= PROC2_TSC_SCALING;
	} else {
		s->proc2 &= ~PROC2_TSC_SCALING;
	}
	if (trap_rdtsc)
		s->proc |= PROC_RDTSC_EXITING;
	else
		s->proc &= ~PROC_RDTSC_EXITING;
	vmwrite(VMCS_PROC_CTLS, s->proc);
	vmwrite(VMCS_PROC2_CTLS, s->proc2);
	vmcs_release(v, borrowed);
}

static void vmx_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	bool borrowed = vmcs_acquire(v);
	uint32_t type = vector == 2 ? INTR_TYPE_NMI : INTR_TYPE_HW_EXCEPTION;

	/* VM-entry interruption information (SDM Vol. 3C 24.8.3). A real-mode
	 * guest gets no error code pushed (26.2.1.3 checks it). */
	if (!(guest_cr0() & X86_CR0_PE))
		has_error = false;
	vmwrite(VMCS_ENTRY_INTR_INFO, vector | (type << INTR_INFO_TYPE_SHIFT) |
		(has_error ? INTR_INFO_HAS_ERROR : 0) | INTR_INFO_VALID);
	if (has_error)
		vmwrite(VMCS_ENTRY_EXC_ERROR, error);
	vmcs_release(v, borrowed);
}

static bool vmx_irq_window_open(struct vcpu *v)
{
	const struct vmx_vcpu *s = v->arch;
	bool borrowed, open;

	if (!(v->regs.rflags & (1u << 9)) ||
	    (s->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return false;
	borrowed = vmcs_acquire(v);
	open = !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	vmcs_release(v, borrowed);
	return open;
}

/* The guest interruptibility state (SDM Vol. 3C 24.4.2) keeps the STI /
 * MOV SS shadow of the instruction the exit interrupted; once the hypervisor
 * completed that instruction, the shadow is over. */
static void vmx_clear_irq_shadow(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	bool borrowed;

	if (!(s->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return;
	s->intr_state &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	borrowed = vmcs_acquire(v);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->intr_state);
	vmcs_release(v, borrowed);
}

static void vmx_inject_irq(struct vcpu *v, uint8_t vector)
{
	bool borrowed = vmcs_acquire(v);

	vmwrite(VMCS_ENTRY_INTR_INFO, vector | (INTR_TYPE_EXTINT << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
	vmcs_release(v, borrowed);
}

/* Interrupt-window exiting (SDM Vol. 3C 25.2): an exit at the first
 * instruction boundary where RFLAGS.IF = 1 and nothing blocks interrupts. */
static void vmx_request_irq_window(struct vcpu *v, bool on)
{
	struct vmx_vcpu *s = v->arch;
	bool borrowed = vmcs_acquire(v);

	if (on)
		s->proc |= PROC_INTR_WINDOW_EXITING & caps.proc_may1;
	else
		s->proc &= ~PROC_INTR_WINDOW_EXITING;
	vmwrite(VMCS_PROC_CTLS, s->proc);
	vmcs_release(v, borrowed);
}

static void save_guest_regs(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	unsigned i;

	for (i = 0; i < GM_NR; i++)
		s->msr[i] = rdmsr(guest_msr_index[i]);
	s->dr6 = read_dr6();
}

static void load_guest_regs(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	unsigned i;

	for (i = 0; i < GM_NR; i++)
		wrmsr(guest_msr_index[i], s->msr[i]);
	write_dr6(s->dr6);
}

/* VMCLEAR writes the VMCS back to memory and makes it loadable on another
 * CPU (SDM Vol. 3C 24.11.3); the guest registers the hardware held go back
 * into the vCPU. */
/* The pvclock window: this vCPU's own EPT, copies of the VM's along the
 * path to `gpa` with the 2 MiB page there split into 4 KiB pages, the one
 * at gpa read-only onto host_pa. EPT translations are tagged with the EPTP
 * (SDM Vol. 3C 29.4.1), so vCPUs with different tables never share them.
 * The VMCS may not be current here: vcpu_run writes the EPTP. */
static int vmx_set_window(struct vcpu *v, uint64_t gpa, uint64_t host_pa)
{
	struct vmx_vcpu *s = v->arch;
	const struct vmx_vm *x = v->vm->arch;
	unsigned i;

	if (!host_pa) {
		s->eptp = x->eptp;
		s->eptp_dirty = true;
		return 0;
	}
	if (!gmem_offset(v->vm->ram_size, gpa, 4096, NULL) || (gpa & 0xfff) || (host_pa & 0xfff))
		return -1;
	for (i = 0; i < 4; i++)
		if (!s->win[i] && !(s->win[i] = mem_try_alloc_pages(1, 0)))
			return -1;
	if (nested_window_tables(s->win, x->ept_pml4, gpa, PA(v->vm->ram), v->vm->ram_size,
				 host_pa, &vmx_ept_bits))
		return -1;
	s->eptp = PA(s->win[0]) | EPTP_WB_4LEVEL;
	s->eptp_dirty = true;
	return 0;
}

static void vmx_vcpu_put(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_pcpu *p = this_cpu()->vendor;

	if (p->owner == v) {
		save_guest_regs(v);
		p->owner = NULL;
	}
	if (!s->cpu)
		return;
	vmclear(s->vmcs_pa);
	if (p->current_vmcs == s->vmcs_pa)
		p->current_vmcs = 0;
	s->cpu = NULL;
	s->launched = false;
}

/* VMPTRLD here, with this CPU's host state (GS base, TSS, GDT differ per
 * CPU); translations cached for the vCPU on a CPU it left may be stale. */
static void vmx_vcpu_load(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	struct pcpu *cpu = this_cpu();
	struct vmx_pcpu *p = cpu->vendor;

	if (s->cpu && s->cpu != cpu)
		log_err("vmx: VM '%s' vCPU %u loaded on CPU %u while active on CPU %u (no vcpu_put)",
			v->vm->name, v->id, cpu->index, s->cpu->index);
	vmptrld(s->vmcs_pa);
	p->current_vmcs = s->vmcs_pa;
	if (s->cpu != cpu) {
		write_host_state();
		s->cpu = cpu;
		s->flush_tlb = true;
	}
}

static bool instruction_exit(unsigned basic)
{
	switch (basic) {
	case VMX_EXIT_CPUID: case VMX_EXIT_HLT: case VMX_EXIT_RDTSC: case VMX_EXIT_RDTSCP:
	case VMX_EXIT_VMCALL: case VMX_EXIT_RDMSR: case VMX_EXIT_WRMSR: case VMX_EXIT_IO:
	case VMX_EXIT_INVD: case VMX_EXIT_WBINVD: case VMX_EXIT_XSETBV:
		return true;
	default:
		return false;
	}
}

static void translate_exit(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *s = v->arch;
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	unsigned basic = reason & 0xffff;
	uint64_t qual = vmread(VMCS_EXIT_QUALIFICATION);
	uint32_t intr_state = s->intr_state;

	memset(e, 0, sizeof(*e));
	e->code = reason;
	e->info1 = qual;
	if (reason & VMX_EXIT_ENTRY_FAILED) {
		/* Invalid guest state (33), MSR loading (34), machine check (41):
		 * the guest never ran (SDM Vol. 3C 26.8). */
		e->reason = EXIT_INVALID;
		return;
	}
	/* The exit instruction length is defined for exits caused by an
	 * instruction (SDM Vol. 3C 28.2.5), which is all the core asks about. */
	if (instruction_exit(basic))
		e->insn_len = (unsigned)vmread(VMCS_EXIT_INSN_LEN);

	switch (basic) {
	case VMX_EXIT_CPUID:        e->reason = EXIT_CPUID; break;
	case VMX_EXIT_XSETBV:       e->reason = EXIT_XSETBV; break;   /* always exits (25.1.2) */
	case VMX_EXIT_RDPMC:        e->reason = EXIT_RDPMC; break;
	case VMX_EXIT_RDTSC:        e->reason = EXIT_RDTSC; break;
	case VMX_EXIT_RDTSCP:       e->reason = EXIT_RDTSCP; break;
	case VMX_EXIT_HLT:          e->reason = EXIT_HLT; break;
	case VMX_EXIT_VMCALL:       e->reason = EXIT_HYPERCALL; break;
	case VMX_EXIT_TRIPLE_FAULT: e->reason = EXIT_SHUTDOWN; break;
	case VMX_EXIT_EXTINT:       e->reason = EXIT_INTR; break;
	case VMX_EXIT_PREEMPTION_TIMER: e->reason = EXIT_INTR; break;   /* see arm_preemption_timer */
	case VMX_EXIT_INTR_WINDOW:  e->reason = EXIT_IRQ_WINDOW; break;
	case VMX_EXIT_RDMSR:        e->reason = EXIT_RDMSR; break;
	case VMX_EXIT_WRMSR:        e->reason = EXIT_WRMSR; break;
	case VMX_EXIT_INVD:
	case VMX_EXIT_WBINVD:       e->reason = EXIT_INVD; break;
	/* No VMX for the guest and no MONITOR/MWAIT (CPUID hides them): #UD,
	 * as on a CPU without them. */
	case VMX_EXIT_VMCLEAR ... VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_MWAIT:
	case VMX_EXIT_MONITOR:
		e->reason = EXIT_NOT_OFFERED;
		break;
	case VMX_EXIT_IO:
		/* Qualification (SDM Vol. 3C Table 28-5): size - 1 in 2:0,
		 * direction 3 (1 = IN), string 4, REP 5, port 31:16. */
		e->reason = EXIT_IO;
		e->u.io.size = (uint8_t)((qual & 7) + 1);
		e->u.io.in = qual & (1u << 3);
		e->u.io.string = qual & (1u << 4);
		e->u.io.rep = qual & (1u << 5);
		e->u.io.port = (uint16_t)(qual >> 16);
		break;
	case VMX_EXIT_EPT_VIOLATION:
		/* Qualification (Table 28-7): read 0, write 1, fetch 2. */
		e->reason = EXIT_NPF;
		e->info2 = vmread(VMCS_GUEST_PHYS_ADDR);
		e->u.npf.gpa = e->info2;
		e->u.npf.write = qual & (1u << 1);
		e->u.npf.fetch = qual & (1u << 2);
		/* Bit 7: the linear address is valid; bit 8 clear with it: the
		 * access was to a paging-structure entry (Table 28-7). */
		e->u.npf.walk = (qual & (1u << 7)) && !(qual & (1u << 8));
		if (qual & INTR_INFO_NMI_UNBLOCK)   /* bit 12 here too (28.2.1) */
			intr_state |= INTERRUPTIBILITY_NMI;
		break;
	case VMX_EXIT_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
		uint8_t vec = (uint8_t)info;

		e->info2 = info;
		if (((info >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_NMI) {
			/* A host NMI (NMI exiting): nothing of the hypervisor's
			 * sends one; say so and go on. */
			log_warn("vmx: NMI while VM '%s' vCPU %u ran; ignored", v->vm->name, v->id);
			e->reason = EXIT_INTR;
			break;
		}
		e->reason = EXIT_EXCEPTION;
		e->u.exc.vector = vec;
		e->u.exc.has_error = info & INTR_INFO_HAS_ERROR;
		if (e->u.exc.has_error)
			e->u.exc.error = (uint32_t)vmread(VMCS_EXIT_INTR_ERROR);
		/* A #PF that exits leaves CR2 alone: the address is the
		 * qualification, and a reflected #PF must find it in CR2. */
		if (vec == 14) {
			e->u.exc.cr2 = qual;
			e->u.exc.prev_cr2 = s->cr2;
			s->cr2 = qual;
		}
		/* The fault hit an IRET that had unblocked NMIs: block them
		 * again for the re-execution (SDM Vol. 3C 28.2.3). */
		if ((info & INTR_INFO_NMI_UNBLOCK) && vec != 8)
			intr_state |= INTERRUPTIBILITY_NMI;
		break;
	}
	default:
		e->reason = EXIT_UNHANDLED;
		break;
	}
	if (intr_state != s->intr_state) {
		s->intr_state = intr_state;
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr_state);
	}
}

/* ---- Exits the backend handles itself -------------------------------
 * Reasons the core has no name for, because SVM never produces them:
 * control-register accesses the guest/host masks turn into exits. They are
 * emulated here and the guest re-entered; they are rare (none in the guest
 * tests). XSETBV, which always exits here, is the core's (vmm/exit.c). */

static bool long_mode_code(void)
{
	return (vmread(VMCS_GUEST_EFER) & X86_EFER_LMA) && (vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS) & (1u << 13));
}

static void skip_insn(struct vcpu *v)
{
	v->regs.rip += vmread(VMCS_EXIT_INSN_LEN);
	if (!long_mode_code())
		v->regs.rip &= 0xffffffffu;
	vmx_clear_irq_shadow(v);
}

/* MOV to CR0 as the CPU does it (SDM Vol. 3A 2.5, 10.8.5; Vol. 3C 25.3):
 * #GP for PG without PE, NW without CD, high bits; entering or leaving long
 * mode sets or clears EFER.LMA when EFER.LME says so. */
static bool emulate_cr0_write(struct vcpu *v, uint64_t val)
{
	struct vmx_vcpu *s = v->arch;
	uint64_t old = guest_cr0(), efer = vmread(VMCS_GUEST_EFER);

	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) || ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
		return false;
	if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & X86_EFER_LME)) {
		if (!(guest_cr4() & X86_CR4_PAE))
			return false;
		write_efer(efer | X86_EFER_LMA);
	} else if (!(val & X86_CR0_PG) && (old & X86_CR0_PG) && (efer & X86_EFER_LMA)) {
		if (long_mode_code())
			return false;
		write_efer(efer & ~X86_EFER_LMA);
	}
	write_cr0_fields(val);
	load_pdptes(v);
	s->flush_tlb = true;
	return true;
}

static bool emulate_cr4_write(struct vcpu *v, uint64_t val)
{
	struct vmx_vcpu *s = v->arch;

	/* VMXE is hidden (no nesting); bits the CPU cannot set are #GP. */
	if ((val >> 32) || (val & X86_CR4_VMXE) || ((val | caps.cr4_fixed0) & ~caps.cr4_fixed1 & ~X86_CR4_VMXE) ||
	    ((vmread(VMCS_GUEST_EFER) & X86_EFER_LMA) && !(val & X86_CR4_PAE)))
		return false;
	write_cr4_fields(val);
	load_pdptes(v);
	s->flush_tlb = true;
	return true;
}

/* Control-register access (exit qualification: SDM Vol. 3C Table 28-3). */
static void handle_cr_access(struct vcpu *v, uint64_t qual)
{
	unsigned cr = qual & 15, type = (qual >> 4) & 3, reg = (qual >> 8) & 15;
	uint64_t *gpr = gpr_by_index(&v->regs, reg);
	uint64_t val = long_mode_code() ? *gpr : (uint32_t)*gpr;
	bool ok = true;

	switch (type) {
	case 0:          /* MOV to CR */
		if (cr == 0) {
			ok = emulate_cr0_write(v, val);
		} else if (cr == 4) {
			ok = emulate_cr4_write(v, val);
		} else if (cr == 3) {
			vmwrite(VMCS_GUEST_CR3, val & ~(1ull << 63));
			load_pdptes(v);
			((struct vmx_vcpu *)v->arch)->flush_tlb = true;
		} else if (cr == 8) {
			ok = vcpu_cr8_write(v, val);
		}
		break;
	case 1:          /* MOV from CR (CR3, CR8: CR0/CR4 reads never exit) */
		*gpr = cr == 3 ? vmread(VMCS_GUEST_CR3) : vcpu_cr8_read(v);
		break;
	case 2:          /* CLTS */
		ok = emulate_cr0_write(v, guest_cr0() & ~X86_CR0_TS);
		break;
	default:         /* LMSW: PE, MP, EM, TS; it never clears PE */
		val = (qual >> 16) & 0xf;
		ok = emulate_cr0_write(v, (guest_cr0() & ~0xeull) | val);
		break;
	}
	if (ok)
		skip_insn(v);
	else
		vmx_inject_exception(v, X86_EXC_GP, true, 0);
}

/* true when the exit was dealt with here and the guest can go on. */
static bool handle_in_backend(struct vcpu *v, const struct vm_exit *e)
{
	unsigned basic = e->code & 0xffff;

	if (e->code & VMX_EXIT_ENTRY_FAILED)
		return false;
	switch (basic) {
	case VMX_EXIT_CR_ACCESS:
		handle_cr_access(v, e->info1);
		return true;
	default:
		return false;
	}
}

static const char *insn_error_name(uint64_t err)
{
	switch (err) {
	case 4:  return "VMLAUNCH with a non-clear VMCS";
	case 5:  return "VMRESUME with a non-launched VMCS";
	case 7:  return "VM entry with invalid control fields";
	case 8:  return "VM entry with invalid host-state fields";
	case 12: return "VMREAD/VMWRITE of an unsupported field";
	case 26: return "VM entry with events blocked by MOV SS";
	default: return "see SDM Vol. 3C 31.4";
	}
}

static void dump_controls_and_host(void)
{
	log_raw("  controls: pin 0x%lx primary 0x%lx secondary 0x%lx exit 0x%lx entry 0x%lx "
		"exceptions 0x%lx entry-intr 0x%lx\n",
		vmread(VMCS_PIN_CTLS), vmread(VMCS_PROC_CTLS),
		vmread(VMCS_PROC2_CTLS), vmread(VMCS_EXIT_CTLS),
		vmread(VMCS_ENTRY_CTLS), vmread(VMCS_EXCEPTION_BITMAP),
		vmread(VMCS_ENTRY_INTR_INFO));
	log_raw("  EPTP 0x%lx VPID %lu MSR bitmap 0x%lx I/O bitmaps 0x%lx 0x%lx TSC offset 0x%lx "
		"multiplier 0x%lx\n",
		vmread(VMCS_EPTP), vmread(VMCS_VPID),
		vmread(VMCS_MSR_BITMAP), vmread(VMCS_IO_BITMAP_A),
		vmread(VMCS_IO_BITMAP_B), vmread(VMCS_TSC_OFFSET),
		vmread(VMCS_TSC_MULTIPLIER));
	log_raw("  host: CR0 0x%lx CR3 0x%lx CR4 0x%lx EFER 0x%lx PAT 0x%lx CS %02lx SS %02lx "
		"TR %02lx\n",
		vmread(VMCS_HOST_CR0), vmread(VMCS_HOST_CR3),
		vmread(VMCS_HOST_CR4), vmread(VMCS_HOST_EFER),
		vmread(VMCS_HOST_PAT), vmread(VMCS_HOST_CS_SEL),
		vmread(VMCS_HOST_SS_SEL), vmread(VMCS_HOST_TR_SEL));
	log_raw("  host: RIP 0x%lx RSP 0x%lx GS base 0x%lx TR base 0x%lx GDTR 0x%lx IDTR 0x%lx\n",
		vmread(VMCS_HOST_RIP), vmread(VMCS_HOST_RSP),
		vmread(VMCS_HOST_GS_BASE), vmread(VMCS_HOST_TR_BASE),
		vmread(VMCS_HOST_GDTR_BASE), vmread(VMCS_HOST_IDTR_BASE));
}

/* VMLAUNCH/VMRESUME fell through (SDM Vol. 3C 26.1-26.2: controls and host
 * state are checked before anything of the guest's). Only this VM ends. */
static void entry_failed(struct vcpu *v, int how, struct vm_exit *e)
{
	uint64_t err = how == 1 ? vmread(VMCS_INSN_ERROR) : 0;

	if (how == 1)
		log_err("vmx: VM '%s' vCPU %u: %s failed: VM-instruction error %lu (%s)", v->vm->name,
			v->id, ((struct vmx_vcpu *)v->arch)->launched ? "VMRESUME" : "VMLAUNCH",
			err, insn_error_name(err));
	else
		log_err("vmx: VM '%s' vCPU %u: VM entry failed with no current VMCS", v->vm->name, v->id);
	if (how == 1)
		dump_controls_and_host();
	memset(e, 0, sizeof(*e));
	e->reason = EXIT_INVALID;
	e->code = (1ull << 32) | err;   /* not an exit reason: an instruction error */
}

/* The VMX-preemption timer (SDM Vol. 3C 26.5.1) as a backstop for the host's
 * own timer: the guest exits (as EXIT_INTR) by the host's TSC deadline, and
 * at least every PREEMPT_BACKSTOP_MS, so a kick from another CPU is seen
 * then at the latest. A CPU exits on the host's interrupts anyway, but
 * Bochs 2.7 does not while the guest runs with RFLAGS.IF = 0: a time-sliced
 * vCPU spinning with interrupts off would keep its pCPU. */
#define PREEMPT_BACKSTOP_MS 10

/* The moment is fixed when the run loop enters (first): the entries of the
 * exit fast path in between count down to the same moment, so that a guest
 * trapping RDTSC in a loop with IF = 0 still leaves by it. */
static void arm_preemption_timer(struct vcpu *v, bool first)
{
	struct vmx_vcpu *s = v->arch;
	uint64_t now = rdtsc(), ticks = v->vm->time.host.tsc_khz * PREEMPT_BACKSTOP_MS, value;

	if (first) {
		if (vmx_cpu.tsc_deadline) {
			uint64_t deadline = rdmsr(MSR_IA32_TSC_DEADLINE);   /* 0: not armed */

			int64_t left = (int64_t)(deadline - now);

			if (deadline && left < (int64_t)ticks)
				ticks = left > 0 ? (uint64_t)left : 0;
		}
		s->preempt_at = now + ticks;
		fastexit_leave_by(&v->fx, s->preempt_at);   /* the exit fast path leaves by then too */
	} else {
		ticks = (int64_t)(s->preempt_at - now) > 0 ? s->preempt_at - now : 0;
	}
	value = (ticks >> caps.preempt_shift) + 1;
	vmwrite(VMCS_PREEMPTION_TIMER, value > 0xffffffffull ? 0xffffffffull : value);
}

static void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *s = v->arch;
	struct pcpu *cpu = this_cpu();
	struct vmx_pcpu *p;
	uint32_t idt;
	int how;
	bool first = true;

	if (s->cpu != cpu)
		vmx_vcpu_load(v);
	p = cpu->vendor;
	fastexit_prepare(v);
	/* The stub's exit fast path only where the preemption timer keeps
	 * its count across its entries; the C one below otherwise. */
	if ((caps.pin & PIN_PREEMPTION_TIMER) && !(caps.exit & EXIT_SAVE_PREEMPT))
		fastexit_stub_off(&v->fx);
	for (;;) {
		if (p->current_vmcs != s->vmcs_pa) {
			vmptrld(s->vmcs_pa);
			p->current_vmcs = s->vmcs_pa;
		}
		vmwrite(VMCS_GUEST_RSP, v->regs.rsp);
		vmwrite(VMCS_GUEST_RIP, v->regs.rip);
		vmwrite(VMCS_GUEST_RFLAGS, v->regs.rflags);
		if (s->eptp_dirty) {
			vmwrite(VMCS_EPTP, s->eptp);
			s->eptp_dirty = false;
			s->flush_tlb = true;
		}
		if (s->flush_tlb) {
			if (caps.invept_type)
				invept(caps.invept_type, s->eptp);
			if (s->vpid && caps.invvpid_type)
				invvpid(caps.invvpid_type, s->vpid);
			s->flush_tlb = false;
		}
		/* What no VMCS field switches, the hypervisor never uses: the
		 * guest's values go into the hardware when they are not there. A
		 * native RDTSCP reads the real IA32_TSC_AUX. */
		if (p->owner != v) {
			if (p->owner)
				save_guest_regs(p->owner);
			load_guest_regs(v);
			p->owner = v;
		}
		if (v->tsc_aux != cpu->cur_tsc_aux && vmx_cpu.rdtscp) {
			wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
			cpu->cur_tsc_aux = v->tsc_aux;
		}
		if (read_cr2() != s->cr2)
			write_cr2(s->cr2);
		if (caps.pin & PIN_PREEMPTION_TIMER)
			arm_preemption_timer(v, first);
		first = false;

		how = vmx_run(&v->regs, s->launched, &v->fx);
		fastexit_fold(v);
		if (how) {
			entry_failed(v, how, e);
			return;
		}
		s->cr2 = read_cr2();
		v->regs.rsp = vmread(VMCS_GUEST_RSP);
		v->regs.rip = vmread(VMCS_GUEST_RIP);
		v->regs.rflags = vmread(VMCS_GUEST_RFLAGS);
		s->intr_state = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
		/* An event whose delivery the exit interrupted is delivered again
		 * (IDT-vectoring information, SDM Vol. 3C 28.2.4, 27.6). */
		idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
		if (idt & INTR_INFO_VALID) {
			unsigned type = (idt >> INTR_INFO_TYPE_SHIFT) & 7;

			vmwrite(VMCS_ENTRY_INTR_INFO, idt & ~INTR_INFO_NMI_UNBLOCK);
			if (idt & INTR_INFO_HAS_ERROR)
				vmwrite(VMCS_ENTRY_EXC_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
			if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXC ||
			    type == INTR_TYPE_SW_EXCEPTION)
				vmwrite(VMCS_ENTRY_INSN_LEN, vmread(VMCS_EXIT_INSN_LEN));
		}
		translate_exit(v, e);
		if (!(e->code & VMX_EXIT_ENTRY_FAILED))
			s->launched = true;
		/* The exit fast path (vmm/fastexit.c): answered here and
		 * entered again, unless an event was being delivered. */
		if (!(idt & INTR_INFO_VALID) && fastexit_handle(v, e))
			continue;
		if (e->reason != EXIT_UNHANDLED || !handle_in_backend(v, e))
			return;
	}
}

static void seg_out(struct segment *d, unsigned i)
{
	d->sel = (uint16_t)vmread(VMCS_GUEST_ES_SEL + 2 * i);
	d->attr = attr_of((uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * i));
	d->limit = (uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
	d->base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
}

/* The event pending in the VM-entry interruption field (where one being
 * delivered at the exit is re-armed, from the IDT-vectoring information) in
 * the core's form. VMX's software exceptions (INT3, INTO) and privileged
 * software exceptions (INT1) are the core's exceptions. */
static struct vcpu_event pending_event(void)
{
	uint32_t info = (uint32_t)vmread(VMCS_ENTRY_INTR_INFO);
	uint32_t type = (info >> INTR_INFO_TYPE_SHIFT) & 7;
	struct vcpu_event e = { 0 };

	if (!(info & INTR_INFO_VALID))
		return e;
	if (type == INTR_TYPE_PRIV_SW_EXC || type == INTR_TYPE_SW_EXCEPTION)
		type = INTR_TYPE_HW_EXCEPTION;
	e.valid = true;
	e.vector = (uint8_t)info;
	e.type = (uint8_t)type;          /* INTR_TYPE_* 0, 2, 3, 4 are enum vcpu_event_type's */
	e.has_error = info & INTR_INFO_HAS_ERROR;
	e.error = e.has_error ? (uint32_t)vmread(VMCS_ENTRY_EXC_ERROR) : 0;
	return e;
}

/* The reverse, into the VM-entry interruption fields. */
static void set_pending_event(const struct vcpu_event *e)
{
	if (!e->valid) {
		vmwrite(VMCS_ENTRY_INTR_INFO, 0);
		return;
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, e->vector | (uint32_t)(e->type & 7) << INTR_INFO_TYPE_SHIFT |
		(e->has_error ? INTR_INFO_HAS_ERROR : 0) | INTR_INFO_VALID);
	if (e->has_error)
		vmwrite(VMCS_ENTRY_EXC_ERROR, e->error);
}

static void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *r)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_pcpu *p = this_cpu()->vendor;
	bool borrowed = vmcs_acquire(v);
	unsigned i;

	for (i = SEG_ES; i <= SEG_TR; i++)
		seg_out(&r->seg[i], i);
	memset(&r->seg[SEG_GDTR], 0, sizeof(r->seg[SEG_GDTR]));
	memset(&r->seg[SEG_IDTR], 0, sizeof(r->seg[SEG_IDTR]));
	r->seg[SEG_GDTR].base = vmread(VMCS_GUEST_GDTR_BASE);
	r->seg[SEG_GDTR].limit = (uint32_t)vmread(VMCS_GUEST_GDTR_LIMIT);
	r->seg[SEG_IDTR].base = vmread(VMCS_GUEST_IDTR_BASE);
	r->seg[SEG_IDTR].limit = (uint32_t)vmread(VMCS_GUEST_IDTR_LIMIT);
	r->cr0 = guest_cr0();
	r->cr2 = s->cr2;
	r->cr3 = vmread(VMCS_GUEST_CR3);
	r->cr4 = guest_cr4();
	r->efer = vmread(VMCS_GUEST_EFER);
	r->pat = vmread(VMCS_GUEST_PAT);
	r->dr7 = vmread(VMCS_GUEST_DR7);
	if (p->owner == v)
		save_guest_regs(v);
	r->dr6 = s->dr6;
	r->star = s->msr[GM_STAR];
	r->lstar = s->msr[GM_LSTAR];
	r->cstar = s->msr[GM_CSTAR];
	r->sfmask = s->msr[GM_SFMASK];
	r->kernel_gs_base = s->msr[GM_KERNEL_GS_BASE];
	r->sysenter_cs = vmread(VMCS_GUEST_SYSENTER_CS);
	r->sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
	r->sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
	r->interrupt_shadow = s->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS) ? 1 : 0;
	r->pending_event = pending_event();
	vmcs_release(v, borrowed);
}

static uint64_t vmx_get_cr3(struct vcpu *v)
{
	bool borrowed = vmcs_acquire(v);
	uint64_t cr3 = vmread(VMCS_GUEST_CR3);

	vmcs_release(v, borrowed);
	return cr3;
}

/* A segment from a snapshot, as VM entry accepts it (SDM Vol. 3C 26.3.1.2).
 * A loaded code or data segment always has its accessed bit set, and a loaded
 * TR is busy; SVM keeps the descriptor's bits as they were (QEMU's VMCB shows
 * an unaccessed CS), so a snapshot taken there is normalised here. */
static void seg_in(unsigned i, const struct segment *s)
{
	uint16_t attr = s->attr;

	if (attr && (attr & 0x10))          /* usable, S = 1: code or data */
		attr |= 1;
	else if (attr && i == SEG_TR && ((attr & 0xf) == 1 || (attr & 0xf) == 9))
		attr |= 2;                   /* available TSS -> busy */
	set_seg(i, s->sel, attr, s->limit, s->base);
}

static void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *r)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_pcpu *p = this_cpu()->vendor;
	bool borrowed = vmcs_acquire(v);
	unsigned i;

	for (i = SEG_ES; i <= SEG_TR; i++)
		seg_in(i, &r->seg[i]);
	vmwrite(VMCS_GUEST_GDTR_BASE, r->seg[SEG_GDTR].base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, r->seg[SEG_GDTR].limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, r->seg[SEG_IDTR].base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, r->seg[SEG_IDTR].limit);
	write_cr0_fields(r->cr0);
	write_cr4_fields(r->cr4);
	vmwrite(VMCS_GUEST_CR3, r->cr3);
	s->cr2 = r->cr2;
	write_efer(r->efer);
	vmwrite(VMCS_GUEST_PAT, r->pat);
	vmwrite(VMCS_GUEST_DR7, r->dr7);
	s->dr6 = r->dr6;
	s->msr[GM_STAR] = r->star;
	s->msr[GM_LSTAR] = r->lstar;
	s->msr[GM_CSTAR] = r->cstar;
	s->msr[GM_SFMASK] = r->sfmask;
	s->msr[GM_KERNEL_GS_BASE] = r->kernel_gs_base;
	if (p->owner == v)
		load_guest_regs(v);
	vmwrite(VMCS_GUEST_SYSENTER_CS, r->sysenter_cs);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, r->sysenter_esp);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, r->sysenter_eip);
	load_pdptes(v);
	/* The shadow as STI's when IF is set (the entry checks allow STI
	 * blocking only then), else as MOV SS's. */
	s->intr_state = !r->interrupt_shadow ? 0 :
			(v->regs.rflags & (1u << 9)) ? INTERRUPTIBILITY_STI : INTERRUPTIBILITY_MOV_SS;
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->intr_state);
	set_pending_event(&r->pending_event);
	s->flush_tlb = true;
	vmcs_release(v, borrowed);
}

/* The state of an AP after INIT and a SIPI with `vector` (SDM Vol. 3A 8.4,
 * Table 9-1): real mode, which unrestricted guest runs as it is. */
static void vmx_vcpu_sipi(struct vcpu *v, uint8_t vector)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_pcpu *p = this_cpu()->vendor;
	bool borrowed = vmcs_acquire(v);

	set_seg(SEG_CS, (uint16_t)(vector << 8), 0x09b, 0xffff, (uint64_t)vector << 12);
	set_seg(SEG_DS, 0, 0x093, 0xffff, 0);
	set_seg(SEG_ES, 0, 0x093, 0xffff, 0);
	set_seg(SEG_SS, 0, 0x093, 0xffff, 0);
	set_seg(SEG_FS, 0, 0x093, 0xffff, 0);
	set_seg(SEG_GS, 0, 0x093, 0xffff, 0);
	set_seg(SEG_TR, 0, 0x08b, 0xffff, 0);
	set_seg(SEG_LDTR, 0, 0x082, 0xffff, 0);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	write_cr0_fields(0x60000010);   /* CD, NW, ET */
	write_cr4_fields(0);
	vmwrite(VMCS_GUEST_CR3, 0);
	write_efer(0);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	s->intr_state = 0;
	s->cr2 = 0;
	s->dr6 = 0xffff0ff0;
	if (p->owner == v)
		write_dr6(s->dr6);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rdx = 0x600;   /* processor signature, as after reset: family 6 */
	v->regs.rflags = 0x2;
	s->flush_tlb = true;
	vmcs_release(v, borrowed);
}

static bool vmx_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	bool borrowed;

	if (msr != MSR_EFER && msr != MSR_IA32_PAT)
		return false;
	borrowed = vmcs_acquire(v);
	*val = vmread(msr == MSR_EFER ? VMCS_GUEST_EFER : VMCS_GUEST_PAT);
	vmcs_release(v, borrowed);
	return true;
}

/* PAT entries must be memory types 0, 1, 4, 5, 6 or 7 (SDM Vol. 3A 12.12.2);
 * VM entry checks the guest's too. */
static bool pat_valid(uint64_t pat)
{
	unsigned i;

	for (i = 0; i < 8; i++) {
		unsigned t = (pat >> (8 * i)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool vmx_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	bool borrowed, ok = false;
	uint64_t efer;

	if (msr != MSR_EFER && msr != MSR_IA32_PAT)
		return false;
	borrowed = vmcs_acquire(v);
	if (msr == MSR_EFER) {
		/* SCE, LME, LMA (read-only, kept), NXE; the rest is refused by
		 * the caller's #GP, as is changing LME with paging on. */
		efer = vmread(VMCS_GUEST_EFER);
		if (!(val & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE)) && (!(guest_cr0() & X86_CR0_PG) || !((val ^ efer) & X86_EFER_LME))) {
			write_efer((val & ~X86_EFER_LMA) | (efer & X86_EFER_LMA));
			ok = true;
		}
	} else if (pat_valid(val)) {
		vmwrite(VMCS_GUEST_PAT, val);
		ok = true;
	}
	vmcs_release(v, borrowed);
	return ok;
}

static void vmx_dump(struct vcpu *v)
{
	bool borrowed = vmcs_acquire(v);

	log_raw("  VMX exit reason 0x%lx qualification 0x%lx intr-info 0x%lx idt-vectoring 0x%lx "
		"insn-error %lu\n",
		vmread(VMCS_EXIT_REASON), vmread(VMCS_EXIT_QUALIFICATION),
		vmread(VMCS_EXIT_INTR_INFO), vmread(VMCS_IDT_VECTORING_INFO),
		vmread(VMCS_INSN_ERROR));
	log_raw("  CS %04lx/%05lx base 0x%lx limit 0x%lx  SS %04lx/%05lx  DS %04lx/%05lx  "
		"TR %04lx/%05lx  LDTR %04lx/%05lx\n",
		vmread(VMCS_GUEST_ES_SEL + 2 * SEG_CS),
		vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS),
		vmread(VMCS_GUEST_ES_BASE + 2 * SEG_CS),
		vmread(VMCS_GUEST_ES_LIMIT + 2 * SEG_CS),
		vmread(VMCS_GUEST_ES_SEL + 2 * SEG_SS),
		vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS),
		vmread(VMCS_GUEST_ES_SEL + 2 * SEG_DS),
		vmread(VMCS_GUEST_ES_AR + 2 * SEG_DS),
		vmread(VMCS_GUEST_ES_SEL + 2 * SEG_TR),
		vmread(VMCS_GUEST_ES_AR + 2 * SEG_TR),
		vmread(VMCS_GUEST_ES_SEL + 2 * SEG_LDTR),
		vmread(VMCS_GUEST_ES_AR + 2 * SEG_LDTR));
	log_raw("  CR0 0x%lx (shadow 0x%lx) CR3 0x%lx CR4 0x%lx (shadow 0x%lx) EFER 0x%lx "
		"entry controls 0x%lx\n",
		vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_SHADOW),
		vmread(VMCS_GUEST_CR3), vmread(VMCS_GUEST_CR4),
		vmread(VMCS_CR4_SHADOW), vmread(VMCS_GUEST_EFER),
		vmread(VMCS_ENTRY_CTLS));
	log_raw("  GDTR 0x%lx/0x%lx IDTR 0x%lx/0x%lx interruptibility 0x%lx activity %lu "
		"DR7 0x%lx PAT 0x%lx\n",
		vmread(VMCS_GUEST_GDTR_BASE), vmread(VMCS_GUEST_GDTR_LIMIT),
		vmread(VMCS_GUEST_IDTR_BASE), vmread(VMCS_GUEST_IDTR_LIMIT),
		vmread(VMCS_GUEST_INTERRUPTIBILITY),
		vmread(VMCS_GUEST_ACTIVITY), vmread(VMCS_GUEST_DR7),
		vmread(VMCS_GUEST_PAT));
	if (vmread(VMCS_EXIT_REASON) & VMX_EXIT_ENTRY_FAILED)
		dump_controls_and_host();
	vmcs_release(v, borrowed);
}

const struct vendor_ops vmx_ops = {
	.name = "VMX",
	.guest_vendor = CPUMODEL_INTEL,
	.snap_vendor = SNAP_VENDOR_VMX,
	.tsc_scale_frac = TSC_VMX_FRAC,
	.tsc_max_ratio = TSC_VMX_MAX_RATIO,
	.nested_bits = &vmx_ept_bits,
	.cpu_enable = vmx_cpu_enable,
	.vm_init = vmx_vm_init,
	.pass_io_port = vmx_pass_io_port,
	.pass_msr = vmx_pass_msr,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_run = vmx_vcpu_run,
	.inject_exception = vmx_inject_exception,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_cr3 = vmx_get_cr3,
	.vcpu_sipi = vmx_vcpu_sipi,
	.irq_window_open = vmx_irq_window_open,
	.clear_irq_shadow = vmx_clear_irq_shadow,
	.inject_irq = vmx_inject_irq,
	.request_irq_window = vmx_request_irq_window,
	.vcpu_put = vmx_vcpu_put,
	.vcpu_load = vmx_vcpu_load,
	.msr_read = vmx_msr_read,
	.msr_write = vmx_msr_write,
	.set_tsc = vmx_set_tsc,
	.set_window = vmx_set_window,
	.dump = vmx_dump,
};
