/* Host tests of pure/guest_walk.c: page tables built in a fake guest RAM for
 * each paging mode (large pages, non-present and reserved-bit entries, tables
 * outside RAM), guest_fetch() across pages, and a random-table loop. */
#include "harness.h"
#include <tscvisor/guest_walk.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- fake guest RAM: [0, RAM_SIZE) plus whatever the test maps ---------- */

#define RAM_SIZE (1u << 20)
#define MMIO_HOLE 0xe0000u      /* [MMIO_HOLE, MMIO_HOLE + 4K) is not RAM */

struct ram {
	uint8_t *mem;
	unsigned reads;
	unsigned size;
	bool hole;
};

static int ram_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	struct ram *r = ctx;

	r->reads++;
	if (gpa >= r->size || len > r->size - gpa)
		return -1;
	if (r->hole && gpa < MMIO_HOLE + 0x1000 && gpa + len > MMIO_HOLE)
		return -1;
	memcpy(buf, r->mem + gpa, len);
	return 0;
}

static struct ram ram;

static void put64(uint64_t gpa, uint64_t v)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		ram.mem[gpa + i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint64_t gpa, uint32_t v)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		ram.mem[gpa + i] = (uint8_t)(v >> (8 * i));
}

static void ram_reset(void)
{
	memset(ram.mem, 0, ram.size);
	ram.reads = 0;
	ram.hole = false;
}

#define P   0x1ull
#define RW  0x2ull
#define US  0x4ull
#define PS  0x80ull
#define XD  (1ull << 63)

#define CR0_PE  0x1ull
#define CR0_PG  (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static struct guest_mmu mmu_of(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	struct guest_mmu m = { cr0, cr3, cr4, efer, 0, ram_read, &ram };

	return m;
}

/* Walk and expect success at gpa with page size. */
#define WALK_OK(m, la, want_gpa, want_size) do { \
	struct guest_xlat wx; \
	int wrc = guest_walk(&(m), (la), &wx); \
	CHECK_EQ_U64(wrc, GW_OK); \
	CHECK_EQ_U64(wx.gpa, (want_gpa)); \
	CHECK_EQ_U64(wx.page_size, (want_size)); \
} while (0)
/* Walk and expect a failure code at a level. */
#define WALK_FAIL(m, la, want_rc, want_level) do { \
	struct guest_xlat wx; \
	int wrc = guest_walk(&(m), (la), &wx); \
	CHECK_EQ_U64((int64_t)wrc, (int64_t)(want_rc)); \
	CHECK_EQ_U64(wx.level, (want_level)); \
} while (0)

static void test_off(void)
{
	struct guest_mmu m = mmu_of(CR0_PE, 0x1234000, CR4_PAE, EFER_LME);
	struct guest_xlat x;

	ram_reset();
	CHECK_EQ_U64(guest_paging_mode(&m), GUEST_PAGING_OFF);
	WALK_OK(m, 0x12345, 0x12345, 0x1000);
	WALK_OK(m, 0xfee00020, 0xfee00020, 0x1000);
	WALK_OK(m, 0x100001234ull, 0x1234, 0x1000);             /* 32-bit linear */
	CHECK_EQ_U64(guest_walk(&m, 0, &x), GW_OK);
	CHECK(x.writable && x.user && !x.nx);
	CHECK_EQ_U64(ram.reads, 0);                             /* no table reads */
}

