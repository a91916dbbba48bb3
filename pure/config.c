/* The config parser: tscvisor.cfg text and command-line overrides into a
 * struct hv_config. Pure C (no libc, no allocation, no mutable globals): it is
 * linked into the freestanding hypervisor and into the host unit tests
 * (tests/test_config.c). The accepted language is described in docs/config.md.
 *
 * Every setter validates its value completely before writing anything, and
 * config_parse() works on a private copy, so a rejected input never leaves a
 * half-applied configuration behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <tscvisor/config.h>
#include <tscvisor/format.h>

/* Provided by the hypervisor (vmm/lib.c, gnu-efi's libefi) or the host libc. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memmove(void *dst, const void *src, size_t n);
size_t strlen(const char *s);

#define DEFAULT_MEMORY_MIB 64u

/* Some messages below spell these limits out; keep them in step. */
_Static_assert(CFG_MAX_VCPUS == 64, "update keys[K_VCPUS].expect");
_Static_assert(CFG_MIN_TSC_KHZ == 1000 && CFG_MAX_TSC_KHZ == 10000000,
	       "update the tsc_khz range message");
_Static_assert(CFG_MAX_SAVE_BUFFER_MIB == 4096, "update keys[K_SAVE_BUFFER].expect");
_Static_assert(CFG_KEY_MAX > 15 && CFG_NAME_MAX <= CFG_LINE_MAX, "limits");
#define SNIP_CHARS 20          /* longest value quoted whole in a message */
#define SNIP_MAX   (SNIP_CHARS + 3)

enum key_id {
	K_LOG_LEVEL,
	K_TSC_RELIABLE,
	K_DRY_RUN,
	K_SELFTEST,
	K_KERNEL,
	K_CMDLINE,
	K_RAMDISK,
	K_MEMORY,
	K_VCPUS,
	K_TSC_MODE,
	K_TSC_KHZ,
	K_TICK_POLICY,
	K_MIGRATE_MS,
	K_ON_SAVE,
	K_SAVE_AFTER_MS,
	K_SAVE_BUFFER,
	K_RESTORE,
	K_TEST_TSC_SKEW,
	K_TEST_SPURIOUS_PF,
	K_COUNT
};

struct key_info {
	const char *name;
	bool global;           /* before the first section, else inside one */
	const char *expect;    /* what a valid value looks like, for messages */
};

static const struct key_info keys[K_COUNT] = {
	[K_LOG_LEVEL]    = { "log_level", true, "one of error, warn, info, debug" },
	[K_TSC_RELIABLE] = { "tsc_reliable", true, "one of yes, no, true, false, 1, 0" },
	[K_DRY_RUN]      = { "dry_run", true, "one of yes, no, true, false, 1, 0" },
	[K_SELFTEST]     = { "selftest", true, "one of none, fault" },
	[K_KERNEL]       = { "kernel", false, "the guest kernel's file path, e.g. bzImage" },
	[K_CMDLINE]      = { "cmdline", false, "the guest's command line" },
	[K_RAMDISK]      = { "ramdisk", false,
			     "the initramfs file's path, e.g. initramfs.cpio.gz (bzImage kernels only)" },
	[K_MEMORY]       = { "memory", false,
			     "a size in MiB: an even whole number, optionally with suffix M or G (512, 2G)" },
	[K_VCPUS]        = { "vcpus", false, "a whole number 1..64" },
	[K_TSC_MODE]     = { "tsc_mode", false,
			     "one of auto, native, emulate, pvrdtscp "
			     "(or Xen's default, always_emulate, native_paravirt)" },
	[K_TICK_POLICY]  = { "tick_policy", false, "one of delay, catchup, merge, discard" },
	[K_ON_SAVE]      = { "on_save", false, "one of restore, continue, stop" },
	[K_SAVE_AFTER_MS] = { "save_after_ms", false,
			      "a whole number of ms 0..86400000 (0 = no operator save)" },
	[K_SAVE_BUFFER]  = { "save_buffer", false,
			     "a whole number of MiB 0..4096 (0 = the boot's shared 16 MiB snapshot budget)" },
	[K_RESTORE]      = { "restore", false, "a snapshot file's path (instead of a kernel)" },
	[K_MIGRATE_MS]   = { "migrate_ms", false,
			     "a whole number of ms 0..60000 (0 = vCPUs stay on their pCPU)" },
	[K_TEST_TSC_SKEW] = { "test_tsc_skew", true,
			      "CPU:CYCLES, e.g. 1:5000000 (pretend pCPU 1's TSC is 5000000 cycles ahead)" },
	[K_TEST_SPURIOUS_PF] = { "test_spurious_pf", false,
				 "a whole number 0..1000 (page faults each vCPU is made to see as if the "
				 "emulator had raised them; 0 = none)" },
	[K_TSC_KHZ]      = { "tsc_khz", false,
			     "a frequency: whole kHz (2500000) or MHz/GHz (2500MHz, 2.5GHz)" },
};

