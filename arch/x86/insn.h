/* Thin wrappers around x86 instructions, for the arch layer. Hypervisor-only
 * (not pure); the architecture's names are in <tscvisor/x86.h>. The few the
 * core may use too (RDTSC, CPUID, PAUSE, CLI, port I/O) are in
 * <tscvisor/hw.h>, included here. */
#ifndef ARCH_X86_INSN_H
#define ARCH_X86_INSN_H

#include <stdint.h>
#include <tscvisor/hw.h>
#include <tscvisor/x86.h>

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define DEFINE_CR(n) \
	static inline uint64_t read_cr##n(void) { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }

#endif
