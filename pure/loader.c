/* Multiboot v1 kernel loader: ELF32/ELF64 executables and the header's
 * "a.out kludge", multiboot information in guest RAM. Pure C (also linked
 * into host tests and a fuzzer); policy in docs/loader.md.
 *
 * Every multi-byte field of the file is read with memcpy: the file buffer
 * has no alignment guarantee. All arithmetic on file-supplied values is done
 * in 64 bits with explicit overflow checks. Validation never writes guest
 * RAM; mb_load() writes only after mb_check() has accepted everything. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <tscvisor/bytes.h>
#include <tscvisor/format.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/loader.h>

/* ELF constants (System V ABI, ELF-64 Object File Format). */
#define EI_CLASS        4
#define EI_DATA         5
#define EI_VERSION      6
#define EI_NIDENT       16
#define ELFCLASS32      1
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define EV_CURRENT      1
#define ET_EXEC         2
#define EM_386          3
#define EM_X86_64       62
#define PT_LOAD         1

#define ELF32_EHDR_SIZE 52u
#define ELF64_EHDR_SIZE 64u
#define ELF32_PHDR_SIZE 32u
#define ELF64_PHDR_SIZE 56u

#define PAGE_SIZE       0x1000u
#define FOUR_GIB        0x100000000ull

/* Kernel segments and modules go in low RAM (below the MMIO hole), where a
 * guest-physical address is also the offset in the RAM buffer
 * (guestmem.h); RAM above 4 GiB is only in the memory map. */
static uint64_t low_end(uint64_t ram_size)
{
	return ram_size < GMEM_LOW_MAX ? ram_size : GMEM_LOW_MAX;
}

/* Multiboot information structure offsets (Multiboot 0.6.96 section 3.3). */
#define MBI_FLAGS        0
#define MBI_MEM_LOWER    4
#define MBI_MEM_UPPER    8
#define MBI_CMDLINE      16
#define MBI_MODS_COUNT   20
#define MBI_MODS_ADDR    24
#define MBI_MMAP_LENGTH  44
#define MBI_MMAP_ADDR    48
#define MBI_LOADER_NAME  64
#define MBI_SIZE         116u
#define MMAP_ENTRY_SIZE  24u   /* the size field (4) + 20 bytes it counts */
#define MOD_ENTRY_SIZE   16u   /* mod_start, mod_end, string, reserved */

/* Regions of guest-physical memory no kernel segment may touch, ascending. */
static const struct { uint64_t lo, hi; const char *what; } reserved[] = {
	{ MB_AREA_BASE, MB_AREA_END, "the loader's info area" },
	{ MB_LOW_RAM_END, MB_HOLE_END, "the platform hole (EBDA/VGA/BIOS/ACPI)" },
};
#define NRESERVED (sizeof(reserved) / sizeof(reserved[0]))

/* One loadable range: file bytes [offset, offset+filesz) go to
 * [paddr, paddr+filesz), then zeros up to paddr+memsz. */
struct seg {
	uint32_t type;
	uint64_t paddr, memsz, offset, filesz;
};

struct image {
	const uint8_t *file;
	uint64_t file_size;
	bool aout;
	unsigned elf_class;         /* 32 / 64 */
	uint64_t phoff;
	unsigned phnum;
	struct seg aout_seg;
	uint64_t entry;
};

