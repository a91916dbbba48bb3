/* exerciser — a random but reproducible guest ("syzkaller-lite"): every vCPU
 * issues random sequences of the operations a guest can aim at the
 * hypervisor (hypercalls, MSRs, port I/O, MMIO, the LAPIC and its IPIs,
 * INIT/SIPI, CPUID, the TSC, HLT with a timer) with random and extreme
 * arguments, and checks the answers it gets. What it proves is containment:
 * whatever a guest does, the hypervisor keeps running, gives architectural
 * answers (#GP, #UD, all-ones, the ABI's error codes), keeps the guest's
 * clocks monotonic, and ends the VM only when the guest asks (port 0xf4).
 *
 * Options (docs/testing.md, guest-tests/README.md):
 *   seed=N      the run's seed (default 1); each vCPU's generator is seeded
 *               from it and the vCPU's index, printed first so that a
 *               failure reproduces: the same seed, the same op sequences
 *               (the interleaving of the vCPUs is the host's);
 *   ms=M        how long the vCPUs exercise (default 3000), timed by the BSP
 *               on the ACPI PM timer; min_ops=N: each vCPU must have made at
 *               least N operations (default 100); max_ops=N: stop each vCPU
 *               after N (default none: for reducing a failure);
 *   ops=a,b,... the op classes (default all but save): hc, window, msr,
 *               tsc, kvmclock, apic, pio, mmio, lapic, ipi, init, cpuid,
 *               hlt, timer, save (see class_names);
 *   save=1      allows the save hypercall (3), rarely (also via ops=save);
 *   trace=N     every vCPU prints its first N ops before doing them, for
 *               reducing a failure to its smallest sequence (trace_from=K:
 *               only ops K..N).
 *
 * INIT: the init class sends INIT, SIPI, SIPI to another AP (never the BSP,
 * never itself), and that AP rejoins its loop through the library's start-up
 * path (smp_rejoin_hook) with its generator's state kept in memory. A claim
 * per target CPU keeps two senders apart and keeps INIT away from a CPU in
 * the middle of an APIC sequence (x2APIC, moved or disabled APIC); a sender
 * reset before its SIPI sends it when it rejoins.
 *
 * Not under tscvisor (bare QEMU): SKIP. Random port and MMIO writes on a
 * real platform reach devices that reset the machine. */
#include "guest.h"
#include "pvclock.h"

enum cls {
	C_HC, C_WINDOW, C_MSR, C_TSC, C_KVMCLOCK, C_APIC, C_PIO, C_MMIO, C_LAPIC, C_IPI,
	C_INIT, C_CPUID, C_HLT, C_TIMER, C_SAVE, NCLS
};

static const char *const class_names[NCLS] = {
	"hc", "window", "msr", "tsc", "kvmclock", "apic", "pio", "mmio", "lapic", "ipi",
	"init", "cpuid", "hlt", "timer", "save",
};

/* Relative weights of the classes when enabled. */
static const u32 class_weight[NCLS] = {
	[C_HC] = 8, [C_WINDOW] = 3, [C_MSR] = 10, [C_TSC] = 10, [C_KVMCLOCK] = 6,
	[C_APIC] = 2, [C_PIO] = 10, [C_MMIO] = 10, [C_LAPIC] = 8, [C_IPI] = 6,
	[C_INIT] = 1, [C_CPUID] = 6, [C_HLT] = 3, [C_TIMER] = 4, [C_SAVE] = 1,
};

enum outcome { O_OK, O_GP, O_UD, O_OTHER, NOUT };

#define VEC_FIRST	0x20	/* the vectors random IPIs and timers use */
#define VEC_LAST	0xef
#define VEC_TIMER	0xe0	/* the HLT op's one-shot */
#define NO_CLAIM	0

struct cpu_st {
	u64 rng;
	u64 ops;
	u64 cnt[NCLS][NOUT];
	u64 wrong[NCLS];		/* answers that are not the architectural/ABI one */
	u64 last_tsc;
	bool tsc_valid;
	u64 tsc_back, tsc_back_max;
	u64 last_ns;
	bool ns_valid;
	u64 ns_back, ns_back_max;
	u64 irqs;
	u32 tsc_aux;			/* what this vCPU last wrote to TSC_AUX */
	volatile bool tsc_aux_unsure;	/* a write in progress */
	u32 rejoins, inits_sent, saves;
	u64 start_tsc_hint;
	volatile u32 done;
	volatile u32 started;
	volatile u32 cur;		/* the class of the op in progress (heartbeat) */
} __attribute__((aligned(64)));

static struct cpu_st st[MAX_CPUS];
static volatile u32 claim[MAX_CPUS];		/* INIT / APIC-sequence claims: holder + 1 */
static volatile u32 stop_flag;
static volatile u32 trace_lock;			/* holder + 1 */
static struct barrier start_barrier;

/* Each vCPU's own kvmclock area, one page for all (32 bytes each). */
static struct pvclock_area pv_area[MAX_CPUS] __attribute__((aligned(4096)));
/* Where random valid kvmclock registrations go (the hypervisor writes
 * there), and the pages the pvclock window may cover (never written by the
 * guest: a write to the window stops the VM). */
#define KV_PAGES 4
#define WIN_PAGES 4
static u8 kv_scratch[KV_PAGES * 4096] __attribute__((aligned(4096)));
static u8 win_scratch[WIN_PAGES * 4096] __attribute__((aligned(4096)));

static u32 enabled_mask;
static u64 ms_budget, min_ops, max_ops, trace_n, trace_from, seed;
static bool intel, emulate_mode, pvrdtscp_mode;
static u64 ram_top;
static unsigned maxphy = 36;	/* CPUID.80000008H:EAX[7:0], 36 without the leaf */
static u16 pm_port;
static u32 pm_mask;
static unsigned ncpu;
static u32 wsum;

/* The first wrong answers of each class, for the log (bounded). */
#define WRONG_KEPT 3
static volatile u32 first_wrong_taken[NCLS];
static char first_wrong[NCLS][WRONG_KEPT][160];

/* ---- generator: splitmix64 seeding, xorshift64* (Vigna) ---- */

