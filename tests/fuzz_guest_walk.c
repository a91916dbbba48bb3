/* libFuzzer target for pure/guest_walk.c, which walks page tables the guest
 * wrote. The input is a 19-byte header and a guest-physical memory image:
 *
 *   [0]     paging bits: 0 CR0.PG, 1 CR4.PAE, 2 CR4.PSE, 3 EFER.LMA,
 *           4 CR4.LA57, 5 EFER.NXE
 *   [1]     MAXPHYADDR (0 and values above 52 mean 52, below 32 mean 32)
 *   [2]     #PF error code bits for guest_pf_unexplained (W, U, I/D, P, RSVD)
 *   [3..10] CR3, [11..18] the linear address (little-endian)
 *   [19..]  guest RAM from GPA 0, at most 64 KiB (a private copy of exactly
 *           that size: ASan flags any access past it)
 *
 * read_gpa() refuses anything not wholly inside the image, so the walker can
 * only see the image; it also checks each request (entries are 4 or 8 bytes,
 * naturally aligned, at most 5 per walk; data reads stay in one page).
 *
 * Invariants: every result code is a GW_* value; a translation keeps the
 * page offset, has a legal page size, a present leaf equal to the last entry
 * read, a GPA below 2^MAXPHYADDR (2^40 for PSE-36), and with paging off is
 * the 32-bit linear address; faults name a level 1..5 and the right #PF bits;
 * walking is deterministic; guest_fetch() returns exactly the image bytes at
 * the per-byte translations; guest_pf_unexplained() is true only when the
 * walk succeeds and grants the access. Run through `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/guest_walk.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 19
#define IMAGE_MAX (64u << 10)

struct img {
	uint8_t *mem;
	uint64_t size;
	unsigned entry_reads;
	uint64_t last_entry;
	int in_fetch_data;
};

static int rd(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	struct img *im = ctx;

	if (len == 0 || !buf)
		abort();
	if (len == 4 || len == 8) {
		/* a paging-structure entry (or a small data read) */
		if (!im->in_fetch_data && (gpa & (len - 1)))
			abort();                /* entries are naturally aligned */
	}
	if (!im->in_fetch_data && ++im->entry_reads > 5)
		abort();                        /* more entry reads than levels */
	if (im->in_fetch_data && ((gpa & 0xfff) + len > 0x1000))
		abort();                        /* a data read crossing a page */
	if (gpa >= im->size || len > im->size - gpa)
		return -1;
	memcpy(buf, im->mem + gpa, len);
	if (!im->in_fetch_data) {
		uint64_t v = 0;

		for (unsigned i = 0; i < len; i++)
			v |= (uint64_t)((uint8_t *)buf)[i] << (8 * i);
		im->last_entry = v;
	}
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int rc_ok(int rc)
{
	return rc == GW_OK || rc == GW_NOT_PRESENT || rc == GW_RESERVED ||
	       rc == GW_NONCANONICAL || rc == GW_BAD_TABLE;
}

