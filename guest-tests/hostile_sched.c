/* hostile_sched — a guest that hammers what makes the hypervisor stop or
 * change every vCPU at once: the pause protocol (hypercalls 1-4), the
 * snapshot buffer (hypercall 3), VMs that can never wake, and cross-vCPU
 * time updates (docs/smp.md, docs/abi.md). Modes by do=...:
 *
 * do=saves: fills fill_mib MiB of RAM (from 8 MiB up) with a non-zero
 *   pattern, then takes saves=N snapshots (hypercall 3) from the BSP, or
 *   with all=1 from every CPU at once. Each call must return 0 or -1;
 *   expect=ok wants every one 0, expect=fail every one -1 (a snapshot over
 *   the hypervisor's budget); the pattern must be intact afterwards (with
 *   on_save = restore the RAM went through the snapshot).
 * do=race: every CPU at once, iters=N times: the window on a page, the
 *   window removed, a bad window GPA, a save (on_save = continue; nosave=1:
 *   a refresh instead), a refresh. Every call must return a value it may return, and every CPU
 *   must finish (no hang).
 * do=badwin: repeats=N times: three bad window GPAs (-22 each), one good
 *   (0), removal (0). The runner compares the hypervisor pool across VMs.
 * do=time: CPU 1 and 3 (writers) toggle the pvclock fast path (hc 1),
 *   refresh (hc 2) and write IA32_TSC_ADJUST (its own value) and CPU 1 its
 *   IA32_TSC (forward); CPU 0 and 2 (readers) meanwhile read their pvclock
 *   areas and TSC: no read may fail the version protocol, neither clock may
 *   go back on a CPU, and the TSC not across the readers either.
 * do=endpause: the APs request pauses (hc 4, 2, 3; nosave=1: no 3) without
 *   end while the BSP ends the VM through the exit port after spin_ms: the
 *   VM must end and pass.
 * do=hltwake: the APs sleep (STI; HLT, nothing armed) while the BSP spins
 *   for spin_ms, then wakes them by IPI: a VM with a running vCPU must not
 *   be ended as stuck.
 * do=hlt: every CPU STI; HLT with nothing armed: the hypervisor must end
 *   the VM ("halted forever"); otherwise it sleeps until the runner's
 *   timeout.
 * do=hlt2: the APs sleep with IF=1 while the BSP spins for spin_ms, then
 *   the BSP sleeps too: the VM must end the same way.
 * do=plain: nothing but a passing check (the normal VM after the others).
 * Skips (77) without the tscvisor leaf (bare QEMU). */
#include "guest.h"
#include "pvclock.h"

#define HC_EINVAL (-22)
#define MSR_TSC 0x10u
#define MSR_TSC_ADJUST 0x3bu
#define FILL_BASE (8ull << 20)

static u8 win_page[4096] __attribute__((aligned(4096)));
static struct pvclock_area areas[MAX_CPUS] __attribute__((aligned(64)));

struct percpu {
	u64 calls, bad, ok0, fail, last_bad_rc;
	u64 pv_fail, ns_back, tsc_back, reads;
	u32 last_bad_nr;
	volatile u32 finished;
} __attribute__((aligned(64)));
static struct percpu per[MAX_CPUS];

static u64 iters, saves_n, endless_ops = 4;
static volatile u32 stop, woken;
static struct spinlock cross_lock;
static u64 cross_tsc;
static struct barrier start;

static void note(struct percpu *p, u32 nr, s64 rc, bool good)
{
	p->calls++;
	if (!good) {
		p->bad++;
		p->last_bad_rc = (u64)rc;
		p->last_bad_nr = nr;
	}
}

/* ---- saves ---- */
static u64 fill_bytes;

static u8 pattern(u64 off) { return (u8)(0x5a ^ (off >> 12) ^ off) | 1; }

static void fill(void)
{
	volatile u8 *m = (volatile u8 *)(uintptr_t)FILL_BASE;

	for (u64 off = 0; off < fill_bytes; off += 64)
		m[off] = pattern(off);
}

