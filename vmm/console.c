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
static uint64_t last_poll;
/* Typed for the console VM while its receive FIFO was full: delivered as
 * the guest reads, oldest first; beyond CONSOLE_BACKLOG bytes input is
 * dropped (and said so once per VM). */
static uint8_t backlog[CONSOLE_BACKLOG];
static unsigned bl_head, bl_count;
static bool drop_said;

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

static void backlog_deliver(struct vm *vm)
{
	while (bl_count && uart_rx_room(vm)) {
		uart_receive(vm, backlog[bl_head]);
		bl_head = (bl_head + 1) % CONSOLE_BACKLOG;
		bl_count--;
	}
}

static void input_byte(struct vm *vm, uint8_t b)
{
	if (!bl_count && uart_rx_room(vm)) {
		uart_receive(vm, b);
		return;
	}
	if (bl_count < CONSOLE_BACKLOG) {
		backlog[(bl_head + bl_count) % CONSOLE_BACKLOG] = b;
		bl_count++;
		return;
	}
	if (!drop_said) {
		drop_said = true;
		flush_guest_line(vm);
		log_info("console: input for VM %u '%s' dropped: its receive FIFO and the console's "
			 "%u-byte backlog are full (the guest does not read its UART)", owner + 1,
			 vm->name, CONSOLE_BACKLOG);
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
		/* The VM with the console ended: the running one takes it, and
		 * what was typed for the last one is dropped. */
		owner = (int)vm->index;
		keys.escape = false;
		bl_count = 0;
		drop_said = false;
		log_dbg("console: VM %u '%s' has the console", owner + 1, vm->name);
	}
	backlog_deliver(vm);
	for (n = 0; n < CONSOLE_POLL_BYTES; n++) {
		c = hw_console_getc();
		if (c < 0)
			break;
		switch (console_key(&keys, (uint8_t)c, &arg)) {
		case CONSOLE_BYTE:
			input_byte(vm, arg);
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
