/* Physical CPU bring-up after ExitBootServices (SDM Vol. 3A 8.4.4: INIT,
 * 10 ms, SIPI, 200 us, SIPI) and the boot-time TSC synchronisation check. */
#include <string.h>
#include <tscvisor/acpi.h>
#include <tscvisor/bootinfo.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include "apic.h"
#include "cpu_setup.h"
#include "percpu.h"
#include "smp.h"
#include "insn.h"

#define AP_STACK_PAGES 16

extern const uint8_t ap_trampoline_start[], ap_trampoline_end[];
extern const uint8_t ap_tramp_cr3[], ap_tramp_entry[], ap_tramp_count[], ap_tramp_stacks[];

static volatile unsigned cpus_online = 1;
static uint64_t tsc_khz_for_delays;

/* For the sync check. */
static struct spinlock sync_lock;
static volatile uint64_t sync_last, sync_warps, sync_max_warp, sync_checks;
static volatile unsigned sync_arrived, sync_done, sync_go;
#define SYNC_LOOPS 2000

unsigned smp_cpus_online(void)
{
	return cpus_online;
}

static void delay_us(uint64_t us)
{
	uint64_t t0 = rdtsc(), cycles = tsc_khz_for_delays * us / 1000;

	while (rdtsc() - t0 < cycles)
		cpu_relax();
}

/* Every CPU reads under the lock until the lock has gone from one CPU to
 * another SYNC_HANDOFFS times per CPU (so every CPU's reads are compared
 * with others', however the host schedules emulated CPUs), or for at most
 * SYNC_MAX_MS. */
#define SYNC_HANDOFFS 200
#define SYNC_MAX_MS   1000
static volatile unsigned sync_last_cpu = ~0u;
static volatile uint64_t sync_handoffs;

static void sync_loop(void)
{
	struct pcpu *cpu = this_cpu();
	int64_t skew = cpu->tsc_skew;
	uint64_t want = (uint64_t)SYNC_HANDOFFS * cpus_online, t0 = rdtsc();
	uint64_t limit = tsc_khz_for_delays * SYNC_MAX_MS;
	unsigned i;

	for (i = 0; ; i++) {
		uint64_t now;

		spin_lock(&sync_lock);
		now = rdtsc() + (uint64_t)skew;
		if (now < sync_last) {
			sync_warps++;
			if (sync_last - now > sync_max_warp)
				sync_max_warp = sync_last - now;
		}
		if (sync_last_cpu != cpu->index) {
			sync_handoffs++;
			sync_last_cpu = cpu->index;
		}
		sync_last = now;
		sync_checks++;
		spin_unlock(&sync_lock);
		if (i >= SYNC_LOOPS && (sync_handoffs >= want || rdtsc() - t0 > limit))
			break;
		/* Let another CPU take the lock before trying again. */
		for (unsigned k = 0; k < 64; k++)
			cpu_relax();
	}
}

void smp_tsc_sync_check(struct tsc_sync_result *res)
{
	unsigned n = cpus_online;

	sync_last = sync_warps = sync_max_warp = sync_checks = sync_handoffs = 0;
	sync_done = 0;
	__atomic_store_n(&sync_go, 1, __ATOMIC_RELEASE);
	while (sync_arrived < n - 1)
		cpu_relax();
	sync_loop();
	__atomic_add_fetch(&sync_done, 1, __ATOMIC_ACQ_REL);
	while (sync_done < n)
		cpu_relax();
	res->cpus = n;
	res->checks = sync_checks;
	res->warps = sync_warps;
	res->max_warp = sync_max_warp;
	res->handoffs = sync_handoffs;
	res->reliable = sync_warps == 0;
}

/* Runs on each AP, on its own stack, in 64-bit mode with the BSP's page
 * tables and the trampoline's GDT. */
