/* Host tests of pure/bzimage.c: bzImages built in memory, each refusal with
 * guest RAM untouched, the zero page, e820 map, GDT, command line and
 * initramfs placement of an accepted one, and a mutation loop.
 *
 *   build/tests/test_bzimage [--seeds DIR]   (--seeds writes fuzzer seeds) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <tscvisor/bzimage.h>
#include "harness.h"

#define RAM_SIZE   (8u << 20)     /* 8 MiB: room for a kernel at 2 MiB */
#define PATTERN    0xA5
#define PM_SIZE    0x3000u
#define PREF       0x200000u
#define INIT_SIZE  0x100000u

static uint8_t *ram, *ref;

struct spec {
	unsigned setup_sects;   /* as written in the file (0 means 4) */
	uint16_t version;
	unsigned hdr_end;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t align;
	uint64_t pref;
	uint32_t init_size;
	uint32_t pm_size;       /* bytes after the setup code */
	uint32_t syssize;       /* in 16-byte units */
	uint32_t cmdline_size;
	uint32_t initrd_max;
	const char *version_str;
};

static struct spec good(void)
{
	return (struct spec){
		.setup_sects = 7, .version = 0x020f, .hdr_end = 0x26c, .loadflags = 0x81,
		.xloadflags = 0x7f, .relocatable = 1, .align = 0x200000, .pref = PREF,
		.init_size = INIT_SIZE, .pm_size = PM_SIZE, .syssize = PM_SIZE / 16,
		.cmdline_size = 2047, .initrd_max = 0x7fffffff,
		.version_str = "6.1.0-test (builder) #1 SMP",
	};
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A bzImage per the spec; the protected-mode bytes are a counting pattern
 * so their copy can be checked. Caller frees. */
static uint8_t *build(const struct spec *s, uint64_t *size)
{
	unsigned sects = s->setup_sects ? s->setup_sects : 4;
	uint64_t setup = (uint64_t)(sects + 1) * 512, n = setup + s->pm_size, i;
	uint8_t *f = calloc(1, n);

	if (!f)
		abort();
	f[0x1f1] = (uint8_t)s->setup_sects;
	put32(f + 0x1f4, s->syssize);
	put16(f + 0x1fe, 0xAA55);
	f[0x200] = 0xeb;
	f[0x201] = (uint8_t)(s->hdr_end - 0x202);
	put32(f + 0x202, 0x53726448);
	put16(f + 0x206, s->version);
	f[0x211] = s->loadflags;
	put32(f + 0x214, 0x100000);
	put32(f + 0x22c, s->initrd_max);
	put32(f + 0x230, s->align);
	f[0x234] = s->relocatable;
	f[0x235] = 21;
	put16(f + 0x236, s->xloadflags);
	put32(f + 0x238, s->cmdline_size);
	put64(f + 0x258, s->pref);
	put32(f + 0x260, s->init_size);
	if (s->version_str) {
		put16(f + 0x20e, 0x300 - 0x200);
		memcpy(f + 0x300, s->version_str, strlen(s->version_str) + 1);
	}
	for (i = setup; i < n; i++)
		f[i] = (uint8_t)(i * 7 + 3);
	*size = n;
	return f;
}

static void fill_ram(void)
{
	memset(ram, PATTERN, RAM_SIZE);
}

/* A refusal with the expected code, bz_check and bz_load agreeing, and not
 * one byte of guest RAM written. */
static void expect_refusal(const char *what, const uint8_t *f, uint64_t n, uint64_t ram_size,
			   const char *cmdline, const uint8_t *initrd, uint64_t initrd_size,
			   enum bz_load_err want)
{
	struct bz_load_error e1, e2;
	int c1, c2;

