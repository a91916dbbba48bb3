/* fpu_state — each CPU's SSE registers stay its own.
 *
 * Neither VMRUN nor VM entry switches the x87/MMX/SSE registers; a
 * hypervisor that runs several vCPUs on one pCPU (time slicing) or moves a
 * vCPU to another pCPU must carry them itself. Every CPU enables SSE
 * (CR4.OSFXSR), loads XMM0-XMM15 with values that name the CPU and the
 * register, and MXCSR with its own rounding mode, then for `ms`
 * milliseconds exits to the hypervisor over and over (CPUID always exits)
 * and reads all sixteen registers and MXCSR back. Checks, per CPU: it ran,
 * it made rounds, and not one register ever held anything but its own
 * value. On bare hardware or QEMU each CPU has its own registers, so this
 * passes trivially; under tscvisor it is run with more vCPUs than pCPUs
 * and with forced vCPU moves.
 *
 * The kernel is built with -mgeneral-regs-only: the compiler never touches
 * the XMM registers, so what this test puts there stays there.
 *
 * save=1 (under tscvisor): half-way through, CPU 0 asks for a snapshot
 * (hypercall 3) while every CPU holds its values; with the VM's default
 * on_save = restore the VM goes on from that snapshot, and every register
 * must still hold its own value (the snapshot's FPU sections); the
 * incarnation (time leaf EDX) must have gone up, proving a restore happened.
 *
 * Options: ms=N (default 300); save=1; inject_xor=X: one CPU expects
 * XMM5 ^ X, a self-test that must FAIL. */
#include "guest.h"
#include "pvclock.h"

struct percpu {
	bool ran;
	u64 rounds;
	u64 bad_rounds;
	u32 first_bad_reg;	/* 16 = MXCSR */
	u64 got_lo, want_lo;
} __attribute__((aligned(64)));

static struct percpu per[MAX_CPUS];
static struct barrier start;
static u64 run_ms, inject, do_save;
static volatile bool saved;
static s64 save_rc = -1;

static u32 incarnation(void)
{
	u32 max;

	return tv_signature(&max) && max >= TV_LEAF_TIME ? cpuid(TV_LEAF_TIME).edx : 0;
}

static u64 pattern(unsigned cpu, unsigned reg, unsigned half)
{
	return 0x5eed000000000000ull | ((u64)cpu << 32) | ((u64)reg << 16) | (half ? 0xbeef : 0xcafe);
}

/* All sixteen XMM registers from / to a 256-byte buffer. */
static void xmm_load(const u64 *b)
{
	__asm__ volatile(
		"movdqu 0(%0), %%xmm0\n\t"   "movdqu 16(%0), %%xmm1\n\t"
		"movdqu 32(%0), %%xmm2\n\t"  "movdqu 48(%0), %%xmm3\n\t"
		"movdqu 64(%0), %%xmm4\n\t"  "movdqu 80(%0), %%xmm5\n\t"
		"movdqu 96(%0), %%xmm6\n\t"  "movdqu 112(%0), %%xmm7\n\t"
		"movdqu 128(%0), %%xmm8\n\t" "movdqu 144(%0), %%xmm9\n\t"
		"movdqu 160(%0), %%xmm10\n\t" "movdqu 176(%0), %%xmm11\n\t"
		"movdqu 192(%0), %%xmm12\n\t" "movdqu 208(%0), %%xmm13\n\t"
		"movdqu 224(%0), %%xmm14\n\t" "movdqu 240(%0), %%xmm15\n\t"
		: : "r"(b) : "memory");
}

static void xmm_store(u64 *b)
{
	__asm__ volatile(
		"movdqu %%xmm0, 0(%0)\n\t"   "movdqu %%xmm1, 16(%0)\n\t"
		"movdqu %%xmm2, 32(%0)\n\t"  "movdqu %%xmm3, 48(%0)\n\t"
		"movdqu %%xmm4, 64(%0)\n\t"  "movdqu %%xmm5, 80(%0)\n\t"
		"movdqu %%xmm6, 96(%0)\n\t"  "movdqu %%xmm7, 112(%0)\n\t"
		"movdqu %%xmm8, 128(%0)\n\t" "movdqu %%xmm9, 144(%0)\n\t"
		"movdqu %%xmm10, 160(%0)\n\t" "movdqu %%xmm11, 176(%0)\n\t"
		"movdqu %%xmm12, 192(%0)\n\t" "movdqu %%xmm13, 208(%0)\n\t"
		"movdqu %%xmm14, 224(%0)\n\t" "movdqu %%xmm15, 240(%0)\n\t"
		: : "r"(b) : "memory");
}

