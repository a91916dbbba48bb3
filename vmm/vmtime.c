/* A VM's guest TSC on the running host (docs/tsc-modes.md): the decision of
 * tsc_decide() applied to every vCPU, and the value of a trapped read. */
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include <tscvisor/sched.h>
#include <tscvisor/hw.h>

/* Program the vCPU's TSC on the pCPU it is loaded on. Natively the guest
 * sees this pCPU's own TSC through G; with the test skew the hardware offset
 * carries the pretended difference too. */
static void apply(struct vcpu *v)
{
	const struct tsc_decision *d = &v->vm->time.d;
	uint64_t skew = (uint64_t)this_cpu()->tsc_skew;
	uint64_t offset = v->tsc.offset + (skew ? tsc_guest(skew, d->scale, 0) : 0);

	v->vm->ops->set_tsc(v, offset, d->use_hw_scaling ? d->scale.ratio : 0, d->trap_rdtsc);
}

void vmtime_vcpu_loaded(struct vcpu *v)
{
	apply(v);
	/* On a host whose TSCs disagree, the vCPU's pair follows it. */
	if (!kvmclock_stable(v->vm))
		kvmclock_update(v);
}

uint64_t vmtime_guest_to_host(struct vcpu *v, uint64_t guest_tsc)
{
	struct vm_time *t = &v->vm->time;
	uint64_t now_guest = vmtime_read_guest_tsc(v), now = vm_host_tsc(), delta;
	bool ovf;

	if ((int64_t)(guest_tsc - now_guest) <= 0)
		return 0;
	delta = guest_tsc - now_guest;
	/* Guest cycles to host cycles at the VM's real guest rate, rounded up. */
	delta = mul_div_u64(delta, t->host.tsc_khz, t->d.guest_rate_khz ? t->d.guest_rate_khz :
			    t->emul.guest_khz, &ovf) + 1;
	return ovf ? UINT64_MAX : now + delta;
}

/* Start the VM's guest TSCs, for a new VM and for a restored one alike:
 * decide the mode on this host for the rate khz (0: the host's) and the
 * guest's pvclock fast path, then (at the host TSC of that moment,
 * returned) make vCPU i's guest TSC read tsc[i]. say: log the decision
 * (a restore says it in its own line). */
static uint64_t start_clock(struct vm *vm, uint64_t khz, bool pv_fast_path, const uint64_t *tsc,
			    bool say)
{
	struct vm_time *t = &vm->time;
	uint64_t now;
	unsigned i;

	tsc_decide(vm->cfg->tsc_mode, khz, pv_fast_path, &t->host, &t->d);
	if (say && t->d.warn)
		log_warn("vm %s: tsc: %s", vm->name, t->d.reason);
	else if (say)
		log_info("vm %s: tsc: %s", vm->name, t->d.reason);
	now = vm_host_tsc();
	t->emul.host_base = now;
	t->emul.guest_khz = khz ? khz : t->host.tsc_khz;
	t->emul.host_khz = t->host.tsc_khz;
	t->last_emulated = 0;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->tsc.offset = t->d.trap_rdtsc ? tsc[i] : tsc_offset_for(now, t->d.scale, tsc[i]);
		if (t->d.mode == TSC_MODE_PVRDTSCP)
			v->tsc_aux = t->incarnation;
	}
	return now;
}

void vmtime_init(struct vm *vm, const struct tsc_host_info *host)
{
	static const uint64_t zero[VM_MAX_VCPUS];   /* the guest TSC starts at 0 */
	unsigned i;

	vm->time.host = *host;
	for (i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].tsc.adjust = 0;
	start_clock(vm, vm->cfg->tsc_khz, false, zero, true);
	kvmclock_init(vm);
}

/* The guest TSCs at the save instant (all at one host TSC), what IA32_TSC_ADJUST
 * holds, and what the VM-wide clock carries over. */
void vmtime_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	const struct vm_time *t = &vm->time;
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		s->vcpu[i].tsc = vmtime_guest_tsc_at(&vm->vcpus[i], c->now);
		s->vcpu[i].tsc_adjust = vm->vcpus[i].tsc.adjust;
	}
	s->time.emul_last = t->last_emulated;
	s->time.incarnation = t->incarnation;
	s->time.pv_fast_path = t->d.pv_fast_path;
}