	fill_ram();
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	c1 = bz_check(f, n, ram_size, cmdline, initrd, initrd_size, NULL, &e1);
	c2 = bz_load(f, n, ram, ram_size, cmdline, initrd, initrd_size, NULL, &e2);
	printf("# %s: %s: %s\n", what, bz_err_name(e2.code), e2.msg);
	CHECK(c1 == -1 && c2 == -1);
	CHECK_STR(bz_err_name(e1.code), bz_err_name(want));
	CHECK_STR(bz_err_name(e2.code), bz_err_name(want));
	CHECK(e2.msg[0] != 0);
	CHECK(memcmp(ram, ref, RAM_SIZE) == 0);
}

static void refuse_spec(const char *what, struct spec s, enum bz_load_err want)
{
	uint64_t n;
	uint8_t *f = build(&s, &n);

	expect_refusal(what, f, n, RAM_SIZE, "console=ttyS0", NULL, 0, want);
	free(f);
}

static void test_accept(void)
{
	struct spec s = good();
	struct bz_load_result r, rc;
	struct bz_load_error e;
	uint8_t initrd[5000];
	uint64_t n, i, setup = 8 * 512;
	uint8_t *f = build(&s, &n), *zp, *e820;
	const char *cmd = "console=ttyS0 clockcheck.seconds=1";
	bool same = true;

	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5c);
	CHECK(bz_is_bzimage(f, n));
	CHECK(bz_check(f, n, RAM_SIZE, cmd, initrd, sizeof(initrd), &rc, &e) == 0);
	fill_ram();
	CHECK(bz_load(f, n, ram, RAM_SIZE, cmd, initrd, sizeof(initrd), &r, &e) == 0);
	CHECK(memcmp(&r, &rc, sizeof(r)) == 0);
	CHECK_EQ_U64(r.entry, PREF);
	CHECK_EQ_U64(r.kernel_lo, PREF);
	CHECK_EQ_U64(r.kernel_hi, PREF + INIT_SIZE);
	CHECK_EQ_U64(r.pm_offset, setup);
	CHECK_EQ_U64(r.pm_size, PM_SIZE);
	CHECK_EQ_U64(r.version, 0x020f);
	CHECK(r.relocatable);
	CHECK_STR(r.kernel_version, "6.1.0-test (builder) #1 SMP");
	CHECK_EQ_U64(r.zero_page_gpa, BZ_ZERO_PAGE_GPA);
	CHECK_EQ_U64(r.gdt_gpa, BZ_GDT_GPA);
	CHECK_EQ_U64(r.cmdline_gpa, BZ_CMDLINE_GPA);

	/* kernel bytes at the load address, zeros up to init_size */
	CHECK(memcmp(ram + PREF, f + setup, PM_SIZE) == 0);
	for (i = PREF + PM_SIZE; i < PREF + INIT_SIZE; i++)
		if (ram[i])
			same = false;
	CHECK(same);
	CHECK_EQ_U64(ram[PREF + INIT_SIZE], PATTERN);      /* nothing past init_size */

	/* initramfs at the top of RAM, page aligned */
	CHECK_EQ_U64(r.initrd_gpa, (RAM_SIZE - sizeof(initrd)) & ~0xfffull);
	CHECK_EQ_U64(r.initrd_size, sizeof(initrd));
	CHECK(memcmp(ram + r.initrd_gpa, initrd, sizeof(initrd)) == 0);

	/* command line, NUL-ended */
	CHECK_STR((const char *)ram + BZ_CMDLINE_GPA, cmd);

	/* zero page: the header copied, the loader's fields */
	zp = ram + BZ_ZERO_PAGE_GPA;
	CHECK(memcmp(zp + 0x1f1, f + 0x1f1, 0x210 - 0x1f1) == 0);
	CHECK(memcmp(zp + 0x22c, f + 0x22c, 0x26c - 0x22c) == 0);
	CHECK_EQ_U64(get32(zp + 0x202), 0x53726448);
	CHECK_EQ_U64(zp[0x210], 0xff);                       /* type_of_loader */
	CHECK_EQ_U64(zp[0x211], 0x01);                       /* CAN_USE_HEAP cleared */
	CHECK_EQ_U64(get32(zp + 0x214), PREF);               /* code32_start */
	CHECK_EQ_U64(get32(zp + 0x218), r.initrd_gpa);
	CHECK_EQ_U64(get32(zp + 0x21c), sizeof(initrd));
	CHECK_EQ_U64(get32(zp + 0x228), BZ_CMDLINE_GPA);
	CHECK_EQ_U64(get16(zp + 0x224), 0);
	CHECK_EQ_U64(zp[0x26c], 0);                          /* past the header: zero */
	CHECK_EQ_U64(get64(zp + 0x000), 0);                  /* screen_info: zero */

