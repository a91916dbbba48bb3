/* Host tests of pure/pmtimer.c: how a guest's PM timer maps onto another
 * host's, and the translation of each reading. */
#include "harness.h"
#include <tscvisor/pmtimer.h>

int main(void)
{
	struct pm_xlate x;
	uint32_t v, prev;

	/* The kind chosen for each pairing. */
	pm_xlate_init(&x, 0x608, false, 0x608, false, 2000000);
	CHECK(x.kind == PM_DIRECT);
	pm_xlate_init(&x, 0x608, false, 0xb008, false, 2000000);
	CHECK(x.kind == PM_SAME_WIDTH);
	pm_xlate_init(&x, 0x608, true, 0x608, false, 2000000);
	CHECK(x.kind == PM_EXTEND);
	pm_xlate_init(&x, 0xb008, false, 0x608, true, 2000000);
	CHECK(x.kind == PM_NARROW);
	pm_xlate_init(&x, 0x608, false, 0, false, 2000000);
	CHECK(x.kind == PM_FROM_TSC);

	/* Same width: the value as read, cut to the guest's width. */
	pm_xlate_init(&x, 0x608, false, 0xb008, false, 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 0x00abcdef), 0x00abcdef);
	CHECK_EQ_U64(pm_xlate_read(&x, 0xff123456), 0x123456);   /* reserved bits */
	pm_xlate_init(&x, 0x608, true, 0xb008, true, 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 0xfedcba98), 0xfedcba98);

	/* 32-bit host, 24-bit guest: the low 24 bits. */
	pm_xlate_init(&x, 0xb008, false, 0x608, true, 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 0x12345678), 0x345678);

	/* 24-bit host, 32-bit guest: the count goes on past the host's wrap,
	 * each step the host's 24-bit difference. */
	pm_xlate_init(&x, 0x608, true, 0xb008, false, 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 0xfffff0), 0xfffff0);
	CHECK_EQ_U64(pm_xlate_read(&x, 0x000010), 0x1000010);    /* wrapped: +0x20 */
	CHECK_EQ_U64(pm_xlate_read(&x, 0x000010), 0x1000010);    /* no time passed */
	CHECK_EQ_U64(pm_xlate_read(&x, 0x800010), 0x1800010);
	/* 0x800010 -> 0x7ffff0 is a step of 0xffffe0 (a wrap), not backwards. */
	CHECK_EQ_U64(pm_xlate_read(&x, 0x7ffff0), 0x1800010 + 0xffffe0);
	/* Many small steps over several wraps: monotonic, and the total equals
	 * the ticks that passed. */
	pm_xlate_init(&x, 0x608, true, 0xb008, false, 0);
	{
		uint64_t t = 0xfff000, total = 0;
		uint32_t first = pm_xlate_read(&x, t & 0xffffff);
		unsigned bad = 0;

		prev = first;
		for (int i = 0; i < 100000; i++) {
			uint64_t step = 1 + (uint64_t)(i * 7919) % 5000;

			t += step;
			total += step;
			v = pm_xlate_read(&x, t & 0xffffff);
			if (v - prev != step)
				bad++;
			prev = v;
		}
		CHECK(bad == 0);
		CHECK_EQ_U64((uint32_t)(v - first), (uint32_t)total);
	}

	/* No host timer: ticks from the host TSC. At 2 GHz, one second of host
	 * TSC is 3579545 ticks; 24-bit guests see it modulo 2^24. */
	pm_xlate_init(&x, 0x608, false, 0, false, 2000000);
	CHECK_EQ_U64(pm_xlate_read(&x, 0), 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 2000000000ull), PMTIMER_HZ);
	CHECK_EQ_U64(pm_xlate_read(&x, 20000000000ull), (PMTIMER_HZ * 10ull) & 0xffffff);
	pm_xlate_init(&x, 0x608, true, 0, false, 2000000);
	CHECK_EQ_U64(pm_xlate_read(&x, 20000000000ull), PMTIMER_HZ * 10ull);
	/* A host TSC near 2^64 does not overflow the arithmetic. */
	v = pm_xlate_read(&x, UINT64_MAX);
	CHECK_EQ_U64(v, (uint32_t)(((unsigned __int128)UINT64_MAX * PMTIMER_HZ) / 2000000000ull));
	/* No rate known: 0, never a division by zero. */
	pm_xlate_init(&x, 0x608, true, 0, false, 0);
	CHECK_EQ_U64(pm_xlate_read(&x, 12345), 0);
	CHECK(pm_xlate_kind_name(PM_EXTEND)[0] != '?');
	return th_done();
}
