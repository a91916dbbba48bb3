/* Save and restore (docs/save-restore.md). A snapshot is taken with every vCPU of
 * the VM stopped (vmm/sched.c pauses them), encoded by the pure codec
 * (pure/snapshot.c), streamed out of COM2 (0x2f8) for the next boot, and
 * kept in memory for a restore in the same boot.
 *
 * Restore continues the guest clock where it stopped ("pause" semantics):
 * every vCPU's guest TSC and the pvclock system_time resume at their saved
 * values, at the VM's tsc_khz, on whatever rate this host's TSC has; offset
 * and ratio are recomputed here; the mode is decided again (auto, pvrdtscp);
 * the incarnation goes up by one and the pvclock areas say GUEST_STOPPED. */
#include <string.h>
#include <tscvisor/format.h>
#include <tscvisor/guest.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/save.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include <tscvisor/hw.h>

#define COM2 0x2f8

static struct snap_vm snap;      /* ~200 KiB: never on the stack */

/* The snapshot budget: every save of the boot encodes into one buffer of
 * SNAP_BUDGET_BYTES, taken from the hypervisor pool at the first save and
 * reused by every later one, of this VM and of the VMs after it (they run
 * one after another, and a snapshot is needed only until its save ends:
 * restored at once or streamed out of COM2). A guest can therefore never
 * make the hypervisor allocate more than this, however often it saves. A
 * snapshot larger than the budget (about that much non-zero guest RAM), or
 * a first save when the pool cannot give the buffer and still keep
 * SNAP_POOL_KEEP for the VMs after this one, fails: the guest's call
 * returns -1, a log line says why, the VM goes on. docs/snapshot-format.md. */
#define SNAP_BUDGET_BYTES (16ull << 20)
#define SNAP_POOL_KEEP    (4ull << 20)

static uint8_t *snap_buf;

static void com2_init(void)
{
	outb(COM2 + 1, 0x00);
	outb(COM2 + 3, 0x80);
	outb(COM2 + 0, 0x01);
	outb(COM2 + 1, 0x00);
	outb(COM2 + 3, 0x03);
	outb(COM2 + 2, 0xc7);
}

struct sink {
	uint8_t *buf;
	uint64_t len, cap;
	bool serial;
};

static void emit(void *ctx, const void *data, size_t n)
{
	struct sink *s = ctx;
	const uint8_t *p = data;
	size_t i;

	if (s->len + n <= s->cap)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
	if (!s->serial)
		return;
	for (i = 0; i < n; i++) {
		unsigned spins = 0;

		while (!(inb(COM2 + 5) & 0x20) && ++spins < 1000000)
			cpu_relax();
		outb(COM2, p[i]);
	}
}

static unsigned timer_mode_of(const struct vcpu *v)
{
	uint32_t lvt = v->lapic_regs[0x320 >> 4];

	if (!v->timer.host_deadline)
		return SNAP_TIMER_IDLE;
	switch ((lvt >> 17) & 3) {
	case 1: return SNAP_TIMER_PERIODIC;
	case 2: return SNAP_TIMER_DEADLINE;
	default: return SNAP_TIMER_ONESHOT;
	}
}

