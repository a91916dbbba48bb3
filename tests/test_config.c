/* Host tests of pure/config.c: the config language, every rejection with its
 * line and key, the "untouched on error" guarantee, overrides, validation,
 * and a deterministic mini-fuzz. */
#include "harness.h"
#include <tscvisor/config.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- helpers ------------------------------------------------------------ */

/* A config filled with a byte pattern, to see whether a failed call wrote. */
static void poison(struct hv_config *cfg)
{
	memset(cfg, 0xa5, sizeof(*cfg));
}

static bool untouched(const struct hv_config *cfg)
{
	struct hv_config ref;

	poison(&ref);
	return memcmp(cfg, &ref, sizeof(ref)) == 0;
}

/* Parse exactly len bytes from a heap copy (so ASan sees any over-read). */
static int parse_n(const char *text, size_t len, struct hv_config *cfg, struct cfg_error *err)
{
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, text, len);
	r = config_parse(copy, len, cfg, err);
	free(copy);
	return r;
}

static int parse(const char *text, struct hv_config *cfg, struct cfg_error *err)
{
	return parse_n(text, strlen(text), cfg, err);
}

/* Expect text (a string literal; may hold NUL bytes) to be rejected on line
 * `line` for key `key`, with `sub` somewhere in the message. */
#define REJECT(text, line, key, sub) \
	reject(__LINE__, text, sizeof(text) - 1, line, key, sub)

static void reject(int at, const char *text, size_t len, unsigned line, const char *key,
		   const char *sub)
{
	struct hv_config cfg;
	struct cfg_error err;
	int r;

	poison(&cfg);
	memset(&err, 0x5a, sizeof(err));
	r = parse_n(text, len, &cfg, &err);
	th_check(r == -1, "rejected", __FILE__, at);
	th_check(untouched(&cfg), "cfg untouched on error", __FILE__, at);
	if (!th_check(err.line == line, "error line", __FILE__, at))
		printf("#   got line %u, want %u\n", err.line, line);
	if (!th_check(memchr(err.key, 0, sizeof(err.key)) && !strcmp(err.key, key),
		      "error key", __FILE__, at))
		printf("#   got key \"%.*s\", want \"%s\"\n", (int)sizeof(err.key), err.key, key);
	if (!th_check(memchr(err.msg, 0, sizeof(err.msg)) && strstr(err.msg, sub) &&
		      strlen(err.msg) < sizeof(err.msg) - 1,
		      "error message", __FILE__, at))
		printf("#   got msg \"%.*s\", want it to contain \"%s\"\n",
		       (int)sizeof(err.msg), err.msg, sub);
}

/* Parse a one-VM file `[vm]\n<body>` and return 0/-1. */
static int parse_vm(const char *body, struct hv_config *cfg, struct cfg_error *err)
{
	char text[2048];

	snprintf(text, sizeof(text), "[vm]\nkernel = k\n%s\n", body);
	return parse(text, cfg, err);
}

#define VM_OK(body) do { \
	if (!th_check(parse_vm(body, &cfg, &err) == 0, "accepts: " body, __FILE__, __LINE__)) \
		printf("#   line %u key '%s': %s\n", err.line, err.key, err.msg); \
} while (0)

#define VM_BAD(body, want_key, sub) do { \
	struct hv_config th_c; \
	poison(&th_c); \
	th_check(parse_vm(body, &th_c, &err) == -1, "rejects: " body, __FILE__, __LINE__); \
	th_check(untouched(&th_c), "untouched: " body, __FILE__, __LINE__); \
	CHECK_EQ_U64(err.line, 3); \
	CHECK_STR(err.key, want_key); \
	if (!th_check(strstr(err.msg, sub) != NULL, "message of: " body, __FILE__, __LINE__)) \
		printf("#   msg \"%s\", want \"%s\"\n", err.msg, sub); \
} while (0)

/* ---- a full file -------------------------------------------------------- */

static const char full_file[] =
	"# tscvisor test config\r\n"
	"\r\n"
	"log_level = debug   # chatty\r\n"
	"\ttsc_reliable=yes\r\n"
	"\r\n"
	"[linux-1]   # the first guest\r\n"
	"kernel = \"guests/bzImage\"\r\n"
	"cmdline = \"console=ttyS0 say=\\\"hi\\\" path=C:\\\\x # not a comment\"\r\n"
	"memory = 2G\r\n"
	"vcpus = 4\r\n"
	"tsc_mode = native_paravirt\r\n"
	"tsc_khz = 2.5GHz  # fixed frequency\r\n"
	"\r\n"
	"[ second_vm ]\r\n"
	"  kernel=\\EFI\\tscvisor\\tiny.elf\r\n"
	"cmdline = quiet loglevel=0 a#b # trailing comment\r\n"
	"memory = 128\r\n"
	"tsc_mode = emulate\r\n"
	"tsc_khz = 1000000\r\n"
	"# end\r\n";

static void test_full_file(void)
{
	struct hv_config cfg;
	struct cfg_error err;
	const struct vm_config *a = &cfg.vms[0], *b = &cfg.vms[1];

	poison(&cfg);
	if (!CHECK(parse(full_file, &cfg, &err) == 0))
		printf("#   line %u key '%s': %s\n", err.line, err.key, err.msg);
	CHECK_EQ_U64(cfg.log_level, LOG_DEBUG);
	CHECK(cfg.tsc_reliable);
	CHECK_EQ_U64(cfg.nvms, 2);

	CHECK_STR(a->name, "linux-1");
	CHECK_STR(a->kernel, "guests/bzImage");
	CHECK_STR(a->cmdline, "console=ttyS0 say=\"hi\" path=C:\\x # not a comment");
	CHECK_EQ_U64(a->memory_mib, 2048);
	CHECK_EQ_U64(a->vcpus, 4);
	CHECK_EQ_U64(a->tsc_mode, TSC_MODE_PVRDTSCP);
	CHECK_EQ_U64(a->tsc_khz, 2500000);
	CHECK_EQ_U64(a->line, 6);
	CHECK_EQ_U64(a->kernel_line, 7);

	CHECK_STR(b->name, "second_vm");
	CHECK_STR(b->kernel, "\\EFI\\tscvisor\\tiny.elf");
	CHECK_STR(b->cmdline, "quiet loglevel=0 a#b");
	CHECK_EQ_U64(b->memory_mib, 128);
	CHECK_EQ_U64(b->vcpus, 1);                  /* default */
	CHECK_EQ_U64(b->tsc_mode, TSC_MODE_EMULATE);
	CHECK_EQ_U64(b->tsc_khz, 1000000);
	CHECK_EQ_U64(b->line, 14);
	CHECK_EQ_U64(b->kernel_line, 15);
	CHECK(config_validate(&cfg, &err) == 0);

	/* The same file with LF line ends and without a final newline. */
	{
		char lf[sizeof(full_file)];
		struct hv_config cfg2;
		size_t i, o = 0;

		for (i = 0; full_file[i]; i++)
			if (full_file[i] != '\r')
				lf[o++] = full_file[i];
		lf[--o] = 0;
		CHECK(parse(lf, &cfg2, &err) == 0);
		CHECK(memcmp(&cfg, &cfg2, sizeof(cfg)) == 0);
	}
}

