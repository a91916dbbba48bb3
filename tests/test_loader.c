/* Host tests of pure/loader.c: ELF32/ELF64/a.out-kludge images built in
 * memory, every field of the multiboot information, every refusal (with
 * guest RAM left untouched), and a fixed-seed mutation loop.
 *
 * `test_loader --seeds DIR` writes the valid images into DIR as a starting
 * corpus for tests/fuzz_loader.c and exits. */
#include "harness.h"
#include <tscvisor/loader.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#define MiB (1024ull * 1024)
#define PATTERN 0xA5
#define FILE_CAP (64 * 1024)

#define MBH_OFF   0x800u    /* where the builder puts the multiboot header */
#define PH_OFF    0x40u     /* program headers */
#define DATA_OFF  0x1000u   /* first segment's file bytes */

/* ---- little-endian writers for the image builders ----------------------- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- image description ------------------------------------------------- */

struct tseg {
	uint32_t type;              /* 0 = PT_LOAD */
	uint64_t paddr, filesz, memsz;
	uint64_t offset;            /* 0 = next free file offset (page-aligned) */
};

struct timg {
	int cls;                    /* 32 or 64 */
	uint16_t machine;           /* 0 = the class's natural machine */
	uint16_t type;              /* 0 = ET_EXEC */
	uint64_t entry;
	uint32_t mbflags;
	bool bad_checksum;
	uint32_t mbh_off;           /* 0 = MBH_OFF */
	unsigned nseg;
	struct tseg seg[8];
	uint32_t aout[5];           /* header_addr load_addr load_end bss_end entry (bit 16) */
};

static uint8_t file_byte(uint64_t off)
{
	return (uint8_t)((off * 131u) ^ (off >> 7) ^ 0x5c);
}

static void put_mb_header(uint8_t *f, uint32_t off, const struct timg *t)
{
	uint32_t sum = 0u - (MB_HEADER_MAGIC + t->mbflags);
	unsigned i;

	put32(f + off, MB_HEADER_MAGIC);
	put32(f + off + 4, t->mbflags);
	put32(f + off + 8, t->bad_checksum ? sum + 1 : sum);
	if (t->mbflags & MB_HF_AOUT_KLUDGE)
		for (i = 0; i < 5; i++)
			put32(f + off + 12 + 4 * i, t->aout[i]);
}

/* ELF image: header, program headers at PH_OFF, multiboot header at
 * MBH_OFF, segment bytes from DATA_OFF. Returns the file size. */
static size_t build_elf(const struct timg *t, uint8_t *f)
{
	size_t size = DATA_OFF, i;
	uint64_t next = DATA_OFF;
	bool is64 = t->cls == 64;
	unsigned phsz = is64 ? 56 : 32;

	memset(f, 0, FILE_CAP);
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = is64 ? 2 : 1;
	f[5] = 1;
	f[6] = 1;
	put16(f + 16, t->type ? t->type : 2);
	put16(f + 18, t->machine ? t->machine : (is64 ? 62 : 3));
	put32(f + 20, 1);
	if (is64) {
		put64(f + 24, t->entry);
		put64(f + 32, PH_OFF);
		put16(f + 52, 64);
		put16(f + 54, 56);
		put16(f + 56, (uint16_t)t->nseg);
	} else {
		put32(f + 24, (uint32_t)t->entry);
		put32(f + 28, PH_OFF);
		put16(f + 40, 52);
		put16(f + 42, 32);
		put16(f + 44, (uint16_t)t->nseg);
	}
	for (i = 0; i < t->nseg; i++) {
		const struct tseg *s = &t->seg[i];
		uint8_t *p = f + PH_OFF + i * phsz;
		uint64_t off = s->offset ? s->offset : next, k;

		if (!s->offset) {
			next = (next + s->filesz + 0xfff) & ~0xfffull;
			for (k = 0; k < s->filesz && off + k < FILE_CAP; k++)
				f[off + k] = file_byte(off + k);
			if (s->filesz && off + s->filesz > size && off + s->filesz <= FILE_CAP)
				size = off + s->filesz;
		}
		if (is64) {
			put32(p, s->type ? s->type : 1);
			put32(p + 4, 7);
			put64(p + 8, off);
			put64(p + 16, s->paddr);
			put64(p + 24, s->paddr);
			put64(p + 32, s->filesz);
			put64(p + 40, s->memsz);
			put64(p + 48, 0x1000);
		} else {
			put32(p, s->type ? s->type : 1);
			put32(p + 4, (uint32_t)off);
			put32(p + 8, (uint32_t)s->paddr);
			put32(p + 12, (uint32_t)s->paddr);
			put32(p + 16, (uint32_t)s->filesz);
			put32(p + 20, (uint32_t)s->memsz);
			put32(p + 24, 7);
			put32(p + 28, 0x1000);
		}
	}
	put_mb_header(f, t->mbh_off ? t->mbh_off : MBH_OFF, t);
	return size;
}

/* Flat binary with the a.out kludge: `size` bytes, header at `hoff`. */
static size_t build_flat(uint8_t *f, size_t size, uint32_t hoff, const uint32_t aout[5],
			 uint32_t extra_flags)
{
	struct timg t = { .mbflags = MB_HF_AOUT_KLUDGE | extra_flags };
	size_t k;

	memcpy(t.aout, aout, sizeof(t.aout));
	memset(f, 0, FILE_CAP);
	for (k = 0; k < size; k++)
		f[k] = file_byte(k);
	put_mb_header(f, hoff, &t);
	return size;
}

/* A standard ELF32 kernel: text at 1 MiB, data+bss at 2 MiB, a PT_NOTE and
 * an empty PT_LOAD that must be ignored. */
static struct timg std_elf32(void)
{
	struct timg t = {
		.cls = 32, .entry = 0x100040, .nseg = 4,
		.mbflags = MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO,
		.seg = {
			{ .paddr = 0x100000, .filesz = 0x1800, .memsz = 0x1800 },
			{ .type = 4, .paddr = 0, .filesz = 0x20, .memsz = 0, .offset = 0x900 },
			{ .paddr = 0x200000, .filesz = 0x100, .memsz = 0x3000 },
			{ .paddr = 0x300000, .filesz = 0, .memsz = 0 },
		},
	};
	return t;
}

static struct timg std_elf64(void)
{
	struct timg t = {
		.cls = 64, .entry = 0x300010, .nseg = 2, .mbflags = MB_HF_MEMORY_INFO,
		.seg = {
			{ .paddr = 0x300000, .filesz = 0x2345, .memsz = 0x2345 },
			{ .paddr = 0x303000, .filesz = 0x10, .memsz = 0x5000 },
		},
	};
	return t;
}

/* ---- helpers ------------------------------------------------------------ */

static uint8_t file[FILE_CAP];

static uint8_t *new_ram(uint64_t size)
{
	uint8_t *ram = malloc(size);

	if (!ram) {
		printf("# out of memory\n");
		exit(2);
	}
	memset(ram, PATTERN, size);
	return ram;
}

