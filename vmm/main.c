/* The arch-neutral core's entry: runs on the hypervisor's own stack once the
 * firmware is gone. */
#include <tscvisor/bootinfo.h>
#include <tscvisor/cpumodel.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include "calib_hw.h"
#include "cpu.h"
#include "cpu_setup.h"
#include "vendor.h"
#include "apic.h"
#include "percpu.h"
#include "smp.h"
#include <tscvisor/vmrun.h>
#include <tscvisor/kvmclock.h>

static struct cpu_info boot_cpu;
static struct host_tsc host_tsc;
static struct tsc_sync_result tsc_sync;
static unsigned npcpus = 1;

static void print_calibration(const struct host_tsc *t)
{
	if (t->source == CALIB_PM_TIMER || t->source == CALIB_PIT)
		log_info("calib: host TSC %llu kHz, measured against the %s (found by %s, port 0x%x): "
			 "%u windows of %u ms, %llu..%llu kHz, spread %u ppm; %u set aside (stalled at an edge)",
			 (unsigned long long)t->khz, calib_source_name(t->source),
			 t->ref_found_by ? t->ref_found_by : "?",
			 t->source == CALIB_PIT ? 0x42 : t->ref_port, t->measured.windows,
			 CALIB_WINDOW_MS, (unsigned long long)t->measured.min_khz,
			 (unsigned long long)t->measured.max_khz, t->measured.spread_ppm,
			 t->measured.rejected);
	else
		log_info("calib: host TSC %llu kHz (source: %s)", (unsigned long long)t->khz,
			 calib_source_name(t->source));
	if (t->cpuid16_khz && t->source != CALIB_CPUID_16H) {
		uint64_t a = t->khz, b = t->cpuid16_khz, diff = a > b ? a - b : b - a;

		if (diff * 100 > a)
			log_warn("calib: CPUID 0x16 claims %llu kHz, %llu kHz off the measurement; ignored",
				 (unsigned long long)b, (unsigned long long)diff);
	}
}

