/* IA32_APIC_BASE mode changes (include/tscvisor/apic_mode.h). Pure C. */
#include <tscvisor/apic_mode.h>

enum apic_mode apic_mode_of(uint64_t apic_base)
{
	return (enum apic_mode)(((apic_base & APIC_BASE_EN_BIT) ? 2 : 0) |
				((apic_base & APIC_BASE_EXTD_BIT) ? 1 : 0));
}

int apic_base_check(uint64_t old, uint64_t val, unsigned maxphyaddr, bool x2apic)
{
	uint64_t reserved = 0x2ffull;   /* bits 0-7 and 9 */
	enum apic_mode from = apic_mode_of(old), to = apic_mode_of(val);

	if (maxphyaddr < 32 || maxphyaddr > 52)
		maxphyaddr = 36;        /* CPUID without leaf 0x80000008 */
	reserved |= ~0ull << maxphyaddr;
	if (!x2apic)
		reserved |= APIC_BASE_EXTD_BIT;
	if (val & reserved)
		return -1;
	/* The BSP flag is the platform's (set on one processor at reset); a
	 * write that would change it is refused rather than silently kept. */
	if ((val ^ old) & APIC_BASE_BSP_BIT)
		return -1;
	/* SDM 11.12.5: EN=0 EXTD=1 is not a valid state; from x2APIC the only
	 * mode change is to disabled ("a transition from the x2APIC mode to
	 * xAPIC mode is not valid"); x2APIC is entered from xAPIC only (figure:
	 * no edge from disabled to x2APIC, which KVM also refuses). */
	if (to == APIC_MODE_INVALID)
		return -1;
	if (from == APIC_MODE_X2APIC && to == APIC_MODE_XAPIC)
		return -1;
	if (from == APIC_MODE_DISABLED && to == APIC_MODE_X2APIC)
		return -1;
	return 0;
}