static bool all_pattern(const uint8_t *p, uint64_t n)
{
	static uint8_t ref[65536];
	uint64_t chunk;

	if (ref[0] != PATTERN)
		memset(ref, PATTERN, sizeof(ref));
	for (; n; p += chunk, n -= chunk) {
		chunk = n < sizeof(ref) ? n : sizeof(ref);
		if (memcmp(p, ref, chunk) != 0)
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Expect both mb_check and mb_load to refuse with `code`, RAM untouched. */
static void expect_refusal_mods(const char *what, const uint8_t *f, size_t size,
				uint64_t ram_size, const char *prog, const char *args,
				const struct mb_module *mods, unsigned nmods,
				enum mb_load_err code)
{
	static uint8_t *ram;
	static uint64_t ram_alloc;
	struct mb_load_result res;
	struct mb_load_error err;
	int rc;

	if (ram_size <= 64 * MiB && ram_size > ram_alloc) {
		free(ram);
		ram = new_ram(ram_size);
		ram_alloc = ram_size;
	}
	printf("# refusal: %s\n", what);
	if (ram)
		memset(ram, PATTERN, ram_alloc);
	memset(&err, 0x11, sizeof(err));
	rc = mb_check(f, size, ram_size, prog, args, mods, nmods, &res, &err);
	CHECK_EQ_U64(rc, -1);
	CHECK_STR(mb_err_name(err.code), mb_err_name(code));
	CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof(err.msg)));
	printf("#   check: %s\n", err.msg);
	if (ram_size <= 64 * MiB) {
		memset(&err, 0x11, sizeof(err));
		rc = mb_load(f, size, ram, ram_size, prog, args, mods, nmods, &res, &err);
		CHECK_EQ_U64(rc, -1);
		CHECK_STR(mb_err_name(err.code), mb_err_name(code));
		CHECK(all_pattern(ram, ram_size));
	}
}

static void expect_refusal(const char *what, const uint8_t *f, size_t size, uint64_t ram_size,
			   enum mb_load_err code)
{
	expect_refusal_mods(what, f, size, ram_size, "kern", "a=1", NULL, 0, code);
}

static void refuse_img(const char *what, const struct timg *t, enum mb_load_err code)
{
	size_t n = build_elf(t, file);

	expect_refusal(what, file, n, 4 * MiB, code);
}

static void accept_img(const char *what, const struct timg *t, uint64_t ram_size)
{
	struct mb_load_error err;
	struct mb_load_result res;
	size_t n = build_elf(t, file);
	int rc = mb_check(file, n, ram_size, "k", NULL, NULL, 0, &res, &err);

	printf("# accept: %s\n", what);
	CHECK_EQ_U64(rc, 0);
	if (rc)
		printf("#   %s: %s\n", mb_err_name(err.code), err.msg);
}

/* Check the memory map and the fixed fields of the info structure. */
/* Guest RAM past 3 GiB continues at 4 GiB (guestmem.h): a fourth entry. */
static void check_mbi_common(const uint8_t *ram, uint64_t ram_size, uint32_t mbi)
{
	uint32_t mmap_addr, mmap_len, off;
	uint64_t low = ram_size < 3072 * MiB ? ram_size : 3072 * MiB;
	uint64_t want[4][3] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x100000 - 0x9FC00, 2 },
		{ 0x100000, low - 0x100000, 1 },
		{ 4096 * MiB, ram_size - low, 1 },
	};
	unsigned n = 0, want_n = ram_size > low ? 4 : 3;

	CHECK_EQ_U64(get32(ram + mbi), 0x24D);       /* bits 0,2,3,6,9 */
	CHECK_EQ_U64(get32(ram + mbi + 4), 639);
	CHECK_EQ_U64(get32(ram + mbi + 8), (low - MiB) / 1024);   /* contiguous from 1 MiB */
	CHECK_EQ_U64(get32(ram + mbi + 12), 0);      /* boot_device: not given */
	CHECK_STR((const char *)ram + get32(ram + mbi + 64), "tscvisor");
	mmap_len = get32(ram + mbi + 44);
	mmap_addr = get32(ram + mbi + 48);
	CHECK_EQ_U64(mmap_len, 24 * want_n);
	CHECK(mmap_addr >= 0x1000 && mmap_addr + mmap_len <= 0x9FC00);
	/* Walk it as a kernel does: the size field does not count itself. */
	for (off = 0; off < mmap_len && n < want_n; n++) {
		const uint8_t *e = ram + mmap_addr + off;

		CHECK_EQ_U64(get32(e), 20);
		CHECK_EQ_U64(get64(e + 4), want[n][0]);
		CHECK_EQ_U64(get64(e + 12), want[n][1]);
		CHECK_EQ_U64(get32(e + 20), want[n][2]);
		off += get32(e) + 4;
	}
	CHECK_EQ_U64(n, want_n);
	CHECK_EQ_U64(off, mmap_len);
	/* Nothing we wrote is in page 0. */
	CHECK(all_pattern(ram, 0x1000));
}

/* ---- tests -------------------------------------------------------------- */

