/* hostile_mem — a guest that reaches for guest-physical addresses it has no
 * RAM at, and the answers the hypervisor owes it: all-ones reads and dropped
 * writes for unbacked addresses, #GP for kvmclock areas outside RAM, an error
 * for a pvclock window outside RAM, the VM ended with a reason when its own
 * page tables live outside RAM, and never a byte of the host.
 *
 * do=contain (the default; under tscvisor only, else SKIP) checks, and must
 * PASS:
 *   - the multiboot memory map's RAM ends where the config says (ram_mib=N);
 *   - the last byte of RAM reads and writes normally;
 *   - every 4 KiB page of [RAM end, RAM end + 2 MiB) reads all-ones at its
 *     first and last bytes (host memory there would be the hypervisor's
 *     own: an odd `memory` once mapped it) and drops a write;
 *   - the MMIO hole: 0xC0000000, 0xFEC01000 (the page above the IOAPIC's),
 *     0xFED00000 (no HPET) and 0xFFFFF000 read all-ones and drop writes; 0xFEE00000 answers
 *     as the local APIC (version register, ID 0);
 *   - through the guest's own page tables (a 4 KiB PT it installs): a PTE
 *     onto a page past RAM reads all-ones; PTEs onto 1 << 40 and
 *     (1 << 52) - 4096 give #PF (reserved bits at or above MAXPHYADDR) or
 *     all-ones, nothing else; a PTE onto the last page of RAM aliases it;
 *   - kvmclock MSRs (system time, wall clock, new and old numbers) naming
 *     GPAs past RAM, in the MMIO hole, the LAPIC page, across a page, and
 *     values whose end wraps past 2^64 raise #GP; the last area that fits
 *     in RAM is accepted;
 *   - hypercall 4 (pvclock window) with a GPA past RAM, unaligned, in the
 *     hole, the LAPIC page, huge: -22 (EINVAL); the last page of RAM: 0,
 *     and with the window there the page past RAM still reads all-ones;
 *   - the decode cache: the same RIP, remapped (INVLPG only, same CR3)
 *     from a page holding a 2-byte MMIO load into EAX to one holding a
 *     3-byte MMIO load into RCX, runs each instruction as it is.
 * do=pde-past-ram: a PDE pointing at a page table past RAM, then a load
 *   through it. do=cr3-past-ram: CR3 loaded with an address past RAM. The
 *   hypervisor cannot give the architectural answer (all-ones table entries:
 *   a reserved-bit #PF) without emulating the walk, and must end the VM
 *   with a reason; each prints "not ok" if it survives. */
#include "guest.h"
#include "pvclock.h"

#define PG 4096ull
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull
#define WIN_VA 0x40000000ull	/* 1 GiB: the 2 MiB the test maps itself */
#define UNBACKED 0xc0000000ull
#define HC_EINVAL (-22)

static u64 pt[512] __attribute__((aligned(4096)));
static u8 code_a[4096] __attribute__((aligned(4096)));
static u8 code_b[4096] __attribute__((aligned(4096)));
static u64 ram_end;

/* Our own page table for [WIN_VA, WIN_VA + 2 MiB); page i onto pa. */
static void map_install(void)
{
	pt_window_install(pt, WIN_VA);
}

static u64 map_page(unsigned i, u64 pa)
{
	return pt_window_map(pt, WIN_VA, i, pa);
}

/* A 4-byte load that may fault: the vector, or -1 with *val set. */
static int load32(u64 va, u32 *val)
{
	u32 v = 0;

	fault_arm();
	__asm__ volatile("1: movl (%1), %0\n2:\n\t" EXTABLE("1b", "2b")
			 : "+r"(v) : "r"(va) : "memory");
	*val = v;
	return fault_seen();
}

static u32 rd32(u64 a) { return *(volatile u32 *)(uintptr_t)a; }
static u64 rd64(u64 a) { return *(volatile u64 *)(uintptr_t)a; }
static void wr32(u64 a, u32 v) { *(volatile u32 *)(uintptr_t)a = v; }

