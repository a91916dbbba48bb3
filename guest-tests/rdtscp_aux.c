/* rdtscp_aux — RDTSCP returns IA32_TSC_AUX in ECX, and its TSC is ordered
 * with RDTSC: RDTSC <= RDTSCP <= RDTSC in program order.
 *
 * Skips (77) when CPUID 0x80000001 EDX[27] does not advertise RDTSCP.
 * Options: pairs=N ordered pairs (default 100000); inject_aux_xor=X expects
 * value ^ X from RDTSCP, a self-test showing the check can fail. */
#include "guest.h"

#define MSR_TSC_AUX 0xC0000103u

static const u32 aux_values[] = { 0, 0xffffffffu, 0x5a5aa5a5u, 1, 0x12345678u, 0x80000000u };

void test_main(const struct mb_info *mbi)
{
	u64 pairs = cmdline_u64("pairs", 100000, NULL);
	u32 inject = (u32)cmdline_u64("inject_aux_xor", 0, NULL);
	struct cpuid_regs max_ext = cpuid(0x80000000u);
	bool has_rdtscp = false;

	(void)mbi;
	plan(2 * ARRAY_SIZE(aux_values) + 1);
	if (max_ext.eax >= 0x80000001u)
		has_rdtscp = cpuid(0x80000001u).edx & (1u << 27);
	diag("CPUID 0x80000000 EAX 0x%08x; RDTSCP %s", max_ext.eax,
	     has_rdtscp ? "advertised" : "not advertised");
	if (!has_rdtscp)
		skip_rest("no RDTSCP (CPUID 0x80000001 EDX[27] clear)");
	if (inject)
		diag("self-test: expecting TSC_AUX ^ 0x%08x from RDTSCP", inject);

	for (unsigned i = 0; i < ARRAY_SIZE(aux_values); i++) {
		u32 v = aux_values[i], aux = 0xdeadbeef;
		u64 back = 0;
		int fault = wrmsr_safe(MSR_TSC_AUX, v);

		if (fault < 0)
			fault = rdmsr_safe(MSR_TSC_AUX, &back);
		ok(fault < 0 && back == v, "WRMSR/RDMSR IA32_TSC_AUX 0x%08x reads back 0x%08llx%s",
		   v, (unsigned long long)back, fault < 0 ? "" : " (faulted)");
		rdtscp(&aux);
		ok(aux == (v ^ inject), "RDTSCP ECX 0x%08x == IA32_TSC_AUX 0x%08x", aux, v ^ inject);
	}

	u64 bad = 0, worst = 0, t0, t1, t2;
	u32 aux;

	for (u64 i = 0; i < pairs; i++) {
		t0 = rdtsc();
		t1 = rdtscp(&aux);
		t2 = rdtsc();
		if (t1 < t0 || t2 < t1) {
			u64 d = t1 < t0 ? t0 - t1 : t1 - t2;

			bad++;
			if (d > worst)
				worst = d;
		}
	}
	diag("%llu RDTSC/RDTSCP/RDTSC triples: %llu out of order, worst by %llu ticks",
	     (unsigned long long)pairs, (unsigned long long)bad, (unsigned long long)worst);
	ok(bad == 0, "RDTSC <= RDTSCP <= RDTSC in every one of %llu triples",
	   (unsigned long long)pairs);
}