	/* e820: low RAM, hole, RAM from 1 MiB to the end */
	CHECK_EQ_U64(zp[0x1e8], 3);
	e820 = zp + 0x2d0;
	CHECK_EQ_U64(get64(e820 + 0), 0);
	CHECK_EQ_U64(get64(e820 + 8), 0x9fc00);
	CHECK_EQ_U64(get32(e820 + 16), 1);
	CHECK_EQ_U64(get64(e820 + 20), 0x9fc00);
	CHECK_EQ_U64(get64(e820 + 28), 0x100000 - 0x9fc00);
	CHECK_EQ_U64(get32(e820 + 36), 2);
	CHECK_EQ_U64(get64(e820 + 40), 0x100000);
	CHECK_EQ_U64(get64(e820 + 48), RAM_SIZE - 0x100000);
	CHECK_EQ_U64(get32(e820 + 56), 1);
	CHECK_EQ_U64(get64(e820 + 60), 0);                   /* no fourth entry */

	/* GDT: null, null, flat code at 0x10, flat data at 0x18 */
	CHECK_EQ_U64(get64(ram + BZ_GDT_GPA), 0);
	CHECK_EQ_U64(get64(ram + BZ_GDT_GPA + 8), 0);
	CHECK_EQ_U64(get64(ram + BZ_GDT_GPA + 0x10), 0x00cf9b000000ffffull);
	CHECK_EQ_U64(get64(ram + BZ_GDT_GPA + 0x18), 0x00cf93000000ffffull);

	/* the page before the GDT and RAM below the kernel outside the
	 * loader's pages stay as they were */
	CHECK_EQ_U64(ram[BZ_GDT_GPA - 1], PATTERN);
	CHECK_EQ_U64(ram[0x100000], PATTERN);
	CHECK_EQ_U64(ram[BZ_CMDLINE_GPA + BZ_CMDLINE_MAX], PATTERN);
	free(f);
}

static void test_variants(void)
{
	struct bz_load_result r;
	struct bz_load_error e;
	struct spec s;
	uint8_t *f;
	uint64_t n;

	/* setup_sects 0 means 4: the kernel starts at 5 * 512 */
	s = good();
	s.setup_sects = 0;
	f = build(&s, &n);
	fill_ram();
	CHECK(bz_load(f, n, ram, RAM_SIZE, NULL, NULL, 0, &r, &e) == 0);
	CHECK_EQ_U64(r.pm_offset, 5 * 512);
	CHECK(memcmp(ram + PREF, f + 5 * 512, PM_SIZE) == 0);
	CHECK_EQ_U64(r.initrd_gpa, 0);
	CHECK_EQ_U64(get32(ram + BZ_ZERO_PAGE_GPA + 0x218), 0);
	CHECK_EQ_U64(ram[BZ_CMDLINE_GPA], 0);                /* empty command line */
	free(f);

	/* initrd_addr_max lower than RAM: the initramfs ends below it */
	s = good();
	s.initrd_max = 0x5fffff;
	f = build(&s, &n);
	CHECK(bz_check(f, n, RAM_SIZE, "", f, 0x1800, &r, &e) == 0);
	CHECK_EQ_U64(r.initrd_gpa, 0x600000 - 0x2000);
	free(f);

	/* non-relocatable at its pref_address; no version string */
	s = good();
	s.relocatable = 0;
	s.align = 3;             /* ignored when not relocatable */
	s.version_str = NULL;
	f = build(&s, &n);
	CHECK(bz_check(f, n, RAM_SIZE, "", NULL, 0, &r, &e) == 0);
	CHECK(!r.relocatable);
	CHECK_STR(r.kernel_version, "");
	free(f);

	/* command line exactly cmdline_size long is fine, one more is not */
	s = good();
	s.cmdline_size = 10;
	f = build(&s, &n);
	CHECK(bz_check(f, n, RAM_SIZE, "0123456789", NULL, 0, NULL, &e) == 0);
	expect_refusal("cmdline 11 > 10", f, n, RAM_SIZE, "0123456789a", NULL, 0, BZ_ERR_CMDLINE);
	free(f);

	/* the kernel exactly filling RAM is fine, with an initramfs it is not */
	s = good();
	f = build(&s, &n);
	CHECK(bz_check(f, n, PREF + INIT_SIZE, "", NULL, 0, NULL, &e) == 0);
	expect_refusal("initrd with no room", f, n, PREF + INIT_SIZE, "", f, 1, BZ_ERR_INITRD_FIT);
	expect_refusal("RAM one page short", f, n, PREF + INIT_SIZE - 0x1000, "", NULL, 0,
		       BZ_ERR_KERNEL_FIT);
	expect_refusal("initrd larger than RAM", f, n, RAM_SIZE, "", f, RAM_SIZE + 1ull,
		       BZ_ERR_INITRD_FIT);
	expect_refusal("initrd size without data", f, n, RAM_SIZE, "", NULL, 10, BZ_ERR_ARG);
	free(f);

	/* not a bzImage: a multiboot ELF's first bytes, a short file */
	{
		uint8_t elf[1024] = { 0x7f, 'E', 'L', 'F' };

		CHECK(!bz_is_bzimage(elf, sizeof(elf)));
		CHECK(!bz_is_bzimage(elf, 10));
		expect_refusal("ELF", elf, sizeof(elf), RAM_SIZE, "", NULL, 0, BZ_ERR_NOT_BZIMAGE);
		expect_refusal("short", elf, 0x200, RAM_SIZE, "", NULL, 0, BZ_ERR_TRUNCATED);
	}
}

