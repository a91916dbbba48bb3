/* libFuzzer target for pure/acpi.c, which parses the firmware's ACPI
 * tables (RSDP, XSDT/RSDT, FADT, MADT) at boot.
 *
 * The parser follows physical addresses, so a raw byte image cannot be fed
 * to it: the harness builds a table set from the input instead, in an arena
 * below 4 GiB (RSDT entries are 32-bit) where every byte outside the live
 * tables is ASan-poisoned, so a read past any table's end is caught. Each
 * pointer the harness writes (RSDP -> XSDT/RSDT -> tables) names the start
 * of a table it allocated, or 0; everything else is the fuzzer's:
 *
 *   [0] flags: 0 RSDP revision 2, 1 fix table checksums, 2 XSDT address 0,
 *       3 spoil the XSDT checksum, 4 misalign the XSDT, 5 spoil the RSDP
 *       checksum, 6..7 cap on the MADT CPU count (0, 1, 4, 64)
 *   [1] which tables the RSDT lists (bit i: table i), the XSDT lists all
 *   then up to 8 tables: [sig][len lo][len hi][bytes...]; sig % 5 picks
 *       FACP, APIC, XSDT, RSDT or the first 4 body bytes; the header length
 *       field is len (even below 36), the table is max(len, 36) bytes,
 *       filled from the body and then zeros.
 *
 * The input also goes through acpi_scan_rsdp() as a raw 16-byte-aligned
 * image of exactly its size.
 *
 * Invariants: a found table is one of ours, has the signature asked for,
 * a length of 36..its size, and sums to 0; acpi_pm_timer() gives a non-zero
 * port or -1 with *out zeroed; acpi_madt_cpus() stores at most max IDs,
 * without duplicates, never 0xffffffff, writes nothing past max, and -1
 * means count 0; an RSDP found by the scan lies in the image, on a 16-byte boundary,
 * with a valid checksum. Run through `make fuzz`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <tscvisor/acpi.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__has_feature)
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA_SIZE (1u << 20)
#define MAX_TABLES 8
#define MAX_TABLE_LEN 1024

static uint8_t *arena;
static size_t used;

static uint8_t *zalloc(size_t n, size_t misalign)
{
	uint8_t *p;

	if (n + misalign + 64 > ARENA_SIZE - used)
		abort();
	p = arena + used + 32 + misalign;
	used += 32 + misalign + ((n + 15) & ~(size_t)15);
	UNPOISON(p, n);
	memset(p, 0, n);
	return p;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Sets byte 9 (the SDT checksum) so the first n bytes sum to 0. */
static void seal(uint8_t *t, size_t n)
{
	t[9] = 0;
	t[9] = (uint8_t)(0 - sum(t, n));
}

static uint8_t *tabs[MAX_TABLES + 2];
static size_t tab_size[MAX_TABLES + 2];
static unsigned ntabs;

static bool is_ours(uint64_t a, size_t *sz)
{
	for (unsigned i = 0; i < ntabs; i++)
		if ((uint64_t)(uintptr_t)tabs[i] == a) {
			*sz = tab_size[i];
			return true;
		}
	return false;
}

static void check_found(uint64_t a, const char *sig)
{
	size_t sz;
	uint32_t len;

	if (!a)
		return;
	if (!is_ours(a, &sz))
		abort();                        /* not a table we made */
	const uint8_t *p = (const uint8_t *)(uintptr_t)a;
	len = get32(p + 4);
	if (memcmp(p, sig, 4) != 0 || len < 36 || len > sz || sum(p, len) != 0)
		abort();
}

