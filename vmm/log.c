/* Console log with levels on the serial port. */
#include <stdarg.h>
#include <tscvisor/format.h>
#include <tscvisor/log.h>
#include <tscvisor/spinlock.h>
#include "serial.h"

static enum log_level current_level = LOG_INFO;
/* One line at a time from any CPU. */
static struct spinlock log_lock;

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

static void serial_out(char c, void *ctx)
{
	(void)ctx;
	serial_putc(c);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[512];
	int i;

	/* Format into a buffer first so one line goes out in one piece. */
	tv_vsnprintf(line, sizeof(line), fmt, ap);
	for (i = 0; prefix[i]; i++)
		serial_putc(prefix[i]);
	for (i = 0; line[i]; i++)
		serial_putc(line[i]);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	char prefix[16];

	if (lvl > current_level)
		return;
	tv_snprintf(prefix, sizeof(prefix), "[%s] ", level_tag[lvl]);
	spin_lock(&log_lock);
	va_start(ap, fmt);
	vlog(prefix, fmt, ap);
	va_end(ap);
	serial_putc('\n');
	spin_unlock(&log_lock);
}

void log_raw(const char *fmt, ...)
{
	va_list ap;

	spin_lock(&log_lock);
	va_start(ap, fmt);
	tv_vformat(serial_out, 0, fmt, ap);
	va_end(ap);
	spin_unlock(&log_lock);
}

void hv_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("[ERROR] ", fmt, ap);
	va_end(ap);
	serial_putc('\n');
	hv_exit(false, "panic");
}
