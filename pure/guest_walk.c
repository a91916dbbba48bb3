/* Guest page-table walker (see include/tscvisor/guest_walk.h). Pure C. The
 * entry formats and reserved bits follow the SDM vol. 3A chapter 4 (tables
 * 4-4 to 4-20) and the APM vol. 2 chapter 5. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <tscvisor/guest_walk.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/x86.h>

#define PTE_P     (1ull << 0)
#define PTE_RW    (1ull << 1)
#define PTE_US    (1ull << 2)
#define PTE_PS    (1ull << 7)
#define PTE_XD    (1ull << 63)

#define PAGE_4K   0x1000ull

/* Bits hi..lo set; none when lo > hi. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	uint64_t upto;

	if (lo > hi || lo > 63)
		return 0;
	upto = hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1);
	return upto & ~((1ull << lo) - 1);
}

enum guest_paging_mode guest_paging_mode(const struct guest_mmu *mmu)
{
	if (!(mmu->cr0 & X86_CR0_PG))
		return GUEST_PAGING_OFF;
	if (!(mmu->cr4 & X86_CR4_PAE))
		return GUEST_PAGING_32;
	if (mmu->efer & X86_EFER_LMA)
		return (mmu->cr4 & X86_CR4_LA57) ? GUEST_PAGING_5LEVEL : GUEST_PAGING_4LEVEL;
	return GUEST_PAGING_PAE;
}

static unsigned maxphyaddr(const struct guest_mmu *mmu)
{
	unsigned m = mmu->maxphyaddr;

	if (m == 0 || m > 52)
		return 52;
	if (m < 32)
		return 32;
	return m;
}

/* Read one paging-structure entry (4 or 8 bytes, little-endian). */
static int read_entry(const struct guest_mmu *mmu, uint64_t gpa, unsigned size,
		      int level, uint64_t *entry, struct guest_xlat *out)
{
	uint8_t b[8];
	uint64_t v = 0;
	unsigned i;

	if (mmu->read_gpa(mmu->ctx, gpa, b, size) != 0) {
		out->level = level;
		out->fault_gpa = gpa;
		return GW_BAD_TABLE;
	}
	for (i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	*entry = v;
	if (out->path.n < GW_PATH_MAX) {
		out->path.gpa[out->path.n] = gpa;
		out->path.val[out->path.n] = v;
		out->path.n++;
		out->path.size = (uint8_t)size;
	}
	return GW_OK;
}

/* P and reserved-bit checks of one entry, and the rights it grants. */
static int check_entry(uint64_t entry, uint64_t rsvd, int level, uint64_t gpa,
		       struct guest_xlat *out)
{
	if (!(entry & PTE_P)) {
		out->level = level;
		out->fault_gpa = gpa;
		out->pfec = 0;
		return GW_NOT_PRESENT;
	}
	if (entry & rsvd) {
		out->level = level;
		out->fault_gpa = gpa;
		out->pfec = GW_PFEC_P | GW_PFEC_RSVD;
		return GW_RESERVED;
	}
	return GW_OK;
}

static void grant(struct guest_xlat *out, uint64_t entry, bool nxe)
{
	if (!(entry & PTE_RW))
		out->writable = false;
	if (!(entry & PTE_US))
		out->user = false;
	if (nxe && (entry & PTE_XD))
		out->nx = true;
}

static void map(struct guest_xlat *out, uint64_t entry, uint64_t base, uint64_t size,
		uint64_t la)
{
	out->leaf = entry;
	out->page_size = size;
	out->gpa = base | (la & (size - 1));
}

static int walk_32(const struct guest_mmu *mmu, uint32_t la, struct guest_xlat *out)
{
	unsigned m = maxphyaddr(mmu);
	uint64_t pde, pte, gpa;
	int rc;

	gpa = (mmu->cr3 & 0xfffff000u) + ((la >> 22) << 2);
	rc = read_entry(mmu, gpa, 4, 2, &pde, out);
	if (rc)
		return rc;
	if ((mmu->cr4 & X86_CR4_PSE) && (pde & PTE_PS)) {
		/* 4 MiB page; PSE-36: PDE bits 20:13 are PA bits 39:32, those
		 * at or above MAXPHYADDR (capped at 40) are reserved, and bit 21
		 * is always reserved. */
		unsigned hi = m >= 40 ? 8 : m - 32;

		rc = check_entry(pde, bits(21, 13 + hi), 2, gpa, out);
		if (rc)
			return rc;
		grant(out, pde, false);
		map(out, pde, (pde & 0xffc00000u) | (((pde >> 13) & 0xff) << 32), 0x400000, la);
		return GW_OK;
	}
	rc = check_entry(pde, 0, 2, gpa, out);
	if (rc)
		return rc;
	grant(out, pde, false);
	gpa = (pde & 0xfffff000u) + (((la >> 12) & 0x3ff) << 2);
	rc = read_entry(mmu, gpa, 4, 1, &pte, out);
	if (rc)
		return rc;
	rc = check_entry(pte, 0, 1, gpa, out);
	if (rc)
		return rc;
	grant(out, pte, false);
	map(out, pte, pte & 0xfffff000u, PAGE_4K, la);
	return GW_OK;
}

static int walk_pae(const struct guest_mmu *mmu, uint32_t la, struct guest_xlat *out)
{
	unsigned m = maxphyaddr(mmu);
	bool nxe = (mmu->efer & X86_EFER_NXE) != 0;
	uint64_t addr = bits(m - 1, 12);
	uint64_t rsvd = bits(62, m) | (nxe ? 0 : PTE_XD);
	uint64_t pdpte, pde, pte, gpa;
	int rc;

	/* PDPTE: no R/W, U/S, PS or XD; bits 2:1, 8:5 and 63:M reserved. */
	gpa = (mmu->cr3 & 0xffffffe0u) + ((uint64_t)(la >> 30) << 3);
	rc = read_entry(mmu, gpa, 8, 3, &pdpte, out);
	if (rc)
		return rc;
	rc = check_entry(pdpte, bits(63, m) | bits(2, 1) | bits(8, 5), 3, gpa, out);
	if (rc)
		return rc;

	gpa = (pdpte & addr) + (((la >> 21) & 0x1ff) << 3);
	rc = read_entry(mmu, gpa, 8, 2, &pde, out);
	if (rc)
		return rc;
	if (pde & PTE_PS) {
		rc = check_entry(pde, rsvd | bits(20, 13), 2, gpa, out);
		if (rc)
			return rc;
		grant(out, pde, nxe);
		map(out, pde, pde & addr & ~0x1fffffull, 0x200000, la);
		return GW_OK;
	}
	rc = check_entry(pde, rsvd, 2, gpa, out);
	if (rc)
		return rc;
	grant(out, pde, nxe);

	gpa = (pde & addr) + (((la >> 12) & 0x1ff) << 3);
	rc = read_entry(mmu, gpa, 8, 1, &pte, out);
	if (rc)
		return rc;
	rc = check_entry(pte, rsvd, 1, gpa, out);
	if (rc)
		return rc;
	grant(out, pte, nxe);
	map(out, pte, pte & addr, PAGE_4K, la);
	return GW_OK;
}

static int walk_long(const struct guest_mmu *mmu, uint64_t la, int levels,
		     struct guest_xlat *out)
{
	unsigned m = maxphyaddr(mmu);
	bool nxe = (mmu->efer & X86_EFER_NXE) != 0;
	uint64_t addr = bits(m - 1, 12);
	/* Bits 62:52 are ignored (or protection keys) in IA-32e entries. */
	uint64_t rsvd_base = (m < 52 ? bits(51, m) : 0) | (nxe ? 0 : PTE_XD);
	unsigned width = levels == 5 ? 57 : 48;
	uint64_t table = mmu->cr3 & addr;
	int64_t top = (int64_t)la >> (width - 1);
	int level;

	if (top != 0 && top != -1) {
		out->level = levels;
		return GW_NONCANONICAL;
	}
	for (level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t gpa = table + (((la >> shift) & 0x1ff) << 3);
		uint64_t e, rsvd = rsvd_base;
		bool leaf;
		int rc;

		rc = read_entry(mmu, gpa, 8, level, &e, out);
		if (rc)
			return rc;
		if (level >= 4)
			rsvd |= PTE_PS;                 /* no PS in PML4E/PML5E */
		else if (level == 3 && (e & PTE_PS))
			rsvd |= bits(29, 13);           /* 1 GiB page */
		else if (level == 2 && (e & PTE_PS))
			rsvd |= bits(20, 13);           /* 2 MiB page */
		rc = check_entry(e, rsvd, level, gpa, out);
		if (rc)
			return rc;
		grant(out, e, nxe);
		leaf = level == 1 || (level <= 3 && (e & PTE_PS));
		if (leaf) {
			uint64_t size = 1ull << shift;

			map(out, e, e & addr & ~(size - 1), size, la);
			return GW_OK;
		}
		table = e & addr;
	}
	return GW_EINVAL;       /* not reached */
}

int guest_walk(const struct guest_mmu *mmu, uint64_t la, struct guest_xlat *out)
{
	if (!out)
		return GW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!mmu || !mmu->read_gpa)
		return GW_EINVAL;
	out->writable = true;
	out->user = true;
	switch (guest_paging_mode(mmu)) {
	case GUEST_PAGING_OFF:
		/* Outside IA-32e mode a linear address is 32 bits, and with
		 * paging off it is the physical address. */
		out->gpa = la & 0xffffffffu;
		out->page_size = PAGE_4K;
		return GW_OK;
	case GUEST_PAGING_32:
		return walk_32(mmu, (uint32_t)la, out);
	case GUEST_PAGING_PAE:
		return walk_pae(mmu, (uint32_t)la, out);
	case GUEST_PAGING_4LEVEL:
		return walk_long(mmu, la, 4, out);
	case GUEST_PAGING_5LEVEL:
		return walk_long(mmu, la, 5, out);
	}
	return GW_EINVAL;
}

