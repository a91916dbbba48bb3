/* Platform bring-up for the core (<tscvisor/hw.h>): the boot CPU's tables,
 * what the CPU offers, the host TSC's rate, the local APIC timer, the other
 * CPUs and the choice of the virtualisation backend. The core (vmm/main.c)
 * decides the order against its own steps; everything x86 is here. */
#include <tscvisor/bootinfo.h>
#include <tscvisor/hw.h>
#include <tscvisor/log.h>
#include "apic.h"
#include "calib_hw.h"
#include "cpu.h"
#include "cpu_setup.h"
#include "smp.h"
#include "vendor.h"

static struct cpu_info boot_cpu;

static void print_calibration(const struct host_tsc *t)
{
	if (t->source == CALIB_PM_TIMER || t->source == CALIB_PIT)
		log_info("calib: host TSC %lu kHz, measured against the %s (found by %s, port 0x%x): "
			 "%u windows of %u ms, %lu..%lu kHz, spread %u ppm; %u set aside (stalled at an edge)",
			 t->khz, calib_source_name(t->source),
			 t->ref_found_by ? t->ref_found_by : "?",
			 t->source == CALIB_PIT ? 0x42 : t->ref_port, t->measured.windows,
			 CALIB_WINDOW_MS, t->measured.min_khz, t->measured.max_khz, t->measured.spread_ppm,
			 t->measured.rejected);
	else
		log_info("calib: host TSC %lu kHz (source: %s)", t->khz, calib_source_name(t->source));
	if (t->cpuid16_khz && t->source != CALIB_CPUID_16H) {
		uint64_t a = t->khz, b = t->cpuid16_khz, diff = a > b ? a - b : b - a;

		if (diff * 100 > a)
			log_warn("calib: CPUID 0x16 claims %lu kHz, %lu kHz off the measurement; ignored",
				 b, diff);
	}
}

void hw_setup_boot_cpu(const struct boot_info *bi)
{
	arch_cpu_setup_bsp(bi);
}

void hw_init(const struct boot_info *bi, struct hw_info *hw)
{
	struct host_tsc host_tsc;

	cpu_discover(&boot_cpu);
	cpu_print(&boot_cpu);
	if (calib_host_tsc(&boot_cpu, bi->rsdp, &host_tsc))
		hv_panic("calib: no way to measure the host TSC (no PM timer, no PIT, no CPUID 0x15/0x16)");
	print_calibration(&host_tsc);
	apic_init_cpu();
	apic_timer_calibrate(host_tsc.khz);
	hw->tsc.tsc_khz = host_tsc.khz;
	hw->tsc.invariant = boot_cpu.invariant_tsc;
	hw->pm_timer_port = host_tsc.source == CALIB_PM_TIMER ? host_tsc.ref_port : 0;
	hw->pm_timer_32bit = host_tsc.ref_32bit;
	hw->ncpus = 1;
}

void hw_start_cpus(const struct boot_info *bi, struct hw_info *hw)
{
	struct tsc_sync_result sync;

	hw->ncpus = smp_start_aps(bi, hw->tsc.tsc_khz);
	smp_tsc_sync_check(&sync);
	log_info("smp: TSC sync check over %u CPU(s): %lu reads (%lu after another CPU's), %lu warps, "
		 "largest %lu cycles: host TSC %s", sync.cpus, sync.checks, sync.handoffs, sync.warps,
		 sync.max_warp, sync.reliable ? "synchronised" : "NOT synchronised");
	hw->tsc.synchronised = sync.reliable;
}

/* SVM wants nested paging; VMX EPT and unrestricted guest (real mode and
 * the guests' own paging set-up run as they are). */
void hw_select_backend(struct hw_info *hw)
{
	const struct cpu_info *ci = &boot_cpu;

	hw->ops = NULL;
	if (ci->svm && !ci->svm_disabled && ci->svm_npt) {
		hw->ops = &svm_ops;
		hw->tsc.hw_scaling = ci->svm_tsc_ratio;
	} else if (ci->vmx && !ci->vmx_locked_off && ci->vmx_ept && ci->vmx_unrestricted) {
		hw->ops = &vmx_ops;
		hw->tsc.hw_scaling = ci->vmx_tsc_scaling;
	} else if (ci->vmx) {
		log_err("vmm: VMX %s", ci->vmx_locked_off ?
			"is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX outside SMX)" :
			"lacks EPT or unrestricted guest, which the VMX backend needs");
	} else if (ci->svm) {
		log_err("vmm: SVM %s", ci->svm_disabled ? "is disabled by the firmware (VM_CR.SVMDIS)"
						       : "has no nested paging (NPT)");
	}
	if (hw->ops) {
		hw->tsc.scale_frac = hw->ops->tsc_scale_frac;
		hw->tsc.max_ratio = hw->ops->tsc_max_ratio;
	}
}
