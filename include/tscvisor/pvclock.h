/* pvclock: the kvmclock ABI a guest reads its time from (docs/abi.md,
 * docs/abi.md). Pure C, no hardware access: the hypervisor links it, and
 * so do the host tests (tests/test_pvclock.c).
 *
 * What lives here:
 *   - the guest-visible layouts (32-byte vCPU time area, 12-byte wall clock),
 *     CPUID and MSR numbers of the kvmclock ABI;
 *   - the clock: one (guest TSC, ns) pair and the guest TSC rate that extends
 *     it, how it turns into the fields of a vCPU's area (the VM's master pair
 *     for every vCPU while the TSC is stable, a pair of its own for a vCPU
 *     otherwise), and how it moves to a new pair or a new rate without the
 *     guest's time going back;
 *   - publishing fields into a guest's area under the version protocol, and
 *     the guest's side of it (one read attempt; ns from fields and a TSC);
 *   - validation of the GPA a guest writes into the kvmclock MSRs.
 *
 * Units: guest TSC values in guest TSC cycles, times in ns. system_time
 * counts ns since the VM was created (its guest TSC started at 0 then).
 * The TSC-to-ns scale (struct pvclock_scale, pvclock_scale_for(),
 * pvclock_scale_delta()) is pure/tsc.c's. */
#ifndef TSCVISOR_PVCLOCK_H
#define TSCVISOR_PVCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tscvisor/tsc.h>

/* ---- ABI numbers (Linux Documentation/virt/kvm/cpuid.rst, msr.rst) ---- */

#define KVM_CPUID_SIGNATURE     0x40000000u  /* EAX max leaf, "KVMKVMKVM\0\0\0" */
#define KVM_CPUID_FEATURES      0x40000001u  /* EAX feature bits below */
#define KVM_CPUID_TIMING        0x40000010u  /* EAX guest TSC kHz, EBX LAPIC timer kHz */
#define KVM_FEATURE_CLOCKSOURCE             (1u << 0)   /* MSRs 0x11 / 0x12 */
#define KVM_FEATURE_CLOCKSOURCE2            (1u << 3)   /* MSRs 0x4b564d00 / 01 */
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT  (1u << 24)  /* flags bit 0 meaningful */
/* "KVMKVMKVM\0\0\0" as EBX, ECX, EDX. */
#define KVM_SIGNATURE_EBX       0x4b4d564bu  /* "KVMK" */
#define KVM_SIGNATURE_ECX       0x564b4d56u  /* "VMKV" */
#define KVM_SIGNATURE_EDX       0x0000004du  /* "M\0\0\0" */

#define MSR_KVM_WALL_CLOCK      0x11u        /* legacy (CLOCKSOURCE) */
#define MSR_KVM_SYSTEM_TIME     0x12u        /* legacy (CLOCKSOURCE) */
#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00u  /* CLOCKSOURCE2 */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u  /* CLOCKSOURCE2 */
#define PVCLOCK_SYSTEM_TIME_ENABLE 1ull      /* bit 0 of the system-time MSR */

/* flags of the vCPU area */
#define PVCLOCK_TSC_STABLE_BIT  (1u << 0)    /* one master pair for all vCPUs */
#define PVCLOCK_GUEST_STOPPED   (1u << 1)    /* the VM was paused (restore) */

/* ---- Guest-visible layouts (they must never change) ------------------- */

/* One per vCPU, at the GPA written to the system-time MSR. A guest reads
 *     ns = system_time + pvclock_scale_delta(tsc - tsc_timestamp,
 *                                            tsc_to_system_mul, tsc_shift)
 * between two reads of an even, unchanged version. */
struct pvclock_vcpu_time_info {
	uint32_t version;               /* odd while an update is in progress */
	uint32_t pad0;
	uint64_t tsc_timestamp;         /* guest TSC of the pair */
	uint64_t system_time;           /* ns of the pair */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;                  /* PVCLOCK_* */
	uint8_t pad[2];
} __attribute__((packed));

/* Written at every write of the wall-clock MSR: the wall-clock time at
 * which system_time was 0 (UTC since 1970-01-01). */
struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "kvmclock ABI: 32 bytes");
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "kvmclock ABI: 12 bytes");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_timestamp) == 8, "ABI");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, system_time) == 16, "ABI");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul) == 24, "ABI");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_shift) == 28, "ABI");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, flags) == 29, "ABI");

/* ---- The clock: a (guest TSC, ns) pair and a rate ---------------------- */

/* ns(tsc) = ns + pvclock_scale_delta(tsc - this->tsc, scale): exactly what a
 * guest computes from an area holding this pair, bit for bit. The VM's
 * master clock is one of these, in terms of the VM-wide guest TSC (the TSC
 * of a vCPU whose TSC was never written: 0 when the VM was created). */