static void test_defaults(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	poison(&cfg);
	config_defaults(&cfg);
	CHECK_EQ_U64(cfg.log_level, LOG_INFO);
	CHECK(!cfg.tsc_reliable);
	CHECK_EQ_U64(cfg.nvms, 0);

	/* Parsing replaces the old contents with defaults + the file. */
	poison(&cfg);
	CHECK(parse("", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.nvms, 0);
	CHECK_EQ_U64(cfg.log_level, LOG_INFO);
	CHECK(config_parse(NULL, 0, &cfg, &err) == 0);
	CHECK(parse("\n\n  \t\n# only comments\n", &cfg, &err) == 0);

	CHECK(parse("[v]\nkernel=k\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].memory_mib, 64);
	CHECK_EQ_U64(cfg.vms[0].vcpus, 1);
	CHECK_EQ_U64(cfg.vms[0].tsc_mode, TSC_MODE_AUTO);
	CHECK_EQ_U64(cfg.vms[0].tsc_khz, 0);
	CHECK_STR(cfg.vms[0].cmdline, "");
	CHECK_EQ_U64(cfg.vms[0].kernel_line, 2);

	/* A UTF-8 byte-order mark is skipped; non-ASCII in comments is fine. */
	CHECK(parse("\xef\xbb\xbf[v]  # caf\xc3\xa9\nkernel=k\n", &cfg, &err) == 0);
	CHECK_STR(cfg.vms[0].name, "v");

	/* err may be NULL. */
	CHECK(config_parse("x", 1, &cfg, NULL) == -1);
}

static void test_values(void)
{
	struct hv_config cfg;
	struct cfg_error err;
	static const struct { const char *text; enum tsc_mode mode; } modes[] = {
		{ "auto", TSC_MODE_AUTO }, { "native", TSC_MODE_NATIVE },
		{ "emulate", TSC_MODE_EMULATE }, { "pvrdtscp", TSC_MODE_PVRDTSCP },
		{ "default", TSC_MODE_AUTO }, { "always_emulate", TSC_MODE_EMULATE },
		{ "native_paravirt", TSC_MODE_PVRDTSCP }, { "\"Native\"", TSC_MODE_NATIVE },
		{ "ALWAYS_EMULATE", TSC_MODE_EMULATE },
	};
	static const struct { const char *text; uint32_t mib; } mems[] = {
		{ "2", 2 }, { "512", 512 }, { "512M", 512 }, { "512 MiB", 512 }, { "512mb", 512 },
		{ "2G", 2048 }, { "2 g", 2048 }, { "3GiB", 3072 }, { "1GB", 1024 },
		{ "3G", 3072 }, { "3072", 3072 }, { "\"256\"", 256 }, { "0064", 64 },
		{ "3070", 3070 }, { "18", 18 }, { "1G", 1024 }, { "2M", 2 },
		/* Past 3 GiB: the rest of RAM goes above 4 GiB (docs/platform.md). */
		{ "3074", 3074 }, { "3584", 3584 }, { "4G", 4096 }, { "64G", 65536 },
		{ "65536", 65536 }, { "65534 MiB", 65534 },
	};
	static const struct { const char *text; uint32_t khz; } freqs[] = {
		{ "0", 0 }, { "1000", 1000 }, { "2500000", 2500000 }, { "2500000kHz", 2500000 },
		{ "2500MHz", 2500000 }, { "2.5GHz", 2500000 }, { "2.5 GHz", 2500000 },
		{ "1.000001ghz", 1000001 }, { "3.579MHz", 3579 }, { "0.0GHz", 0 },
		{ "10GHz", 10000000 }, { "1MHz", 1000 }, { "1000.000kHz", 1000 },
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(text, sizeof(text), "tsc_mode = %s", modes[i].text);
		if (!CHECK(parse_vm(text, &cfg, &err) == 0))
			printf("#   %s: %s\n", text, err.msg);
		CHECK_EQ_U64(cfg.vms[0].tsc_mode, modes[i].mode);
	}
	CHECK(parse_vm("test_spurious_pf = 3", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].test_spurious_pf, 3);
	CHECK(parse_vm("test_spurious_pf = 1000", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].test_spurious_pf, 1000);
	CHECK(parse_vm("vcpus = 2", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].test_spurious_pf, 0);
	for (i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		snprintf(text, sizeof(text), "memory = %s", mems[i].text);
		if (!CHECK(parse_vm(text, &cfg, &err) == 0))
			printf("#   %s: %s\n", text, err.msg);
		CHECK_EQ_U64(cfg.vms[0].memory_mib, mems[i].mib);
	}
	for (i = 0; i < sizeof(freqs) / sizeof(freqs[0]); i++) {
		snprintf(text, sizeof(text), "tsc_khz = %s", freqs[i].text);
		if (!CHECK(parse_vm(text, &cfg, &err) == 0))
			printf("#   %s: %s\n", text, err.msg);
		CHECK_EQ_U64(cfg.vms[0].tsc_khz, freqs[i].khz);
	}
	VM_OK("vcpus = 64");
	CHECK_EQ_U64(cfg.vms[0].vcpus, 64);
	VM_OK("vcpus = 1");
	VM_OK("cmdline =");
	CHECK_STR(cfg.vms[0].cmdline, "");
	VM_OK("cmdline = \"\"");
	VM_OK("cmdline = \"a\\b\\\\c\\\"d\"");         /* \b is not an escape */
	CHECK_STR(cfg.vms[0].cmdline, "a\\b\\c\"d");
	VM_OK("cmdline=\"x\"# comment right after");
	CHECK_STR(cfg.vms[0].cmdline, "x");
	VM_OK("cmdline = #nothing");
	CHECK_STR(cfg.vms[0].cmdline, "");

	const char *bools[] = { "yes", "no", "true", "false", "1", "0", "YES", "False" };
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "tsc_reliable = %s\n", bools[i]);
		CHECK(parse(text, &cfg, &err) == 0);
		CHECK_EQ_U64(cfg.tsc_reliable, i % 2 == 0);
	}
	const char *levels[] = { "error", "warn", "info", "debug" };
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", levels[i]);
		CHECK(parse(text, &cfg, &err) == 0);
		CHECK_EQ_U64(cfg.log_level, i);
	}

	/* Longest names and strings that fit. */
	memset(text, 0, sizeof(text));
	strcpy(text, "[");
	memset(text + 1, 'n', CFG_NAME_MAX - 1);
	strcat(text, "]\nkernel = ");
	memset(text + strlen(text), 'k', CFG_PATH_MAX - 1);
	strcat(text, "\n");
	CHECK(parse(text, &cfg, &err) == 0);
	CHECK_EQ_U64(strlen(cfg.vms[0].name), CFG_NAME_MAX - 1);
	CHECK_EQ_U64(strlen(cfg.vms[0].kernel), CFG_PATH_MAX - 1);
	memset(text, 0, sizeof(text));
	strcpy(text, "cmdline = \"");
	memset(text + strlen(text), 'c', CFG_CMDLINE_MAX - 1);
	strcat(text, "\"");
	CHECK(parse_vm(text, &cfg, &err) == 0);
	CHECK_EQ_U64(strlen(cfg.vms[0].cmdline), CFG_CMDLINE_MAX - 1);

	/* Eight VMs are fine. */
	CHECK(parse("[a]\n[b]\n[c]\n[d]\n[e]\n[f]\n[g]\n[h]\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.nvms, 8);
	CHECK_STR(cfg.vms[7].name, "h");
	CHECK_EQ_U64(cfg.vms[7].line, 8);

	/* The same key in two sections is fine; names are case-sensitive. */
	CHECK(parse("[a]\nvcpus=2\n[A]\nvcpus=3\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].vcpus, 2);
	CHECK_EQ_U64(cfg.vms[1].vcpus, 3);

	/* A line of exactly CFG_LINE_MAX bytes (plus CRLF) is fine. */
	{
		char line[CFG_LINE_MAX + 3];

		memset(line, ' ', CFG_LINE_MAX);
		line[0] = '#';
		memcpy(line + CFG_LINE_MAX, "\r\n", 3);
		CHECK(parse(line, &cfg, &err) == 0);
	}
}

/* ---- rejections --------------------------------------------------------- */

static void test_rejections(void)
{
	struct cfg_error err;
	char text[2048];

	/* The example of the brief, word for word. */
	REJECT("[vm]\nkernel=k\ntsc_mode = fast\n", 3, "tsc_mode",
	       "\"fast\" is not one of auto, native, emulate, pvrdtscp "
	       "(or Xen's default, always_emulate, native_paravirt)");

	/* Keys. */
	REJECT("log_level = info\nfoo = 1\n", 2, "foo", "unknown key; global keys are log_level");
	REJECT("[vm]\nkernel = k\n\nMemory = 5\n", 4, "Memory", "unknown key; VM keys are kernel");
	REJECT("log_level = info\nlog_level = warn\n", 2, "log_level", "already set on line 1");
	REJECT("[a]\nkernel = x\n[b]\nkernel = y\n# c\nkernel = z\n", 6, "kernel",
	       "already set on line 4");
	REJECT("[a]\nlog_level = info\n", 2, "log_level", "global key inside section [a]");
	REJECT("tsc_reliable = 1\nmemory = 5\n", 2, "memory", "VM key before any section");
	REJECT("[a]\na.memory = 5\n", 2, "a.memory", "command-line overrides");
	REJECT("[a]\nkernel_with_a_really_long_name_of_40_chars = 1\n", 2,
	       "kernel_with_a_really_long_name_", "unknown key");

	REJECT("[a]\nkernel = k\ntest_spurious_pf = 1001\n", 3, "test_spurious_pf", "0..1000");
	REJECT("[a]\ntest_spurious_pf = -1\n", 2, "test_spurious_pf", "0..1000");

	/* Lines that are neither comment, section nor key = value. */
	REJECT("\n\nhello\n", 3, "", "expected 'key = value'");
	REJECT("memory: 5\n", 1, "", "expected 'key = value', a '[NAME]' section header or a '# comment'");
	REJECT("mem:ory = 5\n", 1, "", "\"mem:ory\" is not a key; keys use only letters, digits and '_'");
	REJECT("mem ory = 5\n", 1, "", "\"mem ory\" is not a key");
	REJECT("= 5\n", 1, "", "missing key before '='");
	REJECT("[a]\n  \"kernel\" = x\n", 2, "", "is not a key");

	/* Values. */
	REJECT("[a]\nkernel = \"abc\n", 2, "kernel", "unterminated quoted value");
	REJECT("[a]\nkernel = \"abc\\\"\n", 2, "kernel", "unterminated");
	REJECT("[a]\nkernel = \"abc\" def\n", 2, "kernel", "text after the closing quote");
	REJECT("[a]\ncmdline = say \"hi\"\n", 2, "cmdline", "inside an unquoted value");
	REJECT("[a]\nkernel =\n", 2, "kernel", "empty value");
	REJECT("[a]\nkernel = \"\"\n", 2, "kernel", "empty value");
	REJECT("[a]\nkernel = # none\n", 2, "kernel", "empty value");
	REJECT("log_level =\n", 1, "log_level", "empty value; expected one of error, warn");
	REJECT("log_level = verbose\n", 1, "log_level",
	       "\"verbose\" is not one of error, warn, info, debug");
	REJECT("[a]\ntsc_mode = averyveryverylongmodename_xyz\n", 2, "tsc_mode",
	       "\"averyveryverylon...\" is not one of auto, native, emulate, pvrdtscp "
	       "(or Xen's default, always_emulate, native_paravirt)");
	REJECT("tsc_reliable = maybe\n", 1, "tsc_reliable", "\"maybe\" is not one of yes, no");
	REJECT("[a]\ncmdline = caf\xc3\xa9\n", 2, "cmdline", "byte 0xc3 in the value");
	REJECT("[a]\ncmdline = \"a\tb\"\n", 2, "cmdline", "byte 0x09 in the value");

	/* Values that do not fit. */
	snprintf(text, sizeof(text), "[a]\nkernel = %0*d\n", CFG_PATH_MAX, 0);
	reject(__LINE__, text, strlen(text), 2, "kernel", "the path is 128 bytes long; at most 127");
	snprintf(text, sizeof(text), "[a]\ncmdline = \"%0*d\"\n", CFG_CMDLINE_MAX, 0);
	reject(__LINE__, text, strlen(text), 2, "cmdline",
	       "the command line is 256 bytes long; at most 255");

	/* Numbers. */
	VM_BAD("memory = 12x", "memory", "\"12x\" is not a size in MiB");
	VM_BAD("memory = 0x40", "memory", "is not a size");
	VM_BAD("memory = -5", "memory", "is not a size");
	VM_BAD("memory = +5", "memory", "is not a size");
	VM_BAD("memory = 5 5", "memory", "is not a size");
	VM_BAD("memory = 1.5G", "memory", "is not a size");
	VM_BAD("memory = 5T", "memory", "is not a size");
	VM_BAD("memory = M", "memory", "is not a size");
	VM_BAD("memory = 1", "memory", "\"1\" is out of range; allowed 2..65536 MiB (2M..64G)");
	VM_BAD("memory = 0", "memory", "out of range");
	VM_BAD("memory = 65537", "memory", "out of range");
	VM_BAD("memory = 65G", "memory", "out of range");
	/* 64 GiB at most (config.h: a bound on what one VM takes of the host). */
	VM_BAD("memory = 65538", "memory", "\"65538\" is out of range; allowed 2..65536 MiB");
	VM_BAD("memory = 128G", "memory", "out of range");
	VM_BAD("memory = 4194304G", "memory", "out of range");       /* 2^32 MiB: no u32 wrap */
	VM_BAD("memory = 18446744073709551615", "memory", "out of range");
	/* Nested paging maps guest RAM in 2 MiB pages: an odd size once left
	 * the hypervisor's memory after it readable by the guest. */
	VM_BAD("memory = 17", "memory",
	       "\"17\" is not allowed: memory must be a multiple of 2 MiB");
	VM_BAD("memory = 3", "memory", "memory must be a multiple of 2 MiB");
	VM_BAD("memory = 3071", "memory", "memory must be a multiple of 2 MiB");
	VM_BAD("memory = 17M", "memory", "memory must be a multiple of 2 MiB");
	VM_BAD("memory = 17 MiB", "memory", "memory must be a multiple of 2 MiB");
	REJECT("[a]\nkernel = k\n\nmemory = 17\n", 4, "memory",
	       "\"17\" is not allowed: memory must be a multiple of 2 MiB");
	VM_BAD("memory = 99999999999999999999999999G", "memory",
	       "\"9999999999999999...\" is out of range");
	VM_BAD("memory = 18014398509481984G", "memory", "out of range");   /* 2^54 * 1024 wraps */
	VM_BAD("memory = 4294967298", "memory", "out of range");          /* 2^32 + 2 */
	VM_BAD("vcpus = 0", "vcpus", "\"0\" is out of range; allowed 1..64");
	VM_BAD("vcpus = 65", "vcpus", "out of range");
	VM_BAD("vcpus = 4294967297", "vcpus", "out of range");
	VM_BAD("vcpus = 18446744073709551617", "vcpus", "out of range");
	VM_BAD("vcpus = 4x", "vcpus", "\"4x\" is not a whole number 1..64");
	VM_BAD("vcpus = \" 4\"", "vcpus", "is not a whole number");
	VM_BAD("vcpus = 2M", "vcpus", "is not a whole number");
	VM_BAD("tsc_khz = 999", "tsc_khz",
	       "\"999\" is out of range; allowed 1000..10000000 kHz (1 MHz..10 GHz), or 0 for the host's");
	VM_BAD("tsc_khz = 10000001", "tsc_khz", "out of range");
	VM_BAD("tsc_khz = 10.000001GHz", "tsc_khz", "out of range");
	VM_BAD("tsc_khz = 99999999999999999999999GHz", "tsc_khz", "out of range");
	VM_BAD("tsc_khz = 0.5MHz", "tsc_khz", "out of range");
	VM_BAD("tsc_khz = 3.579545MHz", "tsc_khz", "\"3.579545MHz\" is not a whole number of kHz");
	VM_BAD("tsc_khz = 1.5", "tsc_khz", "not a whole number of kHz");
	VM_BAD("tsc_khz = 2.0000005GHz", "tsc_khz", "not a whole number of kHz");
	VM_BAD("tsc_khz = 2.1234567890GHz", "tsc_khz", "too many decimal places");
	VM_BAD("tsc_khz = 2.GHz", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = .5GHz", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = 2.5THz", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = 2.5.1GHz", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = 2,5GHz", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = -1", "tsc_khz", "is not a frequency");
	VM_BAD("tsc_khz = auto", "tsc_khz", "is not a frequency");

	/* Sections. */
	REJECT("[vm1\n", 1, "", "no closing ']'");
	REJECT("[]\n", 1, "", "empty VM name");
	REJECT("[ \t]\n", 1, "", "empty VM name");
	REJECT("[a b]\n", 1, "", "' ' in a VM name");
	REJECT("[vm.1]\n", 1, "", "'.' in a VM name");
	REJECT("[caf\xc3\xa9]\n", 1, "", "byte 0xc3 in a VM name");
	REJECT("[vm1] x\n", 1, "", "text after the section header");
	REJECT("[vm1]]\n", 1, "", "text after the section header");
	REJECT("[a]\n[b]\n\n[a]\n", 4, "", "VM name 'a' already used on line 1");
	REJECT("[abcdefghijabcdefghijabcdefghij12]\n", 1, "",
	       "VM name is 32 characters long; at most 31");
	REJECT("[a]\n[b]\n[c]\n[d]\n[e]\n[f]\n[g]\n[h]\n# nine:\n[i]\n", 10, "",
	       "too many VMs; at most 8");

	/* Bytes and lines. */
	REJECT("[a]\nkernel = k\0x\n", 2, "", "NUL byte");
	REJECT("\0", 1, "", "NUL byte");
	REJECT("# \0 in a comment\n", 1, "", "NUL byte");
	REJECT("[a]\rkernel = k\r\n", 1, "", "control character 0x0d");
	REJECT("log_level = info\x1b\n", 1, "", "control character 0x1b");
	REJECT("log_level = info\x7f\n", 1, "", "control character 0x7f");
	{
		char line[CFG_LINE_MAX + 8];

		memset(line, ' ', sizeof(line));
		memcpy(line, "\n#", 2);                   /* line 2: 1025 bytes */
		memcpy(line + 1 + CFG_LINE_MAX + 1, "\n", 2);
		reject(__LINE__, line, strlen(line), 2, "",
		       "line is 1025 bytes long; at most 1024");
	}
	(void)err;
}

/* "# four" after a number is a comment, so that one is valid after all. */
static void test_comment_after_number(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	VM_OK("vcpus = 4 # four");
	CHECK_EQ_U64(cfg.vms[0].vcpus, 4);
	VM_OK("vcpus = \"4\"# four");
	/* A '#' right after a bare value is part of it. */
	VM_BAD("vcpus = 4#four", "vcpus", "\"4#four\" is not a whole number");
}

/* The untouched guarantee with a lot already applied before the error. */
static void test_untouched(void)
{
	struct hv_config cfg, before;
	struct cfg_error err;
	char text[sizeof(full_file) + 64];

	CHECK(parse(full_file, &cfg, &err) == 0);
	memcpy(&before, &cfg, sizeof(cfg));
	snprintf(text, sizeof(text), "%svcpus = 99\n", full_file);
	CHECK(parse(text, &cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 21);
	CHECK_STR(err.key, "vcpus");
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

/* ---- overrides and validation ------------------------------------------- */

static void test_overrides(void)
{
	struct hv_config cfg, before;
	struct cfg_error err;

	CHECK(parse("[web]\nkernel = a\nmemory = 128\n[db-1]\nkernel = b\n", &cfg, &err) == 0);

	CHECK(config_override(&cfg, "log_level=debug", &err) == 0);
	CHECK_EQ_U64(cfg.log_level, LOG_DEBUG);
	CHECK(config_override(&cfg, "tsc_reliable=true", &err) == 0);
	CHECK(cfg.tsc_reliable);
	CHECK(config_override(&cfg, "web.memory=1G", &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].memory_mib, 1024);
	CHECK(config_override(&cfg, "web.memory=2G", &err) == 0);   /* repeats are fine */
	CHECK_EQ_U64(cfg.vms[0].memory_mib, 2048);
	CHECK(config_override(&cfg, "db-1.tsc_mode=always_emulate", &err) == 0);
	CHECK_EQ_U64(cfg.vms[1].tsc_mode, TSC_MODE_EMULATE);
	CHECK(config_override(&cfg, "db-1.tsc_khz=2.4GHz", &err) == 0);
	CHECK_EQ_U64(cfg.vms[1].tsc_khz, 2400000);
	CHECK(config_override(&cfg, "db-1.cmdline=console=ttyS0 quiet", &err) == 0);
	CHECK_STR(cfg.vms[1].cmdline, "console=ttyS0 quiet");
	CHECK(config_override(&cfg, "db-1.cmdline=\"a \\\"b\\\"\"", &err) == 0);
	CHECK_STR(cfg.vms[1].cmdline, "a \"b\"");
	CHECK(config_override(&cfg, " web.vcpus = 3 ", &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].vcpus, 3);
	CHECK_EQ_U64(cfg.vms[0].kernel_line, 2);
	CHECK(config_override(&cfg, "web.kernel=\\EFI\\other.elf", &err) == 0);
	CHECK_STR(cfg.vms[0].kernel, "\\EFI\\other.elf");
	CHECK_EQ_U64(cfg.vms[0].kernel_line, 0);
	CHECK(config_override(&cfg, "db-1.cmdline=", &err) == 0);
	CHECK_STR(cfg.vms[1].cmdline, "");

	memcpy(&before, &cfg, sizeof(cfg));
#define OV_BAD(s, want_key, sub) do { \
	memset(&err, 0x5a, sizeof(err)); \
	th_check(config_override(&cfg, s, &err) == -1, "override rejects: " s, __FILE__, __LINE__); \
	th_check(memcmp(&cfg, &before, sizeof(cfg)) == 0, "override untouched: " s, __FILE__, __LINE__); \
	CHECK_EQ_U64(err.line, 0); \
	CHECK_STR(err.key, want_key); \
	if (!th_check(strstr(err.msg, sub) != NULL, "override message: " s, __FILE__, __LINE__)) \
		printf("#   msg \"%s\", want \"%s\"\n", err.msg, sub); \
} while (0)
	OV_BAD("nosuchvm.memory=5G", "memory", "no VM named \"nosuchvm\" in the config");
	OV_BAD("WEB.memory=5G", "memory", "no VM named \"WEB\"");
	OV_BAD("web.memory=5X", "memory", "\"5X\" is not a size");
	OV_BAD("web.memory=100G", "memory", "out of range");
	OV_BAD("web.memory=17", "memory", "memory must be a multiple of 2 MiB");
	OV_BAD("web.memory=65G", "memory", "out of range");
	OV_BAD("web.tsc_mode=fast", "tsc_mode", "\"fast\" is not one of auto");
	OV_BAD("web.kernel=", "kernel", "empty value");
	OV_BAD("web.foo=1", "foo", "unknown key; VM keys are");
	OV_BAD("foo=1", "foo", "unknown key; global keys are");
	OV_BAD("memory=128", "memory", "'memory' is a VM key; say which VM: VMNAME.memory=value");
	OV_BAD("web.log_level=debug", "log_level", "write it without a VM name: log_level=value");
	OV_BAD(".memory=128", "memory", "missing VM name");
	OV_BAD("web.=1", "", "missing key after 'web.'");
	OV_BAD("=1", "", "missing key before '='");
	OV_BAD("memory", "", "expected 'key = value'");
	OV_BAD("", "", "empty override");
	OV_BAD("   ", "", "empty override");
	OV_BAD("web.cmdline=\"open", "cmdline", "unterminated");
	OV_BAD("web.cmdline=a\x01", "", "control character 0x01");
	OV_BAD("log_level=info\n", "", "control character 0x0a");
	{
		char big[CFG_LINE_MAX + 32];

		memset(big, 'x', sizeof(big));
		memcpy(big, "web.cmdline=", 12);
		big[sizeof(big) - 1] = 0;
		th_check(config_override(&cfg, big, &err) == -1, "override too long", __FILE__, __LINE__);
		CHECK(strstr(err.msg, "at most 1024") != NULL);
		CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
		big[300] = 0;
		th_check(config_override(&cfg, big, &err) == -1, "cmdline too long", __FILE__, __LINE__);
		CHECK_STR(err.key, "cmdline");
		CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
	}
	CHECK(config_override(&cfg, NULL, &err) == -1);
	CHECK(config_override(&cfg, "nope", NULL) == -1);
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

static void test_validate(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	config_defaults(&cfg);
	CHECK(config_validate(&cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 0);
	CHECK_STR(err.key, "");
	CHECK(strstr(err.msg, "no VM") != NULL);

	CHECK(parse("log_level=warn\n[a]\nkernel=x\n\n[b]\nmemory=128\n", &cfg, &err) == 0);
	CHECK(config_validate(&cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 5);
	CHECK_STR(err.key, "kernel");
	CHECK_STR(err.msg, "VM 'b' has no kernel; add 'kernel = FILE' to its section");
	CHECK(config_override(&cfg, "b.kernel=y", &err) == 0);
	CHECK(config_validate(&cfg, &err) == 0);
	CHECK(config_validate(&cfg, NULL) == 0);
}

static void test_names(void)
{
	enum tsc_mode m = TSC_MODE_AUTO;
	enum log_level l = LOG_INFO;

	CHECK_STR(tsc_mode_name(TSC_MODE_AUTO), "auto");
	CHECK_STR(tsc_mode_name(TSC_MODE_NATIVE), "native");
	CHECK_STR(tsc_mode_name(TSC_MODE_EMULATE), "emulate");
	CHECK_STR(tsc_mode_name(TSC_MODE_PVRDTSCP), "pvrdtscp");
	CHECK_STR(tsc_mode_name((enum tsc_mode)42), "?");
	CHECK_STR(log_level_name(LOG_ERROR), "error");
	CHECK_STR(log_level_name(LOG_WARN), "warn");
	CHECK_STR(log_level_name(LOG_INFO), "info");
	CHECK_STR(log_level_name(LOG_DEBUG), "debug");
	CHECK_STR(log_level_name((enum log_level)9), "?");
	CHECK(tsc_mode_parse("native_paravirt", &m) == 0 && m == TSC_MODE_PVRDTSCP);
	CHECK(tsc_mode_parse("default", &m) == 0 && m == TSC_MODE_AUTO);
	CHECK(tsc_mode_parse("Emulate", &m) == 0 && m == TSC_MODE_EMULATE);
	CHECK(tsc_mode_parse("fast", &m) == -1 && m == TSC_MODE_EMULATE);
	CHECK(tsc_mode_parse("", &m) == -1);
	CHECK(tsc_mode_parse("nativ", &m) == -1);
	CHECK(tsc_mode_parse("natives", &m) == -1);
	CHECK(log_level_parse("debug", &l) == 0 && l == LOG_DEBUG);
	CHECK(log_level_parse("trace", &l) == -1 && l == LOG_DEBUG);
}

/* ---- mini-fuzz ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 11) % n);
}

static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]))
			return false;
	return true;
}

/* A successful result is well-formed; from_file: kernel_line is set with kernel. */
static bool sane(const struct hv_config *c, bool from_file)
{
	unsigned i, j;

	if (c->log_level > LOG_DEBUG || c->nvms > CFG_MAX_VMS)
		return false;
	for (i = 0; i < c->nvms; i++) {
		const struct vm_config *v = &c->vms[i];

		if (!memchr(v->name, 0, sizeof(v->name)) || !valid_name(v->name) ||
		    !memchr(v->kernel, 0, sizeof(v->kernel)) ||
		    !memchr(v->cmdline, 0, sizeof(v->cmdline)) ||
		    v->memory_mib < CFG_MIN_MEMORY_MIB || v->memory_mib > CFG_MAX_MEMORY_MIB ||
		    v->memory_mib % CFG_MEMORY_ALIGN_MIB ||
		    v->vcpus < 1 || v->vcpus > CFG_MAX_VCPUS || v->tsc_mode > TSC_MODE_PVRDTSCP ||
		    (v->tsc_khz && (v->tsc_khz < CFG_MIN_TSC_KHZ || v->tsc_khz > CFG_MAX_TSC_KHZ)) ||
		    v->line == 0 || (from_file && v->kernel[0] && v->kernel_line <= v->line))
			return false;
		for (j = 0; j < i; j++)
			if (!strcmp(c->vms[j].name, v->name))
				return false;
	}
	return true;
}

static void test_fuzz(void)
{
	static const char interesting[] = "\n\r\t \"\\#=[]._-0123456789GMkHz\0\x7f\xff";
	enum { ROUNDS = 20000, MAXLEN = 4096 };
	unsigned ok = 0, rejected = 0, bad_line = 0, bad_err = 0, touched = 0, insane = 0;
	unsigned ov_ok = 0, ov_bad = 0, ov_touched = 0;
	size_t base_len = sizeof(full_file) - 1;
	static char buf[MAXLEN];
	unsigned r;

	for (r = 0; r < ROUNDS; r++) {
		struct hv_config cfg;
		struct cfg_error err;
		size_t len = base_len, i, lines = 0;
		unsigned m, nmut = 1 + rnd(6);

		memcpy(buf, full_file, base_len);
		for (m = 0; m < nmut; m++) {
			size_t at = len ? rnd((uint32_t)len) : 0;
			size_t cnt = 1 + rnd(40);

			switch (rnd(7)) {
			case 0:     /* overwrite a byte with anything */
				if (len)
					buf[at] = (char)rnd(256);
				break;
			case 1:     /* overwrite a byte with a syntax character */
				if (len)
					buf[at] = interesting[rnd(sizeof(interesting) - 1)];
				break;
			case 2:     /* insert a syntax character */
				if (len + 1 < MAXLEN) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = interesting[rnd(sizeof(interesting) - 1)];
					len++;
				}
				break;
			case 3:     /* delete a run */
				if (cnt > len - at)
					cnt = len - at;
				memmove(buf + at, buf + at + cnt, len - at - cnt);
				len -= cnt;
				break;
			case 4: {   /* copy a run somewhere else (duplicates keys, sections) */
				size_t from = len ? rnd((uint32_t)len) : 0;

				if (cnt > len - from)
					cnt = len - from;
				if (len + cnt < MAXLEN) {
					char tmp[64];

					memcpy(tmp, buf + from, cnt);
					memmove(buf + at + cnt, buf + at, len - at);
					memcpy(buf + at, tmp, cnt);
					len += cnt;
				}
				break;
			}
			case 5:     /* truncate */
				len = at;
				break;
			default:    /* a digit run, to stress number parsing */
				if (len + 24 < MAXLEN) {
					size_t k, d = 1 + rnd(24);

					memmove(buf + at + d, buf + at, len - at);
					for (k = 0; k < d; k++)
						buf[at + k] = (char)('0' + rnd(10));
					len += d;
				}
				break;
			}
		}
		for (i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (len && buf[len - 1] != '\n')
			lines++;

		poison(&cfg);
		if (parse_n(buf, len, &cfg, &err) == 0) {
			ok++;
			insane += !sane(&cfg, true);
		} else {
			rejected++;
			bad_line += err.line < 1 || err.line > lines;
			bad_err += !memchr(err.key, 0, sizeof(err.key)) ||
				   !memchr(err.msg, 0, sizeof(err.msg)) || !err.msg[0];
			touched += !untouched(&cfg);
			if (bad_line == 1 && (err.line < 1 || err.line > lines)) {
				printf("# fuzz round %u: line %u of %zu: %s\n", r, err.line, lines, err.msg);
				bad_line++;
			}
		}

		/* A mutated override. */
		if (r % 4 == 0) {
			static const char *const ovs[] = {
				"linux-1.memory=512M", "second_vm.tsc_khz=2.5GHz",
				"linux-1.cmdline=\"a \\\"b\\\" c\"", "linux-1.tsc_mode=native",
				"second_vm.vcpus=4", "linux-1.kernel=x", "log_level=warn",
				"tsc_reliable=no",
			};
			struct hv_config c2, keep;
			char ov[80];
			size_t n;

			if (parse("[linux-1]\n[second_vm]\n", &c2, &err))
				bad_err++;
			snprintf(ov, sizeof(ov), "%s", ovs[rnd(sizeof(ovs) / sizeof(ovs[0]))]);
			n = strlen(ov);
			for (m = rnd(3); m; m--)
				ov[rnd((uint32_t)n)] = rnd(2) ? (char)(1 + rnd(255)) :
					interesting[rnd(sizeof(interesting) - 2)];
			memcpy(&keep, &c2, sizeof(c2));
			if (config_override(&c2, ov, &err) == 0) {
				ov_ok++;
				insane += !sane(&c2, false);
			} else {
				ov_bad++;
				ov_touched += memcmp(&c2, &keep, sizeof(c2)) != 0;
				bad_err += err.line != 0 || !memchr(err.msg, 0, sizeof(err.msg));
			}
		}
	}
	printf("# fuzz: %u accepted, %u rejected; overrides %u accepted, %u rejected\n",
	       ok, rejected, ov_ok, ov_bad);
	CHECK_EQ_U64(ok + rejected, ROUNDS);
	CHECK(ok > 100 && rejected > 100);      /* the mutations reach both outcomes */
	CHECK_EQ_U64(bad_line, 0);
	CHECK_EQ_U64(bad_err, 0);
	CHECK_EQ_U64(touched, 0);
	CHECK_EQ_U64(insane, 0);
	CHECK_EQ_U64(ov_touched, 0);
	CHECK(ov_ok > 10 && ov_bad > 10);
}

/* The hypervisor's own switches: dry_run and selftest (global only). */
static void test_hv_switches(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	CHECK(parse("dry_run = yes\nselftest = fault\n[a]\nkernel = k\n", &cfg, &err) == 0);
	CHECK(cfg.dry_run);
	CHECK_EQ_U64(cfg.selftest, SELFTEST_FAULT);
	CHECK(parse("[a]\nkernel = k\n", &cfg, &err) == 0);
	CHECK(!cfg.dry_run);
	CHECK_EQ_U64(cfg.selftest, SELFTEST_NONE);
	REJECT("selftest = crash\n", 1, "selftest", "none, fault");
	REJECT("dry_run = maybe\n", 1, "dry_run", "yes");
	REJECT("[a]\ndry_run = yes\n", 2, "dry_run", "global key");
}

/* ---- ramdisk (a bzImage kernel's initramfs) ------------------------------ */

static void test_ramdisk(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	poison(&cfg);
	if (!CHECK(parse("[lx]\nkernel = linux/vmlinuz\nramdisk = \"linux/initramfs.cpio.gz\"\n"
			 "cmdline = console=ttyS0\n", &cfg, &err) == 0))
		printf("#   line %u key '%s': %s\n", err.line, err.key, err.msg);
	CHECK_STR(cfg.vms[0].kernel, "linux/vmlinuz");
	CHECK_STR(cfg.vms[0].ramdisk, "linux/initramfs.cpio.gz");
	CHECK_STR(cfg.vms[0].cmdline, "console=ttyS0");
	CHECK_EQ_U64(cfg.vms[0].ramdisk_line, 3);
	CHECK(config_validate(&cfg, &err) == 0);

	/* absent: empty, line 0 */
	CHECK(parse("[v]\nkernel=k\n", &cfg, &err) == 0);
	CHECK_STR(cfg.vms[0].ramdisk, "");
	CHECK_EQ_U64(cfg.vms[0].ramdisk_line, 0);

	/* an override names no line */
	CHECK(parse("[v]\nkernel=k\nramdisk=a\n", &cfg, &err) == 0);
	CHECK(config_override(&cfg, "v.ramdisk=\\EFI\\b.gz", &err) == 0);
	CHECK_STR(cfg.vms[0].ramdisk, "\\EFI\\b.gz");
	CHECK_EQ_U64(cfg.vms[0].ramdisk_line, 0);

	REJECT("[a]\nkernel = k\nramdisk = x\nramdisk = y\n", 4, "ramdisk", "already set on line 3");
	REJECT("ramdisk = x\n[a]\nkernel = k\n", 1, "ramdisk", "VM key before any section");
	REJECT("[a]\nkernel = k\nramdisk =\n", 3, "ramdisk", "empty value");
	REJECT("[a]\nkernel = k\ninitrd = x\n", 3, "initrd", "cmdline, ramdisk, memory");

	/* a restored VM's RAM already holds its initramfs */
	CHECK(parse("[a]\nkernel = k\n[b]\nrestore = s.snap\nramdisk = r\n", &cfg, &err) == 0);
	CHECK(config_validate(&cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 3);
	CHECK_STR(err.key, "ramdisk");
	CHECK(strstr(err.msg, "VM 'b' has a snapshot to restore and a ramdisk") != NULL);
}

/* save_buffer: a VM's own snapshot buffer in MiB (docs/config.md). */
static void test_save_buffer(void)
{
	struct hv_config cfg;
	struct cfg_error err;

	poison(&cfg);
	if (!CHECK(parse("[lx]\nkernel = k\nmemory = 160\n\nsave_buffer = 96\n", &cfg, &err) == 0))
		printf("#   line %u key '%s': %s\n", err.line, err.key, err.msg);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, 96);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_line, 5);
	CHECK(config_validate(&cfg, &err) == 0);

	/* absent: 0 (the shared budget), line 0; 0 and the maximum accepted */
	CHECK(parse("[v]\nkernel=k\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, 0);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_line, 0);
	CHECK(parse("[v]\nkernel=k\nsave_buffer = 0\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, 0);
	CHECK(parse("[v]\nkernel=k\nsave_buffer = 4096\n", &cfg, &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, CFG_MAX_SAVE_BUFFER_MIB);

	/* an override sets it and names no line */
	CHECK(parse("[v]\nkernel=k\nsave_buffer=8\n", &cfg, &err) == 0);
	CHECK(config_override(&cfg, "v.save_buffer=24", &err) == 0);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, 24);
	CHECK_EQ_U64(cfg.vms[0].save_buffer_line, 0);
	CHECK(config_override(&cfg, "v.save_buffer=4097", &err) == -1);
	CHECK_STR(err.key, "save_buffer");
	CHECK_EQ_U64(cfg.vms[0].save_buffer_mib, 24);

	REJECT("[a]\nkernel = k\nsave_buffer = 4097\n", 3, "save_buffer",
	       "\"4097\" is out of range; expected a whole number of MiB 0..4096 "
	       "(0 = the boot's shared 16 MiB snapshot budget)");
	REJECT("[a]\nkernel = k\nsave_buffer = -1\n", 3, "save_buffer", "is not a whole number of MiB");
	REJECT("[a]\nkernel = k\nsave_buffer = 96M\n", 3, "save_buffer", "is not a whole number of MiB");
	REJECT("[a]\nkernel = k\nsave_buffer = 1\nsave_buffer = 2\n", 4, "save_buffer",
	       "already set on line 3");
	REJECT("save_buffer = 8\n[a]\nkernel = k\n", 1, "save_buffer", "VM key before any section");

	/* on_save = stop streams without a buffer: the key is refused there,
	 * on its own line, or on the VM's header when an override set it */
	CHECK(parse("[a]\nkernel = k\n[b]\nkernel = k\non_save = stop\nsave_buffer = 8\n", &cfg,
		    &err) == 0);
	CHECK(config_validate(&cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 6);
	CHECK_STR(err.key, "save_buffer");
	CHECK(strstr(err.msg, "VM 'b' has on_save = stop") != NULL);
	CHECK(parse("[b]\nkernel = k\non_save = stop\n", &cfg, &err) == 0);
	CHECK(config_validate(&cfg, &err) == 0);
	CHECK(config_override(&cfg, "b.save_buffer=8", &err) == 0);
	CHECK(config_validate(&cfg, &err) == -1);
	CHECK_EQ_U64(err.line, 1);
	CHECK(config_override(&cfg, "b.on_save=continue", &err) == 0);
	CHECK(config_validate(&cfg, &err) == 0);
}

int main(void)
{
	test_hv_switches();
	test_defaults();
	test_full_file();
	test_values();
	test_rejections();
	test_comment_after_number();
	test_untouched();
	test_overrides();
	test_validate();
	test_ramdisk();
	test_save_buffer();
	test_names();
	test_fuzz();
	return th_done();
}
