/* tap.c — start-up in C, TAP reporting, exceptions and interrupts, and the
 * way out. Only the BSP reports; APs leave their results in memory.
 *
 * Output contract (the runners parse it):
 *   1..N                 the plan (first line of TAP, or last if no plan())
 *   ok K - what          one line per check
 *   not ok K - what
 *   ok K # SKIP why
 *   # anything           diagnostics
 *   RESULT: PASS|FAIL|SKIP   the last line, then the status on port 0xf4:
 *                        0 pass, 77 skip, 1 fail. */
#include "guest.h"

void mb_report(void);

static int planned = -1;	/* -1: no plan printed yet */
static int checks;		/* checks reported so far */
static int failures;
static bool magic_checked;
static bool finished;

int tap_failures(void)
{
	return failures;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void report(bool cond, const char *fmt, va_list ap)
{
	checks++;
	if (!cond)
		failures++;
	printf("%s %d", cond ? "ok" : "not ok", checks);
	if (fmt && *fmt) {
		printf(" - ");
		vprintf(fmt, ap);
	}
	printf("\n");
	if (planned >= 0 && checks > planned)
		diag("check %d is beyond the plan of %d", checks, planned);
}

static void report_fmt(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
}

/* The library's own first check: did we enter from a multiboot loader? */
static void check_magic(void)
{
	if (magic_checked)
		return;
	magic_checked = true;
	report_fmt(mb_magic == MB_BOOTLOADER_MAGIC,
		   "multiboot magic in EAX is 0x%08x (want 0x%08x)", mb_magic,
		   MB_BOOTLOADER_MAGIC);
}

void plan(int nchecks)
{
	if (planned >= 0) {
		ok(false, "plan() called only once");
		return;
	}
	/* Checks reported before the plan (a malformed option, say) count
	 * on top of it, so that they do not also break the plan. */
	planned = nchecks + checks + (magic_checked ? 0 : 1);
	printf("1..%d\n", planned);
	check_magic();
}

bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	check_magic();
	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	return cond;
}

void skip(const char *fmt, ...)
{
	char why[160];
	va_list ap;

	check_magic();
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	checks++;
	printf("ok %d # SKIP %s\n", checks, why);
}

NORETURN void guest_exit(u32 code)
{
	static const char shutdown[] = "Shutdown";

	/* QEMU isa-debug-exit (iobase 0xf4, iosize 4), tscvisor: status
	 * (code << 1) | 1. */
	outl(0xf4, code);
	/* Bochs and other platforms without it: the shutdown port. */
	for (const char *p = shutdown; *p; p++)
		outb(0x8900, (u8)*p);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static NORETURN void finish(bool skipped)
{
	const char *result;
	u32 code;

	finished = true;
	check_magic();
	if (planned < 0) {
		planned = checks;
		printf("1..%d\n", planned);
	}
	if (checks != planned && !skipped) {
		diag("planned %d checks, ran %d", planned, checks);
		failures++;
	}
	if (failures) {
		diag("%d check(s) failed", failures);
		result = "FAIL";
		code = EXIT_FAIL;
	} else if (skipped) {
		result = "SKIP";
		code = EXIT_SKIP;
	} else {
		result = "PASS";
		code = EXIT_PASS;
	}
	printf("RESULT: %s\n", result);
	guest_exit(code);
}

NORETURN void done(void)
{
	finish(false);
}

NORETURN void skip_rest(const char *fmt, ...)
{
	char why[160];
	va_list ap;

	check_magic();
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	diag("skipping the rest: %s", why);
	if (planned < 0) {
		/* No plan: the checks run so far are the plan. */
		finish(true);
	}
	while (checks < planned) {
		checks++;
		printf("ok %d # SKIP %s\n", checks, why);
	}
	finish(true);
}

/* ---- exceptions ---- */

struct exc_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

struct extable_entry {
	u64 fault_rip;
	u64 fixup_rip;
};

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __attribute__((packed));

extern const u64 isr_table[256];
extern const struct extable_entry __extable_start[], __extable_end[];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static volatile int fault_vector[MAX_CPUS];	/* per CPU, for rdmsr_safe & co. */
static irq_handler_t irq_handlers[256];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void irq_set_handler(u8 vector, irq_handler_t fn)
{
	if (vector < 32) {
		ok(false, "irq_set_handler: vector %u is an exception", vector);
		return;
	}
	__atomic_store_n(&irq_handlers[vector], fn, __ATOMIC_RELEASE);
}

static void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		u64 a = isr_table[v];

		idt[v] = (struct idt_gate){
			.offset_lo = (u16)a,
			.selector = 0x08,
			.type_attr = 0x8E,	/* present, DPL 0, 64-bit interrupt gate */
			.offset_mid = (u16)(a >> 16),
			.offset_hi = (u32)(a >> 32),
		};
	}
	idt_load();
}