static u64 fill_errors(void)
{
	const volatile u8 *m = (const volatile u8 *)(uintptr_t)FILL_BASE;
	u64 bad = 0;

	for (u64 off = 0; off < fill_bytes; off += 64)
		bad += m[off] != pattern(off);
	return bad;
}

static void saves_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];

	(void)arg;
	for (u64 i = 0; i < saves_n; i++) {
		s64 rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);

		note(p, TV_HC_SAVE, rc, rc == 0 || rc == -1);
		if (rc == 0)
			p->ok0++;
		else if (rc == -1)
			p->fail++;
	}
}

/* ---- race ---- */
static bool nosave;

static void race_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];
	u64 gpa = (u64)(uintptr_t)win_page;

	(void)arg;
	barrier_wait(&start, 10000);
	for (u64 i = 0; i < iters; i++) {
		s64 rc;
		unsigned op = (i + cpu) % 5;

		if (nosave && op == 3)
			op = 4;
		switch (op) {
		case 0:
			rc = tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa, 0, 0, 0);
			note(p, 4, rc, rc == 0);
			break;
		case 1:
			rc = tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0);
			note(p, 4, rc, rc == 0);
			break;
		case 2:
			rc = tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa + 8, 0, 0, 0);
			note(p, 4, rc, rc == HC_EINVAL);
			break;
		case 3:
			rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
			note(p, 3, rc, rc == 0 || rc == -1);
			break;
		default:
			rc = tv_hypercall(TV_HC_PVCLOCK_REFRESH, 0, 0, 0, 0);
			note(p, 2, rc, rc >= 0 && rc <= MAX_CPUS);
			break;
		}
	}
	p->finished = 1;
}

/* ---- endpause: the APs ask for pauses until the VM ends ---- */
static void endless_fn(unsigned cpu, void *arg)
{
	u64 gpa = (u64)(uintptr_t)win_page;

	(void)arg;
	atomic_set(&per[cpu].finished, 1);
	for (u64 i = 0;; i++) {
		switch ((i + cpu) % endless_ops) {
		case 0: tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa, 0, 0, 0); break;
		case 1: tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0); break;
		case 2: tv_hypercall(TV_HC_PVCLOCK_REFRESH, 0, 0, 0, 0); break;
		default: tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0); break;
		}
		per[cpu].calls++;
	}
}

/* ---- time ---- */
static void enable_fn(unsigned cpu, void *arg)
{
	(void)arg;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)&areas[cpu] | 1);
}

static void time_fn(unsigned cpu, void *arg)
{
	struct percpu *p = &per[cpu];
	u64 end, last_ns = 0, last_tsc = 0;

	(void)arg;
	barrier_wait(&start, 10000);
	end = tsc_after_ms(iters);
	if (cpu & 1) {          /* writer */
		for (u64 i = 0; !timed_out(end); i++) {
			s64 rc;

			switch (i % 5) {
			case 0:
			case 2:
				rc = tv_hypercall(TV_HC_PVCLOCK_FAST, (i % 5) == 0, 0, 0, 0);
				note(p, 1, rc, rc == 0 || rc == -1);
				break;
			case 1:
				rc = tv_hypercall(TV_HC_PVCLOCK_REFRESH, 0, 0, 0, 0);
				note(p, 2, rc, rc >= 0 && rc <= MAX_CPUS);
				break;
			case 3:
				wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST));
				p->calls++;
				break;
			default:
				if (cpu == 1)
					wrmsr(MSR_TSC, rdmsr(MSR_TSC) + 1000);
				p->calls++;
				break;
			}
		}
	} else {                /* reader */
		while (!timed_out(end)) {
			struct pvclock_snap s = { 0 };
			u64 t;

			p->reads++;
			if (!pvclock_read(&areas[cpu], &s)) {
				p->pv_fail++;
				continue;
			}
			/* 10 us of slack: the pair is rounded to the ns. */
			if (last_ns && s.ns + 10000 < last_ns)
				p->ns_back++;
			last_ns = s.ns;
			t = rdtsc_ordered();
			if (t < last_tsc)
				p->tsc_back++;
			last_tsc = t;
			spin_lock(&cross_lock);
			t = rdtsc_ordered();
			if (t < cross_tsc)
				p->tsc_back++;
			cross_tsc = t;
			spin_unlock(&cross_lock);
		}
	}
	p->finished = 1;
}

