/* printf.c — a small printf for guest tests: no floating point, output to
 * the serial port or to a buffer. Conversions: d i u x X o p s c %;
 * flags - 0 + space #; width and precision (numbers or *); lengths hh h l
 * ll z j t. Unknown conversions are printed as they are. */
#include "guest.h"

struct sink {
	char *buf;		/* NULL: serial */
	size_t size;
	size_t len;		/* characters produced (also past size) */
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec;		/* -1: none */
};

/* One integer: magnitude v, sign neg, in base with digits. */
static void put_num(struct sink *s, const struct spec *sp, u64 v, bool neg,
		    unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len, zeros = 0;
	const char *prefix = "";

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (sp->prec == 0 && n == 1 && tmp[0] == '0')
		n = 0;				/* "%.0d" of 0 prints nothing */
	if (neg)
		prefix = "-";
	else if (sp->plus)
		prefix = "+";
	else if (sp->space)
		prefix = " ";
	if (sp->alt && base == 16 && n)
		prefix = upper ? "0X" : "0x";
	else if (sp->alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
		prefix = "0";
	if (sp->prec > n)
		zeros = sp->prec - n;
	len = (int)strlen(prefix) + zeros + n;
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > len) {
		zeros += sp->width - len;
		len = sp->width;
	}
	if (!sp->left)
		pad(s, ' ', sp->width - len);
	while (*prefix)
		put(s, *prefix++);
	pad(s, '0', zeros);
	while (n)
		put(s, tmp[--n]);
	if (sp->left)
		pad(s, ' ', sp->width - len);
}

static void put_str(struct sink *s, const struct spec *sp, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (sp->prec < 0 || n < sp->prec))
		n++;
	if (!sp->left)
		pad(s, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(s, str[i]);
	if (sp->left)
		pad(s, ' ', sp->width - n);
}

enum length { LEN_HH, LEN_H, LEN_INT, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

static void format(struct sink *s, const char *fmt, va_list ap)
{
	while (*fmt) {
		const char *start = fmt;
		struct spec sp = { .prec = -1 };
		enum length len = LEN_INT;
		u64 u;
		s64 i;

		if (*fmt != '%') {
			put(s, *fmt++);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '+')
				sp.plus = true;
			else if (*fmt == ' ')
				sp.space = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.prec = 0;
			if (*fmt == '*') {
				sp.prec = va_arg(ap, int);
				if (sp.prec < 0)
					sp.prec = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.prec = sp.prec * 10 + (*fmt++ - '0');
			}
		}
		switch (*fmt) {
		case 'h':
			len = LEN_H;
			if (*++fmt == 'h') {
				len = LEN_HH;
				fmt++;
			}
			break;
		case 'l':
			len = LEN_L;
			if (*++fmt == 'l') {
				len = LEN_LL;
				fmt++;
			}
			break;
		case 'z': len = LEN_Z; fmt++; break;
		case 'j': len = LEN_J; fmt++; break;
		case 't': len = LEN_T; fmt++; break;
		default: break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			switch (len) {
			case LEN_HH: i = (signed char)va_arg(ap, int); break;
			case LEN_H: i = (short)va_arg(ap, int); break;
			case LEN_INT: i = va_arg(ap, int); break;
			case LEN_L: i = va_arg(ap, long); break;
			case LEN_LL: i = va_arg(ap, long long); break;
			case LEN_Z: i = va_arg(ap, s64); break;		/* ssize_t */
			case LEN_J: i = va_arg(ap, intmax_t); break;
			default: i = va_arg(ap, ptrdiff_t); break;
			}
			/* The magnitude of INT64_MIN is representable as u64. */
			put_num(s, &sp, i < 0 ? 0 - (u64)i : (u64)i, i < 0, 10, false);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			switch (len) {
			case LEN_HH: u = (unsigned char)va_arg(ap, unsigned); break;
			case LEN_H: u = (unsigned short)va_arg(ap, unsigned); break;
			case LEN_INT: u = va_arg(ap, unsigned); break;
			case LEN_L: u = va_arg(ap, unsigned long); break;
			case LEN_LL: u = va_arg(ap, unsigned long long); break;
			case LEN_Z: u = va_arg(ap, size_t); break;
			case LEN_J: u = va_arg(ap, uintmax_t); break;
			default: u = (u64)va_arg(ap, ptrdiff_t); break;
			}
			put_num(s, &sp, u, false, *fmt == 'o' ? 8 : *fmt == 'u' ? 10 : 16,
				*fmt == 'X');
			break;
		case 'p':
			sp.alt = true;
			put_num(s, &sp, (u64)(uintptr_t)va_arg(ap, void *), false, 16, false);
			break;
		case 's':
			put_str(s, &sp, va_arg(ap, const char *));
			break;
		case 'c':
			sp.prec = -1;
			if (!sp.left)
				pad(s, ' ', sp.width - 1);
			put(s, (char)va_arg(ap, int));
			if (sp.left)
				pad(s, ' ', sp.width - 1);
			break;
		case '%':
			put(s, '%');
			break;
		default:
			/* Not understood: print the directive itself. */
			while (start < fmt)
				put(s, *start++);
			if (!*fmt)
				return;
			put(s, *fmt);
			break;
		}
		fmt++;
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	format(&s, fmt, ap);
	return (int)s.len;
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
	/* A non-NULL buffer marks the sink as memory, even when size is 0. */
	static char dummy;
	struct sink s = { .buf = buf ? buf : &dummy, .size = buf ? size : 0 };

	format(&s, fmt, ap);
	if (buf && size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
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