static u64 splitmix(u64 *x)
{
	u64 z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static u64 rnd(struct cpu_st *s)
{
	u64 x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static u64 below(struct cpu_st *s, u64 n)
{
	return n ? rnd(s) % n : 0;
}

static bool one_in(struct cpu_st *s, u64 n)
{
	return below(s, n) == 0;
}

/* A "value" with a bias to the extremes and to small numbers. */
static u64 rnd_val(struct cpu_st *s)
{
	static const u64 extremes[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000ull, 0xffffffffull,
		0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~0ull - 1,
		0xfee00000ull, 0xfee00001ull, 0x1000, 0xfff, 1ull << 40, 1ull << 63 | 1,
	};

	switch (below(s, 4)) {
	case 0: return extremes[below(s, ARRAY_SIZE(extremes))];
	case 1: return below(s, 0x10000);
	case 2: return rnd(s) >> below(s, 64);
	default: return rnd(s);
	}
}

/* ---- reporting ---- */

static void wrong(struct cpu_st *s, enum cls c, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void wrong(struct cpu_st *s, enum cls c, const char *fmt, ...)
{
	u32 k = atomic_inc(&first_wrong_taken[c]) - 1;
	va_list ap;
	char *b;
	int n;

	s->wrong[c]++;
	if (k >= WRONG_KEPT)
		return;
	b = first_wrong[c][k];
	n = snprintf(b, sizeof(first_wrong[c][k]), "CPU %u op %llu: ", (unsigned)(s - st),
		     (unsigned long long)s->ops);
	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(first_wrong[c][k]) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void trace(struct cpu_st *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void trace(struct cpu_st *s, const char *fmt, ...)
{
	unsigned me = (unsigned)(s - st);
	va_list ap;

	if (s->ops > trace_n || s->ops < trace_from)
		return;
	while (!atomic_cmpxchg(&trace_lock, 0, me + 1))
		cpu_relax();
	printf("# T cpu%u #%llu ", me, (unsigned long long)s->ops);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	atomic_set(&trace_lock, 0);
}

static int outcome_of(int vec)
{
	return vec < 0 ? O_OK : vec == 13 ? O_GP : vec == 6 ? O_UD : O_OTHER;
}

static void count(struct cpu_st *s, enum cls c, int vec)
{
	s->cnt[c][outcome_of(vec)]++;
}

/* ---- instructions under the exception table ---- */

static int try_rdmsr(u32 msr, u64 *v)
{
	*v = 0;
	return rdmsr_safe(msr, v);
}

static int try_wrmsr(u32 msr, u64 v)
{
	return wrmsr_safe(msr, v);
}

static int try_hypercall(bool vmcall, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, s64 *ret)
{
	u64 r = nr;

	fault_arm();
	if (vmcall)
		__asm__ volatile("1: vmcall\n2:\n\t" EXTABLE("1b", "2b")
				 : "+a"(r) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		__asm__ volatile("1: vmmcall\n2:\n\t" EXTABLE("1b", "2b")
				 : "+a"(r) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	*ret = (s64)r;
	return fault_seen();
}

static int try_rdpid(u64 *v)
{
	u64 r = 0;

	fault_arm();
	/* RDPID r64: F3 0F C7 /7, here RAX. */
	__asm__ volatile("1: .byte 0xf3, 0x0f, 0xc7, 0xf8\n2:\n\t" EXTABLE("1b", "2b")
			 : "+a"(r) : : "memory");
	*v = r;
	return fault_seen();
}

static int try_rdtscp(u64 *tsc, u32 *aux)
{
	u32 lo = 0, hi = 0, c = 0;

	fault_arm();
	__asm__ volatile("1: rdtscp\n2:\n\t" EXTABLE("1b", "2b")
			 : "+a"(lo), "+d"(hi), "+c"(c) : : "memory");
	*tsc = ((u64)hi << 32) | lo;
	*aux = c;
	return fault_seen();
}

/* MMIO loads of every form the hypervisor's decoder is asked for: MOV
 * (8A/8B), MOVZX, MOVSX, MOVSXD, at 1, 2, 4, 8 bytes. *want gets what an
 * access to nothing must give (all-ones, widened as the form widens). */
static int mmio_load(u64 a, unsigned form, u64 *got, u64 *want)
{
	u64 v = 0x5a5a5a5a5a5a5a5aull;

	fault_arm();
	switch (form) {
	case 0:
		__asm__ volatile("1: movb (%1), %b0\n2:\n\t" EXTABLE("1b", "2b") : "+q"(v) : "r"(a) : "memory");
		*want = 0x5a5a5a5a5a5a5affull;
		break;
	case 1:
		__asm__ volatile("1: movw (%1), %w0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = 0x5a5a5a5a5a5affffull;
		break;
	case 2:
		__asm__ volatile("1: movl (%1), %k0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = 0xffffffffull;
		break;
	case 3:
		__asm__ volatile("1: movq (%1), %0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = ~0ull;
		break;
	case 4:
		__asm__ volatile("1: movzbl (%1), %k0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = 0xff;
		break;
	case 5:
		__asm__ volatile("1: movzwl (%1), %k0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = 0xffff;
		break;
	case 6:
		__asm__ volatile("1: movsbq (%1), %0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = ~0ull;
		break;
	case 7:
		__asm__ volatile("1: movswq (%1), %0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = ~0ull;
		break;
	default:
		__asm__ volatile("1: movslq (%1), %0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(v) : "r"(a) : "memory");
		*want = ~0ull;
		break;
	}
	*got = v;
	return fault_seen();
}
#define MMIO_LOAD_FORMS 9

static int mmio_store(u64 a, unsigned form, u64 v)
{
	fault_arm();
	switch (form) {
	case 0:
		__asm__ volatile("1: movb %b0, (%1)\n2:\n\t" EXTABLE("1b", "2b") : : "q"(v), "r"(a) : "memory");
		break;
	case 1:
		__asm__ volatile("1: movw %w0, (%1)\n2:\n\t" EXTABLE("1b", "2b") : : "r"(v), "r"(a) : "memory");
		break;
	case 2:
		__asm__ volatile("1: movl %k0, (%1)\n2:\n\t" EXTABLE("1b", "2b") : : "r"(v), "r"(a) : "memory");
		break;
	case 3:
		__asm__ volatile("1: movq %0, (%1)\n2:\n\t" EXTABLE("1b", "2b") : : "r"(v), "r"(a) : "memory");
		break;
	case 4:
		__asm__ volatile("1: movl $0x5aa5c33c, (%0)\n2:\n\t" EXTABLE("1b", "2b") : : "r"(a) : "memory");
		break;
	default:
		__asm__ volatile("1: movb $0x3c, (%0)\n2:\n\t" EXTABLE("1b", "2b") : : "r"(a) : "memory");
		break;
	}
	return fault_seen();
}
#define MMIO_STORE_FORMS 6

/* 32-bit MMIO at an explicit address (not the library's lapic_mmio: the
 * APIC sequences move this CPU's page). */
static u32 mmio32_rd(u64 a)
{
	u32 v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void mmio32_wr(u64 a, u32 v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

#define LAPIC_BASE_DEFAULT 0xfee00000ull

/* An initial count for a timer that may be periodic: at least 1 ms at
 * the 1 GHz bus. Shorter periods are legal, but under an emulator each
 * interrupt costs the guest more than that (its EOI is an exit), and a
 * guest whose timer fires faster than it can take it starves itself:
 * after every IRET the next tick is already pending. */
static u32 timer_count(struct cpu_st *s)
{
	return 1000000 + (u32)below(s, one_in(s, 4) ? 0xfff00000u : 20000000);
}

/* ---- the clocks this vCPU checks ---- */

static void tsc_seen(struct cpu_st *s, u64 t)
{
	if (s->tsc_valid && (s64)(t - s->last_tsc) < 0) {
		u64 back = s->last_tsc - t;

		s->tsc_back++;
		if (back > s->tsc_back_max)
			s->tsc_back_max = back;
	}
	s->last_tsc = t;
	s->tsc_valid = true;
}

static void tsc_moved(struct cpu_st *s)
{
	s->tsc_valid = false;
}

static void register_own_area(unsigned me)
{
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)&pv_area[me] | 1);
}

static void pvclock_check(struct cpu_st *s, unsigned me)
{
	struct pvclock_snap snap = { 0 };

	if (!pvclock_read(&pv_area[me], &snap))
		return;
	if (s->ns_valid && (s64)(snap.ns - s->last_ns) < 0) {
		u64 back = s->last_ns - snap.ns;

		s->ns_back++;
		if (back > s->ns_back_max)
			s->ns_back_max = back;
	}
	s->last_ns = snap.ns;
	s->ns_valid = true;
}

/* ---- GPAs ---- */

/* Not a page of guest RAM the hypervisor would accept (window), or what
 * hypercall 4 refuses; a valid page becomes one of win_scratch's. */
static u64 window_gpa(struct cpu_st *s, bool *valid)
{
	u64 g;

	switch (below(s, 8)) {
	case 0: g = 0; break;
	case 1: case 2: g = (u64)(uintptr_t)win_scratch + 4096 * below(s, WIN_PAGES); break;
	case 3: g = (u64)(uintptr_t)win_scratch + 1 + below(s, 4095); break;
	case 4: g = ram_top + 4096 * below(s, 1024); break;
	case 5: g = LAPIC_BASE_DEFAULT; break;
	default: g = rnd_val(s); break;
	}
	*valid = !(g & 0xfff) && g < ram_top && g != LAPIC_BASE_DEFAULT;
	if (*valid && g && (g < (u64)(uintptr_t)win_scratch ||
			    g >= (u64)(uintptr_t)win_scratch + sizeof(win_scratch)))
		g = (u64)(uintptr_t)win_scratch + 4096 * (g / 4096 % WIN_PAGES);
	return g;
}

/* A value for a kvmclock MSR (size: 32 system time, 12 wall clock) and
 * whether tscvisor must accept it (docs/abi.md: 4-byte aligned, inside RAM,
 * not crossing a page, not on the LAPIC page; system time with bit 0 clear
 * is "off" and always accepted). A valid GPA is moved into kv_scratch. */
static u64 kvm_value(struct cpu_st *s, bool system, bool *valid)
{
	u64 size = system ? 32 : 12, v, g, in;

	switch (below(s, 6)) {
	case 0: in = below(s, (KV_PAGES * 4096 - 32) / 4) * 4; v = (u64)(uintptr_t)kv_scratch + in; break;
	case 1: v = (u64)(uintptr_t)kv_scratch + 4096 - below(s, 31) - 1; break;	/* crossing, misaligned */
	case 2: v = ram_top - below(s, 64); break;
	case 3: v = LAPIC_BASE_DEFAULT + 4 * below(s, 1024); break;
	default: v = rnd_val(s); break;
	}
	if (system && !one_in(s, 4))
		v |= 1;
	if (system && !(v & 1)) {
		*valid = true;
		return v;
	}
	g = system ? v & ~1ull : v;
	*valid = !(g & 3) && g < ram_top && size <= ram_top - g && (g & 4095) + size <= 4096 &&
		 !(g + size > LAPIC_BASE_DEFAULT && g < LAPIC_BASE_DEFAULT + 4096);
	if (*valid && (g < (u64)(uintptr_t)kv_scratch ||
		       g + size > (u64)(uintptr_t)kv_scratch + sizeof(kv_scratch))) {
		/* A valid address outside the scratch pages: the hypervisor
		 * would write there. Take the same offset in the scratch. */
		g = (u64)(uintptr_t)kv_scratch + 4096 * below(s, KV_PAGES) + (g & 4095);
		if ((g & 4095) + size > 4096)
			g -= 64;
		v = system ? g | 1 : g;
	}
	return v;
}

/* ---- op classes ---- */

static s64 hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, int *vec)
{
	s64 r = 0;

	*vec = try_hypercall(intel, nr, a0, a1, a2, a3, &r);
	return r;
}

static void op_hc(struct cpu_st *s, unsigned me)
{
	static const u64 numbers[] = { 0, 1, 2, 5, 6, 7, 8, 9, 0x7fffffff, 0xffffffffull,
				       0x100000000ull, 1ull << 63, ~0ull, 3 | (1ull << 32), 4 | (1ull << 32) };
	u64 nr = below(s, 3) ? numbers[below(s, ARRAY_SIZE(numbers))] : rnd(s);
	u64 a0 = rnd_val(s), a1 = rnd_val(s), a2 = rnd_val(s), a3 = rnd_val(s);
	int vec;
	s64 r;

	if (nr == 3 || nr == 4)		/* their own classes */
		nr = 0;
	if (one_in(s, 16)) {
		/* The other vendor's instruction: #UD (docs/abi.md). */
		trace(s, "hc: %s nr 0x%llx (other vendor)", intel ? "vmmcall" : "vmcall",
		      (unsigned long long)nr);
		vec = try_hypercall(!intel, nr, a0, a1, a2, a3, &r);
		count(s, C_HC, vec);
		if (vec != 6)
			wrong(s, C_HC, "%s: vector %d, not #UD", intel ? "VMMCALL" : "VMCALL", vec);
		return;
	}
	trace(s, "hc: nr 0x%llx args 0x%llx 0x%llx 0x%llx 0x%llx", (unsigned long long)nr,
	      (unsigned long long)a0, (unsigned long long)a1, (unsigned long long)a2,
	      (unsigned long long)a3);
	r = hc(nr, a0, a1, a2, a3, &vec);
	count(s, C_HC, vec);
	if (vec >= 0) {
		wrong(s, C_HC, "hypercall 0x%llx: vector %d", (unsigned long long)nr, vec);
		return;
	}
	switch (nr) {
	case 0:
		if (r != 0)
			wrong(s, C_HC, "hypercall 0 returned %lld", (long long)r);
		break;
	case 1:
		if (r != 0 && r != -1)
			wrong(s, C_HC, "hypercall 1 (%llu) returned %lld", (unsigned long long)a0, (long long)r);
		break;
	case 2:
		if (r < 0 || r > (s64)ncpu + 0)
			wrong(s, C_HC, "hypercall 2 returned %lld with %u vCPUs", (long long)r, ncpu);
		break;
	default:
		if (r != TV_HC_ENOSYS)
			wrong(s, C_HC, "hypercall 0x%llx returned %lld, not -1000",
			      (unsigned long long)nr, (long long)r);
		break;
	}
	(void)me;
}

static void op_window(struct cpu_st *s, unsigned me)
{
	bool valid;
	u64 g = window_gpa(s, &valid);
	int vec;
	s64 r;

	trace(s, "window: hypercall 4 gpa 0x%llx (%s)", (unsigned long long)g, valid ? "valid" : "refused");
	r = hc(4, g, rnd_val(s), 0, 0, &vec);
	count(s, C_WINDOW, vec);
	if (vec >= 0 || r != (valid ? 0 : -22)) {
		wrong(s, C_WINDOW, "hypercall 4 gpa 0x%llx: %lld (vector %d), want %d",
		      (unsigned long long)g, (long long)r, vec, valid ? 0 : -22);
		return;
	}
	if (valid && g) {
		/* Its own index (or, if another vCPU moved the window since,
		 * the RAM underneath: zeros). Never another vCPU's. */
		u32 idx = *(volatile const u32 *)phys_ptr(g + 32);

		if (idx != smp.cpu[me].apic_id && idx != 0)
			wrong(s, C_WINDOW, "window at 0x%llx shows vCPU index %u to vCPU %u",
			      (unsigned long long)g, idx, me);
	}
}

/* MSRs tscvisor implements (docs/platform.md) or passes through. Anything
 * else must #GP, read or written. */
static bool msr_exists(u32 m)
{
	switch (m) {
	case 0x10: case 0x1b: case 0x3b: case 0x8b: case 0x6e0: case 0xc0000103:
	case 0x11: case 0x12: case 0x4b564d00: case 0x4b564d01:
	case 0xc0000080: case 0x277:
	case 0xc0000100: case 0xc0000101: case 0xc0000102:
	case 0xc0000081: case 0xc0000082: case 0xc0000083: case 0xc0000084:
	case 0x174: case 0x175: case 0x176:
	/* Architectural on every CPU of a vendor (pure/cpumodel.c): Intel's
	 * PLATFORM_ID and MISC_ENABLE, AMD's legacy counters. */
	case 0x17: case 0x1a0:
		return true;
	default:
		return (m >= 0x800 && m <= 0x8ff) || (m >= 0xc0010000 && m <= 0xc0010007);
	}
}

/* Back to an enabled xAPIC at base (0xfee00000), initialised as at start. */
static void apic_restore(u64 base)
{
	wrmsr(MSR_APIC_BASE, base);
	lapic_init();
}

static void op_msr(struct cpu_st *s, unsigned me)
{
	/* MSRs a guest might try that tscvisor does not offer: each must #GP. */
	static const u32 absent[] = {
		0x3a, 0x48, 0x49, 0x1d9, 0x2ff, 0x17b, 0xda0, 0x480, 0x48d,
		0xc0010010, 0xc0010114, 0xc0010117, 0xc0010015, 0xc0011029, 0x199, 0xe7, 0xe8,
		0x1a2, 0x610, 0x606, 0xc1, 0x186, 0x38f, 0xd90, 0x9b, 0x122,
	};
	u64 v = 0, old;
	int vec;
	u32 m;

	switch (below(s, 6)) {
	case 0: {	/* EFER: what it is (accepted); a reserved bit (#GP) */
		old = rdmsr(0xc0000080);
		if (one_in(s, 2)) {
			trace(s, "msr: EFER = itself 0x%llx", (unsigned long long)old);
			vec = try_wrmsr(0xc0000080, old);
			if (vec >= 0)
				wrong(s, C_MSR, "WRMSR EFER with its own value 0x%llx: vector %d",
				      (unsigned long long)old, vec);
		} else {
			static const u8 reserved[] = { 1, 2, 3, 5, 7, 9, 16, 20, 31, 32, 48, 63 };

			v = old | 1ull << reserved[below(s, ARRAY_SIZE(reserved))];
			trace(s, "msr: EFER = 0x%llx (reserved bit)", (unsigned long long)v);
			vec = try_wrmsr(0xc0000080, v);
			if (vec != 13)
				wrong(s, C_MSR, "WRMSR EFER 0x%llx: vector %d, not #GP", (unsigned long long)v, vec);
			if (vec < 0)
				wrmsr(0xc0000080, old);
		}
		count(s, C_MSR, vec);
		return;
	}
	case 1: {	/* PAT: valid types kept, invalid ones #GP (SDM 12.12.2) */
		static const u8 ok_types[] = { 0, 1, 4, 5, 6, 7 };
		bool valid = one_in(s, 2);

		old = rdmsr(0x277);
		v = 0;
		for (int i = 0; i < 8; i++)
			v |= (u64)ok_types[below(s, ARRAY_SIZE(ok_types))] << (8 * i);
		if (!valid) {
			static const u8 bad[] = { 2, 3, 8, 0x40, 0xff };

			v &= ~(0xffull << (8 * below(s, 8)));
			v |= (u64)bad[below(s, ARRAY_SIZE(bad))] << (8 * below(s, 8));
			valid = true;
			for (int i = 0; i < 8; i++) {
				u8 t = (u8)(v >> (8 * i));

				if (t == 2 || t == 3 || t > 7)
					valid = false;
			}
		}
		trace(s, "msr: PAT = 0x%llx (%s)", (unsigned long long)v, valid ? "valid" : "invalid");
		vec = try_wrmsr(0x277, v);
		count(s, C_MSR, vec);
		if (valid ? vec >= 0 : vec != 13)
			wrong(s, C_MSR, "WRMSR PAT 0x%llx: vector %d, want %s", (unsigned long long)v, vec,
			      valid ? "none" : "#GP");
		else if (valid && rdmsr(0x277) != v)
			wrong(s, C_MSR, "PAT 0x%llx read back 0x%llx", (unsigned long long)v,
			      (unsigned long long)rdmsr(0x277));
		wrmsr(0x277, old);
		return;
	}
	case 2:		/* x2APIC registers in xAPIC mode: #GP */
		m = 0x800 + (u32)below(s, 0x100);
		if (one_in(s, 2)) {
			trace(s, "msr: RDMSR 0x%x (x2APIC, xAPIC mode)", m);
			vec = try_rdmsr(m, &v);
		} else {
			v = rnd_val(s);
			trace(s, "msr: WRMSR 0x%x = 0x%llx (x2APIC, xAPIC mode)", m, (unsigned long long)v);
			vec = try_wrmsr(m, v);
		}
		count(s, C_MSR, vec);
		if (vec != 13)
			wrong(s, C_MSR, "x2APIC MSR 0x%x in xAPIC mode: vector %d, not #GP", m, vec);
		return;
	case 3:		/* APIC_BASE: itself, or reserved bits / BSP flipped / x2APIC without EN: #GP */
		old = rdmsr(MSR_APIC_BASE);
		switch (below(s, 4)) {
		case 0: v = old; break;
		/* Reserved: bits MAXPHYADDR..63 only (SDM 11.4.4). Bits below
		 * MAXPHYADDR are address bits: setting one moves the APIC
		 * page (the apic class does that, under its claim). */
		case 1: v = old | 1ull << (maxphy + below(s, 64 - maxphy)); break;
		case 2: v = old ^ APIC_BASE_BSP; break;
		default: v = (old & ~(u64)APIC_BASE_ENABLE) | APIC_BASE_X2APIC; break;
		}
		trace(s, "msr: APIC_BASE = 0x%llx", (unsigned long long)v);
		vec = try_wrmsr(MSR_APIC_BASE, v);
		count(s, C_MSR, vec);
		if (v == old ? vec >= 0 : vec != 13) {
			wrong(s, C_MSR, "WRMSR APIC_BASE 0x%llx (was 0x%llx): vector %d",
			      (unsigned long long)v, (unsigned long long)old, vec);
			/* Wrongly taken: put the enabled xAPIC at its page back,
			 * so the rest of the run (HLT with its timer, IPIs)
			 * still has an APIC where it writes. */
			if (v != old && vec < 0)
				apic_restore(old);
		}
		return;
	default:
		/* Something that does not exist: a known absent one or any number. */
		m = one_in(s, 2) ? absent[below(s, ARRAY_SIZE(absent))] : (u32)rnd(s);
		if (msr_exists(m))
			m = 0x0badc0de;
		if (one_in(s, 2)) {
			trace(s, "msr: RDMSR 0x%x (absent)", m);
			vec = try_rdmsr(m, &v);
		} else {
			v = rnd_val(s);
			trace(s, "msr: WRMSR 0x%x = 0x%llx (absent)", m, (unsigned long long)v);
			vec = try_wrmsr(m, v);
		}
		count(s, C_MSR, vec);
		if (vec != 13)
			wrong(s, C_MSR, "MSR 0x%x does not exist: vector %d, not #GP", m, vec);
		return;
	}
	(void)me;
}

static void op_tsc(struct cpu_st *s, unsigned me)
{
	u64 t = 0, v = 0;
	u32 aux = 0;
	int vec;

	switch (below(s, 8)) {
	case 0: case 1:
		trace(s, "tsc: RDTSC");
		t = rdtsc();
		count(s, C_TSC, -1);
		tsc_seen(s, t);
		return;
	case 2:
		trace(s, "tsc: RDTSCP");
		vec = try_rdtscp(&t, &aux);
		count(s, C_TSC, vec);
		if (vec >= 0) {
			wrong(s, C_TSC, "RDTSCP: vector %d", vec);
			return;
		}
		tsc_seen(s, t);
		if (!pvrdtscp_mode && aux != s->tsc_aux)
			wrong(s, C_TSC, "RDTSCP ECX 0x%x, TSC_AUX written 0x%x", aux, s->tsc_aux);
		return;
	case 3:
		trace(s, "tsc: RDPID");
		vec = try_rdpid(&v);
		count(s, C_TSC, vec);
		if (vec >= 0)
			wrong(s, C_TSC, "RDPID (offered by CPUID): vector %d", vec);
		else if (!pvrdtscp_mode && v != s->tsc_aux)
			wrong(s, C_TSC, "RDPID 0x%llx, TSC_AUX written 0x%x", (unsigned long long)v, s->tsc_aux);
		return;
	case 4: {	/* IA32_TSC: forward, back, extremes */
		u64 now = rdtsc();

		switch (below(s, 4)) {
		case 0: v = now + below(s, 1ull << 32); break;
		case 1: v = now - below(s, 1ull << 32); break;
		case 2: v = ~0ull - below(s, 1ull << 20); break;
		default: v = rnd_val(s); break;
		}
		trace(s, "tsc: WRMSR TSC = 0x%llx", (unsigned long long)v);
		/* Forgotten before the write: an INIT may end the op after it. */
		tsc_moved(s);
		vec = try_wrmsr(0x10, v);
		count(s, C_TSC, vec);
		if (vec >= 0)
			wrong(s, C_TSC, "WRMSR TSC 0x%llx: vector %d", (unsigned long long)v, vec);
		return;
	}
	case 5:
		v = rnd_val(s);
		trace(s, "tsc: WRMSR TSC_ADJUST = 0x%llx", (unsigned long long)v);
		tsc_moved(s);
		vec = try_wrmsr(0x3b, v);
		count(s, C_TSC, vec);
		if (vec >= 0)
			wrong(s, C_TSC, "WRMSR TSC_ADJUST 0x%llx: vector %d", (unsigned long long)v, vec);
		else if (rdmsr(0x3b) != v)
			wrong(s, C_TSC, "TSC_ADJUST 0x%llx read back 0x%llx", (unsigned long long)v,
			      (unsigned long long)rdmsr(0x3b));
		return;
	case 6:
		v = one_in(s, 2) ? (u32)rnd(s) : rnd_val(s);
		trace(s, "tsc: WRMSR TSC_AUX = 0x%llx", (unsigned long long)v);
		/* An INIT between the write and the note below: rejoin()
		 * reads the MSR back instead. */
		s->tsc_aux_unsure = true;
		vec = try_wrmsr(0xc0000103, v);
		if (vec < 0)
			s->tsc_aux = (u32)v;
		s->tsc_aux_unsure = false;
		count(s, C_TSC, vec);
		if ((v >> 32) ? vec != 13 : vec >= 0)
			wrong(s, C_TSC, "WRMSR TSC_AUX 0x%llx: vector %d", (unsigned long long)v, vec);
		return;
	default:
		trace(s, "tsc: RDMSR TSC");
		vec = try_rdmsr(0x10, &v);
		count(s, C_TSC, vec);
		if (vec >= 0)
			wrong(s, C_TSC, "RDMSR TSC: vector %d", vec);
		else
			tsc_seen(s, v);
		return;
	}
	(void)me;
}

static void op_kvmclock(struct cpu_st *s, unsigned me)
{
	static const u32 msrs[] = { 0x11, 0x12, 0x4b564d00, 0x4b564d01 };
	u32 m = msrs[below(s, 4)];
	bool system = m == 0x12 || m == 0x4b564d01, valid;
	u64 v = kvm_value(s, system, &valid), back = 0, before;
	int vec;

	before = rdmsr(m);
	trace(s, "kvmclock: WRMSR 0x%x = 0x%llx (%s)", m, (unsigned long long)v, valid ? "valid" : "refused");
	vec = try_wrmsr(m, v);
	count(s, C_KVMCLOCK, vec);
	if (valid ? vec >= 0 : vec != 13) {
		wrong(s, C_KVMCLOCK, "WRMSR 0x%x 0x%llx: vector %d, want %s", m, (unsigned long long)v, vec,
		      valid ? "none" : "#GP");
	} else if (!system || m == 0x12 || m == 0x4b564d01) {
		/* Accepted: reads back (system time off: 0). Refused: the
		 * registration kept. The wall clock MSR is per VM: another
		 * vCPU may have written it meanwhile, so only system time. */
		back = rdmsr(m);
		if (system && back != (valid ? ((v & 1) ? v : 0) : before))
			wrong(s, C_KVMCLOCK, "MSR 0x%x reads 0x%llx after writing 0x%llx (before 0x%llx)", m,
			      (unsigned long long)back, (unsigned long long)v, (unsigned long long)before);
	}
	register_own_area(me);
	pvclock_check(s, me);
}

/* The APIC sequences: this CPU claims itself first, so that no INIT comes
 * while its LAPIC is somewhere else. Interrupts off throughout. */
static bool claim_self(unsigned me)
{
	return atomic_cmpxchg(&claim[me], NO_CLAIM, me + 1);
}

static u32 ipi_icr(struct cpu_st *s, u32 *dest, bool x2);

static void op_apic(struct cpu_st *s, unsigned me)
{
	u64 base = rdmsr(MSR_APIC_BASE), flags, v;
	u32 id;
	int vec;

	if (!claim_self(me)) {
		count(s, C_APIC, -1);
		return;
	}
	flags = irq_save();
	switch (below(s, 3)) {
	case 0: {	/* x2APIC: a few MSR accesses, then back through disabled */
		unsigned n = 1 + (unsigned)below(s, 6);

		trace(s, "apic: x2APIC mode, %u accesses", n);
		vec = try_wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);
		count(s, C_APIC, vec);
		if (vec >= 0) {
			wrong(s, C_APIC, "x2APIC enable (CPUID offers it): vector %d", vec);
			break;
		}
		id = (u32)rdmsr(0x802);
		if (id != smp.cpu[me].apic_id)
			wrong(s, C_APIC, "x2APIC ID %u on vCPU %u", id, me);
		for (unsigned i = 0; i < n; i++) {
			static const u16 regs[] = { 0x08, 0x0b, 0x0d, 0x0f, 0x28, 0x30, 0x32, 0x33, 0x34,
						    0x35, 0x36, 0x37, 0x38, 0x39, 0x3e, 0x3f, 0x02, 0x03,
						    0x0a, 0x10, 0x18, 0x20, 0x31, 0x0e, 0x40, 0xff };
			u32 m = 0x800 + regs[below(s, ARRAY_SIZE(regs))];
			u32 dest;

			if (m == 0x830) {
				u32 lo = ipi_icr(s, &dest, true);

				v = (u64)dest << 32 | lo;
			} else if (m == 0x83f) {
				v = VEC_FIRST + below(s, VEC_LAST - VEC_FIRST + 1);
			} else if (m >= 0x832 && m <= 0x837) {
				v = (rnd(s) & 0x317ff & ~0xffull) | (VEC_FIRST + below(s, 0x80)) | LVT_MASKED;
			} else if (m == 0x838) {
				v = timer_count(s);
			} else if (m == 0x80f) {
				v = (rnd(s) & 0x1300) | 0xff;
			} else {
				v = rnd_val(s);
			}
			if (one_in(s, 2)) {
				u64 r;

				vec = try_rdmsr(m, &r);
			} else {
				vec = try_wrmsr(m, v);
			}
			count(s, C_APIC, vec);
		}
		/* Straight back to xAPIC is invalid (SDM 11.12.5): #GP. */
		vec = try_wrmsr(MSR_APIC_BASE, base);
		count(s, C_APIC, vec);
		if (vec != 13)
			wrong(s, C_APIC, "x2APIC -> xAPIC directly: vector %d, not #GP", vec);
		wrmsr(MSR_APIC_BASE, base & ~(u64)(APIC_BASE_ENABLE | APIC_BASE_X2APIC));
		break;
	}
	case 1:		/* disabled, then enabled again (from the reset state) */
		trace(s, "apic: disable and enable");
		wrmsr(MSR_APIC_BASE, base & ~(u64)APIC_BASE_ENABLE);
		v = mmio32_rd(LAPIC_BASE_DEFAULT + LAPIC_ID);
		count(s, C_APIC, -1);
		if (v != 0xffffffffu)
			wrong(s, C_APIC, "APIC disabled: its page reads 0x%llx, not all-ones", (unsigned long long)v);
		break;
	default: {	/* moved to another page above RAM, then back */
		u64 to = 0xd0000000ull + 4096 * below(s, 0x1000);

		trace(s, "apic: moved to 0x%llx", (unsigned long long)to);
		wrmsr(MSR_APIC_BASE, (base & 0xfff) | to);
		id = mmio32_rd(to + LAPIC_ID);
		v = mmio32_rd(LAPIC_BASE_DEFAULT + LAPIC_ID);
		count(s, C_APIC, -1);
		if (id != smp.cpu[me].apic_id << 24 || v != 0xffffffffu)
			wrong(s, C_APIC, "APIC moved to 0x%llx: ID there 0x%x, old page 0x%llx", (unsigned long long)to,
			      id, (unsigned long long)v);
		break;
	}
	}
	apic_restore(base);
	irq_restore(flags);
	atomic_set(&claim[me], NO_CLAIM);
}

/* Ports with a device behind them (docs/platform.md); anything else reads
 * all-ones. Ports never touched: 0xf4 and 0x8900 (and accesses overlapping
 * them), UART transmit/line control and MCR's loopback bit (the console),
 * and no write reaches 0x605, PM1_CNT's high byte (SLP_EN with SLP_TYP 7
 * powers the VM off). */
static bool port_device(u16 p)
{
	return p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 || (p >= 0x3f8 && p <= 0x3ff) ||
	       p == 0x510 || p == 0x511 || (p >= 0xcf8 && p <= 0xcff) ||   /* PCI config */
	       (p >= 0x600 && p <= 0x605) ||                                /* ACPI PM1a */
	       (pm_port && p >= pm_port && p < pm_port + 4);
}

static bool port_forbidden(u16 p, unsigned w, bool out)
{
	u32 end = (u32)p + w;

	if ((p < 0xf8 && end > 0xf4) || (p < 0x8901 && end > 0x8900))
		return true;
	if (out && p < 0x606 && end > 0x605)
		return true;
	if (out && end > 0x3f8 && p < 0x400)
		return !(w == 1 && (p == 0x3f9 || p == 0x3fc || p == 0x3ff));
	return false;
}

static void op_pio(struct cpu_st *s, unsigned me)
{
	static const u16 interesting[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x40, 0x43, 0x60, 0x64, 0x61, 0x70, 0x71, 0x80, 0x92, 0xcf8, 0xcfc,
		0xcf9, 0x3f9, 0x3fa, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x510, 0x511, 0x402, 0xe9, 0x600,
		0x604, 0x608, 0xb000, 0xb004, 0xb008, 0x1f0, 0x3c0, 0x4d0, 0xffff, 0xfffe, 0xfffc,
	};
	static const unsigned widths[] = { 1, 2, 4 };
	unsigned w = widths[below(s, 3)];
	bool out = one_in(s, 2);
	u16 p;
	u32 v = (u32)rnd(s), got = 0, mask = w == 4 ? 0xffffffffu : (1u << (8 * w)) - 1;

	do {
		p = one_in(s, 2) ? interesting[below(s, ARRAY_SIZE(interesting))]
				 : (one_in(s, 4) && pm_port ? (u16)(pm_port + below(s, 4)) : (u16)rnd(s));
	} while (port_forbidden(p, w, out));
	if (p == 0x3f9)
		v &= 0x0f;
	if (p == 0x3fc)
		v &= ~0x10u;    /* MCR loopback would take the console's output */
	trace(s, "pio: %s%c port 0x%x = 0x%x", out ? "out" : "in", "bwl"[w / 2], p, out ? v : 0);
	if (out) {
		if (w == 1) outb(p, (u8)v);
		else if (w == 2) outw(p, (u16)v);
		else outl(p, v);
	} else {
		if (w == 1) got = inb(p);
		else if (w == 2) got = inw(p);
		else got = inl(p);
		if (!port_device(p) && (got & mask) != mask)
			wrong(s, C_PIO, "in%c from port 0x%x (nothing there): 0x%x, not all-ones",
			      "bwl"[w / 2], p, got);
	}
	count(s, C_PIO, -1);
	(void)me;
}

static bool on_lapic(u64 a, unsigned size)
{
	return a + size > LAPIC_BASE_DEFAULT && a < LAPIC_BASE_DEFAULT + 4096;
}

/* The IOAPIC's page (0xFEC00000): a device, not "nothing there". */
static bool on_ioapic(u64 a, unsigned size)
{
	return a + size > 0xfec00000ull && a < 0xfec00000ull + 4096;
}

static void op_mmio(struct cpu_st *s, unsigned me)
{
	static const unsigned load_size[MMIO_LOAD_FORMS] = { 1, 2, 4, 8, 1, 2, 1, 2, 4 };
	static const unsigned store_size[MMIO_STORE_FORMS] = { 1, 2, 4, 8, 4, 1 };
	bool store = one_in(s, 2);
	unsigned form = (unsigned)below(s, store ? MMIO_STORE_FORMS : MMIO_LOAD_FORMS);
	unsigned size = store ? store_size[form] : load_size[form];
	u64 a, got = 0, want = 0, v = rnd_val(s);
	int vec;

	/* Past RAM, the 3-4 GiB hole, anywhere between: never RAM, never the
	 * LAPIC page (the lapic class) or the IOAPIC's, never the last bytes below 4 GiB (the
	 * identity map ends there). */
	do {
		switch (below(s, 4)) {
		case 0: a = ram_top + below(s, 4ull << 20); break;
		case 1: a = 0xc0000000ull + below(s, 0x3f000000); break;
		case 2: a = 0xfec00000ull + below(s, 0x200000); break;	/* around the IOAPIC, HPET in PCs */
		default: a = ram_top + below(s, 0x100000000ull - ram_top); break;
		}
		if (!one_in(s, 8))
			a &= ~(u64)(size - 1);
		if ((a & 4095) + size > 4096)		/* one page per access */
			a &= ~(u64)7;
	} while (on_lapic(a, size) || on_ioapic(a, size) || a + size > 0xfffff000ull || a < ram_top);
	if (store) {
		trace(s, "mmio: store form %u (%u bytes) at 0x%llx = 0x%llx", form, size,
		      (unsigned long long)a, (unsigned long long)v);
		vec = mmio_store(a, form, v);
	} else {
		trace(s, "mmio: load form %u (%u bytes) at 0x%llx", form, size, (unsigned long long)a);
		vec = mmio_load(a, form, &got, &want);
	}
	count(s, C_MMIO, vec);
	if (vec >= 0)
		wrong(s, C_MMIO, "%s at 0x%llx: vector %d", store ? "store" : "load", (unsigned long long)a, vec);
	else if (!store && got != want)
		wrong(s, C_MMIO, "load form %u at 0x%llx (nothing there): 0x%llx, want 0x%llx", form,
		      (unsigned long long)a, (unsigned long long)got, (unsigned long long)want);
	(void)me;
}

/* An ICR value that cannot hurt the test itself: fixed and lowest-priority
 * IPIs on the test's vectors (or an illegal vector < 16, which the APIC
 * drops); NMI, SMI, ExtINT and the reserved mode (tscvisor emulates none);
 * INIT only as the level de-assert (no effect); SIPI only with the
 * trampoline's vector (a CPU waiting for one rejoins). Destination: self,
 * all, all-but-self, a vCPU, one that does not exist, or broadcast. */
static u32 ipi_icr(struct cpu_st *s, u32 *dest, bool x2)
{
	static const u32 modes[] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7 };
	u32 mode = modes[below(s, ARRAY_SIZE(modes))], vec, lo, sh = (u32)below(s, 4);

	vec = one_in(s, 16) ? (u32)below(s, 16) : VEC_FIRST + (u32)below(s, VEC_LAST - VEC_FIRST + 1);
	if (mode == 5)
		lo = ICR_INIT | (1u << 15);			/* level, de-assert */
	else if (mode == 6)
		lo = ICR_STARTUP | ICR_ASSERT | (AP_TRAMPOLINE_BASE >> 12);
	else
		lo = (mode << 8) | ICR_ASSERT | vec;
	lo |= sh << 18;
	if (one_in(s, 8))
		lo |= 1u << 11;					/* logical: not emulated */
	switch (below(s, 4)) {
	case 0: *dest = (u32)below(s, ncpu); break;
	case 1: *dest = x2 ? 0xffffffffu : 0xff; break;
	case 2: *dest = ncpu + (u32)below(s, 16); break;
	default: *dest = (u32)rnd(s) & (x2 ? 0xffffffffu : 0xff); break;
	}
	return lo;
}

static void op_ipi(struct cpu_st *s, unsigned me)
{
	u32 dest, lo = ipi_icr(s, &dest, false);
	u64 flags;

	trace(s, "ipi: ICR 0x%x dest 0x%x", lo, dest);
	flags = irq_save();
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_HI, dest << 24);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_LO, lo);
	if (mmio32_rd(LAPIC_BASE_DEFAULT + LAPIC_ICR_LO) & ICR_BUSY)
		wrong(s, C_IPI, "ICR still busy after 0x%x", lo);
	irq_restore(flags);
	count(s, C_IPI, -1);
	(void)me;
}

/* LAPIC registers through MMIO: reads of everything (also unaligned and
 * narrow), writes of values that keep the test alive (no vector below 32 in
 * an LVT, the ID written as it is). */
static void op_lapic(struct cpu_st *s, unsigned me)
{
	static const u16 regs[] = { 0x20, 0x30, 0x80, 0x90, 0xa0, 0xb0, 0xd0, 0xe0, 0xf0, 0x100, 0x170,
				    0x180, 0x200, 0x270, 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330,
				    0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3a0, 0x3e0, 0x3f0,
				    0x400, 0x800, 0xff0 };
	u32 off = regs[below(s, ARRAY_SIZE(regs))], v = (u32)rnd_val(s);
	u64 a = LAPIC_BASE_DEFAULT + off, got = 0, want = 0;
	int vec;

	if (one_in(s, 2)) {
		unsigned form = (unsigned)below(s, MMIO_LOAD_FORMS);

		if (one_in(s, 4))
			a += 1 + below(s, 3);
		trace(s, "lapic: load form %u at 0x%llx", form, (unsigned long long)a);
		vec = mmio_load(a, form, &got, &want);
		count(s, C_LAPIC, vec);
		if (vec >= 0)
			wrong(s, C_LAPIC, "load at 0x%llx: vector %d", (unsigned long long)a, vec);
		else if (off == 0x20 && !(a & 3) && form == 2 && got != smp.cpu[me].apic_id << 24)
			wrong(s, C_LAPIC, "LAPIC ID reads 0x%llx on vCPU %u", (unsigned long long)got, me);
		return;
	}
	switch (off) {
	case 0x20: v = smp.cpu[me].apic_id << 24; break;					/* ID: as it is */
	case 0x300: {
		u32 dest, lo = ipi_icr(s, &dest, false);
		u64 flags = irq_save();

		trace(s, "lapic: ICR 0x%x dest 0x%x", lo, dest);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_HI, dest << 24);
		mmio32_wr(a, lo);
		irq_restore(flags);
		count(s, C_LAPIC, -1);
		return;
	}
	case 0x320: case 0x330: case 0x340: case 0x350: case 0x360: case 0x370:
		v = (v & ~0xffu) | (u32)(VEC_FIRST + below(s, VEC_LAST - VEC_FIRST + 1));
		if (off == 0x320)
			v = (v & ~(3u << 17)) | (u32)(below(s, 3) << 17);
		break;
	case 0x380:
		v = timer_count(s);
		break;
	case 0xf0:
		v = (v & 0x1300) | 0xff | (one_in(s, 4) ? 0 : LAPIC_SVR_ENABLE);
		break;
	default:
		break;
	}
	if (one_in(s, 8) && off != 0x380 && off != 0x300) {
		/* Narrow or unaligned (not to the initial count: tscvisor takes
		 * a byte there as the whole count, and a periodic timer of a
		 * few ns starves the guest: seed=1 op 8071 did): a value that names neither a low vector
		 * nor 0xff (a byte store to ICR low sends a fixed IPI with it,
		 * and the library takes 0xff as the spurious vector, without
		 * an EOI: its ISR bit would block every interrupt after it). */
		a += below(s, 4);
		v = (v & 0x3f3f3f3fu) | 0x40404040u;
		trace(s, "lapic: byte store at 0x%llx = 0x%x", (unsigned long long)a, v & 0xff);
		vec = mmio_store(a, 0, v);
	} else {
		trace(s, "lapic: store 0x%x at 0x%x", v, off);
		vec = mmio_store(a, 2, v);
	}
	count(s, C_LAPIC, vec);
	if (vec >= 0)
		wrong(s, C_LAPIC, "store at 0x%llx: vector %d", (unsigned long long)a, vec);
}

/* INIT, SIPI, SIPI to another AP; see the header. */
static void init_sipi(u32 target, bool init)
{
	u32 id = smp.cpu[target].apic_id;
	u64 flags = irq_save();

	if (init) {
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_HI, id << 24);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_LO, ICR_INIT | ICR_ASSERT);
	}
	for (int k = 0; k < 2; k++) {
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_HI, id << 24);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_ICR_LO,
			  ICR_STARTUP | ICR_ASSERT | (AP_TRAMPOLINE_BASE >> 12));
	}
	irq_restore(flags);
}

static void op_init(struct cpu_st *s, unsigned me)
{
	u32 t;

	if (ncpu < 3 && me != 0) {
		count(s, C_INIT, -1);	/* the only other AP would be itself */
		return;
	}
	t = 1 + (u32)below(s, ncpu - 1);
	if (ncpu < 2 || t == me || !atomic_cmpxchg(&claim[t], NO_CLAIM, me + 1)) {
		count(s, C_INIT, -1);
		return;
	}
	trace(s, "init: INIT, SIPI, SIPI to CPU %u", t);
	s->inits_sent++;
	init_sipi(t, true);
	count(s, C_INIT, -1);
}

static void op_cpuid(struct cpu_st *s, unsigned me)
{
	u32 leaf, sub = (u32)rnd_val(s);
	struct cpuid_regs r;

	switch (below(s, 5)) {
	case 0: leaf = (u32)below(s, 0x20); break;
	case 1: leaf = 0x40000000u + (u32)below(s, 0x120); break;
	case 2: leaf = 0x80000000u + (u32)below(s, 0x30); break;
	case 3: leaf = 0x40000000u + (u32)below(s, 0x10000000); break;
	default: leaf = (u32)rnd(s); break;
	}
	trace(s, "cpuid: leaf 0x%x sub 0x%x", leaf, sub);
	r = cpuid_count(leaf, sub);
	count(s, C_CPUID, -1);
	if (leaf == 1 && r.ebx >> 24 != smp.cpu[me].apic_id)
		wrong(s, C_CPUID, "CPUID.1:EBX[31:24] %u on vCPU %u", r.ebx >> 24, me);
	if (leaf >= 0x40000000u && leaf <= 0x4fffffffu && !(leaf <= 0x40000010u) &&
	    !(leaf >= 0x40000100u && leaf <= 0x40000102u) && (r.eax | r.ebx | r.ecx | r.edx))
		wrong(s, C_CPUID, "leaf 0x%x (undefined hypervisor leaf) not all zero: %x %x %x %x",
		      leaf, r.eax, r.ebx, r.ecx, r.edx);
}

static volatile u32 irq_count[MAX_CPUS];

static void count_irq(u8 vector)
{
	(void)vector;
	atomic_inc(&irq_count[smp_cpu_by_stack()]);
}

/* STI;HLT with the LAPIC timer armed (1 us .. 1 ms at the 1 GHz bus):
 * something must wake it. */
static void op_hlt(struct cpu_st *s, unsigned me)
{
	u32 count_ticks = 1000 + (u32)below(s, 1000000), before;
	u64 flags = irq_save();

	trace(s, "hlt: one-shot %u ticks, STI;HLT", count_ticks);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TPR, 0);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TDCR, 0xb);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | VEC_TIMER);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, count_ticks);
	before = irq_count[me];
	sti_hlt();
	irq_disable();
	/* Woken by something else, the short one-shot is still armed; an
	 * LVT write to periodic mode later would make it a 1 us period. */
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, 0);
	s->irqs += irq_count[me] - before;
	irq_restore(flags);
	count(s, C_HLT, -1);
}

