/* Host tests of pure/acpi.c. Tables are built in heap buffers of exactly
 * their length, so ASan catches any read past a table's end. */
#include "harness.h"
#include <tscvisor/acpi.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/mman.h>

/* ---- table builders ------------------------------------------------------ */

/* RSDT entries are 32-bit, so tables live in an arena below 4 GiB (MAP_32BIT).
 * Under ASan everything in the arena but the live allocations is poisoned, so
 * a read past the end of a table is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_SIZE (8u << 20)

static uint8_t *arena;
static size_t arena_used;

static uint8_t *zalloc(size_t n)
{
	uint8_t *p;

	if (!arena) {
		void *m = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

		if (m == MAP_FAILED || (uintptr_t)m + ARENA_SIZE > 0x100000000ull)
			abort();
		arena = m;
		POISON(arena, ARENA_SIZE);
	}
	/* 16-byte aligned, at least 32 poisoned bytes between allocations. */
	if (n + 64 > ARENA_SIZE - arena_used)
		abort();
	p = arena + arena_used + 32;
	arena_used += 32 + ((n + 15) & ~(size_t)15);
	UNPOISON(p, n);
	memset(p, 0, n);
	return p;
}

static void free_all(void)
{
	POISON(arena, ARENA_SIZE);
	arena_used = 0;
}

static uint64_t A(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Header of a System Description Table, checksum left to fix(). */
static void hdr(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, "TSCVSR", 6);
	memcpy(p + 16, "TESTTABL", 8);
	put32(p + 24, 1);
	memcpy(p + 28, "TEST", 4);
	put32(p + 32, 1);
}

static void fix(uint8_t *p, size_t len)
{
	p[9] = 0;
	p[9] = (uint8_t)-sum(p, len);
}

static uint8_t *table(const char *sig, uint32_t len)
{
	uint8_t *p = zalloc(len);

	hdr(p, sig, len, 1);
	fix(p, len);
	return p;
}

/* RSDT (4-byte entries) or XSDT (8-byte entries). XSDT entries at offset 36
 * are misaligned for 8-byte reads by construction. */
static uint8_t *sdt(const char *sig, const uint8_t *const *tables, unsigned n)
{
	unsigned es = sig[0] == 'X' ? 8 : 4, i;
	uint32_t len = 36 + es * n;
	uint8_t *p = zalloc(len);

	hdr(p, sig, len, 1);
	for (i = 0; i < n; i++) {
		if (es == 8)
			put64(p + 36 + 8 * i, A(tables[i]));
		else
			put32(p + 36 + 4 * i, (uint32_t)A(tables[i]));
	}
	fix(p, len);
	return p;
}

static void rsdp_fill(uint8_t *p, uint8_t rev, const uint8_t *rsdt, const uint8_t *xsdt)
{
	memset(p, 0, rev >= 2 ? 36 : 20);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "TSCVSR", 6);
	p[15] = rev;
	put32(p + 16, (uint32_t)A(rsdt));
	p[8] = (uint8_t)-sum(p, 20);
	if (rev >= 2) {
		put32(p + 20, 36);
		put64(p + 24, A(xsdt));
		p[32] = (uint8_t)-sum(p, 36);
	}
}

static uint8_t *rsdp(uint8_t rev, const uint8_t *rsdt, const uint8_t *xsdt)
{
	uint8_t *p = zalloc(rev >= 2 ? 36 : 20);

	rsdp_fill(p, rev, rsdt, xsdt);
	return p;
}

/* A FADT of `len` bytes (>= 36). Fields beyond len are dropped. */
struct fadt_spec {
	uint32_t len;
	uint32_t pm_tmr_blk;
	uint8_t pm_tmr_len;
	uint32_t flags;
	uint8_t x_space;
	uint64_t x_addr;
};

static uint8_t *fadt(const struct fadt_spec *f)
{
	uint8_t buf[512] = { 0 };
	uint8_t *p = zalloc(f->len);

	hdr(buf, "FACP", f->len, f->len >= 244 ? 6 : 1);
	put32(buf + 76, f->pm_tmr_blk);
	buf[91] = f->pm_tmr_len;
	put32(buf + 112, f->flags);
	buf[208] = f->x_space;
	buf[209] = 32;                  /* bit width */
	buf[211] = 3;                   /* dword access */
	put64(buf + 212, f->x_addr);
	memcpy(p, buf, f->len);
	fix(p, f->len);
	return p;
}