static void capture_vcpu(struct vcpu *v, struct snap_vcpu *s, uint64_t now)
{
	struct vcpu_sregs r;
	unsigned i;

	v->vm->ops->get_sregs(v, &r);
	memset(s, 0, sizeof(*s));
	for (i = 0; i < SNAP_NR_GPRS; i++)
		s->gpr[i] = *gpr_by_index(&v->regs, i);
	s->rip = v->regs.rip;
	s->rflags = v->regs.rflags;
	for (i = 0; i < SNAP_NR_SEGS; i++) {
		s->seg[i].sel = r.seg[i].sel;
		s->seg[i].attr = r.seg[i].attr;
		s->seg[i].limit = r.seg[i].limit;
		s->seg[i].base = r.seg[i].base;
	}
	s->cr0 = r.cr0; s->cr2 = r.cr2; s->cr3 = r.cr3; s->cr4 = r.cr4;
	s->efer = r.efer; s->pat = r.pat; s->dr6 = r.dr6; s->dr7 = r.dr7;
	s->kernel_gs_base = r.kernel_gs_base; s->star = r.star; s->lstar = r.lstar;
	s->cstar = r.cstar; s->sfmask = r.sfmask; s->sysenter_cs = r.sysenter_cs;
	s->sysenter_esp = r.sysenter_esp; s->sysenter_eip = r.sysenter_eip;
	s->pending_event = vcpu_event_to_word(&r.pending_event);
	s->interrupt_shadow = r.interrupt_shadow;
	s->tsc_aux = v->tsc_aux;
	s->apic_base = v->apic_base;
	memcpy(s->lapic, v->lapic_regs, sizeof(s->lapic));
	s->timer_mode = timer_mode_of(v);
	s->timer_deadline = s->timer_mode == SNAP_TIMER_DEADLINE ? v->timer.guest_deadline : 0;
	if (s->timer_mode == SNAP_TIMER_ONESHOT || s->timer_mode == SNAP_TIMER_PERIODIC) {
		bool ovf;
		uint64_t left = v->timer.host_deadline > now ? v->timer.host_deadline - now : 0;

		/* host cycles -> guest TSC cycles at the VM's rate */
		s->timer_remaining = mul_div_u64(left, v->vm->time.emul.guest_khz,
						 v->vm->time.host.tsc_khz, &ovf) + 1;
	}
	s->tsc = vmtime_guest_tsc_at(v, now);
	s->tsc_adjust = v->tsc_adjust;
	s->pvclock_msr = v->pv_system_time;
	s->run_state = v->state == VCPU_WAIT_SIPI ? SNAP_RUN_WAIT_SIPI : SNAP_RUN_RUNNING;
	s->halted = v->state == VCPU_HALTED;
}

/* Make x's control block the one this pCPU works on (VMX: one current
 * VMCS per CPU), and back. */
static void borrow(struct vcpu *x, struct vcpu *self)
{
	if (x != self)
		x->vm->ops->vcpu_load(x);
}

static void give_back(struct vcpu *x, struct vcpu *self)
{
	if (x != self) {
		x->vm->ops->vcpu_put(x);
		x->loaded_on = -1;
	}
}

/* XCR0, DR0-DR3 and the XSAVE components 2, 5, 6, 7 (those a guest may
 * enable) from the vCPU's XSAVE area, at this CPU's offsets, into the
 * snapshot's fixed places. A component the guest has not enabled, or whose
 * XSTATE_BV bit is clear (initial), is left out (zeros, bit clear). */
static void capture_xstate(const struct vcpu *v, struct snap_vcpu *s)
{
	uint64_t bv = 0;
	unsigned b, off, size;

	s->xcr0 = v->xcr0;
	memcpy(s->dr, v->dr, sizeof(s->dr));
	s->xstate_bv = 0;
	memset(s->xstate, 0, sizeof(s->xstate));
	if (!v->fpu_saved || !fpu_host.xsave)
		return;
	memcpy(&bv, v->fpu + 512, 8);
	for (b = 2; b < 8; b++) {
		if (!snap_xstate_component(b, &off, &size) || !((v->xcr0 & bv) >> b & 1) ||
		    fpu_host.layout.size[b] != size)
			continue;
		memcpy(s->xstate + off, v->fpu + fpu_host.layout.offset[b], size);
		s->xstate_bv |= 1ull << b;
	}
}

/* The reverse, after sched_fpu_set_legacy(): the snapshot's components into
 * the vCPU's XSAVE area at this CPU's offsets (restore_vm checked that this
 * CPU offers every one). */
