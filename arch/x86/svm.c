/* AMD SVM backend (APM Vol. 2, chapter 15). Implements struct vendor_ops;
 * reads like vmx.c: per CPU enable, per VM nested page tables and
 * permission maps, per vCPU a VMCB, run, translate the exit. */
#include <string.h>
#include <tscvisor/fastexit.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/vm.h>
#include "cpu.h"
#include "fpu.h"
#include <tscvisor/nested.h>
#include <tscvisor/snapshot.h>
#include "percpu.h"
#include "svm.h"
#include "vendor.h"
#include "insn.h"

void svm_run(struct gprs *g, uint64_t vmcb_pa, uint64_t host_vmcb_pa, struct fastexit *fx);
void svm_save_host(uint64_t host_vmcb_pa);

/* Per-VM backend state. */
struct svm_vm {
	uint64_t *npt_pml4;
	uint8_t *iopm;      /* 12 KiB: one bit per port, set = intercept */
	uint8_t *msrpm;     /* 8 KiB: two bits (read, write) per MSR */
};

/* Per-vCPU backend state. */
struct svm_vcpu {
	struct vmcb *vmcb;
	bool flush_tlb;
	uint64_t tsc_ratio;  /* TSC ratio MSR value when scaling, 0 = none */
	uint64_t *win[4];    /* pvclock window: this vCPU's PML4, PDPT, PD, PT */
	bool xcr0_bypass_seen; /* logged once: XCR0 changed without an XSETBV exit */
	bool irq_window;     /* the generic code asked for an interrupt-window exit */
	bool virq_inject;    /* this run carries an injected interrupt in V_IRQ (svm_virq) */
};

/* Per physical CPU (struct pcpu.vendor). */
struct svm_pcpu {
	uint64_t hsave_pa;       /* VM_HSAVE_PA */
	uint64_t host_vmcb_pa;   /* the hypervisor's own VMLOAD/VMSAVE state */
};

static struct cpu_info svm_cpu;

/* QEMU TCG (7.2): VMRUN delivers an EVENTINJ external interrupt from inside
 * its helper and leaves the emulated CPU's pending-exception number set to
 * the vector. When the emulator's loop next stops for an instruction-count
 * budget or an exit request (a kick from another CPU) before an exception
 * or #VMEXIT replaces that number, it delivers the vector again, as an
 * exception, whatever the guest's IF. A restored Linux guest got its timer
 * interrupt a second time inside the first one's entry code and died
 * (docs/platform.md, "Interrupts delivered twice"). Under that emulator an
 * external interrupt is injected as a virtual interrupt instead (V_IRQ with
 * its vector, TPR ignored, APM 15.21.4), which the emulator delivers through
 * its ordinary interrupt path, where the number is cleared: the guest takes
 * it as soon as its IF allows, as it would take EVENTINJ's at entry. One
 * VMRUN carries it; at the #VMEXIT a V_IRQ still set means not taken, and
 * the interrupt goes back to EVENTINJ, where the core finds a pending
 * injection as always. The interrupt-window request, which also uses V_IRQ
 * (with the VINTR intercept), is set aside for that run: a run that carries
 * an interrupt makes an exit by other means before the next can go in (the
 * EOI the guest writes is one). Only where CPUID leaf 0x40000000 says
 * TCGTCGTCGTCG: on hardware and on Bochs, EVENTINJ as the APM describes. */
static bool svm_virq;
static struct vcpu *svm_last_run[MAX_CPUS];   /* by pCPU index */

/* A virtual interrupt pending at priority 15, the TPR ignored (vintr). */
#define VIRQ_PENDING (SVM_VINTR_V_IRQ | SVM_VINTR_IGN_TPR | (0xfull << SVM_VINTR_PRIO_SHIFT))

#define PA(p) ((uint64_t)(uintptr_t)(p))

static int svm_cpu_enable(void)
{
	struct svm_pcpu *p;
	struct cpu_info ci;

	/* Every pCPU gets here at about the same moment while the others
	 * already read svm_cpu: discover into a local copy and publish it
	 * whole (the same bytes on every CPU). Discovering into svm_cpu itself
	 * zeroed it under a reader: a 4-CPU boot once had pCPU 3 see "no SVM". */
	cpu_discover(&ci);
	if (!ci.svm || ci.svm_disabled || !ci.svm_npt)
		return -1;
	svm_cpu = ci;
	if (!strcmp(ci.hv_signature, "TCGTCGTCGTCG") && !__atomic_exchange_n(&svm_virq, true, __ATOMIC_ACQ_REL))
		log_info("svm: under QEMU's TCG: external interrupts are injected as virtual interrupts "
			 "(V_IRQ), not through EVENTINJ (docs/platform.md)");
	p = mem_alloc_pages(1);
	p->hsave_pa = PA(mem_alloc_pages(1));
	p->host_vmcb_pa = PA(mem_alloc_pages(1));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | X86_EFER_SVME);
	wrmsr(MSR_AMD_VM_HSAVE_PA, p->hsave_pa);
	/* TSC_AUX is switched lazily (cur_tsc_aux): start from a known 0, not
	 * what the firmware left, so a vCPU that never wrote it reads 0. */
	if (svm_cpu.rdtscp)
		wrmsr(MSR_IA32_TSC_AUX, 0);
	this_cpu()->cur_tsc_aux = 0;
	svm_save_host(p->host_vmcb_pa);
	this_cpu()->vendor = p;
	return 0;
}