/* A system: FADT + MADT behind an RSDT (v1) or XSDT + RSDT (v2). */
static uint64_t sys1(const uint8_t *t1, const uint8_t *t2)
{
	const uint8_t *ts[2] = { t1, t2 };

	return A(rsdp(0, sdt("RSDT", ts, t2 ? 2 : 1), NULL));
}

/* ---- tests -------------------------------------------------------------- */

static void test_rsdp(void)
{
	const uint8_t *f = table("FACP", 116);
	const uint8_t *rs = sdt("RSDT", &f, 1), *xs = sdt("XSDT", &f, 1);
	uint8_t *p;

	CHECK(acpi_rsdp_valid(A(rsdp(0, rs, NULL))));
	CHECK(acpi_rsdp_valid(A(rsdp(2, rs, xs))));
	CHECK(!acpi_rsdp_valid(0));

	/* v1: bad checksum, bad signature. */
	p = rsdp(0, rs, NULL);
	p[8]++;
	CHECK(!acpi_rsdp_valid(A(p)));
	p = rsdp(0, rs, NULL);
	p[7] = 'X';
	p[8] = (uint8_t)(p[8] + ' ' - 'X');      /* checksum still right */
	CHECK_EQ_U64(sum(p, 20), 0);
	CHECK(!acpi_rsdp_valid(A(p)));

	/* v2: the first 20 bytes fine, the extended checksum wrong. */
	p = rsdp(2, rs, xs);
	p[32]++;
	CHECK(!acpi_rsdp_valid(A(p)));
	/* v2: extended checksum fine, the 20-byte one wrong. */
	p = rsdp(2, rs, xs);
	p[8]++;
	p[32]--;
	CHECK_EQ_U64(sum(p, 36), 0);
	CHECK(!acpi_rsdp_valid(A(p)));
	/* v2 lengths: too short, absurdly long (must not be read that far). */
	p = rsdp(2, rs, xs);
	put32(p + 20, 20);
	p[32] = 0;
	p[32] = (uint8_t)-sum(p, 36);
	CHECK(!acpi_rsdp_valid(A(p)));
	p = rsdp(2, rs, xs);
	put32(p + 20, 0x100000);
	p[32] = 0;
	p[32] = (uint8_t)-sum(p, 36);
	CHECK(!acpi_rsdp_valid(A(p)));
	/* A longer v2 RSDP (future revision) is fine when its checksum covers it. */
	p = zalloc(48);
	rsdp_fill(p, 3, rs, xs);
	put32(p + 20, 48);
	p[40] = 0x77;
	p[32] = 0;
	p[32] = (uint8_t)-sum(p, 48);
	CHECK(acpi_rsdp_valid(A(p)));
	free_all();
}

