/* The guest's ACPI PM timer (pure C, no hardware access).
 *
 * A guest reads the PM timer at the port its FADT names, 3.579545 MHz, 24 or
 * 32 bits wide (FADT TMR_VAL_EXT). On the host it was created on, that is the
 * host's own timer and its reads go straight to the hardware. A VM restored
 * on another host keeps the FADT it booted with (it lives in guest RAM), so
 * when the new host's timer sits at another port, or is narrower or wider,
 * or is missing, the guest's port is trapped and each read is translated
 * here (docs/platform.md):
 *
 *   host 32-bit, guest 24-bit: the low 24 bits;
 *   host 24-bit, guest 32-bit: a 32-bit count extended from the host's
 *     24-bit steps (exact while the guest reads at least every 4.6 s, the
 *     24-bit wrap; a longer gap loses whole wraps, as a 24-bit timer would);
 *   no host timer: ticks derived from the host TSC at its calibrated rate.
 *
 * The guest timer's value jumps across a migration (it is another host's
 * clock): only its rate is the guest's reference, never its phase. */
#ifndef TSCVISOR_PMTIMER_H
#define TSCVISOR_PMTIMER_H

#include <stdbool.h>
#include <stdint.h>

#define PMTIMER_HZ 3579545u

enum pm_xlate_kind {
	PM_DIRECT = 0,          /* same port and width: not trapped at all */
	PM_SAME_WIDTH,          /* another port, same width: the value as read */
	PM_NARROW,              /* 32-bit host, 24-bit guest */
	PM_EXTEND,              /* 24-bit host, 32-bit guest */
	PM_FROM_TSC,            /* no host timer: from the host TSC */
};

struct pm_xlate {
	enum pm_xlate_kind kind;
	bool guest_32bit;
	uint16_t host_port;     /* the host's timer, 0: none */
	uint64_t host_khz;      /* PM_FROM_TSC: the host TSC rate */
	bool started;           /* PM_EXTEND: last_host/count valid */
	uint32_t last_host;     /* PM_EXTEND: the host's last 24-bit value */
	uint32_t count;         /* PM_EXTEND: the guest's 32-bit value */
};

/* How a guest timer (guest_port, guest_32bit) maps onto the host's
 * (host_port 0: none). guest_port must be non-zero. */
void pm_xlate_init(struct pm_xlate *x, uint16_t guest_port, bool guest_32bit,
		   uint16_t host_port, bool host_32bit, uint64_t host_khz);

/* The guest's value given one host reading: the host timer's value, or for
 * PM_FROM_TSC the host TSC. Callers serialise calls (PM_EXTEND keeps state). */
uint32_t pm_xlate_read(struct pm_xlate *x, uint64_t host_reading);

const char *pm_xlate_kind_name(enum pm_xlate_kind k);

#endif
