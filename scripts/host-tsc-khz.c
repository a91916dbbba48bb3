/* Measures this machine's TSC rate in kHz against CLOCK_MONOTONIC_RAW, so the
 * test runner can check the rate tscvisor calibrates under QEMU TCG (whose
 * guest TSC is the host's TSC). Prints the median of 5 windows of 100 ms. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	uint64_t khz[5];
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t n0 = now_ns(), t0 = __rdtsc(), n1, t1;
		struct timespec d = { 0, 100000000 };

		nanosleep(&d, NULL);
		n1 = now_ns();
		t1 = __rdtsc();
		khz[i] = (uint64_t)((unsigned __int128)(t1 - t0) * 1000000u / (n1 - n0));
	}
	qsort(khz, 5, sizeof(khz[0]), cmp);
	printf("%llu\n", (unsigned long long)khz[2]);
	return 0;
}
