/* Host time (vmm/hosttime.c): the bottom of the core, below the log, the
 * scheduler and VM time; it calls nothing of the core. */
#ifndef TSCVISOR_HOSTTIME_H
#define TSCVISOR_HOSTTIME_H

#include <stdint.h>

/* The host TSC as this pCPU sees it (with the test skew, if any). */
uint64_t vm_host_tsc(void);

#endif
