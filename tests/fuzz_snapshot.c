/* libFuzzer target: the snapshot decoder must never crash, never read outside
 * the buffer nor write outside *out and RAM, write nothing at all when it
 * refuses, and whatever it accepts must be a valid state that round-trips.
 *
 * Each input is tried three ways:
 *   1. as it is;
 *   2. with its total length and CRC fixed up, so that the checks behind the
 *      CRC are reached;
 *   3. as edits (pairs of a 16-bit little-endian offset and a byte) applied
 *      to a valid template snapshot, then resealed: near-valid snapshots. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/snapshot.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_CAP (2u << 20)

static uint8_t *ram, *ram2, *ram_pattern;
static struct snap_vm *out, *out_pattern, *vm2;
struct sink { uint8_t *buf; size_t len, cap; };
static struct sink tmpl, again;
static unsigned long refusals, acceptances;
static bool ram_dirty;          /* an accepted decode wrote RAM since the last reset */

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t *buf, size_t len)
{
	put(buf + len - 8, snap_crc64(0, buf, len - 8), 8);
}

static void emit(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;

	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			abort();
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
}

static void setup(void)
{
	struct snap_vm *vm = calloc(1, sizeof(*vm));
	struct snap_vcpu *v;

	ram = malloc(RAM_CAP);
	ram2 = malloc(RAM_CAP);
	out = malloc(sizeof(*out));
	out_pattern = malloc(sizeof(*out));
	vm2 = malloc(sizeof(*vm2));
	memset(out_pattern, 0xcd, sizeof(*out));
	memcpy(out, out_pattern, sizeof(*out));
	ram_pattern = malloc(RAM_CAP);
	memset(ram_pattern, 0x5a, RAM_CAP);
	memcpy(ram, ram_pattern, RAM_CAP);

	/* The template: 2 vCPUs (one in long mode, one waiting for SIPI),
	 * 2 MiB with two runs of non-zero pages. */
	memcpy(vm->id.name, "fuzz", 5);
	vm->id.vcpus = 2;
	vm->id.memory_mib = 2;
	vm->id.tsc_mode = TSC_MODE_EMULATE;
	vm->id.tsc_khz = 2000000;
	vm->id.vendor = SNAP_VENDOR_SVM;
	vm->time.system_time_ns = 123456789;
	vm->time.wall_clock_msr = 0x3000;
	vm->time.incarnation = 3;
	vm->uart.lcr = 3;
	vm->uart.mcr = 0x0b;
	vm->uart.fifo_present = true;                   /* a UART_FIFO section: 2 bytes */
	vm->uart.fcr = 0xc1;
	vm->uart.msr = 0xb0;
	vm->uart.rx_count = 2;
	vm->uart.rx[0] = 'o';
	vm->uart.rx[1] = 'k';
	vm->pic.imr[0] = 0xfb;
	vm->platform = (struct snap_platform){ true, 0x608, true };
	/* IOAPIC: a level entry in service, an edge one, the rest masked. */
	vm->ioapic.present = true;
	vm->ioapic.line = 1u << 9;
	for (unsigned i = 0; i < SNAP_IOAPIC_PINS; i++)
		vm->ioapic.rte[i] = 0x10000;
	vm->ioapic.rte[9] = 0x000000000000c041ull;
	vm->ioapic.rte[4] = 0x0100000000000834ull;
	/* PM1: an enable and a sleep type kept, WAK_STS pending. */
	vm->pm1.present = true;
	vm->pm1.sts = 0x8000;
	vm->pm1.en = 0x0100;
	vm->pm1.cnt = 0x1c00;
	v = &vm->vcpu[0];
	v->cr0 = 0x80050033;
	v->cr4 = 0x6a0;
	v->efer = 0xd01;
	v->seg[SNAP_CS] = (struct snap_segment){ 0x10, 0x29b, 0xffffffff, 0 };
	v->seg[SNAP_SS] = (struct snap_segment){ 0x18, 0xc93, 0xffffffff, 0 };
	v->seg[SNAP_TR] = (struct snap_segment){ 0x28, 0x8b, 0x67, 0xffff888000001000ull };
	v->seg[SNAP_GDTR].limit = 0x7f;
	v->rip = 0xffffffff81000000ull;
	v->rflags = 0x202;
	v->pat = 0x0007040600070406ull;
	v->apic_base = 0xfee00900ull;
	v->timer_mode = SNAP_TIMER_PERIODIC;
	v->timer_remaining = 100000;
	v->pvclock_msr = 0x2001;
	v->tsc = 1ull << 40;
	v = &vm->vcpu[1];
	v->cr0 = 0x60000010;
	v->rflags = 2;
	v->rip = 0xfff0;
	v->seg[SNAP_CS] = (struct snap_segment){ 0xf000, 0x9b, 0xffff, 0xffff0000 };
	v->pat = 0x0007040600070406ull;
	v->apic_base = 0xfee00800ull;
	v->run_state = SNAP_RUN_WAIT_SIPI;
	/* FPU sections: x87 after FNINIT, MXCSR 0x1f80, some XMM bytes. */
	vm->fpu_present = true;
	for (unsigned i = 0; i < 2; i++) {
		vm->vcpu[i].fpu[0] = 0x7f;
		vm->vcpu[i].fpu[1] = 0x03;
		vm->vcpu[i].fpu[24] = 0x80;
		vm->vcpu[i].fpu[25] = 0x1f;
		memset(vm->vcpu[i].fpu + 160, 0x40 + (int)i, 32);
	}
	/* XSTATE sections: vCPU 0 with AVX-512 state and a breakpoint address,
	 * vCPU 1 with AVX only, so edits reach every rule. */
	vm->xstate_present = true;
	vm->vcpu[0].xcr0 = 0xe7;
	vm->vcpu[0].xstate_bv = 0xa4;
	memset(vm->vcpu[0].xstate, 0x5a, 256);
	memset(vm->vcpu[0].xstate + 832, 0xa5, 1024);
	vm->vcpu[0].dr[0] = 0x100000;
	vm->vcpu[1].xcr0 = 0x7;
	vm->vcpu[1].xstate_bv = 0x4;
	memset(vm->vcpu[1].xstate, 0x3c, 256);
	memset(ram2, 0, RAM_CAP);
	memset(ram2 + 4096, 0x11, 4096);
	memset(ram2 + 10 * 4096, 0x22, 2 * 4096);
	if (snap_encode(vm, ram2, RAM_CAP, emit, &tmpl))
		abort();
	free(vm);
}

