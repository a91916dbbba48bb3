/* The pause protocol (include/tscvisor/sched.h): one pCPU stops the VM's
 * other pCPUs to change what they would otherwise touch. Below the run loop
 * (which parks here) and above the FPU switch, the kicks and host time; the
 * hypercalls and save/restore take it. */
#include <tscvisor/format.h>
#include <tscvisor/hosttime.h>
#include <tscvisor/log.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

/* The pause protocol: one pCPU at a time (the holder, pause_req = 1 + its
 * index) stops every other pCPU of the VM in park() to change what they
 * would otherwise touch: snapshots, the TSC formula, the pvclock window,
 * every vCPU's pvclock area. Taking it is one compare-and-swap; a pCPU that
 * loses returns SCHED_PAUSE_BUSY and its caller gives up the change for now
 * (a hypercall is executed again), so its pCPU goes back to its run loop and
 * parks for the holder: two requesters serialise instead of each waiting
 * for the other with interrupts off. Every wait is bounded: the holder
 * waits PAUSE_PARK_MS for the others to park, a parked pCPU waits
 * PAUSE_HOLD_MS for the holder to let go; either ends the VM naming the
 * pCPU that did not move, rather than spinning for ever with IF = 0. A VM
 * that ends releases every waiter (a pCPU that left its run loop only does
 * so once the VM has ended). */
#define PAUSE_PARK_MS     5000
#define PAUSE_HOLD_MS     60000
/* After a pause the VM runs at least as long as the pause held (up to
 * PAUSE_GAP_MAX_US) plus PAUSE_GAP_MIN_US before the next one can be taken:
 * a vCPU asking for pause after pause slows itself, but cannot keep its
 * sibling vCPUs parked nearly all the time (seen under Bochs: a sibling's
 * 100 ms busy wait took 40 s of guest time). Capped low, so that pauses
 * that are long by nature (a save streamed out) do not halve the VM's
 * throughput of them. */
#define PAUSE_GAP_MIN_US  50
#define PAUSE_GAP_MAX_US  5000

/* Stop here while another pCPU holds the pause: the control blocks of this
 * pCPU's vCPUs are put, so the holder can load them. */
void sched_park(struct vm *vm, unsigned me)
{
	uint32_t seq = __atomic_load_n(&vm->pause_seq, __ATOMIC_ACQUIRE), s, holder;
	uint64_t since = vm_host_tsc();
	unsigned i;

	sched_fpu_flush(vm);        /* the saver reads every vCPU's from memory */
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (t->cpu == me && t->loaded_on == (int)me) {
			vm->ops->vcpu_put(t);
			t->loaded_on = -1;
		}
	}
	__atomic_or_fetch(&vm->parked, 1u << me, __ATOMIC_ACQ_REL);
	while ((holder = __atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE)) && vm->end == VM_RUNNING) {
		s = __atomic_load_n(&vm->pause_seq, __ATOMIC_ACQUIRE);
		if (s != seq) {         /* another pause right after: its own bound */
			seq = s;
			since = vm_host_tsc();
		}
		if (vm_host_tsc() - since > vm->time.host.tsc_khz * PAUSE_HOLD_MS) {
			char why[96];

			tv_snprintf(why, sizeof(why), "pause: pCPU %u held the VM paused for more than %u ms",
				    holder - 1, PAUSE_HOLD_MS);
			log_err("vm %s: %s (pCPU %u was parked)", vm->name, why, me);
			vm_end(vm, VM_END_UNHANDLED, 0, why);
			break;
		}
		cpu_relax();
	}
	__atomic_and_fetch(&vm->parked, ~(1u << me), __ATOMIC_ACQ_REL);
}

void sched_pause_alive(struct vm *vm)
{
	__atomic_add_fetch(&vm->pause_seq, 1, __ATOMIC_ACQ_REL);
}

int sched_pause_others(struct vm *vm)
{
	unsigned me = this_cpu()->index, i;
	uint32_t none = 0, want = 0, got;
	uint64_t start;

	if (vm->end != VM_RUNNING)
		return -1;
	if (vm_host_tsc() < __atomic_load_n(&vm->pause_free_at, __ATOMIC_ACQUIRE))
		return SCHED_PAUSE_BUSY;    /* the VM's turn to run: ask again later */
	if (!__atomic_compare_exchange_n(&vm->pause_req, &none, me + 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return SCHED_PAUSE_BUSY;
	__atomic_add_fetch(&vm->pause_seq, 1, __ATOMIC_ACQ_REL);
	vm->pause_taken_at = vm_host_tsc();
	vm->pauses++;
	for (i = 0; i < sched_pcpus(); i++)
		if (i != me)
			want |= 1u << i;
	for (i = 0; i < sched_pcpus(); i++)
		sched_kick_pcpu(i);
	start = vm_host_tsc();
	for (;;) {
		got = __atomic_load_n(&vm->parked, __ATOMIC_ACQUIRE);
		if ((got & want) == want)
			return 0;
		if (vm->end != VM_RUNNING)
			break;      /* the others leave (or left) their run loops */
		if (vm_host_tsc() - start > vm->time.host.tsc_khz * PAUSE_PARK_MS) {
			char why[96];

			tv_snprintf(why, sizeof(why), "pause: pCPU %u did not park within %u ms",
				    (unsigned)__builtin_ctz(want & ~got), PAUSE_PARK_MS);
			log_err("vm %s: %s (asked by pCPU %u)", vm->name, why, me);
			vm_end(vm, VM_END_UNHANDLED, 0, why);
			break;
		}
		cpu_relax();
	}
	sched_resume_others(vm);
	return -1;
}

/* The holder lets go, then waits (bounded) until every pCPU it parked has
 * seen that and left park, unless another pCPU took the next pause: a vCPU
 * asking for pause after pause must not keep its siblings parked for ever
 * (seen under Bochs, where one emulated CPU runs at a time). */
void sched_resume_others(struct vm *vm)
{
	uint32_t others = ~(1u << this_cpu()->index);
	uint64_t start = vm_host_tsc(), held = start - vm->pause_taken_at, khz = vm->time.host.tsc_khz;

	if (held > khz * PAUSE_GAP_MAX_US / 1000)
		held = khz * PAUSE_GAP_MAX_US / 1000;
	__atomic_store_n(&vm->pause_free_at, start + held + khz * PAUSE_GAP_MIN_US / 1000,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&vm->pause_req, 0, __ATOMIC_RELEASE);
	sched_kick_all();
	while ((__atomic_load_n(&vm->parked, __ATOMIC_ACQUIRE) & others) &&
	       !__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE) && vm->end == VM_RUNNING &&
	       vm_host_tsc() - start < vm->time.host.tsc_khz * PAUSE_PARK_MS)
		cpu_relax();
}
