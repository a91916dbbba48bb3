/* Machine-level services of the x86 PC platform used by the core. */
#ifndef ARCH_X86_PLATFORM_H
#define ARCH_X86_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct boot_info;

/* Switch to `stack_top` and call fn(arg); fn must not return. */
__attribute__((noreturn)) void arch_switch_stack(uint64_t stack_top,
						 void (*fn)(struct boot_info *),
						 struct boot_info *arg);

/* Firmware power-off used by hw_power_off() as its last resort. */
void platform_set_fw_shutdown(void (*fn)(bool pass));

#endif