static void test_32bit(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x1000 | 0x18 /* PWT PCD */, 0, 0);
	struct guest_xlat x;

	ram_reset();
	CHECK_EQ_U64(guest_paging_mode(&m), GUEST_PAGING_32);
	put32(0x1000 + 0 * 4, 0x2000 | P | RW | US);            /* PD[0] -> PT 0x2000 */
	put32(0x2000 + 5 * 4, 0x30000 | P | RW | US);           /* 0x5000 -> 0x30000 */
	put32(0x2000 + 6 * 4, 0x31000 | P | US);                /* read-only */
	put32(0x2000 + 7 * 4, 0x32000);                         /* not present */
	put32(0x1000 + 1 * 4, 0x0c006000 | PS | P | RW);        /* 4 MiB at 0x3_0c00_0000 */
	put32(0x1000 + 2 * 4, 0x00800000 | PS | P | RW | 0x1000); /* PAT bit set */
	put32(0x1000 + 3 * 4, 0x00c00000 | PS | P | (1u << 21)); /* reserved bit 21 */
	put32(0x1000 + 1023 * 4, 0x3000 | P | RW);               /* top 4 MiB -> PT 0x3000 */
	put32(0x3000 + 1023 * 4, 0x40000 | P | RW);

	WALK_OK(m, 0x5123, 0x30123, 0x1000);
	WALK_OK(m, 0x100005123ull, 0x30123, 0x1000);            /* truncated to 32 bits */
	WALK_OK(m, 0xfffffffc, 0x40ffc, 0x1000);
	CHECK_EQ_U64(guest_walk(&m, 0x5000, &x), GW_OK);
	CHECK(x.writable && x.user);
	CHECK_EQ_U64(x.leaf, 0x30000 | P | RW | US);
	CHECK_EQ_U64(guest_walk(&m, 0x6000, &x), GW_OK);
	CHECK(!x.writable && x.user);
	WALK_FAIL(m, 0x7000, GW_NOT_PRESENT, 1);
	CHECK_EQ_U64(guest_walk(&m, 0x7010, &x), (uint64_t)(int64_t)GW_NOT_PRESENT);
	CHECK_EQ_U64(x.pfec, 0);
	CHECK_EQ_U64(x.fault_gpa, 0x2000 + 7 * 4);
	WALK_FAIL(m, 0x01000000, GW_NOT_PRESENT, 2);            /* PD[4] empty */

	/* Without CR4.PSE, PS is ignored: the 4 MiB entry is a table pointer
	 * far outside RAM. */
	CHECK_EQ_U64(guest_walk(&m, 0x00456789, &x), (uint64_t)(int64_t)GW_BAD_TABLE);
	CHECK_EQ_U64(x.level, 1);
	CHECK_EQ_U64(x.fault_gpa, 0x0c006000 + 0x56 * 4);

	m.cr4 = CR4_PSE;
	WALK_OK(m, 0x00456789, 0x30c056789ull, 0x400000);       /* PSE-36, M = 52 */
	WALK_OK(m, 0x00856789, 0x00856789, 0x400000);           /* PAT bit not address */
	WALK_OK(m, 0x5123, 0x30123, 0x1000);                    /* 4 KiB still works */
	CHECK_EQ_U64(guest_walk(&m, 0x00c00000, &x), (uint64_t)(int64_t)GW_RESERVED);
	CHECK_EQ_U64(x.level, 2);
	CHECK_EQ_U64(x.pfec, GW_PFEC_P | GW_PFEC_RSVD);
	m.maxphyaddr = 36;
	WALK_OK(m, 0x00456789, 0x30c056789ull, 0x400000);       /* PA bits 33:32 < 36 */
	m.maxphyaddr = 33;
	WALK_FAIL(m, 0x00456789, GW_RESERVED, 2);               /* PA bit 33 >= M */
	m.maxphyaddr = 32;
	WALK_FAIL(m, 0x00456789, GW_RESERVED, 2);
	WALK_OK(m, 0x00856789, 0x00856789, 0x400000);
}

