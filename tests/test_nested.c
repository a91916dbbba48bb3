/* Host tests of pure/nested.c: the nested tables map exactly guest RAM
 * [0, ram_size) and nothing past it, whatever size is asked (a size that is
 * not a multiple of 2 MiB once mapped whole 2 MiB pages past the end, onto
 * the hypervisor's own memory), and a pvclock window never maps a page
 * outside RAM. The tables are walked here as the hardware would. */
#include "harness.h"
#include <tscvisor/nested.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define MIB (1ull << 20)
#define ADDR(e) ((e) & 0x000ffffffffff000ull)
/* NPT-like bits (P RW U, PS); the EPT layout differs only in these. */
static const struct nested_bits npt = { .table = 0x7, .large = 0x87, .page = 0x7, .ro_page = 0x5 };
static const struct nested_bits ept = { .table = 0x7, .large = 0x7 | (6 << 3) | 0x80,
					.page = 0x7 | (6 << 3), .ro_page = 0x1 | (6 << 3) };

static void *pages[4096];
static unsigned npages, alloc_limit = ~0u;

static void *test_alloc(void)
{
	void *p;

	if (npages >= alloc_limit || npages >= sizeof(pages) / sizeof(pages[0]))
		return NULL;
	p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	pages[npages++] = p;
	return p;
}

static void free_all(void)
{
	while (npages)
		free(pages[--npages]);
}

/* The walk: the host address gpa maps to and whether writable, or false. */
static bool walk(const uint64_t *root, const struct nested_bits *b, uint64_t gpa,
		 uint64_t *hpa, bool *rw)
{
	const uint64_t *t = root;
	uint64_t e;

	e = t[(gpa >> 39) & 511];
	if (!(e & b->table))
		return false;
	t = (const uint64_t *)(uintptr_t)ADDR(e);
	e = t[(gpa >> 30) & 511];
	if (!(e & b->table))
		return false;
	t = (const uint64_t *)(uintptr_t)ADDR(e);
	e = t[(gpa >> 21) & 511];
	if (!(e & 0x7))
		return false;
	if (e & 0x80) {
		*hpa = ADDR(e) + (gpa & (2 * MIB - 1));
		*rw = e & 2;
		return true;
	}
	t = (const uint64_t *)(uintptr_t)ADDR(e);
	e = t[(gpa >> 12) & 511];
	if (!(e & 0x7))
		return false;
	*hpa = ADDR(e) + (gpa & 4095);
	*rw = e & 2;
	return true;
}

/* Every 4 KiB page of [0, ram + 4 MiB): mapped to ram_pa + gpa below ram,
 * unmapped from ram on. */
static void check_exact(const struct nested_bits *b, uint64_t ram, const char *what)
{
	uint64_t *root = test_alloc(), ram_pa = 0x40000000ull, gpa, hpa = 0;
	unsigned bad_in = 0, bad_out = 0;
	bool rw = false;

	CHECK(nested_map_ram(root, ram_pa, ram, b, test_alloc) == 0);
	for (gpa = 0; gpa < ram + 4 * MIB; gpa += 4096) {
		bool m = walk(root, b, gpa, &hpa, &rw);

		if (gpa < ram && (!m || hpa != ram_pa + gpa || !rw))
			bad_in++;
		if (gpa >= ram && m)
			bad_out++;
	}
	printf("# %s: %llu MiB + %llu KiB: %u pages of RAM wrong, %u past RAM mapped\n", what,
	       (unsigned long long)(ram / MIB), (unsigned long long)(ram % MIB / 1024), bad_in,
	       bad_out);
	CHECK(bad_in == 0);
	CHECK(bad_out == 0);
	/* Nothing at very large GPAs either. */
	CHECK(!walk(root, b, 1ull << 40, &hpa, &rw));
	CHECK(!walk(root, b, (1ull << 52) - 4096, &hpa, &rw));
	free_all();
}

static void test_window(void)
{
	uint64_t *root = test_alloc(), *win[4], ram = 17 * MIB, ram_pa = 0x40000000ull, hpa = 0;
	uint64_t host = 0x7777000ull, gpa;
	unsigned bad = 0;
	bool rw = false;

	CHECK(nested_map_ram(root, ram_pa, ram, &npt, test_alloc) == 0);
	for (unsigned i = 0; i < 4; i++)
		win[i] = test_alloc();
	/* Refused: past RAM, unaligned, huge, and a page just past an odd end. */
	CHECK(nested_window_tables(win, root, ram, ram_pa, ram, host, &npt) == -1);
	CHECK(nested_window_tables(win, root, 0x1001, ram_pa, ram, host, &npt) == -1);
	CHECK(nested_window_tables(win, root, 1ull << 63, ram_pa, ram, host, &npt) == -1);
	CHECK(nested_window_tables(win, root, ~0xfffull, ram_pa, ram, host, &npt) == -1);
	/* In the last, partial 2 MiB page: the window page read-only, the RAM
	 * pages around it, and not one page past RAM. */
	CHECK(nested_window_tables(win, root, 16 * MIB + 4096, ram_pa, ram, host, &npt) == 0);
	CHECK(walk(win[0], &npt, 16 * MIB + 4096 + 8, &hpa, &rw) && hpa == host + 8 && !rw);
	for (gpa = 16 * MIB; gpa < 20 * MIB; gpa += 4096) {
		bool m = walk(win[0], &npt, gpa, &hpa, &rw);

		if (gpa == 16 * MIB + 4096)
			continue;
		if (gpa < ram ? (!m || hpa != ram_pa + gpa || !rw) : m)
			bad++;
	}
	CHECK(bad == 0);
	/* The VM's own tables are untouched. */
	CHECK(walk(root, &npt, 16 * MIB + 4096, &hpa, &rw) && hpa == ram_pa + 16 * MIB + 4096);
	free_all();
}

static void test_refused(void)
{
	uint64_t *root = test_alloc();

	CHECK(nested_map_ram(root, 0x40000000ull, 0, &npt, test_alloc) == -1);
	CHECK(nested_map_ram(root, 0x40000000ull, 2 * MIB + 1, &npt, test_alloc) == -1);
	CHECK(nested_map_ram(root, 0x40001000ull, 2 * MIB, &npt, test_alloc) == -1);
	CHECK(nested_map_ram(root, 0x40000000ull, NESTED_MAX_RAM + 2 * MIB, &npt, test_alloc) == -1);
	CHECK(nested_map_ram(root, 0x40000000ull, ~0ull << 21, &npt, test_alloc) == -1);
	alloc_limit = npages + 1;   /* the PDPT, then no PD */
	CHECK(nested_map_ram(root, 0x40000000ull, 4 * MIB, &npt, test_alloc) == -1);
	alloc_limit = ~0u;
	free_all();
}

int main(void)
{
	check_exact(&npt, 2 * MIB, "NPT");
	check_exact(&npt, 16 * MIB, "NPT");
	check_exact(&npt, 17 * MIB, "NPT");          /* the odd size once mapped to 18 MiB */
	check_exact(&npt, 17 * MIB + 4096, "NPT");
	check_exact(&ept, 17 * MIB, "EPT");
	check_exact(&ept, 1025 * MIB, "EPT");         /* crosses a PDPT entry */
	check_exact(&npt, 3072 * MIB - 4096, "NPT");
	test_window();
	test_refused();
	return th_done();
}
