/* Nested page tables (AMD NPT, Intel EPT) as both backends build them: four
 * levels, guest RAM in 2 MiB pages. Only the entry bits differ. */
#ifndef ARCH_X86_NESTED_H
#define ARCH_X86_NESTED_H

#include <stdint.h>

struct nested_bits {
	uint64_t table;   /* a non-leaf entry: present/RWX (and U for NPT) */
	uint64_t page;    /* a 4 KiB leaf mapping RAM read/write */
	uint64_t ro_page; /* a 4 KiB leaf mapping read-only */
};

/* The pvclock window for one vCPU: win[0..3] become its own PML4, PDPT, PD
 * and PT, copies of the VM's tables (root) along the path to gpa, with the
 * 2 MiB page there split into 4 KiB pages mapping ram_pa's RAM and the one
 * at gpa read-only onto host_pa. Every page of win[] must be allocated;
 * gpa must lie in guest RAM (its path exists in root). */
void nested_window_tables(uint64_t *const win[4], const uint64_t *root, uint64_t gpa,
			  uint64_t ram_pa, uint64_t host_pa, const struct nested_bits *bits);

#endif
