/* VM lifecycle: build a VM from its config, run its vCPU until the VM ends,
 * report what happened. */
#include <string.h>
#include <tscvisor/acpi_build.h>
#include <tscvisor/bzimage.h>
#include <tscvisor/exit.h>
#include <tscvisor/format.h>
#include <tscvisor/guest.h>
#include <tscvisor/loader.h>
#include <tscvisor/log.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/platform.h>
#include <tscvisor/quirks.h>
#include <tscvisor/save.h>
#include <tscvisor/vmrun.h>
#include <tscvisor/sched.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/vmtime.h>

static const char *basename_of(const char *path)
{
	const char *b = path, *p;

	for (p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}

bool vms_check_kernels(const struct boot_info *bi)
{
	const struct hv_config *cfg = &bi->config;
	bool ok = true;
	unsigned i;

	for (i = 0; i < cfg->nvms; i++) {
		const struct vm_config *vc = &cfg->vms[i];
		struct mb_load_result res;
		struct mb_load_error err;

		if (bi->vms[i].snapshot)
			continue;   /* checked when it was loaded (boot/) */
		if (bz_is_bzimage(bi->vms[i].kernel, bi->vms[i].kernel_size)) {
			struct bz_load_result bres;
			struct bz_load_error berr;

			if (bz_check(bi->vms[i].kernel, bi->vms[i].kernel_size, bi->vms[i].ram_size,
				     vc->cmdline, bi->vms[i].ramdisk, bi->vms[i].ramdisk_size, &bres,
				     &berr)) {
				log_err("%s:%u: key 'kernel': VM '%s': Linux kernel %s refused: %s (%s)",
					bi->config_path, vc->kernel_line, vc->name, vc->kernel, berr.msg,
					bz_err_name(berr.code));
				ok = false;
			}
			continue;
		}
		if (bi->vms[i].ramdisk) {
			log_err("%s:%u: key 'ramdisk': VM '%s': kernel %s is not a Linux bzImage; "
				"a ramdisk is for Linux kernels only", bi->config_path, vc->ramdisk_line,
				vc->name, vc->kernel);
			ok = false;
			continue;
		}
		if (mb_check(bi->vms[i].kernel, bi->vms[i].kernel_size, bi->vms[i].ram_size,
			     basename_of(vc->kernel), vc->cmdline, NULL, 0, &res, &err)) {
			log_err("%s:%u: key 'kernel': VM '%s': kernel %s refused: %s (%s)",
				bi->config_path, vc->kernel_line, vc->name, vc->kernel, err.msg,
				mb_err_name(err.code));
			ok = false;
		}
	}
	return ok;
}

/* Guest RAM starts zeroed (UEFI does not zero what it allocates). */
static void zero_ram(uint8_t *p, uint64_t bytes)
{
	uint64_t n = bytes / 8;

	__asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0ull) : "memory");
}

/* vCPUs with backend state, before their state is set (kernel or snapshot). */
static bool create_vcpus(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | (i == 0 ? APIC_BASE_BSP : 0);
		v->xcr0 = 1;           /* x87 only, as after reset (SDM Vol. 1 13.3) */
		lapic_reset(v);
		if (vm->ops->vcpu_init(v)) {
			log_err("vm %s: %s backend cannot set up vCPU %u", vm->name, vm->ops->name, i);
			return false;
		}
		v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
		v->loaded_on = -1;
	}
	return true;
}

/* A VM that goes on from a snapshot (restore = FILE): RAM, vCPUs and devices
 * from the snapshot, time resumed on this host (vmm/save.c). */
static bool create_from_snapshot(struct vm *vm, const struct boot_info *bi,
				 const struct platform_info *pf)
{
	const struct boot_vm *bv = &bi->vms[vm->index];

	if (vm_backend_init(vm) || !create_vcpus(vm))
		return false;
	vmtime_init(vm, &pf->tsc);
	if (restore_vm(vm, NULL, bv->snapshot, bv->snapshot_size))
		return false;
	log_info("vm %s: restored from its snapshot, %u vCPU(s), %lu MiB, %s", vm->name,
		 vm->nvcpus, (vm->ram_size >> 20), vm->ops->name);
	return true;
}

/* The Linux boot protocol's 32-bit entry for the BSP (pure/bzimage.c): the
 * backends start a vCPU in flat 32-bit protected mode with paging off, as
 * multiboot wants; Linux also wants its selectors (__BOOT_CS 0x10,
 * __BOOT_DS 0x18) described by a GDT, which the loader wrote, and ESI = the
 * zero page with EBX, EBP, EDI zero. */