static const char *const err_names[MB_ERR_COUNT] = {
	[MB_OK] = "MB_OK",
	[MB_ERR_ARG] = "MB_ERR_ARG",
	[MB_ERR_RAM_SIZE] = "MB_ERR_RAM_SIZE",
	[MB_ERR_NO_HEADER] = "MB_ERR_NO_HEADER",
	[MB_ERR_CHECKSUM] = "MB_ERR_CHECKSUM",
	[MB_ERR_HEADER_TRUNCATED] = "MB_ERR_HEADER_TRUNCATED",
	[MB_ERR_FLAGS] = "MB_ERR_FLAGS",
	[MB_ERR_NOT_ELF] = "MB_ERR_NOT_ELF",
	[MB_ERR_ELF_HEADER] = "MB_ERR_ELF_HEADER",
	[MB_ERR_ELF_CLASS] = "MB_ERR_ELF_CLASS",
	[MB_ERR_ELF_MACHINE] = "MB_ERR_ELF_MACHINE",
	[MB_ERR_ELF_TYPE] = "MB_ERR_ELF_TYPE",
	[MB_ERR_PHDRS] = "MB_ERR_PHDRS",
	[MB_ERR_TOO_MANY_PHDRS] = "MB_ERR_TOO_MANY_PHDRS",
	[MB_ERR_NO_LOAD] = "MB_ERR_NO_LOAD",
	[MB_ERR_SEG_SIZES] = "MB_ERR_SEG_SIZES",
	[MB_ERR_SEG_FILE] = "MB_ERR_SEG_FILE",
	[MB_ERR_SEG_RAM] = "MB_ERR_SEG_RAM",
	[MB_ERR_SEG_4G] = "MB_ERR_SEG_4G",
	[MB_ERR_SEG_RESERVED] = "MB_ERR_SEG_RESERVED",
	[MB_ERR_SEG_OVERLAP] = "MB_ERR_SEG_OVERLAP",
	[MB_ERR_AOUT] = "MB_ERR_AOUT",
	[MB_ERR_ENTRY] = "MB_ERR_ENTRY",
	[MB_ERR_CMDLINE] = "MB_ERR_CMDLINE",
	[MB_ERR_TOO_MANY_MODS] = "MB_ERR_TOO_MANY_MODS",
	[MB_ERR_MOD_STRING] = "MB_ERR_MOD_STRING",
	[MB_ERR_MOD_FIT] = "MB_ERR_MOD_FIT",
};

const char *mb_err_name(enum mb_load_err code)
{
	if ((unsigned)code >= MB_ERR_COUNT || !err_names[code])
		return "MB_ERR_?";
	return err_names[code];
}

__attribute__((format(printf, 3, 4)))
static int fail(struct mb_load_error *err, enum mb_load_err code, const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		va_start(ap, fmt);
		tv_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void wr32(uint8_t *ram, uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, sizeof(v));
}

static void wr64(uint8_t *ram, uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, sizeof(v));
}

/* [a, a+alen) and [b, b+blen) intersect (lengths > 0, no wrap: callers
 * checked that the ends fit in 64 bits). */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

/* ---- multiboot header -------------------------------------------------- */

/* The header lies wholly within the first MB_SEARCH_BYTES of the file. */
static uint64_t search_limit(uint64_t file_size)
{
	if (file_size < MB_SEARCH_BYTES)
		return file_size;
	return MB_SEARCH_BYTES;
}

/* Find the first 4-aligned offset in the first 8 KiB holding the magic with a
 * valid checksum and the 12 bytes of magic, flags, checksum wholly inside
 * both the file and the 8 KiB. */
static int find_header(const uint8_t *file, uint64_t file_size, uint32_t *off_out,
		       uint32_t *flags_out, struct mb_load_error *err)
{
	uint64_t limit = search_limit(file_size);
	bool seen_magic = false;
	uint32_t bad_off = 0, bad_sum = 0;
	uint64_t off;

	for (off = 0; off + 12 <= limit; off += 4) {
		uint32_t flags, checksum;

		if (get_le32(file + off) != MB_HEADER_MAGIC)
			continue;
		flags = get_le32(file + off + 4);
		checksum = get_le32(file + off + 8);
		/* magic + flags + checksum == 0 (mod 2^32) */
		if (checksum == 0u - MB_HEADER_MAGIC - flags) {
			*off_out = (uint32_t)off;
			*flags_out = flags;
			return 0;
		}
		if (!seen_magic) {
			seen_magic = true;
			bad_off = (uint32_t)off;
			bad_sum = MB_HEADER_MAGIC + flags + checksum;
		}
	}
	if (seen_magic)
		return fail(err, MB_ERR_CHECKSUM,
			    "multiboot header at offset 0x%x: magic+flags+checksum = 0x%x, not 0",
			    bad_off, bad_sum);
	return fail(err, MB_ERR_NO_HEADER,
		    "no multiboot header (0x1BADB002, 4-aligned) in the first %u bytes",
		    (unsigned)limit);
}

