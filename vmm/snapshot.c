/* VM snapshot codec (include/tscvisor/snapshot.h, docs/snapshot-format.md).
 *
 * Pure C: freestanding, no allocation, no libc beyond memcpy/memset/memcmp/
 * strlen. Every multi-byte field is read and written byte by byte in
 * little-endian order, so buffers may sit at any address. The decoder runs
 * every check before it writes anything; the encoder runs the same checks
 * before it emits anything, so a snapshot it produces is one it accepts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tscvisor/config.h>
#include <tscvisor/format.h>
#include <tscvisor/snapshot.h>

_Static_assert(TSC_MODE_AUTO == 0 && TSC_MODE_NATIVE == 1 && TSC_MODE_EMULATE == 2 &&
	       TSC_MODE_PVRDTSCP == 3, "the format stores enum tsc_mode values 0..3");
_Static_assert(SNAP_MAX_VCPUS <= 64, "vCPU ids are tracked in a 64-bit mask");

typedef unsigned long long ull;

/* ---- little-endian fields --------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Sequential cursors over a section payload whose length was checked. */
struct rd { const uint8_t *p; };
struct wr { uint8_t *p; };

static uint16_t r16(struct rd *r) { uint16_t v = get16(r->p); r->p += 2; return v; }
static uint32_t r32(struct rd *r) { uint32_t v = get32(r->p); r->p += 4; return v; }
static uint64_t r64(struct rd *r) { uint64_t v = get64(r->p); r->p += 8; return v; }
static void w16(struct wr *w, uint16_t v) { put16(w->p, v); w->p += 2; }
static void w32(struct wr *w, uint32_t v) { put32(w->p, v); w->p += 4; }
static void w64(struct wr *w, uint64_t v) { put64(w->p, v); w->p += 8; }

/* ---- CRC-64/XZ -------------------------------------------------------- */

/* Reflected ECMA-182 polynomial 0xc96c5795d7870f42, four bits at a time:
 * crc64_nibble[n] is n shifted through the register four times. */
static const uint64_t crc64_nibble[16] = {
	0x0000000000000000ull, 0x7d9ba13851336649ull, 0xfb374270a266cc92ull, 0x86ace348f355aadbull,
	0x64b62bcaebc387a1ull, 0x192d8af2baf0e1e8ull, 0x9f8169ba49a54b33ull, 0xe21ac88218962d7aull,
	0xc96c5795d7870f42ull, 0xb4f7f6ad86b4690bull, 0x325b15e575e1c3d0ull, 0x4fc0b4dd24d2a599ull,
	0xadda7c5f3c4488e3ull, 0xd041dd676d77eeaaull, 0x56ed3e2f9e224471ull, 0x2b769f17cf112238ull,
};

uint64_t snap_crc64(uint64_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;

	while (len--) {
		c ^= *p++;
		c = (c >> 4) ^ crc64_nibble[c & 15];
		c = (c >> 4) ^ crc64_nibble[c & 15];
	}
	return ~c;
}

/* ---- names and errors ------------------------------------------------- */

const char *snap_err_name(enum snap_err code)
{
	static const char *const names[SNAP_ERR_NR] = {
		[SNAP_OK] = "SNAP_OK",
		[SNAP_ERR_ARGS] = "SNAP_ERR_ARGS",
		[SNAP_ERR_TRUNCATED] = "SNAP_ERR_TRUNCATED",
		[SNAP_ERR_MAGIC] = "SNAP_ERR_MAGIC",
		[SNAP_ERR_VERSION] = "SNAP_ERR_VERSION",
		[SNAP_ERR_HEADER] = "SNAP_ERR_HEADER",
		[SNAP_ERR_CHECKSUM] = "SNAP_ERR_CHECKSUM",
		[SNAP_ERR_OVERSIZED] = "SNAP_ERR_OVERSIZED",
		[SNAP_ERR_LAYOUT] = "SNAP_ERR_LAYOUT",
		[SNAP_ERR_SECTION_SIZE] = "SNAP_ERR_SECTION_SIZE",
		[SNAP_ERR_MISSING] = "SNAP_ERR_MISSING",
		[SNAP_ERR_DUPLICATE] = "SNAP_ERR_DUPLICATE",
		[SNAP_ERR_UNKNOWN_SECTION] = "SNAP_ERR_UNKNOWN_SECTION",
		[SNAP_ERR_INCONSISTENT] = "SNAP_ERR_INCONSISTENT",
		[SNAP_ERR_VALUE] = "SNAP_ERR_VALUE",
	};

	if ((unsigned)code < SNAP_ERR_NR && names[code])
		return names[code];
	return "SNAP_ERR_?";
}

const char *snap_section_name(uint32_t type)
{
	switch (type) {
	case SNAP_SEC_IDENTITY: return "IDENTITY";
	case SNAP_SEC_TIME: return "TIME";
	case SNAP_SEC_VCPU: return "VCPU";
	case SNAP_SEC_UART: return "UART";
	case SNAP_SEC_FWCFG: return "FWCFG";
	case SNAP_SEC_PIC: return "PIC";
	case SNAP_SEC_RAM: return "RAM";
	default: return "?";
	}
}

const char *snap_vendor_name(uint32_t vendor)
{
	switch (vendor) {
	case SNAP_VENDOR_SVM: return "SVM";
	case SNAP_VENDOR_VMX: return "VMX";
	default: return "unknown";
	}
}

static int set_err(struct snap_error *err, enum snap_err code, uint64_t offset)
{
	err->code = code;
	err->offset = offset;
	return -1;
}

/* Needs a non-NULL `err` in scope; formats the message, returns -1. */
#define FAIL(code, offset, ...) \
	(tv_snprintf(err->msg, sizeof(err->msg), __VA_ARGS__), set_err(err, (code), (offset)))

/* ---- state checks (shared by the encoder and the decoder) -------------- */

