/* libFuzzer target for pure/bzimage.c. The input is the kernel file; when it
 * is long enough its last two bytes pick an initramfs cut from the input and
 * a command line length. Asserts that bz_check and bz_load agree, that a
 * refusal leaves guest RAM untouched, and that an accepted load stays inside
 * RAM with its pieces apart. ASan catches any access outside the file's
 * private copy or the exactly-sized RAM buffer.
 *
 *   make fuzz FUZZ_TARGETS=fuzz_bzimage
 *   build/tests/test_bzimage --seeds build/fuzz/fuzz_bzimage.corpus   (a seed image)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/bzimage.h>

#define RAM_SIZE (0x180000u)    /* 1.5 MiB: a kernel at 1 MiB with room above */
#define PATTERN 0x5A

static uint8_t *ram;
static uint8_t *ref;
static int dirty = 1;
static char cmdline[BZ_CMDLINE_MAX + 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bz_load_result r1, r2;
	struct bz_load_error e1, e2;
	const uint8_t *initrd = NULL;
	uint64_t initrd_size = 0;
	size_t cmd_len = 0;
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
		initrd = file + size / 2;
		initrd_size = data[size - 1] % 2 ? size - size / 2 : 0;
		cmd_len = (size_t)data[size - 2] * 17 % (BZ_CMDLINE_MAX + 4);
	}
	memset(cmdline, 'c', cmd_len);
	cmdline[cmd_len] = 0;
	if (dirty) {
		memset(ram, PATTERN, RAM_SIZE);
		dirty = 0;
	}

	c1 = bz_check(file, size, RAM_SIZE, cmdline, initrd, initrd_size, &r1, &e1);
	c2 = bz_load(file, size, ram, RAM_SIZE, cmdline, initrd, initrd_size, &r2, &e2);
	if (c1 != c2)
		abort();
	if (c2) {
		if (e1.code != e2.code || e2.code == BZ_OK || !e2.msg[0])
			abort();
		if (memcmp(ram, ref, RAM_SIZE))
			abort();
	} else {
		dirty = 1;
		if (memcmp(&r1, &r2, sizeof(r1)))
			abort();
		if (r2.kernel_lo < BZ_HIGH_RAM_START || r2.kernel_hi > RAM_SIZE ||
		    r2.kernel_lo >= r2.kernel_hi || r2.entry != r2.kernel_lo)
			abort();
		if (r2.initrd_size && (r2.initrd_gpa < r2.kernel_hi ||
				       r2.initrd_gpa + r2.initrd_size > RAM_SIZE ||
				       memcmp(ram + r2.initrd_gpa, initrd, initrd_size)))
			abort();
		if (strcmp((const char *)ram + BZ_CMDLINE_GPA, cmdline))
			abort();
		if (memcmp(ram + r2.kernel_lo, file + r2.pm_offset, r2.pm_size))
			abort();
	}
	free(file);
	return 0;
}
