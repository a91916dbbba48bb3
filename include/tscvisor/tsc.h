/* Guest TSC arithmetic and the tsc_mode policy (pure C, no hardware access;
 * the modes are described in docs/tsc-modes.md).
 *
 * The guest TSC of a VM is one function of the host TSC h, the same for every
 * vCPU (docs/tsc-modes.md):
 *
 *     G(h) = ((h * ratio) >> frac) + offset        at the VM's tsc_khz
 *
 * Natively the CPU computes it (TSC offset, and TSC multiplier / TSC ratio
 * MSR when scaling); when RDTSC is trapped the VMM computes it with the exact
 * fraction tsc_khz / host_khz in place of ratio >> frac (struct tsc_emul).
 * Every product is taken 64x64->128 bits: no `cycles * 10^6 / khz` forms.
 * All TSC values are counters modulo 2^64: additions and subtractions of
 * TSC values and offsets wrap, as the hardware's do. */
#ifndef TSCVISOR_TSC_H
#define TSCVISOR_TSC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <tscvisor/config.h>

/* ---- 128-bit helpers -------------------------------------------------- */

/* (a * b) >> shift, the product taken exactly in 128 bits; shift 0..127
 * (128 and above give 0). Returns the low 64 bits of the result; when the
 * result does not fit in 64 bits and overflow is not NULL, *overflow is set
 * to true (else to false). */
uint64_t mul_u64_u64_shr(uint64_t a, uint64_t b, unsigned shift, bool *overflow);

/* floor(a * mul / div) with an exact 128-bit intermediate. Returns the low 64
 * bits of the quotient and reports (as above) when it does not fit. div 0:
 * returns UINT64_MAX and reports overflow. Costs two native 64-bit divisions
 * when div * mul < 2^64 (every kHz rate); a 64-step loop otherwise. */
uint64_t mul_div_u64(uint64_t a, uint64_t mul, uint64_t div, bool *overflow);

/* ---- Fixed-point scale: ratio / 2^frac -------------------------------- */

struct tsc_scale {
	uint64_t ratio;         /* guest cycles per host cycle, times 2^frac */
	unsigned frac;          /* fraction bits, 0..63 */
};

/* Intel VMX: the 64-bit "TSC multiplier" VM-execution field, applied when the
 * secondary control "use TSC scaling" is 1: RDTSC returns ((TSC * multiplier)
 * >> 48) + TSC offset (SDM Vol. 3C 25.3, 24.6.5; 16.48 fixed point). */
#define TSC_VMX_FRAC      48u
#define TSC_VMX_MAX_RATIO UINT64_MAX
/* AMD SVM: MSR C000_0104h TSC Ratio, bits 39:32 integer part, 31:0 fraction,
 * 63:40 reserved (APM Vol. 2 15.30.5; 8.32 fixed point; reset 1.0). */
#define TSC_SVM_FRAC      32u
#define TSC_SVM_MAX_RATIO 0xffffffffffull

enum tsc_scale_result {
	TSC_SCALE_OK = 0,
	TSC_SCALE_BAD_ARGS,     /* a rate of 0, frac > 63 or max_ratio 0 */
	TSC_SCALE_TOO_SMALL,    /* ratio rounds to 0 */
	TSC_SCALE_TOO_LARGE,    /* ratio above max_ratio (or 2^64) */
};

/* ratio = round(guest_khz * 2^frac / host_khz) (halves up). On TSC_SCALE_OK
 * *out is set; otherwise *out is untouched and the hardware cannot produce
 * the rate. Rounding error of the rate: at most host_khz / 2^(frac+1) kHz,
 * i.e. below 1.2 guest cycles per second for SVM and 2e-5 for VMX with a
 * 10 GHz host. */
enum tsc_scale_result tsc_scale_for(uint64_t guest_khz, uint64_t host_khz, unsigned frac,
				    uint64_t max_ratio, struct tsc_scale *out);
const char *tsc_scale_result_name(enum tsc_scale_result r);

