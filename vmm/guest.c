/* The guest's instruction stream: where RIP points, through the guest's own
 * page tables, and what the instruction there is. Needed where the hardware
 * gives no instruction length (SVM without NRIPS) or no decoded operands
 * (MMIO without decode assists). */
#include <string.h>
#include <tscvisor/exit.h>
#include <tscvisor/fastexit.h>
#include <tscvisor/guest.h>
#include <tscvisor/guest_walk.h>
#include <tscvisor/guestmem.h>
#include <tscvisor/log.h>
#include <tscvisor/vm.h>
#include <tscvisor/x86.h>

bool guest_long_mode(struct vcpu *v)
{
	struct vcpu_sregs s;

	v->vm->ops->get_sregs(v, &s);
	return (s.efer & X86_EFER_LMA) && (s.seg[SEG_CS].attr & X86_SEG_ATTR_L);
}

static int decode_slow(struct vcpu *v, struct x86_insn *insn);
static int translate_rip(struct vcpu *v, uint64_t *gpa, struct guest_walk_path *path);

static int read_guest_ram(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	const struct vm *vm = ctx;
	uint64_t off;

	if (!gmem_offset(vm->ram_size, gpa, len, &off))
		return -1;
	memcpy(buf, vm->ram + off, len);
	return 0;
}

/* The guest's paging state, for guest_walk(). */
static struct guest_mmu mmu_of(struct vcpu *v, const struct vcpu_sregs *s)
{
	return (struct guest_mmu){
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.maxphyaddr = 48, .read_gpa = read_guest_ram, .ctx = v->vm,
	};
}

/* The cached instruction's bytes are still in guest RAM (dc->off: where in
 * the host buffer): the first 8 bytes compared as one word (masked to the
 * length) where the buffer reaches that far. */
static bool same_bytes(const struct vm *vm, const struct decode_cache *dc)
{
	uint64_t a, b, mask;

	if (dc->len > 8 || dc->off + 8 > vm->ram_size)
		return !memcmp(vm->ram + dc->off, dc->bytes, dc->len);
	__builtin_memcpy(&a, vm->ram + dc->off, 8);   /* one load, not a call */
	__builtin_memcpy(&b, dc->bytes, 8);
	mask = dc->len == 8 ? ~0ull : (1ull << (8 * dc->len)) - 1;
	return !((a ^ b) & mask);
}

/* RIP still translates as when the entry was made: every paging-structure
 * entry of that walk holds the same value. This is on every trapped
 * RDTSC/CPUID without NRIPS, so the usual case (8-byte entries) is one
 * load, XOR and OR per level, no branch per level; 32-bit paging goes
 * through guest_walk_path_same(). */
static inline bool same_path(const struct vm *vm, const struct decode_cache *dc)
{
	const uint64_t *const *p = dc->pte;
	const uint64_t *val = dc->path.val;
	uint64_t d = 0;

	switch (dc->npte) {
	case 5: d |= *p[4] ^ val[4]; /* fall through */
	case 4: d |= *p[3] ^ val[3]; /* fall through */
	case 3: d |= *p[2] ^ val[2]; /* fall through */
	case 2: d |= *p[1] ^ val[1]; /* fall through */
	case 1: d |= *p[0] ^ val[0]; /* fall through */
	case 0: return d == 0;
	default:
		return guest_walk_path_same(&dc->path, vm->ram, vm->ram_size);
	}
}

/* The host pointers same_path() reads, from a walk's path (every entry of
 * it was read from RAM, so each lies inside it). */
static void set_path(const struct vm *vm, struct decode_cache *dc)
{
	unsigned i;

	dc->npte = DC_PATH_SLOW;
	if (dc->path.n && dc->path.size != 8)
		return;
	for (i = 0; i < dc->path.n; i++) {
		uint64_t off;

		if (!gmem_offset(vm->ram_size, dc->path.gpa[i], 8, &off))
			return;
		dc->pte[i] = (const uint64_t *)(const void *)(vm->ram + off);
	}
	dc->npte = dc->path.n;
}

_Static_assert(sizeof(struct x86_insn) <= sizeof(((struct decode_cache *)0)->insn),
	       "decode_cache.insn holds a struct x86_insn");

/* The instruction at RIP, from the cache when RIP and CR3 are those of the
 * last decode, RIP still translates to the same guest-physical address (the
 * page-table entries of that translation hold what they held: a guest that
 * remaps the page under the same CR3, with INVLPG, changes one of them) and
 * the instruction's bytes are still there (a trapped RDTSC in a loop decodes
 * once). The check costs one load per paging level and one for the bytes;
 * no walk. */