/* Accepted: snap_check and snap_decode agree, the state validates and
 * round-trips. Refused: a message, and nothing written. */
static void try_one(const uint8_t *buf, size_t len)
{
	struct snap_error e1, e2, e;
	int r1 = snap_check(buf, len, out, &e1);
	int r2;
	uint64_t size;

	if (r1) {
		if (memcmp(out, out_pattern, sizeof(*out)) != 0 || e1.code == SNAP_OK ||
		    !memchr(e1.msg, 0, sizeof(e1.msg)) || !e1.msg[0])
			abort();
	} else {
		memcpy(vm2, out, sizeof(*vm2));     /* what snap_decode must give too */
		memcpy(out, out_pattern, sizeof(*out));
	}
	r2 = snap_decode(buf, len, out, ram, RAM_CAP, &e2);
	if (r2) {
		if (memcmp(out, out_pattern, sizeof(*out)) != 0 || e2.code == SNAP_OK ||
		    !memchr(e2.msg, 0, sizeof(e2.msg)) || !e2.msg[0])
			abort();
		/* the RAM pattern is checked now and then (it is 2 MiB) */
		if (++refusals % 4 == 0 && !ram_dirty && memcmp(ram, ram_pattern, RAM_CAP) != 0)
			abort();
		/* Same verdict, but for the RAM cap that only snap_decode knows
		 * (checked after the identity, before the vCPUs and RAM). */
		if (e2.code != SNAP_ERR_OVERSIZED && (!r1 || e2.code != e1.code))
			abort();
		return;
	}
	if (r1 || memcmp(out, vm2, sizeof(*out)) != 0)
		abort();
	ram_dirty = true;
	size = (uint64_t)out->id.memory_mib << 20;
	if (snap_validate(vm2, size, &e) || size > RAM_CAP)
		abort();
	/* a full round trip scans 2 MiB three times: not every time */
	if (acceptances++ % 32 == 0) {
		again.len = 0;
		if (snap_encode(vm2, ram, size, emit, &again) ||
		    again.len != snap_encoded_size(vm2, ram, size))
			abort();
		if (snap_decode(again.buf, again.len, out, ram2, RAM_CAP, &e) ||
		    memcmp(out, vm2, sizeof(*out)) != 0 || memcmp(ram, ram2, size) != 0)
			abort();
	}
	memcpy(out, out_pattern, sizeof(*out));
	if (acceptances % 8 == 0) {
		memcpy(ram, ram_pattern, RAM_CAP);
		ram_dirty = false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (!tmpl.buf)
		setup();

	/* 1: as it is, in a buffer of exactly its size */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	try_one(copy, size);

	/* 2: total length and CRC made right */
	if (size >= 40) {
		put(copy + 24, size, 8);
		reseal(copy, size);
		try_one(copy, size);
	}
	free(copy);

	/* 3: edits of the template */
	copy = malloc(tmpl.len);
	memcpy(copy, tmpl.buf, tmpl.len);
	for (size_t i = 0; i + 3 <= size; i += 3) {
		size_t at = (size_t)(data[i] | data[i + 1] << 8) % (tmpl.len - 8);

		copy[at] = data[i + 2];
	}
	reseal(copy, tmpl.len);
	try_one(copy, tmpl.len);
	free(copy);
	return 0;
}