/* NPT entry bits: NPT walks are user accesses, so every level has U set
 * (APM 15.25.5); P, RW, U; PS for a 2 MiB leaf; a read-only leaf lacks RW. */
static const struct nested_bits svm_npt_bits = {
	.table = NPT_TABLE, .large = NPT_LARGE, .page = NPT_TABLE,
	.ro_page = NPT_TABLE & ~X86_PTE_RW,
};

/* The VM's NPT root, its I/O permission map (12 KiB: ports 0-0xffff and one
 * byte past) and MSR permission map (8 KiB), everything intercepted until
 * vm_backend_init() opens what the guest owns. */
static int svm_vm_init(struct vm *vm, uint64_t **nested_root)
{
	struct svm_vm *s = mem_alloc_pages(1);

	s->npt_pml4 = mem_alloc_pages(1);
	s->iopm = mem_alloc_pages(3);
	memset(s->iopm, 0xff, 3 * 4096);
	s->msrpm = mem_alloc_pages(2);
	memset(s->msrpm, 0xff, 2 * 4096);
	vm->arch = s;
	*nested_root = s->npt_pml4;
	return 0;
}

static void svm_pass_io_port(struct vm *vm, uint16_t port)
{
	struct svm_vm *s = vm->arch;

	s->iopm[port / 8] &= ~(1u << (port % 8));
}

/* Two bits per MSR (read, write) in three 2 KiB ranges (APM 15.11): MSRs
 * 0-0x1fff from bit 0, 0xc0000000-0xc0001fff from byte 0x800; the backend
 * passes through none of the third range. */
static void svm_pass_msr(struct vm *vm, uint32_t msr)
{
	struct svm_vm *s = vm->arch;
	uint64_t bit;

	if (msr < 0x2000)
		bit = (uint64_t)msr * 2;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		bit = 0x800 * 8 + (uint64_t)(msr - 0xc0000000) * 2;
	else
		return;
	s->msrpm[bit / 8] &= ~(3u << (bit % 8));
}

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
	s->sel = sel;
	s->attr = attr;
	s->limit = limit;
	s->base = base;
}

/* Multiboot entry state (Multiboot 0.6.96, 3.2): 32-bit protected mode,
 * paging off, flat 4 GiB code and data segments; EAX/EBX set by the core. */
