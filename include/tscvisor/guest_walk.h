/* Guest linear -> guest-physical translation by walking the guest's own page
 * tables (pure C, no hardware access; host-tested).
 *
 * Used to fetch the instruction bytes at a guest RIP when the hardware does
 * not supply them. The walk is read-only: it never sets accessed/dirty bits
 * (the instruction being fetched has already been fetched once by the CPU, so
 * its translation's A bits are set). PAE PDPTEs are read from memory at CR3,
 * not from PDPTE registers. No permission checks are made; the combined
 * rights are reported for a caller that wants them. */
#ifndef TSCVISOR_GUEST_WALK_H
#define TSCVISOR_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Reads guest-physical memory: 0, or -1 when [gpa, gpa+len) is not RAM. */
typedef int (*guest_read_fn)(void *ctx, uint64_t gpa, void *buf, unsigned len);

struct guest_mmu {
	uint64_t cr0, cr3, cr4, efer;
	unsigned maxphyaddr;    /* guest MAXPHYADDR for reserved-bit checks;
				 * 0 means 52 (the architectural maximum) */
	guest_read_fn read_gpa;
	void *ctx;
};

enum guest_paging_mode {
	GUEST_PAGING_OFF,       /* CR0.PG=0: linear = physical (32 bits) */
	GUEST_PAGING_32,        /* 32-bit paging (4 KiB, 4 MiB with CR4.PSE) */
	GUEST_PAGING_PAE,       /* PAE paging (4 KiB, 2 MiB) */
	GUEST_PAGING_4LEVEL,    /* IA-32e 4-level (4 KiB, 2 MiB, 1 GiB) */
	GUEST_PAGING_5LEVEL,    /* IA-32e with CR4.LA57 */
};

enum guest_paging_mode guest_paging_mode(const struct guest_mmu *mmu);

/* Results of guest_walk() and guest_fetch() (0 or negative). */
#define GW_OK            0
#define GW_NOT_PRESENT   (-1)   /* #PF: an entry with P=0 */
#define GW_RESERVED      (-2)   /* #PF: a reserved bit set in a present entry */
#define GW_NONCANONICAL  (-3)   /* #GP: non-canonical address (long mode) */
#define GW_BAD_TABLE     (-4)   /* a paging-structure entry is not in RAM */
#define GW_BAD_DATA      (-5)   /* guest_fetch: the translated GPA is not RAM */
#define GW_EINVAL        (-6)   /* bad arguments */

/* #PF error code bits. */
#define GW_PFEC_P    (1u << 0)  /* the fault was a protection/reserved fault */
#define GW_PFEC_W    (1u << 1)  /* a write */
#define GW_PFEC_U    (1u << 2)  /* at CPL 3 */
#define GW_PFEC_RSVD (1u << 3)
#define GW_PFEC_ID   (1u << 4)  /* an instruction fetch */

/* The paging-structure entries one walk read, outermost first: the
 * translation stands as long as every one of them still holds the same
 * value (a remap changes at least one entry on the path). */
#define GW_PATH_MAX 5
struct guest_walk_path {
	uint64_t gpa[GW_PATH_MAX];
	uint64_t val[GW_PATH_MAX];
	uint8_t n;              /* entries read: 0 with paging off */
	uint8_t size;           /* 4 (32-bit paging) or 8 bytes each */
};

struct guest_xlat {
	uint64_t gpa;           /* on success: the guest-physical address */
	uint64_t page_size;     /* 4 KiB, 2 MiB, 4 MiB or 1 GiB (or 4 KiB with
				 * paging off) */
	uint64_t leaf;          /* the entry that mapped it (0 with paging off) */
	bool writable;          /* R/W=1 at every level */
	bool user;              /* U/S=1 at every level */
	bool nx;                /* XD=1 at some level (with EFER.NXE) */
	struct guest_walk_path path;   /* every entry read, also on failure */

	/* On failure: */
	int level;              /* level of the faulting entry: 1 = PTE, 2 =
				 * PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E */
	uint64_t fault_gpa;     /* GPA of the faulting (or unreadable) entry, or
				 * of the data for GW_BAD_DATA */
	uint32_t pfec;          /* #PF error code (P, RSVD) for GW_NOT_PRESENT
				 * and GW_RESERVED; the caller adds W/U/I/D */
};

/* Translate linear address la. Returns GW_OK with out->gpa set, or a
 * negative GW_* with the fault described in *out. Outside IA-32e mode linear
 * addresses are 32 bits: la is truncated to 32 bits first. */
int guest_walk(const struct guest_mmu *mmu, uint64_t la, struct guest_xlat *out);

/* Read len bytes at linear address la (which may cross pages; each page is
 * walked separately) into buf. Returns GW_OK with *got = number of bytes
 * read: len, or fewer when a later page failed (then *fault describes that
 * page's failure and fault_rc is set to its code) — an instruction that fits
 * before the bad page is still decodable. When not even the first byte can
 * be read, returns the error (and *got = 0). fault and fault_rc may be
 * NULL. */
int guest_fetch(const struct guest_mmu *mmu, uint64_t la, void *buf, unsigned len,
		unsigned *got, struct guest_xlat *fault, int *fault_rc);

/* A not-present #PF (error code `pfec`, P and RSVD clear) at linear address
 * la that the guest's page tables, as they are now, do not explain: every
 * level is present and grants the access (writes need R/W, CPL-3 accesses
 * U/S, fetches no XD). Retrying the instruction is then what the CPU would
 * have done had its walk come after the tables' last change, which is a
 * legal order; a true fault is always delivered. Protection-key, SMAP and
 * SMEP faults are never not-present faults, so they never qualify. */
/* Whether every entry of a walk's path still holds what the walk read, in
 * guest RAM: the buffer mem of mem_size bytes, laid out in guest-physical
 * space as guestmem.h says (an entry outside RAM: false). Cheap: one
 * load per level, no walk; for caches keyed on a translation. */
bool guest_walk_path_same(const struct guest_walk_path *p, const uint8_t *mem, uint64_t mem_size);

bool guest_pf_unexplained(const struct guest_mmu *mmu, uint64_t la, uint32_t pfec);

#endif
