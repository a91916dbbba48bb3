/* The ACPI PM1a register blocks (docs/platform.md "ACPI PM1 registers"):
 * PM1_STS (16 bits) and PM1_EN (16 bits) in the event block, PM1_CNT (16
 * bits) in the control block, at the ports the FADT names. The machine is
 * always in ACPI mode (the FADT's SMI_CMD is 0): SCI_EN reads 1 and is not
 * written. No event sets a status bit and no SCI is ever raised, so the
 * status bits are write-1-to-clear over nothing but a guest may write them
 * as it likes; PM1_EN keeps what it is given of the bits it has (TMR_EN reads
 * 0: the PM timer's carry raises no SCI). PM1_CNT keeps BM_RLD and
 * SLP_TYP; writing SLP_EN with SLP_TYP the DSDT's \_S5 value ends the VM as
 * a power-off (a guest's `poweroff`); SLP_EN with any other type (no other
 * sleep state is offered) is dropped, logged. Any size at any offset: the
 * three registers are one 48-bit image, little-endian, as the two blocks
 * sit next to each other. They are saved in the snapshot's optional PM1
 * section. */
#include <tscvisor/acpi_build.h>
#include <tscvisor/dev/pm1.h>
#include <tscvisor/io.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/vm.h>

#define STS_OFF 0
#define EN_OFF  2
#define CNT_OFF (ACPI_GUEST_PM1A_CNT_PORT - ACPI_GUEST_PM1A_EVT_PORT)
#define PM1_PORTS (ACPI_GUEST_PM1_LAST_PORT - ACPI_GUEST_PM1A_EVT_PORT + 1)

static uint64_t image(const struct pm1_state *p)
{
	return (uint64_t)p->sts << (8 * STS_OFF) | (uint64_t)p->en << (8 * EN_OFF) |
	       (uint64_t)(p->cnt | PM1_CNT_SCI_EN) << (8 * CNT_OFF);
}

static uint32_t pm1_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	(void)vm;
	(void)size;                  /* the bus masks to size; bytes past the block read 0 */
	return (uint32_t)(image(dev) >> (8 * off));
}

/* The 16 bits of a register at byte `at` written by an access whose bytes
 * are `mask` (in the block's image) with value `val`: which bits were
 * written, and their values. */
static uint16_t part(uint64_t v, uint64_t mask, unsigned at, uint16_t *written)
{
	*written = (uint16_t)(mask >> (8 * at));
	return (uint16_t)(v >> (8 * at));
}

static void pm1_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t val)
{
	struct pm1_state *p = dev;
	uint64_t mask = ((size >= 4 ? 0xffffffffull : (1ull << (8 * size)) - 1)) << (8 * off);
	uint64_t v = (uint64_t)val << (8 * off);
	uint16_t w, x;

	x = part(v, mask, STS_OFF, &w);
	p->sts &= (uint16_t)~(x & w);                        /* write 1 to clear */
	x = part(v, mask, EN_OFF, &w);
	p->en = (uint16_t)((p->en & ~w) | (x & w)) & PM1_EN_WRITABLE;
	x = part(v, mask, CNT_OFF, &w);
	if (!w)
		return;
	p->cnt = (uint16_t)((p->cnt & ~w) | (x & w)) & PM1_CNT_KEPT;
	if (!(x & w & PM1_CNT_SLP_EN))
		return;
	if (((p->cnt & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT) == ACPI_GUEST_SLP_TYP_S5) {
		uart_flush(vm);
		vm_end(vm, VM_END_POWEROFF, 1, "ACPI S5: SLP_EN with SLP_TYP 7 in PM1a_CNT");
		return;
	}
	vm_warn(vm, "vm %s: PM1a_CNT: SLP_EN with SLP_TYP %u, a sleep state this VM does not "
		"offer: ignored", vm->name, (p->cnt & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT);
}

_Static_assert(PM1_EN_WRITABLE == SNAP_PM1_EN_BITS, "PM1_EN bits in a snapshot");
_Static_assert(PM1_CNT_KEPT == SNAP_PM1_CNT_BITS, "PM1_CNT bits in a snapshot");

void pm1_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	(void)c;
	s->pm1.present = true;
	s->pm1.sts = vm->pm1.sts;
	s->pm1.en = vm->pm1.en;
	s->pm1.cnt = vm->pm1.cnt;
}

/* The codec checked the bits; masking again is the last word. Without the
 * section (an older writer's snapshot): reset. */
int pm1_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	(void)c;
	vm->pm1.sts = 0;
	vm->pm1.en = 0;
	vm->pm1.cnt = 0;
	if (!s->pm1.present)
		return 0;
	vm->pm1.sts = s->pm1.sts & SNAP_PM1_STS_BITS;
	vm->pm1.en = s->pm1.en & PM1_EN_WRITABLE;
	vm->pm1.cnt = s->pm1.cnt & PM1_CNT_KEPT;
	return 0;
}

int pm1_create(struct vm *vm)
{
	_Static_assert(CNT_OFF == ACPI_GUEST_PM1_EVT_LEN, "PM1a_CNT follows the event block");
	_Static_assert(PM1_PORTS == 6, "PM1a blocks: 4 + 2 ports");
	vm->pm1.sts = 0;
	vm->pm1.en = 0;
	vm->pm1.cnt = 0;
	return port_register(vm, &(struct port_region){
		.first = ACPI_GUEST_PM1A_EVT_PORT, .last = ACPI_GUEST_PM1_LAST_PORT,
		.name = "acpi-pm1", .dev = &vm->pm1, .read = pm1_read, .write = pm1_write });
}
