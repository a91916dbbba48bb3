/* Host tests of pure/snapshot.c: round trips, the byte layout of
 * docs/snapshot-format.md, and every refusal (ASan + UBSan). */
#include "harness.h"
#include <stddef.h>
#include <stdint.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/uart16550.h>

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
	for (unsigned s = SNAP_FS; s <= SNAP_IDTR; s++)    /* 48-bit canonical: no LA57 */
		v->seg[s].base = rnd_canonical(48);
	v->kernel_gs_base = rnd_canonical(48);
	v->lstar = rnd_canonical(48);
	v->cstar = rnd_canonical(48);
	v->sysenter_esp = rnd_canonical(48);
	v->sysenter_eip = rnd_canonical(48);
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
	vm->uart = (struct snap_uart){ .ier = (uint8_t)(rnd() & 0xf), .lcr = (uint8_t)rnd(),
				       .mcr = (uint8_t)rnd(), .scr = (uint8_t)rnd(),
				       .dll = (uint8_t)rnd(), .dlm = (uint8_t)rnd() };
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

static uint64_t ram_size_of(const struct snap_vm *vm)
{
	return (uint64_t)vm->id.memory_mib * MIB;
}

static int encode(const struct snap_vm *vm, const uint8_t *ram, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return snap_encode(vm, ram, ram_size_of(vm), sink_emit, s);
}

/* ---- refusal checking ------------------------------------------------- */

#define CANARY_RAM (4 * MIB)
static uint8_t *g_ram, *g_ram_pattern;
static struct snap_vm *g_out, *g_out_pattern;

static void canaries_init(void)
{
	g_ram = malloc(CANARY_RAM);
	g_ram_pattern = malloc(CANARY_RAM);
	memset(g_ram_pattern, 0x5a, CANARY_RAM);
	memcpy(g_ram, g_ram_pattern, CANARY_RAM);
	g_out = malloc(sizeof(*g_out));
	g_out_pattern = malloc(sizeof(*g_out));
	memset(g_out_pattern, 0xcd, sizeof(*g_out));
	memcpy(g_out, g_out_pattern, sizeof(*g_out));
}

static bool canaries_intact(void)
{
	return memcmp(g_ram, g_ram_pattern, CANARY_RAM) == 0 &&
	       memcmp(g_out, g_out_pattern, sizeof(*g_out)) == 0;
}

static void canaries_reset(void)
{
	memcpy(g_ram, g_ram_pattern, CANARY_RAM);
	memcpy(g_out, g_out_pattern, sizeof(*g_out));
}

/* Both snap_check and snap_decode refuse buf[0..len) (copied into a buffer of
 * exactly len bytes, so ASan sees any read past it) with `code` and a message
 * containing `substr`, writing neither *out nor RAM. */
static void expect_refused(const char *what, const uint8_t *buf, size_t len,
			   enum snap_err code, const char *substr)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct snap_error e1, e2;
	int r1, r2;
	bool ok;

	memcpy(copy, buf, len);
	r1 = snap_check(copy, len, g_out, &e1);
	r2 = snap_decode(copy, len, g_out, g_ram, CANARY_RAM, &e2);
	ok = r1 == -1 && r2 == -1 && e1.code == code && e2.code == code &&
	     strstr(e1.msg, substr) && strstr(e2.msg, substr) && canaries_intact();
	if (!th_check(ok, what, __FILE__, __LINE__))
		printf("#   check: %d %s \"%s\"; decode: %d %s \"%s\"; want %s \"%s\"; canaries %s\n",
		       r1, snap_err_name(e1.code), r1 ? e1.msg : "", r2, snap_err_name(e2.code),
		       r2 ? e2.msg : "", snap_err_name(code), substr,
		       canaries_intact() ? "intact" : "WRITTEN");
	canaries_reset();
	free(copy);
}

/* Accepted by both; returns the decoded state in g_out (RAM in g_ram). */
static bool accepted(const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct snap_error e;
	bool ok;

	memcpy(copy, buf, len);
	ok = snap_check(copy, len, g_out, &e) == 0 &&
	     snap_decode(copy, len, g_out, g_ram, CANARY_RAM, &e) == 0;
	if (!ok)
		printf("#   refused: %s: %s\n", snap_err_name(e.code), e.msg);
	free(copy);
	return ok;
}

/* ---- tests ------------------------------------------------------------ */

