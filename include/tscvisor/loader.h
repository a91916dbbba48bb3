/* Multiboot v1 guest kernel loader (pure C, no hardware access; policy and
 * guest memory layout in docs/loader.md).
 *
 * Given a kernel file's bytes and a guest RAM buffer (guest-physical address
 * 0 is ram[0]; past 3 GiB the buffer continues at 4 GiB, guestmem.h, and
 * everything the loader places goes below 3 GiB), mb_load() places the kernel's segments, the optional modules
 * and the multiboot information structure in guest RAM and says where to
 * enter. mb_check() runs every check of mb_load() without a RAM buffer, so
 * the hypervisor can refuse a kernel before any VM runs. Both validate
 * everything first: on failure not one byte of guest RAM has been written.
 *
 * The VMM then enters the kernel as the Multiboot spec 0.6.96 section 3.2
 * says: EAX = MB_BOOT_MAGIC, EBX = mbi_gpa, EIP = entry, 32-bit protected
 * mode, paging off, flat 4 GiB CS (execute/read) and DS/ES/FS/GS/SS
 * (read/write), A20 on, EFLAGS.IF = 0 and EFLAGS.VM = 0.
 */
#ifndef TSCVISOR_LOADER_H
#define TSCVISOR_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define MB_HEADER_MAGIC      0x1BADB002u  /* in the kernel file */
#define MB_BOOT_MAGIC        0x2BADB002u  /* in EAX at the kernel's entry */
#define MB_SEARCH_BYTES      8192u        /* the header lies within these */

/* Header flags (Multiboot 0.6.96 section 3.1.2). Bits 0-15 are requirements:
 * an unknown one makes us refuse the kernel. */
#define MB_HF_PAGE_ALIGN     (1u << 0)    /* modules page-aligned: always */
#define MB_HF_MEMORY_INFO    (1u << 1)    /* mem_* and mmap: always given */
#define MB_HF_VIDEO_MODE     (1u << 2)    /* no display here: ignored (as QEMU) */
#define MB_HF_AOUT_KLUDGE    (1u << 16)   /* header address fields valid */
#define MB_HF_SUPPORTED_REQ  (MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO | MB_HF_VIDEO_MODE)

/* Information structure flags we set (section 3.3). */
#define MB_INFO_MEMORY       (1u << 0)
#define MB_INFO_CMDLINE      (1u << 2)
#define MB_INFO_MODS         (1u << 3)
#define MB_INFO_MMAP         (1u << 6)
#define MB_INFO_LOADER_NAME  (1u << 9)

/* Guest-physical layout owned by the loader (docs/loader.md). Page 0 is
 * never written by us. The info area holds, at fixed offsets, the info
 * structure, the memory map, the boot loader name, the module list, the
 * command line and the module strings; kernels may not load into it. */
#define MB_AREA_BASE         0x9000u
#define MB_AREA_END          0xC000u
#define MB_MBI_GPA           (MB_AREA_BASE + 0x000u)  /* 116 bytes */
#define MB_MMAP_GPA          (MB_AREA_BASE + 0x080u)  /* MB_MMAP_ENTRIES x 24 */
#define MB_LOADER_NAME_GPA   (MB_AREA_BASE + 0x100u)
#define MB_MODLIST_GPA       (MB_AREA_BASE + 0x200u)  /* MB_MAX_MODULES x 16 */
#define MB_CMDLINE_GPA       (MB_AREA_BASE + 0x400u)  /* MB_CMDLINE_MAX */
#define MB_MODSTR_GPA        (MB_AREA_BASE + 0x1400u) /* MB_MAX_MODULES x MB_MODSTR_MAX */

/* Platform hole, never RAM for a kernel: [0x9FC00, 0xA0000) stands for an
 * EBDA, then VGA and BIOS space where the platform puts the ACPI tables
 * (RSDP in 0xE0000-0xFFFFF). Marked reserved in the memory map. */
#define MB_LOW_RAM_END       0x9FC00u
#define MB_HOLE_END          0x100000u

#define MB_MIN_RAM           (2u << 20)   /* as CFG_MIN_MEMORY_MIB */
#define MB_MAX_PHDRS         64u
#define MB_MAX_MODULES       16u
#define MB_CMDLINE_MAX       4096u        /* bytes including the NUL */
#define MB_MODSTR_MAX        256u         /* bytes including the NUL */
#define MB_MMAP_ENTRIES      3u           /* low RAM, platform hole, RAM from 1 MiB */
#define MB_MMAP_ENTRIES_MAX  4u           /* and RAM from 4 GiB (guest RAM above 3 GiB) */
#define MB_LOADER_NAME       "tscvisor"