static void test_elf32(void)
{
	struct timg t = std_elf32();
	uint64_t ram_size = 4 * MiB;
	uint8_t *ram = new_ram(ram_size);
	struct mb_load_result res, chk;
	struct mb_load_error err;
	size_t n = build_elf(&t, file);
	uint32_t mbi;
	int rc;

	printf("# ELF32 kernel\n");
	rc = mb_check(file, n, ram_size, "kern.elf", "console=ttyS0 x=1", NULL, 0, &chk, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK(all_pattern(ram, ram_size));
	rc = mb_load(file, n, ram, ram_size, "kern.elf", "console=ttyS0 x=1", NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	if (rc) {
		printf("# %s\n", err.msg);
		free(ram);
		return;
	}
	CHECK(memcmp(&res, &chk, sizeof(res)) == 0);
	CHECK_EQ_U64(res.entry, 0x100040);
	CHECK_EQ_U64(res.mbi_gpa, 0x9000);
	CHECK_EQ_U64(res.kernel_lo, 0x100000);
	CHECK_EQ_U64(res.kernel_hi, 0x203000);
	CHECK_EQ_U64(res.mods_hi, 0x203000);
	CHECK_EQ_U64(res.nsegs, 2);
	CHECK_EQ_U64(res.elf_class, 32);
	CHECK_EQ_U64(res.header_offset, MBH_OFF);
	CHECK_EQ_U64(res.header_flags, 3);
	CHECK(!res.aout_kludge);
	CHECK(!res.video_ignored);
	/* Segment bytes at p_paddr, bss zeroed, nothing around them touched. */
	CHECK(memcmp(ram + 0x100000, file + 0x1000, 0x1800) == 0);
	CHECK(memcmp(ram + 0x200000, file + 0x3000, 0x100) == 0);
	CHECK(all_zero(ram + 0x200100, 0x3000 - 0x100));
	CHECK(all_pattern(ram + 0x101800, 0x200000 - 0x101800));
	CHECK(all_pattern(ram + 0x203000, ram_size - 0x203000));
	CHECK(all_pattern(ram + 0xC000, 0x100000 - 0xC000));
	CHECK(all_pattern(ram + 0x1000, 0x9000 - 0x1000));

	mbi = res.mbi_gpa;
	check_mbi_common(ram, ram_size, mbi);
	CHECK_STR((const char *)ram + get32(ram + mbi + 16), "kern.elf console=ttyS0 x=1");
	CHECK_EQ_U64(get32(ram + mbi + 20), 0);
	CHECK(get32(ram + mbi + 24) >= 0x9000 && get32(ram + mbi + 24) < 0xC000);
	free(ram);
}

/* The standard kernel loaded into a lazily mapped buffer of ram_size
 * (only the pages the loader writes are ever touched), its map checked. */
static void load_lazy(uint64_t ram_size, const uint8_t *img, size_t n)
{
	uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct mb_load_result res;
	struct mb_load_error err;
	int rc;

	CHECK(ram != MAP_FAILED);
	if (ram == MAP_FAILED) {
		printf("# no address space for %llu bytes\n", (unsigned long long)ram_size);
		return;
	}
	memset(ram, PATTERN, 0x1000);
	rc = mb_load(img, n, ram, ram_size, "k", "", NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	if (!rc)
		check_mbi_common(ram, ram_size, res.mbi_gpa);
	munmap(ram, ram_size);
}

/* RAM of 3.5 GiB: the map shows [1 MiB, 3 GiB) and [4 GiB, 4.5 GiB), and
 * mem_upper stops at the hole; exactly 3 GiB: no high range. */
static void test_high_ram(void)
{
	struct timg t = std_elf32();
	struct mb_load_result res;
	struct mb_load_error err;
	size_t n = build_elf(&t, file);
	int rc;

	printf("# RAM above 4 GiB\n");
	load_lazy(3584 * MiB, file, n);
	load_lazy(3072 * MiB, file, n);
	/* A segment at 3 GiB - 4 KiB, reaching into the hole: refused though
	 * the buffer is long enough. */
	t = std_elf32();
	t.seg[2].paddr = 0xC0000000u - 0x1000;
	n = build_elf(&t, file);
	rc = mb_check(file, n, 3584 * MiB, "k", NULL, NULL, 0, &res, &err);
	CHECK(rc != 0 && err.code == MB_ERR_SEG_RAM);
}

static void test_elf64(void)
{
	struct timg t = std_elf64();
	uint64_t ram_size = 8 * MiB + 0x1234;    /* not a page multiple */
	uint8_t *ram = new_ram(ram_size);
	struct mb_load_result res;
	struct mb_load_error err;
	size_t n = build_elf(&t, file);
	int rc;

	printf("# ELF64 kernel\n");
	rc = mb_load(file, n, ram, ram_size, "k64", "", NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	if (rc) {
		printf("# %s\n", err.msg);
		free(ram);
		return;
	}
	CHECK_EQ_U64(res.entry, 0x300010);
	CHECK_EQ_U64(res.elf_class, 64);
	CHECK_EQ_U64(res.nsegs, 2);
	CHECK_EQ_U64(res.kernel_lo, 0x300000);
	CHECK_EQ_U64(res.kernel_hi, 0x308000);
	CHECK(memcmp(ram + 0x300000, file + 0x1000, 0x2345) == 0);
	CHECK(all_pattern(ram + 0x302345, 0x303000 - 0x302345));
	CHECK(memcmp(ram + 0x303000, file + 0x4000, 0x10) == 0);
	CHECK(all_zero(ram + 0x303010, 0x5000 - 0x10));
	CHECK(all_pattern(ram + 0x308000, ram_size - 0x308000));
	check_mbi_common(ram, ram_size, res.mbi_gpa);
	CHECK_STR((const char *)ram + get32(ram + res.mbi_gpa + 16), "k64");
	free(ram);
}

static void test_aout(void)
{
	/* Flat image linked at 1 MiB, header 0x20 bytes in, 0x300 bytes of
	 * text+data, bss to 1 MiB + 0x5000. */
	uint32_t aout[5] = { 0x100020, 0x100000, 0x100300, 0x105000, 0x100080 };
	uint64_t ram_size = 2 * MiB;
	uint8_t *ram = new_ram(ram_size);
	struct mb_load_result res;
	struct mb_load_error err;
	size_t n = build_flat(file, 0x400, 0x20, aout, 0);
	int rc;

	printf("# a.out kludge kernel\n");
	rc = mb_load(file, n, ram, ram_size, "flat", "x", NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK(res.aout_kludge);
	CHECK_EQ_U64(res.elf_class, 0);
	CHECK_EQ_U64(res.nsegs, 1);
	CHECK_EQ_U64(res.entry, 0x100080);
	CHECK_EQ_U64(res.kernel_lo, 0x100000);
	CHECK_EQ_U64(res.kernel_hi, 0x105000);
	CHECK(memcmp(ram + 0x100000, file, 0x300) == 0);
	CHECK(all_zero(ram + 0x100300, 0x5000 - 0x300));
	CHECK(all_pattern(ram + 0x105000, ram_size - 0x105000));
	check_mbi_common(ram, ram_size, res.mbi_gpa);
	CHECK_STR((const char *)ram + get32(ram + res.mbi_gpa + 16), "flat x");

	/* The header 0x40 bytes into the file, load_addr = header_addr - 0x20:
	 * loading starts at file offset 0x20; load_end 0 = to the end of the
	 * file; bss_end 0 = no bss. */
	{
		uint32_t a2[5] = { 0x180020, 0x180000, 0, 0, 0x180000 };

		memset(ram, PATTERN, ram_size);
		n = build_flat(file, 0x1000, 0x40, a2, 0);
		rc = mb_load(file, n, ram, ram_size, "flat", NULL, NULL, 0, &res, &err);
		CHECK_EQ_U64(rc, 0);
		CHECK_EQ_U64(res.kernel_hi, 0x180000 + 0x1000 - 0x20);
		CHECK(memcmp(ram + 0x180000, file + 0x20, 0x1000 - 0x20) == 0);
		CHECK(all_pattern(ram + 0x180000 + 0x1000 - 0x20, 0x20));
	}

	/* Bit 16 on an ELF file: the address fields win, the program headers
	 * are not used (the whole file is loaded raw as GRUB 2 and QEMU do). */
	{
		struct timg t = std_elf32();

		t.mbflags |= MB_HF_AOUT_KLUDGE;
		t.aout[0] = 0x500000 + MBH_OFF;
		t.aout[1] = 0x500000;
		t.aout[2] = 0x500000 + 0x1800;
		t.aout[3] = 0x500000 + 0x2000;
		t.aout[4] = 0x500000 + 0x1000;
		n = build_elf(&t, file);
		memset(ram, PATTERN, ram_size);
		rc = mb_check(file, n, 8 * MiB, "e", NULL, NULL, 0, &res, &err);
		CHECK_EQ_U64(rc, 0);
		CHECK(res.aout_kludge);
		CHECK_EQ_U64(res.kernel_lo, 0x500000);
		CHECK_EQ_U64(res.kernel_hi, 0x502000);
		CHECK_EQ_U64(res.entry, 0x501000);
		/* Does not fit in 2 MiB: refused by the kludge's addresses. */
		rc = mb_load(file, n, ram, ram_size, "e", NULL, NULL, 0, &res, &err);
		CHECK_EQ_U64(rc, -1);
		CHECK_EQ_U64(err.code, MB_ERR_SEG_RAM);
	}
	free(ram);
}

static void test_flags(void)
{
	struct timg t = std_elf32();
	struct mb_load_result res;
	struct mb_load_error err;
	size_t n;
	int rc;

	printf("# header flags\n");
	t.mbflags = MB_HF_VIDEO_MODE | MB_HF_PAGE_ALIGN;
	n = build_elf(&t, file);
	rc = mb_check(file, n, 4 * MiB, "k", NULL, NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK(res.video_ignored);
	t.mbflags = 1u << 17 | 1u << 31;          /* unknown optional bits: fine */
	n = build_elf(&t, file);
	rc = mb_check(file, n, 4 * MiB, "k", NULL, NULL, 0, &res, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK(!res.video_ignored);
	t.mbflags = 0;
	accept_img("flags 0", &t, 4 * MiB);
	t.mbflags = 1u << 3;
	refuse_img("required bit 3", &t, MB_ERR_FLAGS);
	t.mbflags = 1u << 15 | 3;
	refuse_img("required bit 15", &t, MB_ERR_FLAGS);
}

static void test_cmdline(void)
{
	struct timg t = std_elf32();
	uint64_t ram_size = 4 * MiB;
	uint8_t *ram = new_ram(ram_size);
	struct mb_load_result res;
	struct mb_load_error err;
	size_t n = build_elf(&t, file);
	static char big[MB_CMDLINE_MAX + 8];
	const char *got;

	printf("# command line\n");
	CHECK_EQ_U64(mb_load(file, n, ram, ram_size, "prog", NULL, NULL, 0, &res, &err), 0);
	got = (const char *)ram + get32(ram + res.mbi_gpa + 16);
	CHECK_STR(got, "prog");
	CHECK_EQ_U64(mb_load(file, n, ram, ram_size, NULL, "only args", NULL, 0, &res, &err), 0);
	CHECK_STR(got, "only args");
	CHECK_EQ_U64(mb_load(file, n, ram, ram_size, "", "", NULL, 0, &res, &err), 0);
	CHECK_STR(got, "");
	/* Exactly the limit: 4 + 1 + 4090 = 4095 bytes. */
	memset(big, 'a', 4090);
	big[4090] = '\0';
	CHECK_EQ_U64(mb_load(file, n, ram, ram_size, "prog", big, NULL, 0, &res, &err), 0);
	CHECK_EQ_U64(strlen(got), MB_CMDLINE_MAX - 1);
	CHECK(strncmp(got, "prog aaaa", 9) == 0);
	free(ram);
	big[4090] = 'a';
	big[4091] = '\0';
	expect_refusal_mods("command line one byte too long", file, n, ram_size, "prog", big,
			    NULL, 0, MB_ERR_CMDLINE);
}

static void test_modules(void)
{
	struct timg t = std_elf32();
	uint64_t ram_size = 4 * MiB;
	uint8_t *ram = new_ram(ram_size);
	struct mb_load_result res;
	struct mb_load_error err;
	static uint8_t m0[5000], m2[123];
	static char longstr[MB_MODSTR_MAX + 1];
	struct mb_module mods[MB_MAX_MODULES + 1];
	size_t n = build_elf(&t, file), k;
	uint32_t list, s0, e0, s1, e1, s2, e2;
	unsigned i;
	int rc;

	printf("# modules\n");
	for (k = 0; k < sizeof(m0); k++)
		m0[k] = (uint8_t)(k * 3 + 1);
	for (k = 0; k < sizeof(m2); k++)
		m2[k] = (uint8_t)(k ^ 0x77);
	mods[0] = (struct mb_module){ m0, sizeof(m0), "initrd root=1" };
	mods[1] = (struct mb_module){ NULL, 0, NULL };
	mods[2] = (struct mb_module){ m2, sizeof(m2), "third" };
	rc = mb_load(file, n, ram, ram_size, "kern", "a", mods, 3, &res, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK_EQ_U64(get32(ram + res.mbi_gpa) & 8, 8);
	CHECK_EQ_U64(get32(ram + res.mbi_gpa + 20), 3);
	list = get32(ram + res.mbi_gpa + 24);
	s0 = get32(ram + list); e0 = get32(ram + list + 4);
	s1 = get32(ram + list + 16); e1 = get32(ram + list + 20);
	s2 = get32(ram + list + 32); e2 = get32(ram + list + 36);
	CHECK_EQ_U64(s0, 0x203000);                  /* page above kernel_hi */
	CHECK_EQ_U64(e0, 0x203000 + 5000);
	CHECK_EQ_U64(s1, 0x205000);
	CHECK_EQ_U64(e1, s1);
	CHECK_EQ_U64(s2, 0x205000);
	CHECK_EQ_U64(e2, s2 + 123);
	CHECK_EQ_U64(res.mods_hi, e2);
	CHECK((s0 | s1 | s2) % 4096 == 0);
	CHECK(memcmp(ram + s0, m0, sizeof(m0)) == 0);
	CHECK(memcmp(ram + s2, m2, sizeof(m2)) == 0);
	CHECK_STR((const char *)ram + get32(ram + list + 8), "initrd root=1");
	CHECK_STR((const char *)ram + get32(ram + list + 24), "");
	CHECK_STR((const char *)ram + get32(ram + list + 40), "third");
	CHECK_EQ_U64(get32(ram + list + 12), 0);
	CHECK(all_pattern(ram + 0x203000 + 5000, 0x205000 - 0x203000 - 5000));
	CHECK(all_pattern(ram + e2, ram_size - e2));
	CHECK_STR((const char *)ram + get32(ram + res.mbi_gpa + 16), "kern a");

	/* A kernel ending just below the info area: the module skips it. */
	{
		struct timg lo = { .cls = 32, .entry = 0x1000, .nseg = 1,
			.seg = { { .paddr = 0x1000, .filesz = 0x100, .memsz = 0x7800 } } };
		struct mb_module one = { m0, sizeof(m0), "m" };

		n = build_elf(&lo, file);
		memset(ram, PATTERN, ram_size);
		rc = mb_load(file, n, ram, ram_size, "k", NULL, &one, 1, &res, &err);
		CHECK_EQ_U64(rc, 0);
		list = get32(ram + res.mbi_gpa + 24);
		CHECK_EQ_U64(get32(ram + list), 0xC000);
		CHECK(memcmp(ram + 0xC000, m0, sizeof(m0)) == 0);
	}
	/* A kernel ending just below the platform hole: next stop 1 MiB. */
	{
		struct timg lo = { .cls = 32, .entry = 0x20000, .nseg = 1,
			.seg = { { .paddr = 0x20000, .filesz = 0x100, .memsz = 0x9F000 - 0x20000 } } };
		struct mb_module two[2] = { { m2, sizeof(m2), "a" }, { m0, sizeof(m0), "b" } };

		n = build_elf(&lo, file);
		memset(ram, PATTERN, ram_size);
		rc = mb_load(file, n, ram, ram_size, "k", NULL, two, 2, &res, &err);
		CHECK_EQ_U64(rc, 0);
		list = get32(ram + res.mbi_gpa + 24);
		CHECK_EQ_U64(get32(ram + list), 0x9F000);   /* 123 bytes fit below 0x9FC00 */
		CHECK_EQ_U64(get32(ram + list + 16), 0x100000);
		CHECK(memcmp(ram + 0x100000, m0, sizeof(m0)) == 0);
	}
	free(ram);

	/* Refusals. */
	n = build_elf(&t, file);
	for (i = 0; i <= MB_MAX_MODULES; i++)
		mods[i] = (struct mb_module){ m2, sizeof(m2), "x" };
	expect_refusal_mods("17 modules", file, n, ram_size, "k", NULL, mods,
			    MB_MAX_MODULES + 1, MB_ERR_TOO_MANY_MODS);
	rc = mb_check(file, n, ram_size, "k", NULL, mods, MB_MAX_MODULES, &res, &err);
	CHECK_EQ_U64(rc, 0);
	memset(longstr, 's', MB_MODSTR_MAX - 1);
	mods[1].string = longstr;
	rc = mb_check(file, n, ram_size, "k", NULL, mods, 2, &res, &err);
	CHECK_EQ_U64(rc, 0);
	longstr[MB_MODSTR_MAX - 1] = 's';
	expect_refusal_mods("module string too long", file, n, ram_size, "k", NULL, mods, 2,
			    MB_ERR_MOD_STRING);
	mods[1] = (struct mb_module){ NULL, 10, "x" };
	expect_refusal_mods("module without data", file, n, ram_size, "k", NULL, mods, 2,
			    MB_ERR_ARG);
	expect_refusal_mods("module count without array", file, n, ram_size, "k", NULL, NULL, 1,
			    MB_ERR_ARG);
	/* 4 MiB RAM, kernel ends at 0x203000: 0x1FD000 bytes are left. */
	mods[0] = (struct mb_module){ m2, 0x1FD000, "big" };
	rc = mb_check(file, n, ram_size, "k", NULL, mods, 1, &res, &err);
	CHECK_EQ_U64(rc, 0);
	mods[0].size = 0x1FD001;
	expect_refusal_mods("module one byte too big", file, n, ram_size, "k", NULL, mods, 1,
			    MB_ERR_MOD_FIT);
	mods[0].size = UINT64_MAX;
	expect_refusal_mods("module of 2^64-1 bytes", file, n, ram_size, "k", NULL, mods, 1,
			    MB_ERR_MOD_FIT);
	mods[0].size = 0x1000;
	mods[1] = (struct mb_module){ m2, UINT64_MAX - 0x100, "wrap" };
	expect_refusal_mods("second module wraps", file, n, ram_size, "k", NULL, mods, 2,
			    MB_ERR_MOD_FIT);
	/* RAM past 3 GiB (continued at 4 GiB): modules still must end below
	 * the MMIO hole at 3 GiB, where RAM is contiguous. */
	mods[0] = (struct mb_module){ m2, 0xC0000000ull - 0x203000, "fits" };
	rc = mb_check(file, n, 16ull << 30, "k", NULL, mods, 1, &res, &err);
	CHECK_EQ_U64(rc, 0);
	CHECK_EQ_U64(res.mods_hi, 0xC0000000ull);
	mods[0].size++;
	expect_refusal_mods("module reaching into the MMIO hole", file, n, 16ull << 30, "k", NULL,
			    mods, 1, MB_ERR_MOD_FIT);
}

static void test_header_refusals(void)
{
	struct timg t = std_elf32();
	size_t n;

	printf("# multiboot header refusals\n");
	memset(file, 0, 100);
	expect_refusal("no header at all", file, 100, 4 * MiB, MB_ERR_NO_HEADER);
	expect_refusal("empty file", file, 0, 4 * MiB, MB_ERR_NO_HEADER);
	t.bad_checksum = true;
	refuse_img("bad checksum", &t, MB_ERR_CHECKSUM);
	t.bad_checksum = false;

	/* Position rules: 4-aligned, wholly inside the first 8192 bytes. */
	t.mbh_off = 8192 - 12;
	accept_img("header ending at byte 8192", &t, 4 * MiB);
	t.mbh_off = 8192 - 8;
	n = build_elf(&t, file);
	put32(file + MBH_OFF, 0);
	expect_refusal("header crossing byte 8192", file, n, 4 * MiB, MB_ERR_NO_HEADER);
	t.mbh_off = 8192;
	n = build_elf(&t, file);
	put32(file + MBH_OFF, 0);
	expect_refusal("header at byte 8192", file, n, 4 * MiB, MB_ERR_NO_HEADER);
	t.mbh_off = MBH_OFF + 2;
	n = build_elf(&t, file);
	put32(file + MBH_OFF, 0);
	expect_refusal("misaligned header", file, n, 4 * MiB, MB_ERR_NO_HEADER);
	t.mbh_off = 0;
	/* A first bad copy is skipped when a good one follows. */
	n = build_elf(&t, file);
	put32(file + 0x700, MB_HEADER_MAGIC);
	put32(file + 0x704, 0);
	put32(file + 0x708, 1);
	{
		struct mb_load_result res;
		struct mb_load_error err;

		CHECK_EQ_U64(mb_check(file, n, 4 * MiB, "k", NULL, NULL, 0, &res, &err), 0);
		CHECK_EQ_U64(res.header_offset, MBH_OFF);
	}
	/* The header must lie in the file too: file cut inside it. */
	n = build_elf(&t, file);
	expect_refusal("file ends inside the header", file, MBH_OFF + 8, 4 * MiB,
		       MB_ERR_NO_HEADER);

	/* Bit 16 fields past the file end / past byte 8192. */
	{
		uint32_t aout[5] = { 0x100000, 0x100000, 0, 0, 0x100000 };

		n = build_flat(file, 0x20, 0, aout, 0);
		expect_refusal("a.out fields past the file", file, 0x1c, 4 * MiB,
			       MB_ERR_HEADER_TRUNCATED);
		n = build_flat(file, 0x3000, 8192 - 12, aout, 0);
		expect_refusal("a.out fields past byte 8192", file, n, 4 * MiB,
			       MB_ERR_HEADER_TRUNCATED);
	}
	/* No ELF and no bit 16. */
	memset(file, 0x90, 0x100);
	t.mbflags = 0;
	put_mb_header(file, 0x10, &t);
	expect_refusal("flat file without bit 16", file, 0x100, 4 * MiB, MB_ERR_NOT_ELF);
}

static void test_elf_refusals(void)
{
	struct timg t;
	size_t n;

	printf("# ELF refusals\n");
	/* A 28-byte file: ELF identification + multiboot header, no room for
	 * the rest of the ELF header. */
	t = std_elf32();
	n = build_elf(&t, file);
	put_mb_header(file, 16, &t);
	expect_refusal("ELF32 header truncated", file, 28, 4 * MiB, MB_ERR_ELF_HEADER);
	t = std_elf64();
	n = build_elf(&t, file);
	put_mb_header(file, 44, &t);
	expect_refusal("ELF64 header truncated", file, 56, 4 * MiB, MB_ERR_ELF_HEADER);

	t = std_elf32();
	n = build_elf(&t, file);
	file[5] = 2;
	expect_refusal("big-endian ELF", file, n, 4 * MiB, MB_ERR_ELF_HEADER);
	n = build_elf(&t, file);
	file[6] = 0;
	expect_refusal("ELF version 0", file, n, 4 * MiB, MB_ERR_ELF_HEADER);
	n = build_elf(&t, file);
	file[4] = 3;
	expect_refusal("ELF class 3", file, n, 4 * MiB, MB_ERR_ELF_CLASS);
	file[4] = 0;
	expect_refusal("ELF class 0", file, n, 4 * MiB, MB_ERR_ELF_CLASS);

	t.machine = 62;
	refuse_img("ELF32 with EM_X86_64", &t, MB_ERR_ELF_MACHINE);
	t = std_elf64();
	t.machine = 3;
	refuse_img("ELF64 with EM_386", &t, MB_ERR_ELF_MACHINE);
	t.machine = 40;
	refuse_img("ELF64 with EM_ARM", &t, MB_ERR_ELF_MACHINE);
	t = std_elf64();
	t.type = 3;
	refuse_img("ET_DYN", &t, MB_ERR_ELF_TYPE);
	t.type = 1;
	refuse_img("ET_REL", &t, MB_ERR_ELF_TYPE);

	/* Program header table. */
	t = std_elf32();
	n = build_elf(&t, file);
	put32(file + 28, (uint32_t)n - 0x40);
	expect_refusal("ELF32 phdrs past the file end", file, n, 4 * MiB, MB_ERR_PHDRS);
	put32(file + 28, 0xFFFFFFF0u);
	expect_refusal("ELF32 phoff near 4 GiB", file, n, 4 * MiB, MB_ERR_PHDRS);
	n = build_elf(&t, file);
	put16(file + 42, 40);
	expect_refusal("ELF32 phentsize 40", file, n, 4 * MiB, MB_ERR_PHDRS);
	t = std_elf64();
	n = build_elf(&t, file);
	put64(file + 32, UINT64_MAX - 8);
	expect_refusal("ELF64 phoff overflow", file, n, 4 * MiB, MB_ERR_PHDRS);
	put64(file + 32, n);
	expect_refusal("ELF64 phoff at the file end", file, n, 4 * MiB, MB_ERR_PHDRS);
	n = build_elf(&t, file);
	put16(file + 54, 32);
	expect_refusal("ELF64 phentsize 32", file, n, 4 * MiB, MB_ERR_PHDRS);
	n = build_elf(&t, file);
	put16(file + 56, 65);
	expect_refusal("65 program headers", file, n, 4 * MiB, MB_ERR_TOO_MANY_PHDRS);
	put16(file + 56, 0xFFFF);
	expect_refusal("65535 program headers", file, n, 4 * MiB, MB_ERR_TOO_MANY_PHDRS);
	put16(file + 56, 0);
	expect_refusal("no program headers", file, n, 4 * MiB, MB_ERR_NO_LOAD);
	{
		/* 64 program headers are fine (the last one is the only PT_LOAD). */
		struct timg m = std_elf32();
		unsigned i;

		m.nseg = 1;
		n = build_elf(&m, file);
		for (i = 1; i < 64; i++)
			memcpy(file + PH_OFF + i * 32, file + PH_OFF, 32);
		for (i = 0; i < 63; i++)
			put32(file + PH_OFF + i * 32, 6);   /* PT_PHDR */
		put16(file + 44, 64);
		put_mb_header(file, 0x1000 + 0x1800 - 0x1000, &m);  /* past the table */
		{
			struct mb_load_result res;
			struct mb_load_error err;
			int rc = mb_check(file, n, 4 * MiB, "k", NULL, NULL, 0, &res, &err);

			CHECK_EQ_U64(rc, 0);
			CHECK_EQ_U64(res.nsegs, 1);
		}
	}

	t = std_elf32();
	t.seg[0].type = 4;
	t.seg[2].type = 4;
	refuse_img("only a zero-size PT_LOAD", &t, MB_ERR_NO_LOAD);
}

static void test_segment_refusals(void)
{
	struct timg t;
	size_t n;

	printf("# segment refusals\n");
	t = std_elf32();
	t.seg[2].filesz = 0x3001;
	refuse_img("p_filesz > p_memsz", &t, MB_ERR_SEG_SIZES);
	t = std_elf32();
	t.seg[3].filesz = 1;
	refuse_img("p_filesz 1, p_memsz 0", &t, MB_ERR_SEG_SIZES);
	t = std_elf32();
	n = build_elf(&t, file);
	expect_refusal("segment bytes past the file end", file, n - 1, 4 * MiB, MB_ERR_SEG_FILE);
	t = std_elf64();
	t.seg[1].offset = UINT64_MAX - 4;
	refuse_img("ELF64 p_offset + p_filesz wraps", &t, MB_ERR_SEG_FILE);
	t = std_elf32();
	t.seg[0].offset = 0xFFFFFF00;
	refuse_img("ELF32 p_offset far past the file", &t, MB_ERR_SEG_FILE);
	/* A segment without file bytes may have any offset. */
	t = std_elf32();
	t.seg[2].filesz = 0;
	t.seg[2].offset = 0xFFFFFF00;
	accept_img("pure bss with a wild offset", &t, 4 * MiB);

	t = std_elf32();
	t.seg[2].paddr = 4 * MiB - 0x2FFF;
	refuse_img("segment one byte past RAM", &t, MB_ERR_SEG_RAM);
	t.seg[2].paddr = 4 * MiB - 0x3000;
	accept_img("segment ending at the end of RAM", &t, 4 * MiB);
	t.seg[2].paddr = 0xFFFFF000;
	refuse_img("ELF32 segment far past RAM", &t, MB_ERR_SEG_RAM);
	t = std_elf64();
	t.seg[1].paddr = UINT64_MAX - 0x1000;
	refuse_img("ELF64 p_paddr + p_memsz wraps", &t, MB_ERR_SEG_RAM);
	t = std_elf64();
	t.seg[1].memsz = UINT64_MAX;
	refuse_img("ELF64 p_memsz 2^64-1", &t, MB_ERR_SEG_RAM);

	/* Above 4 GiB (only checked: a 16 GiB guest). */
	t = std_elf64();
	t.seg[1].paddr = 5ull << 30;
	n = build_elf(&t, file);
	expect_refusal("segment at 5 GiB", file, n, 16ull << 30, MB_ERR_SEG_4G);
	t.seg[1].paddr = 0xFFFFF000;
	n = build_elf(&t, file);
	expect_refusal("segment crossing 4 GiB", file, n, 16ull << 30, MB_ERR_SEG_4G);
	/* Ending at 4 GiB: below it, but in the MMIO hole (RAM past 3 GiB is
	 * at 4 GiB and up); ending at 3 GiB: the top of low RAM, accepted. */
	t.seg[1].memsz = 0x1000;
	n = build_elf(&t, file);
	expect_refusal("segment in the MMIO hole", file, n, 16ull << 30, MB_ERR_SEG_RAM);
	t.seg[1].paddr = 0xBFFFF000;
	n = build_elf(&t, file);
	{
		struct mb_load_result res;
		struct mb_load_error err;

		CHECK_EQ_U64(mb_check(file, n, 16ull << 30, "k", NULL, NULL, 0, &res, &err), 0);
		CHECK_EQ_U64(res.kernel_hi, 0xC0000000ull);
	}
	t = std_elf64();
	t.entry = 0x100400010ull;
	t.seg[0].paddr = 0x100400000ull;
	n = build_elf(&t, file);
	expect_refusal("ELF64 kernel above 4 GiB", file, n, 16ull << 30, MB_ERR_SEG_4G);

	/* Reserved areas. */
	t = std_elf32();
	t.seg[2].paddr = 0x9000;
	refuse_img("segment on the info area", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x6001;
	refuse_img("segment ending one byte into the info area", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x6000;
	accept_img("segment ending at the info area", &t, 4 * MiB);
	t.seg[2].paddr = 0xBFFF;
	refuse_img("segment starting at the info area's last byte", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0xC000;
	accept_img("segment starting after the info area", &t, 4 * MiB);
	t.seg[2].paddr = 0x9FC00 - 0x3000 + 1;
	refuse_img("segment ending one byte into 0x9FC00", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x9FC00 - 0x3000;
	accept_img("segment ending at 0x9FC00", &t, 4 * MiB);
	t.seg[2].paddr = 0xE0000;
	refuse_img("segment in the ACPI/BIOS area", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x100000 - 0x2FFF;
	t.seg[0].paddr = 0x110000;
	t.entry = 0x110000;
	refuse_img("segment ending one byte past 1 MiB", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x80000;
	t.seg[2].memsz = 0x100000;
	refuse_img("segment spanning the whole hole", &t, MB_ERR_SEG_RESERVED);
	t = std_elf32();
	t.seg[2].paddr = 0;
	t.seg[2].memsz = 0x1000;
	accept_img("segment in page 0 (the guest's own)", &t, 4 * MiB);

	/* Overlaps. */
	t = std_elf32();
	t.seg[2].paddr = 0x1017FF;
	refuse_img("segments overlapping by one byte", &t, MB_ERR_SEG_OVERLAP);
	t.seg[2].paddr = 0x101800;
	accept_img("adjacent segments", &t, 4 * MiB);
	t.seg[2].paddr = 0x0FF000;
	t.seg[2].memsz = 0x10000;
	t.seg[0].paddr = 0x180000;
	t.entry = 0x180000;
	refuse_img("segment in the hole and overlapping", &t, MB_ERR_SEG_RESERVED);
	t.seg[2].paddr = 0x170000;
	t.seg[2].memsz = 0x20000;
	refuse_img("later segment covering an earlier one", &t, MB_ERR_SEG_OVERLAP);
	t = std_elf32();
	t.seg[3].paddr = 0x100800;                   /* zero-size: ignored */
	accept_img("empty PT_LOAD inside another", &t, 4 * MiB);

	/* Entry. */
	t = std_elf32();
	t.entry = 0x101800;
	refuse_img("entry just past the text", &t, MB_ERR_ENTRY);
	t.entry = 0x0FFFFF;
	refuse_img("entry just before the text", &t, MB_ERR_ENTRY);
	t.entry = 0x202FFF;
	accept_img("entry in bss (last byte)", &t, 4 * MiB);
	t.entry = 0;
	refuse_img("entry 0", &t, MB_ERR_ENTRY);
	t = std_elf64();
	t.entry = 0x100400010ull;
	refuse_img("ELF64 entry above 4 GiB", &t, MB_ERR_ENTRY);

	/* RAM and arguments. */
	t = std_elf32();
	t.seg[2].paddr = 0x180000;
	n = build_elf(&t, file);
	expect_refusal("1 MiB of RAM", file, n, 1 * MiB, MB_ERR_RAM_SIZE);
	expect_refusal("2 MiB - 1 of RAM", file, n, 2 * MiB - 1, MB_ERR_RAM_SIZE);
	{
		struct mb_load_result res;
		struct mb_load_error err;
		uint8_t one = PATTERN;

		CHECK_EQ_U64(mb_check(file, n, 2 * MiB, "k", NULL, NULL, 0, &res, &err), 0);
		CHECK_EQ_U64(mb_check(NULL, n, 2 * MiB, "k", NULL, NULL, 0, &res, &err), -1);
		CHECK_EQ_U64(err.code, MB_ERR_ARG);
		CHECK_EQ_U64(mb_load(file, n, NULL, 2 * MiB, "k", NULL, NULL, 0, &res, &err), -1);
		CHECK_EQ_U64(err.code, MB_ERR_ARG);
		/* NULL res / err are accepted. */
		CHECK_EQ_U64(mb_check(file, n, 2 * MiB, "k", NULL, NULL, 0, NULL, NULL), 0);
		CHECK_EQ_U64(mb_load(file, n, &one, 16, "k", NULL, NULL, 0, NULL, NULL), -1);
		CHECK_EQ_U64(one, PATTERN);
	}
}

static void test_aout_refusals(void)
{
	size_t n;

	printf("# a.out kludge refusals\n");
	{
		uint32_t a[5] = { 0x100020, 0x100021, 0x100300, 0, 0x100080 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("load_addr above header_addr", file, n, 4 * MiB, MB_ERR_AOUT);
	}
	{
		uint32_t a[5] = { 0x100040, 0x100000, 0x100300, 0, 0x100080 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("image would start before the file", file, n, 4 * MiB, MB_ERR_AOUT);
	}
	{
		uint32_t a[5] = { 0x100020, 0x100000, 0x0FFFFF, 0, 0x100000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("load_end_addr below load_addr", file, n, 4 * MiB, MB_ERR_AOUT);
	}
	{
		uint32_t a[5] = { 0x100020, 0x100000, 0x100401, 0, 0x100000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("load_end_addr past the file", file, n, 4 * MiB, MB_ERR_SEG_FILE);
		a[2] = 0x100400;
		n = build_flat(file, 0x400, 0x20, a, 0);
		{
			struct mb_load_result res;
			struct mb_load_error err;

			CHECK_EQ_U64(mb_check(file, n, 4 * MiB, "k", NULL, NULL, 0, &res, &err), 0);
		}
	}
	{
		uint32_t a[5] = { 0x100020, 0x100000, 0x100300, 0x1002FF, 0x100000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("bss_end_addr below load_end_addr", file, n, 4 * MiB, MB_ERR_AOUT);
	}
	{
		uint32_t a[5] = { 0x100000, 0x100000, 0x100000, 0, 0x100000 };

		n = build_flat(file, 0x400, 0, a, 0);
		expect_refusal("a.out loading nothing", file, n, 4 * MiB, MB_ERR_NO_LOAD);
	}
	{
		uint32_t a[5] = { 0x100020, 0x100000, 0x100300, 0x101000, 0x101000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("a.out entry at bss end", file, n, 4 * MiB, MB_ERR_ENTRY);
	}
	{
		uint32_t a[5] = { 0x9020, 0x9000, 0x9300, 0, 0x9000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("a.out on the info area", file, n, 4 * MiB, MB_ERR_SEG_RESERVED);
	}
	{
		uint32_t a[5] = { 0xFFFFF020, 0xFFFFF000, 0, 0xFFFFFFFF, 0xFFFFF000 };

		n = build_flat(file, 0x400, 0x20, a, 0);
		expect_refusal("a.out near 4 GiB", file, n, 4 * MiB, MB_ERR_SEG_RAM);
	}
	{
		uint32_t a[5] = { 0x100020, 0x100000, 0x100300, 0, 0x100080 };

		n = build_flat(file, 0x400, 0x20, a, 1u << 4);
		expect_refusal("a.out with required bit 4", file, n, 4 * MiB, MB_ERR_FLAGS);
	}
}

static void test_names(void)
{
	unsigned c;

	printf("# error names\n");
	for (c = 0; c < MB_ERR_COUNT; c++)
		CHECK(strncmp(mb_err_name((enum mb_load_err)c), "MB_", 3) == 0 &&
		      strcmp(mb_err_name((enum mb_load_err)c), "MB_ERR_?") != 0);
	CHECK_STR(mb_err_name(MB_ERR_CHECKSUM), "MB_ERR_CHECKSUM");
	CHECK_STR(mb_err_name(MB_ERR_COUNT), "MB_ERR_?");
	CHECK_STR(mb_err_name((enum mb_load_err)-1), "MB_ERR_?");
}

/* ---- deterministic mutation loop ------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void test_mutations(void)
{
	enum { ITER = 20000, NBASE = 4 };
	static uint8_t base[NBASE][FILE_CAP], work[FILE_CAP];
	size_t base_size[NBASE];
	uint64_t ram_size = 2 * MiB;
	uint8_t *ram = new_ram(ram_size);
	unsigned ok = 0, bad = 0, agree = 0, sane = 0, untouched = 0, hist[MB_ERR_COUNT] = { 0 };
	unsigned it, b, k;
	static const uint32_t interesting[] = {
		0, 1, 0xFF, 0x7F, 0x80, 0xFFFF, 0x8000, 0xFFFFFFFF, 0x80000000, 0x1000,
		0x100000, 0x9000, 0x9FC00, 0x200000, MB_HEADER_MAGIC,
	};
	bool dirty = false;

	printf("# mutation loop\n");
	{
		struct timg t32 = std_elf32(), t64 = std_elf64();
		uint32_t aout[5] = { 0x100020, 0x100000, 0x100300, 0x105000, 0x100080 };

		t32.seg[2].paddr = 0x180000;             /* fits in 2 MiB */
		t64.seg[0].paddr = 0x140000;
		t64.seg[1].paddr = 0x143000;
		t64.entry = 0x140010;
		base_size[0] = build_elf(&t32, base[0]);
		base_size[1] = build_elf(&t64, base[1]);
		base_size[2] = build_flat(base[2], 0x400, 0x20, aout, 0);
		t32.mbflags |= MB_HF_AOUT_KLUDGE;
		memcpy(t32.aout, (uint32_t[5]){ 0x100000 + MBH_OFF, 0x100000, 0x101000, 0x102000,
						0x100100 }, sizeof(t32.aout));
		base_size[3] = build_elf(&t32, base[3]);
	}
	for (b = 0; b < NBASE; b++) {
		struct mb_load_error err;

		CHECK_EQ_U64(mb_check(base[b], base_size[b], ram_size, "k", NULL, NULL, 0, NULL, &err), 0);
	}
	for (it = 0; it < ITER; it++) {
		struct mb_load_result r1, r2;
		struct mb_load_error e1, e2;
		struct mb_module mod[2] = { { base[0], 0x1234, "mod" }, { base[1], 0x10, NULL } };
		size_t size;
		unsigned nflip = 1 + rng() % 6, nmods = (unsigned)(rng() % 3);
		int c1, c2;

		b = (unsigned)(rng() % NBASE);
		size = base_size[b];
		memcpy(work, base[b], size);
		for (k = 0; k < nflip; k++) {
			uint64_t r = rng();
			size_t pos;

			/* Mostly the ELF and program headers, then the multiboot
			 * header, sometimes anywhere. */
			if ((r & 7) < 4)
				pos = (size_t)(r >> 8) % (0x140 < size ? 0x140 : size);
			else if ((r & 7) < 6 && size >= MBH_OFF + 32)
				pos = MBH_OFF + (size_t)(r >> 8) % 32;
			else
				pos = (size_t)(r >> 8) % size;

			switch ((r >> 3) & 3) {
			case 0:
				work[pos] ^= (uint8_t)(1u << ((r >> 40) & 7));
				break;
			case 1:
				work[pos] = (uint8_t)(r >> 40);
				break;
			default:
				if (pos + 4 <= size)
					put32(work + (pos & ~(size_t)3),
					      interesting[(r >> 40) % (sizeof(interesting) / 4)]);
				break;
			}
		}
		/* Keep some checksums right so mutations reach the loaders. */
		if ((rng() & 1) && (b == 0 || b == 1 || b == 3)) {
			uint32_t fl = get32(work + MBH_OFF + 4);

			put32(work + MBH_OFF, MB_HEADER_MAGIC);
			put32(work + MBH_OFF + 8, 0u - (MB_HEADER_MAGIC + fl));
		}
		if (rng() % 16 == 0)
			size = (size_t)(rng() % (size + 1));

		if (dirty) {
			memset(ram, PATTERN, ram_size);
			dirty = false;
		}
		c1 = mb_check(work, size, ram_size, "k", "args", mod, nmods, &r1, &e1);
		c2 = mb_load(work, size, ram, ram_size, "k", "args", mod, nmods, &r2, &e2);
		if (c1 == c2 && (c1 ? e1.code == e2.code : memcmp(&r1, &r2, sizeof(r1)) == 0))
			agree++;
		if (c2 == 0) {
			ok++;
			dirty = true;
			if (r2.entry >= r2.kernel_lo && r2.entry < r2.kernel_hi &&
			    r2.kernel_hi <= ram_size && r2.mods_hi <= ram_size && r2.nsegs >= 1 &&
			    get32(ram + r2.mbi_gpa) == 0x24D)
				sane++;
			/* Nothing is ever placed in the platform hole. */
			if ((it & 15) == 0 && !all_pattern(ram + 0x9FC00, 0x100000 - 0x9FC00))
				sane--;
		} else {
			bad++;
			if ((unsigned)e2.code < MB_ERR_COUNT)
				hist[e2.code]++;
			if ((it & 15) == 0) {      /* full scan on a sample: it is slow */
				if (all_pattern(ram, ram_size))
					untouched++;
			} else {
				untouched++;
			}
		}
	}
	printf("# %u loads accepted, %u refused\n", ok, bad);
	for (k = 1; k < MB_ERR_COUNT; k++)
		if (hist[k])
			printf("#   %-24s %u\n", mb_err_name((enum mb_load_err)k), hist[k]);
	CHECK_EQ_U64(agree, ITER);
	CHECK_EQ_U64(sane, ok);
	CHECK_EQ_U64(untouched, bad);
	CHECK(ok > 1000 && bad > 1000);
	free(ram);
}

/* ---- seed corpus for the fuzzer ------------------------------------------ */

static int write_seeds(const char *dir)
{
	struct timg t32 = std_elf32(), t64 = std_elf64();
	uint32_t aout[5] = { 0x100020, 0x100000, 0x100300, 0x105000, 0x100080 };
	struct { const char *name; size_t n; } s[3];
	static uint8_t bufs[3][FILE_CAP];
	char path[512];
	unsigned i;

	t32.seg[2].paddr = 0x180000;
	t64.seg[0].paddr = 0x140000;
	t64.seg[1].paddr = 0x143000;
	t64.entry = 0x140010;
	s[0].name = "elf32"; s[0].n = build_elf(&t32, bufs[0]);
	s[1].name = "elf64"; s[1].n = build_elf(&t64, bufs[1]);
	s[2].name = "aout"; s[2].n = build_flat(bufs[2], 0x400, 0x20, aout, 0);
	for (i = 0; i < 3; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, s[i].name);
		f = fopen(path, "wb");
		if (!f || fwrite(bufs[i], 1, s[i].n, f) != s[i].n) {
			perror(path);
			return 1;
		}
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	test_elf32();
	test_high_ram();
	test_elf64();
	test_aout();
	test_flags();
	test_cmdline();
	test_modules();
	test_header_refusals();
	test_elf_refusals();
	test_segment_refusals();
	test_aout_refusals();
	test_names();
	test_mutations();
	return th_done();
}
