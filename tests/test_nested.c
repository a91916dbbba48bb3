/* Host tests of pure/nested.c: the nested tables map exactly guest RAM
 * [0, ram_size) and nothing past it, whatever size is asked (a size that is
 * not a multiple of 2 MiB once mapped whole 2 MiB pages past the end, onto
 * the hypervisor's own memory), and a pvclock window never maps a page
 * outside RAM. The tables are walked here as the hardware would. */
#include "harness.h"
#include <tscvisor/guestmem.h>
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

/* Every 4 KiB page of [0, top of RAM + 4 MiB): a page of RAM (below 3 GiB,
 * or past 4 GiB for what RAM holds past 3 GiB: guestmem.h) mapped to
 * ram_pa + its offset in the buffer; the hole and everything past RAM
 * unmapped. */
static void check_exact(const struct nested_bits *b, uint64_t ram, const char *what)
{
	uint64_t *root = test_alloc(), ram_pa = 0x40000000ull, gpa, hpa = 0, off;
	unsigned bad_in = 0, bad_out = 0;
	bool rw = false;

	CHECK(nested_map_ram(root, ram_pa, ram, b, test_alloc) == 0);
	for (gpa = 0; gpa < gmem_top(ram) + 4 * MIB; gpa += 4096) {
		bool m = walk(root, b, gpa, &hpa, &rw);
		/* Computed here, not with gmem_offset(): the test's own layout. */
		bool in = gpa < (ram < 3072 * MIB ? ram : 3072 * MIB) ||
			  (gpa >= 4096 * MIB && gpa - 4096 * MIB < ram - 3072 * MIB && ram > 3072 * MIB);

		off = gpa < 4096 * MIB ? gpa : gpa - 1024 * MIB;
		if (in && (!m || hpa != ram_pa + off || !rw))
			bad_in++;
		if (!in && m)
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

/* RAM of 3.5 GiB + 4 KiB: windows in high RAM (at the buffer's offset, not
 * at the GPA's), never in the hole or past the end. */
static void test_window_high(void)
{
	uint64_t *root = test_alloc(), *win[4], ram = 3584 * MIB + 4096, ram_pa = 0x40000000ull;
	uint64_t host = 0x7777000ull, hpa = 0, end = 4608 * MIB + 4096, gpa;
	unsigned bad = 0;
	bool rw = false;

	CHECK(nested_map_ram(root, ram_pa, ram, &ept, test_alloc) == 0);
	for (unsigned i = 0; i < 4; i++)
		win[i] = test_alloc();
	CHECK(nested_window_tables(win, root, 3072 * MIB, ram_pa, ram, host, &ept) == -1);
	CHECK(nested_window_tables(win, root, 0xfee00000ull, ram_pa, ram, host, &ept) == -1);
	CHECK(nested_window_tables(win, root, 4096 * MIB - 4096, ram_pa, ram, host, &ept) == -1);
	CHECK(nested_window_tables(win, root, end, ram_pa, ram, host, &ept) == -1);
	/* The buffer's end as a GPA is in the hole. */
	CHECK(nested_window_tables(win, root, ram - 4096, ram_pa, ram, host, &ept) == -1);
	CHECK(nested_window_tables(win, root, 3072 * MIB - 4096, ram_pa, ram, host, &ept) == 0);
	CHECK(walk(win[0], &ept, 3072 * MIB - 4096, &hpa, &rw) && hpa == host && !rw);
	CHECK(walk(win[0], &ept, 3072 * MIB - 8192, &hpa, &rw) && hpa == ram_pa + 3072 * MIB - 8192 && rw);
	CHECK(!walk(win[0], &ept, 3072 * MIB, &hpa, &rw));
	/* The last page of high RAM, alone in its 2 MiB page. */
	CHECK(nested_window_tables(win, root, end - 4096, ram_pa, ram, host, &ept) == 0);
	CHECK(walk(win[0], &ept, end - 4096 + 16, &hpa, &rw) && hpa == host + 16 && !rw);
	for (gpa = 4608 * MIB; gpa < 4608 * MIB + 2 * MIB; gpa += 4096)
		if (gpa != end - 4096 && walk(win[0], &ept, gpa, &hpa, &rw))
			bad++;
	CHECK(bad == 0);
	CHECK(nested_window_tables(win, root, 4096 * MIB + 8192, ram_pa, ram, host, &ept) == 0);
	CHECK(walk(win[0], &ept, 4096 * MIB + 8192, &hpa, &rw) && hpa == host && !rw);
	CHECK(walk(win[0], &ept, 4096 * MIB + 4096, &hpa, &rw) && hpa == ram_pa + 3072 * MIB + 4096 && rw);
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
	check_exact(&npt, 3072 * MIB, "NPT");          /* all below the hole */
	check_exact(&npt, 3074 * MIB, "NPT");          /* 2 MiB at 4 GiB */
	check_exact(&ept, 3584 * MIB, "EPT");
	check_exact(&npt, 3584 * MIB + 4096, "NPT");   /* an odd tail in high RAM */
	check_exact(&npt, 5120 * MIB, "NPT");          /* high RAM crosses a PDPT entry */
	test_window();
	test_window_high();
	test_refused();
	return th_done();
}