static void test_pae(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x3020, CR4_PAE, 0);
	struct guest_xlat x;

	ram_reset();
	CHECK_EQ_U64(guest_paging_mode(&m), GUEST_PAGING_PAE);
	/* PDPT at 0x3020 (CR3 bits 31:5) */
	put64(0x3020 + 0 * 8, 0x4000 | P);
	put64(0x3020 + 1 * 8, 0x6000 | P | RW);                 /* reserved bit 1 */
	put64(0x3020 + 3 * 8, 0x7000 | P);
	put64(0x3000, 0x9000 | P);                              /* not ours: CR3 is 0x3020 */
	put64(0x4000 + 0 * 8, 0x5000 | P | RW | US);            /* PD[0] -> PT 0x5000 */
	put64(0x5000 + 1 * 8, 0x40000 | P | RW | US);
	put64(0x5000 + 2 * 8, 0x41000 | P | RW | XD);
	put64(0x5000 + 3 * 8, 0x42000 | P | (1ull << 52));      /* reserved 62:M */
	put64(0x4000 + 1 * 8, 0x123400000ull | PS | P | RW | 0x1000); /* 2 MiB, PAT */
	put64(0x4000 + 2 * 8, 0x123600000ull | PS | P | (1ull << 13)); /* reserved */
	put64(0x4000 + 3 * 8, 0x1000000000ull | P);             /* table at 64 GiB */
	put64(0x7000 + 511 * 8, 0x8000 | P);
	put64(0x8000 + 511 * 8, 0x43000 | P);

	WALK_OK(m, 0x1abc, 0x40abc, 0x1000);
	WALK_OK(m, 0x100001abcull, 0x40abc, 0x1000);
	WALK_OK(m, 0x00234567, 0x123434567ull, 0x200000);
	WALK_OK(m, 0xfffff00f, 0x4300f, 0x1000);
	WALK_FAIL(m, 0x40000000, GW_RESERVED, 3);               /* PDPTE bit 1 */
	WALK_FAIL(m, 0x80000000, GW_NOT_PRESENT, 3);
	WALK_FAIL(m, 0x00400000, GW_RESERVED, 2);
	WALK_FAIL(m, 0x0000a000, GW_NOT_PRESENT, 1);
	WALK_FAIL(m, 0x00800000, GW_NOT_PRESENT, 2);
	WALK_FAIL(m, 0x3000, GW_RESERVED, 1);
	CHECK_EQ_U64(guest_walk(&m, 0x00600000, &x), (uint64_t)(int64_t)GW_BAD_TABLE);
	CHECK_EQ_U64(x.level, 1);
	CHECK_EQ_U64(x.fault_gpa, 0x1000000000ull);
	/* XD: reserved without EFER.NXE, reported with it */
	WALK_FAIL(m, 0x2000, GW_RESERVED, 1);
	m.efer = EFER_NXE;
	CHECK_EQ_U64(guest_walk(&m, 0x2000, &x), GW_OK);
	CHECK(x.nx && x.writable && !x.user);
	CHECK_EQ_U64(guest_walk(&m, 0x1000, &x), GW_OK);
	CHECK(!x.nx && x.writable && x.user);
	/* MAXPHYADDR: the 64 GiB table pointer is reserved below 37 bits */
	m.maxphyaddr = 36;
	WALK_FAIL(m, 0x00600000, GW_RESERVED, 2);
	m.maxphyaddr = 40;
	WALK_FAIL(m, 0x00600000, GW_BAD_TABLE, 1);
	/* PDPTE bit 63 is reserved even with NXE */
	put64(0x3020 + 3 * 8, 0x7000 | P | XD);
	WALK_FAIL(m, 0xfffff00f, GW_RESERVED, 3);
}

/* 4-level tables: PML4 0x6000, PDPT 0x7000, PD 0x8000, PT 0x9000. */
static void build_long(void)
{
	ram_reset();
	put64(0x6000 + 0 * 8, 0x7000 | P | RW | US);
	put64(0x6000 + 256 * 8, 0x7000 | P | RW);               /* higher half, supervisor */
	put64(0x6000 + 1 * 8, 0x7000 | P | PS);                 /* PS in a PML4E: reserved */
	put64(0x6000 + 2 * 8, 0x2000000000ull | P);             /* table outside RAM */
	put64(0x7000 + 0 * 8, 0x8000 | P | RW | US);
	put64(0x7000 + 1 * 8, 0x8040000000ull | PS | P | RW | 0x1000); /* 1 GiB, PAT */
	put64(0x7000 + 2 * 8, 0x80000000ull | PS | P | (1ull << 13)); /* 1 GiB reserved */
	put64(0x7000 + 3 * 8, 0xc0000000ull | PS | P | (1ull << 29)); /* 1 GiB reserved */
	put64(0x8000 + 0 * 8, 0x9000 | P | RW | US);
	put64(0x8000 + 1 * 8, 0x00a00000 | PS | P | RW | US);   /* 2 MiB */
	put64(0x8000 + 2 * 8, 0x00c00000 | PS | P | (1ull << 20)); /* 2 MiB reserved */
	put64(0x8000 + 3 * 8, 0x9000 | P | XD);
	put64(0x9000 + 0x10 * 8, 0x50000 | P | RW | US);
	put64(0x9000 + 0x11 * 8, 0x51000 | P | US | (0x7ffull << 52)); /* 62:52 ignored */
	put64(0x9000 + 0x12 * 8, 0x52000 | P | (1ull << 51));   /* reserved if M <= 51 */
	put64(0x9000 + 0x13 * 8, 0x53000 | P | XD);
	put64(0x9000 + 0x14 * 8, 0x54000);                       /* not present */
}