static int svm_vcpu_init(struct vcpu *v)
{
	struct svm_vm *sv = v->vm->arch;
	struct svm_vcpu *s = mem_alloc_pages(1);
	struct vmcb *vmcb = mem_alloc_pages(1);
	struct vmcb_control *c = &vmcb->ctl;
	struct vmcb_save *g = &vmcb->save;

	s->vmcb = vmcb;
	s->flush_tlb = true;
	c->intercept_misc1 = SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT | SVM_INTERCEPT_IOIO |
			     SVM_INTERCEPT_MSR | SVM_INTERCEPT_SHUTDOWN | SVM_INTERCEPT_INVD |
			     SVM_INTERCEPT_INIT | SVM_INTERCEPT_INTR | SVM_INTERCEPT_INVLPGA |
			     SVM_INTERCEPT_NMI | SVM_INTERCEPT_RDPMC;
	/* XSETBV: XCR0 is the guest's and checked (vmm/exit.c); NMI: a host
	 * NMI exits and is taken by the host after STGI, never through the
	 * guest's IDT (APM 15.12); RDPMC: no counters for the guest. */
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
			     SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			     SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_WBINVD |
			     SVM_INTERCEPT_MWAIT | SVM_INTERCEPT_XSETBV;
	/* Every exception except #DB, NMI, #BP and #OF exits to be counted and
	 * reflected back (docs/svm.md): a guest that faults shows in the log.
	 * #MC exits too, and is the host's (APM 15.13): the VM ends. */
	c->intercept_exc = 0xffffffffu & ~((1u << X86_EXC_DB) | (1u << X86_EXC_NMI) | (1u << X86_EXC_BP) |
					 (1u << X86_EXC_OF));
	c->iopm_base_pa = PA(sv->iopm);
	c->msrpm_base_pa = PA(sv->msrpm);
	c->asid = 1;
	c->np_enable = 1;
	c->n_cr3 = PA(sv->npt_pml4);
	c->vintr = SVM_VINTR_MASKING;   /* guest IF does not mask host interrupts */

	set_seg(&g->cs, 0x08, 0xc9b, 0xffffffff, 0);   /* 32-bit code, read/exec, accessed */
	set_seg(&g->ds, 0x10, 0xc93, 0xffffffff, 0);   /* data, read/write, accessed */
	set_seg(&g->es, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(&g->ss, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(&g->fs, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(&g->gs, 0x10, 0xc93, 0xffffffff, 0);
	set_seg(&g->tr, 0, 0x08b, 0xffff, 0);          /* busy 32-bit TSS */
	set_seg(&g->ldtr, 0, 0x082, 0xffff, 0);
	set_seg(&g->gdtr, 0, 0, 0xffff, 0);
	set_seg(&g->idtr, 0, 0, 0xffff, 0);
	g->cpl = 0;
	g->efer = X86_EFER_SVME;            /* required while in guest mode; hidden from the guest */
	g->cr0 = X86_CR0_PE | X86_CR0_ET;
	g->cr4 = 0;
	g->cr3 = 0;
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	g->g_pat = 0x0007040600070406ull;
	v->regs.rflags = 0x2;
	v->arch = s;
	return 0;
}

static void svm_set_tsc(struct vcpu *v, uint64_t offset, uint64_t ratio, bool trap_rdtsc)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb_control *c = &s->vmcb->ctl;

	c->tsc_offset = offset;
	s->tsc_ratio = ratio;
	if (trap_rdtsc) {
		c->intercept_misc1 |= SVM_INTERCEPT_RDTSC;
		c->intercept_misc2 |= SVM_INTERCEPT_RDTSCP;
	} else {
		c->intercept_misc1 &= ~SVM_INTERCEPT_RDTSC;
		c->intercept_misc2 &= ~SVM_INTERCEPT_RDTSCP;
	}
}

static void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	struct svm_vcpu *s = v->arch;

	/* EVENTINJ (APM 15.20): vector, type 3 = exception, EV, V. */
	s->vmcb->ctl.event_inj = vector | SVM_EVT_TYPE_EXC | (has_error ? SVM_EVT_ERR_VALID : 0) |
				 SVM_EVT_VALID | ((uint64_t)error << 32);
}

static bool svm_irq_window_open(struct vcpu *v)
{
	const struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;

	return (v->regs.rflags & (1u << 9)) && !(vmcb->ctl.interrupt_shadow & 1) &&
	       !(vmcb->ctl.event_inj & SVM_EVT_VALID);
}

static void svm_clear_irq_shadow(struct vcpu *v)
{
	((struct svm_vcpu *)v->arch)->vmcb->ctl.interrupt_shadow = 0;
}

static void svm_inject_irq(struct vcpu *v, uint8_t vector)
{
	struct svm_vcpu *s = v->arch;

	s->vmcb->ctl.event_inj = vector | SVM_EVT_TYPE_INTR | SVM_EVT_VALID;
}

/* A virtual interrupt that the guest "takes" as soon as it can take one,
 * intercepted (VINTR): the exit says the window is open (APM 15.21.4). */
static void svm_request_irq_window(struct vcpu *v, bool on)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb_control *c = &s->vmcb->ctl;

	s->irq_window = on;
	if (on) {
		c->vintr |= VIRQ_PENDING;
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	} else {
		c->vintr &= ~VIRQ_PENDING;
		c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
	}
}

/* The pvclock window: this vCPU's own nested page tables, copies of the
 * VM's along the path to `gpa` with the 2 MiB page there split into 4 KiB
 * pages, the one at gpa read-only onto host_pa. Every vCPU of a VM shares
 * ASID 1, so the TLB is flushed whenever another vCPU of it ran on this
 * pCPU in between (svm_vcpu_run). */
static int svm_set_window(struct vcpu *v, uint64_t gpa, uint64_t host_pa)
{
	struct svm_vcpu *sv = v->arch;
	const struct svm_vm *s = v->vm->arch;
	unsigned i;

	if (!host_pa) {
		sv->vmcb->ctl.n_cr3 = PA(s->npt_pml4);
		sv->flush_tlb = true;
		return 0;
	}
	if (!gmem_offset(v->vm->ram_size, gpa, 4096, NULL) || (gpa & 0xfff) || (host_pa & 0xfff))
		return -1;
	for (i = 0; i < 4; i++)
		if (!sv->win[i] && !(sv->win[i] = mem_try_alloc_pages(1, 0)))
			return -1;
	if (nested_window_tables(sv->win, s->npt_pml4, gpa, PA(v->vm->ram), v->vm->ram_size,
				 host_pa, &svm_npt_bits))
		return -1;
	sv->vmcb->ctl.n_cr3 = PA(sv->win[0]);
	sv->flush_tlb = true;
	return 0;
}