/* Walk with the entry-read bookkeeping reset; checks the invariants. */
static int walk(struct guest_mmu *mmu, struct img *im, uint64_t la, struct guest_xlat *x)
{
	enum guest_paging_mode pm = guest_paging_mode(mmu);
	unsigned m = mmu->maxphyaddr == 0 || mmu->maxphyaddr > 52 ? 52 :
		     mmu->maxphyaddr < 32 ? 32 : mmu->maxphyaddr;
	int rc;

	im->entry_reads = 0;
	im->last_entry = 0;
	rc = guest_walk(mmu, la, x);
	if (!rc_ok(rc))
		abort();
	if (rc == GW_OK) {
		uint64_t lin = (pm == GUEST_PAGING_4LEVEL || pm == GUEST_PAGING_5LEVEL) ?
			       la : (la & 0xffffffffu);

		if (x->page_size != 0x1000 && x->page_size != 0x200000 &&
		    x->page_size != 0x400000 && x->page_size != 0x40000000)
			abort();
		if ((x->gpa ^ lin) & (x->page_size - 1))
			abort();                /* the page offset is kept */
		if (pm == GUEST_PAGING_OFF) {
			if (x->gpa != lin || im->entry_reads || x->leaf)
				abort();
		} else {
			if (!(x->leaf & 1) || x->leaf != im->last_entry)
				abort();        /* the leaf is the present entry last read */
			if (pm == GUEST_PAGING_32) {
				if (x->gpa >> 40)
					abort();
			} else if (m < 64 && (x->gpa >> m)) {
				abort();        /* above MAXPHYADDR */
			}
		}
		if (x->nx && !(mmu->efer & (1u << 11)))
			abort();
	} else {
		if (pm == GUEST_PAGING_OFF)
			abort();
		if (x->level < 1 || x->level > 5)
			abort();
		if (rc == GW_NONCANONICAL && pm != GUEST_PAGING_4LEVEL && pm != GUEST_PAGING_5LEVEL)
			abort();
		if (rc == GW_NOT_PRESENT && x->pfec != 0)
			abort();
		if (rc == GW_RESERVED && x->pfec != (GW_PFEC_P | GW_PFEC_RSVD))
			abort();
		if (rc == GW_BAD_TABLE && x->fault_gpa < im->size && x->fault_gpa + 8 <= im->size)
			abort();                /* a readable entry called unreadable */
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_xlat x, y;
	struct guest_mmu mmu;
	struct img im = { 0 };
	uint8_t buf[24], ref[24];
	unsigned got, len;
	uint64_t la;
	int rc, frc;

	if (size < HDR)
		return 0;
	memset(&mmu, 0, sizeof(mmu));
	mmu.cr0 = (data[0] & 1) ? (1ull << 31) | 1 : 1;
	mmu.cr4 = ((data[0] & 2) ? 1u << 5 : 0) | ((data[0] & 4) ? 1u << 4 : 0) |
		  ((data[0] & 16) ? 1u << 12 : 0);
	mmu.efer = ((data[0] & 8) ? (1u << 10) | (1u << 8) : 0) | ((data[0] & 32) ? 1u << 11 : 0);
	mmu.maxphyaddr = data[1];
	mmu.cr3 = le64(data + 3);
	la = le64(data + 11);
	im.size = size - HDR > IMAGE_MAX ? IMAGE_MAX : size - HDR;
	im.mem = malloc(im.size ? im.size : 1);
	if (!im.mem)
		abort();
	memcpy(im.mem, data + HDR, im.size);
	mmu.read_gpa = rd;
	mmu.ctx = &im;

	rc = walk(&mmu, &im, la, &x);
	if (walk(&mmu, &im, la, &y) != rc || memcmp(&x, &y, sizeof(x)) != 0)
		abort();                        /* deterministic */

	/* guest_pf_unexplained: only for a walk that grants the access. */
	im.entry_reads = 0;
	if (guest_pf_unexplained(&mmu, la, data[2] & 0x1f)) {
		uint32_t pfec = data[2] & 0x1f;

		if (rc != GW_OK || !(mmu.cr0 & (1ull << 31)) ||
		    (pfec & (GW_PFEC_P | GW_PFEC_RSVD)) ||
		    ((pfec & GW_PFEC_W) && !x.writable) || ((pfec & GW_PFEC_U) && !x.user) ||
		    ((pfec & GW_PFEC_ID) && x.nx))
			abort();
	}

	/* guest_fetch of up to 24 bytes, possibly across pages: every byte it
	 * returns is the image byte at that byte's own translation. */
	len = data[2] >> 5 ? (data[2] >> 3) % 25 : 15;
	memset(buf, 0xcc, sizeof(buf));
	im.in_fetch_data = 0;
	{
		/* guest_fetch mixes entry and data reads: account per call. */
		struct guest_mmu m2 = mmu;
		struct img im2 = im;

		im2.in_fetch_data = 1;          /* relax the entry-read counting */
		m2.ctx = &im2;
		rc = guest_fetch(&m2, la, buf, len, &got, &x, &frc);
	}
	if (got > len || (rc != GW_OK && (got != 0 || (!rc_ok(rc) && rc != GW_BAD_DATA))) ||
	    (rc == GW_OK && got < len && frc == GW_OK) || (rc == GW_OK && len && !got))
		abort();
	if (rc != GW_OK && len == 0)
		abort();
	for (unsigned i = 0; i < got; i++) {
		if (walk(&mmu, &im, la + i, &y) != GW_OK || y.gpa >= im.size)
			abort();
		ref[i] = im.mem[y.gpa];
		if (ref[i] != buf[i])
			abort();
	}
	for (unsigned i = got; i < sizeof(buf); i++)
		if (buf[i] != 0xcc && i >= len)
			abort();                /* wrote past len */
	free(im.mem);
	return 0;
}
