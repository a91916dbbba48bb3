/* pvclock.h — guest-side kvmclock and tscvisor time-leaf helpers for the
 * guest tests (pvclock, timeleaf, tsc_msrs, bench). Written from the guest's
 * point of view, independently of the hypervisor's pure/pvclock.c, so that a
 * test compares two implementations of the ABI (docs/abi.md).
 *
 * Everything here is single-vCPU; names carry a pvclock_ / tv_ prefix so
 * they cannot clash with the rest of the library. */
#ifndef GUEST_PVCLOCK_H
#define GUEST_PVCLOCK_H

#include "guest.h"

/* ---- kvmclock ABI (Linux Documentation/virt/kvm/cpuid.rst, msr.rst) ---- */
#define KVM_LEAF_SIGNATURE	0x40000000u
#define KVM_LEAF_FEATURES	0x40000001u
#define KVM_LEAF_TIMING		0x40000010u	/* EAX TSC kHz, EBX LAPIC timer kHz */
#define KVM_FEAT_CLOCKSOURCE	(1u << 0)
#define KVM_FEAT_CLOCKSOURCE2	(1u << 3)
#define KVM_FEAT_STABLE_BIT	(1u << 24)

#define MSR_KVM_WALL_CLOCK_OLD	0x11u
#define MSR_KVM_SYSTEM_TIME_OLD	0x12u
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01u

#define PVCLOCK_FLAG_STABLE	(1u << 0)
#define PVCLOCK_FLAG_STOPPED	(1u << 1)

struct pvclock_area {			/* pvclock_vcpu_time_info, 32 bytes */
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	int8_t tsc_shift;
	u8 flags;
	u8 pad[2];
} __attribute__((packed));

struct pvclock_wall {			/* pvclock_wall_clock, 12 bytes */
	u32 version;
	u32 sec;
	u32 nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_area) == 32, "kvmclock ABI");
_Static_assert(sizeof(struct pvclock_wall) == 12, "kvmclock ABI");

/* ---- tscvisor's own leaves and hypercalls (docs/abi.md) ---- */
#define TV_LEAF_SIGNATURE	0x40000100u	/* EAX max leaf, "TSCVisorTSCV" */
#define TV_LEAF_TIME		0x40000101u
#define TV_LEAF_SCALE		0x40000102u	/* EAX mul, EBX shift, ECX:EDX guest rate kHz */
#define TV_SIG_EBX		0x56435354u	/* "TSCV" */
#define TV_SIG_ECX		0x726f7369u	/* "isor" */
#define TV_SIG_EDX		0x56435354u	/* "TSCV" */
#define TV_TIME_TRAPPED		(1u << 0)	/* RDTSC/RDTSCP exit now */
#define TV_TIME_HOST_RELIABLE	(1u << 1)
#define TV_TIME_HW_SCALING	(1u << 2)
#define TV_TIME_PV_FAST_PATH	(1u << 3)
#define TV_TIME_RATE_GUARANTEED	(1u << 4)	/* = CPUID 0x80000007 EDX[8] */
#define TV_TIME_FLAGS_KNOWN	0x1fu
/* 0x40000101 EBX: bits 7:0 the effective mode, 15:8 the configured one. */
#define TV_MODE_AUTO		0u		/* configured only */
#define TV_MODE_NATIVE		1u
#define TV_MODE_EMULATE		2u
#define TV_MODE_PVRDTSCP	3u

#define TV_HC_NULL		0u	/* returns 0 */
#define TV_HC_PVCLOCK_FAST	1u	/* RBX 1 on, 0 off: 0, or -1 outside emulate mode */
#define TV_HC_PVCLOCK_REFRESH	2u	/* rewrite every area: how many */
#define TV_HC_SAVE		3u	/* snapshot now (save/restore) */
#define TV_HC_PVCLOCK_WINDOW	4u	/* proposed: RBX page GPA, 0 removes */
#define TV_HC_ENOSYS		(-1000)

/* ---- detection ---- */
/* CPUID.1:ECX[31], then leaf 0x40000000 reads "KVMKVMKVM\0\0\0". *max gets
 * its EAX (0 when absent). */
bool kvm_signature(u32 *max);
/* Leaf 0x40000100 reads "TSCVisorTSCV"; *max gets its EAX. */
bool tv_signature(u32 *max);
/* EBX:ECX:EDX of a leaf as 12 characters (non-printable bytes as '.'). */
const char *tv_sig_str(struct cpuid_regs r, char buf[13]);
/* CPUID vendor is GenuineIntel (VMCALL) rather than AMD (VMMCALL). */
bool tv_cpu_intel(void);

/* ---- hypercall: RAX number, RBX RCX RDX RSI arguments, RAX result ---- */
s64 tv_hypercall(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3);

/* ---- reading the clock ---- */
/* RDTSC after LFENCE: not executed ahead of the loads before it. */
static inline u64 pvclock_rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((u64)hi << 32) | lo;
}

/* The guest formula: shift, then a 64x32 multiply keeping bits 32..95. */
static inline u64 pvclock_scale(u64 delta, u32 mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (u64)(((u128)delta * mul) >> 32);
}

struct pvclock_snap {
	struct pvclock_area f;		/* consistent copy (even version) */
	u64 tsc;			/* the TSC the time was computed for */
	u64 ns;				/* f.system_time + scale(tsc - f.tsc_timestamp) */
	u32 retries;			/* attempts that saw an odd or changed version */
};

/* The guest's read: version, (odd: again), fields and TSC, version again
 * (changed: again). False after 10^6 failed attempts. */
bool pvclock_read(const volatile struct pvclock_area *a, struct pvclock_snap *s);
/* Time only: the smallest read, inline (what the bench measures, as a
 * vDSO would inline it). An odd version fails the final comparison by
 * itself (v & ~1 != v), so it needs no test of its own. */
static inline u64 pvclock_read_ns_inline(const volatile struct pvclock_area *a)
{
	u32 v;
	u64 ns;

	do {
		u64 d;
		int8_t shift;

		v = a->version & ~1u;
		__asm__ volatile("" ::: "memory");
		d = pvclock_rdtsc() - a->tsc_timestamp;
		shift = a->tsc_shift;
		if (shift < 0)
			d >>= -shift;
		else
			d <<= shift;
		ns = a->system_time + (u64)(((u128)d * a->tsc_to_system_mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while (v != a->version);
	return ns;
}
/* The same, out of line. */
u64 pvclock_read_ns(const volatile struct pvclock_area *a);

/* ns of pvclock time across at least pm_ticks PM timer ticks, from one PM
 * edge to another, each edge bracketed by two pvclock reads (a wide bracket
 * is skipped, as clock.c does for the TSC). *err: bound on each edge's
 * error in ns. False when the timer or the clock is stuck. */
bool pvclock_measure_window(const struct pmtimer *pm, const volatile struct pvclock_area *a,
			    u32 pm_ticks, u64 *ns, u64 *pm_acc, u64 *err);

/* The top of RAM from the multiboot memory map (highest end of a type 1
 * region), else from mem_upper; 0 when neither is there. */
u64 mb_ram_top(void);

#endif