/* Nothing is tied to a physical CPU in SVM's VMCB. */
static void svm_vcpu_put(struct vcpu *v)
{
	(void)v;
}

static void svm_vcpu_load(struct vcpu *v)
{
	((struct svm_vcpu *)v->arch)->flush_tlb = true;
}

static void translate_exit(struct vcpu *v, const struct vmcb *vmcb, struct vm_exit *e)
{
	const struct vmcb_control *c = &vmcb->ctl;
	uint64_t code = c->exit_code;

	*e = (struct vm_exit){ .code = code, .info1 = c->exit_info1, .info2 = c->exit_info2 };
	if (svm_cpu.svm_nrips && c->next_rip > v->regs.rip && c->next_rip - v->regs.rip <= 15)
		e->insn_len = (unsigned)(c->next_rip - v->regs.rip);

	switch (code) {
	case SVM_EXIT_CPUID:    e->reason = EXIT_CPUID; break;
	case SVM_EXIT_RDTSC:    e->reason = EXIT_RDTSC; break;   /* QEMU: also RDTSCP */
	case SVM_EXIT_RDTSCP:   e->reason = EXIT_RDTSCP; break;
	case SVM_EXIT_HLT:      e->reason = EXIT_HLT; break;
	case SVM_EXIT_VMMCALL:  e->reason = EXIT_HYPERCALL; break;
	case SVM_EXIT_SHUTDOWN: e->reason = EXIT_SHUTDOWN; break;
	case SVM_EXIT_INTR:     e->reason = EXIT_INTR; break;
	/* The NMI stays pending while GIF is 0 and is taken by the host's
	 * handler at the STGI after VMRUN (APM 15.12, 15.17). */
	case SVM_EXIT_NMI:      e->reason = EXIT_INTR; break;
	case SVM_EXIT_XSETBV:   e->reason = EXIT_XSETBV; break;
	case SVM_EXIT_RDPMC:    e->reason = EXIT_RDPMC; break;
	case SVM_EXIT_EXCP_BASE + 18: e->reason = EXIT_MACHINE_CHECK; break;
	case SVM_EXIT_VINTR:    e->reason = EXIT_IRQ_WINDOW; break;
	case SVM_EXIT_INVALID:  e->reason = EXIT_INVALID; break;
	/* Intercepted only while the exit fast path has a page recorded
	 * (svm_vcpu_run): the page goes, the intercepts with it, and the
	 * instruction, not yet executed, runs again without them. */
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR3:
	case SVM_EXIT_WRITE_CR4:
	case SVM_EXIT_INVLPG:
	case SVM_EXIT_INVPCID:
		fastexit_forget(&v->fx);
		e->reason = EXIT_TLB_WATCH;
		break;
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:   e->reason = EXIT_INVD; break;
	/* The guest has no SVM (its EFER.SVME is the hypervisor's) and no
	 * MONITOR/MWAIT: CPUID hides them, these intercepts turn them into #UD.
	 * VMRUN's intercept is also what the APM requires for a valid VMCB. */
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD ... SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR ... SVM_EXIT_MWAIT_COND:
		e->reason = EXIT_NOT_OFFERED;
		break;
	case SVM_EXIT_MSR:
		e->reason = c->exit_info1 ? EXIT_WRMSR : EXIT_RDMSR;
		break;
	case SVM_EXIT_IOIO:
		/* EXITINFO1 (APM 15.10.2): type, STR, REP, size, port;
		 * EXITINFO2 = the next RIP, even without NRIPS. */
		e->reason = EXIT_IO;
		e->u.io.in = c->exit_info1 & 1;
		e->u.io.string = c->exit_info1 & (1u << 2);
		e->u.io.rep = c->exit_info1 & (1u << 3);
		e->u.io.size = (c->exit_info1 & (1u << 4)) ? 1 : (c->exit_info1 & (1u << 5)) ? 2 : 4;
		e->u.io.port = (uint16_t)(c->exit_info1 >> 16);
		e->insn_len = (unsigned)(c->exit_info2 - v->regs.rip);
		break;
	case SVM_EXIT_NPF:
		e->reason = EXIT_NPF;
		e->u.npf.gpa = c->exit_info2;
		e->u.npf.write = c->exit_info1 & (1u << 1);
		e->u.npf.fetch = c->exit_info1 & (1u << 4);
		/* EXITINFO1 bit 33: the fault was on a guest page table (APM 15.25.6). */
		e->u.npf.walk = c->exit_info1 & (1ull << 33);
		break;
	default:
		if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32) {
			uint8_t vec = (uint8_t)(code - SVM_EXIT_EXCP_BASE);

			e->reason = EXIT_EXCEPTION;
			e->u.exc.vector = vec;
			e->u.exc.has_error = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 ||
					     vec == 21 || vec == 29 || vec == 30;
			e->u.exc.error = (uint32_t)c->exit_info1;
			e->u.exc.cr2 = c->exit_info2;
			e->u.exc.prev_cr2 = vmcb->save.cr2;
			if (vec == 14)   /* a reflected #PF must find its address in CR2 */
				((struct vmcb *)vmcb)->save.cr2 = c->exit_info2;
		} else {
			e->reason = EXIT_UNHANDLED;
		}
		break;
	}
}

