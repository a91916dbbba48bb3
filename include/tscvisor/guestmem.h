/* The guest-physical layout of a VM's RAM, as on PCs: one host buffer of
 * ram_size bytes, its first GMEM_LOW_MAX bytes at guest-physical [0, 3 GiB)
 * and the rest, if any, at [4 GiB, 4 GiB + ram_size - 3 GiB). The 1 GiB
 * between (the MMIO hole: LAPIC, IOAPIC, HPET; docs/platform.md) is never
 * RAM. Every guest-physical address the hypervisor turns into a host
 * pointer goes through gmem_offset(). Pure C: host-unit-tested in
 * tests/test_guestmem.c. */
#ifndef TSCVISOR_GUESTMEM_H
#define TSCVISOR_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>

#define GMEM_LOW_MAX    0xc0000000ull    /* low RAM ends here at most: the hole's start */
#define GMEM_HIGH_BASE  0x100000000ull   /* where RAM past GMEM_LOW_MAX continues */
#define GMEM_HOLE_SIZE  (GMEM_HIGH_BASE - GMEM_LOW_MAX)
#define GMEM_MAX_RANGES 2u

/* One range of guest RAM: guest-physical [gpa, gpa + size) is the host
 * buffer's bytes [off, off + size). */
struct gmem_range {
	uint64_t gpa, size, off;
};

/* The RAM ranges of a VM of ram_size bytes, lowest first: 0 (ram_size 0),
 * 1 (ram_size <= 3 GiB) or 2. A range never reaches past 2^64 (for sizes no
 * VM has: the high range is cut there). */
unsigned gmem_ranges(uint64_t ram_size, struct gmem_range r[GMEM_MAX_RANGES]);

/* Whether guest-physical [gpa, gpa + len) lies wholly inside one RAM range
 * (so inside RAM, not touching the hole, not past the end; len 0 never
 * does); if so and off is not NULL, *off is gpa's offset in the host
 * buffer (and [*off, *off + len) is inside it). Overflow-safe for any
 * gpa and len. */
bool gmem_offset(uint64_t ram_size, uint64_t gpa, uint64_t len, uint64_t *off);

/* Whether the byte at gpa is RAM. */
static inline bool gmem_is_ram(uint64_t ram_size, uint64_t gpa)
{
	return gmem_offset(ram_size, gpa, 1, 0);
}

/* The guest-physical address of the host buffer's byte off (UINT64_MAX
 * when off is not inside a range). */
uint64_t gmem_gpa_of(uint64_t ram_size, uint64_t off);

/* One past the highest guest-physical RAM address (0 for no RAM;
 * UINT64_MAX for sizes whose RAM would reach 2^64). */
uint64_t gmem_top(uint64_t ram_size);

#endif
