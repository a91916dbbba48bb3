/* clockcheck: /init of the Linux guest's initramfs (scripts/linux-guest,
 * docs/linux-guest.md). A static userspace program that checks what a stock
 * Linux kernel made of the clocks it was given, then ends the VM:
 *
 *   - the clocksource the kernel uses at the end (sysfs), optionally required;
 *   - CLOCK_MONOTONIC and the TSC never step back on one CPU and never warp
 *     across CPUs: one thread pinned to each online CPU, all taking one lock
 *     and comparing the value they read with the last value any CPU read
 *     under it (the method of Linux's check_tsc_warp);
 *   - the rate of both against the ACPI PM timer (3.579545 MHz, port from
 *     clockcheck.pm_port=, the FADT in sysfs, or the kernel's log line
 *     "ACPI: PM-Timer IO Port: 0x...");
 *   - the kernel log free of clocksource-unstable, "Marking TSC unstable",
 *     soft/hard lockup and RCU stall reports.
 *
 * Output follows the guest tests' contract (guest-tests/lib/tap.c): TAP
 * lines, "# " diagnostics, a last line "RESULT: PASS|FAIL|SKIP", then the
 * status on tscvisor's exit port 0xf4 (0 pass, 1 fail; QEMU's
 * isa-debug-exit takes the same write). When that write does not end the VM
 * (no such device) the program powers the machine off with reboot(2).
 *
 * Output goes to the console's tty, or with clockcheck.out=uart straight to
 * COM1 (see say()).
 *
 * Options, read from /proc/cmdline (dotted names: the kernel keeps them out
 * of init's environment and does not complain about them):
 *   clockcheck.pm_port=0xNNN   PM timer port when there is no FADT
 *   clockcheck.seconds=N       how long each warp test may run (default 2)
 *   clockcheck.loops=N         reads per CPU per warp test (default 200000)
 *   clockcheck.rate_ms=N       length of the rate measurement (default 1000)
 *   clockcheck.tol_ppm=N       tolerated rate error (default 2000)
 *   clockcheck.tsc_khz=N       expected TSC rate (checked within tol_ppm)
 *   clockcheck.clocksource=S   required clocksource (e.g. kvm-clock)
 *   clockcheck.out=uart        write to COM1's ports, not to the tty
 *   clockcheck.inject_backstep=1  make CPU 0's 11th TSC read 1000 cycles lower
 *                              than its previous one and the last of any
 *                              CPU, through the real comparisons, to show
 *                              the checks fail
 *   clockcheck.span_ms=N       first, a rate measurement, then every CPU
 *                              reads CLOCK_MONOTONIC and the TSC in a loop
 *                              for N ms (so that a save/restore can fall in
 *                              it) and reports the largest step between
 *                              consecutive reads, then the rate again, which
 *                              must equal the first
 *   clockcheck.span_after_ms=A the span ends A ms (default 2000) after the
 *                              first read that saw a restore, if sooner
 *   clockcheck.span_max_ms=M   the largest CLOCK_MONOTONIC step in the span
 *                              must be below M ms (default: not checked)
 *   clockcheck.span_restore_max_ms=R  the step across the restore must be
 *                              below R ms on every CPU (default: not checked)
 *   clockcheck.span_restore_max_us=U  the same, at most U us (for an
 *                              emulator whose time is its instruction count)
 *   clockcheck.expect_restore=1  the span must see tscvisor's incarnation
 *                              (CPUID 0x40000101 EDX) go up: a restore
 *   clockcheck.expect_log=TEXT the kernel log must have a line with TEXT
 *                              ('_' stands for a space), and such lines are
 *                              not counted as complaints: for a complaint a
 *                              platform is known to cause (e.g. a TSC that
 *                              is not invariant), shown, not hidden
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>

#define EXIT_PORT       0xf4
#define PM_HZ           3579545ull
#define PM_MASK         0xffffffu   /* read as 24 bits: right for both widths */
#define MAX_CPUS        64
#define CS_DIR          "/sys/devices/system/clocksource/clocksource0/"

static int checks, failures;
static unsigned uart_port;     /* clockcheck.out=uart: write COM1 directly */

