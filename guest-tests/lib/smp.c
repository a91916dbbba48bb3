/* smp.c — finding and starting the application processors, and giving them
 * work.
 *
 * The CPUs come from the ACPI MADT (ACPI 6.4 5.2.12): after the 36-byte
 * header, the local APIC address (u32 at 36) and flags (u32 at 40), then
 * variable-length entries {type u8, length u8, ...}. Type 0, Processor
 * Local APIC: ACPI processor UID at +2, APIC ID at +3, flags at +4 (bit 0
 * enabled). Type 9, Processor Local x2APIC: x2APIC ID at +4, flags at +8,
 * UID at +12. Without a MADT, QEMU's fw_cfg (selector port 0x510, data
 * port 0x511; key 0 the signature "QEMU", key 5 NB_CPUS, 16-bit little
 * endian) gives a count, and the APIC IDs are taken to be 0..N-1.
 *
 * Start-up as the SDM's MP initialisation (vol. 3A 9.4.4) and every OS do
 * it, one AP at a time: INIT IPI, 10 ms, SIPI, 200 us, SIPI, then wait for
 * the AP to check in. A SIPI reaching a CPU that is already running is
 * ignored by the hardware; the trampoline counts its entries so a test can
 * tell. The AP takes its index and stack from its LAPIC ID (entry.asm), so
 * a late or repeated start cannot take another CPU's stack. */
#include "guest.h"

#define AP_STACK_SIZE 16384

extern u64 lapic_mmio;
extern const u8 ap_trampoline[], ap_trampoline_end[], ap_trampoline_entries[];

struct smp_info smp;
/* Used by entry.asm: LAPIC ID -> CPU index (0xff: unknown), stack tops. */
u8 apic_to_cpu[256] = { [0 ... 255] = 0xff };
u64 ap_stack_tops[MAX_CPUS];
static u8 ap_stacks[MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));

static struct {
	volatile u32 gen;		/* bumped for each new job */
	volatile u32 done;		/* APs that finished the current one */
	smp_fn fn;
	void *arg;
} job;

/* ---- fw_cfg ---- */

static void fwcfg_read(u16 key, void *buf, unsigned n)
{
	u8 *b = buf;

	outw(0x510, key);
	for (unsigned i = 0; i < n; i++)
		b[i] = inb(0x511);
}

int fwcfg_nb_cpus(void)
{
	char sig[4];
	u8 n[2];

	fwcfg_read(0x0000, sig, sizeof(sig));
	if (memcmp(sig, "QEMU", 4))
		return -1;
	fwcfg_read(0x0005, n, sizeof(n));
	return n[0] | n[1] << 8;
}

/* ---- discovery ---- */

static void add_cpu(u32 apic_id, u32 uid)
{
	if (apic_id > 254) {
		diag("smp: APIC ID %u cannot be reached through the xAPIC: ignored", apic_id);
		return;
	}
	for (unsigned i = 0; i < smp.ncpus; i++) {
		if (smp.cpu[i].apic_id == apic_id) {
			if (i)
				diag("smp: APIC ID %u listed twice: ignored", apic_id);
			else
				smp.cpu[0].acpi_uid = uid;	/* the BSP's own entry */
			return;
		}
	}
	if (smp.ncpus >= MAX_CPUS) {
		diag("smp: more than %u CPUs: APIC ID %u ignored", MAX_CPUS, apic_id);
		return;
	}
	smp.cpu[smp.ncpus].apic_id = apic_id;
	smp.cpu[smp.ncpus].acpi_uid = uid;
	smp.ncpus++;
}

