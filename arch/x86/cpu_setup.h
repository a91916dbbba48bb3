#ifndef ARCH_X86_CPU_SETUP_H
#define ARCH_X86_CPU_SETUP_H

#include <stdint.h>

struct boot_info;

/* Give the boot CPU the hypervisor's own GDT (with a TSS whose IST1 stack
 * takes #DF/NMI/#MC), IDT and identity-mapping page tables. */
void arch_cpu_setup_bsp(const struct boot_info *bi);
uint64_t arch_image_base(void);
struct pcpu;
void arch_cpu_setup_ap(const struct pcpu *bsp);

#endif
