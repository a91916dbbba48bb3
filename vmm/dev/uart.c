/* 16550 UART at COM1 (0x3f8): the guest's console. Transmitted bytes are
 * collected into lines, printed with the VM's name; LSR always says
 * "transmitter empty", nothing is ever received, the other registers are
 * plain storage (docs/platform.md). */
#include <string.h>
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/vm.h>

/* Register offsets from the base port, and the bits this model gives. */
#define UART_RBR_THR 0               /* receive / transmit; DLL with DLAB */
#define UART_IER     1               /* interrupt enable; DLM with DLAB */
#define UART_IIR     2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_LCR_DLAB    0x80
#define UART_IER_MASK    0x0f
#define UART_IIR_NO_INT  0x01
#define UART_LSR_THRE    0x20        /* transmit holding register empty */
#define UART_LSR_TEMT    0x40        /* transmitter empty */
#define UART_MSR_CTS_DSR_DCD 0xb0

#define KHZ_LINE "# tsc_khz="

void uart_flush(struct vm *vm)
{
	struct uart_state *u = &vm->uart;

	if (!u->len)
		return;
	u->line[u->len] = 0;
	log_raw("[%s] %s\n", vm->name, u->line);
	u->len = 0;
	/* A guest test's machine-readable rate line, kept for the summary. */
	if (!strncmp(u->line, KHZ_LINE, sizeof(KHZ_LINE) - 1)) {
		uint64_t khz = 0;
		const char *p = u->line + sizeof(KHZ_LINE) - 1;

		while (*p >= '0' && *p <= '9' && khz < (1ull << 40))
			khz = khz * 10 + (uint64_t)(*p++ - '0');
		u->reported_khz = khz;
	}
}

static void uart_tx(struct vm *vm, uint8_t c)
{
	struct uart_state *u = &vm->uart;

	if (c == '\n') {
		uart_flush(vm);
		return;
	}
	if (c == '\r')
		return;
	if (c < 0x20 || c > 0x7e)
		c = '.';
	u->line[u->len++] = (char)c;
	if (u->len >= UART_LINE_MAX - 1)
		uart_flush(vm);
}

static uint32_t uart_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	struct uart_state *u = dev;
	bool dlab = u->lcr & UART_LCR_DLAB;

	(void)vm;
	(void)size;
	switch (off) {
	case UART_RBR_THR: return dlab ? u->dll : 0;   /* receive buffer: nothing ever arrives */
	case UART_IER:     return dlab ? u->dlm : u->ier;
	case UART_IIR:     return UART_IIR_NO_INT;
	case UART_LCR:     return u->lcr;
	case UART_MCR:     return u->mcr;
	case UART_LSR:     return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:     return UART_MSR_CTS_DSR_DCD;
	default:           return u->scr;
	}
}

static void uart_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val)
{
	struct uart_state *u = dev;
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v = (uint8_t)val;

	(void)size;
	switch (off) {
	case UART_RBR_THR:
		if (dlab)
			u->dll = v;
		else
			uart_tx(vm, v);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & UART_IER_MASK;
		break;
	case UART_IIR:
	case UART_LSR:
	case UART_MSR:
		break;                 /* FCR and the read-only registers */
	case UART_LCR: u->lcr = v; break;
	case UART_MCR: u->mcr = v; break;
	default:       u->scr = v; break;
	}
}

int uart_create(struct vm *vm)
{
	return port_register(vm, &(struct port_region){
		.first = PORT_COM1, .last = PORT_COM1 + 7, .name = "uart", .dev = &vm->uart,
		.read = uart_read, .write = uart_write });
}

void uart_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	const struct uart_state *u = &vm->uart;

	(void)c;
	s->uart = (struct snap_uart){ u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm };
}

/* A partial console line is not part of the snapshot: it was the old
 * VM's output. */
int uart_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	struct uart_state *u = &vm->uart;

	(void)c;
	u->ier = s->uart.ier; u->lcr = s->uart.lcr; u->mcr = s->uart.mcr;
	u->scr = s->uart.scr; u->dll = s->uart.dll; u->dlm = s->uart.dlm;
	u->len = 0;
	return 0;
}
