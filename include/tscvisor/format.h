/* printf-style formatting without libc (pure C): the hypervisor's log and
 * the guest tests' printf (guest-tests/lib/printf.c). Supports %d %i %u %x
 * %X %o %c %s %p %%, flags '-', '0', '+', ' ', '#', field width and
 * precision (also '*'), length modifiers hh h l ll z j t. No floating
 * point; an unknown conversion is printed as '%' and its letter. */
#ifndef TSCVISOR_FORMAT_H
#define TSCVISOR_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Like vsnprintf: writes at most size-1 chars plus NUL (when size > 0) and
 * returns the length the full output would have had. */
int tv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int tv_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Streaming form: calls out(c, ctx) for every character; returns the count. */
int tv_vformat(void (*out)(char c, void *ctx), void *ctx, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
