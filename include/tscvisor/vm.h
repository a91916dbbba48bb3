/* A virtual machine: its RAM, vCPUs, devices and time. */
#ifndef TSCVISOR_VM_H
#define TSCVISOR_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/config.h>
#include <tscvisor/io.h>
#include <tscvisor/spinlock.h>
#include <tscvisor/pvclock.h>
#include <tscvisor/ratelimit.h>
#include <tscvisor/tsc.h>
#include <tscvisor/vcpu.h>
#include <tscvisor/x86.h>
#include <tscvisor/dev/acpi_pm.h>
#include <tscvisor/dev/exit_ports.h>
#include <tscvisor/dev/fwcfg.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/pci.h>
#include <tscvisor/dev/pic.h>
#include <tscvisor/dev/pm1.h>
#include <tscvisor/dev/uart.h>

#define VM_MAX_VCPUS 16

enum vm_end {
	VM_RUNNING = 0,
	VM_END_EXIT_PORT,   /* wrote port 0xf4: status (c << 1) | 1 */
	VM_END_SHUTDOWN,    /* wrote "Shutdown" to port 0x8900 */
	VM_END_TRIPLE_FAULT,
	VM_END_UNHANDLED,   /* an exit or state the hypervisor cannot handle */
	VM_END_HALTED,      /* HLT with nothing that could ever wake it */
	VM_END_SAVED,       /* saved with on_save = stop: it goes on from its snapshot */
	VM_END_POWEROFF,    /* ACPI S5: SLP_EN with the \_S5 SLP_TYP in PM1a_CNT */
};

/* The VM's time (vmm/vmtime.c, pure/tsc.c, docs/tsc-modes.md). */
struct vm_time {
	struct tsc_host_info host;  /* the host it runs on now */
	struct tsc_decision d;      /* mode in effect, trapping, scaling, why */
	struct tsc_emul emul;       /* the VM-wide part of a trapped read */
	uint64_t last_emulated;     /* highest VM-wide value served: never go below */
	bool written_apart;         /* a vCPU's TSC was written apart from the others */
	uint32_t incarnation;       /* +1 at every restore; TSC_AUX in pvrdtscp mode */
	struct pvclock_clock master;/* kvmclock's master pair (vmm/kvmclock.c) */
	bool guest_stopped;         /* set PVCLOCK_GUEST_STOPPED (after a restore) */
	uint64_t pv_wall;           /* the wall-clock MSR as written */
	uint64_t window_gpa;        /* the pvclock window (hypercall 4), 0: none */
	uint64_t resume_host;       /* restored, not yet run: the host TSC its clocks resume at */
};

/* Guest RAM is one host buffer of ram_size bytes, a whole number of 2 MiB
 * pages (the nested tables' leaves), 2 MiB aligned in host memory, at most
 * VM_RAM_MAX. Its first 3 GiB are guest-physical [0, 3 GiB), the rest
 * [4 GiB, ...): the MMIO hole between (LAPIC, IOAPIC, HPET) is never RAM
 * (include/tscvisor/guestmem.h, docs/platform.md); every GPA goes through
 * gmem_offset() before it touches ram. The config and snapshot parsers
 * refuse other sizes; vm_create() checks again. */
#define VM_RAM_ALIGN (2ull << 20)
#define VM_RAM_MAX   (64ull << 30)

struct vm {
	unsigned index;
	const struct vm_config *cfg;
	const char *name;
	uint8_t *ram;               /* host pointer (identity-mapped: == host-physical) */
	uint64_t ram_size;
	uint8_t *save_buf;          /* its own snapshot buffer (save_buffer), NULL: the shared one */
	uint64_t save_buf_size;
	const struct vendor_ops *ops;
	void *arch;                 /* nested page tables root etc. */
	unsigned nvcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	struct vm_time time;
	/* The pause protocol (vmm/pause.c): 0, or 1 + the pCPU holding it;
	 * a bit per pCPU parked for it; +1 at every pause taken. */
	volatile uint32_t pause_req, parked, pause_seq;
	uint64_t pauses;            /* pauses taken (the end-of-VM line) */
	uint64_t resumed_host;      /* host TSC when the last restore's clocks resumed, 0: none */
	uint64_t save_unseen;       /* host cycles from the VM's last instruction to the last
	                             * save's pause holding: not on its clocks (vmm/save.c) */
	uint64_t pause_taken_at;    /* host TSC the current pause was taken */
	uint64_t pause_free_at;     /* host TSC before which no new pause is taken */
	/* TSC writes (IA32_TSC, TSC_ADJUST) and pvclock area writes: one at a
	 * time VM-wide (vmm/vmtime.c, vmm/kvmclock.c). Never held across a
	 * pause: a pCPU spinning on it could not park. */
	struct spinlock time_lock;
	uint64_t saves;             /* snapshots taken */
	uint64_t save_at;           /* host TSC of the operator's save (save_after_ms), 0: none */
	enum vm_end end;
	uint32_t exit_status;       /* (c << 1) | 1 for the exit port */
	char end_reason[96];
	/* The buses (vmm/pio.c, vmm/mmio.c) and the VM-wide devices on them,
	 * each struct owned by its file in vmm/dev/ (platform_create()). */
	struct spinlock dev_lock;   /* port devices and the buses' logs, shared by the vCPUs */
	struct port_bus ports;
	struct mmio_bus mmio;
	struct uart_state uart;
	struct fwcfg_state fwcfg;
	struct pic_state pic;
	uint32_t isa_irq_level;     /* ISA lines asserted (vmm/dev/irq.c) */
	struct ioapic_state ioapic;
	struct pci_state pci;
	struct exit_ports_state exit_ports;
	struct acpi_pm_state pm;
	struct pm1_state pm1;
	struct spinlock log_rl_lock; /* log lines the guest causes: vm_log() */
	struct ratelimit log_rl;
};

/* End the VM (the run loop stops before the next entry). */
void vm_end(struct vm *vm, enum vm_end how, uint32_t status, const char *reason);

/* The exceptions the core raises, by name (vectors in <tscvisor/x86.h>). */
static inline void inject_gp(struct vcpu *v, uint32_t error)
{
	v->vm->ops->inject_exception(v, X86_EXC_GP, true, error);
}

static inline void inject_ud(struct vcpu *v)
{
	v->vm->ops->inject_exception(v, X86_EXC_UD, false, 0);
}

static inline void inject_df(struct vcpu *v)
{
	v->vm->ops->inject_exception(v, X86_EXC_DF, true, 0);
}

#endif
