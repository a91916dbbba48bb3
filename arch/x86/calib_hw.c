/* Host TSC calibration, hardware side: finds a reference clock and feeds the
 * pure measurement code in calib.c. Order (docs/calibration.md): CPUID 0x15
 * with a crystal frequency, a hypervisor's leaf 0x40000010, the ACPI PM timer
 * (FADT, else PIIX4/ICH9 found on PCI), the PIT; CPUID 0x16 only as a last
 * resort and a cross-check. */
#include <tscvisor/acpi.h>
#include <tscvisor/log.h>
#include "calib_hw.h"
#include "insn.h"

static uint64_t read_tsc_cb(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static uint64_t read_pmtmr_cb(void *ctx)
{
	return inl((uint16_t)(uintptr_t)ctx);
}

/* i8254 channel 2 as a free-running 16-bit up-counter: mode 2 with reload 0
 * (65536) counts down continuously while the gate (port 0x61 bit 0) is high. */
static void pit_start(void)
{
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);  /* gate on, speaker off */
	outb(0x43, 0xb4);                       /* ch2, lo/hi byte, mode 2, binary */
	outb(0x42, 0);
	outb(0x42, 0);
}

static uint64_t read_pit_cb(void *ctx)
{
	uint8_t lo, hi;

	(void)ctx;
	outb(0x43, 0x80);                       /* latch channel 2 */
	lo = inb(0x42);
	hi = inb(0x42);
	return (0x10000u - (((unsigned)hi << 8) | lo)) & 0xffff;
}

static uint32_t pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(0xcf8, 0x80000000u | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc));
	return inl(0xcfc);
}

/* Without ACPI tables (OVMF under Bochs installs none), find the PM timer
 * through the chipset's PM I/O base register. */
static uint16_t pm_timer_from_pci(const char **found_by)
{
	uint32_t id = pci_read32(0, 1, 3, 0);
	uint32_t base;

	if (id == 0x71138086) {                  /* PIIX4 power management */
		base = pci_read32(0, 1, 3, 0x40);
		if ((base & 1) && (base & 0xffc0)) {
			*found_by = "PCI PIIX4 PMBA";
			return (uint16_t)((base & 0xffc0) + 8);
		}
	}
	id = pci_read32(0, 0x1f, 0, 0);
	if (id == 0x29188086) {                  /* ICH9 LPC (QEMU q35) */
		base = pci_read32(0, 0x1f, 0, 0x40);
		if ((pci_read32(0, 0x1f, 0, 0x44) & 0x80) && (base & 0xff80)) {
			*found_by = "PCI ICH9 PMBASE";
			return (uint16_t)((base & 0xff80) + 8);
		}
	}
	return 0;
}

static int measure(struct host_tsc *out, uint64_t (*read_ref)(void *), void *ctx,
		   unsigned bits, uint64_t hz)
{
	struct calib_ops ops = {
		.ctx = ctx, .read_tsc = read_tsc_cb, .read_ref = read_ref,
		.ref_bits = bits, .ref_hz = hz,
	};

	if (calib_measure(&ops, hz * CALIB_WINDOW_MS / 1000, CALIB_WINDOWS, &out->measured))
		return -1;
	out->khz = out->measured.khz;
	return 0;
}

int calib_host_tsc(const struct cpu_info *ci, uint64_t rsdp, struct host_tsc *out)
{
	struct acpi_pm_timer pm = { 0, false };
	uint32_t r[4];

	*out = (struct host_tsc){ 0 };
	if (ci->max_leaf >= 0x16) {
		cpuid(0x16, r);
		out->cpuid16_khz = calib_khz_from_cpuid16(r[0]);
	}
	if (ci->max_leaf >= 0x15) {
		cpuid(0x15, r);
		out->khz = calib_khz_from_cpuid15(r[0], r[1], r[2]);
		if (out->khz) {
			out->source = CALIB_CPUID_15H;
			return 0;
		}
	}
	if (ci->hypervisor_bit && ci->hv_max_leaf >= 0x40000010) {
		cpuid(0x40000010, r);
		if (r[0]) {
			out->khz = r[0];
			out->source = CALIB_CPUID_HV;
			return 0;
		}
	}
	if (rsdp && acpi_pm_timer(rsdp, &pm) == 0 && pm.port) {
		out->ref_found_by = "ACPI FADT";
	} else {
		pm.port = pm_timer_from_pci(&out->ref_found_by);
		pm.is_32bit = false;   /* 24 bits is always safe to assume */
	}
	if (pm.port) {
		out->ref_port = pm.port;
		out->ref_32bit = pm.is_32bit;
		if (measure(out, read_pmtmr_cb, (void *)(uintptr_t)pm.port,
			    pm.is_32bit ? 32 : 24, ACPI_PM_TIMER_HZ) == 0) {
			out->source = CALIB_PM_TIMER;
			return 0;
		}
		log_warn("calib: the PM timer at port 0x%x does not advance", pm.port);
	}
	pit_start();
	if (measure(out, read_pit_cb, 0, 16, PIT_HZ) == 0) {
		out->source = CALIB_PIT;
		out->ref_found_by = "i8254 channel 2";
		return 0;
	}
	log_warn("calib: the PIT does not advance");
	if (out->cpuid16_khz) {
		out->khz = out->cpuid16_khz;
		out->source = CALIB_CPUID_16H;
		return 0;
	}
	return -1;
}