struct pvclock_clock {
	uint64_t tsc;                   /* guest TSC at the reference instant */
	uint64_t ns;                    /* system time at that instant */
	uint64_t tsc_khz;               /* the rate the guest TSC runs at now
					 * (tsc_decision.guest_rate_khz) */
	struct pvclock_scale scale;     /* pvclock_scale_for(tsc_khz) */
};

/* A clock at (tsc, ns) running at tsc_khz. VM creation: (0, 0, rate).
 * Returns 0, or -1 when tsc_khz is 0 (*c untouched). */
int pvclock_clock_init(struct pvclock_clock *c, uint64_t tsc, uint64_t ns, uint64_t tsc_khz);

/* The time at guest TSC `tsc` (at or after c->tsc; an earlier value wraps to
 * a huge delta, as it does in the guest). */
uint64_t pvclock_clock_ns(const struct pvclock_clock *c, uint64_t tsc);

/* Moves the clock to a new pair, optionally at a new rate (the raw guest TSC
 * changes rate: pvclock fast path, restore on a host of another rate without
 * scaling). tsc_now is the VM-wide guest TSC at the update instant, at or
 * after c->tsc; new_khz 0 keeps the rate. Returns 0, or -1 (nothing changed)
 * when tsc_now is before c->tsc.
 *
 * Same rate: the pair moves forward to the latest TSC <= tsc_now at which
 * the scale's arithmetic is exact (a multiple of 2^pvclock_exact_period_log2()
 * cycles past c->tsc), so that ns(tsc) is bit for bit the same function
 * before and after, for every tsc at or after the new pair: a reader that
 * still holds the old fields computes the same time. Used to keep the
 * guest's delta small (delta << shift must fit 64 bits: 203 days at 1 MHz).
 *
 * New rate: the new pair is (tsc_now, ns(tsc_now)): no step at tsc_now,
 * and ns never goes back for a guest that read the old fields at a TSC at
 * or before tsc_now and the new ones later. A reader that took its TSC
 * after tsc_now but still used the old fields can see up to the rate
 * difference times the gap, so: sample tsc_now only after every area of the
 * VM is odd and those stores are globally visible (pvclock_publish_begin()
 * on each area, then a serialising instruction, then read the TSC), or
 * with every vCPU of the VM stopped. */
int pvclock_clock_update(struct pvclock_clock *c, uint64_t tsc_now, uint64_t new_khz);

/* The smallest power of two P such that for every k and x the scale gives
 * pvclock_scale_delta(k * P + x) == pvclock_scale_delta(k * P) +
 * pvclock_scale_delta(x) (no rounding lost at multiples of P; while the
 * shifted delta fits 64 bits). At most 2^36 cycles up to 10 GHz; 2^12 at
 * 1 MHz, 1 at 1 GHz. Returns the exponent. */
unsigned pvclock_exact_period_log2(struct pvclock_scale s);

/* ---- Fields of a vCPU's area ----------------------------------------- */

/* The master pair, for every vCPU of the VM while the host TSC is
 * synchronised and no vCPU's TSC was written apart (flags then carry
 * PVCLOCK_TSC_STABLE_BIT; the caller adds PVCLOCK_GUEST_STOPPED after a
 * restore). version is left 0: publishing sets it. */
void pvclock_fields_master(const struct pvclock_clock *master, uint8_t flags,
			   struct pvclock_vcpu_time_info *out);

/* A pair on a vCPU's own TSC: from its guest TSC `vcpu_tsc` at an instant
 * at which the VM-wide guest TSC read `vm_tsc` (at or after master->tsc).
 * The pair is the master's at its latest exact point
 * (pvclock_exact_period_log2()) at or before vm_tsc, moved onto the vCPU's
 * TSC by the difference vcpu_tsc - vm_tsc: as long as that difference
 * holds (a vCPU whose TSC was written: the difference is its
 * IA32_TSC_ADJUST), the area gives the master's time bit for bit; when it
 * changes (the vCPU moved to a pCPU whose TSC is skewed) the caller
 * computes a new pair. flags are taken as given: PVCLOCK_TSC_STABLE_BIT
 * belongs there only while every vCPU's difference is the same (every TSC
 * written alike, or none), i.e. while this is still one master clock. */
void pvclock_fields_vcpu(const struct pvclock_clock *master, uint64_t vcpu_tsc,
			 uint64_t vm_tsc, uint8_t flags, struct pvclock_vcpu_time_info *out);

/* The guest's computation: ns at guest TSC `tsc` from a consistent copy of
 * an area. */
uint64_t pvclock_read_ns(const struct pvclock_vcpu_time_info *f, uint64_t tsc);

/* ---- Publishing: the version protocol --------------------------------- */

/* Compiler barrier: keeps the compiler from moving the area's stores (or a
 * reader's loads) across it. It emits no instruction: x86 is TSO, stores
 * become visible to other CPUs in program order and loads are not
 * reordered with older loads, so program order is the order a reader on
 * another CPU sees. A port to a weakly ordered CPU makes this a fence
 * (release on the writer's side, acquire on the reader's). */