static void check_ram_edges(void)
{
	volatile u8 *last = (volatile u8 *)(uintptr_t)(ram_end - 1);
	u8 keep = *last;
	unsigned bad_read = 0, bad_write = 0, wrote = 0, nonzero = 0;
	u64 first_bad = 0, first_val = 0, nz_at = 0, nz_val = 0;

	*last = 0xa5;
	ok(*last == 0xa5, "the last byte of RAM (0x%llx) reads back what was written",
	   (unsigned long long)(ram_end - 1));
	*last = keep;

	/* Reads first, every page; writes only where nothing was there (a
	 * host page mapped here must not be written). */
	for (u64 a = ram_end; a < ram_end + (2ull << 20); a += PG) {
		u32 v0 = rd32(a);
		u64 v1 = rd64(a + PG - 8);

		if (v0 != 0xffffffffu || v1 != ~0ull) {
			if (!bad_read++) {
				first_bad = a;
				first_val = v0 != 0xffffffffu ? v0 : v1;
			}
			/* Neither all-ones nor zero: somebody's data. */
			if ((v0 && v0 != 0xffffffffu) || (v1 && v1 != ~0ull)) {
				if (!nonzero++) {
					nz_at = v0 && v0 != 0xffffffffu ? a : a + PG - 8;
					nz_val = v0 && v0 != 0xffffffffu ? v0 : v1;
				}
			}
		}
	}
	if (nonzero)
		diag("past RAM: %u pages hold data, e.g. 0x%llx at 0x%llx", nonzero,
		     (unsigned long long)nz_val, (unsigned long long)nz_at);
	ok(bad_read == 0, "past RAM: 512 pages from 0x%llx read all-ones (%u did not; first 0x%llx: 0x%llx)",
	   (unsigned long long)ram_end, bad_read, (unsigned long long)first_bad,
	   (unsigned long long)first_val);
	if (bad_read) {
		skip("past RAM held something: not written to");
		return;
	}
	for (u64 a = ram_end; a < ram_end + (2ull << 20); a += PG) {
		wr32(a + 64, 0x5a5a0000u | (u32)(a >> 12));
		wrote++;
		if (rd32(a + 64) != 0xffffffffu)
			bad_write++;
	}
	ok(bad_write == 0, "past RAM: writes to %u pages dropped (%u read back otherwise)", wrote,
	   bad_write);
}

static void check_hole(void)
{
	static const struct { u64 gpa; const char *what; } hole[] = {
		{ 0xc0000000ull, "the hole's start" },
		{ 0xfec01000ull, "above the IOAPIC's page" },
		{ 0xfed00000ull, "where an HPET would be" },
		{ 0xfffff000ull, "the hole's last page" },
	};
	u32 ver, id;

	for (unsigned i = 0; i < ARRAY_SIZE(hole); i++) {
		u64 a = hole[i].gpa;
		u32 before = rd32(a), after;

		wr32(a, 0x13572468);
		after = rd32(a);
		ok(before == 0xffffffffu && after == 0xffffffffu && rd64(a + 8) == ~0ull,
		   "MMIO hole 0x%llx (%s): all-ones (0x%x, 0x%x after a write)",
		   (unsigned long long)a, hole[i].what, before, after);
	}
	ver = rd32(0xfee00030);
	id = rd32(0xfee00020);
	ok((ver & 0xff) >= 0x10 && ver != 0xffffffffu && (id >> 24) == 0,
	   "0xFEE00000 is the local APIC: version 0x%x, ID %u", ver, id >> 24);
}