static u64 read_cr4_(void)
{
	u64 v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void enable_sse(void)
{
	u64 cr0;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~((1ull << 2) | (1ull << 3))) | (1ull << 1);   /* no EM, no TS; MP */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4_() | (1ull << 9) | (1ull << 10)));
}

static void worker(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];
	u64 want[32], got[32] __attribute__((aligned(16)));
	u32 mxcsr = 0x1f80 | ((cpu & 3) << 13), mx_got;   /* rounding control per CPU */
	u64 end, half;

	(void)arg;
	enable_sse();
	for (unsigned r = 0; r < 16; r++) {
		want[2 * r] = pattern(cpu, r, 0);
		want[2 * r + 1] = pattern(cpu, r, 1);
	}
	p->ran = true;
	if (!barrier_wait(&start, 5000))
		return;
	xmm_load(want);
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	if (inject && cpu == smp_online() - 1)
		want[10] ^= inject;
	end = tsc_after_ms(run_ms);
	half = tsc_after_ms(run_ms / 2);
	while (!timed_out(end)) {
		bool bad = false;

		if (do_save && cpu == 0 && !saved && timed_out(half)) {
			save_rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
			saved = true;
		}

		for (int i = 0; i < 20; i++)
			(void)cpuid(0);
		xmm_store(got);
		__asm__ volatile("stmxcsr %0" : "=m"(mx_got));
		for (unsigned r = 0; r < 16 && !bad; r++) {
			if (got[2 * r] != want[2 * r] || got[2 * r + 1] != want[2 * r + 1]) {
				bad = true;
				if (!p->bad_rounds) {
					p->first_bad_reg = r;
					p->got_lo = got[2 * r];
					p->want_lo = want[2 * r];
				}
			}
		}
		if (!bad && mx_got != mxcsr) {
			bad = true;
			if (!p->bad_rounds) {
				p->first_bad_reg = 16;
				p->got_lo = mx_got;
				p->want_lo = mxcsr;
			}
		}
		if (bad) {
			p->bad_rounds++;
			xmm_load(want);   /* start the next round clean */
			__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
		}
		p->rounds++;
	}
}

void test_main(const struct mb_info *mbi)
{
	unsigned online;
	u64 bad = 0;

	(void)mbi;
	u32 inc0;

	run_ms = cmdline_u64("ms", 300, NULL);
	inject = cmdline_u64("inject_xor", 0, NULL);
	do_save = cmdline_u64("save", 0, NULL);
	online = smp_init();
	plan((int)(3 * online + 1 + (do_save ? 1 : 0)));
	if (!(cpuid(1).edx & (1u << 25)))
		skip_rest("no SSE (CPUID.1:EDX[25])");
	barrier_init(&start, online);
	inc0 = incarnation();
	ok(smp_call_all(worker, NULL, run_ms + 10000), "all %u CPU(s) finished", online);
	if (do_save)
		ok(saved && save_rc == 0 && incarnation() == inc0 + 1,
		   "half-way a snapshot was taken (%lld) and the VM restored from it (incarnation "
		   "%u -> %u)", (long long)save_rc, inc0, incarnation());
	for (unsigned c = 0; c < online; c++) {
		struct percpu *p = &per[c];

		ok(p->ran, "CPU %u ran", c);
		ok(p->rounds > 0, "CPU %u: %llu rounds of 20 exits and a check", c,
		   (unsigned long long)p->rounds);
		if (p->bad_rounds)
			diag("CPU %u: first difference in %s%u: 0x%llx, its own was 0x%llx", c,
			     p->first_bad_reg == 16 ? "MXCSR" : "XMM",
			     p->first_bad_reg == 16 ? 0 : p->first_bad_reg,
			     (unsigned long long)p->got_lo, (unsigned long long)p->want_lo);
		ok(p->bad_rounds == 0, "CPU %u: its XMM0-15 and MXCSR stayed its own (%llu of %llu "
		   "rounds saw another value)", c, (unsigned long long)p->bad_rounds,
		   (unsigned long long)p->rounds);
		bad += p->bad_rounds;
	}
	diag("%llu bad round(s) in all", (unsigned long long)bad);
}
