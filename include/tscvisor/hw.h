/* The machine as the vendor-neutral core sees it: every hardware service
 * vmm/ and vmm/dev/ may use, implemented by the arch layer (arch/x86/).
 *
 * The core is compiled without arch/x86 (or gnu-efi) on its include path
 * (Makefile), so an arch header included from the core is a compile error:
 * what is not declared here (or in another include/tscvisor header) the core
 * cannot reach. The direction is one way: the core calls down through this
 * header; the arch layer calls up only through core interfaces (log.h,
 * vcpu.h's backend services, and the entry points at the end of this file).
 *
 * Instruction wrappers are static inline: RDTSC and the GS-relative per-CPU
 * load are on the RDTSC exit's path, which must cost what it did when the
 * core included the arch headers directly. docs/architecture.md. */
#ifndef TSCVISOR_HW_H
#define TSCVISOR_HW_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/tsc.h>
#include <tscvisor/xstate.h>

struct boot_info;
struct vcpu;
struct vendor_ops;

/* ---- Instructions ----------------------------------------------------- */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The host's own CPUID (what a guest's answer starts from). */
static inline void cpuid_count(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline void cpuid(uint32_t leaf, uint32_t r[4]) { cpuid_count(leaf, 0, r); }

/* Spin-wait hint (PAUSE). */
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

/* Host interrupts off on this CPU (the end of the run). */
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }

/* Host I/O ports: the PM timer a VM reads directly, the snapshot UART. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* ---- Physical CPUs ---------------------------------------------------- */

#define MAX_CPUS 16

/* Per-physical-CPU data, reached through the GS base (IA32_GS_BASE points at
 * the CPU's struct pcpu, whose first field points at itself). The arch layer
 * sets it up (arch/x86/percpu.c); the fields marked arch are its own. */
struct pcpu {
	struct pcpu *self;           /* gs:0 */
	unsigned index;              /* 0 = boot CPU */
	uint32_t apic_id;            /* arch */
	uint64_t stack_top;          /* arch */
	void *vendor;                /* the backend's per-CPU state (VMXON region, host save
				      * area...); NULL until the backend's cpu_enable ran here */
	struct vcpu *current;        /* the vCPU running here, if any */
	struct vcpu *fpu_owner;      /* whose x87/SSE registers this CPU holds, NULL: nobody's */
	uint64_t cur_tsc_aux;        /* what this CPU's IA32_TSC_AUX holds */
	uint64_t cur_xcr0;           /* what this CPU's XCR0 holds, 0: not known (vmm/fpuswitch.c) */
	uint64_t cur_tsc_ratio;      /* what this CPU's TSC ratio MSR holds (SVM) */
	int64_t tsc_skew;            /* test option: pretend this CPU's TSC is off by this much */
	volatile uint64_t timer_irqs, kick_irqs, kicks_sent;
	volatile uint64_t nmis;      /* NMIs the host took (arch/x86/trap.c) */
	uint64_t timer_armed, timer_irqs_seen;  /* hw_timer_at's last programming (arch) */
	void *gdt, *tss;             /* this CPU's descriptor tables (arch) */
};

extern struct pcpu pcpus[MAX_CPUS];

static inline struct pcpu *this_cpu(void)
{
	struct pcpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Interrupt pCPU `cpu` (an IPI): whatever guest runs there exits
 * (EXIT_INTR) and its scheduler looks again. */
void hw_kick_cpu(unsigned cpu);
/* Bring this CPU back from a guest (EXIT_INTR) at host TSC `deadline`; 0
 * cancels. One deadline per CPU: a new call replaces the last. */
void hw_timer_at(uint64_t deadline);

/* ---- x87/SSE/XSAVE and debug registers ---------------------------------
 *
 * The guest's register state that neither VMRUN nor VM entry switches and
 * the hypervisor never uses (it is built with -mgeneral-regs-only and never
 * sets a debug register): x87/MMX/SSE and every other XSAVE component the
 * VM may enable (AVX, AVX-512, and PKRU), XCR0, and DR0-DR3. They stay in
 * the registers while a vCPU runs on a pCPU and are saved and loaded only
 * when another vCPU takes that pCPU or the vCPU moves (vmm/fpuswitch.c).
 *
 * Where the CPU has XSAVE the image is a standard-format XSAVE area (SDM
 * Vol. 1 13.4) saved and restored with XCR0 = every switched component, so
 * that a component the guest has just disabled is still carried; without
 * XSAVE it is the 512-byte FXSAVE image (Vol. 1 10.5.1). Either way its
 * first 512 bytes are the FXSAVE layout (a snapshot's FPU section). */

/* What this machine has, found once on the boot CPU (arch/x86/fpu.c), the
 * same on every CPU. */
struct fpu_host {
	bool xsave;                   /* CR4.OSXSAVE set on every CPU */
	uint64_t supported;           /* CPUID.0DH.0 EDX:EAX */
	uint64_t offered;             /* what a guest may put in XCR0 */
	uint64_t switched;            /* what a vCPU switch saves and loads */
	struct xstate_layout layout;
};
extern struct fpu_host fpu_host;

static inline void xcr0_write(uint64_t val)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
}

