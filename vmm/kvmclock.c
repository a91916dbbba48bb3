/* kvmclock (docs/abi.md): one master (guest TSC, ns) pair per VM feeds
 * every vCPU's pvclock area, with PVCLOCK_TSC_STABLE_BIT, while the host TSC
 * is synchronised and no vCPU's TSC was written apart; otherwise each vCPU
 * gets its own pair and the bit is clear. */
#include <tscvisor/format.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/kvmclock.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/pvclock.h>
#include <tscvisor/save.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>

static uint64_t boot_wall_ns, boot_wall_tsc, boot_wall_khz;

void kvmclock_set_boot_wall(uint64_t unix_ns, uint64_t host_tsc, uint64_t host_khz)
{
	boot_wall_ns = unix_ns;
	boot_wall_tsc = host_tsc;
	boot_wall_khz = host_khz;
}

static uint64_t wall_now_ns(void)
{
	if (!boot_wall_ns || !boot_wall_khz)
		return 0;
	return boot_wall_ns + tsc_to_ns(vm_host_tsc() - boot_wall_tsc, boot_wall_khz);
}

void kvmclock_init(struct vm *vm)
{
	uint64_t khz = vm->time.d.guest_rate_khz ? vm->time.d.guest_rate_khz : vm->time.emul.guest_khz;

	pvclock_clock_init(&vm->time.master, 0, 0, khz);
}

bool kvmclock_stable(const struct vm *vm)
{
	return vm->time.d.host_reliable && !vm->time.written_apart;
}

/* The VM-wide guest TSC (the master pair's): the vCPU's TSC minus what the
 * guest wrote into it, which IA32_TSC_ADJUST accumulates (SDM 17.17.3). */
static uint64_t vm_guest_tsc(struct vcpu *v)
{
	return vmtime_read_guest_tsc(v) - v->tsc.adjust;
}

/* The host address of a pvclock structure of len bytes at guest-physical
 * gpa: always RAM (the MSR write and the snapshot were checked), but never
 * trusted to be: NULL outside it. */
static void *area_at(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	return gmem_offset(vm->ram_size, gpa, len, &off) ? vm->ram + off : NULL;
}

void kvmclock_update(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct pvclock_vcpu_time_info f;
	/* GUEST_STOPPED once after a restore (the guest clears it, as KVM's). */
	uint8_t flags = v->pv.stopped_pending ? PVCLOCK_GUEST_STOPPED : 0;

	struct pvclock_vcpu_time_info *area = NULL;
	bool window = vm->time.window_gpa && v->pv.window_page;

	if (v->pv.system_time & PVCLOCK_SYSTEM_TIME_ENABLE)
		area = area_at(vm, v->pv.system_time & ~PVCLOCK_SYSTEM_TIME_ENABLE, sizeof(*area));
	if (!area && !window)
		return;
	/* GUEST_STOPPED stays until the guest clears it in its area (Linux
	 * does, after telling its watchdogs), whatever updates come between.
	 * The window, read-only, follows the area (or, with none, shows it
	 * until the first update after the restore's). */
	if (area && (__atomic_load_n(&area->flags, __ATOMIC_RELAXED) & PVCLOCK_GUEST_STOPPED))
		flags |= PVCLOCK_GUEST_STOPPED;
	if (kvmclock_stable(vm) && !v->tsc.adjust) {
		pvclock_fields_master(&vm->time.master, flags | PVCLOCK_TSC_STABLE_BIT, &f);
	} else {
		uint64_t vcpu_tsc = vmtime_read_guest_tsc(v), vm_tsc = vcpu_tsc - v->tsc.adjust;

		/* The master's time, moved onto this vCPU's own TSC. Every vCPU
		 * moved by the same amount still shares one clock. */
		pvclock_fields_vcpu(&vm->time.master, vcpu_tsc, vm_tsc, flags, &f);
		if (kvmclock_stable(vm))
			f.flags |= PVCLOCK_TSC_STABLE_BIT;
	}
	/* One writer at a time on any area: two vCPUs may name the same GPA,
	 * and the version protocol (odd while writing) holds only then. */
	spin_lock(&vm->time_lock);
	if (area)
		pvclock_publish(area, &f);
	if (window)
		pvclock_publish(v->pv.window_page, &f);
	spin_unlock(&vm->time_lock);
	v->pv.updates++;
	v->pv.stopped_pending = false;
}

/* Another vCPU changed what v's area must say (a TSC write moved the
 * stable bit): v's own pCPU rewrites it, before v's next entry or while v
 * sleeps there. */
void kvmclock_update_if_asked(struct vcpu *v)
{
	if (__atomic_load_n(&v->pv.resync, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&v->pv.resync, 0, __ATOMIC_ACQ_REL))
		kvmclock_update(v);
}

/* Called with the VM paused (or not yet running). Each vCPU's window page
 * and the backend's window tables are taken from the pool once, the first
 * time, and reused by every later window: a guest moving its window round
 * and round allocates nothing more. When the pool cannot give them, the
 * window is refused (-1) as it was, never a panic. */
