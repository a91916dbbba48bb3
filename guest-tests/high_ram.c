/* high_ram: guest RAM past 3 GiB, which tscvisor puts at 4 GiB, above the
 * MMIO hole (docs/platform.md). Run with memory > 3072 and the same size
 * on the command line (ram_mib=N). Checks:
 *   - the multiboot memory map: RAM [0, 0x9FC00), the reserved platform
 *     hole, RAM [1 MiB, 3 GiB) and RAM [4 GiB, 4 GiB + N MiB - 3 GiB);
 *   - the last page below 3 GiB, the first page at 4 GiB and the last page
 *     of high RAM keep what is written to them (a pattern that names each
 *     word's address), and a page of high RAM is not a page of low RAM
 *     (256 MiB and 4 GiB + 256 MiB hold different patterns);
 *   - the hole [3 GiB, 4 GiB) is not RAM: reads all-ones, writes dropped
 *     (at its start, in its middle, its last page), and so is what lies
 *     past the end of high RAM;
 *   - kvmclock takes an area in high RAM and refuses areas reaching into
 *     the hole or past high RAM (#GP); the pvclock window hypercall takes a
 *     page of high RAM and refuses the hole (-22).
 * The library maps only the first 4 GiB: high RAM is reached through a page
 * table of our own at WIN_VA. */
#include "guest.h"
#include "pvclock.h"

#define PG 4096ull
#define MIB (1ull << 20)
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define ADDR_MASK 0x000ffffffffff000ull
#define WIN_VA 0x40000000ull	/* 1 GiB: the 2 MiB this test maps itself */
#define LOW_END 0xc0000000ull	/* RAM below the hole ends here */
#define HIGH_BASE 0x100000000ull
#define HC_EINVAL (-22)

static u64 pt[512] __attribute__((aligned(4096)));
static u64 high_end;

/* Our own page table for [WIN_VA, WIN_VA + 2 MiB), in place of the
 * library's 2 MiB page there. */
static void map_install(void)
{
	pt_window_install(pt, WIN_VA);
}

/* Page i of the window onto guest-physical pa; its virtual address. */
static u64 map_page(unsigned i, u64 pa)
{
	return pt_window_map(pt, WIN_VA, i, pa);
}

static u64 word_of(u64 gpa, unsigned i)
{
	return (gpa + i * 8) * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull;
}

static void fill(u64 va, u64 gpa)
{
	volatile u64 *p = (volatile u64 *)(uintptr_t)va;

	for (unsigned i = 0; i < 512; i++)
		p[i] = word_of(gpa, i);
}

/* Words of the page at va that do not hold gpa's pattern. */
static unsigned bad_words(u64 va, u64 gpa)
{
	volatile const u64 *p = (volatile const u64 *)(uintptr_t)va;
	unsigned bad = 0;

	for (unsigned i = 0; i < 512; i++)
		bad += p[i] != word_of(gpa, i);
	return bad;
}

/* The page at va reads all-ones, before and after a write. */
static bool not_ram(u64 va)
{
	volatile u32 *p = (volatile u32 *)(uintptr_t)va;
	u32 before = p[0], last = p[1023], after;

	p[0] = 0x13572468;
	p[1023] = 0x24681357;
	after = p[0];
	return before == 0xffffffffu && last == 0xffffffffu && after == 0xffffffffu &&
	       p[1023] == 0xffffffffu;
}

static void check_map(const struct mb_info *mbi, u64 want_mib)
{
	static const u64 want[4][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x100000 - 0x9fc00, 2 }, { 0x100000, LOW_END - 0x100000, 1 },
		{ HIGH_BASE, 0, 1 },
	};
	unsigned n = 0, bad = 0;

	if (!(mbi->flags & MB_INFO_MMAP)) {
		ok(false, "the loader gives a memory map");
		return;
	}
	for (u32 off = 0; off < mbi->mmap_length && n < 8; n++) {
		const struct mb_mmap_entry *e = phys_ptr(mbi->mmap_addr + off);
		u64 len = n == 3 ? (want_mib << 20) - LOW_END : (n < 4 ? want[n][1] : 0);

		diag("map %u: 0x%llx +0x%llx type %u", n, (unsigned long long)e->base,
		     (unsigned long long)e->length, e->type);
		if (n >= 4 || e->base != want[n][0] || e->length != len || e->type != want[n][2])
			bad++;
		off += e->size + 4;
	}
	ok(n == 4 && bad == 0,
	   "memory map: RAM to 0x9fc00, reserved to 1 MiB, RAM to 3 GiB, RAM [4 GiB, 0x%llx) "
	   "(%u entries, %u wrong)", (unsigned long long)high_end, n, bad);
}

