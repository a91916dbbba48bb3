/* AMD SVM definitions (APM Vol. 2, chapter 15 and appendix B). */
#ifndef ARCH_X86_SVM_H
#define ARCH_X86_SVM_H

#include <stdint.h>

/* VMCB control area (APM Vol. 2, Table B-1). */
struct __attribute__((packed)) vmcb_control {
	uint32_t intercept_cr;        /* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;        /* 0x004 */
	uint32_t intercept_exc;       /* 0x008: one bit per vector */
	uint32_t intercept_misc1;     /* 0x00c */
	uint32_t intercept_misc2;     /* 0x010 */
	uint32_t intercept_misc3;     /* 0x014 */
	uint8_t  reserved1[0x3c - 0x18];
	uint16_t pause_filter_thresh; /* 0x03c */
	uint16_t pause_filter_count;  /* 0x03e */
	uint64_t iopm_base_pa;        /* 0x040 */
	uint64_t msrpm_base_pa;       /* 0x048 */
	uint64_t tsc_offset;          /* 0x050 */
	uint32_t asid;                /* 0x058 */
	uint8_t  tlb_control;         /* 0x05c */
	uint8_t  reserved2[3];
	uint64_t vintr;               /* 0x060: V_TPR, V_IRQ (8), V_INTR_MASKING (24), V_INTR_VECTOR (39:32) */
	uint64_t interrupt_shadow;    /* 0x068 */
	uint64_t exit_code;           /* 0x070 */
	uint64_t exit_info1;          /* 0x078 */
	uint64_t exit_info2;          /* 0x080 */
	uint64_t exit_int_info;       /* 0x088 */
	uint64_t np_enable;           /* 0x090 */
	uint8_t  reserved3[0xa8 - 0x98];
	uint64_t event_inj;           /* 0x0a8 */
	uint64_t n_cr3;               /* 0x0b0 */
	uint64_t lbr_virt;            /* 0x0b8 */
	uint32_t clean_bits;          /* 0x0c0 */
	uint32_t reserved4;
	uint64_t next_rip;            /* 0x0c8 (NRIPS) */
	uint8_t  insn_bytes_fetched;  /* 0x0d0 (decode assists) */
	uint8_t  insn_bytes[15];
	uint8_t  reserved5[0x400 - 0xe0];
};

struct __attribute__((packed)) vmcb_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};

/* VMCB state save area (APM Vol. 2, Table B-2), at offset 0x400. */
struct __attribute__((packed)) vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400-0x49f */
	uint8_t  reserved1[0x4cb - 0x4a0];
	uint8_t  cpl;                 /* 0x4cb */
	uint32_t reserved2;
	uint64_t efer;                /* 0x4d0 */
	uint8_t  reserved3[0x548 - 0x4d8];
	uint64_t cr4;                 /* 0x548 */
	uint64_t cr3;                 /* 0x550 */
	uint64_t cr0;                 /* 0x558 */
	uint64_t dr7;                 /* 0x560 */
	uint64_t dr6;                 /* 0x568 */
	uint64_t rflags;              /* 0x570 */
	uint64_t rip;                 /* 0x578 */
	uint8_t  reserved4[0x5d8 - 0x580];
	uint64_t rsp;                 /* 0x5d8 */
	uint8_t  reserved5[0x5f8 - 0x5e0];
	uint64_t rax;                 /* 0x5f8 */
	uint64_t star;                /* 0x600 */
	uint64_t lstar;               /* 0x608 */
	uint64_t cstar;               /* 0x610 */
	uint64_t sfmask;              /* 0x618 */
	uint64_t kernel_gs_base;      /* 0x620 */
	uint64_t sysenter_cs;         /* 0x628 */
	uint64_t sysenter_esp;        /* 0x630 */
	uint64_t sysenter_eip;        /* 0x638 */
	uint64_t cr2;                 /* 0x640 */
	uint8_t  reserved6[0x668 - 0x648];
	uint64_t g_pat;               /* 0x668 */
	uint64_t dbgctl;              /* 0x670 */
	uint8_t  reserved7[0x1000 - 0x678];
};

struct __attribute__((packed)) vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area layout");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB EFER offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB RAX offset");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB PAT offset");