static void apply_xstate(struct vcpu *v, const struct snap_vcpu *s)
{
	unsigned b, off, size;

	v->xcr0 = s->xcr0;
	memcpy(v->dr, s->dr, sizeof(v->dr));
	for (b = 2; b < 8; b++) {
		if (!snap_xstate_component(b, &off, &size) || !(s->xstate_bv >> b & 1) ||
		    fpu_host.layout.size[b] != size)
			continue;
		memcpy(v->fpu + fpu_host.layout.offset[b], s->xstate + off, size);
		v->fpu[512 + b / 8] |= (uint8_t)(1u << (b % 8));
	}
}

const uint8_t *save_vm(struct vm *vm, struct vcpu *self, uint64_t *len)
{
	struct snap_error err;
	struct sink sink = { 0 };
	uint64_t now = vm_host_tsc(), size, vm_tsc;
	unsigned i;

	memset(&snap, 0, sizeof(snap));
	tv_snprintf(snap.id.name, sizeof(snap.id.name), "%s", vm->name);
	snap.id.vcpus = vm->nvcpus;
	snap.id.memory_mib = (uint32_t)(vm->ram_size >> 20);
	snap.id.tsc_mode = vm->cfg->tsc_mode;
	snap.id.tsc_khz = (uint32_t)vm->time.emul.guest_khz;
	snap.id.vendor = !strcmp(vm->ops->name, "SVM") ? SNAP_VENDOR_SVM : SNAP_VENDOR_VMX;
	/* x87/SSE, XCR0, the other XSAVE components and DR0-DR3: the other
	 * pCPUs flushed theirs when they parked. An XCR0 the format cannot hold
	 * (PKRU or MPX, which only an emulator without the XSETBV intercept
	 * lets a guest enable) fails snap_validate: no snapshot rather than a
	 * wrong one. */
	sched_fpu_flush(vm);
	snap.fpu_present = true;
	snap.xstate_present = true;
	for (i = 0; i < vm->nvcpus; i++) {
		borrow(&vm->vcpus[i], self);
		capture_vcpu(&vm->vcpus[i], &snap.vcpu[i], now);
		give_back(&vm->vcpus[i], self);
		if (vm->vcpus[i].fpu_saved)
			memcpy(snap.vcpu[i].fpu, vm->vcpus[i].fpu, SNAP_FPU_IMAGE_LEN);
		else
			fpu_init_image(snap.vcpu[i].fpu, SNAP_FPU_IMAGE_LEN);
		capture_xstate(&vm->vcpus[i], &snap.vcpu[i]);
	}
	if (self)
		vm->ops->vcpu_load(self);
	vm_tsc = snap.vcpu[0].tsc - snap.vcpu[0].tsc_adjust;
	snap.time.system_time_ns = pvclock_clock_ns(&vm->time.master, vm_tsc);
	snap.time.wall_clock_msr = vm->time.pv_wall;
	snap.time.emul_last = vm->time.last_emulated;
	snap.time.incarnation = vm->time.incarnation;
	snap.time.pv_fast_path = vm->time.d.pv_fast_path;
	snap.time.pvclock_window_gpa = vm->time.window_gpa;
	snap.uart = (struct snap_uart){ vm->uart.ier, vm->uart.lcr, vm->uart.mcr, vm->uart.scr,
					vm->uart.dll, vm->uart.dlm };
	snap.fwcfg.selector = vm->fwcfg.selector;
	snap.fwcfg.offset = vm->fwcfg.offset;
	snap.pic.imr[0] = vm->pic.imr[0];
	snap.pic.imr[1] = vm->pic.imr[1];
	snap.pic.icw_step[0] = vm->pic.icw_step[0];
	snap.pic.icw_step[1] = vm->pic.icw_step[1];
	snap.platform.present = true;
	snap.platform.pm_timer_port = vm->pm_timer_port;
	snap.platform.pm_timer_32bit = vm->pm_timer_port && vm->pm.guest_32bit;

	if (snap_validate(&snap, vm->ram_size, &err)) {
		log_err("vm %s: cannot save: %s (%s)", vm->name, err.msg, snap_err_name(err.code));
		return NULL;
	}
	size = snap_encoded_size(&snap, vm->ram, vm->ram_size);
	if (size > SNAP_BUDGET_BYTES) {
		log_err("vm %s: cannot save: the snapshot needs %llu bytes, more than the snapshot "
			"budget of %llu bytes (non-zero guest RAM); the save returns -1, the VM goes on",
			vm->name, (unsigned long long)size, (unsigned long long)SNAP_BUDGET_BYTES);
		return NULL;
	}
	if (!snap_buf)
		snap_buf = mem_try_alloc_pages(SNAP_BUDGET_BYTES / 4096, SNAP_POOL_KEEP);
	if (!snap_buf) {
		log_err("vm %s: cannot save: the hypervisor pool cannot give the %llu-byte snapshot "
			"buffer (%llu bytes free); the save returns -1, the VM goes on", vm->name,
			(unsigned long long)SNAP_BUDGET_BYTES, (unsigned long long)mem_free_bytes());
		return NULL;
	}
	sink.cap = SNAP_BUDGET_BYTES;
	sink.buf = snap_buf;
	sink.serial = true;
	com2_init();
	/* Firmware may have written to COM2 before us: a marker line with the
	 * length frames the snapshot (scripts/migrate looks for it). */
	{
		char hdr[80];
		int n = tv_snprintf(hdr, sizeof(hdr), "\nTSCVISOR-SNAPSHOT %llu %s\n",
				    (unsigned long long)size, vm->name);
		struct sink plain = { 0 };

		plain.serial = true;
		emit(&plain, hdr, (size_t)n);
	}
	if (snap_encode(&snap, vm->ram, vm->ram_size, emit, &sink) || sink.len != size) {
		log_err("vm %s: encoding the snapshot failed", vm->name);
		return NULL;
	}
	log_info("vm %s: saved: %llu bytes (guest TSC %llu, system_time %llu ns, incarnation %u), "
		 "streamed out of COM2", vm->name, (unsigned long long)size,
		 (unsigned long long)snap.vcpu[0].tsc, (unsigned long long)snap.time.system_time_ns,
		 snap.time.incarnation);
	*len = size;
	return sink.buf;
}

