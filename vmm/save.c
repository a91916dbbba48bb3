/* Save and restore (docs/save-restore.md). A snapshot is taken with every vCPU of
 * the VM stopped (vmm/pause.c pauses them), encoded by the pure codec
 * (pure/snapshot.c), streamed out of COM2 (0x2f8) for the next boot, and
 * kept in memory for a restore in the same boot.
 *
 * Restore continues the guest clock where it stopped ("pause" semantics):
 * every vCPU's guest TSC and the pvclock system_time resume at their saved
 * values, at the VM's tsc_khz, on whatever rate this host's TSC has; offset
 * and ratio are recomputed here; the mode is decided again (auto, pvrdtscp);
 * the incarnation goes up by one and the pvclock areas say GUEST_STOPPED.
 *
 * Each subsystem saves and restores its own state (struct save_ctx,
 * include/tscvisor/save.h); this file calls them from one table, in one
 * order, and owns the vCPU registers and the FPU/XSTATE parts itself. */
#include <string.h>
#include <tscvisor/format.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/lapic.h>
#include <tscvisor/dev/pm1.h>
#include <tscvisor/guest.h>
#include <tscvisor/hypercall.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/save.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include <tscvisor/xstate.h>
#include <tscvisor/hw.h>

#define COM2 0x2f8
/* 16550 registers and settings for the snapshot stream (115200 8N1, FIFOs). */
#define COM_DATA 0       /* THR; DLL with DLAB */
#define COM_IER  1       /* DLM with DLAB */
#define COM_FCR  2
#define COM_LCR  3
#define COM_LSR  5
#define COM_LCR_DLAB  0x80
#define COM_LCR_8N1   0x03
#define COM_FCR_ON_CLEAR_14 0xc7   /* enable, clear both, 14-byte trigger */
#define COM_LSR_THRE  0x20
#define COM_DIVISOR_115200 1

/* The XSAVE components a snapshot holds (snap_xstate_component()): AVX
 * (bit 2) to Hi16_ZMM (bit 7). */
#define SNAP_XS_FIRST 2
#define SNAP_XS_END   8

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
 * returns -1, a log line says why, the VM goes on. docs/snapshot-format.md.
 * A VM with the key save_buffer has its own buffer instead, of that size,
 * reserved by the loader beside its RAM before anything runs (so its saves
 * take nothing from the pool either), under the same rule with that size
 * as its budget. */
#define SNAP_BUDGET_BYTES (16ull << 20)
#define SNAP_POOL_KEEP    (4ull << 20)

static uint8_t *snap_buf;

/* The fast channel's window, NULL without one (save_set_channel). */
static struct snap_shm_hdr *shm;
static uint64_t shm_size;

void save_set_channel(uint64_t base, uint64_t size)
{
	struct snap_shm_hdr *h = (struct snap_shm_hdr *)(uintptr_t)base;

	if (!base)
		return;
	if (size < SNAP_SHM_MIN_BYTES || memcmp(h->magic, SNAP_SHM_MAGIC, 8)) {
		log_warn("save: ivshmem window at 0x%lx (%lu MiB) has no '%s' header; not used, "
			 "snapshots go out of COM2", base, size >> 20, SNAP_SHM_MAGIC);
		return;
	}
	shm = h;
	shm_size = size;
	log_info("save: snapshots go to the ivshmem window at 0x%lx (%lu MiB, up to %lu bytes), "
		 "COM2 carries their marker line", base, size >> 20, size - SNAP_SHM_DATA);
}

static void com2_init(void)
{
	outb(COM2 + COM_IER, 0x00);                 /* no interrupts */
	outb(COM2 + COM_LCR, COM_LCR_DLAB);
	outb(COM2 + COM_DATA, COM_DIVISOR_115200);  /* DLL */
	outb(COM2 + COM_IER, 0x00);                 /* DLM */
	outb(COM2 + COM_LCR, COM_LCR_8N1);
	outb(COM2 + COM_FCR, COM_FCR_ON_CLEAR_14);
}

struct sink {
	uint8_t *buf;
	uint64_t len, cap;
	bool serial;
	uint8_t *window;        /* the fast channel's data, or NULL */
	struct vm *vm;          /* told sched_pause_alive() while streaming */
};

/* A parked pCPU ends the VM after PAUSE_HOLD_MS without news from the
 * holder; a large snapshot (a Linux guest's ~77 MB at ~200 KB/s on QEMU)
 * streams for minutes, so the saver says it is alive every 64 KiB. */
#define SNAP_ALIVE_BYTES (64u << 10)

