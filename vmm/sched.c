/* Running a VM on the physical CPUs.
 *
 * vCPU i runs on pCPU (i mod n): pinned while there are at least as many
 * pCPUs as vCPUs, time-sliced (round robin, SLICE_US) when there are more
 * vCPUs. Only the pCPU a vCPU is assigned to ever touches it (v->cpu); other
 * pCPUs only make interrupts pending in its LAPIC and kick that pCPU with an
 * IPI. The VM config's `migrate_ms` moves every vCPU to the next pCPU that
 * often (a test option): the guest TSC must stay continuous and monotonic. */
#include <tscvisor/console.h>
#include <tscvisor/exit.h>
#include <tscvisor/guest.h>
#include <tscvisor/format.h>
#include <tscvisor/hw.h>
#include <tscvisor/hypercall.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

#define SLICE_US          2000
#define HALT_GRACE_MS     50

static struct vm *volatile active_vm;
static volatile unsigned active_gen, cpus_done;

/* INIT and SIPI requests, applied by the vCPU's own pCPU. The SIPI is
 * taken first: a sender posts INIT before SIPI, so a SIPI seen here has its
 * INIT seen with it (release/acquire), and the INIT is applied before it.
 * Taken the other way round, an INIT posted between the two loads left its
 * SIPI to a vCPU still running, which drops a SIPI as hardware does, and
 * then the INIT: the AP waited for a SIPI that had come and gone. */
static void __attribute__((noinline)) apply_init_sipi_slow(struct vcpu *v)
{
	uint32_t sipi = __atomic_exchange_n(&v->pending_sipi, 0, __ATOMIC_ACQ_REL);

	if (__atomic_exchange_n(&v->pending_init, 0, __ATOMIC_ACQ_REL)) {
		v->inits_seen++;
		v->state = VCPU_WAIT_SIPI;
		lapic_reset(v);
		v->apic_base &= ~APIC_BASE_X2APIC;
	}
	if (sipi)
		v->sipis_seen++;
	if (sipi && v->state == VCPU_WAIT_SIPI) {
		v->sipis_taken++;
		v->vm->ops->vcpu_sipi(v, (uint8_t)sipi);
		v->state = VCPU_RUNNABLE;
		log_dbg("vm %s: vCPU %u started at 0x%x by SIPI", v->vm->name, v->id, (sipi & 0xff) << 12);
	}
}

/* The per-entry checks, each a few loads when there is nothing to do (the
 * common case on the exit path: docs/performance.md). */
static inline void apply_init_sipi(struct vcpu *v)
{
	if (__atomic_load_n(&v->pending_init, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&v->pending_sipi, __ATOMIC_RELAXED))
		apply_init_sipi_slow(v);
}

static inline void timer_check(struct vcpu *v, uint64_t now)
{
	if (v->lapic.timer.catchup || (v->lapic.timer.host_deadline && now >= v->lapic.timer.host_deadline))
		lapic_timer_check(v, now);
}

/* A halted vCPU wakes when it can take a pending interrupt (IF set). */
static void check_wake(struct vcpu *v)
{
	if (v->state != VCPU_HALTED)
		return;
	__atomic_store_n(&v->wake, 0, __ATOMIC_RELEASE);
	if ((v->regs.rflags & X86_RFLAGS_IF) && lapic_pending(v) >= 0)
		v->state = VCPU_RUNNABLE;
}

