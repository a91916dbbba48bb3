/* ALU results and flags (include/tscvisor/x86_alu.h). Pure C. */
#include <tscvisor/x86_alu.h>

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* PF: set when the low byte of the result has an even number of ones. */
static uint64_t parity(uint64_t r)
{
	return (__builtin_popcount((unsigned)(r & 0xff)) & 1) ? 0 : X86_PF;
}

/* ZF, SF and PF of a result. */
static uint64_t szp(uint64_t r, unsigned size)
{
	uint64_t f = parity(r);

	if (!(r & mask_of(size)))
		f |= X86_ZF;
	if ((r >> (size * 8 - 1)) & 1)
		f |= X86_SF;
	return f;
}

uint64_t x86_alu_defined_flags(enum x86_alu_op op)
{
	switch (op) {
	case X86_ALU_OR: case X86_ALU_AND: case X86_ALU_XOR: case X86_ALU_TEST:
		return X86_ARITH_FLAGS & ~X86_AF;          /* AF undefined */
	case X86_ALU_INC: case X86_ALU_DEC:
		return X86_ARITH_FLAGS;                    /* CF unaffected */
	case X86_ALU_NOT:
		return X86_ARITH_FLAGS;                    /* none affected */
	case X86_ALU_BT: case X86_ALU_BTS: case X86_ALU_BTR: case X86_ALU_BTC:
		return X86_CF | X86_ZF;                    /* ZF unaffected */
	default:
		return X86_ARITH_FLAGS;
	}
}

uint64_t x86_alu(enum x86_alu_op op, unsigned size, uint64_t dst, uint64_t src,
		 uint64_t flags, uint64_t *flags_out)
{
	uint64_t m = mask_of(size), r = 0, f = 0, keep = X86_ARITH_FLAGS, cin = flags & X86_CF;
	unsigned msb = size * 8 - 1, bit;

	dst &= m;
	src &= m;
	switch (op) {
	case X86_ALU_ADD:
	case X86_ALU_ADC:
	case X86_ALU_INC:
		if (op == X86_ALU_INC)
			src = 1;
		if (op != X86_ALU_ADC)
			cin = 0;
		r = (dst + src + cin) & m;
		if (r < dst || (cin && r == dst))
			f |= X86_CF;
		if ((((dst ^ r) & (src ^ r)) >> msb) & 1)
			f |= X86_OF;
		f |= (dst ^ src ^ r) & X86_AF;
		f |= szp(r, size);
		if (op == X86_ALU_INC)
			f = (f & ~X86_CF) | (flags & X86_CF);
		break;
	case X86_ALU_SUB:
	case X86_ALU_SBB:
	case X86_ALU_CMP:
	case X86_ALU_DEC:
	case X86_ALU_NEG:
		if (op == X86_ALU_DEC)
			src = 1;
		if (op == X86_ALU_NEG) {
			src = dst;
			dst = 0;
		}
		if (op != X86_ALU_SBB)
			cin = 0;
		r = (dst - src - cin) & m;
		if (dst < src || (cin && dst == src))
			f |= X86_CF;
		if ((((dst ^ src) & (dst ^ r)) >> msb) & 1)
			f |= X86_OF;
		f |= (dst ^ src ^ r) & X86_AF;
		f |= szp(r, size);
		if (op == X86_ALU_DEC)
			f = (f & ~X86_CF) | (flags & X86_CF);
		break;
	case X86_ALU_OR:
		r = dst | src;
		f = szp(r, size);
		break;
	case X86_ALU_AND:
	case X86_ALU_TEST:
		r = dst & src;
		f = szp(r, size);
		break;
	case X86_ALU_XOR:
		r = dst ^ src;
		f = szp(r, size);
		break;
	case X86_ALU_NOT:
		r = ~dst & m;
		keep = 0;
		break;
	case X86_ALU_BT:
	case X86_ALU_BTS:
	case X86_ALU_BTR:
	case X86_ALU_BTC:
		/* The bit offset modulo the operand width (a register offset
		 * also selects the word, which the caller's address reflects). */
		bit = (unsigned)(src & (size * 8 - 1));
		f = (dst >> bit) & 1 ? X86_CF : 0;
		keep = X86_CF;
		r = op == X86_ALU_BTS ? dst | (1ull << bit) :
		    op == X86_ALU_BTR ? dst & ~(1ull << bit) :
		    op == X86_ALU_BTC ? dst ^ (1ull << bit) : dst;
		break;
	default:
		keep = 0;
		r = dst;
		break;
	}
	if (flags_out)
		*flags_out = (flags & ~keep) | (f & keep);
	return r & m;
}

bool x86_cond(unsigned cc, uint64_t flags)
{
	bool cf = flags & X86_CF, zf = flags & X86_ZF, sf = flags & X86_SF;
	bool of = flags & X86_OF, pf = flags & X86_PF, r;

	switch ((cc >> 1) & 7) {
	case 0: r = of; break;                  /* O */
	case 1: r = cf; break;                  /* B */
	case 2: r = zf; break;                  /* E */
	case 3: r = cf || zf; break;            /* BE */
	case 4: r = sf; break;                  /* S */
	case 5: r = pf; break;                  /* P */
	case 6: r = sf != of; break;            /* L */
	default: r = zf || sf != of; break;     /* LE */
	}
	return (cc & 1) ? !r : r;
}