/* One line of output. To stdout (the console's tty) normally; with
 * clockcheck.out=uart straight to the 16550 at 0x3f8, polling its line
 * status: for platforms whose UART raises no interrupts, where the kernel's
 * tty would never send what userspace writes (its console output is polled
 * and does not need them). */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!uart_port) {
		fputs(line, stdout);
		fputs("\n", stdout);
		fflush(stdout);
		return;
	}
	for (i = 0; i <= strlen(line); i++) {
		char c = line[i] ? line[i] : '\n';
		unsigned spin;

		/* LSR bit 5: transmit holding register empty */
		for (spin = 0; spin < 100000 && !(inb((uint16_t)(uart_port + 5)) & 0x20); spin++)
			;
		outb((uint8_t)c, (uint16_t)uart_port);
	}
}

__attribute__((format(printf, 1, 2)))
static void diag(const char *fmt, ...)
{
	char msg[1000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("# %s", msg);
}

__attribute__((format(printf, 2, 3)))
static void ok(bool cond, const char *fmt, ...)
{
	char msg[1000];
	va_list ap;

	checks++;
	if (!cond)
		failures++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s %d - %s", cond ? "ok" : "not ok", checks, msg);
}

/* ---- options ----------------------------------------------------------- */

static char cmdline[4096];

/* The value of "clockcheck.NAME=" in the command line, or NULL. */
static const char *opt(const char *name)
{
	static char val[256];
	char key[64];
	const char *p = cmdline;
	size_t klen;

	snprintf(key, sizeof(key), "clockcheck.%s=", name);
	klen = strlen(key);
	while ((p = strstr(p, key)) != NULL) {
		if (p == cmdline || p[-1] == ' ') {
			size_t n = strcspn(p + klen, " \n");

			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, p + klen, n);
			val[n] = 0;
			return val;
		}
		p += klen;
	}
	return NULL;
}

static uint64_t opt_num(const char *name, uint64_t dflt)
{
	const char *v = opt(name);

	return v ? strtoull(v, NULL, 0) : dflt;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return (int)total;
}

/* ---- clocks -------------------------------------------------------------- */

/* RDTSC ordered after every earlier load, as the kernel's rdtsc_ordered():
 * a read under the lock must not be taken before the lock is. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* tscvisor's incarnation (CPUID 0x40000101 EDX, docs/abi.md): +1 at every
 * restore. has_timeleaf() says whether the leaf is there. */
static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static bool has_timeleaf(void)
{
	uint32_t r[4];

	cpuid(0x40000100, r);
	return r[0] >= 0x40000101 && r[1] == 0x56435354 && r[2] == 0x726f7369;
}

static uint32_t incarnation(void)
{
	uint32_t r[4];

	cpuid(0x40000101, r);
	return r[3];
}

/* ---- warp test ----------------------------------------------------------- */

enum clk { CLK_TSC, CLK_MONO };

struct warp_shared {
	enum clk clk;
	uint64_t loops;
	volatile int stop;
	volatile int started;
	int lock;
	int active;             /* threads still reading */
	int last_cpu;           /* who read last, under lock; -1 at first */
	uint64_t last;          /* last value read by any CPU, under lock */
	bool inject;            /* pretend one read stepped back */
};

struct warp_cpu {
	pthread_t th;
	struct warp_shared *sh;
	int cpu;
	bool pinned;
	uint64_t reads;
	uint64_t handoffs;            /* reads whose previous read was another CPU's */
	uint64_t warps, max_warp;     /* below the last value of any CPU */
	uint64_t backs, max_back;     /* below this CPU's own previous read */
};

/* A test-and-set lock. Alone it is unfair where each read traps to the
 * hypervisor (emulated RDTSC): the CPU that just released it took it again
 * almost every time, one CPU made thousands of reads and the other one, and
 * warps across CPUs went unlooked for. A ticket lock was fair but made
 * every read wait for the other vCPU to be scheduled (269 reads in 2 s on
 * nested QEMU). So a thread that has just read waits a bounded while for
 * another CPU to take a turn (warp_thread), and the test counts handoffs. */