static void test_long(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x6000 | 0x18, CR4_PAE, EFER_LME | EFER_LMA);
	struct guest_xlat x;

	build_long();
	CHECK_EQ_U64(guest_paging_mode(&m), GUEST_PAGING_4LEVEL);
	WALK_OK(m, 0x10abc, 0x50abc, 0x1000);
	WALK_OK(m, 0x11abc, 0x51abc, 0x1000);
	WALK_OK(m, 0x41234567, 0x8041234567ull, 0x40000000);
	WALK_OK(m, 0x00234567, 0x00a34567, 0x200000);
	WALK_OK(m, 0xffff800000010abcull, 0x50abc, 0x1000);
	CHECK_EQ_U64(guest_walk(&m, 0x10000, &x), GW_OK);
	CHECK(x.writable && x.user && !x.nx);
	CHECK_EQ_U64(guest_walk(&m, 0x11000, &x), GW_OK);
	CHECK(!x.writable && x.user);
	CHECK_EQ_U64(guest_walk(&m, 0xffff800000010000ull, &x), GW_OK);
	CHECK(x.writable && !x.user);
	WALK_FAIL(m, 0x14000, GW_NOT_PRESENT, 1);
	WALK_FAIL(m, 0x00400000, GW_RESERVED, 2);               /* 2 MiB, bit 20 */
	WALK_FAIL(m, 0x00800000, GW_NOT_PRESENT, 2);
	WALK_FAIL(m, 0x80000000, GW_RESERVED, 3);
	WALK_FAIL(m, 0xc0000000, GW_RESERVED, 3);
	WALK_FAIL(m, 0x100000000ull, GW_NOT_PRESENT, 3);        /* PDPT[4] */
	WALK_FAIL(m, 0x8000000000ull, GW_RESERVED, 4);          /* PML4[1] PS */
	WALK_FAIL(m, 0x10000000000ull, GW_BAD_TABLE, 3);        /* PML4[2] -> table at 128 GiB */
	WALK_FAIL(m, 0x18000000000ull, GW_NOT_PRESENT, 4);
	WALK_FAIL(m, 0x20000000000ull, GW_NOT_PRESENT, 4);
	WALK_FAIL(m, 0x0000800000000000ull, GW_NONCANONICAL, 4);
	WALK_FAIL(m, 0xffff7ffffffff000ull, GW_NONCANONICAL, 4);
	WALK_FAIL(m, 0x8000000000000000ull, GW_NONCANONICAL, 4);
	CHECK_EQ_U64(guest_walk(&m, 0x10000000000ull, &x), (uint64_t)(int64_t)GW_BAD_TABLE);
	CHECK_EQ_U64(x.fault_gpa, 0x2000000000ull);
	/* XD and bit 51 */
	WALK_FAIL(m, 0x13000, GW_RESERVED, 1);
	WALK_FAIL(m, 0x00600000, GW_RESERVED, 2);               /* XD in the PDE */
	WALK_OK(m, 0x12345, 0x8000000052345ull, 0x1000);        /* M = 52: bit 51 is address */
	m.maxphyaddr = 48;
	WALK_FAIL(m, 0x12345, GW_RESERVED, 1);
	m.maxphyaddr = 52;
	m.efer |= EFER_NXE;
	CHECK_EQ_U64(guest_walk(&m, 0x13000, &x), GW_OK);
	CHECK(x.nx && !x.writable && !x.user);
	CHECK_EQ_U64(guest_walk(&m, 0x00610abc, &x), GW_OK);   /* XD in the PDE only */
	CHECK(x.nx);
	CHECK_EQ_U64(x.gpa, 0x50abc);
}

/* A not-present #PF that the tables do not explain (the emulator's
 * transient walk failure the hypervisor retries, vmm/exit.c) versus every
 * fault they do explain. Tables from build_long(): 0x10000 RW user, 0x11000
 * read-only user, 0xffff800000010000 supervisor, 0x13000 XD, 0x14000 not
 * present. */