#define VIRQ_BITS (VIRQ_PENDING | (0xffull << SVM_VINTR_VECTOR_SHIFT))

/* svm_virq: an external interrupt in EVENTINJ moves to V_IRQ for this run. */
static void virq_enter(struct svm_vcpu *s)
{
	struct vmcb_control *c = &s->vmcb->ctl;

	if ((c->event_inj & (SVM_EVT_VALID | (7u << SVM_EVT_TYPE_SHIFT))) != (SVM_EVT_VALID | SVM_EVT_TYPE_INTR))
		return;
	c->vintr = (c->vintr & ~VIRQ_BITS) | VIRQ_PENDING |
		   ((uint64_t)(c->event_inj & 0xff) << SVM_VINTR_VECTOR_SHIFT);
	c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
	c->event_inj = 0;
	s->virq_inject = true;
}

/* After the run: not taken (V_IRQ still set) goes back to EVENTINJ, unless
 * the exit already holds an event to inject again (a delivery the exit
 * interrupted); the window request comes back as it was. */
static void virq_leave(struct svm_vcpu *s)
{
	struct vmcb_control *c = &s->vmcb->ctl;
	uint64_t vintr = c->vintr;
	uint32_t vec = (uint32_t)((vintr >> SVM_VINTR_VECTOR_SHIFT) & 0xff);

	s->virq_inject = false;
	c->vintr = vintr & ~VIRQ_BITS;
	/* A delivery the exit interrupted (a nested page fault on the guest's
	 * stack) comes back in EXITINTINFO, which QEMU types as an exception
	 * for an interrupt it took from V_IRQ: it is the interrupt again. */
	if ((c->event_inj & (SVM_EVT_VALID | (7u << SVM_EVT_TYPE_SHIFT) | 0xffu)) ==
	    (SVM_EVT_VALID | SVM_EVT_TYPE_EXC | vec) && vec >= 32)
		c->event_inj = vec | SVM_EVT_TYPE_INTR | SVM_EVT_VALID;
	if ((vintr & SVM_VINTR_V_IRQ) && !(c->event_inj & SVM_EVT_VALID)) {
		c->event_inj = vec | SVM_EVT_TYPE_INTR | SVM_EVT_VALID;
		/* Entered with IF set and no shadow, the guest takes the
		 * interrupt before any instruction, as with EVENTINJ: an HLT
		 * exit with it still pending must not put the vCPU to sleep
		 * (it would sleep on an interrupt already taken from its
		 * LAPIC). The HLT has not run; the exit becomes an open
		 * window, and the next entry delivers the interrupt first. */
		if (c->exit_code == SVM_EXIT_HLT)
			c->exit_code = SVM_EXIT_VINTR;
	}
	if (s->irq_window) {
		c->vintr |= VIRQ_PENDING;
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	}
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb *vmcb = s->vmcb;
	struct pcpu *cpu = this_cpu();
	const struct svm_pcpu *p = cpu->vendor;

	vmcb->save.rax = v->regs.rax;
	vmcb->save.rsp = v->regs.rsp;
	vmcb->save.rip = v->regs.rip;
	vmcb->save.rflags = v->regs.rflags;
	/* The vCPUs of a VM share one ASID but not always their nested page
	 * tables (the pvclock window): another vCPU's translations may be in
	 * this pCPU's TLB. */
	if (svm_last_run[cpu->index] != v) {
		svm_last_run[cpu->index] = v;
		s->flush_tlb = true;
	}
	vmcb->ctl.tlb_control = s->flush_tlb ? 1 : 0;
	if (s->flush_tlb)       /* the fast path's page goes with the TLB */
		fastexit_forget(&v->fx);
	s->flush_tlb = false;
	if (svm_cpu.svm_tsc_ratio) {
		uint64_t want = s->tsc_ratio ? s->tsc_ratio : 1ull << 32;

		if (want != cpu->cur_tsc_ratio) {
			wrmsr(MSR_AMD_TSC_RATIO, want);
			cpu->cur_tsc_ratio = want;
		}
	}
	/* A native RDTSCP reads the real IA32_TSC_AUX: give it the guest's. The
	 * hypervisor itself never uses TSC_AUX. */
	if (v->tsc_aux != cpu->cur_tsc_aux && svm_cpu.rdtscp) {
		wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
		cpu->cur_tsc_aux = v->tsc_aux;
	}
	fastexit_prepare(v);
	/* While the fast path has a page recorded (without NRIPS it reads the
	 * exiting instruction's bytes there), every change of a translation
	 * exits: INVLPG, INVPCID (where the CPU has it), MOV to CR0, CR3,
	 * CR4 (docs/performance.md). */
	if (v->fx.page != 1) {
		vmcb->ctl.intercept_misc1 |= SVM_INTERCEPT_INVLPG;
		vmcb->ctl.intercept_misc3 |= SVM_INTERCEPT3_INVPCID;
		vmcb->ctl.intercept_cr |= SVM_INTERCEPT_CR_WRITES;
	} else {
		vmcb->ctl.intercept_misc1 &= ~SVM_INTERCEPT_INVLPG;
		vmcb->ctl.intercept_misc3 &= ~SVM_INTERCEPT3_INVPCID;
		vmcb->ctl.intercept_cr &= ~SVM_INTERCEPT_CR_WRITES;
	}
	if (svm_virq)
		virq_enter(s);
	__asm__ volatile("clgi" ::: "memory");
	svm_run(&v->regs, PA(vmcb), p->host_vmcb_pa, &v->fx);
	__asm__ volatile("stgi" ::: "memory");
	fastexit_fold(v);
	if (fpu_xcr0_sync(&cpu->cur_xcr0, &v->xcr0) && !s->xcr0_bypass_seen) {
		s->xcr0_bypass_seen = true;
		log_warn("vm %s: vCPU %u set XCR0 0x%lx without an XSETBV exit (an emulator without "
			 "the intercept); it stays the guest's", v->vm->name, v->id, v->xcr0);
	}
	v->regs.rax = vmcb->save.rax;
	v->regs.rsp = vmcb->save.rsp;
	v->regs.rip = vmcb->save.rip;
	v->regs.rflags = vmcb->save.rflags;
	/* An event we injected that did not get delivered is re-injected
	 * (EXITINTINFO, APM 15.7.2; bit 31 = valid, older contents are stale). */
	vmcb->ctl.event_inj = 0;
	if (vmcb->ctl.exit_int_info & (1u << 31))
		vmcb->ctl.event_inj = vmcb->ctl.exit_int_info;
	if (s->virq_inject)
		virq_leave(s);
	translate_exit(v, vmcb, e);
}

