/* Host tests of pure/x86_alu.c: every operation and operand size against
 * the host CPU executing the same instruction (an independent reference),
 * on edge values and pseudo-random ones; the flags the SDM defines must
 * match. Then pure/apic_mode.c: the IA32_APIC_BASE transitions. */
#include "harness.h"
#include <tscvisor/apic_mode.h>
#include <tscvisor/x86_alu.h>

/* Run "mn src, dst" (AT&T) on the host with RFLAGS = fin; the red zone is
 * stepped over before the pushes. */
#define HOST2(mn, T) do { \
	T a = (T)d, b = (T)s; uint64_t f = fin; \
	__asm__ volatile("sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" mn " %[b], %[a]\n\t" \
			 "pushfq\n\tpop %[f]\n\tadd $128, %%rsp" \
			 : [a] "+q"(a), [f] "+r"(f) : [b] "q"(b) : "cc", "memory"); \
	*fout = f; return (uint64_t)a; } while (0)
#define HOST1(mn, T) do { \
	T a = (T)d; uint64_t f = fin; \
	__asm__ volatile("sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" mn " %[a]\n\t" \
			 "pushfq\n\tpop %[f]\n\tadd $128, %%rsp" \
			 : [a] "+q"(a), [f] "+r"(f) : : "cc", "memory"); \
	*fout = f; return (uint64_t)a; } while (0)
#define SIZES2(mn) switch (size) { \
	case 1: HOST2(mn, uint8_t); case 2: HOST2(mn, uint16_t); \
	case 4: HOST2(mn, uint32_t); default: HOST2(mn, uint64_t); }
#define SIZES1(mn) switch (size) { \
	case 1: HOST1(mn, uint8_t); case 2: HOST1(mn, uint16_t); \
	case 4: HOST1(mn, uint32_t); default: HOST1(mn, uint64_t); }
/* BT* have no byte form. */
#define SIZESBT(mn) switch (size) { \
	case 2: HOST2(mn, uint16_t); case 4: HOST2(mn, uint32_t); default: HOST2(mn, uint64_t); }

