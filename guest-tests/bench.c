/* bench — what guest-visible operations cost, in TSC cycles (SPEC/TESTING
 * "Benchmarks"; docs/performance.md). Under QEMU -icount shift=0,sleep=off
 * with one vCPU, a TSC cycle is one executed instruction (guest or
 * hypervisor) and every number is exactly repeatable.
 *
 * Each measurement is a sequence between two RDTSCs, taken `iters` times
 * (default 2000) after a warm-up, against a baseline that is the same
 * sequence without the operation:
 *   rdtsc_pair     RDTSC; 2 MOVs; RDTSC          (no baseline: the raw delta)
 *   rdtscp_pair    RDTSCP; 2 MOVs; RDTSCP        (no baseline)
 *   cpuid          CPUID leaf 0                  minus the same without CPUID
 *   hypercall_null VMMCALL/VMCALL TV_HC_NULL     minus the same without it
 *   pvclock_read   a kvmclock read (inline C, with its LFENCE;RDTSC)
 *                                                minus an empty C bracket
 * In a VM whose RDTSC is trapped, the pair's delta is one whole trapped
 * RDTSC (exit, handler, entry) plus the two MOVs, and the baselines carry
 * the same trapped RDTSC, so the differences are still the operation's.
 *
 * Output, per measurement: "bench: NAME.min N cycles" and
 * "bench: NAME.median N cycles"; an operation that cannot run here (no
 * hypervisor to take the hypercall, no kvmclock) prints
 * "bench: NAME n/a" and a diagnostic. scripts/bench combines the VMs of
 * guest-tests/configs/bench.cfg into costs and hypervisor shares.
 *
 * Options: iters=N; smp=1: every CPU takes rdtsc_pair at once (after a
 * barrier), and the kernel prints each CPU's "bench: rdtsc_pair.cpuK.min|
 * .median" and "bench: rdtsc_pair_smp.min|.median" (the least minimum, the
 * greatest median): the cost of a trapped RDTSC while all vCPUs trap
 * (scripts/bench --scaling); pv_fast=1 asks for the pvclock fast path
 * (TV_HC_PVCLOCK_FAST) before measuring (a refusal, seen in the time
 * leaf, is a skip, or a failure with require_pv_fast=1). The checks: every measurement gave numbers (a
 * delta of 0 or a step back would mean a broken TSC). */
#include "guest.h"
#include "pvclock.h"

#define MAX_ITERS 20000
#define WARMUP 50

static u64 samples[MAX_ITERS], base[MAX_ITERS];
static u8 area_page[4096] __attribute__((aligned(4096)));
static u64 iters;
static bool intel;

/* ---- the measured sequences ---- */

static inline u64 join(u32 lo, u32 hi) { return ((u64)hi << 32) | lo; }

static u64 seq_rdtsc_pair(void)
{
	u32 a1, d1, a2, d2;

	__asm__ volatile("rdtsc\n\tmov %%eax, %0\n\tmov %%edx, %1\n\trdtsc"
			 : "=&r"(a1), "=&r"(d1), "=a"(a2), "=d"(d2) : : "memory");
	return join(a2, d2) - join(a1, d1);
}

static u64 seq_rdtscp_pair(void)
{
	u32 a1, d1, a2, d2;

	__asm__ volatile("rdtscp\n\tmov %%eax, %0\n\tmov %%edx, %1\n\trdtscp"
			 : "=&r"(a1), "=&r"(d1), "=a"(a2), "=d"(d2) : : "rcx", "memory");
	return join(a2, d2) - join(a1, d1);
}

#define CPUID_SEQ(op)								\
	__asm__ volatile("rdtsc\n\tmov %%eax, %0\n\tmov %%edx, %1\n\t"		\
			 "xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\t" op "\n\trdtsc"	\
			 : "=&r"(a1), "=&r"(d1), "=a"(a2), "=d"(d2)		\
			 : : "rbx", "rcx", "memory")

static u64 seq_cpuid(void)
{
	u32 a1, d1, a2, d2;

	CPUID_SEQ("cpuid");
	return join(a2, d2) - join(a1, d1);
}

static u64 seq_cpuid_base(void)
{
	u32 a1, d1, a2, d2;

	CPUID_SEQ("");
	return join(a2, d2) - join(a1, d1);
}

/* The hypercall with its arguments zero. A #UD or #GP (no hypervisor to
 * take it) resumes at label 2 through the library's exception table,
 * skipping the XOR: *faulted stays 1. RAX (the result) goes to *res. */
