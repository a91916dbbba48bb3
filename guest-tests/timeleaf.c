/* timeleaf — tscvisor's time leaf (docs/abi.md).
 *
 * CPUID 0x40000100: EAX max leaf (0x40000101..0x400001ff), EBX:ECX:EDX
 * "TSCVisorTSCV". 0x40000101: EAX flags (bit 0 RDTSC trapped now, 1 host
 * TSC reliable, 2 hardware scaling in use, 3 pvclock fast path, 4 guest
 * rate guaranteed; the rest 0), EBX bits 7:0 the effective mode (1 native,
 * 2 emulate, 3 pvrdtscp; never 0), bits 15:8 the configured one (0 auto,
 * 1..3 as above), the rest 0; ECX the VM's tsc_khz; EDX the incarnation.
 * 0x40000102, where offered: EAX tsc_to_system_mul, EBX tsc_shift
 * (sign-extended), ECX:EDX the rate in kHz the guest TSC really runs at
 * (what the scale is for).
 *
 * Checks against the command line where it names expectations:
 *   expect_mode=native|emulate|pvrdtscp   expect_trapped=0|1
 *   expect_khz=K   expect_incarnation=N   expect_invariant=0|1 (0x80000007 EDX[8])
 *   expect_scaling=0|1   expect_reliable=0|1
 * and always: flags and modes tell one consistent story (native never
 * traps, emulate traps unless on the pvclock fast path, auto becomes
 * native or emulate, the rate-guaranteed flag is CPUID 0x80000007
 * EDX[8], ...); in pvrdtscp mode RDTSCP's ECX and IA32_TSC_AUX are the
 * incarnation; the scale leaf's mul/shift turn its rate into 10^9 ns per
 * second, its rate is CPUID 0x40000010 EAX and (trapped) the VM's
 * tsc_khz, and kvmclock's area of this vCPU carries the same mul/shift.
 *
 * Skips (77) without the signature (bare QEMU), unless require=timeleaf. */
#include "guest.h"
#include "pvclock.h"

#define MSR_TSC_AUX 0xc0000103u

static u8 area_page[4096] __attribute__((aligned(4096)));

static const char *mode_name(u32 m)
{
	switch (m) {
	case TV_MODE_AUTO:     return "auto";
	case TV_MODE_NATIVE:   return "native";
	case TV_MODE_EMULATE:  return "emulate";
	case TV_MODE_PVRDTSCP: return "pvrdtscp";
	default:               return "?";
	}
}

static u32 mode_from_word(const char *w)
{
	for (u32 m = TV_MODE_AUTO; m <= TV_MODE_PVRDTSCP; m++)
		if (!strncmp(w, mode_name(m), 16))
			return m;
	return 0xff;
}

/* An option that is 0 or 1: checks it against `have` or skips. */
static void expect_bool(const char *key, bool have, const char *what)
{
	bool found;
	u64 want = cmdline_u64(key, 0, &found);

	if (found)
		ok(have == (want != 0), "%s is %u (%s=%llu)", what, have, key, (unsigned long long)want);
	else
		skip("no %s= (%s is %u)", key, what, have);
}

/* The flags and the modes must tell one consistent story (docs/abi.md). */
static const char *inconsistency(u32 flags, u32 mode, u32 configured, bool invariant)
{
	bool trapped = flags & TV_TIME_TRAPPED, reliable = flags & TV_TIME_HOST_RELIABLE;
	bool scaling = flags & TV_TIME_HW_SCALING, fast = flags & TV_TIME_PV_FAST_PATH;
	bool guaranteed = flags & TV_TIME_RATE_GUARANTEED;

	if (configured == TV_MODE_AUTO ? mode == TV_MODE_PVRDTSCP : mode != configured)
		return "effective mode does not follow the configured one";
	if (mode == TV_MODE_NATIVE && trapped)
		return "native but trapped";
	if (mode == TV_MODE_EMULATE && trapped == fast)
		return fast ? "emulate with the fast path but trapped" : "emulate neither trapped nor fast path";
	if (mode != TV_MODE_EMULATE && fast)
		return "fast path outside emulate mode";
	if (trapped && scaling)
		return "trapped yet hardware scaling";
	if (trapped && !guaranteed)
		return "trapped (exact tsc_khz) yet the rate is not guaranteed";
	if (fast && !reliable)
		return "fast path on an unreliable host TSC";
	if (mode == TV_MODE_PVRDTSCP && !trapped && !reliable)
		return "pvrdtscp untrapped on an unreliable host TSC";
	if (configured == TV_MODE_AUTO && mode == TV_MODE_NATIVE && !reliable)
		return "auto chose native on an unreliable host TSC";
	if (guaranteed != invariant)
		return "rate-guaranteed flag differs from CPUID 0x80000007 EDX[8]";
	return NULL;
}