/* Decided again on this host, resumed where it stopped: the incarnation
 * goes up by one, every vCPU's TSC continues from its saved value at the
 * instant taken here (c->now, moved on to the first entry by
 * vmtime_resume()). */
int vmtime_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	struct vm_time *t = &vm->time;
	uint64_t tsc[VM_MAX_VCPUS];
	unsigned i;

	t->incarnation = s->time.incarnation + 1;
	t->written_apart = false;
	for (i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].tsc.adjust = s->vcpu[i].tsc_adjust;
		tsc[i] = s->vcpu[i].tsc;
	}
	c->now = start_clock(vm, s->id.tsc_khz, s->time.pv_fast_path, tsc, false);
	t->resume_host = c->now;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->tsc.adjust != vm->vcpus[0].tsc.adjust)
			t->written_apart = true;
		if (v != c->self)
			v->loaded_on = -1;
		__atomic_store_n(&v->tsc.resync, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

/* The vCPU's guest TSC at host TSC h, by the formula in force. */
static uint64_t guest_tsc_at(struct vcpu *v, uint64_t h)
{
	struct vm_time *t = &v->vm->time;

	if (!t->d.trap_rdtsc)
		return tsc_guest(h, t->d.scale, v->tsc.offset);
	return tsc_emul_guest(&t->emul, h, 0) + v->tsc.offset;
}

/* Every vCPU's guest TSC at one host instant (save): no clamping, no
 * update of the monotonic floor. */
uint64_t vmtime_guest_tsc_at(struct vcpu *v, uint64_t h)
{
	struct vm_time *t = &v->vm->time;
	uint64_t base;

	if (!t->d.trap_rdtsc)
		return tsc_guest(h, t->d.scale, v->tsc.offset);
	base = tsc_emul_guest(&t->emul, h, 0);
	if (base < t->last_emulated)
		base = t->last_emulated;
	return base + v->tsc.offset;
}

uint64_t vmtime_read_guest_tsc(struct vcpu *v)
{
	struct vm_time *t = &v->vm->time;
	uint64_t h = vm_host_tsc(), base;

	if (!t->d.trap_rdtsc)
		return tsc_guest(h, t->d.scale, v->tsc.offset);
	/* One VM-wide sequence that never goes back, whatever pCPU reads it
	 * (the host TSCs may disagree); each vCPU's own offset on top. */
	base = tsc_emul_guest(&t->emul, h, 0);
	for (;;) {
		uint64_t last = __atomic_load_n(&t->last_emulated, __ATOMIC_ACQUIRE);

		if (base <= last) {
			base = last;
			break;
		}
		if (__atomic_compare_exchange_n(&t->last_emulated, &last, base, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	return base + v->tsc.offset;
}

/* Once one vCPU's TSC is written apart from the others, the VM's vCPUs no
 * longer share one guest TSC: pvclock's master clock (and its stable bit)
 * no longer holds (docs/abi.md). */
static void note_offsets(struct vm *vm)
{
	unsigned i;

	for (i = 1; i < vm->nvcpus; i++)
		if (vm->vcpus[i].tsc.adjust != vm->vcpus[0].tsc.adjust)
			vm->time.written_apart = true;
}

/* A TSC write changes this vCPU's pair and maybe the stable bit of all:
 * this vCPU's area is rewritten here, every other vCPU's by its own pCPU
 * (asked through pv.resync and a kick), so that no area ever has two
 * writers and no vCPU's formula is read while its own pCPU changes it. */
static void update_all_areas(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned i;

	kvmclock_update(v);
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *o = &vm->vcpus[i];

		if (o == v)
			continue;
		__atomic_store_n(&o->pv.resync, 1, __ATOMIC_RELEASE);
		sched_kick_vcpu(o);
	}
}

/* Under the VM's time lock: a vCPU's offset and adjust change only on its
 * own pCPU, but note_offsets() reads every vCPU's. */
void vmtime_write_guest_tsc(struct vcpu *v, uint64_t value)
{
	uint64_t now;

	spin_lock(&v->vm->time_lock);
	now = vmtime_read_guest_tsc(v);
	tsc_msr_write_tsc(&v->tsc.offset, &v->tsc.adjust, now, value);
	note_offsets(v->vm);
	spin_unlock(&v->vm->time_lock);
	apply(v);
	update_all_areas(v);
}

void vmtime_write_tsc_adjust(struct vcpu *v, uint64_t value)
{
	spin_lock(&v->vm->time_lock);
	tsc_msr_write_tsc_adjust(&v->tsc.offset, &v->tsc.adjust, value);
	note_offsets(v->vm);
	spin_unlock(&v->vm->time_lock);
	apply(v);
	update_all_areas(v);
}

/* Called with the VM paused (hypercall 1 takes the pause): every vCPU's
 * formula changes at once and each applies its own (tsc.resync) on its own
 * pCPU before it next runs. The opt-in pvclock fast path (docs/abi.md): an emulate-mode VM whose
 * guest reads time through pvclock asks to stop RDTSC trapping. Every vCPU's
 * guest TSC continues from the value it has at one host instant h, now as
 * G(h) = ((h * ratio) >> frac) + offset (native, scaled where the hardware
 * can, else at the host's rate, which pvclock's scale then says), and the
 * master pair moves to the new rate at that instant. enable = false goes
 * back to trapping the same way. Returns 0, or -1 when the VM is not in
 * emulate mode. */
int64_t vmtime_pv_fast_path(struct vcpu *v, bool enable)
{
	struct vm *vm = v->vm;
	struct vm_time *t = &vm->time;
	struct tsc_decision d2;
	uint64_t h, g[VM_MAX_VCPUS] = { 0 }, vm_tsc;
	unsigned i;

	if (t->d.mode != TSC_MODE_EMULATE && !t->d.pv_fast_path)
		return -1;
	if (enable == t->d.pv_fast_path)
		return 0;
	tsc_decide(vm->cfg->tsc_mode, vm->cfg->tsc_khz, enable, &t->host, &d2);
	if (enable && !d2.pv_fast_path) {
		vm_info(vm, "vm %s: tsc: pvclock fast path refused: %s", vm->name, d2.reason);
		return -1;
	}
	h = vm_host_tsc();
	for (i = 0; i < vm->nvcpus; i++)
		g[i] = guest_tsc_at(&vm->vcpus[i], h);
	vm_tsc = g[0] - vm->vcpus[0].tsc.adjust;   /* the VM-wide guest TSC */
	if (d2.trap_rdtsc) {
		t->emul.host_base = h;
		t->last_emulated = 0;
	}
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *x = &vm->vcpus[i];

		x->tsc.offset = d2.trap_rdtsc ? g[i] : tsc_offset_for(h, d2.scale, g[i]);
		__atomic_store_n(&x->tsc.resync, 1, __ATOMIC_RELEASE);
	}
	t->d = d2;
	pvclock_clock_update(&t->master, vm_tsc, d2.guest_rate_khz ? d2.guest_rate_khz : t->emul.guest_khz);
	for (i = 0; i < vm->nvcpus; i++)
		kvmclock_update(&vm->vcpus[i]);
	vm_info(vm, "vm %s: tsc: pvclock fast path %s at guest TSC %lu: %s", vm->name,
		enable ? "on" : "off", vm_tsc, d2.reason);
	return 0;
}

void vmtime_resume(struct vm *vm)
{
	struct vm_time *t = &vm->time;
	uint64_t d, g;
	unsigned i;

	if (!t->resume_host)
		return;
	d = vm_host_tsc() - t->resume_host;
	t->resume_host = 0;
	/* Guest cycles the hardware would count over d host cycles. */
	g = t->d.trap_rdtsc ? 0 : tsc_guest(d, t->d.scale, 0);
	if (t->d.trap_rdtsc)
		t->emul.host_base += d;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->tsc.offset -= g;
		/* 1 is "already due when armed" (lapic.c): it stays so. Moved,
		 * it fired at once all the same but counted the host's uptime as
		 * its lateness (the ~21 s "late" timers after a Linux restore). */
		if (v->lapic.timer.host_deadline > 1)
			v->lapic.timer.host_deadline += d;
		__atomic_store_n(&v->tsc.resync, 1, __ATOMIC_RELEASE);
	}
}

void vmtime_resync_if_needed(struct vcpu *v)
{
	if (__atomic_load_n(&v->tsc.resync, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&v->tsc.resync, 0, __ATOMIC_ACQ_REL))
		apply(v);
}
