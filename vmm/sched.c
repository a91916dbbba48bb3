/* Running a VM on the physical CPUs.
 *
 * vCPU i runs on pCPU (i mod n): pinned while there are at least as many
 * pCPUs as vCPUs, time-sliced (round robin, SLICE_US) when there are more
 * vCPUs. Only the pCPU a vCPU is assigned to ever touches it (v->cpu); other
 * pCPUs only make interrupts pending in its LAPIC and kick that pCPU with an
 * IPI. The VM config's `migrate_ms` moves every vCPU to the next pCPU that
 * often (a test option): the guest TSC must stay continuous and monotonic. */
#include <tscvisor/exit.h>
#include <tscvisor/guest.h>
#include <tscvisor/hypercall.h>
#include <tscvisor/log.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include "apic.h"
#include "fpu.h"
#include "percpu.h"
#include "smp.h"
#include "x86.h"

#define SLICE_US          2000
#define HALT_GRACE_MS     50

static struct vm *volatile active_vm;
static volatile unsigned active_gen, cpus_done;
static unsigned pcpus_used;

uint64_t vm_host_tsc(void)
{
	return rdtsc() + (uint64_t)this_cpu()->tsc_skew;
}

static void kick(unsigned cpu)
{
	if (cpu != this_cpu()->index) {
		this_cpu()->kicks_sent++;
		apic_send_ipi(pcpus[cpu].apic_id, VEC_KICK);
	}
}

void sched_wake(struct vcpu *v)
{
	__atomic_store_n(&v->wake, 1, __ATOMIC_RELEASE);
	kick(v->cpu);
}

void sched_init_vcpu(struct vcpu *v)
{
	__atomic_store_n(&v->pending_init, 1, __ATOMIC_RELEASE);
	kick(v->cpu);
}

void sched_sipi_vcpu(struct vcpu *v, uint8_t vector)
{
	__atomic_store_n(&v->pending_sipi, 0x100u | vector, __ATOMIC_RELEASE);
	kick(v->cpu);
}

void sched_halt(struct vcpu *v)
{
	v->state = VCPU_HALTED;
}

/* INIT and SIPI requests, applied by the vCPU's own pCPU. */
static void __attribute__((noinline)) apply_init_sipi_slow(struct vcpu *v)
{
	uint32_t sipi;

	if (__atomic_exchange_n(&v->pending_init, 0, __ATOMIC_ACQ_REL)) {
		v->inits_seen++;
		v->state = VCPU_WAIT_SIPI;
		lapic_reset(v);
		v->apic_base &= ~APIC_BASE_EXTD;
	}
	sipi = __atomic_exchange_n(&v->pending_sipi, 0, __ATOMIC_ACQ_REL);
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
	if (v->timer.catchup || (v->timer.host_deadline && now >= v->timer.host_deadline))
		lapic_timer_check(v, now);
}

/* A halted vCPU wakes when it can take a pending interrupt (IF set). */
static void check_wake(struct vcpu *v)
{
	if (v->state != VCPU_HALTED)
		return;
	__atomic_store_n(&v->wake, 0, __ATOMIC_RELEASE);
	if ((v->regs.rflags & (1u << 9)) && lapic_pending(v) >= 0)
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

/* Neither VMRUN nor VM entry switches the x87/MMX/SSE registers, the
 * other XSAVE components, XCR0 or DR0-DR3 (arch/x86/fpu.h): a pCPU holds
 * the last vCPU's until another vCPU runs there (time slicing, the next VM)
 * or that vCPU leaves (a move). XCR0 is the guest's whenever a guest runs:
 * a guest's native XSAVE, XRSTOR and AVX instructions reach exactly the
 * components it enabled, all of them switched here. One or two compares per
 * entry when nothing changes. */
static void regs_save(struct pcpu *cpu, struct vcpu *o)
{
	if (fpu_host.xsave) {
		if (cpu->cur_xcr0 != fpu_host.switched) {
			xcr0_write(fpu_host.switched);
			cpu->cur_xcr0 = fpu_host.switched;
		}
		xstate_save(o->fpu, fpu_host.switched);
		fpu_legacy_fixup(o->fpu);
	} else {
		fpu_save(o->fpu);
	}
	dr03_read(o->dr);
	o->fpu_saved = true;
}

static void fpu_take(struct pcpu *cpu, struct vcpu *v)
{
	struct vcpu *o = cpu->fpu_owner;

	if (o != v) {
		if (o)
			regs_save(cpu, o);
		if (!v->fpu_saved) {
			fpu_init_image(v->fpu, sizeof(v->fpu));
			v->fpu_saved = true;
		}
		if (fpu_host.xsave) {
			if (cpu->cur_xcr0 != fpu_host.switched) {
				xcr0_write(fpu_host.switched);
				cpu->cur_xcr0 = fpu_host.switched;
			}
			xstate_load(v->fpu, fpu_host.switched);
		} else {
			fpu_load(v->fpu);
		}
		dr03_write(v->dr);
		/* Host DR7 is 0x400 after every exit already, nothing enabled.
		 * QEMU's TCG keeps the breakpoints a guest's MOV to DR7 armed
		 * across #VMEXIT and fires them in the next guest whatever its
		 * DR7 says; it drops them only on a MOV to DR7 that changes the
		 * type/length bits: a disabled R/W0 change, then 0x400 again
		 * (docs/platform.md). */
		dr7_write(0x10400);
		dr7_write(0x400);
		cpu->fpu_owner = v;
	}
	if (fpu_host.xsave && cpu->cur_xcr0 != v->xcr0) {
		xcr0_write(v->xcr0);
		cpu->cur_xcr0 = v->xcr0;
	}
}

static void fpu_release(struct pcpu *cpu, struct vcpu *v)
{
	if (cpu->fpu_owner != v)
		return;
	regs_save(cpu, v);
	cpu->fpu_owner = NULL;
}

void sched_fpu_flush(struct vm *vm)
{
	struct pcpu *cpu = this_cpu();
	struct vcpu *o = cpu->fpu_owner;

	if (o && o->vm == vm)
		fpu_release(cpu, o);
}

void sched_fpu_forget(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < MAX_CPUS; i++)
		if (pcpus[i].fpu_owner && pcpus[i].fpu_owner->vm == vm)
			pcpus[i].fpu_owner = NULL;
	for (i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].fpu_saved = false;
		vm->vcpus[i].xcr0 = 1;
		for (unsigned j = 0; j < 4; j++)
			vm->vcpus[i].dr[j] = 0;
	}
}