/* ratio 1 << frac: G(h) = h + offset. frac must be 0..63. */
struct tsc_scale tsc_scale_identity(unsigned frac);
bool tsc_scale_is_identity(struct tsc_scale s);

/* G(h) as the hardware computes it: the 128-bit product shifted right by
 * frac, its low 64 bits (only a host TSC above 2^64 / ratio, i.e. decades of
 * uptime, can need more), plus offset modulo 2^64. */
uint64_t tsc_guest(uint64_t host_tsc, struct tsc_scale s, uint64_t offset);
/* The offset that makes G(host_tsc_now) == guest_tsc_wanted exactly (VM
 * creation: near 0; restore: the saved guest TSC; switching native/emulated
 * without a jump). */
uint64_t tsc_offset_for(uint64_t host_tsc_now, struct tsc_scale s, uint64_t guest_tsc_wanted);

/* ---- Emulated TSC (RDTSC/RDTSCP trapped, no hardware scaling needed) --- */

/* G(h) = floor((h - host_base) * guest_khz / host_khz) + offset, exactly:
 * no rounding of the rate at all, so no drift however long the VM runs; the
 * only rate error is the host calibration's. h - host_base is taken modulo
 * 2^64, so the host counter may wrap; the value is monotonic in h for host
 * deltas up to 2^64 - 1 (58 years at 10 GHz). host_base is VM-wide (set when
 * the VM is created or restored); offset is per vCPU, like the hardware's. */
struct tsc_emul {
	uint64_t host_base;     /* host TSC where the scaled part is 0 */
	uint64_t guest_khz;     /* the VM's tsc_khz */
	uint64_t host_khz;      /* non-zero */
};

uint64_t tsc_emul_guest(const struct tsc_emul *e, uint64_t host_tsc, uint64_t offset);
uint64_t tsc_emul_offset_for(const struct tsc_emul *e, uint64_t host_tsc_now,
			     uint64_t guest_tsc_wanted);

/* ---- Time conversions ------------------------------------------------- */

/* floor(cycles * 10^6 / khz) and floor(ns * khz / 10^6), 128-bit exact,
 * saturating at UINT64_MAX; khz must be non-zero (tsc_to_ns gives
 * UINT64_MAX for 0, ns_to_tsc 0). */
uint64_t tsc_to_ns(uint64_t cycles, uint64_t khz);
uint64_t ns_to_tsc(uint64_t ns, uint64_t khz);

/* pvclock (kvmclock ABI): a guest turns TSC cycles into ns as
 *     d = shift >= 0 ? delta << shift : delta >> -shift;   (64-bit, wraps)
 *     ns = (d * tsc_to_system_mul) >> 32                   (64x32 bits)
 * pvclock_scale_for() picks the shift that puts mul in [2^31, 2^32) (the most
 * precision the 32-bit field holds) and truncates mul (as KVM: a guest that
 * derives its TSC rate from the scale, as Linux does, then finds tsc_khz).
 * For a TSC at tsc_khz the guest's result then differs from the exact
 * delta * 10^6 / tsc_khz by less than 2 ns + exact / 2^31 (0.47 ppb), as
 * long as the shifted delta fits in 64 bits (delta < 2^(64 - shift)). */
struct pvclock_scale {
	uint32_t mul;           /* tsc_to_system_mul */
	int8_t shift;           /* tsc_shift */
};

/* Returns 0 and sets *out, or -1 when tsc_khz is 0. Any non-zero kHz that
 * fits in 64 bits can be represented (shift stays within -44..20). */
int pvclock_scale_for(uint64_t tsc_khz, struct pvclock_scale *out);
/* The guest's formula, bit for bit (|shift| >= 64 shifts everything out). */
uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift);

/* ---- TSC MSRs (SDM Vol. 3B 17.17.3, IA32_TSC_ADJUST) ------------------ */

