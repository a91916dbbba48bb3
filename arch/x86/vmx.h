/* Intel VMX definitions (SDM Vol. 3C, chapters 24-28 and appendices A-C). */
#ifndef ARCH_X86_VMX_H
#define ARCH_X86_VMX_H

#include <stdint.h>

/* Capability MSRs (SDM Vol. 3C appendix A) only vmx.c reads; the others are
 * in <tscvisor/x86.h>. Pin, primary, exit and entry controls each have a
 * TRUE_ variant when IA32_VMX_BASIC[55] is set. */
#define MSR_IA32_VMX_MISC         0x485
#define MSR_IA32_VMX_CR0_FIXED0   0x486
#define MSR_IA32_VMX_CR0_FIXED1   0x487
#define MSR_IA32_VMX_CR4_FIXED0   0x488
#define MSR_IA32_VMX_CR4_FIXED1   0x489
#define MSR_IA32_VMX_TRUE_EXIT    0x48f
#define MSR_IA32_VMX_TRUE_ENTRY   0x490

#define VMX_BASIC_TRUE_CTLS       (1ull << 55)
#define VMX_MISC_STORE_LMA        (1ull << 5)    /* exits store EFER.LMA in "IA-32e mode guest" */
#define VMX_MISC_PREEMPT_RATE     0x1full        /* preemption timer: TSC >> this */
#define FEATURE_CONTROL_LOCKED    (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* IA32_VMX_EPT_VPID_CAP (appendix A.10) */
#define EPT_CAP_WALK_4            (1ull << 6)
#define EPT_CAP_WB                (1ull << 14)
#define EPT_CAP_2M                (1ull << 16)
#define EPT_CAP_INVEPT            (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE     (1ull << 25)
#define EPT_CAP_INVEPT_ALL        (1ull << 26)
#define VPID_CAP_INVVPID          (1ull << 32)
#define VPID_CAP_INVVPID_SINGLE   (1ull << 41)
#define VPID_CAP_INVVPID_ALL      (1ull << 42)

/* Pin-based VM-execution controls (24.6.1) */
#define PIN_EXTINT_EXITING        (1u << 0)
#define PIN_NMI_EXITING           (1u << 3)
#define PIN_PREEMPTION_TIMER      (1u << 6)

/* Primary processor-based VM-execution controls (24.6.2) */
#define PROC_INTR_WINDOW_EXITING  (1u << 2)
#define PROC_TSC_OFFSETTING       (1u << 3)
#define PROC_HLT_EXITING          (1u << 7)
#define PROC_MWAIT_EXITING        (1u << 10)
#define PROC_RDPMC_EXITING        (1u << 11)
#define PROC_RDTSC_EXITING        (1u << 12)
#define PROC_CR3_LOAD_EXITING     (1u << 15)
#define PROC_CR3_STORE_EXITING    (1u << 16)
#define PROC_CR8_LOAD_EXITING     (1u << 19)
#define PROC_CR8_STORE_EXITING    (1u << 20)
#define PROC_IO_BITMAPS           (1u << 25)
#define PROC_MSR_BITMAPS          (1u << 28)
#define PROC_MONITOR_EXITING      (1u << 29)
#define PROC_SECONDARY            (1u << 31)

/* Secondary processor-based VM-execution controls */
#define PROC2_EPT                 (1u << 1)
#define PROC2_RDTSCP              (1u << 3)
#define PROC2_VPID                (1u << 5)
#define PROC2_UNRESTRICTED        (1u << 7)
#define PROC2_INVPCID             (1u << 12)
#define PROC2_XSAVES              (1u << 20)
#define PROC2_TSC_SCALING         (1u << 25)

/* VM-exit controls (24.7.1) */
#define EXIT_SAVE_DEBUG           (1u << 2)
#define EXIT_HOST_64              (1u << 9)
#define EXIT_ACK_INTR             (1u << 15)
#define EXIT_SAVE_PAT             (1u << 18)
#define EXIT_LOAD_PAT             (1u << 19)
#define EXIT_SAVE_EFER            (1u << 20)
#define EXIT_SAVE_PREEMPT         (1u << 22)   /* save VMX-preemption timer value */
#define EXIT_LOAD_EFER            (1u << 21)

/* VM-entry controls (24.8.1) */
#define ENTRY_LOAD_DEBUG          (1u << 2)
#define ENTRY_IA32E_GUEST         (1u << 9)
#define ENTRY_LOAD_PAT            (1u << 14)
#define ENTRY_LOAD_EFER           (1u << 15)