static void emit(void *ctx, const void *data, size_t n)
{
	struct sink *s = ctx;
	const uint8_t *p = data;
	size_t i;

	if (s->len + n <= s->cap)
		memcpy(s->buf + s->len, p, n);
	if (s->vm && s->len / SNAP_ALIVE_BYTES != (s->len + n) / SNAP_ALIVE_BYTES)
		sched_pause_alive(s->vm);
	if (s->window) {
		/* save_vm checked that the whole snapshot fits */
		memcpy(s->window + s->len, p, n);
		s->len += n;
		return;
	}
	s->len += n;
	if (!s->serial)
		return;
	for (i = 0; i < n; i++) {
		unsigned spins = 0;

		while (!(inb(COM2 + COM_LSR) & COM_LSR_THRE) && ++spins < 1000000)
			cpu_relax();
		outb(COM2, p[i]);
	}
}

static void capture_vcpu(struct vcpu *v, struct snap_vcpu *s)
{
	struct vcpu_sregs r;
	unsigned i;

	v->vm->ops->get_sregs(v, &r);
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
	memcpy(&bv, v->fpu + XSTATE_LEGACY, 8);   /* XSTATE_BV, the header's first word */
	for (b = SNAP_XS_FIRST; b < SNAP_XS_END; b++) {
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
	for (b = SNAP_XS_FIRST; b < SNAP_XS_END; b++) {
		if (!snap_xstate_component(b, &off, &size) || !(s->xstate_bv >> b & 1) ||
		    fpu_host.layout.size[b] != size)
			continue;
		memcpy(v->fpu + fpu_host.layout.offset[b], s->xstate + off, size);
		v->fpu[XSTATE_LEGACY + b / 8] |= (uint8_t)(1u << (b % 8));
	}
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
	v->state = s->run_state == SNAP_RUN_WAIT_SIPI ? VCPU_WAIT_SIPI :
		   s->halted ? VCPU_HALTED : VCPU_RUNNABLE;
	memset(v->dcache, 0, sizeof(v->dcache));
	v->pending_init = v->pending_sipi = 0;
	/* An interrupt-window request from before an in-boot restore goes with
	 * the state it was made for (the core asks again if it needs one). */
	v->vm->ops->request_irq_window(v, false);
	v->irq_window_requested = false;
}

/* ---- the vCPU registers: GPRs, segments, control and system registers,
 * the event being delivered, TSC_AUX, run state ---- */

static void vcpu_regs_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		borrow(&vm->vcpus[i], c->self);
		capture_vcpu(&vm->vcpus[i], &s->vcpu[i]);
		give_back(&vm->vcpus[i], c->self);
	}
	if (c->self)
		vm->ops->vcpu_load(c->self);
}

static int vcpu_regs_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		borrow(&vm->vcpus[i], c->self);
		restore_vcpu(&vm->vcpus[i], &s->vcpu[i]);
		give_back(&vm->vcpus[i], c->self);
	}
	if (c->self)
		vm->ops->vcpu_load(c->self);
	return 0;
}

/* ---- x87/SSE, XCR0, the other XSAVE components, DR0-DR3 ---- */

/* The other pCPUs flushed theirs when they parked. An XCR0 the format
 * cannot hold (PKRU or MPX, which only an emulator without the XSETBV
 * intercept lets a guest enable) fails snap_validate: no snapshot rather
 * than a wrong one. */
static void vcpu_fpu_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	sched_fpu_flush(vm);
	s->fpu_present = true;
	s->xstate_present = true;
	for (i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].fpu_saved)
			memcpy(s->vcpu[i].fpu, vm->vcpus[i].fpu, SNAP_FPU_IMAGE_LEN);
		else
			fpu_init_image(s->vcpu[i].fpu, SNAP_FPU_IMAGE_LEN);
		capture_xstate(&vm->vcpus[i], &s->vcpu[i]);
	}
}

/* Whether this CPU can hold the snapshot's FPU state: checked before
 * anything of the VM changes. */
