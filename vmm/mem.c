/* Bump allocator over the hypervisor pool: the hypervisor allocates its
 * long-lived structures (page tables, per-CPU data, VM control blocks) once. */
#include <string.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>

static uint64_t pool_next, pool_end;

void mem_init(uint64_t pool_base, uint64_t pool_size)
{
	pool_next = (pool_base + 4095) & ~4095ull;
	pool_end = pool_base + pool_size;
}

void *mem_alloc_pages(uint64_t count)
{
	uint64_t bytes = count * 4096, p = pool_next;

	if (count == 0 || bytes / 4096 != count || bytes > pool_end - pool_next)
		hv_panic("mem: pool exhausted (%llu pages asked, %llu bytes left)",
			 (unsigned long long)count, (unsigned long long)(pool_end - pool_next));
	pool_next += bytes;
	memset((void *)(uintptr_t)p, 0, bytes);
	return (void *)(uintptr_t)p;
}

uint64_t mem_free_bytes(void)
{
	return pool_end - pool_next;
}