static void woken_fn(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	atomic_inc(&woken);
}

static u64 sum(unsigned n, u64 (*f)(const struct percpu *))
{
	u64 s = 0;

	for (unsigned c = 0; c < n; c++)
		s += f(&per[c]);
	return s;
}

static u64 f_calls(const struct percpu *p) { return p->calls; }
static u64 f_bad(const struct percpu *p) { return p->bad; }
static u64 f_ok0(const struct percpu *p) { return p->ok0; }
static u64 f_fail(const struct percpu *p) { return p->fail; }
static u64 f_pv_fail(const struct percpu *p) { return p->pv_fail; }
static u64 f_ns_back(const struct percpu *p) { return p->ns_back; }
static u64 f_tsc_back(const struct percpu *p) { return p->tsc_back; }
static u64 f_reads(const struct percpu *p) { return p->reads; }
static u64 f_finished(const struct percpu *p) { return p->finished; }

static void report_bad(unsigned n)
{
	for (unsigned c = 0; c < n; c++)
		if (per[c].bad)
			diag("CPU %u: %llu bad returns, the last %lld from hypercall %u", c,
			     (unsigned long long)per[c].bad, (long long)per[c].last_bad_rc,
			     per[c].last_bad_nr);
}

NORETURN static void sleep_forever(void)
{
	irq_disable();
	for (;;)
		sti_hlt();
}

