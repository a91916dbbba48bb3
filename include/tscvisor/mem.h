/* The hypervisor's page allocator over the pool the loader reserved. */
#ifndef TSCVISOR_MEM_H
#define TSCVISOR_MEM_H

#include <stdint.h>

void mem_init(uint64_t pool_base, uint64_t pool_size);
/* `count` zeroed, 4 KiB-aligned pages; panics when the pool is exhausted. */
void *mem_alloc_pages(uint64_t count);
/* The same, or NULL (no panic) when fewer than `keep` bytes would be left:
 * for every allocation a guest can cause. */
void *mem_try_alloc_pages(uint64_t count, uint64_t keep);
uint64_t mem_free_bytes(void);

#endif