/* A snapshot's 512-byte FXSAVE image becomes v's x87/SSE state, every other
 * component initial (after sched_fpu_forget). */
void sched_fpu_set_legacy(struct vcpu *v, const uint8_t image[512])
{
	fpu_image_from_legacy(v->fpu, sizeof(v->fpu), image);
	v->fpu_saved = true;
}

static void move_vcpu(struct vcpu *v, uint64_t now)
{
	unsigned next = (v->cpu + 1) % pcpus_used;

	fpu_release(this_cpu(), v);
	v->vm->ops->vcpu_put(v);
	v->loaded_on = -1;
	v->moves++;
	v->next_move = now + (uint64_t)v->vm->cfg->migrate_ms * v->vm->time.host.tsc_khz;
	__atomic_store_n(&v->cpu, next, __ATOMIC_RELEASE);
	kick(next);
}

/* save_after_ms: the first vCPU to exit after the moment takes the save
 * (once per boot), as if the guest had asked for it at that instruction. */
static void operator_save_if_due(struct vm *vm, struct vcpu *v)
{
	uint64_t at = __atomic_load_n(&vm->save_at, __ATOMIC_ACQUIRE);

	if (!at || vm_host_tsc() < at || vm->end != VM_RUNNING)
		return;
	if (!__atomic_compare_exchange_n(&vm->save_at, &at, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;         /* another vCPU took it */
	if (vm_operator_save(v))
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
		timer_check(v, now);
		inject_pending(v);
		apic_timer_at(earliest(earliest(earliest(lapic_next_deadline(v), slice_end),
						earliest(others_deadline, v->next_move)),
				       __atomic_load_n(&vm->save_at, __ATOMIC_RELAXED)));
		cpu->current = v;
		/* Host cycles from the last exit to this entry: the hypervisor's
		 * share of that exit (kvm_stat-like table at VM end). */
		if (e.reason != EXIT_NONE)
			v->stats[e.reason].cycles += rdtsc() - t_exit;
		fpu_take(cpu, v);
		vm->ops->vcpu_run(v, &e);
		t_exit = rdtsc();
		cpu->current = NULL;
		if (e.reason == EXIT_INTR)
			__asm__ volatile("sti; nop; cli" ::: "memory");   /* take it on the host */
		exit_handle(v, &e);
		operator_save_if_due(vm, v);
		if (vm->end != VM_RUNNING || v->state != VCPU_RUNNABLE || vm->pause_req)
			break;
		now = vm_host_tsc();
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

/* Stop here while another pCPU saves (or restores) the VM: the control
 * blocks of this pCPU's vCPUs are put, so the saver can load them. */
static void park(struct vm *vm, unsigned me)
{
	unsigned i;

	sched_fpu_flush(vm);        /* the saver reads every vCPU's from memory */
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (t->cpu == me && t->loaded_on == (int)me) {
			vm->ops->vcpu_put(t);
			t->loaded_on = -1;
		}
	}
	__atomic_add_fetch(&vm->paused, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE) && vm->end == VM_RUNNING)
		cpu_relax();
	__atomic_sub_fetch(&vm->paused, 1, __ATOMIC_ACQ_REL);
}

void sched_pause_others(struct vm *vm)
{
	unsigned i, want = pcpus_used - 1;

	__atomic_store_n(&vm->pause_req, 1, __ATOMIC_RELEASE);
	for (i = 0; i < pcpus_used; i++)
		kick(i);
	while (__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE) < want)
		cpu_relax();
}