static void test_crc(void)
{
	static const char check[] = "123456789";
	uint8_t buf[1000];
	uint64_t whole, crc = 0;
	size_t pos = 0, step = 1;

	CHECK_EQ_U64(snap_crc64(0, check, 9), 0x995dc9bbdf1939faull);
	CHECK_EQ_U64(snap_crc64(0, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	whole = snap_crc64(0, buf, sizeof(buf));
	while (pos < sizeof(buf)) {       /* chunks of 1, 3, 5, 7, ... bytes */
		size_t n = pos + step > sizeof(buf) ? sizeof(buf) - pos : step;

		crc = snap_crc64(crc, buf + pos, n);
		pos += n;
		step += 2;
	}
	CHECK_EQ_U64(crc, whole);
	/* against the bit-at-a-time definition */
	crc = ~0ull;
	for (size_t i = 0; i < sizeof(buf); i++) {
		crc ^= buf[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0xc96c5795d7870f42ull : 0);
	}
	CHECK_EQ_U64(~crc, whole);
	{
		unsigned wrong = 0;

		for (unsigned n = 0; n < 256; n++) {     /* every table entry */
			uint8_t byte = (uint8_t)n;

			crc = ~0ull ^ byte;
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ ((crc & 1) ? 0xc96c5795d7870f42ull : 0);
			wrong += ~crc != snap_crc64(0, &byte, 1);
		}
		CHECK_EQ_U64(wrong, 0);
	}
}

/* The port and width only mean something when the section is there. */
static bool same_platform(const struct snap_platform *a, const struct snap_platform *b)
{
	return a->present == b->present &&
	       (!a->present || (a->pm_timer_port == b->pm_timer_port &&
				a->pm_timer_32bit == b->pm_timer_32bit));
}

/* The FPU images only mean something when the sections are there. */
static bool same_vcpus(const struct snap_vm *a, const struct snap_vm *b)
{
	if (a->fpu_present != b->fpu_present)
		return false;
	for (unsigned i = 0; i < a->id.vcpus; i++) {
		if (memcmp(&a->vcpu[i], &b->vcpu[i], offsetof(struct snap_vcpu, fpu)) != 0)
			return false;
		if (a->fpu_present && memcmp(a->vcpu[i].fpu, b->vcpu[i].fpu, SNAP_FPU_IMAGE_LEN) != 0)
			return false;
	}
	if (a->xstate_present != b->xstate_present)
		return false;
	for (unsigned i = 0; a->xstate_present && i < a->id.vcpus; i++)
		if (a->vcpu[i].xcr0 != b->vcpu[i].xcr0 || a->vcpu[i].xstate_bv != b->vcpu[i].xstate_bv ||
		    memcmp(a->vcpu[i].dr, b->vcpu[i].dr, sizeof(a->vcpu[i].dr)) != 0 ||
		    memcmp(a->vcpu[i].xstate, b->vcpu[i].xstate, SNAP_XSTATE_EXT_LEN) != 0)
			return false;
	return true;
}

/* The IOAPIC's fields only mean something when the section is there. */
static bool same_ioapic(const struct snap_ioapic *a, const struct snap_ioapic *b)
{
	return a->present == b->present &&
	       (!a->present || (a->id == b->id && a->ioregsel == b->ioregsel && a->line == b->line &&
				memcmp(a->rte, b->rte, sizeof(a->rte)) == 0));
}

static bool same_pm1(const struct snap_pm1 *a, const struct snap_pm1 *b)
{
	return a->present == b->present &&
	       (!a->present || (a->sts == b->sts && a->en == b->en && a->cnt == b->cnt));
}

static bool same_vm(const struct snap_vm *a, const struct snap_vm *b)
{
	return same_platform(&a->platform, &b->platform) && same_vcpus(a, b) &&
	       same_ioapic(&a->ioapic, &b->ioapic) && same_pm1(&a->pm1, &b->pm1) &&
	       memcmp(&a->id, &b->id, sizeof(a->id)) == 0 &&
	       memcmp(&a->time, &b->time, sizeof(a->time)) == 0 &&
	       memcmp(&a->uart, &b->uart, sizeof(a->uart)) == 0 &&
	       memcmp(&a->fwcfg, &b->fwcfg, sizeof(a->fwcfg)) == 0 &&
	       memcmp(&a->pic, &b->pic, sizeof(a->pic)) == 0;
}

static void test_roundtrip(unsigned vcpus, uint32_t mib, unsigned nz)
{
	struct snap_vm *vm = random_vm(vcpus, mib), *out = malloc(sizeof(*out));
	uint64_t size = ram_size_of(vm);
	uint8_t *ram = random_ram(size, nz), *ram2 = malloc(size);
	struct snap_error err;
	struct sink s;

	printf("# round trip: %u vCPUs, %u MiB, %u non-zero page writes\n", vcpus, mib, nz);
	CHECK(snap_validate(vm, size, &err) == 0);
	CHECK(encode(vm, ram, &s) == 0);
	CHECK_EQ_U64(s.len, snap_encoded_size(vm, ram, size));
	CHECK(s.max_chunk <= PG);
	CHECK_EQ_U64(ld64(s.buf + 24), s.len);
	CHECK_EQ_U64(ld32(s.buf + 20), 6 + vcpus);

	memset(out, 0xee, sizeof(*out));
	CHECK(snap_check(s.buf, s.len, out, &err) == 0);
	CHECK(err.code == SNAP_OK);
	CHECK(same_vm(vm, out));
	/* vCPUs beyond the count are zeroed */
	if (vcpus < SNAP_MAX_VCPUS)
		CHECK(out->vcpu[vcpus].rip == 0 && out->vcpu[SNAP_MAX_VCPUS - 1].cr0 == 0);

	memset(out, 0xee, sizeof(*out));
	memset(ram2, 0xaa, size);       /* zero pages must come back zero */
	CHECK(snap_decode(s.buf, s.len, out, ram2, size, &err) == 0);
	CHECK(same_vm(vm, out));
	CHECK(memcmp(ram, ram2, size) == 0);
	CHECK(snap_check(s.buf, s.len, NULL, NULL) == 0);
	sink_free(&s);
	free(vm);
	free(out);
	free(ram);
	free(ram2);
}

/* The byte positions of docs/snapshot-format.md. */
static void test_layout(void)
{
	struct snap_vm *vm = random_vm(2, 2);
	uint8_t *ram = calloc(1, 2 * MIB);
	struct sink s;
	size_t v0 = 32 + 16 + 52 + 16 + 40, v1 = v0 + 16 + 768, ramsec;
	const uint8_t *p;

	memset(ram + 5 * PG, 0x11, 2 * PG);
	ram[9 * PG + 7] = 1;
	vm->id.tsc_khz = 2500000;
	CHECK(encode(vm, ram, &s) == 0);
	p = s.buf;
	CHECK(memcmp(p, "TSCVSNAP", 8) == 0);
	CHECK_EQ_U64(ld32(p + 8), 1);
	CHECK_EQ_U64(ld32(p + 12), 32);
	CHECK_EQ_U64(ld32(p + 16), 0);
	CHECK_EQ_U64(ld32(p + 20), 8);
	CHECK_EQ_U64(ld64(p + 24), s.len);
	CHECK_EQ_U64(ld64(p + s.len - 8), snap_crc64(0, p, s.len - 8));
	/* IDENTITY at 32 */
	CHECK_EQ_U64(ld32(p + 32), SNAP_SEC_IDENTITY);
	CHECK_EQ_U64(ld32(p + 36), 1);
	CHECK_EQ_U64(ld64(p + 40), 52);
	CHECK(memcmp(p + 48, "vm-Test_1\0\0\0", 12) == 0);
	CHECK_EQ_U64(ld32(p + 48 + 32), 2);
	CHECK_EQ_U64(ld32(p + 48 + 36), 2);
	CHECK_EQ_U64(ld32(p + 48 + 40), vm->id.tsc_mode);
	CHECK_EQ_U64(ld32(p + 48 + 44), 2500000);
	CHECK_EQ_U64(ld32(p + 48 + 48), vm->id.vendor);
	/* TIME at 100 */
	CHECK_EQ_U64(ld32(p + 100), SNAP_SEC_TIME);
	CHECK_EQ_U64(ld64(p + 108), 40);
	CHECK_EQ_U64(ld64(p + 116), vm->time.system_time_ns);
	CHECK_EQ_U64(ld64(p + 124), vm->time.wall_clock_msr);
	CHECK_EQ_U64(ld64(p + 132), vm->time.pvclock_window_gpa);
	CHECK_EQ_U64(ld64(p + 140), vm->time.emul_last);
	CHECK_EQ_U64(ld32(p + 148), vm->time.incarnation);
	CHECK_EQ_U64(ld32(p + 152), vm->time.pv_fast_path);
	/* VCPU 0 and 1 */
	CHECK_EQ_U64(ld32(p + v0), SNAP_SEC_VCPU);
	CHECK_EQ_U64(ld64(p + v0 + 8), 768);
	CHECK_EQ_U64(ld32(p + v1 + 16), 1);              /* id */
	p = s.buf + v1 + 16;
	CHECK_EQ_U64(ld32(p + 4), vm->vcpu[1].run_state);
	CHECK_EQ_U64(ld32(p + 8), vm->vcpu[1].halted | vm->vcpu[1].interrupt_shadow << 1);
	CHECK_EQ_U64(ld32(p + 12), vm->vcpu[1].timer_mode);
	CHECK_EQ_U64(ld64(p + 16 + 8 * SNAP_RBX), vm->vcpu[1].gpr[SNAP_RBX]);
	CHECK_EQ_U64(ld64(p + 16 + 8 * SNAP_R15), vm->vcpu[1].gpr[SNAP_R15]);
	CHECK_EQ_U64(ld64(p + 144), vm->vcpu[1].rip);
	CHECK_EQ_U64(ld64(p + 152), vm->vcpu[1].rflags);
	CHECK_EQ_U64(p[160 + 16 * SNAP_TR] | p[161 + 16 * SNAP_TR] << 8, vm->vcpu[1].seg[SNAP_TR].sel);
	CHECK_EQ_U64(p[162 + 16 * SNAP_CS] | p[163 + 16 * SNAP_CS] << 8, vm->vcpu[1].seg[SNAP_CS].attr);
	CHECK_EQ_U64(ld32(p + 164 + 16 * SNAP_GDTR), vm->vcpu[1].seg[SNAP_GDTR].limit);
	CHECK_EQ_U64(ld64(p + 168 + 16 * SNAP_IDTR), vm->vcpu[1].seg[SNAP_IDTR].base);
	CHECK_EQ_U64(ld64(p + 320), vm->vcpu[1].cr0);
	CHECK_EQ_U64(ld64(p + 344), vm->vcpu[1].cr4);
	CHECK_EQ_U64(ld64(p + 352), vm->vcpu[1].efer);
	CHECK_EQ_U64(ld64(p + 376), vm->vcpu[1].dr7);
	CHECK_EQ_U64(ld64(p + 384), vm->vcpu[1].kernel_gs_base);
	CHECK_EQ_U64(ld64(p + 440), vm->vcpu[1].sysenter_eip);
	CHECK_EQ_U64(ld64(p + 448), vm->vcpu[1].pending_event);
	CHECK_EQ_U64(ld64(p + 456), vm->vcpu[1].tsc_aux);
	CHECK_EQ_U64(ld64(p + 464), vm->vcpu[1].apic_base);
	CHECK_EQ_U64(ld64(p + 472), vm->vcpu[1].tsc);
	CHECK_EQ_U64(ld64(p + 480), vm->vcpu[1].tsc_adjust);
	CHECK_EQ_U64(ld64(p + 488), vm->vcpu[1].pvclock_msr);
	CHECK_EQ_U64(ld64(p + 496), vm->vcpu[1].timer_remaining);
	CHECK_EQ_U64(ld64(p + 504), vm->vcpu[1].timer_deadline);
	CHECK_EQ_U64(ld32(p + 512), vm->vcpu[1].lapic[0]);
	CHECK_EQ_U64(ld32(p + 764), vm->vcpu[1].lapic[63]);
	/* UART, FWCFG, PIC */
	p = s.buf + v1 + 16 + 768;
	CHECK_EQ_U64(ld32(p), SNAP_SEC_UART);
	CHECK(p[16] == vm->uart.ier && p[21] == vm->uart.dlm);
	p += 16 + 6;
	CHECK_EQ_U64(ld32(p), SNAP_SEC_FWCFG);
	CHECK_EQ_U64(p[16] | p[17] << 8, vm->fwcfg.selector);
	CHECK_EQ_U64(ld32(p + 18), vm->fwcfg.offset);
	p += 16 + 6;
	CHECK_EQ_U64(ld32(p), SNAP_SEC_PIC);
	CHECK(p[16] == vm->pic.imr[0] && p[19] == vm->pic.icw_step[1]);
	p += 16 + 4;
	/* RAM: runs [5, 7) and [9, 10) */
	ramsec = (size_t)(p - s.buf);
	CHECK_EQ_U64(ramsec, find_section(s.buf, s.len, SNAP_SEC_RAM, 0));
	CHECK_EQ_U64(ld32(p), SNAP_SEC_RAM);
	CHECK_EQ_U64(ld64(p + 8), 16 + 2 * 16 + 3 * PG);
	CHECK_EQ_U64(ld64(p + 16), 2 * MIB);
	CHECK_EQ_U64(ld32(p + 24), PG);
	CHECK_EQ_U64(ld32(p + 28), 2);
	CHECK_EQ_U64(ld64(p + 32), 5);
	CHECK_EQ_U64(ld64(p + 40), 2);
	CHECK(p[48] == 0x11 && p[48 + 2 * PG - 1] == 0x11);
	CHECK_EQ_U64(ld64(p + 48 + 2 * PG), 9);
	CHECK_EQ_U64(ld64(p + 56 + 2 * PG), 1);
	CHECK(p[64 + 2 * PG + 7] == 1);
	CHECK_EQ_U64((size_t)(p - s.buf) + 16 + 16 + 32 + 3 * PG + 8, s.len);
	sink_free(&s);
	free(vm);
	free(ram);
}

struct bytewise { struct sink *s; };

static void emit_bytewise(void *ctx, const void *buf, size_t len)
{
	struct bytewise *b = ctx;
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)     /* as a serial port would take it */
		sink_emit(b->s, p + i, 1);
}

static void test_emit_chunks(void)
{
	struct snap_vm *vm = random_vm(3, 2);
	uint8_t *ram = random_ram(2 * MIB, 6), *odd;
	struct sink a, b = { 0 };
	struct bytewise bw = { &b };
	struct snap_error err;

	CHECK(encode(vm, ram, &a) == 0);
	CHECK(snap_encode(vm, ram, 2 * MIB, emit_bytewise, &bw) == 0);
	CHECK_EQ_U64(a.len, b.len);
	CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
	CHECK(a.calls > 10);
	/* decode from an odd address: every field is read unaligned */
	odd = malloc(a.len + 1);
	memcpy(odd + 1, a.buf, a.len);
	CHECK(snap_check(odd + 1, a.len, g_out, &err) == 0);
	CHECK(same_vm(vm, g_out));
	canaries_reset();
	free(odd);
	/* the CRC taken in odd-sized chunks as the bytes arrive */
	{
		uint64_t crc = 0;
		size_t pos = 0, step = 1;

		while (pos < a.len - 8) {
			size_t n = pos + step > a.len - 8 ? a.len - 8 - pos : step;

			crc = snap_crc64(crc, a.buf + pos, n);
			pos += n;
			step = step * 3 % 1031 + 1;
		}
		CHECK_EQ_U64(crc, ld64(a.buf + a.len - 8));
	}
	sink_free(&a);
	sink_free(&b);
	free(vm);
	free(ram);
}

static void test_zero_pages(void)
{
	struct snap_vm *vm = random_vm(1, 2);
	uint8_t *ram = calloc(1, 2 * MIB);
	size_t fixed = snap_encoded_size(vm, ram, 2 * MIB);

	CHECK_EQ_U64(fixed, 32 + 68 + 56 + 784 + 22 + 22 + 20 + 32 + 8);
	ram[5 * PG + 100] = 1;
	CHECK_EQ_U64(snap_encoded_size(vm, ram, 2 * MIB), fixed + 16 + PG);
	ram[6 * PG] = 1;            /* adjacent: same run */
	CHECK_EQ_U64(snap_encoded_size(vm, ram, 2 * MIB), fixed + 16 + 2 * PG);
	ram[2 * MIB - 1] = 1;       /* last page: a new run */
	CHECK_EQ_U64(snap_encoded_size(vm, ram, 2 * MIB), fixed + 32 + 3 * PG);
	ram[0] = 1;
	CHECK_EQ_U64(snap_encoded_size(vm, ram, 2 * MIB), fixed + 48 + 4 * PG);
	memset(ram, 0xff, 2 * MIB);   /* all pages: one run */
	CHECK_EQ_U64(snap_encoded_size(vm, ram, 2 * MIB), fixed + 16 + 2 * MIB);
	/* 64 MiB, 3 non-zero pages: ~13 KiB, not 64 MiB */
	{
		struct snap_vm *big = random_vm(1, 64);
		uint8_t *bram = calloc(1, 64 * MIB);
		struct sink s;

		bram[0] = bram[32 * MIB] = bram[64 * MIB - 1] = 0x42;
		CHECK(encode(big, bram, &s) == 0);
		CHECK_EQ_U64(s.len, fixed + 48 + 3 * PG);
		memset(bram, 0x77, 64 * MIB);
		CHECK(snap_decode(s.buf, s.len, g_out, bram, 64 * MIB, NULL) == 0);
		CHECK(bram[0] == 0x42 && bram[1] == 0 && bram[32 * MIB] == 0x42 &&
		      bram[64 * MIB - 1] == 0x42 && bram[64 * MIB - 2] == 0 && bram[PG] == 0);
		canaries_reset();
		sink_free(&s);
		free(big);
		free(bram);
	}
	free(vm);
	free(ram);
}

/* A base snapshot: 2 vCPUs (vCPU 0 the fixed long-mode one), 2 MiB, two
 * separate runs. */
static struct snap_vm *base_vm;
static uint8_t *base_ram;
static struct sink base;

static void make_base(void)
{
	base_vm = random_vm(2, 2);
	long_mode_vcpu(&base_vm->vcpu[0]);
	base_vm->time.wall_clock_msr = 0x2000;
	base_ram = calloc(1, 2 * MIB);
	memset(base_ram + 3 * PG, 0x33, PG);
	memset(base_ram + 7 * PG, 0x77, 2 * PG);
	if (encode(base_vm, base_ram, &base))
		abort();
}

/* Patch `size` bytes at `off` of a copy of `src`, reseal, expect refusal. */
static void patched_in(const struct sink *src, const char *what, size_t off, uint64_t val,
		       unsigned size, enum snap_err code, const char *substr)
{
	struct sink c;

	copy_sink(&c, src);
	st(c.buf + off, val, size);
	reseal(c.buf, c.len);
	expect_refused(what, c.buf, c.len, code, substr);
	sink_free(&c);
}

static void patched(const char *what, size_t off, uint64_t val, unsigned size,
		    enum snap_err code, const char *substr)
{
	patched_in(&base, what, off, val, size, code, substr);
}

/* An optional section's refusal names the section's own offset: `size`
 * bytes at `off` patched to `val` in a copy of `src`, whose section starts
 * at `sec`. */
static void refused_at_section(const struct sink *src, size_t sec, size_t off, uint64_t val,
			       unsigned size)
{
	struct snap_error e;
	struct sink c;

	copy_sink(&c, src);
	st(c.buf + off, val, size);
	reseal(c.buf, c.len);
	CHECK(snap_check(c.buf, c.len, NULL, &e) == -1 && e.offset == sec);
	sink_free(&c);
}


static void test_header_refusals(void)
{
	struct sink c;
	size_t id = find_section(base.buf, base.len, SNAP_SEC_IDENTITY, 0);

	CHECK(accepted(base.buf, base.len));
	CHECK(same_vm(base_vm, g_out));
	CHECK(memcmp(g_ram, base_ram, 2 * MIB) == 0);
	CHECK(g_ram[2 * MIB] == 0x5a);       /* beyond the guest's RAM: untouched */
	canaries_reset();

	expect_refused("empty", base.buf, 0, SNAP_ERR_TRUNCATED, "truncated");
	expect_refused("one byte short", base.buf, base.len - 1, SNAP_ERR_TRUNCATED, "truncated");
	expect_refused("header only", base.buf, 32, SNAP_ERR_TRUNCATED, "truncated");
	copy_sink(&c, &base);
	c.buf[0] = 'X';
	expect_refused("bad magic", c.buf, c.len, SNAP_ERR_MAGIC, "bad magic");
	expect_refused("bad magic, 3 bytes", c.buf, 3, SNAP_ERR_MAGIC, "bad magic");
	sink_free(&c);
	expect_refused("ELF file", (const uint8_t *)"\177ELF\2\1\1\0\0\0\0\0", 12, SNAP_ERR_MAGIC,
		       "bad magic");
	patched("version 2", 8, 2, 4, SNAP_ERR_VERSION, "foreign version: format version 2");
	patched("version 0", 8, 0, 4, SNAP_ERR_VERSION, "foreign version: format version 0");
	patched("header length 48", 12, 48, 4, SNAP_ERR_HEADER, "header length 48");
	patched("header flags", 16, 1, 4, SNAP_ERR_HEADER, "unknown header flags 0x1");
	patched("total length 39", 24, 39, 8, SNAP_ERR_HEADER, "below the 40 bytes");
	patched("total length huge", 24, UINT64_MAX, 8, SNAP_ERR_TRUNCATED, "truncated");

	copy_sink(&c, &base);
	c.buf[1000] ^= 4;
	expect_refused("flipped bit", c.buf, c.len, SNAP_ERR_CHECKSUM, "checksum mismatch");
	c.buf[1000] ^= 4;
	c.buf[c.len - 1] ^= 0x80;
	expect_refused("flipped trailer bit", c.buf, c.len, SNAP_ERR_CHECKSUM, "checksum mismatch");
	sink_free(&c);

	/* trailing bytes after a valid snapshot */
	c.buf = malloc(base.len + 1);
	memcpy(c.buf, base.buf, base.len);
	c.buf[base.len] = 0;
	expect_refused("trailing byte", c.buf, base.len + 1, SNAP_ERR_HEADER, "trailing data");
	free(c.buf);

	/* section framing */
	patched("section length overflows", id + 8, UINT64_MAX - 7, 8, SNAP_ERR_OVERSIZED,
		"runs past the body's end");
	patched("section length one too many", id + 8, base.len, 8, SNAP_ERR_OVERSIZED,
		"runs past");
	patched("section count + 1", 20, 9, 4, SNAP_ERR_LAYOUT, "runs past the body's end");
	patched("section count - 1", 20, 7, 4, SNAP_ERR_LAYOUT, "bytes after the last of the 7");
	patched("section count 0", 20, 0, 4, SNAP_ERR_LAYOUT, "after the last of the 0");
	patched("section version 2", id + 4, 2, 4, SNAP_ERR_VERSION,
		"foreign version: section IDENTITY");
	patched("unknown mandatory type", find_section(base.buf, base.len, SNAP_SEC_PIC, 0),
		0x63, 4, SNAP_ERR_UNKNOWN_SECTION, "unknown mandatory section type 0x63");
	patched("type 0", find_section(base.buf, base.len, SNAP_SEC_PIC, 0),
		0, 4, SNAP_ERR_UNKNOWN_SECTION, "type 0x0");
}

/* Remove the section at `off`. */
static void drop_section(struct sink *c, size_t off)
{
	remove_bytes(c, off, 16 + (size_t)ld64(c->buf + off + 8));
	add_sections(c, -1);
	reseal(c->buf, c->len);
}

/* Insert a copy of the section at `from` before the section at `at`. */
static void dup_section(struct sink *c, size_t from, size_t at)
{
	size_t n = 16 + (size_t)ld64(c->buf + from + 8);
	uint8_t *tmp = malloc(n);

	memcpy(tmp, c->buf + from, n);
	insert_bytes(c, at, tmp, n);
	add_sections(c, 1);
	reseal(c->buf, c->len);
	free(tmp);
}

/* A second copy of the section at `sec` of `src` is refused as a duplicate. */
static void refused_twice(const struct sink *src, size_t sec, const char *what, const char *substr)
{
	struct sink c;

	copy_sink(&c, src);
	dup_section(&c, sec, sec);
	expect_refused(what, c.buf, c.len, SNAP_ERR_DUPLICATE, substr);
	sink_free(&c);
}

static void test_section_refusals(void)
{
	static const uint32_t types[] = { SNAP_SEC_IDENTITY, SNAP_SEC_TIME, SNAP_SEC_UART,
					  SNAP_SEC_FWCFG, SNAP_SEC_PIC, SNAP_SEC_RAM };
	struct sink c;
	char what[80], msg[80];
	size_t ram = find_section(base.buf, base.len, SNAP_SEC_RAM, 0);
	size_t time = find_section(base.buf, base.len, SNAP_SEC_TIME, 0);
	size_t pic = find_section(base.buf, base.len, SNAP_SEC_PIC, 0);
	size_t v0 = find_section(base.buf, base.len, SNAP_SEC_VCPU, 0);
	size_t v1 = find_section(base.buf, base.len, SNAP_SEC_VCPU, 1);

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		copy_sink(&c, &base);
		drop_section(&c, find_section(c.buf, c.len, types[i], 0));
		snprintf(what, sizeof(what), "missing %s", snap_section_name(types[i]));
		snprintf(msg, sizeof(msg), "missing mandatory section %s", snap_section_name(types[i]));
		expect_refused(what, c.buf, c.len, SNAP_ERR_MISSING, msg);
		sink_free(&c);
	}
	copy_sink(&c, &base);
	drop_section(&c, v1);
	drop_section(&c, v0);
	expect_refused("missing VCPU", c.buf, c.len, SNAP_ERR_MISSING, "missing mandatory section VCPU");
	sink_free(&c);

	copy_sink(&c, &base);
	drop_section(&c, v1);
	expect_refused("one vCPU section of two", c.buf, c.len, SNAP_ERR_INCONSISTENT,
		       "identity says 2 vCPUs, the snapshot holds 1");
	sink_free(&c);

	copy_sink(&c, &base);
	dup_section(&c, time, pic);
	expect_refused("duplicate TIME", c.buf, c.len, SNAP_ERR_DUPLICATE,
		       "duplicate section: a second TIME");
	sink_free(&c);
	copy_sink(&c, &base);
	dup_section(&c, ram, ram);
	expect_refused("duplicate RAM", c.buf, c.len, SNAP_ERR_DUPLICATE, "a second RAM");
	sink_free(&c);
	copy_sink(&c, &base);
	dup_section(&c, v1, pic);
	expect_refused("three vCPU sections", c.buf, c.len, SNAP_ERR_INCONSISTENT,
		       "identity says 2 vCPUs, the snapshot holds 3");
	sink_free(&c);
	patched("duplicate vCPU id", v1 + 16, 0, 4, SNAP_ERR_DUPLICATE, "duplicate vCPU id 0");
	patched("vCPU id out of range", v1 + 16, 5, 4, SNAP_ERR_INCONSISTENT,
		"id 5 out of range 0..1");

	/* unknown sections: mandatory refused, optional skipped */
	{
		uint8_t extra[16 + 10] = { 0 };

		st(extra, 0x63, 4);
		st(extra + 4, 1, 4);
		st(extra + 8, 10, 8);
		copy_sink(&c, &base);
		insert_bytes(&c, pic, extra, sizeof(extra));
		add_sections(&c, 1);
		reseal(c.buf, c.len);
		expect_refused("unknown mandatory section", c.buf, c.len, SNAP_ERR_UNKNOWN_SECTION,
			       "unknown mandatory section type 0x63");
		st(c.buf + pic, SNAP_SEC_OPTIONAL | 0x63, 4);
		st(c.buf + pic + 4, 7, 4);      /* its version is its own business */
		reseal(c.buf, c.len);
		CHECK(accepted(c.buf, c.len));
		CHECK(same_vm(base_vm, g_out) && memcmp(g_ram, base_ram, 2 * MIB) == 0);
		canaries_reset();
		sink_free(&c);
		/* an optional section before IDENTITY, empty */
		copy_sink(&c, &base);
		st(extra + 8, 0, 8);
		st(extra, SNAP_SEC_OPTIONAL | 1, 4);
		insert_bytes(&c, 32, extra, 16);
		add_sections(&c, 1);
		reseal(c.buf, c.len);
		CHECK(accepted(c.buf, c.len));
		canaries_reset();
		sink_free(&c);
	}

	/* sections in another order are fine */
	copy_sink(&c, &base);
	dup_section(&c, ram, 32);
	drop_section(&c, find_section(c.buf, c.len, SNAP_SEC_RAM, 1));
	dup_section(&c, find_section(c.buf, c.len, SNAP_SEC_VCPU, 1), 32);
	drop_section(&c, find_section(c.buf, c.len, SNAP_SEC_VCPU, 2));
	CHECK_EQ_U64(ld32(c.buf + 32), SNAP_SEC_VCPU);
	CHECK(accepted(c.buf, c.len));
	CHECK(same_vm(base_vm, g_out) && memcmp(g_ram, base_ram, 2 * MIB) == 0);
	canaries_reset();
	sink_free(&c);

	/* wrong fixed lengths: one byte more in PIC */
	copy_sink(&c, &base);
	insert_bytes(&c, pic + 16 + 4, NULL, 1);
	st(c.buf + pic + 8, 5, 8);
	reseal(c.buf, c.len);
	expect_refused("PIC of 5 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE,
		       "section PIC (offset");
	sink_free(&c);
	copy_sink(&c, &base);
	remove_bytes(&c, v0 + 16 + 700, 1);
	st(c.buf + v0 + 8, 767, 8);
	reseal(c.buf, c.len);
	expect_refused("VCPU of 767 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE,
		       "length 767, version 1 has 768");
	sink_free(&c);
}

