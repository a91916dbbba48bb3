/* VM snapshots: the codec (pure C, no hardware access, no allocation).
 *
 * A snapshot holds everything a paused VM needs to resume on another host
 * (docs/save-restore.md): its identity, the architectural state of every vCPU in a
 * vendor-neutral form, device state, time state and guest RAM with the zero
 * pages left out. The byte layout is in docs/snapshot-format.md; the structs
 * below are this codec's in-memory form of it, independent of struct vm and
 * struct vcpu, so that the format does not change when they do.
 *
 * Saving: fill a struct snap_vm from the paused VM, then snap_encode() streams
 * the snapshot through an emit callback (a serial port, a buffer), computing
 * the checksum on the way. Nothing is allocated; the codec's stack use is
 * about 2 KiB encoding and 3.5 KiB decoding. A struct snap_vm is about 48 KiB:
 * keep it static, not on the hypervisor's 64 KiB stack.
 *
 * Restoring: snap_check() validates a whole snapshot held in memory and fills
 * *out (never RAM), so the hypervisor can refuse it before anything runs and
 * size the VM from out->id and its devices from out->platform; then
 * snap_decode() checks everything again and writes guest RAM. On failure
 * both return -1 with a message naming the failed check, and neither has
 * written anything: not *out, not one byte of RAM.
 */
#ifndef TSCVISOR_SNAPSHOT_H
#define TSCVISOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tscvisor/config.h>

#define SNAP_FORMAT_VERSION 1u
#define SNAP_MAGIC          "TSCVSNAP"      /* 8 bytes, no NUL */
#define SNAP_HEADER_LEN     32u
#define SNAP_TRAILER_LEN    8u              /* CRC-64/XZ of everything before it */
#define SNAP_SECTION_HDR_LEN 16u
#define SNAP_PAGE_SIZE      4096u

#define SNAP_NAME_MAX       32              /* bytes including the NUL */
#define SNAP_MAX_VCPUS      64u
#define SNAP_MIN_MEMORY_MIB 2u
#define SNAP_MAX_MEMORY_MIB 65536u     /* as the config's memory (64 GiB) */
#define SNAP_MEMORY_ALIGN_MIB 2u      /* nested paging maps RAM in 2 MiB pages */
#define SNAP_MIN_TSC_KHZ    1000u           /* 1 MHz */
#define SNAP_MAX_TSC_KHZ    10000000u       /* 10 GHz */

/* Section types (u32). Bit 31 set: optional, a reader that does not know the
 * type skips it; clear: mandatory, an unknown one is refused. */
#define SNAP_SEC_OPTIONAL   0x80000000u
enum snap_section {
	SNAP_SEC_IDENTITY = 1,
	SNAP_SEC_TIME     = 2,
	SNAP_SEC_VCPU     = 3,   /* one per vCPU */
	SNAP_SEC_UART     = 4,
	SNAP_SEC_FWCFG    = 5,
	SNAP_SEC_PIC      = 6,
	SNAP_SEC_RAM      = 7,
};
/* Optional sections this build reads. A macro, not in the enum: with bit 31
 * set the value does not fit an int, which is all an enum constant may be. */
#define SNAP_SEC_PLATFORM   (SNAP_SEC_OPTIONAL | 8u)   /* 0x80000008 */
#define SNAP_SEC_FPU        (SNAP_SEC_OPTIONAL | 9u)   /* 0x80000009, one per vCPU */
#define SNAP_SEC_XSTATE     (SNAP_SEC_OPTIONAL | 10u)  /* 0x8000000A, one per vCPU */
#define SNAP_SEC_IOAPIC     (SNAP_SEC_OPTIONAL | 11u)  /* 0x8000000B */
#define SNAP_SEC_UART_FIFO  (SNAP_SEC_OPTIONAL | 12u)  /* 0x8000000C */
#define SNAP_SEC_PM1        (SNAP_SEC_OPTIONAL | 13u)  /* 0x8000000D */