static inline uint64_t xcr0_read(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static inline void fpu_save(uint8_t image[512])
{
	__asm__ volatile("fxsave64 (%0)" : : "r"(image) : "memory");
}

static inline void fpu_load(const uint8_t image[512])
{
	__asm__ volatile("fxrstor64 (%0)" : : "r"(image) : "memory");
}

/* XSAVE / XRSTOR of the components in mask & XCR0 (64-byte aligned area). */
static inline void xstate_save(uint8_t *area, uint64_t mask)
{
	__asm__ volatile("xsave64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			 : "memory");
}

static inline void xstate_load(const uint8_t *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			 : "memory");
}

/* The state after INIT (SDM Vol. 3A table 9-1) as an image: x87 FNINIT
 * (FCW 0x037f), MXCSR 0x1f80, XMM registers 0; in an XSAVE area the header
 * is zero too (XSTATE_BV = 0: XRSTOR puts every component in its initial
 * configuration, AVX and AVX-512 registers 0, PKRU 0; MXCSR is still taken
 * from the image, Vol. 1 13.8.1). */
static inline void fpu_init_image(uint8_t *image, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		image[i] = 0;
	image[0] = 0x7f;
	image[1] = 0x03;
	image[24] = 0x80;
	image[25] = 0x1f;
}

/* XSAVE leaves the x87 or SSE part of the legacy region unwritten when
 * that component is in its initial configuration (XSTATE_BV bit clear; Vol.
 * 1 13.7): make the region say so, so that its 512 bytes alone (a snapshot)
 * are the registers. */
static inline void fpu_legacy_fixup(uint8_t *image)
{
	uint8_t bv = image[512];
	unsigned i;

	if (!(bv & 1)) {
		for (i = 0; i < 160; i++)
			if (i < 24 || i >= 32)        /* MXCSR and its mask stay */
				image[i] = 0;
		image[0] = 0x7f;
		image[1] = 0x03;
	}
	if (!(bv & 2))
		for (i = 160; i < 416; i++)
			image[i] = 0;
}

/* A 512-byte FXSAVE image (a snapshot's) made the vCPU's: x87 and SSE
 * marked present, every other component initial. */
static inline void fpu_image_from_legacy(uint8_t *image, unsigned len, const uint8_t legacy[512])
{
	for (unsigned i = 0; i < len; i++)
		image[i] = i < 512 ? legacy[i] : 0;
	if (len > 512)
		image[512] = 0x3;                     /* XSTATE_BV: x87, SSE */
}

/* The MXCSR bits this CPU's FXRSTOR accepts (MXCSR_MASK, SDM Vol. 1
 * 11.6.6; 0 there means 0xffbf). */
static inline uint32_t fpu_mxcsr_mask(void)
{
	static uint8_t img[512] __attribute__((aligned(16)));
	uint32_t m;

	fpu_save(img);
	m = (uint32_t)img[28] | (uint32_t)img[29] << 8 | (uint32_t)img[30] << 16 |
	    (uint32_t)img[31] << 24;
	return m ? m : 0xffbf;
}

/* Debug registers DR0-DR3 (SDM Vol. 3B 18.2). */
static inline void dr03_read(uint64_t d[4])
{
	__asm__ volatile("mov %%dr0, %0" : "=r"(d[0]));
	__asm__ volatile("mov %%dr1, %0" : "=r"(d[1]));
	__asm__ volatile("mov %%dr2, %0" : "=r"(d[2]));
	__asm__ volatile("mov %%dr3, %0" : "=r"(d[3]));
}

static inline void dr03_write(const uint64_t d[4])
{
	__asm__ volatile("mov %0, %%dr0" : : "r"(d[0]));
	__asm__ volatile("mov %0, %%dr1" : : "r"(d[1]));
	__asm__ volatile("mov %0, %%dr2" : : "r"(d[2]));
	__asm__ volatile("mov %0, %%dr3" : : "r"(d[3]));
}

static inline void dr7_write(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr7" : : "r"(v));
}

/* ---- Console and the end of the run ------------------------------------ */

/* One character on the hypervisor's console (polled, never blocks for
 * ever; "\n" goes out as CR LF). The core's log (vmm/log.c) is its only
 * user. */
void hw_console_putc(char c);
/* A byte the console has received, or -1 when none is waiting (or there is
 * no UART). Polled; vmm/console.c is its only user. */
int hw_console_getc(void);
/* Stop the machine with a pass/fail status: QEMU isa-debug-exit, the Bochs
 * shutdown port, the firmware's power-off, then halt with interrupts off.
 * hv_exit() (vmm/log.c) prints the result line first. */
__attribute__((noreturn)) void hw_power_off(bool pass);

/* ---- Bring-up (arch/x86/init.c) ---------------------------------------- */

/* What the machine is, as the core needs it. */
struct hw_info {
	/* The host TSC: rate (calibrated), invariant, synchronised across the
	 * CPUs, and after hw_select_backend whether the backend can scale it and
	 * its scale format. `vouched` is the config's, left false. */
	struct tsc_host_info tsc;
	uint16_t pm_timer_port;      /* the PM timer the TSC was measured against, 0: none */
	bool pm_timer_32bit;
	unsigned ncpus;              /* CPUs online (boot CPU included) */
	const struct vendor_ops *ops;/* after hw_select_backend; NULL: none usable */
};

/* The boot CPU: the hypervisor's own GDT, IDT and page tables. Before
 * anything else once the firmware is gone. */
void hw_setup_boot_cpu(const struct boot_info *bi);
/* What the boot CPU offers (logged), the host TSC rate (panics when nothing
 * can measure it), the local APIC and its timer: fills hw->tsc and the PM
 * timer fields. */
void hw_init(const struct boot_info *bi, struct hw_info *hw);
/* Start the other CPUs (each ends in ap_idle_loop) and check that their TSCs
 * agree: fills hw->ncpus and hw->tsc.synchronised. */
void hw_start_cpus(const struct boot_info *bi, struct hw_info *hw);
/* The virtualisation backend this CPU offers (logs why there is none):
 * fills hw->ops and hw->tsc's scaling fields. */
void hw_select_backend(struct hw_info *hw);

/* ---- Entry points of the core the arch layer calls --------------------- */

/* What an AP does once it is up (vmm/sched.c): wait for work. */
__attribute__((noreturn)) void ap_idle_loop(void);

#endif