static void lock(struct warp_shared *sh)
{
	while (__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&sh->lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void unlock(struct warp_shared *sh)
{
	__atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
}

static void *warp_thread(void *arg)
{
	struct warp_cpu *c = arg;
	struct warp_shared *sh = c->sh;
	uint64_t mine = 0, i;
	unsigned spin;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	c->pinned = sched_setaffinity(0, sizeof(set), &set) == 0 && sched_getcpu() == c->cpu;
	__atomic_add_fetch(&sh->started, 1, __ATOMIC_ACQ_REL);
	for (i = 0; i < sh->loops && !sh->stop; i++) {
		uint64_t prev, now;

		lock(sh);
		prev = sh->last;
		now = sh->clk == CLK_TSC ? rdtsc_ordered() : mono_ns();
		if (sh->inject && c->cpu == 0 && i == 10) {
			/* 1000 below both this CPU's previous read and the
			 * last of any CPU: one step back and one warp. */
			uint64_t low = prev < mine ? prev : mine;

			if (low > 1000)
				now = low - 1000;
			sh->inject = false;
		}
		sh->last = now;
		if (sh->last_cpu >= 0 && sh->last_cpu != c->cpu)
			c->handoffs++;
		sh->last_cpu = c->cpu;
		unlock(sh);
		/* Plain loads, no PAUSE: QEMU's TCG leaves its execution loop on
		 * every PAUSE, which made this wait cost milliseconds. Bounded
		 * generously (a trapped read of another vCPU can take
		 * milliseconds on a nested emulator), and only while another
		 * CPU is still reading. */
		for (spin = 0; spin < 5000000u &&
			       __atomic_load_n(&sh->active, __ATOMIC_RELAXED) > 1 &&
			       __atomic_load_n(&sh->last_cpu, __ATOMIC_RELAXED) == c->cpu; spin++)
			__asm__ volatile("" ::: "memory");
		if (now < prev) {
			c->warps++;
			if (prev - now > c->max_warp)
				c->max_warp = prev - now;
		}
		if (now < mine) {
			c->backs++;
			if (mine - now > c->max_back)
				c->max_back = mine - now;
		}
		mine = now;
	}
	__atomic_sub_fetch(&sh->active, 1, __ATOMIC_ACQ_REL);
	c->reads = i;
	return NULL;
}

static void warp_test(enum clk clk, int ncpus, uint64_t loops, uint64_t seconds, bool inject)
{
	static struct warp_cpu cpus[MAX_CPUS];
	struct warp_shared sh = { .clk = clk, .loops = loops, .inject = inject,
				  .active = ncpus, .last_cpu = -1 };
	const char *name = clk == CLK_TSC ? "TSC" : "CLOCK_MONOTONIC";
	const char *unit = clk == CLK_TSC ? "cycles" : "ns";
	uint64_t warps = 0, backs = 0, max_warp = 0, max_back = 0, reads = 0, min_reads = ~0ull;
	uint64_t handoffs = 0;
	uint64_t t0 = mono_ns();
	bool all_pinned = true;
	int i, done;

	memset(cpus, 0, sizeof(cpus));
	for (i = 0; i < ncpus; i++) {
		cpus[i].sh = &sh;
		cpus[i].cpu = i;
		if (pthread_create(&cpus[i].th, NULL, warp_thread, &cpus[i])) {
			ok(false, "%s warp test: cannot start a thread for CPU %d", name, i);
			sh.stop = 1;
			__atomic_sub_fetch(&sh.active, ncpus - i, __ATOMIC_ACQ_REL);
			ncpus = i;
			break;
		}
	}
	/* The loops are bounded in time too: an emulated RDTSC can cost an
	 * exit per read, and vCPUs may be time-sliced on fewer pCPUs. */
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		done = __atomic_load_n(&sh.started, __ATOMIC_ACQUIRE) == ncpus;
		if (mono_ns() - t0 >= seconds * 1000000000ull) {
			sh.stop = 1;
			break;
		}
		for (i = 0; done && i < ncpus; i++)
			if (!__atomic_load_n(&cpus[i].reads, __ATOMIC_ACQUIRE))
				done = 0;
		if (done)
			break;
	}
	for (i = 0; i < ncpus; i++) {
		pthread_join(cpus[i].th, NULL);
		warps += cpus[i].warps;
		backs += cpus[i].backs;
		reads += cpus[i].reads;
		handoffs += cpus[i].handoffs;
		if (cpus[i].reads < min_reads)
			min_reads = cpus[i].reads;
		if (cpus[i].max_warp > max_warp)
			max_warp = cpus[i].max_warp;
		if (cpus[i].max_back > max_back)
			max_back = cpus[i].max_back;
		all_pinned &= cpus[i].pinned;
		if (cpus[i].warps || cpus[i].backs)
			diag("%s: CPU %d: %" PRIu64 " reads, %" PRIu64 " warps (max %" PRIu64
			     " %s), %" PRIu64 " own steps back (max %" PRIu64 ")", name, i,
			     cpus[i].reads, cpus[i].warps, cpus[i].max_warp, unit,
			     cpus[i].backs, cpus[i].max_back);
	}
	diag("%s: %d CPU(s), %" PRIu64 " reads (fewest on one CPU %" PRIu64 "), %" PRIu64
	     " handoffs between CPUs, in %" PRIu64 " ms", name, ncpus, reads, min_reads, handoffs,
	     (mono_ns() - t0) / 1000000);
	ok(all_pinned, "%s warp test: every thread pinned to its own CPU", name);
	ok(ncpus > 0 && min_reads > 0, "%s warp test: every CPU read the clock", name);
	/* Without reads that follow another CPU's there is no warp to see. */
	ok(ncpus < 2 || handoffs >= 100 || handoffs * 4 >= reads,
	   "%s warp test: CPUs took turns (%" PRIu64 " handoffs in %" PRIu64 " reads)", name,
	   handoffs, reads);
	ok(backs == 0, "%s never steps back on one CPU (%" PRIu64 " steps, max %" PRIu64 " %s)",
	   name, backs, max_back, unit);
	ok(warps == 0, "%s never warps across CPUs (%" PRIu64 " warps, max %" PRIu64 " %s)",
	   name, warps, max_warp, unit);
}

/* ---- PM timer -------------------------------------------------------------- */

/* The PM timer's port from the FADT: PM_TMR_BLK (offset 76), or
 * X_PM_TMR_BLK (offset 208, a GAS whose address is at 212) when that is zero
 * and the GAS names I/O space. 0 when there is none. */
static unsigned fadt_pm_port(void)
{
	static uint8_t f[512];
	int fd = open("/sys/firmware/acpi/tables/FACP", O_RDONLY);
	ssize_t n;
	uint32_t port = 0;

	if (fd < 0)
		return 0;
	n = read(fd, f, sizeof(f));
	close(fd);
	if (n >= 80)
		memcpy(&port, f + 76, 4);
	if (!port && n >= 220 && f[208] == 1) {
		uint64_t addr;

		memcpy(&addr, f + 212, 8);
		if (addr < 0x10000)
			port = (uint32_t)addr;
	}
	return port < 0x10000 ? port : 0;
}

/* The port the kernel itself found in the FADT, from its log line
 * "ACPI: PM-Timer IO Port: 0x608": there even when the ACPI interpreter
 * failed to start and /sys/firmware/acpi/tables is empty. 0 when absent. */
static unsigned klog_pm_port(void)
{
	static const char key[] = "PM-Timer IO Port: 0x";
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p;
	unsigned port = 0;
	int n;

	if (size <= 0)
		size = 1 << 20;
	buf = malloc((size_t)size + 1);
	n = buf ? klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size) : -1;
	if (n > 0) {
		buf[n] = 0;
		p = strstr(buf, key);
		if (p)
			port = (unsigned)strtoul(p + sizeof(key) - 1, NULL, 16);
	}
	free(buf);
	return port < 0x10000 ? port : 0;
}