static void test_find(void)
{
	const uint8_t *f_x = table("FACP", 116), *f_r = table("FACP", 116);
	const uint8_t *apic = table("APIC", 44), *hpet = table("HPET", 56);
	const uint8_t *xt[3] = { apic, hpet, f_x }, *rt[2] = { f_r, apic };
	uint8_t *rs = sdt("RSDT", rt, 2), *xs = sdt("XSDT", xt, 3), *p;
	uint8_t *bad, *big, *shorty;
	uint64_t r;

	/* v1: through the RSDT. */
	r = A(rsdp(0, rs, NULL));
	CHECK_EQ_U64(acpi_find_table(r, "FACP"), A(f_r));
	CHECK_EQ_U64(acpi_find_table(r, "APIC"), A(apic));
	CHECK_EQ_U64(acpi_find_table(r, "HPET"), 0);
	CHECK_EQ_U64(acpi_find_table(r, "XSDT"), 0);
	CHECK_EQ_U64(acpi_find_table(0, "FACP"), 0);

	/* v2: the XSDT wins over the RSDT. */
	r = A(rsdp(2, rs, xs));
	CHECK_EQ_U64(acpi_find_table(r, "FACP"), A(f_x));
	CHECK_EQ_U64(acpi_find_table(r, "HPET"), A(hpet));
	CHECK_EQ_U64(acpi_find_table(r, "SSDT"), 0);
	/* v2 with no XSDT address: the RSDT. */
	CHECK_EQ_U64(acpi_find_table(A(rsdp(2, rs, NULL)), "FACP"), A(f_r));
	/* A revision-0 RSDP never looks at the XSDT field. */
	p = rsdp(0, rs, NULL);
	CHECK_EQ_U64(acpi_find_table(A(p), "HPET"), 0);

	/* An XSDT with a bad checksum: the RSDT instead; none valid: nothing. */
	xs[9]++;
	CHECK_EQ_U64(acpi_find_table(r, "FACP"), A(f_r));
	CHECK_EQ_U64(acpi_find_table(r, "HPET"), 0);
	CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, xs)), "FACP"), 0);
	xs[9]--;
	/* A bad RSDT checksum. */
	rs[20]++;
	CHECK_EQ_U64(acpi_find_table(A(rsdp(0, rs, NULL)), "FACP"), 0);
	rs[20]--;
	/* A root table with the wrong signature. */
	CHECK_EQ_U64(acpi_find_table(A(rsdp(0, xs, NULL)), "FACP"), 0);

	/* XSDT at an odd address: header and all entries misaligned. */
	p = zalloc(36 + 8 * 3 + 1);
	memcpy(p + 1, xs, 36 + 8 * 3);
	CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, p + 1)), "FACP"), A(f_x));

	/* Bad tables are skipped: a FACP with a bad checksum, one with a length
	 * below the header, one claiming 2 MiB (must not be summed), then a good
	 * one. */
	bad = table("FACP", 116);
	bad[50]++;
	shorty = table("FACP", 36);
	put32(shorty + 4, 30);
	fix(shorty, 36);
	big = table("FACP", 116);
	put32(big + 4, 2u << 20);
	{
		const uint8_t *ts[4] = { bad, shorty, big, f_x };

		r = A(rsdp(0, sdt("RSDT", ts, 3), NULL));
		CHECK_EQ_U64(acpi_find_table(r, "FACP"), 0);
		r = A(rsdp(2, NULL, sdt("XSDT", ts, 4)));
		CHECK_EQ_U64(acpi_find_table(r, "FACP"), A(f_x));
	}
	/* Root tables with bad lengths. */
	{
		uint8_t *x = sdt("XSDT", xt, 3);

		put32(x + 4, 2u << 20);
		fix(x, 36 + 24);
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "FACP"), 0);
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, rs, x)), "FACP"), A(f_r));
		x = sdt("XSDT", xt, 3);
		put32(x + 4, 35);
		fix(x, 36 + 24);
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "FACP"), 0);
		/* Shortened so that the FACP entry is outside the table. */
		x = sdt("XSDT", xt, 3);
		put32(x + 4, 36 + 16);
		fix(x, 36 + 16);
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "HPET"), A(hpet));
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "FACP"), 0);
		/* A trailing partial entry is ignored. */
		x = sdt("XSDT", xt, 3);
		put32(x + 4, 36 + 23);
		fix(x, 36 + 23);
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "HPET"), A(hpet));
		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, x)), "FACP"), 0);
	}
	/* Null entries are skipped. */
	{
		const uint8_t *ts[2] = { NULL, hpet };

		CHECK_EQ_U64(acpi_find_table(A(rsdp(2, NULL, sdt("XSDT", ts, 2))), "HPET"), A(hpet));
	}
	free_all();
}