/* `offset` is the additive term of the vCPU's G (the hardware TSC offset, or
 * the offset of an emulated TSC): both writes move the guest TSC by moving it.
 * WRMSR IA32_TSC (0x10) = value, while the vCPU's TSC reads guest_tsc_now: the
 * TSC becomes value, and IA32_TSC_ADJUST moves by the same (value -
 * guest_tsc_now). */
void tsc_msr_write_tsc(uint64_t *offset, uint64_t *tsc_adjust, uint64_t guest_tsc_now,
		       uint64_t value);
/* WRMSR IA32_TSC_ADJUST (0x3b) = value: the TSC moves by (value - old adjust). */
void tsc_msr_write_tsc_adjust(uint64_t *offset, uint64_t *tsc_adjust, uint64_t value);

/* ---- Mode policy (docs/tsc-modes.md) ------------------------------------- */

/* tsc_khz may differ from the host's by this much and still be "the host
 * rate" (a common crystal tolerance; KVM's default tsc_tolerance_ppm). */
#define TSC_TOLERANCE_PPM 250u
#define TSC_REASON_MAX    320

/* What the VMM found out about the host TSC at boot; the same for every VM. */
struct tsc_host_info {
	uint64_t tsc_khz;       /* calibrated host rate, non-zero */
	bool invariant;         /* CPUID 0x80000007 EDX[8] */
	bool synchronised;      /* passed the boot-time cross-pCPU check */
	bool vouched;           /* operator's tsc_reliable: both of the above hold */
	bool hw_scaling;        /* TSC multiplier (VMX) or TSC ratio MSR (SVM) */
	unsigned scale_frac;    /* TSC_VMX_FRAC or TSC_SVM_FRAC */
	uint64_t max_ratio;     /* TSC_VMX_MAX_RATIO or TSC_SVM_MAX_RATIO */
};

/* How the guest TSC can run at tsc_khz without trapping (docs/tsc-modes.md,
 * "rate ok" is every way but TSC_RATE_NONE). */
enum tsc_rate_way {
	TSC_RATE_EQUAL,         /* tsc_khz is the host's */
	TSC_RATE_SCALED,        /* hardware scaling produces it */
	TSC_RATE_TOLERATED,     /* the host rate, within TSC_TOLERANCE_PPM of it */
	TSC_RATE_NONE,          /* not at all */
};

/* Which rule of docs/tsc-modes.md decided: the reason code that
 * tsc_explain() turns into words. */
enum tsc_why {
	TSC_WHY_NO_HOST_RATE,     /* error: host TSC rate unknown; trapped */
	TSC_WHY_UNKNOWN_MODE,     /* error: the configured mode is unknown; trapped */
	TSC_WHY_NATIVE,           /* native: untrapped (warned unless safe and rate ok) */
	TSC_WHY_PVRDTSCP_NATIVE,  /* pvrdtscp, safe and rate ok: untrapped */
	TSC_WHY_PVRDTSCP_TRAPPED, /* pvrdtscp, not safe or rate not ok: trapped */
	TSC_WHY_AUTO_NATIVE,      /* auto, safe and rate ok: native */
	TSC_WHY_EMULATE,          /* emulate, configured or by auto: trapped */
	TSC_WHY_FAST_PATH,        /* emulate, pvclock fast path on a safe host: untrapped */
};

struct tsc_decision {
	enum tsc_mode mode;     /* effective: NATIVE, EMULATE or PVRDTSCP, never AUTO */
	bool trap_rdtsc;        /* RDTSC/RDTSCP exit; the VMM returns tsc_emul_guest() */
	bool use_hw_scaling;    /* program `scale` into the multiplier / ratio MSR */
	struct tsc_scale scale; /* identity unless use_hw_scaling */
	uint64_t guest_rate_khz;/* rate the guest TSC really runs at (pvclock's input) */
	bool rate_guaranteed;   /* runs at tsc_khz (within 250 ppm): CPUID may show
				 * invariant TSC */
	bool host_reliable;     /* host TSC invariant and synchronised (or vouched):
				 * "safe" */
	bool pv_fast_path;      /* emulate mode running untrapped at the guest's
				 * pvclock request */
	bool warn;              /* log the reason as a warning */
	/* The inputs and the reason code, for tsc_explain(). */
	enum tsc_mode asked;    /* the configured mode */
	uint64_t tsc_khz;       /* the VM's rate (the host's when configured 0) */
	bool fast_asked;        /* the pvclock fast path was asked for */
	enum tsc_why why;
	enum tsc_rate_way rate_way;
	enum tsc_scale_result scale_result;   /* of hardware scaling, if the host has it */
	char reason[TSC_REASON_MAX]; /* e.g. "auto -> emulate: host TSC not invariant ..." */
};

