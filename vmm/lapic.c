/* A minimal xAPIC for a one-vCPU VM (SDM Vol. 3A ch. 11): registers a guest
 * reads and writes during bring-up. No interrupt is ever delivered yet: the
 * timer, IPIs and x2APIC come with SMP. */
#include <tscvisor/guest.h>
#include <tscvisor/vm.h>

#define APIC_ID      0x020
#define APIC_VERSION 0x030
#define APIC_TPR     0x080
#define APIC_APR     0x090
#define APIC_PPR     0x0a0
#define APIC_EOI     0x0b0
#define APIC_LDR     0x0d0
#define APIC_DFR     0x0e0
#define APIC_SVR     0x0f0
#define APIC_ESR     0x280
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVT_FIRST 0x320
#define APIC_LVT_LAST  0x370
#define APIC_TMICT   0x380
#define APIC_TMCCT   0x390
#define APIC_TDCR    0x3e0

/* Storage for the registers at 16-byte offsets 0x000-0x3f0. */
static uint32_t *reg(struct vcpu *v, uint32_t offset)
{
	return &v->lapic_regs[(offset >> 4) & 63];
}

void lapic_reset(struct vcpu *v)
{
	uint32_t off;

	for (off = 0; off < 0x400; off += 16)
		*reg(v, off) = 0;
	*reg(v, APIC_ID) = v->id << 24;
	*reg(v, APIC_DFR) = 0xffffffffu;
	*reg(v, APIC_SVR) = 0xff;            /* software-disabled, vector 0xff */
	for (off = APIC_LVT_FIRST; off <= APIC_LVT_LAST; off += 16)
		*reg(v, off) = 1u << 16;         /* masked */
}

uint32_t lapic_read(struct vcpu *v, uint32_t offset)
{
	switch (offset) {
	case APIC_VERSION:
		return 0x00050014;               /* integrated APIC, 6 LVT entries */
	case APIC_PPR:
		return *reg(v, APIC_TPR) & 0xf0;
	case APIC_EOI:
	case APIC_TMCCT:                         /* the timer never runs yet */
		return 0;
	default:
		return offset < 0x400 ? *reg(v, offset) : 0;
	}
}

void lapic_write(struct vcpu *v, uint32_t offset, uint32_t val)
{
	switch (offset) {
	case APIC_ID:
		*reg(v, offset) = val & 0xff000000u;
		break;
	case APIC_TPR:
		*reg(v, offset) = val & 0xff;
		break;
	case APIC_LDR:
		*reg(v, offset) = val & 0xff000000u;
		break;
	case APIC_DFR:
		*reg(v, offset) = val | 0x0fffffffu;
		break;
	case APIC_SVR:
		*reg(v, offset) = val & 0x13ff;
		break;
	case APIC_ESR:
		*reg(v, offset) = 0;
		break;
	case APIC_ICR_LO:
	case APIC_ICR_HI:
	case APIC_TMICT:
	case APIC_TDCR:
		*reg(v, offset) = val;
		break;
	default:
		if (offset >= APIC_LVT_FIRST && offset <= APIC_LVT_LAST)
			*reg(v, offset) = val & 0x000317ffu;
		/* EOI, read-only and reserved registers: writes ignored. */
		break;
	}
}
