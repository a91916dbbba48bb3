/* pvclock.c — the guest's side of kvmclock and of tscvisor's leaves and
 * hypercalls (see pvclock.h and docs/abi.md). */
#include "pvclock.h"

bool kvm_signature(u32 *max)
{
	struct cpuid_regs r;

	*max = 0;
	if (!(cpuid(1).ecx & (1u << 31)))
		return false;		/* no hypervisor: leaves 0x4000xxxx mean nothing */
	r = cpuid(KVM_LEAF_SIGNATURE);
	if (r.ebx != 0x4b4d564bu || r.ecx != 0x564b4d56u || r.edx != 0x4du)
		return false;		/* "KVMK" "VMKV" "M\0\0\0" */
	*max = r.eax;
	return true;
}

bool tv_signature(u32 *max)
{
	struct cpuid_regs r;

	*max = 0;
	if (!(cpuid(1).ecx & (1u << 31)))
		return false;
	r = cpuid(TV_LEAF_SIGNATURE);
	if (r.ebx != TV_SIG_EBX || r.ecx != TV_SIG_ECX || r.edx != TV_SIG_EDX)
		return false;
	*max = r.eax;
	return true;
}

const char *tv_sig_str(struct cpuid_regs r, char buf[13])
{
	const u32 w[3] = { r.ebx, r.ecx, r.edx };

	for (int i = 0; i < 12; i++) {
		char c = (char)(w[i / 4] >> (8 * (i % 4)));

		buf[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	buf[12] = '\0';
	return buf;
}

bool tv_cpu_intel(void)
{
	struct cpuid_regs r = cpuid(0);

	return r.ebx == 0x756e6547u && r.edx == 0x49656e69u && r.ecx == 0x6c65746eu;
}

s64 tv_hypercall(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	u64 ret = nr;

	if (tv_cpu_intel())
		__asm__ volatile("vmcall" : "+a"(ret) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		__asm__ volatile("vmmcall" : "+a"(ret) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return (s64)ret;
}

#define READ_ATTEMPTS 1000000u

bool pvclock_read(const volatile struct pvclock_area *a, struct pvclock_snap *s)
{
	for (u32 i = 0; i < READ_ATTEMPTS; i++) {
		u32 v1 = a->version, v2;

		if (v1 & 1) {
			s->retries++;
			cpu_relax();
			continue;
		}
		/* x86 keeps loads in order; the compiler must too. */
		__asm__ volatile("" ::: "memory");
		s->tsc = pvclock_rdtsc();
		s->f.tsc_timestamp = a->tsc_timestamp;
		s->f.system_time = a->system_time;
		s->f.tsc_to_system_mul = a->tsc_to_system_mul;
		s->f.tsc_shift = a->tsc_shift;
		s->f.flags = a->flags;
		__asm__ volatile("" ::: "memory");
		v2 = a->version;
		if (v1 != v2) {
			s->retries++;
			continue;
		}
		s->f.version = v1;
		s->ns = s->f.system_time + pvclock_scale(s->tsc - s->f.tsc_timestamp,
							 s->f.tsc_to_system_mul, s->f.tsc_shift);
		return true;
	}
	return false;
}

u64 pvclock_read_ns(const volatile struct pvclock_area *a)
{
	return pvclock_read_ns_inline(a);
}

/* Same idea as clock.c's TSC windows: an edge of the PM timer happened
 * between the read before the PM read that still showed the old count
 * and the read after the one that shows the new count; its time is the
 * middle of that bracket. */
#define STUCK_READS 10000000u

struct pv_sample {
	u64 before, after;
	u32 pm;
};

static void pv_take(const struct pmtimer *pm, const volatile struct pvclock_area *a,
		    struct pv_sample *s)
{
	s->before = pvclock_read_ns(a);
	s->pm = pmtimer_read(pm);
	s->after = pvclock_read_ns(a);
}

bool pvclock_measure_window(const struct pmtimer *pm, const volatile struct pvclock_area *a,
			    u32 pm_ticks, u64 *ns, u64 *pm_acc, u64 *err)
{
	struct pv_sample prev, cur;
	u64 widths[64], limit, acc = 0, start = 0, start_err = 0;
	u32 stuck = 0, reject_run = 0, nw = 0;
	bool started = false;

	/* The usual bracket: twice the median of a few consecutive ones. */
	pv_take(pm, a, &prev);
	for (nw = 0; nw < ARRAY_SIZE(widths); nw++) {
		pv_take(pm, a, &cur);
		widths[nw] = cur.after - prev.before;
		prev = cur;
	}
	for (u32 i = 1; i < nw; i++)
		for (u32 j = i; j > 0 && widths[j - 1] > widths[j]; j--) {
			u64 t = widths[j];

			widths[j] = widths[j - 1];
			widths[j - 1] = t;
		}
	limit = 2 * widths[nw / 2] + 1;

	pv_take(pm, a, &prev);
	for (;;) {
		u32 d;
		u64 width;

		pv_take(pm, a, &cur);
		if (cur.before < prev.after)
			return false;	/* the clock went back: not a window */
		d = (cur.pm - prev.pm) & pm->mask;
		if (!d) {
			if (++stuck >= STUCK_READS)
				return false;
			prev = cur;
			continue;
		}
		stuck = 0;
		acc += d;
		width = cur.after - prev.before;
		if (width > limit && reject_run < 1000) {
			reject_run++;
		} else {
			u64 mid = prev.before + width / 2;

			reject_run = 0;
			if (!started) {
				started = true;
				start = mid;
				start_err = width / 2 + 1;
				acc = 0;
			} else if (acc >= pm_ticks) {
				*ns = mid - start;
				*pm_acc = acc;
				*err = start_err > width / 2 + 1 ? start_err : width / 2 + 1;
				return true;
			}
		}
		prev = cur;
	}
}

u64 mb_ram_top(void)
{
	const struct mb_info *m = mb_info;
	u64 top = 0;

	if (!m)
		return 0;
	if (m->flags & MB_INFO_MMAP) {
		u64 p = m->mmap_addr, end = p + m->mmap_length;

		while (p + sizeof(struct mb_mmap_entry) <= end) {
			const struct mb_mmap_entry *e = phys_ptr(p);

			if (e->type == 1 && e->base + e->length > top)
				top = e->base + e->length;
			p += e->size + sizeof(e->size);
		}
	}
	if (!top && (m->flags & MB_INFO_MEM))
		top = ((u64)m->mem_upper + 1024) * 1024;
	return top;
}
