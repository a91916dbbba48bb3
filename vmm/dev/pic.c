/* The two 8259 PICs at 0x20 and 0xa0: a guest (or its firmware) initialises
 * and masks them before it uses the local APIC. Initialisation is accepted
 * and the mask (IMR) kept; no interrupt is ever delivered through them, and
 * the command port reads 0 (no IRR/ISR to show). */
#include <tscvisor/io.h>
#include <tscvisor/save.h>
#include <tscvisor/vm.h>

#define PIC_CMD      0               /* offset: command (ICW1, OCW2, OCW3) */
#define PIC_ICW1     0x10            /* a command with this bit starts initialisation */
#define PIC_ICW1_SNGL 0x02           /* single PIC: no ICW3 */
#define PIC_ICW1_IC4  0x01           /* ICW4 follows */

static uint32_t pic_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	const struct pic_chip *p = dev;

	(void)vm;
	(void)size;
	return off == PIC_CMD ? 0 : p->imr;
}

/* A write to the data port right after ICW1 is part of the ICW sequence
 * (ICW2-ICW4), not a mask. */
static void pic_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t v)
{
	struct pic_chip *p = dev;

	(void)vm;
	(void)size;
	if (off == PIC_CMD) {
		if (v & PIC_ICW1)   /* ICW2, ICW3 unless single, ICW4 if asked */
			p->icw_step = (uint8_t)(1 + !(v & PIC_ICW1_SNGL) + (v & PIC_ICW1_IC4));
		return;
	}
	if (p->icw_step)
		p->icw_step--;
	else
		p->imr = (uint8_t)v;
}

int pic_create(struct vm *vm)
{
	static const uint16_t base[2] = { PORT_PIC_MASTER, PORT_PIC_SLAVE };
	static const char *const name[2] = { "pic-master", "pic-slave" };
	unsigned i;

	for (i = 0; i < 2; i++)
		if (port_register(vm, &(struct port_region){
			.first = base[i], .last = base[i] + 1, .name = name[i], .dev = &vm->pic.chip[i],
			.read = pic_read, .write = pic_write }))
			return -1;
	return 0;
}

void pic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	for (i = 0; i < 2; i++) {
		s->pic.imr[i] = vm->pic.chip[i].imr;
		s->pic.icw_step[i] = vm->pic.chip[i].icw_step;
	}
}

int pic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	unsigned i;

	(void)c;
	for (i = 0; i < 2; i++) {
		vm->pic.chip[i].imr = s->pic.imr[i];
		vm->pic.chip[i].icw_step = s->pic.icw_step[i];
	}
	return 0;
}
