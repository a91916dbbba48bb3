/* Bump allocator over the hypervisor pool: the hypervisor allocates its
 * long-lived structures (page tables, per-CPU data, VM control blocks) once. */
#include <string.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include <tscvisor/x86.h>

static uint64_t pool_next, pool_end;

void mem_init(uint64_t pool_base, uint64_t pool_size)
{
	pool_next = (pool_base + X86_PAGE_SIZE - 1) & ~(uint64_t)(X86_PAGE_SIZE - 1);
	pool_end = pool_base + pool_size;
}

/* Every pCPU allocates: each enables SVM/VMX (host save area, host VMCB)
 * the first time it runs a VM, at the same moment as the others, and the
 * boot CPU may allocate for the running VM meanwhile. The bump is one
 * compare-and-swap: a plain `p = next; next += bytes` once gave two pCPUs
 * the same pages, and lost an update, so that a later VM's VMCB was a pCPU's
 * host save area (each VMRUN there wrote the host's state into a guest:
 * "nested page fault the hypervisor cannot emulate" at a hypervisor RIP). */
void *mem_alloc_pages(uint64_t count)
{
	uint64_t bytes = count * X86_PAGE_SIZE, p = __atomic_load_n(&pool_next, __ATOMIC_RELAXED);

	do {
		if (count == 0 || bytes / X86_PAGE_SIZE != count || bytes > pool_end - p)
			hv_panic("mem: pool exhausted (%lu pages asked, %lu bytes left)",
				 count, pool_end - p);
	} while (!__atomic_compare_exchange_n(&pool_next, &p, p + bytes, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	memset((void *)(uintptr_t)p, 0, bytes);
	return (void *)(uintptr_t)p;
}

void *mem_try_alloc_pages(uint64_t count, uint64_t keep)
{
	uint64_t bytes = count * X86_PAGE_SIZE, p = __atomic_load_n(&pool_next, __ATOMIC_RELAXED);

	do {
		if (count == 0 || bytes / X86_PAGE_SIZE != count || bytes > pool_end - p ||
		    pool_end - p - bytes < keep)
			return NULL;
	} while (!__atomic_compare_exchange_n(&pool_next, &p, p + bytes, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	memset((void *)(uintptr_t)p, 0, bytes);
	return (void *)(uintptr_t)p;
}

uint64_t mem_free_bytes(void)
{
	return pool_end - pool_next;
}
