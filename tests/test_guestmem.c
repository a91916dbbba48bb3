/* Host tests of pure/guestmem.c: guest RAM past 3 GiB continues at 4 GiB,
 * and no guest-physical range touching the hole between, or past the end of
 * either range, ever maps to the host buffer. */
#include "harness.h"
#include <tscvisor/guestmem.h>

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static uint64_t off_of(uint64_t ram, uint64_t gpa, uint64_t len)
{
	uint64_t off = 0xdeadull;

	return gmem_offset(ram, gpa, len, &off) ? off : UINT64_MAX;
}

static void test_ranges(void)
{
	struct gmem_range r[GMEM_MAX_RANGES];

	CHECK_EQ_U64(gmem_ranges(0, r), 0);
	CHECK_EQ_U64(gmem_ranges(64 * MIB, r), 1);
	CHECK_EQ_U64(r[0].gpa, 0);
	CHECK_EQ_U64(r[0].size, 64 * MIB);
	CHECK_EQ_U64(r[0].off, 0);
	CHECK_EQ_U64(gmem_ranges(3 * GIB, r), 1);
	CHECK_EQ_U64(r[0].size, 3 * GIB);
	CHECK_EQ_U64(gmem_ranges(3 * GIB + 2 * MIB, r), 2);
	CHECK_EQ_U64(r[0].size, 3 * GIB);
	CHECK_EQ_U64(r[1].gpa, 4 * GIB);
	CHECK_EQ_U64(r[1].size, 2 * MIB);
	CHECK_EQ_U64(r[1].off, 3 * GIB);
	CHECK_EQ_U64(gmem_ranges(64 * GIB, r), 2);
	CHECK_EQ_U64(r[1].gpa + r[1].size, 65 * GIB);
	CHECK_EQ_U64(gmem_top(0), 0);
	CHECK_EQ_U64(gmem_top(3 * GIB), 3 * GIB);
	CHECK_EQ_U64(gmem_top(3584 * MIB), 4608 * MIB);
	CHECK_EQ_U64(gmem_top(64 * GIB), 65 * GIB);
}

/* RAM of 3 GiB or less: exactly [0, ram_size), as before the split. */
static void test_low_only(void)
{
	uint64_t ram = 64 * MIB;

	CHECK_EQ_U64(off_of(ram, 0, 1), 0);
	CHECK_EQ_U64(off_of(ram, 0, ram), 0);
	CHECK_EQ_U64(off_of(ram, ram - 8, 8), ram - 8);
	CHECK_EQ_U64(off_of(ram, ram - 7, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, ram, 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 0, ram + 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 4 * GIB, 1), UINT64_MAX);   /* no high RAM */
	CHECK_EQ_U64(off_of(3 * GIB, 3 * GIB - 4096, 4096), 3 * GIB - 4096);
	CHECK_EQ_U64(off_of(3 * GIB, 3 * GIB, 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(3 * GIB, 4 * GIB, 1), UINT64_MAX);
	CHECK(!gmem_offset(ram, 0, 0, NULL));                 /* an empty range is never RAM */
}

/* RAM of 3.5 GiB: low [0, 3 GiB) at offset 0, high [4 GiB, 4.5 GiB) at 3 GiB. */
static void test_split(void)
{
	uint64_t ram = 3584 * MIB, hi_end = 4 * GIB + 512 * MIB;

	CHECK_EQ_U64(off_of(ram, 0, 4096), 0);
	CHECK_EQ_U64(off_of(ram, 3 * GIB - 8, 8), 3 * GIB - 8);
	/* The hole, and every range reaching into it. */
	CHECK_EQ_U64(off_of(ram, 3 * GIB - 4, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 3 * GIB, 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 0xfec00000ull, 4), UINT64_MAX);   /* IOAPIC */
	CHECK_EQ_U64(off_of(ram, 0xfee00000ull, 4), UINT64_MAX);   /* LAPIC */
	CHECK_EQ_U64(off_of(ram, 4 * GIB - 1, 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 4 * GIB - 4, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 3 * GIB - 4096, 2 * GIB), UINT64_MAX);   /* straddles the hole */
	CHECK_EQ_U64(off_of(ram, 0, ram), UINT64_MAX);                   /* as many bytes, but not contiguous */
	/* High RAM. */
	CHECK_EQ_U64(off_of(ram, 4 * GIB, 1), 3 * GIB);
	CHECK_EQ_U64(off_of(ram, 4 * GIB, 512 * MIB), 3 * GIB);
	CHECK_EQ_U64(off_of(ram, hi_end - 8, 8), ram - 8);
	CHECK_EQ_U64(off_of(ram, hi_end - 7, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, hi_end, 1), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 4 * GIB, 512 * MIB + 1), UINT64_MAX);
	/* The host buffer's end, as a guest-physical address, is not RAM. */
	CHECK_EQ_U64(off_of(ram, ram - 8, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, ram, 1), UINT64_MAX);
	/* Wrapping sums. */
	CHECK_EQ_U64(off_of(ram, UINT64_MAX, 2), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 4 * GIB, UINT64_MAX), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, UINT64_MAX - 7, 8), UINT64_MAX);
	CHECK_EQ_U64(off_of(ram, 8, UINT64_MAX - 7), UINT64_MAX);
	/* Absurd sizes: the high range stops at 2^64, nothing wraps. */
	CHECK_EQ_U64(off_of(UINT64_MAX, UINT64_MAX - 3, 32), UINT64_MAX);
	CHECK_EQ_U64(off_of(UINT64_MAX, UINT64_MAX - 31, 32), UINT64_MAX - 31 - GIB);
	CHECK_EQ_U64(gmem_top(UINT64_MAX), UINT64_MAX);
	CHECK_EQ_U64(gmem_gpa_of(UINT64_MAX, UINT64_MAX - 1), UINT64_MAX);
	CHECK(gmem_is_ram(ram, 3 * GIB - 1));
	CHECK(!gmem_is_ram(ram, 3 * GIB));
	CHECK(gmem_is_ram(ram, 4 * GIB));
	CHECK(!gmem_is_ram(ram, hi_end));
}

/* gmem_gpa_of() is gmem_offset()'s inverse on every byte of the buffer. */
static void test_inverse(void)
{
	static const uint64_t sizes[] = { 2 * MIB, 3 * GIB, 3 * GIB + 2 * MIB, 3584 * MIB, 64 * GIB };
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t ram = sizes[i];
		uint64_t offs[] = { 0, 4096, ram / 2, ram - 1, 3 * GIB - 1, 3 * GIB };
		unsigned j;
		bool ok = true;

		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			uint64_t g = gmem_gpa_of(ram, offs[j]);

			if (offs[j] >= ram)
				ok &= g == UINT64_MAX;
			else
				ok &= off_of(ram, g, 1) == offs[j] && g < gmem_top(ram);
		}
		CHECK(ok);
		CHECK_EQ_U64(gmem_gpa_of(ram, ram), UINT64_MAX);
	}
	CHECK_EQ_U64(gmem_gpa_of(3584 * MIB, 3 * GIB), 4 * GIB);
	CHECK_EQ_U64(gmem_gpa_of(3584 * MIB, 3 * GIB - 1), 3 * GIB - 1);
}

int main(void)
{
	test_ranges();
	test_low_only();
	test_split();
	test_inverse();
	return th_done();
}
