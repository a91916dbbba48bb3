/* guest.h — the whole interface of the guest-test library.
 *
 * A guest test is one C file defining test_main(). The library's entry code
 * (entry.asm) takes the multiboot hand-off in 32-bit protected mode, builds
 * identity page tables for the first 4 GiB, enters long mode and calls
 * lib_start(), which sets up the serial port and the IDT, prints what the
 * multiboot loader passed, and calls test_main(). Returning from test_main()
 * is the same as calling done(). See guest-tests/README.md. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef unsigned __int128 u128;

#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- multiboot v1 ---- */
#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)

struct mb_info {
	u32 flags;
	u32 mem_lower;		/* KiB below 1 MiB */
	u32 mem_upper;		/* KiB above 1 MiB */
	u32 boot_device;
	u32 cmdline;		/* physical address of a NUL-terminated string */
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length;	/* bytes */
	u32 mmap_addr;
};

struct mb_mmap_entry {
	u32 size;		/* of the rest of the entry, not counting this field */
	u64 base;
	u64 length;
	u32 type;		/* 1 = available RAM */
} __attribute__((packed));

/* Provided by the test. */
void test_main(const struct mb_info *mbi);

/* ---- port I/O, MSRs, CPUID, TSC ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* RDTSCP: the TSC, and IA32_TSC_AUX (ECX) in *aux. */
static inline u64 rdtscp(u32 *aux)
{
	u32 lo, hi, c;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c));
	if (aux)
		*aux = c;
	return ((u64)hi << 32) | lo;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* MSR access that survives a #GP: returns the vector of the exception the
 * instruction raised (13 for #GP), or -1 when it completed. */
int rdmsr_safe(u32 msr, u64 *v);
int wrmsr_safe(u32 msr, u64 v);

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline struct cpuid_regs cpuid(u32 leaf) { return cpuid_count(leaf, 0); }

/* A pointer to physical address a (identity map). Laundered through an
 * asm so that GCC does not treat low constant addresses as null pointer
 * arithmetic (-Warray-bounds). */
static inline const void *phys_ptr(u64 a)
{
	__asm__("" : "+r"(a));
	return (const void *)(uintptr_t)a;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline u64 read_cr2(void)
{
	u64 v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* ---- 64x64->128 arithmetic ---- */
static inline u128 mul64x64(u64 a, u64 b) { return (u128)a * b; }

/* floor(a * b / c) without overflow in the product. When the quotient does
 * not fit in 64 bits the result saturates to UINT64_MAX; c == 0 gives
 * UINT64_MAX as well. Uses the DIV instruction (no libgcc). */
static inline u64 muldiv64(u64 a, u64 b, u64 c)
{
	u128 p = (u128)a * b;
	u64 hi = (u64)(p >> 64), lo = (u64)p, q, r;

	if (c == 0 || hi >= c)
		return UINT64_MAX;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(c));
	(void)r;
	return q;
}

/* ---- freestanding string functions (string.c) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- serial console (16550 at 0x3f8, 115200 8N1) ---- */
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

/* ---- printf (printf.c): %d %i %u %x %X %o %p %s %c %%, flags - 0 + space,
 * width and precision (also *), length hh h l ll z j t ---- */
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- TAP (tap.c) ----
 * plan(n) prints "1..n+1": the library adds check 1 itself, the multiboot
 * magic (EAX == 0x2BADB002 at entry), printed right after the plan line.
 * Without plan(), the plan is printed at the end from the count of checks. */
#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_SKIP 77

void plan(int nchecks);
bool ok(bool cond, const char *fmt, ...) PRINTF_LIKE(2, 3);
void diag(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Report one planned check as skipped ("ok N # SKIP why"). */
void skip(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The rest of the planned checks are skipped; ends the test with SKIP (77)
 * unless a check already failed. */
NORETURN void skip_rest(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Ends the test: "RESULT: PASS" and status 0 when every check passed and
 * the plan was met, "RESULT: FAIL" and status 1 otherwise. */
NORETURN void done(void);
/* Writes code to port 0xf4 (32-bit OUT; QEMU's isa-debug-exit ends with
 * status (code << 1) | 1), then "Shutdown" to port 0x8900, then halts. */
NORETURN void guest_exit(u32 code);
int tap_failures(void);

/* ---- multiboot info and command line (multiboot.c) ---- */
extern u32 mb_magic;			/* EAX at entry */
extern const struct mb_info *mb_info;	/* EBX at entry; NULL if the magic is wrong */
const char *mb_cmdline(void);		/* "" when none */
/* Options are key=value words of the command line; the first word (the
 * program name) and words without '=' are ignored. */
bool cmdline_get(const char *key, char *val, size_t size);
u64 cmdline_u64(const char *key, u64 dflt, bool *found);	/* decimal or 0x hex */

/* ---- ACPI and the PM timer (acpi.c) ---- */
#define PMTMR_HZ 3579545u

struct pmtimer {
	u16 port;
	u32 mask;		/* 0xffffff (24-bit) or 0xffffffff (32-bit) */
	const char *source;	/* "ACPI FADT (XSDT)", "PCI PIIX4 00:01.3", ... */
};

/* Finds the RSDP (EBDA, then 0xE0000-0xFFFFF) and a table by signature
 * through the XSDT or RSDT; checksums validated. NULL when absent. */
const void *acpi_find_rsdp(void);
const void *acpi_find_table(const char *sig);
/* Finds the PM timer: FADT first, else PCI (PIIX4 PM 8086:7113, ICH9 LPC
 * 8086:2918). Option pmtimer=pci skips the FADT. Prints a diagnostic naming
 * the source. Returns NULL when there is none. Cached after the first call. */
const struct pmtimer *pmtimer_init(void);
static inline u32 pmtimer_read(const struct pmtimer *pm) { return inl(pm->port) & pm->mask; }
/* PCI configuration space, mechanism 1 (ports 0xcf8/0xcfc). */
u32 pci_read32(u8 bus, u8 dev, u8 fn, u8 reg);

/* ---- TSC against the PM timer (clock.c) ---- */
struct tsc_window {
	u64 tsc_ticks;		/* TSC advance between the two PM edges */
	u64 pm_ticks;		/* PM timer ticks between them (wrap handled) */
	u64 tsc_hz;		/* tsc_ticks * PMTMR_HZ / pm_ticks */
	u64 edge_err;		/* bound on each edge's TSC error (ticks) */
	u32 rejected;		/* edges skipped because their bracket was too wide */
};

/* Measures one window of at least pm_ticks PM timer ticks. Returns false
 * when the PM timer does not move. */
bool tsc_measure_window(const struct pmtimer *pm, u32 pm_ticks, struct tsc_window *w);
/* Busy-waits for pm_ticks ticks of the PM timer; false if it is stuck. */
bool pm_delay(const struct pmtimer *pm, u64 pm_ticks);

#endif
