/* The x86 architecture's names: exception vectors, control-register, EFER and
 * RFLAGS bits, MSR numbers, local-APIC register offsets, page-table and
 * nested-page-table entry bits. Numbers only (no code, no hardware access), so
 * every layer may include it, pure/ and the host tests too. Where a value
 * comes from: Intel SDM vol. 3 and AMD APM vol. 2, the chapters named below.
 *
 * A name that one file alone uses may stay in that file; a number that two
 * files share, or that a reader would otherwise have to look up, lives here. */
#ifndef TSCVISOR_X86_H
#define TSCVISOR_X86_H

/* Exception and interrupt vectors (SDM 3 table 6-1). */
#define X86_EXC_DE   0   /* divide error */
#define X86_EXC_DB   1   /* debug */
#define X86_EXC_NMI  2
#define X86_EXC_BP   3   /* INT3 */
#define X86_EXC_OF   4
#define X86_EXC_BR   5
#define X86_EXC_UD   6   /* invalid opcode */
#define X86_EXC_NM   7   /* device not available */
#define X86_EXC_DF   8   /* double fault */
#define X86_EXC_TS   10
#define X86_EXC_NP   11
#define X86_EXC_SS   12
#define X86_EXC_GP   13  /* general protection */
#define X86_EXC_PF   14  /* page fault */
#define X86_EXC_MF   16
#define X86_EXC_AC   17
#define X86_EXC_MC   18  /* machine check */
#define X86_EXC_XM   19  /* SIMD floating point */
#define X86_EXC_VE   20

/* CR0 and CR4 (SDM 3 section 2.5). */
#define X86_CR0_PE   (1ull << 0)
#define X86_CR0_MP   (1ull << 1)
#define X86_CR0_EM   (1ull << 2)
#define X86_CR0_TS   (1ull << 3)
#define X86_CR0_ET   (1ull << 4)
#define X86_CR0_NE   (1ull << 5)
#define X86_CR0_WP   (1ull << 16)
#define X86_CR0_AM   (1ull << 18)
#define X86_CR0_NW   (1ull << 29)
#define X86_CR0_CD   (1ull << 30)
#define X86_CR0_PG   (1ull << 31)

#define X86_CR4_VME        (1ull << 0)
#define X86_CR4_PSE        (1ull << 4)
#define X86_CR4_PAE        (1ull << 5)
#define X86_CR4_MCE        (1ull << 6)
#define X86_CR4_PGE        (1ull << 7)
#define X86_CR4_OSFXSR     (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_LA57       (1ull << 12)
#define X86_CR4_VMXE       (1ull << 13)
#define X86_CR4_PCIDE      (1ull << 17)
#define X86_CR4_OSXSAVE    (1ull << 18)

/* EFER, MSR 0xc0000080 (APM 2 section 3.1.7). */
#define X86_EFER_SCE   (1ull << 0)
#define X86_EFER_LME   (1ull << 8)
#define X86_EFER_LMA   (1ull << 10)
#define X86_EFER_NXE   (1ull << 11)
#define X86_EFER_SVME  (1ull << 12)

/* RFLAGS (SDM 1 section 3.4.3). The arithmetic flags are in x86_alu.h. */
#define X86_RFLAGS_FIXED (1ull << 1)   /* reads as 1 */
#define X86_RFLAGS_TF  (1ull << 8)
#define X86_RFLAGS_IF  (1ull << 9)
#define X86_RFLAGS_IOPL (3ull << 12)
#define X86_RFLAGS_NT  (1ull << 14)
#define X86_RFLAGS_RF  (1ull << 16)
#define X86_RFLAGS_VM  (1ull << 17)
#define X86_RFLAGS_AC  (1ull << 18)

/* Event information: vector 7:0, type 10:8, error code valid 11, valid 31,
 * error code 63:32 (APM Vol. 2 15.20 EVENTINJ, 15.7.2 EXITINTINFO; the
 * layout of struct vcpu_sregs.pending_event on both backends). */
#define X86_EVENT_VECTOR(e)  ((unsigned)((e) & 0xff))
#define X86_EVENT_TYPE(e)    ((unsigned)(((e) >> 8) & 7))
#define X86_EVENT_TYPE_EXC   3            /* a hardware exception */
#define X86_EVENT_EV         (1ull << 11) /* an error code is pushed */
#define X86_EVENT_VALID      (1ull << 31)