#define CR0_PE   (1ull << 0)
#define CR0_NW   (1ull << 29)
#define CR0_CD   (1ull << 30)
#define CR0_PG   (1ull << 31)
/* PE MP EM TS ET NE WP AM NW CD PG */
#define CR0_DEFINED 0xe005003full
#define CR4_PAE   (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define CR4_PCIDE (1ull << 17)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
/* SCE LME LMA NXE SVME LMSLE FFXSR TCE: defined by either vendor */
#define EFER_DEFINED 0xfd01ull
#define RFLAGS_FIXED1   (1ull << 1)
#define RFLAGS_VM       (1ull << 17)
#define RFLAGS_RESERVED (~0x3fffffull | (1ull << 3) | (1ull << 5) | (1ull << 15))
#define ATTR_L  (1u << 9)
#define ATTR_DB (1u << 10)
#define APIC_BASE_RESERVED (0xfff0000000000000ull | 0x2ffull)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN   (1ull << 11)
#define EVENT_VALID    (1ull << 31)
#define EVENT_EV       (1ull << 11)
#define EVENT_RESERVED 0x7ffff000ull   /* bits 30:12 */
#define PVCLOCK_AREA_LEN 32u       /* pvclock_vcpu_time_info */
#define WALL_CLOCK_LEN   12u       /* pvclock_wall_clock */

static const char *const seg_names[SNAP_NR_SEGS] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR", "GDTR", "IDTR"
};

/* Bits 63..bits-1 all equal. */
static bool canonical(uint64_t a, unsigned bits)
{
	uint64_t top = a >> (bits - 1);

	return top == 0 || top == (UINT64_MAX >> (bits - 1));
}

/* A structure of `len` bytes at gpa lies inside RAM and inside one page. */
static bool gpa_area_ok(uint64_t gpa, uint64_t len, uint64_t ram_size)
{
	return gpa <= ram_size - len && (gpa & (SNAP_PAGE_SIZE - 1)) <= SNAP_PAGE_SIZE - len;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* 1..31 name characters then a NUL; with `padded`, NULs to the end. */
static int check_name(const char *name, bool padded, uint64_t off, struct snap_error *err)
{
	size_t n = 0;

	while (n < SNAP_NAME_MAX && name[n])
		n++;
	if (n == SNAP_NAME_MAX)
		return FAIL(SNAP_ERR_VALUE, off, "identity: VM name not NUL-terminated within %d bytes",
			    SNAP_NAME_MAX);
	if (n == 0)
		return FAIL(SNAP_ERR_VALUE, off, "identity: empty VM name");
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i]))
			return FAIL(SNAP_ERR_VALUE, off,
				    "identity: byte 0x%02x in the VM name (letters, digits, '_', '-' only)",
				    (unsigned)(uint8_t)name[i]);
	if (padded)
		for (size_t i = n; i < SNAP_NAME_MAX; i++)
			if (name[i])
				return FAIL(SNAP_ERR_VALUE, off,
					    "identity: non-zero byte after the VM name's NUL");
	return 0;
}

static int check_identity(const struct snap_identity *id, bool padded, uint64_t off,
			  struct snap_error *err)
{
	if (check_name(id->name, padded, off, err))
		return -1;
	if (id->vcpus == 0)
		return FAIL(SNAP_ERR_VALUE, off, "identity: 0 vCPUs");
	if (id->vcpus > SNAP_MAX_VCPUS)
		return FAIL(SNAP_ERR_OVERSIZED, off, "identity: %u vCPUs, more than the %u supported",
			    id->vcpus, SNAP_MAX_VCPUS);
	if (id->memory_mib < SNAP_MIN_MEMORY_MIB)
		return FAIL(SNAP_ERR_VALUE, off, "identity: memory %u MiB, below the minimum of %u MiB",
			    id->memory_mib, SNAP_MIN_MEMORY_MIB);
	if (id->memory_mib > SNAP_MAX_MEMORY_MIB)
		return FAIL(SNAP_ERR_OVERSIZED, off, "identity: memory %u MiB, above the maximum of %u MiB",
			    id->memory_mib, SNAP_MAX_MEMORY_MIB);
	if ((uint32_t)id->tsc_mode > TSC_MODE_PVRDTSCP)
		return FAIL(SNAP_ERR_VALUE, off, "identity: unknown tsc_mode %u",
			    (unsigned)id->tsc_mode);
	if (id->tsc_khz < SNAP_MIN_TSC_KHZ || id->tsc_khz > SNAP_MAX_TSC_KHZ)
		return FAIL(SNAP_ERR_VALUE, off, "identity: tsc_khz %u outside %u..%u",
			    id->tsc_khz, SNAP_MIN_TSC_KHZ, SNAP_MAX_TSC_KHZ);
	return 0;
}

static uint64_t ram_bytes(const struct snap_identity *id)
{
	return (uint64_t)id->memory_mib << 20;
}

static int check_time(const struct snap_time *t, uint64_t ram_size, uint64_t off,
		      struct snap_error *err)
{
	if (t->wall_clock_msr && !gpa_area_ok(t->wall_clock_msr, WALL_CLOCK_LEN, ram_size))
		return FAIL(SNAP_ERR_INCONSISTENT, off,
			    "time: wall clock at GPA 0x%llx outside guest RAM or across a page",
			    (ull)t->wall_clock_msr);
	return 0;
}

static int check_uart(const struct snap_uart *u, uint64_t off, struct snap_error *err)
{
	if (u->ier > 0x0f)
		return FAIL(SNAP_ERR_VALUE, off, "UART: IER 0x%02x has reserved bits 7:4 set", u->ier);
	return 0;
}

static int check_pic(const struct snap_pic *c, uint64_t off, struct snap_error *err)
{
	for (unsigned i = 0; i < 2; i++)
		if (c->icw_step[i] > 3)
			return FAIL(SNAP_ERR_VALUE, off, "PIC %u: icw_step %u above 3", i,
				    c->icw_step[i]);
	return 0;
}

static int check_event(uint64_t ev, unsigned id, uint64_t off, struct snap_error *err)
{
	unsigned vector = (unsigned)(ev & 0xff), type = (unsigned)(ev >> 8) & 7;

	if (!(ev & EVENT_VALID)) {
		if (ev)
			return FAIL(SNAP_ERR_VALUE, off,
				    "vCPU %u: pending event 0x%llx has bits set but not V (bit 31)",
				    id, (ull)ev);
		return 0;
	}
	if (ev & EVENT_RESERVED)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: pending event 0x%llx: reserved bits 30:12 set",
			    id, (ull)ev);
	if (type != 0 && type != 2 && type != 3 && type != 4)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: pending event 0x%llx: type %u is reserved",
			    id, (ull)ev, type);
	if (type == 2 && vector != 2)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: pending NMI with vector %u, not 2", id, vector);
	if (type == 3 && vector > 31)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: pending exception with vector %u above 31",
			    id, vector);
	if ((ev & EVENT_EV) && type != 3)
		return FAIL(SNAP_ERR_VALUE, off,
			    "vCPU %u: pending event 0x%llx: error code valid on a type %u event",
			    id, (ull)ev, type);
	if (!(ev & EVENT_EV) && ev >> 32)
		return FAIL(SNAP_ERR_VALUE, off,
			    "vCPU %u: pending event 0x%llx: error code without EV (bit 11)", id, (ull)ev);
	return 0;
}