static void linux_entry_state(struct vm *vm, const struct bz_load_result *r)
{
	struct vcpu *v = &vm->vcpus[0];
	struct vcpu_sregs s;
	unsigned i;

	vm->ops->get_sregs(v, &s);
	s.seg[SEG_CS].sel = BZ_BOOT_CS;
	for (i = 0; i < SEG_NR; i++)
		if (i == SEG_DS || i == SEG_ES || i == SEG_SS || i == SEG_FS || i == SEG_GS)
			s.seg[i].sel = BZ_BOOT_DS;
	s.seg[SEG_GDTR].base = r->gdt_gpa;
	s.seg[SEG_GDTR].limit = BZ_GDT_LIMIT;
	vm->ops->set_sregs(v, &s);
	v->regs.rip = r->entry;
	v->regs.rsi = r->zero_page_gpa;
	v->regs.rax = v->regs.rbx = v->regs.rbp = v->regs.rdi = 0;
}

_Static_assert((uint64_t)CFG_MAX_MEMORY_MIB << 20 == VM_RAM_MAX &&
	       (uint64_t)SNAP_MAX_MEMORY_MIB << 20 == VM_RAM_MAX,
	       "the config's and the snapshot's memory cap is the hypervisor's");
_Static_assert((uint64_t)CFG_MEMORY_ALIGN_MIB << 20 == VM_RAM_ALIGN &&
	       (uint64_t)SNAP_MEMORY_ALIGN_MIB << 20 == VM_RAM_ALIGN,
	       "the config's and the snapshot's memory granule is the nested leaf size");

/* The last line of defence before the backend maps guest RAM: the parsers
 * refuse these sizes, but a size that is not whole 2 MiB pages would once
 * have mapped host memory into the guest. Returns why the RAM is refused,
 * or NULL. */
static const char *ram_refused(uint64_t base, uint64_t size)
{
	if (size == 0 || size % VM_RAM_ALIGN)
		return "its size is not a whole number of 2 MiB pages";
	if (size > VM_RAM_MAX)
		return "it is above the 64 GiB maximum";
	if (!base || base % VM_RAM_ALIGN)
		return "its host memory is not 2 MiB aligned";
	return NULL;
}

bool vm_create(struct vm *vm, unsigned index, const struct boot_info *bi,
	       const struct platform_info *pf)
{
	const struct vm_config *vc = &bi->config.vms[index];
	struct acpi_guest_params ap;
	struct acpi_build_result ar;
	struct mb_load_result res;
	struct mb_load_error err;
	struct bz_load_result bres;
	struct bz_load_error berr;
	uint8_t apic_ids[VM_MAX_VCPUS];
	const char *why;
	bool is_linux;
	unsigned i;

	memset(vm, 0, sizeof(*vm));
	vm->index = index;
	vm->cfg = vc;
	vm->name = vc->name;
	vm->ram = (uint8_t *)(uintptr_t)bi->vms[index].ram_base;
	vm->ram_size = bi->vms[index].ram_size;
	vm->save_buf = (uint8_t *)(uintptr_t)bi->vms[index].save_buf_base;
	vm->save_buf_size = vm->save_buf ? bi->vms[index].save_buf_size : 0;
	vm->ops = pf->ops;
	why = ram_refused(bi->vms[index].ram_base, vm->ram_size);
	if (why) {
		log_err("vm %s: refused: guest RAM of %lu bytes at host 0x%lx: %s", vc->name,
			vm->ram_size, bi->vms[index].ram_base,
			why);
		return false;
	}
	if (vc->vcpus > VM_MAX_VCPUS) {
		log_err("vm %s: vcpus = %u, but this build runs at most %u vCPUs per VM", vc->name,
			vc->vcpus, VM_MAX_VCPUS);
		return false;
	}
	vm->nvcpus = vc->vcpus;
	if (platform_create(vm, &bi->vms[index], pf))
		return false;
	zero_ram(vm->ram, vm->ram_size);
	if (bi->vms[index].snapshot)
		return create_from_snapshot(vm, bi, pf);

	is_linux = bz_is_bzimage(bi->vms[index].kernel, bi->vms[index].kernel_size);
	if (is_linux) {
		if (bz_load(bi->vms[index].kernel, bi->vms[index].kernel_size, vm->ram,
			    vm->ram_size, vc->cmdline, bi->vms[index].ramdisk,
			    bi->vms[index].ramdisk_size, &bres, &berr)) {
			log_err("vm %s: Linux kernel refused: %s", vm->name, berr.msg);
			return false;
		}
	} else if (mb_load(bi->vms[index].kernel, bi->vms[index].kernel_size, vm->ram,
			   vm->ram_size, basename_of(vc->kernel), vc->cmdline, NULL, 0, &res, &err)) {
		log_err("vm %s: kernel refused: %s", vm->name, err.msg);
		return false;
	}
	memset(&ap, 0, sizeof(ap));
	for (i = 0; i < vm->nvcpus; i++)
		apic_ids[i] = (uint8_t)i;
	ap.num_cpus = vm->nvcpus;
	ap.apic_ids = apic_ids;
	ap.lapic_base = LAPIC_DEFAULT_BASE;
	ap.ioapic_addr = (uint32_t)IOAPIC_BASE;   /* vmm/dev/ioapic.c */
	ap.ioapic_id = IOAPIC_ID;
	ap.pm_timer_port = pf->pm_timer_port;
	ap.pm_timer_32bit = pf->pm_timer_32bit;
	if (acpi_build_guest_tables(vm->ram, vm->ram_size, &ap, &ar)) {
		log_err("vm %s: cannot build its ACPI tables: %s", vm->name,
			ar.error ? ar.error : "?");
		return false;
	}
	if (vm_backend_init(vm)) {
		log_err("vm %s: %s backend cannot set up the VM", vm->name, vm->ops->name);
		return false;
	}
	if (!create_vcpus(vm))
		return false;
	if (is_linux) {
		linux_entry_state(vm, &bres);
		vmtime_init(vm, &pf->tsc);
		log_info("vm %s: %s Linux kernel %s (boot protocol %u.%02u), entry 0x%x, "
			 "initramfs %lu bytes at 0x%lx, %lu MiB RAM, %u vCPU, %s", vm->name,
			 basename_of(vc->kernel), bres.kernel_version, bres.version >> 8,
			 bres.version & 0xff, bres.entry, bres.initrd_size, bres.initrd_gpa,
			 vm->ram_size >> 20, vm->nvcpus, vm->ops->name);
		return true;
	}
	vm->vcpus[0].regs.rip = res.entry;
	vm->vcpus[0].regs.rax = MB_BOOT_MAGIC;
	vm->vcpus[0].regs.rbx = res.mbi_gpa;
	vmtime_init(vm, &pf->tsc);
	log_info("vm %s: %s %s kernel, entry 0x%x, %lu MiB RAM, %u vCPU, %s",
		 vm->name, basename_of(vc->kernel),
		 res.aout_kludge ? "a.out-kludge" : res.elf_class == 64 ? "ELF64" : "ELF32",
		 res.entry, (vm->ram_size >> 20), vm->nvcpus, vm->ops->name);
	return true;
}