static void check_guest_tables(void)
{
	u32 maxphy = cpuid(0x80000000).eax >= 0x80000008 ? cpuid(0x80000008).eax & 0xff : 36;
	static const u64 big[] = { 1ull << 40, (1ull << 52) - PG };
	u32 v = 0;
	int vec;
	u64 va;

	map_install();
	va = map_page(1, ram_end + (1ull << 20));
	vec = load32(va, &v);
	wr32(va + 4, 0x11223344);
	ok(vec == -1 && v == 0xffffffffu && rd32(va + 4) == 0xffffffffu,
	   "a guest PTE onto 0x%llx (past RAM): all-ones, write dropped (vector %d, 0x%x)",
	   (unsigned long long)(ram_end + (1ull << 20)), vec, v);
	for (unsigned i = 0; i < ARRAY_SIZE(big); i++) {
		va = map_page(2 + i, big[i]);
		v = 0;
		vec = load32(va, &v);
		ok((vec == 14 && big[i] >> maxphy) || (vec == -1 && v == 0xffffffffu),
		   "a guest PTE onto GPA 0x%llx: %s (vector %d, 0x%x; MAXPHYADDR %u)",
		   (unsigned long long)big[i], vec == 14 ? "#PF" : "all-ones", vec, v, maxphy);
	}
	va = map_page(4, ram_end - PG);
	wr32(ram_end - PG + 16, 0xfeedf00d);
	ok(rd32(va + 16) == 0xfeedf00d, "a guest PTE onto the last page of RAM aliases it");
}

static void check_kvmclock(void)
{
	const u64 sys[] = {
		ram_end | 1, (ram_end + PG) | 1, (ram_end - 16) | 1 /* runs past the end */,
		UNBACKED | 1, 0xfee00000ull | 1, 0x1ff0 | 1 /* 32 bytes across 0x2000 */,
		0xffffffffffffffe1ull /* end wraps */, (1ull << 63) | 1, (1ull << 40) | 1,
	};
	const u64 wall[] = { ram_end, ram_end - 8, UNBACKED, 0xfffffffffffffffcull, 1ull << 63, 0xffc };
	unsigned bad = 0;
	int vec;

	for (unsigned i = 0; i < ARRAY_SIZE(sys); i++) {
		int n = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, sys[i]);
		int o = wrmsr_safe(MSR_KVM_SYSTEM_TIME_OLD, sys[i]);

		if (n != 13 || o != 13) {
			bad++;
			diag("system time 0x%llx: vectors %d %d", (unsigned long long)sys[i], n, o);
		}
	}
	ok(bad == 0, "kvmclock system time at %u GPAs outside RAM or wrapping: #GP",
	   (unsigned)ARRAY_SIZE(sys));
	bad = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(wall); i++) {
		int n = wrmsr_safe(MSR_KVM_WALL_CLOCK_NEW, wall[i]);
		int o = wrmsr_safe(MSR_KVM_WALL_CLOCK_OLD, wall[i]);

		if (n != 13 || o != 13) {
			bad++;
			diag("wall clock 0x%llx: vectors %d %d", (unsigned long long)wall[i], n, o);
		}
	}
	ok(bad == 0, "kvmclock wall clock at %u GPAs outside RAM or wrapping: #GP",
	   (unsigned)ARRAY_SIZE(wall));
	vec = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, (ram_end - 32) | 1);
	{
		volatile const struct pvclock_area *a = phys_ptr(ram_end - 32);
		u32 version = a->version;

		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
		ok(vec == -1 && version != 0 && !(version & 1),
		   "the last 32 bytes of RAM take the kvmclock area (vector %d, version %u)", vec,
		   version);
	}
}

static void check_window(void)
{
	const u64 refused[] = {
		ram_end, ram_end + PG, ram_end + (2ull << 20), 0x1001, ram_end - PG + 8, UNBACKED,
		0xfee00000ull, 1ull << 40, 1ull << 63, ~0xfffull,
	};
	unsigned bad = 0;
	s64 r;

	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		r = tv_hypercall(TV_HC_PVCLOCK_WINDOW, refused[i], 0, 0, 0);
		if (r != HC_EINVAL) {
			bad++;
			diag("window at 0x%llx: %lld", (unsigned long long)refused[i], (long long)r);
		}
	}
	ok(bad == 0, "hypercall 4 (pvclock window) at %u GPAs not a page of RAM: -22",
	   (unsigned)ARRAY_SIZE(refused));
	r = tv_hypercall(TV_HC_PVCLOCK_WINDOW, ram_end - PG, 0, 0, 0);
	{
		u32 past = rd32(ram_end), past_last = rd32(ram_end + (2ull << 20) - 4);
		s64 off = tv_hypercall(TV_HC_PVCLOCK_WINDOW, 0, 0, 0, 0);

		ok(r == 0 && off == 0 && past == 0xffffffffu && past_last == 0xffffffffu,
		   "a window on the last page of RAM is taken (%lld), past RAM still all-ones "
		   "(0x%x 0x%x), removed (%lld)", (long long)r, past, past_last, (long long)off);
	}
}