static int vcpu_fpu_check(struct vm *vm, const struct snap_vm *s)
{
	unsigned i;

	if (s->fpu_present) {
		uint32_t mask = fpu_mxcsr_mask();

		for (i = 0; i < vm->nvcpus; i++) {
			uint32_t mxcsr;

			memcpy(&mxcsr, s->vcpu[i].fpu + X86_FXSAVE_MXCSR, 4);
			if (mxcsr & ~mask) {
				log_err("vm %s: snapshot refused: vCPU %u's MXCSR 0x%x has bits this CPU "
					"lacks (MXCSR_MASK 0x%x)", vm->name, i, mxcsr, mask);
				return -1;
			}
		}
	}
	for (i = 0; s->xstate_present && i < vm->nvcpus; i++) {
		uint64_t x = s->vcpu[i].xcr0;
		unsigned b, off, size;

		if (x != XS_X87 && (x & ~fpu_host.offered)) {
			log_err("vm %s: snapshot refused: vCPU %u's XCR0 0x%lx has components this CPU "
				"does not offer (0x%lx)", vm->name, i, x, fpu_host.offered);
			return -1;
		}
		for (b = SNAP_XS_FIRST; b < SNAP_XS_END; b++)
			if ((x >> b & 1) && snap_xstate_component(b, &off, &size) &&
			    fpu_host.layout.size[b] != size) {
				log_err("vm %s: snapshot refused: this CPU's XSAVE component %u has %u "
					"bytes, the architecture %u", vm->name, b, fpu_host.layout.size[b],
					size);
				return -1;
			}
	}
	return 0;
}

/* From the FPU sections; a snapshot without them (an older writer) resets
 * them as INIT does. */
static int vcpu_fpu_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	sched_fpu_forget(vm);
	for (i = 0; s->fpu_present && i < vm->nvcpus; i++) {
		sched_fpu_set_legacy(&vm->vcpus[i], s->vcpu[i].fpu);
		if (s->xstate_present)
			apply_xstate(&vm->vcpus[i], &s->vcpu[i]);
	}
	return 0;
}

/* The snapshot's parts in their fixed order, the same for save and restore:
 * the registers first; the time before what is measured in it (the LAPIC
 * timers, kvmclock's pair, which also needs every vCPU's TSC_ADJUST); the
 * devices of the port bus last. check (optional) refuses a snapshot this
 * host cannot take before anything of the VM changes. A new device adds
 * its line here. */