/* Segment attributes in SVM's 12-bit packing (struct vcpu_segment.attr):
 * type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, D/B 10, G 11. */
#define X86_SEG_ATTR_DPL(a)  (((a) >> 5) & 3)
#define X86_SEG_ATTR_L       (1u << 9)    /* 64-bit code segment */
#define X86_SEG_ATTR_DB      (1u << 10)   /* 32-bit default operand size */

/* Debug registers (SDM Vol. 3B 18.2). */
#define X86_DR7_FIXED     (1ull << 10)   /* reads as 1: DR7 after reset is 0x400 */
#define X86_DR7_RW0_WRITE (1ull << 16)   /* R/W0 = 01: breakpoint 0 on data writes */
#define X86_DR6_INIT      0xffff0ff0ull  /* DR6 after reset */

/* Model-specific registers (SDM 4; APM 2 appendix A). */
#define MSR_IA32_TSC               0x10
#define MSR_IA32_APIC_BASE         0x1b
#define MSR_IA32_FEATURE_CONTROL   0x3a
#define MSR_IA32_TSC_ADJUST        0x3b
#define MSR_IA32_SYSENTER_CS       0x174
#define MSR_IA32_SYSENTER_ESP      0x175
#define MSR_IA32_SYSENTER_EIP      0x176
#define MSR_IA32_MISC_ENABLE       0x1a0
#define MSR_IA32_PAT               0x277
#define MSR_IA32_VMX_BASIC         0x480
#define MSR_IA32_VMX_PINBASED      0x481
#define MSR_IA32_VMX_PROCBASED     0x482
#define MSR_IA32_VMX_EXIT_CTLS     0x483
#define MSR_IA32_VMX_ENTRY_CTLS    0x484
#define MSR_IA32_VMX_PROCBASED2    0x48b
#define MSR_IA32_VMX_EPT_VPID      0x48c
#define MSR_IA32_VMX_TRUE_PIN      0x48d
#define MSR_IA32_VMX_TRUE_PROC     0x48e
#define MSR_IA32_TSC_DEADLINE      0x6e0
#define MSR_X2APIC_FIRST           0x800
#define MSR_X2APIC_LAST            0x8ff
#define MSR_EFER                   0xc0000080
#define MSR_STAR                   0xc0000081
#define MSR_LSTAR                  0xc0000082
#define MSR_CSTAR                  0xc0000083
#define MSR_SFMASK                 0xc0000084
#define MSR_FS_BASE                0xc0000100
#define MSR_GS_BASE                0xc0000101
#define MSR_KERNEL_GS_BASE         0xc0000102
#define MSR_IA32_TSC_AUX           0xc0000103
#define MSR_AMD_TSC_RATIO          0xc0000104
#define MSR_AMD_VM_CR              0xc0010114
#define MSR_AMD_VM_HSAVE_PA        0xc0010117

/* CPUID leaves and the feature bits the core itself sets or clears (SDM 2
 * CPUID; APM 3 appendix E). The virtual CPU's full description is
 * pure/cpumodel.c. */
#define CPUID_LEAF_HV_FIRST       0x40000000u  /* hypervisor leaves (docs/abi.md) */
#define CPUID_LEAF_HV_LAST        0x4fffffffu
#define CPUID_1_EDX_APIC          (1u << 9)    /* APIC on chip */
#define CPUID_1_ECX_OSXSAVE       (1u << 27)   /* mirrors CR4.OSXSAVE */
#define CPUID_TOPO_LEVEL_SMT      (1u << 8)    /* leaves 0BH/1FH ECX[15:8] = 1 */
#define CPUID_80000001_EDX_APIC   (1u << 9)    /* AMD: APIC on chip again */
#define CPUID_80000001_ECX_XOP    (1u << 11)
#define CPUID_80000001_ECX_FMA4   (1u << 16)
#define CPUID_80000007_EDX_INVTSC (1u << 8)    /* invariant TSC */
#define X86_CPUID_EXT_MAX_LEAF  0x80000000u   /* EAX: the highest extended leaf */
#define X86_CPUID_ADDR_SIZES    0x80000008u   /* EAX[7:0]: MAXPHYADDR */
#define X86_CPUID1_ECX_X2APIC   (1u << 21)