static inline uint32_t pm_read(unsigned port)
{
	return inl((uint16_t)port) & PM_MASK;
}

/* Wait until the timer reads something other than prev; false when it
 * seems stopped (no change in 10^7 reads, far more than one 279 ns tick). */
static bool pm_next(unsigned port, uint32_t prev, uint32_t *cur)
{
	unsigned i;

	for (i = 0; i < 10000000u; i++)
		if ((*cur = pm_read(port)) != prev)
			return true;
	return false;
}

/* One reading of the three clocks, bracketed by two PM timer reads that
 * are at most a few ticks apart: a vCPU descheduled between the reads
 * (emulators on a busy host) would otherwise put its delay into the rate.
 * Returns the first PM value. */
static uint32_t sample(unsigned port, uint64_t *tsc, uint64_t *mono)
{
	uint32_t p0, p1;
	unsigned tries = 0;

	do {
		p0 = pm_read(port);
		*tsc = rdtsc_ordered();
		*mono = mono_ns();
		p1 = pm_read(port);
	} while (((p1 - p0) & PM_MASK) > 4 && ++tries < 1000);
	return p0;
}

/* Rates of the TSC and CLOCK_MONOTONIC over about `ms` of PM timer time.
 * The timer is read often enough (every few us) that its 24-bit wrap
 * (4.7 s) is never missed. Each end is one bracketed sample, so the
 * PM reading is exact to a few ticks (279 ns each). */