/* Adds the MADT's enabled processors; false when there is no MADT. */
static bool from_madt(u32 bsp_id)
{
	const u8 *t = acpi_find_table("APIC");
	u32 len;

	smp.madt_cpus = -1;
	if (!t)
		return false;
	memcpy(&len, t + 4, 4);
	memcpy(&smp.madt_lapic_addr, t + 36, 4);
	smp.madt_cpus = 0;
	for (u32 off = 44; off + 2 <= len;) {
		const u8 *e = t + off;
		u32 id, flags, uid;

		if (e[1] < 2 || off + e[1] > len) {
			diag("smp: MADT entry at offset %u has length %u: rest ignored", off, e[1]);
			break;
		}
		if (e[0] == 0 && e[1] >= 8) {
			uid = e[2];
			id = e[3];
			memcpy(&flags, e + 4, 4);
		} else if (e[0] == 9 && e[1] >= 16) {
			memcpy(&id, e + 4, 4);
			memcpy(&flags, e + 8, 4);
			memcpy(&uid, e + 12, 4);
		} else {
			off += e[1];
			continue;
		}
		off += e[1];
		if (!(flags & 1)) {
			smp.madt_disabled++;
			continue;
		}
		smp.madt_cpus++;
		if (id == bsp_id)
			smp.bsp_listed = true;
		add_cpu(id, uid);
	}
	return true;
}

/* ---- the APs ---- */

static void wake_handler(u8 vector)
{
	(void)vector;
}

/* Runs jobs; between them halts (interrupts on, woken by the BSP's
 * LAPIC_WAKE_VECTOR IPI) or polls with ap_idle=spin. */
static NORETURN void ap_idle(unsigned cpu, u32 seen)
{
	for (;;) {
		u32 gen;

		irq_disable();
		gen = atomic_read(&job.gen);
		if (gen != seen) {
			smp_fn fn = job.fn;
			void *arg = job.arg;

			seen = gen;
			irq_enable();
			fn(cpu, arg);
			atomic_inc(&job.done);
			continue;
		}
		if (smp.idle_spin) {
			irq_enable();
			cpu_relax();
		} else {
			sti_hlt();
		}
	}
}

smp_fn smp_rejoin_hook;

/* Called by entry.asm on the AP's own stack, interrupts off. */
NORETURN void ap_start(unsigned cpu)
{
	struct cpu_info *c = &smp.cpu[cpu];
	u32 seen;

	atomic_inc(&c->starts);
	idt_load();
	c->lapic_id = lapic_read(LAPIC_ID) >> 24;
	c->cpuid_apic_id = cpuid(1).ebx >> 24;
	c->apic_base = rdmsr(MSR_APIC_BASE);
	c->lapic_ok = lapic_init();
	seen = atomic_read(&job.gen);
	if (!atomic_cmpxchg(&c->state, CPU_BOOTING, CPU_ONLINE) &&
	    atomic_read(&c->state) != CPU_ONLINE) {
		for (;;)	/* the BSP gave up on us: stay out of the way */
			__asm__ volatile("cli; hlt");
	}
	/* Started again (another CPU's INIT and SIPI): a test that asked for
	 * it takes the CPU back; its hook does not return. */
	if (atomic_read(&c->starts) > 1 && smp_rejoin_hook)
		smp_rejoin_hook(cpu, NULL);
	ap_idle(cpu, seen);
}

static bool boot_ap(unsigned i, u64 timeout_ms)
{
	struct cpu_info *c = &smp.cpu[i];
	bool sent;
	u64 t0, end;

	atomic_set(&c->state, CPU_BOOTING);
	sent = lapic_icr(c->apic_id, ICR_INIT | ICR_ASSERT);
	udelay(10000);
	t0 = rdtsc();
	for (int k = 0; k < 2; k++) {
		sent = lapic_icr(c->apic_id, ICR_STARTUP | ICR_ASSERT |
					     (AP_TRAMPOLINE_BASE >> 12)) && sent;
		udelay(200);
	}
	if (!sent)
		diag("smp: CPU %u (APIC ID %u): the ICR stayed busy", i, c->apic_id);
	end = t0 + us_to_tsc(timeout_ms * 1000);
	while (atomic_read(&c->state) == CPU_BOOTING && !timed_out(end))
		cpu_relax();
	if (atomic_cmpxchg(&c->state, CPU_BOOTING, CPU_FAILED)) {
		diag("smp: CPU %u (APIC ID %u) did not check in within %lu ms", i, c->apic_id,
		     timeout_ms);
		return false;
	}
	c->boot_us = tsc_to_us(rdtsc() - t0);
	return true;
}