static const struct vendor_ops *choose_backend(const struct cpu_info *ci)
{
	if (ci->svm && !ci->svm_disabled && ci->svm_npt)
		return &svm_ops;
	if (ci->vmx && !ci->vmx_locked_off && ci->vmx_ept && ci->vmx_unrestricted)
		return &vmx_ops;
	if (ci->vmx)
		log_err("vmm: VMX %s", ci->vmx_locked_off ?
			"is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX outside SMX)" :
			"lacks EPT or unrestricted guest, which the VMX backend needs");
	else if (ci->svm)
		log_err("vmm: SVM %s", ci->svm_disabled ? "is disabled by the firmware (VM_CR.SVMDIS)"
						       : "has no nested paging (NPT)");
	return NULL;
}

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
		log_raw("%-16s %-9s %-7s %12llu %12llu %10llu %10llu %10llu  %s\n", vm->name,
			vm->time.d.reason[0] ? tsc_mode_name(vm->time.d.mode) : "-",
			vm->time.d.trap_rdtsc ? "yes" : "no",
			(unsigned long long)vm->time.emul.guest_khz,
			(unsigned long long)vm->uart.reported_khz, (unsigned long long)total,
			(unsigned long long)vm_exit_count(vm, EXIT_RDTSC),
			(unsigned long long)vm_exit_count(vm, EXIT_RDTSCP), names[verdicts[i]]);
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

	pf.ops = choose_backend(&boot_cpu);
	if (!pf.ops)
		hv_exit(false, "no usable virtualisation backend");
	if (pf.ops->cpu_enable())
		hv_exit(false, "cannot enable the virtualisation extension");
	log_info("vmm: %s backend enabled", pf.ops->name);
	pf.pm_timer_port = host_tsc.source == CALIB_PM_TIMER ? host_tsc.ref_port : 0;
	pf.pm_timer_32bit = host_tsc.ref_32bit;
	pf.tsc.tsc_khz = host_tsc.khz;
	pf.tsc.invariant = boot_cpu.invariant_tsc;
	pf.tsc.synchronised = tsc_sync.reliable;
	pf.tsc.vouched = cfg->tsc_reliable;
	if (pf.ops == &svm_ops) {
		pf.tsc.hw_scaling = boot_cpu.svm_tsc_ratio;
		pf.tsc.scale_frac = TSC_SVM_FRAC;
		pf.tsc.max_ratio = TSC_SVM_MAX_RATIO;
	} else if (pf.ops == &vmx_ops) {
		pf.tsc.hw_scaling = boot_cpu.vmx_tsc_scaling;
		pf.tsc.scale_frac = TSC_VMX_FRAC;
		pf.tsc.max_ratio = TSC_VMX_MAX_RATIO;
	}
	for (i = 0; i < cfg->nvms; i++) {
		struct vm *vm = &vms[i];
		enum vm_verdict verdict = VERDICT_FAIL;

		log_info("vm %s: starting (%u of %u)", cfg->vms[i].name, i + 1, cfg->nvms);
		if (vm_create(vm, i, bi, &pf)) {
			vm_run(vm, npcpus);
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
	arch_cpu_setup_bsp(bi);
	log_info("boot: left boot services after %u ExitBootServices call(s); %llu memory map entries, "
		 "highest address 0x%llx", bi->exit_boot_tries, (unsigned long long)bi->mmap_entries,
		 (unsigned long long)bi->max_phys);

	cpu_discover(&boot_cpu);
	cpu_print(&boot_cpu);
	if (calib_host_tsc(&boot_cpu, bi->rsdp, &host_tsc))
		hv_panic("calib: no way to measure the host TSC (no PM timer, no PIT, no CPUID 0x15/0x16)");
	print_calibration(&host_tsc);

	apic_init_cpu();
	apic_timer_calibrate(host_tsc.khz);
	kvmclock_set_boot_wall(bi->wall_ns, bi->wall_tsc, host_tsc.khz);
	cpumodel_init();
	if (cfg->test_skew_cycles) {
		if (cfg->test_skew_cpu >= MAX_CPUS)
			hv_panic("config: test_tsc_skew names CPU %u; at most %u CPUs", cfg->test_skew_cpu,
				 MAX_CPUS);
		pcpus[cfg->test_skew_cpu].tsc_skew = cfg->test_skew_cycles;
		log_warn("smp: TEST OPTION test_tsc_skew: pCPU %u pretends its TSC is %lld cycles off; "
			 "only for testing the unsynchronised path", cfg->test_skew_cpu,
			 (long long)cfg->test_skew_cycles);
	}
	npcpus = smp_start_aps(bi, host_tsc.khz);
	smp_tsc_sync_check(&tsc_sync);
	log_info("smp: TSC sync check over %u CPU(s): %llu reads (%llu after another CPU's), %llu warps, "
		 "largest %llu cycles: host TSC %s", tsc_sync.cpus, (unsigned long long)tsc_sync.checks,
		 (unsigned long long)tsc_sync.handoffs,
		 (unsigned long long)tsc_sync.warps, (unsigned long long)tsc_sync.max_warp,
		 tsc_sync.reliable ? "synchronised" : "NOT synchronised");

	log_info("config: %s: log_level %s, tsc_reliable %s%s", bi->config_path,
		 log_level_name(cfg->log_level), cfg->tsc_reliable ? "yes" : "no",
		 cfg->dry_run ? ", dry_run (no VM will run)" : "");
	for (i = 0; i < cfg->nvms; i++) {
		const struct vm_config *vm = &cfg->vms[i];

		log_info("config: VM '%s': kernel %s, memory %u MiB, vcpus %u, tsc_mode %s, tsc_khz %u%s",
			 vm->name, vm->kernel, vm->memory_mib, vm->vcpus, tsc_mode_name(vm->tsc_mode),
			 vm->tsc_khz ? vm->tsc_khz : (unsigned)host_tsc.khz, vm->tsc_khz ? "" : " (host)");
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