/* VMCS field encodings (appendix B): width 14:13, type 11:10, index 9:1. */
enum vmcs_field {
	/* 16-bit */
	VMCS_VPID                 = 0x0000,
	VMCS_GUEST_ES_SEL         = 0x0800,   /* ES, CS, SS, DS, FS, GS, LDTR, TR: +2 each */
	VMCS_HOST_ES_SEL          = 0x0c00,
	VMCS_HOST_CS_SEL          = 0x0c02,
	VMCS_HOST_SS_SEL          = 0x0c04,
	VMCS_HOST_DS_SEL          = 0x0c06,
	VMCS_HOST_FS_SEL          = 0x0c08,
	VMCS_HOST_GS_SEL          = 0x0c0a,
	VMCS_HOST_TR_SEL          = 0x0c0c,
	/* 64-bit */
	VMCS_IO_BITMAP_A          = 0x2000,
	VMCS_IO_BITMAP_B          = 0x2002,
	VMCS_MSR_BITMAP           = 0x2004,
	VMCS_EXIT_MSR_STORE       = 0x2006,
	VMCS_EXIT_MSR_LOAD        = 0x2008,
	VMCS_ENTRY_MSR_LOAD       = 0x200a,
	VMCS_TSC_OFFSET           = 0x2010,
	VMCS_EPTP                 = 0x201a,
	VMCS_XSS_EXIT_BITMAP      = 0x202c,
	VMCS_TSC_MULTIPLIER       = 0x2032,
	VMCS_GUEST_PHYS_ADDR      = 0x2400,
	VMCS_LINK_POINTER         = 0x2800,
	VMCS_GUEST_DEBUGCTL       = 0x2802,
	VMCS_GUEST_PAT            = 0x2804,
	VMCS_GUEST_EFER           = 0x2806,
	VMCS_GUEST_PDPTE0         = 0x280a,   /* PDPTE0..3: +2 each */
	VMCS_HOST_PAT             = 0x2c00,
	VMCS_HOST_EFER            = 0x2c02,
	/* 32-bit */
	VMCS_PIN_CTLS             = 0x4000,
	VMCS_PROC_CTLS            = 0x4002,
	VMCS_EXCEPTION_BITMAP     = 0x4004,
	VMCS_PF_ERROR_MASK        = 0x4006,
	VMCS_PF_ERROR_MATCH       = 0x4008,
	VMCS_CR3_TARGET_COUNT     = 0x400a,
	VMCS_EXIT_CTLS            = 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT = 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT  = 0x4010,
	VMCS_ENTRY_CTLS           = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VMCS_ENTRY_INTR_INFO      = 0x4016,
	VMCS_ENTRY_EXC_ERROR      = 0x4018,
	VMCS_ENTRY_INSN_LEN       = 0x401a,
	VMCS_TPR_THRESHOLD        = 0x401c,
	VMCS_PROC2_CTLS           = 0x401e,
	VMCS_INSN_ERROR           = 0x4400,
	VMCS_EXIT_REASON          = 0x4402,
	VMCS_EXIT_INTR_INFO       = 0x4404,
	VMCS_EXIT_INTR_ERROR      = 0x4406,
	VMCS_IDT_VECTORING_INFO   = 0x4408,
	VMCS_IDT_VECTORING_ERROR  = 0x440a,
	VMCS_EXIT_INSN_LEN        = 0x440c,
	VMCS_EXIT_INSN_INFO       = 0x440e,
	VMCS_GUEST_ES_LIMIT       = 0x4800,   /* ES..TR: +2 each; then GDTR, IDTR */
	VMCS_GUEST_GDTR_LIMIT     = 0x4810,
	VMCS_GUEST_IDTR_LIMIT     = 0x4812,
	VMCS_GUEST_ES_AR          = 0x4814,   /* ES..TR: +2 each */
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY       = 0x4826,
	VMCS_GUEST_SYSENTER_CS    = 0x482a,
	VMCS_PREEMPTION_TIMER     = 0x482e,
	VMCS_HOST_SYSENTER_CS     = 0x4c00,
	/* natural width */
	VMCS_CR0_MASK             = 0x6000,
	VMCS_CR4_MASK             = 0x6002,
	VMCS_CR0_SHADOW           = 0x6004,
	VMCS_CR4_SHADOW           = 0x6006,
	VMCS_EXIT_QUALIFICATION   = 0x6400,
	VMCS_GUEST_LINEAR_ADDR    = 0x640a,
	VMCS_GUEST_CR0            = 0x6800,
	VMCS_GUEST_CR3            = 0x6802,
	VMCS_GUEST_CR4            = 0x6804,
	VMCS_GUEST_ES_BASE        = 0x6806,   /* ES..TR: +2 each; then GDTR, IDTR */
	VMCS_GUEST_GDTR_BASE      = 0x6816,
	VMCS_GUEST_IDTR_BASE      = 0x6818,
	VMCS_GUEST_DR7            = 0x681a,
	VMCS_GUEST_RSP            = 0x681c,
	VMCS_GUEST_RIP            = 0x681e,
	VMCS_GUEST_RFLAGS         = 0x6820,
	VMCS_GUEST_PENDING_DBG    = 0x6822,
	VMCS_GUEST_SYSENTER_ESP   = 0x6824,
	VMCS_GUEST_SYSENTER_EIP   = 0x6826,
	VMCS_HOST_CR0             = 0x6c00,
	VMCS_HOST_CR3             = 0x6c02,
	VMCS_HOST_CR4             = 0x6c04,
	VMCS_HOST_FS_BASE         = 0x6c06,
	VMCS_HOST_GS_BASE         = 0x6c08,
	VMCS_HOST_TR_BASE         = 0x6c0a,
	VMCS_HOST_GDTR_BASE       = 0x6c0c,
	VMCS_HOST_IDTR_BASE       = 0x6c0e,
	VMCS_HOST_SYSENTER_ESP    = 0x6c10,
	VMCS_HOST_SYSENTER_EIP    = 0x6c12,
	VMCS_HOST_RSP             = 0x6c14,
	VMCS_HOST_RIP             = 0x6c16,
};