#ifndef PVCLOCK_BARRIER
#define PVCLOCK_BARRIER() __asm__ __volatile__("" ::: "memory")
#endif

/* The area is guest memory seen through a host pointer, 4-byte aligned
 * (pvclock_msr_decode() refuses anything else). Every store is one aligned
 * 32-bit store, so none can be split, and every access goes through the
 * compiler as a (relaxed) atomic: it neither caches nor merges them.
 *
 * Writer:  version = odd (a value the area did not hold); barrier;
 *          fields; barrier; version = odd + 1.
 * Reader:  v1 = version; barrier; fields; barrier; v2 = version;
 *          use the fields only if v1 == v2 and v1 is even. */

/* The whole update with fields known beforehand. The version goes from
 * whatever the area holds (the guest may have scribbled on it) to a new odd
 * value and then to the next even one, so it never returns to a value a
 * reader may have seen at the start of its read. Returns the final version.
 * out->version is ignored. */
uint32_t pvclock_publish(void *area, const struct pvclock_vcpu_time_info *fields);
/* The same in two halves, for fields that depend on a TSC read after the
 * area went odd (pvclock_clock_update() with a new rate): begin returns the
 * odd version it stored; end writes the fields and odd + 1. */
uint32_t pvclock_publish_begin(void *area);
uint32_t pvclock_publish_end(void *area, uint32_t odd_version,
			     const struct pvclock_vcpu_time_info *fields);

/* The reader's side, one attempt: copies a consistent snapshot into *out
 * and returns 0, or returns -1 (odd version, or it changed meanwhile: try
 * again). */
int pvclock_read_area(const void *area, struct pvclock_vcpu_time_info *out);

/* ---- Wall clock -------------------------------------------------------- */

/* The wall clock at system_time 0: wall_ns_now - system_ns_now (ns since
 * 1970-01-01 UTC), floored at 0; sec is 32 bits (until 2106). */
void pvclock_wall_fields(uint64_t wall_ns_now, uint64_t system_ns_now,
			 struct pvclock_wall_clock *out);
/* Same version protocol as the vCPU area; 12 bytes, 4-byte aligned. */
uint32_t pvclock_publish_wall(void *area, const struct pvclock_wall_clock *wc);

/* ---- MSR values and guest addresses ----------------------------------- */

enum pvclock_gpa_result {
	PVCLOCK_GPA_OK = 0,
	PVCLOCK_GPA_MISALIGNED,         /* not 4-byte aligned */
	PVCLOCK_GPA_BEYOND_RAM,         /* not all of it in one range of guest RAM */
	PVCLOCK_GPA_CROSSES_PAGE,       /* does not fit in its 4 KiB page */
	PVCLOCK_GPA_MMIO,               /* overlaps a range the caller names */
	PVCLOCK_GPA_NOT_KVMCLOCK,       /* pvclock_msr_decode(): not one of the four MSRs */
};

/* A guest-physical range that is not RAM although inside a RAM range. */
struct pvclock_gpa_range {
	uint64_t base, size;
};

/* Can the hypervisor write `size` bytes at gpa: 4-byte aligned, inside RAM
 * (ram_size bytes laid out as guestmem.h says: never the hole at 3-4 GiB),
 * within one 4 KiB page, touching none of the n ranges in
 * mmio (may be NULL when n is 0)? Checks in the enum's order; the first
 * that fails is returned. A size of 0 or above 4096 never fits a page. */
enum pvclock_gpa_result pvclock_gpa_check(uint64_t gpa, uint64_t size, uint64_t ram_size,
					  const struct pvclock_gpa_range *mmio, unsigned n);
/* The same without MMIO ranges. */
bool pvclock_gpa_ok(uint64_t gpa, uint64_t size, uint64_t ram_size);
const char *pvclock_gpa_result_name(enum pvclock_gpa_result r);

/* What a WRMSR to one of the four kvmclock MSRs asks for. */
struct pvclock_msr_req {
	bool wall;                      /* wall clock (0x11 / 0x4b564d00) */
	bool enable;                    /* system time: bit 0; wall: always */
	uint64_t gpa;                   /* the area (enable bit removed) */
};

/* True for 0x11, 0x12, 0x4b564d00, 0x4b564d01. */
bool pvclock_is_msr(uint32_t msr);
/* Decodes and validates a WRMSR value. System time with bit 0 clear turns
 * the area off and is always accepted (gpa is then not checked). Anything
 * else must pass pvclock_gpa_check() for its area's size (32 or 12 bytes);
 * on failure the write is refused (#GP) and the result says why. *out is
 * set in every case. */
enum pvclock_gpa_result pvclock_msr_decode(uint32_t msr, uint64_t value, uint64_t ram_size,
					   const struct pvclock_gpa_range *mmio, unsigned n,
					   struct pvclock_msr_req *out);

#endif