static void check_kvmclock(void)
{
	const u64 refused[] = {
		(LOW_END - 16) | 1, LOW_END | 1, (HIGH_BASE - 16) | 1, (HIGH_BASE - 32) | 1,
		(high_end - 16) | 1, high_end | 1,
	};
	u64 gpa = HIGH_BASE + 2 * MIB + 64;
	volatile const struct pvclock_area *a = (const void *)(uintptr_t)(map_page(4, gpa) + 64);
	unsigned bad = 0;
	int vec;
	u32 version;

	vec = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, gpa | 1);
	version = a->version;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	ok(vec == -1 && version != 0 && !(version & 1) && a->tsc_to_system_mul != 0,
	   "kvmclock area at 0x%llx, in high RAM: taken (vector %d, version %u, mul %u)",
	   (unsigned long long)gpa, vec, version, a->tsc_to_system_mul);
	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		int v = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, refused[i]);

		if (v != 13) {
			bad++;
			diag("system time 0x%llx: vector %d", (unsigned long long)refused[i], v);
		}
	}
	ok(bad == 0, "kvmclock areas reaching into the hole or past high RAM: #GP (%u of %u not)",
	   bad, (unsigned)ARRAY_SIZE(refused));
}

static void check_window(void)
{
	const u64 refused[] = { LOW_END, 0xfee00000ull, HIGH_BASE - PG, high_end, high_end + PG };
	unsigned bad = 0;
	s64 r, off;

	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		r = tv_hypercall(TV_HC_PVCLOCK_WINDOW, refused[i], 0, 0, 0);
		if (r != HC_EINVAL) {
			bad++;
			diag("window at 0x%llx: %lld", (unsigned long long)refused[i], (long long)r);
		}
	}
	r = tv_hypercall(TV_HC_PVCLOCK_WINDOW, high_end - PG, 0, 0, 0);
	off = tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0);
	ok(bad == 0 && r == 0 && off == 0,
	   "pvclock window: the last page of high RAM taken (%lld), removed (%lld); "
	   "%u of %u GPAs in the hole or past RAM not refused", (long long)r, (long long)off, bad,
	   (unsigned)ARRAY_SIZE(refused));
}

void test_main(const struct mb_info *mbi)
{
	bool given = false;
	u64 want_mib = cmdline_u64("ram_mib", 0, &given), va;
	const u64 low_last = LOW_END - PG, alias_low = 256 * MIB, alias_high = HIGH_BASE + 256 * MIB;
	unsigned b1, b2;
	u32 max;

	plan(10);
	if (!given || want_mib <= 3072 + 258)
		skip_rest("needs ram_mib=N, N > 3330 (RAM past 3 GiB + 258 MiB)");
	if (!tv_signature(&max))
		skip_rest("not under tscvisor: the platform's layout is its own");
	high_end = HIGH_BASE + (want_mib << 20) - LOW_END;
	check_map(mbi, want_mib);
	map_install();

	fill(low_last, low_last);
	va = map_page(0, HIGH_BASE);
	fill(va, HIGH_BASE);
	va = map_page(1, high_end - PG);
	fill(va, high_end - PG);
	ok(bad_words(low_last, low_last) == 0, "the last page below 3 GiB (0x%llx) keeps a pattern",
	   (unsigned long long)low_last);
	ok(bad_words(map_page(0, HIGH_BASE), HIGH_BASE) == 0,
	   "the first page of high RAM (4 GiB) keeps a pattern");
	ok(bad_words(map_page(1, high_end - PG), high_end - PG) == 0,
	   "the last page of high RAM (0x%llx) keeps a pattern", (unsigned long long)(high_end - PG));

	fill(alias_low, alias_low);
	fill(map_page(2, alias_high), alias_high);
	b1 = bad_words(alias_low, alias_low);
	b2 = bad_words(map_page(2, alias_high), alias_high);
	ok(b1 == 0 && b2 == 0 && bad_words(low_last, low_last) == 0,
	   "0x%llx and 0x%llx are different RAM (%u, %u words changed)",
	   (unsigned long long)alias_low, (unsigned long long)alias_high, b1, b2);

	ok(not_ram(LOW_END) && not_ram(LOW_END + 256 * MIB) && not_ram(0xfffff000ull),
	   "the hole is not RAM: 3 GiB, 3 GiB + 256 MiB and 4 GiB - 4 KiB read all-ones, writes dropped");
	ok(not_ram(map_page(3, high_end)) && not_ram(map_page(3, high_end + 2 * MIB - PG)),
	   "past high RAM (0x%llx, +2 MiB - 4 KiB): all-ones, writes dropped",
	   (unsigned long long)high_end);
	check_kvmclock();
	check_window();
}
