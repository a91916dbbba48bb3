/* hostile_state — the registers a guest can set are its own.
 *
 * Neither VMRUN nor VM entry switches DR0-DR3, XCR0 or the XSAVE state
 * components beyond what FXSAVE covers (the AVX upper halves, AVX-512,
 * PKRU); IA32_TSC_AUX only where the hypervisor does it. A VM that leaves
 * values there must not have them read by the next VM on the pCPU, nor by
 * another vCPU of its own VM time-sliced with it. Modes (cmdline do=...),
 * every online CPU doing the same and the BSP reporting:
 *
 * do=dirty: DR0-DR3 = the addresses of four functions nobody calls in this
 *   VM, DR7 with those four execution breakpoints enabled, DR6 with B0-B3
 *   set; CR4.OSXSAVE and XCR0 = every component CPUID.0DH.0 lists; XMM0-15,
 *   YMM0-15 (AVX), ZMM0-31 and k1-k7 (AVX-512) patterns; MXCSR with another
 *   rounding mode; IA32_TSC_AUX; PKRU when CR4.PKE can be set. Checks that
 *   each reads back (the VM itself has them).
 * do=clean (the next VM): DR0-DR3 = 0, DR6 = 0xFFFF0FF0, DR7 = 0x400 (the
 *   state after reset, SDM Vol. 3A table 9-1); calls the four functions (a
 *   leaked enabled breakpoint would be a #DB, which fails the test); XCR0 = 1
 *   after setting CR4.OSXSAVE; with XCR0 = everything offered, XMM, YMM
 *   upper halves, AVX-512 and opmask registers 0 and MXCSR 0x1F80; TSC_AUX 0
 *   by RDMSR, RDTSCP and RDPID; PKRU 0.
 * do=slice: each CPU its own DR0-DR3, DR7, XCR0 (CPU 0 everything offered,
 *   the odd ones x87 only, the even ones x87|SSE), XMM/YMM pattern, then for ms=N
 *   milliseconds exits over and over (CPUID) and checks that all of them
 *   stay its own. Run with more vCPUs than pCPUs.
 * do=save (one CPU): XCR0 = everything offered, DR0-DR3, the widest vector
 *   registers offered (ZMM0-31 and k1-k7, or YMM, or XMM) hold patterns; a
 *   snapshot is taken and the VM restored from it (on_save = restore); all
 *   of it must be back (the snapshot's XSTATE sections).
 * do=rules: XSETBV with CR4.OSXSAVE clear (#UD), ECX = 1, bit 0 clear, AVX
 *   without SSE, every bit CPUID.0DH.0 does not list (#GP), everything it
 *   lists (accepted, XGETBV reads it back); CPUID leaves 1, 7 and 0DH agree
 *   with what XSETBV accepts; WRMSR IA32_PAT with reserved memory types 2, 3
 *   and 8 (#GP) and a valid one (reads back); RDPMC (#GP: no counters are
 *   offered, CPUID leaf 0AH is zero). xsetbv_native=1: the CPU checks
 *   XSETBV itself, against its own components (QEMU's TCG has no XSETBV
 *   intercept): the unlisted-bit checks are skipped.
 *
 * Built with -mgeneral-regs-only: the compiler never uses the vector
 * registers, so what this test puts there stays there. */
#include "guest.h"
#include "pvclock.h"

#define NCPU MAX_CPUS

/* ---- registers ---- */

#define DR_RW(n)                                                               \
	static u64 read_dr##n(void)                                            \
	{                                                                      \
		u64 v;                                                         \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}                                                                      \
	static void write_dr##n(u64 v) { __asm__ volatile("mov %0, %%dr" #n : : "r"(v)); }
DR_RW(0)
DR_RW(1)
DR_RW(2)
DR_RW(3)
DR_RW(6)
DR_RW(7)

static u64 read_cr4(void)
{
	u64 v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static int write_cr4_safe(u64 v)
{
	fault_arm();
	__asm__ volatile("1: mov %0, %%cr4\n2:\n\t" EXTABLE("1b", "2b") : : "r"(v) : "memory");
	return fault_seen();
}

static void enable_sse(void)
{
	u64 cr0;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~((1ull << 2) | (1ull << 3))) | (1ull << 1);
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | (1ull << 9) | (1ull << 10)));
}

#define CR4_OSXSAVE (1ull << 18)
#define CR4_PKE     (1ull << 22)

static bool has_xsave(void) { return cpuid(1).ecx & (1u << 26); }
static bool has_avx(void) { return cpuid(1).ecx & (1u << 28); }

/* What CPUID.0DH.0 says XCR0 may hold. */
static u64 xcr0_allowed(void)
{
	struct cpuid_regs r;

	if (!has_xsave())
		return 0;
	r = cpuid_count(0xd, 0);
	return r.eax | ((u64)r.edx << 32);
}

