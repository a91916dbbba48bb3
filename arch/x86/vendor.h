/* The vendor backends; vmm picks one at boot (vendor_select). */
#ifndef ARCH_X86_VENDOR_H
#define ARCH_X86_VENDOR_H

#include <tscvisor/vcpu.h>

extern const struct vendor_ops svm_ops;
extern const struct vendor_ops vmx_ops;

#endif
