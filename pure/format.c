/* printf-style formatting for the hypervisor's log and error messages.
 * Pure C: also linked into the host unit tests (tests/test_format.c). */
#include <stdint.h>
#include <stdbool.h>
#include <tscvisor/format.h>

struct spec {
	bool left, zero, plus, space, alt;   /* alt: '#' */
	int width;
	int prec;      /* -1 = none */
};

static int emit_pad(void (*out)(char, void *), void *ctx, char c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		out(c, ctx);
	return n > 0 ? n : 0;
}

/* Emit a converted field: sign/prefix, zero padding, digits, width padding. */
static int emit_field(void (*out)(char, void *), void *ctx, const struct spec *sp,
		      const char *prefix, const char *body, int body_len, bool numeric)
{
	int plen = 0, zeros = 0, total, n = 0, i;

	while (prefix[plen])
		plen++;
	if (numeric && sp->prec > body_len)
		zeros = sp->prec - body_len;
	total = plen + zeros + body_len;
	if (numeric && sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->left)
		n += emit_pad(out, ctx, ' ', sp->width - total);
	for (i = 0; i < plen; i++, n++)
		out(prefix[i], ctx);
	n += emit_pad(out, ctx, '0', zeros);
	for (i = 0; i < body_len; i++, n++)
		out(body[i], ctx);
	if (sp->left)
		n += emit_pad(out, ctx, ' ', sp->width - total);
	return n;
}

static int utoa_rev(uint64_t v, unsigned base, bool upper, char *buf)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	return n;
}

int tv_vformat(void (*out)(char c, void *ctx), void *ctx, const char *fmt, va_list ap)
{
	int count = 0;

	while (*fmt) {
		struct spec sp = { .prec = -1 };
		int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long/size/intmax */
		char conv;

		if (*fmt != '%') {
			out(*fmt++, ctx);
			count++;
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-') sp.left = true;
			else if (*fmt == '0') sp.zero = true;
			else if (*fmt == '+') sp.plus = true;
			else if (*fmt == ' ') sp.space = true;
			else if (*fmt == '#') sp.alt = true;
			else break;
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
		for (;; fmt++) {
			if (*fmt == 'h') lng = lng == -1 ? -2 : -1;
			else if (*fmt == 'l') lng = lng == 1 ? 2 : 1;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
			else break;
		}
		conv = *fmt;
		if (!conv)
			break;
		fmt++;

		switch (conv) {
		case '%':
			out('%', ctx);
			count++;
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			sp.zero = false;
			count += emit_field(out, ctx, &sp, "", &c, 1, false);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = 0;

			if (!s)
				s = "(null)";
			while (s[len] && (sp.prec < 0 || len < sp.prec))
				len++;
			sp.zero = false;
			count += emit_field(out, ctx, &sp, "", s, len, false);
			break;
		}
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'p': {
			char tmp[24] = { 0 }, body[24];
			const char *prefix = "";
			unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
			uint64_t uv;
			bool neg = false;
			int n, i;

			if (conv == 'p') {
				uv = (uint64_t)(uintptr_t)va_arg(ap, void *);
				prefix = "0x";
			} else if (conv == 'd' || conv == 'i') {
				int64_t sv;

				if (lng >= 2) sv = va_arg(ap, long long);
				else if (lng == 1) sv = va_arg(ap, long);
				else sv = va_arg(ap, int);
				if (lng == -1) sv = (short)sv;
				if (lng == -2) sv = (signed char)sv;
				neg = sv < 0;
				uv = neg ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
				prefix = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
			} else {
				if (lng >= 2) uv = va_arg(ap, unsigned long long);
				else if (lng == 1) uv = va_arg(ap, unsigned long);
				else uv = va_arg(ap, unsigned int);
				if (lng == -1) uv = (unsigned short)uv;
				if (lng == -2) uv = (unsigned char)uv;
			}
			if (sp.prec == 0 && uv == 0 && conv != 'p') {
				n = 0;
			} else {
				n = utoa_rev(uv, base, conv == 'X', tmp);
			}
			/* '#': 0x / 0X before a non-zero hex value; octal starts
			 * with a 0 (added only where the digits do not). */
			if (sp.alt && (conv == 'x' || conv == 'X') && uv)
				prefix = conv == 'X' ? "0X" : "0x";
			else if (sp.alt && conv == 'o' && sp.prec <= n && (n == 0 || tmp[n - 1] != '0'))
				prefix = "0";
			for (i = 0; i < n; i++)
				body[i] = tmp[n - 1 - i];
			count += emit_field(out, ctx, &sp, prefix, body, n, true);
			break;
		}
		default:
			/* Unknown conversion: print it literally so the mistake shows. */
			out('%', ctx);
			out(conv, ctx);
			count += 2;
			break;
		}
	}
	return count;
}

struct sbuf {
	char *buf;
	size_t size, pos;
};

static void sbuf_out(char c, void *ctx)
{
	struct sbuf *sb = ctx;

	if (sb->size && sb->pos < sb->size - 1)
		sb->buf[sb->pos] = c;
	sb->pos++;
}

int tv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sbuf sb = { buf, size, 0 };
	int n = tv_vformat(sbuf_out, &sb, fmt, ap);

	if (size)
		buf[sb.pos < size ? sb.pos : size - 1] = '\0';
	return n;
}

int tv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