static void op_timer(struct cpu_st *s, unsigned me)
{
	u32 vec = VEC_FIRST + (u32)below(s, VEC_LAST - VEC_FIRST + 1);
	u64 v;
	int fv;

	switch (below(s, 5)) {
	case 0:
		trace(s, "timer: one-shot");
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | vec);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, timer_count(s));
		break;
	case 1:
		trace(s, "timer: periodic");
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TDCR, (u32)below(s, 16) & 0xb);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | vec);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, timer_count(s));
		break;
	case 2: {
		/* TSC-deadline: past, near, far, extreme. */
		u64 now = rdtsc();

		switch (below(s, 4)) {
		case 0: v = now - below(s, 1u << 20); break;
		case 1: v = now + below(s, 1u << 22); break;
		case 2: v = now + (1ull << 40); break;
		default: v = rnd_val(s); break;
		}
		trace(s, "timer: TSC-deadline 0x%llx", (unsigned long long)v);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | vec);
		mfence();
		fv = try_wrmsr(MSR_TSC_DEADLINE, v);
		count(s, C_TIMER, fv);
		if (fv >= 0)
			wrong(s, C_TIMER, "WRMSR TSC_DEADLINE 0x%llx: vector %d", (unsigned long long)v, fv);
		return;
	}
	case 3:
		trace(s, "timer: TSC_DEADLINE outside deadline mode");
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT | vec);
		fv = try_wrmsr(MSR_TSC_DEADLINE, rnd_val(s));
		count(s, C_TIMER, fv);
		if (fv >= 0 || rdmsr(MSR_TSC_DEADLINE) != 0)
			wrong(s, C_TIMER, "TSC_DEADLINE outside deadline mode: vector %d, reads 0x%llx", fv,
			      (unsigned long long)rdmsr(MSR_TSC_DEADLINE));
		return;
	default:
		trace(s, "timer: stop");
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, 0);
		mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_MASKED);
		break;
	}
	count(s, C_TIMER, -1);
	(void)me;
}