/* Does [a, a + n) meet the trampoline's page? */
static bool in_trampoline(u64 a, u64 n)
{
	return n && a < AP_TRAMPOLINE_BASE + 0x1000 && a + n > AP_TRAMPOLINE_BASE;
}

static bool trampoline_page_free(void)
{
	const struct mb_info *m = mb_info;

	if (!m)
		return true;
	if (in_trampoline((uintptr_t)m, sizeof(*m)) ||
	    ((m->flags & MB_INFO_CMDLINE) && in_trampoline(m->cmdline, strlen(mb_cmdline()) + 1)) ||
	    ((m->flags & MB_INFO_MMAP) && in_trampoline(m->mmap_addr, m->mmap_length)) ||
	    ((m->flags & MB_INFO_MODS) && in_trampoline(m->mods_addr, 16ull * m->mods_count))) {
		diag("smp: the multiboot information uses the trampoline page 0x%x",
		     AP_TRAMPOLINE_BASE);
		return false;
	}
	return true;
}

unsigned smp_init(void)
{
	static bool initialised;
	char idle[8];
	u64 ap_timeout = cmdline_u64("ap_timeout_ms", 2000, NULL);
	size_t tsize = (size_t)(ap_trampoline_end - ap_trampoline);
	const volatile u32 *entries;
	struct cpu_info *bsp = &smp.cpu[0];
	int fw;

	if (initialised)
		return smp.online;
	initialised = true;
	smp.idle_spin = cmdline_get("ap_idle", idle, sizeof(idle)) && !strncmp(idle, "spin", 5);
	smp.ncpus = 1;
	smp.online = 1;
	smp.madt_cpus = -1;
	smp.fwcfg_cpus = -1;
	bsp->state = CPU_ONLINE;
	bsp->starts = 1;
	if (!lapic_init()) {
		smp.source = "none (no usable local APIC)";
		return 1;
	}
	bsp->lapic_ok = true;
	bsp->lapic_id = bsp->apic_id = lapic_id();
	bsp->cpuid_apic_id = cpuid(1).ebx >> 24;
	bsp->apic_base = rdmsr(MSR_APIC_BASE);
	apic_to_cpu[bsp->apic_id] = 0;

	fw = smp.fwcfg_cpus = fwcfg_nb_cpus();
	if (from_madt(bsp->apic_id)) {
		smp.source = "ACPI MADT";
		if (!smp.bsp_listed)
			diag("smp: the MADT does not list the BSP's APIC ID %u", bsp->apic_id);
	} else if (fw > 0) {
		smp.source = "fw_cfg NB_CPUS (APIC IDs assumed 0..N-1)";
		for (int i = 0; i < fw; i++)
			add_cpu((u32)i, (u32)i);
	} else {
		smp.source = "nothing (no MADT, no fw_cfg): the BSP alone";
	}
	diag("smp: %u CPU(s) from %s; MADT %d enabled, %d disabled; fw_cfg NB_CPUS %d; BSP APIC ID %u",
	     smp.ncpus, smp.source, smp.madt_cpus, smp.madt_disabled, smp.fwcfg_cpus,
	     bsp->apic_id);

	for (unsigned i = 1; i < smp.ncpus; i++) {
		apic_to_cpu[smp.cpu[i].apic_id] = (u8)i;
		ap_stack_tops[i] = (u64)(uintptr_t)&ap_stacks[i - 1][AP_STACK_SIZE];
	}
	irq_set_handler(LAPIC_WAKE_VECTOR, wake_handler);
	if (smp.ncpus == 1)
		return 1;
	if (!trampoline_page_free())
		return 1;
	memcpy((void *)phys_ptr(AP_TRAMPOLINE_BASE), ap_trampoline, tsize);
	entries = phys_ptr(AP_TRAMPOLINE_BASE + (u64)(ap_trampoline_entries - ap_trampoline));
	for (unsigned i = 1; i < smp.ncpus; i++) {
		if (boot_ap(i, ap_timeout)) {
			smp.online++;
			diag("smp: CPU %u (APIC ID %u) checked in %lu us after its first SIPI", i,
			     smp.cpu[i].apic_id, smp.cpu[i].boot_us);
		}
	}
	smp.trampoline_entries = *entries;
	diag("smp: %u of %u CPU(s) online; the trampoline was entered %u time(s); APs idle by %s",
	     smp.online, smp.ncpus, smp.trampoline_entries, smp.idle_spin ? "polling" : "HLT");
	return smp.online;
}