__attribute__((noreturn)) void ap_entry(unsigned index);
void ap_entry(unsigned index)
{
	const struct pcpu *bsp = &pcpus[0];
	uint32_t r[4];

	cpuid(1, r);
	percpu_init(index, r[1] >> 24, 0);
	arch_cpu_setup_ap(bsp);
	apic_init_cpu();
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_ACQ_REL);
	/* Join the boot-time sync check. */
	while (!__atomic_load_n(&sync_go, __ATOMIC_ACQUIRE))
		cpu_relax();
	__atomic_add_fetch(&sync_arrived, 1, __ATOMIC_ACQ_REL);
	sync_loop();
	__atomic_add_fetch(&sync_done, 1, __ATOMIC_ACQ_REL);
	ap_idle_loop();
}

unsigned smp_start_aps(const struct boot_info *bi, uint64_t tsc_khz)
{
	uint8_t *page = (uint8_t *)(uintptr_t)bi->trampoline;
	uint32_t ids[MAX_CPUS];
	unsigned count = 0, i, started = 0, self = apic_id();
	uint64_t lapic_base = 0, *stacks, t0;
	bool from_madt = false;

	tsc_khz_for_delays = tsc_khz;
	if (!page) {
		log_warn("smp: no trampoline page below 1 MiB: only the boot CPU runs");
		return 1;
	}
	if (bi->rsdp && acpi_madt_cpus(bi->rsdp, ids, MAX_CPUS, &count, &lapic_base) >= 0 && count)
		from_madt = true;
	memcpy(page, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
#define TRAMP_FIELD(sym) (page + ((const uint8_t *)(sym) - ap_trampoline_start))
	*(uint64_t *)TRAMP_FIELD(ap_tramp_cr3) = read_cr3();
	*(uint64_t *)TRAMP_FIELD(ap_tramp_entry) = (uint64_t)(uintptr_t)ap_entry;
	*(uint32_t *)TRAMP_FIELD(ap_tramp_count) = 0;
	stacks = (uint64_t *)TRAMP_FIELD(ap_tramp_stacks);
	for (i = 1; i < MAX_CPUS; i++) {
		uint8_t *st = mem_alloc_pages(AP_STACK_PAGES);

		stacks[i] = (uint64_t)(uintptr_t)(st + AP_STACK_PAGES * 4096);
		pcpus[i].stack_top = stacks[i];
	}
#undef TRAMP_FIELD
	if (read_cr3() >> 32)
		hv_panic("smp: page tables above 4 GiB: the trampoline cannot load them");

	if (from_madt) {
		for (i = 0; i < count; i++) {
			unsigned before = cpus_online;

			if (ids[i] == self || started + 1 >= MAX_CPUS)
				continue;
			apic_send_ipi(ids[i], ICR_INIT | ICR_ASSERT | ICR_LEVEL);
			delay_us(10000);
			apic_send_ipi(ids[i], ICR_STARTUP | (uint32_t)(bi->trampoline >> 12));
			delay_us(200);
			if (cpus_online == before)
				apic_send_ipi(ids[i], ICR_STARTUP | (uint32_t)(bi->trampoline >> 12));
			/* Real CPUs check in within microseconds; an emulator's CPU
			 * thread on a loaded host can wait its turn for over 100 ms
			 * (one CI run lost an AP that way). A CPU that checks in
			 * ends the wait at once, so the bound costs nothing. */
			t0 = rdtsc();
			while (cpus_online == before && rdtsc() - t0 < tsc_khz * 2000)
				cpu_relax();
			if (cpus_online == before)
				log_warn("smp: CPU with APIC ID %u did not start", ids[i]);
			else
				started++;
		}
	} else {
		/* No MADT (OVMF under Bochs installs no ACPI tables): wake every
		 * other CPU at once and count who checks in. */
		apic_send_ipi(0, ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_ALL_BUT_SELF);
		delay_us(10000);
		apic_send_ipi(0, ICR_STARTUP | ICR_ALL_BUT_SELF | (uint32_t)(bi->trampoline >> 12));
		delay_us(200);
		apic_send_ipi(0, ICR_STARTUP | ICR_ALL_BUT_SELF | (uint32_t)(bi->trampoline >> 12));
		delay_us(100000);
	}
	log_info("smp: %u CPU(s) online (%s)", cpus_online,
		 from_madt ? "listed by the ACPI MADT" : "broadcast start-up, no MADT");
	return cpus_online;
}