static void test_content_refusals(void)
{
	size_t id = find_section(base.buf, base.len, SNAP_SEC_IDENTITY, 0) + 16;
	size_t time = find_section(base.buf, base.len, SNAP_SEC_TIME, 0) + 16;
	size_t uart = find_section(base.buf, base.len, SNAP_SEC_UART, 0) + 16;
	size_t pic = find_section(base.buf, base.len, SNAP_SEC_PIC, 0) + 16;
	size_t ram = find_section(base.buf, base.len, SNAP_SEC_RAM, 0) + 16;
	size_t run2 = ram + 16 + 16 + PG;
	struct sink c;

	/* identity */
	patched("65 vCPUs", id + 32, 65, 4, SNAP_ERR_OVERSIZED, "65 vCPUs, more than the 64");
	patched("0 vCPUs", id + 32, 0, 4, SNAP_ERR_VALUE, "0 vCPUs");
	patched("1 vCPU, 2 sections", id + 32, 1, 4, SNAP_ERR_INCONSISTENT, "identity says 1 vCPUs");
	patched("memory 4 MiB vs RAM 2 MiB", id + 36, 4, 4, SNAP_ERR_INCONSISTENT,
		"RAM section holds 2097152 bytes, identity says 4194304");
	patched("memory 1 MiB", id + 36, 1, 4, SNAP_ERR_VALUE, "memory 1 MiB");
	patched("memory 128 GiB", id + 36, 131072, 4, SNAP_ERR_OVERSIZED, "memory 131072 MiB");
	/* RAM is at most 64 GiB (as the config's), and a whole number of
	 * 2 MiB pages (an odd size once mapped host memory into the guest). */
	patched("memory 65538 MiB", id + 36, 65538, 4, SNAP_ERR_OVERSIZED,
		"memory 65538 MiB, above the maximum of 65536 MiB");
	patched("memory 2^32-2 MiB", id + 36, 0xfffffffe, 4, SNAP_ERR_OVERSIZED, "memory 4294967294 MiB");
	patched("memory 17 MiB", id + 36, 17, 4, SNAP_ERR_VALUE,
		"identity: memory 17 MiB is not a multiple of 2 MiB");
	patched("memory 3 MiB", id + 36, 3, 4, SNAP_ERR_VALUE, "memory 3 MiB is not a multiple");
	patched("memory 3071 MiB", id + 36, 3071, 4, SNAP_ERR_VALUE, "not a multiple of 2 MiB");
	{
		/* ... and the encoder will not write such a VM either. */
		struct snap_vm *odd = random_vm(1, 2);
		uint8_t *r = calloc(1, 3 * MIB);
		struct snap_error e;

		odd->id.memory_mib = 3;
		CHECK(snap_validate(odd, 3 * MIB, &e) == -1 && e.code == SNAP_ERR_VALUE &&
		      strstr(e.msg, "not a multiple of 2 MiB"));
		CHECK(encode(odd, r, &c) == -1);
		sink_free(&c);
		free(r);
		free(odd);
	}
	patched("tsc_khz 0", id + 44, 0, 4, SNAP_ERR_VALUE, "tsc_khz 0 outside 1000..10000000");
	patched("tsc_khz 999", id + 44, 999, 4, SNAP_ERR_VALUE, "tsc_khz 999");
	patched("tsc_khz 10 GHz + 1 kHz", id + 44, 10000001, 4, SNAP_ERR_VALUE, "tsc_khz 10000001");
	patched("tsc_mode 4", id + 40, 4, 4, SNAP_ERR_VALUE, "unknown tsc_mode 4");
	patched("name: bad char", id + 2, '/', 1, SNAP_ERR_VALUE, "byte 0x2f in the VM name");
	patched("name: empty", id, 0, 1, SNAP_ERR_VALUE, "empty VM name");
	patched("name: garbage after NUL", id + 10, 0x4141414141414141ull, 8, SNAP_ERR_VALUE,
		"non-zero byte after");
	{
		copy_sink(&c, &base);
		memset(c.buf + id, 'a', 32);
		reseal(c.buf, c.len);
		expect_refused("name: 32 chars", c.buf, c.len, SNAP_ERR_VALUE, "not NUL-terminated");
		sink_free(&c);
	}
	/* the vendor is informative: any value accepted */
	copy_sink(&c, &base);
	st(c.buf + id + 48, 0x1234, 4);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && g_out->id.vendor == 0x1234);
	canaries_reset();
	sink_free(&c);
	/* the tsc_khz limits themselves are fine */
	copy_sink(&c, &base);
	st(c.buf + id + 44, 1000, 4);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && g_out->id.tsc_khz == 1000);
	canaries_reset();
	st(c.buf + id + 44, 10000000, 4);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && g_out->id.tsc_khz == 10000000);
	canaries_reset();
	sink_free(&c);

	/* RAM beyond the caller's buffer: snap_check does not know, snap_decode refuses */
	{
		struct snap_error e;

		CHECK(snap_decode(base.buf, base.len, g_out, g_ram, 2 * MIB - 1, &e) == -1);
		CHECK(e.code == SNAP_ERR_OVERSIZED);
		CHECK(strstr(e.msg, "guest RAM of 2 MiB does not fit the 2097151 bytes") != NULL);
		CHECK(canaries_intact());
		CHECK(snap_check(base.buf, base.len, NULL, &e) == 0);
		CHECK(snap_decode(base.buf, base.len, NULL, g_ram, 2 * MIB, &e) == 0);
		CHECK(snap_decode(base.buf, base.len, NULL, NULL, 2 * MIB, &e) == -1 &&
		      e.code == SNAP_ERR_ARGS);
		canaries_reset();
	}

	/* time and devices */
	patched("time flags", time + 36, 2, 4, SNAP_ERR_VALUE, "time: unknown flags 0x2");
	patched("wall clock beyond RAM", time + 8, 2 * MIB - 8, 8, SNAP_ERR_INCONSISTENT,
		"wall clock at GPA 0x1ffff8");
	patched("wall clock across a page", time + 8, 0x1ff8, 8, SNAP_ERR_INCONSISTENT,
		"across a page");
	patched("UART IER", uart, 0x10, 1, SNAP_ERR_VALUE, "IER 0x10");
	patched("PIC icw_step", pic + 3, 4, 1, SNAP_ERR_VALUE, "PIC 1: icw_step 4");

	/* RAM section */
	patched("RAM page size", ram + 8, 8192, 4, SNAP_ERR_VALUE, "RAM page size 8192");
	patched("RAM size field", ram, 4 * MIB, 8, SNAP_ERR_INCONSISTENT, "RAM section holds 4194304");
	patched("RAM run beyond RAM", run2, 511, 8, SNAP_ERR_INCONSISTENT,
		"pages beyond guest RAM: first 511, count 2");
	patched("RAM run first page huge", run2, UINT64_MAX, 8, SNAP_ERR_INCONSISTENT,
		"pages beyond guest RAM");
	patched("RAM run count huge", run2 + 8, UINT64_MAX, 8, SNAP_ERR_INCONSISTENT,
		"pages beyond guest RAM");
	patched("RAM run count 0", run2 + 8, 0, 8, SNAP_ERR_VALUE, "RAM run 1: no pages");
	patched("RAM runs overlap", run2, 3, 8, SNAP_ERR_VALUE, "overlaps or precedes");
	patched("RAM run count 3 of 2 pages data", run2 + 8, 3, 8, SNAP_ERR_SECTION_SIZE,
		"RAM run 1: 3 pages, but only 8192 bytes left");
	patched("RAM run count 1 of 2", run2 + 8, 1, 8, SNAP_ERR_SECTION_SIZE,
		"4096 bytes after the last of 2 RAM runs");
	patched("RAM run_count 3", ram + 12, 3, 4, SNAP_ERR_SECTION_SIZE, "RAM run 2 of 3: record runs past");
	patched("RAM run_count 1", ram + 12, 1, 4, SNAP_ERR_SECTION_SIZE, "after the last of 1 RAM runs");
	/* adjacent runs are fine (a writer need not merge them) */
	{
		uint8_t *ramx = calloc(1, 2 * MIB);
		size_t at;

		copy_sink(&c, &base);
		/* split run 2 ([7, 9)) into [7, 8) and [8, 9) */
		st(c.buf + run2 + 8, 1, 8);
		at = run2 + 16 + PG;
		{
			uint8_t rec[16];

			st(rec, 8, 8);
			st(rec + 8, 1, 8);
			insert_bytes(&c, at, rec, 16);
		}
		st(c.buf + ram + 12, 3, 4);
		st(c.buf + ram - 8, ld64(c.buf + ram - 8) + 16, 8);
		reseal(c.buf, c.len);
		CHECK(accepted(c.buf, c.len) && memcmp(g_ram, base_ram, 2 * MIB) == 0);
		canaries_reset();
		/* and a run of zero pages is taken as it is */
		memset(c.buf + at + 16, 0, PG);
		reseal(c.buf, c.len);
		memcpy(ramx, base_ram, 2 * MIB);
		memset(ramx + 8 * PG, 0, PG);
		CHECK(accepted(c.buf, c.len) && memcmp(g_ram, ramx, 2 * MIB) == 0);
		canaries_reset();
		sink_free(&c);
		free(ramx);
	}
}