/* ---- the a.out kludge -------------------------------------------------- */

static int parse_aout(struct image *img, uint32_t hoff, struct mb_load_error *err)
{
	const uint8_t *h = img->file + hoff;
	uint64_t limit = search_limit(img->file_size);
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
	uint64_t load_off, load_size, mem_size;

	if ((uint64_t)hoff + 32 > limit)
		return fail(err, MB_ERR_HEADER_TRUNCATED,
			    "multiboot header at 0x%x: address fields (flags bit 16) end past %s",
			    hoff, limit == img->file_size ? "the file" : "the first 8192 bytes");
	header_addr = get_le32(h + 12);
	load_addr = get_le32(h + 16);
	load_end_addr = get_le32(h + 20);
	bss_end_addr = get_le32(h + 24);
	entry_addr = get_le32(h + 28);

	if (load_addr > header_addr)
		return fail(err, MB_ERR_AOUT, "a.out kludge: load_addr 0x%x above header_addr 0x%x",
			    load_addr, header_addr);
	if (header_addr - load_addr > hoff)
		return fail(err, MB_ERR_AOUT,
			    "a.out kludge: header_addr - load_addr = 0x%x exceeds the header's file offset 0x%x",
			    header_addr - load_addr, hoff);
	load_off = hoff - (header_addr - load_addr);
	if (load_end_addr) {
		if (load_end_addr < load_addr)
			return fail(err, MB_ERR_AOUT,
				    "a.out kludge: load_end_addr 0x%x below load_addr 0x%x",
				    load_end_addr, load_addr);
		load_size = load_end_addr - load_addr;
		if (load_size > img->file_size - load_off)
			return fail(err, MB_ERR_SEG_FILE,
				    "a.out kludge: file bytes [0x%lx, 0x%lx) past the file's end 0x%lx",
				    load_off,
				    (load_off + load_size),
				    img->file_size);
	} else {
		load_size = img->file_size - load_off;
	}
	if (bss_end_addr) {
		if (bss_end_addr < load_addr + load_size)
			return fail(err, MB_ERR_AOUT,
				    "a.out kludge: bss_end_addr 0x%x below the end of the loaded image 0x%lx",
				    bss_end_addr, (load_addr + load_size));
		mem_size = bss_end_addr - load_addr;
	} else {
		mem_size = load_size;
	}
	if (mem_size == 0)
		return fail(err, MB_ERR_NO_LOAD, "a.out kludge: nothing to load (size 0)");

	img->aout = true;
	img->phnum = 1;
	img->aout_seg.type = PT_LOAD;
	img->aout_seg.paddr = load_addr;
	img->aout_seg.memsz = mem_size;
	img->aout_seg.offset = load_off;
	img->aout_seg.filesz = load_size;
	img->entry = entry_addr;
	return 0;
}

/* ---- ELF ----------------------------------------------------------------- */

