/* Linux/x86 boot protocol loader (bzImage, 32-bit entry). Pure C, linked
 * into the hypervisor, the host tests and a fuzzer; policy and layout in
 * docs/linux-guest.md, interface in include/tscvisor/bzimage.h.
 *
 * The facts used from the boot protocol (Linux's Documentation/arch/x86/
 * boot.rst): the setup header at 0x1f1 whose end is 0x202 plus the byte at
 * 0x201; setup code of (setup_sects ? setup_sects : 4) + 1 sectors, the
 * protected-mode kernel after it; the 32-bit entry at the start of the
 * protected-mode kernel with ESI pointing to a zero page that holds a copy
 * of the setup header, the loader's fields and an e820 map.
 *
 * Every file field is read with memcpy (no alignment guarantee) and all
 * arithmetic on file values is 64-bit with the limits checked before use.
 * Validation writes nothing; bz_load() writes only after bz_check() has
 * accepted everything. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tscvisor/bytes.h>
#include <tscvisor/bzimage.h>
#include <tscvisor/format.h>
#include <tscvisor/guestmem.h>

#define SECTOR          512u
#define PAGE            ((uint64_t)0x1000)
#define FOUR_GIB        ((uint64_t)1 << 32)

static const char *const err_names[BZ_ERR_COUNT] = {
	[BZ_OK] = "BZ_OK",
	[BZ_ERR_ARG] = "BZ_ERR_ARG",
	[BZ_ERR_TRUNCATED] = "BZ_ERR_TRUNCATED",
	[BZ_ERR_NOT_BZIMAGE] = "BZ_ERR_NOT_BZIMAGE",
	[BZ_ERR_VERSION] = "BZ_ERR_VERSION",
	[BZ_ERR_HEADER] = "BZ_ERR_HEADER",
	[BZ_ERR_NOT_64BIT] = "BZ_ERR_NOT_64BIT",
	[BZ_ERR_NOT_HIGH] = "BZ_ERR_NOT_HIGH",
	[BZ_ERR_PAYLOAD] = "BZ_ERR_PAYLOAD",
	[BZ_ERR_INIT_SIZE] = "BZ_ERR_INIT_SIZE",
	[BZ_ERR_ALIGN] = "BZ_ERR_ALIGN",
	[BZ_ERR_KERNEL_FIT] = "BZ_ERR_KERNEL_FIT",
	[BZ_ERR_CMDLINE] = "BZ_ERR_CMDLINE",
	[BZ_ERR_INITRD_FIT] = "BZ_ERR_INITRD_FIT",
};

const char *bz_err_name(enum bz_load_err code)
{
	if ((unsigned)code >= BZ_ERR_COUNT || !err_names[code])
		return "BZ_ERR_?";
	return err_names[code];
}

__attribute__((format(printf, 3, 4)))
static int fail(struct bz_load_error *err, enum bz_load_err code, const char *fmt, ...)
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

bool bz_is_bzimage(const uint8_t *file, uint64_t file_size)
{
	return file && file_size >= BZ_HDR_MAGIC + 4 &&
	       get_le16(file + BZ_HDR_BOOT_FLAG) == BZ_BOOT_FLAG &&
	       get_le32(file + BZ_HDR_MAGIC) == BZ_MAGIC;
}

/* The kernel's version string (at kernel_version + 0x200, inside the setup
 * code), printable characters only, or "". */
static void version_string(const uint8_t *file, uint64_t setup_size, char *out, size_t max)
{
	uint64_t off = (uint64_t)get_le16(file + BZ_HDR_KERNEL_VERSION) + 0x200u;
	size_t n = 0;

	out[0] = 0;
	if (get_le16(file + BZ_HDR_KERNEL_VERSION) == 0)
		return;
	while (off + n < setup_size && n + 1 < max && file[off + n] >= 0x20 && file[off + n] < 0x7f) {
		out[n] = (char)file[off + n];
		n++;
	}
	out[n] = 0;
}

