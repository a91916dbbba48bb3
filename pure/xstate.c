/* The XSAVE state components a guest is offered, the XSETBV rules and the
 * CPUID that describes them (include/tscvisor/xstate.h). Pure: the host's
 * capabilities come in as arguments. */
#include <tscvisor/xstate.h>

static int fits(uint64_t bit, const struct xstate_layout *l)
{
	unsigned i = (unsigned)__builtin_ctzll(bit);

	if (i < 2)
		return 1;
	return l->size[i] && l->offset[i] >= XSTATE_LEGACY + XSTATE_HDR &&
	       (uint64_t)l->offset[i] + l->size[i] <= XSTATE_AREA_MAX;
}

uint64_t xstate_offered(uint64_t host, const struct xstate_layout *l)
{
	uint64_t m = 0;

	if (!(host & XS_X87))
		return 0;               /* no XSAVE at all */
	m = XS_X87;
	if (host & XS_SSE)
		m |= XS_SSE;
	if ((m & XS_SSE) && (host & XS_AVX) && fits(XS_AVX, l))
		m |= XS_AVX;
	if ((m & XS_AVX) && (host & XS_AVX512) == XS_AVX512 && fits(XS_OPMASK, l) &&
	    fits(XS_ZMM_HI256, l) && fits(XS_HI16_ZMM, l))
		m |= XS_AVX512;
	return m;
}

uint64_t xstate_switched(uint64_t host, uint64_t offered, const struct xstate_layout *l)
{
	uint64_t m = offered;
	unsigned i;

	if (!offered)
		return 0;
	for (i = 2; i < 64; i++)
		if (((host >> i) & 1) && fits(1ull << i, l))
			m |= 1ull << i;
	return m;
}

uint32_t xstate_size(uint64_t mask, const struct xstate_layout *l)
{
	uint32_t end = XSTATE_LEGACY + XSTATE_HDR;
	unsigned i;

	for (i = 2; i < 64; i++)
		if ((mask >> i) & 1 && l->offset[i] + l->size[i] > end)
			end = l->offset[i] + l->size[i];
	return end;
}

int xstate_xsetbv_check(uint64_t offered, unsigned cpl, int cr4_osxsave, uint32_t ecx,
			uint64_t val)
{
	if (!offered || !cr4_osxsave)
		return 6;
	if (cpl || ecx)
		return 13;
	if (!(val & XS_X87) || (val & ~offered))
		return 13;
	if ((val & XS_AVX) && !(val & XS_SSE))
		return 13;
	if ((val & XS_AVX512) && ((val & XS_AVX512) != XS_AVX512 || !(val & XS_AVX)))
		return 13;
	if (!(val & XS_BNDREGS) != !(val & XS_BNDCSR))
		return 13;
	return 0;
}

void xstate_cpuid(uint32_t leaf, uint32_t subleaf, uint64_t offered, uint64_t guest_xcr0,
		  const struct xstate_layout *l, uint32_t r[4])
{
	switch (leaf) {
	case 1:
		/* XSAVE (26), OSXSAVE (27, the caller mirrors the guest's CR4),
		 * and what needs the AVX state: FMA (12), AVX (28), F16C (29). */
		if (!offered)
			r[2] &= ~((1u << 26) | (1u << 27));
		if (!(offered & XS_AVX))
			r[2] &= ~((1u << 12) | (1u << 28) | (1u << 29));
		break;
	case 7:
		if (subleaf == 0) {
			/* MPX (EBX 14) and PKU/OSPKE (ECX 3, 4): never offered. */
			r[1] &= ~(1u << 14);
			r[2] &= ~((1u << 3) | (1u << 4));
			if (!(offered & XS_AVX)) {
				r[1] &= ~(1u << 5);                      /* AVX2 */
				r[2] &= ~((1u << 9) | (1u << 10));       /* VAES, VPCLMULQDQ */
			}
			if (!(offered & XS_AVX512)) {
				/* AVX512F, DQ, IFMA, PF, ER, CD, BW, VL */
				r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) |
					  (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
				/* VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
				r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
				/* 4VNNIW, 4FMAPS, VP2INTERSECT, FP16 */
				r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
			}
			/* AMX (EDX 22, 24, 25): its tile state is never offered. */
			r[3] &= ~((1u << 22) | (1u << 24) | (1u << 25));
		} else if (subleaf == 1) {
			if (!(offered & XS_AVX))
				r[0] &= ~(1u << 4);                      /* AVX-VNNI */
			if (!(offered & XS_AVX512))
				r[0] &= ~(1u << 5);                      /* AVX512_BF16 */
		}
		break;
	case 0xd:
		if (!offered) {
			r[0] = r[1] = r[2] = r[3] = 0;
		} else if (subleaf == 0) {
			r[0] = (uint32_t)offered;
			r[3] = (uint32_t)(offered >> 32);
			r[1] = xstate_size(guest_xcr0 & offered, l);
			r[2] = xstate_size(offered, l);
		} else if (subleaf == 1) {
			/* XSAVEOPT, XSAVEC, XGETBV with ECX = 1 work on the XCR0
			 * components; XSAVES (3) and XFD (4) would need IA32_XSS and
			 * IA32_XFD, which the guest does not get. */
			r[0] &= (1u << 0) | (1u << 1) | (1u << 2);
			r[1] = (r[0] & (1u << 3)) ? r[1] : 0;
			r[2] = r[3] = 0;
		} else if (subleaf < 64 && ((offered >> subleaf) & 1)) {
			/* the host's size and offset of an offered component */
		} else {
			r[0] = r[1] = r[2] = r[3] = 0;
		}
		break;
	default:
		break;
	}
}