static int parse_elf(struct image *img, struct mb_load_error *err)
{
	const uint8_t *f = img->file;
	uint64_t phoff, table;
	unsigned phentsize, want_phentsize, machine, want_machine;

	if (img->file_size < EI_NIDENT)
		return fail(err, MB_ERR_ELF_HEADER, "ELF identification truncated (%lu bytes)",
			    img->file_size);
	if (f[EI_CLASS] == ELFCLASS32)
		img->elf_class = 32;
	else if (f[EI_CLASS] == ELFCLASS64)
		img->elf_class = 64;
	else
		return fail(err, MB_ERR_ELF_CLASS, "ELF class %u is neither 1 (ELF32) nor 2 (ELF64)",
			    f[EI_CLASS]);
	if (f[EI_DATA] != ELFDATA2LSB)
		return fail(err, MB_ERR_ELF_HEADER, "ELF data encoding %u is not 1 (little-endian)",
			    f[EI_DATA]);
	if (f[EI_VERSION] != EV_CURRENT)
		return fail(err, MB_ERR_ELF_HEADER, "ELF version %u is not 1", f[EI_VERSION]);
	if (img->file_size < (img->elf_class == 32 ? ELF32_EHDR_SIZE : ELF64_EHDR_SIZE))
		return fail(err, MB_ERR_ELF_HEADER, "ELF%u header truncated (file is %lu bytes)",
			    img->elf_class, img->file_size);

	if (get_le16(f + 16) != ET_EXEC)
		return fail(err, MB_ERR_ELF_TYPE, "ELF type %u is not ET_EXEC (2)", get_le16(f + 16));
	machine = get_le16(f + 18);
	want_machine = img->elf_class == 32 ? EM_386 : EM_X86_64;
	if (machine != want_machine)
		return fail(err, MB_ERR_ELF_MACHINE, "ELF%u machine %u is not %s (%u)",
			    img->elf_class, machine,
			    img->elf_class == 32 ? "EM_386" : "EM_X86_64", want_machine);
	if (img->elf_class == 32) {
		img->entry = get_le32(f + 24);
		phoff = get_le32(f + 28);
		phentsize = get_le16(f + 42);
		img->phnum = get_le16(f + 44);
		want_phentsize = ELF32_PHDR_SIZE;
	} else {
		img->entry = get_le64(f + 24);
		phoff = get_le64(f + 32);
		phentsize = get_le16(f + 54);
		img->phnum = get_le16(f + 56);
		want_phentsize = ELF64_PHDR_SIZE;
	}
	if (img->phnum == 0)
		return fail(err, MB_ERR_NO_LOAD, "ELF has no program headers");
	if (img->phnum > MB_MAX_PHDRS)
		return fail(err, MB_ERR_TOO_MANY_PHDRS, "%u program headers, at most %u supported",
			    img->phnum, MB_MAX_PHDRS);
	if (phentsize != want_phentsize)
		return fail(err, MB_ERR_PHDRS, "program header size %u, expected %u",
			    phentsize, want_phentsize);
	table = (uint64_t)img->phnum * phentsize;
	if (phoff > img->file_size || table > img->file_size - phoff)
		return fail(err, MB_ERR_PHDRS,
			    "program headers [0x%lx, +0x%lx) out of the file (0x%lx bytes)",
			    phoff, table,
			    img->file_size);
	img->phoff = phoff;
	return 0;
}

/* Segment i (0 <= i < img->phnum); the table bounds were checked. */
static void get_seg(const struct image *img, unsigned i, struct seg *s)
{
	const uint8_t *p;

	if (img->aout) {
		*s = img->aout_seg;
		return;
	}
	if (img->elf_class == 32) {
		p = img->file + img->phoff + (uint64_t)i * ELF32_PHDR_SIZE;
		s->type = get_le32(p);
		s->offset = get_le32(p + 4);
		s->paddr = get_le32(p + 12);
		s->filesz = get_le32(p + 16);
		s->memsz = get_le32(p + 20);
	} else {
		p = img->file + img->phoff + (uint64_t)i * ELF64_PHDR_SIZE;
		s->type = get_le32(p);
		s->offset = get_le64(p + 8);
		s->paddr = get_le64(p + 24);
		s->filesz = get_le64(p + 32);
		s->memsz = get_le64(p + 40);
	}
}

/* A PT_LOAD with something to place in memory. */
static bool seg_used(const struct seg *s)
{
	return s->type == PT_LOAD && s->memsz != 0;
}

