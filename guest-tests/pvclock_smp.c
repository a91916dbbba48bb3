/* pvclock_smp — kvmclock across vCPUs, in the spirit of kvm-unit-tests'
 * kvmclock_test: every CPU enables its own pvclock area and reads the time
 * through it, repeatedly, under one lock, comparing with the last time any
 * CPU read; a warp is a time below it. With PVCLOCK_TSC_STABLE_BIT (one
 * master pair for every vCPU) 0 warps is required. Meanwhile CPU 0 makes
 * the hypervisor rewrite every area again and again (the pvclock refresh
 * hypercall) so that readers run into updates: a torn read (fields of two
 * updates mixed) would show as a scale that matches no update, or as a warp.
 * Last, with apart=1, CPU 1 moves its own TSC (IA32_TSC_ADJUST): the VM's
 * vCPUs then no longer share one TSC and every area must drop the stable bit.
 *
 * Options: reads=N per CPU (default 100000); expect_stable=0|1 (default 1);
 * hammer=0|1 (default 1); apart=0|1 (default 1 when >1 CPU). Skips (77)
 * without the KVM signature (bare QEMU TCG). */
#include "guest.h"
#include "pvclock.h"

#define MSR_TSC_ADJUST 0x3bu

static struct pvclock_area areas[MAX_CPUS] __attribute__((aligned(64)));
static struct spinlock lock;
static volatile u64 last_ns;
static volatile u32 readers_done;
static struct barrier start;
static u64 reads;
static bool hammer;

struct percpu {
	u64 warps, max_warp, torn, retries, updates;
	u32 first_mul;
	int8_t first_shift;
	bool enabled, stable;
} __attribute__((aligned(64)));
static struct percpu per[MAX_CPUS];

static void enable_fn(unsigned cpu, void *arg)
{
	struct pvclock_snap s;

	(void)arg;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)&areas[cpu] | 1);
	per[cpu].enabled = pvclock_read(&areas[cpu], &s);
	per[cpu].first_mul = s.f.tsc_to_system_mul;
	per[cpu].first_shift = s.f.tsc_shift;
	per[cpu].stable = s.f.flags & PVCLOCK_FLAG_STABLE;
}

static void warp_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];
	u64 i;

	(void)arg;
	barrier_wait(&start, 10000);
	for (i = 0; i < reads; i++) {
		struct pvclock_snap s = { 0 };

		if (hammer && cpu == 0 && (i & 15) == 0)
			tv_hypercall(TV_HC_PVCLOCK_REFRESH, 0, 0, 0, 0);
		spin_lock(&lock);
		if (!pvclock_read(&areas[cpu], &s)) {
			spin_unlock(&lock);
			p->torn++;
			continue;
		}
		if (s.ns < last_ns) {
			p->warps++;
			if (last_ns - s.ns > p->max_warp)
				p->max_warp = last_ns - s.ns;
		}
		last_ns = s.ns;
		spin_unlock(&lock);
		/* Every update publishes the same scale: anything else is a
		 * mix of two updates (or garbage). */
		if (s.f.tsc_to_system_mul != p->first_mul || s.f.tsc_shift != p->first_shift)
			p->torn++;
		p->retries += s.retries;
	}
	atomic_inc(&readers_done);
}

/* Only CPU 1 moves its own TSC (by 10^6 cycles, through TSC_ADJUST). */
static void apart_fn(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu == 1)
		wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + 1000000);
}

static void stable_fn(unsigned cpu, void *arg)
{
	struct pvclock_snap s;

	(void)arg;
	per[cpu].stable = pvclock_read(&areas[cpu], &s) && (s.f.flags & PVCLOCK_FLAG_STABLE);
}

void test_main(const struct mb_info *mbi)
{
	u64 expect_stable = cmdline_u64("expect_stable", 1, NULL);
	u64 warps = 0, max_warp = 0, torn = 0, retries = 0;
	bool all_enabled = true, all_stable = true, none_stable = true, apart;
	unsigned n, cpu;
	u32 max;

	(void)mbi;
	plan(6);
	if (!kvm_signature(&max)) {
		skip_rest("no KVM signature at CPUID 0x40000000: no kvmclock here");
	}
	reads = cmdline_u64("reads", 100000, NULL);
	hammer = cmdline_u64("hammer", 1, NULL);
	n = smp_init();
	apart = cmdline_u64("apart", n > 1, NULL) && n > 1;
	barrier_init(&start, n);
	smp_call_all(enable_fn, NULL, 10000);
	for (cpu = 0; cpu < n; cpu++) {
		all_enabled = all_enabled && per[cpu].enabled;
		all_stable = all_stable && per[cpu].stable;
		none_stable = none_stable && !per[cpu].stable;
	}
	ok(all_enabled, "every CPU (%u) enabled its own pvclock area and read it", n);
	ok(expect_stable ? all_stable : none_stable, "PVCLOCK_TSC_STABLE_BIT %s on every area",
	   expect_stable ? "set" : "clear");
	smp_call_all(warp_fn, NULL, 600000);
	for (cpu = 0; cpu < n; cpu++) {
		warps += per[cpu].warps;
		torn += per[cpu].torn;
		retries += per[cpu].retries;
		if (per[cpu].max_warp > max_warp)
			max_warp = per[cpu].max_warp;
	}
	diag("%u CPU(s) x %llu reads, %llu retries on an odd or changed version, hammer %s",
	     n, (unsigned long long)reads, (unsigned long long)retries, hammer ? "on" : "off");
	ok(readers_done == n, "every CPU finished its reads (%u of %u)", readers_done, n);
	ok(!warps || !expect_stable, "no pvclock warp across CPUs: %llu warp(s), largest %llu ns",
	   (unsigned long long)warps, (unsigned long long)max_warp);
	ok(!torn, "no torn read while the hypervisor rewrote the areas (%llu)",
	   (unsigned long long)torn);
	if (apart) {
		smp_call_all(apart_fn, NULL, 10000);
		smp_call_all(stable_fn, NULL, 10000);
		none_stable = true;
		for (cpu = 0; cpu < n; cpu++)
			none_stable = none_stable && !per[cpu].stable;
		ok(none_stable, "after CPU 1 moved its own TSC, no area carries the stable bit");
	} else {
		skip("one CPU: no TSC to write apart");
	}
	done();
}
