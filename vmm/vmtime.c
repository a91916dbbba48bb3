/* A VM's guest TSC on the running host (SPEC section 2): the decision of
 * tsc_decide() applied to every vCPU, and the value of a trapped read. */
#include <tscvisor/log.h>
#include <tscvisor/vm.h>
#include <tscvisor/vmtime.h>
#include "x86.h"

static void apply(struct vcpu *v)
{
	const struct tsc_decision *d = &v->vm->time.d;

	v->vm->ops->set_tsc(v, v->tsc_offset, d->use_hw_scaling ? d->scale.ratio : 0,
			    d->trap_rdtsc);
}

void vmtime_init(struct vm *vm, const struct tsc_host_info *host)
{
	struct vm_time *t = &vm->time;
	uint64_t now;
	unsigned i;

	t->host = *host;
	tsc_decide(vm->cfg->tsc_mode, vm->cfg->tsc_khz, false, host, &t->d);
	if (t->d.warn)
		log_warn("vm %s: tsc: %s", vm->name, t->d.reason);
	else
		log_info("vm %s: tsc: %s", vm->name, t->d.reason);
	now = rdtsc();
	t->emul.host_base = now;
	t->emul.guest_khz = vm->cfg->tsc_khz ? vm->cfg->tsc_khz : host->tsc_khz;
	t->emul.host_khz = host->tsc_khz;
	t->last_emulated = 0;
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		/* The guest TSC starts at 0 when the VM is created. */
		v->tsc_offset = t->d.trap_rdtsc ? 0 : tsc_offset_for(now, t->d.scale, 0);
		v->tsc_adjust = 0;
		apply(v);
	}
}

uint64_t vmtime_read_guest_tsc(struct vcpu *v)
{
	struct vm_time *t = &v->vm->time;
	uint64_t h = rdtsc(), base;

	if (!t->d.trap_rdtsc)
		return tsc_guest(h, t->d.scale, v->tsc_offset);
	/* One VM-wide sequence that never goes back, whatever pCPU reads it
	 * (the host TSCs may disagree); each vCPU's own offset on top. */
	base = tsc_emul_guest(&t->emul, h, 0);
	if (base < t->last_emulated)
		base = t->last_emulated;
	t->last_emulated = base;
	return base + v->tsc_offset;
}

void vmtime_write_guest_tsc(struct vcpu *v, uint64_t value)
{
	uint64_t now = vmtime_read_guest_tsc(v);

	tsc_msr_write_tsc(&v->tsc_offset, &v->tsc_adjust, now, value);
	apply(v);
}