static void osxsave(bool on)
{
	u64 cr4 = read_cr4();

	__asm__ volatile("mov %0, %%cr4" : : "r"(on ? cr4 | CR4_OSXSAVE : cr4 & ~CR4_OSXSAVE));
}

static u64 xgetbv0(void)
{
	u32 lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

static int xsetbv_safe(u32 ecx, u64 v)
{
	fault_arm();
	__asm__ volatile("1: xsetbv\n2:\n\t" EXTABLE("1b", "2b")
			 : : "c"(ecx), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
	return fault_seen();
}

static int rdpmc_safe(u32 ecx, u64 *v)
{
	u32 lo = 0, hi = 0;

	fault_arm();
	__asm__ volatile("1: rdpmc\n2:\n\t" EXTABLE("1b", "2b") : "+a"(lo), "+d"(hi) : "c"(ecx) : "memory");
	*v = ((u64)hi << 32) | lo;
	return fault_seen();
}

static int rdpid_safe(u64 *v)
{
	u64 r = ~0ull;

	fault_arm();
	__asm__ volatile("1: rdpid %0\n2:\n\t" EXTABLE("1b", "2b") : "+r"(r) : : "memory");
	*v = r;
	return fault_seen();
}

static u32 rdpkru(void)
{
	u32 v;

	__asm__ volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx");
	return v;
}

static void wrpkru(u32 v)
{
	__asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0));
}

/* Vector registers to and from 64-byte-per-register buffers. */
static void xmm_in(const u8 *b)
{
	__asm__ volatile(
		"movdqu 0(%0), %%xmm0\n\t"    "movdqu 64(%0), %%xmm1\n\t"
		"movdqu 128(%0), %%xmm2\n\t"  "movdqu 192(%0), %%xmm3\n\t"
		"movdqu 256(%0), %%xmm4\n\t"  "movdqu 320(%0), %%xmm5\n\t"
		"movdqu 384(%0), %%xmm6\n\t"  "movdqu 448(%0), %%xmm7\n\t"
		"movdqu 512(%0), %%xmm8\n\t"  "movdqu 576(%0), %%xmm9\n\t"
		"movdqu 640(%0), %%xmm10\n\t" "movdqu 704(%0), %%xmm11\n\t"
		"movdqu 768(%0), %%xmm12\n\t" "movdqu 832(%0), %%xmm13\n\t"
		"movdqu 896(%0), %%xmm14\n\t" "movdqu 960(%0), %%xmm15\n\t"
		: : "r"(b) : "memory");
}

static void xmm_out(u8 *b)
{
	__asm__ volatile(
		"movdqu %%xmm0, 0(%0)\n\t"    "movdqu %%xmm1, 64(%0)\n\t"
		"movdqu %%xmm2, 128(%0)\n\t"  "movdqu %%xmm3, 192(%0)\n\t"
		"movdqu %%xmm4, 256(%0)\n\t"  "movdqu %%xmm5, 320(%0)\n\t"
		"movdqu %%xmm6, 384(%0)\n\t"  "movdqu %%xmm7, 448(%0)\n\t"
		"movdqu %%xmm8, 512(%0)\n\t"  "movdqu %%xmm9, 576(%0)\n\t"
		"movdqu %%xmm10, 640(%0)\n\t" "movdqu %%xmm11, 704(%0)\n\t"
		"movdqu %%xmm12, 768(%0)\n\t" "movdqu %%xmm13, 832(%0)\n\t"
		"movdqu %%xmm14, 896(%0)\n\t" "movdqu %%xmm15, 960(%0)\n\t"
		: : "r"(b) : "memory");
}

static void ymm_in(const u8 *b)
{
	__asm__ volatile(
		"vmovdqu 0(%0), %%ymm0\n\t"    "vmovdqu 64(%0), %%ymm1\n\t"
		"vmovdqu 128(%0), %%ymm2\n\t"  "vmovdqu 192(%0), %%ymm3\n\t"
		"vmovdqu 256(%0), %%ymm4\n\t"  "vmovdqu 320(%0), %%ymm5\n\t"
		"vmovdqu 384(%0), %%ymm6\n\t"  "vmovdqu 448(%0), %%ymm7\n\t"
		"vmovdqu 512(%0), %%ymm8\n\t"  "vmovdqu 576(%0), %%ymm9\n\t"
		"vmovdqu 640(%0), %%ymm10\n\t" "vmovdqu 704(%0), %%ymm11\n\t"
		"vmovdqu 768(%0), %%ymm12\n\t" "vmovdqu 832(%0), %%ymm13\n\t"
		"vmovdqu 896(%0), %%ymm14\n\t" "vmovdqu 960(%0), %%ymm15\n\t"
		: : "r"(b) : "memory");
}