static void op_save(struct cpu_st *s, unsigned me)
{
	int vec;
	s64 r;

	/* Rarely: one in 64 of the class's turns. */
	if (!one_in(s, 64)) {
		count(s, C_SAVE, -1);
		return;
	}
	trace(s, "save: hypercall 3");
	r = hc(3, 0, 0, 0, 0, &vec);
	count(s, C_SAVE, vec);
	s->saves++;
	if (vec >= 0 || r != 0)
		wrong(s, C_SAVE, "save hypercall: %lld (vector %d)", (long long)r, vec);
	(void)me;
}

typedef void op_fn(struct cpu_st *s, unsigned me);
static op_fn *const ops_tab[NCLS] = {
	[C_HC] = op_hc, [C_WINDOW] = op_window, [C_MSR] = op_msr, [C_TSC] = op_tsc,
	[C_KVMCLOCK] = op_kvmclock, [C_APIC] = op_apic, [C_PIO] = op_pio, [C_MMIO] = op_mmio,
	[C_LAPIC] = op_lapic, [C_IPI] = op_ipi, [C_INIT] = op_init, [C_CPUID] = op_cpuid,
	[C_HLT] = op_hlt, [C_TIMER] = op_timer, [C_SAVE] = op_save,
};

static enum cls pick(struct cpu_st *s)
{
	u32 r = (u32)below(s, wsum);

