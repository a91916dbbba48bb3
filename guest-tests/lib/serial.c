/* serial.c — output on the COM1 16550 UART (port 0x3f8), 115200 8N1,
 * polled: wait for the transmit holding register to empty (LSR bit 5)
 * before each byte. The wait is bounded so that a missing or stuck UART
 * slows a test down instead of hanging it. */
#include "guest.h"

#define COM1 0x3f8
#define UART_THR 0	/* transmit holding (DLAB 0) */
#define UART_DLL 0	/* divisor low (DLAB 1) */
#define UART_IER 1
#define UART_DLM 1	/* divisor high (DLAB 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);		/* no interrupts */
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1);		/* 115200 = 1843200 / (16 * 1) */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0x07);		/* FIFO on, both cleared */
	outb(COM1 + UART_MCR, 0x03);		/* DTR, RTS */
}

void serial_putc(char c)
{
	u32 spins = 1000000;

	while (!(inb(COM1 + UART_LSR) & LSR_THRE) && --spins)
		cpu_relax();
	outb(COM1 + UART_THR, (u8)c);
}

void serial_write(const char *s, size_t n)
{
	while (n--)
		serial_putc(*s++);
}