static uint64_t rate_test(unsigned port, uint64_t ms, uint64_t tol_ppm, uint64_t want_khz)
{
	uint64_t target = PM_HZ * ms / 1000, pm_ticks = 0;
	uint64_t tsc0, tsc1, mono0, mono1, pm_ns, tsc_khz;
	uint32_t prev, cur;
	double mono_ppm;

	prev = sample(port, &tsc0, &mono0);
	while (pm_ticks < target) {
		if (!pm_next(port, prev, &cur)) {
			ok(false, "the PM timer at port 0x%x counts (it reads 0x%x throughout)",
			   port, prev);
			return 0;
		}
		pm_ticks += (cur - prev) & PM_MASK;
		prev = cur;
	}
	/* The whole span, wrapped: under 4.7 s since we polled throughout. */
	cur = sample(port, &tsc1, &mono1);
	pm_ticks += (cur - prev) & PM_MASK;

	pm_ns = pm_ticks * 1000000000ull / PM_HZ;
	tsc_khz = (tsc1 - tsc0) * PM_HZ / pm_ticks / 1000;
	mono_ppm = ((double)(mono1 - mono0) - (double)pm_ns) * 1e6 / (double)pm_ns;
	diag("rate over %" PRIu64 " PM ticks (%" PRIu64 " us): TSC %" PRIu64 " cycles = %" PRIu64
	     " kHz; CLOCK_MONOTONIC %" PRIu64 " ns", pm_ticks, pm_ns / 1000, tsc1 - tsc0,
	     tsc_khz, mono1 - mono0);
	ok(mono_ppm < (double)tol_ppm && mono_ppm > -(double)tol_ppm,
	   "CLOCK_MONOTONIC runs at the PM timer's rate: %+.0f ppm (tolerance %" PRIu64 ")",
	   mono_ppm, tol_ppm);
	if (want_khz) {
		double tsc_ppm = ((double)tsc_khz - (double)want_khz) * 1e6 / (double)want_khz;

		ok(tsc_ppm < (double)tol_ppm && tsc_ppm > -(double)tol_ppm,
		   "TSC rate %" PRIu64 " kHz is the expected %" PRIu64 " kHz: %+.0f ppm", tsc_khz,
		   want_khz, tsc_ppm);
	}
	return tsc_khz;
}

/* ---- span: one long read loop a save/restore can fall into ------------ */

struct span_cpu {
	pthread_t th;
	int cpu;
	bool pinned, timeleaf;
	uint64_t ms, after_ms;
	uint64_t reads;
	uint64_t max_mono, max_mono_at;   /* largest CLOCK_MONOTONIC step, ns; at (ns since start) */
	uint64_t max_tsc;                 /* largest TSC step, cycles */
	uint64_t backs_mono, backs_tsc;
	uint32_t inc0, inc1;              /* incarnation at start and end */
	uint64_t restore_mono, restore_tsc, restore_at;   /* the step where it changed */
	bool restored;
};