/* Runs the code at va with RBX = an unbacked GPA: the instruction there is
 * an MMIO load the hypervisor emulates from its decode. */
static void run_at(u64 va, u64 *rax, u64 *rcx)
{
	u64 a = 0x1111111111111111ull, c = 0x2222222222222222ull;

	__asm__ volatile("call *%%rdx" : "+a"(a), "+c"(c) : "d"(va), "b"(UNBACKED)
			 : "memory", "cc");
	*rax = a;
	*rcx = c;
}

static void check_decode_remap(void)
{
	/* A: mov (%rbx),%eax; ret. B: mov (%rbx),%rcx; ret; ret. A decode of
	 * A reused at B's RIP would write EAX and resume at B+2, where
	 * "or %ebx,%eax; ret" leaves RAX changed and RCX not. */
	static const u8 a_bytes[] = { 0x8b, 0x03, 0xc3 };
	static const u8 b_bytes[] = { 0x48, 0x8b, 0x0b, 0xc3, 0xc3 };
	unsigned bad = 0;
	u64 va = WIN_VA + 8 * PG, rax, rcx;

	memcpy(code_a, a_bytes, sizeof(a_bytes));
	memcpy(code_b, b_bytes, sizeof(b_bytes));
	for (unsigned round = 0; round < 3; round++) {
		map_page(8, (u64)(uintptr_t)code_a);
		run_at(va, &rax, &rcx);
		if (rax != 0xffffffffull || rcx != 0x2222222222222222ull) {
			bad++;
			diag("round %u, page A: RAX 0x%llx RCX 0x%llx", round, (unsigned long long)rax,
			     (unsigned long long)rcx);
		}
		map_page(8, (u64)(uintptr_t)code_b);   /* same RIP, same CR3, INVLPG */
		run_at(va, &rax, &rcx);
		if (rax != 0x1111111111111111ull || rcx != ~0ull) {
			bad++;
			diag("round %u, page B: RAX 0x%llx RCX 0x%llx", round, (unsigned long long)rax,
			     (unsigned long long)rcx);
		}
	}
	ok(bad == 0, "decode cache: one RIP remapped between a 2-byte and a 3-byte MMIO load "
	   "runs each as it is (%u of 6 wrong)", bad);
}

/* Calls the code at va: RCX in and out (RDTSC leaves it, RDTSCP sets it
 * to TSC_AUX). */
static u64 run_tsc_at(u64 va)
{
	u64 a, c = 0x2222222222222222ull, d;

	__asm__ volatile("call *%%rsi" : "=a"(a), "+c"(c), "=d"(d) : "S"(va) : "memory", "cc");
	(void)a;
	(void)d;
	return c;
}

/* The exit fast path without NRIPS (QEMU SVM, emulate mode) takes an RDTSC
 * exit's length from the bytes of the page it recorded at the last slow
 * decode; a guest that remaps that page must get the new instruction, both
 * when it invalidates with INVLPG and with a reload of the same CR3.
 * A: rdtsc; ret; ret. B: rdtscp; ret. A length of 2 used at B resumes at
 * B+2 (STC; RET) with RCX untouched; a length of 3 at A resumes at A+3
 * (RET) with RCX set. Each page runs 3 times so that the later runs are
 * answered from the recorded page. Without RDTSCP only A runs. */