#define HC_SEQ(op)								\
	__asm__ volatile("rdtsc\n\tmov %%eax, %0\n\tmov %%edx, %1\n\t"		\
			 "mov %6, %%eax\n\txor %%ebx, %%ebx\n\txor %%ecx, %%ecx\n\t"	\
			 "xor %%edx, %%edx\n\txor %%esi, %%esi\n\tmov $1, %k3\n\t"	\
			 "1: " op "\n\txor %k3, %k3\n2:\n\tmov %%rax, %2\n\trdtsc\n\t"	\
			 ".pushsection .extable, \"a\"\n\t.balign 8\n\t"	\
			 ".quad 1b, 2b\n\t.popsection"				\
			 : "=&r"(a1), "=&r"(d1), "=&r"(r), "=&r"(f), "=a"(a2), "=d"(d2)	\
			 : "i"(TV_HC_NULL) : "rbx", "rcx", "rsi", "memory")

static u64 seq_hypercall(u64 *res, bool *faulted)
{
	u32 a1, d1, a2, d2, f;
	u64 r;

	if (intel)
		HC_SEQ("vmcall");
	else
		HC_SEQ("vmmcall");
	*res = r;
	*faulted = f;
	return join(a2, d2) - join(a1, d1);
}

static u64 seq_hypercall_base(void)
{
	u32 a1, d1, a2, d2, f;
	u64 r;

	HC_SEQ("nop");
	(void)r;
	(void)f;
	return join(a2, d2) - join(a1, d1) - 1;	/* the NOP */
}

static inline u64 tsc_c(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return join(lo, hi);
}

static volatile u64 sink;

static __attribute__((noinline)) u64 seq_pvclock(const volatile struct pvclock_area *a)
{
	u64 t1 = tsc_c(), ns = pvclock_read_ns_inline(a), t2;

	/* The result must exist before the second TSC read: without this the
	 * compiler computes the final multiply after it. */
	__asm__ volatile("" : "+r"(ns));
	t2 = tsc_c();
	sink = ns;
	return t2 - t1;
}

static __attribute__((noinline)) u64 seq_pvclock_base(void)
{
	u64 t1 = tsc_c(), t2 = tsc_c();

	sink = 0;
	return t2 - t1;
}

/* ---- statistics ---- */

static void sort(u64 *v, u64 n)
{
	for (u64 gap = n / 2; gap; gap /= 2)
		for (u64 i = gap; i < n; i++)
			for (u64 j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
				u64 t = v[j];

				v[j] = v[j - gap];
				v[j - gap] = t;
			}
}

static u64 median(u64 *v, u64 n)
{
	sort(v, n);
	return v[n / 2];
}

/* Prints NAME.min and NAME.median of samples (minus the baseline's, when
 * there is one); true when the numbers make sense. */
static bool report(const char *name, bool with_base)
{
	u64 smin, smed, bmin = 0, bmed = 0;

	smed = median(samples, iters);
	smin = samples[0];
	if (with_base) {
		bmed = median(base, iters);
		bmin = base[0];
	}
	printf("bench: %s.min %lld cycles\n", name, (long long)(smin - bmin));
	printf("bench: %s.median %lld cycles\n", name, (long long)(smed - bmed));
	diag("%s: min %llu median %llu max %llu%s%llu%s%llu", name, (unsigned long long)smin,
	     (unsigned long long)smed, (unsigned long long)samples[iters - 1],
	     with_base ? "; baseline min " : "", (unsigned long long)bmin,
	     with_base ? " median " : "", (unsigned long long)bmed);
	return smin > 0 && smin < (1ull << 40) && (!with_base || smin >= bmin);
}

/* smp=1: each CPU's own samples, taken together. */
#define SMP_MAX 4
static u64 smp_samples[SMP_MAX][MAX_ITERS];
static struct barrier smp_start;
static volatile u32 smp_ok[SMP_MAX];

static void smp_job(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu >= SMP_MAX)
		return;
	smp_ok[cpu] = barrier_wait(&smp_start, 10000);
	for (u64 i = 0; i < WARMUP; i++)
		(void)seq_rdtsc_pair();
	for (u64 i = 0; i < iters; i++)
		smp_samples[cpu][i] = seq_rdtsc_pair();
}

static void smp_bench(void)
{
	unsigned online = smp_init(), n = online < SMP_MAX ? online : SMP_MAX, c;
	u64 lo = ~0ull, hi = 0;
	bool all = true;

	plan(1);
	diag("smp: %u CPU(s) online, %u measuring, %llu iterations each", online, n,
	     (unsigned long long)iters);
	barrier_init(&smp_start, online);
	smp_start_aps(smp_job, NULL);
	smp_job(0, NULL);
	all = smp_wait_aps(60000);
	for (c = 0; c < n; c++) {
		u64 mn, md;

		sort(smp_samples[c], iters);
		mn = smp_samples[c][0];
		md = smp_samples[c][iters / 2];
		printf("bench: rdtsc_pair.cpu%u.min %lld cycles\n", c, (long long)mn);
		printf("bench: rdtsc_pair.cpu%u.median %lld cycles\n", c, (long long)md);
		lo = mn < lo ? mn : lo;
		hi = md > hi ? md : hi;
		all = all && smp_ok[c] && mn > 0;
	}
	printf("bench: rdtsc_pair_smp.min %lld cycles\n", (long long)lo);
	printf("bench: rdtsc_pair_smp.median %lld cycles\n", (long long)hi);
	ok(all, "RDTSC pairs measured on %u CPU(s) at once", n);
}

