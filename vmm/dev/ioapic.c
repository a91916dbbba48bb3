/* The VM's I/O APIC (include/tscvisor/dev/ioapic.h): one page of MMIO at
 * 0xFEC00000 holding IOREGSEL (offset 0) and IOWIN (offset 0x10), the
 * register logic in pure/ioapic_regs.c, and delivery of its messages to the
 * vCPUs' local APICs through lapic_accept_irq(), which wakes or kicks the
 * target vCPU as an IPI does. Every vCPU may touch it at once, and a device
 * raising a line may be running under the VM's device lock: the IOAPIC has
 * its own lock, taken last and never held while waiting for anything. */
#include <tscvisor/acpi_build.h>
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/guest.h>
#include <tscvisor/io.h>
#include <tscvisor/save.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/vm.h>

#define DFR_MODEL_FLAT 0xfu            /* DFR bits 31:28: flat; 0: cluster */
#define BROADCAST_DEST 0xffu

/* Whether vCPU t is a destination of `m` (SDM Vol. 3A 11.6.2). Physical:
 * its APIC ID, or 0xFF for all. Logical (xAPIC mode): flat, a bit of its
 * LDR's logical ID; cluster, the same cluster and a bit of the member
 * mask; 0xFF all. An x2APIC-mode vCPU matches logical messages only by
 * 0xFF (the IOAPIC's 8-bit destination cannot name an x2APIC logical ID
 * without interrupt remapping, which is not offered). */
static bool is_dest(struct vcpu *t, const struct ioapic_msg *m)
{
	uint32_t ldr, dfr;
	uint8_t lid;

	if (m->dest == BROADCAST_DEST)
		return true;
	if (!m->logical)
		return m->dest == t->id;
	if (__atomic_load_n(&t->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_X2APIC)
		return false;
	ldr = lapic_read(t, APIC_LDR);
	dfr = lapic_read(t, APIC_DFR);
	lid = (uint8_t)(ldr >> 24);
	if ((dfr >> 28) == DFR_MODEL_FLAT)
		return (lid & m->dest) != 0;
	return (lid >> 4) == (m->dest >> 4) && (lid & m->dest & 0xfu) != 0;
}

/* Fixed: every destination. Lowest priority: the one destination with the
 * lowest task priority (the first such vCPU on a tie). */
static bool deliver(void *ctx, const struct ioapic_msg *m)
{
	struct vm *vm = ctx;
	struct vcpu *low = NULL;
	uint32_t low_tpr = 0;
	bool any = false;
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (!is_dest(t, m))
			continue;
		if (m->delivery_mode == IOAPIC_DM_FIXED) {
			any |= lapic_accept_irq(t, m->vector, m->level);
			continue;
		}
		if (!(__atomic_load_n(&t->apic_base, __ATOMIC_ACQUIRE) & APIC_BASE_ENABLE))
			continue;
		if (!low || (lapic_read(t, APIC_TPR) & 0xf0u) < low_tpr) {
			low = t;
			low_tpr = lapic_read(t, APIC_TPR) & 0xf0u;
		}
	}
	if (low)
		any = lapic_accept_irq(low, m->vector, m->level);
	if (any)
		vm->ioapic.sent++;
	return any;
}

void ioapic_set_irq(struct vm *vm, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	spin_lock(&vm->ioapic.lock);
	ioapic_regs_set_line(&vm->ioapic.r, pin, level, deliver, vm);
	spin_unlock(&vm->ioapic.lock);
}

void ioapic_eoi(struct vm *vm, uint8_t vector)
{
	spin_lock(&vm->ioapic.lock);
	vm->ioapic.eois++;
	ioapic_regs_eoi(&vm->ioapic.r, vector, deliver, vm);
	spin_unlock(&vm->ioapic.lock);
}

/* Registers are 32 bits wide; a narrower access reaches those bytes of the
 * register at its dword, a wider one its low dword. Only IOREGSEL and
 * IOWIN are there: the rest of the page reads 0 and drops writes. */