static void *span_thread(void *arg)
{
	struct span_cpu *c = arg;
	uint64_t t0, m, tsc, pm, ptsc, end, step_m = 0, step_t = 0;
	uint32_t inc;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	c->pinned = sched_setaffinity(0, sizeof(set), &set) == 0 && sched_getcpu() == c->cpu;
	c->inc0 = inc = c->timeleaf ? incarnation() : 0;
	ptsc = rdtsc_ordered();
	pm = t0 = mono_ns();
	end = t0 + c->ms * 1000000ull;
	do {
		uint32_t ni = c->timeleaf ? incarnation() : 0;

		tsc = rdtsc_ordered();
		m = mono_ns();
		c->reads++;
		if (m < pm)
			c->backs_mono++;
		if (tsc < ptsc)
			c->backs_tsc++;
		if (ni != inc) {
			/* The save fell after the previous incarnation read,
			 * before this one: in the previous clock reads' step or
			 * in this one's (each clock's own order decides), so
			 * the step across it is the larger of the two. */
			uint64_t sm = m > pm ? m - pm : 0, st = tsc > ptsc ? tsc - ptsc : 0;

			c->restored = true;
			c->restore_mono = sm > step_m ? sm : step_m;
			c->restore_tsc = st > step_t ? st : step_t;
			c->restore_at = pm - t0;
			inc = ni;
			if (m + c->after_ms * 1000000ull < end)
				end = m + c->after_ms * 1000000ull;
		}
		if (m > pm && m - pm > c->max_mono) {
			c->max_mono = m - pm;
			c->max_mono_at = pm - t0;
		}
		if (tsc > ptsc && tsc - ptsc > c->max_tsc)
			c->max_tsc = tsc - ptsc;
		step_m = m > pm ? m - pm : 0;
		step_t = tsc > ptsc ? tsc - ptsc : 0;
		pm = m;
		ptsc = tsc;
	} while (m < end);
	c->inc1 = inc;
	return NULL;
}

static void span_test(int ncpus, uint64_t ms, uint64_t after_ms, uint64_t max_ms,
		      uint64_t restore_max_ms, uint64_t restore_max_us, bool expect_restore)
{
	static struct span_cpu cpus[MAX_CPUS];
	uint64_t max_mono = 0, backs = 0, restore_mono = 0;
	bool timeleaf = has_timeleaf(), restored = false, pinned = true;
	int i;

	diag("span: every CPU reads CLOCK_MONOTONIC and the TSC for %" PRIu64 " ms%s", ms,
	     timeleaf ? ", and tscvisor's incarnation" : " (no tscvisor time leaf)");
	for (i = 0; i < ncpus; i++) {
		cpus[i] = (struct span_cpu){ .cpu = i, .ms = ms, .after_ms = after_ms,
					    .timeleaf = timeleaf };
		if (pthread_create(&cpus[i].th, NULL, span_thread, &cpus[i]))
			cpus[i].th = 0;
	}
	for (i = 0; i < ncpus; i++) {
		struct span_cpu *c = &cpus[i];

		if (!c->th) {
			ok(false, "span: a thread for CPU %d", i);
			continue;
		}
		pthread_join(c->th, NULL);
		pinned = pinned && c->pinned;
		diag("span: CPU %d: %" PRIu64 " reads, largest step %" PRIu64 " us (CLOCK_MONOTONIC, "
		     "at %" PRIu64 " ms), %" PRIu64 " cycles (TSC); incarnation %u -> %u", i,
		     c->reads, c->max_mono / 1000, c->max_mono_at / 1000000, c->max_tsc, c->inc0,
		     c->inc1);
		if (c->restored) {
			diag("span: CPU %d: across the restore (at %" PRIu64 " ms; the larger of the "
			     "two steps around the incarnation change): CLOCK_MONOTONIC +%" PRIu64
			     " ns, TSC +%" PRIu64 " cycles", i, c->restore_at / 1000000,
			     c->restore_mono, c->restore_tsc);
			say("span-restore-step-us: %" PRIu64, c->restore_mono / 1000);
			restored = true;
			if (c->restore_mono > restore_mono)
				restore_mono = c->restore_mono;
		}
		if (c->max_mono > max_mono)
			max_mono = c->max_mono;
		backs += c->backs_mono + c->backs_tsc;
	}
	ok(pinned, "span: one thread pinned on each of the %d CPUs", ncpus);
	ok(backs == 0, "span: CLOCK_MONOTONIC and the TSC never step back on one CPU (%" PRIu64 ")",
	   backs);
	if (expect_restore)
		ok(restored, "span: a restore happened in it (the incarnation went up)");
	if (restore_max_ms && restored)
		ok(restore_mono < restore_max_ms * 1000000ull,
		   "span: the CLOCK_MONOTONIC step across the restore, %" PRIu64 " us, is below %"
		   PRIu64 " ms", restore_mono / 1000, restore_max_ms);
	if (restore_max_us && restored)
		ok(restore_mono <= restore_max_us * 1000ull,
		   "span: the CLOCK_MONOTONIC step across the restore, %" PRIu64 " ns, is at most %"
		   PRIu64 " us", restore_mono, restore_max_us);
	say("span-max-step-us: %" PRIu64, max_mono / 1000);
	if (max_ms)
		ok(max_mono < max_ms * 1000000ull,
		   "span: the largest CLOCK_MONOTONIC step, %" PRIu64 " us, is below %" PRIu64 " ms",
		   max_mono / 1000, max_ms);
}

