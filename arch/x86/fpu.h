/* The x87/SSE/XSAVE state switch: the primitives and the host's XSAVE
 * description (struct fpu_host) are in <tscvisor/hw.h>, since the core
 * (vmm/fpuswitch.c, vmm/save.c) uses them; what only the arch layer needs is
 * here. */
#ifndef ARCH_X86_FPU_H
#define ARCH_X86_FPU_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/hw.h>

/* Fill fpu_host; the boot CPU has already set CR4.OSXSAVE when CPUID.1
 * ECX[26] says XSAVE. */
void fpu_host_init(void);

/* After a guest ran (SVM): its XSETBV should have been intercepted, but
 * QEMU's TCG (7.2) has no XSETBV intercept and lets it write XCR0 itself.
 * Whatever XCR0 holds now is the guest's: keep it, so that it is restored
 * after a switch (every component the CPU has is switched, so nothing
 * leaks; docs/platform.md). Returns true when it had changed. */
static inline bool fpu_xcr0_sync(uint64_t *cur_xcr0, uint64_t *guest_xcr0)
{
	uint64_t x;

	if (!fpu_host.xsave)
		return false;
	x = xcr0_read();
	if (x == *cur_xcr0)
		return false;
	*cur_xcr0 = x;
	*guest_xcr0 = x;
	return true;
}

#endif