static void ymm_out(u8 *b)
{
	__asm__ volatile(
		"vmovdqu %%ymm0, 0(%0)\n\t"    "vmovdqu %%ymm1, 64(%0)\n\t"
		"vmovdqu %%ymm2, 128(%0)\n\t"  "vmovdqu %%ymm3, 192(%0)\n\t"
		"vmovdqu %%ymm4, 256(%0)\n\t"  "vmovdqu %%ymm5, 320(%0)\n\t"
		"vmovdqu %%ymm6, 384(%0)\n\t"  "vmovdqu %%ymm7, 448(%0)\n\t"
		"vmovdqu %%ymm8, 512(%0)\n\t"  "vmovdqu %%ymm9, 576(%0)\n\t"
		"vmovdqu %%ymm10, 640(%0)\n\t" "vmovdqu %%ymm11, 704(%0)\n\t"
		"vmovdqu %%ymm12, 768(%0)\n\t" "vmovdqu %%ymm13, 832(%0)\n\t"
		"vmovdqu %%ymm14, 896(%0)\n\t" "vmovdqu %%ymm15, 960(%0)\n\t"
		: : "r"(b) : "memory");
}

/* ZMM0-31 (64 bytes each, 2 KiB) and k1-k7 (8 bytes each). */
#define Z(n) "vmovdqu64 " #n "*64(%0), %%zmm" #n "\n\t"
#define ZO(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%0)\n\t"
static void zmm_in(const u8 *b)
{
	__asm__ volatile(Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(12) Z(13)
			 Z(14) Z(15) Z(16) Z(17) Z(18) Z(19) Z(20) Z(21) Z(22) Z(23) Z(24) Z(25)
			 Z(26) Z(27) Z(28) Z(29) Z(30) Z(31) : : "r"(b) : "memory");
}

static void zmm_out(u8 *b)
{
	__asm__ volatile(ZO(0) ZO(1) ZO(2) ZO(3) ZO(4) ZO(5) ZO(6) ZO(7) ZO(8) ZO(9) ZO(10) ZO(11)
			 ZO(12) ZO(13) ZO(14) ZO(15) ZO(16) ZO(17) ZO(18) ZO(19) ZO(20) ZO(21) ZO(22)
			 ZO(23) ZO(24) ZO(25) ZO(26) ZO(27) ZO(28) ZO(29) ZO(30) ZO(31)
			 : : "r"(b) : "memory");
}

#define K(n) "kmovw " #n "*8(%0), %%k" #n "\n\t"
#define KO(n) "kmovw %%k" #n ", " #n "*8(%0)\n\t"
static void k_in(const u64 *b)
{
	__asm__ volatile(K(1) K(2) K(3) K(4) K(5) K(6) K(7) : : "r"(b) : "memory");
}

static void k_out(u64 *b)
{
	__asm__ volatile(KO(1) KO(2) KO(3) KO(4) KO(5) KO(6) KO(7) : : "r"(b) : "memory");
}

/* ---- breakpoint targets: never called in do=dirty ---- */
static volatile u32 probe_calls;
__attribute__((noinline, aligned(16))) static void probe0(void) { probe_calls++; }
__attribute__((noinline, aligned(16))) static void probe1(void) { probe_calls++; }
__attribute__((noinline, aligned(16))) static void probe2(void) { probe_calls++; }
__attribute__((noinline, aligned(16))) static void probe3(void) { probe_calls++; }

/* L0-L3 (bits 0, 2, 4, 6), R/W = 00 (execution), LEN 00, bit 10 set. */
#define DR7_EXEC_ALL 0x455ull

/* ---- per-CPU results ---- */
struct res {
	bool ran;
	u64 dr[4], dr6, dr7, xcr0, tsc_aux_msr, pkru;
	u32 aux_rdtscp, mxcsr;
	u64 rdpid;
	int rdpid_vec;
	bool pke;                      /* CR4.PKE could be set */
	u32 xmm_bad, ymm_bad, zmm_bad, k_bad;   /* registers not as expected */
	u64 first_bad;                 /* one qword seen, for the log */
	/* slice mode */
	u64 rounds, bad_rounds;
	u32 what_bad;                  /* bitmask: 1 DR0-3, 2 DR7, 4 XCR0, 8 XMM, 16 YMM */
} __attribute__((aligned(64)));

static struct res res[NCPU];
static u64 mode_allowed;           /* CPUID.0DH.0 */
static u64 run_ms, xsetbv_native;
static struct barrier bar;
static u8 vbuf[NCPU][2048] __attribute__((aligned(64)));
static u8 vwant[NCPU][2048] __attribute__((aligned(64)));

static u8 pat_byte(unsigned cpu, unsigned i, unsigned salt)
{
	return (u8)(0x11 * (cpu + 1) + i * 7 + salt) | 1;   /* never 0 */
}

static u32 count_diff(const u8 *got, const u8 *want, unsigned regs, unsigned stride,
		      unsigned from, unsigned to, u64 *first)
{
	u32 bad = 0;

	for (unsigned r = 0; r < regs; r++) {
		if (memcmp(got + r * stride + from, want + r * stride + from, to - from)) {
			if (!bad)
				memcpy(first, got + r * stride + from, 8);
			bad++;
		}
	}
	return bad;
}