void sched_resume_others(struct vm *vm)
{
	__atomic_store_n(&vm->pause_req, 0, __ATOMIC_RELEASE);
	sched_kick_all();
}

/* Every vCPU of the VM halted or waiting for a SIPI with no timer armed and
 * nothing pending: nothing can ever wake it. */
static bool vm_stuck(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (t->state == VCPU_RUNNABLE || t->timer.host_deadline || t->wake ||
		    t->pending_init || t->pending_sipi)
			return false;
		if (t->state == VCPU_HALTED && (t->regs.rflags & (1u << 9)))
			return false;   /* IF set: an IPI from another vCPU could still come */
	}
	return true;
}

static void run_on_this_cpu(struct vm *vm)
{
	struct pcpu *cpu = this_cpu();
	unsigned me = cpu->index, rr = 0, i;
	uint64_t stuck_since = 0;

	if (!cpu->vendor && vm->ops->cpu_enable()) {
		log_err("smp: pCPU %u cannot enable %s; its vCPUs cannot run", me, vm->ops->name);
		vm_end(vm, VM_END_UNHANDLED, 0, "a pCPU could not enable virtualisation");
		return;
	}

	while (vm->end == VM_RUNNING) {
		struct vcpu *pick = NULL;

		if (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE)) {
			park(vm, me);
			continue;
		}
		uint64_t now = vm_host_tsc(), wake_at = 0;
		unsigned mine = 0;

		for (i = 0; i < vm->nvcpus; i++) {
			struct vcpu *t = &vm->vcpus[(rr + i) % vm->nvcpus];

			if (__atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE) != me)
				continue;
			mine++;
			apply_init_sipi(t);
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
		if (me == 0 && vm_stuck(vm)) {
			if (!stuck_since)
				stuck_since = now;
			else if (now - stuck_since > vm->time.host.tsc_khz * HALT_GRACE_MS) {
				vm_end(vm, VM_END_HALTED, 0, "every vCPU halted with nothing that could wake it");
				break;
			}
			wake_at = earliest(wake_at, now + vm->time.host.tsc_khz * HALT_GRACE_MS);
		} else {
			stuck_since = 0;
		}
		/* Nothing to run here: sleep until a timer or a kick. */
		apic_timer_at(wake_at);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	apic_timer_at(0);
}

void sched_kick_all(void)
{
	unsigned i;

	for (i = 0; i < pcpus_used; i++)
		kick(i);
}

void sched_run_vm(struct vm *vm, unsigned npcpus)
{
	unsigned i;
	uint64_t now = vm_host_tsc();

	pcpus_used = npcpus;
	/* Every vCPU starts with x87/SSE as after INIT, whatever a VM before
	 * this one left in the registers. */
	for (i = 0; i < MAX_CPUS; i++)
		pcpus[i].fpu_owner = NULL;
	if (!vm->cfg->migrate_ms && vm->nvcpus < npcpus)
		pcpus_used = vm->nvcpus;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->cpu = i % pcpus_used;
		v->loaded_on = -1;
		if (vm->cfg->migrate_ms)
			v->next_move = now + (uint64_t)vm->cfg->migrate_ms * vm->time.host.tsc_khz;
	}
	vmtime_resume(vm);          /* a restored VM's clocks go on from here */
	vm->save_at = vm->cfg->save_after_ms ?
		now + (uint64_t)vm->cfg->save_after_ms * vm->time.host.tsc_khz : 0;
	log_info("vm %s: %u vCPU(s) on %u pCPU(s)%s", vm->name, vm->nvcpus, pcpus_used,
		 vm->nvcpus > pcpus_used ? ", time-sliced" : ", pinned");
	cpus_done = 0;
	active_vm = vm;
	__atomic_add_fetch(&active_gen, 1, __ATOMIC_ACQ_REL);
	for (i = 1; i < pcpus_used; i++)
		kick(i);
	run_on_this_cpu(vm);
	sched_kick_all();
	for (i = 0; i < pcpus_used; i++)
		log_dbg("sched: pCPU %u (APIC ID %u) sent %llu kicks, took %llu kicks, %llu timer interrupts",
			i, pcpus[i].apic_id, (unsigned long long)pcpus[i].kicks_sent,
			(unsigned long long)pcpus[i].kick_irqs, (unsigned long long)pcpus[i].timer_irqs);
	while (__atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE) < pcpus_used - 1)
		cpu_relax();
	active_vm = NULL;
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
		if (vm && this_cpu()->index < pcpus_used) {
			run_on_this_cpu(vm);
			__atomic_add_fetch(&cpus_done, 1, __ATOMIC_ACQ_REL);
		}
	}
}