static bool pat_ok(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (unsigned)(pat >> (i * 8)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* What VMRUN (APM Vol. 2 15.5.1) and VM entry (SDM Vol. 3C 27.3.1) would
 * refuse, where both vendors agree or one is stricter without the other
 * allowing anything useful; plus the invariants of the format. CPU-specific
 * limits (MAXPHYADDR, CR4 bits a CPU lacks) are the restoring backend's. */
static int check_vcpu(const struct snap_vcpu *v, unsigned id, uint64_t ram_size, uint64_t off,
		      struct snap_error *err)
{
	bool pg = v->cr0 & CR0_PG, lme = v->efer & EFER_LME, lma = v->efer & EFER_LMA;
	const struct snap_segment *cs = &v->seg[SNAP_CS];
	bool code64 = lma && (cs->attr & ATTR_L);
	unsigned vbits = (v->cr4 & CR4_LA57) ? 57 : 48;

	if (v->run_state > SNAP_RUN_WAIT_SIPI)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: unknown run state %u", id, v->run_state);
	if (v->timer_mode > SNAP_TIMER_DEADLINE)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: unknown LAPIC timer mode %u", id,
			    v->timer_mode);
	if (v->timer_remaining && v->timer_mode != SNAP_TIMER_ONESHOT &&
	    v->timer_mode != SNAP_TIMER_PERIODIC)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: LAPIC timer remaining %llu in timer mode %u",
			    id, (ull)v->timer_remaining, v->timer_mode);
	if (v->timer_mode == SNAP_TIMER_DEADLINE && !v->timer_deadline)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: TSC-deadline timer armed with deadline 0", id);

	if (v->cr0 & ~CR0_DEFINED)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR0 0x%llx has reserved bits set", id,
			    (ull)v->cr0);
	if (pg && !(v->cr0 & CR0_PE))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR0.PG without CR0.PE (CR0 0x%llx)", id,
			    (ull)v->cr0);
	if ((v->cr0 & CR0_NW) && !(v->cr0 & CR0_CD))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR0.NW without CR0.CD (CR0 0x%llx)", id,
			    (ull)v->cr0);
	if (v->cr4 >> 32)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR4 0x%llx has bits 63:32 set", id,
			    (ull)v->cr4);
	if (v->cr3 >> 52)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR3 0x%llx has bits 63:52 set", id,
			    (ull)v->cr3);
	if (v->efer & ~EFER_DEFINED)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: EFER 0x%llx has reserved bits set", id,
			    (ull)v->efer);
	if (lma != (pg && lme))
		return FAIL(SNAP_ERR_VALUE, off,
			    "vCPU %u: EFER.LMA=%d with CR0.PG=%d and EFER.LME=%d (LMA must be PG && LME)",
			    id, lma, pg, lme);
	if (lma && !(v->cr4 & CR4_PAE))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: long mode (EFER.LMA) without CR4.PAE", id);
	if ((v->cr4 & CR4_PCIDE) && !lma)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CR4.PCIDE outside long mode", id);

	for (unsigned s = 0; s < SNAP_NR_SEGS; s++)
		if (v->seg[s].attr & 0xf000)
			return FAIL(SNAP_ERR_VALUE, off,
				    "vCPU %u: %s attr 0x%x beyond the 12-bit packing", id, seg_names[s],
				    v->seg[s].attr);
	if (lma && (cs->attr & ATTR_L) && (cs->attr & ATTR_DB))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: CS.L and CS.D both set in long mode (attr 0x%x)",
			    id, cs->attr);
	for (unsigned s = SNAP_ES; s <= SNAP_DS; s++)
		if ((s == SNAP_CS || v->seg[s].attr) && v->seg[s].base >> 32)
			return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: %s base 0x%llx above 4 GiB", id,
				    seg_names[s], (ull)v->seg[s].base);
	for (unsigned s = SNAP_FS; s <= SNAP_IDTR; s++)
		if ((s != SNAP_LDTR || v->seg[s].attr) && !canonical(v->seg[s].base, vbits))
			return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: %s base 0x%llx not canonical", id,
				    seg_names[s], (ull)v->seg[s].base);
	if (v->seg[SNAP_GDTR].limit > 0xffff || v->seg[SNAP_IDTR].limit > 0xffff)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: GDTR/IDTR limit 0x%x/0x%x above 0xffff", id,
			    v->seg[SNAP_GDTR].limit, v->seg[SNAP_IDTR].limit);

	if (code64 ? !canonical(v->rip, vbits) : v->rip >> 32 != 0)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: RIP 0x%llx invalid in %s", id, (ull)v->rip,
			    code64 ? "64-bit mode (not canonical)" : "a 32-bit or smaller code segment");
	if (!(v->rflags & RFLAGS_FIXED1) || (v->rflags & RFLAGS_RESERVED))
		return FAIL(SNAP_ERR_VALUE, off,
			    "vCPU %u: RFLAGS 0x%llx (bit 1 must be set, bits 3, 5, 15, 63:22 clear)",
			    id, (ull)v->rflags);
	if ((v->rflags & RFLAGS_VM) && (lma || !(v->cr0 & CR0_PE)))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: RFLAGS.VM in %s", id,
			    lma ? "long mode" : "real mode");

	if (v->dr6 >> 32 || v->dr7 >> 32)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: DR6 0x%llx / DR7 0x%llx have bits 63:32 set",
			    id, (ull)v->dr6, (ull)v->dr7);
	if (!pat_ok(v->pat))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: PAT 0x%llx holds a reserved memory type", id,
			    (ull)v->pat);
	{
		static const char *const names[5] = {
			"KERNEL_GS_BASE", "LSTAR", "CSTAR", "SYSENTER_ESP", "SYSENTER_EIP"
		};
		const uint64_t vals[5] = {
			v->kernel_gs_base, v->lstar, v->cstar, v->sysenter_esp, v->sysenter_eip
		};

		for (unsigned i = 0; i < 5; i++)
			if (!canonical(vals[i], vbits))
				return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: %s 0x%llx not canonical", id,
					    names[i], (ull)vals[i]);
	}
	if (check_event(v->pending_event, id, off, err))
		return -1;
	if (v->tsc_aux >> 32)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: TSC_AUX 0x%llx wider than 32 bits", id,
			    (ull)v->tsc_aux);
	if (v->apic_base & APIC_BASE_RESERVED)
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: APIC_BASE 0x%llx has reserved bits set", id,
			    (ull)v->apic_base);
	if ((v->apic_base & APIC_BASE_EXTD) && !(v->apic_base & APIC_BASE_EN))
		return FAIL(SNAP_ERR_VALUE, off, "vCPU %u: APIC_BASE 0x%llx: x2APIC without enable", id,
			    (ull)v->apic_base);
	if ((v->pvclock_msr & 1) && !gpa_area_ok(v->pvclock_msr & ~1ull, PVCLOCK_AREA_LEN, ram_size))
		return FAIL(SNAP_ERR_INCONSISTENT, off,
			    "vCPU %u: pvclock area at GPA 0x%llx outside guest RAM or across a page",
			    id, (ull)(v->pvclock_msr & ~1ull));
	return 0;
}

