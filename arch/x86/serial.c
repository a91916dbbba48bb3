/* 16550 UART on COM1: the hypervisor's console, output and input (the
 * latter for the guests, vmm/console.c). Polled, 115200 8N1. */
#include <stdbool.h>
#include "insn.h"
#include "serial.h"

#define COM1 0x3f8
#define LSR_DR   0x01
#define LSR_THRE 0x20

static bool serial_ready;

void serial_init(void)
{
	outb(COM1 + 1, 0x00);  /* no interrupts */
	outb(COM1 + 3, 0x80);  /* DLAB on */
	outb(COM1 + 0, 0x01);  /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);  /* 8N1, DLAB off */
	outb(COM1 + 2, 0xc7);  /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);  /* DTR, RTS */
	serial_ready = true;
}

void hw_console_putc(char c)
{
	unsigned spins = 0;

	if (!serial_ready)
		serial_init();
	if (c == '\n')
		hw_console_putc('\r');
	/* Bounded wait: a missing UART reads 0xff (THRE set) so we never hang. */
	while (!(inb(COM1 + 5) & LSR_THRE) && ++spins < 1000000)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

int hw_console_getc(void)
{
	uint8_t lsr;

	if (!serial_ready)
		serial_init();
	lsr = inb(COM1 + 5);
	/* A missing UART reads 0xff: DR set for ever, nothing to take. */
	if (lsr == 0xff || !(lsr & LSR_DR))
		return -1;
	return inb(COM1);
}