static void test_refusals(void)
{
	struct spec s;
	uint64_t n;
	uint8_t *f;

	s = good(); s.version = 0x020b;
	refuse_spec("protocol 2.11", s, BZ_ERR_VERSION);
	s = good(); s.hdr_end = 0x262;
	refuse_spec("header ends before init_size", s, BZ_ERR_HEADER);
	s = good(); s.hdr_end = 0x292;
	refuse_spec("header past 0x290", s, BZ_ERR_HEADER);
	s = good(); s.xloadflags = 0x7e;
	refuse_spec("32-bit kernel", s, BZ_ERR_NOT_64BIT);
	s = good(); s.loadflags = 0x80;
	refuse_spec("zImage", s, BZ_ERR_NOT_HIGH);
	s = good(); s.syssize = PM_SIZE / 16 + 1;
	refuse_spec("syssize past the file", s, BZ_ERR_PAYLOAD);
	s = good(); s.syssize = 0;
	refuse_spec("syssize 0", s, BZ_ERR_PAYLOAD);
	s = good(); s.pm_size = 0; s.syssize = 0;
	refuse_spec("no protected-mode code", s, BZ_ERR_PAYLOAD);
	s = good(); s.init_size = PM_SIZE - 1;
	refuse_spec("init_size below the code", s, BZ_ERR_INIT_SIZE);
	s = good(); s.align = 0x300000;
	refuse_spec("alignment not a power of two", s, BZ_ERR_ALIGN);
	s = good(); s.align = 0;
	refuse_spec("alignment 0", s, BZ_ERR_ALIGN);
	s = good(); s.pref = PREF + 0x100000;
	refuse_spec("pref_address not aligned", s, BZ_ERR_ALIGN);
	s = good(); s.relocatable = 0; s.pref = PREF + 0x800;
	refuse_spec("pref_address not page aligned", s, BZ_ERR_ALIGN);
	s = good(); s.relocatable = 0; s.pref = 0x80000;
	refuse_spec("pref_address below 1 MiB", s, BZ_ERR_KERNEL_FIT);
	s = good(); s.pref = 0xfffe00000ull;
	refuse_spec("pref_address above 4 GiB", s, BZ_ERR_KERNEL_FIT);
	s = good(); s.pref = 0xffe00000ull; s.init_size = 0x400000;
	refuse_spec("kernel crossing 4 GiB", s, BZ_ERR_KERNEL_FIT);
	s = good(); s.init_size = 0xffffffffu;
	refuse_spec("init_size larger than RAM", s, BZ_ERR_KERNEL_FIT);
	s = good(); s.initrd_max = PREF + INIT_SIZE + 0x1000 - 1;
	f = build(&s, &n);
	expect_refusal("initrd_addr_max below the kernel's end", f, n, RAM_SIZE, "", f, 0x1001,
		       BZ_ERR_INITRD_FIT);
	free(f);

	/* the command line past BZ_CMDLINE_MAX - 1 even when the kernel allows more */
	{
		char *big = malloc(BZ_CMDLINE_MAX + 1);

		s = good();
		s.cmdline_size = 100000;
		f = build(&s, &n);
		memset(big, 'x', BZ_CMDLINE_MAX);
		big[BZ_CMDLINE_MAX - 1] = 0;
		CHECK(bz_check(f, n, RAM_SIZE, big, NULL, 0, NULL, NULL) == 0);
		big[BZ_CMDLINE_MAX - 1] = 'x';
		big[BZ_CMDLINE_MAX] = 0;
		expect_refusal("cmdline past BZ_CMDLINE_MAX", f, n, RAM_SIZE, big, NULL, 0,
			       BZ_ERR_CMDLINE);
		free(big);
		free(f);
	}

	/* magic and boot flag */
	s = good();
	f = build(&s, &n);
	f[0x202] = 'X';
	CHECK(!bz_is_bzimage(f, n));
	expect_refusal("no HdrS", f, n, RAM_SIZE, "", NULL, 0, BZ_ERR_NOT_BZIMAGE);
	f[0x202] = 'H';
	f[0x1fe] = 0;
	expect_refusal("no boot flag", f, n, RAM_SIZE, "", NULL, 0, BZ_ERR_NOT_BZIMAGE);
	f[0x1fe] = 0x55;
	/* truncated inside the setup code */
	expect_refusal("cut in the setup code", f, 8 * 512 - 1, RAM_SIZE, "", NULL, 0,
		       BZ_ERR_TRUNCATED);
	{
		struct bz_load_error e;

		CHECK(bz_load(f, n, NULL, RAM_SIZE, "", NULL, 0, NULL, &e) == -1);
		CHECK_STR(bz_err_name(e.code), "BZ_ERR_ARG");
	}
	free(f);
	CHECK(bz_load(NULL, 0, ram, RAM_SIZE, "", NULL, 0, NULL, NULL) == -1);
	CHECK_STR(bz_err_name((enum bz_load_err)99), "BZ_ERR_?");
}

