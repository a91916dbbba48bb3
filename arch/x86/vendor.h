/* The vendor backends; hw_select_backend (arch/x86/init.c) picks one at
 * boot and hands it to the core through struct hw_info. */
#ifndef ARCH_X86_VENDOR_H
#define ARCH_X86_VENDOR_H

#include <tscvisor/vcpu.h>

extern const struct vendor_ops svm_ops;
extern const struct vendor_ops vmx_ops;

#endif