/* vCPU fields: the decoder refuses the patched snapshot, and snap_validate
 * and snap_encode refuse the same state given as a struct. */
struct vcase {
	const char *what;
	unsigned off, size;     /* in the VCPU payload */
	long soff;              /* offsetof in struct snap_vcpu, -1: not a field */
	uint64_t val;
	enum snap_err code;
	const char *msg;
};

#define F(field) ((long)offsetof(struct snap_vcpu, field))

static const struct vcase vcases[] = {
	{ "run state 2", 4, 4, F(run_state), 2, SNAP_ERR_VALUE, "unknown run state 2" },
	{ "vCPU flags 4", 8, 4, -1, 4, SNAP_ERR_VALUE, "unknown flags 0x4" },
	{ "timer mode 4", 12, 4, F(timer_mode), 4, SNAP_ERR_VALUE, "unknown LAPIC timer mode 4" },
	{ "timer idle with remaining", 12, 4, F(timer_mode), 0, SNAP_ERR_VALUE,
	  "LAPIC timer remaining 1000 in timer mode 0" },
	{ "deadline armed at 0", 12, 4, F(timer_mode), 3, SNAP_ERR_VALUE, "" },
	{ "CR0 reserved bit 6", 320, 8, F(cr0), 0x80050073, SNAP_ERR_VALUE, "reserved bits" },
	{ "CR0 bits 63:32", 320, 8, F(cr0), 0x180050033ull, SNAP_ERR_VALUE, "reserved bits" },
	{ "CR0.PG without PE", 320, 8, F(cr0), 0x80050032, SNAP_ERR_VALUE, "CR0.PG without CR0.PE" },
	{ "CR0.NW without CD", 320, 8, F(cr0), 0xa0050033, SNAP_ERR_VALUE, "CR0.NW without CR0.CD" },
	{ "EFER.LMA without CR0.PG", 320, 8, F(cr0), 0x00050033, SNAP_ERR_VALUE,
	  "EFER.LMA=1 with CR0.PG=0" },
	{ "CR4 bits 63:32", 344, 8, F(cr4), 0x1000006a0ull, SNAP_ERR_VALUE, "CR4 0x1000006a0" },
	{ "long mode without PAE", 344, 8, F(cr4), 0x680, SNAP_ERR_VALUE, "without CR4.PAE" },
	{ "CR3 bit 52", 336, 8, F(cr3), 1ull << 52, SNAP_ERR_VALUE, "CR3" },
	{ "EFER reserved bit 1", 352, 8, F(efer), 0xd03, SNAP_ERR_VALUE, "EFER 0xd03 has reserved" },
	{ "EFER.LME+PG without LMA", 352, 8, F(efer), 0x901, SNAP_ERR_VALUE,
	  "EFER.LMA=0 with CR0.PG=1 and EFER.LME=1" },
	{ "EFER.LMA without LME", 352, 8, F(efer), 0xc01, SNAP_ERR_VALUE, "EFER.LMA=1" },
	{ "CS.L and CS.D", 160 + 16 + 2, 2, F(seg[SNAP_CS].attr), 0x69b, SNAP_ERR_VALUE,
	  "CS.L and CS.D both set" },
	{ "attr bit 12", 160 + 16 * 3 + 2, 2, F(seg[SNAP_DS].attr), 0x1093, SNAP_ERR_VALUE,
	  "DS attr 0x1093 beyond the 12-bit packing" },
	{ "RIP not canonical", 144, 8, F(rip), 0x0000800000000000ull, SNAP_ERR_VALUE,
	  "RIP 0x800000000000 invalid in 64-bit mode" },
	{ "RFLAGS bit 1 clear", 152, 8, F(rflags), 0x200, SNAP_ERR_VALUE, "RFLAGS 0x200" },
	{ "RFLAGS bit 22", 152, 8, F(rflags), 0x400202, SNAP_ERR_VALUE, "RFLAGS 0x400202" },
	{ "RFLAGS.VM in long mode", 152, 8, F(rflags), 0x20202, SNAP_ERR_VALUE,
	  "RFLAGS.VM in long mode" },
	{ "ES base above 4 GiB", 160 + 8, 8, F(seg[SNAP_ES].base), 1ull << 32, SNAP_ERR_VALUE,
	  "ES base 0x100000000 above 4 GiB" },
	{ "FS base not canonical", 160 + 16 * 4 + 8, 8, F(seg[SNAP_FS].base), 1ull << 50,
	  SNAP_ERR_VALUE, "FS base 0x4000000000000 not canonical" },
	{ "GDTR limit 0x10000", 160 + 16 * 8 + 4, 4, F(seg[SNAP_GDTR].limit), 0x10000,
	  SNAP_ERR_VALUE, "GDTR/IDTR limit 0x10000" },
	{ "DR7 bits 63:32", 376, 8, F(dr7), 1ull << 32, SNAP_ERR_VALUE, "DR7 0x100000000" },
	{ "PAT type 2", 360, 8, F(pat), 0x0007040600070402ull, SNAP_ERR_VALUE, "reserved memory type" },
	{ "PAT type 8", 360, 8, F(pat), 0x0807040600070406ull, SNAP_ERR_VALUE, "reserved memory type" },
	{ "LSTAR not canonical", 400, 8, F(lstar), 1ull << 47, SNAP_ERR_VALUE, "LSTAR 0x800000000000" },
	{ "SYSENTER_EIP not canonical", 440, 8, F(sysenter_eip), 0x8000000000000000ull,
	  SNAP_ERR_VALUE, "SYSENTER_EIP" },
	{ "event bits without V", 448, 8, F(pending_event), 5, SNAP_ERR_VALUE, "but not V" },
	{ "event type 1", 448, 8, F(pending_event), 0x80000120ull, SNAP_ERR_VALUE, "type 1 is reserved" },
	{ "event NMI vector 3", 448, 8, F(pending_event), 0x80000203ull, SNAP_ERR_VALUE,
	  "pending NMI with vector 3" },
	{ "event exception 40", 448, 8, F(pending_event), 0x80000328ull, SNAP_ERR_VALUE,
	  "vector 40 above 31" },
	{ "event INTR with EV", 448, 8, F(pending_event), 0x80000820ull, SNAP_ERR_VALUE,
	  "error code valid on a type 0" },
	{ "event error code without EV", 448, 8, F(pending_event), 0x58000030dull, SNAP_ERR_VALUE,
	  "error code without EV" },
	{ "event reserved bit 12", 448, 8, F(pending_event), 0x8000130dull, SNAP_ERR_VALUE,
	  "reserved bits 30:12" },
	{ "TSC_AUX 33 bits", 456, 8, F(tsc_aux), 1ull << 32, SNAP_ERR_VALUE, "TSC_AUX" },
	{ "APIC_BASE x2APIC without EN", 464, 8, F(apic_base), 0xfee00500ull, SNAP_ERR_VALUE,
	  "x2APIC without enable" },
	{ "APIC_BASE reserved bit 0", 464, 8, F(apic_base), 0xfee00901ull, SNAP_ERR_VALUE,
	  "reserved bits" },
	{ "pvclock area beyond RAM", 488, 8, F(pvclock_msr), (2 * MIB - 16) | 1,
	  SNAP_ERR_INCONSISTENT, "pvclock area at GPA 0x1ffff0 outside guest RAM" },
	{ "pvclock area across a page", 488, 8, F(pvclock_msr), 0x1ff1, SNAP_ERR_INCONSISTENT,
	  "across a page" },
};

static void test_vcpu_refusals(void)
{
	size_t v0 = find_section(base.buf, base.len, SNAP_SEC_VCPU, 0) + 16;
	struct snap_vm *vm = malloc(sizeof(*vm));

	for (unsigned i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];
		char what[100];

		snprintf(what, sizeof(what), "vCPU: %s (decoder)", c->what);
		patched(what, v0 + c->off, c->val, c->size, c->code, c->msg);
		if (c->soff >= 0) {
			struct snap_error e;
			struct sink s;
			bool ok;

			memcpy(vm, base_vm, sizeof(*vm));
			st((uint8_t *)&vm->vcpu[0] + c->soff, c->val, c->size);
			memset(&s, 0, sizeof(s));
			ok = snap_validate(vm, 2 * MIB, &e) == -1 && e.code == c->code &&
			     strstr(e.msg, c->msg) && e.offset == 0 &&
			     snap_encode(vm, base_ram, 2 * MIB, sink_emit, &s) == -1 && s.calls == 0 &&
			     snap_encoded_size(vm, base_ram, 2 * MIB) == 0;
			snprintf(what, sizeof(what), "vCPU: %s (encoder)", c->what);
			if (!th_check(ok, what, __FILE__, __LINE__))
				printf("#   %s \"%s\"\n", snap_err_name(e.code), e.msg);
			sink_free(&s);
		}
	}
	/* the second vCPU is checked too, and says which */
	{
		size_t v1 = find_section(base.buf, base.len, SNAP_SEC_VCPU, 1) + 16;

		patched("vCPU 1 checked", v1 + 152, 0, 8, SNAP_ERR_VALUE, "vCPU 1: RFLAGS 0x0");
	}
	/* things that are fine */
	{
		struct snap_vcpu *v = &vm->vcpu[0];

		memcpy(vm, base_vm, sizeof(*vm));
		v->cr0 = 0x60000010;            /* reset: CD NW ET, real mode */
		v->efer = 0x100;                /* LME set, paging off: not yet long mode */
		v->cr4 = 0;
		v->rip = 0xfff0;
		v->seg[SNAP_CS].attr = 0x69b;   /* L+D outside long mode: ignored by the CPU */
		v->seg[SNAP_FS].base = 0xffff800000000000ull;
		v->pending_event = 0;
		CHECK(snap_validate(vm, 2 * MIB, NULL) == 0);
		v->rip = 1ull << 32;
		CHECK(snap_validate(vm, 2 * MIB, NULL) == -1);
		v->rip = 0;
		v->seg[SNAP_LDTR].attr = 0;     /* unusable LDTR: base not checked */
		v->seg[SNAP_LDTR].base = 1ull << 60;
		CHECK(snap_validate(vm, 2 * MIB, NULL) == 0);
		v->seg[SNAP_LDTR].attr = 0x82;
		CHECK(snap_validate(vm, 2 * MIB, NULL) == -1);
	}
	free(vm);
}

/* ---- PLATFORM (optional section 0x80000008) --------------------------- */

static void test_platform_roundtrip(void)
{
	static const struct snap_platform cases[] = {
		{ true, 0x608, true },          /* QEMU q35's PM_TMR_BLK, 32-bit */
		{ true, 0xb008, false },        /* PIIX4's, 24-bit */
		{ true, 0, false },             /* no PM timer: still recorded */
		{ true, 0xfffc, true },         /* the highest port the register fits at */
	};
	struct snap_vm *out = malloc(sizeof(*out));

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (unsigned vcpus = 1; vcpus <= 3; vcpus += 2) {
			struct snap_vm *vm = random_vm(vcpus, 2);
			uint8_t *ram = random_ram(2 * MIB, 4), *ram2 = malloc(2 * MIB);
			size_t without, pl, pic;
			struct snap_error err;
			struct sink s;
			const uint8_t *p;

			printf("# PLATFORM round trip: port 0x%x, %s, %u vCPUs\n",
			       cases[i].pm_timer_port, cases[i].pm_timer_32bit ? "32-bit" : "24-bit",
			       vcpus);
			without = snap_encoded_size(vm, ram, 2 * MIB);
			vm->platform = cases[i];
			CHECK(snap_validate(vm, 2 * MIB, &err) == 0);
			CHECK(encode(vm, ram, &s) == 0);
			CHECK_EQ_U64(s.len, snap_encoded_size(vm, ram, 2 * MIB));
			CHECK_EQ_U64(s.len, without + 16 + 8);
			CHECK_EQ_U64(ld32(s.buf + 20), 7 + vcpus);
			/* after PIC, before RAM */
			pl = find_section(s.buf, s.len, SNAP_SEC_PLATFORM, 0);
			pic = find_section(s.buf, s.len, SNAP_SEC_PIC, 0);
			CHECK(pic != 0 && pl == pic + 16 + 4);
			CHECK_EQ_U64(find_section(s.buf, s.len, SNAP_SEC_RAM, 0), pl + 16 + 8);
			p = s.buf + pl;
			CHECK_EQ_U64(ld32(p), 0x80000008u);
			CHECK_EQ_U64(ld32(p + 4), 1);
			CHECK_EQ_U64(ld64(p + 8), 8);
			CHECK_EQ_U64(p[16] | p[17] << 8, cases[i].pm_timer_port);
			CHECK_EQ_U64(p[18], cases[i].pm_timer_32bit);
			CHECK(p[19] == 0 && ld32(p + 20) == 0);

			memset(out, 0xee, sizeof(*out));
			CHECK(snap_check(s.buf, s.len, out, &err) == 0);
			CHECK(out->platform.present && same_vm(vm, out));
			memset(out, 0xee, sizeof(*out));
			memset(ram2, 0xaa, 2 * MIB);
			CHECK(snap_decode(s.buf, s.len, out, ram2, 2 * MIB, &err) == 0);
			CHECK(same_vm(vm, out) && memcmp(ram, ram2, 2 * MIB) == 0);
			sink_free(&s);
			free(vm);
			free(ram);
			free(ram2);
		}
	}

	/* absent: no section, and the other fields neither written nor checked */
	{
		struct snap_vm *vm = random_vm(2, 2);
		uint8_t *ram = random_ram(2 * MIB, 3);
		struct sink a, b;

		CHECK(encode(vm, ram, &a) == 0);          /* calloc'd: present false, all 0 */
		vm->platform = (struct snap_platform){ false, 0xffff, true };
		CHECK(snap_validate(vm, 2 * MIB, NULL) == 0);
		CHECK(encode(vm, ram, &b) == 0);
		CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
		CHECK_EQ_U64(ld32(b.buf + 20), 6 + 2);
		CHECK_EQ_U64(find_section(b.buf, b.len, SNAP_SEC_PLATFORM, 0), 0);
		CHECK_EQ_U64(b.len, snap_encoded_size(vm, ram, 2 * MIB));
		memset(out, 0xee, sizeof(*out));
		CHECK(snap_check(b.buf, b.len, out, NULL) == 0);
		CHECK(!out->platform.present && out->platform.pm_timer_port == 0 &&
		      !out->platform.pm_timer_32bit);
		CHECK(same_vm(vm, out));
		memset(out, 0xee, sizeof(*out));
		CHECK(snap_decode(b.buf, b.len, out, g_ram, CANARY_RAM, NULL) == 0);
		CHECK(!out->platform.present && out->platform.pm_timer_port == 0);
		canaries_reset();
		sink_free(&a);
		sink_free(&b);
		free(vm);
		free(ram);
	}
	free(out);
}