/* Random byte mutations of a good image: every outcome is either a load
 * that describes itself within RAM or a refusal that wrote nothing, and
 * bz_check agrees with bz_load. */
static void test_mutations(void)
{
	/* A small kernel at 1 MiB in 1.125 MiB of RAM keeps the refusals'
	 * whole-RAM comparison cheap. */
	const uint64_t mram = 0x120000;
	struct spec s = good();
	uint64_t n, i;
	uint8_t *base, *f;
	unsigned seed = 12345, accepted = 0, refused = 0, bad = 0;
	bool dirty = true;

	s.pref = 0x100000;
	s.align = 0x100000;
	s.init_size = 0x10000;
	base = build(&s, &n);
	f = malloc(n);
	for (i = 0; i < 20000; i++) {
		struct bz_load_result r1, r2;
		struct bz_load_error e1, e2;
		unsigned k, flips = 1 + (rand_r(&seed) % 4);
		uint64_t len = n;
		int c1, c2;

		memcpy(f, base, n);
		for (k = 0; k < flips; k++) {
			/* mostly inside the header, where the checks are */
			uint64_t off = rand_r(&seed) % 4 ? 0x1f0u + (uint64_t)(rand_r(&seed) % 0x80) :
				       rand_r(&seed) % n;
			f[off] = (uint8_t)rand_r(&seed);
		}
		if (rand_r(&seed) % 8 == 0)
			len = rand_r(&seed) % n;
		if (dirty)
			memset(ram, PATTERN, mram);
		c1 = bz_check(f, len, mram, "a b", f, 0x100, &r1, &e1);
		c2 = bz_load(f, len, ram, mram, "a b", f, 0x100, &r2, &e2);
		dirty = c2 == 0;
		if (c1 != c2) {
			bad++;
		} else if (c2 == 0) {
			accepted++;
			if (r2.kernel_hi > mram || r2.kernel_lo < 0x100000 ||
			    r2.initrd_gpa < r2.kernel_hi || r2.initrd_gpa + 0x100 > mram ||
			    memcmp(&r1, &r2, sizeof(r1)))
				bad++;
		} else {
			refused++;
			if (e1.code != e2.code || memcmp(ram, ref, mram))
				bad++;
		}
	}
	printf("# mutations: %u accepted, %u refused\n", accepted, refused);
	CHECK_EQ_U64(bad, 0);
	CHECK(accepted > 100 && refused > 100);
	free(f);
	free(base);
}