/* Called from isr_common, on any CPU. Returns after a registered
 * interrupt handler (then EOI) or to resume at a fixup; anything else is a
 * failure that ends the test. */
void lib_exception(struct exc_frame *f)
{
	static struct spinlock report_lock;
	static bool nested;
	irq_handler_t h = f->vector < 256 ? irq_handlers[f->vector] : NULL;

	if (f->vector >= 32 && h) {
		h((u8)f->vector);
		if (f->vector != LAPIC_SPURIOUS_VECTOR)
			lapic_eoi();
		return;
	}
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->fault_rip == f->rip) {
			fault_vector[smp_cpu_by_stack()] = (int)f->vector;
			f->rip = e->fixup_rip;
			return;
		}
	}
	/* One CPU reports; a second one faulting meanwhile waits here, and
	 * the first one's report ends the test. */
	spin_lock(&report_lock);
	if (nested || finished)
		guest_exit(EXIT_FAIL);		/* faulted while reporting a fault */
	nested = true;
	printf("\n");
	diag("unexpected %s %lu (%s) on CPU %u, error code 0x%lx",
	     f->vector < 32 ? "exception" : "interrupt", f->vector,
	     f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "external",
	     smp_cpu(), f->error);
	diag("RIP 0x%016lx CS 0x%lx RFLAGS 0x%lx RSP 0x%016lx CR2 0x%016lx",
	     f->rip, f->cs,
	     f->rflags, f->rsp,
	     read_cr2());
	diag("RAX 0x%016lx RBX 0x%016lx RCX 0x%016lx RDX 0x%016lx",
	     f->rax, f->rbx,
	     f->rcx, f->rdx);
	diag("RSI 0x%016lx RDI 0x%016lx RBP 0x%016lx",
	     f->rsi, f->rdi,
	     f->rbp);
	ok(false, "no unexpected exception (vector %lu at RIP 0x%lx)",
	   f->vector, f->rip);
	finish(false);
}

void fault_arm(void)
{
	fault_vector[smp_cpu_by_stack()] = -1;
}

int fault_seen(void)
{
	return fault_vector[smp_cpu_by_stack()];
}

int rdmsr_safe(u32 msr, u64 *v)
{
	unsigned cpu = smp_cpu_by_stack();
	u32 lo = 0, hi = 0;

	fault_vector[cpu] = -1;
	__asm__ volatile("1: rdmsr\n2:\n\t" EXTABLE("1b", "2b")
			 : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*v = ((u64)hi << 32) | lo;
	return fault_vector[cpu];
}

int wrmsr_safe(u32 msr, u64 v)
{
	unsigned cpu = smp_cpu_by_stack();

	fault_vector[cpu] = -1;
	__asm__ volatile("1: wrmsr\n2:\n\t" EXTABLE("1b", "2b")
			 : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
	return fault_vector[cpu];
}

/* ---- start ---- */

NORETURN void lib_start(u32 magic, u32 mbi_addr)
{
	serial_init();
	idt_init();
	printf("\n");
	if (magic == MB_BOOTLOADER_MAGIC && mbi_addr)
		mb_info = (const struct mb_info *)(uintptr_t)mbi_addr;
	mb_report();
	test_main(mb_info);
	done();
}
