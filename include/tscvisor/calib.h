/* Host TSC calibration arithmetic (pure C, no hardware access; policy in
 * docs/calibration.md).
 *
 * The hardware side (arch/x86/calib_hw.c) supplies counter readers through
 * struct calib_ops; everything that can be computed is here, so host unit
 * tests drive it with simulated counters. */
#ifndef TSCVISOR_CALIB_H
#define TSCVISOR_CALIB_H

#include <stdint.h>

#define ACPI_PM_TIMER_HZ 3579545u
#define PIT_HZ           1193182u

enum calib_source {
	CALIB_NONE = 0,
	CALIB_CPUID_15H,        /* crystal clock * ratio */
	CALIB_CPUID_HV,         /* hypervisor leaf 0x40000010 */
	CALIB_PM_TIMER,         /* ACPI PM timer, measured */
	CALIB_PIT,              /* i8254 channel 2, measured */
	CALIB_CPUID_16H,        /* processor base frequency: last resort only */
};

const char *calib_source_name(enum calib_source src);

/* TSC kHz from CPUID leaf 0x15 (EAX = denominator, EBX = numerator, ECX =
 * crystal Hz), rounded to nearest. 0 when the leaf does not give all three
 * (ECX is 0 on several client parts; this code does not guess a crystal). */
uint64_t calib_khz_from_cpuid15(uint32_t eax, uint32_t ebx, uint32_t ecx);
/* From leaf 0x16 EAX[15:0] (base MHz) * 1000; upper bits ignored. 0 when
 * absent. A claim, not a measurement (Bochs always reports 3500 MHz). */
uint64_t calib_khz_from_cpuid16(uint32_t eax);

/* tsc_delta TSC cycles elapsed during ref_ticks of a reference clock running
 * at ref_hz: the TSC rate in kHz, rounded to nearest (halves up), i.e.
 * tsc_delta * ref_hz / (ref_ticks * 1000), computed with 128-bit
 * intermediates (never overflows). 0 when ref_ticks or ref_hz is 0 or the
 * result does not fit in 64 bits. */
uint64_t calib_khz(uint64_t tsc_delta, uint64_t ref_ticks, uint64_t ref_hz);

/* Ticks from `start` to `end` of an up-counter `bits` wide (1..64) that may
 * have wrapped once: (end - start) mod 2^bits. Bits above `bits` in either
 * value are ignored. 0 when bits is 0. */
uint64_t calib_counter_delta(uint64_t start, uint64_t end, unsigned bits);

/* A free-running up-counter used as the reference. */
struct calib_ops {
	void *ctx;
	uint64_t (*read_tsc)(void *ctx);
	uint64_t (*read_ref)(void *ctx);  /* raw counter value, `ref_bits` wide */
	unsigned ref_bits;                /* 24 or 32 for the PM timer, 16 for the PIT */
	uint64_t ref_hz;
};

struct calib_result {
	uint64_t khz;            /* median of the windows used */
	uint64_t min_khz, max_khz;
	uint32_t spread_ppm;     /* (max - min) / median, in parts per million */
	unsigned windows;        /* windows the median is over */
	unsigned rejected;       /* windows measured but not used: stalled at an edge */
};

#define CALIB_MAX_WINDOWS 32
/* Consecutive unchanged reads of the reference after which it counts as
 * stuck: about 0.1 s of port reads on real hardware, a few ms in host tests. */
#define CALIB_STUCK_POLLS 100000u

/* Measure `windows` windows of at least `window_ticks` reference ticks each,
 * polling the reference often enough to see every wrap (the caller's counter
 * must not wrap twice between two polls). Each window starts on a reference
 * edge (then reads the TSC), sums calib_counter_delta() between successive
 * polls until the sum reaches window_ticks, reads the TSC again and computes
 * calib_khz(tsc delta, ticks summed, ref_hz). After each of its two TSC reads
 * the reference is read once more: the ticks since the edge (the lag) say
 * whether the CPU was held up between seeing the edge and reading the TSC
 * (an SMI, or a host that descheduled this virtual CPU). A window whose lag
 * at either edge exceeds 2 * (smallest lag seen) + 2 ticks is stalled;
 * stalled windows are replaced by more, up to 3 * windows (at most
 * CALIB_MAX_WINDOWS) in all. *res gets the median (mean of the middle two
 * for an even count), min, max and (max - min) / median over the clean
 * windows when at least half the wanted number are clean, else over all.
 * Returns 0 and fills *res, or -1 when the reference does not advance (stuck
 * counter: gives up after CALIB_STUCK_POLLS unchanged polls), when the TSC
 * does not advance between the ends of a window, on bad arguments (NULL
 * callbacks, ref_hz 0, ref_bits outside 1..64, window_ticks 0) or when windows
 * is 0 or > CALIB_MAX_WINDOWS. *res is untouched on failure. */
int calib_measure(const struct calib_ops *ops, uint64_t window_ticks,
		  unsigned windows, struct calib_result *res);

#endif