int bz_check(const uint8_t *file, uint64_t file_size, uint64_t ram_size, const char *cmdline,
	     const uint8_t *initrd, uint64_t initrd_size,
	     struct bz_load_result *res, struct bz_load_error *err)
{
	struct bz_load_result r;
	uint64_t setup_size, hdr_end, syssize, align, pref, init_size, cmd_len, cmd_max;
	uint64_t initrd_top, kernel_end;
	/* Kernel and initramfs go in low RAM, where guest-physical address and
	 * offset in the RAM buffer are one (guestmem.h). */
	uint64_t low_end = ram_size < GMEM_LOW_MAX ? ram_size : GMEM_LOW_MAX;
	unsigned setup_sects, loadflags;

	memset(&r, 0, sizeof(r));
	if (!file || (!initrd && initrd_size))
		return fail(err, BZ_ERR_ARG, "no kernel data, or an initramfs size without its data");
	if (file_size < BZ_HDR_MAGIC + 4)
		return fail(err, BZ_ERR_TRUNCATED,
			    "file of %lu bytes ends before the setup header's magic (0x%x)",
			    file_size, BZ_HDR_MAGIC + 4);
	if (!bz_is_bzimage(file, file_size))
		return fail(err, BZ_ERR_NOT_BZIMAGE,
			    "not a bzImage: boot flag 0x%x (want 0xaa55), magic 0x%x (want 0x%x \"HdrS\")",
			    get_le16(file + BZ_HDR_BOOT_FLAG), get_le32(file + BZ_HDR_MAGIC), BZ_MAGIC);
	r.version = get_le16(file + BZ_HDR_VERSION);
	if (r.version < BZ_MIN_VERSION)
		return fail(err, BZ_ERR_VERSION,
			    "boot protocol %u.%02u is older than %u.%02u (Linux 3.8): no xloadflags",
			    r.version >> 8, r.version & 0xff, BZ_MIN_VERSION >> 8,
			    BZ_MIN_VERSION & 0xff);
	hdr_end = 0x202u + file[BZ_HDR_JUMP + 1];
	if (hdr_end < BZ_HDR_MIN_END || hdr_end > BZ_HDR_MAX_END)
		return fail(err, BZ_ERR_HEADER,
			    "setup header ends at 0x%lx, outside [0x%x, 0x%x] for protocol %u.%02u",
			    hdr_end, BZ_HDR_MIN_END, BZ_HDR_MAX_END, r.version >> 8, r.version & 0xff);
	setup_sects = file[BZ_HDR_SETUP_SECTS] ? file[BZ_HDR_SETUP_SECTS] : 4u;
	setup_size = (uint64_t)(setup_sects + 1) * SECTOR;
	if (file_size < setup_size)
		return fail(err, BZ_ERR_TRUNCATED,
			    "file of %lu bytes is shorter than its %u setup sectors (%lu bytes)",
			    file_size, setup_sects + 1, setup_size);
	/* Only now may fields past the magic be read: they lie below
	 * hdr_end <= 0x290 <= setup_size (at least 5 sectors). */
	if (!(get_le16(file + BZ_HDR_XLOADFLAGS) & BZ_XLF_KERNEL_64))
		return fail(err, BZ_ERR_NOT_64BIT,
			    "not a 64-bit kernel (xloadflags 0x%x, bit 0 clear): tscvisor boots x86-64 Linux only",
			    get_le16(file + BZ_HDR_XLOADFLAGS));
	loadflags = file[BZ_HDR_LOADFLAGS];
	if (!(loadflags & BZ_LOADED_HIGH))
		return fail(err, BZ_ERR_NOT_HIGH,
			    "loadflags 0x%x without LOADED_HIGH: a zImage for 0x10000, not supported",
			    loadflags);

	r.pm_offset = setup_size;
	r.pm_size = file_size - setup_size;
	syssize = (uint64_t)get_le32(file + BZ_HDR_SYSSIZE) * 16u;
	if (r.pm_size == 0 || syssize == 0 || syssize > r.pm_size)
		return fail(err, BZ_ERR_PAYLOAD,
			    "protected-mode kernel of %lu bytes at offset 0x%lx, header says %lu (syssize)",
			    r.pm_size, r.pm_offset, syssize);
	init_size = get_le32(file + BZ_HDR_INIT_SIZE);
	if (init_size < r.pm_size)
		return fail(err, BZ_ERR_INIT_SIZE,
			    "init_size 0x%lx is smaller than the protected-mode kernel (0x%lx bytes)",
			    init_size, r.pm_size);

