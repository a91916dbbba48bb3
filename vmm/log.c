/* Console log with levels on the hypervisor's console (hw_console_putc),
 * and the end of the run (hv_exit, hv_panic). */
#include <stdarg.h>
#include <tscvisor/format.h>
#include <tscvisor/hw.h>
#include <tscvisor/log.h>
#include <tscvisor/ratelimit.h>
#include <tscvisor/sched.h>
#include <tscvisor/spinlock.h>
#include <tscvisor/vm.h>

static enum log_level current_level = LOG_INFO;

/* One line at a time from any CPU. A ticket lock, first come first served:
 * with a test-and-set lock a pCPU that logs in a loop could win it again
 * and again while another waits, which is unbounded. Each holder writes one
 * line of at most 512 characters (about 45 ms at 115200 baud), so a waiter
 * waits at most that times the number of pCPUs ahead of it. */
struct ticketlock { volatile uint32_t next, owner; };
static struct ticketlock log_lock;

static void log_lock_take(void)
{
	uint32_t me = __atomic_fetch_add(&log_lock.next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&log_lock.owner, __ATOMIC_ACQUIRE) != me)
		cpu_relax();
}

static void log_lock_drop(void)
{
	__atomic_store_n(&log_lock.owner, log_lock.owner + 1, __ATOMIC_RELEASE);
}

static const char *const level_tag[] = {
	[LOG_ERROR] = "ERROR",
	[LOG_WARN]  = "WARN ",
	[LOG_INFO]  = "INFO ",
	[LOG_DEBUG] = "DEBUG",
};

void log_set_level(enum log_level lvl)
{
	current_level = lvl;
}

static void console_out(char c, void *ctx)
{
	(void)ctx;
	hw_console_putc(c);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[512];
	int i;

	/* Format into a buffer first so one line goes out in one piece. */
	tv_vsnprintf(line, sizeof(line), fmt, ap);
	for (i = 0; prefix[i]; i++)
		hw_console_putc(prefix[i]);
	for (i = 0; line[i]; i++)
		hw_console_putc(line[i]);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	char prefix[16];

	if (lvl > current_level)
		return;
	tv_snprintf(prefix, sizeof(prefix), "[%s] ", level_tag[lvl]);
	log_lock_take();
	va_start(ap, fmt);
	vlog(prefix, fmt, ap);
	va_end(ap);
	hw_console_putc('\n');
	log_lock_drop();
}

void vm_log(struct vm *vm, enum log_level lvl, const char *fmt, ...)
{
	uint64_t dropped = 0;
	char line[400];
	va_list ap;
	bool ok;

	if (lvl > current_level)
		return;
	/* The decision under the VM's own lock: a refused line never touches
	 * the global log lock nor the UART. */
	spin_lock(&vm->log_rl_lock);
	if (!vm->log_rl.interval)
		ratelimit_init(&vm->log_rl, VM_LOG_BURST, VM_LOG_PER_SEC, vm->time.host.tsc_khz);
	ok = ratelimit_allow(&vm->log_rl, vm_host_tsc(), &dropped);
	spin_unlock(&vm->log_rl_lock);
	if (!ok)
		return;
	va_start(ap, fmt);
	tv_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The count of lines dropped since the last one rides on this line:
	 * one line per token, never two. */
	if (dropped)
		log_msg(lvl, "%s [%lu earlier lines of this VM suppressed: at most %u at once, "
			"then %u/s]", line, dropped, VM_LOG_BURST, VM_LOG_PER_SEC);
	else
		log_msg(lvl, "%s", line);
}

void vm_log_summary(struct vm *vm)
{
	uint64_t dropped, shown;

	spin_lock(&vm->log_rl_lock);
	dropped = vm->log_rl.dropped;
	shown = vm->log_rl.allowed;
	vm->log_rl.pending = 0;
	spin_unlock(&vm->log_rl_lock);
	if (dropped)
		log_msg(LOG_WARN, "vm %s: %lu log lines it caused suppressed in all, %lu shown "
			"(rate limit: at most %u at once, then %u/s)", vm->name, dropped, shown, VM_LOG_BURST, VM_LOG_PER_SEC);
}

void log_raw(const char *fmt, ...)
{
	va_list ap;

	log_lock_take();
	va_start(ap, fmt);
	tv_vformat(console_out, 0, fmt, ap);
	va_end(ap);
	log_lock_drop();
}

/* Interrupts off first: nothing runs on this CPU between the result line
 * and the stop. */
void hv_exit(bool pass, const char *reason)
{
	cli();
	if (pass)
		log_raw("TSCVISOR-RESULT: PASS\n");
	else
		log_raw("TSCVISOR-RESULT: FAIL %s\n", reason ? reason : "");
	hw_power_off(pass);
}

void hv_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("[ERROR] ", fmt, ap);
	va_end(ap);
	hw_console_putc('\n');
	hv_exit(false, "panic");
}
