/* A token bucket for log lines a guest can cause (pure C, no hardware
 * access; host-tested in tests/test_ratelimit.c).
 *
 * A guest can make the hypervisor log at will (a refused WRMSR, an unknown
 * hypercall argument, MMIO to a new unbacked page, ...). Each line goes out
 * on a 115200-baud UART under the global log lock, roughly 10 ms for 100
 * characters, so unlimited lines let one guest stall every pCPU and bury the
 * operator's console. Each VM therefore gets a bucket: `burst` lines at
 * once, then one line every host_hz / per_sec TSC cycles. Time is the host
 * TSC as passed in; a reading earlier than the last one (TSCs of two pCPUs
 * a little apart) counts as no time passed. Lines refused are counted, and
 * the count is handed to the caller with the next line allowed so that it
 * can say how many were dropped. */
#ifndef TSCVISOR_RATELIMIT_H
#define TSCVISOR_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t interval;      /* host TSC cycles per line at the steady rate */
	uint64_t cap;           /* burst * interval: the most credit kept */
	uint64_t credit;        /* cycles of credit now */
	uint64_t last;          /* host TSC of the last update */
	uint64_t pending;       /* lines refused since the last one allowed */
	uint64_t dropped;       /* lines refused in all */
	uint64_t allowed;       /* lines allowed in all */
	uint32_t burst, per_sec;
	bool started;           /* last and credit valid */
};

/* burst >= 1 and per_sec >= 1 (0 is taken as 1); host_khz 0 (unknown) is
 * taken as 1 GHz. The bucket starts full at the first call. */
void ratelimit_init(struct ratelimit *rl, uint32_t burst, uint32_t per_sec, uint64_t host_khz);

/* May one more line go out at host TSC `now`? On true, *report (when
 * non-NULL) is the number of lines refused since the last line allowed
 * (to be reported before this one), and that count restarts at 0. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now, uint64_t *report);

#endif
