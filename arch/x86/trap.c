/* Exceptions taken by the hypervisor itself: never expected, so each one
 * prints a register dump and ends the run with a failure status. */
#include <tscvisor/log.h>
#include "trap.h"
#include "insn.h"
#include "cpu_setup.h"
#include "apic.h"
#include "percpu.h"

static const char *const vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	"reserved 22", "reserved 23", "reserved 24", "reserved 25", "reserved 26",
	"reserved 27", "#HV hypervisor injection", "#VC VMM communication",
	"#SX security", "reserved 31",
};

static volatile int in_trap;

/* Host interrupts (vectors >= 32) are expected: the host timer and kicks
 * that bring a CPU out of a guest or out of HLT. */
static void irq_dispatch(unsigned vector)
{
	struct pcpu *cpu = this_cpu();

	if (vector == VEC_SPURIOUS)
		return;                      /* no EOI for a spurious interrupt */
	if (vector == VEC_HOST_TIMER)
		cpu->timer_irqs++;
	else if (vector == VEC_KICK)
		cpu->kick_irqs++;
	apic_eoi();
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t base = arch_image_base();

	if (f->vector >= 32) {
		irq_dispatch((unsigned)f->vector);
		return;
	}
	if (f->vector == 2) {
		/* An NMI: the hypervisor sends none; SVM intercepts one that
		 * comes while a guest runs and it lands here at the STGI after
		 * VMRUN (APM 15.12), never in the guest's IDT. Counted, nothing
		 * more: logging from NMI context could meet a held log lock. */
		this_cpu()->nmis++;
		return;
	}
	if (in_trap++) {
		/* A fault while dumping: say the least that helps and stop. */
		log_raw("\n*** nested exception %lu at rip 0x%lx while handling an exception\n",
			f->vector, f->rip);
		hv_exit(false, "nested exception in the hypervisor");
	}
	log_raw("\n*** hypervisor exception: %s (vector %lu), error code 0x%lx\n",
		f->vector < 32 ? vector_names[f->vector] : "interrupt",
		f->vector, f->error);
	log_raw("RIP 0x%016lx (image base 0x%lx + 0x%lx)  CS 0x%lx  RFLAGS 0x%lx\n",
		f->rip, base,
		(f->rip - base), f->cs,
		f->rflags);
	log_raw("RSP 0x%016lx  SS 0x%lx\n", f->rsp, f->ss);
	log_raw("RAX 0x%016lx  RBX 0x%016lx  RCX 0x%016lx  RDX 0x%016lx\n",
		f->rax, f->rbx,
		f->rcx, f->rdx);
	log_raw("RSI 0x%016lx  RDI 0x%016lx  RBP 0x%016lx  R8  0x%016lx\n",
		f->rsi, f->rdi,
		f->rbp, f->r8);
	log_raw("R9  0x%016lx  R10 0x%016lx  R11 0x%016lx  R12 0x%016lx\n",
		f->r9, f->r10,
		f->r11, f->r12);
	log_raw("R13 0x%016lx  R14 0x%016lx  R15 0x%016lx\n",
		f->r13, f->r14, f->r15);
	log_raw("CR0 0x%lx  CR2 0x%lx  CR3 0x%lx  CR4 0x%lx\n",
		read_cr0(), read_cr2(),
		read_cr3(), read_cr4());
	hv_exit(false, "exception in the hypervisor");
}