/* Payload lengths of the fixed-size sections (format version 1). */
#define SNAP_IDENTITY_LEN 52u
#define SNAP_TIME_LEN     40u
#define SNAP_VCPU_LEN     768u
#define SNAP_UART_LEN     6u
#define SNAP_FWCFG_LEN    6u
#define SNAP_PIC_LEN      4u
#define SNAP_PLATFORM_LEN 8u
#define SNAP_UART_FIFO_LEN 24u
#define SNAP_UART_RX_MAX  16u
#define SNAP_FPU_IMAGE_LEN 512u  /* the 64-bit FXSAVE image */
#define SNAP_FPU_LEN      (8u + SNAP_FPU_IMAGE_LEN)   /* vCPU id, reserved, image */
/* XSTATE: vCPU id, reserved, XCR0, XSTATE_BV, DR0-DR3, then the XSAVE
 * components beyond x87/SSE a guest may enable, each at a fixed place and
 * of its architectural size (SDM Vol. 1 13.5): AVX (YMM_Hi128, 256 bytes),
 * opmask (64), ZMM_Hi256 (512), Hi16_ZMM (1024). */
#define SNAP_XSTATE_EXT_LEN 1856u
#define SNAP_XSTATE_LEN   (56u + SNAP_XSTATE_EXT_LEN)
#define SNAP_XCR0_ALLOWED 0xe7ull  /* x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
/* IOAPIC: ID register, IOREGSEL, input pin levels, reserved, then the 24
 * redirection entries (64 bits each). */
#define SNAP_IOAPIC_PINS  24u
#define SNAP_IOAPIC_LEN   (16u + 8u * SNAP_IOAPIC_PINS)
#define SNAP_IOAPIC_ID_BITS   0x0f000000u          /* ID register: bits 27:24 */
#define SNAP_IOAPIC_RTE_BITS  0xff0000000001efffull /* entry bits an IOAPIC holds (remote IRR included) */
#define SNAP_IOAPIC_RTE_LEVEL (1ull << 15)
#define SNAP_IOAPIC_RTE_REMOTE_IRR (1ull << 14)
/* PM1: PM1_STS, PM1_EN, PM1_CNT's kept bits, reserved (16 bits each). */
#define SNAP_PM1_LEN      8u
#define SNAP_PM1_STS_BITS 0xc731u  /* the status bits ACPI defines */
#define SNAP_PM1_EN_BITS  0x4720u  /* GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS */
#define SNAP_PM1_CNT_BITS 0x1c02u  /* BM_RLD, SLP_TYP */
#define SNAP_RAM_HDR_LEN  16u    /* ram_size, page_size, run_count */
#define SNAP_RAM_RUN_LEN  16u    /* first_page, page_count (then the pages) */

/* The vendor that saved the snapshot: informative only (never checked; a
 * snapshot taken on SVM restores on VMX and back). */
enum snap_vendor {
	SNAP_VENDOR_UNKNOWN = 0,
	SNAP_VENDOR_SVM     = 1,
	SNAP_VENDOR_VMX     = 2,
};

struct snap_identity {
	char name[SNAP_NAME_MAX];   /* 1..31 of [A-Za-z0-9_-], NUL-padded */
	uint32_t vcpus;             /* 1..64 */
	uint32_t memory_mib;        /* 2..65536, even: guest RAM is memory_mib << 20 bytes */
	enum tsc_mode tsc_mode;     /* as configured (auto is re-decided on restore) */
	uint32_t tsc_khz;           /* the VM's guest TSC rate, 1 MHz..10 GHz */
	uint32_t vendor;            /* enum snap_vendor */
};

/* VM-wide time state at the save instant (the instant every vCPU's tsc
 * below was taken). */
struct snap_time {
	uint64_t system_time_ns;    /* pvclock system_time: ns since VM creation */
	uint64_t wall_clock_msr;    /* MSR 0x4b564d00 as last written (a GPA) */
	uint64_t pvclock_window_gpa;/* the per-vCPU pvclock window (SPEC 3), 0: none */
	uint64_t emul_last;         /* emulate mode: highest guest TSC value served
				     * to any vCPU (the VM-wide monotonic floor) */
	uint32_t incarnation;       /* as it was: the restorer adds 1 */
	bool pv_fast_path;          /* the guest asked for untrapped RDTSC (SPEC 3) */
};

