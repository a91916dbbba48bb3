/* How one pCPU tells the others: wake a vCPU, kick the pCPU it runs on (an
 * IPI that makes it leave its guest and look at the vCPU's pending work),
 * end a VM (every pCPU leaves it). Low in the core: device models, VM time,
 * exit handlers and the pause protocol all call these, and they call
 * nothing of the core above the log. */
#include <tscvisor/format.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

/* pCPUs the running VM uses (vmm/sched.c sets it when a VM starts). */
static unsigned pcpus_used;

void sched_set_pcpus(unsigned n)
{
	pcpus_used = n;
}

unsigned sched_pcpus(void)
{
	return pcpus_used;
}

void sched_kick_pcpu(unsigned cpu)
{
	if (cpu != this_cpu()->index) {
		this_cpu()->kicks_sent++;
		hw_kick_cpu(cpu);
	}
}

void sched_kick_all(void)
{
	unsigned i;

	for (i = 0; i < pcpus_used; i++)
		sched_kick_pcpu(i);
}

void sched_wake(struct vcpu *v)
{
	__atomic_store_n(&v->wake, 1, __ATOMIC_RELEASE);
	sched_kick_pcpu(v->cpu);
}

void sched_kick_vcpu(struct vcpu *v)
{
	sched_kick_pcpu(__atomic_load_n(&v->cpu, __ATOMIC_ACQUIRE));
}

void sched_init_vcpu(struct vcpu *v)
{
	__atomic_store_n(&v->pending_init, 1, __ATOMIC_RELEASE);
	sched_kick_pcpu(v->cpu);
}

void sched_sipi_vcpu(struct vcpu *v, uint8_t vector)
{
	__atomic_store_n(&v->pending_sipi, 0x100u | vector, __ATOMIC_RELEASE);
	sched_kick_pcpu(v->cpu);
}

/* The vCPU's own pCPU: it sleeps from its next look at it until an
 * interrupt it can take (vmm/sched.c, check_wake). */
void sched_halt(struct vcpu *v)
{
	v->state = VCPU_HALTED;
}

void vm_end(struct vm *vm, enum vm_end how, uint32_t status, const char *reason)
{
	enum vm_end running = VM_RUNNING;

	/* The first reason wins, whichever vCPU gives it. */
	if (!__atomic_compare_exchange_n(&vm->end, &running, how, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	vm->exit_status = status;
	tv_snprintf(vm->end_reason, sizeof(vm->end_reason), "%s", reason);
	sched_kick_all();
}
