/* Nested page tables (AMD NPT, Intel EPT) as both backends build them: four
 * levels, guest RAM in 2 MiB pages. Only the entry bits differ. Pure C (no
 * hardware access): host-unit-tested in tests/test_nested.c. */
#ifndef TSCVISOR_NESTED_H
#define TSCVISOR_NESTED_H

#include <stdint.h>

struct nested_bits {
	uint64_t table;   /* a non-leaf entry: present/RWX (and U for NPT) */
	uint64_t large;   /* a 2 MiB leaf mapping RAM read/write (PS set) */
	uint64_t page;    /* a 4 KiB leaf mapping RAM read/write */
	uint64_t ro_page; /* a 4 KiB leaf mapping read-only */
};

/* A zeroed, 4 KiB-aligned page (identity-mapped: its address is its
 * host-physical address), or NULL. */
typedef void *(*nested_alloc_fn)(void);

/* The most guest RAM nested_map_ram() maps (far above what the config
 * allows): a bound that keeps every loop and sum below it exact. */
#define NESTED_MAX_RAM (512ull << 30)

/* Map guest RAM of ram_size bytes, laid out as gmem_ranges() says (the
 * first 3 GiB at guest-physical 0, the rest at 4 GiB: guestmem.h), onto
 * host-physical [ram_pa, ram_pa + ram_size) below root (a zeroed PML4):
 * 2 MiB leaves, and 4 KiB leaves for a tail that does not fill a 2 MiB
 * page, so that not one byte past the buffer, nor any of the hole, is ever
 * mapped, whatever size is asked. Returns 0, or -1 (nothing usable
 * mapped) when ram_size is 0, not a multiple of 4 KiB or above
 * NESTED_MAX_RAM, ram_pa is not 2 MiB aligned, or alloc fails. */
int nested_map_ram(uint64_t *root, uint64_t ram_pa, uint64_t ram_size,
		   const struct nested_bits *bits, nested_alloc_fn alloc);

/* The pvclock window for one vCPU: win[0..3] become its own PML4, PDPT, PD
 * and PT, copies of the VM's tables (root, built by nested_map_ram) along
 * the path to gpa, with the 2 MiB page there split into 4 KiB pages mapping
 * ram_pa's RAM (only those that are guest RAM) and the one at gpa
 * read-only onto host_pa. Every page of win[] must be allocated. Returns 0, or -1
 * (nothing changed) when gpa is not a page of guest RAM. */
int nested_window_tables(uint64_t *const win[4], const uint64_t *root, uint64_t gpa,
			 uint64_t ram_pa, uint64_t ram_size, uint64_t host_pa,
			 const struct nested_bits *bits);

#endif
