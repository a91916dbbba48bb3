/* libFuzzer target for two small pure decoders of guest- and host-supplied
 * values: the PM-timer translation (pure/pmtimer.c: the guest's FADT width
 * and port against the host's) and the kvmclock WRMSR decoder
 * (pvclock_msr_decode in pure/pvclock.c: the guest's MSR value).
 *
 * Input: [0] flags (guest/host width, host timer present, which MSR),
 * [1..2] guest port, [3..4] host port, [5..12] host kHz (cut to 44 bits: it
 * is the calibrated TSC rate, far below that), [13..20] RAM size, [21..]
 * 8-byte host readings / MSR values and 16-byte MMIO ranges.
 *
 * Invariants: a 24-bit guest timer never shows bit 24 or above; the value
 * equals an independent computation per translation kind (mask, cut, the
 * 24-bit extension keeping the host's low 24 bits, the TSC-derived count in
 * 128-bit arithmetic); a kvmclock area accepted by the decoder is 4-byte
 * aligned, inside RAM, inside one page and clear of every MMIO range, and an
 * area that is all of that is accepted. Run through `make fuzz`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/pmtimer.h>
#include <tscvisor/pvclock.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void check_msr(uint32_t msr, uint64_t value, uint64_t ram,
		      const struct pvclock_gpa_range *mmio, unsigned n)
{
	struct pvclock_msr_req req;
	enum pvclock_gpa_result r = pvclock_msr_decode(msr, value, ram, mmio, n, &req);
	bool kvm = pvclock_is_msr(msr);
	uint64_t sz = req.wall ? 12 : 32;
	bool fits = true;

	if (!kvm) {
		if (r != PVCLOCK_GPA_NOT_KVMCLOCK || req.enable)
			abort();
		return;
	}
	if (r == PVCLOCK_GPA_NOT_KVMCLOCK || (unsigned)r > PVCLOCK_GPA_NOT_KVMCLOCK)
		abort();
	if (!req.wall && !(value & 1)) {
		if (r != PVCLOCK_GPA_OK || req.enable)
			abort();                /* turning the area off is always fine */
		return;
	}
	if (!req.enable || req.gpa != (req.wall ? value : value & ~1ull))
		abort();
	/* Independent check of the area. */
	/* RAM past 3 GiB sits at 4 GiB (docs/platform.md): the area must lie
	 * wholly in [0, min(ram, 3 GiB)) or in [4 GiB, 4 GiB + ram - 3 GiB). */
	{
		const uint64_t low = 3ull << 30, high = 4ull << 30;
		const unsigned __int128 top = (unsigned __int128)1 << 64;   /* the range stops there */
		uint64_t low_end = ram < low ? ram : low;
		unsigned __int128 high_end = ram > low ? (unsigned __int128)high + (ram - low) : high;
		bool in_low, in_high;

		if (high_end > top)
			high_end = top;
		in_low = req.gpa < low_end && sz <= low_end - req.gpa;
		in_high = req.gpa >= high && (unsigned __int128)req.gpa + sz <= high_end;

		if ((req.gpa & 3) || !(in_low || in_high) || (req.gpa & 0xfff) + sz > 0x1000)
			fits = false;
	}
	for (unsigned i = 0; fits && i < n; i++)
		if (mmio[i].size && req.gpa < (unsigned __int128)mmio[i].base + mmio[i].size &&
		    mmio[i].base < (unsigned __int128)req.gpa + sz)
			fits = false;   /* (128-bit: a range may reach past 2^64, and
					 * an area may end at 2^64 exactly) */
	if (fits != (r == PVCLOCK_GPA_OK))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t msrs[] = { 0x11, 0x12, 0x4b564d00, 0x4b564d01, 0x10, 0x4b564d02 };
	struct pvclock_gpa_range mmio[4];
	struct pm_xlate x;
	uint64_t khz, ram, prev_h = 0;
	uint32_t prev_v = 0;
	uint16_t gport, hport;
	bool g32, h32, first = true;
	unsigned n = 0;
	size_t pos;

	if (size < 21)
		return 0;
	g32 = data[0] & 1;
	h32 = data[0] & 2;
	gport = (uint16_t)le(data + 1, 2);
	hport = (data[0] & 4) ? (uint16_t)le(data + 3, 2) : 0;
	khz = le(data + 5, 8) & ((1ull << 44) - 1);
	ram = le(data + 13, 8);
	if (!gport)
		gport = 0x408;
	pm_xlate_init(&x, gport, g32, hport, h32, khz);
	if (!pm_xlate_kind_name(x.kind) || x.kind > PM_FROM_TSC)
		abort();
	if ((hport == 0) != (x.kind == PM_FROM_TSC) ||
	    (x.kind == PM_DIRECT && (gport != hport || g32 != h32)) ||
	    (x.kind == PM_EXTEND && (!g32 || h32)) || (x.kind == PM_NARROW && (g32 || !h32)))
		abort();

	for (pos = 21; pos + 16 <= size && n < 4 && (data[pos] & 0x80); pos += 16)
		mmio[n++] = (struct pvclock_gpa_range){ le(data + pos, 8) & ~(1ull << 7),
							le(data + pos + 8, 8) % (1u << 16) };
	for (; pos + 8 <= size; pos += 8) {
		uint64_t h = le(data + pos, 8);
		uint32_t mask = g32 ? 0xffffffffu : 0xffffffu;
		uint32_t v = pm_xlate_read(&x, h), want;

		if (!g32 && v > 0xffffffu)
			abort();
		switch (x.kind) {
		case PM_DIRECT:
		case PM_SAME_WIDTH:
			want = (uint32_t)h & mask;
			break;
		case PM_NARROW:
			want = (uint32_t)h & 0xffffffu;
			break;
		case PM_EXTEND:
			want = v;
			if ((v & 0xffffffu) != ((uint32_t)h & 0xffffffu))
				abort();        /* the host's low 24 bits show through */
			if (!first && v != prev_v + (((uint32_t)h - (uint32_t)prev_h) & 0xffffffu))
				abort();        /* advances by the host's 24-bit step */
			break;
		case PM_FROM_TSC:
		default:
			want = khz ? (uint32_t)((unsigned __int128)h * PMTIMER_HZ / ((unsigned __int128)khz * 1000)) & mask : 0;
			break;
		}
		if (v != want)
			abort();
		first = false;
		prev_h = h;
		prev_v = v;
		check_msr(msrs[data[pos] % 6], h, ram, mmio, n);
	}
	return 0;
}
