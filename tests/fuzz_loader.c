/* libFuzzer target for pure/loader.c. The input is the kernel file; its last
 * byte (when the input is long enough) also picks 0-2 modules cut from the
 * input. Asserts that mb_check and mb_load agree, that a refusal leaves guest
 * RAM untouched, and that an accepted load describes itself consistently.
 * ASan catches any write outside the exactly-sized RAM buffer.
 *
 * Build and run (not part of `make unit`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I include \
 *       tests/fuzz_loader.c pure/loader.c pure/format.c -o /tmp/fuzz_loader
 *   mkdir -p /tmp/loader-corpus && build/tests/test_loader --seeds /tmp/loader-corpus
 *   /tmp/fuzz_loader -max_total_time=60 /tmp/loader-corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/loader.h>

#define RAM_SIZE (2u << 20)
#define PATTERN 0x5A

static uint8_t *ram;
static uint8_t *ref;
static int dirty = 1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_load_result r1, r2;
	struct mb_load_error e1, e2;
	struct mb_module mods[2];
	unsigned nmods = 0;
	uint8_t *file;
	int c1, c2;

	if (!ram) {
		ram = malloc(RAM_SIZE);    /* exact size: ASan flags any overrun */
		ref = malloc(RAM_SIZE);
		if (!ram || !ref)
			abort();
		memset(ref, PATTERN, RAM_SIZE);
	}
	/* A private copy of exactly `size` bytes, so reads past it are caught. */
	file = malloc(size ? size : 1);
	if (!file)
		abort();
	memcpy(file, data, size);
	if (size > 64) {
		nmods = data[size - 1] % 3;
		mods[0] = (struct mb_module){ file, size / 2, "m0 arg" };
		mods[1] = (struct mb_module){ file + size / 4, data[size - 2] % (size - size / 4),
					      NULL };
	}
	if (dirty) {
		memset(ram, PATTERN, RAM_SIZE);
		dirty = 0;
	}

	c1 = mb_check(file, size, RAM_SIZE, "fuzz", "a b c", mods, nmods, &r1, &e1);
	c2 = mb_load(file, size, ram, RAM_SIZE, "fuzz", "a b c", mods, nmods, &r2, &e2);
	if (c1 != c2)
		abort();
	if (c2) {
		if (e1.code != e2.code || e2.code <= MB_OK || e2.code >= MB_ERR_COUNT)
			abort();
		if (!memchr(e2.msg, '\0', sizeof(e2.msg)) || !e2.msg[0])
			abort();
		if (memcmp(ram, ref, RAM_SIZE) != 0)
			abort();                 /* a refusal wrote guest RAM */
	} else {
		dirty = 1;
		if (memcmp(&r1, &r2, sizeof(r1)) != 0)
			abort();
		if (r2.nsegs < 1 || r2.kernel_lo >= r2.kernel_hi || r2.kernel_hi > RAM_SIZE ||
		    r2.entry < r2.kernel_lo || r2.entry >= r2.kernel_hi ||
		    r2.mods_hi < r2.kernel_hi || r2.mods_hi > RAM_SIZE || r2.mbi_gpa != MB_MBI_GPA)
			abort();
		/* The platform hole is never written. */
		if (memcmp(ram + MB_LOW_RAM_END, ref, MB_HOLE_END - MB_LOW_RAM_END) != 0)
			abort();
	}
	free(file);
	return 0;
}
