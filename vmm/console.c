/* Console input: the hypervisor's serial console, polled on pCPU 0, feeds
 * the guest UART of the VM that has the console. See
 * include/tscvisor/console.h and docs/running.md. */
#include <tscvisor/config.h>
#include <tscvisor/console.h>
#include <tscvisor/console_keys.h>
#include <tscvisor/hw.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>

static struct vm *attached[CFG_MAX_VMS];   /* by config index */
static unsigned nattached;                 /* highest index attached + 1 */
static int owner = -1;                     /* index of the VM with the console */
static struct console_keys keys;
static uint64_t last_poll, full_since;

void console_attach(struct vm *vm)
{
	if (vm->index >= CFG_MAX_VMS)
		return;
	attached[vm->index] = vm;
	if (vm->index + 1 > nattached)
		nattached = vm->index + 1;
}

/* Our own line: the guest's partial line first, so that they do not mix. */
static void flush_guest_line(struct vm *vm)
{
	spin_lock(&vm->dev_lock);
	uart_flush(vm);
	spin_unlock(&vm->dev_lock);
}

static void help(struct vm *vm)
{
	flush_guest_line(vm);
	log_info("console: VM %u '%s' has the console; keys: Ctrl-A n next VM, Ctrl-A 1-9 VM by "
		 "number, Ctrl-A Ctrl-A a Ctrl-A for the guest, Ctrl-A h this list", owner + 1,
		 vm->name);
}

/* Only the running VM can take input: VMs run one after the other, so an
 * index that names another VM is refused with the reason. */
static void select_vm(struct vm *vm, unsigned i)
{
	flush_guest_line(vm);
	if (i >= nattached || !attached[i]) {
		log_info("console: no VM %u (VMs 1-%u so far); VM %u '%s' keeps the console", i + 1,
			 nattached, owner + 1, vm->name);
		return;
	}
	if (attached[i] != vm) {
		log_info("console: VM %u '%s' is not running (VMs run one after the other); VM %u "
			 "'%s' keeps the console", i + 1, attached[i]->name, owner + 1, vm->name);
		return;
	}
	owner = (int)i;
	log_info("console: VM %u '%s' has the console", i + 1, vm->name);
}

static void next_vm(struct vm *vm)
{
	unsigned i, j;

	for (j = 1; j <= nattached; j++) {
		i = ((unsigned)owner + j) % nattached;
		if (attached[i] == vm) {
			select_vm(vm, i);
			return;
		}
	}
}

void console_poll(struct vm *vm, uint64_t now)
{
	uint64_t khz = vm->time.host.tsc_khz;
	unsigned n;
	uint8_t arg;
	int c;

	if (now - last_poll < khz * CONSOLE_POLL_US / 1000 && now >= last_poll)
		return;
	last_poll = now;
	if (owner < 0 || (unsigned)owner >= CFG_MAX_VMS || attached[owner] != vm) {
		/* The VM with the console ended: the running one takes it. */
		owner = (int)vm->index;
		keys.escape = false;
		full_since = 0;
		log_dbg("console: VM %u '%s' has the console", owner + 1, vm->name);
	}
	for (n = 0; n < CONSOLE_POLL_BYTES; n++) {
		/* A full receive FIFO leaves the input on the host's line (its
		 * FIFO, or the emulator's) until the guest reads, for at most
		 * CONSOLE_STALL_MS; after that input is taken and lost. A byte
		 * after Ctrl-A is always taken: it is ours. */
		if (!keys.escape && !uart_rx_room(vm)) {
			if (!full_since)
				full_since = now;
			if (now - full_since < khz * CONSOLE_STALL_MS)
				break;
		} else {
			full_since = 0;
		}
		c = hw_console_getc();
		if (c < 0)
			break;
		switch (console_key(&keys, (uint8_t)c, &arg)) {
		case CONSOLE_BYTE:
			uart_receive(vm, arg);     /* lost when refused: LSR.OE */
			break;
		case CONSOLE_NEXT:
			next_vm(vm);
			break;
		case CONSOLE_SELECT:
			select_vm(vm, arg);
			break;
		case CONSOLE_HELP:
			help(vm);
			break;
		case CONSOLE_NONE:
			break;
		}
	}
}

uint64_t console_deadline(struct vm *vm)
{
	if (owner < 0 || (unsigned)owner >= CFG_MAX_VMS || attached[owner] != vm ||
	    !uart_rx_irq_enabled(vm))
		return 0;
	return last_poll + vm->time.host.tsc_khz * CONSOLE_TIMER_US / 1000;
}