static void test_pm_timer(void)
{
	struct acpi_pm_timer pm;
	uint64_t r;

	/* ACPI 1.0 FADT (116 bytes): PM_TMR_BLK, 24-bit. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x608, .pm_tmr_len = 4 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x608);
	CHECK(!pm.is_32bit);
	/* TMR_VAL_EXT (flags bit 8), other flags around it. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .flags = 0x1a5 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK(pm.is_32bit);
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .flags = 0xfffffeffu }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK(!pm.is_32bit);
	/* PM_TMR_LEN must be 4; PM_TMR_BLK must be a port. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x608, .pm_tmr_len = 3 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), (uint64_t)-1);
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0, .pm_tmr_len = 4 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), (uint64_t)-1);
	r = sys1(fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x10008, .pm_tmr_len = 4 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), (uint64_t)-1);
	CHECK_EQ_U64(pm.port, 0);

	/* ACPI 6 FADT (276 bytes): X_PM_TMR_BLK in System I/O wins. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .flags = 1u << 8, .x_space = 1, .x_addr = 0xb008 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0xb008);
	CHECK(pm.is_32bit);
	/* ... even when the legacy fields are empty. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .x_space = 1, .x_addr = 0x1808 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x1808);
	CHECK(!pm.is_32bit);
	/* X_PM_TMR_BLK in memory space, zero, or beyond the port range:
	 * PM_TMR_BLK. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .x_space = 0, .x_addr = 0xfed00000 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x608);
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .flags = 1u << 8, .x_space = 1, .x_addr = 0 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x608);
	CHECK(pm.is_32bit);
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .pm_tmr_blk = 0x608, .pm_tmr_len = 4,
					    .x_space = 1, .x_addr = 0x10000 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x608);
	/* Neither usable. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 276, .pm_tmr_len = 4, .x_space = 0,
					    .x_addr = 0xb008 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), (uint64_t)-1);
	/* A FADT too short to hold X_PM_TMR_BLK (ACPI 2.0 drafts: 212 bytes)
	 * uses PM_TMR_BLK; one shorter than ACPI 1.0's 116 bytes is refused. */
	r = sys1(fadt(&(struct fadt_spec){ .len = 219, .pm_tmr_blk = 0x408, .pm_tmr_len = 4,
					    .x_space = 1, .x_addr = 0xb008 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0x408);
	r = sys1(fadt(&(struct fadt_spec){ .len = 220, .pm_tmr_blk = 0x408, .pm_tmr_len = 4,
					    .x_space = 1, .x_addr = 0xb008 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
	CHECK_EQ_U64(pm.port, 0xb008);
	r = sys1(fadt(&(struct fadt_spec){ .len = 100, .pm_tmr_blk = 0x408, .pm_tmr_len = 4 }), NULL);
	CHECK_EQ_U64(acpi_pm_timer(r, &pm), (uint64_t)-1);
	/* Through an XSDT. */
	{
		const uint8_t *f = fadt(&(struct fadt_spec){ .len = 244, .pm_tmr_blk = 0x608,
							     .pm_tmr_len = 4, .x_space = 1, .x_addr = 0x608 });
		const uint8_t *ts[2] = { table("APIC", 44), f };

		r = A(rsdp(2, NULL, sdt("XSDT", ts, 2)));
		CHECK_EQ_U64(acpi_pm_timer(r, &pm), 0);
		CHECK_EQ_U64(pm.port, 0x608);
	}
	/* A FADT with a bad checksum, a missing FADT, no RSDP. */
	{
		uint8_t *f = fadt(&(struct fadt_spec){ .len = 116, .pm_tmr_blk = 0x608, .pm_tmr_len = 4 });

		f[100] ^= 1;
		pm.port = 0x1234;
		pm.is_32bit = true;
		CHECK_EQ_U64(acpi_pm_timer(sys1(f, NULL), &pm), (uint64_t)-1);
		CHECK_EQ_U64(pm.port, 0);
		CHECK(!pm.is_32bit);
	}
	CHECK_EQ_U64(acpi_pm_timer(sys1(table("APIC", 44), NULL), &pm), (uint64_t)-1);
	CHECK_EQ_U64(acpi_pm_timer(0, &pm), (uint64_t)-1);
	free_all();
}

static void test_scan(void)
{
	const size_t size = 0x20000;            /* like 0xE0000..0xFFFFF */
	const uint8_t *f = table("FACP", 116);
	const uint8_t *rs = sdt("RSDT", &f, 1), *xs = sdt("XSDT", &f, 1);
	uint8_t *bios = aligned_alloc(16, size);
	uint64_t b = A(bios);

	if (!bios)
		abort();
	memset(bios, 0xa5, size);
	CHECK_EQ_U64(acpi_scan_rsdp(b, size), 0);

	/* Bad checksum at 0x100, a valid one off the 16-byte grid at 0x208, a
	 * v2 with a bad extended checksum at 0x400, the real one at 0x1230. */
	rsdp_fill(bios + 0x100, 0, rs, NULL);
	bios[0x100 + 8] ^= 0x40;
	rsdp_fill(bios + 0x208, 0, rs, NULL);
	rsdp_fill(bios + 0x400, 2, rs, xs);
	bios[0x400 + 32] ^= 1;
	CHECK_EQ_U64(acpi_scan_rsdp(b, size), 0);
	rsdp_fill(bios + 0x1230, 2, rs, xs);
	CHECK_EQ_U64(acpi_scan_rsdp(b, size), b + 0x1230);
	CHECK_EQ_U64(acpi_find_table(acpi_scan_rsdp(b, size), "FACP"), A(f));
	/* An unaligned start is rounded up to the grid. */
	CHECK_EQ_U64(acpi_scan_rsdp(b + 1, size - 1), b + 0x1230);
	CHECK_EQ_U64(acpi_scan_rsdp(b + 0x1231, size - 0x1231), 0);
	/* It must lie wholly inside the range: 36 bytes of v2. */
	CHECK_EQ_U64(acpi_scan_rsdp(b, 0x1230 + 36), b + 0x1230);
	CHECK_EQ_U64(acpi_scan_rsdp(b, 0x1230 + 35), 0);
	CHECK_EQ_U64(acpi_scan_rsdp(b, 0x1230 + 20), 0);
	/* A v1 RSDP at the very end of the range (20 bytes). */
	memset(bios + 0x1230, 0xa5, 36);
	rsdp_fill(bios + size - 32, 0, rs, NULL);
	CHECK_EQ_U64(acpi_scan_rsdp(b, size), b + size - 32);
	CHECK_EQ_U64(acpi_scan_rsdp(b, size - 13), 0);
	/* The earlier bad candidate, once fixed, is found first. */
	bios[0x100 + 8] ^= 0x40;
	CHECK_EQ_U64(acpi_scan_rsdp(b, size), b + 0x100);
	CHECK_EQ_U64(acpi_scan_rsdp(b, 0), 0);
	CHECK_EQ_U64(acpi_scan_rsdp(b, 16), 0);
	free(bios);
	free_all();
}

/* MADT builder: entries appended to a buffer. */
struct madt {
	uint8_t buf[1024];
	uint32_t len;
};

static void madt_init(struct madt *m, uint32_t lapic)
{
	memset(m, 0, sizeof(*m));
	m->len = 44;
	put32(m->buf + 36, lapic);
	put32(m->buf + 40, 1);          /* PCAT_COMPAT */
}

static void madt_lapic(struct madt *m, uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t *e = m->buf + m->len;

	e[0] = 0; e[1] = 8; e[2] = uid; e[3] = id;
	put32(e + 4, flags);
	m->len += 8;
}

static void madt_x2apic(struct madt *m, uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t *e = m->buf + m->len;

	e[0] = 9; e[1] = 16;
	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
	m->len += 16;
}

static void madt_raw(struct madt *m, const uint8_t *e, unsigned n)
{
	memcpy(m->buf + m->len, e, n);
	m->len += n;
}

static uint64_t madt_sys(const struct madt *m)
{
	uint8_t *t = zalloc(m->len);

	memcpy(t, m->buf, m->len);
	hdr(t, "APIC", m->len, 5);
	fix(t, m->len);
	return sys1(table("FACP", 116), t);
}

static void test_madt(void)
{
	static const uint8_t ioapic[12] = { 1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0 };
	static const uint8_t nmi[6] = { 4, 6, 0xff, 5, 0, 1 };
	static const uint8_t iso[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
	uint8_t ovr[12] = { 5, 12, 0, 0 };
	struct madt m;
	uint32_t ids[8];
	unsigned n;
	uint64_t base, r;

	/* A typical mix. The x2APIC entries after the 6-byte NMI entry sit at
	 * misaligned offsets. */
	madt_init(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 0);                /* disabled: skipped */
	madt_lapic(&m, 2, 2, 2);                /* online capable */
	madt_lapic(&m, 3, 4, 3);
	madt_lapic(&m, 4, 0xff, 1);             /* not a usable ID */
	madt_raw(&m, ioapic, sizeof(ioapic));
	madt_raw(&m, iso, sizeof(iso));
	madt_raw(&m, nmi, sizeof(nmi));
	madt_x2apic(&m, 0x100, 1, 10);
	madt_x2apic(&m, 0x101, 0, 11);          /* disabled */
	madt_x2apic(&m, 0, 1, 12);              /* same CPU as LAPIC 0 */
	madt_x2apic(&m, 0x12345, 2, 13);
	madt_x2apic(&m, 0xffffffffu, 1, 14);
	r = madt_sys(&m);
	memset(ids, 0xee, sizeof(ids));
	n = 99;
	base = 0;
	CHECK_EQ_U64(acpi_madt_cpus(r, ids, 8, &n, &base), 0);
	CHECK_EQ_U64(n, 5);
	CHECK_EQ_U64(ids[0], 0);
	CHECK_EQ_U64(ids[1], 2);
	CHECK_EQ_U64(ids[2], 4);
	CHECK_EQ_U64(ids[3], 0x100);
	CHECK_EQ_U64(ids[4], 0x12345);
	CHECK_EQ_U64(ids[5], 0xeeeeeeee);
	CHECK_EQ_U64(base, 0xfee00000);
	/* Too small an array: truncated, reported. */
	CHECK_EQ_U64(acpi_madt_cpus(r, ids, 3, &n, NULL), 1);
	CHECK_EQ_U64(n, 3);
	CHECK_EQ_U64(ids[2], 4);
	CHECK_EQ_U64(acpi_madt_cpus(r, NULL, 0, &n, &base), 1);
	CHECK_EQ_U64(n, 0);
	CHECK_EQ_U64(acpi_madt_cpus(r, ids, 5, NULL, NULL), 0);
	CHECK_EQ_U64(acpi_madt_cpus(r, NULL, 5, &n, NULL), (uint64_t)-1);

	/* A Local APIC Address Override. */
	madt_init(&m, 0xfee00000);
	madt_lapic(&m, 0, 7, 1);
	put64(ovr + 4, 0x123fee00000ull);
	madt_raw(&m, ovr, sizeof(ovr));
	r = madt_sys(&m);
	CHECK_EQ_U64(acpi_madt_cpus(r, ids, 8, &n, &base), 0);
	CHECK_EQ_U64(n, 1);
	CHECK_EQ_U64(ids[0], 7);
	CHECK_EQ_U64(base, 0x123fee00000ull);

	/* No CPUs at all. */
	madt_init(&m, 0xfee00000);
	madt_raw(&m, ioapic, sizeof(ioapic));
	CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), 0);
	CHECK_EQ_U64(n, 0);

	/* Malformed: an entry of length 0, one running past the end, a LAPIC
	 * entry too short, an x2APIC entry too short. */
	{
		static const uint8_t zero[2] = { 0x7f, 0 };
		static const uint8_t past[4] = { 0x7f, 40, 0, 0 };
		static const uint8_t short_lapic[6] = { 0, 6, 0, 1, 1, 0 };
		static const uint8_t short_x2[12] = { 9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 };
		static const uint8_t lone[1] = { 0 };

		madt_init(&m, 0xfee00000);
		madt_lapic(&m, 0, 0, 1);
		madt_raw(&m, zero, sizeof(zero));
		n = 7;
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
		CHECK_EQ_U64(n, 0);
		madt_init(&m, 0xfee00000);
		madt_lapic(&m, 0, 0, 1);
		madt_raw(&m, past, sizeof(past));
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
		madt_init(&m, 0xfee00000);
		madt_raw(&m, short_lapic, sizeof(short_lapic));
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
		madt_init(&m, 0xfee00000);
		madt_raw(&m, short_x2, sizeof(short_x2));
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
		madt_init(&m, 0xfee00000);
		madt_lapic(&m, 0, 0, 1);
		madt_raw(&m, lone, sizeof(lone));
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
		/* A MADT shorter than its fixed fields. */
		m.len = 40;
		CHECK_EQ_U64(acpi_madt_cpus(madt_sys(&m), ids, 8, &n, &base), (uint64_t)-1);
	}

	/* A bad MADT checksum, and no MADT. */
	{
		uint8_t *t;

		madt_init(&m, 0xfee00000);
		madt_lapic(&m, 0, 0, 1);
		t = zalloc(m.len);
		memcpy(t, m.buf, m.len);
		hdr(t, "APIC", m.len, 5);
		fix(t, m.len);
		t[44 + 3] = 1;
		CHECK_EQ_U64(acpi_madt_cpus(sys1(t, NULL), ids, 8, &n, &base), (uint64_t)-1);
	}
	CHECK_EQ_U64(acpi_madt_cpus(sys1(table("FACP", 116), NULL), ids, 8, &n, &base),
		     (uint64_t)-1);
	CHECK_EQ_U64(acpi_madt_cpus(0, ids, 8, &n, &base), (uint64_t)-1);
	free_all();
}

int main(void)
{
	test_rsdp();
	test_find();
	test_pm_timer();
	test_scan();
	test_madt();
	return th_done();
}