int snap_validate(const struct snap_vm *vm, uint64_t ram_size, struct snap_error *err)
{
	struct snap_error scratch;

	if (!err)
		err = &scratch;
	if (!vm)
		return FAIL(SNAP_ERR_ARGS, 0, "no VM state given");
	if (check_identity(&vm->id, false, 0, err))
		return -1;
	if (ram_size != ram_bytes(&vm->id))
		return FAIL(SNAP_ERR_ARGS, 0, "RAM of %llu bytes, but identity says %u MiB",
			    (ull)ram_size, vm->id.memory_mib);
	if (check_time(&vm->time, ram_size, 0, err) || check_uart(&vm->uart, 0, err) ||
	    check_pic(&vm->pic, 0, err))
		return -1;
	for (unsigned i = 0; i < vm->id.vcpus; i++)
		if (check_vcpu(&vm->vcpu[i], i, ram_size, 0, err))
			return -1;
	return 0;
}

/* ---- section payloads ------------------------------------------------- */

static void put_identity(uint8_t *p, const struct snap_identity *id)
{
	struct wr w = { p + SNAP_NAME_MAX };
	size_t n = strlen(id->name);    /* validated: < SNAP_NAME_MAX */

	memset(p, 0, SNAP_NAME_MAX);
	memcpy(p, id->name, n);
	w32(&w, id->vcpus);
	w32(&w, id->memory_mib);
	w32(&w, (uint32_t)id->tsc_mode);
	w32(&w, id->tsc_khz);
	w32(&w, id->vendor);
}

static void get_identity(const uint8_t *p, struct snap_identity *id)
{
	struct rd r = { p + SNAP_NAME_MAX };

	memcpy(id->name, p, SNAP_NAME_MAX);
	id->vcpus = r32(&r);
	id->memory_mib = r32(&r);
	id->tsc_mode = (enum tsc_mode)r32(&r);
	id->tsc_khz = r32(&r);
	id->vendor = r32(&r);
}

#define TIME_PV_FAST_PATH 1u

static void put_time(uint8_t *p, const struct snap_time *t)
{
	struct wr w = { p };

	w64(&w, t->system_time_ns);
	w64(&w, t->wall_clock_msr);
	w64(&w, t->pvclock_window_gpa);
	w64(&w, t->emul_last);
	w32(&w, t->incarnation);
	w32(&w, t->pv_fast_path ? TIME_PV_FAST_PATH : 0);
}

/* Returns the flags word. */
static uint32_t get_time(const uint8_t *p, struct snap_time *t)
{
	struct rd r = { p };
	uint32_t flags;

	t->system_time_ns = r64(&r);
	t->wall_clock_msr = r64(&r);
	t->pvclock_window_gpa = r64(&r);
	t->emul_last = r64(&r);
	t->incarnation = r32(&r);
	flags = r32(&r);
	t->pv_fast_path = flags & TIME_PV_FAST_PATH;
	return flags;
}

static void put_uart(uint8_t *p, const struct snap_uart *u)
{
	p[0] = u->ier; p[1] = u->lcr; p[2] = u->mcr;
	p[3] = u->scr; p[4] = u->dll; p[5] = u->dlm;
}

static void get_uart(const uint8_t *p, struct snap_uart *u)
{
	u->ier = p[0]; u->lcr = p[1]; u->mcr = p[2];
	u->scr = p[3]; u->dll = p[4]; u->dlm = p[5];
}

static void put_fwcfg(uint8_t *p, const struct snap_fwcfg *f)
{
	put16(p, f->selector);
	put32(p + 2, f->offset);
}

static void get_fwcfg(const uint8_t *p, struct snap_fwcfg *f)
{
	f->selector = get16(p);
	f->offset = get32(p + 2);
}

static void put_pic(uint8_t *p, const struct snap_pic *c)
{
	p[0] = c->imr[0]; p[1] = c->imr[1];
	p[2] = c->icw_step[0]; p[3] = c->icw_step[1];
}

static void get_pic(const uint8_t *p, struct snap_pic *c)
{
	c->imr[0] = p[0]; c->imr[1] = p[1];
	c->icw_step[0] = p[2]; c->icw_step[1] = p[3];
}

#define VCPU_HALTED 1u
#define VCPU_SHADOW 2u

static void put_vcpu(uint8_t *p, const struct snap_vcpu *v, uint32_t id)
{
	struct wr w = { p };

	w32(&w, id);
	w32(&w, v->run_state);
	w32(&w, (v->halted ? VCPU_HALTED : 0) | (v->interrupt_shadow ? VCPU_SHADOW : 0));
	w32(&w, v->timer_mode);
	for (unsigned i = 0; i < SNAP_NR_GPRS; i++)
		w64(&w, v->gpr[i]);
	w64(&w, v->rip);
	w64(&w, v->rflags);
	for (unsigned s = 0; s < SNAP_NR_SEGS; s++) {
		w16(&w, v->seg[s].sel);
		w16(&w, v->seg[s].attr);
		w32(&w, v->seg[s].limit);
		w64(&w, v->seg[s].base);
	}
	w64(&w, v->cr0); w64(&w, v->cr2); w64(&w, v->cr3); w64(&w, v->cr4);
	w64(&w, v->efer); w64(&w, v->pat); w64(&w, v->dr6); w64(&w, v->dr7);
	w64(&w, v->kernel_gs_base); w64(&w, v->star); w64(&w, v->lstar); w64(&w, v->cstar);
	w64(&w, v->sfmask); w64(&w, v->sysenter_cs); w64(&w, v->sysenter_esp);
	w64(&w, v->sysenter_eip);
	w64(&w, v->pending_event);
	w64(&w, v->tsc_aux);
	w64(&w, v->apic_base);
	w64(&w, v->tsc);
	w64(&w, v->tsc_adjust);
	w64(&w, v->pvclock_msr);
	w64(&w, v->timer_remaining);
	w64(&w, v->timer_deadline);
	for (unsigned i = 0; i < 64; i++)
		w32(&w, v->lapic[i]);
}