	for (unsigned c = 0; c < NCLS; c++) {
		if (!(enabled_mask & (1u << c)))
			continue;
		if (r < class_weight[c])
			return (enum cls)c;
		r -= class_weight[c];
	}
	return C_CPUID;
}

/* ---- the loop ---- */

static NORETURN void idle_done(void)
{
	for (;;)
		sti_hlt();
}

/* CPU 1 watches the BSP (which keeps the time and reports): a BSP that
 * makes no progress for WATCHDOG_S seconds is stuck in its op, and the
 * guest reports which op and ends failed, rather than hanging silently. */
#define WATCHDOG_S 15
static u64 wd_seen_ops, wd_acc;
static u32 wd_last_pm;

static void watchdog(void)
{
	u32 now;

	if (!pm_port)
		return;
	now = inl(pm_port) & pm_mask;
	wd_acc += (now - wd_last_pm) & pm_mask;
	wd_last_pm = now;
	if (atomic_read64(&st[0].ops) != wd_seen_ops || atomic_read(&st[0].done)) {
		wd_seen_ops = st[0].ops;
		wd_acc = 0;
		return;
	}
	if (wd_acc < WATCHDOG_S * (u64)PMTMR_HZ)
		return;
	while (!atomic_cmpxchg(&trace_lock, 0, 2))
		cpu_relax();
	printf("\n");
	diag("exerciser: watchdog: CPU 0 made no progress for %u s in its op %llu (class %s); seed=%llu",
	     WATCHDOG_S, (unsigned long long)st[0].ops, class_names[st[0].cur], (unsigned long long)seed);
	for (unsigned c = 1; c < ncpu; c++)
		diag("exerciser: watchdog: CPU %u at op %llu (class %s)%s", c, (unsigned long long)st[c].ops,
		     class_names[st[c].cur], st[c].done ? ", done" : "");
	printf("not ok - the BSP finished its ops (watchdog)\nRESULT: FAIL\n");
	guest_exit(EXIT_FAIL);
}

