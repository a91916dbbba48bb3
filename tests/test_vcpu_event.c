/* The vendor-neutral pending event (include/tscvisor/vcpu.h) and its 64-bit
 * snapshot encoding (docs/snapshot-format.md, offset 448): the words the
 * format describes, and every event there and back. */
#include <stdio.h>
#include <string.h>
#include <tscvisor/vcpu_event.h>
#include <tscvisor/x86.h>
#include "harness.h"

static struct vcpu_event ev(uint8_t type, uint8_t vector, bool has_error, uint32_t error)
{
	struct vcpu_event e = { .valid = true, .vector = vector, .type = type,
				.has_error = has_error, .error = error };
	return e;
}

/* Words written out by hand from the format's table: vector 7:0, type 10:8,
 * error code valid 11, valid 31, error code 63:32. */
static void test_words(void)
{
	struct vcpu_event none = { 0 }, e;

	CHECK_EQ_U64(vcpu_event_to_word(&none), 0);
	e = ev(VCPU_EVENT_EXCEPTION, X86_EXC_GP, true, 0x10);
	CHECK_EQ_U64(vcpu_event_to_word(&e), 0x0000001080000b0dull);
	e = ev(VCPU_EVENT_EXCEPTION, X86_EXC_UD, false, 0);
	CHECK_EQ_U64(vcpu_event_to_word(&e), 0x80000306ull);
	e = ev(VCPU_EVENT_NMI, X86_EXC_NMI, false, 0);
	CHECK_EQ_U64(vcpu_event_to_word(&e), 0x80000202ull);
	e = ev(VCPU_EVENT_EXTINT, 0x31, false, 0);
	CHECK_EQ_U64(vcpu_event_to_word(&e), 0x80000031ull);
	e = ev(VCPU_EVENT_SOFTINT, 0x80, false, 0);
	CHECK_EQ_U64(vcpu_event_to_word(&e), 0x80000480ull);

	e = vcpu_event_from_word(0xfffffffe80000b0eull);   /* #PF, error 0xfffffffe */
	CHECK(e.valid);
	CHECK_EQ_U64(e.vector, X86_EXC_PF);
	CHECK_EQ_U64(e.type, VCPU_EVENT_EXCEPTION);
	CHECK(e.has_error);
	CHECK_EQ_U64(e.error, 0xfffffffeu);
}

/* No valid bit: no event, whatever the other bits say. */
static void test_not_valid(void)
{
	static const uint64_t words[] = { 0, 5, 0x0000001000000b0dull, 0x7fffffffull };
	unsigned i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct vcpu_event e = vcpu_event_from_word(words[i]), zero = { 0 };

		CHECK(!e.valid);
		CHECK(!memcmp(&e, &zero, sizeof(e)));
	}
}

/* Every type and vector, with and without an error code: the word decodes
 * to the same event. */
static void test_round_trip(void)
{
	static const uint8_t types[] = { VCPU_EVENT_EXTINT, VCPU_EVENT_NMI, VCPU_EVENT_EXCEPTION,
					 VCPU_EVENT_SOFTINT };
	unsigned t, v, bad = 0, n = 0;
	uint32_t err = 0x9e3779b9u;

	for (t = 0; t < 4; t++)
		for (v = 0; v < 256; v++)
			for (unsigned he = 0; he < 2; he++) {
				struct vcpu_event e = ev(types[t], (uint8_t)v, he, he ? err : 0), back;
				uint64_t w = vcpu_event_to_word(&e);

				err = err * 1103515245u + 12345u;
				back = vcpu_event_from_word(w);
				n++;
				if (back.valid != e.valid || back.vector != e.vector || back.type != e.type ||
				    back.has_error != e.has_error || back.error != e.error ||
				    (w >> 12 & 0x7ffff) != 0)
					bad++;
			}
	CHECK_EQ_U64(n, 4 * 256 * 2);
	CHECK_EQ_U64(bad, 0);
}

/* The NPT entry names the SVM backend now uses are the numbers it used. */
static void test_npt_names(void)
{
	CHECK_EQ_U64(NPT_TABLE, 0x7);
	CHECK_EQ_U64(NPT_LARGE, 0x87);
	CHECK_EQ_U64(NPT_TABLE & ~X86_PTE_RW, 0x5);
}

int main(void)
{
	test_words();
	test_not_valid();
	test_round_trip();
	test_npt_names();
	return th_done();
}
