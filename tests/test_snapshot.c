/* Host tests of vmm/snapshot.c: round trips, the byte layout of
 * docs/snapshot-format.md, and every refusal (ASan + UBSan). */
#include "harness.h"
#include <stddef.h>
#include <stdint.h>
#include <tscvisor/snapshot.h>

#define MIB (1ull << 20)
#define PG SNAP_PAGE_SIZE

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* A random address canonical for `bits` linear-address bits. */
static uint64_t rnd_canonical(unsigned bits)
{
	uint64_t a = rnd() & ((1ull << (bits - 1)) - 1);

	return (rnd() & 1) ? a | ~((1ull << (bits - 1)) - 1) : a;
}

struct sink {
	uint8_t *buf;
	size_t len, cap;
	size_t calls, max_chunk;
};

static void sink_emit(void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;

	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			abort();
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->calls++;
	if (n > s->max_chunk)
		s->max_chunk = n;
}

static void sink_free(struct sink *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the trailer of a snapshot of len bytes. */
static void reseal(uint8_t *buf, size_t len)
{
	st(buf + len - 8, snap_crc64(0, buf, len - 8), 8);
}

/* Offset of the header of the nth section of `type` (0 when none). */
static size_t find_section(const uint8_t *buf, size_t len, uint32_t type, unsigned nth)
{
	uint32_t count = ld32(buf + 20);
	size_t pos = SNAP_HEADER_LEN;

	for (uint32_t i = 0; i < count && pos + 16 <= len; i++) {
		if (ld32(buf + pos) == type && nth-- == 0)
			return pos;
		pos += 16 + (size_t)ld64(buf + pos + 8);
	}
	return 0;
}

/* Insert n bytes at `at` (a copy of src, or zeros), adjusting the total
 * length; the caller fixes the section count / lengths, then reseals. */
static void insert_bytes(struct sink *s, size_t at, const uint8_t *src, size_t n)
{
	uint8_t *nb = malloc(s->len + n);

	memcpy(nb, s->buf, at);
	if (src)
		memcpy(nb + at, src, n);
	else
		memset(nb + at, 0, n);
	memcpy(nb + at + n, s->buf + at, s->len - at);
	free(s->buf);
	s->buf = nb;
	s->len += n;
	s->cap = s->len;
	st(s->buf + 24, s->len, 8);
}

static void remove_bytes(struct sink *s, size_t at, size_t n)
{
	memmove(s->buf + at, s->buf + at + n, s->len - at - n);
	s->len -= n;
	st(s->buf + 24, s->len, 8);
}

static void copy_sink(struct sink *dst, const struct sink *src)
{
	dst->buf = malloc(src->len);
	memcpy(dst->buf, src->buf, src->len);
	dst->len = dst->cap = src->len;
	dst->calls = dst->max_chunk = 0;
}

static void add_sections(struct sink *s, int delta)
{
	st(s->buf + 20, ld32(s->buf + 20) + (uint32_t)delta, 4);
}

/* ---- random valid state ----------------------------------------------- */

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull

static void random_vcpu(struct snap_vcpu *v, uint64_t ram_size, int mode)
{
	unsigned vbits = 48;

	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < SNAP_NR_GPRS; i++)
		v->gpr[i] = rnd();
	for (unsigned s = 0; s < SNAP_NR_SEGS; s++) {
		v->seg[s].sel = (uint16_t)rnd();
		v->seg[s].attr = (uint16_t)(rnd() & 0xfff);
		v->seg[s].limit = (uint32_t)rnd();
		v->seg[s].base = (uint32_t)rnd();
	}
	v->seg[SNAP_GDTR].limit &= 0xffff;
	v->seg[SNAP_IDTR].limit &= 0xffff;
	v->cr2 = rnd();
	v->cr3 = rnd() & ((1ull << 52) - 1);
	v->rflags = 2 | (rnd() & 0x3f7fd5);
	switch (mode) {
	case 0:         /* real mode */
		v->cr0 = CR0_ET | (rnd() & 0x6004000e);     /* MP EM TS AM CD NW */
		v->cr0 &= ~(1ull << 29) | ((v->cr0 & (1ull << 30)) >> 1);
		v->cr4 = rnd() & 0x5ff;
		v->efer = rnd() & 0x801;                     /* SCE NXE */
		v->rip = rnd() & 0xffff;
		v->rflags &= ~(1ull << 17);
		break;
	case 1:         /* 32-bit protected, maybe paged, maybe virtual-8086 */
		v->cr0 = CR0_PE | CR0_ET | CR0_NE | ((rnd() & 1) ? CR0_PG | CR0_WP : 0);
		v->cr4 = rnd() & 0x7ff;
		v->efer = (rnd() & 0x801) | ((rnd() & 1) ? 0x100 : 0);  /* LME without PG is fine */
		if (v->cr0 & CR0_PG)
			v->efer &= ~0x100ull;
		v->rip = (uint32_t)rnd();
		break;
	default:        /* long mode */
		v->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		v->cr4 = 0x20 | (rnd() & 0x6f0) | ((rnd() & 1) ? 1u << 17 : 0);
		if (rnd_below(4) == 0) {
			v->cr4 |= 1u << 12;      /* LA57 */
			vbits = 57;
		}
		v->efer = 0x500 | (rnd() & 0x801);
		v->seg[SNAP_CS].attr = (uint16_t)((v->seg[SNAP_CS].attr & ~0x400) | 0x200);
		v->rip = rnd_canonical(vbits);
		v->rflags &= ~(1ull << 17);
		break;
	}
	for (unsigned s = SNAP_FS; s <= SNAP_IDTR; s++)
		v->seg[s].base = rnd_canonical(vbits);
	v->dr6 = (uint32_t)rnd();
	v->dr7 = (uint32_t)rnd();
	for (unsigned i = 0; i < 8; i++) {
		static const uint8_t types[6] = { 0, 1, 4, 5, 6, 7 };

		v->pat |= (uint64_t)types[rnd_below(6)] << (8 * i);
	}
	v->kernel_gs_base = rnd_canonical(vbits);
	v->star = rnd();
	v->lstar = rnd_canonical(vbits);
	v->cstar = rnd_canonical(vbits);
	v->sfmask = (uint32_t)rnd();
	v->sysenter_cs = rnd() & 0xffff;
	v->sysenter_esp = rnd_canonical(vbits);
	v->sysenter_eip = rnd_canonical(vbits);
	switch (rnd_below(5)) {
	case 0: v->pending_event = 0; break;
	case 1: v->pending_event = (1ull << 31) | (rnd() & 0xff); break;                /* INTR */
	case 2: v->pending_event = (1ull << 31) | (2 << 8) | 2; break;                 /* NMI */
	case 3: v->pending_event = (1ull << 31) | (3 << 8) | (1 << 11) | 13 |
				   (rnd() & 0xffffffff00000000ull); break;             /* #GP(e) */
	default: v->pending_event = (1ull << 31) | (4 << 8) | 0x80; break;            /* INT n */
	}
	v->tsc_aux = (uint32_t)rnd();
	v->apic_base = 0xfee00000ull | (1 << 11) | (rnd() & (1 << 8)) | (rnd() & (1 << 10));
	for (unsigned i = 0; i < 64; i++)
		v->lapic[i] = (uint32_t)rnd();
	v->timer_mode = (uint32_t)rnd_below(4);
	v->timer_remaining = (v->timer_mode == 1 || v->timer_mode == 2) ? rnd() : 0;
	v->timer_deadline = rnd() | (v->timer_mode == 3);
	v->tsc = rnd();
	v->tsc_adjust = rnd();
	v->pvclock_msr = (rnd() & 1) ? (rnd_below(ram_size / 32) * 32) | 1 : rnd() & ~1ull;
	v->run_state = (uint32_t)rnd_below(2);
	v->halted = rnd() & 1;
	v->interrupt_shadow = rnd() & 1;
}