static bool avx512_usable(void)
{
	return (mode_allowed & 0xe0) == 0xe0 && (cpuid_count(7, 0).ebx & (1u << 16));
}

/* ---- do=dirty ---- */
static void dirty(unsigned cpu, void *arg)
{
	struct res *p = &res[cpu];
	u64 k[8], kw[8];

	(void)arg;
	enable_sse();
	write_dr0((u64)(uintptr_t)probe0);
	write_dr1((u64)(uintptr_t)probe1);
	write_dr2((u64)(uintptr_t)probe2);
	write_dr3((u64)(uintptr_t)probe3);
	write_dr6(0xffff0ff0ull | 0xf);
	write_dr7(DR7_EXEC_ALL);
	p->dr[0] = read_dr0(); p->dr[1] = read_dr1(); p->dr[2] = read_dr2(); p->dr[3] = read_dr3();
	p->dr6 = read_dr6();
	p->dr7 = read_dr7();
	if (mode_allowed) {
		osxsave(true);
		if (xsetbv_safe(0, mode_allowed) < 0)
			p->xcr0 = xgetbv0();
	}
	for (unsigned i = 0; i < sizeof(vwant[cpu]); i++)
		vwant[cpu][i] = pat_byte(cpu, i, 0x40);
	if (mode_allowed & 4 && has_avx()) {
		ymm_in(vwant[cpu]);
		ymm_out(vbuf[cpu]);
		p->ymm_bad = count_diff(vbuf[cpu], vwant[cpu], 16, 64, 0, 32, &p->first_bad);
	} else {
		xmm_in(vwant[cpu]);
		xmm_out(vbuf[cpu]);
		p->xmm_bad = count_diff(vbuf[cpu], vwant[cpu], 16, 64, 0, 16, &p->first_bad);
	}
	if (avx512_usable()) {
		zmm_in(vwant[cpu]);
		zmm_out(vbuf[cpu]);
		p->zmm_bad = count_diff(vbuf[cpu], vwant[cpu], 32, 64, 0, 64, &p->first_bad);
		for (unsigned i = 0; i < 8; i++)
			kw[i] = 0xa500u + i;
		k_in(kw);
		k_out(k);
		for (unsigned i = 1; i < 8; i++)
			p->k_bad += (k[i] & 0xffff) != kw[i];
	}
	p->mxcsr = 0x1f80 | (2u << 13);     /* round up */
	__asm__ volatile("ldmxcsr %0" : : "m"(p->mxcsr));
	wrmsr(0xc0000103, 0x5a000000u + cpu);
	(void)rdtscp(&p->aux_rdtscp);
	p->tsc_aux_msr = rdmsr(0xc0000103);
	if (write_cr4_safe(read_cr4() | CR4_PKE) < 0) {
		p->pke = true;
		wrpkru(0x55555554u);
		p->pkru = rdpkru();
	}
	p->ran = true;
}

static void report_dirty(unsigned n)
{
	for (unsigned c = 0; c < n; c++) {
		struct res *p = &res[c];

		ok(p->ran && p->dr[0] == (u64)(uintptr_t)probe0 && p->dr[1] == (u64)(uintptr_t)probe1 &&
		   p->dr[2] == (u64)(uintptr_t)probe2 && p->dr[3] == (u64)(uintptr_t)probe3 &&
		   (p->dr7 & 0xff) == (DR7_EXEC_ALL & 0xff),
		   "CPU %u: DR0-DR3 hold four breakpoint addresses, DR7 0x%llx enables them", c,
		   (unsigned long long)p->dr7);
		if (mode_allowed)
			ok(p->xcr0 == mode_allowed, "CPU %u: XCR0 = 0x%llx, everything CPUID.0DH.0 lists "
			   "(0x%llx)", c, (unsigned long long)p->xcr0, (unsigned long long)mode_allowed);
		else
			skip("CPU %u: no XSAVE", c);
		ok(!p->xmm_bad && !p->ymm_bad && !p->zmm_bad && !p->k_bad,
		   "CPU %u: vector registers hold the pattern (%s%s)", c,
		   (mode_allowed & 4) && has_avx() ? "YMM0-15" : "XMM0-15",
		   avx512_usable() ? ", ZMM0-31, k1-k7" : "");
		ok(p->tsc_aux_msr == 0x5a000000u + c && p->aux_rdtscp == 0x5a000000u + c,
		   "CPU %u: TSC_AUX 0x%llx (RDTSCP 0x%x)", c, (unsigned long long)p->tsc_aux_msr,
		   p->aux_rdtscp);
		diag("CPU %u: DR6 0x%llx; PKRU %s 0x%llx", c, (unsigned long long)p->dr6,
		     p->pke ? "set to" : "not settable,", (unsigned long long)p->pkru);
	}
}

