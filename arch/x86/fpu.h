/* The guest's x87, MMX and SSE registers (the FXSAVE image, SDM Vol. 1
 * 10.5.1): the hardware does not switch them on VM entry or exit, and the
 * hypervisor never uses them (-mgeneral-regs-only), so they stay in the
 * registers while a vCPU runs on a pCPU and are saved and loaded only when
 * another vCPU takes that pCPU or the vCPU moves (vmm/sched.c). */
#ifndef ARCH_X86_FPU_H
#define ARCH_X86_FPU_H

#include <stdint.h>

static inline void fpu_save(uint8_t image[512])
{
	__asm__ volatile("fxsave64 (%0)" : : "r"(image) : "memory");
}

static inline void fpu_load(const uint8_t image[512])
{
	__asm__ volatile("fxrstor64 (%0)" : : "r"(image) : "memory");
}

/* The state after INIT (SDM Vol. 3A table 9-1): x87 FNINIT, MXCSR 0x1f80,
 * XMM registers 0. */
static inline void fpu_reset(void)
{
	static const uint8_t zero[512] __attribute__((aligned(16))) = {
		[24] = 0x80, [25] = 0x1f,        /* MXCSR 0x1f80 */
		[0] = 0x7f, [1] = 0x03,          /* FCW 0x037f, as after FNINIT */
	};

	__asm__ volatile("fxrstor64 (%0)" : : "r"(zero) : "memory");
}

/* The image fpu_reset() loads: what a vCPU that never ran has. */
static inline void fpu_init_image(uint8_t image[512])
{
	for (unsigned i = 0; i < 512; i++)
		image[i] = 0;
	image[0] = 0x7f;
	image[1] = 0x03;
	image[24] = 0x80;
	image[25] = 0x1f;
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

#endif
