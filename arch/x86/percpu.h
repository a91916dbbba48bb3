/* Per-physical-CPU data of the hypervisor: struct pcpu, pcpus[] and
 * this_cpu() are in <tscvisor/hw.h> (the core uses them); the set-up is
 * here. Set up by arch_cpu_setup_bsp / the AP bring-up. */
#ifndef ARCH_X86_PERCPU_H
#define ARCH_X86_PERCPU_H

#include <stdint.h>
#include <tscvisor/hw.h>

/* Point GS at pcpus[index] on the calling CPU. */
void percpu_init(unsigned index, uint32_t apic_id, uint64_t stack_top);

#endif
