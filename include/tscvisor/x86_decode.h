/* A small x86 instruction decoder for the few instructions the hypervisor
 * has to emulate (pure C, no hardware access; host-tested).
 *
 * Some exits arrive without the instruction length (no NRIPS) or without the
 * operands of an MMIO access (no decode assists), so the hypervisor reads the
 * guest's bytes at RIP and decodes them here. Only what an exit handler needs
 * is recognised: the intercepted instructions (CPUID, RDTSC, RDTSCP, RDPID,
 * RDMSR, WRMSR, HLT, VMMCALL, VMCALL, IN/OUT/INS/OUTS) and the plain memory
 * moves a guest uses on MMIO (MOV, MOVZX, MOVSX, MOVSXD, MOV moffs). Any other
 * opcode is X86_DECODE_EUNSUP. The effective address is not computed (the
 * hardware reports the guest-physical address), but the length of every
 * ModRM/SIB/displacement form is exact in 16-, 32- and 64-bit code. */
#ifndef TSCVISOR_X86_DECODE_H
#define TSCVISOR_X86_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15

/* The code's default operand/address size: CPU_MODE_16 for real mode,
 * virtual-8086 mode and 16-bit protected-mode or compatibility-mode code
 * segments (CS.D=0), CPU_MODE_32 for CS.D=1 outside 64-bit mode, CPU_MODE_64
 * for long mode with CS.L=1. */
enum cpu_mode { CPU_MODE_16, CPU_MODE_32, CPU_MODE_64 };

/* The mode from architectural state: CR0.PE, EFER.LMA, RFLAGS.VM, CS.L and
 * CS.D (D/B bit of the code segment). */
enum cpu_mode x86_cpu_mode(uint64_t cr0, uint64_t efer, uint64_t rflags,
			   bool cs_l, bool cs_d);

/* Errors returned by x86_decode() (negative). */
#define X86_DECODE_ETRUNC   (-1)  /* needs more bytes than were available */
#define X86_DECODE_EUNSUP   (-2)  /* not an instruction this decoder knows */
#define X86_DECODE_EINVAL   (-3)  /* a known instruction encoded in a way that
				   * raises #UD (e.g. LOCK on a non-lockable
				   * instruction or a register destination) */
#define X86_DECODE_ETOOLONG (-4)  /* longer than 15 bytes: #GP(0) */

enum x86_insn_kind {
	X86_INSN_NONE = 0,
	X86_INSN_CPUID,         /* 0F A2 */
	X86_INSN_RDTSC,         /* 0F 31 */
	X86_INSN_RDTSCP,        /* 0F 01 F9 */
	X86_INSN_RDPID,         /* F3 0F C7 /7, register operand: reg = rm */
	X86_INSN_RDMSR,         /* 0F 32 */
	X86_INSN_WRMSR,         /* 0F 30 */
	X86_INSN_HLT,           /* F4 */
	X86_INSN_VMMCALL,       /* 0F 01 D9 (AMD) */
	X86_INSN_VMCALL,        /* 0F 01 C1 (Intel) */
	X86_INSN_IN,            /* E4 E5 EC ED */
	X86_INSN_OUT,           /* E6 E7 EE EF */
	X86_INSN_INS,           /* 6C 6D */
	X86_INSN_OUTS,          /* 6E 6F */
	X86_INSN_MOV,           /* 88 89 8A 8B C6/0 C7/0 A0-A3 */
	X86_INSN_MOVZX,         /* 0F B6 0F B7 */
	X86_INSN_MOVSX,         /* 0F BE 0F BF, 63 (MOVSXD, 64-bit mode only) */
	X86_INSN_INVD,          /* 0F 08 */
	X86_INSN_WBINVD,        /* 0F 09 */
	X86_INSN_XSETBV,        /* 0F 01 D1 */
	/* Instructions with a memory operand a guest may aim at MMIO. */
	X86_INSN_ALU,           /* 00-03 08-0B ... 38-3B, 80-83 /0-/7: alu_op
				 * = ADD OR ADC SBB AND SUB XOR CMP (0..7) */
	X86_INSN_TEST,          /* 84 85, F6/F7 /0 /1 (imm) */
	X86_INSN_INC,           /* FE/FF /0 */
	X86_INSN_DEC,           /* FE/FF /1 */
	X86_INSN_NOT,           /* F6/F7 /2 */
	X86_INSN_NEG,           /* F6/F7 /3 */
	X86_INSN_XCHG,          /* 86 87 */
	X86_INSN_BT,            /* 0F A3 AB B3 BB, 0F BA /4-/7: alu_op = BT BTS
				 * BTR BTC (0..3); reg = the bit-offset
				 * register, or has_imm */
	X86_INSN_SETCC,         /* 0F 90-9F: alu_op = the condition (0..15) */
	X86_INSN_CMPXCHG,       /* 0F B0 B1: reg = the source */
	X86_INSN_XADD,          /* 0F C0 C1 */
	X86_INSN_MOVS,          /* A4 A5 */
	X86_INSN_CMPS,          /* A6 A7 */
	X86_INSN_STOS,          /* AA AB */
	X86_INSN_LODS,          /* AC AD */
	X86_INSN_SCAS,          /* AE AF */
	X86_INSN_PUSH,          /* FF /6 (memory source) */
	X86_INSN_POP,           /* 8F /0 (memory destination) */
	X86_INSN_KIND_NR
};

