/* The XSAVE-managed state a VM is offered (XCR0), pure logic: which state
 * components a guest may enable, whether an XSETBV is legal, how large the
 * XSAVE area is, and what CPUID says about it (pure/xstate.c, unit-tested).
 * The hardware side (XSAVE/XRSTOR/XSETBV on a vCPU switch) is
 * arch/x86/fpu.h and vmm/fpuswitch.c. */
#ifndef TSCVISOR_XSTATE_H
#define TSCVISOR_XSTATE_H

#include <stdint.h>

/* XCR0 state components (SDM Vol. 1 13.1). */
#define XS_X87        (1ull << 0)
#define XS_SSE        (1ull << 1)
#define XS_AVX        (1ull << 2)
#define XS_BNDREGS    (1ull << 3)
#define XS_BNDCSR     (1ull << 4)
#define XS_OPMASK     (1ull << 5)
#define XS_ZMM_HI256  (1ull << 6)
#define XS_HI16_ZMM   (1ull << 7)
#define XS_PKRU       (1ull << 9)
#define XS_AVX512     (XS_OPMASK | XS_ZMM_HI256 | XS_HI16_ZMM)

/* The per-vCPU XSAVE area (standard format): x87/SSE, header, AVX and the
 * AVX-512 components and PKRU fit (2696 bytes on the CPUs we know). */
#define XSTATE_AREA_MAX 4096
#define XSTATE_LEGACY   512
#define XSTATE_HDR      64

/* The host's XSAVE layout: CPUID.(EAX=0DH, ECX=i) EAX/EBX for i >= 2. */
struct xstate_layout {
	uint32_t size[64], offset[64];
};

/* Components a guest may enable in XCR0, from what the host supports
 * (CPUID.0DH.0 EDX:EAX): x87, SSE, AVX, the three AVX-512 components, each
 * only with what it depends on, and only when its area fits. MPX, PKRU, AMX
 * and the supervisor components are never offered. */
uint64_t xstate_offered(uint64_t host_supported, const struct xstate_layout *l);
/* Components the hypervisor switches between vCPUs: every one the host
 * has whose area fits, offered or not. A guest reaches a component only
 * through XCR0, which XSETBV checks; but a guest can set CR4.PKE on SVM
 * without an exit and write PKRU, and an emulator without the XSETBV
 * intercept (QEMU's TCG) lets it set any XCR0 its CPU has: all of that
 * stays the guest's own too. */
uint64_t xstate_switched(uint64_t host_supported, uint64_t offered, const struct xstate_layout *l);
/* Size in bytes of a standard-format XSAVE area holding `mask`. */
uint32_t xstate_size(uint64_t mask, const struct xstate_layout *l);

/* XSETBV (SDM Vol. 2 XSETBV, Vol. 1 13.3): 6 (#UD) when CR4.OSXSAVE is 0
 * or XSAVE is not offered at all; 13 (#GP(0)) at CPL > 0, for ECX != 0,
 * bit 0 clear, a bit not offered, AVX without SSE, AVX-512 components not
 * all together or without AVX, BNDREGS/BNDCSR not together; 0 when legal. */
int xstate_xsetbv_check(uint64_t offered, unsigned cpl, int cr4_osxsave, uint32_t ecx,
			uint64_t val);

/* CPUID leaves 1, 7 and 0DH as the guest sees them: the instruction sets
 * whose state is not offered are hidden, leaf 0DH lists only the offered
 * components (guest_xcr0: the sizes in leaf 0DH.0 EBX depend on it). The
 * host's values come in r[4] and are edited in place. */
void xstate_cpuid(uint32_t leaf, uint32_t subleaf, uint64_t offered, uint64_t guest_xcr0,
		  const struct xstate_layout *l, uint32_t r[4]);

#endif