/* ---- do=clean ---- */
static void clean(unsigned cpu, void *arg)
{
	struct res *p = &res[cpu];
	u64 k[8];
	u8 zero[2048];

	(void)arg;
	/* Before anything touches them. */
	p->dr[0] = read_dr0(); p->dr[1] = read_dr1(); p->dr[2] = read_dr2(); p->dr[3] = read_dr3();
	p->dr6 = read_dr6();
	p->dr7 = read_dr7();
	p->tsc_aux_msr = rdmsr(0xc0000103);
	(void)rdtscp(&p->aux_rdtscp);
	p->rdpid_vec = rdpid_safe(&p->rdpid);
	enable_sse();
	__asm__ volatile("stmxcsr %0" : "=m"(p->mxcsr));
	memset(zero, 0, sizeof(zero));
	if (mode_allowed) {
		osxsave(true);
		p->xcr0 = xgetbv0();
		(void)xsetbv_safe(0, mode_allowed);
	}
	xmm_out(vbuf[cpu]);
	p->xmm_bad = count_diff(vbuf[cpu], zero, 16, 64, 0, 16, &p->first_bad);
	if (mode_allowed & 4 && has_avx()) {
		ymm_out(vbuf[cpu]);
		p->ymm_bad = count_diff(vbuf[cpu], zero, 16, 64, 16, 32, &p->first_bad);
	}
	if (avx512_usable()) {
		zmm_out(vbuf[cpu]);
		p->zmm_bad = count_diff(vbuf[cpu], zero, 32, 64, 0, 64, &p->first_bad);
		k_out(k);
		for (unsigned i = 1; i < 8; i++)
			p->k_bad += (k[i] & 0xffff) != 0;
	}
	if (write_cr4_safe(read_cr4() | CR4_PKE) < 0) {
		p->pke = true;
		p->pkru = rdpkru();
	}
	p->ran = true;
}

/* Run the four addresses the dirty VM set breakpoints on: a breakpoint
 * still live would be a #DB, which fails the test. */
static void probes(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	probe0(); probe1(); probe2(); probe3();
}

static void report_clean(unsigned n)
{
	for (unsigned c = 0; c < n; c++) {
		struct res *p = &res[c];

		ok(p->ran && !p->dr[0] && !p->dr[1] && !p->dr[2] && !p->dr[3],
		   "CPU %u: DR0-DR3 are 0 (0x%llx 0x%llx 0x%llx 0x%llx)", c, (unsigned long long)p->dr[0],
		   (unsigned long long)p->dr[1], (unsigned long long)p->dr[2], (unsigned long long)p->dr[3]);
		ok(p->dr6 == 0xffff0ff0ull, "CPU %u: DR6 = 0x%llx (0xffff0ff0)", c, (unsigned long long)p->dr6);
		ok(p->dr7 == 0x400, "CPU %u: DR7 = 0x%llx (0x400), no breakpoint hit", c,
		   (unsigned long long)p->dr7);
		if (mode_allowed)
			ok(p->xcr0 == 1, "CPU %u: XCR0 = 0x%llx after setting CR4.OSXSAVE (1: x87 only)", c,
			   (unsigned long long)p->xcr0);
		else
			skip("CPU %u: no XSAVE", c);
		ok(!p->xmm_bad && p->mxcsr == 0x1f80, "CPU %u: XMM0-15 are 0 (%u differ, e.g. 0x%llx), "
		   "MXCSR 0x%x", c, p->xmm_bad, (unsigned long long)(p->xmm_bad ? p->first_bad : 0),
		   p->mxcsr);
		if (mode_allowed & 4 && has_avx())
			ok(!p->ymm_bad, "CPU %u: YMM0-15 upper halves are 0 (%u differ, e.g. 0x%llx)", c,
			   p->ymm_bad, (unsigned long long)(p->ymm_bad ? p->first_bad : 0));
		else
			skip("CPU %u: no AVX", c);
		if (avx512_usable())
			ok(!p->zmm_bad && !p->k_bad, "CPU %u: ZMM0-31 and k1-k7 are 0 (%u, %u differ)", c,
			   p->zmm_bad, p->k_bad);
		else
			skip("CPU %u: no AVX-512", c);
		ok(p->tsc_aux_msr == 0 && p->aux_rdtscp == 0,
		   "CPU %u: TSC_AUX 0 (RDMSR 0x%llx, RDTSCP 0x%x)", c, (unsigned long long)p->tsc_aux_msr,
		   p->aux_rdtscp);
		ok(p->rdpid_vec < 0 && p->rdpid == 0, "CPU %u: RDPID 0x%llx (fault %d)", c,
		   (unsigned long long)p->rdpid, p->rdpid_vec);
		ok(!p->pke || p->pkru == 0, "CPU %u: PKRU %s 0x%llx", c,
		   p->pke ? "is" : "(CR4.PKE not settable)", (unsigned long long)p->pkru);
	}
	bool all = smp_call_all(probes, NULL, 10000);

	ok(all && probe_calls == 4 * n, "the breakpoint addresses ran without a #DB (%u calls)",
	   probe_calls);
}