/* Which legacy prefixes were present (any order, repeats allowed). */
#define X86_PFX_OPSIZE  0x01    /* 66 */
#define X86_PFX_ADDRSIZE 0x02   /* 67 */
#define X86_PFX_LOCK    0x04    /* F0 */
#define X86_PFX_REPNE   0x08    /* F2 */
#define X86_PFX_REP     0x10    /* F3 */

/* Segment register numbers (hardware encoding, as in a segment override). */
#define X86_SEG_ES 0
#define X86_SEG_CS 1
#define X86_SEG_SS 2
#define X86_SEG_DS 3
#define X86_SEG_FS 4
#define X86_SEG_GS 5
#define X86_SEG_NONE 0xff

struct x86_insn {
	enum x86_insn_kind kind;
	uint8_t len;            /* total length in bytes, 1..15 */
	uint8_t opsize;         /* operand size in bytes: of the register or
				 * immediate operand (MOV*: the register; IN/OUT
				 * and INS/OUTS: one element; RDPID: 4 or 8;
				 * others: the mode's operand size, unused) */
	uint8_t memsize;        /* bytes of the memory (or moffs) operand: equals
				 * opsize except MOVZX/MOVSX (1, 2 or 4); 0 when
				 * the instruction has no memory operand */
	uint8_t addrsize;       /* address size: 2, 4 or 8 (string I/O counts in
				 * rCX/rSI/rDI of this width; moffs width) */
	uint8_t prefixes;       /* X86_PFX_* */
	uint8_t last_rep;       /* 0, 0xF2 or 0xF3: the last of F2/F3 */
	uint8_t seg;            /* last segment override or X86_SEG_NONE; in
				 * 64-bit mode ES/CS/SS/DS overrides are ignored
				 * (reported as X86_SEG_NONE) */
	uint8_t rex;            /* the effective REX prefix byte (0 if none; a
				 * REX followed by another prefix is ignored, as
				 * by the processor) */
	uint8_t opcode;         /* the opcode byte (after 0F for two-byte ones) */
	bool two_byte;          /* opcode is in the 0F map */

	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	uint8_t disp_len;       /* 0, 1, 2, 4 or 8 (8 only for 64-bit moffs) */
	uint64_t disp;          /* ModRM displacement sign-extended to 64 bits;
				 * for moffs forms the offset, zero-extended */
	bool rip_relative;      /* 64-bit mode, mod=0 rm=5 (RIP/EIP + disp32) */

	/* True when the instruction accesses memory through ModRM (mod != 3) or
	 * a moffs offset. INS/OUTS and the string instructions (MOVS ... SCAS)
	 * access memory through rDI/rSI, report false here and memsize 0; their
	 * element size is opsize. */
	bool has_mem;
	/* Direction of the access to the device: true for a write (a store to
	 * memory, OUT, OUTS), false for a read (a load, IN, INS). For the
	 * read-modify-write forms (ALU, INC ... XADD): whether memory is
	 * written (CMP, TEST, BT: false). String instructions, PUSH, POP: as
	 * the MMIO side (STOS, POP: write; LODS, SCAS, PUSH: read). */
	bool write;

	/* The register operand, 0..15 (REX.R included): MOV r/m,r and r,r/m:
	 * ModRM.reg; MOVZX/MOVSX: the destination; MOV moffs, IN/OUT: 0 (AL/AX/
	 * EAX/RAX); RDPID: the destination (ModRM.rm + REX.B). Unused (0) for
	 * MOV r/m,imm. */
	uint8_t reg;
	/* reg names a legacy high-byte register: an 8-bit operand without any
	 * REX prefix and reg 4..7 means AH CH DH BH (bits 15:8 of register
	 * reg - 4), not SPL BPL SIL DIL. */
	bool reg_high8;
	/* For mod == 3: the r/m register, 0..15 (REX.B included), and whether it
	 * is a legacy high-byte register (for an 8-bit r/m operand). */
	uint8_t rm;
	bool rm_high8;

	bool has_imm;           /* MOV r/m,imm; IN/OUT with an imm8 port */
	uint64_t imm;           /* the immediate: IN/OUT port (zero-extended);
				 * MOV: the value to store, opsize bytes (imm32
				 * sign-extended when opsize is 8) */
	bool port_in_dx;        /* IN/OUT/INS/OUTS: port in DX */
	bool rep;               /* INS/OUTS and the string instructions: with
				 * a REP (F3 or F2) prefix */

	/* ALU/BT: the operation; SETcc: the condition code. */
	uint8_t alu_op;
	/* The memory (r/m) operand is the first (destination) operand: ALU
	 * r/m,reg and r/m,imm, INC/DEC/NOT/NEG, BT*, XADD, CMPXCHG, SETcc. For
	 * CMP/TEST/BT it is read only (write false). */
	bool mem_is_dst;
};

/* Decode the instruction at bytes[0..avail). Returns 0 and fills *out, or a
 * negative X86_DECODE_* error (then *out is undefined). Never reads at or
 * beyond bytes[avail] nor beyond 15 bytes. */
int x86_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode,
	       struct x86_insn *out);

const char *x86_insn_kind_name(enum x86_insn_kind kind);

#endif
