/* apic_state: IA32_APIC_BASE and the local APIC's three modes, as the SDM
 * says (Vol. 3A 11.4.3 "Enabling or Disabling the Local APIC", 11.12.2
 * "x2APIC Register Availability", 11.12.5 "x2APIC State Transitions").
 * Run with 2 CPUs; the BSP changes modes, the AP sends and takes IPIs.
 *
 * Legal changes succeed and read back: xAPIC -> x2APIC, x2APIC ->
 * disabled, disabled -> xAPIC, xAPIC -> disabled. Illegal ones #GP and
 * change nothing: EN=0 EXTD=1 from every state, x2APIC -> xAPIC, disabled
 * -> x2APIC, reserved bits (0-7, 9, MAXPHYADDR and up), a change of the
 * BSP flag. In x2APIC and disabled mode the xAPIC page is no APIC (reads
 * all-ones, writes dropped); in xAPIC and disabled mode the x2APIC MSRs
 * #GP. Disabled -> xAPIC gives the reset register values. An IPI sent to
 * a disabled APIC is lost; after re-enabling, IPIs both ways work.
 *
 * Option cpuid_apic=1 also checks that CPUID.1:EDX[9] follows the enable
 * bit (SDM 11.4.3): this needs the CPU description's CPUID computed from
 * IA32_APIC_BASE; without the option those two checks are skipped. The
 * APs must poll (ap_idle=spin): a BSP without an APIC cannot wake them. */
#include "guest.h"
#include "pvclock.h"

#define X2APIC_ID  0x802u
#define X2APIC_VER 0x803u
#define X2APIC_TPR 0x808u
#define X2APIC_SVR 0x80fu
#define V_TO_AP  0x60
#define V_TO_BSP 0x61

static volatile u32 got_ap, got_bsp;
static u64 base0;               /* the BSP's IA32_APIC_BASE at start */

static void on_ap(u8 v) { (void)v; atomic_inc(&got_ap); }
static void on_bsp(u8 v) { (void)v; atomic_inc(&got_bsp); }

static u64 apic_base(void) { return rdmsr(MSR_APIC_BASE); }

static bool wr_ok(u64 v)
{
	return wrmsr_safe(MSR_APIC_BASE, v) == -1 && apic_base() == v;
}

/* An illegal value: #GP and IA32_APIC_BASE unchanged. */
static void refused(u64 v, const char *what)
{
	u64 before = apic_base();
	int vec = wrmsr_safe(MSR_APIC_BASE, v);

	ok(vec == 13 && apic_base() == before, "%s (0x%llx): #GP, APIC_BASE unchanged (vector %d, now 0x%llx)",
	   what, (unsigned long long)v, vec, (unsigned long long)apic_base());
}

static u32 mmio(u32 reg) { return *(volatile u32 *)(uintptr_t)((base0 & ~0xfffull) + reg); }
static void mmio_wr(u32 reg, u32 v) { *(volatile u32 *)(uintptr_t)((base0 & ~0xfffull) + reg) = v; }

/* The xAPIC page is not the APIC: all-ones, a TPR write dropped, and a
 * REP STOSB over part of the page (as a guest's memset) goes on. */
static void page_is_not_apic(const char *mode)
{
	u32 ver, tpr;

	mmio_wr(LAPIC_TPR, 0x30);
	__asm__ volatile("rep stosb" : : "D"((base0 & ~0xfffull) + 0x800), "c"(256), "a"(0xff) : "memory");
	ver = mmio(LAPIC_VERSION);
	tpr = mmio(LAPIC_TPR);
	ok(ver == 0xffffffffu && tpr == 0xffffffffu, "%s: the xAPIC page reads all-ones (version 0x%x, TPR 0x%x)",
	   mode, ver, tpr);
}

static void x2apic_msrs_gp(const char *mode)
{
	u64 v;
	int r1 = rdmsr_safe(X2APIC_ID, &v), r2 = rdmsr_safe(X2APIC_VER, &v),
	    w1 = wrmsr_safe(X2APIC_TPR, 0x10);

	ok(r1 == 13 && r2 == 13 && w1 == 13, "%s: x2APIC MSRs #GP (RDMSR 0x802 %d, 0x803 %d, WRMSR 0x808 %d)",
	   mode, r1, r2, w1);
}

static void cpuid_apic(bool want, bool check)
{
	bool bit = cpuid(1).edx & (1u << 9);

	if (!check)
		skip("CPUID.1:EDX[9] = %d with the APIC %s: needs CPUID from APIC_BASE (option cpuid_apic=1)",
		     want, want ? "enabled" : "disabled");
	else
		ok(bit == want, "CPUID.1:EDX[9] = %d with the APIC %s (reads %d)", want,
		   want ? "enabled" : "disabled", bit);
}

static void ap_send(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	lapic_ipi(smp.cpu[0].apic_id, V_TO_BSP);
}

static void ap_wait(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	wait_count(&got_ap, 1, 1000, false, NULL);
}

