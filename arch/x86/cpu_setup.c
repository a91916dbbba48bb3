/* The boot CPU's own descriptor tables and page tables (SDM Vol. 3A ch. 3-6).
 * After this nothing of the firmware's is in use but the memory map. */
#include <stdbool.h>
#include <string.h>
#include <tscvisor/bootinfo.h>
#include <tscvisor/log.h>
#include <tscvisor/mem.h>
#include "cpu_setup.h"
#include "fpu.h"
#include "percpu.h"
#include "insn.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS  0x18
#define TRAP_STUB_SIZE 16
#define IST_STACK_BYTES (16 * 1024)

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

extern char trap_stubs[];

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint64_t image_base;
static uint64_t bsp_cr0, bsp_cr4, bsp_efer;

static void setup_gdt(uint64_t *gdt, struct tss64 *tss);
static void load_idt(void);

/* An AP, fresh from the trampoline: the BSP's control registers and IDT,
 * its own GDT and TSS. */
void arch_cpu_setup_ap(const struct pcpu *bsp)
{
	uint64_t *ap_gdt = mem_alloc_pages(1);
	struct tss64 *ap_tss = (struct tss64 *)(ap_gdt + 8);

	(void)bsp;
	write_cr0(bsp_cr0);
	write_cr4(bsp_cr4);
	wrmsr(MSR_EFER, (rdmsr(MSR_EFER) & ~X86_EFER_NXE) | (bsp_efer & X86_EFER_NXE));  /* NXE as on the BSP */
	setup_gdt(ap_gdt, ap_tss);
	load_idt();
}

uint64_t arch_image_base(void)
{
	return image_base;
}

/* A CPU's GDT (code, data, its own TSS) and TSS (IST1 stack). */
static void setup_gdt(uint64_t *gdt, struct tss64 *tss)
{
	uint64_t tss_base = (uint64_t)(uintptr_t)tss, tss_limit = sizeof(*tss) - 1;
	struct desc_ptr gdtr = { 5 * 8 - 1, (uint64_t)(uintptr_t)gdt };
	uint8_t *ist1 = mem_alloc_pages(IST_STACK_BYTES / 4096);

	memset(tss, 0, sizeof(*tss));
	tss->ist[0] = (uint64_t)(uintptr_t)(ist1 + IST_STACK_BYTES);
	tss->iomap_base = sizeof(*tss);
	this_cpu()->gdt = gdt;
	this_cpu()->tss = tss;

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;   /* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffull;   /* data, DPL 0 */
	/* 16-byte available 64-bit TSS descriptor (type 9, present). */
	gdt[3] = (tss_limit & 0xffff) | ((tss_base & 0xffffff) << 16) | (0x89ull << 40) |
		 ((tss_limit & 0xf0000) << 32) | ((tss_base & 0xff000000ull) << 32);
	gdt[4] = tss_base >> 32;

	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w2, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		/* FS and GS are left alone: GS base holds the per-CPU pointer,
		 * and loading a selector may clear it. */
		"movw %w3, %%ax\n\t"
		"ltr %%ax\n\t"
		:: "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS) : "rax", "memory");
}

static void load_idt(void)
{
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" :: "m"(idtr) : "memory");
}

static void setup_idt(void)
{
	unsigned v;

	for (v = 0; v < 256; v++) {
		uint64_t handler = (uint64_t)(uintptr_t)(trap_stubs + v * TRAP_STUB_SIZE);
		bool critical = v == 2 || v == 8 || v == 18; /* NMI, #DF, #MC: known-good stack */

		idt[v].offset_lo = handler & 0xffff;
		idt[v].selector = SEL_CODE;
		idt[v].ist = critical ? 1 : 0;
		idt[v].type_attr = 0x8e;          /* present, DPL 0, 64-bit interrupt gate */
		idt[v].offset_mid = (handler >> 16) & 0xffff;
		idt[v].offset_hi = handler >> 32;
		idt[v].reserved = 0;
	}
	load_idt();
}

/* Identity-map [base, base + size) with 2 MiB pages where the map of the
 * first `mapped_gib` GiB does not reach (boot/ checked that the range is
 * 2 MiB-aligned and below 2^46). */