/* ---- do=slice ---- */
static u64 slice_dr(unsigned cpu, unsigned i)
{
	return 0x7f0000000000ull | ((u64)cpu << 20) | ((u64)i << 12) | 0x40;  /* never touched */
}

static void slice(unsigned cpu, void *arg)
{
	struct res *p = &res[cpu];
	bool avx;
	u64 xcr0 = 0, dr7 = 0x400 | (1ull << (2 * (cpu & 3))), end;

	(void)arg;
	enable_sse();
	if (mode_allowed) {
		osxsave(true);
		/* CPU 0 everything; the others x87 only, or x87 and SSE. */
		xcr0 = cpu == 0 ? mode_allowed : (cpu & 1) ? 1 : 3;
		(void)xsetbv_safe(0, xcr0);
	}
	avx = cpu == 0 && (mode_allowed & 4) && has_avx();
	for (unsigned i = 0; i < sizeof(vwant[cpu]); i++)
		vwant[cpu][i] = pat_byte(cpu, i, 0x80);
	write_dr0(slice_dr(cpu, 0)); write_dr1(slice_dr(cpu, 1));
	write_dr2(slice_dr(cpu, 2)); write_dr3(slice_dr(cpu, 3));
	write_dr7(dr7);
	p->ran = true;
	if (!barrier_wait(&bar, 5000))
		return;
	if (avx)
		ymm_in(vwant[cpu]);
	else
		xmm_in(vwant[cpu]);
	end = tsc_after_ms(run_ms);
	while (!timed_out(end)) {
		u32 bad = 0;

		for (int i = 0; i < 20; i++)
			(void)cpuid(0);
		if (read_dr0() != slice_dr(cpu, 0) || read_dr1() != slice_dr(cpu, 1) ||
		    read_dr2() != slice_dr(cpu, 2) || read_dr3() != slice_dr(cpu, 3))
			bad |= 1;
		if ((read_dr7() & 0xff) != (dr7 & 0xff))
			bad |= 2;
		if (mode_allowed && xgetbv0() != xcr0)
			bad |= 4;
		if (avx) {
			ymm_out(vbuf[cpu]);
			if (count_diff(vbuf[cpu], vwant[cpu], 16, 64, 0, 32, &p->first_bad))
				bad |= 16;
		} else {
			xmm_out(vbuf[cpu]);
			if (count_diff(vbuf[cpu], vwant[cpu], 16, 64, 0, 16, &p->first_bad))
				bad |= 8;
		}
		if (bad) {
			p->bad_rounds++;
			p->what_bad |= bad;
			/* start the next round clean */
			write_dr0(slice_dr(cpu, 0)); write_dr1(slice_dr(cpu, 1));
			write_dr2(slice_dr(cpu, 2)); write_dr3(slice_dr(cpu, 3));
			write_dr7(dr7);
			if (mode_allowed)
				(void)xsetbv_safe(0, xcr0);
			if (avx)
				ymm_in(vwant[cpu]);
			else
				xmm_in(vwant[cpu]);
		}
		p->rounds++;
	}
	write_dr7(0x400);
}

static void report_slice(unsigned n)
{
	for (unsigned c = 0; c < n; c++) {
		struct res *p = &res[c];

		ok(p->ran && p->rounds > 0, "CPU %u ran %llu rounds", c, (unsigned long long)p->rounds);
		ok(!(p->what_bad & 3), "CPU %u: DR0-DR3 and DR7 stayed its own (%llu bad rounds, what 0x%x)",
		   c, (unsigned long long)p->bad_rounds, p->what_bad);
		ok(!(p->what_bad & 4), "CPU %u: XCR0 stayed its own", c);
		ok(!(p->what_bad & 24), "CPU %u: its %s pattern stayed (e.g. 0x%llx)", c,
		   c == 0 && (mode_allowed & 4) && has_avx() ? "YMM0-15" : "XMM0-15",
		   (unsigned long long)((p->what_bad & 24) ? p->first_bad : 0));
	}
}

/* ---- do=save ---- */
static u32 incarnation(void)
{
	u32 max;

	return tv_signature(&max) && max >= TV_LEAF_TIME ? cpuid(TV_LEAF_TIME).edx : 0;
}

/* XCR0, DR0-DR3 and the vector registers through a snapshot and the restore
 * from it (the VM's on_save = restore): the XSTATE sections. */