	/* Relocatable or not, the kernel goes at pref_address: a 64-bit
	 * relocatable kernel decompresses itself no lower than that anyway,
	 * so a lower load would not save guest RAM. */
	r.relocatable = file[BZ_HDR_RELOCATABLE] != 0;
	align = get_le32(file + BZ_HDR_KERNEL_ALIGN);
	pref = get_le64(file + BZ_HDR_PREF_ADDRESS);
	if (r.relocatable && (align == 0 || (align & (align - 1))))
		return fail(err, BZ_ERR_ALIGN, "kernel_alignment 0x%lx is not a power of two", align);
	if (pref % PAGE || (r.relocatable && pref % align))
		return fail(err, BZ_ERR_ALIGN,
			    "pref_address 0x%lx is not aligned to %s 0x%lx", pref,
			    pref % PAGE ? "a page," : "kernel_alignment", pref % PAGE ? PAGE : align);
	if (pref < BZ_HIGH_RAM_START || pref >= FOUR_GIB || init_size > FOUR_GIB - pref ||
	    pref + init_size > low_end)
		return fail(err, BZ_ERR_KERNEL_FIT,
			    "kernel needs [0x%lx, 0x%lx) (pref_address + init_size): not inside guest RAM "
			    "[0x%x, 0x%lx) below the MMIO hole", pref, pref + init_size, BZ_HIGH_RAM_START,
			    low_end);
	r.entry = (uint32_t)pref;
	r.kernel_lo = pref;
	r.kernel_hi = kernel_end = pref + init_size;

	cmd_len = cmdline ? strlen(cmdline) : 0;
	cmd_max = get_le32(file + BZ_HDR_CMDLINE_SIZE);
	if (cmd_max > BZ_CMDLINE_MAX - 1)
		cmd_max = BZ_CMDLINE_MAX - 1;
	if (cmd_len > cmd_max)
		return fail(err, BZ_ERR_CMDLINE,
			    "command line of %lu bytes is longer than %lu (the kernel's cmdline_size %u, "
			    "at most %u)", cmd_len, cmd_max, get_le32(file + BZ_HDR_CMDLINE_SIZE),
			    BZ_CMDLINE_MAX - 1);

	if (initrd_size) {
		/* As high as the kernel lets it be (initrd_addr_max is the
		 * highest byte it may occupy) and RAM allows. */
		initrd_top = (uint64_t)get_le32(file + BZ_HDR_INITRD_MAX) + 1;
		if (initrd_top > low_end)
			initrd_top = low_end;
		if (initrd_size > initrd_top || ((initrd_top - initrd_size) & ~(PAGE - 1)) < kernel_end)
			return fail(err, BZ_ERR_INITRD_FIT,
				    "initramfs of %lu bytes does not fit between the kernel's end 0x%lx and "
				    "0x%lx (RAM or initrd_addr_max)", initrd_size, kernel_end, initrd_top);
		r.initrd_gpa = (initrd_top - initrd_size) & ~(PAGE - 1);
		r.initrd_size = initrd_size;
	}

	r.zero_page_gpa = BZ_ZERO_PAGE_GPA;
	r.gdt_gpa = BZ_GDT_GPA;
	r.cmdline_gpa = BZ_CMDLINE_GPA;
	version_string(file, setup_size, r.kernel_version, sizeof(r.kernel_version));
	if (res)
		*res = r;
	return 0;
}

/* A flat 4 GiB segment descriptor: base 0, limit 0xfffff pages, G=1, D=1,
 * present, DPL 0, with the given type (0xb code execute/read accessed,
 * 0x3 data read/write accessed). */
static uint64_t flat_descriptor(unsigned type)
{
	return 0x0000ffffull | (uint64_t)(0x90u | type) << 40 | 0xcfull << 48;
}