int kvmclock_set_window(struct vm *vm, uint64_t gpa)
{
	uint64_t old = vm->time.window_gpa;
	unsigned i, j;

	if (gpa & (X86_PAGE_SIZE - 1) || (gpa && !gmem_offset(vm->ram_size, gpa, X86_PAGE_SIZE, NULL)))
		return -1;
	/* The LAPIC page is MMIO even where RAM reaches past it. */
	if (gpa && gpa == APIC_BASE_DEFAULT)
		return -1;
	for (i = 0; gpa && i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->pv.window_page && !(v->pv.window_page = mem_try_alloc_pages(1, 0))) {
			log_err("vm %s: pvclock window refused: the hypervisor pool is exhausted", vm->name);
			return -1;
		}
		*(uint32_t *)(v->pv.window_page + 32) = v->id;
	}
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		/* Identity-mapped: the pointer is the host-physical address. */
		if (vm->ops->set_window(v, gpa, gpa ? (uint64_t)(uintptr_t)v->pv.window_page : 0)) {
			for (j = 0; j < i; j++)     /* every vCPU back to the window it had */
				vm->ops->set_window(&vm->vcpus[j], old,
						    old ? (uint64_t)(uintptr_t)vm->vcpus[j].pv.window_page : 0);
			return -1;
		}
	}
	vm->time.window_gpa = gpa;
	return 0;
}

bool kvmclock_is_msr(uint32_t msr)
{
	return pvclock_is_msr(msr);
}

int kvmclock_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	*val = (msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_WALL_CLOCK_NEW) ? v->vm->time.pv_wall
									   : v->pv.system_time;
	return 0;
}

int kvmclock_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vm *vm = v->vm;
	struct pvclock_msr_req req;
	enum pvclock_gpa_result r;

	/* The LAPIC page is MMIO even where RAM reaches past it. */
	static const struct pvclock_gpa_range lapic = { APIC_BASE_DEFAULT, X86_PAGE_SIZE };

	r = pvclock_msr_decode(msr, val, vm->ram_size, &lapic, 1, &req);
	if (r != PVCLOCK_GPA_OK) {
		vm_warn(vm, "vm %s: vCPU %u: WRMSR 0x%x = 0x%lx refused (%s): #GP", vm->name, v->id,
			    msr, val, pvclock_gpa_result_name(r));
		return -1;
	}
	if (req.wall) {
		struct pvclock_wall_clock wc;
		void *wall = area_at(vm, req.gpa, sizeof(wc));
		uint64_t ns = pvclock_clock_ns(&vm->time.master, vm_guest_tsc(v));

		pvclock_wall_fields(wall_now_ns(), ns, &wc);
		spin_lock(&vm->time_lock);
		vm->time.pv_wall = val;
		if (wall)
			pvclock_publish_wall(wall, &wc);
		spin_unlock(&vm->time_lock);
		return 0;
	}
	v->pv.system_time = req.enable ? (req.gpa | PVCLOCK_SYSTEM_TIME_ENABLE) : 0;
	kvmclock_update(v);
	return 0;
}

/* ---- save and restore (docs/save-restore.md), after the time part ---- */

/* system_time at the save instant, from the VM-wide guest TSC the time
 * part just saved (vCPU 0's TSC less what the guest wrote into it). */
void kvmclock_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	for (i = 0; i < vm->nvcpus; i++)
		s->vcpu[i].pvclock_msr = vm->vcpus[i].pv.system_time;
	s->time.system_time_ns = pvclock_clock_ns(&vm->time.master, s->vcpu[0].tsc - s->vcpu[0].tsc_adjust);
	s->time.wall_clock_msr = vm->time.pv_wall;
	s->time.pvclock_window_gpa = vm->time.window_gpa;
}

/* The master pair resumes at the saved system_time and the VM's guest TSC
 * at the rate just decided; every area is rewritten, with
 * PVCLOCK_GUEST_STOPPED; the window goes back where it was (or away). */
int kvmclock_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	struct vm_time *t = &vm->time;
	uint64_t rate = t->d.guest_rate_khz ? t->d.guest_rate_khz : s->id.tsc_khz;
	unsigned i;

	(void)c;
	for (i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].pv.system_time = s->vcpu[i].pvclock_msr;
	pvclock_clock_init(&t->master, s->vcpu[0].tsc - s->vcpu[0].tsc_adjust, s->time.system_time_ns, rate);
	t->pv_wall = s->time.wall_clock_msr;
	for (i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].pv.stopped_pending = true;
	if (kvmclock_set_window(vm, s->time.pvclock_window_gpa)) {
		log_err("vm %s: snapshot's pvclock window 0x%lx is not a page of guest RAM", vm->name,
			s->time.pvclock_window_gpa);
		return -1;
	}
	for (i = 0; i < vm->nvcpus; i++)
		kvmclock_update(&vm->vcpus[i]);
	return 0;
}