static void restore_vcpu(struct vcpu *v, const struct snap_vcpu *s)
{
	struct vcpu_sregs r;
	unsigned i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < SNAP_NR_GPRS; i++)
		*gpr_by_index(&v->regs, i) = s->gpr[i];
	v->regs.rip = s->rip;
	v->regs.rflags = s->rflags;
	for (i = 0; i < SNAP_NR_SEGS; i++) {
		r.seg[i].sel = s->seg[i].sel;
		r.seg[i].attr = s->seg[i].attr;
		r.seg[i].limit = s->seg[i].limit;
		r.seg[i].base = s->seg[i].base;
	}
	r.cr0 = s->cr0; r.cr2 = s->cr2; r.cr3 = s->cr3; r.cr4 = s->cr4;
	r.efer = s->efer; r.pat = s->pat; r.dr6 = s->dr6; r.dr7 = s->dr7;
	r.kernel_gs_base = s->kernel_gs_base; r.star = s->star; r.lstar = s->lstar;
	r.cstar = s->cstar; r.sfmask = s->sfmask; r.sysenter_cs = s->sysenter_cs;
	r.sysenter_esp = s->sysenter_esp; r.sysenter_eip = s->sysenter_eip;
	r.pending_event = vcpu_event_from_word(s->pending_event);
	r.interrupt_shadow = s->interrupt_shadow;
	v->vm->ops->set_sregs(v, &r);
	v->tsc_aux = s->tsc_aux;
	v->apic_base = s->apic_base;
	memcpy(v->lapic_regs, s->lapic, sizeof(v->lapic_regs));
	v->tsc_adjust = s->tsc_adjust;
	v->pv_system_time = s->pvclock_msr;
	v->state = s->run_state == SNAP_RUN_WAIT_SIPI ? VCPU_WAIT_SIPI :
		   s->halted ? VCPU_HALTED : VCPU_RUNNABLE;
	memset(v->dcache, 0, sizeof(v->dcache));
	v->pending_init = v->pending_sipi = 0;
	v->irq_window_requested = false;
}

