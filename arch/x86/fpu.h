/* The guest's register state that neither VMRUN nor VM entry switches and
 * the hypervisor never uses (it is built with -mgeneral-regs-only and never
 * sets a debug register): x87/MMX/SSE and every other XSAVE component the
 * VM may enable (AVX, AVX-512, and PKRU), XCR0, and DR0-DR3. They stay in
 * the registers while a vCPU runs on a pCPU and are saved and loaded only
 * when another vCPU takes that pCPU or the vCPU moves (vmm/sched.c).
 *
 * Where the CPU has XSAVE the image is a standard-format XSAVE area (SDM
 * Vol. 1 13.4) saved and restored with XCR0 = every switched component, so
 * that a component the guest has just disabled is still carried; without
 * XSAVE it is the 512-byte FXSAVE image (Vol. 1 10.5.1). Either way its
 * first 512 bytes are the FXSAVE layout (a snapshot's FPU section). */
#ifndef ARCH_X86_FPU_H
#define ARCH_X86_FPU_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/xstate.h>

/* What this machine has, found once on the boot CPU (fpu_host_init), the
 * same on every CPU. */
struct fpu_host {
	bool xsave;                   /* CR4.OSXSAVE set on every CPU */
	uint64_t supported;           /* CPUID.0DH.0 EDX:EAX */
	uint64_t offered;             /* what a guest may put in XCR0 */
	uint64_t switched;            /* what a vCPU switch saves and loads */
	struct xstate_layout layout;
};
extern struct fpu_host fpu_host;

/* Fill fpu_host; the boot CPU has already set CR4.OSXSAVE when CPUID.1
 * ECX[26] says XSAVE. */
void fpu_host_init(void);

static inline void xcr0_write(uint64_t val)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void fpu_save(uint8_t image[512])
{
	__asm__ volatile("fxsave64 (%0)" : : "r"(image) : "memory");
}

static inline void fpu_load(const uint8_t image[512])
{
	__asm__ volatile("fxrstor64 (%0)" : : "r"(image) : "memory");
}

/* XSAVE / XRSTOR of the components in mask & XCR0 (64-byte aligned area). */
static inline void xstate_save(uint8_t *area, uint64_t mask)
{
	__asm__ volatile("xsave64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			 : "memory");
}

static inline void xstate_load(const uint8_t *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			 : "memory");
}

/* The state after INIT (SDM Vol. 3A table 9-1) as an image: x87 FNINIT
 * (FCW 0x037f), MXCSR 0x1f80, XMM registers 0; in an XSAVE area the header
 * is zero too (XSTATE_BV = 0: XRSTOR puts every component in its initial
 * configuration, AVX and AVX-512 registers 0, PKRU 0; MXCSR is still taken
 * from the image, Vol. 1 13.8.1). */
static inline void fpu_init_image(uint8_t *image, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		image[i] = 0;
	image[0] = 0x7f;
	image[1] = 0x03;
	image[24] = 0x80;
	image[25] = 0x1f;
}

/* XSAVE leaves the x87 or SSE part of the legacy region unwritten when
 * that component is in its initial configuration (XSTATE_BV bit clear; Vol.
 * 1 13.7): make the region say so, so that its 512 bytes alone (a snapshot)
 * are the registers. */
static inline void fpu_legacy_fixup(uint8_t *image)
{
	uint8_t bv = image[512];
	unsigned i;

	if (!(bv & 1)) {
		for (i = 0; i < 160; i++)
			if (i < 24 || i >= 32)        /* MXCSR and its mask stay */
				image[i] = 0;
		image[0] = 0x7f;
		image[1] = 0x03;
	}
	if (!(bv & 2))
		for (i = 160; i < 416; i++)
			image[i] = 0;
}

/* A 512-byte FXSAVE image (a snapshot's) made the vCPU's: x87 and SSE
 * marked present, every other component initial. */
static inline void fpu_image_from_legacy(uint8_t *image, unsigned len, const uint8_t legacy[512])
{
	for (unsigned i = 0; i < len; i++)
		image[i] = i < 512 ? legacy[i] : 0;
	if (len > 512)
		image[512] = 0x3;                     /* XSTATE_BV: x87, SSE */
}

/* The MXCSR bits this CPU's FXRSTOR accepts (MXCSR_MASK, SDM Vol. 1
 * 11.6.6; 0 there means 0xffbf). */
static inline uint32_t fpu_mxcsr_mask(void)
{
	static uint8_t img[512] __attribute__((aligned(16)));
	uint32_t m;

	fpu_save(img);
	m = (uint32_t)img[28] | (uint32_t)img[29] << 8 | (uint32_t)img[30] << 16 |
	    (uint32_t)img[31] << 24;
	return m ? m : 0xffbf;
}

/* Debug registers DR0-DR3 (SDM Vol. 3B 18.2). */
static inline void dr03_read(uint64_t d[4])
{
	__asm__ volatile("mov %%dr0, %0" : "=r"(d[0]));
	__asm__ volatile("mov %%dr1, %0" : "=r"(d[1]));
	__asm__ volatile("mov %%dr2, %0" : "=r"(d[2]));
	__asm__ volatile("mov %%dr3, %0" : "=r"(d[3]));
}

static inline void dr03_write(const uint64_t d[4])
{
	__asm__ volatile("mov %0, %%dr0" : : "r"(d[0]));
	__asm__ volatile("mov %0, %%dr1" : : "r"(d[1]));
	__asm__ volatile("mov %0, %%dr2" : : "r"(d[2]));
	__asm__ volatile("mov %0, %%dr3" : : "r"(d[3]));
}

static inline void dr7_write(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr7" : : "r"(v));
}

static inline uint64_t xcr0_read(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

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