/* intercept_misc1 */
#define SVM_INTERCEPT_INTR      (1u << 0)
#define SVM_INTERCEPT_NMI       (1u << 1)
#define SVM_INTERCEPT_SMI       (1u << 2)
#define SVM_INTERCEPT_INIT      (1u << 3)
#define SVM_INTERCEPT_VINTR     (1u << 4)
#define SVM_INTERCEPT_RDTSC     (1u << 14)
#define SVM_INTERCEPT_RDPMC     (1u << 15)
#define SVM_INTERCEPT_CPUID     (1u << 18)
#define SVM_INTERCEPT_INVD      (1u << 22)
#define SVM_INTERCEPT_HLT       (1u << 24)
#define SVM_INTERCEPT_IOIO      (1u << 27)
#define SVM_INTERCEPT_MSR       (1u << 28)
#define SVM_INTERCEPT_INVLPG    (1u << 25)
#define SVM_INTERCEPT_INVLPGA   (1u << 26)
#define SVM_INTERCEPT_SHUTDOWN  (1u << 31)
/* intercept_misc2 */
#define SVM_INTERCEPT_VMRUN     (1u << 0)
#define SVM_INTERCEPT_VMMCALL   (1u << 1)
#define SVM_INTERCEPT_VMLOAD    (1u << 2)
#define SVM_INTERCEPT_VMSAVE    (1u << 3)
#define SVM_INTERCEPT_STGI      (1u << 4)
#define SVM_INTERCEPT_CLGI      (1u << 5)
#define SVM_INTERCEPT_SKINIT    (1u << 6)
#define SVM_INTERCEPT_RDTSCP    (1u << 7)
#define SVM_INTERCEPT_WBINVD    (1u << 9)
#define SVM_INTERCEPT_MONITOR   (1u << 10)
#define SVM_INTERCEPT_MWAIT     (1u << 11)
#define SVM_INTERCEPT_XSETBV    (1u << 13)

/* Exit codes (APM Vol. 2, appendix C). */
#define SVM_EXIT_WRITE_CR0  0x010
#define SVM_EXIT_WRITE_CR3  0x013
#define SVM_EXIT_WRITE_CR4  0x014
#define SVM_EXIT_INVLPG     0x079
#define SVM_EXIT_INVPCID    0x0a2
#define SVM_INTERCEPT3_INVPCID  (1u << 2)   /* intercept_misc3 */
/* intercept_cr: MOV to CR0, CR3, CR4 (writes are bits 16-31). */
#define SVM_INTERCEPT_CR_WRITES ((1u << 16) | (1u << 19) | (1u << 20))
#define SVM_EXIT_EXCP_BASE  0x040
#define SVM_EXIT_INTR       0x060
#define SVM_EXIT_NMI        0x061
#define SVM_EXIT_RDPMC      0x06f
#define SVM_EXIT_XSETBV     0x08d
#define SVM_EXIT_VINTR      0x064
#define SVM_EXIT_RDTSC      0x06e
#define SVM_EXIT_CPUID      0x072
#define SVM_EXIT_HLT        0x078
#define SVM_EXIT_IOIO       0x07b
#define SVM_EXIT_MSR        0x07c
#define SVM_EXIT_INVD       0x076
#define SVM_EXIT_SHUTDOWN   0x07f
#define SVM_EXIT_VMRUN      0x080
#define SVM_EXIT_VMMCALL    0x081
#define SVM_EXIT_VMLOAD     0x082
#define SVM_EXIT_SKINIT     0x086
#define SVM_EXIT_INVLPGA    0x07a
#define SVM_EXIT_WBINVD     0x089
#define SVM_EXIT_MONITOR    0x08a
#define SVM_EXIT_MWAIT_COND 0x08c
#define SVM_EXIT_RDTSCP     0x087
#define SVM_EXIT_NPF        0x400
#define SVM_EXIT_INVALID    ((uint64_t)-1)


/* VMCB vintr field (offset 0x60) */
#define SVM_VINTR_V_IRQ        (1ull << 8)
#define SVM_VINTR_PRIO_SHIFT   16
#define SVM_VINTR_IGN_TPR      (1ull << 20)
#define SVM_VINTR_MASKING      (1ull << 24)
#define SVM_VINTR_VECTOR_SHIFT 32            /* V_INTR_VECTOR, 39:32 */

/* EVENTINJ / EXITINTINFO (APM 15.20): vector 7:0, type 10:8, error code
 * valid 11, valid 31, error code 63:32. */
#define SVM_EVT_VALID          (1u << 31)
#define SVM_EVT_ERR_VALID      (1u << 11)
#define SVM_EVT_TYPE_SHIFT     8
#define SVM_EVT_TYPE_INTR      (0u << 8)
#define SVM_EVT_TYPE_NMI       (2u << 8)
#define SVM_EVT_TYPE_EXC       (3u << 8)
#define SVM_EVT_TYPE_SOFT      (4u << 8)

#endif
