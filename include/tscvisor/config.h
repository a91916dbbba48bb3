/* Configuration: the parsed form of tscvisor.cfg (pure C, no hardware access).
 *
 * Syntax (xl.cfg-like, INI sections): `key = value` lines; `# comment` and blank
 * lines ignored; a line `[NAME]` opens the section of the VM called NAME. Keys
 * before the first section are global (hypervisor-wide) options. Values may be
 * bare words/numbers or "double-quoted strings". See docs/config.md.
 */
#ifndef TSCVISOR_CONFIG_H
#define TSCVISOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CFG_MAX_VMS      8
#define CFG_NAME_MAX     32     /* bytes including NUL */
#define CFG_PATH_MAX     128
#define CFG_CMDLINE_MAX  256
#define CFG_KEY_MAX      32
#define CFG_MSG_MAX      192
#define CFG_LINE_MAX     1024   /* longest line / override, without its line end */

/* Guest RAM: nested page tables map it in 2 MiB pages, so its size is a
 * multiple of 2 MiB. The first 3 GiB are guest-physical [0, 3 GiB), below
 * the MMIO hole (LAPIC 0xFEE00000 and the rest); the rest continues at
 * 4 GiB (guestmem.h, docs/platform.md). 64 GiB at most: a bound on what
 * one VM may ask of the host (whose RAM the VM's is, whole, from the
 * start), not of the layout. */
#define CFG_MIN_MEMORY_MIB 2u
#define CFG_MAX_MEMORY_MIB 65536u
#define CFG_MEMORY_ALIGN_MIB 2u
#define CFG_MAX_VCPUS      64u
/* A VM's own snapshot buffer (key save_buffer), reserved at boot beside its
 * RAM: large enough for any snapshot of the largest VM. */
#define CFG_MAX_SAVE_BUFFER_MIB 4096u
#define CFG_MIN_TSC_KHZ    1000u       /* 1 MHz  */
#define CFG_MAX_TSC_KHZ    10000000u   /* 10 GHz */

enum tsc_mode {
	TSC_MODE_AUTO = 0,
	TSC_MODE_NATIVE,
	TSC_MODE_EMULATE,
	TSC_MODE_PVRDTSCP,
};

/* Missed periodic LAPIC timer ticks (libvirt's names). */
enum tick_policy {
	TICK_DELAY = 0,     /* deliver every tick, late: the schedule shifts */
	TICK_CATCHUP,       /* deliver the missed ticks faster, then resume */
	TICK_MERGE,         /* one tick for all the missed ones */
	TICK_DISCARD,       /* drop the missed ticks, keep the schedule */
};

/* What a VM does after a snapshot of it was taken (hypercall or operator). */
enum on_save {
	ON_SAVE_RESTORE = 0,   /* destroy it and restore it from the snapshot, then go on */
	ON_SAVE_CONTINUE,      /* just go on */
	ON_SAVE_STOP,          /* end the VM (its snapshot carries it on elsewhere) */
};

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

struct vm_config {
	char name[CFG_NAME_MAX];
	char kernel[CFG_PATH_MAX];     /* path on the ESP, relative to the config's folder */
	char cmdline[CFG_CMDLINE_MAX]; /* given to the guest after the program name */
	char restore[CFG_PATH_MAX];    /* a snapshot to restore instead of booting a kernel */
	char ramdisk[CFG_PATH_MAX];    /* a bzImage kernel's initramfs, like kernel's path; "" = none */
	uint32_t memory_mib;           /* default 64 */
	uint32_t vcpus;                /* default 1 */
	enum tsc_mode tsc_mode;        /* default auto */
	uint32_t tsc_khz;              /* 0 = the host's TSC kHz when the VM is created */
	enum tick_policy tick_policy;  /* default delay */
	uint32_t migrate_ms;           /* test option: move every vCPU to the next pCPU this often */
	enum on_save on_save;          /* default restore */
	uint32_t save_after_ms;        /* operator's save this long after the VM starts; 0: none */
	uint32_t save_buffer_mib;      /* its own snapshot buffer, reserved at boot; 0: the boot's
	                                * shared 16 MiB budget (vmm/save.c) */
	uint32_t test_spurious_pf;     /* test option: page faults each vCPU is made to see as the
	                                * emulator's (vmm/quirks.c); 0: none */
	unsigned line;                 /* line of the [NAME] header */
	unsigned kernel_line;          /* line of the kernel key (0 if absent or set by an override) */
	unsigned ramdisk_line;         /* line of the ramdisk key (0 likewise) */
	unsigned save_buffer_line;     /* line of the save_buffer key (0 likewise) */
};

/* Hypervisor self-tests an operator or the test suite can ask for. */
enum selftest {
	SELFTEST_NONE = 0,
	SELFTEST_FAULT,      /* execute UD2 in the core: proves the exception path */
};

struct hv_config {
	enum log_level log_level;      /* key log_level: error|warn|info|debug, default info */
	bool tsc_reliable;             /* key tsc_reliable: operator vouches for the host TSC */
	bool dry_run;                  /* key dry_run: load and check everything, run no VM */
	enum selftest selftest;        /* key selftest: none|fault */
	uint32_t test_skew_cpu;        /* key test_tsc_skew = CPU:CYCLES (testing only) */
	int64_t test_skew_cycles;      /* 0 = no pretended skew */
	unsigned nvms;
	struct vm_config vms[CFG_MAX_VMS];
};

struct cfg_error {
	unsigned line;                 /* 1-based; 0 when the error is not about one line */
	char key[CFG_KEY_MAX];         /* key concerned, "" when none */
	char msg[CFG_MSG_MAX];
};

/* Fill *cfg with defaults (no VMs). */
void config_defaults(struct hv_config *cfg);

/* Parse a whole config text (need not be NUL-terminated). On success returns 0
 * and *cfg holds the result (built from config_defaults(); what *cfg held
 * before is replaced). On failure returns -1, *err names the line and the key,
 * and *cfg is left as it was before the call (nothing half-applied). err->msg
 * does not repeat the key: print it as `FILE:LINE: key 'KEY': MSG`. */
int config_parse(const char *text, size_t len, struct hv_config *cfg,
		 struct cfg_error *err);

/* Apply one override `key=value` (global) or `VM.key=value` (one VM) given on
 * the UEFI command line; same validation as the file. On error returns -1,
 * err->line = 0, err->key is the key without the VM name, and *cfg is
 * unchanged. Overrides may repeat a key and replace what the file set; they
 * cannot create a VM. */
int config_override(struct hv_config *cfg, const char *assignment,
		    struct cfg_error *err);

/* Check what only makes sense for the whole file: at least one VM, every VM
 * has a kernel (or a snapshot to restore), no save_buffer on a VM with
 * on_save = stop. Returns 0 or -1 with *err set (the line of the VM's header,
 * or of its save_buffer key). */
int config_validate(const struct hv_config *cfg, struct cfg_error *err);

/* "auto", "native", "emulate", "pvrdtscp". */
const char *tsc_mode_name(enum tsc_mode mode);
/* Accepts the names above and Xen's aliases default, always_emulate,
 * native_paravirt. Returns 0 or -1. */
int tsc_mode_parse(const char *s, enum tsc_mode *out);
const char *log_level_name(enum log_level lvl);
/* Accepts error, warn, info, debug. Returns 0 or -1. Like every keyword in the
 * config, matched case-insensitively. */
int log_level_parse(const char *s, enum log_level *out);

#endif