void test_main(const struct mb_info *mbi)
{
	bool check_cpuid, found, x2;
	u32 maxphy = 36, x2max;
	u64 x, dis, x2v;
	unsigned n;

	(void)mbi;
	check_cpuid = cmdline_u64("cpuid_apic", 0, &found) == 1;
	plan(32);
	/* Bare QEMU's TCG takes APIC_BASE writes the SDM forbids and has no
	 * x2APIC: it is no reference for this test (the bare run skips). */
	if (!tv_signature(&x2max))
		skip_rest("not under tscvisor: the platform's APIC is its own");
	n = smp_init();
	if (!ok(n == 2, "2 CPUs online (%u)", n))
		skip_rest("needs 2 CPUs");
	irq_set_handler(V_TO_AP, on_ap);
	irq_set_handler(V_TO_BSP, on_bsp);
	base0 = apic_base();
	x = base0;
	dis = x & ~(u64)(APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	x2v = x | APIC_BASE_X2APIC;
	x2 = cpuid(1).ecx & (1u << 21);
	if (cpuid(0x80000000u).eax >= 0x80000008u)
		maxphy = cpuid(0x80000008u).eax & 0xff;
	ok((x & APIC_BASE_ENABLE) && !(x & APIC_BASE_X2APIC) && (x & APIC_BASE_BSP),
	   "start: BSP in xAPIC mode (APIC_BASE 0x%llx)", (unsigned long long)x);
	cpuid_apic(true, true);

	/* xAPIC */
	x2apic_msrs_gp("xAPIC");
	refused((x & ~(u64)APIC_BASE_ENABLE) | APIC_BASE_X2APIC, "xAPIC -> EN=0 EXTD=1");
	refused(x | 1, "reserved bit 0");
	refused(x | (1u << 9), "reserved bit 9");
	refused(x | (1ull << maxphy), "bit MAXPHYADDR");
	refused(x & ~(u64)APIC_BASE_BSP, "clearing the BSP flag");
	ok(mmio(LAPIC_VERSION) != 0xffffffffu, "xAPIC: the page answers (version 0x%x)", mmio(LAPIC_VERSION));
	mmio_wr(LAPIC_TPR, 0x20);
	mmio_wr(LAPIC_TDCR, 0x3);
	mmio_wr(LAPIC_LVT_TIMER, 0x40);

	/* x2APIC */
	if (!x2) {
		for (int i = 0; i < 7; i++)
			skip("no x2APIC (CPUID.1:ECX[21] = 0)");
		ok(wr_ok(dis), "xAPIC -> disabled");
	} else {
		u64 id = ~0ull, tpr = 0;
		bool answered;

		ok(wr_ok(x2v), "xAPIC -> x2APIC");
		answered = rdmsr_safe(X2APIC_ID, &id) == -1 && rdmsr_safe(X2APIC_TPR, &tpr) == -1;
		ok(answered && id == smp.cpu[0].apic_id && tpr == 0x20, "x2APIC: MSRs answer, ID %llu, TPR kept 0x%llx", (unsigned long long)id,
		   (unsigned long long)tpr);
		page_is_not_apic("x2APIC");
		rdmsr_safe(X2APIC_TPR, &tpr);
		ok(tpr == 0x20, "x2APIC: the MMIO TPR write did not reach the APIC (TPR 0x%llx)",
		   (unsigned long long)tpr);
		refused(x, "x2APIC -> xAPIC");
		refused(dis | APIC_BASE_X2APIC, "x2APIC -> EN=0 EXTD=1");
		ok(wr_ok(dis), "x2APIC -> disabled");
	}

	/* disabled */
	cpuid_apic(false, check_cpuid);
	page_is_not_apic("disabled");
	x2apic_msrs_gp("disabled");
	if (x2)
		refused(x2v, "disabled -> x2APIC");
	else
		skip("no x2APIC");
	refused(dis | APIC_BASE_X2APIC, "disabled -> EN=0 EXTD=1");
	/* An IPI to the disabled APIC is lost: the AP sends, then the BSP
	 * re-enables and looks. */
	smp_start_aps(ap_send, NULL);
	ok(smp_wait_aps(1000), "AP sent an IPI to the disabled BSP");

	ok(wr_ok(x), "disabled -> xAPIC");
	cpuid_apic(true, check_cpuid);
	{
		u32 tpr = mmio(LAPIC_TPR), svr = mmio(LAPIC_SVR), lvt = mmio(LAPIC_LVT_TIMER),
		    lint0 = mmio(LAPIC_LVT_LINT0), err = mmio(LAPIC_LVT_ERROR), tdcr = mmio(LAPIC_TDCR),
		    irr = 0, isr = 0, id = mmio(LAPIC_ID);

		for (u32 r = 0; r < 8; r++) {
			irr |= mmio(LAPIC_IRR + r * 16);
			isr |= mmio(LAPIC_ISR + r * 16);
		}
		ok(tpr == 0 && svr == 0xff && lvt == LVT_MASKED && lint0 == LVT_MASKED && err == LVT_MASKED &&
		   tdcr == 0 && irr == 0 && isr == 0 && id >> 24 == smp.cpu[0].apic_id,
		   "re-enabled: reset values (TPR 0x%x SVR 0x%x LVT timer 0x%x LINT0 0x%x error 0x%x TDCR 0x%x "
		   "IRR %x ISR %x ID 0x%x)", tpr, svr, lvt, lint0, err, tdcr, irr, isr, id);
	}
	ok(wr_ok(dis), "xAPIC -> disabled");
	ok(wr_ok(x), "disabled -> xAPIC again");
	ok(lapic_init(), "lapic_init again");
	irq_enable();
	udelay(2000);
	ok(got_bsp == 0, "the IPI sent while disabled was not delivered (%u)", got_bsp);

	/* IPIs both ways after re-enabling. */
	{
		bool sent, arrived;

		smp_start_aps(ap_wait, NULL);
		sent = lapic_ipi(smp.cpu[1].apic_id, V_TO_AP);
		arrived = smp_wait_aps(2000) && got_ap == 1;
		ok(sent && arrived, "BSP -> AP IPI after re-enable (taken %u)", got_ap);
		smp_start_aps(ap_send, NULL);
		arrived = smp_wait_aps(1000) && wait_count(&got_bsp, 1, 1000, false, NULL);
		ok(arrived, "AP -> BSP IPI after re-enable (taken %u)", got_bsp);
	}
	done();
}