/* Fills *v (not its id) and returns the flags word. */
static uint32_t get_vcpu(const uint8_t *p, struct snap_vcpu *v)
{
	struct rd r = { p + 4 };   /* past the id */
	uint32_t flags;

	v->run_state = r32(&r);
	flags = r32(&r);
	v->halted = flags & VCPU_HALTED;
	v->interrupt_shadow = flags & VCPU_SHADOW;
	v->timer_mode = r32(&r);
	for (unsigned i = 0; i < SNAP_NR_GPRS; i++)
		v->gpr[i] = r64(&r);
	v->rip = r64(&r);
	v->rflags = r64(&r);
	for (unsigned s = 0; s < SNAP_NR_SEGS; s++) {
		v->seg[s].sel = r16(&r);
		v->seg[s].attr = r16(&r);
		v->seg[s].limit = r32(&r);
		v->seg[s].base = r64(&r);
	}
	v->cr0 = r64(&r); v->cr2 = r64(&r); v->cr3 = r64(&r); v->cr4 = r64(&r);
	v->efer = r64(&r); v->pat = r64(&r); v->dr6 = r64(&r); v->dr7 = r64(&r);
	v->kernel_gs_base = r64(&r); v->star = r64(&r); v->lstar = r64(&r); v->cstar = r64(&r);
	v->sfmask = r64(&r); v->sysenter_cs = r64(&r); v->sysenter_esp = r64(&r);
	v->sysenter_eip = r64(&r);
	v->pending_event = r64(&r);
	v->tsc_aux = r64(&r);
	v->apic_base = r64(&r);
	v->tsc = r64(&r);
	v->tsc_adjust = r64(&r);
	v->pvclock_msr = r64(&r);
	v->timer_remaining = r64(&r);
	v->timer_deadline = r64(&r);
	for (unsigned i = 0; i < 64; i++)
		v->lapic[i] = r32(&r);
	return flags;
}

/* ---- encoder ---------------------------------------------------------- */

static bool page_is_zero(const uint8_t *p)
{
	for (unsigned i = 0; i < SNAP_PAGE_SIZE; i += 64) {
		uint64_t acc = 0, w;

		for (unsigned j = 0; j < 64; j += 8) {
			memcpy(&w, p + i + j, 8);
			acc |= w;
		}
		if (acc)
			return false;
	}
	return true;
}

/* Runs of consecutive non-zero pages and their total page count. */
static void ram_scan(const uint8_t *ram, uint64_t ram_size, uint64_t *runs, uint64_t *pages)
{
	uint64_t npages = ram_size / SNAP_PAGE_SIZE;
	bool in_run = false;

	*runs = *pages = 0;
	for (uint64_t i = 0; i < npages; i++) {
		bool nz = !page_is_zero(ram + i * SNAP_PAGE_SIZE);

		if (nz) {
			*pages += 1;
			if (!in_run)
				*runs += 1;
		}
		in_run = nz;
	}
}

static uint64_t size_for(unsigned vcpus, uint64_t runs, uint64_t pages)
{
	return SNAP_HEADER_LEN +
	       SNAP_SECTION_HDR_LEN + SNAP_IDENTITY_LEN +
	       SNAP_SECTION_HDR_LEN + SNAP_TIME_LEN +
	       (uint64_t)vcpus * (SNAP_SECTION_HDR_LEN + SNAP_VCPU_LEN) +
	       SNAP_SECTION_HDR_LEN + SNAP_UART_LEN +
	       SNAP_SECTION_HDR_LEN + SNAP_FWCFG_LEN +
	       SNAP_SECTION_HDR_LEN + SNAP_PIC_LEN +
	       SNAP_SECTION_HDR_LEN + SNAP_RAM_HDR_LEN + runs * SNAP_RAM_RUN_LEN +
	       pages * SNAP_PAGE_SIZE +
	       SNAP_TRAILER_LEN;
}

size_t snap_encoded_size(const struct snap_vm *vm, const uint8_t *ram, uint64_t ram_size)
{
	uint64_t runs, pages, total;

	if (!ram || snap_validate(vm, ram_size, NULL))
		return 0;
	ram_scan(ram, ram_size, &runs, &pages);
	total = size_for(vm->id.vcpus, runs, pages);
	return total == (size_t)total ? (size_t)total : 0;
}

struct emitter {
	void (*emit)(void *ctx, const void *buf, size_t len);
	void *ctx;
	uint64_t crc;
	uint64_t n;
};

static void out(struct emitter *e, const void *buf, size_t len)
{
	e->crc = snap_crc64(e->crc, buf, len);
	e->n += len;
	e->emit(e->ctx, buf, len);
}

static void put_sec_hdr(uint8_t *p, uint32_t type, uint64_t len)
{
	put32(p, type);
	put32(p + 4, 1);
	put64(p + 8, len);
}

/* One fixed-size section, built in `b` (large enough for a vCPU section). */
static void out_section(struct emitter *e, uint8_t *b, uint32_t type, uint32_t len)
{
	put_sec_hdr(b, type, len);
	out(e, b, SNAP_SECTION_HDR_LEN + len);
}

