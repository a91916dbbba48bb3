/* Host tests of pure/format.c against the C library's snprintf. */
#include "harness.h"
#include <tscvisor/format.h>
#include <stdint.h>

#define SAME(...) do { \
	char a[128], b[128]; \
	int na = tv_snprintf(a, sizeof(a), __VA_ARGS__); \
	int nb = snprintf(b, sizeof(b), __VA_ARGS__); \
	CHECK_STR(a, b); CHECK_EQ_U64(na, nb); \
} while (0)

int main(void)
{
	char small[5];
	int n;

	SAME("plain");
	SAME("%d %i %u", -42, 7, 4000000000u);
	SAME("%x %X %o", 0xdeadbeef, 0xabcu, 8);
	SAME("%lld %llu %llx", (long long)INT64_MIN, (unsigned long long)UINT64_MAX, 0x123456789abcdefULL);
	SAME("%zu %ld %lu", (size_t)12345, -1L, 99UL);
	SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, -42, 42, 42);
	SAME("[%.3d] [%8.3d] [%.0d]", 7, -7, 0);
	SAME("[%10s] [%-10s] [%.2s]", "abc", "abc", "abcdef");
	SAME("[%c] [%3c] [%%]", 'x', 'y');
	SAME("[%*d] [%-*d] [%.*s]", 6, 1, 6, 2, 3, "hello");
	SAME("%016llx", 0xfffULL);
	SAME("%hhu %hd", 300, 70000);
	SAME("%p", (void *)0x1234);
	/* '#' (the guest tests' printf offers it). */
	SAME("[%#x] [%#X] [%#x] [%#o] [%#o] [%#o]", 255u, 255u, 0u, 8u, 0u, 7u);
	SAME("[%#010x] [%-#8x] [%#8llx] [%#.5o] [%#.0o] [%#5o]", 0xabu, 0xabu, 0x1234ULL, 8u, 0u, 8u);
	SAME("[%#.3x] [%#lx]", 5u, 0xfffffffffUL);
	/* What the guests print: 64-bit values with ll and l. */
	SAME("%016llx %08llx %03llu %+lld %09u %-8s|", 0x123ULL, 0xfULL, 7ULL, -5LL, 42u, "ab");

	/* Truncation: returns the would-be length, always NUL-terminates. */
	n = tv_snprintf(small, sizeof(small), "%s", "abcdefgh");
	CHECK_EQ_U64(n, 8);
	CHECK_STR(small, "abcd");
	n = tv_snprintf(NULL, 0, "%d", 12345);
	CHECK_EQ_U64(n, 5);
	return th_done();
}
