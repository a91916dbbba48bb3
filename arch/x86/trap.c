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
		log_raw("\n*** nested exception %llu at rip 0x%llx while handling an exception\n",
			(unsigned long long)f->vector, (unsigned long long)f->rip);
		hv_exit(false, "nested exception in the hypervisor");
	}
	log_raw("\n*** hypervisor exception: %s (vector %llu), error code 0x%llx\n",
		f->vector < 32 ? vector_names[f->vector] : "interrupt",
		(unsigned long long)f->vector, (unsigned long long)f->error);
	log_raw("RIP 0x%016llx (image base 0x%llx + 0x%llx)  CS 0x%llx  RFLAGS 0x%llx\n",
		(unsigned long long)f->rip, (unsigned long long)base,
		(unsigned long long)(f->rip - base), (unsigned long long)f->cs,
		(unsigned long long)f->rflags);
	log_raw("RSP 0x%016llx  SS 0x%llx\n", (unsigned long long)f->rsp, (unsigned long long)f->ss);
	log_raw("RAX 0x%016llx  RBX 0x%016llx  RCX 0x%016llx  RDX 0x%016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	log_raw("RSI 0x%016llx  RDI 0x%016llx  RBP 0x%016llx  R8  0x%016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8);
	log_raw("R9  0x%016llx  R10 0x%016llx  R11 0x%016llx  R12 0x%016llx\n",
		(unsigned long long)f->r9, (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	log_raw("R13 0x%016llx  R14 0x%016llx  R15 0x%016llx\n",
		(unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15);
	log_raw("CR0 0x%llx  CR2 0x%llx  CR3 0x%llx  CR4 0x%llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	hv_exit(false, "exception in the hypervisor");
}