int snap_encode(const struct snap_vm *vm, const uint8_t *ram, uint64_t ram_size,
		void (*emit)(void *ctx, const void *buf, size_t len), void *ctx)
{
	uint8_t b[SNAP_SECTION_HDR_LEN + SNAP_VCPU_LEN];
	struct emitter e = { emit, ctx, 0, 0 };
	uint64_t runs, pages, total, npages, done_runs = 0, done_pages = 0;

	if (!emit || !ram || snap_validate(vm, ram_size, NULL))
		return -1;
	ram_scan(ram, ram_size, &runs, &pages);
	total = size_for(vm->id.vcpus, runs, pages);
	if (runs > UINT32_MAX)
		return -1;   /* cannot happen: at most 2^24 pages of RAM */

	memcpy(b, SNAP_MAGIC, 8);
	put32(b + 8, SNAP_FORMAT_VERSION);
	put32(b + 12, SNAP_HEADER_LEN);
	put32(b + 16, 0);                         /* flags */
	put32(b + 20, 6 + vm->id.vcpus);          /* section count */
	put64(b + 24, total);
	out(&e, b, SNAP_HEADER_LEN);

	put_identity(b + SNAP_SECTION_HDR_LEN, &vm->id);
	out_section(&e, b, SNAP_SEC_IDENTITY, SNAP_IDENTITY_LEN);
	put_time(b + SNAP_SECTION_HDR_LEN, &vm->time);
	out_section(&e, b, SNAP_SEC_TIME, SNAP_TIME_LEN);
	for (unsigned i = 0; i < vm->id.vcpus; i++) {
		put_vcpu(b + SNAP_SECTION_HDR_LEN, &vm->vcpu[i], i);
		out_section(&e, b, SNAP_SEC_VCPU, SNAP_VCPU_LEN);
	}
	put_uart(b + SNAP_SECTION_HDR_LEN, &vm->uart);
	out_section(&e, b, SNAP_SEC_UART, SNAP_UART_LEN);
	put_fwcfg(b + SNAP_SECTION_HDR_LEN, &vm->fwcfg);
	out_section(&e, b, SNAP_SEC_FWCFG, SNAP_FWCFG_LEN);
	put_pic(b + SNAP_SECTION_HDR_LEN, &vm->pic);
	out_section(&e, b, SNAP_SEC_PIC, SNAP_PIC_LEN);

	put_sec_hdr(b, SNAP_SEC_RAM, SNAP_RAM_HDR_LEN + runs * SNAP_RAM_RUN_LEN +
		    pages * SNAP_PAGE_SIZE);
	put64(b + 16, ram_size);
	put32(b + 24, SNAP_PAGE_SIZE);
	put32(b + 28, (uint32_t)runs);
	out(&e, b, SNAP_SECTION_HDR_LEN + SNAP_RAM_HDR_LEN);

	npages = ram_size / SNAP_PAGE_SIZE;
	for (uint64_t i = 0; i < npages; ) {
		uint64_t first, count;

		if (page_is_zero(ram + i * SNAP_PAGE_SIZE)) {
			i++;
			continue;
		}
		first = i;
		while (i < npages && !page_is_zero(ram + i * SNAP_PAGE_SIZE))
			i++;
		count = i - first;
		/* RAM that changed since ram_scan() would break the lengths
		 * already emitted: stop (the stream is then short). */
		if (++done_runs > runs || (done_pages += count) > pages)
			return -1;
		put64(b, first);
		put64(b + 8, count);
		out(&e, b, SNAP_RAM_RUN_LEN);
		for (uint64_t pg = first; pg < i; pg++)
			out(&e, ram + pg * SNAP_PAGE_SIZE, SNAP_PAGE_SIZE);
	}
	if (done_runs != runs || done_pages != pages || e.n != total - SNAP_TRAILER_LEN)
		return -1;
	put64(b, e.crc);
	e.emit(e.ctx, b, SNAP_TRAILER_LEN);
	return 0;
}

/* ---- decoder ---------------------------------------------------------- */

struct sec {
	const uint8_t *p;       /* payload; NULL: absent */
	uint64_t len;           /* payload length */
	uint64_t off;           /* file offset of the section header */
};

/* Where every section is, and the identity, after parse() succeeded. */
struct layout {
	struct sec one[SNAP_SEC_RAM + 1];       /* singletons by type */
	struct sec vcpu[SNAP_MAX_VCPUS];        /* in file order */
	unsigned nvcpu;
	struct snap_identity id;
	uint64_t ram_size;
};

static uint64_t fixed_len(uint32_t type)
{
	switch (type) {
	case SNAP_SEC_IDENTITY: return SNAP_IDENTITY_LEN;
	case SNAP_SEC_TIME: return SNAP_TIME_LEN;
	case SNAP_SEC_VCPU: return SNAP_VCPU_LEN;
	case SNAP_SEC_UART: return SNAP_UART_LEN;
	case SNAP_SEC_FWCFG: return SNAP_FWCFG_LEN;
	case SNAP_SEC_PIC: return SNAP_PIC_LEN;
	default: return 0;      /* RAM: variable */
	}
}

static int parse_header(const uint8_t *buf, size_t len, uint32_t *count, uint64_t *total,
			struct snap_error *err)
{
	uint32_t version, hlen, flags;
	uint64_t crc_stored, crc;

	if (len == 0)
		return FAIL(SNAP_ERR_TRUNCATED, 0, "truncated: empty snapshot");
	if (!buf)
		return FAIL(SNAP_ERR_ARGS, 0, "no snapshot buffer given");
	if (memcmp(buf, SNAP_MAGIC, len < 8 ? len : 8) != 0)
		return FAIL(SNAP_ERR_MAGIC, 0, "bad magic: not a tscvisor snapshot (want \"%s\")",
			    SNAP_MAGIC);
	if (len < 12)
		return FAIL(SNAP_ERR_TRUNCATED, 0, "truncated: %zu bytes, shorter than the %u-byte header",
			    len, SNAP_HEADER_LEN);
	version = get32(buf + 8);
	if (version != SNAP_FORMAT_VERSION)
		return FAIL(SNAP_ERR_VERSION, 8, "foreign version: format version %u, this build reads %u",
			    version, SNAP_FORMAT_VERSION);
	if (len < SNAP_HEADER_LEN)
		return FAIL(SNAP_ERR_TRUNCATED, 0, "truncated: %zu bytes, shorter than the %u-byte header",
			    len, SNAP_HEADER_LEN);
	hlen = get32(buf + 12);
	flags = get32(buf + 16);
	*count = get32(buf + 20);
	*total = get64(buf + 24);
	if (hlen != SNAP_HEADER_LEN)
		return FAIL(SNAP_ERR_HEADER, 12, "header length %u, version %u has %u", hlen,
			    SNAP_FORMAT_VERSION, SNAP_HEADER_LEN);
	if (flags)
		return FAIL(SNAP_ERR_HEADER, 16, "unknown header flags 0x%x", flags);
	if (*total < SNAP_HEADER_LEN + SNAP_TRAILER_LEN)
		return FAIL(SNAP_ERR_HEADER, 24, "total length %llu below the %u bytes of header and trailer",
			    (ull)*total, SNAP_HEADER_LEN + SNAP_TRAILER_LEN);
	if (*total > len)
		return FAIL(SNAP_ERR_TRUNCATED, len,
			    "truncated: %zu bytes, the header says the snapshot has %llu", len,
			    (ull)*total);
	if (*total < len)
		return FAIL(SNAP_ERR_HEADER, *total,
			    "total length %llu, but %zu bytes given (trailing data)", (ull)*total, len);
	crc_stored = get64(buf + *total - SNAP_TRAILER_LEN);
	crc = snap_crc64(0, buf, (size_t)(*total - SNAP_TRAILER_LEN));
	if (crc != crc_stored)
		return FAIL(SNAP_ERR_CHECKSUM, *total - SNAP_TRAILER_LEN,
			    "checksum mismatch: CRC-64 0x%016llx stored, 0x%016llx computed",
			    (ull)crc_stored, (ull)crc);
	return 0;
}

