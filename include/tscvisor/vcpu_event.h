/* The vendor-neutral pending event and its fixed snapshot encoding. No
 * hardware, no core types: the snapshot codec's host tests use it too
 * (tests/test_vcpu_event.c). */
#ifndef TSCVISOR_VCPU_EVENT_H
#define TSCVISOR_VCPU_EVENT_H

#include <stdbool.h>
#include <stdint.h>

/* An event the CPU was delivering to the guest when it exited (an exception
 * raised while delivering it, a nested page fault on the IDT...), to be
 * delivered again at the next entry; or one queued for the next entry.
 * Vendor-neutral: SVM's EVENTINJ / EXITINTINFO and VMX's IDT-vectoring and
 * VM-entry interruption information are each backend's own business. */
enum vcpu_event_type {
	VCPU_EVENT_EXTINT = 0,      /* an external interrupt */
	VCPU_EVENT_NMI = 2,
	VCPU_EVENT_EXCEPTION = 3,   /* a fault or trap, INT3 and INTO included */
	VCPU_EVENT_SOFTINT = 4,     /* INT n */
};

struct vcpu_event {
	bool valid;                 /* false: none (the other fields are 0) */
	uint8_t vector;
	uint8_t type;               /* enum vcpu_event_type */
	bool has_error;             /* error is pushed (exceptions only) */
	uint32_t error;
};

/* A snapshot stores the event as one 64-bit word (docs/snapshot-format.md:
 * bits 7:0 vector, 10:8 type, 11 error code valid, 31 valid, 63:32 error
 * code; 0 when none). The numbers happen to be SVM's EVENTINJ layout, which
 * the first snapshots were taken with; the encoding is fixed now whatever
 * the backend. */
#define VCPU_EVENT_WORD_VALID     (1u << 31)
#define VCPU_EVENT_WORD_HAS_ERROR (1u << 11)
#define VCPU_EVENT_WORD_TYPE_SHIFT 8

static inline uint64_t vcpu_event_to_word(const struct vcpu_event *e)
{
	if (!e->valid)
		return 0;
	return e->vector | (uint64_t)(e->type & 7) << VCPU_EVENT_WORD_TYPE_SHIFT |
	       (e->has_error ? VCPU_EVENT_WORD_HAS_ERROR | (uint64_t)e->error << 32 : 0) |
	       VCPU_EVENT_WORD_VALID;
}

static inline struct vcpu_event vcpu_event_from_word(uint64_t w)
{
	struct vcpu_event e = { 0 };

	if (!(w & VCPU_EVENT_WORD_VALID))
		return e;
	e.valid = true;
	e.vector = (uint8_t)w;
	e.type = (w >> VCPU_EVENT_WORD_TYPE_SHIFT) & 7;
	e.has_error = w & VCPU_EVENT_WORD_HAS_ERROR;
	e.error = e.has_error ? (uint32_t)(w >> 32) : 0;
	return e;
}

#endif
