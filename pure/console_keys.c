/* The console key sequences: see include/tscvisor/console_keys.h. */
#include <tscvisor/console_keys.h>

enum console_action console_key(struct console_keys *k, uint8_t in, uint8_t *arg)
{
	if (!k->escape) {
		if (in == CONSOLE_ESCAPE) {
			k->escape = true;
			return CONSOLE_NONE;
		}
		*arg = in;
		return CONSOLE_BYTE;
	}
	k->escape = false;
	if (in == CONSOLE_ESCAPE) {
		*arg = in;
		return CONSOLE_BYTE;
	}
	if (in == 'n' || in == 'N')
		return CONSOLE_NEXT;
	if (in >= '1' && in <= '9') {
		*arg = (uint8_t)(in - '1');
		return CONSOLE_SELECT;
	}
	return CONSOLE_HELP;
}