static const struct save_part {
	const char *name;
	void (*save)(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
	int (*restore)(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);
	int (*check)(struct vm *vm, const struct snap_vm *s);
} parts[] = {
	{ "vcpu registers", vcpu_regs_save, vcpu_regs_restore, NULL },
	{ "fpu/xstate",     vcpu_fpu_save,  vcpu_fpu_restore,  vcpu_fpu_check },
	{ "time",           vmtime_save,    vmtime_restore,    NULL },
	{ "lapic",          lapic_save,     lapic_restore,     NULL },
	{ "kvmclock",       kvmclock_save,  kvmclock_restore,  NULL },
	{ "uart",           uart_save,      uart_restore,      NULL },
	{ "fw_cfg",         fwcfg_save,     fwcfg_restore,     NULL },
	{ "pic",            pic_save,       pic_restore,       NULL },
	{ "ioapic",         ioapic_save,    ioapic_restore,    NULL },
	{ "pm1",            pm1_save,       pm1_restore,       NULL },
	{ "pm timer",       acpi_pm_save,   acpi_pm_restore,   NULL },
};

const uint8_t *save_vm(struct vm *vm, struct vcpu *self, uint64_t stopped, uint64_t *len)
{
	struct snap_error err;
	struct sink sink = { 0 };
	struct save_ctx c = { self, stopped };
	uint64_t size;
	unsigned i;

	memset(&snap, 0, sizeof(snap));
	tv_snprintf(snap.id.name, sizeof(snap.id.name), "%s", vm->name);
	snap.id.vcpus = vm->nvcpus;
	snap.id.memory_mib = (uint32_t)(vm->ram_size >> 20);
	snap.id.tsc_mode = vm->cfg->tsc_mode;
	snap.id.tsc_khz = (uint32_t)vm->time.emul.guest_khz;
	snap.id.vendor = vm->ops->snap_vendor;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		parts[i].save(vm, &snap, &c);

	if (snap_validate(&snap, vm->ram_size, &err)) {
		log_err("vm %s: cannot save: %s (%s)", vm->name, err.msg, snap_err_name(err.code));
		return NULL;
	}
	size = snap_encoded_size(&snap, vm->ram, vm->ram_size);
	if (vm->cfg->on_save == ON_SAVE_STOP) {
		/* The VM ends after this one save and nothing restores from it
		 * in this boot: stream it out of COM2 as it is encoded, with no
		 * buffer and so no budget (a Linux guest holds far more than
		 * 16 MiB of non-zero RAM). */
		sink.cap = 0;
		sink.buf = NULL;
	} else if (vm->save_buf) {
		/* Its own buffer, reserved at boot (key save_buffer): the same
		 * rule with its size as the budget. */
		if (size > vm->save_buf_size) {
			log_err("vm %s: cannot save: the snapshot needs %lu bytes, more than the snapshot "
				"budget of %lu bytes (non-zero guest RAM; its save_buffer); the save "
				"returns -1, the VM goes on", vm->name, size, vm->save_buf_size);
			return NULL;
		}
		sink.cap = vm->save_buf_size;
		sink.buf = vm->save_buf;
	} else if (size > SNAP_BUDGET_BYTES) {
		log_err("vm %s: cannot save: the snapshot needs %lu bytes, more than the snapshot "
			"budget of %lu bytes (non-zero guest RAM); the save returns -1, the VM goes on",
			vm->name, size, (uint64_t)SNAP_BUDGET_BYTES);
		return NULL;
	} else {
		if (!snap_buf)
			snap_buf = mem_try_alloc_pages(SNAP_BUDGET_BYTES / 4096, SNAP_POOL_KEEP);
		if (!snap_buf) {
			log_err("vm %s: cannot save: the hypervisor pool cannot give the %lu-byte "
				"snapshot buffer (%lu bytes free); the save returns -1, the VM goes on",
				vm->name, (uint64_t)SNAP_BUDGET_BYTES, (uint64_t)mem_free_bytes());
			return NULL;
		}
		sink.cap = SNAP_BUDGET_BYTES;
		sink.buf = snap_buf;
	}
	sink.serial = true;
	sink.vm = vm;
	if (shm && size <= shm_size - SNAP_SHM_DATA) {
		sink.window = (uint8_t *)shm + SNAP_SHM_DATA;
		shm->state = SNAP_SHM_WRITING;
	} else if (shm) {
		log_warn("vm %s: the snapshot's %lu bytes do not fit the ivshmem window (%lu); "
			 "it goes out of COM2", vm->name, size, shm_size - SNAP_SHM_DATA);
	}
	com2_init();
	/* Firmware may have written to COM2 before us: a marker line with the
	 * length frames the snapshot (scripts/migrate looks for it); "shm" at
	 * its end says the bytes are in the window instead. */
	{
		char hdr[96];
		int n = tv_snprintf(hdr, sizeof(hdr), "\nTSCVISOR-SNAPSHOT %lu %s%s\n", size, vm->name,
				    sink.window ? " shm" : "");
		struct sink plain = { 0 };

		plain.serial = true;
		emit(&plain, hdr, (size_t)n);
	}
	if (snap_encode(&snap, vm->ram, vm->ram_size, emit, &sink) || sink.len != size) {
		log_err("vm %s: encoding the snapshot failed", vm->name);
		return NULL;
	}
	if (sink.window) {
		tv_snprintf(shm->vm, sizeof(shm->vm), "%s", vm->name);
		shm->len = size;
		__atomic_store_n(&shm->state, SNAP_SHM_DONE, __ATOMIC_RELEASE);
	}
	log_info("vm %s: saved: %lu bytes (guest TSC %lu, system_time %lu ns, incarnation %u), "
		 "%s", vm->name, size, snap.vcpu[0].tsc, snap.time.system_time_ns,
		 snap.time.incarnation, sink.window ? "written to the ivshmem window" :
		 "streamed out of COM2");
	*len = size;
	/* Streamed only (on_save = stop): a token that says the save was
	 * taken; the caller restores only when on_save = restore, which
	 * always has the buffer. */
	return sink.buf ? sink.buf : (const uint8_t *)&snap;
}

int restore_vm(struct vm *vm, struct vcpu *self, const uint8_t *buf, uint64_t len)
{
	struct save_ctx c = { self, 0 };
	struct snap_error err;
	unsigned i;

	if (snap_decode(buf, len, &snap, vm->ram, vm->ram_size, &err)) {
		log_err("vm %s: snapshot refused: %s (%s at byte %lu)", vm->name, err.msg,
			snap_err_name(err.code), err.offset);
		return -1;
	}
	if (snap.id.vcpus != vm->nvcpus || ((uint64_t)snap.id.memory_mib << 20) != vm->ram_size) {
		log_err("vm %s: snapshot is of a VM with %u vCPUs and %u MiB; this VM has %u and %lu MiB",
			vm->name, snap.id.vcpus, snap.id.memory_mib, vm->nvcpus, vm->ram_size >> 20);
		return -1;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].check && parts[i].check(vm, &snap))
			return -1;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].restore(vm, &snap, &c))
			return -1;
	log_info("vm %s: restored: incarnation %u, guest TSC resumes at %lu, system_time at %lu ns; "
		 "tsc: %s", vm->name, vm->time.incarnation, snap.vcpu[0].tsc,
		 snap.time.system_time_ns, vm->time.d.reason);
	return 0;
}

