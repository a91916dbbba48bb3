/* Nested page tables shared by the backends: see nested.h. The entry
 * layouts are AMD APM vol. 2 15.25 (NPT: the long-mode page-table format)
 * and Intel SDM vol. 3C 29.3.2 (EPT); only the bits passed in differ. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/nested.h>

#define PA(p) ((uint64_t)(uintptr_t)(p))
#define TABLE(e) ((uint64_t *)(uintptr_t)((e) & 0x000ffffffffff000ull))
#define SZ_4K (4096ull)
#define SZ_2M (2ull << 20)

/* The table that entry e of `t` points to, allocated on first use. */
static uint64_t *next_table(uint64_t *t, unsigned i, const struct nested_bits *bits,
			    nested_alloc_fn alloc)
{
	uint64_t *n;

	if (t[i] & bits->table)
		return TABLE(t[i]);
	n = alloc();
	if (!n || (PA(n) & (SZ_4K - 1)))
		return NULL;
	t[i] = PA(n) | bits->table;
	return n;
}

/* Guest-physical [gpa, gpa + size) onto host-physical [pa, pa + size); gpa
 * and pa 2 MiB aligned. Every loop bound is the range's end itself: a leaf
 * is written only when all of it lies inside the range. */
static int map_range(uint64_t *root, uint64_t gpa, uint64_t size, uint64_t pa,
		     const struct nested_bits *bits, nested_alloc_fn alloc)
{
	uint64_t end = gpa + size;

	while (gpa < end) {
		unsigned i4 = (gpa >> 39) & 511, i3 = (gpa >> 30) & 511, i2 = (gpa >> 21) & 511;
		uint64_t *pdpt = next_table(root, i4, bits, alloc), *pd, *pt;

		pd = pdpt ? next_table(pdpt, i3, bits, alloc) : NULL;
		if (!pd)
			return -1;
		if (end - gpa >= SZ_2M) {
			pd[i2] = pa | bits->large;
			gpa += SZ_2M;
			pa += SZ_2M;
			continue;
		}
		/* The last, partial 2 MiB: 4 KiB pages up to the end only. */
		pt = next_table(pd, i2, bits, alloc);
		if (!pt)
			return -1;
		for (; gpa < end; gpa += SZ_4K, pa += SZ_4K)
			pt[(gpa >> 12) & 511] = pa | bits->page;
	}
	return 0;
}

int nested_map_ram(uint64_t *root, uint64_t ram_pa, uint64_t ram_size,
		   const struct nested_bits *bits, nested_alloc_fn alloc)
{
	struct gmem_range r[GMEM_MAX_RANGES];
	unsigned i, n;

	if (!root || !bits || !alloc || ram_size == 0 || (ram_size & (SZ_4K - 1)) ||
	    ram_size > NESTED_MAX_RAM || (ram_pa & (SZ_2M - 1)))
		return -1;
	/* Each range starts 2 MiB aligned in both spaces (0 and 3 GiB in the
	 * buffer, 0 and 4 GiB in the guest); only the last may end mid-page. */
	n = gmem_ranges(ram_size, r);
	for (i = 0; i < n; i++)
		if (map_range(root, r[i].gpa, r[i].size, ram_pa + r[i].off, bits, alloc))
			return -1;
	return 0;
}

int nested_window_tables(uint64_t *const win[4], const uint64_t *root, uint64_t gpa,
			 uint64_t ram_pa, uint64_t ram_size, uint64_t host_pa,
			 const struct nested_bits *bits)
{
	unsigned i4 = (gpa >> 39) & 511, i3 = (gpa >> 30) & 511, i2 = (gpa >> 21) & 511;
	unsigned i1 = (gpa >> 12) & 511, i;
	uint64_t base = gpa & ~(SZ_2M - 1);
	const uint64_t *pdpt, *pd;

	/* The window replaces a page of RAM: never one past it or in the hole
	 * (that GPA must stay unmapped, MMIO), and the path to it exists in root. */
	if (!gmem_offset(ram_size, gpa, SZ_4K, NULL) || (gpa & (SZ_4K - 1)) || !(root[i4] & bits->table))
		return -1;
	pdpt = TABLE(root[i4]);
	if (!(pdpt[i3] & bits->table))
		return -1;
	pd = TABLE(pdpt[i3]);
	if (!(pd[i2] & bits->table))
		return -1;

	memcpy(win[0], root, 4096);
	memcpy(win[1], pdpt, 4096);
	memcpy(win[2], pd, 4096);
	win[0][i4] = PA(win[1]) | bits->table;
	win[1][i3] = PA(win[2]) | bits->table;
	win[2][i2] = PA(win[3]) | bits->table;
	for (i = 0; i < 512; i++) {
		uint64_t off;

		win[3][i] = gmem_offset(ram_size, base + ((uint64_t)i << 12), SZ_4K, &off)
				    ? (ram_pa + off) | bits->page : 0;
	}
	win[3][i1] = host_pa | bits->ro_page;
	return 0;
}
