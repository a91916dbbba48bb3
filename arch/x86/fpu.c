/* What the machine offers for the guests' XSAVE state (<tscvisor/hw.h>, arch/x86/fpu.h). */
#include <tscvisor/log.h>
#include "fpu.h"
#include "insn.h"

struct fpu_host fpu_host;

void fpu_host_init(void)
{
	uint32_t r[4];
	unsigned i;

	cpuid(1, r);
	if (!(r[2] & (1u << 26)) || !(read_cr4() & X86_CR4_OSXSAVE))   /* CPUID.1:ECX.XSAVE */
		return;
	cpuid_count(0xd, 0, r);
	fpu_host.supported = r[0] | ((uint64_t)r[3] << 32);
	for (i = 2; i < 64; i++) {
		if (!((fpu_host.supported >> i) & 1))
			continue;
		cpuid_count(0xd, i, r);
		fpu_host.layout.size[i] = r[0];
		fpu_host.layout.offset[i] = r[1];
	}
	fpu_host.offered = xstate_offered(fpu_host.supported, &fpu_host.layout);
	fpu_host.switched = xstate_switched(fpu_host.supported, fpu_host.offered, &fpu_host.layout);
	fpu_host.xsave = fpu_host.offered != 0;
	log_info("fpu: XSAVE: host components 0x%lx, guests may enable 0x%lx, switched 0x%lx "
		 "(%u bytes)", fpu_host.supported,
		 fpu_host.offered, fpu_host.switched,
		 xstate_size(fpu_host.switched, &fpu_host.layout));
}