/* LAPIC timers resume with the guest time they had left, at the guest's
 * rate on this host. */
static void restore_timer(struct vcpu *v, const struct snap_vcpu *s, uint64_t now)
{
	bool ovf;

	v->timer = (struct lapic_timer){ 0 };
	switch (s->timer_mode) {
	case SNAP_TIMER_ONESHOT:
	case SNAP_TIMER_PERIODIC: {
		uint64_t count = v->lapic_regs[0x380 >> 4];
		uint32_t d = v->lapic_regs[0x3e0 >> 4];
		unsigned code = (d & 3) | ((d >> 1) & 4);
		uint64_t div = code == 7 ? 1 : 2u << code;

		v->timer.host_deadline = now + mul_div_u64(s->timer_remaining, v->vm->time.host.tsc_khz,
							    v->vm->time.emul.guest_khz, &ovf);
		if (s->timer_mode == SNAP_TIMER_PERIODIC)
			v->timer.period = mul_div_u64(count * div, v->vm->time.host.tsc_khz,
						      LAPIC_TIMER_KHZ, &ovf);
		break;
	}
	case SNAP_TIMER_DEADLINE:
		v->timer.guest_deadline = s->timer_deadline;
		v->timer.host_deadline = vmtime_guest_to_host(v, s->timer_deadline);
		if (!v->timer.host_deadline)
			v->timer.host_deadline = 1;
		break;
	default:
		break;
	}
}