int guest_fetch(const struct guest_mmu *mmu, uint64_t la, void *buf, unsigned len,
		unsigned *got, struct guest_xlat *fault, int *fault_rc)
{
	struct guest_xlat x;
	unsigned done = 0;
	int rc = GW_OK;

	if (got)
		*got = 0;
	if (fault_rc)
		*fault_rc = GW_OK;
	if (!mmu || !mmu->read_gpa || !got || (!buf && len))
		return GW_EINVAL;
	/* One read per 4 KiB page: RAM and MMIO meet at page boundaries, and
	 * a read_gpa() that fails a whole chunk loses nothing before it. */
	while (done < len) {
		unsigned chunk;

		rc = guest_walk(mmu, la + done, &x);
		if (rc)
			break;
		chunk = (unsigned)(PAGE_4K - (x.gpa & (PAGE_4K - 1)));
		if (chunk > len - done)
			chunk = len - done;
		if (mmu->read_gpa(mmu->ctx, x.gpa, (uint8_t *)buf + done, chunk) != 0) {
			x.fault_gpa = x.gpa;
			x.level = 0;
			rc = GW_BAD_DATA;
			break;
		}
		done += chunk;
	}
	*got = done;
	if (rc) {
		if (fault)
			*fault = x;
		if (fault_rc)
			*fault_rc = rc;
		if (done == 0)
			return rc;
	}
	return GW_OK;
}

