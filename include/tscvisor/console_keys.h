/* The hypervisor console's key sequences (pure C; host-tested in
 * tests/test_console_keys.c). Bytes typed on the hypervisor's own serial
 * console go to the receive FIFO of the VM that has the console
 * (vmm/console.c), except these, which talk to the hypervisor
 * (docs/running.md "Console input"):
 *
 *   Ctrl-A n         the console goes to the next VM
 *   Ctrl-A 1 .. 9    the console goes to VM 1 .. 9 (config order)
 *   Ctrl-A h, ?      print the key list
 *   Ctrl-A Ctrl-A    a Ctrl-A byte for the guest
 *
 * Ctrl-A followed by any other byte is dropped with the key list printed:
 * neither byte reaches the guest. */
#ifndef TSCVISOR_CONSOLE_KEYS_H
#define TSCVISOR_CONSOLE_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_ESCAPE 0x01          /* Ctrl-A */

enum console_action {
	CONSOLE_NONE,                /* the byte was taken by a key sequence */
	CONSOLE_BYTE,                /* *arg: a byte for the guest */
	CONSOLE_NEXT,                /* switch to the next VM */
	CONSOLE_SELECT,              /* *arg: switch to VM number arg (0-based) */
	CONSOLE_HELP,                /* print the key list */
};

struct console_keys {
	bool escape;                 /* the last byte was an unpaired Ctrl-A */
};

/* One typed byte: what to do with it. */
enum console_action console_key(struct console_keys *k, uint8_t in, uint8_t *arg);

#endif
