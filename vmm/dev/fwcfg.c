/* fw_cfg (QEMU's docs/specs/fw_cfg.txt), the traditional port interface: a
 * 16-bit selector at 0x510 and a byte-wide data port at 0x511 that walks
 * the selected item. The items a firmware asks for first are answered
 * (docs/platform.md); every other item is empty. */
#include <string.h>
#include <tscvisor/io.h>
#include <tscvisor/save.h>
#include <tscvisor/vm.h>

#define FWCFG_SIGNATURE 0x00
#define FWCFG_ID        0x01
#define FWCFG_RAM_SIZE  0x03
#define FWCFG_NB_CPUS   0x05
#define FWCFG_ID_TRADITIONAL 1       /* the port interface, no DMA */
#define FWCFG_OFF_SEL   0            /* offsets from PORT_FWCFG_SEL */
#define FWCFG_OFF_DATA  1
_Static_assert(PORT_FWCFG_DATA - PORT_FWCFG_SEL == FWCFG_OFF_DATA, "fw_cfg data follows the selector");

static uint8_t fwcfg_byte(struct vm *vm, struct fwcfg_state *f)
{
	uint8_t item[8] = { 0 };
	unsigned len = 0;

	switch (f->selector) {
	case FWCFG_SIGNATURE: memcpy(item, "QEMU", 4); len = 4; break;
	case FWCFG_ID: item[0] = FWCFG_ID_TRADITIONAL; len = 4; break;
	case FWCFG_RAM_SIZE: {
		uint64_t sz = vm->ram_size;

		memcpy(item, &sz, 8);
		len = 8;
		break;
	}
	case FWCFG_NB_CPUS:
		item[0] = (uint8_t)vm->nvcpus;
		item[1] = (uint8_t)(vm->nvcpus >> 8);
		len = 2;
		break;
	default: len = 0; break;
	}
	if (f->offset >= len)
		return 0;
	return item[f->offset++];
}

static uint32_t fwcfg_read(struct vm *vm, void *dev, uint16_t off, unsigned size)
{
	struct fwcfg_state *f = dev;
	uint32_t r = 0;
	unsigned i;

	if (off == FWCFG_OFF_SEL)
		return f->selector;
	for (i = 0; i < size; i++)
		r |= (uint32_t)fwcfg_byte(vm, f) << (8 * i);
	return r;
}

static void fwcfg_write(struct vm *vm, void *dev, uint16_t off, unsigned size, uint32_t v)
{
	struct fwcfg_state *f = dev;

	(void)vm;
	(void)size;
	if (off != FWCFG_OFF_SEL)
		return;             /* the data port is read-only here */
	f->selector = (uint16_t)v;
	f->offset = 0;
}

int fwcfg_create(struct vm *vm)
{
	return port_register(vm, &(struct port_region){
		.first = PORT_FWCFG_SEL, .last = PORT_FWCFG_DATA, .name = "fw_cfg", .dev = &vm->fwcfg,
		.read = fwcfg_read, .write = fwcfg_write });
}

void fwcfg_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c)
{
	(void)c;
	s->fwcfg.selector = vm->fwcfg.selector;
	s->fwcfg.offset = vm->fwcfg.offset;
}

int fwcfg_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c)
{
	(void)c;
	vm->fwcfg.selector = s->fwcfg.selector;
	vm->fwcfg.offset = s->fwcfg.offset;
	return 0;
}