/* ---- FPU (optional section 0x80000009, one per vCPU) ------------------ */

/* A random FXSAVE image whose MXCSR FXRSTOR accepts. */
static void random_fpu(uint8_t *img)
{
	for (unsigned j = 0; j < SNAP_FPU_IMAGE_LEN; j++)
		img[j] = (uint8_t)rnd();
	st(img + 24, rnd() & 0xffff, 4);
}

static struct snap_vm *fpu_vm;
static struct sink fpus;

static void make_fpus(void)
{
	fpu_vm = malloc(sizeof(*fpu_vm));
	memcpy(fpu_vm, base_vm, sizeof(*fpu_vm));
	fpu_vm->fpu_present = true;
	for (unsigned i = 0; i < fpu_vm->id.vcpus; i++)
		random_fpu(fpu_vm->vcpu[i].fpu);
	if (encode(fpu_vm, base_ram, &fpus))
		abort();
}

static void test_fpu(void)
{
	size_t f0 = find_section(fpus.buf, fpus.len, SNAP_SEC_FPU, 0);
	size_t f1 = find_section(fpus.buf, fpus.len, SNAP_SEC_FPU, 1);
	size_t pic = find_section(fpus.buf, fpus.len, SNAP_SEC_PIC, 0);
	struct snap_error err;
	char msg[160];
	struct sink c;

	/* layout: after PIC (no PLATFORM here), one per vCPU in order, before RAM */
	CHECK_EQ_U64(fpus.len, base.len + 2 * (16 + SNAP_FPU_LEN));
	CHECK_EQ_U64(fpus.len, snap_encoded_size(fpu_vm, base_ram, 2 * MIB));
	CHECK_EQ_U64(ld32(fpus.buf + 20), 6 + 2 + 2);
	CHECK(f0 == pic + 16 + SNAP_PIC_LEN && f1 == f0 + 16 + SNAP_FPU_LEN);
	CHECK_EQ_U64(find_section(fpus.buf, fpus.len, SNAP_SEC_RAM, 0), f1 + 16 + SNAP_FPU_LEN);
	CHECK_EQ_U64(ld32(fpus.buf + f0), 0x80000009u);
	CHECK_EQ_U64(ld32(fpus.buf + f0 + 4), 1);
	CHECK_EQ_U64(ld64(fpus.buf + f0 + 8), 520);
	CHECK_EQ_U64(ld32(fpus.buf + f1 + 16), 1);
	CHECK_EQ_U64(ld32(fpus.buf + f1 + 20), 0);
	CHECK(memcmp(fpus.buf + f1 + 24, fpu_vm->vcpu[1].fpu, 512) == 0);

	/* round trip, and absent in a snapshot without them */
	CHECK(accepted(fpus.buf, fpus.len));
	CHECK(g_out->fpu_present && same_vm(fpu_vm, g_out));
	CHECK(memcmp(g_ram, base_ram, 2 * MIB) == 0);
	canaries_reset();
	CHECK(accepted(base.buf, base.len) && !g_out->fpu_present);
	canaries_reset();

	/* the encoder refuses an image FXRSTOR would fault on */
	st(fpu_vm->vcpu[1].fpu + 24, 0x10000 | 0x1f80, 4);
	CHECK(snap_validate(fpu_vm, 2 * MIB, &err) == -1 && err.code == SNAP_ERR_VALUE &&
	      strstr(err.msg, "vCPU 1: FPU MXCSR 0x00011f80 sets reserved bits"));
	CHECK(encode(fpu_vm, base_ram, &c) == -1);
	memcpy(fpu_vm->vcpu[1].fpu + 24, fpus.buf + f1 + 24 + 24, 4);
	CHECK(snap_validate(fpu_vm, 2 * MIB, NULL) == 0);

	/* refusals */
	patched_in(&fpus, "FPU MXCSR bit 31", f0 + 24 + 27, 0x80, 1, SNAP_ERR_VALUE,
		   "vCPU 0: FPU MXCSR 0x8");
	patched_in(&fpus, "FPU MXCSR bit 16", f1 + 24 + 26, 0x01, 1, SNAP_ERR_VALUE,
		   "sets reserved bits 31:16 (FXRSTOR would fault)");
	patched_in(&fpus, "FPU reserved word", f1 + 20, 7, 4, SNAP_ERR_VALUE,
		   "FPU section of vCPU 1: reserved word 0x00000007, must be 0");
	snprintf(msg, sizeof(msg), "FPU section at offset %zu: vCPU id 2 out of range 0..1", f1);
	patched_in(&fpus, "FPU id out of range", f1 + 16, 2, 4, SNAP_ERR_INCONSISTENT, msg);
	patched_in(&fpus, "FPU duplicate id", f1 + 16, 0, 4, SNAP_ERR_DUPLICATE,
		   "duplicate FPU section for vCPU 0");
	snprintf(msg, sizeof(msg), "foreign version: section FPU (offset %zu) has version 2", f0);
	patched_in(&fpus, "FPU version 2", f0 + 4, 2, 4, SNAP_ERR_VERSION, msg);
	/* one missing */
	copy_sink(&c, &fpus);
	remove_bytes(&c, f1, 16 + SNAP_FPU_LEN);
	add_sections(&c, -1);
	reseal(c.buf, c.len);
	expect_refused("FPU for one vCPU of two", c.buf, c.len, SNAP_ERR_INCONSISTENT,
		       "identity says 2 vCPUs, the snapshot holds 1 FPU sections (none or one each)");
	sink_free(&c);
	/* a byte short */
	copy_sink(&c, &fpus);
	remove_bytes(&c, f0 + 16 + 519, 1);
	st(c.buf + f0 + 8, 519, 8);
	reseal(c.buf, c.len);
	snprintf(msg, sizeof(msg), "section FPU (offset %zu): length 519, version 1 has 520", f0);
	expect_refused("FPU of 519 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE, msg);
	sink_free(&c);
	/* the highest MXCSR the rule allows, and the sections in another order */
	copy_sink(&c, &fpus);
	st(c.buf + f0 + 24 + 24, 0xffff, 4);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && ld32(g_out->vcpu[0].fpu + 24) == 0xffff);
	canaries_reset();
	sink_free(&c);
	copy_sink(&c, &fpus);
	{
		uint8_t tmp[16 + SNAP_FPU_LEN];

		memcpy(tmp, c.buf + f0, sizeof(tmp));
		memcpy(c.buf + f0, c.buf + f1, sizeof(tmp));
		memcpy(c.buf + f1, tmp, sizeof(tmp));
	}
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && same_vm(fpu_vm, g_out));
	canaries_reset();
	sink_free(&c);
}

/* ---- XSTATE (optional section 0x8000000A, one per vCPU) --------------- */

static struct snap_vm *xs_vm;
static struct sink xss;

/* vCPU 0: everything (AVX-512 included), breakpoints in both halves of the
 * address space; vCPU 1: AVX only, DR0-DR3 0. */
static void make_xs(void)
{
	xs_vm = malloc(sizeof(*xs_vm));
	memcpy(xs_vm, fpu_vm, sizeof(*xs_vm));
	xs_vm->xstate_present = true;
	xs_vm->vcpu[0].xcr0 = 0xe7;
	xs_vm->vcpu[0].xstate_bv = 0xe4;
	for (unsigned k = 0; k < SNAP_XSTATE_EXT_LEN; k++)
		xs_vm->vcpu[0].xstate[k] = (uint8_t)rnd();
	xs_vm->vcpu[0].dr[0] = 0x100310;
	xs_vm->vcpu[0].dr[1] = 0xffff800000001000ull;
	xs_vm->vcpu[0].dr[3] = 0x00007ffffffff000ull;
	xs_vm->vcpu[1].xcr0 = 0x7;
	xs_vm->vcpu[1].xstate_bv = 0x4;
	memset(xs_vm->vcpu[1].xstate, 0, SNAP_XSTATE_EXT_LEN);
	for (unsigned k = 0; k < 256; k++)
		xs_vm->vcpu[1].xstate[k] = (uint8_t)(k | 1);
	if (encode(xs_vm, base_ram, &xss))
		abort();
}

/* One vCPU field of a copy of xs_vm changed: snap_validate refuses it. */
#define XS_REFUSED(what, stmt, substr) do { \
	struct snap_vm *t_ = malloc(sizeof(*t_)); \
	struct snap_error e_; \
	memcpy(t_, xs_vm, sizeof(*t_)); \
	stmt; \
	if (!th_check(snap_validate(t_, 2 * MIB, &e_) == -1 && strstr(e_.msg, substr) != NULL, \
		      "XSTATE refused: " what, __FILE__, __LINE__)) \
		printf("#   got: %s\n", e_.msg); \
	free(t_); \
} while (0)

