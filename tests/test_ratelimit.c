/* Host tests of pure/ratelimit.c: the token bucket that limits the log lines
 * a guest can cause. A 1 MHz "TSC" (host_khz 1000) keeps the numbers small:
 * 10 lines/s is one line per 100000 cycles. */
#include "harness.h"
#include <tscvisor/ratelimit.h>

int main(void)
{
	struct ratelimit rl;
	uint64_t rep, t, allowed;
	unsigned i, n;

	/* Burst of 5, then 10/s. */
	ratelimit_init(&rl, 5, 10, 1000);
	CHECK_EQ_U64(rl.interval, 100000);
	CHECK_EQ_U64(rl.cap, 500000);
	for (i = 0, n = 0; i < 5; i++)
		n += ratelimit_allow(&rl, 1000, &rep) && rep == 0;
	CHECK_EQ_U64(n, 5);                             /* the burst */
	CHECK(!ratelimit_allow(&rl, 1000, &rep));       /* then nothing at once */
	CHECK(!ratelimit_allow(&rl, 1000 + 99999, &rep));
	CHECK_EQ_U64(rl.pending, 2);
	rep = 12345;
	CHECK(ratelimit_allow(&rl, 1000 + 100000, &rep)); /* one interval later */
	CHECK_EQ_U64(rep, 2);                           /* the two dropped, reported once */
	CHECK_EQ_U64(rl.pending, 0);
	CHECK_EQ_U64(rl.dropped, 2);
	CHECK(!ratelimit_allow(&rl, 1000 + 100000, &rep));

	/* A flood of one attempt every 10 cycles for 10 s of TSC lets through
	 * the burst plus 10/s, no more and no fewer (within one). */
	ratelimit_init(&rl, 5, 10, 1000);
	allowed = 0;
	for (t = 0; t < 10000000; t += 10)
		allowed += ratelimit_allow(&rl, t, NULL);
	CHECK(allowed >= 5 + 99 && allowed <= 5 + 100);
	CHECK_EQ_U64(rl.allowed, allowed);
	CHECK_EQ_U64(rl.dropped, 1000000 - allowed);

	/* A long quiet period refills to the burst, not beyond. */
	ratelimit_init(&rl, 3, 10, 1000);
	CHECK(ratelimit_allow(&rl, 0, NULL));
	for (i = 0, n = 0; i < 10; i++)
		n += ratelimit_allow(&rl, 1000000000ull, NULL);
	CHECK_EQ_U64(n, 3);

	/* A TSC reading earlier than the last (another pCPU's TSC a little
	 * behind) is no time passed, not a huge one. */
	ratelimit_init(&rl, 1, 10, 1000);
	CHECK(ratelimit_allow(&rl, 5000000, NULL));
	CHECK(!ratelimit_allow(&rl, 4000000, NULL));
	CHECK(!ratelimit_allow(&rl, 5000000 + 99999, NULL));
	CHECK(ratelimit_allow(&rl, 5000000 + 100000, NULL));

	/* TSC near the top of its range, and a jump across it: no overflow. */
	ratelimit_init(&rl, 2, 10, 1000);
	CHECK(ratelimit_allow(&rl, UINT64_MAX - 10, NULL));
	CHECK(ratelimit_allow(&rl, UINT64_MAX - 10, NULL));
	CHECK(!ratelimit_allow(&rl, UINT64_MAX - 5, NULL));
	CHECK(ratelimit_allow(&rl, UINT64_MAX, NULL) == false);

	/* Extreme parameters: zero taken as one, huge rates saturate. */
	ratelimit_init(&rl, 0, 0, 0);
	CHECK_EQ_U64(rl.burst, 1);
	CHECK_EQ_U64(rl.interval, 1000000000ull);       /* 1 GHz assumed, 1/s */
	ratelimit_init(&rl, 0xffffffffu, 1, UINT64_MAX);
	CHECK_EQ_U64(rl.cap, UINT64_MAX);
	CHECK(ratelimit_allow(&rl, 0, NULL));
	ratelimit_init(&rl, 4, 0xffffffffu, 1);         /* interval rounds to 0: 1 */
	CHECK_EQ_U64(rl.interval, 1);

	return th_done();
}