bool guest_walk_path_same(const struct guest_walk_path *p, const uint8_t *mem, uint64_t mem_size)
{
	unsigned i;

	if (!p || p->n > GW_PATH_MAX || (p->n && p->size != 4 && p->size != 8))
		return false;
	for (i = 0; i < p->n; i++) {
		uint64_t v = 0, off;

		if (!gmem_offset(mem_size, p->gpa[i], p->size, &off))
			return false;
		if (p->size == 8) {
			__builtin_memcpy(&v, mem + off, 8);   /* one load, little-endian */
		} else {
			uint32_t w;

			__builtin_memcpy(&w, mem + off, 4);
			v = w;
		}
		if (v != p->val[i])
			return false;
	}
	return true;
}

bool guest_pf_unexplained(const struct guest_mmu *mmu, uint64_t la, uint32_t pfec)
{
	struct guest_xlat x;

	if (pfec & (GW_PFEC_P | GW_PFEC_RSVD))
		return false;
	if (guest_walk(mmu, la, &x) != GW_OK || guest_paging_mode(mmu) == GUEST_PAGING_OFF)
		return false;
	if ((pfec & GW_PFEC_W) && !x.writable)
		return false;
	if ((pfec & GW_PFEC_U) && !x.user)
		return false;
	if ((pfec & GW_PFEC_ID) && x.nx)
		return false;
	return true;
}
