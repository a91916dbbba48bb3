/* A window of 4 KiB pages that a test maps itself, in place of one of the
 * library's 2 MiB identity pages (the tests that remap memory under the
 * hypervisor: hostile_mem, high_ram). */
#include "guest.h"

#define PTE_PRESENT_RW 0x3ull
#define PTE_ADDR 0x000ffffffffff000ull

u64 *pde_of(u64 va)
{
	u64 *pml4 = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR);
	u64 *pdpt = (u64 *)(uintptr_t)(pml4[0] & PTE_ADDR);
	u64 *pd = (u64 *)(uintptr_t)(pdpt[(va >> 30) & 3] & PTE_ADDR);

	return &pd[(va >> 21) & 511];
}

void pt_window_install(u64 *pt, u64 va)
{
	memset(pt, 0, 512 * sizeof(*pt));
	*pde_of(va) = (u64)(uintptr_t)pt | PTE_PRESENT_RW;
	for (unsigned i = 0; i < 512; i++)
		invlpg(va + i * 4096ull);
}

u64 pt_window_map(u64 *pt, u64 va, unsigned i, u64 pa)
{
	pt[i] = (pa & PTE_ADDR) | PTE_PRESENT_RW;
	invlpg(va + i * 4096ull);
	return va + i * 4096ull;
}