static int check_one_seg(const struct image *img, unsigned i, const struct seg *s,
			 uint64_t ram_size, struct mb_load_error *err)
{
	unsigned r;

	if (s->filesz > s->memsz)
		return fail(err, MB_ERR_SEG_SIZES, "segment %u: file size 0x%lx > memory size 0x%lx",
			    i, s->filesz, s->memsz);
	if (s->filesz && (s->offset > img->file_size || s->filesz > img->file_size - s->offset))
		return fail(err, MB_ERR_SEG_FILE,
			    "segment %u: file bytes [0x%lx, +0x%lx) out of the file (0x%lx bytes)",
			    i, s->offset, s->filesz,
			    img->file_size);
	if (s->memsz == 0)
		return 0;
	if (s->paddr > gmem_top(ram_size) || s->memsz > gmem_top(ram_size) - s->paddr)
		return fail(err, MB_ERR_SEG_RAM,
			    "segment %u: [0x%lx, +0x%lx) does not fit in guest RAM (0x%lx bytes)",
			    i, s->paddr, s->memsz,
			    ram_size);
	if (s->paddr + s->memsz > FOUR_GIB)
		return fail(err, MB_ERR_SEG_4G,
			    "segment %u: [0x%lx, 0x%lx) is not below 4 GiB (32-bit entry)",
			    i, s->paddr, (s->paddr + s->memsz));
	if (s->paddr + s->memsz > low_end(ram_size))
		return fail(err, MB_ERR_SEG_RAM,
			    "segment %u: [0x%lx, 0x%lx) reaches into the MMIO hole at 0x%lx",
			    i, s->paddr, (s->paddr + s->memsz), (uint64_t)GMEM_LOW_MAX);
	for (r = 0; r < NRESERVED; r++)
		if (overlaps(s->paddr, s->memsz, reserved[r].lo, reserved[r].hi - reserved[r].lo))
			return fail(err, MB_ERR_SEG_RESERVED,
				    "segment %u: [0x%lx, 0x%lx) overlaps %s [0x%lx, 0x%lx)",
				    i, s->paddr,
				    (s->paddr + s->memsz), reserved[r].what,
				    reserved[r].lo,
				    reserved[r].hi);
	return 0;
}

static int check_segments(const struct image *img, uint64_t ram_size,
			  struct mb_load_result *res, struct mb_load_error *err)
{
	struct seg a, b;
	unsigned i, j;
	bool entry_ok = false;

	res->kernel_lo = UINT64_MAX;
	res->kernel_hi = 0;
	res->nsegs = 0;
	for (i = 0; i < img->phnum; i++) {
		get_seg(img, i, &a);
		if (a.type != PT_LOAD)
			continue;
		if (check_one_seg(img, i, &a, ram_size, err))
			return -1;
		if (!seg_used(&a))
			continue;
		for (j = 0; j < i; j++) {
			get_seg(img, j, &b);
			if (seg_used(&b) && overlaps(a.paddr, a.memsz, b.paddr, b.memsz))
				return fail(err, MB_ERR_SEG_OVERLAP,
					    "segment %u [0x%lx, 0x%lx) overlaps segment %u [0x%lx, 0x%lx)",
					    i, a.paddr,
					    (a.paddr + a.memsz), j,
					    b.paddr,
					    (b.paddr + b.memsz));
		}
		res->nsegs++;
		if (a.paddr < res->kernel_lo)
			res->kernel_lo = a.paddr;
		if (a.paddr + a.memsz > res->kernel_hi)
			res->kernel_hi = a.paddr + a.memsz;
		if (img->entry >= a.paddr && img->entry - a.paddr < a.memsz)
			entry_ok = true;
	}
	if (res->nsegs == 0)
		return fail(err, MB_ERR_NO_LOAD, "no PT_LOAD segment with a non-zero memory size");
	if (img->entry >= FOUR_GIB)
		return fail(err, MB_ERR_ENTRY, "entry 0x%lx is not below 4 GiB",
			    img->entry);
	if (!entry_ok)
		return fail(err, MB_ERR_ENTRY, "entry 0x%lx is not inside a loaded segment",
			    img->entry);
	return 0;
}

/* ---- command line and modules ------------------------------------------- */

static int check_cmdline(const char *progname, const char *args, struct mb_load_error *err)
{
	uint64_t len = progname ? strlen(progname) : 0;

	if (args && args[0])
		len += (len ? 1 : 0) + (uint64_t)strlen(args);
	if (len > MB_CMDLINE_MAX - 1)
		return fail(err, MB_ERR_CMDLINE,
			    "command line \"PROGNAME ARGS\" is %lu bytes, at most %u",
			    len, MB_CMDLINE_MAX - 1);
	return 0;
}