static void run_loop(unsigned me)
{
	struct cpu_st *s = &st[me];

	irq_enable();
	while (!atomic_read(&stop_flag) && (!max_ops || s->ops < max_ops)) {
		enum cls c = pick(s);

		s->ops++;
		s->cur = c;
		if (me == 1 && (s->ops & 15) == 0)
			watchdog();
		ops_tab[c](s, me);
		/* Every few ops: the clocks this vCPU watches. */
		if ((s->ops & 7) == 0) {
			tsc_seen(s, rdtsc());
			pvclock_check(s, me);
		}
	}
	irq_disable();
	/* Leave the LAPIC quiet: no timer that keeps firing. */
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, 0);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_MASKED);
	irq_enable();
}

static void ap_work(unsigned cpu, void *arg)
{
	(void)arg;
	register_own_area(cpu);
	st[cpu].tsc_aux = (u32)rdmsr(0xc0000103);
	atomic_set(&st[cpu].started, 1);
	barrier_wait(&start_barrier, 5000);
	run_loop(cpu);
	atomic_set(&st[cpu].done, 1);
	idle_done();
}

/* An AP started again by another CPU's INIT and SIPI (smp_rejoin_hook). */
static void rejoin(unsigned me, void *arg)
{
	struct cpu_st *s = &st[me];

	(void)arg;
	s->rejoins++;
	if (atomic_read(&trace_lock) == me + 1)
		atomic_set(&trace_lock, 0);
	/* Reset before it sent its SIPI: send it now (INIT again first: the
	 * target may be anywhere in its start-up). */
	for (unsigned u = 1; u < ncpu; u++)
		if (u != me && atomic_read(&claim[u]) == me + 1) {
			s->inits_sent++;
			init_sipi(u, true);
		}
	atomic_set(&claim[me], NO_CLAIM);
	if (s->tsc_aux_unsure) {
		s->tsc_aux = (u32)rdmsr(0xc0000103);
		s->tsc_aux_unsure = false;
	}
	register_own_area(me);
	if (!atomic_read(&s->done) && atomic_read(&s->started)) {
		run_loop(me);
		atomic_set(&s->done, 1);
	}
	idle_done();
}

