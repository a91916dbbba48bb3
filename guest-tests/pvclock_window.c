/* pvclock_window — one address, every vCPU's own clock (docs/abi.md,
 * hypercall 4 in docs/abi.md): after the window hypercall, the page at the
 * window's GPA reads, on each vCPU, that vCPU's pvclock area at offset 0 and
 * its vCPU index at offset 32, so code can read its own CPU's time (and
 * learn which CPU it is on) without asking first and racing a move.
 *
 * Checks:
 *   - refusals: a misaligned GPA and one beyond RAM return -22, no window;
 *   - the window hides the RAM page under it, which comes back (unchanged)
 *     when the window is removed (GPA 0);
 *   - on every CPU: the index at offset 32 is its own (its APIC ID), and the
 *     window holds the same pair as the CPU's own MSR area;
 *   - every CPU reads time through the window, under one lock, while CPU 0
 *     makes the hypervisor rewrite every area: no warp with the stable bit,
 *     no torn read;
 *   - with apart=1 (default with >1 CPU): CPU 1 moves its own TSC; its
 *     window then holds another pair than CPU 0's (the page really is per
 *     vCPU) and still equals its own area, and no window has the stable bit;
 *   - with save=1: the window survives a save and restore (save hypercall,
 *     on_save = restore): each CPU still reads its own index, and the
 *     window shows PVCLOCK_GUEST_STOPPED after it;
 *   - with write=1 (a separate VM): the CPU writes to the window; the
 *     hypervisor must stop the VM (the runner checks the reason), so
 *     reaching the line after the write is a failure.
 *
 * Options: reads=N per CPU (default 20000), expect_stable=0|1 (default 1),
 * apart=0|1, save=0|1 (default 0), write=0|1 (default 0). Skips (77)
 * without the tscvisor time leaf (bare QEMU). */
#include "guest.h"
#include "pvclock.h"

#define MSR_TSC_ADJUST 0x3bu
#define HC_EINVAL (-22)

/* The window's page: guest RAM that the window hides while it is there. */
static u8 page[4096] __attribute__((aligned(4096)));
static struct pvclock_area areas[MAX_CPUS] __attribute__((aligned(64)));
static struct spinlock lock;
static volatile u64 last_ns;
static struct barrier start;
static u64 reads;

struct percpu {
	u64 warps, max_warp, torn;
	u32 index;              /* offset 32 of the window, as this CPU read it */
	u32 apic;               /* CPUID.1:EBX[31:24] */
	bool same_as_area;      /* window pair == own area pair */
	bool stable, stopped;
	u64 tsc_timestamp, system_time;
	u32 first_mul;
	int8_t first_shift;
} __attribute__((aligned(64)));
static struct percpu per[MAX_CPUS];

static const volatile struct pvclock_area *window(void)
{
	return (const volatile struct pvclock_area *)page;
}

static u32 window_index(void)
{
	return *(const volatile u32 *)(page + 32);
}

/* The window and the CPU's own area carry the same update (retried when an
 * update landed between the two reads). */
static void look_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];
	struct pvclock_snap w = { 0 }, a = { 0 };

	(void)arg;
	p->apic = cpuid(1).ebx >> 24;
	p->index = window_index();
	p->same_as_area = false;
	for (int i = 0; i < 100 && !p->same_as_area; i++) {
		if (!pvclock_read(window(), &w) || !pvclock_read(&areas[cpu], &a))
			continue;
		p->same_as_area = w.f.tsc_timestamp == a.f.tsc_timestamp &&
				  w.f.system_time == a.f.system_time &&
				  w.f.tsc_to_system_mul == a.f.tsc_to_system_mul &&
				  w.f.tsc_shift == a.f.tsc_shift;
	}
	p->stable = w.f.flags & PVCLOCK_FLAG_STABLE;
	p->stopped = w.f.flags & PVCLOCK_FLAG_STOPPED;
	p->tsc_timestamp = w.f.tsc_timestamp;
	p->system_time = w.f.system_time;
	p->first_mul = w.f.tsc_to_system_mul;
	p->first_shift = w.f.tsc_shift;
}

static void enable_fn(unsigned cpu, void *arg)
{
	(void)arg;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)&areas[cpu] | 1);
}

static void warp_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];

	(void)arg;
	barrier_wait(&start, 10000);
	for (u64 i = 0; i < reads; i++) {
		struct pvclock_snap s = { 0 };

		if (cpu == 0 && (i & 31) == 0)
			tv_hypercall(TV_HC_PVCLOCK_REFRESH, 0, 0, 0, 0);
		spin_lock(&lock);
		if (!pvclock_read(window(), &s)) {
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
		if (s.f.tsc_to_system_mul != p->first_mul || s.f.tsc_shift != p->first_shift)
			p->torn++;
	}
}

static void apart_fn(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu == 1)
		wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + 1000000);
}

static bool indexes_ok(unsigned n)
{
	for (unsigned cpu = 0; cpu < n; cpu++)
		if (per[cpu].index != per[cpu].apic)
			return false;
	return true;
}

static bool all(unsigned n, bool (*pred)(const struct percpu *))
{
	for (unsigned cpu = 0; cpu < n; cpu++)
		if (!pred(&per[cpu]))
			return false;
	return true;
}