/* Frame the sections: each header and payload inside the body, known types
 * at version 1 with their length, singletons once. */
static int parse_sections(const uint8_t *buf, uint32_t count, uint64_t total, struct layout *L,
			  struct snap_error *err)
{
	uint64_t pos = SNAP_HEADER_LEN, end = total - SNAP_TRAILER_LEN;

	for (uint32_t i = 0; i < count; i++) {
		uint32_t type, version;
		uint64_t slen, want;
		struct sec s;

		if (end - pos < SNAP_SECTION_HDR_LEN)
			return FAIL(SNAP_ERR_LAYOUT, pos,
				    "section %u of %u: header at offset %llu runs past the body's end at %llu",
				    i, count, (ull)pos, (ull)end);
		type = get32(buf + pos);
		version = get32(buf + pos + 4);
		slen = get64(buf + pos + 8);
		if (slen > end - pos - SNAP_SECTION_HDR_LEN)
			return FAIL(SNAP_ERR_OVERSIZED, pos,
				    "section %u (%s, offset %llu): length %llu runs past the body's end at %llu",
				    i, snap_section_name(type), (ull)pos, (ull)slen, (ull)end);
		s.p = buf + pos + SNAP_SECTION_HDR_LEN;
		s.len = slen;
		s.off = pos;
		pos += SNAP_SECTION_HDR_LEN + slen;

		if (type < SNAP_SEC_IDENTITY || type > SNAP_SEC_RAM) {
			if (type & SNAP_SEC_OPTIONAL)
				continue;       /* an optional section from a newer writer */
			return FAIL(SNAP_ERR_UNKNOWN_SECTION, s.off,
				    "section %u (offset %llu): unknown mandatory section type 0x%x",
				    i, (ull)s.off, type);
		}
		if (version != 1)
			return FAIL(SNAP_ERR_VERSION, s.off,
				    "foreign version: section %s (offset %llu) has version %u, this build reads 1",
				    snap_section_name(type), (ull)s.off, version);
		want = fixed_len(type);
		if (want ? slen != want : slen < SNAP_RAM_HDR_LEN)
			return FAIL(SNAP_ERR_SECTION_SIZE, s.off,
				    "section %s (offset %llu): length %llu, version 1 has %s%llu",
				    snap_section_name(type), (ull)s.off, (ull)slen,
				    want ? "" : "at least ", (ull)(want ? want : SNAP_RAM_HDR_LEN));
		if (type == SNAP_SEC_VCPU) {
			if (L->nvcpu == SNAP_MAX_VCPUS)
				return FAIL(SNAP_ERR_OVERSIZED, s.off,
					    "more than %u VCPU sections", SNAP_MAX_VCPUS);
			L->vcpu[L->nvcpu++] = s;
		} else {
			if (L->one[type].p)
				return FAIL(SNAP_ERR_DUPLICATE, s.off,
					    "duplicate section: a second %s at offset %llu (the first at %llu)",
					    snap_section_name(type), (ull)s.off, (ull)L->one[type].off);
			L->one[type] = s;
		}
	}
	if (pos != end)
		return FAIL(SNAP_ERR_LAYOUT, pos, "%llu bytes after the last of the %u sections",
			    (ull)(end - pos), count);
	return 0;
}

static int parse_ram(const struct sec *s, uint64_t ram_size, struct snap_error *err)
{
	const uint8_t *p = s->p;
	uint64_t rsize = get64(p), npages = ram_size / SNAP_PAGE_SIZE, next = 0;
	uint64_t q = SNAP_RAM_HDR_LEN;
	uint32_t psize = get32(p + 8), runs = get32(p + 12);

	if (rsize != ram_size)
		return FAIL(SNAP_ERR_INCONSISTENT, s->off,
			    "RAM section holds %llu bytes, identity says %llu (%llu MiB)",
			    (ull)rsize, (ull)ram_size, (ull)(ram_size >> 20));
	if (psize != SNAP_PAGE_SIZE)
		return FAIL(SNAP_ERR_VALUE, s->off, "RAM page size %u, version 1 has %u", psize,
			    SNAP_PAGE_SIZE);
	for (uint32_t r = 0; r < runs; r++) {
		uint64_t first, count, at = s->off + SNAP_SECTION_HDR_LEN + q;

		if (s->len - q < SNAP_RAM_RUN_LEN)
			return FAIL(SNAP_ERR_SECTION_SIZE, at,
				    "RAM run %u of %u: record runs past the section's end", r, runs);
		first = get64(p + q);
		count = get64(p + q + 8);
		q += SNAP_RAM_RUN_LEN;
		if (count == 0)
			return FAIL(SNAP_ERR_VALUE, at, "RAM run %u: no pages", r);
		if (first < next)
			return FAIL(SNAP_ERR_VALUE, at,
				    "RAM run %u: first page %llu overlaps or precedes the previous run (ending at %llu)",
				    r, (ull)first, (ull)next);
		if (first >= npages || count > npages - first)
			return FAIL(SNAP_ERR_INCONSISTENT, at,
				    "RAM run %u: pages beyond guest RAM: first %llu, count %llu, RAM has %llu pages",
				    r, (ull)first, (ull)count, (ull)npages);
		if (count > (s->len - q) / SNAP_PAGE_SIZE)
			return FAIL(SNAP_ERR_SECTION_SIZE, at,
				    "RAM run %u: %llu pages, but only %llu bytes left in the section",
				    r, (ull)count, (ull)(s->len - q));
		q += count * SNAP_PAGE_SIZE;
		next = first + count;
	}
	if (q != s->len)
		return FAIL(SNAP_ERR_SECTION_SIZE, s->off + SNAP_SECTION_HDR_LEN + q,
			    "%llu bytes after the last of %u RAM runs", (ull)(s->len - q), runs);
	return 0;
}

