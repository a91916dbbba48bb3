/* Token bucket for guest-triggered log lines: see include/tscvisor/ratelimit.h. */
#include <tscvisor/ratelimit.h>

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void ratelimit_init(struct ratelimit *rl, uint32_t burst, uint32_t per_sec, uint64_t host_khz)
{
	if (!burst)
		burst = 1;
	if (!per_sec)
		per_sec = 1;
	if (!host_khz)
		host_khz = 1000000;
	*rl = (struct ratelimit){ .burst = burst, .per_sec = per_sec };
	rl->interval = sat_mul(host_khz, 1000) / per_sec;
	if (!rl->interval)
		rl->interval = 1;
	rl->cap = sat_mul(rl->interval, burst);
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now, uint64_t *report)
{
	if (!rl->started) {
		rl->started = true;
		rl->credit = rl->cap;
		rl->last = now;
	} else if (now > rl->last) {
		rl->credit = sat_add(rl->credit, now - rl->last);
		if (rl->credit > rl->cap)
			rl->credit = rl->cap;
		rl->last = now;
	}
	if (rl->credit < rl->interval) {
		rl->pending++;
		rl->dropped++;
		return false;
	}
	rl->credit -= rl->interval;
	rl->allowed++;
	if (report)
		*report = rl->pending;
	rl->pending = 0;
	return true;
}