/* What RDTSC costs against 16 dependent ADDs, in PM timer ticks for 2000
 * of each: shown, not judged (a fast exit path can cost no more than a few
 * ADDs under icount; the runner judges trapping by the exit counts). */
static void costs(const struct pmtimer *pm)
{
	u32 p0, p1, p2;
	u64 x = 0;

	if (!pm)
		return;
	p0 = pmtimer_read(pm);
	for (int i = 0; i < 2000; i++)
		x += rdtsc();
	p1 = pmtimer_read(pm);
	for (int i = 0; i < 2000; i++)
		for (int k = 0; k < 16; k++)
			__asm__ volatile("add $1, %0" : "+r"(x));
	p2 = pmtimer_read(pm);
	diag("2000 RDTSC: %u PM ticks; 2000 x 16 ADDs: %u PM ticks", (p1 - p0) & pm->mask,
	     (p2 - p1) & pm->mask);
}

void test_main(const struct mb_info *mbi)
{
	char req[32] = "", mode_word[16] = "", sigbuf[13];
	u32 max = 0, kmax = 0;
	bool found;

	(void)mbi;
	cmdline_get("require", req, sizeof(req));
	plan(15);

	bool sig = tv_signature(&max);
	struct cpuid_regs s = cpuid(TV_LEAF_SIGNATURE);

	diag("CPUID 0x40000100: EAX 0x%08x \"%s\"", s.eax, tv_sig_str(s, sigbuf));
	if (!sig) {
		if (strncmp(req, "timeleaf", 8) == 0)
			ok(false, "tscvisor signature present (require=timeleaf)");
		skip_rest("no \"TSCVisorTSCV\" at CPUID 0x40000100");
	}
	/* 1 */
	ok(max >= TV_LEAF_TIME && max < 0x40000200u, "max leaf 0x%08x in 0x40000101..0x400001ff", max);

	struct cpuid_regs t = cpuid(TV_LEAF_TIME);
	u32 flags = t.eax, mode = t.ebx & 0xff, configured = (t.ebx >> 8) & 0xff;
	u32 khz = t.ecx, inc = t.edx;
	bool inv = cpuid(0x80000000u).eax >= 0x80000007u && (cpuid(0x80000007u).edx & (1u << 8));

	diag("CPUID 0x40000101: flags 0x%x (trapped %u, host reliable %u, hw scaling %u, "
	     "pv fast path %u, rate guaranteed %u), mode %s (configured %s), %u kHz, incarnation %u",
	     flags, flags & 1, (flags >> 1) & 1, (flags >> 2) & 1, (flags >> 3) & 1,
	     (flags >> 4) & 1, mode_name(mode), mode_name(configured), khz, inc);
	/* 2 */
	ok(!(flags & ~TV_TIME_FLAGS_KNOWN), "no unknown flag bits (0x%x)", flags);
	/* 3 */
	ok(mode >= TV_MODE_NATIVE && mode <= TV_MODE_PVRDTSCP && configured <= TV_MODE_PVRDTSCP &&
	   !(t.ebx >> 16), "EBX 0x%x: effective mode %u is 1..3, configured %u is 0..3", t.ebx,
	   mode, configured);
	/* 4 */
	if (cmdline_get("expect_mode", mode_word, sizeof(mode_word)))
		ok(mode == mode_from_word(mode_word), "mode %s == expected %s", mode_name(mode),
		   mode_word);
	else
		skip("no expect_mode=");
	/* 5..7 */
	expect_bool("expect_trapped", flags & TV_TIME_TRAPPED, "RDTSC trapped (EAX bit 0)");
	expect_bool("expect_reliable", flags & TV_TIME_HOST_RELIABLE, "host TSC reliable (EAX bit 1)");
	expect_bool("expect_scaling", flags & TV_TIME_HW_SCALING, "hardware scaling (EAX bit 2)");
	/* 8 */
	u64 want_khz = cmdline_u64("expect_khz", 0, &found);

	if (found)
		ok(khz != 0 && khz == want_khz, "tsc_khz %u == expected %llu", khz,
		   (unsigned long long)want_khz);
	else
		ok(khz != 0, "tsc_khz %u is non-zero", khz);
	/* 9 */
	u64 want_inc = cmdline_u64("expect_incarnation", 0, &found);

	if (found)
		ok(inc == want_inc, "incarnation %u == expected %llu", inc, (unsigned long long)want_inc);
	else
		skip("no expect_incarnation= (incarnation %u)", inc);
	/* 10 */
	expect_bool("expect_invariant", inv, "CPUID 0x80000007 EDX[8] invariant TSC");
	/* 11 */
	const char *bad = inconsistency(flags, mode, configured, inv);

	ok(!bad, "flags 0x%x, mode %s (configured %s), invariant %u are consistent%s%s", flags,
	   mode_name(mode), mode_name(configured), inv, bad ? ": " : "", bad ? bad : "");
	costs(pmtimer_init());

	/* 12: pvrdtscp: RDTSCP's ECX and TSC_AUX are the incarnation. */
	if (mode == TV_MODE_PVRDTSCP) {
		u32 aux = ~inc;
		u64 msr = ~0ull;
		int f = rdmsr_safe(MSR_TSC_AUX, &msr);

		rdtscp(&aux);
		ok(aux == inc && f < 0 && msr == inc,
		   "pvrdtscp: RDTSCP ECX %u and IA32_TSC_AUX %llu == incarnation %u", aux,
		   (unsigned long long)msr, inc);
	} else {
		skip("not pvrdtscp");
	}

	/* 13..15: the scale leaf. */
	if (max < TV_LEAF_SCALE) {
		skip("no scale leaf (max 0x%08x < 0x40000102)", max);
		skip("no scale leaf");
		skip("no scale leaf");
		return;
	}
	struct cpuid_regs sc = cpuid(TV_LEAF_SCALE);
	u64 rate = sc.ecx | (u64)sc.edx << 32;
	int8_t shift = (int8_t)sc.ebx;
	u64 ns_per_s = pvclock_scale(rate * 1000, sc.eax, shift);

	diag("CPUID 0x40000102: mul 0x%08x shift %d, guest TSC runs at %llu kHz", sc.eax, shift,
	     (unsigned long long)rate);
	ok(rate && (int32_t)sc.ebx == shift && ns_per_s + 3 >= 1000000000u &&
	   ns_per_s <= 1000000003u && (!(flags & TV_TIME_TRAPPED) || rate == khz),
	   "scale leaf: %llu kHz gives %llu ns per second (10^9 +- 3); trapped: rate == tsc_khz",
	   (unsigned long long)rate, (unsigned long long)ns_per_s);

	if (!kvm_signature(&kmax) || kmax < KVM_LEAF_TIMING) {
		skip("no kvmclock to compare with");
		skip("no kvmclock to compare with");
		return;
	}
	ok(cpuid(KVM_LEAF_TIMING).eax == rate, "CPUID 0x40000010 EAX %u == the scale leaf's %llu kHz",
	   cpuid(KVM_LEAF_TIMING).eax, (unsigned long long)rate);

	volatile struct pvclock_area *a = (volatile struct pvclock_area *)area_page;
	struct pvclock_snap snap = { 0 };
	bool read = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, (u64)(uintptr_t)area_page | 1) < 0 &&
		    pvclock_read(a, &snap);

	wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, 0);
	ok(read && snap.f.tsc_to_system_mul == sc.eax && snap.f.tsc_shift == shift,
	   "kvmclock area's mul 0x%08x shift %d == the scale leaf's", snap.f.tsc_to_system_mul,
	   snap.f.tsc_shift);
}
