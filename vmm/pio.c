/* Port-I/O devices of the guest platform (docs/platform.md). */
#include <string.h>
#include <tscvisor/log.h>
#include <tscvisor/pio.h>
#include <tscvisor/sched.h>
#include <tscvisor/hw.h>

/* 16550 at 0x3f8: transmit collects the guest's lines, printed with the VM's
 * name; LSR always says "transmitter empty"; the rest is plain storage. */
void uart_flush(struct vm *vm)
{
	struct uart_state *u = &vm->uart;

	if (!u->len)
		return;
	u->line[u->len] = 0;
	log_raw("[%s] %s\n", vm->name, u->line);
	u->len = 0;
	/* A guest test's machine-readable rate line, kept for the summary. */
	if (!strncmp(u->line, "# tsc_khz=", 10)) {
		uint64_t khz = 0;
		const char *p = u->line + 10;

		while (*p >= '0' && *p <= '9' && khz < (1ull << 40))
			khz = khz * 10 + (uint64_t)(*p++ - '0');
		vm->guest_reported_khz = khz;
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

static uint32_t uart_io(struct vm *vm, unsigned reg, bool in, uint8_t v)
{
	struct uart_state *u = &vm->uart;
	bool dlab = u->lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			if (in) return u->dll;
			u->dll = v;
		} else if (!in) {
			uart_tx(vm, v);
		}
		return 0;            /* receive buffer: nothing ever arrives */
	case 1:
		if (dlab) {
			if (in) return u->dlm;
			u->dlm = v;
		} else {
			if (in) return u->ier;
			u->ier = v & 0x0f;
		}
		return 0;
	case 2: return in ? 0x01 : 0;  /* IIR: no interrupt pending */
	case 3: if (in) return u->lcr; u->lcr = v; return 0;
	case 4: if (in) return u->mcr; u->mcr = v; return 0;
	case 5: return in ? 0x60 : 0;  /* LSR: THR empty, transmitter empty */
	case 6: return in ? 0xb0 : 0;  /* MSR: CTS, DSR, DCD */
	default: if (in) return u->scr; u->scr = v; return 0;
	}
}

/* fw_cfg (QEMU's docs/specs/fw_cfg.txt): a 16-bit selector at 0x510 and a
 * byte-wide data port at 0x511 that walks the selected item. */
static uint8_t fwcfg_byte(struct vm *vm)
{
	struct fwcfg_state *f = &vm->fwcfg;
	uint8_t item[8] = { 0 };
	unsigned len = 0;

	switch (f->selector) {
	case 0x00: memcpy(item, "QEMU", 4); len = 4; break;        /* signature */
	case 0x01: item[0] = 1; len = 4; break;                     /* ID: traditional interface */
	case 0x03: {                                                /* RAM_SIZE */
		uint64_t sz = vm->ram_size;

		memcpy(item, &sz, 8);
		len = 8;
		break;
	}
	case 0x05: item[0] = (uint8_t)vm->nvcpus; item[1] = (uint8_t)(vm->nvcpus >> 8); len = 2; break;
	default: len = 0; break;
	}
	if (f->offset >= len)
		return 0;
	return item[f->offset++];
}

static void unknown_port(struct vm *vm, uint16_t port, unsigned size, bool in)
{
	uint64_t *w = &vm->unknown_port_logged[port / 64], bit = 1ull << (port % 64);

	if (*w & bit)
		return;
	*w |= bit;
	/* Once per port, and for VM_PORT_LOG_LINES ports: a guest walking
	 * the 64 Ki ports must not make a log line of each (the caller holds
	 * the device lock). */
	if (vm->unknown_ports_logged > VM_PORT_LOG_LINES)
		return;
	vm->unknown_ports_logged++;
	vm_info(vm, "vm %s: %s of unemulated port 0x%x (%u bytes): %s (logged once per port%s)",
		    vm->name, in ? "read" : "write", port, size, in ? "all-ones" : "dropped",
		    vm->unknown_ports_logged > VM_PORT_LOG_LINES ? "; the ports after this one are not logged" : "");
}

/* The guest's PM timer when it is not the host's own (vm->pm): read the
 * host's timer (or TSC) and translate. Read-only: writes are dropped. A read
 * of fewer bytes, or at an offset into the register, gets those bytes. */
static uint32_t pm_timer_read(struct vm *vm, unsigned off)
{
	uint64_t h = vm->pm.host_port ? inl(vm->pm.host_port) : vm_host_tsc();

	return pm_xlate_read(&vm->pm, h) >> (8 * off);
}

void pio_access(struct vm *vm, uint16_t port, unsigned size, bool in, uint32_t *val)
{
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t v = in ? 0 : (*val & mask);

	if (vm->pm_timer_port && (unsigned)(port - vm->pm_timer_port) < 4u) {
		if (in)
			*val = pm_timer_read(vm, port - vm->pm_timer_port) & mask;
		return;
	}

	if (port >= PORT_COM1 && port < PORT_COM1 + 8) {
		uint32_t r = uart_io(vm, port - PORT_COM1, in, (uint8_t)v);

		if (in)
			*val = r;
		return;
	}
	switch (port) {
	case PORT_DEBUG_EXIT:
		if (in) {
			*val = mask;
			return;
		}
		uart_flush(vm);
		vm_end(vm, VM_END_EXIT_PORT, (v << 1) | 1, "exit port 0xf4");
		return;
	case PORT_BOCHS_SHUTDOWN:
		if (!in) {
			static const char word[] = "Shutdown";
			/* Bochs's convention: the bytes of "Shutdown" in order. */
			if ((char)v == word[vm->shutdown_pos])
				vm->shutdown_pos++;
			else
				vm->shutdown_pos = (char)v == 'S' ? 1 : 0;
			if (vm->shutdown_pos == sizeof(word) - 1) {
				uart_flush(vm);
				vm_end(vm, VM_END_SHUTDOWN, 1, "\"Shutdown\" on port 0x8900");
			}
		} else {
			*val = mask;
		}
		return;
	case PORT_FWCFG_SEL:
		if (in) {
			*val = vm->fwcfg.selector;
		} else {
			vm->fwcfg.selector = (uint16_t)v;
			vm->fwcfg.offset = 0;
		}
		return;
	case PORT_FWCFG_DATA:
		if (in) {
			uint32_t r = 0;
			unsigned i;

			for (i = 0; i < size; i++)
				r |= (uint32_t)fwcfg_byte(vm) << (8 * i);
			*val = r;
		}
		return;
	case 0x20: case 0x21: case 0xa0: case 0xa1: {
		/* 8259 PICs: accept initialisation and keep the mask (IMR). A
		 * write to the data port right after ICW1 is part of the ICW
		 * sequence (ICW2-ICW4), not a mask. */
		unsigned chip = port >= 0xa0;

		if (!(port & 1)) {
			if (in) {
				*val = 0;
			} else if (v & 0x10) {
				/* ICW2, ICW3 unless single (bit 1), ICW4 if asked (bit 0) */
				vm->pic.icw_step[chip] = 1 + !(v & 2) + (v & 1);
			}
			return;
		}
		if (in) {
			*val = vm->pic.imr[chip];
		} else if (vm->pic.icw_step[chip]) {
			vm->pic.icw_step[chip]--;
		} else {
			vm->pic.imr[chip] = (uint8_t)v;
		}
		return;
	}
	default:
		break;
	}
	unknown_port(vm, port, size, in);
	if (in)
		*val = mask;
}