static void write_seeds(const char *dir)
{
	struct spec s = good();
	char path[512];
	uint64_t n;
	uint8_t *f;
	FILE *o;

	s.pref = 0x100000;
	s.align = 0x100000;
	s.init_size = 0x10000;
	f = build(&s, &n);
	snprintf(path, sizeof(path), "%s/bzimage-good", dir);
	o = fopen(path, "wb");
	if (o) {
		fwrite(f, 1, n, o);
		fclose(o);
	}
	free(f);
}

/* RAM of 3.5 GiB: e820 shows RAM [1 MiB, 3 GiB) and [4 GiB, 4.5 GiB);
 * an initramfs the kernel lets go anywhere below 4 GiB still goes below the
 * hole, at the top of low RAM. The buffer is mapped lazily: only the pages
 * the loader writes are touched. */
static void test_high_ram(void)
{
	const uint64_t gib = 1ull << 30, size = 3584ull << 20;
	struct spec s = good();
	struct bz_load_result r;
	struct bz_load_error e;
	uint8_t initrd[5000] = { 1, 2, 3 }, *f, *zp, *e820;
	uint8_t *big = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t n;

	CHECK(big != MAP_FAILED);
	if (big == MAP_FAILED)
		return;
	s.initrd_max = 0xffffffff;
	f = build(&s, &n);
	CHECK(bz_load(f, n, big, size, "", initrd, sizeof(initrd), &r, &e) == 0);
	CHECK_EQ_U64(r.initrd_gpa, (3 * gib - sizeof(initrd)) & ~0xfffull);
	CHECK(memcmp(big + r.initrd_gpa, initrd, sizeof(initrd)) == 0);
	zp = big + BZ_ZERO_PAGE_GPA;
	CHECK_EQ_U64(zp[0x1e8], 4);
	e820 = zp + 0x2d0;
	CHECK_EQ_U64(get64(e820 + 40), 0x100000);
	CHECK_EQ_U64(get64(e820 + 48), 3 * gib - 0x100000);
	CHECK_EQ_U64(get32(e820 + 56), 1);
	CHECK_EQ_U64(get64(e820 + 60), 4 * gib);
	CHECK_EQ_U64(get64(e820 + 68), 512ull << 20);
	CHECK_EQ_U64(get32(e820 + 76), 1);
	CHECK_EQ_U64(get64(e820 + 80), 0);                   /* no fifth entry */
	/* A kernel whose pref_address + init_size reaches into the hole is
	 * refused though the buffer is long enough. */
	free(f);
	s = good();
	s.pref = 3 * gib - 0x200000;
	s.init_size = 0x400000;
	f = build(&s, &n);
	CHECK(bz_check(f, n, size, "", NULL, 0, &r, &e) == -1 && e.code == BZ_ERR_KERNEL_FIT);
	s.init_size = 0x200000;                              /* ends at 3 GiB exactly */
	free(f);
	f = build(&s, &n);
	CHECK(bz_check(f, n, size, "", NULL, 0, &r, &e) == 0);
	free(f);
	munmap(big, size);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds")) {
		write_seeds(argv[2]);
		return 0;
	}
	ram = malloc(RAM_SIZE);
	ref = malloc(RAM_SIZE);
	if (!ram || !ref)
		return 1;
	memset(ref, PATTERN, RAM_SIZE);
	test_accept();
	test_high_ram();
	test_variants();
	test_refusals();
	test_mutations();
	free(ram);
	free(ref);
	return th_done();
}
