/* tsc_monotonic — consecutive RDTSC reads never go backwards, and the TSC
 * moves.
 *
 * Options: reads=N (default 1000000); inject_backstep=N subtracts N from
 * the middle read, a self-test showing the check can fail. */
#include "guest.h"

void test_main(const struct mb_info *mbi)
{
	u64 reads = cmdline_u64("reads", 1000000, NULL);
	u64 inject = cmdline_u64("inject_backstep", 0, NULL);
	u64 backward = 0, largest_back = 0, equal = 0, largest_step = 0;
	u64 first, prev, now;

	(void)mbi;
	plan(2);
	if (reads < 2)
		reads = 2;
	if (inject)
		diag("self-test: read %llu is made %llu ticks smaller",
		     (unsigned long long)(reads / 2), (unsigned long long)inject);

	first = prev = rdtsc();
	for (u64 i = 1; i < reads; i++) {
		now = rdtsc();
		if (inject && i == reads / 2)
			now -= inject;
		if (now < prev) {
			backward++;
			if (prev - now > largest_back)
				largest_back = prev - now;
		} else if (now == prev) {
			equal++;
		} else if (now - prev > largest_step) {
			largest_step = now - prev;
		}
		prev = now;
	}

	diag("%llu reads: %llu backward step(s), largest back %llu ticks; %llu equal; "
	     "largest forward step %llu ticks",
	     (unsigned long long)reads, (unsigned long long)backward,
	     (unsigned long long)largest_back, (unsigned long long)equal,
	     (unsigned long long)largest_step);
	ok(backward == 0, "RDTSC never went backwards in %llu consecutive reads",
	   (unsigned long long)reads);
	diag("first 0x%016llx last 0x%016llx: %llu ticks, %llu per read",
	     (unsigned long long)first, (unsigned long long)prev,
	     (unsigned long long)(prev - first), (unsigned long long)((prev - first) / reads));
	ok(prev > first, "the TSC advanced over the reads");
}
