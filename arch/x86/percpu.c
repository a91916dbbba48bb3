/* Per-CPU data: one struct pcpu per physical CPU, found through GS. */
#include "percpu.h"
#include "insn.h"

struct pcpu pcpus[MAX_CPUS];

void percpu_init(unsigned index, uint32_t apic_id, uint64_t stack_top)
{
	struct pcpu *p = &pcpus[index];

	p->self = p;
	p->index = index;
	p->apic_id = apic_id;
	p->stack_top = stack_top;
	p->cur_tsc_ratio = 1ull << 32;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}
