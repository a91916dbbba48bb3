/* tsc_msrs — the TSC MSRs with SDM semantics (docs/tsc-modes.md; SDM Vol. 3B
 * 17.17.3):
 *   - WRMSR IA32_TSC (0x10) = v: RDTSC continues from v (also from 2^63 and
 *     from 2^64 - 1, where it wraps); RDMSR IA32_TSC reads the TSC; RDTSCP
 *     stays ordered with RDTSC after a write.
 *   - IA32_TSC_ADJUST (0x3b, CPUID.7.0:EBX[1]): a TSC write moves it by the
 *     same difference; writing it moves the TSC by the difference (also to
 *     negative values and to 2^63); writing back the value it had at the
 *     start puts the TSC back on its original time line.
 *   - RDTSCP returns IA32_TSC_AUX in ECX, RDPID (CPUID.7.0:ECX[22]) too
 *     (in tscvisor's pvrdtscp mode TSC_AUX is the incarnation of the time
 *     leaf and guest writes are ignored).
 *
 * Bare QEMU TCG ignores writes of IA32_TSC and IA32_TSC_ADJUST and has no
 * RDPID: a part whose feature is absent or whose writes have no effect is
 * skipped, unless the command line requires it, which tscvisor's runs do:
 *   require=tsc_write,tsc_adjust,rdtscp,rdpid   (any subset, comma-separated)
 * slack=N: cycles allowed between a write and the RDTSC that sees it
 * (default 2^32; every move tested is at least 2^40).
 *
 * The test leaves the TSC where it would have been without it (through
 * TSC_ADJUST when there is one, else by one more TSC write). */
#include "guest.h"
#include "pvclock.h"

#define MSR_TSC		0x10u
#define MSR_TSC_ADJUST	0x3bu
#define MSR_TSC_AUX	0xc0000103u
#define MOVE		(1ull << 40)
#define RESTORE_BOUND	(1ull << 36)

static char req[96];
static u64 slack;

