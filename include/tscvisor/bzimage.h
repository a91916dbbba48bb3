/* Linux/x86 boot protocol loader: a bzImage, its command line and its
 * initramfs placed in guest RAM with a zero page (struct boot_params), for
 * the 32-bit protected-mode entry. Pure C, no hardware access (policy and
 * guest memory layout in docs/linux-guest.md).
 *
 * bz_check() runs every check of bz_load() without a RAM buffer, so the
 * hypervisor can refuse a kernel before any VM runs; on failure bz_load()
 * has written not one byte of guest RAM.
 *
 * The VMM then enters the kernel as the boot protocol's 32-bit entry asks:
 * EIP = entry (the protected-mode kernel's load address), ESI = the zero
 * page, EBP = EDI = EBX = 0, 32-bit protected mode with paging off, CS =
 * BZ_BOOT_CS and DS/ES/SS = BZ_BOOT_DS, each a flat 4 GiB segment described
 * by the GDT the loader wrote at gdt_gpa, interrupts disabled.
 */
#ifndef TSCVISOR_BZIMAGE_H
#define TSCVISOR_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Setup header offsets in the file and in the zero page (the header sits at
 * the same offset in both). */
#define BZ_HDR_SETUP_SECTS    0x1f1u   /* u8: 512-byte sectors of setup code; 0 means 4 */
#define BZ_HDR_SYSSIZE        0x1f4u   /* u32: protected-mode code in 16-byte units */
#define BZ_HDR_BOOT_FLAG      0x1feu   /* u16: 0xAA55 */
#define BZ_HDR_JUMP           0x200u   /* its second byte: the header's end - 0x202 */
#define BZ_HDR_MAGIC          0x202u   /* u32: "HdrS" */
#define BZ_HDR_VERSION        0x206u   /* u16: protocol version, 0x020c = 2.12 */
#define BZ_HDR_KERNEL_VERSION 0x20eu   /* u16: version string at this + 0x200 */
#define BZ_HDR_TYPE_OF_LOADER 0x210u   /* u8, written */
#define BZ_HDR_LOADFLAGS      0x211u   /* u8 */
#define BZ_HDR_CODE32_START   0x214u   /* u32, written */
#define BZ_HDR_RAMDISK_IMAGE  0x218u   /* u32, written */
#define BZ_HDR_RAMDISK_SIZE   0x21cu   /* u32, written */
#define BZ_HDR_HEAP_END_PTR   0x224u   /* u16, written */
#define BZ_HDR_CMD_LINE_PTR   0x228u   /* u32, written */
#define BZ_HDR_INITRD_MAX     0x22cu   /* u32: highest address the initrd may use */
#define BZ_HDR_KERNEL_ALIGN   0x230u   /* u32 */
#define BZ_HDR_RELOCATABLE    0x234u   /* u8 */
#define BZ_HDR_XLOADFLAGS     0x236u   /* u16 */
#define BZ_HDR_CMDLINE_SIZE   0x238u   /* u32: longest command line, NUL excluded */
#define BZ_HDR_PREF_ADDRESS   0x258u   /* u64 */
#define BZ_HDR_INIT_SIZE      0x260u   /* u32: memory the kernel needs from its load address */
#define BZ_HDR_MIN_END        0x264u   /* a 2.12 header reaches at least here */
#define BZ_HDR_MAX_END        0x290u   /* where boot_params's next field starts */

#define BZ_BOOT_FLAG          0xAA55u
#define BZ_MAGIC              0x53726448u  /* "HdrS" */
#define BZ_MIN_VERSION        0x020cu      /* 2.12: xloadflags, init_size, pref_address */
#define BZ_LOADED_HIGH        (1u << 0)    /* loadflags: protected mode code at 1 MiB+ */
#define BZ_CAN_USE_HEAP       (1u << 7)    /* loadflags: heap_end_ptr valid (real-mode entry only) */
#define BZ_XLF_KERNEL_64      (1u << 0)    /* xloadflags: a 64-bit kernel */
#define BZ_LOADER_TYPE        0xffu        /* "undefined" boot loader ID */

/* Zero page fields outside the setup header. */
#define BZ_ZP_E820_ENTRIES    0x1e8u       /* u8 */
#define BZ_ZP_E820_TABLE      0x2d0u       /* 20-byte entries: addr, size, type */
#define BZ_ZP_SIZE            0x1000u
#define BZ_E820_RAM           1u
#define BZ_E820_RESERVED      2u
#define BZ_E820_ENTRIES       3u           /* 4 with RAM above 4 GiB */

/* Guest-physical layout owned by this loader, all below the 640 KiB line
 * (docs/linux-guest.md). The kernel goes at its pref_address (at least
 * 1 MiB), the initramfs as high as RAM and the kernel's initrd_addr_max
 * allow, page aligned. */