void test_main(const struct mb_info *mbi)
{
	char mode[16] = "plain", expect[8] = "any";
	unsigned n;
	u32 max;

	(void)mbi;
	cmdline_get("do", mode, sizeof(mode));
	cmdline_get("expect", expect, sizeof(expect));
	iters = cmdline_u64("iters", 200, NULL);
	nosave = cmdline_u64("nosave", 0, NULL);
	if (!strncmp(mode, "plain", 6)) {
		plan(1);
		ok(rdtsc() != 0, "a normal VM after the hostile ones runs");
		return;
	}
	if (!tv_signature(&max))
		skip_rest("no tscvisor time leaf: not under tscvisor");
	n = smp_init();
	barrier_init(&start, n);
	diag("mode %s on %u CPU(s)", mode, n);

	if (!strncmp(mode, "saves", 6)) {
		bool all = cmdline_u64("all", 0, NULL);
		u64 calls, bad, ok0, fail, errs;

		plan(3);
		fill_bytes = cmdline_u64("fill_mib", 4, NULL) << 20;
		saves_n = cmdline_u64("saves", 8, NULL);
		fill();
		if (all)
			smp_call_all(saves_fn, NULL, 600000);
		else
			saves_fn(0, NULL);
		calls = sum(n, f_calls);
		bad = sum(n, f_bad);
		ok0 = sum(n, f_ok0);
		fail = sum(n, f_fail);
		report_bad(n);
		ok(bad == 0 && calls == saves_n * (all ? n : 1),
		   "%llu saves of %llu MiB of non-zero RAM each returned 0 or -1 (%llu 0, %llu -1, %llu other)",
		   (unsigned long long)calls, (unsigned long long)(fill_bytes >> 20),
		   (unsigned long long)ok0, (unsigned long long)fail, (unsigned long long)bad);
		if (!strncmp(expect, "ok", 3))
			ok(ok0 == calls, "every save was taken (0): %llu of %llu", (unsigned long long)ok0,
			   (unsigned long long)calls);
		else if (!strncmp(expect, "fail", 5))
			ok(fail == calls, "every save over the budget failed (-1): %llu of %llu",
			   (unsigned long long)fail, (unsigned long long)calls);
		else
			ok(true, "saves: no expectation on the outcome");
		errs = fill_errors();
		ok(errs == 0, "the RAM pattern is intact after the saves (%llu bad bytes)",
		   (unsigned long long)errs);
	} else if (!strncmp(mode, "race", 5)) {
		bool done_all;

		plan(2);
		done_all = smp_call_all(race_fn, NULL, 600000);
		report_bad(n);
		ok(done_all && sum(n, f_finished) == n,
		   "every CPU finished %llu window/save/refresh calls at once (%llu in all)",
		   (unsigned long long)iters, (unsigned long long)sum(n, f_calls));
		ok(sum(n, f_bad) == 0, "every call returned a value it may return (%llu did not)",
		   (unsigned long long)sum(n, f_bad));
		tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0);
	} else if (!strncmp(mode, "badwin", 7)) {
		u64 rep = cmdline_u64("repeats", 100, NULL), gpa = (u64)(uintptr_t)win_page, bad = 0;

		plan(1);
		for (u64 i = 0; i < rep; i++) {
			bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa + 8, 0, 0, 0) != HC_EINVAL;
			bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, 1ull << 40, 0, 0, 0) != HC_EINVAL;
			bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0xfee00000ull, 0, 0, 0) != HC_EINVAL;
			bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, gpa, 0, 0, 0) != 0;
			bad += tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0) != 0;
		}
		ok(bad == 0, "%llu rounds of 3 bad window GPAs (-22), a good one and removal (0): %llu wrong",
		   (unsigned long long)rep, (unsigned long long)bad);
	} else if (!strncmp(mode, "time", 5)) {
		bool done_all;

		plan(4);
		smp_call_all(enable_fn, NULL, 10000);
		done_all = smp_call_all(time_fn, NULL, 600000);
		report_bad(n);
		for (unsigned c = 0; c < n; c++)
			diag("CPU %u: %llu calls, %llu reads, %llu failed reads, %llu ns back, %llu TSC back", c,
			     (unsigned long long)per[c].calls, (unsigned long long)per[c].reads,
			     (unsigned long long)per[c].pv_fail, (unsigned long long)per[c].ns_back,
			     (unsigned long long)per[c].tsc_back);
		ok(done_all && sum(n, f_bad) == 0 && n >= 2,
		   "writers: %llu fast-path/refresh/TSC-write calls, every return defined",
		   (unsigned long long)sum(n, f_calls));
		ok(sum(n, f_reads) > 0 && sum(n, f_pv_fail) == 0,
		   "readers: %llu pvclock reads, none failed the version protocol",
		   (unsigned long long)sum(n, f_reads));
		ok(sum(n, f_ns_back) == 0, "no reader's pvclock time went back (%llu times)",
		   (unsigned long long)sum(n, f_ns_back));
		ok(sum(n, f_tsc_back) == 0, "the TSC never went back on or across the readers (%llu times)",
		   (unsigned long long)sum(n, f_tsc_back));
	} else if (!strncmp(mode, "endpause", 9)) {
		plan(1);
		if (nosave)
			endless_ops = 3;    /* no hypercall 3 (slow saves under Bochs) */
		smp_start_aps(endless_fn, NULL);
		udelay(cmdline_u64("spin_ms", 300, NULL) * 1000);
		ok(n < 2 || sum(n, f_finished) >= 1,
		   "the BSP ends the VM while %llu of %u AP(s) ask for pauses (%llu calls so far)",
		   (unsigned long long)sum(n, f_finished), n - 1, (unsigned long long)sum(n, f_calls));
		done();     /* the exit port while the APs go on */
	} else if (!strncmp(mode, "hltwake", 8)) {
		u64 ms = cmdline_u64("spin_ms", 300, NULL);

		plan(1);
		udelay(ms * 1000);  /* the APs sleep meanwhile, IF = 1 */
		smp_call_all(woken_fn, NULL, 10000);
		ok(atomic_read(&woken) == n, "after %llu ms spinning the BSP woke the sleeping APs (%u of %u)",
		   (unsigned long long)ms, atomic_read(&woken), n);
	} else if (!strncmp(mode, "hlt", 4) || !strncmp(mode, "hlt2", 5)) {
		plan(1);
		if (mode[3] == '2')
			udelay(cmdline_u64("spin_ms", 300, NULL) * 1000);
		diag("every CPU now sleeps (STI; HLT) with nothing armed");
		sleep_forever();
	} else {
		plan(1);
		ok(false, "unknown mode %s", mode);
	}
}
