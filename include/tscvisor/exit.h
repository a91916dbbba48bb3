/* Exit handling in the core: one reason, one handler (vmm/exit.c). */
#ifndef TSCVISOR_EXIT_H
#define TSCVISOR_EXIT_H

#include <tscvisor/vcpu.h>

/* Handle one exit; on return the vCPU can be entered again unless its VM
 * ended. Counts the exit; the scheduler adds the host cycles from the exit
 * to the next entry (vmm/sched.c). */
void exit_handle(struct vcpu *v, struct vm_exit *e);
const char *exit_reason_name(enum exit_reason r);
/* Print a register dump of the vCPU (ends of VMs that crashed). */
void vcpu_dump(struct vcpu *v, const char *why);

#endif
