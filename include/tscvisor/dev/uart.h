/* The 16550A UART at COM1 (vmm/dev/uart.c): the guest's console. The
 * register model is pure/uart16550.c; this device adds the port range, the
 * per-VM output lines, the interrupt line (ISA IRQ 4) and the input the
 * hypervisor's console hands it (vmm/console.c). docs/platform.md. */
#ifndef TSCVISOR_DEV_UART_H
#define TSCVISOR_DEV_UART_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/uart16550.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define PORT_COM1     0x3f8
#define UART_IRQ      4
#define UART_LINE_MAX 160

struct uart_state {
	struct u16550 regs;          /* the guest-visible registers and receive FIFO */
	bool irq_level;              /* what IRQ 4 was last set to */
	char line[UART_LINE_MAX];    /* the console line being collected */
	unsigned len;
	uint64_t reported_khz;       /* last "# tsc_khz=N" console line, 0 if none */
	uint64_t rx_bytes;           /* bytes the console delivered */
};

int uart_create(struct vm *vm);
/* Print a partial console line (at VM end, before a log line of ours). */
void uart_flush(struct vm *vm);
/* Console input (vmm/console.c), each under the VM's device lock: how many
 * bytes the receive FIFO takes now (0 in loopback), and one byte arriving
 * on the line (false: not received, loopback or an overrun). */
unsigned uart_rx_room(struct vm *vm);
bool uart_receive(struct vm *vm, uint8_t byte);
/* The guest enabled the received-data interrupt (it waits for input
 * without polling LSR): the console should be polled on a timer. */
bool uart_rx_irq_enabled(const struct vm *vm);
void uart_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int uart_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