static void test_pf_unexplained(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x6000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);
	struct guest_mmu off = mmu_of(CR0_PE, 0x6000, CR4_PAE, EFER_LME);

	build_long();
	CHECK(guest_pf_unexplained(&m, 0x10abc, 0));                       /* read, mapped */
	CHECK(guest_pf_unexplained(&m, 0x10abc, GW_PFEC_W | GW_PFEC_U));   /* user write, RW user */
	CHECK(guest_pf_unexplained(&m, 0x10abc, GW_PFEC_ID));              /* fetch, no XD */
	CHECK(guest_pf_unexplained(&m, 0x00234567, GW_PFEC_W));            /* 2 MiB page */
	CHECK(guest_pf_unexplained(&m, 0x11abc, GW_PFEC_U));               /* read of read-only */
	CHECK(!guest_pf_unexplained(&m, 0x14000, 0));                      /* really not present */
	CHECK(!guest_pf_unexplained(&m, 0x00800000, 0));                   /* not present PDE */
	CHECK(!guest_pf_unexplained(&m, 0x11abc, GW_PFEC_W));              /* write to read-only */
	CHECK(!guest_pf_unexplained(&m, 0xffff800000010abcull, GW_PFEC_U)); /* user to supervisor */
	CHECK(!guest_pf_unexplained(&m, 0x13000, GW_PFEC_ID));             /* fetch from XD */
	CHECK(!guest_pf_unexplained(&m, 0x10abc, GW_PFEC_P));              /* a protection fault */
	CHECK(!guest_pf_unexplained(&m, 0x10abc, GW_PFEC_RSVD));           /* a reserved-bit fault */
	CHECK(!guest_pf_unexplained(&m, 0x00400000, 0));                   /* reserved bit in the PDE */
	CHECK(!guest_pf_unexplained(&m, 0x0000800000000000ull, 0));        /* non-canonical */
	CHECK(!guest_pf_unexplained(&off, 0x10abc, 0));                    /* paging off: no #PF at all */
}

static void test_5level(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0xa000, CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA);

	build_long();
	put64(0xa000 + 0 * 8, 0x6000 | P | RW | US);
	put64(0xa000 + 256 * 8, 0x6000 | P | RW);
	put64(0xa000 + 2 * 8, 0x6000 | P | PS);
	CHECK_EQ_U64(guest_paging_mode(&m), GUEST_PAGING_5LEVEL);
	WALK_OK(m, 0x10abc, 0x50abc, 0x1000);
	WALK_OK(m, 0xff00000000010abcull, 0x50abc, 0x1000);     /* PML5[256], PML4[0] */
	WALK_FAIL(m, 0x0001000000010abcull, GW_NOT_PRESENT, 5);
	WALK_FAIL(m, 0x0002000000010abcull, GW_RESERVED, 5);
	WALK_FAIL(m, 0x0100000000000000ull, GW_NONCANONICAL, 5);
	WALK_OK(m, 0x0000800000010abcull, 0x50abc, 0x1000);     /* canonical with 57 bits */
}