static void check_fast_remap(void)
{
	static const u8 a_bytes[] = { 0x0f, 0x31, 0xc3, 0xc3 };
	static const u8 b_bytes[] = { 0x0f, 0x01, 0xf9, 0xc3 };
	const u64 aux = 0x5a5a;
	bool rdtscp = cpuid(0x80000001).edx & (1u << 27);
	unsigned bad = 0, runs = 0;
	u64 va = WIN_VA + 9 * PG, off = 0xff8;   /* 4 bytes at the page's end */

	memcpy(code_a + off, a_bytes, sizeof(a_bytes));
	memcpy(code_b + off, b_bytes, sizeof(b_bytes));
	if (rdtscp)
		wrmsr(0xc0000103, aux);   /* IA32_TSC_AUX */
	for (unsigned round = 0; round < 4; round++) {
		bool use_b = rdtscp && (round & 1);
		u64 pa = (u64)(uintptr_t)(use_b ? code_b : code_a);

		if (round < 2) {
			map_page(9, pa);                  /* INVLPG */
		} else {
			pt[9] = (pa & ADDR_MASK) | PTE_P | PTE_RW;
			__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
		}
		for (unsigned i = 0; i < 3; i++, runs++) {
			u64 c = run_tsc_at(va + off), want = use_b ? aux : 0x2222222222222222ull;

			if (c != want) {
				bad++;
				diag("round %u (%s, %s), run %u: RCX 0x%llx, want 0x%llx", round,
				     use_b ? "RDTSCP" : "RDTSC", round < 2 ? "INVLPG" : "CR3 reload", i,
				     (unsigned long long)c, (unsigned long long)want);
			}
		}
	}
	ok(bad == 0, "exit fast path: RDTSC and RDTSCP at one RIP, remapped with INVLPG and with "
	   "a CR3 reload, each run as it is (%u of %u wrong%s)", bad, runs,
	   rdtscp ? "" : "; no RDTSCP: RDTSC only");
}

static NORETURN void end_badly(const char *what)
{
	ok(false, "%s: the guest went on after it; the hypervisor should have ended this VM",
	   what);
	done();
}

void test_main(const struct mb_info *mbi)
{
	char what[24];
	bool given = false;
	u64 want_mib = cmdline_u64("ram_mib", 0, &given), t0, t1;
	u32 max;

	if (!cmdline_get("do", what, sizeof(what)))
		memcpy(what, "contain", 8);
	ram_end = mb_ram_end(mbi);
	if (!strncmp(what, "pde-past-ram", 13)) {
		u32 v = 0;

		plan(1);
		map_install();
		*pde_of(WIN_VA) = (ram_end + (4ull << 20)) | PTE_P | PTE_RW;   /* a PT past RAM */
		invlpg(WIN_VA);
		diag("PDE of 0x%llx -> a page table at 0x%llx, then a load", (unsigned long long)WIN_VA,
		     (unsigned long long)(ram_end + (4ull << 20)));
		v = rd32(WIN_VA);
		diag("read 0x%x", v);
		end_badly("a load through a page table past RAM");
	}
	if (!strncmp(what, "cr3-past-ram", 13)) {
		plan(1);
		diag("CR3 <- 0x%llx (past RAM)", (unsigned long long)(ram_end + (4ull << 20)));
		__asm__ volatile("mov %0, %%cr3" : : "r"(ram_end + (4ull << 20)) : "memory");
		end_badly("CR3 past RAM");
	}
	if (strncmp(what, "contain", 8)) {
		plan(1);
		ok(false, "do=%s: expected contain, pde-past-ram or cr3-past-ram", what);
		done();
	}
	plan(21);
	t0 = rdtsc();
	if (!tv_signature(&max))
		skip_rest("not under tscvisor: the platform's answers are its own");
	ok(ram_end && ram_end % (2ull << 20) == 0 && (!given || ram_end == want_mib << 20),
	   "the memory map's RAM ends at 0x%llx (%llu MiB; config says %llu)",
	   (unsigned long long)ram_end, (unsigned long long)(ram_end >> 20),
	   (unsigned long long)want_mib);
	if (!ram_end)
		skip_rest("no memory map");
	check_ram_edges();        /* 3 */
	check_hole();             /* 5 */
	check_guest_tables();     /* 4 */
	check_kvmclock();         /* 3 */
	check_window();           /* 2 */
	check_decode_remap();     /* 1 */
	check_fast_remap();       /* 1 */
	t1 = rdtsc();
	ok(t1 > t0, "after all that the TSC still runs forward (%llu ticks)",
	   (unsigned long long)(t1 - t0));
	diag("MAXPHYADDR %u", cpuid(0x80000008).eax & 0xff);
}
