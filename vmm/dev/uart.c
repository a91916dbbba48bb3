/* 16550A UART at COM1 (0x3f8): the guest's console (docs/platform.md).
 * pure/uart16550.c holds the registers and the receive FIFO; here they get
 * their port range, the interrupt line (ISA IRQ 4, gated by MCR.OUT2), the
 * console input (vmm/console.c) and the output: transmitted bytes are
 * collected into lines and printed with the VM's name. */
#include <string.h>
#include <tscvisor/console.h>
#include <tscvisor/dev/irq.h>
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/vm.h>

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

/* The line follows the model after every change (device lock held). */
static void uart_update_irq(struct vm *vm)
{
	struct uart_state *u = &vm->uart;
	bool level = u16550_irq(&u->regs);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	isa_irq_set(vm, UART_IRQ, level);
}

static uint32_t uart_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	struct uart_state *u = dev;
	uint32_t v;

	(void)size;     /* a wider access reads the one register; the bus masks */
	v = u16550_read(&u->regs, off);
	uart_update_irq(vm);
	return v;
}

static void uart_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val)
{
	struct uart_state *u = dev;
	int out;

	(void)size;
	out = u16550_write(&u->regs, off, (uint8_t)val);
	if (out >= 0)
		uart_tx(vm, (uint8_t)out);
	uart_update_irq(vm);
}

unsigned uart_rx_room(struct vm *vm)
{
	unsigned room;

	spin_lock(&vm->dev_lock);
	room = u16550_rx_room(&vm->uart.regs);
	spin_unlock(&vm->dev_lock);
	return room;
}

bool uart_receive(struct vm *vm, uint8_t byte)
{
	bool took;

	spin_lock(&vm->dev_lock);
	took = u16550_receive(&vm->uart.regs, byte);
	if (took)
		vm->uart.rx_bytes++;
	uart_update_irq(vm);
	spin_unlock(&vm->dev_lock);
	return took;
}

bool uart_rx_irq_enabled(const struct vm *vm)
{
	return __atomic_load_n(&vm->uart.regs.ier, __ATOMIC_RELAXED) & U16550_IER_ERBFI;
}

int uart_create(struct vm *vm)
{
	u16550_reset(&vm->uart.regs);
	vm->uart.irq_level = false;
	console_attach(vm);
	return port_register(vm, &(struct port_region){
		.first = PORT_COM1, .last = PORT_COM1 + 7, .name = "uart", .dev = &vm->uart,
		.read = uart_read, .write = uart_write });
}

/* Everything the guest can see is saved: the registers (UART section), and
 * the FIFO state, the received bytes and the pending THRE interrupt
 * (UART_FIFO section). Bytes still in the console's backlog (vmm/console.c)
 * are the host's, not the guest's, and are not. */
void uart_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	const struct u16550 *r = &vm->uart.regs;
	unsigned i;

	(void)c;
	s->uart = (struct snap_uart){ .ier = r->ier, .lcr = r->lcr, .mcr = r->mcr, .scr = r->scr,
				      .dll = r->dll, .dlm = r->dlm, .fifo_present = true };
	s->uart.fcr = r->fcr;
	s->uart.lsr_err = r->lsr_err;
	s->uart.msr = r->msr;
	s->uart.thr_ipending = r->thr_ipending;
	s->uart.rx_count = r->rx_count;
	for (i = 0; i < r->rx_count && i < SNAP_UART_RX_MAX; i++)
		s->uart.rx[i] = r->rx[(r->rx_head + i) % U16550_FIFO_LEN];
}

/* A partial console line is not part of the snapshot: it was the old
 * VM's output. A snapshot without the FIFO section (an older writer) gives
 * the registers with the FIFOs off, nothing received and no interrupt
 * pending. The codec has checked every value against the registers. */
int uart_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	struct uart_state *u = &vm->uart;
	struct u16550 *r = &u->regs;
	unsigned i;

	(void)c;
	u16550_reset(r);
	r->ier = s->uart.ier & U16550_IER_MASK; r->lcr = s->uart.lcr;
	r->mcr = s->uart.mcr & U16550_MCR_MASK;
	r->scr = s->uart.scr; r->dll = s->uart.dll; r->dlm = s->uart.dlm;
	r->msr = u16550_msr_lines(r->mcr);
	if (s->uart.fifo_present) {
		r->fcr = s->uart.fcr & U16550_FCR_KEPT;
		r->lsr_err = s->uart.lsr_err & U16550_LSR_OE;
		r->msr = (uint8_t)(u16550_msr_lines(r->mcr) | (s->uart.msr & U16550_MSR_DELTAS));
		r->thr_ipending = s->uart.thr_ipending;
		for (i = 0; i < s->uart.rx_count && i < SNAP_UART_RX_MAX; i++)
			r->rx[i] = s->uart.rx[i];
		r->rx_count = (uint8_t)i;
		if (!u16550_valid(r)) {         /* the codec refuses such a snapshot */
			r->fcr = 0;
			r->rx_count = 0;
		}
	}
	u->len = 0;
	u->irq_level = u16550_irq(r);
	isa_irq_set(vm, UART_IRQ, u->irq_level);
	return 0;
}
