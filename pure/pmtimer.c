/* The guest's ACPI PM timer after a move to another host: see
 * include/tscvisor/pmtimer.h. */
#include <tscvisor/pmtimer.h>
#include <tscvisor/tsc.h>

#define PM_MASK24 0xffffffu

void pm_xlate_init(struct pm_xlate *x, uint16_t guest_port, bool guest_32bit,
		   uint16_t host_port, bool host_32bit, uint64_t host_khz)
{
	*x = (struct pm_xlate){ .guest_32bit = guest_32bit, .host_port = host_port,
				.host_khz = host_khz };
	if (!host_port)
		x->kind = PM_FROM_TSC;
	else if (guest_32bit == host_32bit)
		x->kind = guest_port == host_port ? PM_DIRECT : PM_SAME_WIDTH;
	else
		x->kind = guest_32bit ? PM_EXTEND : PM_NARROW;
}

uint32_t pm_xlate_read(struct pm_xlate *x, uint64_t h)
{
	uint32_t mask = x->guest_32bit ? 0xffffffffu : PM_MASK24;

	switch (x->kind) {
	case PM_DIRECT:
	case PM_SAME_WIDTH:
		return (uint32_t)h & mask;
	case PM_NARROW:
		return (uint32_t)h & PM_MASK24;
	case PM_EXTEND:
		h &= PM_MASK24;
		if (!x->started) {
			x->started = true;
			x->count = (uint32_t)h;
		} else {
			x->count += ((uint32_t)h - x->last_host) & PM_MASK24;
		}
		x->last_host = (uint32_t)h;
		return x->count;
	case PM_FROM_TSC:
	default:
		/* ticks = h * 3579545 / (khz * 1000), exact in 128 bits; the
		 * count wraps modulo the guest's width like the real timer. */
		if (!x->host_khz)
			return 0;
		return (uint32_t)mul_div_u64(h, PMTIMER_HZ, x->host_khz * 1000u, NULL) & mask;
	}
}

const char *pm_xlate_kind_name(enum pm_xlate_kind k)
{
	switch (k) {
	case PM_DIRECT: return "passed through";
	case PM_SAME_WIDTH: return "trapped, read from the host's port";
	case PM_NARROW: return "trapped, the host's 32-bit value cut to 24 bits";
	case PM_EXTEND: return "trapped, the host's 24-bit value extended to 32 bits";
	case PM_FROM_TSC: return "trapped, derived from the host TSC (the host has no PM timer)";
	default: return "?";
	}
}
