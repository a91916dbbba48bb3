/* The two 8259 PICs (vmm/dev/pic.c): initialisation accepted, masks kept,
 * nothing ever delivered through them. */
#ifndef TSCVISOR_DEV_PIC_H
#define TSCVISOR_DEV_PIC_H

#include <stdint.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define PORT_PIC_MASTER 0x20
#define PORT_PIC_SLAVE  0xa0

struct pic_chip {
	uint8_t imr;                 /* interrupt mask */
	uint8_t icw_step;            /* initialisation words still expected, 0..3 */
};

struct pic_state {
	struct pic_chip chip[2];     /* master, slave */
};

int pic_create(struct vm *vm);
void pic_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int pic_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