/* Decide how a VM's TSC runs on this host. `mode` is the configured mode,
 * `tsc_khz` the VM's rate (0 = the host's), `pv_fast_path` whether the guest
 * asked to stop RDTSC trapping because it reads time through pvclock.
 * Returns 0, or -1 when host->tsc_khz is 0 or the mode is unknown (*out then
 * traps RDTSC, warns, and rate_guaranteed is false). reason is left empty. */
int tsc_decide_only(enum tsc_mode mode, uint64_t tsc_khz, bool pv_fast_path,
		    const struct tsc_host_info *host, struct tsc_decision *out);
/* The decision in words, as logged ("auto -> native: invariant host TSC,
 * ..."): from its reason code, inputs and the same host. */
void tsc_explain(const struct tsc_decision *d, const struct tsc_host_info *host, char *buf,
		 size_t size);
/* Both: the decision with its reason filled in. Called at VM creation, at
 * every restore and when the fast path is requested. */
int tsc_decide(enum tsc_mode mode, uint64_t tsc_khz, bool pv_fast_path,
	       const struct tsc_host_info *host, struct tsc_decision *out);

/* floor(|a - b| * 10^6 / b), saturating; b non-zero. */
uint64_t tsc_ppm_diff(uint64_t a, uint64_t b);

/* The exit fast path's quotient (include/tscvisor/fastexit.h, mirrored by
 * arch/x86/svm_entry.asm and vmx_entry.asm): floor(x * mul / div) in one 64x64 multiply and one 128/64 divide when
 * the quotient fits 64 bits (false otherwise: the caller takes the exact
 * slow path). Equal to mul_div_u64() whenever it returns true (tests). */
static inline bool fx_mul_div(uint64_t x, uint64_t mul, uint64_t div, uint64_t *q)
{
	uint64_t hi, lo, rem;

	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(x), "rm"(mul) : "cc");
	if (hi >= div)
		return false;
	__asm__("divq %4" : "=a"(*q), "=d"(rem) : "a"(lo), "d"(hi), "rm"(div) : "cc");
	(void)rem;
	return true;
}

/* The first host TSC h >= h0 from which fx_mul_div(h + bias, mul, div)
 * would decline (its quotient no longer fits 64 bits): h0 when it already
 * does, UINT64_MAX when no h up to UINT64_MAX gets there. The exit fast path
 * compares the host TSC with it instead of testing the product. div
 * non-zero, mul non-zero. */
static inline uint64_t fx_tsc_limit(uint64_t h0, uint64_t bias, uint64_t mul, uint64_t div)
{
	uint64_t q, rem, x0 = h0 + bias, lim, limit;

	if (mul <= div)            /* x * mul < 2^64 * div for every x */
		return UINT64_MAX;
	/* The product reaches 2^64 * div from x = ceil(2^64 * div / mul). */
	__asm__("divq %4" : "=a"(q), "=d"(rem) : "a"(0ull), "d"(div), "rm"(mul) : "cc");
	if (rem && q == UINT64_MAX)
		return UINT64_MAX;
	lim = q + (rem != 0);
	if (x0 >= lim)
		return h0;
	limit = h0 + (lim - x0);
	return limit < h0 ? UINT64_MAX : limit;
}

#endif