/* ---- kernel log -------------------------------------------------------- */

/* Lines of the kernel log that say its clocks or its CPUs went wrong. */
static const char *const bad_patterns[][2] = {
	{ "clocksource", "unstable" },     /* the watchdog disowned a clocksource */
	{ "Marking TSC unstable", NULL },
	{ "soft lockup", NULL },
	{ "hard LOCKUP", NULL },
	{ "rcu: INFO:", NULL },            /* RCU stall reports start so */
	{ "detected stall", NULL },
	{ "self-detected stall", NULL },
	{ "TSC ADJUST", NULL },            /* tsc_sanitize_first_cpu / sync complaints */
	{ "TSC synchronization", NULL },   /* "Measured ... cycles TSC warp" follows */
};
/* Lines worth showing: what the kernel picked and measured. */
static const char *const info_patterns[] = {
	"tsc: Detected", "tsc: Refined", "clocksource: Switched to", "kvm-clock:",
	"Hypervisor detected", "smpboot: Total of", "x86/fpu: Enabled",
};

static void log_test(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *line, *save = NULL, expect[128] = "";
	int n, bad = 0, expected = 0;
	unsigned i;

	if (size <= 0)
		size = 1 << 20;
	buf = malloc((size_t)size + 1);
	n = buf ? klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size) : -1;
	if (n < 0) {
		ok(false, "kernel log readable (klogctl: %s)", strerror(errno));
		free(buf);
		return;
	}
	buf[n] = 0;
	if (opt("expect_log")) {
		size_t k, len = strcspn(opt("expect_log"), " \n");

		if (len >= sizeof(expect))
			len = sizeof(expect) - 1;
		memcpy(expect, opt("expect_log"), len);
		expect[len] = 0;
		for (k = 0; k < len; k++)
			if (expect[k] == '_')
				expect[k] = ' ';
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (expect[0] && strstr(line, expect)) {
			diag("kernel log (expected): %s", line);
			expected++;
			continue;
		}
		for (i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++) {
			const char *a = strstr(line, bad_patterns[i][0]);

			if (a && (!bad_patterns[i][1] || strstr(a, bad_patterns[i][1]))) {
				diag("kernel log: %s", line);
				bad++;
				break;
			}
		}
		for (i = 0; i < sizeof(info_patterns) / sizeof(info_patterns[0]); i++)
			if (strstr(line, info_patterns[i])) {
				diag("kernel log: %s", line);
				break;
			}
	}
	if (expect[0])
		ok(expected > 0, "kernel log has the expected line \"%s\" (%d)", expect, expected);
	ok(bad == 0, "kernel log (%d bytes) has no clocksource, lockup or stall complaint (%d)",
	   n, bad);
	free(buf);
}

/* ---- the way out ------------------------------------------------------- */