void vm_run(struct vm *vm, unsigned npcpus)
{
	sched_run_vm(vm, npcpus);
	uart_flush(vm);
}

static const char *const end_names[] = {
	[VM_RUNNING] = "running",
	[VM_END_EXIT_PORT] = "exit port",
	[VM_END_SHUTDOWN] = "shutdown port",
	[VM_END_TRIPLE_FAULT] = "triple fault",
	[VM_END_UNHANDLED] = "stopped by the hypervisor",
	[VM_END_HALTED] = "halted forever",
	[VM_END_SAVED] = "a save (on_save = stop)",
	[VM_END_POWEROFF] = "power-off",
};

uint64_t vm_exit_count(const struct vm *vm, enum exit_reason r)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++)
		n += vm->vcpus[i].stats[r].count;
	return n;
}

enum vm_verdict vm_report(struct vm *vm)
{
	uint64_t total = 0;
	enum vm_verdict verdict;
	unsigned r, i;

	log_info("vm %s: exits by reason (count, hypervisor cycles, cycles/exit), all vCPUs:", vm->name);
	for (r = 0; r < EXIT_NR; r++) {
		uint64_t count = 0, cycles = 0;

		for (i = 0; i < vm->nvcpus; i++) {
			count += vm->vcpus[i].stats[r].count;
			cycles += vm->vcpus[i].stats[r].cycles;
		}
		if (!count)
			continue;
		total += count;
		log_info("vm %s: exit %-18s %10lu %14lu %8lu", vm->name,
			 exit_reason_name((enum exit_reason)r), count,
			 cycles, (cycles / count));
	}
	log_info("vm %s: exit total %10lu", vm->name, total);
	for (i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];

		log_info("vm %s: vCPU %u: %lu interrupts injected, %lu IPIs sent, %lu timer firings "
			 "(late by %lu cycles on average, %lu at most), %lu moves between pCPUs; "
			 "INIT/SIPI seen %u/%u, started by SIPI %u time(s), state %d on pCPU %u",
			 vm->name, i, v->irqs_injected,
			 v->ipis_sent, v->lapic.timer.fired,
			 (v->lapic.timer.fired ? v->lapic.timer.late_total / v->lapic.timer.fired : 0),
			 v->lapic.timer.late_max, v->moves,
			 v->inits_seen, v->sipis_seen, v->sipis_taken, (int)v->state, v->cpu);
		quirk_report(vm, i);
	}

	if (vm->end == VM_END_SHUTDOWN || vm->end == VM_END_SAVED || vm->end == VM_END_POWEROFF) {
		verdict = VERDICT_PASS;
	} else if (vm->end == VM_END_EXIT_PORT) {
		verdict = vm->exit_status == 1 ? VERDICT_PASS :
			  vm->exit_status == (77u << 1 | 1) ? VERDICT_SKIP : VERDICT_FAIL;
	} else {
		verdict = VERDICT_FAIL;
	}
	vm_log_summary(vm);
	log_info("vm %s: ended by %s (%s), status %u: %s", vm->name,
		 end_names[vm->end], vm->end_reason, vm->exit_status,
		 verdict == VERDICT_PASS ? "PASS" : verdict == VERDICT_SKIP ? "SKIP" : "FAIL");
	return verdict;
}
