/* The guest-physical layout of guest RAM: see guestmem.h. */
#include <stddef.h>
#include <tscvisor/guestmem.h>

unsigned gmem_ranges(uint64_t ram_size, struct gmem_range r[GMEM_MAX_RANGES])
{
	if (!ram_size)
		return 0;
	r[0].gpa = 0;
	r[0].off = 0;
	if (ram_size <= GMEM_LOW_MAX) {
		r[0].size = ram_size;
		return 1;
	}
	r[0].size = GMEM_LOW_MAX;
	r[1].gpa = GMEM_HIGH_BASE;
	r[1].off = GMEM_LOW_MAX;
	r[1].size = ram_size - GMEM_LOW_MAX;
	/* Absurd sizes (no VM has them, but this is the check every GPA goes
	 * through): the range ends at 2^64 at most, so nothing here wraps. */
	if (r[1].size > 0 - GMEM_HIGH_BASE)
		r[1].size = 0 - GMEM_HIGH_BASE;
	return 2;
}

bool gmem_offset(uint64_t ram_size, uint64_t gpa, uint64_t len, uint64_t *off)
{
	struct gmem_range r[GMEM_MAX_RANGES];
	unsigned i, n = gmem_ranges(ram_size, r);

	if (!len)
		return false;
	for (i = 0; i < n; i++) {
		/* gpa - r.gpa and r.size - len never wrap where they are used. */
		if (gpa < r[i].gpa || len > r[i].size || gpa - r[i].gpa > r[i].size - len)
			continue;
		if (off)
			*off = r[i].off + (gpa - r[i].gpa);
		return true;
	}
	return false;
}

uint64_t gmem_gpa_of(uint64_t ram_size, uint64_t off)
{
	if (off >= ram_size || (off >= GMEM_LOW_MAX && off - GMEM_LOW_MAX >= 0 - GMEM_HIGH_BASE))
		return UINT64_MAX;
	return off < GMEM_LOW_MAX ? off : off + GMEM_HOLE_SIZE;
}

uint64_t gmem_top(uint64_t ram_size)
{
	if (ram_size <= GMEM_LOW_MAX)
		return ram_size;
	return ram_size > UINT64_MAX - GMEM_HOLE_SIZE ? UINT64_MAX : ram_size + GMEM_HOLE_SIZE;
}