static void seg_out(struct segment *d, const struct vmcb_seg *s)
{
	d->sel = s->sel;
	d->attr = s->attr;
	d->limit = s->limit;
	d->base = s->base;
}

/* EVENTINJ (where an event being delivered at the exit is re-armed, from
 * EXITINTINFO) to and from the core's form. Its types are the core's
 * numbers (enum vcpu_event_type was made so). */
static struct vcpu_event event_from_svm(uint64_t inj)
{
	struct vcpu_event e = { 0 };

	if (!(inj & SVM_EVT_VALID))
		return e;
	e.valid = true;
	e.vector = (uint8_t)inj;
	e.type = (inj >> SVM_EVT_TYPE_SHIFT) & 7;
	e.has_error = inj & SVM_EVT_ERR_VALID;
	e.error = e.has_error ? (uint32_t)(inj >> 32) : 0;
	return e;
}

static uint64_t event_to_svm(const struct vcpu_event *e)
{
	if (!e->valid)
		return 0;
	return e->vector | (uint64_t)(e->type & 7) << SVM_EVT_TYPE_SHIFT |
	       (e->has_error ? SVM_EVT_ERR_VALID | (uint64_t)e->error << 32 : 0) | SVM_EVT_VALID;
}

static void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *r)
{
	const struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;
	const struct vmcb_save *g = &vmcb->save;

	seg_out(&r->seg[SEG_ES], &g->es);
	seg_out(&r->seg[SEG_CS], &g->cs);
	seg_out(&r->seg[SEG_SS], &g->ss);
	seg_out(&r->seg[SEG_DS], &g->ds);
	seg_out(&r->seg[SEG_FS], &g->fs);
	seg_out(&r->seg[SEG_GS], &g->gs);
	seg_out(&r->seg[SEG_LDTR], &g->ldtr);
	seg_out(&r->seg[SEG_TR], &g->tr);
	seg_out(&r->seg[SEG_GDTR], &g->gdtr);
	seg_out(&r->seg[SEG_IDTR], &g->idtr);
	r->cr0 = g->cr0;
	r->cr2 = g->cr2;
	r->cr3 = g->cr3;
	r->cr4 = g->cr4;
	r->efer = g->efer & ~X86_EFER_SVME;
	r->pat = g->g_pat;
	r->dr6 = g->dr6;
	r->dr7 = g->dr7;
	r->kernel_gs_base = g->kernel_gs_base;
	r->star = g->star;
	r->lstar = g->lstar;
	r->cstar = g->cstar;
	r->sfmask = g->sfmask;
	r->sysenter_cs = g->sysenter_cs;
	r->sysenter_esp = g->sysenter_esp;
	r->sysenter_eip = g->sysenter_eip;
	r->interrupt_shadow = vmcb->ctl.interrupt_shadow & 1;
	r->pending_event = event_from_svm(vmcb->ctl.event_inj);
}