static int parse(const uint8_t *buf, size_t len, bool have_cap, uint64_t ram_cap,
		 struct layout *L, struct snap_error *err)
{
	static const uint32_t mandatory[] = {
		SNAP_SEC_IDENTITY, SNAP_SEC_TIME, SNAP_SEC_VCPU, SNAP_SEC_UART,
		SNAP_SEC_FWCFG, SNAP_SEC_PIC, SNAP_SEC_RAM,
	};
	struct snap_vcpu v;
	struct snap_time t;
	struct snap_uart u;
	struct snap_pic c;
	uint32_t count;
	uint64_t total, seen = 0;

	memset(L, 0, sizeof(*L));
	if (parse_header(buf, len, &count, &total, err) ||
	    parse_sections(buf, count, total, L, err))
		return -1;
	for (unsigned i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		uint32_t type = mandatory[i];

		if (type == SNAP_SEC_VCPU ? L->nvcpu == 0 : !L->one[type].p)
			return FAIL(SNAP_ERR_MISSING, 0, "missing mandatory section %s",
				    snap_section_name(type));
	}

	get_identity(L->one[SNAP_SEC_IDENTITY].p, &L->id);
	if (check_identity(&L->id, true, L->one[SNAP_SEC_IDENTITY].off, err))
		return -1;
	L->ram_size = ram_bytes(&L->id);
	if (L->nvcpu != L->id.vcpus)
		return FAIL(SNAP_ERR_INCONSISTENT, L->one[SNAP_SEC_IDENTITY].off,
			    "identity says %u vCPUs, the snapshot holds %u VCPU sections",
			    L->id.vcpus, L->nvcpu);
	if (have_cap && L->ram_size > ram_cap)
		return FAIL(SNAP_ERR_OVERSIZED, L->one[SNAP_SEC_IDENTITY].off,
			    "guest RAM of %u MiB does not fit the %llu bytes given",
			    L->id.memory_mib, (ull)ram_cap);

	for (unsigned i = 0; i < L->nvcpu; i++) {
		const struct sec *s = &L->vcpu[i];
		uint32_t id = get32(s->p), flags;

		if (id >= L->id.vcpus)
			return FAIL(SNAP_ERR_INCONSISTENT, s->off,
				    "VCPU section at offset %llu: id %u out of range 0..%u",
				    (ull)s->off, id, L->id.vcpus - 1);
		if (seen & (1ull << id))
			return FAIL(SNAP_ERR_DUPLICATE, s->off,
				    "duplicate vCPU id %u (second VCPU section at offset %llu)",
				    id, (ull)s->off);
		seen |= 1ull << id;
		flags = get_vcpu(s->p, &v);
		if (flags & ~(VCPU_HALTED | VCPU_SHADOW))
			return FAIL(SNAP_ERR_VALUE, s->off, "vCPU %u: unknown flags 0x%x", id, flags);
		if (check_vcpu(&v, id, L->ram_size, s->off, err))
			return -1;
	}

	if (get_time(L->one[SNAP_SEC_TIME].p, &t) & ~TIME_PV_FAST_PATH)
		return FAIL(SNAP_ERR_VALUE, L->one[SNAP_SEC_TIME].off, "time: unknown flags 0x%x",
			    get32(L->one[SNAP_SEC_TIME].p + 36));
	if (check_time(&t, L->ram_size, L->one[SNAP_SEC_TIME].off, err))
		return -1;
	get_uart(L->one[SNAP_SEC_UART].p, &u);
	if (check_uart(&u, L->one[SNAP_SEC_UART].off, err))
		return -1;
	get_pic(L->one[SNAP_SEC_PIC].p, &c);
	if (check_pic(&c, L->one[SNAP_SEC_PIC].off, err))
		return -1;
	return parse_ram(&L->one[SNAP_SEC_RAM], L->ram_size, err);
}

/* After parse(): cannot fail. */
static void fill(const struct layout *L, struct snap_vm *out)
{
	memset(out, 0, sizeof(*out));
	out->id = L->id;
	get_time(L->one[SNAP_SEC_TIME].p, &out->time);
	get_uart(L->one[SNAP_SEC_UART].p, &out->uart);
	get_fwcfg(L->one[SNAP_SEC_FWCFG].p, &out->fwcfg);
	get_pic(L->one[SNAP_SEC_PIC].p, &out->pic);
	for (unsigned i = 0; i < L->nvcpu; i++)
		get_vcpu(L->vcpu[i].p, &out->vcpu[get32(L->vcpu[i].p)]);
}

/* After parse(): zero the gaps, copy the runs. */
static void write_ram(const struct sec *s, uint8_t *ram, uint64_t ram_size)
{
	const uint8_t *p = s->p + SNAP_RAM_HDR_LEN;
	uint32_t runs = get32(s->p + 12);
	uint64_t next = 0;

	for (uint32_t r = 0; r < runs; r++) {
		uint64_t first = get64(p), count = get64(p + 8);

		p += SNAP_RAM_RUN_LEN;
		memset(ram + next * SNAP_PAGE_SIZE, 0, (size_t)((first - next) * SNAP_PAGE_SIZE));
		memcpy(ram + first * SNAP_PAGE_SIZE, p, (size_t)(count * SNAP_PAGE_SIZE));
		p += count * SNAP_PAGE_SIZE;
		next = first + count;
	}
	memset(ram + next * SNAP_PAGE_SIZE, 0, (size_t)(ram_size - next * SNAP_PAGE_SIZE));
}

int snap_check(const uint8_t *buf, size_t len, struct snap_vm *out, struct snap_error *err)
{
	struct snap_error scratch;
	struct layout L;

	if (!err)
		err = &scratch;
	if (parse(buf, len, false, 0, &L, err))
		return -1;
	if (out)
		fill(&L, out);
	err->code = SNAP_OK;
	err->offset = 0;
	err->msg[0] = 0;
	return 0;
}

int snap_decode(const uint8_t *buf, size_t len, struct snap_vm *out,
		uint8_t *ram, uint64_t ram_cap, struct snap_error *err)
{
	struct snap_error scratch;
	struct layout L;

	if (!err)
		err = &scratch;
	if (!ram)
		return FAIL(SNAP_ERR_ARGS, 0, "no RAM buffer given");
	if (parse(buf, len, true, ram_cap, &L, err))
		return -1;
	if (out)
		fill(&L, out);
	write_ram(&L.one[SNAP_SEC_RAM], ram, L.ram_size);
	err->code = SNAP_OK;
	err->offset = 0;
	err->msg[0] = 0;
	return 0;
}