static void test_fetch(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x6000, CR4_PAE, EFER_LME | EFER_LMA);
	struct guest_xlat fx;
	uint8_t buf[32];
	unsigned got, i;
	int frc;

	build_long();
	put64(0x9000 + 0x21 * 8, 0x60000 | P);                   /* la 0x21000 -> 0x60000 */
	put64(0x9000 + 0x22 * 8, 0x70000 | P);                   /* la 0x22000 -> 0x70000 */
	put64(0x9000 + 0x30 * 8, 0x5000000 | P);                 /* la 0x30000 -> not RAM */
	put64(0x9000 + 0x31 * 8, 0xff000 | P);                   /* last RAM page */
	put64(0x9000 + 0x32 * 8, MMIO_HOLE | P);                 /* MMIO hole */
	for (i = 0; i < 16; i++) {
		ram.mem[0x60ff8 + i] = (uint8_t)(0xa0 + i);      /* runs past into 0x61000.. */
		ram.mem[0x70000 + i] = (uint8_t)(0xb0 + i);
	}
	ram.mem[0xfffff] = 0x99;

	/* within one page */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U64(guest_fetch(&m, 0x21ff8, buf, 8, &got, &fx, &frc), GW_OK);
	CHECK_EQ_U64(got, 8);
	CHECK_EQ_U64(frc, GW_OK);
	CHECK_EQ_U64(buf[0], 0xa0);
	CHECK_EQ_U64(buf[7], 0xa7);

	/* across a page boundary into a discontiguous page */
	memset(buf, 0, sizeof(buf));
	ram.reads = 0;
	CHECK_EQ_U64(guest_fetch(&m, 0x21ffa, buf, 15, &got, &fx, &frc), GW_OK);
	CHECK_EQ_U64(got, 15);
	CHECK_EQ_U64(buf[0], 0xa2);
	CHECK_EQ_U64(buf[5], 0xa7);
	CHECK_EQ_U64(buf[6], 0xb0);
	CHECK_EQ_U64(buf[14], 0xb8);
	CHECK_EQ_U64(ram.reads, 2 * 4 + 2);                     /* two walks, two reads */

	/* the second page is not present: partial, fault reported */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U64(guest_fetch(&m, 0x22ffc, buf, 15, &got, &fx, &frc), GW_OK);
	CHECK_EQ_U64(got, 4);
	CHECK_EQ_U64((int64_t)frc, (int64_t)GW_NOT_PRESENT);
	CHECK_EQ_U64(fx.level, 1);
	CHECK_EQ_U64(fx.fault_gpa, 0x9000 + 0x23 * 8);

	/* the first byte fails: an error */
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x23000, buf, 15, &got, &fx, &frc), (int64_t)GW_NOT_PRESENT);
	CHECK_EQ_U64(got, 0);
	CHECK_EQ_U64((int64_t)frc, (int64_t)GW_NOT_PRESENT);
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x30000, buf, 15, &got, &fx, &frc), (int64_t)GW_BAD_DATA);
	CHECK_EQ_U64(fx.fault_gpa, 0x5000000);
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x0000800000000000ull, buf, 1, &got, NULL, NULL),
		     (int64_t)GW_NONCANONICAL);

	/* RAM then MMIO */
	ram.hole = true;
	CHECK_EQ_U64(guest_fetch(&m, 0x31fff, buf, 15, &got, &fx, &frc), GW_OK);
	CHECK_EQ_U64(got, 1);
	CHECK_EQ_U64(buf[0], 0x99);
	CHECK_EQ_U64((int64_t)frc, (int64_t)GW_BAD_DATA);
	CHECK_EQ_U64(fx.fault_gpa, MMIO_HOLE);

	/* running off the end of the canonical lower half: partial */
	put64(0x6000 + 255 * 8, 0xb000 | P);
	put64(0xb000 + 511 * 8, 0xc000 | P);
	put64(0xc000 + 511 * 8, 0xd000 | P);
	put64(0xd000 + 511 * 8, 0x80000 | P);
	ram.mem[0x80ffe] = 0x0f;
	ram.mem[0x80fff] = 0x31;
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U64(guest_fetch(&m, 0x00007ffffffffffeull, buf, 4, &got, &fx, &frc), GW_OK);
	CHECK_EQ_U64(got, 2);
	CHECK_EQ_U64((int64_t)frc, (int64_t)GW_NONCANONICAL);
	CHECK_EQ_U64(buf[1], 0x31);

	/* zero length, bad arguments */
	CHECK_EQ_U64(guest_fetch(&m, 0x21000, buf, 0, &got, NULL, NULL), GW_OK);
	CHECK_EQ_U64(got, 0);
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x21000, NULL, 4, &got, NULL, NULL), (int64_t)GW_EINVAL);
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x21000, buf, 4, NULL, NULL, NULL), (int64_t)GW_EINVAL);
	CHECK_EQ_U64((int64_t)guest_fetch(NULL, 0x21000, buf, 4, &got, NULL, NULL), (int64_t)GW_EINVAL);
	CHECK_EQ_U64((int64_t)guest_walk(&m, 0, NULL), (int64_t)GW_EINVAL);
	m.read_gpa = NULL;
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0x21000, buf, 4, &got, NULL, NULL), (int64_t)GW_EINVAL);
}