#define BZ_GDT_GPA            0x6000u      /* 4 descriptors: null, null, code, data */
#define BZ_ZERO_PAGE_GPA      0x7000u
#define BZ_CMDLINE_GPA        0x20000u
#define BZ_CMDLINE_MAX        4096u        /* bytes including the NUL */
#define BZ_BOOT_CS            0x10u        /* the boot protocol's __BOOT_CS */
#define BZ_BOOT_DS            0x18u        /* and __BOOT_DS */
#define BZ_GDT_LIMIT          (4u * 8u - 1u)
#define BZ_LOW_RAM_END        0x9FC00u     /* as the multiboot loader's map */
#define BZ_HIGH_RAM_START     0x100000u

enum bz_load_err {
	BZ_OK = 0,
	BZ_ERR_ARG,             /* NULL file or RAM, NULL initrd with size > 0 */
	BZ_ERR_TRUNCATED,       /* file shorter than its setup header or its setup code */
	BZ_ERR_NOT_BZIMAGE,     /* no 0xAA55 boot flag or no "HdrS" */
	BZ_ERR_VERSION,         /* boot protocol older than BZ_MIN_VERSION */
	BZ_ERR_HEADER,          /* setup header's end out of [BZ_HDR_MIN_END, BZ_HDR_MAX_END] */
	BZ_ERR_NOT_64BIT,       /* xloadflags without XLF_KERNEL_64 */
	BZ_ERR_NOT_HIGH,        /* loadflags without LOADED_HIGH (a zImage) */
	BZ_ERR_PAYLOAD,         /* no protected-mode code, or syssize past the file */
	BZ_ERR_INIT_SIZE,       /* init_size smaller than the protected-mode code */
	BZ_ERR_ALIGN,           /* kernel_alignment not a power of two, or pref_address
	                         * not aligned to it / to a page */
	BZ_ERR_KERNEL_FIT,      /* [pref_address, + init_size) not in RAM above 1 MiB below 4 GiB */
	BZ_ERR_CMDLINE,         /* longer than the kernel's cmdline_size or BZ_CMDLINE_MAX - 1 */
	BZ_ERR_INITRD_FIT,      /* initramfs does not fit between the kernel and its limit */
	BZ_ERR_COUNT
};

struct bz_load_result {
	uint32_t entry;          /* EIP: the protected-mode kernel's load address */
	uint32_t zero_page_gpa;  /* ESI */
	uint32_t gdt_gpa;        /* GDTR base (limit BZ_GDT_LIMIT) */
	uint32_t cmdline_gpa;
	uint64_t kernel_lo;      /* [kernel_lo, kernel_hi): the load address + init_size */
	uint64_t kernel_hi;
	uint64_t pm_offset;      /* file offset of the protected-mode code */
	uint64_t pm_size;        /* its bytes copied */
	uint64_t initrd_gpa;     /* 0 when there is no initramfs */
	uint64_t initrd_size;
	uint16_t version;        /* boot protocol, 0x020f = 2.15 */
	bool relocatable;
	char kernel_version[64]; /* the kernel's version string, "" when absent */
};

struct bz_load_error {
	enum bz_load_err code;
	char msg[160];           /* one line: which check failed and the values */
};

/* The file has a Linux setup header (boot flag and "HdrS"): it is for this
 * loader, not the multiboot one, and its refusals are this loader's. */
bool bz_is_bzimage(const uint8_t *file, uint64_t file_size);

/* Validate the kernel, the command line (NULL = "") and the initramfs
 * (NULL with size 0 = none) against a guest of ram_size bytes, as bz_load()
 * does, writing nothing but *res and *err (each may be NULL). Returns 0, or
 * -1 with err filled. */
int bz_check(const uint8_t *file, uint64_t file_size, uint64_t ram_size, const char *cmdline,
	     const uint8_t *initrd, uint64_t initrd_size,
	     struct bz_load_result *res, struct bz_load_error *err);

/* bz_check(), then write the protected-mode kernel, the command line, the
 * initramfs, the zero page (the file's setup header, the fields a loader
 * fills, the e820 map of ram_size) and the boot GDT. `file`, `initrd` and
 * `ram` must not overlap. Returns 0, or -1 with guest RAM untouched. */
int bz_load(const uint8_t *file, uint64_t file_size, uint8_t *ram, uint64_t ram_size,
	    const char *cmdline, const uint8_t *initrd, uint64_t initrd_size,
	    struct bz_load_result *res, struct bz_load_error *err);

/* "BZ_ERR_VERSION" etc.; "BZ_ERR_?" for an unknown code. */
const char *bz_err_name(enum bz_load_err code);

#endif
