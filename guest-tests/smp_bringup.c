/* smp_bringup — every CPU the platform lists starts and checks in.
 *
 * The library finds the CPUs in the ACPI MADT, starts each AP with INIT,
 * SIPI, SIPI through the xAPIC ICR and a real-mode trampoline at 0x7000,
 * and waits for it (ap_timeout_ms). Checks: the MADT and fw_cfg are there
 * and agree on the count; the BSP is listed and is the only CPU whose
 * IA32_APIC_BASE has the BSP bit; each AP checked in, reading its own LAPIC
 * ID (the MADT's), CPUID.1:EBX[31:24] and IA32_APIC_BASE, entering the
 * trampoline once although it was sent two SIPIs; all CPUs run a function
 * and meet at a barrier.
 *
 * Options: expect_cpus=N checks the number online against N instead of
 * the MADT's count (a runner that knows the VM's vCPUs passes it; a wrong
 * N is the self-test that must FAIL); ap_timeout_ms=M (default 2000);
 * ap_idle=spin (APs poll instead of HLT between jobs). */
#include "guest.h"

static struct barrier bar;
static volatile u32 ran[MAX_CPUS];
static volatile u32 who[MAX_CPUS];
static volatile u32 passed;

static void job(unsigned cpu, void *arg)
{
	(void)arg;
	who[cpu] = smp_cpu();
	atomic_inc(&ran[cpu]);
	if (barrier_wait(&bar, 5000) && barrier_wait(&bar, 5000))
		atomic_inc(&passed);
}

void test_main(const struct mb_info *mbi)
{
	bool have_expect, all_done;
	u64 expect = cmdline_u64("expect_cpus", 0, &have_expect);
	unsigned online, bsp_flags = 0, ok_jobs = 0;
	u64 base0;

	(void)mbi;
	online = smp_init();
	plan(9 + 2 * (smp.ncpus - 1));

	ok(smp.madt_cpus > 0, "the ACPI MADT lists %d enabled processor(s)", smp.madt_cpus);
	ok(smp.fwcfg_cpus > 0, "fw_cfg answers with NB_CPUS %d", smp.fwcfg_cpus);
	ok(smp.madt_cpus == smp.fwcfg_cpus, "MADT count %d == fw_cfg NB_CPUS %d",
	   smp.madt_cpus, smp.fwcfg_cpus);
	if (!have_expect)
		expect = smp.madt_cpus > 0 ? (u64)smp.madt_cpus : (u64)smp.ncpus;
	ok(online == expect, "%u CPU(s) online, %llu expected (%s)", online,
	   (unsigned long long)expect, have_expect ? "expect_cpus" : "the MADT");

	base0 = smp.cpu[0].apic_base & ~0xfffull;
	for (unsigned i = 0; i < smp.ncpus; i++)
		if (smp.cpu[i].state == CPU_ONLINE && (smp.cpu[i].apic_base & APIC_BASE_BSP))
			bsp_flags |= 1u << i;
	diag("BSP: APIC ID %u, CPUID initial APIC ID %u, IA32_APIC_BASE 0x%llx, LAPIC version 0x%08x",
	     smp.cpu[0].apic_id, smp.cpu[0].cpuid_apic_id,
	     (unsigned long long)smp.cpu[0].apic_base, smp.cpu[0].lapic_ok ? lapic_read(LAPIC_VERSION) : 0);
	ok(smp.cpu[0].lapic_ok && smp.bsp_listed && smp.cpu[0].cpuid_apic_id == smp.cpu[0].apic_id,
	   "the BSP's LAPIC works, its ID %u is in the MADT%s and matches CPUID.1:EBX[31:24] %u",
	   smp.cpu[0].apic_id, smp.bsp_listed ? "" : " (NOT)", smp.cpu[0].cpuid_apic_id);
	ok(bsp_flags == 1, "IA32_APIC_BASE.BSP is set on the BSP and on no AP (CPU mask 0x%x)",
	   bsp_flags);

	for (unsigned i = 1; i < smp.ncpus; i++) {
		struct cpu_info *c = &smp.cpu[i];
		bool up = c->state == CPU_ONLINE;

		ok(up, "CPU %u (MADT APIC ID %u, UID %u) checked in%s", i, c->apic_id, c->acpi_uid,
		   up ? "" : " (timed out)");
		if (up)
			diag("CPU %u: checked in %llu us after its first SIPI; LAPIC ID %u, CPUID "
			     "initial APIC ID %u, IA32_APIC_BASE 0x%llx, entered C %u time(s)",
			     i, (unsigned long long)c->boot_us, c->lapic_id, c->cpuid_apic_id,
			     (unsigned long long)c->apic_base, c->starts);
		ok(up && c->lapic_ok && c->lapic_id == c->apic_id && c->cpuid_apic_id == c->apic_id &&
		   (c->apic_base & APIC_BASE_ENABLE) && (c->apic_base & ~0xfffull) == base0 &&
		   c->starts == 1,
		   "CPU %u reports APIC ID %u (LAPIC) / %u (CPUID), its APIC at 0x%llx enabled, "
		   "started once", i, c->lapic_id, c->cpuid_apic_id,
		   (unsigned long long)(c->apic_base & ~0xfffull));
	}
	ok(smp.trampoline_entries == smp.ncpus - 1,
	   "the trampoline was entered %u time(s) for %u AP(s), two SIPIs each",
	   smp.trampoline_entries, smp.ncpus - 1);

	barrier_init(&bar, online);
	all_done = smp_call_all(job, NULL, 10000);
	ok(all_done, "every online AP finished a function (%u of %u)", smp_aps_done(), online - 1);
	for (unsigned i = 0; i < smp.ncpus; i++) {
		if (smp.cpu[i].state != CPU_ONLINE)
			continue;
		if (ran[i] == 1 && who[i] == i)
			ok_jobs++;
		else
			diag("CPU %u: ran the function %u time(s), smp_cpu() said %u", i, ran[i],
			     who[i]);
	}
	ok(ok_jobs == online && passed == online,
	   "all %u CPUs ran it once on themselves (%u) and passed a barrier twice (%u)", online,
	   ok_jobs, passed);
}