/* Local APIC registers: xAPIC MMIO offsets; the x2APIC MSR is
 * 0x800 + offset / 16 (SDM 3 section 11.4 and table 11-6). */
#define APIC_BASE_DEFAULT   0xfee00000ull
#define APIC_BASE_BSP       (1ull << 8)
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_ID        0x020
#define APIC_VERSION   0x030
#define APIC_TPR       0x080
#define APIC_APR       0x090
#define APIC_PPR       0x0a0
#define APIC_EOI       0x0b0
#define APIC_LDR       0x0d0
#define APIC_DFR       0x0e0
#define APIC_SVR       0x0f0
#define APIC_ISR       0x100   /* 8 registers, 0x10 apart */
#define APIC_TMR       0x180
#define APIC_IRR       0x200
#define APIC_ESR       0x280
#define APIC_ICR_LOW   0x300
#define APIC_ICR_HIGH  0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PMC   0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380   /* initial count */
#define APIC_TIMER_CCR 0x390   /* current count */
#define APIC_TIMER_DCR 0x3e0   /* divide configuration */
#define APIC_SELF_IPI  0x3f0   /* x2APIC only */
#define APIC_REGS_END  0x400   /* registers live below this offset of the page */
#define APIC_SVR_ENABLE (1u << 8)   /* APIC software enable */
#define APIC_VECTOR(x)  ((x) & 0xffu)   /* of an LVT entry or ICR */
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_TIMER_MODE(lvt) (((lvt) >> 17) & 3)
#define APIC_TIMER_ONESHOT      0
#define APIC_TIMER_PERIODIC     1
#define APIC_TIMER_TSC_DEADLINE 2
/* ICR (low word): delivery mode, status, level, trigger, shorthand. */
#define APIC_ICR_DELIVERY_MODE(icr) (((icr) >> 8) & 7)
#define APIC_DM_FIXED    0
#define APIC_DM_LOWEST   1
#define APIC_DM_INIT     5
#define APIC_DM_STARTUP  6
#define APIC_ICR_PENDING (1u << 12)   /* delivery status: send pending */
#define APIC_ICR_ASSERT  (1u << 14)   /* level: assert */
#define APIC_ICR_LEVEL   (1u << 15)   /* trigger mode: level */
#define APIC_ICR_SHORTHAND(icr) (((icr) >> 18) & 3)
#define APIC_DEST_SELF          1
#define APIC_DEST_ALL           2
#define APIC_DEST_ALL_BUT_SELF  3
#define APIC_DEST_SHIFT  24           /* xAPIC destination in ICR_HIGH */

/* The FXSAVE image (SDM 1 table 10-2): where MXCSR is. */
#define X86_FXSAVE_MXCSR 24

/* Pages (SDM 3 chapter 4). */
#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE  (1ull << X86_PAGE_SHIFT)

/* Legacy instruction prefixes (SDM 2 section 2.1.1). */
#define X86_PREFIX_REPNE 0xf2
#define X86_PREFIX_REP   0xf3   /* REP / REPE */

/* Guest page-table entries, 4-level paging (SDM 3 section 4.5). */
#define X86_PTE_P    (1ull << 0)
#define X86_PTE_RW   (1ull << 1)
#define X86_PTE_US   (1ull << 2)
#define X86_PTE_PWT  (1ull << 3)
#define X86_PTE_PCD  (1ull << 4)
#define X86_PTE_A    (1ull << 5)
#define X86_PTE_D    (1ull << 6)
#define X86_PTE_PS   (1ull << 7)
#define X86_PTE_G    (1ull << 8)
#define X86_PTE_NX   (1ull << 63)

/* AMD nested page tables use the guest format above, with U set on every
 * entry (APM 2 section 15.25.5). */
#define NPT_TABLE    (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define NPT_LARGE    (NPT_TABLE | X86_PTE_PS)

/* Intel EPT entries (SDM 3 section 29.3.2). */
#define EPT_R        (1ull << 0)
#define EPT_W        (1ull << 1)
#define EPT_X        (1ull << 2)
#define EPT_RWX      (EPT_R | EPT_W | EPT_X)
#define EPT_MT_WB    (6ull << 3)   /* memory type write-back (leaves) */
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE    (1ull << 7)

#endif