static uint64_t svm_get_cr3(struct vcpu *v)
{
	return ((struct svm_vcpu *)v->arch)->vmcb->save.cr3;
}

static void seg_in(struct vmcb_seg *d, const struct segment *s)
{
	d->sel = s->sel;
	d->attr = s->attr;
	d->limit = s->limit;
	d->base = s->base;
}

static void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *r)
{
	struct svm_vcpu *sv = v->arch;
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save *g = &vmcb->save;

	fastexit_forget(&v->fx);   /* new control registers, new translations */

	seg_in(&g->es, &r->seg[SEG_ES]);
	seg_in(&g->cs, &r->seg[SEG_CS]);
	seg_in(&g->ss, &r->seg[SEG_SS]);
	seg_in(&g->ds, &r->seg[SEG_DS]);
	seg_in(&g->fs, &r->seg[SEG_FS]);
	seg_in(&g->gs, &r->seg[SEG_GS]);
	seg_in(&g->ldtr, &r->seg[SEG_LDTR]);
	seg_in(&g->tr, &r->seg[SEG_TR]);
	seg_in(&g->gdtr, &r->seg[SEG_GDTR]);
	seg_in(&g->idtr, &r->seg[SEG_IDTR]);
	g->cpl = (r->seg[SEG_SS].attr >> 5) & 3;   /* CPL is SS.DPL (APM 15.5.1) */
	g->cr0 = r->cr0;
	g->cr2 = r->cr2;
	g->cr3 = r->cr3;
	g->cr4 = r->cr4;
	g->efer = r->efer | X86_EFER_SVME;
	g->g_pat = r->pat;
	g->dr6 = r->dr6;
	g->dr7 = r->dr7;
	g->kernel_gs_base = r->kernel_gs_base;
	g->star = r->star;
	g->lstar = r->lstar;
	g->cstar = r->cstar;
	g->sfmask = r->sfmask;
	g->sysenter_cs = r->sysenter_cs;
	g->sysenter_esp = r->sysenter_esp;
	g->sysenter_eip = r->sysenter_eip;
	vmcb->ctl.interrupt_shadow = r->interrupt_shadow & 1;
	vmcb->ctl.event_inj = event_to_svm(&r->pending_event);
	sv->flush_tlb = true;
}

/* The state of an AP after INIT and a SIPI with `vector` (SDM Vol. 3A 8.4,
 * Table 9-1 "IA-32 Processor States Following Power-up, Reset, or INIT"). */
static void svm_vcpu_sipi(struct vcpu *v, uint8_t vector)
{
	struct svm_vcpu *sv = v->arch;
	struct vmcb_save *g = &sv->vmcb->save;

	set_seg(&g->cs, (uint16_t)(vector << 8), 0x09b, 0xffff, (uint64_t)vector << 12);
	set_seg(&g->ds, 0, 0x093, 0xffff, 0);
	set_seg(&g->es, 0, 0x093, 0xffff, 0);
	set_seg(&g->ss, 0, 0x093, 0xffff, 0);
	set_seg(&g->fs, 0, 0x093, 0xffff, 0);
	set_seg(&g->gs, 0, 0x093, 0xffff, 0);
	set_seg(&g->tr, 0, 0x08b, 0xffff, 0);
	set_seg(&g->ldtr, 0, 0x082, 0xffff, 0);
	set_seg(&g->gdtr, 0, 0, 0xffff, 0);
	set_seg(&g->idtr, 0, 0, 0xffff, 0);
	g->cpl = 0;
	g->cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	g->cr2 = g->cr3 = g->cr4 = 0;
	fastexit_forget(&v->fx);
	g->efer = X86_EFER_SVME;
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	sv->vmcb->ctl.event_inj = 0;
	sv->vmcb->ctl.interrupt_shadow = 0;
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rdx = 0x600;   /* processor signature, as after reset: family 6 */
	v->regs.rflags = 0x2;
	sv->flush_tlb = true;
}