static uint64_t host(enum x86_alu_op op, unsigned size, uint64_t d, uint64_t s, uint64_t fin,
		     uint64_t *fout)
{
	switch (op) {
	case X86_ALU_ADD: SIZES2("add");
	case X86_ALU_OR:  SIZES2("or");
	case X86_ALU_ADC: SIZES2("adc");
	case X86_ALU_SBB: SIZES2("sbb");
	case X86_ALU_AND: SIZES2("and");
	case X86_ALU_SUB: SIZES2("sub");
	case X86_ALU_XOR: SIZES2("xor");
	case X86_ALU_CMP: SIZES2("cmp");
	case X86_ALU_TEST: SIZES2("test");
	case X86_ALU_INC: SIZES1("inc");
	case X86_ALU_DEC: SIZES1("dec");
	case X86_ALU_NOT: SIZES1("not");
	case X86_ALU_NEG: SIZES1("neg");
	case X86_ALU_BT:  SIZESBT("bt");
	case X86_ALU_BTS: SIZESBT("bts");
	case X86_ALU_BTR: SIZESBT("btr");
	default:          SIZESBT("btc");
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x0f, 0x10,
	};
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned op, si, i, j, bad = 0, runs = 0;

	for (op = 0; op < X86_ALU_OP_NR; op++) {
		for (si = 0; si < 4; si++) {
			unsigned size = sizes[si];

			if (op >= X86_ALU_BT && size == 1)
				continue;
			for (i = 0; i < 17 + 200; i++) {
				for (j = 0; j < 17 + 10; j++) {
					uint64_t d = i < 17 ? edge[i] : next();
					uint64_t s = j < 17 ? edge[j] : next();
					uint64_t fin = (next() & X86_ARITH_FLAGS) | 2, fh, fe, rh, re;
					uint64_t def = x86_alu_defined_flags((enum x86_alu_op)op);
					uint64_t m = size == 8 ? ~0ull : (1ull << (size * 8)) - 1;

					rh = host((enum x86_alu_op)op, size, d, s, fin, &fh);
					re = x86_alu((enum x86_alu_op)op, size, d, s, fin, &fe);
					runs++;
					/* CMP TEST BT: the host leaves dst, ours gives the result */
					if (op == X86_ALU_CMP || op == X86_ALU_TEST || op == X86_ALU_BT)
						rh = re;
					if ((rh & m) != re || ((fh ^ fe) & def)) {
						if (bad++ < 10)
							printf("# op %u size %u d 0x%llx s 0x%llx fin 0x%llx: "
							       "host 0x%llx/0x%llx ours 0x%llx/0x%llx\n", op, size,
							       (unsigned long long)d, (unsigned long long)s,
							       (unsigned long long)fin, (unsigned long long)rh,
							       (unsigned long long)fh, (unsigned long long)re,
							       (unsigned long long)fe);
					}
				}
			}
		}
	}
	CHECK(runs > 50000);
	CHECK_EQ_U64(bad, 0);

	/* CMP's result is dst - src, not stored; TEST's dst & src. */
	{
		uint64_t f;

		CHECK_EQ_U64(x86_alu(X86_ALU_CMP, 4, 5, 7, 2, &f), 0xfffffffe);
		CHECK((f & X86_CF) && (f & X86_SF) && !(f & X86_ZF));
		CHECK_EQ_U64(x86_alu(X86_ALU_ADD, 1, 0xff, 0xff, 2, &f), 0xfe);
		CHECK((f & X86_CF) && (f & X86_AF) && !(f & X86_OF));
		/* all-ones data: what an MMIO hole read gives */
		CHECK_EQ_U64(x86_alu(X86_ALU_NOT, 4, ~0ull, 0, 2, &f), 0);
		CHECK_EQ_U64(f, 2);
		CHECK_EQ_U64(x86_alu(X86_ALU_INC, 2, 0xffff, 0, 2 | X86_CF, &f), 0);
		CHECK((f & X86_ZF) && (f & X86_CF));     /* INC keeps CF */
	}

	/* Conditions against the host's SETcc on every flag combination. */
	{
		unsigned cc, combo, cbad = 0;

		for (combo = 0; combo < 32; combo++) {
			uint64_t fl = 2 | ((combo & 1) ? X86_CF : 0) | ((combo & 2) ? X86_ZF : 0) |
				      ((combo & 4) ? X86_SF : 0) | ((combo & 8) ? X86_OF : 0) |
				      ((combo & 16) ? X86_PF : 0);
			uint8_t h[16];

#define SET(n, mn) __asm__ volatile("sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" mn " %[r]\n\t" \
				    "add $128, %%rsp" : [r] "=q"(h[n]) : [f] "r"(fl) : "cc", "memory")
			SET(0, "seto"); SET(1, "setno"); SET(2, "setb"); SET(3, "setae");
			SET(4, "sete"); SET(5, "setne"); SET(6, "setbe"); SET(7, "seta");
			SET(8, "sets"); SET(9, "setns"); SET(10, "setp"); SET(11, "setnp");
			SET(12, "setl"); SET(13, "setge"); SET(14, "setle"); SET(15, "setg");
			for (cc = 0; cc < 16; cc++)
				cbad += (h[cc] != 0) != x86_cond(cc, fl);
		}
		CHECK_EQ_U64(cbad, 0);
	}

	/* IA32_APIC_BASE transitions (SDM Vol. 3A 11.12.5). */
	{
		const uint64_t B = 0xfee00000ull, DIS = B, X = B | APIC_BASE_EN_BIT,
			       X2 = X | APIC_BASE_EXTD_BIT, INV = B | APIC_BASE_EXTD_BIT;

		CHECK_EQ_U64(apic_mode_of(DIS), APIC_MODE_DISABLED);
		CHECK_EQ_U64(apic_mode_of(X2), APIC_MODE_X2APIC);
		CHECK_EQ_U64(apic_base_check(DIS, X, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X, DIS, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X, X2, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X2, DIS, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X2, X2, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X2, X, 39, true), -1);    /* x2APIC -> xAPIC */
		CHECK_EQ_U64(apic_base_check(DIS, X2, 39, true), -1);  /* disabled -> x2APIC */
		CHECK_EQ_U64(apic_base_check(X, INV, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(DIS, INV, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X2, INV, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X, X2, 39, false), -1);   /* no x2APIC offered */
		CHECK_EQ_U64(apic_base_check(X, X | 1, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X, X | 0x200, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X, X | (1ull << 39), 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X, X | (1ull << 38), 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X, X | APIC_BASE_BSP_BIT, 39, true), -1);
		CHECK_EQ_U64(apic_base_check(X | APIC_BASE_BSP_BIT, X | APIC_BASE_BSP_BIT, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X, 0xfed00000ull | APIC_BASE_EN_BIT, 39, true), 0);
		CHECK_EQ_U64(apic_base_check(X, X | (1ull << 36), 0, true), -1); /* no leaf: 36 */
	}
	return th_done();
}