/* Where a module of `size` bytes goes when the free space starts at `cursor`:
 * the next page boundary, moved past any reserved region it would touch. */
static uint64_t place_module(uint64_t cursor, uint64_t size)
{
	uint64_t start = page_up(cursor), span = size ? size : 1;
	unsigned r;

	for (r = 0; r < NRESERVED; r++)
		if (start < FOUR_GIB && span <= FOUR_GIB &&
		    overlaps(start, span, reserved[r].lo, reserved[r].hi - reserved[r].lo))
			start = page_up(reserved[r].hi);
	return start;
}

static int check_modules(const struct mb_module *mods, unsigned nmods, uint64_t ram_size,
			 struct mb_load_result *res, struct mb_load_error *err)
{
	uint64_t limit = low_end(ram_size);
	uint64_t cursor = res->kernel_hi;
	unsigned i;

	if (nmods > MB_MAX_MODULES)
		return fail(err, MB_ERR_TOO_MANY_MODS, "%u modules, at most %u", nmods, MB_MAX_MODULES);
	if (nmods && !mods)
		return fail(err, MB_ERR_ARG, "%u modules but no module array", nmods);
	for (i = 0; i < nmods; i++) {
		uint64_t start;

		if (mods[i].size && !mods[i].data)
			return fail(err, MB_ERR_ARG, "module %u: no data for %lu bytes",
				    i, mods[i].size);
		if (mods[i].string && strlen(mods[i].string) > MB_MODSTR_MAX - 1)
			return fail(err, MB_ERR_MOD_STRING, "module %u: string is %lu bytes, at most %u",
				    i, strlen(mods[i].string), MB_MODSTR_MAX - 1);
		if (mods[i].size > limit)
			return fail(err, MB_ERR_MOD_FIT,
				    "module %u: %lu bytes do not fit in guest RAM below the MMIO hole",
				    i, mods[i].size);
		start = place_module(cursor, mods[i].size);
		if (start > limit || mods[i].size > limit - start)
			return fail(err, MB_ERR_MOD_FIT,
				    "module %u: %lu bytes at 0x%lx do not fit below 0x%lx",
				    i, mods[i].size, start,
				    limit);
		cursor = start + mods[i].size;
	}
	res->mods_hi = cursor;
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

static int check_all(const uint8_t *file, uint64_t file_size, uint64_t ram_size,
		     const char *progname, const char *cmdline,
		     const struct mb_module *mods, unsigned nmods,
		     struct image *img, struct mb_load_result *res, struct mb_load_error *err)
{
	uint32_t hoff = 0, hflags = 0;

	memset(img, 0, sizeof(*img));
	memset(res, 0, sizeof(*res));
	if (!file)
		return fail(err, MB_ERR_ARG, "no kernel file");
	if (ram_size < MB_MIN_RAM)
		return fail(err, MB_ERR_RAM_SIZE, "guest RAM of %lu bytes, at least %u needed",
			    ram_size, MB_MIN_RAM);
	img->file = file;
	img->file_size = file_size;

	if (find_header(file, file_size, &hoff, &hflags, err))
		return -1;
	res->header_offset = hoff;
	res->header_flags = hflags;
	if (hflags & 0xFFFFu & ~MB_HF_SUPPORTED_REQ)
		return fail(err, MB_ERR_FLAGS,
			    "multiboot header flags 0x%x: required feature bits 0x%x unsupported",
			    hflags, hflags & 0xFFFFu & ~MB_HF_SUPPORTED_REQ);
	res->video_ignored = (hflags & MB_HF_VIDEO_MODE) != 0;

