/* Nested page tables shared by the backends: see nested.h. */
#include <string.h>
#include "nested.h"

#define PA(p) ((uint64_t)(uintptr_t)(p))
#define TABLE(e) ((const uint64_t *)(uintptr_t)((e) & 0x000ffffffffff000ull))

void nested_window_tables(uint64_t *const win[4], const uint64_t *root, uint64_t gpa,
			  uint64_t ram_pa, uint64_t host_pa, const struct nested_bits *bits)
{
	unsigned i4 = (gpa >> 39) & 511, i3 = (gpa >> 30) & 511, i2 = (gpa >> 21) & 511;
	unsigned i1 = (gpa >> 12) & 511, i;
	const uint64_t *pdpt = TABLE(root[i4]), *pd = TABLE(pdpt[i3]);
	uint64_t base = ram_pa + (gpa & ~((2ull << 20) - 1));

	memcpy(win[0], root, 4096);
	memcpy(win[1], pdpt, 4096);
	memcpy(win[2], pd, 4096);
	win[0][i4] = PA(win[1]) | bits->table;
	win[1][i3] = PA(win[2]) | bits->table;
	win[2][i2] = PA(win[3]) | bits->table;
	for (i = 0; i < 512; i++)
		win[3][i] = (base + ((uint64_t)i << 12)) | bits->page;
	win[3][i1] = host_pa | bits->ro_page;
}
