/* The arch-neutral core's entry: runs on the hypervisor's own stack once the
 * firmware is gone. */
#include <tscvisor/bootinfo.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include "calib_hw.h"
#include "cpu.h"
#include "cpu_setup.h"

static struct cpu_info boot_cpu;
static struct host_tsc host_tsc;

static void print_calibration(const struct host_tsc *t)
{
	if (t->source == CALIB_PM_TIMER || t->source == CALIB_PIT)
		log_info("calib: host TSC %llu kHz, measured against the %s (found by %s, port 0x%x): "
			 "%u windows of %u ms, %llu..%llu kHz, spread %u ppm",
			 (unsigned long long)t->khz, calib_source_name(t->source),
			 t->ref_found_by ? t->ref_found_by : "?",
			 t->source == CALIB_PIT ? 0x42 : t->ref_port, t->measured.windows,
			 CALIB_WINDOW_MS, (unsigned long long)t->measured.min_khz,
			 (unsigned long long)t->measured.max_khz, t->measured.spread_ppm);
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

	log_info("config: %s: log_level %s, tsc_reliable %s", bi->config_path,
		 log_level_name(cfg->log_level), cfg->tsc_reliable ? "yes" : "no");
	for (i = 0; i < cfg->nvms; i++) {
		const struct vm_config *vm = &cfg->vms[i];

		log_info("config: VM '%s': kernel %s, memory %u MiB, vcpus %u, tsc_mode %s, tsc_khz %u%s",
			 vm->name, vm->kernel, vm->memory_mib, vm->vcpus, tsc_mode_name(vm->tsc_mode),
			 vm->tsc_khz ? vm->tsc_khz : (unsigned)host_tsc.khz, vm->tsc_khz ? "" : " (host)");
	}
	log_warn("vmm: no VM backend yet: %u VM(s) loaded but not started", cfg->nvms);
	hv_exit(true, 0);
}