	/* As GRUB 2 and QEMU: the header's address fields, when present, win
	 * over the ELF program headers. */
	if (hflags & MB_HF_AOUT_KLUDGE) {
		if (parse_aout(img, hoff, err))
			return -1;
		res->aout_kludge = true;
	} else {
		if (file_size < 4 || memcmp(file, "\x7f" "ELF", 4) != 0)
			return fail(err, MB_ERR_NOT_ELF,
				    "not an ELF file and the multiboot header has no address fields (flags bit 16)");
		if (parse_elf(img, err))
			return -1;
		res->elf_class = img->elf_class;
	}
	if (check_segments(img, ram_size, res, err))
		return -1;
	res->entry = (uint32_t)img->entry;
	res->mbi_gpa = MB_MBI_GPA;
	if (check_cmdline(progname, cmdline, err))
		return -1;
	return check_modules(mods, nmods, ram_size, res, err);
}

int mb_check(const uint8_t *file, uint64_t file_size, uint64_t ram_size,
	     const char *progname, const char *cmdline,
	     const struct mb_module *mods, unsigned nmods,
	     struct mb_load_result *res, struct mb_load_error *err)
{
	struct image img;
	struct mb_load_result local;

	if (err) {
		err->code = MB_OK;
		err->msg[0] = '\0';
	}
	return check_all(file, file_size, ram_size, progname, cmdline, mods, nmods,
			 &img, res ? res : &local, err);
}

static void write_string(uint8_t *ram, uint64_t gpa, const char *s)
{
	memcpy(ram + gpa, s, strlen(s) + 1);
}

int mb_load(const uint8_t *file, uint64_t file_size, uint8_t *ram, uint64_t ram_size,
	    const char *progname, const char *cmdline,
	    const struct mb_module *mods, unsigned nmods,
	    struct mb_load_result *res, struct mb_load_error *err)
{
	struct image img;
	struct mb_load_result local = { 0 }, *r = res ? res : &local;
	struct seg s;
	uint64_t cursor, name_len, gpa;
	uint32_t mbi_flags;
	struct gmem_range ranges[GMEM_MAX_RANGES];
	unsigned i, nranges;

	if (err) {
		err->code = MB_OK;
		err->msg[0] = '\0';
	}
	if (!ram)
		return fail(err, MB_ERR_ARG, "no guest RAM buffer");
	if (check_all(file, file_size, ram_size, progname, cmdline, mods, nmods, &img, r, err))
		return -1;

	/* From here on every range was checked to lie inside low RAM. */
	nranges = gmem_ranges(ram_size, ranges);
	for (i = 0; i < img.phnum; i++) {
		get_seg(&img, i, &s);
		if (!seg_used(&s))
			continue;
		if (s.filesz)
			memcpy(ram + s.paddr, file + s.offset, s.filesz);
		memset(ram + s.paddr + s.filesz, 0, s.memsz - s.filesz);
	}

	memset(ram + MB_AREA_BASE, 0, MB_AREA_END - MB_AREA_BASE);
	cursor = r->kernel_hi;
	for (i = 0; i < nmods; i++) {
		uint64_t start = place_module(cursor, mods[i].size);

		if (mods[i].size)
			memcpy(ram + start, mods[i].data, mods[i].size);
		gpa = MB_MODLIST_GPA + (uint64_t)i * MOD_ENTRY_SIZE;
		wr32(ram, gpa + 0, (uint32_t)start);
		wr32(ram, gpa + 4, (uint32_t)(start + mods[i].size));
		wr32(ram, gpa + 8, MB_MODSTR_GPA + i * MB_MODSTR_MAX);
		write_string(ram, MB_MODSTR_GPA + (uint64_t)i * MB_MODSTR_MAX,
			     mods[i].string ? mods[i].string : "");
		cursor = start + mods[i].size;
	}

	/* "PROGNAME ARGS": the first word is the program name. The area was
	 * zeroed, so the string is terminated whatever is appended. */
	gpa = MB_CMDLINE_GPA;
	name_len = progname ? strlen(progname) : 0;
	if (name_len)
		memcpy(ram + gpa, progname, name_len);
	gpa += name_len;
	if (cmdline && cmdline[0]) {
		if (name_len)
			ram[gpa++] = ' ';
		write_string(ram, gpa, cmdline);
	}
	write_string(ram, MB_LOADER_NAME_GPA, MB_LOADER_NAME);