static __attribute__((noreturn)) void finish(void)
{
	const char *verdict = failures ? "FAIL" : checks ? "PASS" : "SKIP";
	int status = failures ? 1 : checks ? 0 : 77;
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	say("1..%d", checks);
	say("RESULT: %s", verdict);
	/* The tty sends what was written in the background: let it finish
	 * before the VM ends, or the verdict is lost. */
	tcdrain(STDOUT_FILENO);
	sync();
	if (ioperm(EXIT_PORT, 1, 1) == 0)
		outb((uint8_t)status, EXIT_PORT);
	/* Still here: no exit port. Power off (pid 1 must never return). */
	nanosleep(&ts, NULL);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	char cs[64] = "", avail[256] = "";
	const char *want_cs;
	unsigned port;
	uint64_t span;
	int ncpus;

	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	if (opt("out") && !strcmp(opt("out"), "uart") && ioperm(0x3f8, 8, 1) == 0)
		uart_port = 0x3f8;
	say("TAP version 13");
	diag("clockcheck: cmdline: %.*s", (int)strcspn(cmdline, "\n"), cmdline);

	/* The clocksource at the start; it is checked at the end, once the
	 * kernel's delayed TSC calibration (about a second after boot, the
	 * switch from tsc-early to tsc) has had its time. */
	read_file(CS_DIR "current_clocksource", cs, sizeof(cs));
	read_file(CS_DIR "available_clocksource", avail, sizeof(avail));
	cs[strcspn(cs, "\n")] = 0;
	avail[strcspn(avail, "\n")] = 0;
	diag("clocksource at start: %s, available: %s", cs, avail);

	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	diag("%d CPU(s) online, CLOCK_MONOTONIC %" PRIu64 " ms", ncpus, mono_ns() / 1000000);

	port = (unsigned)opt_num("pm_port", 0);
	if (!port)
		port = fadt_pm_port();
	if (!port)
		port = klog_pm_port();
	if (!port) {
		ok(false, "a PM timer port (no FADT in sysfs or the kernel log, no clockcheck.pm_port=)");
	} else if (ioperm((unsigned long)port, 4, 1)) {
		ok(false, "ioperm on the PM timer port 0x%x: %s", port, strerror(errno));
		port = 0;
	} else {
		diag("PM timer at port 0x%x", port);
	}

	span = opt_num("span_ms", 0);
	if (span) {
		/* rate, a long loop (a save/restore falls in it), the rate again */
		uint64_t before = 0, after = 0, tol = opt_num("tol_ppm", 2000);

		if (port)
			before = rate_test(port, opt_num("rate_ms", 1000), tol, opt_num("tsc_khz", 0));
		span_test(ncpus, span, opt_num("span_after_ms", 2000), opt_num("span_max_ms", 0),
			  opt_num("span_restore_max_ms", 0), opt_num("span_restore_max_us", 0),
			  opt_num("expect_restore", 0) != 0);
		if (port)
			after = rate_test(port, opt_num("rate_ms", 1000), tol, opt_num("tsc_khz", 0));
		if (port) {
			double ppm = before ? ((double)after - (double)before) * 1e6 / (double)before : 1e9;

			ok(before && ppm < (double)tol && ppm > -(double)tol,
			   "the TSC rate after the span, %" PRIu64 " kHz, equals the rate before, %" PRIu64
			   " kHz: %+.0f ppm", after, before, ppm);
		}
	}

	/* warps */
	warp_test(CLK_TSC, ncpus, opt_num("loops", 200000), opt_num("seconds", 2),
		  opt_num("inject_backstep", 0) != 0);
	warp_test(CLK_MONO, ncpus, opt_num("loops", 200000), opt_num("seconds", 2), false);

	/* rates */
	if (port && !span)
		rate_test(port, opt_num("rate_ms", 1000), opt_num("tol_ppm", 2000),
			  opt_num("tsc_khz", 0));

	read_file(CS_DIR "current_clocksource", cs, sizeof(cs));
	cs[strcspn(cs, "\n")] = 0;
	want_cs = opt("clocksource");
	if (want_cs)
		ok(strcmp(cs, want_cs) == 0, "clocksource is %s (wanted %s)", cs, want_cs);
	else
		ok(cs[0] != 0, "a current clocksource: %s", cs);

	/* the kernel's own opinion, last: its watchdog has had the longest */
	log_test();
	finish();
}