/* Is word in the comma-separated require= list? */
static bool required(const char *word)
{
	size_t n = strlen(word);

	for (const char *p = req; *p;) {
		const char *e = p;

		while (*e && *e != ',')
			e++;
		if ((size_t)(e - p) == n && !strncmp(p, word, n))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* d is within [0, slack] as a 64-bit difference. */
static bool near(u64 d)
{
	return d <= slack;
}

static u64 rdpid(void)
{
	u64 v;

	__asm__ volatile("rdpid %0" : "=r"(v));
	return v;
}

/* Skips n checks with a reason, or fails them when the feature is required. */
static void skip_or_fail(int n, const char *feature, const char *why)
{
	for (int i = 0; i < n; i++) {
		if (required(feature))
			ok(false, "%s required but %s", feature, why);
		else
			skip("%s", why);
	}
}

static u64 rd(u32 msr, int *fault)
{
	u64 v = 0;

	*fault = rdmsr_safe(msr, &v);
	return v;
}

void test_main(const struct mb_info *mbi)
{
	struct cpuid_regs l7 = cpuid(0).eax >= 7 ? cpuid_count(7, 0) : (struct cpuid_regs){ 0 };
	bool has_adjust = l7.ebx & (1u << 1), has_rdpid = l7.ecx & (1u << 22);
	bool has_rdtscp = cpuid(0x80000000u).eax >= 0x80000001u &&
			  (cpuid(0x80000001u).edx & (1u << 27));
	u64 t_start, adj_orig = 0, moved = 0, tb, ta, v;
	bool writes;
	int f1, f2;

	(void)mbi;
	cmdline_get("require", req, sizeof(req));
	slack = cmdline_u64("slack", 1ull << 32, NULL);
	plan(13);
	diag("CPUID.7.0:EBX[1] TSC_ADJUST %u, CPUID.7.0:ECX[22] RDPID %u, RDTSCP %u; require=\"%s\"",
	     has_adjust, has_rdpid, has_rdtscp, req);

	t_start = rdtsc();
	if (has_adjust) {
		adj_orig = rd(MSR_TSC_ADJUST, &f1);
		diag("IA32_TSC_ADJUST at start: 0x%llx (%s)", (unsigned long long)adj_orig,
		     f1 < 0 ? "read" : "RDMSR faulted");
		if (f1 >= 0)
			has_adjust = false;
	}

	/* W1: a write takes effect. */
	tb = rdtsc();
	v = tb + MOVE;
	f1 = wrmsr_safe(MSR_TSC, v);
	ta = rdtsc();
	writes = f1 < 0 && near(ta - v);
	diag("WRMSR IA32_TSC = 0x%llx: before 0x%llx, after 0x%llx%s", (unsigned long long)v,
	     (unsigned long long)tb, (unsigned long long)ta, f1 < 0 ? "" : " (faulted)");
	if (writes)
		moved += v - tb;
	if (!writes && !required("tsc_write")) {
		diag("IA32_TSC writes have no effect here (bare QEMU TCG ignores them)");
		skip_or_fail(11, "tsc_write", "IA32_TSC writes have no effect");
	} else {
		u64 adj1 = has_adjust ? rd(MSR_TSC_ADJUST, &f2) : 0;

		ok(writes, "WRMSR IA32_TSC = now + 2^40: RDTSC continues from it (+%llu)",
		   (unsigned long long)(ta - v));

		/* W2: RDMSR IA32_TSC is the TSC. */
		tb = rdtsc();
		u64 m = rd(MSR_TSC, &f1);
		ta = rdtsc();
		ok(f1 < 0 && m - tb <= ta - tb, "RDMSR IA32_TSC 0x%llx lies between RDTSC 0x%llx and 0x%llx",
		   (unsigned long long)m, (unsigned long long)tb, (unsigned long long)ta);

		/* W3, W4: extreme values. */
		tb = rdtsc();
		f1 = wrmsr_safe(MSR_TSC, 1ull << 63);
		ta = rdtsc();
		moved += (1ull << 63) - tb;
		ok(f1 < 0 && near(ta - (1ull << 63)), "WRMSR IA32_TSC = 2^63: RDTSC 0x%llx continues from it",
		   (unsigned long long)ta);
		tb = rdtsc();
		f1 = wrmsr_safe(MSR_TSC, UINT64_MAX);
		ta = rdtsc();
		moved += UINT64_MAX - tb;
		ok(f1 < 0 && near(ta - UINT64_MAX), "WRMSR IA32_TSC = 2^64-1: RDTSC wraps to 0x%llx",
		   (unsigned long long)ta);

		/* W5: RDTSCP after a write, ordered with RDTSC. */
		tb = rdtsc();
		f1 = wrmsr_safe(MSR_TSC, 1ull << 62);
		moved += (1ull << 62) - tb;
		if (has_rdtscp) {
			u32 aux;
			u64 a = rdtsc(), b = rdtscp(&aux), c = rdtsc();

			ok(f1 < 0 && a >= (1ull << 62) && a <= b && b <= c && near(c - (1ull << 62)),
			   "after WRMSR IA32_TSC = 2^62: RDTSC 0x%llx <= RDTSCP 0x%llx <= RDTSC 0x%llx",
			   (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
		} else {
			skip_or_fail(1, "rdtscp", "no RDTSCP");
		}

		/* A1..A6: IA32_TSC_ADJUST. */
		if (!has_adjust) {
			skip_or_fail(6, "tsc_adjust", "no IA32_TSC_ADJUST (CPUID.7.0:EBX[1] clear or RDMSR faults)");
		} else {
			ok(f2 < 0, "RDMSR IA32_TSC_ADJUST works");
			/* The first write (W1) moved it by v - G(write), G in [tb, tb + slack]. */
			u64 want = (u64)MOVE, got = adj1 - adj_orig;

			ok(f2 < 0 && near(want - got), "WRMSR IA32_TSC moved IA32_TSC_ADJUST by the same "
			   "difference: +0x%llx (TSC moved by 0x%llx less up to slack)",
			   (unsigned long long)got, (unsigned long long)want);

			static const u64 values[] = { 0, (u64)-(s64)(1ull << 40), 1ull << 63 };
			static const char *const names[] = { "+2^40 from now", "-2^40", "2^63 (most negative)" };
			bool good[3];

			for (int i = 0; i < 3; i++) {
				u64 old = rd(MSR_TSC_ADJUST, &f1), nv = i == 0 ? old + MOVE : values[i], back;

				tb = rdtsc();
				f2 = wrmsr_safe(MSR_TSC_ADJUST, nv);
				ta = rdtsc();
				back = rd(MSR_TSC_ADJUST, &f1);
				good[i] = f2 < 0 && f1 < 0 && back == nv && near((ta - tb) - (nv - old));
				diag("IA32_TSC_ADJUST 0x%llx -> 0x%llx (read 0x%llx): TSC 0x%llx -> 0x%llx",
				     (unsigned long long)old, (unsigned long long)nv, (unsigned long long)back,
				     (unsigned long long)tb, (unsigned long long)ta);
				if (i < 2)
					ok(good[i], "WRMSR IA32_TSC_ADJUST = %s reads back and moves the TSC by the difference",
					   names[i]);
			}
			ok(good[2], "WRMSR IA32_TSC_ADJUST = %s reads back and moves the TSC by the difference",
			   names[2]);

			/* Every move so far went into TSC_ADJUST: its start value
			 * puts the TSC back where it would have been. */
			f2 = wrmsr_safe(MSR_TSC_ADJUST, adj_orig);
			ta = rdtsc();
			moved = 0;
			ok(f2 < 0 && ta - t_start < RESTORE_BOUND,
			   "IA32_TSC_ADJUST back to 0x%llx: TSC 0x%llx is on its original time line "
			   "(start 0x%llx)", (unsigned long long)adj_orig, (unsigned long long)ta,
			   (unsigned long long)t_start);
		}
		if (moved) {	/* no TSC_ADJUST: undo by one more write */
			wrmsr_safe(MSR_TSC, rdtsc() - moved);
			diag("TSC restored by a write: 0x%llx (start 0x%llx)", (unsigned long long)rdtsc(),
			     (unsigned long long)t_start);
		}
	}

	/* X1: RDTSCP returns IA32_TSC_AUX. In tscvisor's pvrdtscp mode the
	 * hypervisor owns TSC_AUX (the incarnation) and ignores writes. */
	u64 aux_orig = 0, back;
	u32 tmax, aux_want_fixed = 0;
	bool have_aux = has_rdtscp || has_rdpid, pvrdtscp = false;

	if (tv_signature(&tmax)) {
		struct cpuid_regs t = cpuid(TV_LEAF_TIME);

		pvrdtscp = (t.ebx & 0xff) == TV_MODE_PVRDTSCP;
		aux_want_fixed = t.edx;
		if (pvrdtscp)
			diag("pvrdtscp mode: IA32_TSC_AUX is the incarnation %u, writes ignored", t.edx);
	}
	if (have_aux && rdmsr_safe(MSR_TSC_AUX, &aux_orig) >= 0)
		have_aux = false;
	if (has_rdtscp && have_aux) {
		u32 aux = 0, want = pvrdtscp ? aux_want_fixed : 0x1234abcdu;

		f1 = wrmsr_safe(MSR_TSC_AUX, 0x1234abcdu);
		f2 = rdmsr_safe(MSR_TSC_AUX, &back);
		rdtscp(&aux);
		ok(f1 < 0 && f2 < 0 && back == want && aux == want,
		   "RDTSCP ECX 0x%08x == IA32_TSC_AUX 0x%08llx == 0x%08x", aux,
		   (unsigned long long)back, want);
	} else {
		skip_or_fail(1, "rdtscp", "no RDTSCP or IA32_TSC_AUX");
	}

	/* X2: RDPID returns IA32_TSC_AUX. */
	if (has_rdpid && have_aux) {
		u64 p;
		u32 want = pvrdtscp ? aux_want_fixed : 0x89abcdefu;

		f1 = wrmsr_safe(MSR_TSC_AUX, 0x89abcdefu);
		p = rdpid();
		ok(f1 < 0 && p == want, "RDPID 0x%llx == IA32_TSC_AUX 0x%08x",
		   (unsigned long long)p, want);
	} else {
		skip_or_fail(1, "rdpid", "no RDPID (CPUID.7.0:ECX[22] clear)");
	}
	if (have_aux)
		wrmsr_safe(MSR_TSC_AUX, aux_orig);
}