	/* Memory map: each entry's size field counts the 20 bytes after it. */
	gpa = MB_MMAP_GPA;
	wr32(ram, gpa, MMAP_ENTRY_SIZE - 4);
	wr64(ram, gpa + 4, 0);
	wr64(ram, gpa + 12, MB_LOW_RAM_END);
	wr32(ram, gpa + 20, 1);
	gpa += MMAP_ENTRY_SIZE;
	wr32(ram, gpa, MMAP_ENTRY_SIZE - 4);
	wr64(ram, gpa + 4, MB_LOW_RAM_END);
	wr64(ram, gpa + 12, MB_HOLE_END - MB_LOW_RAM_END);
	wr32(ram, gpa + 20, 2);
	gpa += MMAP_ENTRY_SIZE;
	wr32(ram, gpa, MMAP_ENTRY_SIZE - 4);
	wr64(ram, gpa + 4, MB_HOLE_END);
	wr64(ram, gpa + 12, ranges[0].size - MB_HOLE_END);
	wr32(ram, gpa + 20, 1);
	if (nranges > 1) {          /* RAM past the MMIO hole, from 4 GiB */
		gpa += MMAP_ENTRY_SIZE;
		wr32(ram, gpa, MMAP_ENTRY_SIZE - 4);
		wr64(ram, gpa + 4, ranges[1].gpa);
		wr64(ram, gpa + 12, ranges[1].size);
		wr32(ram, gpa + 20, 1);
	}

	mbi_flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
		    MB_INFO_LOADER_NAME;
	wr32(ram, MB_MBI_GPA + MBI_FLAGS, mbi_flags);
	wr32(ram, MB_MBI_GPA + MBI_MEM_LOWER, MB_LOW_RAM_END / 1024);
	/* mem_upper: the RAM contiguous from 1 MiB, so up to the hole only. */
	wr32(ram, MB_MBI_GPA + MBI_MEM_UPPER, (uint32_t)((ranges[0].size - MB_HOLE_END) / 1024));
	wr32(ram, MB_MBI_GPA + MBI_CMDLINE, MB_CMDLINE_GPA);
	wr32(ram, MB_MBI_GPA + MBI_MODS_COUNT, nmods);
	wr32(ram, MB_MBI_GPA + MBI_MODS_ADDR, MB_MODLIST_GPA);
	wr32(ram, MB_MBI_GPA + MBI_MMAP_LENGTH, (MB_MMAP_ENTRIES - 1 + nranges) * MMAP_ENTRY_SIZE);
	wr32(ram, MB_MBI_GPA + MBI_MMAP_ADDR, MB_MMAP_GPA);
	wr32(ram, MB_MBI_GPA + MBI_LOADER_NAME, MB_LOADER_NAME_GPA);
	return 0;
}

/* The fixed sub-areas must fit the info area and not overlap each other. */
_Static_assert(MB_MBI_GPA + MBI_SIZE <= MB_MMAP_GPA, "mbi overlaps the memory map");
_Static_assert(MB_MMAP_GPA + MB_MMAP_ENTRIES_MAX * MMAP_ENTRY_SIZE <= MB_LOADER_NAME_GPA,
	       "memory map overlaps the loader name");
_Static_assert(MB_LOADER_NAME_GPA + sizeof(MB_LOADER_NAME) <= MB_MODLIST_GPA,
	       "loader name overlaps the module list");
_Static_assert(MB_MODLIST_GPA + MB_MAX_MODULES * MOD_ENTRY_SIZE <= MB_CMDLINE_GPA,
	       "module list overlaps the command line");
_Static_assert(MB_CMDLINE_GPA + MB_CMDLINE_MAX <= MB_MODSTR_GPA,
	       "command line overlaps the module strings");
_Static_assert(MB_MODSTR_GPA + MB_MAX_MODULES * MB_MODSTR_MAX <= MB_AREA_END,
	       "module strings overflow the info area");
_Static_assert(MB_AREA_END <= MB_LOW_RAM_END && MB_HOLE_END < MB_MIN_RAM,
	       "loader area must lie in low RAM");
