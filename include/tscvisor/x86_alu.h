/* The data side of the instructions the hypervisor emulates on MMIO: the
 * result and the arithmetic flags of an ALU operation on 1-, 2-, 4- or
 * 8-byte operands, and the SETcc/Jcc conditions (Intel SDM Vol. 1 3.4.3
 * and appendix A "EFLAGS Cross-Reference"; Vol. 2 for each instruction).
 * Pure C, host-tested against the host CPU's own instructions
 * (tests/test_x86_alu.c). */
#ifndef TSCVISOR_X86_ALU_H
#define TSCVISOR_X86_ALU_H

#include <stdbool.h>
#include <stdint.h>

#define X86_CF 0x001ull
#define X86_PF 0x004ull
#define X86_AF 0x010ull
#define X86_ZF 0x040ull
#define X86_SF 0x080ull
#define X86_OF 0x800ull
#define X86_DF 0x400ull
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

enum x86_alu_op {
	/* The group-1 encoding order (ModRM.reg of 80-83, opcode bits 5:3). */
	X86_ALU_ADD, X86_ALU_OR, X86_ALU_ADC, X86_ALU_SBB,
	X86_ALU_AND, X86_ALU_SUB, X86_ALU_XOR, X86_ALU_CMP,
	X86_ALU_TEST, X86_ALU_INC, X86_ALU_DEC, X86_ALU_NOT, X86_ALU_NEG,
	X86_ALU_BT, X86_ALU_BTS, X86_ALU_BTR, X86_ALU_BTC,
	X86_ALU_OP_NR
};

/* dst OP src on `size` bytes (1, 2, 4, 8); flags is RFLAGS before (CF is
 * an input of ADC/SBB; flags an operation leaves alone are kept). Returns
 * the result (of size bytes; for CMP/TEST/BT the value that is not
 * stored); *flags_out gets RFLAGS after. Flags the SDM calls undefined get
 * a fixed choice (AF 0 after logic ops; BT* leave OF SF AF PF unchanged):
 * a test must not compare them. */
uint64_t x86_alu(enum x86_alu_op op, unsigned size, uint64_t dst, uint64_t src,
		 uint64_t flags, uint64_t *flags_out);

/* The flags the SDM defines after `op` (the rest are undefined). */
uint64_t x86_alu_defined_flags(enum x86_alu_op op);

/* Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc) on flags. */
bool x86_cond(unsigned cc, uint64_t flags);

#endif
