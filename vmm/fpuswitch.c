/* The registers VMRUN and VM entry do not switch: x87/MMX/SSE and the
 * other XSAVE components, XCR0, DR0-DR3 (arch/x86/fpu.h). Used by the run
 * loop (vmm/sched.c), the pause protocol (vmm/pause.c) and save/restore
 * (vmm/save.c); calls nothing of the core but the emulator quirk that
 * disarms DR7 (vmm/quirks.c). */
#include <tscvisor/quirks.h>
#include <tscvisor/sched.h>
#include <tscvisor/vm.h>
#include <tscvisor/hw.h>

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

void sched_fpu_take(struct pcpu *cpu, struct vcpu *v)
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
		/* Host DR7 is 0x400 after every exit already, nothing enabled;
		 * QEMU's TCG needs more to forget the last guest's breakpoints. */
		quirk_dr7_disarm();
		cpu->fpu_owner = v;
	}
	if (fpu_host.xsave && cpu->cur_xcr0 != v->xcr0) {
		xcr0_write(v->xcr0);
		cpu->cur_xcr0 = v->xcr0;
	}
}

void sched_fpu_release(struct pcpu *cpu, struct vcpu *v)
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
		sched_fpu_release(cpu, o);
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
