/* Host tests of pure/console_keys.c: the hypervisor console's Ctrl-A
 * sequences. */
#include "harness.h"
#include <tscvisor/console_keys.h>

static enum console_action key(struct console_keys *k, uint8_t in, uint8_t *arg)
{
	*arg = 0xee;
	return console_key(k, in, arg);
}

int main(void)
{
	struct console_keys k = { 0 };
	uint8_t arg;
	unsigned i;

	/* Plain bytes pass through, every value but Ctrl-A. */
	for (i = 0; i < 256; i++) {
		if (i == CONSOLE_ESCAPE)
			continue;
		if (key(&k, (uint8_t)i, &arg) != CONSOLE_BYTE || arg != i)
			break;
	}
	CHECK_EQ_U64(i, 256);
	CHECK(!k.escape);

	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);        /* Ctrl-A is held */
	CHECK(k.escape);
	CHECK_EQ_U64(key(&k, 'n', &arg), CONSOLE_NEXT);
	CHECK(!k.escape);
	CHECK_EQ_U64(key(&k, 'n', &arg), CONSOLE_BYTE);         /* 'n' alone is a byte */
	CHECK_EQ_U64(arg, 'n');

	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, 'N', &arg), CONSOLE_NEXT);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, '1', &arg), CONSOLE_SELECT);
	CHECK_EQ_U64(arg, 0);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, '9', &arg), CONSOLE_SELECT);
	CHECK_EQ_U64(arg, 8);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, '0', &arg), CONSOLE_HELP);         /* no VM 0 */
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, 'h', &arg), CONSOLE_HELP);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, '?', &arg), CONSOLE_HELP);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, 'x', &arg), CONSOLE_HELP);         /* unknown: dropped */
	CHECK_EQ_U64(key(&k, 'x', &arg), CONSOLE_BYTE);         /* and over */

	/* Ctrl-A Ctrl-A is one Ctrl-A for the guest; a third starts anew. */
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_BYTE);
	CHECK_EQ_U64(arg, 0x01);
	CHECK(!k.escape);
	CHECK_EQ_U64(key(&k, 0x01, &arg), CONSOLE_NONE);
	CHECK(k.escape);
	CHECK_EQ_U64(key(&k, '2', &arg), CONSOLE_SELECT);
	CHECK_EQ_U64(arg, 1);
	return th_done();
}