static uint64_t ioapic_mmio_read(struct vcpu *v, void *dev, uint64_t gpa, unsigned size)
{
	struct ioapic_state *s = dev;
	uint32_t off = (uint32_t)(gpa & (IOAPIC_SIZE - 1)), val = 0;

	(void)v;
	(void)size;
	spin_lock(&s->lock);
	if ((off & ~3u) == IOAPIC_OFF_IOREGSEL)
		val = s->r.ioregsel;
	else if ((off & ~3u) == IOAPIC_OFF_IOWIN)
		val = ioapic_regs_read(&s->r);
	spin_unlock(&s->lock);
	return val >> ((off & 3) * 8);
}

static void ioapic_mmio_write(struct vcpu *v, void *dev, uint64_t gpa, unsigned size, uint64_t val)
{
	struct ioapic_state *s = dev;
	uint32_t off = (uint32_t)(gpa & (IOAPIC_SIZE - 1)), shift = (off & 3) * 8;
	uint32_t mask = size >= 4 ? 0xffffffffu : ((1u << (size * 8)) - 1) << shift;
	uint32_t v32 = (uint32_t)(val << shift);

	spin_lock(&s->lock);
	if ((off & ~3u) == IOAPIC_OFF_IOREGSEL)
		s->r.ioregsel = ((s->r.ioregsel & ~mask) | (v32 & mask)) & 0xffu;
	else if ((off & ~3u) == IOAPIC_OFF_IOWIN)
		ioapic_regs_write(&s->r, (ioapic_regs_read(&s->r) & ~mask) | (v32 & mask), deliver, v->vm);
	spin_unlock(&s->lock);
}

_Static_assert(IOAPIC_BASE == ACPI_GUEST_IOAPIC_BASE, "the MADT names the IOAPIC where it is");
_Static_assert(IOAPIC_ID <= ACPI_GUEST_IOAPIC_MAX_ID, "a 4-bit IOAPIC ID");

int ioapic_create(struct vm *vm)
{
	vm->ioapic.lock = (struct spinlock){ 0 };
	vm->ioapic.sent = vm->ioapic.eois = 0;
	ioapic_regs_reset(&vm->ioapic.r, IOAPIC_ID);
	return mmio_register(vm, &(struct mmio_region){
		.first = IOAPIC_BASE, .last = IOAPIC_BASE + IOAPIC_SIZE - 1, .name = "ioapic",
		.dev = &vm->ioapic, .read = ioapic_mmio_read, .write = ioapic_mmio_write });
}

/* ---- save and restore (docs/save-restore.md, the IOAPIC section) ---- */

_Static_assert(SNAP_IOAPIC_PINS == IOAPIC_PINS, "the snapshot holds every entry");
_Static_assert(SNAP_IOAPIC_RTE_BITS == (IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR),
	       "the snapshot keeps exactly the entry bits the IOAPIC holds");
_Static_assert(SNAP_IOAPIC_ID_BITS == IOAPIC_ID_MASK, "the ID register's bits");

/* Every vCPU is stopped: no lock needed, none taken (a vCPU parked inside
 * the lock cannot be: the critical sections never wait). */
void ioapic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	s->ioapic.present = true;
	s->ioapic.id = vm->ioapic.r.id;
	s->ioapic.ioregsel = vm->ioapic.r.ioregsel;
	s->ioapic.line = vm->ioapic.r.line;
	for (i = 0; i < IOAPIC_PINS; i++)
		s->ioapic.rte[i] = vm->ioapic.r.rte[i];
}

/* A snapshot from before the section: the IOAPIC as reset (every entry
 * masked), which is what such a guest's MADT, without an IOAPIC, implies. */
int ioapic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	ioapic_regs_reset(&vm->ioapic.r, IOAPIC_ID);
	if (!s->ioapic.present)
		return 0;
	vm->ioapic.r.id = s->ioapic.id;
	vm->ioapic.r.ioregsel = s->ioapic.ioregsel;
	vm->ioapic.r.line = s->ioapic.line;
	for (i = 0; i < IOAPIC_PINS; i++)
		vm->ioapic.r.rte[i] = s->ioapic.rte[i];
	ioapic_regs_sanitize(&vm->ioapic.r);   /* the codec checked; this is the last word */
	return 0;
}