static bool svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	const struct vmcb_save *g = &((struct svm_vcpu *)v->arch)->vmcb->save;

	switch (msr) {
	case MSR_EFER: *val = g->efer & ~X86_EFER_SVME; return true;
	case MSR_IA32_PAT: *val = g->g_pat; return true;
	default:       return false;
	}
}

static bool svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vmcb_save *g = &((struct svm_vcpu *)v->arch)->vmcb->save;

	switch (msr) {
	case MSR_EFER:
		/* SCE, LME, LMA (read-only, kept), NXE; the rest is refused by
		 * the caller's #GP. SVME stays set underneath. */
		if (val & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE))
			return false;
		g->efer = (val & ~X86_EFER_LMA) | (g->efer & X86_EFER_LMA) | X86_EFER_SVME;
		return true;
	case MSR_IA32_PAT:
		/* Each entry a defined memory type (0, 1, 4, 5, 6, 7); the rest
		 * is #GP (APM Vol. 2 7.8.1, SDM Vol. 3A 12.12.2). */
		for (unsigned i = 0; i < 8; i++) {
			unsigned t = (val >> (8 * i)) & 0xff;

			if (t == 2 || t == 3 || t > 7)
				return false;
		}
		g->g_pat = val;
		return true;
	default:
		return false;
	}
}

static void svm_dump(struct vcpu *v)
{
	const struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;
	const struct vmcb_save *g = &vmcb->save;

	log_raw("  SVM exit 0x%lx info1 0x%lx info2 0x%lx exitintinfo 0x%lx\n",
		vmcb->ctl.exit_code, vmcb->ctl.exit_info1,
		vmcb->ctl.exit_info2, vmcb->ctl.exit_int_info);
	log_raw("  CS %04x/%03x base 0x%lx limit 0x%x  SS %04x/%03x  CPL %u  EFER 0x%lx\n",
		g->cs.sel, g->cs.attr, g->cs.base, g->cs.limit,
		g->ss.sel, g->ss.attr, g->cpl, (uint64_t)(g->efer & ~X86_EFER_SVME));
	log_raw("  CR0 0x%lx CR2 0x%lx CR3 0x%lx CR4 0x%lx  GDTR 0x%lx/0x%x IDTR 0x%lx/0x%x\n",
		g->cr0, g->cr2, g->cr3,
		g->cr4, g->gdtr.base, g->gdtr.limit,
		g->idtr.base, g->idtr.limit);
	/* Seen under QEMU's TCG (twice): the guest state was the hypervisor's own,
	 * as VMRUN saves it to the host save area (RIP after our VMRUN, RAX =
	 * this VMCB), so the next VMRUN ran the hypervisor's code as the guest. */
	if (g->cr3 == read_cr3())
		log_raw("  This guest state is the hypervisor's own (its CR3): the emulator wrote the host "
			"state into this vCPU's VMCB; docs/platform.md\n");
}

const struct vendor_ops svm_ops = {
	.name = "SVM",
	.guest_vendor = CPUMODEL_AMD,
	.snap_vendor = SNAP_VENDOR_SVM,
	.tsc_scale_frac = TSC_SVM_FRAC,
	.tsc_max_ratio = TSC_SVM_MAX_RATIO,
	.nested_bits = &svm_npt_bits,
	.cpu_enable = svm_cpu_enable,
	.vm_init = svm_vm_init,
	.pass_io_port = svm_pass_io_port,
	.pass_msr = svm_pass_msr,
	.vcpu_init = svm_vcpu_init,
	.vcpu_run = svm_vcpu_run,
	.inject_exception = svm_inject_exception,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_cr3 = svm_get_cr3,
	.vcpu_sipi = svm_vcpu_sipi,
	.irq_window_open = svm_irq_window_open,
	.clear_irq_shadow = svm_clear_irq_shadow,
	.inject_irq = svm_inject_irq,
	.request_irq_window = svm_request_irq_window,
	.vcpu_put = svm_vcpu_put,
	.vcpu_load = svm_vcpu_load,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.set_tsc = svm_set_tsc,
	.set_window = svm_set_window,
	.dump = svm_dump,
};