#define RUN(dst, expr) do {						\
	for (u64 i_ = 0; i_ < WARMUP; i_++)				\
		(void)(expr);						\
	for (u64 i_ = 0; i_ < iters; i_++)				\
		(dst)[i_] = (expr);					\
} while (0)

void test_main(const struct mb_info *mbi)
{
	u32 kmax = 0, tmax = 0;
	bool pv_fast = cmdline_u64("pv_fast", 0, NULL) != 0;
	bool required_fast = cmdline_u64("require_pv_fast", 0, NULL) != 0;
	bool has_rdtscp = cpuid(0x80000000u).eax >= 0x80000001u &&
			  (cpuid(0x80000001u).edx & (1u << 27));
	bool kvm, tv;
	u64 res = 0;
	bool faulted = true;

	(void)mbi;
	iters = cmdline_u64("iters", 2000, NULL);
	if (iters < 10)
		iters = 10;
	if (iters > MAX_ITERS)
		iters = MAX_ITERS;
	intel = tv_cpu_intel();
	if (cmdline_u64("smp", 0, NULL)) {
		smp_bench();
		return;
	}
	kvm = kvm_signature(&kmax);
	tv = tv_signature(&tmax);
	plan(5 + (pv_fast ? 1 : 0));
	diag("%llu iterations; %s; kvmclock %s; time leaf %s", (unsigned long long)iters,
	     intel ? "Intel (VMCALL)" : "AMD (VMMCALL)", kvm ? "yes" : "no", tv ? "yes" : "no");
	if (tv) {
		struct cpuid_regs t = cpuid(TV_LEAF_TIME);

		diag("time leaf: flags 0x%x mode %u, %u kHz, incarnation %u", t.eax, t.ebx, t.ecx,
		     t.edx);
	}

	/* The pvclock area first: the fast path needs it. */
	volatile struct pvclock_area *a = (volatile struct pvclock_area *)area_page;
	bool pv = kvm && wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)area_page | 1) < 0 &&
		  a->tsc_to_system_mul != 0;

	if (pv_fast) {
		s64 r = pv ? tv_hypercall(TV_HC_PVCLOCK_FAST, 1, 0, 0, 0) : TV_HC_ENOSYS;
		u32 flags = tv ? cpuid(TV_LEAF_TIME).eax : 0;
		/* The time leaf says whether RDTSC really stopped trapping. */
		bool granted = r == 0 && (!tv || ((flags & TV_TIME_PV_FAST_PATH) &&
						  !(flags & TV_TIME_TRAPPED)));

		diag("fast path hypercall returned %lld; time leaf flags now 0x%x", (long long)r,
		     flags);
		if (granted || required_fast)
			ok(granted, "pvclock fast path granted (RDTSC no longer trapped)");
		else
			skip("pvclock fast path not granted (%s): measuring the trapped VM",
			     pv ? "refused" : "no kvmclock");
	}

	RUN(samples, seq_rdtsc_pair());
	ok(report("rdtsc_pair", false), "RDTSC pair measured");

	if (has_rdtscp) {
		RUN(samples, seq_rdtscp_pair());
		ok(report("rdtscp_pair", false), "RDTSCP pair measured");
	} else {
		printf("bench: rdtscp_pair n/a\n");
		skip("no RDTSCP");
	}

	RUN(samples, seq_cpuid());
	RUN(base, seq_cpuid_base());
	ok(report("cpuid", true), "CPUID measured");

	seq_hypercall(&res, &faulted);
	if (faulted) {
		diag("the hypercall instruction faulted: no hypervisor takes it");
		printf("bench: hypercall_null n/a\n");
		skip("no hypercall");
	} else {
		diag("null hypercall returns %lld", (long long)(s64)res);
		RUN(samples, seq_hypercall(&res, &faulted));
		RUN(base, seq_hypercall_base());
		ok(report("hypercall_null", true), "null hypercall measured");
	}

	if (pv) {
		RUN(samples, seq_pvclock(a));
		RUN(base, seq_pvclock_base());
		ok(report("pvclock_read", true), "pvclock read measured");
		wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, 0);
	} else {
		/* The same read of an area in this kernel's memory that nobody
		 * updates: what the algorithm costs by itself (bare, say). */
		static struct pvclock_area local __attribute__((aligned(64))) = {
			.version = 2, .tsc_to_system_mul = 1u << 31, .tsc_shift = 1,
		};

		diag("no kvmclock (CPUID 0x40000000 is not KVM's, or the MSR was refused): "
		     "timing the read on a local area instead");
		printf("bench: pvclock_read n/a\n");
		RUN(samples, seq_pvclock(&local));
		RUN(base, seq_pvclock_base());
		ok(report("pvclock_read_local", true), "pvclock read of a local area measured");
	}
}