static void save_restore(void)
{
	u8 *want = vwant[0], *got = vbuf[0];
	bool avx, avx512;
	u64 xcr0 = mode_allowed, k[8], kw[8];
	u32 inc0 = incarnation();
	s64 rc;
	unsigned bad = 0, kbad = 0;

	enable_sse();
	if (!xcr0) {
		skip_rest("no XSAVE");
		return;
	}
	osxsave(true);
	ok(xsetbv_safe(0, xcr0) < 0, "XCR0 = 0x%llx", (unsigned long long)xcr0);
	avx = (xcr0 & 4) && has_avx();
	avx512 = avx512_usable();
	for (unsigned i = 0; i < sizeof(vwant[0]); i++)
		want[i] = pat_byte(5, i, 0xc0);
	write_dr0(slice_dr(5, 0)); write_dr1(slice_dr(5, 1));
	write_dr2(slice_dr(5, 2)); write_dr3(slice_dr(5, 3));
	for (unsigned i = 0; i < 8; i++)
		kw[i] = 0x5a00u + i;
	if (avx512) {
		zmm_in(want);
		k_in(kw);
	} else if (avx) {
		ymm_in(want);
	} else {
		xmm_in(want);
	}
	rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
	if (avx512) {
		zmm_out(got);
		k_out(k);
		bad = count_diff(got, want, 32, 64, 0, 64, &res[0].first_bad);
		for (unsigned i = 1; i < 8; i++)
			kbad += (k[i] & 0xffff) != kw[i];
	} else if (avx) {
		ymm_out(got);
		bad = count_diff(got, want, 16, 64, 0, 32, &res[0].first_bad);
	} else {
		xmm_out(got);
		bad = count_diff(got, want, 16, 64, 0, 16, &res[0].first_bad);
	}
	ok(rc == 0 && incarnation() == inc0 + 1, "a snapshot was taken (%lld) and the VM restored from "
	   "it (incarnation %u -> %u)", (long long)rc, inc0, incarnation());
	ok(xgetbv0() == xcr0, "XCR0 0x%llx after the restore (0x%llx before)",
	   (unsigned long long)xgetbv0(), (unsigned long long)xcr0);
	ok(!bad && !kbad, "%s kept through the restore (%u, %u differ, e.g. 0x%llx)",
	   avx512 ? "ZMM0-31 and k1-k7" : avx ? "YMM0-15" : "XMM0-15", bad, kbad,
	   (unsigned long long)(bad ? res[0].first_bad : 0));
	ok(read_dr0() == slice_dr(5, 0) && read_dr1() == slice_dr(5, 1) && read_dr2() == slice_dr(5, 2) &&
	   read_dr3() == slice_dr(5, 3), "DR0-DR3 kept through the restore (0x%llx ...)",
	   (unsigned long long)read_dr0());
}

/* ---- do=rules ---- */
static u32 layout_size(u64 xcr0)
{
	u32 end = 576;

	for (unsigned i = 2; i < 64; i++) {
		if ((xcr0 >> i) & 1) {
			struct cpuid_regs r = cpuid_count(0xd, i);

			if (r.eax + r.ebx > end)
				end = r.eax + r.ebx;
		}
	}
	return end;
}