const struct x86_insn *guest_insn_at_rip(struct vcpu *v)
{
	uint64_t cr3 = v->vm->ops->get_cr3(v), rip = v->regs.rip;
	struct decode_cache *dc;
	struct x86_insn *insn;
	unsigned i;

	/* Fully associative: a direct-mapped index let two RIPs of one loop
	 * (a pvclock read's RDTSC and the bench's bracket) evict each other. */
	for (i = 0; i < 4; i++) {
		dc = &v->dcache[i];
		if (dc->len && dc->rip == rip && dc->cr3 == cr3 &&
		    same_path(v->vm, dc) &&
		    same_bytes(v->vm, dc)) {
			fastexit_learn(v, dc, ((struct x86_insn *)dc->insn)->kind);   /* exit fast path */
			return (struct x86_insn *)dc->insn;
		}
	}
	dc = &v->dcache[v->dcache_next++ & 3];
	insn = (struct x86_insn *)dc->insn;
	/* Decoded into the slot, which holds no valid entry until the
	 * instruction's guest-physical address is known. */
	dc->len = 0;
	if (decode_slow(v, insn))
		return NULL;
	if (translate_rip(v, &dc->gpa, &dc->path) == 0 &&
	    (dc->gpa & (X86_PAGE_SIZE - 1)) + insn->len <= X86_PAGE_SIZE &&
	    gmem_offset(v->vm->ram_size, dc->gpa, insn->len, &dc->off)) {
		memcpy(dc->bytes, v->vm->ram + dc->off, insn->len);
		set_path(v->vm, dc);
		dc->rip = v->regs.rip;
		dc->cr3 = cr3;
		dc->len = insn->len;
		fastexit_learn(v, dc, insn->kind);   /* exit fast path */
	}
	return insn;
}

int guest_decode_at_rip(struct vcpu *v, struct x86_insn *insn)
{
	const struct x86_insn *p = guest_insn_at_rip(v);

	if (!p)
		return -1;
	memcpy(insn, p, sizeof(*insn));
	return 0;
}

/* Up to 15 instruction bytes at RIP through the guest's page tables, and the
 * mode they are to be decoded in; the count read (0 when RIP does not
 * translate). */
static unsigned fetch_at_rip(struct vcpu *v, uint8_t bytes[X86_MAX_INSN_LEN], enum cpu_mode *mode)
{
	struct vcpu_sregs s;
	struct guest_mmu mmu;
	unsigned got = 0;
	uint64_t la;

	v->vm->ops->get_sregs(v, &s);
	*mode = x86_cpu_mode(s.cr0, s.efer, v->regs.rflags, s.seg[SEG_CS].attr & X86_SEG_ATTR_L,
			     s.seg[SEG_CS].attr & X86_SEG_ATTR_DB);
	/* In 64-bit mode the CS base is ignored (SDM Vol. 3A 3.2.4). */
	la = *mode == CPU_MODE_64 ? v->regs.rip : s.seg[SEG_CS].base + v->regs.rip;
	mmu = mmu_of(v, &s);
	if (guest_fetch(&mmu, la, bytes, X86_MAX_INSN_LEN, &got, NULL, NULL) != GW_OK)
		return 0;
	return got;
}

static int decode_slow(struct vcpu *v, struct x86_insn *insn)
{
	uint8_t bytes[X86_MAX_INSN_LEN];
	enum cpu_mode mode;
	unsigned got = fetch_at_rip(v, bytes, &mode);

	return got && x86_decode(bytes, got, mode, insn) == 0 ? 0 : -1;
}

/* Up to 15 instruction bytes at RIP, for a log line; the count read (0 when
 * RIP does not translate). */
unsigned guest_bytes_at_rip(struct vcpu *v, uint8_t bytes[X86_MAX_INSN_LEN])
{
	enum cpu_mode mode;

	return fetch_at_rip(v, bytes, &mode);
}

/* The guest-physical address of RIP and the entries that gave it (for the
 * decode cache). */
static int translate_rip(struct vcpu *v, uint64_t *gpa, struct guest_walk_path *path)
{
	struct vcpu_sregs s;
	struct guest_mmu mmu;
	struct guest_xlat x;
	uint64_t la;
	bool lm;

	v->vm->ops->get_sregs(v, &s);
	lm = (s.efer & X86_EFER_LMA) && (s.seg[SEG_CS].attr & X86_SEG_ATTR_L);
	la = lm ? v->regs.rip : s.seg[SEG_CS].base + v->regs.rip;
	mmu = mmu_of(v, &s);
	if (guest_walk(&mmu, la, &x) != GW_OK)
		return -1;
	*gpa = x.gpa;
	*path = x.path;
	return 0;
}

bool guest_pf_unexplained_now(struct vcpu *v, uint64_t la, uint32_t pfec)
{
	struct vcpu_sregs s;
	struct guest_mmu mmu;

	v->vm->ops->get_sregs(v, &s);
	mmu = mmu_of(v, &s);
	return guest_pf_unexplained(&mmu, la, pfec);
}

/* The register dump of a VM that stops (include/tscvisor/exit.h). */
void vcpu_dump(struct vcpu *v, const char *why)
{
	const struct gprs *g = &v->regs;

	log_raw("*** VM '%s' vCPU %u: %s\n", v->vm->name, v->id, why);
	log_raw("  RIP 0x%016lx RFLAGS 0x%lx RSP 0x%016lx\n", g->rip, g->rflags, g->rsp);
	log_raw("  RAX 0x%016lx RBX 0x%016lx RCX 0x%016lx RDX 0x%016lx\n", g->rax, g->rbx, g->rcx,
		g->rdx);
	log_raw("  RSI 0x%016lx RDI 0x%016lx RBP 0x%016lx R8  0x%016lx\n", g->rsi, g->rdi, g->rbp,
		g->r8);
	log_raw("  R9  0x%016lx R10 0x%016lx R11 0x%016lx R12 0x%016lx\n", g->r9, g->r10, g->r11,
		g->r12);
	log_raw("  R13 0x%016lx R14 0x%016lx R15 0x%016lx\n", g->r13, g->r14, g->r15);
	v->vm->ops->dump(v);
}