static void map_window(uint64_t *pml4, uint64_t mapped_gib, uint64_t base, uint64_t size)
{
	uint64_t a;

	for (a = base & ~((1ull << 21) - 1); a < base + size; a += 1ull << 21) {
		unsigned i4 = (a >> 39) & 511, i3 = (a >> 30) & 511, i2 = (a >> 21) & 511;
		uint64_t *pdpt, *pd;

		if ((a >> 30) < mapped_gib)
			continue;
		if (!(pml4[i4] & 1))
			pml4[i4] = (uint64_t)(uintptr_t)mem_alloc_pages(1) | 0x3;
		pdpt = (uint64_t *)(uintptr_t)(pml4[i4] & ~0xfffull);
		if (pdpt[i3] & 0x80)
			continue;                     /* a 1 GiB page maps it already */
		if (!(pdpt[i3] & 1))
			pdpt[i3] = (uint64_t)(uintptr_t)mem_alloc_pages(1) | 0x3;
		pd = (uint64_t *)(uintptr_t)(pdpt[i3] & ~0xfffull);
		pd[i2] = a | 0x83;                     /* present, writable, 2 MiB page */
	}
}

/* Identity map: 1 GiB pages for the first 512 GiB where the CPU has them,
 * else 2 MiB pages up to the highest address in the memory map (at least
 * 4 GiB so the LAPIC and firmware MMIO are reachable); and the snapshot
 * window (an ivshmem BAR, not in the memory map, often far above RAM). Caching comes from the
 * MTRRs the firmware programmed (PAT entry 0 = write-back). */
static void setup_paging(const struct boot_info *bi)
{
	uint64_t *pml4 = mem_alloc_pages(1), *pdpt = mem_alloc_pages(1);
	uint32_t r[4];
	bool gbpages;
	uint64_t i, gib;

	cpuid(0x80000000, r);
	gbpages = false;
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, r);
		gbpages = r[3] & (1u << 26);
	}
	pml4[0] = (uint64_t)(uintptr_t)pdpt | 0x3;
	if (gbpages) {
		for (i = 0; i < 512; i++)
			pdpt[i] = (i << 30) | 0x83;           /* present, writable, 1 GiB page */
		gib = 512;
	} else {
		gib = (bi->max_phys + (1ull << 30) - 1) >> 30;
		if (gib < 4)
			gib = 4;
		if (gib > 64) {
			log_warn("cpu: memory map reaches %lu GiB; mapping only the first 64 GiB",
				 gib);
			gib = 64;
		}
		for (i = 0; i < gib; i++) {
			uint64_t *pd = mem_alloc_pages(1), j;

			for (j = 0; j < 512; j++)
				pd[j] = (i << 30) | (j << 21) | 0x83; /* 2 MiB page */
			pdpt[i] = (uint64_t)(uintptr_t)pd | 0x3;
		}
	}
	if (bi->snap_shm_size)
		map_window(pml4, gbpages ? gib : 0, bi->snap_shm_base, bi->snap_shm_size);
	write_cr3((uint64_t)(uintptr_t)pml4);
	log_info("cpu: own GDT, IDT, TSS and page tables (identity map of %lu GiB, %s pages)",
		 gib, gbpages ? "1 GiB" : "2 MiB");
}

void arch_cpu_setup_bsp(const struct boot_info *bi)
{
	uint32_t r[4];

	image_base = bi->image_base;
	cpuid(1, r);
	percpu_init(0, r[1] >> 24, bi->stack_top);
	setup_gdt(gdt, &tss);
	setup_idt();
	setup_paging(bi);
	/* x87/SSE usable by FXSAVE/FXRSTOR (the guests' registers, vmm/fpuswitch.c):
	 * no TS or EM, OSFXSR so that the XMM registers are in the image. UEFI
	 * leaves it so on x64; make sure. */
	bsp_cr0 = (read_cr0() & ~(X86_CR0_TS | X86_CR0_EM)) | X86_CR0_MP;
	bsp_cr4 = read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	/* OSXSAVE where the CPU has XSAVE: the guests' XSAVE state and XCR0
	 * are switched with XSAVE/XRSTOR/XSETBV (<tscvisor/hw.h>), and set here,
	 * before any VMCS takes CR4 as its host value. */
	if (r[2] & (1u << 26))
		bsp_cr4 |= X86_CR4_OSXSAVE;
	write_cr0(bsp_cr0);
	write_cr4(bsp_cr4);
	fpu_host_init();
	bsp_efer = rdmsr(MSR_EFER);
}
