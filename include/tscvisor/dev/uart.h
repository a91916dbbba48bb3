/* The 16550 UART at COM1 (vmm/dev/uart.c): the guest's console. */
#ifndef TSCVISOR_DEV_UART_H
#define TSCVISOR_DEV_UART_H

#include <stdint.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define PORT_COM1     0x3f8
#define UART_LINE_MAX 160

struct uart_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	char line[UART_LINE_MAX];    /* the console line being collected */
	unsigned len;
	uint64_t reported_khz;       /* last "# tsc_khz=N" console line, 0 if none */
};

int uart_create(struct vm *vm);
/* Print a partial console line (at VM end, before a log line of ours). */
void uart_flush(struct vm *vm);
void uart_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int uart_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