int restore_vm(struct vm *vm, struct vcpu *self, const uint8_t *buf, uint64_t len)
{
	struct vm_time *t = &vm->time;
	struct snap_error err;
	uint64_t now, vm_tsc, rate;
	unsigned i;

	if (snap_decode(buf, len, &snap, vm->ram, vm->ram_size, &err)) {
		log_err("vm %s: snapshot refused: %s (%s at byte %llu)", vm->name, err.msg,
			snap_err_name(err.code), (unsigned long long)err.offset);
		return -1;
	}
	if (snap.id.vcpus != vm->nvcpus || ((uint64_t)snap.id.memory_mib << 20) != vm->ram_size) {
		log_err("vm %s: snapshot is of a VM with %u vCPUs and %u MiB; this VM has %u and %llu MiB",
			vm->name, snap.id.vcpus, snap.id.memory_mib, vm->nvcpus,
			(unsigned long long)(vm->ram_size >> 20));
		return -1;
	}
	if (snap.fpu_present) {
		uint32_t mask = fpu_mxcsr_mask();

		for (i = 0; i < vm->nvcpus; i++) {
			uint32_t mxcsr;

			memcpy(&mxcsr, snap.vcpu[i].fpu + 24, 4);
			if (mxcsr & ~mask) {
				log_err("vm %s: snapshot refused: vCPU %u's MXCSR 0x%x has bits this CPU "
					"lacks (MXCSR_MASK 0x%x)", vm->name, i, mxcsr, mask);
				return -1;
			}
		}
	}
	for (i = 0; snap.xstate_present && i < vm->nvcpus; i++) {
		uint64_t x = snap.vcpu[i].xcr0;
		unsigned b, off, size;

		if (x != 1 && (x & ~fpu_host.offered)) {
			log_err("vm %s: snapshot refused: vCPU %u's XCR0 0x%llx has components this CPU "
				"does not offer (0x%llx)", vm->name, i, (unsigned long long)x,
				(unsigned long long)fpu_host.offered);
			return -1;
		}
		for (b = 2; b < 8; b++)
			if ((x >> b & 1) && snap_xstate_component(b, &off, &size) &&
			    fpu_host.layout.size[b] != size) {
				log_err("vm %s: snapshot refused: this CPU's XSAVE component %u has %u "
					"bytes, the architecture %u", vm->name, b, fpu_host.layout.size[b],
					size);
				return -1;
			}
	}
	for (i = 0; i < vm->nvcpus; i++) {
		borrow(&vm->vcpus[i], self);
		restore_vcpu(&vm->vcpus[i], &snap.vcpu[i]);
		give_back(&vm->vcpus[i], self);
	}
	if (self)
		vm->ops->vcpu_load(self);
	/* x87/SSE: from the FPU sections; a snapshot without them (an older
	 * writer) resets them as INIT does. */
	sched_fpu_forget(vm);
	for (i = 0; snap.fpu_present && i < vm->nvcpus; i++) {
		sched_fpu_set_legacy(&vm->vcpus[i], snap.vcpu[i].fpu);
		if (snap.xstate_present)
			apply_xstate(&vm->vcpus[i], &snap.vcpu[i]);
	}
	vm->uart.ier = snap.uart.ier; vm->uart.lcr = snap.uart.lcr; vm->uart.mcr = snap.uart.mcr;
	vm->uart.scr = snap.uart.scr; vm->uart.dll = snap.uart.dll; vm->uart.dlm = snap.uart.dlm;
	vm->uart.len = 0;
	vm->fwcfg.selector = snap.fwcfg.selector;
	vm->fwcfg.offset = snap.fwcfg.offset;
	vm->pic.imr[0] = snap.pic.imr[0];
	vm->pic.imr[1] = snap.pic.imr[1];
	vm->pic.icw_step[0] = snap.pic.icw_step[0];
	vm->pic.icw_step[1] = snap.pic.icw_step[1];

	/* Time: decided again on this host, resumed where it stopped. */
	t->incarnation = snap.time.incarnation + 1;
	t->written_apart = false;
	tsc_decide(vm->cfg->tsc_mode, snap.id.tsc_khz, snap.time.pv_fast_path, &t->host, &t->d);
	now = vm_host_tsc();
	t->resume_host = now;       /* moved on to the first entry: vmtime_resume() */
	t->emul.host_base = now;
	t->emul.guest_khz = snap.id.tsc_khz;
	t->emul.host_khz = t->host.tsc_khz;
	t->last_emulated = 0;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->tsc_offset = t->d.trap_rdtsc ? snap.vcpu[i].tsc :
				tsc_offset_for(now, t->d.scale, snap.vcpu[i].tsc);
		if (t->d.mode == TSC_MODE_PVRDTSCP)
			v->tsc_aux = t->incarnation;
		if (v->tsc_adjust != vm->vcpus[0].tsc_adjust)
			t->written_apart = true;
		if (v != self)
			v->loaded_on = -1;
		__atomic_store_n(&v->tsc_resync, 1, __ATOMIC_RELEASE);
	}
	for (i = 0; i < vm->nvcpus; i++)
		restore_timer(&vm->vcpus[i], &snap.vcpu[i], now);
	vm_tsc = snap.vcpu[0].tsc - snap.vcpu[0].tsc_adjust;
	rate = t->d.guest_rate_khz ? t->d.guest_rate_khz : snap.id.tsc_khz;
	pvclock_clock_init(&t->master, vm_tsc, snap.time.system_time_ns, rate);
	t->pv_wall = snap.time.wall_clock_msr;
	for (i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].pv_stopped_pending = true;
	/* The window as it was (or none); its pages are rewritten below. */
	if (kvmclock_set_window(vm, snap.time.pvclock_window_gpa)) {
		log_err("vm %s: snapshot's pvclock window 0x%llx is not a page of guest RAM", vm->name,
			(unsigned long long)snap.time.pvclock_window_gpa);
		return -1;
	}
	for (i = 0; i < vm->nvcpus; i++)
		kvmclock_update(&vm->vcpus[i]);
	log_info("vm %s: restored: incarnation %u, guest TSC resumes at %llu, system_time at %llu ns; "
		 "tsc: %s", vm->name, t->incarnation, (unsigned long long)snap.vcpu[0].tsc,
		 (unsigned long long)snap.time.system_time_ns, t->d.reason);
	return 0;
}