struct word {
	const char *name;
	int value;
};

static const struct word log_words[] = {
	{ "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO },
	{ "debug", LOG_DEBUG }, { NULL, 0 },
};

static const struct word bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
	{ NULL, 0 },
};

static const struct word selftest_words[] = {
	{ "none", SELFTEST_NONE }, { "fault", SELFTEST_FAULT }, { NULL, 0 },
};

static const struct word save_words[] = {
	{ "restore", ON_SAVE_RESTORE }, { "continue", ON_SAVE_CONTINUE }, { "stop", ON_SAVE_STOP },
	{ NULL, 0 },
};

static const struct word tick_words[] = {
	{ "delay", TICK_DELAY }, { "catchup", TICK_CATCHUP }, { "merge", TICK_MERGE },
	{ "discard", TICK_DISCARD }, { NULL, 0 },
};

static const struct word tsc_words[] = {
	{ "auto", TSC_MODE_AUTO }, { "native", TSC_MODE_NATIVE },
	{ "emulate", TSC_MODE_EMULATE }, { "pvrdtscp", TSC_MODE_PVRDTSCP },
	/* Xen's xl.cfg names for the same modes. */
	{ "default", TSC_MODE_AUTO }, { "always_emulate", TSC_MODE_EMULATE },
	{ "native_paravirt", TSC_MODE_PVRDTSCP }, { NULL, 0 },
};

/* One `key = value` after syntax analysis; val is unquoted and unescaped. */
struct assign {
	const char *key;
	size_t keylen;
	const char *val;
	size_t vallen;
};

struct parse_state {
	struct hv_config cfg;
	struct vm_config *vm;           /* current section, NULL before the first */
	unsigned global_seen[K_COUNT];  /* line where each key was set, 0 = not yet */
	unsigned vm_seen[K_COUNT];
	char valbuf[CFG_LINE_MAX + 1];
};

/* ---- small helpers ------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	       c == '_' || c == '-';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of the slice p[0..n) with a NUL-terminated word. */
static bool eq_nocase(const char *p, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!word[i] || lower(p[i]) != lower(word[i]))
			return false;
	return word[n] == '\0';
}

static bool eq_exact(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(p, word, n) == 0;
}

static int find_word(const struct word *w, const char *p, size_t n, int *out)
{
	for (; w->name; w++) {
		if (eq_nocase(p, n, w->name)) {
			*out = w->value;
			return 0;
		}
	}
	return -1;
}

