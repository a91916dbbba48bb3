/* A small unit-test harness for host tests: TAP output, one process per test
 * file, exit status non-zero when any check failed. Built with ASan + UBSan. */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_checks, th_failed;

#define CHECK(cond) th_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ_U64(a, b) do { \
	unsigned long long th_a = (unsigned long long)(a), th_b = (unsigned long long)(b); \
	if (!th_check(th_a == th_b, #a " == " #b, __FILE__, __LINE__)) \
		printf("#   got %llu (0x%llx), want %llu (0x%llx)\n", th_a, th_a, th_b, th_b); \
} while (0)
#define CHECK_STR(a, b) do { \
	const char *th_a = (a), *th_b = (b); \
	if (!th_check(strcmp(th_a, th_b) == 0, #a " == " #b, __FILE__, __LINE__)) \
		printf("#   got \"%s\", want \"%s\"\n", th_a, th_b); \
} while (0)

static inline int th_check(int ok, const char *what, const char *file, int line)
{
	th_checks++;
	if (ok) {
		printf("ok %d - %s\n", th_checks, what);
	} else {
		th_failed++;
		printf("not ok %d - %s (%s:%d)\n", th_checks, what, file, line);
	}
	return ok;
}

/* Call at the end of main(). */
static inline int th_done(void)
{
	printf("1..%d\n# %d passed, %d failed\n", th_checks, th_checks - th_failed, th_failed);
	return th_failed ? 1 : 0;
}

#endif