enum mb_load_err {
	MB_OK = 0,
	MB_ERR_ARG,             /* NULL buffer, NULL module data with size > 0 */
	MB_ERR_RAM_SIZE,        /* guest RAM smaller than MB_MIN_RAM */
	MB_ERR_NO_HEADER,       /* no 0x1BADB002 at a 4-aligned offset in the first 8 KiB */
	MB_ERR_CHECKSUM,        /* magic found, but magic + flags + checksum != 0 */
	MB_ERR_HEADER_TRUNCATED,/* address fields (bit 16) past the file or the 8 KiB */
	MB_ERR_FLAGS,           /* required-feature bit (3..15) we do not know */
	MB_ERR_NOT_ELF,         /* no ELF magic and no a.out kludge */
	MB_ERR_ELF_HEADER,      /* ELF header truncated, big-endian or bad version */
	MB_ERR_ELF_CLASS,       /* EI_CLASS neither ELFCLASS32 nor ELFCLASS64 */
	MB_ERR_ELF_MACHINE,     /* ELF32 not EM_386 / ELF64 not EM_X86_64 */
	MB_ERR_ELF_TYPE,        /* not ET_EXEC */
	MB_ERR_PHDRS,           /* program header table out of the file, bad entry size */
	MB_ERR_TOO_MANY_PHDRS,  /* more than MB_MAX_PHDRS program headers */
	MB_ERR_NO_LOAD,         /* nothing to load (no non-empty PT_LOAD) */
	MB_ERR_SEG_SIZES,       /* p_filesz > p_memsz */
	MB_ERR_SEG_FILE,        /* segment's file bytes out of the file */
	MB_ERR_SEG_RAM,         /* segment not inside guest RAM below the hole (or wraps) */
	MB_ERR_SEG_4G,          /* segment not below 4 GiB */
	MB_ERR_SEG_RESERVED,    /* segment overlaps the info area or the platform hole */
	MB_ERR_SEG_OVERLAP,     /* two segments overlap */
	MB_ERR_AOUT,            /* inconsistent a.out kludge address fields */
	MB_ERR_ENTRY,           /* entry not inside a loaded segment (or >= 4 GiB) */
	MB_ERR_CMDLINE,         /* "PROGNAME ARGS" longer than MB_CMDLINE_MAX - 1 */
	MB_ERR_TOO_MANY_MODS,   /* more than MB_MAX_MODULES modules */
	MB_ERR_MOD_STRING,      /* module string longer than MB_MODSTR_MAX - 1 */
	MB_ERR_MOD_FIT,         /* modules do not fit in RAM below the MMIO hole */
	MB_ERR_COUNT
};

struct mb_module {
	const uint8_t *data;    /* may be NULL when size is 0 */
	uint64_t size;
	const char *string;     /* the module's command line; NULL = "" */
};

struct mb_load_result {
	uint32_t entry;         /* EIP at entry (guest-physical) */
	uint32_t mbi_gpa;       /* EBX at entry: the info structure */
	uint64_t kernel_lo;     /* lowest GPA of the kernel's segments */
	uint64_t kernel_hi;     /* end (exclusive) of its highest segment incl. bss */
	uint64_t mods_hi;       /* end (exclusive) of the last module, or kernel_hi */
	uint32_t header_offset; /* file offset of the multiboot header */
	uint32_t header_flags;  /* its flags word */
	unsigned nsegs;         /* segments loaded (1 with the a.out kludge) */
	unsigned elf_class;     /* 32 or 64; 0 when the a.out kludge was used */
	bool aout_kludge;       /* loaded by the header's address fields */
	bool video_ignored;     /* header asked for a video mode (bit 2): not given */
};

struct mb_load_error {
	enum mb_load_err code;
	char msg[128];          /* one line, says which check failed and the values */
};

/* Validate the kernel, the command line and the modules against a guest of
 * ram_size bytes, as mb_load() does, writing nothing but *res and *err (each
 * may be NULL). Returns 0, or -1 with err filled. */
int mb_check(const uint8_t *file, uint64_t file_size, uint64_t ram_size,
	     const char *progname, const char *cmdline,
	     const struct mb_module *mods, unsigned nmods,
	     struct mb_load_result *res, struct mb_load_error *err);

/* mb_check(), then copy the segments (zeroing bss), the modules (each
 * page-aligned above the kernel) and build the info structure in the
 * loader's area. The command line given to the guest is "PROGNAME ARGS"
 * ("PROGNAME" when args is NULL or empty, "ARGS" when progname is). `file`,
 * the module data and `ram` (ram_size bytes) must not overlap. Returns 0, or
 * -1 with guest RAM untouched (*res is then unspecified). */
int mb_load(const uint8_t *file, uint64_t file_size, uint8_t *ram, uint64_t ram_size,
	    const char *progname, const char *cmdline,
	    const struct mb_module *mods, unsigned nmods,
	    struct mb_load_result *res, struct mb_load_error *err);

/* "MB_ERR_CHECKSUM" etc.; "MB_ERR_?" for an unknown code. */
const char *mb_err_name(enum mb_load_err code);

#endif