int bz_load(const uint8_t *file, uint64_t file_size, uint8_t *ram, uint64_t ram_size,
	    const char *cmdline, const uint8_t *initrd, uint64_t initrd_size,
	    struct bz_load_result *res, struct bz_load_error *err)
{
	struct bz_load_result r;
	uint64_t hdr_end, cmd_len;
	struct gmem_range ranges[GMEM_MAX_RANGES];
	unsigned n;
	uint8_t *zp, *e;

	if (!ram)
		return fail(err, BZ_ERR_ARG, "no guest RAM");
	if (bz_check(file, file_size, ram_size, cmdline, initrd, initrd_size, &r, err))
		return -1;
	/* The loader's low pages must be RAM; bz_check() placed the kernel
	 * at 1 MiB or above, so ram_size is past them. */
	hdr_end = 0x202u + file[BZ_HDR_JUMP + 1];
	cmd_len = cmdline ? strlen(cmdline) : 0;

	memcpy(ram + r.kernel_lo, file + r.pm_offset, r.pm_size);
	memset(ram + r.kernel_lo + r.pm_size, 0, r.kernel_hi - r.kernel_lo - r.pm_size);
	if (initrd_size)
		memcpy(ram + r.initrd_gpa, initrd, initrd_size);
	memset(ram + BZ_CMDLINE_GPA, 0, BZ_CMDLINE_MAX);
	if (cmd_len)
		memcpy(ram + BZ_CMDLINE_GPA, cmdline, cmd_len);

	put_le64(ram + BZ_GDT_GPA + 0, 0);
	put_le64(ram + BZ_GDT_GPA + 8, 0);
	put_le64(ram + BZ_GDT_GPA + BZ_BOOT_CS, flat_descriptor(0xb));
	put_le64(ram + BZ_GDT_GPA + BZ_BOOT_DS, flat_descriptor(0x3));

	zp = ram + BZ_ZERO_PAGE_GPA;
	memset(zp, 0, BZ_ZP_SIZE);
	memcpy(zp + BZ_HDR_SETUP_SECTS, file + BZ_HDR_SETUP_SECTS, hdr_end - BZ_HDR_SETUP_SECTS);
	zp[BZ_HDR_TYPE_OF_LOADER] = BZ_LOADER_TYPE;
	/* No real-mode setup code runs: its heap is not ours to give. */
	zp[BZ_HDR_LOADFLAGS] &= (uint8_t)~BZ_CAN_USE_HEAP;
	put_le16(zp + BZ_HDR_HEAP_END_PTR, 0);
	put_le32(zp + BZ_HDR_CODE32_START, r.entry);
	put_le32(zp + BZ_HDR_CMD_LINE_PTR, BZ_CMDLINE_GPA);
	put_le32(zp + BZ_HDR_RAMDISK_IMAGE, (uint32_t)r.initrd_gpa);
	put_le32(zp + BZ_HDR_RAMDISK_SIZE, (uint32_t)r.initrd_size);

	/* The same map the multiboot loader gives: low RAM, the EBDA/VGA/BIOS
	 * hole (where the ACPI tables live), RAM from 1 MiB to the MMIO hole,
	 * and RAM from 4 GiB when there is more (guestmem.h). */
	n = gmem_ranges(ram_size, ranges);
	zp[BZ_ZP_E820_ENTRIES] = (uint8_t)(BZ_E820_ENTRIES + (n - 1));
	e = zp + BZ_ZP_E820_TABLE;
	put_le64(e + 0, 0);
	put_le64(e + 8, BZ_LOW_RAM_END);
	put_le32(e + 16, BZ_E820_RAM);
	e += 20;
	put_le64(e + 0, BZ_LOW_RAM_END);
	put_le64(e + 8, BZ_HIGH_RAM_START - BZ_LOW_RAM_END);
	put_le32(e + 16, BZ_E820_RESERVED);
	e += 20;
	put_le64(e + 0, BZ_HIGH_RAM_START);
	put_le64(e + 8, ranges[0].size - BZ_HIGH_RAM_START);
	put_le32(e + 16, BZ_E820_RAM);
	if (n > 1) {
		e += 20;
		put_le64(e + 0, ranges[1].gpa);
		put_le64(e + 8, ranges[1].size);
		put_le32(e + 16, BZ_E820_RAM);
	}

	if (res)
		*res = r;
	return 0;
}
