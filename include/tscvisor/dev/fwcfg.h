/* QEMU's fw_cfg, traditional port interface (vmm/dev/fwcfg.c). */
#ifndef TSCVISOR_DEV_FWCFG_H
#define TSCVISOR_DEV_FWCFG_H

#include <stdint.h>

struct vm;
struct snap_vm;
struct save_ctx;

#define PORT_FWCFG_SEL  0x510
#define PORT_FWCFG_DATA 0x511

struct fwcfg_state {
	uint16_t selector;
	uint32_t offset;             /* next byte of the selected item */
};

int fwcfg_create(struct vm *vm);
void fwcfg_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int fwcfg_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