struct snap_uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;   /* 16550 registers; ier <= 0x0f */
	/* The 16550A's FIFO state (optional UART_FIFO section; absent in
	 * snapshots from writers before it: FIFOs off, nothing received, no
	 * interrupt pending). fcr: bits 0, 3, 7:6 only, 0 or bit 0 set;
	 * lsr_err: bit 1 (overrun) only; msr: bits 7:4 what MCR gives
	 * (u16550_msr_lines), 3:0 the deltas; rx[0, rx_count) the received
	 * bytes, oldest first, rx_count <= 16 (<= 1 with fcr 0). */
	bool fifo_present;
	uint8_t fcr, lsr_err, msr;
	bool thr_ipending;
	uint8_t rx_count;
	uint8_t rx[SNAP_UART_RX_MAX];
};

struct snap_fwcfg {
	uint16_t selector;
	uint32_t offset;
};

struct snap_pic {
	uint8_t imr[2];             /* master, slave */
	uint8_t icw_step[2];        /* initialisation words still expected, 0..3 */
};

/* The platform the guest was given when it was created, as its firmware
 * tables describe it: a VM restored on another host must keep seeing the same
 * devices at the same places, whatever that host would give a new VM. Saved
 * in the optional PLATFORM section; absent (present false) in snapshots from
 * writers that predate it, and the restorer then gives the guest the new
 * host's platform. */
struct snap_platform {
	bool present;               /* false: no PLATFORM section (the other
				     * fields are then not written nor checked) */
	uint16_t pm_timer_port;     /* FADT PM_TMR_BLK I/O port, 0: none; <= 0xfffc */
	bool pm_timer_32bit;        /* FADT TMR_VAL_EXT: a 32-bit (not 24-bit) timer */
};

/* The I/O APIC (optional IOAPIC section; absent in snapshots from writers
 * before it: the restorer then leaves the IOAPIC at its reset state, every
 * entry masked). */
struct snap_ioapic {
	bool present;
	uint32_t id;                /* within SNAP_IOAPIC_ID_BITS */
	uint32_t ioregsel;          /* 0..0xff */
	uint32_t line;              /* bit n: pin n asserted; pins 0..23 */
	uint64_t rte[SNAP_IOAPIC_PINS];  /* within SNAP_IOAPIC_RTE_BITS; remote
				     * IRR only on a level-triggered entry */
};

/* The ACPI PM1a registers (optional PM1 section; absent in snapshots from
 * writers before it: the restorer then leaves them at reset, all 0). */
struct snap_pm1 {
	bool present;
	uint16_t sts;               /* within SNAP_PM1_STS_BITS */
	uint16_t en;                /* within SNAP_PM1_EN_BITS */
	uint16_t cnt;               /* within SNAP_PM1_CNT_BITS (SCI_EN is not kept: always 1) */
};

/* General-purpose registers by hardware number (ModRM order). */
enum snap_gpr {
	SNAP_RAX, SNAP_RCX, SNAP_RDX, SNAP_RBX, SNAP_RSP, SNAP_RBP, SNAP_RSI, SNAP_RDI,
	SNAP_R8, SNAP_R9, SNAP_R10, SNAP_R11, SNAP_R12, SNAP_R13, SNAP_R14, SNAP_R15,
	SNAP_NR_GPRS
};

/* Same order as enum seg_reg in vcpu.h. */
enum snap_seg {
	SNAP_ES, SNAP_CS, SNAP_SS, SNAP_DS, SNAP_FS, SNAP_GS,
	SNAP_LDTR, SNAP_TR, SNAP_GDTR, SNAP_IDTR, SNAP_NR_SEGS
};

struct snap_segment {
	uint16_t sel;
	uint16_t attr;   /* SVM 12-bit packing: type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1;
			  * 0 = unusable */
	uint32_t limit;  /* byte granular (as expanded by G) */
	uint64_t base;
};

enum snap_run_state {
	SNAP_RUN_RUNNING   = 0,
	SNAP_RUN_WAIT_SIPI = 1,    /* an AP after INIT, waiting for its SIPI */
};