static void test_fetch_wrap(void)
{
	/* 32-bit paging: an instruction at 0xfffffffe wraps to linear 0. */
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x1000, 0, 0);
	uint8_t buf[8];
	unsigned got;
	int frc;

	ram_reset();
	put32(0x1000 + 1023 * 4, 0x2000 | P);
	put32(0x2000 + 1023 * 4, 0x40000 | P);
	put32(0x1000, 0x3000 | P);
	put32(0x3000, 0x50000 | P);
	ram.mem[0x40ffe] = 0x0f;
	ram.mem[0x40fff] = 0x01;
	ram.mem[0x50000] = 0xf9;
	ram.mem[0x50001] = 0x90;
	CHECK_EQ_U64(guest_fetch(&m, 0xfffffffe, buf, 4, &got, NULL, &frc), GW_OK);
	CHECK_EQ_U64(got, 4);
	CHECK(memcmp(buf, "\x0f\x01\xf9\x90", 4) == 0);

	/* paging off: contiguous, wraps at 4 GiB too */
	m.cr0 = CR0_PE;
	ram.mem[0x1ffe] = 1;
	ram.mem[0x2000] = 3;
	CHECK_EQ_U64(guest_fetch(&m, 0x1ffe, buf, 4, &got, NULL, &frc), GW_OK);
	CHECK_EQ_U64(got, 4);
	CHECK_EQ_U64(buf[0], 1);
	CHECK_EQ_U64(buf[2], 3);
	CHECK_EQ_U64(guest_fetch(&m, 0x100001ffeull, buf, 4, &got, NULL, &frc), GW_OK);
	CHECK_EQ_U64(got, 4);
	CHECK_EQ_U64(buf[2], 3);
	CHECK_EQ_U64((int64_t)guest_fetch(&m, 0xffffffff, buf, 2, &got, NULL, &frc), (int64_t)GW_BAD_DATA);
}

/* Random tables: entries mostly point back into a small RAM, with random
 * flag and high bits. Any result must be a defined code, and a success must
 * keep the page offset. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_random(void)
{
	static const uint64_t modes[][3] = {    /* cr0, cr4, efer */
		{ CR0_PE, 0, 0 },
		{ CR0_PE | CR0_PG, 0, 0 },
		{ CR0_PE | CR0_PG, CR4_PSE, 0 },
		{ CR0_PE | CR0_PG, CR4_PAE, 0 },
		{ CR0_PE | CR0_PG, CR4_PAE, EFER_NXE },
		{ CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA },
		{ CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE },
		{ CR0_PE | CR0_PG, CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA | EFER_NXE },
	};
	unsigned i, j, bad = 0, ok = 0, fetched = 0;
	unsigned saved = ram.size;

	ram.size = 0x10000;                     /* 64 KiB of tables */
	for (i = 0; i < 20000; i++) {
		const uint64_t *md = modes[rng() % 8];
		struct guest_mmu m = mmu_of(md[0], rng() & 0xffff, md[1], md[2]);
		struct guest_xlat x;
		uint8_t buf[15];
		unsigned got;
		uint64_t la = rng();
		int rc, frc;

		if (i % 64 == 0) {
			for (j = 0; j < ram.size; j += 8) {
				uint64_t r = rng(), e;

				e = (r & 0xff0f) | (rng() & 0x0f000);   /* addr in 64 KiB, flags */
				if ((r >> 20) % 8 == 0)
					e |= rng() & 0xfff0000000000000ull;
				if ((r >> 24) % 8 == 0)
					e = rng();
				put64(j, e);
			}
		}
		m.maxphyaddr = (unsigned)(rng() % 30);
		if (m.maxphyaddr)
			m.maxphyaddr += 30;
		if (rng() & 1)
			la &= 0x3fffff;
		rc = guest_walk(&m, la, &x);
		if (rc == GW_OK) {
			ok++;
			if ((x.gpa ^ la) & (x.page_size - 1) ||
			    (x.page_size != 0x1000 && x.page_size != 0x200000 &&
			     x.page_size != 0x400000 && x.page_size != 0x40000000))
				bad++;
		} else if (rc != GW_NOT_PRESENT && rc != GW_RESERVED && rc != GW_NONCANONICAL &&
			   rc != GW_BAD_TABLE) {
			bad++;
		} else if (x.level < 1 || x.level > 5) {
			bad++;
		}
		rc = guest_fetch(&m, la, buf, (unsigned)(rng() % 16), &got, &x, &frc);
		if (rc == GW_OK)
			fetched += got;
		else if (got != 0 || frc != rc)
			bad++;
	}
	ram.size = saved;
	CHECK_EQ_U64(bad, 0);
	CHECK(ok > 1000);
	printf("# random: %u walks succeeded of 20000, %u bytes fetched\n", ok, fetched);
}

