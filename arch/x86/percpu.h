/* Per-physical-CPU data of the hypervisor, reached through the GS base
 * (IA32_GS_BASE points at the CPU's struct pcpu, whose first field points at
 * itself). Set up by arch_cpu_setup_bsp / the AP bring-up. */
#ifndef ARCH_X86_PERCPU_H
#define ARCH_X86_PERCPU_H

#include <stdint.h>

#define MAX_CPUS 16

struct vcpu;

struct pcpu {
	struct pcpu *self;           /* gs:0 */
	unsigned index;              /* 0 = boot CPU */
	uint32_t apic_id;
	uint64_t stack_top;
	void *vendor;                /* the backend's per-CPU state (VMXON region, host save area...) */
	struct vcpu *current;        /* the vCPU running here, if any */
	struct vcpu *fpu_owner;      /* whose x87/SSE registers this CPU holds, NULL: nobody's */
	uint64_t cur_tsc_aux;        /* what this CPU's IA32_TSC_AUX holds */
	uint64_t cur_xcr0;           /* what this CPU's XCR0 holds, 0: not known (vmm/sched.c) */
	uint64_t cur_tsc_ratio;      /* what this CPU's TSC ratio MSR holds (SVM) */
	int64_t tsc_skew;            /* test option: pretend this CPU's TSC is off by this much */
	volatile uint64_t timer_irqs, kick_irqs, kicks_sent;
	volatile uint64_t nmis;      /* NMIs the host took (arch/x86/trap.c) */
	uint64_t timer_armed, timer_irqs_seen;  /* apic_timer_at's last programming */
	void *gdt, *tss;             /* this CPU's descriptor tables */
};

extern struct pcpu pcpus[MAX_CPUS];

static inline struct pcpu *this_cpu(void)
{
	struct pcpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Point GS at pcpus[index] on the calling CPU. */
void percpu_init(unsigned index, uint32_t apic_id, uint64_t stack_top);

#endif
