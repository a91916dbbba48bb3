/* The arch-neutral core's entry: runs on the hypervisor's own stack once the
 * firmware is gone. The platform's bring-up is the arch layer's (hw_init,
 * hw_start_cpus, hw_select_backend: <tscvisor/hw.h>); the order against
 * the core's own steps, the config and the VMs are here. */
#include <tscvisor/bootinfo.h>
#include <tscvisor/cpumodel.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/mem.h>
#include <tscvisor/hw.h>
#include <tscvisor/vmrun.h>
#include <tscvisor/kvmclock.h>

static struct hw_info hw;

static struct vm vms[CFG_MAX_VMS];

/* One line per VM, side by side: how its TSC ran, what the guest measured
 * (a guest test's "# tsc_khz=" line), how many exits it took. */
static void print_summary(unsigned n, const enum vm_verdict *verdicts)
{
	static const char *const names[] = { "PASS", "SKIP", "FAIL" };
	unsigned i;

	log_raw("\n%-16s %-9s %-7s %12s %12s %10s %10s %10s  %s\n", "VM", "mode", "trapped",
		"tsc_khz", "guest saw", "exits", "RDTSC", "RDTSCP", "result");
	for (i = 0; i < n; i++) {
		const struct vm *vm = &vms[i];
		uint64_t total = 0;
		unsigned r;

		for (r = 0; r < EXIT_NR; r++)
			total += vm_exit_count(vm, (enum exit_reason)r);
		log_raw("%-16s %-9s %-7s %12lu %12lu %10lu %10lu %10lu  %s\n", vm->name,
			vm->time.d.reason[0] ? tsc_mode_name(vm->time.d.mode) : "-",
			vm->time.d.trap_rdtsc ? "yes" : "no", vm->time.emul.guest_khz,
			vm->uart.reported_khz, total, vm_exit_count(vm, EXIT_RDTSC),
			vm_exit_count(vm, EXIT_RDTSCP), names[verdicts[i]]);
	}
	log_raw("\n");
}

/* Run the config's VMs one after the other, then end the run with a status
 * that says whether every VM passed. */
__attribute__((noreturn)) static void run_all(const struct boot_info *bi)
{
	const struct hv_config *cfg = &bi->config;
	struct platform_info pf = { 0 };
	unsigned i, passed = 0, skipped = 0, failed = 0;
	enum vm_verdict verdicts[CFG_MAX_VMS];

	hw_select_backend(&hw);
	pf.ops = hw.ops;
	if (!pf.ops)
		hv_exit(false, "no usable virtualisation backend");
	if (pf.ops->cpu_enable())
		hv_exit(false, "cannot enable the virtualisation extension");
	log_info("vmm: %s backend enabled", pf.ops->name);
	pf.pm_timer_port = hw.pm_timer_port;
	pf.pm_timer_32bit = hw.pm_timer_32bit;
	pf.tsc = hw.tsc;
	pf.tsc.vouched = cfg->tsc_reliable;
	for (i = 0; i < cfg->nvms; i++) {
		struct vm *vm = &vms[i];
		enum vm_verdict verdict = VERDICT_FAIL;

		log_info("vm %s: starting (%u of %u)", cfg->vms[i].name, i + 1, cfg->nvms);
		if (vm_create(vm, i, bi, &pf)) {
			vm_run(vm, hw.ncpus);
			verdict = vm_report(vm);
		} else {
			log_err("vm %s: not started", cfg->vms[i].name);
		}
		verdicts[i] = verdict;
		if (verdict == VERDICT_PASS)
			passed++;
		else if (verdict == VERDICT_SKIP)
			skipped++;
		else
			failed++;
	}
	print_summary(cfg->nvms, verdicts);
	log_info("vmm: %u VM(s): %u passed, %u skipped, %u failed", cfg->nvms, passed, skipped, failed);
	hv_exit(failed == 0, failed ? "a VM failed" : 0);
}

void vmm_main(struct boot_info *bi)
{
	const struct hv_config *cfg = &bi->config;
	unsigned i;

	mem_init(bi->pool_base, bi->pool_size);
	hw_setup_boot_cpu(bi);
	log_info("boot: left boot services after %u ExitBootServices call(s); %lu memory map entries, "
		 "highest address 0x%lx", bi->exit_boot_tries, bi->mmap_entries, bi->max_phys);

	hw_init(bi, &hw);
	save_set_channel(bi->snap_shm_base, bi->snap_shm_size);
	kvmclock_set_boot_wall(bi->wall_ns, bi->wall_tsc, hw.tsc.tsc_khz);
	cpumodel_init();
	if (cfg->test_skew_cycles) {
		if (cfg->test_skew_cpu >= MAX_CPUS)
			hv_panic("config: test_tsc_skew names CPU %u; at most %u CPUs", cfg->test_skew_cpu,
				 MAX_CPUS);
		pcpus[cfg->test_skew_cpu].tsc_skew = cfg->test_skew_cycles;
		log_warn("smp: TEST OPTION test_tsc_skew: pCPU %u pretends its TSC is %ld cycles off; "
			 "only for testing the unsynchronised path", cfg->test_skew_cpu,
			 cfg->test_skew_cycles);
	}
	hw_start_cpus(bi, &hw);

	log_info("config: %s: log_level %s, tsc_reliable %s%s", bi->config_path,
		 log_level_name(cfg->log_level), cfg->tsc_reliable ? "yes" : "no",
		 cfg->dry_run ? ", dry_run (no VM will run)" : "");
	for (i = 0; i < cfg->nvms; i++) {
		const struct vm_config *vm = &cfg->vms[i];

		log_info("config: VM '%s': kernel %s, memory %u MiB, vcpus %u, tsc_mode %s, tsc_khz %u%s",
			 vm->name, vm->kernel, vm->memory_mib, vm->vcpus, tsc_mode_name(vm->tsc_mode),
			 vm->tsc_khz ? vm->tsc_khz : (unsigned)hw.tsc.tsc_khz, vm->tsc_khz ? "" : " (host)");
	}
	if (cfg->selftest == SELFTEST_FAULT) {
		log_info("selftest: executing UD2 in the hypervisor; a register dump must follow");
		__asm__ volatile("ud2");
	}
	if (!vms_check_kernels(bi)) {
		log_err("vmm: kernel refused; no VM started");
		hv_exit(false, "kernel refused");
	}
	if (cfg->dry_run) {
		log_info("vmm: dry run: %u VM(s) checked, none started", cfg->nvms);
		hv_exit(true, 0);
	}
	run_all(bi);
}