unsigned smp_cpu(void)
{
	u8 c;

	if (!lapic_mmio || smp.ncpus <= 1)
		return 0;
	c = apic_to_cpu[lapic_id()];
	return c < MAX_CPUS ? c : 0;
}

/* From the stack pointer: each CPU runs on its own stack (interrupts and
 * exceptions too, there is no IST), so this holds whatever a test does to
 * its LAPIC (x2APIC mode, a moved or disabled APIC page). */
unsigned smp_cpu_by_stack(void)
{
	u64 sp = (u64)(uintptr_t)__builtin_frame_address(0);
	u64 lo = (u64)(uintptr_t)ap_stacks;

	if (sp < lo || sp >= lo + sizeof(ap_stacks))
		return 0;
	return 1 + (unsigned)((sp - lo) / AP_STACK_SIZE);
}

/* ---- work ---- */

void smp_start_aps(smp_fn fn, void *arg)
{
	job.fn = fn;
	job.arg = arg;
	atomic_set(&job.done, 0);
	atomic_inc(&job.gen);
	if (smp.idle_spin)
		return;
	for (unsigned i = 1; i < smp.ncpus; i++)
		if (atomic_read(&smp.cpu[i].state) == CPU_ONLINE)
			lapic_ipi(smp.cpu[i].apic_id, LAPIC_WAKE_VECTOR);
}

unsigned smp_aps_done(void)
{
	return atomic_read(&job.done);
}

bool smp_wait_aps(u64 timeout_ms)
{
	u64 end = tsc_after_ms(timeout_ms);

	while (atomic_read(&job.done) < smp_online() - 1) {
		if (timed_out(end))
			return false;
		cpu_relax();
	}
	return true;
}

bool smp_call_all(smp_fn fn, void *arg, u64 timeout_ms)
{
	smp_start_aps(fn, arg);
	fn(0, arg);
	return smp_wait_aps(timeout_ms);
}

/* ---- synchronisation ---- */

void barrier_init(struct barrier *b, u32 n)
{
	b->count = 0;
	b->gen = 0;
	b->n = n;
}

bool barrier_wait(struct barrier *b, u64 timeout_ms)
{
	u32 gen = atomic_read(&b->gen);
	u64 end;

	if (atomic_inc(&b->count) == b->n) {
		atomic_set(&b->count, 0);
		atomic_inc(&b->gen);
		return true;
	}
	end = tsc_after_ms(timeout_ms);
	while (atomic_read(&b->gen) == gen) {
		if (timed_out(end))
			return false;
		cpu_relax();
	}
	return true;
}

bool wait_count(const volatile u32 *counter, u32 want, u64 timeout_ms, bool use_hlt, u32 *wakes)
{
	u64 flags = irq_save(), end = tsc_after_ms(timeout_ms);
	bool reached;

	for (;;) {
		if (atomic_read(counter) >= want) {
			reached = true;
			break;
		}
		if (timed_out(end)) {
			reached = false;
			break;
		}
		if (use_hlt) {
			sti_hlt();
			if (wakes)
				(*wakes)++;
		} else {
			irq_enable();
			cpu_relax();
		}
		irq_disable();
	}
	irq_restore(flags);
	return reached;
}
