/* Console input (vmm/console.c): bytes typed on the hypervisor's own serial
 * console go to the receive FIFO of the guest UART of the VM that has the
 * console; Ctrl-A sequences (include/tscvisor/console_keys.h) choose that
 * VM. Everything here runs on pCPU 0 only (VM creation, and pCPU 0's run
 * loop), so it needs no lock of its own. docs/running.md "Console input". */
#ifndef TSCVISOR_CONSOLE_H
#define TSCVISOR_CONSOLE_H

#include <stdint.h>

struct vm;

#define CONSOLE_POLL_US    1000   /* pCPU 0 looks at most this often at its exits */
#define CONSOLE_TIMER_US   4000   /* ... and at least this often while the guest
				   * waits for input by interrupt (IER.ERBFI) */
#define CONSOLE_POLL_BYTES 16     /* bytes taken per look: one host FIFO */
#define CONSOLE_BACKLOG    256    /* bytes kept while the guest's FIFO is full */

/* A VM's UART exists (uart_create): it can be given the console. */
void console_attach(struct vm *vm);
/* pCPU 0, running `vm` at host TSC `now`: take what the host console has
 * received (at most CONSOLE_POLL_BYTES; nothing when the last look was less
 * than CONSOLE_POLL_US ago). Bytes the guest's FIFO has no room for wait in
 * a backlog of CONSOLE_BACKLOG bytes; beyond it they are dropped. */
void console_poll(struct vm *vm, uint64_t now);
/* The host TSC by which pCPU 0 should look again (its timer), 0: no need
 * (the guest does not wait for input by interrupt). */
uint64_t console_deadline(struct vm *vm);

#endif
