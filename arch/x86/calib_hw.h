#ifndef ARCH_X86_CALIB_HW_H
#define ARCH_X86_CALIB_HW_H

#include <stdint.h>
#include <tscvisor/calib.h>
#include "cpu.h"

#define CALIB_WINDOWS 7
#define CALIB_WINDOW_MS 40

struct host_tsc {
	uint64_t khz;                /* the host TSC rate everything else uses */
	enum calib_source source;
	uint16_t ref_port;           /* PM timer port when measured against it */
	bool ref_32bit;              /* that PM timer is 32 bits wide */
	const char *ref_found_by;    /* "FADT", "PCI PIIX4", "PCI ICH9", ... */
	struct calib_result measured;/* when measured */
	uint64_t cpuid16_khz;        /* CPUID 0x16 claim, for a sanity warning */
};

/* Determine the host TSC rate. Returns 0, or -1 when no source works. */
int calib_host_tsc(const struct cpu_info *ci, uint64_t rsdp, struct host_tsc *out);

#endif
