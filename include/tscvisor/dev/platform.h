/* The guest's devices, created together (vmm/dev/platform.c). */
#ifndef TSCVISOR_DEV_PLATFORM_H
#define TSCVISOR_DEV_PLATFORM_H

struct vm;
struct boot_vm;
struct platform_info;

/* Create every device of the VM and register its ranges on the VM's buses
 * (include/tscvisor/io.h). 0, or -1 with a log line. */
int platform_create(struct vm *vm, const struct boot_vm *bv, const struct platform_info *pf);

#endif
