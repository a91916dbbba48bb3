/* printf.c — the guest tests' printf: the hypervisor's formatter
 * (pure/format.c, tested on the host by tests/test_format.c), compiled into
 * the guest library by guest.mk, with the serial port or a buffer as its
 * output. */
#include <tscvisor/format.h>
#include "guest.h"

static void to_serial(char c, void *ctx)
{
	(void)ctx;
	serial_putc(c);
}

int vprintf(const char *fmt, va_list ap)
{
	return tv_vformat(to_serial, NULL, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	/* No buffer: only the length, whatever size says. */
	return tv_vsnprintf(buf, buf ? size : 0, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