/* A fixed long-mode vCPU, the target of the field-patch tests. */
static void long_mode_vcpu(struct snap_vcpu *v)
{
	random_vcpu(v, 2 * MIB, 2);
	v->cr0 = 0x80050033;
	v->cr4 = 0x6a0;
	v->efer = 0xd01;
	v->seg[SNAP_CS].attr = 0x29b;
	v->seg[SNAP_ES].attr = 0x93;
	v->rip = 0xffffffff81000000ull;
	v->rflags = 0x202;
	v->pending_event = 0;
	v->apic_base = 0xfee00900ull;
	v->timer_mode = 1;
	v->timer_remaining = 1000;
	v->timer_deadline = 0;
	v->pvclock_msr = 0x1000 | 1;
}

static struct snap_vm *random_vm(unsigned vcpus, uint32_t mib)
{
	struct snap_vm *vm = calloc(1, sizeof(*vm));

	memcpy(vm->id.name, "vm-Test_1", 10);
	vm->id.vcpus = vcpus;
	vm->id.memory_mib = mib;
	vm->id.tsc_mode = (enum tsc_mode)rnd_below(4);
	vm->id.tsc_khz = (uint32_t)(SNAP_MIN_TSC_KHZ + rnd_below(SNAP_MAX_TSC_KHZ - SNAP_MIN_TSC_KHZ + 1));
	vm->id.vendor = (uint32_t)rnd_below(3);
	vm->time.system_time_ns = rnd();
	vm->time.wall_clock_msr = rnd_below((uint64_t)mib * MIB / 16) * 16;
	vm->time.pvclock_window_gpa = rnd() & ~0xfffull;
	vm->time.emul_last = rnd();
	vm->time.incarnation = (uint32_t)rnd();
	vm->time.pv_fast_path = rnd() & 1;
	vm->uart = (struct snap_uart){ (uint8_t)(rnd() & 0xf), (uint8_t)rnd(), (uint8_t)rnd(),
				       (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd() };
	vm->fwcfg.selector = (uint16_t)rnd();
	vm->fwcfg.offset = (uint32_t)rnd();
	vm->pic = (struct snap_pic){ { (uint8_t)rnd(), (uint8_t)rnd() },
				     { (uint8_t)rnd_below(4), (uint8_t)rnd_below(4) } };
	for (unsigned i = 0; i < vcpus; i++)
		random_vcpu(&vm->vcpu[i], (uint64_t)mib * MIB, (int)rnd_below(3));
	return vm;
}

/* RAM with `nz` non-zero pages at random places (plus the first and last
 * pages when nz >= 2), the rest zero. */
static uint8_t *random_ram(uint64_t size, unsigned nz)
{
	uint8_t *ram = calloc(1, size);
	uint64_t pages = size / PG;

	for (unsigned i = 0; i < nz; i++) {
		uint64_t pg = i == 0 ? 0 : i == 1 ? pages - 1 : rnd_below(pages);
		uint8_t *p = ram + pg * PG;

		switch (rnd_below(3)) {
		case 0: p[PG - 1] = (uint8_t)(1 + rnd_below(255)); break;    /* last byte only */
		case 1: p[0] = (uint8_t)(1 + rnd_below(255)); break;         /* first byte only */
		default:
			for (unsigned j = 0; j < PG; j++)
				p[j] = (uint8_t)rnd();
			p[PG / 2] |= 1;
			break;
		}
	}
	return ram;
}
