/* Host time: every host-time reading of the core (deadlines, timeouts, the
 * guest TSC formula's input) goes through here, so that the test option
 * test_tsc_skew can make one pCPU's TSC look off to all of it. */
#include <tscvisor/hosttime.h>
#include <tscvisor/hw.h>

uint64_t vm_host_tsc(void)
{
	return rdtsc() + (uint64_t)this_cpu()->tsc_skew;
}