/* Basic exit reasons (appendix C); bit 31 of the exit reason = entry failed. */
#define VMX_EXIT_EXCEPTION_NMI    0
#define VMX_EXIT_EXTINT           1
#define VMX_EXIT_TRIPLE_FAULT     2
#define VMX_EXIT_INIT             3
#define VMX_EXIT_INTR_WINDOW      7
#define VMX_EXIT_CPUID            10
#define VMX_EXIT_HLT              12
#define VMX_EXIT_INVD             13
#define VMX_EXIT_RDTSC            16
#define VMX_EXIT_RDPMC            15
#define VMX_EXIT_VMCALL           18
#define VMX_EXIT_VMCLEAR          19   /* 19..27: the VMX instructions */
#define VMX_EXIT_VMXON            27
#define VMX_EXIT_CR_ACCESS        28
#define VMX_EXIT_MWAIT            36
#define VMX_EXIT_MONITOR          39
#define VMX_EXIT_IO               30
#define VMX_EXIT_RDMSR            31
#define VMX_EXIT_WRMSR            32
#define VMX_EXIT_INVALID_GUEST    33
#define VMX_EXIT_MSR_LOADING      34
#define VMX_EXIT_EPT_VIOLATION    48
#define VMX_EXIT_EPT_MISCONFIG    49
#define VMX_EXIT_INVEPT           50
#define VMX_EXIT_RDTSCP           51
#define VMX_EXIT_PREEMPTION_TIMER 52
#define VMX_EXIT_INVVPID          53
#define VMX_EXIT_WBINVD           54
#define VMX_EXIT_XSETBV           55
#define VMX_EXIT_ENTRY_FAILED     (1u << 31)

/* Interruption-information fields (24.8.3, 24.9.2, 24.9.3) */
#define INTR_INFO_VALID           (1u << 31)
#define INTR_INFO_NMI_UNBLOCK     (1u << 12)   /* exit info only: IRET unblocked NMIs */
#define INTR_INFO_HAS_ERROR       (1u << 11)
#define INTR_INFO_TYPE_SHIFT      8
#define INTR_TYPE_EXTINT          0u
#define INTR_TYPE_NMI             2u
#define INTR_TYPE_HW_EXCEPTION    3u
#define INTR_TYPE_SW_INTR         4u
#define INTR_TYPE_PRIV_SW_EXC     5u
#define INTR_TYPE_SW_EXCEPTION    6u

/* Guest interruptibility state (24.4.2) */
#define INTERRUPTIBILITY_STI      (1u << 0)
#define INTERRUPTIBILITY_MOV_SS   (1u << 1)
#define INTERRUPTIBILITY_NMI      (1u << 3)

/* Segment access rights: the descriptor's bits 40-55 with 8-11 unused, plus
 * "unusable" (24.4.1). SVM's 12-bit attr packs the same bits without the gap. */
#define VMX_AR_UNUSABLE           (1u << 16)

/* EPT entries (28.3.2): read, write, execute; leaf memory type 5:3; 2 MiB
 * leaf bit 7. EPTP: memory type 2:0, walk length - 1 in 5:3. */
#define EPTP_WB_4LEVEL            (6ull | (3ull << 3))

/* CR0/CR4/EFER bits and the MSR numbers shared with the rest are in
 * <tscvisor/x86.h>. */

#endif