static void inject_pending(struct vcpu *v)
{
	const struct vendor_ops *ops = v->vm->ops;
	int vec;

	if (!v->irq_window_requested && !lapic_irr_any(v))
		return;
	vec = lapic_pending(v);

	if (vec < 0) {
		if (v->irq_window_requested) {
			ops->request_irq_window(v, false);
			v->irq_window_requested = false;
		}
		return;
	}
	if (ops->irq_window_open(v)) {
		lapic_ack(v, (uint8_t)vec);
		ops->inject_irq(v, (uint8_t)vec);
		v->irqs_injected++;
		if (v->irq_window_requested) {
			ops->request_irq_window(v, false);
			v->irq_window_requested = false;
		}
	} else if (!v->irq_window_requested) {
		ops->request_irq_window(v, true);
		v->irq_window_requested = true;
	}
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void move_vcpu(struct vcpu *v, uint64_t now)
{
	unsigned next = (v->cpu + 1) % sched_pcpus();

	sched_fpu_release(this_cpu(), v);
	v->vm->ops->vcpu_put(v);
	v->loaded_on = -1;
	v->moves++;
	v->next_move = now + (uint64_t)v->vm->cfg->migrate_ms * v->vm->time.host.tsc_khz;
	__atomic_store_n(&v->cpu, next, __ATOMIC_RELEASE);
	sched_kick_pcpu(next);
}

/* save_after_ms: the first vCPU to exit after the moment takes the save
 * (once per boot), as if the guest had asked for it at that instruction;
 * when every vCPU sleeps, pCPU 0 takes it between them (v NULL). */
static void operator_save_if_due(struct vm *vm, struct vcpu *v)
{
	uint64_t at = __atomic_load_n(&vm->save_at, __ATOMIC_ACQUIRE);
	int64_t rc;

	if (!at || vm_host_tsc() < at || vm->end != VM_RUNNING)
		return;
	if (!__atomic_compare_exchange_n(&vm->save_at, &at, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;         /* another vCPU took it */
	rc = vm_operator_save(vm, v);
	if (rc == HC_RETRY)     /* another pCPU holds the pause: after it */
		__atomic_store_n(&vm->save_at, at, __ATOMIC_RELEASE);
	else if (rc)
		log_err("vm %s: the operator's save failed; the VM goes on", vm->name);
}

/* Run v until its slice ends, it halts or moves, or the VM ends. */
static void run_slice(struct vm *vm, struct vcpu *v, bool share, uint64_t others_deadline)
{
	struct pcpu *cpu = this_cpu();
	uint64_t slice_end = share ? vm_host_tsc() + vm->time.host.tsc_khz * SLICE_US / 1000 : 0;
	uint64_t t_exit = 0;
	struct vm_exit e;

	if (v->loaded_on != (int)cpu->index) {
		vm->ops->vcpu_load(v);
		v->loaded_on = (int)cpu->index;
		vmtime_vcpu_loaded(v);
	}
	e.reason = EXIT_NONE;
	for (;;) {
		uint64_t now = vm_host_tsc();

		apply_init_sipi(v);
		if (v->state != VCPU_RUNNABLE)
			break;
		vmtime_resync_if_needed(v);
		kvmclock_update_if_asked(v);
		timer_check(v, now);
		inject_pending(v);
		hw_timer_at(earliest(earliest(earliest(lapic_next_deadline(v), slice_end),
						earliest(others_deadline, v->next_move)),
				       earliest(__atomic_load_n(&vm->save_at, __ATOMIC_RELAXED),
						cpu->index ? 0 : console_deadline(vm))));
		cpu->current = v;
		/* Host cycles from the last exit to this entry: the hypervisor's
		 * share of that exit (kvm_stat-like table at VM end). */
		if (e.reason != EXIT_NONE)
			v->stats[e.reason].cycles += rdtsc() - t_exit;
		sched_fpu_take(cpu, v);
		if (v->resume_pending) {
			v->resume_lag = vm_host_tsc() - vm->resumed_host;
			v->resume_pending = false;
		}
		vm->ops->vcpu_run(v, &e);
		t_exit = rdtsc();
		v->exit_host = vm_host_tsc();
		if (vm->resumed_host && v->after_resume_n < 6) {
			unsigned k = v->after_resume_n++;

			v->after_resume[k].reason = (uint8_t)e.reason;
			v->after_resume[k].at = (uint32_t)(v->exit_host - vm->resumed_host);
			v->after_resume[k].irqs = (uint32_t)v->irqs_injected;
		}
		cpu->current = NULL;
		if (e.reason == EXIT_INTR)
			__asm__ volatile("sti; nop; cli" ::: "memory");   /* take it on the host */
		exit_handle(v, &e);
		operator_save_if_due(vm, v);
		if (vm->end != VM_RUNNING || v->state != VCPU_RUNNABLE || vm->pause_req)
			break;
		now = vm_host_tsc();
		if (!cpu->index)
			console_poll(vm, now);   /* bytes typed for the guest (docs/running.md) */
		if (v->next_move && now >= v->next_move) {
			move_vcpu(v, now);
			break;
		}
		if (slice_end && now >= slice_end)
			break;
		if (others_deadline && now >= others_deadline)
			break;
	}
}

/* Nothing can ever wake the VM: every vCPU halted or waiting for a SIPI,
 * none with a timer armed or an interrupt, INIT or SIPI on its way, no
 * operator's save to come, and no vCPU running that could send an IPI (the
 * hypervisor's devices raise no interrupts: docs/platform.md). Interrupts
 * enabled (IF = 1) do not help then: no source is left. *if_set counts the
 * halted vCPUs with IF set, for the reason. */
static bool vm_stuck(struct vm *vm, unsigned *if_set)
{
	unsigned i;

	*if_set = 0;
	if (__atomic_load_n(&vm->save_at, __ATOMIC_ACQUIRE))
		return false;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (t->state == VCPU_RUNNABLE || t->lapic.timer.host_deadline || t->wake ||
		    t->pending_init || t->pending_sipi)
			return false;
		if (t->state == VCPU_HALTED && (t->regs.rflags & X86_RFLAGS_IF))
			(*if_set)++;
	}
	/* A guest waiting for console input by interrupt (the UART's receive
	 * interrupt on, the VM has the console, a vCPU that can take it) is
	 * woken by what is typed. */
	return !(*if_set && console_deadline(vm));
}

static void run_on_this_cpu(struct vm *vm)
{
	struct pcpu *cpu = this_cpu();
	unsigned me = cpu->index, rr = 0, i, if_set;
	uint64_t stuck_since = 0;

	if (!cpu->vendor && vm->ops->cpu_enable()) {
		log_err("smp: pCPU %u cannot enable %s; its vCPUs cannot run", me, vm->ops->name);
		vm_end(vm, VM_END_UNHANDLED, 0, "a pCPU could not enable virtualisation");
		return;
	}

	while (vm->end == VM_RUNNING) {
		struct vcpu *pick = NULL;

		if (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE)) {
			sched_park(vm, me);
			continue;
		}
		uint64_t now = vm_host_tsc(), wake_at = 0;
		unsigned mine = 0;

		if (me == 0)
			console_poll(vm, now);

		for (i = 0; i < vm->nvcpus; i++) {
			struct vcpu *t = &vm->vcpus[(rr + i) % vm->nvcpus];

			if (__atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE) != me)
				continue;
			mine++;
			apply_init_sipi(t);
			kvmclock_update_if_asked(t);
			lapic_timer_check(t, now);
			check_wake(t);
			if (t->state == VCPU_RUNNABLE && !pick) {
				pick = t;
				rr = (rr + i + 1) % vm->nvcpus;
			} else {
				wake_at = earliest(wake_at, lapic_next_deadline(t));
			}
		}
		if (pick) {
			stuck_since = 0;
			run_slice(vm, pick, mine > 1, wake_at);
			continue;
		}
		if (me == 0 && __atomic_load_n(&vm->save_at, __ATOMIC_ACQUIRE)) {
			uint64_t at = __atomic_load_n(&vm->save_at, __ATOMIC_ACQUIRE);

			if (at && now >= at) {
				operator_save_if_due(vm, NULL);
				continue;
			}
			wake_at = earliest(wake_at, at);
		}
		if (me == 0 && vm_stuck(vm, &if_set)) {
			if (!stuck_since)
				stuck_since = now;
			else if (now - stuck_since > vm->time.host.tsc_khz * HALT_GRACE_MS) {
				char why[96];

				/* The reason the runner and the docs name; with IF set
				 * the guest waited for an interrupt nobody can send. */
				if (if_set)
					tv_snprintf(why, sizeof(why), "every vCPU halted with nothing that could "
						    "wake it (%u with IF=1, no vCPU left to send an IPI)", if_set);
				else
					tv_snprintf(why, sizeof(why), "every vCPU halted with nothing that could "
						    "wake it");
				vm_end(vm, VM_END_HALTED, 0, why);
				break;
			}
			wake_at = earliest(wake_at, now + vm->time.host.tsc_khz * HALT_GRACE_MS);
		} else {
			stuck_since = 0;
		}
		/* Nothing to run here: sleep until a timer or a kick (pCPU 0:
		 * or the console's next look). */
		if (me == 0)
			wake_at = earliest(wake_at, console_deadline(vm));
		hw_timer_at(wake_at);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	hw_timer_at(0);
}

void sched_run_vm(struct vm *vm, unsigned npcpus)
{
	unsigned i, pcpus_used = npcpus;
	uint64_t now = vm_host_tsc();

	/* Every vCPU starts with x87/SSE as after INIT, whatever a VM before
	 * this one left in the registers. */
	for (i = 0; i < MAX_CPUS; i++)
		pcpus[i].fpu_owner = NULL;
	if (!vm->cfg->migrate_ms && vm->nvcpus < npcpus)
		pcpus_used = vm->nvcpus;
	sched_set_pcpus(pcpus_used);
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->cpu = i % pcpus_used;
		v->loaded_on = -1;
		if (vm->cfg->migrate_ms)
			v->next_move = now + (uint64_t)vm->cfg->migrate_ms * vm->time.host.tsc_khz;
	}
	vm->save_at = vm->cfg->save_after_ms ?
		now + (uint64_t)vm->cfg->save_after_ms * vm->time.host.tsc_khz : 0;
	log_info("vm %s: %u vCPU(s) on %u pCPU(s)%s", vm->name, vm->nvcpus, pcpus_used,
		 vm->nvcpus > pcpus_used ? ", time-sliced" : ", pinned");
	/* A restored VM's clocks go on from here: after the last log line
	 * (~4 ms of a 115200-baud console each), right before the pCPUs
	 * start; only the run loop's first pass, no output, lies between
	 * this and the first entry (docs/save-restore.md). */
	vmtime_resume(vm);
	cpus_done = 0;
	active_vm = vm;
	__atomic_add_fetch(&active_gen, 1, __ATOMIC_ACQ_REL);
	for (i = 1; i < pcpus_used; i++)
		sched_kick_pcpu(i);
	run_on_this_cpu(vm);
	sched_kick_all();
	for (i = 0; i < pcpus_used; i++)
		log_dbg("sched: pCPU %u (APIC ID %u) sent %lu kicks, took %lu kicks, %lu timer interrupts",
			i, pcpus[i].apic_id, pcpus[i].kicks_sent, pcpus[i].kick_irqs, pcpus[i].timer_irqs);
	while (__atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE) < pcpus_used - 1)
		cpu_relax();
	active_vm = NULL;
	/* The hypervisor's part of the step across the last in-boot restore
	 * (docs/save-restore.md "The step across a restore"). */
	if (vm->resumed_host)
		log_info("vm %s: the last save's instant was the VM's last instruction, %lu host "
			 "cycles before the pause held", vm->name, vm->save_unseen);
	for (i = 0; vm->resumed_host && i < vm->nvcpus; i++) {
		struct vcpu *x = &vm->vcpus[i];
		char ex[256];
		int n = 0;
		unsigned k;

		ex[0] = 0;
		for (k = 0; k < x->after_resume_n && n < (int)sizeof(ex) - 48; k++)
			n += tv_snprintf(ex + n, sizeof(ex) - (size_t)n, "%s%s at +%u (irqs %u)",
					 k ? ", " : "", exit_reason_name((enum exit_reason)x->after_resume[k].reason),
					 x->after_resume[k].at, x->after_resume[k].irqs);
		log_info("vm %s: vCPU %u across the last save: its last exit %lu host cycles before the "
			 "save instant, its next entry %lu after the clocks resumed; then %s (%lu irqs "
			 "injected in all)", vm->name, i, x->save_lead, x->resume_lag, ex,
			 x->irqs_injected);
	}
	/* Whatever the guest did, the pool must not shrink across VMs beyond
	 * what creating them takes (the hostile-sched cases compare this). */
	log_info("vm %s: %lu pause(s); hypervisor pool: %lu bytes free", vm->name, vm->pauses,
		 mem_free_bytes());
}

void ap_idle_loop(void)
{
	unsigned seen = 0;

	for (;;) {
		struct vm *vm;

		while (__atomic_load_n(&active_gen, __ATOMIC_ACQUIRE) == seen)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		seen = active_gen;
		vm = active_vm;
		if (vm && this_cpu()->index < sched_pcpus()) {
			run_on_this_cpu(vm);
			__atomic_add_fetch(&cpus_done, 1, __ATOMIC_ACQ_REL);
		}
	}
}