/* LAPIC timer at the save instant. */
enum snap_timer_mode {
	SNAP_TIMER_IDLE     = 0,   /* not armed */
	SNAP_TIMER_ONESHOT  = 1,   /* armed: fires once after timer_remaining */
	SNAP_TIMER_PERIODIC = 2,   /* armed: next tick after timer_remaining */
	SNAP_TIMER_DEADLINE = 3,   /* armed: fires when the guest TSC reaches timer_deadline */
};

/* One vCPU (its id is its index in snap_vm.vcpu[]). */
struct snap_vcpu {
	uint64_t gpr[SNAP_NR_GPRS];
	uint64_t rip, rflags;
	struct snap_segment seg[SNAP_NR_SEGS];
	uint64_t cr0, cr2, cr3, cr4, efer, pat, dr6, dr7;
	uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pending_event;     /* SVM EXITINTINFO layout; 0 when none */
	uint64_t tsc_aux;           /* IA32_TSC_AUX (32 bits) */
	uint64_t apic_base;         /* IA32_APIC_BASE */
	uint32_t lapic[64];         /* xAPIC registers, lapic[i] at offset i * 16 */
	uint32_t timer_mode;        /* enum snap_timer_mode */
	uint64_t timer_remaining;   /* one-shot/periodic: guest TSC cycles to the
				     * next expiry; 0 otherwise */
	uint64_t timer_deadline;    /* IA32_TSC_DEADLINE (guest TSC), 0: disarmed */
	/* time */
	uint64_t tsc;               /* the guest TSC at the save instant */
	uint64_t tsc_adjust;        /* IA32_TSC_ADJUST */
	uint64_t pvclock_msr;       /* MSR 0x4b564d01: system-time area GPA | enable */
	uint32_t run_state;         /* enum snap_run_state */
	bool halted;                /* in HLT, waiting for an interrupt */
	bool interrupt_shadow;      /* the next instruction is in an STI/MOV SS shadow */
	/* x87/MMX/SSE registers as FXSAVE stores them in 64-bit mode (SDM Vol.
	 * 1 10.5.1); used when snap_vm.fpu_present. MXCSR (bytes 24..27) may
	 * not set bits 31:16 (FXRSTOR would fault). */
	uint8_t fpu[SNAP_FPU_IMAGE_LEN];
	/* Used when snap_vm.xstate_present (SNAP_SEC_XSTATE): XCR0 (bit 0 set,
	 * within SNAP_XCR0_ALLOWED, AVX with SSE, the AVX-512 bits all three
	 * on AVX, or none); XSTATE_BV: which of components 2, 5, 6, 7 hold
	 * state (within XCR0; a component not in it is all zero in xstate);
	 * DR0-DR3 (canonical addresses); xstate: the components, see
	 * snap_xstate_component(). */
	uint64_t xcr0, xstate_bv, dr[4];
	uint8_t xstate[SNAP_XSTATE_EXT_LEN];
};

/* Where XSAVE component `bit` (2, 5, 6, 7) lives in snap_vcpu.xstate:
 * true with its offset and size, false for any other component. */
static inline int snap_xstate_component(unsigned bit, unsigned *off, unsigned *size)
{
	switch (bit) {
	case 2: *off = 0; *size = 256; return 1;
	case 5: *off = 256; *size = 64; return 1;
	case 6: *off = 320; *size = 512; return 1;
	case 7: *off = 832; *size = 1024; return 1;
	default: return 0;
	}
}

struct snap_vm {
	struct snap_identity id;
	struct snap_time time;
	struct snap_uart uart;
	struct snap_fwcfg fwcfg;
	struct snap_pic pic;
	struct snap_platform platform;
	struct snap_ioapic ioapic;
	struct snap_pm1 pm1;
	bool fpu_present;           /* an FPU section per vCPU (optional: absent in
				     * snapshots from writers before it, and the
				     * restorer then resets x87/SSE) */
	bool xstate_present;        /* an XSTATE section per vCPU (optional, only
				     * with the FPU sections: absent, every vCPU
				     * restores with XCR0 1, DR0-DR3 0) */
	struct snap_vcpu vcpu[SNAP_MAX_VCPUS];   /* [0, id.vcpus) are used */
};