static void scan_raw(const uint8_t *data, size_t size)
{
	uint8_t *img;
	uint64_t a, start;

	if (size < 20 || size > 4096)
		return;
	img = zalloc(size, 0);                  /* 16-byte aligned */
	memcpy(img, data, size);
	start = (uint64_t)(uintptr_t)img + (data[0] & 15);
	a = acpi_scan_rsdp(start, (uint64_t)(uintptr_t)img + size - start);
	if (a) {
		if (a < start || a + 20 > (uint64_t)(uintptr_t)img + size || (a & 15))
			abort();
		const uint8_t *r = (const uint8_t *)(uintptr_t)a;
		if (memcmp(r, "RSD PTR ", 8) != 0 || sum(r, 20) != 0)
			abort();
		if (r[15] >= 2 && (get32(r + 20) < 36 ||
				   a + get32(r + 20) > (uint64_t)(uintptr_t)img + size ||
				   sum(r, get32(r + 20)) != 0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sigs[] = { "FACP", "APIC", "XSDT", "RSDT" };
	static const unsigned caps[] = { 0, 1, 4, 64 };
	uint8_t flags, rsdt_mask, *rsdp, *xsdt, *rsdt;
	uint32_t ids[64];
	unsigned count, max, i, nrsdt = 0;
	uint64_t lapic, r;
	struct acpi_pm_timer pm;
	size_t pos = 2;
	int rc;

	if (!arena) {
		void *m = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

		if (m == MAP_FAILED || (uintptr_t)m + ARENA_SIZE > 0x100000000ull)
			abort();
		arena = m;
	}
	POISON(arena, ARENA_SIZE);
	used = 0;
	ntabs = 0;
	if (size < 2)
		return 0;
	flags = data[0];
	rsdt_mask = data[1];

	while (ntabs < MAX_TABLES && size - pos >= 3) {
		uint8_t s = data[pos];
		size_t len = (size_t)(data[pos + 1] | (data[pos + 2] << 8)) % (MAX_TABLE_LEN + 1);
		size_t alloc = len < 36 ? 36 : len, body;
		uint8_t *t;

		pos += 3;
		body = size - pos < alloc ? size - pos : alloc;
		t = zalloc(alloc, 0);
		memcpy(t, data + pos, body);
		pos += body;
		if (s % 5 < 4)
			memcpy(t, sigs[s % 5], 4);
		put32(t + 4, (uint32_t)len);
		if (flags & 2)
			seal(t, len < 36 ? 36 : len);
		tabs[ntabs] = t;
		tab_size[ntabs++] = alloc;
	}

	/* XSDT lists every table, the RSDT those in rsdt_mask. */
	xsdt = zalloc(36 + 8 * ntabs, (flags & 16) ? 4 : 0);
	rsdt = zalloc(36 + 4 * ntabs, 0);
	memcpy(xsdt, "XSDT", 4);
	memcpy(rsdt, "RSDT", 4);
	for (i = 0; i < ntabs; i++) {
		put64(xsdt + 36 + 8 * i, (uint64_t)(uintptr_t)tabs[i]);
		if (rsdt_mask & (1u << i))
			put32(rsdt + 36 + 4 * nrsdt++, (uint32_t)(uintptr_t)tabs[i]);
	}
	put32(xsdt + 4, 36 + 8 * ntabs);
	put32(rsdt + 4, 36 + 4 * nrsdt);
	seal(xsdt, 36 + 8 * ntabs);
	if (flags & 8)
		xsdt[9] ^= 1;
	seal(rsdt, 36 + 4 * nrsdt);
	tabs[ntabs] = xsdt;
	tab_size[ntabs] = 36 + 8 * ntabs;
	ntabs++;
	tabs[ntabs] = rsdt;
	tab_size[ntabs++] = 36 + 4 * nrsdt;

	rsdp = zalloc((flags & 1) ? 36 : 20, 0);
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = (flags & 1) ? 2 : 0;
	put32(rsdp + 16, (uint32_t)(uintptr_t)rsdt);
	if (flags & 1) {
		put32(rsdp + 20, 36);
		put64(rsdp + 24, (flags & 4) ? 0 : (uint64_t)(uintptr_t)xsdt);
	}
	rsdp[8] = (uint8_t)(0 - sum(rsdp, 20));
	if (flags & 1)
		rsdp[32] = (uint8_t)(0 - sum(rsdp, 36));
	if (flags & 32)
		rsdp[8] ^= 0x80;
	r = (uint64_t)(uintptr_t)rsdp;

	if (acpi_rsdp_valid(r) == !!(flags & 32))
		abort();                        /* checksum decides validity */
	check_found(acpi_find_table(r, "FACP"), "FACP");
	check_found(acpi_find_table(r, "APIC"), "APIC");
	if (pos < size) {
		char sig[4] = { (char)data[size - 1], 'A', 'B', (char)data[pos] };

		check_found(acpi_find_table(r, sig), sig);
	}

	memset(&pm, 0xa5, sizeof(pm));
	rc = acpi_pm_timer(r, &pm);
	if (rc == 0 ? pm.port == 0 : (rc != -1 || pm.port != 0 || pm.is_32bit))
		abort();

	max = caps[flags >> 6];
	memset(ids, 0xa5, sizeof(ids));
	count = 12345;
	lapic = 0;
	rc = acpi_madt_cpus(r, max ? ids : NULL, max, &count, &lapic);
	if (rc < -1 || rc > 1 || (rc == -1 && count != 0) || count > max)
		abort();
	for (i = 0; i < count; i++) {
		if (ids[i] == 0xffffffffu)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (ids[i] == ids[j])
				abort();        /* a duplicate */
	}
	for (i = max; i < 64; i++)
		if (ids[i] != 0xa5a5a5a5u)
			abort();                /* wrote past max */

	scan_raw(data, size);
	return 0;
}