static void test_xstate(void)
{
	size_t x0 = find_section(xss.buf, xss.len, SNAP_SEC_XSTATE, 0);
	size_t x1 = find_section(xss.buf, xss.len, SNAP_SEC_XSTATE, 1);
	size_t f1 = find_section(xss.buf, xss.len, SNAP_SEC_FPU, 1);
	char msg[200];
	struct sink c;

	/* layout: after the FPU sections, one per vCPU in order, before RAM */
	CHECK_EQ_U64(xss.len, fpus.len + 2 * (16 + SNAP_XSTATE_LEN));
	CHECK_EQ_U64(xss.len, snap_encoded_size(xs_vm, base_ram, 2 * MIB));
	CHECK_EQ_U64(ld32(xss.buf + 20), 6 + 2 + 2 + 2);
	CHECK(x0 == f1 + 16 + SNAP_FPU_LEN && x1 == x0 + 16 + SNAP_XSTATE_LEN);
	CHECK_EQ_U64(find_section(xss.buf, xss.len, SNAP_SEC_RAM, 0), x1 + 16 + SNAP_XSTATE_LEN);
	CHECK_EQ_U64(ld32(xss.buf + x0), 0x8000000au);
	CHECK_EQ_U64(ld64(xss.buf + x0 + 8), 1912);
	CHECK_EQ_U64(ld32(xss.buf + x1 + 16), 1);
	CHECK_EQ_U64(ld64(xss.buf + x0 + 16 + 8), 0xe7);
	CHECK_EQ_U64(ld64(xss.buf + x0 + 16 + 16), 0xe4);
	CHECK_EQ_U64(ld64(xss.buf + x0 + 16 + 32), 0xffff800000001000ull);
	CHECK(memcmp(xss.buf + x0 + 16 + 56, xs_vm->vcpu[0].xstate, SNAP_XSTATE_EXT_LEN) == 0);

	/* round trip; absent without the sections */
	CHECK(accepted(xss.buf, xss.len));
	CHECK(g_out->xstate_present && same_vm(xs_vm, g_out));
	canaries_reset();
	CHECK(accepted(fpus.buf, fpus.len) && !g_out->xstate_present);
	canaries_reset();

	/* the encoder's own checks */
	XS_REFUSED("XCR0 without x87", t_->vcpu[1].xcr0 = 0x6, "vCPU 1: XCR0 0x6 is not one XSETBV accepts");
	XS_REFUSED("XCR0 with MPX", t_->vcpu[1].xcr0 = 0x1f, "XCR0 0x1f is not one");
	XS_REFUSED("XCR0 with PKRU", t_->vcpu[1].xcr0 = 0x207, "XCR0 0x207 is not one");
	XS_REFUSED("AVX without SSE", t_->vcpu[1].xcr0 = 0x5, "XCR0 0x5 is not one");
	XS_REFUSED("opmask alone", (t_->vcpu[0].xcr0 = 0x27, t_->vcpu[0].xstate_bv = 0x24),
		   "XCR0 0x27 is not one");
	XS_REFUSED("AVX-512 without AVX", (t_->vcpu[0].xcr0 = 0xe3, t_->vcpu[0].xstate_bv = 0),
		   "XCR0 0xe3 is not one");
	XS_REFUSED("XSTATE_BV beyond XCR0", t_->vcpu[1].xstate_bv = 0x24, "XSTATE_BV 0x24 names components");
	XS_REFUSED("XSTATE_BV with SSE", t_->vcpu[1].xstate_bv = 0x6, "XSTATE_BV 0x6 names components");
	XS_REFUSED("bytes in an initial component", t_->vcpu[1].xstate[300] = 1,
		   "vCPU 1: XSAVE component 5 is initial (XSTATE_BV 0x4) but byte 44 is 0x01");
	XS_REFUSED("bytes in an initial AVX", (t_->vcpu[1].xstate_bv = 0),
		   "XSAVE component 2 is initial");
	XS_REFUSED("DR1 not canonical", t_->vcpu[0].dr[1] = 0x0000800000000000ull,
		   "vCPU 0: DR1 0x800000000000 is not canonical");
	XS_REFUSED("XSTATE without FPU", t_->fpu_present = false, "XSTATE sections without FPU sections");

	/* the decoder's */
	patched_in(&xss, "XSTATE reserved word", x1 + 20, 9, 4, SNAP_ERR_VALUE,
		   "XSTATE section of vCPU 1: reserved word 0x00000009, must be 0");
	snprintf(msg, sizeof(msg), "XSTATE section at offset %zu: vCPU id 5 out of range 0..1", x1);
	patched_in(&xss, "XSTATE id out of range", x1 + 16, 5, 4, SNAP_ERR_INCONSISTENT, msg);
	patched_in(&xss, "XSTATE duplicate id", x1 + 16, 0, 4, SNAP_ERR_DUPLICATE,
		   "duplicate XSTATE section for vCPU 0");
	snprintf(msg, sizeof(msg), "foreign version: section XSTATE (offset %zu) has version 2", x0);
	patched_in(&xss, "XSTATE version 2", x0 + 4, 2, 4, SNAP_ERR_VERSION, msg);
	patched_in(&xss, "XSTATE XCR0 x87 clear", x0 + 16 + 8, 0xe6, 8, SNAP_ERR_VALUE,
		   "vCPU 0: XCR0 0xe6 is not one XSETBV accepts");
	patched_in(&xss, "XSTATE XCR0 bit 63", x1 + 16 + 15, 0x80, 1, SNAP_ERR_VALUE,
		   "vCPU 1: XCR0 0x8000000000000007 is not one");
	patched_in(&xss, "XSTATE_BV beyond XCR0", x1 + 16 + 16, 0x84, 8, SNAP_ERR_VALUE,
		   "vCPU 1: XSTATE_BV 0x84 names components outside XCR0 0x7");
	patched_in(&xss, "XSTATE byte in an initial component", x1 + 16 + 56 + 1000, 0xff, 1,
		   SNAP_ERR_VALUE, "vCPU 1: XSAVE component 7 is initial (XSTATE_BV 0x4) but byte 168");
	patched_in(&xss, "XSTATE DR3 not canonical", x0 + 16 + 48 + 7, 0x7f, 1, SNAP_ERR_VALUE,
		   "vCPU 0: DR3 0x7f007ffffffff000 is not canonical");
	/* one missing */
	copy_sink(&c, &xss);
	remove_bytes(&c, x1, 16 + SNAP_XSTATE_LEN);
	add_sections(&c, -1);
	reseal(c.buf, c.len);
	expect_refused("XSTATE for one vCPU of two", c.buf, c.len, SNAP_ERR_INCONSISTENT,
		       "identity says 2 vCPUs, the snapshot holds 1 XSTATE and 2 FPU sections");
	sink_free(&c);
	/* without the FPU sections */
	copy_sink(&c, &xss);
	remove_bytes(&c, f1, 16 + SNAP_FPU_LEN);
	remove_bytes(&c, find_section(c.buf, c.len, SNAP_SEC_FPU, 0), 16 + SNAP_FPU_LEN);
	add_sections(&c, -2);
	reseal(c.buf, c.len);
	expect_refused("XSTATE without FPU", c.buf, c.len, SNAP_ERR_INCONSISTENT,
		       "holds 2 XSTATE and 0 FPU sections");
	sink_free(&c);
	/* a byte short */
	copy_sink(&c, &xss);
	remove_bytes(&c, x0 + 16 + 1911, 1);
	st(c.buf + x0 + 8, 1911, 8);
	reseal(c.buf, c.len);
	snprintf(msg, sizeof(msg), "section XSTATE (offset %zu): length 1911, version 1 has 1912", x0);
	expect_refused("XSTATE of 1911 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE, msg);
	sink_free(&c);
}

/* The base state and RAM with a PLATFORM section. */
static struct snap_vm *plat_vm;
static struct sink plat;

static void make_plat(void)
{
	plat_vm = malloc(sizeof(*plat_vm));
	memcpy(plat_vm, base_vm, sizeof(*plat_vm));
	plat_vm->platform = (struct snap_platform){ true, 0x608, true };
	if (encode(plat_vm, base_ram, &plat))
		abort();
}

/* An unknown optional section (type, version, payload of n bytes) inserted
 * into a copy of src at `at`. */
static void with_foreign(struct sink *c, const struct sink *src, size_t at, uint32_t type,
			 uint32_t version, const uint8_t *payload, size_t n)
{
	uint8_t *sec = calloc(1, 16 + n);

	st(sec, type, 4);
	st(sec + 4, version, 4);
	st(sec + 8, n, 8);
	memcpy(sec + 16, payload, n);
	copy_sink(c, src);
	insert_bytes(c, at, sec, 16 + n);
	add_sections(c, 1);
	reseal(c->buf, c->len);
	free(sec);
}

static void test_platform_refusals(void)
{
	size_t pl = find_section(plat.buf, plat.len, SNAP_SEC_PLATFORM, 0);
	size_t pic = find_section(plat.buf, plat.len, SNAP_SEC_PIC, 0);
	char msg[120];
	struct sink c;

	CHECK(pl != 0);
	/* a snapshot without the section (as written before it existed) */
	CHECK(accepted(base.buf, base.len));
	CHECK(!g_out->platform.present && g_out->platform.pm_timer_port == 0 &&
	      !g_out->platform.pm_timer_32bit);
	canaries_reset();
	CHECK(accepted(plat.buf, plat.len));
	CHECK(same_vm(plat_vm, g_out) && g_out->platform.present &&
	      g_out->platform.pm_timer_port == 0x608 && g_out->platform.pm_timer_32bit);
	CHECK(memcmp(g_ram, base_ram, 2 * MIB) == 0);
	canaries_reset();

	/* payload values */
	patched_in(&plat, "PLATFORM reserved byte 3", pl + 16 + 3, 1, 1, SNAP_ERR_VALUE,
		   "platform: reserved bytes not zero (byte 3 0x01, bytes 4..7 0x00000000)");
	patched_in(&plat, "PLATFORM reserved byte 4", pl + 16 + 4, 0x40, 1, SNAP_ERR_VALUE,
		   "platform: reserved bytes not zero (byte 3 0x00, bytes 4..7 0x00000040)");
	patched_in(&plat, "PLATFORM reserved byte 7", pl + 16 + 7, 0x80, 1, SNAP_ERR_VALUE,
		   "bytes 4..7 0x80000000");
	patched_in(&plat, "PLATFORM pm_timer_32bit 2", pl + 16 + 2, 2, 1, SNAP_ERR_VALUE,
		   "platform: pm_timer_32bit 2, must be 0 or 1");
	patched_in(&plat, "PLATFORM pm_timer_32bit 0xff", pl + 16 + 2, 0xff, 1, SNAP_ERR_VALUE,
		   "pm_timer_32bit 255");
	patched_in(&plat, "PLATFORM port 0xfffd", pl + 16, 0xfffd, 2, SNAP_ERR_VALUE,
		   "platform: PM timer port 0xfffd above 0xfffc");
	patched_in(&plat, "PLATFORM port 0xffff", pl + 16, 0xffff, 2, SNAP_ERR_VALUE,
		   "PM timer port 0xffff above 0xfffc (its 4-byte register");
	/* the offset names the section */
	{
		struct snap_error e;

		copy_sink(&c, &plat);
		st(c.buf + pl + 16 + 2, 3, 1);
		reseal(c.buf, c.len);
		CHECK(snap_check(c.buf, c.len, NULL, &e) == -1 && e.offset == pl);
		sink_free(&c);
	}
	/* the limits themselves are fine */
	copy_sink(&c, &plat);
	st(c.buf + pl + 16, 0xfffc, 2);
	st(c.buf + pl + 16 + 2, 0, 1);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && g_out->platform.pm_timer_port == 0xfffc &&
	      !g_out->platform.pm_timer_32bit);
	canaries_reset();
	sink_free(&c);

	/* framing: version, length, duplicates, the optional bit */
	snprintf(msg, sizeof(msg), "foreign version: section PLATFORM (offset %zu) has version 2", pl);
	patched_in(&plat, "PLATFORM version 2", pl + 4, 2, 4, SNAP_ERR_VERSION, msg);
	patched_in(&plat, "PLATFORM version 0", pl + 4, 0, 4, SNAP_ERR_VERSION,
		   "section PLATFORM");
	copy_sink(&c, &plat);
	insert_bytes(&c, pl + 16 + 8, NULL, 1);
	st(c.buf + pl + 8, 9, 8);
	reseal(c.buf, c.len);
	snprintf(msg, sizeof(msg), "section PLATFORM (offset %zu): length 9, version 1 has 8", pl);
	expect_refused("PLATFORM of 9 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE, msg);
	sink_free(&c);
	copy_sink(&c, &plat);
	remove_bytes(&c, pl + 16 + 7, 1);
	st(c.buf + pl + 8, 7, 8);
	reseal(c.buf, c.len);
	expect_refused("PLATFORM of 7 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE,
		       "section PLATFORM (offset");
	sink_free(&c);
	copy_sink(&c, &plat);
	remove_bytes(&c, pl + 16, 8);
	st(c.buf + pl + 8, 0, 8);
	reseal(c.buf, c.len);
	expect_refused("PLATFORM of 0 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE,
		       "length 0, version 1 has 8");
	sink_free(&c);
	copy_sink(&c, &plat);
	dup_section(&c, pl, pl);
	snprintf(msg, sizeof(msg), "duplicate section: a second PLATFORM at offset %zu (the first at %zu)",
		 pl + 24, pl);
	expect_refused("duplicate PLATFORM", c.buf, c.len, SNAP_ERR_DUPLICATE, msg);
	sink_free(&c);
	copy_sink(&c, &plat);
	dup_section(&c, pl, 32);        /* the second one differs: still refused */
	st(c.buf + 32 + 16, 0x408, 2);
	reseal(c.buf, c.len);
	expect_refused("two PLATFORM sections, first before IDENTITY", c.buf, c.len,
		       SNAP_ERR_DUPLICATE, "a second PLATFORM");
	sink_free(&c);
	patched_in(&plat, "PLATFORM's number without the optional bit", pl, 8, 4,
		   SNAP_ERR_UNKNOWN_SECTION, "unknown mandatory section type 0x8");

	/* order is free: PLATFORM first */
	copy_sink(&c, &plat);
	dup_section(&c, pl, 32);
	drop_section(&c, find_section(c.buf, c.len, SNAP_SEC_PLATFORM, 1));
	CHECK_EQ_U64(ld32(c.buf + 32), SNAP_SEC_PLATFORM);
	CHECK(accepted(c.buf, c.len) && same_vm(plat_vm, g_out));
	canaries_reset();
	sink_free(&c);

	/* an unknown optional type is still skipped, whatever it holds */
	{
		static const uint8_t junk[8] = { 0xff, 0xff, 7, 1, 2, 3, 4, 5 };

		with_foreign(&c, &plat, pl, SNAP_SEC_OPTIONAL | 0x7f, 3, junk, 5);
		CHECK(accepted(c.buf, c.len) && same_vm(plat_vm, g_out));
		canaries_reset();
		sink_free(&c);
		with_foreign(&c, &plat, pl + 24, SNAP_SEC_OPTIONAL | 0x7f, 1, junk, 8);
		CHECK(accepted(c.buf, c.len) && same_vm(plat_vm, g_out));
		canaries_reset();
		sink_free(&c);
		with_foreign(&c, &base, pic, SNAP_SEC_OPTIONAL | 0x7f, 1, junk, 8);
		CHECK(accepted(c.buf, c.len) && same_vm(base_vm, g_out) &&
		      !g_out->platform.present);
		canaries_reset();
		sink_free(&c);
		/* what a reader that does not know PLATFORM sees: a section it
		 * skips, and a VM with no platform recorded */
		copy_sink(&c, &plat);
		st(c.buf + pl, SNAP_SEC_OPTIONAL | 0x7f, 4);
		st(c.buf + pl + 16, 0xffffffffffffffffull, 8);
		reseal(c.buf, c.len);
		CHECK(accepted(c.buf, c.len) && same_vm(base_vm, g_out) &&
		      !g_out->platform.present);
		canaries_reset();
		sink_free(&c);
	}

	/* the encoder's side: snap_validate checks the struct when present */
	{
		struct snap_vm *vm = malloc(sizeof(*vm));
		struct snap_error e;
		struct sink s = { 0 };

		memcpy(vm, plat_vm, sizeof(*vm));
		vm->platform.pm_timer_port = 0xfffd;
		CHECK(snap_validate(vm, 2 * MIB, &e) == -1 && e.code == SNAP_ERR_VALUE &&
		      e.offset == 0);
		CHECK(strstr(e.msg, "platform: PM timer port 0xfffd above 0xfffc") != NULL);
		CHECK(snap_encode(vm, base_ram, 2 * MIB, sink_emit, &s) == -1 && s.calls == 0);
		CHECK(snap_encoded_size(vm, base_ram, 2 * MIB) == 0);
		vm->platform.pm_timer_port = 0xfffc;
		CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
		vm->platform = (struct snap_platform){ false, 0xffff, false };
		CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
		sink_free(&s);
		free(vm);
	}
}

static void test_encoder_args(void)
{
	struct snap_vm *vm = random_vm(1, 2);
	uint8_t *ram = calloc(1, 2 * MIB);
	struct snap_error e;
	struct sink s = { 0 };

	CHECK(snap_validate(vm, 4 * MIB, &e) == -1 && e.code == SNAP_ERR_ARGS);
	CHECK(strstr(e.msg, "identity says 2 MiB") != NULL);
	CHECK(snap_validate(NULL, 2 * MIB, &e) == -1 && e.code == SNAP_ERR_ARGS);
	CHECK(snap_encode(vm, ram, 4 * MIB, sink_emit, &s) == -1 && s.calls == 0);
	CHECK(snap_encode(vm, NULL, 2 * MIB, sink_emit, &s) == -1 && s.calls == 0);
	CHECK(snap_encode(vm, ram, 2 * MIB, NULL, &s) == -1);
	CHECK(snap_encoded_size(vm, ram, 4 * MIB) == 0);
	CHECK(snap_encoded_size(vm, NULL, 2 * MIB) == 0);
	vm->id.vcpus = 65;
	CHECK(snap_validate(vm, 2 * MIB, &e) == -1 && e.code == SNAP_ERR_OVERSIZED);
	vm->id.vcpus = 1;
	/* a name with garbage after its NUL is written canonically */
	memcpy(vm->id.name, "abc\0garbage", 12);
	CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
	CHECK(encode(vm, ram, &s) == 0);
	CHECK(snap_check(s.buf, s.len, g_out, &e) == 0);
	CHECK(memcmp(g_out->id.name, "abc\0\0\0\0\0\0\0\0\0", 12) == 0);
	canaries_reset();
	sink_free(&s);
	CHECK_STR(snap_err_name(SNAP_ERR_CHECKSUM), "SNAP_ERR_CHECKSUM");
	CHECK_STR(snap_err_name((enum snap_err)99), "SNAP_ERR_?");
	CHECK_STR(snap_section_name(SNAP_SEC_RAM), "RAM");
	CHECK_STR(snap_section_name(SNAP_SEC_PLATFORM), "PLATFORM");
	CHECK_STR(snap_section_name(8), "?");                      /* only with the optional bit */
	CHECK_STR(snap_section_name(SNAP_SEC_OPTIONAL | 0x7f), "?");
	CHECK_STR(snap_section_name(SNAP_SEC_FPU), "FPU");
	CHECK_STR(snap_vendor_name(SNAP_VENDOR_VMX), "VMX");
	CHECK_STR(snap_vendor_name(7), "unknown");
	free(vm);
	free(ram);
}

/* RAM that changes under the encoder (it must not: the VM is paused) gives
 * -1 and a stream the decoder refuses. */
struct changer { struct sink s; uint8_t *ram; size_t at; uint8_t val; };

static void emit_and_change(void *ctx, const void *buf, size_t len)
{
	struct changer *c = ctx;

	sink_emit(&c->s, buf, len);
	if (c->s.calls == 3)
		c->ram[c->at] = c->val;
}

static void test_ram_changing(void)
{
	struct snap_vm *vm = random_vm(1, 2);
	uint8_t *ram = calloc(1, 2 * MIB);
	struct changer c = { { 0 }, ram, 100 * PG, 1 };

	/* a zero page becomes non-zero */
	ram[5] = 1;
	CHECK(snap_encode(vm, ram, 2 * MIB, emit_and_change, &c) == -1);
	expect_refused("stream of grown RAM", c.s.buf, c.s.len, SNAP_ERR_TRUNCATED, "truncated");
	sink_free(&c.s);
	/* a non-zero page becomes zero */
	memset(ram, 0, 2 * MIB);
	ram[5] = 1;
	ram[200 * PG] = 1;
	c = (struct changer){ { 0 }, ram, 200 * PG, 0 };
	CHECK(snap_encode(vm, ram, 2 * MIB, emit_and_change, &c) == -1);
	expect_refused("stream of shrunk RAM", c.s.buf, c.s.len, SNAP_ERR_TRUNCATED, "truncated");
	sink_free(&c.s);
	/* unchanged RAM: fine */
	c = (struct changer){ { 0 }, ram, 5, 1 };
	CHECK(snap_encode(vm, ram, 2 * MIB, emit_and_change, &c) == 0);
	CHECK(accepted(c.s.buf, c.s.len));
	canaries_reset();
	sink_free(&c.s);
	free(vm);
	free(ram);
}

/* A small snapshot: 1 vCPU, 2 MiB, one non-zero page (~5 KiB). */
static void small_snapshot(struct sink *s)
{
	struct snap_vm *vm = random_vm(1, 2);
	uint8_t *ram = calloc(1, 2 * MIB);

	long_mode_vcpu(&vm->vcpu[0]);
	vm->platform = (struct snap_platform){ true, 0x608, true };  /* flips in it too */
	memset(ram + 17 * PG, 0xa5, PG);
	if (encode(vm, ram, s))
		abort();
	free(vm);
	free(ram);
}

static void test_every_truncation(void)
{
	struct sink s;
	unsigned bad = 0;

	small_snapshot(&s);
	printf("# truncation at every length of a %zu-byte snapshot\n", s.len);
	for (size_t len = 0; len < s.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		struct snap_error e1, e2;

		memcpy(copy, s.buf, len);
		if (snap_check(copy, len, g_out, &e1) != -1 || e1.code != SNAP_ERR_TRUNCATED ||
		    !strstr(e1.msg, "truncated") ||
		    snap_decode(copy, len, g_out, g_ram, CANARY_RAM, &e2) != -1 ||
		    e2.code != SNAP_ERR_TRUNCATED) {
			if (bad++ < 5)
				printf("#   length %zu: %s %s\n", len, snap_err_name(e1.code), e1.msg);
		}
		free(copy);
	}
	CHECK_EQ_U64(bad, 0);
	CHECK(canaries_intact());
	CHECK(accepted(s.buf, s.len));
	canaries_reset();
	sink_free(&s);
}

static void test_every_bit_flip(void)
{
	struct sink s;
	unsigned accepted_n = 0, not_checksum = 0, wrong_code = 0;

	small_snapshot(&s);
	printf("# every single-bit flip of a %zu-byte snapshot (%zu flips)\n", s.len, s.len * 8);
	for (size_t i = 0; i < s.len; i++) {
		for (unsigned b = 0; b < 8; b++) {
			struct snap_error e1, e2;

			s.buf[i] ^= (uint8_t)(1u << b);
			if (snap_check(s.buf, s.len, g_out, &e1) != -1 ||
			    snap_decode(s.buf, s.len, g_out, g_ram, CANARY_RAM, &e2) != -1)
				accepted_n++;
			else if (e1.code != e2.code)
				wrong_code++;
			else if (i >= SNAP_HEADER_LEN && e1.code != SNAP_ERR_CHECKSUM)
				not_checksum++;
			s.buf[i] ^= (uint8_t)(1u << b);
		}
	}
	CHECK_EQ_U64(accepted_n, 0);
	CHECK_EQ_U64(wrong_code, 0);
	CHECK_EQ_U64(not_checksum, 0);      /* past the header, the CRC catches it */
	CHECK(canaries_intact());
	sink_free(&s);
}

/* Random edits of `src` (a 2 MiB snapshot) with a fixed seed; half of them
 * resealed so that they reach the checks behind the CRC. Whatever is
 * accepted must re-encode to a snapshot that decodes to the same state. */
static void test_mutations(const struct sink *src, uint64_t seed)
{
	unsigned refused = 0, acc = 0, bad = 0;
	uint8_t *ram2 = malloc(2 * MIB);
	struct snap_vm *vm2 = malloc(sizeof(*vm2));

	rng_state = seed;
	for (unsigned it = 0; it < 4000; it++) {
		struct sink c;
		unsigned edits = 1 + (unsigned)rnd_below(6);
		bool seal = rnd() & 1;
		struct snap_error e;
		int r;

		copy_sink(&c, src);
		for (unsigned k = 0; k < edits; k++) {
			/* mostly in the small sections, sometimes anywhere */
			size_t at = (rnd() & 3) ? (size_t)rnd_below(2000) : (size_t)rnd_below(c.len);

			switch (rnd_below(5)) {
			case 0: c.buf[at] = (uint8_t)rnd(); break;
			case 1: c.buf[at] ^= (uint8_t)(1u << rnd_below(8)); break;
			case 2: c.buf[at]++; break;
			case 3: c.buf[at] = rnd() & 1 ? 0 : 0xff; break;
			default:
				if (rnd() & 1)
					remove_bytes(&c, at < c.len - 1 ? at : 0, 1);
				else
					insert_bytes(&c, at, (const uint8_t *)"\x01", 1);
				break;
			}
		}
		if (seal && c.len >= 40)
			reseal(c.buf, c.len);
		r = snap_decode(c.buf, c.len, g_out, g_ram, CANARY_RAM, &e);
		if (r) {
			refused++;
			if (snap_check(c.buf, c.len, g_out, &e) != -1 || e.code == SNAP_OK ||
			    !memchr(e.msg, 0, sizeof(e.msg)) || !e.msg[0])
				bad++;
		} else {
			struct sink again;

			acc++;
			/* the accepted state is valid and round-trips */
			memcpy(vm2, g_out, sizeof(*vm2));
			if (snap_validate(vm2, (uint64_t)vm2->id.memory_mib * MIB, &e) ||
			    encode(vm2, g_ram, &again) ||
			    snap_decode(again.buf, again.len, g_out, ram2, 2 * MIB, &e) ||
			    !same_vm(vm2, g_out) || memcmp(ram2, g_ram, 2 * MIB) != 0)
				bad++;
			sink_free(&again);
			canaries_reset();
		}
		sink_free(&c);
		if (it % 500 == 0 && !canaries_intact())
			bad++;
	}
	printf("# mutations: %u refused, %u accepted\n", refused, acc);
	CHECK_EQ_U64(bad, 0);
	CHECK(refused > 3000);
	CHECK(canaries_intact());
	free(ram2);
	free(vm2);
}

static void test_64_vcpus_and_65_sections(void)
{
	struct snap_vm *vm = random_vm(64, 2);
	uint8_t *ram = random_ram(2 * MIB, 3);
	struct sink s, c;
	size_t v = 0;

	CHECK(encode(vm, ram, &s) == 0);
	CHECK(accepted(s.buf, s.len) && same_vm(vm, g_out));
	canaries_reset();
	/* a 65th VCPU section */
	copy_sink(&c, &s);
	v = find_section(c.buf, c.len, SNAP_SEC_VCPU, 63);
	dup_section(&c, v, v);
	expect_refused("65 VCPU sections", c.buf, c.len, SNAP_ERR_OVERSIZED, "more than 64 VCPU sections");
	sink_free(&c);
	/* ids are placed by their id, whatever the order */
	copy_sink(&c, &s);
	dup_section(&c, find_section(c.buf, c.len, SNAP_SEC_VCPU, 63), 32);
	drop_section(&c, find_section(c.buf, c.len, SNAP_SEC_VCPU, 64));
	CHECK(accepted(c.buf, c.len) && same_vm(vm, g_out));
	canaries_reset();
	sink_free(&c);
	sink_free(&s);
	free(vm);
	free(ram);
}

/* ---- IOAPIC (optional section 0x8000000B) ---------------------------- */

static struct snap_vm *io_vm;
static struct sink ios;

static void make_ioapic(void)
{
	io_vm = malloc(sizeof(*io_vm));
	memcpy(io_vm, base_vm, sizeof(*io_vm));
	io_vm->ioapic.present = true;
	io_vm->ioapic.id = 0x0a000000u;
	io_vm->ioapic.ioregsel = 0x13;
	io_vm->ioapic.line = 0x810;
	for (unsigned i = 0; i < SNAP_IOAPIC_PINS; i++)
		io_vm->ioapic.rte[i] = i % 2 ? (0x30 + i) | SNAP_IOAPIC_RTE_LEVEL |
					       (i % 4 == 1 ? SNAP_IOAPIC_RTE_REMOTE_IRR : 0) |
					       (uint64_t)i << 56
					     : 0x10000;
	if (encode(io_vm, base_ram, &ios))
		abort();
}

static void test_ioapic(void)
{
	size_t io = find_section(ios.buf, ios.len, SNAP_SEC_IOAPIC, 0);
	size_t pic = find_section(ios.buf, ios.len, SNAP_SEC_PIC, 0);
	struct snap_error e;

	/* Present: after the PIC, 16 + 208 bytes, the fields in place. */
	CHECK(io != 0 && io == pic + 16 + 4);
	CHECK_EQ_U64(ios.len, base.len + 16 + SNAP_IOAPIC_LEN);
	CHECK_EQ_U64(ld32(ios.buf + 20), ld32(base.buf + 20) + 1);
	CHECK_EQ_U64(ld32(ios.buf + io), 0x8000000Bu);
	CHECK_EQ_U64(ld32(ios.buf + io + 4), 1);
	CHECK_EQ_U64(ld64(ios.buf + io + 8), 208);
	CHECK_EQ_U64(ld32(ios.buf + io + 16), 0x0a000000u);
	CHECK_EQ_U64(ld32(ios.buf + io + 20), 0x13);
	CHECK_EQ_U64(ld32(ios.buf + io + 24), 0x810);
	CHECK_EQ_U64(ld64(ios.buf + io + 32 + 8 * 5), io_vm->ioapic.rte[5]);
	CHECK(accepted(ios.buf, ios.len) && same_vm(io_vm, g_out) && g_out->ioapic.present);
	canaries_reset();
	/* Absent (every snapshot before it): present false, nothing else. */
	CHECK(accepted(base.buf, base.len) && !g_out->ioapic.present && g_out->ioapic.rte[0] == 0);
	canaries_reset();
	CHECK_EQ_U64(find_section(base.buf, base.len, SNAP_SEC_IOAPIC, 0), 0);

	/* What no IOAPIC holds is refused, naming the section's offset. */
	patched_in(&ios, "IOAPIC ID bit 28", io + 16, 0x1a000000u, 4, SNAP_ERR_VALUE,
		   "IOAPIC: ID register 0x1a000000 has bits outside 27:24");
	patched_in(&ios, "IOAPIC IOREGSEL 0x100", io + 20, 0x100, 4, SNAP_ERR_VALUE,
		   "IOAPIC: IOREGSEL 0x100 above 0xff");
	patched_in(&ios, "IOAPIC pin 24", io + 24, 1u << 24, 4, SNAP_ERR_VALUE,
		   "IOAPIC: pin levels 0x1000000 name pins above 23");
	patched_in(&ios, "IOAPIC reserved word", io + 28, 1, 4, SNAP_ERR_VALUE,
		   "IOAPIC: reserved word 0x00000001, must be 0");
	patched_in(&ios, "IOAPIC entry 3 delivery status", io + 32 + 8 * 3, 0x1000, 8, SNAP_ERR_VALUE,
		   "IOAPIC: entry 3 0x0000000000001000 has bits no IOAPIC holds");
	patched_in(&ios, "IOAPIC entry 23 reserved bit 17", io + 32 + 8 * 23, 0x20000, 8, SNAP_ERR_VALUE,
		   "IOAPIC: entry 23 0x0000000000020000 has bits");
	patched_in(&ios, "IOAPIC remote IRR on an edge entry", io + 32, 0x4030, 8, SNAP_ERR_VALUE,
		   "IOAPIC: entry 0 0x0000000000004030: remote IRR on an edge entry");
	patched_in(&ios, "IOAPIC version 2", io + 4, 2, 4, SNAP_ERR_VERSION, "section IOAPIC");
	refused_at_section(&ios, io, io + 16, 0x1f000000u, 4);
	refused_twice(&ios, io, "IOAPIC twice", "a second IOAPIC");
	/* the encoder refuses what the decoder would */
	io_vm->ioapic.rte[2] = 0x4030;
	CHECK(snap_validate(io_vm, 2 * MIB, &e) == -1 && strstr(e.msg, "remote IRR on an edge entry"));
	io_vm->ioapic.rte[2] = 0x1c030;   /* level, remote IRR, masked: fine */
	CHECK(snap_validate(io_vm, 2 * MIB, &e) == 0);
	io_vm->ioapic.present = false;    /* absent: not looked at */
	io_vm->ioapic.rte[2] = ~0ull;
	CHECK(snap_validate(io_vm, 2 * MIB, &e) == 0);
}

/* The UART_FIFO section (16550A FIFO state): bytes, round trip, absent in
 * the base snapshot, each refusal, and random edits. */
static struct snap_vm *uf_vm;
static struct sink ufs;

static void make_uf(void)
{
	uf_vm = malloc(sizeof(*uf_vm));
	memcpy(uf_vm, base_vm, sizeof(*uf_vm));
	uf_vm->uart.mcr = 0x0b;                          /* DTR RTS OUT2, no loopback */
	uf_vm->uart.fifo_present = true;
	uf_vm->uart.fcr = 0x81;
	uf_vm->uart.lsr_err = 0x02;
	uf_vm->uart.msr = (uint8_t)(u16550_msr_lines(0x0b) | 0x01);
	uf_vm->uart.thr_ipending = true;
	uf_vm->uart.rx_count = 5;
	memcpy(uf_vm->uart.rx, "hello", 5);
	if (encode(uf_vm, base_ram, &ufs))
		abort();
}

static void test_uart_fifo(void)
{
	size_t u = find_section(ufs.buf, ufs.len, SNAP_SEC_UART_FIFO, 0);
	struct snap_vm *vm = malloc(sizeof(*vm));
	struct snap_error e;
	char msg[120];
	struct sink c;

	CHECK(u != 0);
	CHECK_EQ_U64(find_section(base.buf, base.len, SNAP_SEC_UART_FIFO, 0), 0);
	CHECK_EQ_U64(ufs.len, base.len + 16 + SNAP_UART_FIFO_LEN);
	CHECK_EQ_U64(snap_encoded_size(uf_vm, base_ram, 2 * MIB), ufs.len);
	CHECK_EQ_U64(ld32(ufs.buf + u), 0x8000000cu);
	CHECK_EQ_U64(ld64(ufs.buf + u + 8), 24);
	CHECK(ufs.buf[u + 16] == 0x81 && ufs.buf[u + 17] == 0x02 && ufs.buf[u + 18] == 0xb1 &&
	      ufs.buf[u + 19] == 1 && ufs.buf[u + 20] == 5 && !ufs.buf[u + 21] &&
	      !memcmp(ufs.buf + u + 24, "hello", 5) && !ufs.buf[u + 29] && !ufs.buf[u + 39]);
	CHECK(accepted(ufs.buf, ufs.len) && same_vm(uf_vm, g_out) && g_out->uart.fifo_present &&
	      g_out->uart.rx_count == 5 && !memcmp(g_out->uart.rx, "hello", 5));
	canaries_reset();
	CHECK(accepted(base.buf, base.len) && !g_out->uart.fifo_present && !g_out->uart.rx_count &&
	      !g_out->uart.fcr && !g_out->uart.thr_ipending);
	canaries_reset();

	/* payload values */
	patched_in(&ufs, "UART_FIFO FCR bit 1", u + 16, 0x83, 1, SNAP_ERR_VALUE,
		   "UART: FCR 0x83 is not one the 16550A keeps");
	patched_in(&ufs, "UART_FIFO trigger without enable", u + 16, 0xc0, 1, SNAP_ERR_VALUE,
		   "UART: FCR 0xc0");
	patched_in(&ufs, "UART_FIFO LSR error beyond OE", u + 17, 0x06, 1, SNAP_ERR_VALUE,
		   "UART: LSR error bits 0x06 beyond overrun");
	patched_in(&ufs, "UART_FIFO MSR against MCR", u + 18, 0x91, 1, SNAP_ERR_VALUE,
		   "UART: MSR 0x91 disagrees with MCR 0x0b");
	patched_in(&ufs, "UART_FIFO 17 bytes", u + 20, 17, 1, SNAP_ERR_VALUE,
		   "UART: 17 received bytes, the FIFO holds 16");
	patched_in(&ufs, "UART_FIFO 255 bytes", u + 20, 255, 1, SNAP_ERR_VALUE,
		   "UART: 255 received bytes");
	copy_sink(&c, &ufs);
	st(c.buf + u + 16, 0, 1);                        /* FIFOs off: one byte at most */
	reseal(c.buf, c.len);
	expect_refused("UART_FIFO 5 bytes with FIFOs off", c.buf, c.len, SNAP_ERR_VALUE,
		       "UART: 5 received bytes, the FIFO holds 1");
	st(c.buf + u + 20, 1, 1);
	memset(c.buf + u + 25, 0, 4);
	reseal(c.buf, c.len);
	CHECK(accepted(c.buf, c.len) && g_out->uart.rx_count == 1 && g_out->uart.rx[0] == 'h' &&
	      g_out->uart.fcr == 0);
	canaries_reset();
	sink_free(&c);
	patched_in(&ufs, "UART_FIFO flags bit 1", u + 19, 3, 1, SNAP_ERR_VALUE,
		   "UART: reserved bits of the FIFO section not zero (flags 0x03");
	patched_in(&ufs, "UART_FIFO reserved byte 6", u + 22, 1, 1, SNAP_ERR_VALUE,
		   "bytes 5..7 0x000100");
	patched_in(&ufs, "UART_FIFO byte beyond the count", u + 24 + 5, 'x', 1, SNAP_ERR_VALUE,
		   "UART: byte 5 of the FIFO not zero beyond the 5 received");
	patched_in(&ufs, "UART_FIFO last byte", u + 24 + 15, 1, 1, SNAP_ERR_VALUE, "byte 15 of the FIFO");
	CHECK(snap_check(ufs.buf, ufs.len, NULL, &e) == 0);
	/* framing */
	snprintf(msg, sizeof(msg), "foreign version: section UART_FIFO (offset %zu) has version 2", u);
	patched_in(&ufs, "UART_FIFO version 2", u + 4, 2, 4, SNAP_ERR_VERSION, msg);
	copy_sink(&c, &ufs);
	remove_bytes(&c, u + 16 + 23, 1);
	st(c.buf + u + 8, 23, 8);
	reseal(c.buf, c.len);
	snprintf(msg, sizeof(msg), "section UART_FIFO (offset %zu): length 23, version 1 has 24", u);
	expect_refused("UART_FIFO of 23 bytes", c.buf, c.len, SNAP_ERR_SECTION_SIZE, msg);
	sink_free(&c);
	refused_twice(&ufs, u, "duplicate UART_FIFO", "a second UART_FIFO");
	/* the encoder refuses what the decoder would */
	memcpy(vm, uf_vm, sizeof(*vm));
	vm->uart.rx_count = 17;
	CHECK(snap_validate(vm, 2 * MIB, &e) == -1 &&
	      strstr(e.msg, "UART: 17 received bytes") != NULL);
	CHECK_EQ_U64(snap_encoded_size(vm, base_ram, 2 * MIB), 0);
	vm->uart.rx_count = 0;
	vm->uart.mcr = 0x13;                             /* loopback: MSR must follow */
	CHECK(snap_validate(vm, 2 * MIB, &e) == -1 && strstr(e.msg, "disagrees with MCR 0x13"));
	vm->uart.msr = u16550_msr_lines(0x13);
	CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
	vm->uart.fifo_present = false;                   /* then nothing of it is checked */
	vm->uart.rx_count = 200;
	CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
	free(vm);
}

/* ---- PM1 (optional section 0x8000000D) --------------------------------- */

static void test_pm1(void)
{
	struct snap_vm *vm = malloc(sizeof(*vm));
	size_t pm, pic, io;
	struct snap_error e;
	struct sink s;

	/* Next to the IOAPIC's, the section comes after it. */
	memcpy(vm, io_vm, sizeof(*vm));
	vm->ioapic.present = true;          /* test_ioapic() left it absent */
	vm->ioapic.rte[2] = 0x10000;
	vm->pm1.present = true;
	vm->pm1.sts = 0x8000;                   /* WAK_STS */
	vm->pm1.en = 0x0520;                    /* GBL_EN, PWRBTN_EN, RTC_EN */
	vm->pm1.cnt = 0x1402;                   /* SLP_TYP 5, BM_RLD */
	if (encode(vm, base_ram, &s))
		abort();
	pm = find_section(s.buf, s.len, SNAP_SEC_PM1, 0);
	io = find_section(s.buf, s.len, SNAP_SEC_IOAPIC, 0);
	pic = find_section(s.buf, s.len, SNAP_SEC_PIC, 0);
	CHECK(pm != 0 && io != 0 && pic < io && io < pm && pm == io + 16 + SNAP_IOAPIC_LEN);
	CHECK_EQ_U64(s.len, base.len + 16 + SNAP_IOAPIC_LEN + 16 + SNAP_PM1_LEN);
	CHECK_EQ_U64(ld32(s.buf + 20), ld32(base.buf + 20) + 2);
	CHECK_EQ_U64(ld32(s.buf + pm), 0x8000000Du);
	CHECK_EQ_U64(ld32(s.buf + pm + 4), 1);
	CHECK_EQ_U64(ld64(s.buf + pm + 8), 8);
	CHECK_EQ_U64(ld32(s.buf + pm + 16), 0x05208000u);
	CHECK_EQ_U64(ld32(s.buf + pm + 20), 0x1402);
	CHECK(accepted(s.buf, s.len) && same_vm(vm, g_out) && g_out->pm1.present &&
	      g_out->pm1.en == 0x0520 && g_out->pm1.cnt == 0x1402 && g_out->pm1.sts == 0x8000);
	canaries_reset();
	/* Absent (every snapshot before it): present false, nothing else. */
	CHECK(accepted(ios.buf, ios.len) && !g_out->pm1.present && g_out->pm1.en == 0);
	canaries_reset();
	CHECK_EQ_U64(find_section(base.buf, base.len, SNAP_SEC_PM1, 0), 0);

	/* What the registers cannot hold is refused, at the section. */
	patched_in(&s, "PM1_STS bit 1", pm + 16, 0x8002, 2, SNAP_ERR_VALUE,
		   "PM1: PM1_STS 0x8002 has reserved bits");
	patched_in(&s, "PM1_EN TMR_EN", pm + 18, 0x0521, 2, SNAP_ERR_VALUE,
		   "PM1: PM1_EN 0x0521 has bits no enable keeps");
	patched_in(&s, "PM1_CNT SCI_EN", pm + 20, 0x1403, 2, SNAP_ERR_VALUE,
		   "PM1: PM1_CNT 0x1403 has bits other than BM_RLD and SLP_TYP");
	patched_in(&s, "PM1_CNT SLP_EN", pm + 20, 0x3402, 2, SNAP_ERR_VALUE,
		   "PM1: PM1_CNT 0x3402");
	patched_in(&s, "PM1 reserved word", pm + 22, 1, 2, SNAP_ERR_VALUE,
		   "PM1: reserved word 0x0001, must be 0");
	patched_in(&s, "PM1 version 2", pm + 4, 2, 4, SNAP_ERR_VERSION, "section PM1");
	refused_at_section(&s, pm, pm + 18, 0x0001, 2);
	refused_twice(&s, pm, "PM1 twice", "a second PM1");
	/* the encoder refuses what the decoder would; absent is not looked at */
	vm->pm1.cnt = 0x2000;
	CHECK(snap_validate(vm, 2 * MIB, &e) == -1 && strstr(e.msg, "PM1: PM1_CNT 0x2000"));
	vm->pm1.present = false;
	CHECK(snap_validate(vm, 2 * MIB, &e) == 0);
	sink_free(&s);
	free(vm);
}

/* A VM of 3584 MiB: its RAM past 3 GiB is at 4 GiB (guestmem.h). kvmclock
 * areas there are accepted; in the hole, straddling it or past high RAM
 * they are refused, though the RAM buffer is longer than those GPAs. */
static void test_high_ram_gpas(void)
{
	const uint64_t gib = 1ull << 30, size = 3584 * MIB, hi_end = 4 * gib + 512 * MIB;
	struct snap_vm *vm = malloc(sizeof(*vm));
	static const struct { uint64_t gpa; bool ok; } wall[] = {
		{ 4 * gib, true }, { hi_end - 16, true }, { 3 * gib - 16, true },
		{ 3 * gib, false }, { 4 * gib - 16, false }, { 3 * gib - 8, false },
		{ hi_end, false }, { hi_end - 8, false }, { 3 * gib + 0x100, false },
	};
	static const struct { uint64_t gpa; bool ok; } sys[] = {
		{ 4 * gib + 0x40, true }, { hi_end - 32, true }, { 3 * gib - 32, true },
		{ 3 * gib - 16, false }, { 4 * gib - 32, false }, { hi_end - 16, false },
		{ size - 32, false },                       /* the buffer's end, as a GPA: the hole */
	};
	unsigned bad = 0;

	memcpy(vm, base_vm, sizeof(*vm));
	vm->id.memory_mib = 3584;
	CHECK(snap_validate(vm, size, NULL) == 0);
	for (unsigned i = 0; i < sizeof(wall) / sizeof(wall[0]); i++) {
		vm->time.wall_clock_msr = wall[i].gpa;
		if ((snap_validate(vm, size, NULL) == 0) != wall[i].ok) {
			bad++;
			printf("# wall clock at 0x%llx: want %s\n", (unsigned long long)wall[i].gpa,
			       wall[i].ok ? "accepted" : "refused");
		}
	}
	vm->time.wall_clock_msr = 0x2000;
	for (unsigned i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		vm->vcpu[0].pvclock_msr = sys[i].gpa | 1;
		if ((snap_validate(vm, size, NULL) == 0) != sys[i].ok) {
			bad++;
			printf("# system time at 0x%llx: want %s\n", (unsigned long long)sys[i].gpa,
			       sys[i].ok ? "accepted" : "refused");
		}
	}
	CHECK(bad == 0);
	free(vm);
}

int main(void)
{
	canaries_init();
	test_crc();
	test_roundtrip(1, 2, 0);
	test_roundtrip(1, 2, 5);
	test_roundtrip(4, 8, 40);
	test_roundtrip(17, 4, 200);
	test_layout();
	test_emit_chunks();
	test_zero_pages();
	make_base();
	test_header_refusals();
	test_section_refusals();
	test_content_refusals();
	test_vcpu_refusals();
	test_high_ram_gpas();
	test_platform_roundtrip();
	make_plat();
	test_platform_refusals();
	make_fpus();
	test_fpu();
	make_xs();
	test_xstate();
	make_ioapic();
	test_ioapic();
	make_uf();
	test_uart_fifo();
	test_pm1();
	test_encoder_args();
	test_ram_changing();
	test_64_vcpus_and_65_sections();
	test_every_truncation();
	test_every_bit_flip();
	test_mutations(&base, 0x5eed5eed12345678ull);
	test_mutations(&plat, 0x5eed5eed87654321ull);
	test_mutations(&fpus, 0x5eed5eedf0f0f0f0ull);
	test_mutations(&ios, 0x5eed5eed10a9c000ull);
	sink_free(&ios);
	free(io_vm);
	test_mutations(&ufs, 0x5eed5eed0a0a0a0aull);
	sink_free(&base);
	sink_free(&plat);
	sink_free(&ufs);
	free(uf_vm);
	free(plat_vm);
	free(base_vm);
	free(base_ram);
	free(g_ram);
	free(g_ram_pattern);
	free(g_out);
	free(g_out_pattern);
	return th_done();
}