/* ---- taking a snapshot (HC_SAVE, the operator's save_after_ms) ---- */

/* The instant the VM's last guest instruction ran, once the pause holds
 * (now): the latest exit of any vCPU (none has entered since: its own exit
 * or the pause keeps it out; each value a vCPU read was taken before its
 * exit), and no earlier than the pause's start if a vCPU was halted or
 * waiting for a SIPI (its time ran on, a timer could have woken it, until
 * the pause was asked for). What lies between that and now is
 * the exit's handling and the other pCPUs parking: no guest instruction
 * ran in it, so it is not the guest's time (docs/save-restore.md). Never
 * after now; a vCPU that has not left the guest since the VM (re)started
 * (exit_host 0) adds nothing. */
static uint64_t vm_stopped_at(struct vm *vm, uint64_t now)
{
	uint64_t t = 0;
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *x = &vm->vcpus[i];
		uint64_t at = x->exit_host;

		if (x->state != VCPU_RUNNABLE && vm->pause_taken_at > at)
			at = vm->pause_taken_at;
		if (at > t)
			t = at;
	}
	return t && t < now ? t : now;
}

/* The restored VM's clocks go on from now; each vCPU's next entry notes
 * how long after this it came (the end-of-VM line). */
static void save_resumed(struct vm *vm)
{
	unsigned i;

	vmtime_resume(vm);
	vm->resumed_host = vm_host_tsc();
	for (i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].resume_pending = true;
		vm->vcpus[i].exit_host = 0;     /* the old VM's */
		vm->vcpus[i].after_resume_n = 0;
	}
}

/* A snapshot now: every other pCPU parked, the snapshot taken as if the
 * guest's call (HC_SAVE, from_guest) had returned 0, then the VM's on_save.
 * v is the vCPU whose exit takes it, NULL when pCPU 0 takes the operator's
 * save while every vCPU sleeps. Returns 0 (also to the restored guest), -1
 * when the save failed (the VM goes on), HC_RETRY while another pCPU holds
 * the pause. */
static int64_t save_now(struct vm *vm, struct vcpu *v, bool from_guest)
{
	const uint8_t *buf;
	uint64_t len = 0, stopped, held;
	int64_t rc = 0;
	unsigned i;
	int p = sched_pause_others(vm);

	if (p == SCHED_PAUSE_BUSY)
		return HC_RETRY;
	if (p)
		return -1;
	/* The save instant: the VM's last instruction (vm_stopped_at).
	 * Everything after it (the pause's wait for the other pCPUs to park,
	 * the snapshot's memset, encoding and COM2 stream, every log line,
	 * the VM's end or its restore) is outside the guest's time: the
	 * clocks are captured at it and resume from there. */
	held = vm_host_tsc();
	stopped = vm_stopped_at(vm, held);
	vm->save_unseen = held - stopped;
	for (i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].save_lead = vm->vcpus[i].exit_host ? stopped - vm->vcpus[i].exit_host : 0;
	if (from_guest)
		v->regs.rax = 0;
	buf = save_vm(vm, v, stopped, &len);
	/* Logged after the capture: a console line takes guest-visible
	 * milliseconds on a real (or Bochs's) 115200-baud UART. */
	if (!from_guest && v)
		log_info("vm %s: that was the operator's save (save_after_ms = %u), taken by vCPU %u",
			 vm->name, vm->cfg->save_after_ms, v->id);
	else if (!from_guest)
		log_info("vm %s: that was the operator's save (save_after_ms = %u), taken while every "
			 "vCPU slept", vm->name, vm->cfg->save_after_ms);
	if (!buf) {
		rc = -1;
	} else {
		vm->saves++;
		switch (vm->cfg->on_save) {
		case ON_SAVE_STOP:
			vm_end(vm, VM_END_SAVED, 1, "saved; on_save = stop");
			break;
		case ON_SAVE_CONTINUE:
			break;
		case ON_SAVE_RESTORE:
		default:
			/* Destroy (RAM and vCPU state gone), restore, go on. */
			memset(vm->ram, 0, vm->ram_size);
			if (restore_vm(vm, v, buf, len))
				vm_end(vm, VM_END_UNHANDLED, 0, "restore from its own snapshot failed");
			else
				save_resumed(vm);
			break;
		}
	}
	sched_resume_others(vm);
	return rc;
}

int64_t vm_request_save(struct vcpu *v)
{
	return save_now(v->vm, v, true);
}

int64_t vm_operator_save(struct vm *vm, struct vcpu *v)
{
	return save_now(vm, v, false);
}