static void rules(void)
{
	u64 a = mode_allowed, v, pat0;
	struct cpuid_regs l1 = cpuid(1), l7 = cpuid_count(7, 0), d0;
	int vec;
	unsigned bad = 0;

	/* CPUID agrees with itself and with XSETBV. */
	ok(!!(l1.ecx & (1u << 26)) == (a != 0), "CPUID.1:ECX.XSAVE %u, CPUID.0DH.0 lists 0x%llx",
	   !!(l1.ecx & (1u << 26)), (unsigned long long)a);
	ok(!(l1.ecx & (1u << 28)) || (a & 6) == 6, "CPUID.1:ECX.AVX %u only with XCR0 SSE|AVX allowed",
	   !!(l1.ecx & (1u << 28)));
	ok(!(l7.ebx & (1u << 5)) || (a & 4), "CPUID.7:EBX.AVX2 %u only with XCR0 AVX allowed",
	   !!(l7.ebx & (1u << 5)));
	ok(!!(l7.ebx & (1u << 16)) == ((a & 0xe0) == 0xe0) || !(l7.ebx & (1u << 16)),
	   "CPUID.7:EBX.AVX512F %u only with the three AVX-512 components allowed",
	   !!(l7.ebx & (1u << 16)));
	if (!a) {
		osxsave(true);
		ok(xsetbv_safe(0, 1) == 6, "no XSAVE: XSETBV #UD");
		osxsave(false);
		return;
	}
	d0 = cpuid_count(0xd, 0);
	ok(d0.ecx >= layout_size(a), "CPUID.0DH.0:ECX %u covers the components listed (%u)", d0.ecx,
	   layout_size(a));

	osxsave(false);
	vec = xsetbv_safe(0, 1);
	ok(vec == 6, "XSETBV with CR4.OSXSAVE clear: #UD (%d)", vec);
	osxsave(true);
	ok(!!(cpuid(1).ecx & (1u << 27)), "CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE");
	vec = xsetbv_safe(1, 1);
	ok(vec == 13, "XSETBV ECX=1: #GP (%d)", vec);
	vec = xsetbv_safe(0, 0);
	ok(vec == 13, "XSETBV 0 (x87 clear): #GP (%d)", vec);
	vec = xsetbv_safe(0, 2);
	ok(vec == 13, "XSETBV 2 (x87 clear): #GP (%d)", vec);
	vec = xsetbv_safe(0, 5);
	ok(vec == 13, "XSETBV 5 (AVX without SSE): #GP (%d)", vec);
	if (xsetbv_native) {
		/* QEMU's TCG has no XSETBV intercept: its own CPU's rules apply. */
		skip("XSETBV with bits CPUID.0DH.0 does not list: the emulator checks XSETBV itself "
		     "(xsetbv_native=1)");
		skip("XCR0 after refused XSETBVs: not refused here");
		goto accepted;
	}
	for (unsigned i = 0; i < 64; i++) {
		if ((a >> i) & 1)
			continue;
		if ((vec = xsetbv_safe(0, a | (1ull << i))) != 13) {
			if (!bad)
				diag("XSETBV 0x%llx: %d", (unsigned long long)(a | (1ull << i)), vec);
			bad++;
		}
	}
	ok(bad == 0, "XSETBV with any bit CPUID.0DH.0 does not list: #GP (%u accepted)", bad);
	ok(xgetbv0() == 1, "XCR0 still 1 after the refused XSETBVs (0x%llx)", (unsigned long long)xgetbv0());
accepted:
	vec = xsetbv_safe(0, a);
	ok(vec < 0 && xgetbv0() == a, "XSETBV 0x%llx accepted, XGETBV reads it "
	   "back (%d)", (unsigned long long)a, vec);
	d0 = cpuid_count(0xd, 0);
	ok(d0.ebx == layout_size(a), "CPUID.0DH.0:EBX %u = the area for XCR0 (%u)", d0.ebx, layout_size(a));
	(void)xsetbv_safe(0, 1);

	/* PAT (SDM Vol. 3A 12.12.2): types 2, 3 and 8 and above are reserved. */
	pat0 = rdmsr(0x277);
	vec = wrmsr_safe(0x277, (pat0 & ~0xffull) | 2);
	ok(vec == 13, "WRMSR PAT with type 2: #GP (%d)", vec);
	vec = wrmsr_safe(0x277, (pat0 & ~0xff00ull) | (3ull << 8));
	ok(vec == 13,
	   "WRMSR PAT with type 3: #GP (%d)", vec);
	vec = wrmsr_safe(0x277, pat0 | (8ull << 56));
	ok(vec == 13, "WRMSR PAT with type 8: #GP (%d)", vec);
	ok(rdmsr(0x277) == pat0, "PAT unchanged by the refused writes (0x%llx)",
	   (unsigned long long)rdmsr(0x277));
	v = 0x0001050406070400ull;
	ok(wrmsr_safe(0x277, v) < 0 && rdmsr(0x277) == v, "WRMSR PAT 0x%llx reads back",
	   (unsigned long long)v);
	wrmsr(0x277, pat0);

	/* RDPMC: CPUID.0AH says no counters. */
	ok(cpuid(0xa).eax == 0, "CPUID.0AH: no architectural performance monitoring");
	vec = rdpmc_safe(0, &v);
	ok(vec == 13, "RDPMC 0: #GP (%d, 0x%llx)", vec, (unsigned long long)v);
	vec = rdpmc_safe(0x40000000, &v);
	ok(vec == 13, "RDPMC fixed counter 0: #GP (%d)", vec);
}

void test_main(const struct mb_info *mbi)
{
	char mode[16] = "rules";
	unsigned n;
	u32 max;

	(void)mbi;
	/* Bare, the answers are the platform's own (QEMU's TCG raises #UD for
	 * RDPMC, takes any PAT): what this test asserts is tscvisor's. */
	if (!tv_signature(&max))
		skip_rest("not under tscvisor: the platform's answers are its own");
	(void)cmdline_get("do", mode, sizeof(mode));
	run_ms = cmdline_u64("ms", 300, NULL);
	xsetbv_native = cmdline_u64("xsetbv_native", 0, NULL);
	mode_allowed = xcr0_allowed();
	diag("mode %s; CPUID.0DH.0 lists 0x%llx, AVX %u, AVX-512F %u", mode,
	     (unsigned long long)mode_allowed, has_avx(), !!(cpuid_count(7, 0).ebx & (1u << 16)));
	if (!strncmp(mode, "rules", 6)) {
		rules();
		return;
	}
	n = smp_init();
	if (!strncmp(mode, "dirty", 6)) {
		ok(smp_call_all(dirty, NULL, 10000), "all %u CPU(s) dirtied their registers", n);
		report_dirty(n);
	} else if (!strncmp(mode, "clean", 6)) {
		ok(smp_call_all(clean, NULL, 10000), "all %u CPU(s) looked at their registers", n);
		report_clean(n);
	} else if (!strncmp(mode, "save", 5)) {
		save_restore();
	} else if (!strncmp(mode, "slice", 6)) {
		barrier_init(&bar, n);
		ok(smp_call_all(slice, NULL, run_ms + 10000), "all %u CPU(s) finished", n);
		report_slice(n);
	} else {
		ok(false, "unknown mode %s", mode);
	}
}
