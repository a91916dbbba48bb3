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

/* An instruction at label 1 that may fault resumes at label 2; the
 * exception table entry pairs them. Around it: fault_arm() before,
 * fault_seen() after, which returns the vector it raised or -1. */
#define EXTABLE(from, to) \
	".pushsection .extable, \"a\"\n\t.balign 8\n\t.quad " from ", " to "\n\t.popsection\n\t"
void fault_arm(void);
int fault_seen(void);
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

static inline u64 read_cr3(void)
{
	u64 v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void invlpg(u64 va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* lib/paging.c: the page-directory entry of a VA below 4 GiB in the
 * library's identity map; a window of 512 4 KiB pages at va (2 MiB-aligned)
 * through the caller's page table pt, in place of the 2 MiB page there;
 * page i of it onto pa (returns its VA). */
u64 *pde_of(u64 va);
void pt_window_install(u64 *pt, u64 va);
u64 pt_window_map(u64 *pt, u64 va, unsigned i, u64 pa);

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

/* ---- printf (printf.c, formatting by pure/format.c): %d %i %u %x %X %o %p
 * %s %c %%, flags - 0 + space #, width and precision (also *), length hh h
 * l ll z j t ---- */
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
/* The end of the highest RAM range in the memory map; 0 without a map. */
u64 mb_ram_end(const struct mb_info *mbi);
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

/* ---- interrupts (tap.c) ----
 * Every CPU uses the same IDT. Vectors 0-31 and any vector without a
 * handler fail the test with a register dump. A handler registered for a
 * vector >= 32 runs with interrupts off on the CPU that took it; the
 * library then sends the LAPIC EOI (not for LAPIC_SPURIOUS_VECTOR, which
 * sets no ISR bit). Vectors 0x20-0xEF are the tests'; the library uses
 * LAPIC_WAKE_VECTOR and LAPIC_SPURIOUS_VECTOR. */
typedef void (*irq_handler_t)(u8 vector);
void irq_set_handler(u8 vector, irq_handler_t fn);	/* NULL: unregister */
void idt_load(void);				/* LIDT of the shared IDT */

static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

/* Disables interrupts; returns RFLAGS for irq_restore. */
static inline u64 irq_save(void)
{
	u64 f;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(u64 flags)
{
	if (flags & (1u << 9))
		irq_enable();
}

/* STI;HLT: the STI shadow keeps an interrupt that is already pending from
 * being taken before the HLT, so HLT wakes on it instead of sleeping. Call
 * with interrupts off after checking the condition being waited for;
 * returns with interrupts on, after one interrupt (or another wake-up). */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* ---- atomics and locks (x86 TSO: plain aligned loads and stores are
 * atomic; read-modify-write is LOCKed; xchg is implicitly LOCKed) ---- */
static inline u32 atomic_read(const volatile u32 *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void atomic_set(volatile u32 *p, u32 v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/* Returns the new value. */
static inline u32 atomic_inc(volatile u32 *p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
static inline u32 atomic_add(volatile u32 *p, u32 v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline u64 atomic_add64(volatile u64 *p, u64 v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline u64 atomic_read64(const volatile u64 *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline u32 atomic_xchg(volatile u32 *p, u32 v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
/* true when *p was old and is now new. */
static inline bool atomic_cmpxchg(volatile u32 *p, u32 old, u32 new)
{
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline void mfence(void) { __asm__ volatile("mfence" ::: "memory"); }

struct spinlock {
	volatile u32 locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (atomic_xchg(&l->locked, 1))
		while (l->locked)
			cpu_relax();
}

static inline void spin_unlock(struct spinlock *l) { atomic_set(&l->locked, 0); }

/* A fair (FIFO) lock: each CPU takes a ticket and waits for its turn, so
 * the lock goes round the waiting CPUs in order. */
struct ticketlock {
	volatile u32 next;		/* the next ticket to hand out */
	volatile u32 owner;		/* the ticket being served */
};

static inline u32 ticket_take(struct ticketlock *l) { return __atomic_fetch_add(&l->next, 1, __ATOMIC_SEQ_CST); }
static inline bool ticket_turn(struct ticketlock *l, u32 t) { return atomic_read(&l->owner) == t; }
static inline void ticket_lock(struct ticketlock *l)
{
	u32 t = ticket_take(l);

	while (!ticket_turn(l, t))
		cpu_relax();
}
static inline void ticket_unlock(struct ticketlock *l) { atomic_set(&l->owner, l->owner + 1); }

/* RDTSC that is not executed ahead of earlier loads and stores (MFENCE
 * orders it on AMD, LFENCE on Intel): for comparing TSC values across
 * CPUs through memory. */
static inline u64 rdtsc_ordered(void)
{
	__asm__ volatile("mfence; lfence" ::: "memory");
	return rdtsc();
}

/* ---- TSC time base (clock.c) ----
 * tsc_hz() measures the TSC against the PM timer once (one 20 ms window),
 * else takes CPUID 0x40000010 EAX (a hypervisor's TSC kHz), else assumes
 * 3 GHz (timeouts then stretch or shrink, nothing else). The first call
 * must be on the BSP (smp_init() and lapic_init() make it). */
u64 tsc_hz(void);
u64 us_to_tsc(u64 us);
u64 tsc_to_us(u64 ticks);
void udelay(u64 us);				/* busy wait on the TSC */
/* A TSC value ms from now, and whether it has passed (same CPU). */
static inline u64 tsc_after_ms(u64 ms) { return rdtsc() + us_to_tsc(ms * 1000); }
static inline bool timed_out(u64 end) { return (s64)(rdtsc() - end) >= 0; }

/* ---- local APIC, xAPIC MMIO (lapic.c; SDM vol. 3A ch. 11) ----
 * Register accesses are 32-bit MOVs between a register and [reg + disp]
 * (opcodes 8B and 89) and nothing else, so that an emulator's MMIO
 * decoder has an easy time. The page is in the uncached 3-4 GiB range. */
#define LAPIC_ID	0x020
#define LAPIC_VERSION	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_ISR	0x100
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERROR	0x370
#define LAPIC_TMICT	0x380		/* timer initial count */
#define LAPIC_TMCCT	0x390		/* timer current count */
#define LAPIC_TDCR	0x3e0		/* timer divide configuration */

#define LAPIC_SVR_ENABLE	(1u << 8)
#define LVT_MASKED		(1u << 16)
#define LVT_TIMER_ONESHOT	(0u << 17)
#define LVT_TIMER_PERIODIC	(1u << 17)
#define LVT_TIMER_TSC_DEADLINE	(2u << 17)

#define ICR_FIXED		(0u << 8)
#define ICR_INIT		(5u << 8)
#define ICR_STARTUP		(6u << 8)
#define ICR_BUSY		(1u << 12)	/* delivery status: send pending */
#define ICR_ASSERT		(1u << 14)
#define ICR_DEST_SELF		(1u << 18)
#define ICR_DEST_ALL		(2u << 18)
#define ICR_DEST_ALL_BUT_SELF	(3u << 18)

#define LAPIC_SPURIOUS_VECTOR	0xff
#define LAPIC_WAKE_VECTOR	0xfe	/* the library's AP wake-up IPI */

#define MSR_APIC_BASE		0x1bu
#define APIC_BASE_BSP		(1u << 8)
#define APIC_BASE_X2APIC	(1u << 10)
#define APIC_BASE_ENABLE	(1u << 11)
#define MSR_TSC_DEADLINE	0x6e0u

extern volatile u32 lapic_spurious_count;	/* spurious-vector interrupts taken */

/* On the calling CPU: checks that there is an xAPIC (CPUID.1:EDX[9],
 * IA32_APIC_BASE enabled, not in x2APIC mode, below 4 GiB), masks the
 * 8259 PICs and LINT0 (the BIOS's virtual-wire ExtINT), masks the timer,
 * sets TPR 0 and enables the APIC (SVR bit 8, spurious vector 0xff).
 * Prints why and returns false when it cannot. */
bool lapic_init(void);
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 v);
static inline u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
/* Writes ICR high (destination APIC ID) then low, with interrupts off,
 * after waiting for a previous send to finish. False when the delivery
 * status stayed busy for 100 ms. */
bool lapic_icr(u32 apic_id, u32 low);
static inline bool lapic_ipi(u32 apic_id, u8 vec) { return lapic_icr(apic_id, ICR_FIXED | ICR_ASSERT | vec); }
static inline bool lapic_ipi_self(u8 vec) { return lapic_icr(0, ICR_DEST_SELF | ICR_FIXED | ICR_ASSERT | vec); }
static inline bool lapic_ipi_all_but_self(u8 vec)
{
	return lapic_icr(0, ICR_DEST_ALL_BUT_SELF | ICR_FIXED | ICR_ASSERT | vec);
}
/* Timer. divide: 1, 2, 4, ... 128 (false for anything else). Starting a
 * one-shot or periodic timer writes the LVT, then the initial count. */
bool lapic_timer_divide(unsigned divide);
void lapic_timer_oneshot(u8 vec, u32 count);
void lapic_timer_periodic(u8 vec, u32 count);
void lapic_timer_stop(void);			/* count 0, LVT masked, deadline 0 */
static inline u32 lapic_timer_count(void) { return lapic_read(LAPIC_TMCCT); }
/* TSC-deadline mode (CPUID.1:ECX[24]): LVT in deadline mode, MFENCE (SDM
 * 11.5.4.1: orders the MMIO write before the WRMSR), IA32_TSC_DEADLINE. */
static inline bool cpu_has_tsc_deadline(void) { return cpuid(1).ecx & (1u << 24); }
void lapic_timer_tsc_deadline(u8 vec, u64 deadline);

/* ---- SMP (smp.c, AP start-up code in entry.asm) ---- */
#define MAX_CPUS 16
#define AP_TRAMPOLINE_BASE 0x7000	/* below the multiboot info at 0x9000 */

enum cpu_state { CPU_ABSENT, CPU_BOOTING, CPU_ONLINE, CPU_FAILED };

struct cpu_info {
	u32 apic_id;			/* from the MADT (or assumed) */
	u32 acpi_uid;
	volatile u32 state;		/* enum cpu_state */
	/* Filled in by the CPU itself at check-in: */
	u32 lapic_id;			/* its LAPIC ID register >> 24 */
	u32 cpuid_apic_id;		/* CPUID.1:EBX[31:24] */
	u64 apic_base;			/* IA32_APIC_BASE */
	volatile u32 starts;		/* times it entered the C code */
	bool lapic_ok;			/* lapic_init() succeeded */
	/* Measured by the BSP: */
	u64 boot_us;			/* first SIPI to check-in */
};

struct smp_info {
	unsigned ncpus;			/* CPUs listed (BSP first) */
	unsigned online;		/* checked in, BSP included */
	int madt_cpus;			/* enabled Local APIC entries; -1: no MADT */
	int madt_disabled;		/* entries not enabled */
	int fwcfg_cpus;			/* fw_cfg NB_CPUS; -1: no fw_cfg */
	u32 madt_lapic_addr;
	bool bsp_listed;		/* the MADT lists the BSP's APIC ID */
	const char *source;		/* where ncpus came from */
	u32 trampoline_entries;		/* real-mode entries counted by the trampoline */
	bool idle_spin;			/* APs poll instead of HLT (ap_idle=spin) */
	struct cpu_info cpu[MAX_CPUS];
};
extern struct smp_info smp;

/* fw_cfg (ports 0x510/0x511): NB_CPUS, or -1 without the "QEMU" signature. */
int fwcfg_nb_cpus(void);
/* Finds the CPUs (ACPI MADT, else fw_cfg NB_CPUS with APIC IDs 0..N-1),
 * calibrates tsc_hz(), enables the BSP's LAPIC, and starts every AP in
 * turn: INIT, 10 ms, SIPI, 200 us, SIPI (vector AP_TRAMPOLINE_BASE >> 12),
 * then waits up to ap_timeout_ms (option, default 2000) for it to check
 * in. An AP runs the real-mode trampoline to long mode on its own stack,
 * loads the IDT, enables its LAPIC, checks in and idles (HLT, woken by
 * LAPIC_WAKE_VECTOR; option ap_idle=spin polls instead). Returns the number
 * of CPUs online. Prints diagnostics only; the tests check smp. */
unsigned smp_init(void);
/* This CPU's index (0 = BSP), from its LAPIC ID. 0 before smp_init(). */
unsigned smp_cpu(void);
/* The same from the stack pointer (which CPU's stack this is): right also
 * while the LAPIC is moved, disabled or in x2APIC mode. The fault
 * functions (fault_arm, rdmsr_safe, ...) use it. */
unsigned smp_cpu_by_stack(void);
static inline unsigned smp_online(void) { return smp.online ? smp.online : 1; }

/* Work for the APs: fn(cpu, arg) runs once on every online AP. */
typedef void (*smp_fn)(unsigned cpu, void *arg);
/* Set by a test whose APs may be started again by another CPU's INIT and
 * SIPI: ap_start() calls it (cpu, NULL) instead of idling; not to return. */
extern smp_fn smp_rejoin_hook;
void smp_start_aps(smp_fn fn, void *arg);
unsigned smp_aps_done(void);			/* APs that finished fn */
bool smp_wait_aps(u64 timeout_ms);		/* all done within timeout */
/* fn on every online CPU, the BSP's share on the BSP after starting the
 * APs; then waits for the APs. */
bool smp_call_all(smp_fn fn, void *arg, u64 timeout_ms);

/* Sense-counting barrier for n CPUs. False on timeout (the barrier is
 * then unusable). */
struct barrier {
	volatile u32 count;
	volatile u32 gen;
	u32 n;
};
void barrier_init(struct barrier *b, u32 n);
bool barrier_wait(struct barrier *b, u64 timeout_ms);

/* Waits with interrupts enabled until *counter >= want or timeout_ms has
 * passed. use_hlt: STI;HLT between checks, so the timeout is only noticed
 * when some interrupt wakes the CPU; else PAUSE. *wakes (optional) counts
 * the HLT returns. Returns with interrupts as they were. */
bool wait_count(const volatile u32 *counter, u32 want, u64 timeout_ms, bool use_hlt,
		u32 *wakes);

#endif