static int find_key(const char *p, size_t n)
{
	int k;

	for (k = 0; k < K_COUNT; k++)
		if (eq_exact(p, n, keys[k].name))
			return k;
	return -1;
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_space(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

/* A user-supplied value, quoted and shortened for an error message. */
static const char *snip(char *buf, const char *p, size_t n)
{
	if (n <= SNIP_CHARS)
		tv_snprintf(buf, SNIP_MAX, "\"%.*s\"", (int)n, p);
	else
		tv_snprintf(buf, SNIP_MAX, "\"%.*s...\"", SNIP_CHARS - 4, p);
	return buf;
}

static int fail(struct cfg_error *err, unsigned line, const char *key, size_t keylen,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct cfg_error *err, unsigned line, const char *key, size_t keylen,
		const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->line = line;
	if (keylen > CFG_KEY_MAX - 1)
		keylen = CFG_KEY_MAX - 1;
	if (keylen)
		memcpy(err->key, key, keylen);
	va_start(ap, fmt);
	tv_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- numbers ------------------------------------------------------------ */

/* Decimal digits at p[0..n); the value saturates at UINT64_MAX. Returns the
 * number of digits read. */
static size_t scan_digits(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && is_digit(p[i]); i++) {
		unsigned d = (unsigned)(p[i] - '0');

		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return i;
}

static size_t skip_spaces(const char *p, size_t n, size_t i)
{
	while (i < n && is_space(p[i]))
		i++;
	return i;
}

enum num_result { NUM_OK, NUM_SYNTAX, NUM_RANGE, NUM_FRACTION, NUM_DECIMALS, NUM_ALIGN };

/* memory: digits, optional spaces, optional M/MB/MiB/G/GB/GiB (any case). */
static enum num_result parse_mib(const char *p, size_t n, uint32_t *out)
{
	uint64_t v;
	size_t i = scan_digits(p, n, &v);
	const char *suf;
	size_t sn;

	if (!i)
		return NUM_SYNTAX;
	i = skip_spaces(p, n, i);
	suf = p + i;
	sn = n - i;
	if (sn == 0 || eq_nocase(suf, sn, "M") || eq_nocase(suf, sn, "MB") ||
	    eq_nocase(suf, sn, "MiB"))
		;
	else if (eq_nocase(suf, sn, "G") || eq_nocase(suf, sn, "GB") || eq_nocase(suf, sn, "GiB"))
		v = v > UINT64_MAX / 1024 ? UINT64_MAX : v * 1024;
	else
		return NUM_SYNTAX;
	if (v < CFG_MIN_MEMORY_MIB || v > CFG_MAX_MEMORY_MIB)
		return NUM_RANGE;
	if (v % CFG_MEMORY_ALIGN_MIB)
		return NUM_ALIGN;
	*out = (uint32_t)v;
	return NUM_OK;
}

/* vcpus: digits only. */
static enum num_result parse_count(const char *p, size_t n, uint32_t lo, uint32_t hi,
				   uint32_t *out)
{
	uint64_t v;

	if (!n || scan_digits(p, n, &v) != n)
		return NUM_SYNTAX;
	if (v < lo || v > hi)
		return NUM_RANGE;
	*out = (uint32_t)v;
	return NUM_OK;
}

/* tsc_khz: digits [. digits] [spaces] [kHz|MHz|GHz] (any case); the result
 * must be a whole number of kHz; 0 means "the host's frequency". */
static enum num_result parse_khz(const char *p, size_t n, uint32_t *out)
{
	static const uint64_t pow10[] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	};
	uint64_t whole, frac = 0, scale, khz;
	size_t i = scan_digits(p, n, &whole), fd = 0;
	const char *suf;
	size_t sn;

	if (!i)
		return NUM_SYNTAX;
	if (i < n && p[i] == '.') {
		i++;
		fd = scan_digits(p + i, n - i, &frac);
		if (!fd)
			return NUM_SYNTAX;
		i += fd;
	}
	i = skip_spaces(p, n, i);
	suf = p + i;
	sn = n - i;
	if (sn == 0 || eq_nocase(suf, sn, "kHz"))
		scale = 1;
	else if (eq_nocase(suf, sn, "MHz"))
		scale = 1000;
	else if (eq_nocase(suf, sn, "GHz"))
		scale = 1000000;
	else
		return NUM_SYNTAX;
	if (fd >= sizeof(pow10) / sizeof(pow10[0]))
		return NUM_DECIMALS;
	/* scale >= 1, so a whole part above the maximum is out of range; below
	 * it nothing here can overflow (10^7 * 10^6, 10^9 * 10^6). */
	if (whole > CFG_MAX_TSC_KHZ)
		return NUM_RANGE;
	if (frac * scale % pow10[fd])
		return NUM_FRACTION;
	khz = whole * scale + frac * scale / pow10[fd];
	if (khz != 0 && (khz < CFG_MIN_TSC_KHZ || khz > CFG_MAX_TSC_KHZ))
		return NUM_RANGE;
	*out = (uint32_t)khz;
	return NUM_OK;
}

/* ---- values ------------------------------------------------------------- */

static int set_string(char *dst, size_t cap, const char *v, size_t n, const char *what,
		      char *msg)
{
	if (n > cap - 1) {
		tv_snprintf(msg, CFG_MSG_MAX, "%s is %zu bytes long; at most %zu allowed",
			    what, n, cap - 1);
		return -1;
	}
	memcpy(dst, v, n);
	memset(dst + n, 0, cap - n);
	return 0;
}

/* Write v[0..n) to key k of cfg (global keys) or vm (VM keys). Either the
 * value is valid and stored, or nothing changes and msg explains. */
static int apply(struct hv_config *cfg, struct vm_config *vm, int k, const char *v,
		 size_t n, char *msg)
{
	const char *expect = keys[k].expect;
	char q[SNIP_MAX];
	enum num_result r = NUM_OK;
	uint32_t u = 0;
	int w;

	if (n == 0 && k != K_CMDLINE) {
		tv_snprintf(msg, CFG_MSG_MAX, "empty value; expected %s", expect);
		return -1;
	}
	switch (k) {
	case K_LOG_LEVEL:
		if (find_word(log_words, v, n, &w))
			goto not_valid;
		cfg->log_level = (enum log_level)w;
		return 0;
	case K_TSC_RELIABLE:
		if (find_word(bool_words, v, n, &w))
			goto not_valid;
		cfg->tsc_reliable = w != 0;
		return 0;
	case K_DRY_RUN:
		if (find_word(bool_words, v, n, &w))
			goto not_valid;
		cfg->dry_run = w != 0;
		return 0;
	case K_SELFTEST:
		if (find_word(selftest_words, v, n, &w))
			goto not_valid;
		cfg->selftest = (enum selftest)w;
		return 0;
	case K_TSC_MODE:
		if (find_word(tsc_words, v, n, &w))
			goto not_valid;
		vm->tsc_mode = (enum tsc_mode)w;
		return 0;
	case K_KERNEL:
		return set_string(vm->kernel, sizeof(vm->kernel), v, n, "the path", msg);
	case K_CMDLINE:
		return set_string(vm->cmdline, sizeof(vm->cmdline), v, n, "the command line",
				  msg);
	case K_RAMDISK:
		return set_string(vm->ramdisk, sizeof(vm->ramdisk), v, n, "the path", msg);
	case K_MEMORY:
		r = parse_mib(v, n, &u);
		if (r == NUM_OK)
			vm->memory_mib = u;
		break;
	case K_VCPUS:
		r = parse_count(v, n, 1, CFG_MAX_VCPUS, &u);
		if (r == NUM_OK)
			vm->vcpus = u;
		break;
	case K_TSC_KHZ:
		r = parse_khz(v, n, &u);
		if (r == NUM_OK)
			vm->tsc_khz = u;
		break;
	case K_TICK_POLICY:
		if (find_word(tick_words, v, n, &w))
			goto not_valid;
		vm->tick_policy = (enum tick_policy)w;
		return 0;
	case K_RESTORE:
		return set_string(vm->restore, sizeof(vm->restore), v, n, "the path", msg);
	case K_ON_SAVE:
		if (find_word(save_words, v, n, &w))
			goto not_valid;
		vm->on_save = (enum on_save)w;
		return 0;
	case K_SAVE_AFTER_MS:
		r = parse_count(v, n, 0, 86400000, &u);
		if (r == NUM_OK)
			vm->save_after_ms = u;
		break;
	case K_SAVE_BUFFER:
		r = parse_count(v, n, 0, CFG_MAX_SAVE_BUFFER_MIB, &u);
		if (r == NUM_OK)
			vm->save_buffer_mib = u;
		break;
	case K_MIGRATE_MS:
		r = parse_count(v, n, 0, 60000, &u);
		if (r == NUM_OK)
			vm->migrate_ms = u;
		break;
	case K_TEST_SPURIOUS_PF:
		r = parse_count(v, n, 0, 1000, &u);
		if (r == NUM_OK)
			vm->test_spurious_pf = u;
		break;
	case K_TEST_TSC_SKEW: {
		/* CPU:CYCLES, both decimal; CYCLES may be negative. */
		size_t colon = 0;
		uint32_t cpu = 0;
		uint64_t cyc = 0;
		bool neg = false;
		size_t i;

		while (colon < n && v[colon] != ':')
			colon++;
		if (colon == 0 || colon >= n - 1)
			goto not_valid;
		for (i = 0; i < colon; i++) {
			if (v[i] < '0' || v[i] > '9' || cpu > 1000)
				goto not_valid;
			cpu = cpu * 10 + (uint32_t)(v[i] - '0');
		}
		i = colon + 1;
		if (v[i] == '-') {
			neg = true;
			i++;
		}
		if (i >= n)
			goto not_valid;
		for (; i < n; i++) {
			if (v[i] < '0' || v[i] > '9' || cyc > (1ull << 50))
				goto not_valid;
			cyc = cyc * 10 + (uint64_t)(v[i] - '0');
		}
		cfg->test_skew_cpu = cpu;
		cfg->test_skew_cycles = neg ? -(int64_t)cyc : (int64_t)cyc;
		return 0;
	}
	default:
		tv_snprintf(msg, CFG_MSG_MAX, "internal error: key %d", k);
		return -1;
	}

	switch (r) {
	case NUM_OK:
		return 0;
	case NUM_SYNTAX:
		goto not_valid;
	case NUM_FRACTION:
		tv_snprintf(msg, CFG_MSG_MAX, "%s is not a whole number of kHz", snip(q, v, n));
		return -1;
	case NUM_DECIMALS:
		tv_snprintf(msg, CFG_MSG_MAX, "%s has too many decimal places (at most 9)",
			    snip(q, v, n));
		return -1;
	case NUM_ALIGN:
		/* Nested page tables map guest RAM in 2 MiB pages. */
		tv_snprintf(msg, CFG_MSG_MAX, "%s is not allowed: memory must be a multiple of %u MiB",
			    snip(q, v, n), CFG_MEMORY_ALIGN_MIB);
		return -1;
	case NUM_RANGE:
	default:
		if (k == K_MEMORY)
			tv_snprintf(msg, CFG_MSG_MAX, "%s is out of range; allowed %u..%u MiB (%uM..%uG)",
				    snip(q, v, n), CFG_MIN_MEMORY_MIB, CFG_MAX_MEMORY_MIB,
				    CFG_MIN_MEMORY_MIB, CFG_MAX_MEMORY_MIB / 1024);
		else if (k == K_VCPUS)
			tv_snprintf(msg, CFG_MSG_MAX, "%s is out of range; allowed 1..%u",
				    snip(q, v, n), CFG_MAX_VCPUS);
		else if (k != K_TSC_KHZ)
			tv_snprintf(msg, CFG_MSG_MAX, "%s is out of range; expected %s",
				    snip(q, v, n), expect);
		else
			tv_snprintf(msg, CFG_MSG_MAX,
				    "%s is out of range; allowed %u..%u kHz (1 MHz..10 GHz), or 0 for the host's",
				    snip(q, v, n), CFG_MIN_TSC_KHZ, CFG_MAX_TSC_KHZ);
		return -1;
	}

not_valid:
	tv_snprintf(msg, CFG_MSG_MAX, "%s is not %s", snip(q, v, n), expect);
	return -1;
}

/* ---- syntax ------------------------------------------------------------- */

/* A VM name: 1..CFG_NAME_MAX-1 characters of [A-Za-z0-9_-]. */
static int check_name(const char *p, size_t n, char *msg)
{
	size_t i;

	if (!n) {
		tv_snprintf(msg, CFG_MSG_MAX, "empty VM name in '[]'");
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (is_name_char(p[i]))
			continue;
		if (c >= ' ' && c < 0x7f)
			tv_snprintf(msg, CFG_MSG_MAX,
				    "'%c' in a VM name; names use only letters, digits, '_' and '-'", c);
		else
			tv_snprintf(msg, CFG_MSG_MAX,
				    "byte 0x%02x in a VM name; names use only letters, digits, '_' and '-'", c);
		return -1;
	}
	if (n > CFG_NAME_MAX - 1) {
		tv_snprintf(msg, CFG_MSG_MAX, "VM name is %zu characters long; at most %d allowed",
			    n, CFG_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

static bool is_key_char(char c)
{
	return is_name_char(c) || c == '.';
}

/* Split the trimmed, non-empty text p[0..n) into key and value. The key is a
 * run of [A-Za-z0-9_.-] (validated by the caller); the value is bare (ends at
 * a '#' that follows a blank, trailing blanks dropped) or double-quoted (with
 * \" and \\ escapes; a comment may follow). The unescaped value goes to buf,
 * which has room for n bytes. */
static int split_assignment(const char *p, size_t n, char *buf, struct assign *a,
			    unsigned line, struct cfg_error *err)
{
	size_t i = 0, k, o = 0;

	while (i < n && is_key_char(p[i]))
		i++;
	a->key = p;
	a->keylen = i;
	i = skip_spaces(p, n, i);
	if (i == n || p[i] != '=') {
		for (k = i; k < n && p[k] != '='; k++)
			;
		if (k < n) {
			char q[SNIP_MAX];
			size_t kn = k;

			while (kn && is_space(p[kn - 1]))
				kn--;
			return fail(err, line, "", 0,
				    "%s is not a key; keys use only letters, digits and '_'",
				    snip(q, p, kn));
		}
		return fail(err, line, "", 0,
			    "expected 'key = value', a '[NAME]' section header or a '# comment'");
	}
	if (a->keylen == 0)
		return fail(err, line, "", 0, "missing key before '='");
	i = skip_spaces(p, n, i + 1);

	if (i < n && p[i] == '"') {
		for (i++;; i++) {
			if (i == n)
				return fail(err, line, a->key, a->keylen,
					    "unterminated quoted value: no closing '\"'");
			if (p[i] == '\\' && i + 1 < n && (p[i + 1] == '"' || p[i + 1] == '\\'))
				i++;
			else if (p[i] == '"')
				break;
			buf[o++] = p[i];
		}
		i = skip_spaces(p, n, i + 1);
		if (i < n && p[i] != '#')
			return fail(err, line, a->key, a->keylen,
				    "text after the closing quote; quote the whole value, or start a comment with '#'");
	} else {
		size_t start = i;

		for (; i < n; i++) {
			if (p[i] == '#' && (i == start || is_space(p[i - 1])))
				break;
			if (p[i] == '"')
				return fail(err, line, a->key, a->keylen,
					    "'\"' inside an unquoted value; quote the whole value and write \\\" for a quote");
		}
		while (i > start && is_space(p[i - 1]))
			i--;
		o = i - start;
		memcpy(buf, p + start, o);
	}
	for (k = 0; k < o; k++) {
		unsigned char c = (unsigned char)buf[k];

		if (c < 0x20 || c >= 0x7f)
			return fail(err, line, a->key, a->keylen,
				    "byte 0x%02x in the value; values are printable ASCII", c);
	}
	buf[o] = '\0';
	a->val = buf;
	a->vallen = o;
	return 0;
}

static int section_header(struct parse_state *st, const char *p, size_t n, unsigned line,
			  struct cfg_error *err)
{
	struct hv_config *cfg = &st->cfg;
	struct vm_config *vm;
	char msg[CFG_MSG_MAX];
	const char *name;
	size_t i, nn;
	unsigned v;

	for (i = 1; i < n && p[i] != ']'; i++)
		;
	if (i == n)
		return fail(err, line, "", 0, "section header has no closing ']'");
	name = p + 1;
	nn = i - 1;
	trim(&name, &nn);
	i = skip_spaces(p, n, i + 1);
	if (i < n && p[i] != '#')
		return fail(err, line, "", 0, "text after the section header's ']'");
	if (check_name(name, nn, msg))
		return fail(err, line, "", 0, "%s", msg);
	for (v = 0; v < cfg->nvms; v++)
		if (eq_exact(name, nn, cfg->vms[v].name))
			return fail(err, line, "", 0, "VM name '%.*s' already used on line %u",
				    (int)nn, name, cfg->vms[v].line);
	if (cfg->nvms >= CFG_MAX_VMS)
		return fail(err, line, "", 0, "too many VMs; at most %d [NAME] sections allowed",
			    CFG_MAX_VMS);

	vm = &cfg->vms[cfg->nvms++];
	memset(vm, 0, sizeof(*vm));
	memcpy(vm->name, name, nn);
	vm->memory_mib = DEFAULT_MEMORY_MIB;
	vm->vcpus = 1;
	vm->tsc_mode = TSC_MODE_AUTO;
	vm->tsc_khz = 0;
	vm->line = line;
	st->vm = vm;
	memset(st->vm_seen, 0, sizeof(st->vm_seen));
	return 0;
}

static bool has_dot(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '.')
			return true;
	return false;
}

static int key_line(struct parse_state *st, const char *p, size_t n, unsigned line,
		    struct cfg_error *err)
{
	char msg[CFG_MSG_MAX];
	struct assign a;
	unsigned *seen;
	int k;

	if (split_assignment(p, n, st->valbuf, &a, line, err))
		return -1;
	if (has_dot(a.key, a.keylen))
		return fail(err, line, a.key, a.keylen,
			    "'VM.key' is for command-line overrides; in the file, put the key in the VM's section");
	k = find_key(a.key, a.keylen);
	if (k < 0 && st->vm)
		return fail(err, line, a.key, a.keylen,
			    "unknown key; VM keys are kernel, cmdline, ramdisk, memory, vcpus, tsc_mode, tsc_khz, tick_policy, migrate_ms, on_save, save_after_ms, save_buffer, restore, test_spurious_pf");
	if (k < 0)
		return fail(err, line, a.key, a.keylen,
			    "unknown key; global keys are log_level, tsc_reliable, dry_run, selftest, test_tsc_skew (VM keys go in a [NAME] section)");
	if (keys[k].global && st->vm)
		return fail(err, line, a.key, a.keylen,
			    "global key inside section [%s]; move it above the first section",
			    st->vm->name);
	if (!keys[k].global && !st->vm)
		return fail(err, line, a.key, a.keylen,
			    "VM key before any section; put it after a [NAME] section header");
	seen = st->vm ? st->vm_seen : st->global_seen;
	if (seen[k])
		return fail(err, line, a.key, a.keylen,
			    "already set on line %u; each key may appear once per section", seen[k]);
	if (apply(&st->cfg, st->vm, k, a.val, a.vallen, msg))
		return fail(err, line, a.key, a.keylen, "%s", msg);
	seen[k] = line;
	if (k == K_KERNEL)
		st->vm->kernel_line = line;
	if (k == K_RAMDISK)
		st->vm->ramdisk_line = line;
	if (k == K_SAVE_BUFFER)
		st->vm->save_buffer_line = line;
	return 0;
}

/* ---- public interface --------------------------------------------------- */

void config_defaults(struct hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_INFO;
	cfg->tsc_reliable = false;
	cfg->nvms = 0;
}

int config_parse(const char *text, size_t len, struct hv_config *cfg, struct cfg_error *err)
{
	struct parse_state st;
	struct cfg_error dummy;
	size_t pos = 0;
	unsigned line = 0;

	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (!text)
		len = 0;
	memset(&st, 0, sizeof(st));
	config_defaults(&st.cfg);

	/* A UTF-8 byte-order mark, as some Windows editors write. */
	if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
	    (unsigned char)text[2] == 0xbf)
		pos = 3;

	while (pos < len) {
		const char *p = text + pos;
		size_t n = 0, i;

		line++;
		while (pos + n < len && p[n] != '\n')
			n++;
		pos += n + (pos + n < len);
		if (n && p[n - 1] == '\r')
			n--;
		if (n > CFG_LINE_MAX)
			return fail(err, line, "", 0, "line is %zu bytes long; at most %d allowed",
				    n, CFG_LINE_MAX);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == 0)
				return fail(err, line, "", 0,
					    "NUL byte in the line; is this a text file?");
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(err, line, "", 0,
					    "control character 0x%02x; only text, tabs and LF or CRLF line ends are allowed",
					    c);
		}
		trim(&p, &n);
		if (n == 0 || p[0] == '#')
			continue;
		if (p[0] == '[') {
			if (section_header(&st, p, n, line, err))
				return -1;
		} else if (key_line(&st, p, n, line, err)) {
			return -1;
		}
	}
	memcpy(cfg, &st.cfg, sizeof(*cfg));
	return 0;
}

int config_override(struct hv_config *cfg, const char *assignment, struct cfg_error *err)
{
	char buf[CFG_LINE_MAX + 1], msg[CFG_MSG_MAX];
	struct cfg_error dummy;
	struct vm_config *vm = NULL;
	struct assign a;
	const char *p = assignment, *key;
	size_t n, keylen, i;
	int k;

	if (!err)
		err = &dummy;
	if (!p)
		return fail(err, 0, "", 0, "no override given");
	n = strlen(p);
	if (n > CFG_LINE_MAX)
		return fail(err, 0, "", 0, "override is %zu bytes long; at most %d allowed",
			    n, CFG_LINE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(err, 0, "", 0, "control character 0x%02x in the override", c);
	}
	trim(&p, &n);
	if (!n)
		return fail(err, 0, "", 0, "empty override; expected key=value or VM.key=value");
	if (split_assignment(p, n, buf, &a, 0, err)) {
		/* Report the key without its "VM." part, as for the other errors. */
		char *dot = err->key;

		while (*dot && *dot != '.')
			dot++;
		if (*dot)
			memmove(err->key, dot + 1, strlen(dot + 1) + 1);
		return -1;
	}

	key = a.key;
	keylen = a.keylen;
	for (i = 0; i < a.keylen; i++) {
		if (a.key[i] == '.') {
			key = a.key + i + 1;
			keylen = a.keylen - i - 1;
			break;
		}
	}
	if (key != a.key) {
		size_t nn = i;
		unsigned v;

		if (!nn)
			return fail(err, 0, key, keylen, "missing VM name before '.'");
		if (!keylen)
			return fail(err, 0, "", 0, "missing key after '%.*s.'", (int)nn, a.key);
		for (v = 0; v < cfg->nvms && v < CFG_MAX_VMS; v++)
			if (eq_exact(a.key, nn, cfg->vms[v].name))
				vm = &cfg->vms[v];
		if (!vm) {
			char q[SNIP_MAX];

			return fail(err, 0, key, keylen, "no VM named %s in the config",
				    snip(q, a.key, nn));
		}
	}
	k = find_key(key, keylen);
	if (k < 0 && vm)
		return fail(err, 0, key, keylen,
			    "unknown key; VM keys are kernel, cmdline, ramdisk, memory, vcpus, tsc_mode, tsc_khz, tick_policy, migrate_ms, on_save, save_after_ms, save_buffer, restore, test_spurious_pf");
	if (k < 0)
		return fail(err, 0, key, keylen,
			    "unknown key; global keys are log_level, tsc_reliable, dry_run, selftest, test_tsc_skew; VM keys take a VM name: VM.key=value");
	if (keys[k].global && vm)
		return fail(err, 0, key, keylen,
			    "'%s' is a global key; write it without a VM name: %s=value",
			    keys[k].name, keys[k].name);
	if (!keys[k].global && !vm)
		return fail(err, 0, key, keylen,
			    "'%s' is a VM key; say which VM: VMNAME.%s=value", keys[k].name,
			    keys[k].name);
	if (apply(cfg, vm, k, a.val, a.vallen, msg))
		return fail(err, 0, key, keylen, "%s", msg);
	if (k == K_KERNEL)
		vm->kernel_line = 0;
	if (k == K_RAMDISK)
		vm->ramdisk_line = 0;
	if (k == K_SAVE_BUFFER)
		vm->save_buffer_line = 0;
	memset(err, 0, sizeof(*err));
	return 0;
}

int config_validate(const struct hv_config *cfg, struct cfg_error *err)
{
	struct cfg_error dummy;
	unsigned v;

	if (!err)
		err = &dummy;
	if (cfg->nvms == 0)
		return fail(err, 0, "", 0, "no VM defined; add a [NAME] section with 'kernel = FILE'");
	if (cfg->nvms > CFG_MAX_VMS)
		return fail(err, 0, "", 0, "%u VMs; at most %d allowed", cfg->nvms, CFG_MAX_VMS);
	for (v = 0; v < cfg->nvms; v++) {
		const struct vm_config *vm = &cfg->vms[v];

		if (vm->restore[0] && vm->kernel[0])
			return fail(err, vm->line, "restore", 7,
				    "VM '%.*s' has both a kernel and a snapshot to restore; keep one",
				    (int)sizeof(vm->name), vm->name);
		if (vm->restore[0] && vm->ramdisk[0])
			return fail(err, vm->line, "ramdisk", 7,
				    "VM '%.*s' has a snapshot to restore and a ramdisk; a restored VM's "
				    "RAM holds its initramfs already: remove 'ramdisk'",
				    CFG_NAME_MAX - 1, vm->name);
		if (vm->save_buffer_mib && vm->on_save == ON_SAVE_STOP)
			return fail(err, vm->save_buffer_line ? vm->save_buffer_line : vm->line,
				    "save_buffer", 11,
				    "VM '%.*s' has on_save = stop, whose snapshot goes out as it is "
				    "encoded, without a buffer: remove 'save_buffer'",
				    CFG_NAME_MAX - 1, vm->name);
		if (!vm->kernel[0] && !vm->restore[0])
			return fail(err, vm->line, "kernel", 6,
				    "VM '%.*s' has no kernel; add 'kernel = FILE' to its section",
				    CFG_NAME_MAX - 1, vm->name);
	}
	memset(err, 0, sizeof(*err));
	return 0;
}

const char *tsc_mode_name(enum tsc_mode mode)
{
	switch (mode) {
	case TSC_MODE_AUTO: return "auto";
	case TSC_MODE_NATIVE: return "native";
	case TSC_MODE_EMULATE: return "emulate";
	case TSC_MODE_PVRDTSCP: return "pvrdtscp";
	}
	return "?";
}

int tsc_mode_parse(const char *s, enum tsc_mode *out)
{
	int w;

	if (!s || find_word(tsc_words, s, strlen(s), &w))
		return -1;
	*out = (enum tsc_mode)w;
	return 0;
}

const char *log_level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_ERROR: return "error";
	case LOG_WARN: return "warn";
	case LOG_INFO: return "info";
	case LOG_DEBUG: return "debug";
	}
	return "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
	int w;

	if (!s || find_word(log_words, s, strlen(s), &w))
		return -1;
	*out = (enum log_level)w;
	return 0;
}
