/* libFuzzer target for pure/x86_decode.c, which decodes instruction bytes the
 * guest wrote at its RIP. The first input byte picks the CPU mode, the rest
 * are the instruction bytes, copied into a buffer of exactly that size so
 * that ASan catches any read at or past bytes[avail].
 *
 * Invariants checked on every input:
 *   - a success has len 1..15 and len <= avail, sane field values (sizes,
 *     register numbers, displacement length, kind), and decodes the same
 *     from exactly len bytes;
 *   - the same bytes cut to len-1 are ETRUNC (the length is exact);
 *   - a failure is one of the four X86_DECODE_* codes, and ETRUNC only
 *     when fewer than 15 bytes were given;
 *   - decoding is deterministic.
 * Run through `make fuzz` (docs/testing.md). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/x86_decode.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int decode_copy(const uint8_t *src, unsigned n, enum cpu_mode mode, struct x86_insn *out)
{
	uint8_t *b = malloc(n ? n : 1);    /* exact size: ASan flags a read past n */
	int rc;

	if (!b)
		abort();
	memcpy(b, src, n);
	memset(out, 0xa5, sizeof(*out));
	rc = x86_decode(b, n, mode, out);
	free(b);
	return rc;
}

static int same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
	return a->kind == b->kind && a->len == b->len && a->opsize == b->opsize &&
	       a->memsize == b->memsize && a->addrsize == b->addrsize &&
	       a->prefixes == b->prefixes && a->last_rep == b->last_rep && a->seg == b->seg &&
	       a->rex == b->rex && a->opcode == b->opcode && a->two_byte == b->two_byte &&
	       a->has_modrm == b->has_modrm && a->has_sib == b->has_sib &&
	       a->disp_len == b->disp_len && a->disp == b->disp &&
	       a->rip_relative == b->rip_relative && a->has_mem == b->has_mem &&
	       a->write == b->write && a->reg == b->reg && a->reg_high8 == b->reg_high8 &&
	       a->rm == b->rm && a->rm_high8 == b->rm_high8 && a->has_imm == b->has_imm &&
	       a->imm == b->imm && a->port_in_dx == b->port_in_dx && a->rep == b->rep &&
	       a->alu_op == b->alu_op && a->mem_is_dst == b->mem_is_dst;
}

static int size_ok(unsigned s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_insn a, b;
	enum cpu_mode mode;
	unsigned avail;
	int rc, rc2;

	if (size < 1)
		return 0;
	mode = (enum cpu_mode)(data[0] % 3);
	data++;
	size--;
	avail = size > 32 ? 32 : (unsigned)size;    /* more than 15 is never read */

	rc = decode_copy(data, avail, mode, &a);
	rc2 = decode_copy(data, avail, mode, &b);
	if (rc != rc2)
		abort();                        /* not deterministic */
	if (rc != 0) {
		if (rc != X86_DECODE_ETRUNC && rc != X86_DECODE_EUNSUP &&
		    rc != X86_DECODE_EINVAL && rc != X86_DECODE_ETOOLONG)
			abort();
		if (rc == X86_DECODE_ETRUNC && avail >= X86_MAX_INSN_LEN)
			abort();                /* 15 bytes always settle it */
		return 0;
	}
	if (!same_insn(&a, &b))
		abort();
	if (a.len < 1 || a.len > X86_MAX_INSN_LEN || a.len > avail)
		abort();
	if (a.kind <= X86_INSN_NONE || a.kind >= X86_INSN_KIND_NR || !x86_insn_kind_name(a.kind))
		abort();
	if (!size_ok(a.opsize) || (a.addrsize != 2 && a.addrsize != 4 && a.addrsize != 8))
		abort();
	if (a.memsize && !size_ok(a.memsize))
		abort();
	if (a.memsize > a.opsize && a.kind != X86_INSN_MOV)
		abort();                        /* only MOVZX/MOVSX differ, downwards */
	/* LOCK only on a read-modify-write of memory; operation codes in range. */
	if ((a.prefixes & X86_PFX_LOCK) && !(a.has_mem && a.mem_is_dst && a.write))
		abort();
	if ((a.kind == X86_INSN_ALU && a.alu_op > 7) || (a.kind == X86_INSN_BT && a.alu_op > 3) ||
	    (a.kind == X86_INSN_SETCC && a.alu_op > 15))
		abort();
	if (a.disp_len != 0 && a.disp_len != 1 && a.disp_len != 2 && a.disp_len != 4 &&
	    a.disp_len != 8)
		abort();
	if (a.reg > 15 || a.rm > 15 || (a.rex && (a.rex & 0xf0) != 0x40))
		abort();
	if (mode != CPU_MODE_64 && (a.rex || a.rip_relative || a.addrsize == 8))
		abort();                        /* REX and RIP-relative are 64-bit only */
	if (a.has_sib && !a.has_modrm)
		abort();
	if (a.rip_relative && (!a.has_modrm || a.disp_len != 4))
		abort();
	if (a.reg_high8 && (a.rex || a.opsize != 1 || a.reg < 4 || a.reg > 7))
		abort();
	/* An 8-bit r/m: the operand size, or MOVZX/MOVSX's byte source. */
	if (a.rm_high8 && (a.rex || a.rm < 4 || a.rm > 7 ||
			   (a.opsize != 1 && a.kind != X86_INSN_MOVZX && a.kind != X86_INSN_MOVSX)))
		abort();
	if (a.seg != X86_SEG_NONE && a.seg > X86_SEG_GS)
		abort();
	if (a.last_rep != 0 && a.last_rep != 0xf2 && a.last_rep != 0xf3)
		abort();
	if (a.has_modrm && a.has_mem != ((a.modrm >> 6) != 3) && a.kind != X86_INSN_RDPID)
		abort();
	if (!memchr(data, a.opcode, a.len) || (a.two_byte && !memchr(data, 0x0f, a.len)))
		abort();                        /* the opcode came from these bytes */
	if (a.has_modrm && !memchr(data, a.modrm, a.len))
		abort();

	/* Exactly len bytes decode the same; one fewer is truncated. */
	rc2 = decode_copy(data, a.len, mode, &b);
	if (rc2 != 0 || !same_insn(&a, &b))
		abort();
	rc2 = decode_copy(data, a.len - 1u, mode, &b);
	if (rc2 != X86_DECODE_ETRUNC)
		abort();
	return 0;
}