static bool is_same(const struct percpu *p) { return p->same_as_area; }
static bool is_stable(const struct percpu *p) { return p->stable; }
static bool not_stable(const struct percpu *p) { return !p->stable; }
static bool is_stopped(const struct percpu *p) { return p->stopped; }

static void report_indexes(unsigned n)
{
	for (unsigned cpu = 0; cpu < n; cpu++)
		diag("CPU %u: APIC ID %u, window index %u, window pair (%llu, %llu)%s", cpu,
		     per[cpu].apic, per[cpu].index, (unsigned long long)per[cpu].tsc_timestamp,
		     (unsigned long long)per[cpu].system_time,
		     per[cpu].same_as_area ? " = its area's" : " DIFFERS from its area's");
}

void test_main(const struct mb_info *mbi)
{
	u64 expect_stable = cmdline_u64("expect_stable", 1, NULL);
	u64 do_save = cmdline_u64("save", 0, NULL);
	u64 do_write = cmdline_u64("write", 0, NULL);
	u64 warps = 0, max_warp = 0, torn = 0;
	u64 gpa = (u64)(uintptr_t)page;
	s64 r1, r2, rc;
	bool hidden, back, apart;
	unsigned n, cpu, i;
	u32 max;

	(void)mbi;
	plan(10);
	if (!tv_signature(&max))
		skip_rest("no tscvisor time leaf: not under tscvisor");
	if (!kvm_signature(&max))
		skip_rest("no KVM signature: no kvmclock");
	reads = cmdline_u64("reads", 20000, NULL);
	n = smp_init();
	apart = cmdline_u64("apart", n > 1, NULL) && n > 1;
	barrier_init(&start, n);
	for (i = 0; i < sizeof(page); i++)
		page[i] = (u8)(0xa5 ^ i);

	r1 = tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa + 8, 0, 0, 0);
	r2 = tv_hypercall(TV_HC_PVCLOCK_WINDOW, 1ull << 40, 0, 0, 0);
	ok(r1 == HC_EINVAL && r2 == HC_EINVAL && page[0] == 0xa5,
	   "a misaligned GPA (%lld) and one beyond RAM (%lld) are refused with -22, no window",
	   (long long)r1, (long long)r2);

	smp_call_all(enable_fn, NULL, 10000);
	rc = tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa, 0, 0, 0);
	hidden = ((const volatile u8 *)page)[40] == 0 && ((const volatile u8 *)page)[4095] == 0;
	ok(rc == 0 && hidden, "the window at 0x%llx (%lld) hides the RAM page under it",
	   (unsigned long long)gpa, (long long)rc);
	if (do_write) {
		diag("writing to the window: the hypervisor must stop this VM");
		*(volatile u32 *)(page + 64) = 1;
		ok(false, "the write to the read-only window went through");
		done();
	}

	smp_call_all(look_fn, NULL, 10000);
	report_indexes(n);
	ok(indexes_ok(n), "every CPU (%u) reads its own index at offset 32", n);
	ok(all(n, is_same), "every CPU's window holds its own area's pair");
	ok(expect_stable ? all(n, is_stable) : all(n, not_stable), "PVCLOCK_TSC_STABLE_BIT %s",
	   expect_stable ? "set in every window" : "clear in every window");

	smp_call_all(warp_fn, NULL, 600000);
	for (cpu = 0; cpu < n; cpu++) {
		warps += per[cpu].warps;
		torn += per[cpu].torn;
		if (per[cpu].max_warp > max_warp)
			max_warp = per[cpu].max_warp;
	}
	diag("%u CPU(s) x %llu reads through the window", n, (unsigned long long)reads);
	ok(!warps || !expect_stable, "no warp reading the time through the window: %llu warp(s), "
	   "largest %llu ns", (unsigned long long)warps, (unsigned long long)max_warp);
	ok(!torn, "no torn read while the hypervisor rewrote the windows (%llu)",
	   (unsigned long long)torn);

	if (apart) {
		smp_call_all(apart_fn, NULL, 10000);
		smp_call_all(look_fn, NULL, 10000);
		report_indexes(n);
		ok(all(n, is_same) && all(n, not_stable) &&
		   per[1].tsc_timestamp != per[0].tsc_timestamp,
		   "after CPU 1 moved its TSC: its window's pair differs from CPU 0's at the same "
		   "GPA, each equals its own area, none has the stable bit");
	} else {
		skip("one CPU: no TSC to write apart");
	}

	if (do_save) {
		u32 inc0 = cpuid(TV_LEAF_TIME).edx, inc1;

		rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
		inc1 = cpuid(TV_LEAF_TIME).edx;
		smp_call_all(look_fn, NULL, 10000);
		report_indexes(n);
		ok(rc == 0 && inc1 == inc0 + 1 && indexes_ok(n) && all(n, is_same) &&
		   all(n, is_stopped),
		   "after a save and restore (incarnation %u -> %u): every CPU still reads its own "
		   "window, with PVCLOCK_GUEST_STOPPED", inc0, inc1);
	} else {
		skip("no save=1");
	}

	rc = tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0);
	back = true;
	for (i = 0; i < sizeof(page); i++)
		back = back && ((const volatile u8 *)page)[i] == (u8)(0xa5 ^ i);
	ok(rc == 0 && back, "removing the window (%lld) gives the RAM page back unchanged",
	   (long long)rc);
	done();
}
