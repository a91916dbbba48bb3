/* Host tests of pure/xstate.c: which XCR0 components a guest is offered,
 * the XSETBV rules (SDM Vol. 1 13.3, Vol. 2 XSETBV) and the CPUID leaves
 * that must agree with them. */
#include "harness.h"
#include <tscvisor/xstate.h>

/* Skylake-X's standard-format layout (CPUID.0DH.i EBX/EAX). */
static struct xstate_layout skx(void)
{
	struct xstate_layout l = { 0 };

	l.offset[2] = 576;  l.size[2] = 256;     /* AVX */
	l.offset[3] = 960;  l.size[3] = 64;      /* BNDREGS */
	l.offset[4] = 1024; l.size[4] = 64;      /* BNDCSR */
	l.offset[5] = 1088; l.size[5] = 64;      /* opmask */
	l.offset[6] = 1152; l.size[6] = 512;     /* ZMM_Hi256 */
	l.offset[7] = 1664; l.size[7] = 1024;    /* Hi16_ZMM */
	l.offset[9] = 2688; l.size[9] = 8;       /* PKRU */
	return l;
}

static void test_offered(void)
{
	struct xstate_layout l = skx(), none = { 0 };

	CHECK_EQ_U64(xstate_offered(0, &l), 0);
	CHECK_EQ_U64(xstate_offered(0x3, &none), 0x3);              /* QEMU TCG: x87, SSE */
	CHECK_EQ_U64(xstate_offered(0x7, &l), 0x7);
	CHECK_EQ_U64(xstate_offered(0x2ff, &l), 0xe7);              /* no MPX, no PKRU */
	CHECK_EQ_U64(xstate_offered(0x2ff, &l) & XS_PKRU, 0);
	CHECK_EQ_U64(xstate_switched(0x2ff, 0xe7, &l), 0x2ff);      /* MPX, PKRU switched */
	CHECK_EQ_U64(xstate_switched(0x2ff, 0, &l), 0);
	CHECK_EQ_U64(xstate_offered(0xe3, &l), 0x3);                /* AVX-512 needs AVX */
	CHECK_EQ_U64(xstate_offered(0x67, &l), 0x7);                /* all three or none */
	l.offset[7] = 4000;                                         /* does not fit */
	CHECK_EQ_U64(xstate_offered(0xe7, &l), 0x7);
	CHECK_EQ_U64(xstate_switched(0xe7, 0x7, &l), 0x67);
	l = skx();
	l.size[2] = 0;                                              /* unknown layout */
	CHECK_EQ_U64(xstate_offered(0x7, &l), 0x3);
}

static void test_size(void)
{
	struct xstate_layout l = skx();

	CHECK_EQ_U64(xstate_size(0x1, &l), 576);
	CHECK_EQ_U64(xstate_size(0x3, &l), 576);
	CHECK_EQ_U64(xstate_size(0x7, &l), 832);
	CHECK_EQ_U64(xstate_size(0xe7, &l), 2688);
	CHECK_EQ_U64(xstate_size(0x2e7, &l), 2696);
	CHECK_EQ_U64(xstate_size(0x2ff, &l), 2696);
	CHECK(xstate_size(0x2e7, &l) <= XSTATE_AREA_MAX);
}

static void test_xsetbv(void)
{
	uint64_t o = 0xe7;
	unsigned bit, bad = 0;

	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 1), 0);
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 3), 0);
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 7), 0);
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0xe7), 0);
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 0, 0, 1), 6);       /* CR4.OSXSAVE clear */
	CHECK_EQ_U64(xstate_xsetbv_check(0, 0, 1, 0, 1), 6);       /* no XSAVE offered */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 3, 1, 0, 1), 13);      /* CPL 3 */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 1, 1), 13);      /* ECX 1 */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0), 13);      /* x87 clear */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 2), 13);
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 5), 13);      /* AVX without SSE */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0x27), 13);   /* opmask alone */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0xe3), 13);   /* AVX-512 without AVX */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0x1f), 13);   /* MPX: not offered */
	CHECK_EQ_U64(xstate_xsetbv_check(o, 0, 1, 0, 0x207), 13);  /* PKRU: not offered */
	CHECK_EQ_U64(xstate_xsetbv_check(0x3, 0, 1, 0, 7), 13);    /* AVX not offered */
	for (bit = 8; bit < 64; bit++)
		bad += xstate_xsetbv_check(o, 0, 1, 0, 0xe7 | (1ull << bit)) != 13;
	CHECK_EQ_U64(bad, 0);
}

static void test_cpuid(void)
{
	struct xstate_layout l = skx();
	uint32_t r[4];

	r[0] = r[1] = r[3] = 0; r[2] = ~0u;
	xstate_cpuid(1, 0, 0x3, 3, &l, r);
	CHECK(r[2] & (1u << 26));
	CHECK(!(r[2] & (1u << 28)) && !(r[2] & (1u << 12)) && !(r[2] & (1u << 29)));
	r[2] = ~0u;
	xstate_cpuid(1, 0, 0, 1, &l, r);
	CHECK(!(r[2] & (1u << 26)) && !(r[2] & (1u << 27)));
	r[2] = ~0u;
	xstate_cpuid(1, 0, 0xe7, 1, &l, r);
	CHECK(r[2] & (1u << 28));

	r[0] = 0; r[1] = r[2] = r[3] = ~0u;
	xstate_cpuid(7, 0, 0x7, 7, &l, r);
	CHECK(r[1] & (1u << 5));                       /* AVX2 kept */
	CHECK(!(r[1] & (1u << 16)));                   /* AVX512F hidden */
	CHECK(!(r[1] & (1u << 14)));                   /* MPX hidden */
	CHECK(!(r[2] & (1u << 3)) && !(r[2] & (1u << 4)));   /* PKU, OSPKE */
	r[1] = r[2] = r[3] = ~0u;
	xstate_cpuid(7, 0, 0xe7, 7, &l, r);
	CHECK(r[1] & (1u << 16));

	r[0] = 0x2ff; r[1] = 1; r[2] = 2696; r[3] = 0;
	xstate_cpuid(0xd, 0, 0xe7, 0x7, &l, r);
	CHECK_EQ_U64(r[0], 0xe7);
	CHECK_EQ_U64(r[1], 832);
	CHECK_EQ_U64(r[2], 2688);
	CHECK_EQ_U64(r[3], 0);
	r[0] = 0xf; r[1] = 1000; r[2] = 0x100; r[3] = 0;
	xstate_cpuid(0xd, 1, 0xe7, 0x7, &l, r);
	CHECK_EQ_U64(r[0], 0x7);                       /* no XSAVES, no XFD */
	CHECK_EQ_U64(r[1], 0);
	CHECK_EQ_U64(r[2], 0);
	r[0] = 64; r[1] = 1088; r[2] = r[3] = 0;
	xstate_cpuid(0xd, 5, 0xe7, 0x7, &l, r);
	CHECK_EQ_U64(r[0], 64);
	r[0] = 8; r[1] = 2688;
	xstate_cpuid(0xd, 9, 0xe7, 0x7, &l, r);       /* PKRU: not listed */
	CHECK_EQ_U64(r[0], 0);
	CHECK_EQ_U64(r[1], 0);
	r[0] = 0x3; r[1] = 576; r[2] = 576;
	xstate_cpuid(0xd, 0, 0, 1, &l, r);
	CHECK_EQ_U64(r[0], 0);
}

int main(void)
{
	test_offered();
	test_size();
	test_xsetbv();
	test_cpuid();
	return th_done();
}
