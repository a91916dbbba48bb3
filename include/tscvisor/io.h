/* The guest's two device buses (docs/platform.md "Devices"): I/O ports and
 * MMIO outside RAM. Every device of vmm/dev/ registers the ranges it answers
 * when its VM is created (platform_create(), vmm/dev/platform.c); vmm/pio.c
 * and vmm/mmio.c hand an access to the first registered range that holds it
 * (registration order is priority), and give anything else all-ones on a
 * read and drop a write, logged once per port or page and at most
 * VM_PORT_LOG_LINES / VM_MMIO_LOG_PAGES times a VM.
 *
 * A new device (an IOAPIC, an HPET) is: a file in vmm/dev/ with its state
 * struct (a member of struct vm or struct vcpu), its read and write
 * functions, a *_create() that registers its range here, one call in
 * platform_create(), and a save/restore pair in vmm/save.c's table if the
 * guest can see its state. */
#ifndef TSCVISOR_IO_H
#define TSCVISOR_IO_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

#define IO_MAX_PORT_REGIONS 16
#define IO_MAX_MMIO_REGIONS 8
#define VM_PORT_LOG_LINES   16   /* unknown ports logged per VM */
#define VM_MMIO_LOG_PAGES   16   /* unbacked pages logged per VM */

/* Ports [first, last]. Called with the VM's device lock held (the vCPUs
 * share the devices). `off` is the port minus first, size 1, 2 or 4; read
 * returns the value in its low `size` bytes (the rest is masked off), write
 * gets the value masked to `size` bytes. A NULL read reads all-ones, a NULL
 * write drops the value: the port is the device's, so neither is logged. */
struct port_region {
	uint16_t first, last;
	const char *name;
	void *dev;                   /* the device's state, passed back */
	uint32_t (*read)(struct vm *vm, void *dev, uint16_t off, unsigned size);
	void (*write)(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val);
};

/* Guest-physical [first, last] outside RAM, or the addresses `claims`
 * accepts for vCPU v when the range is not the same for every vCPU (the
 * local APIC's page moves with its IA32_APIC_BASE and answers only in xAPIC
 * mode). Called WITHOUT the device lock: per-vCPU state needs none, a
 * VM-wide device takes vm->dev_lock itself. size 1, 2, 4 or 8; a read's
 * result is masked to `size` bytes. */
struct mmio_region {
	uint64_t first, last;
	const char *name;
	void *dev;
	bool (*claims)(struct vcpu *v, uint64_t gpa);   /* NULL: [first, last] */
	uint64_t (*read)(struct vcpu *v, void *dev, uint64_t gpa, unsigned size);
	void (*write)(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, uint64_t val);
};

/* A VM's buses: the registered ranges (a short table scanned in order: a
 * handful of devices, cheaper than anything cleverer) and what the
 * dispatchers keep about accesses nobody claimed. */
struct port_bus {
	struct port_region r[IO_MAX_PORT_REGIONS];
	unsigned n;
	uint64_t unknown_logged[1024];  /* one bit per port: "logged once" */
	unsigned unknown_lines;         /* lines of those: at most VM_PORT_LOG_LINES */
};

struct mmio_bus {
	struct mmio_region r[IO_MAX_MMIO_REGIONS];
	unsigned n;
	uint64_t logged[VM_MMIO_LOG_PAGES];  /* unbacked pages already logged */
	unsigned logged_n;
};

/* Register a range on the VM's bus (at VM creation, before any vCPU runs).
 * 0, or -1 with a log line when the table is full or the range is empty. */
int port_register(struct vm *vm, const struct port_region *r);
int mmio_register(struct vm *vm, const struct mmio_region *r);

#endif
