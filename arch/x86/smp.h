/* Bringing up the other physical CPUs, and what all CPUs then share. */
#ifndef ARCH_X86_SMP_H
#define ARCH_X86_SMP_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/spinlock.h>

struct boot_info;

struct tsc_sync_result {
	unsigned cpus;
	uint64_t checks;         /* reads compared */
	uint64_t handoffs;       /* reads that followed another CPU's */
	uint64_t warps;          /* reads below the last read of any CPU */
	uint64_t max_warp;       /* cycles */
	bool reliable;
};

/* Start every AP (MADT list, or a broadcast INIT-SIPI-SIPI without ACPI);
 * each ends in the core's ap_idle_loop() (<tscvisor/hw.h>). Returns the
 * number of CPUs online, BSP included. */
unsigned smp_start_aps(const struct boot_info *bi, uint64_t tsc_khz);
unsigned smp_cpus_online(void);
/* Cross-CPU TSC warp check (in the spirit of Linux's check_tsc_warp): every
 * online CPU reads the TSC under one lock, comparing with the last value read
 * by any CPU. Called on the BSP; the APs join. */
void smp_tsc_sync_check(struct tsc_sync_result *res);

#endif