enum snap_err {
	SNAP_OK = 0,
	SNAP_ERR_ARGS,              /* bad call: NULL buffer, RAM size != identity */
	SNAP_ERR_TRUNCATED,         /* the buffer ends before the snapshot does */
	SNAP_ERR_MAGIC,             /* not a tscvisor snapshot */
	SNAP_ERR_VERSION,           /* format or section version not supported */
	SNAP_ERR_HEADER,            /* header length, flags, total length */
	SNAP_ERR_CHECKSUM,          /* CRC-64 mismatch */
	SNAP_ERR_OVERSIZED,         /* beyond a limit: section length, vCPUs, RAM cap */
	SNAP_ERR_LAYOUT,            /* sections do not tile the body */
	SNAP_ERR_SECTION_SIZE,      /* a section's length is wrong for its type */
	SNAP_ERR_MISSING,           /* a mandatory section is absent */
	SNAP_ERR_DUPLICATE,         /* a section (or a vCPU id) appears twice */
	SNAP_ERR_UNKNOWN_SECTION,   /* a mandatory section type this build does not know */
	SNAP_ERR_INCONSISTENT,      /* sections contradict each other */
	SNAP_ERR_VALUE,             /* a field holds a value that cannot be restored */
	SNAP_ERR_NR
};

#define SNAP_MSG_MAX 160

struct snap_error {
	enum snap_err code;
	uint64_t offset;            /* snapshot byte offset of the failed check, 0 when
				     * not about one place (or when encoding) */
	char msg[SNAP_MSG_MAX];     /* one line naming the check and the values */
};

/* CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones):
 * crc = snap_crc64(0, a, n) then crc = snap_crc64(crc, b, m) chains;
 * snap_crc64(0, "123456789", 9) == 0x995dc9bbdf1939fa. */
uint64_t snap_crc64(uint64_t crc, const void *buf, size_t len);

/* Every check snap_decode() makes of the state, applied to *vm with guest RAM
 * of ram_size bytes (which must be id.memory_mib << 20). Returns 0, or -1 with
 * *err (may be NULL) set. */
int snap_validate(const struct snap_vm *vm, uint64_t ram_size, struct snap_error *err);

/* The exact number of bytes snap_encode() will emit for this state and RAM,
 * or 0 when snap_validate() refuses them. Scans RAM for zero pages. */
size_t snap_encoded_size(const struct snap_vm *vm, const uint8_t *ram, uint64_t ram_size);

/* Stream the snapshot: emit(ctx, buf, len) is called with consecutive pieces
 * (at most one page each) whose concatenation is the snapshot. RAM must hold
 * ram_size bytes and must not change during the call (the VM is paused).
 * Returns 0; or -1 without emitting anything when snap_validate() refuses the
 * state (call it for the reason); or -1 after a partial stream when RAM changed
 * under it (the partial stream is refused by the decoder as truncated). */
int snap_encode(const struct snap_vm *vm, const uint8_t *ram, uint64_t ram_size,
		void (*emit)(void *ctx, const void *buf, size_t len), void *ctx);

/* Validate the whole snapshot buf[0..len) (the buffer must hold exactly the
 * snapshot: trailing bytes are refused) and fill *out (may be NULL) with all
 * but RAM. Never writes RAM. Returns 0, or -1 with *err (may be NULL) set and
 * *out untouched. */
int snap_check(const uint8_t *buf, size_t len, struct snap_vm *out, struct snap_error *err);

/* snap_check(), plus: guest RAM (id.memory_mib << 20 bytes) must fit in
 * ram_cap; then fill *out and write ram[0, ram_size): zero pages zeroed,
 * others copied; ram[ram_size, ram_cap) is not touched. Returns 0, or -1 with
 * *err set and neither *out nor one byte of ram written. buf and ram must not
 * overlap. */
int snap_decode(const uint8_t *buf, size_t len, struct snap_vm *out,
		uint8_t *ram, uint64_t ram_cap, struct snap_error *err);

/* "SNAP_ERR_CHECKSUM" etc.; "SNAP_ERR_?" for an unknown code. */
const char *snap_err_name(enum snap_err code);
/* "IDENTITY", "VCPU", ..., "PLATFORM"; "?" for an unknown type. */
const char *snap_section_name(uint32_t type);
/* "SVM", "VMX", "unknown". */
const char *snap_vendor_name(uint32_t vendor);

#endif