/* The path a walk records, and guest_walk_path_same(): the decode cache's
 * test that RIP still translates as it did (a remap under the same CR3 must
 * be seen; an unrelated entry's change must not matter). */
static void test_path(void)
{
	struct guest_mmu m = mmu_of(CR0_PE | CR0_PG, 0x6000 | 0x18, CR4_PAE, EFER_LME | EFER_LMA);
	struct guest_mmu m32 = mmu_of(CR0_PE | CR0_PG, 0x1000, 0, 0);
	struct guest_xlat x;
	struct guest_walk_path p, q;

	build_long();
	CHECK_EQ_U64(guest_walk(&m, 0x10abc, &x), GW_OK);
	p = x.path;
	CHECK_EQ_U64(p.n, 4);
	CHECK_EQ_U64(p.size, 8);
	CHECK_EQ_U64(p.gpa[0], 0x6000);                          /* PML4[0] */
	CHECK(guest_walk_path_same(&p, ram.mem, ram.size));
	/* Another PTE of the same table changes: the translation stands. */
	put64(p.gpa[3] + 8 * 100, 0x77000 | P | RW);
	CHECK(guest_walk_path_same(&p, ram.mem, ram.size));
	/* The PTE itself is remapped to another page: seen. */
	put64(p.gpa[3], (p.val[3] & ~0x000ffffffffff000ull) | 0x51000);
	CHECK(!guest_walk_path_same(&p, ram.mem, ram.size));
	put64(p.gpa[3], p.val[3]);
	CHECK(guest_walk_path_same(&p, ram.mem, ram.size));
	/* Only an accessed bit set by the CPU: a change too (conservative). */
	put64(p.gpa[1], p.val[1] | 0x20);
	CHECK(!guest_walk_path_same(&p, ram.mem, ram.size));
	put64(p.gpa[1], p.val[1]);
	/* An entry's GPA at or past the end of memory, or wrapping: never same. */
	q = p;
	q.gpa[2] = ram.size - 4;
	CHECK(!guest_walk_path_same(&q, ram.mem, ram.size));
	q.gpa[2] = ~0ull - 3;
	CHECK(!guest_walk_path_same(&q, ram.mem, ram.size));
	CHECK(!guest_walk_path_same(&p, ram.mem, 7));
	q = p;
	q.n = GW_PATH_MAX + 1;
	CHECK(!guest_walk_path_same(&q, ram.mem, ram.size));
	q = p;
	q.size = 5;
	CHECK(!guest_walk_path_same(&q, ram.mem, ram.size));
	/* A failed walk records what it read up to the failure. */
	CHECK_EQ_U64(guest_walk(&m, 0x14000, &x), (uint64_t)(int64_t)GW_NOT_PRESENT);
	CHECK_EQ_U64(x.path.n, 4);
	/* Paging off: nothing read, nothing to change. */
	m.cr0 = CR0_PE;
	CHECK_EQ_U64(guest_walk(&m, 0x10abc, &x), GW_OK);
	CHECK_EQ_U64(x.path.n, 0);
	CHECK(guest_walk_path_same(&x.path, ram.mem, ram.size));

	/* 32-bit paging: 4-byte entries. */
	ram_reset();
	put32(0x1000, 0x2000 | P | RW);
	put32(0x2000 + 5 * 4, 0x30000 | P | RW);
	CHECK_EQ_U64(guest_walk(&m32, 0x5123, &x), GW_OK);
	CHECK_EQ_U64(x.path.n, 2);
	CHECK_EQ_U64(x.path.size, 4);
	CHECK(guest_walk_path_same(&x.path, ram.mem, ram.size));
	put32(0x2000 + 6 * 4, 0x31000 | P | RW);                /* the next PTE: no matter */
	CHECK(guest_walk_path_same(&x.path, ram.mem, ram.size));
	put32(0x2000 + 5 * 4, 0x31000 | P | RW);
	CHECK(!guest_walk_path_same(&x.path, ram.mem, ram.size));
}

int main(void)
{
	ram.size = RAM_SIZE;
	ram.mem = calloc(1, RAM_SIZE);
	if (!ram.mem)
		return 1;
	test_off();
	test_32bit();
	test_pae();
	test_long();
	test_pf_unexplained();
	test_5level();
	test_fetch();
	test_fetch_wrap();
	test_random();
	test_path();
	free(ram.mem);
	return th_done();
}