/* ---- options ---- */

static bool parse_ops(const char *v)
{
	u32 mask = 0;

	while (*v) {
		const char *e = v;
		size_t n;
		bool found = false;

		while (*e && *e != ',')
			e++;
		n = (size_t)(e - v);
		if (n == 3 && !strncmp(v, "all", 3)) {
			mask |= ((1u << NCLS) - 1) & ~(1u << C_SAVE);
			found = true;
		}
		for (unsigned c = 0; c < NCLS && !found; c++) {
			if (strlen(class_names[c]) == n && !strncmp(v, class_names[c], n)) {
				mask |= 1u << c;
				found = true;
			}
		}
		if (!found)
			return false;
		v = *e ? e + 1 : e;
	}
	enabled_mask = mask;
	return mask != 0;
}

void test_main(const struct mb_info *mbi)
{
	const struct pmtimer *pm;
	char opsv[160];
	u32 max, pm_last, fw;
	u64 pm_acc = 0, pm_goal, wait_end, next_beat = 5ull * PMTMR_HZ;
	bool all_done;
	struct cpuid_regs tl;
	int nchecks;

	(void)mbi;
	seed = cmdline_u64("seed", 1, NULL);
	/* The seed first: whatever happens next, the log says how to get it again. */
	diag("exerciser: seed=%llu", (unsigned long long)seed);
	ms_budget = cmdline_u64("ms", 3000, NULL);
	min_ops = cmdline_u64("min_ops", 100, NULL);
	max_ops = cmdline_u64("max_ops", 0, NULL);
	trace_n = cmdline_u64("trace", 0, NULL);
	trace_from = cmdline_u64("trace_from", 0, NULL);
	/* Every class but save, unless ops= names them; save=1 adds save. */
	enabled_mask = ((1u << NCLS) - 1) & ~(1u << C_SAVE);
	if (cmdline_get("ops", opsv, sizeof(opsv)) && !parse_ops(opsv))
		ok(false, "ops=%s: a list of class names (hc,msr,...) or all", opsv);
	if (cmdline_u64("save", 0, NULL))
		enabled_mask |= 1u << C_SAVE;
	wsum = 0;
	for (unsigned c = 0; c < NCLS; c++)
		if (enabled_mask & (1u << c))
			wsum += class_weight[c];

	nchecks = 9;
	plan(nchecks);
	if (!tv_signature(&max))
		skip_rest("not under tscvisor: random port and MMIO writes would reach real devices");
	intel = tv_cpu_intel();
	tl = cpuid(TV_LEAF_TIME);
	emulate_mode = (tl.ebx & 0xff) == TV_MODE_EMULATE;
	pvrdtscp_mode = (tl.ebx & 0xff) == TV_MODE_PVRDTSCP;
	ram_top = mb_ram_top();
	if (cpuid(0x80000000u).eax >= 0x80000008u)
		maxphy = cpuid(0x80000008u).eax & 0xff;
	pm = pmtimer_init();
	pm_port = pm ? pm->port : 0;
	pm_mask = pm ? pm->mask : 0;
	wd_last_pm = pm ? pmtimer_read(pm) : 0;
	fw = (u32)fwcfg_nb_cpus();
	ncpu = smp_init();
	{
		char names[120];
		size_t n = 0;

		names[0] = 0;
		for (unsigned c = 0; c < NCLS; c++)
			if (enabled_mask & (1u << c))
				n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? "," : "",
						      class_names[c]);
		diag("exerciser: seed=%llu ms=%llu ops=%s vcpus=%u mode=%s ram=0x%llx pm=0x%x %s",
		     (unsigned long long)seed, (unsigned long long)ms_budget, names, ncpu,
		     emulate_mode ? "emulate" : pvrdtscp_mode ? "pvrdtscp" : "native",
		     (unsigned long long)ram_top, pm_port, intel ? "VMCALL" : "VMMCALL");
	}
	ok(ram_top > 0 && pm && ncpu == fw, "%u of %u vCPU(s) online, RAM top 0x%llx, PM timer %s", ncpu, fw,
	   (unsigned long long)ram_top, pm ? pm->source : "none");

	for (unsigned v = VEC_FIRST; v < LAPIC_WAKE_VECTOR; v++)
		irq_set_handler((u8)v, count_irq);
	for (unsigned c = 0; c < ncpu; c++) {
		u64 x = seed ^ (0x1000193ull * (c + 1));

		st[c].rng = splitmix(&x) | 1;
	}
	st[0].tsc_aux = (u32)rdmsr(0xc0000103);
	smp_rejoin_hook = rejoin;
	barrier_init(&start_barrier, ncpu);
	register_own_area(0);
	st[0].started = 1;
	smp_start_aps(ap_work, NULL);
	barrier_wait(&start_barrier, 5000);

	/* The BSP exercises too, and keeps time on the PM timer (wraps at
	 * 2^24 ticks, 4.7 s: read far more often than that). */
	pm_goal = ms_budget * PMTMR_HZ / 1000;
	pm_last = pm ? pmtimer_read(pm) : 0;
	irq_enable();
	while (pm_acc < pm_goal && (!max_ops || st[0].ops < max_ops)) {
		enum cls c = pick(&st[0]);
		u32 now;

		st[0].ops++;
		st[0].cur = c;
		ops_tab[c](&st[0], 0);
		if ((st[0].ops & 7) == 0) {
			tsc_seen(&st[0], rdtsc());
			pvclock_check(&st[0], 0);
		}
		now = pm ? pmtimer_read(pm) : pm_last + 1000;
		pm_acc += (now - pm_last) & (pm ? pm->mask : 0xffffffffu);
		pm_last = now;
		if (pm_acc >= next_beat) {
			/* A heartbeat every 5 s (bounded: ms / 5000 lines): where
			 * each vCPU is, should the VM hang after it. */
			char line[200];
			size_t n = 0;

			next_beat += 5ull * PMTMR_HZ;
			for (unsigned c2 = 0; c2 < ncpu && n < sizeof(line) - 40; c2++)
				n += (size_t)snprintf(line + n, sizeof(line) - n, " cpu%u %llu %s", c2,
						      (unsigned long long)st[c2].ops, class_names[st[c2].cur]);
			diag("exerciser: %llu s:%s", (unsigned long long)(pm_acc / PMTMR_HZ), line);
		}
	}
	atomic_set(&stop_flag, 1);
	irq_disable();
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_TMICT, 0);
	mmio32_wr(LAPIC_BASE_DEFAULT + LAPIC_LVT_TIMER, LVT_MASKED);
	st[0].done = 1;

	/* Every AP finishes (an AP reset by INIT rejoins, so give it time);
	 * up to 30 s of PM time. */
	wait_end = 30ull * PMTMR_HZ;
	pm_acc = 0;
	pm_last = pm ? pmtimer_read(pm) : 0;
	for (;;) {
		u32 now;

		all_done = true;
		for (unsigned c = 1; c < ncpu; c++)
			if (!atomic_read(&st[c].done) || atomic_read(&claim[c]))
				all_done = false;
		if (all_done || pm_acc > wait_end)
			break;
		cpu_relax();
		now = pm ? pmtimer_read(pm) : pm_last + 10;
		pm_acc += (now - pm_last) & (pm ? pm->mask : 0xffffffffu);
		pm_last = now;
	}
	irq_enable();

	/* ---- the report: bounded (one line per vCPU, one per class) ---- */
	{
		u64 total = 0, wrong_total = 0, other = 0, tsc_back = 0, ns_back = 0, tb_max = 0, nb_max = 0;
		bool budget = all_done;
		u8 lcr, lsr;

		for (unsigned c = 0; c < ncpu; c++) {
			struct cpu_st *s = &st[c];

			diag("cpu %u: %llu ops, %u INIT sent, %u rejoins, %u saves, %llu timer wake-ups, TSC back %llu "
			     "(max %llu), pvclock back %llu (max %llu ns)%s",
			     c, (unsigned long long)s->ops, s->inits_sent, s->rejoins, s->saves,
			     (unsigned long long)s->irqs, (unsigned long long)s->tsc_back,
			     (unsigned long long)s->tsc_back_max, (unsigned long long)s->ns_back,
			     (unsigned long long)s->ns_back_max, s->done ? "" : ", NOT DONE");
			total += s->ops;
			if (s->ops < min_ops || !s->done)
				budget = false;
			tsc_back += s->tsc_back;
			ns_back += s->ns_back;
			if (s->tsc_back_max > tb_max)
				tb_max = s->tsc_back_max;
			if (s->ns_back_max > nb_max)
				nb_max = s->ns_back_max;
		}
		for (unsigned c = 0; c < NCLS; c++) {
			u64 n[NOUT] = { 0 }, w = 0;

			for (unsigned k = 0; k < ncpu; k++) {
				for (unsigned o = 0; o < NOUT; o++)
					n[o] += st[k].cnt[c][o];
				w += st[k].wrong[c];
			}
			if (!(enabled_mask & (1u << c)))
				continue;
			diag("class %-8s: %llu ops: %llu ok, %llu #GP, %llu #UD, %llu other; %llu wrong answers",
			     class_names[c], (unsigned long long)(n[0] + n[1] + n[2] + n[3]),
			     (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2],
			     (unsigned long long)n[3], (unsigned long long)w);
			for (u32 k = 0; k < w && k < WRONG_KEPT; k++)
				diag("class %-8s: wrong answer %u: %s", class_names[c], k + 1, first_wrong[c][k]);
			wrong_total += w;
			other += n[O_OTHER];
		}
		ok(budget, "every vCPU made at least %llu ops and finished (%llu ops in all)",
		   (unsigned long long)min_ops, (unsigned long long)total);
		ok(wrong_total == 0, "every answer was the architectural / ABI one (%llu wrong)",
		   (unsigned long long)wrong_total);
		ok(other == 0, "faults were only the expected #GP and #UD (%llu others)", (unsigned long long)other);
		ok(tsc_back == 0, "the TSC never went back on a vCPU between writes (%llu times, at most %llu)%s",
		   (unsigned long long)tsc_back, (unsigned long long)tb_max, emulate_mode ? " (emulated)" : "");
		ok(ns_back == 0, "kvmclock system time from each vCPU's own area never went back (%llu times, "
		   "at most %llu ns)", (unsigned long long)ns_back, (unsigned long long)nb_max);
		/* The console: nothing of ours touched its line control. */
		lcr = inb(0x3fb);
		lsr = inb(0x3fd);
		ok(!(lcr & 0x80) && (lsr & 0x60) == 0x60, "the console still works (LCR 0x%x, LSR 0x%x)", lcr, lsr);
		{
			u32 rejoins = 0, inits = 0;

			for (unsigned c = 0; c < ncpu; c++) {
				rejoins += st[c].rejoins;
				inits += st[c].inits_sent;
			}
			ok(rejoins <= inits && (inits == 0 || rejoins > 0),
			   "APs reset by INIT came back through SIPI (%u INIT sent, %u rejoins)", inits, rejoins);
		}
		ok(true, "exerciser: seed=%llu done", (unsigned long long)seed);
	}
}
