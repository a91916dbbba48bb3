/* x86 instruction decoder for exit handling and MMIO emulation (see
 * include/tscvisor/x86_decode.h). Pure C: no hardware access. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <tscvisor/x86_decode.h>
#include <tscvisor/x86.h>

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

enum cpu_mode x86_cpu_mode(uint64_t cr0, uint64_t efer, uint64_t rflags,
			   bool cs_l, bool cs_d)
{
	if (!(cr0 & X86_CR0_PE))
		return CPU_MODE_16;              /* real mode */
	if (efer & X86_EFER_LMA) {
		if (cs_l)
			return CPU_MODE_64;
		return cs_d ? CPU_MODE_32 : CPU_MODE_16; /* compatibility mode */
	}
	if (rflags & X86_RFLAGS_VM)
		return CPU_MODE_16;              /* virtual-8086 mode */
	return cs_d ? CPU_MODE_32 : CPU_MODE_16;
}

const char *x86_insn_kind_name(enum x86_insn_kind kind)
{
	static const char *const names[X86_INSN_KIND_NR] = {
		[X86_INSN_NONE] = "none",
		[X86_INSN_CPUID] = "cpuid",
		[X86_INSN_RDTSC] = "rdtsc",
		[X86_INSN_RDTSCP] = "rdtscp",
		[X86_INSN_RDPID] = "rdpid",
		[X86_INSN_RDMSR] = "rdmsr",
		[X86_INSN_WRMSR] = "wrmsr",
		[X86_INSN_HLT] = "hlt",
		[X86_INSN_VMMCALL] = "vmmcall",
		[X86_INSN_VMCALL] = "vmcall",
		[X86_INSN_IN] = "in",
		[X86_INSN_OUT] = "out",
		[X86_INSN_INS] = "ins",
		[X86_INSN_OUTS] = "outs",
		[X86_INSN_MOV] = "mov",
		[X86_INSN_MOVZX] = "movzx",
		[X86_INSN_MOVSX] = "movsx",
		[X86_INSN_INVD] = "invd",
		[X86_INSN_WBINVD] = "wbinvd",
		[X86_INSN_XSETBV] = "xsetbv",
		[X86_INSN_ALU] = "alu",
		[X86_INSN_TEST] = "test",
		[X86_INSN_INC] = "inc",
		[X86_INSN_DEC] = "dec",
		[X86_INSN_NOT] = "not",
		[X86_INSN_NEG] = "neg",
		[X86_INSN_XCHG] = "xchg",
		[X86_INSN_BT] = "bt",
		[X86_INSN_SETCC] = "setcc",
		[X86_INSN_CMPXCHG] = "cmpxchg",
		[X86_INSN_XADD] = "xadd",
		[X86_INSN_MOVS] = "movs",
		[X86_INSN_CMPS] = "cmps",
		[X86_INSN_STOS] = "stos",
		[X86_INSN_LODS] = "lods",
		[X86_INSN_SCAS] = "scas",
		[X86_INSN_PUSH] = "push",
		[X86_INSN_POP] = "pop",
	};

	if ((unsigned)kind >= X86_INSN_KIND_NR || !names[kind])
		return "?";
	return names[kind];
}

/* Cursor over the instruction bytes. */
struct dec {
	const uint8_t *b;
	unsigned avail;
	unsigned pos;
};

/* Take the next n (1..8) bytes as a little-endian value. The 15-byte limit
 * is checked first: once the length is known to exceed it, more bytes cannot
 * change the answer. */
static int take(struct dec *d, unsigned n, uint64_t *val)
{
	uint64_t v = 0;
	unsigned i;

	if (d->pos + n > X86_MAX_INSN_LEN)
		return X86_DECODE_ETOOLONG;
	if (d->pos + n > d->avail)
		return X86_DECODE_ETRUNC;
	for (i = 0; i < n; i++)
		v |= (uint64_t)d->b[d->pos + i] << (8 * i);
	d->pos += n;
	*val = v;
	return 0;
}

static int take_u8(struct dec *d, uint8_t *val)
{
	uint64_t v;
	int rc = take(d, 1, &v);

	if (rc == 0)
		*val = (uint8_t)v;
	return rc;
}

static uint64_t sign_extend(uint64_t v, unsigned bytes)
{
	switch (bytes) {
	case 1: return (uint64_t)(int64_t)(int8_t)(uint8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)(uint16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
	default: return v;
	}
}

/* ModRM, then SIB and displacement as the addressing form requires. */
static int decode_modrm(struct dec *d, enum cpu_mode mode, struct x86_insn *out)
{
	uint8_t modrm, mod, rm;
	unsigned disp_len = 0;
	uint64_t disp;
	int rc;

	rc = take_u8(d, &modrm);
	if (rc)
		return rc;
	out->has_modrm = true;
	out->modrm = modrm;
	mod = modrm >> 6;
	rm = modrm & 7;
	out->reg = (uint8_t)(((modrm >> 3) & 7) | ((out->rex & REX_R) ? 8 : 0));
	if (mod == 3) {
		out->rm = (uint8_t)(rm | ((out->rex & REX_B) ? 8 : 0));
		return 0;
	}
	out->has_mem = true;
	if (out->addrsize == 2) {
		/* 16-bit addressing: no SIB; [disp16] replaces [bp]. */
		if (mod == 0 && rm == 6)
			disp_len = 2;
		else if (mod == 1)
			disp_len = 1;
		else if (mod == 2)
			disp_len = 2;
	} else {
		/* 32/64-bit addressing. REX.B does not affect these special
		 * cases: rm=4 always means a SIB byte, rm=5/base=5 with mod=0
		 * always means disp32 (r12/r13 included). */
		if (rm == 4) {
			rc = take_u8(d, &out->sib);
			if (rc)
				return rc;
			out->has_sib = true;
			if (mod == 0 && (out->sib & 7) == 5)
				disp_len = 4;
		} else if (mod == 0 && rm == 5) {
			disp_len = 4;
			out->rip_relative = mode == CPU_MODE_64;
		}
		if (mod == 1)
			disp_len = 1;
		else if (mod == 2)
			disp_len = 4;
	}
	if (disp_len) {
		rc = take(d, disp_len, &disp);
		if (rc)
			return rc;
		out->disp_len = (uint8_t)disp_len;
		out->disp = sign_extend(disp, disp_len);
	}
	return 0;
}

/* A byte register operand without REX: 4..7 are AH CH DH BH. */
static bool high8(const struct x86_insn *in, uint8_t reg)
{
	return !in->rex && reg >= 4 && reg <= 7;
}

/* I/O element size: 1 for the byte forms, else 2 or 4 (REX.W is ignored). */
static uint8_t io_size(uint8_t opcode, unsigned osz)
{
	if (!(opcode & 1))
		return 1;
	return osz == 2 ? 2 : 4;
}

/* A ModRM instruction whose r/m operand is 8-bit when `byte`, else the
 * operand size: sets opsize, memsize and the high-byte flags. */
static int modrm_sized(struct dec *d, enum cpu_mode mode, bool byte, struct x86_insn *out)
{
	int rc = decode_modrm(d, mode, out);

	if (rc)
		return rc;
	if (byte) {
		out->opsize = 1;
		out->reg_high8 = high8(out, out->reg);
		if (!out->has_mem)
			out->rm_high8 = high8(out, out->rm);
	}
	if (out->has_mem)
		out->memsize = out->opsize;
	return 0;
}

/* An immediate of `bytes` (1, 2 or 4), sign-extended to the operand size
 * when `sext` (an imm8 with a wider operand, or imm32 with a 64-bit one),
 * kept to opsize bytes (all 64 bits for opsize 8). */
static int take_imm(struct dec *d, unsigned bytes, bool sext, struct x86_insn *out)
{
	uint64_t v;
	int rc = take(d, bytes, &v);

	if (rc)
		return rc;
	if (sext)
		v = sign_extend(v, bytes);
	if (out->opsize < 8)
		v &= (1ull << (out->opsize * 8)) - 1;
	out->has_imm = true;
	out->imm = v;
	return 0;
}

static int decode_0f(struct dec *d, enum cpu_mode mode, unsigned osz,
		     struct x86_insn *out)
{
	uint8_t op, modrm;
	int rc;

	rc = take_u8(d, &op);
	if (rc)
		return rc;
	out->two_byte = true;
	out->opcode = op;
	switch (op) {
	case 0xa2:
		out->kind = X86_INSN_CPUID;
		return 0;
	case 0x31:
		out->kind = X86_INSN_RDTSC;
		return 0;
	case 0x32:
		out->kind = X86_INSN_RDMSR;
		return 0;
	case 0x30:
		out->kind = X86_INSN_WRMSR;
		return 0;
	case 0x08:
		out->kind = X86_INSN_INVD;
		return 0;
	case 0x09:
		out->kind = X86_INSN_WBINVD;
		return 0;
	case 0x01:
		/* Group 7: only four register forms, each a fixed ModRM byte.
		 * F2/F3 select other instructions (F3/F2 0F 01 D9 is VMGEXIT). */
		rc = take_u8(d, &modrm);
		if (rc)
			return rc;
		out->has_modrm = true;
		out->modrm = modrm;
		if (out->last_rep)
			return X86_DECODE_EUNSUP;
		if (modrm == 0xf9)
			out->kind = X86_INSN_RDTSCP;
		else if (modrm == 0xd9)
			out->kind = X86_INSN_VMMCALL;
		else if (modrm == 0xc1)
			out->kind = X86_INSN_VMCALL;
		else if (modrm == 0xd1)
			out->kind = X86_INSN_XSETBV;
		else
			return X86_DECODE_EUNSUP;
		return 0;
	case 0xc7:
		/* Group 9: F3 0F C7 /7 with a register operand is RDPID (without
		 * F3 it is RDSEED; memory forms are VMPTRST and friends). */
		rc = take_u8(d, &modrm);
		if (rc)
			return rc;
		out->has_modrm = true;
		out->modrm = modrm;
		if ((modrm >> 6) != 3 || ((modrm >> 3) & 7) != 7 || out->last_rep != 0xf3)
			return X86_DECODE_EUNSUP;
		out->kind = X86_INSN_RDPID;
		out->reg = (uint8_t)((modrm & 7) | ((out->rex & REX_B) ? 8 : 0));
		out->rm = out->reg;
		out->opsize = mode == CPU_MODE_64 ? 8 : 4;
		return 0;
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		rc = decode_modrm(d, mode, out);
		if (rc)
			return rc;
		out->kind = (op & 8) ? X86_INSN_MOVSX : X86_INSN_MOVZX;
		out->opsize = (uint8_t)osz;
		if (out->has_mem)
			out->memsize = (op & 1) ? 2 : 1;
		else if (!(op & 1))
			out->rm_high8 = high8(out, out->rm);
		out->write = false;
		return 0;
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		rc = modrm_sized(d, mode, false, out);
		if (rc)
			return rc;
		out->kind = X86_INSN_BT;
		out->alu_op = (op >> 3) & 3;
		out->mem_is_dst = true;
		out->write = out->alu_op != 0;
		return 0;
	case 0xba:
		rc = modrm_sized(d, mode, false, out);
		if (rc)
			return rc;
		if (((out->modrm >> 3) & 7) < 4)
			return X86_DECODE_EUNSUP;      /* /0-/3: #UD */
		out->kind = X86_INSN_BT;
		out->alu_op = (out->modrm >> 3) & 3;
		out->mem_is_dst = true;
		out->write = out->alu_op != 0;
		out->reg = 0;
		{
			uint64_t v;

			rc = take(d, 1, &v);
			if (rc)
				return rc;
			out->has_imm = true;
			out->imm = v;
		}
		return 0;
	case 0xb0: case 0xb1: case 0xc0: case 0xc1:
		rc = modrm_sized(d, mode, !(op & 1), out);
		if (rc)
			return rc;
		out->kind = op >= 0xc0 ? X86_INSN_XADD : X86_INSN_CMPXCHG;
		out->mem_is_dst = true;
		out->write = true;
		return 0;
	default:
		if (op >= 0x90 && op <= 0x9f) {
			rc = modrm_sized(d, mode, true, out);
			if (rc)
				return rc;
			out->kind = X86_INSN_SETCC;
			out->alu_op = op & 0xf;
			out->mem_is_dst = true;
			out->write = true;
			out->reg = 0;
			out->reg_high8 = false;
			return 0;
		}
		return X86_DECODE_EUNSUP;
	}
}

int x86_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode,
	       struct x86_insn *out)
{
	struct dec d = { bytes, bytes ? avail : 0, 0 };
	unsigned osz, asz;
	uint64_t v;
	uint8_t op;
	int rc;

	if (!out || (mode != CPU_MODE_16 && mode != CPU_MODE_32 && mode != CPU_MODE_64))
		return X86_DECODE_EINVAL;
	memset(out, 0, sizeof(*out));
	out->seg = X86_SEG_NONE;

	/* Prefixes. A REX prefix counts only when it immediately precedes the
	 * opcode; one followed by another prefix is ignored (SDM 2.2.1). */
	for (;;) {
		rc = take_u8(&d, &op);
		if (rc)
			return rc;
		switch (op) {
		case 0x66:
			out->prefixes |= X86_PFX_OPSIZE;
			break;
		case 0x67:
			out->prefixes |= X86_PFX_ADDRSIZE;
			break;
		case 0xf0:
			out->prefixes |= X86_PFX_LOCK;
			break;
		case 0xf2:
			out->prefixes |= X86_PFX_REPNE;
			out->last_rep = op;
			break;
		case 0xf3:
			out->prefixes |= X86_PFX_REP;
			out->last_rep = op;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			/* ES CS SS DS: null prefixes in 64-bit mode. */
			if (mode != CPU_MODE_64)
				out->seg = (uint8_t)((op >> 3) & 3);
			break;
		case 0x64:
			out->seg = X86_SEG_FS;
			break;
		case 0x65:
			out->seg = X86_SEG_GS;
			break;
		default:
			if (mode == CPU_MODE_64 && (op & 0xf0) == 0x40) {
				out->rex = op;
				continue;
			}
			goto opcode;
		}
		out->rex = 0;
	}

opcode:
	out->opcode = op;
	osz = mode == CPU_MODE_16 ? 2 : 4;
	if (out->prefixes & X86_PFX_OPSIZE)
		osz = osz == 2 ? 4 : 2;
	if (out->rex & REX_W)
		osz = 8;
	if (mode == CPU_MODE_16)
		asz = (out->prefixes & X86_PFX_ADDRSIZE) ? 4 : 2;
	else if (mode == CPU_MODE_32)
		asz = (out->prefixes & X86_PFX_ADDRSIZE) ? 2 : 4;
	else
		asz = (out->prefixes & X86_PFX_ADDRSIZE) ? 4 : 8;
	out->addrsize = (uint8_t)asz;
	out->opsize = (uint8_t)osz;

	switch (op) {
	case 0x0f:
		rc = decode_0f(&d, mode, osz, out);
		break;
	case 0xf4:
		out->kind = X86_INSN_HLT;
		rc = 0;
		break;
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		rc = decode_modrm(&d, mode, out);
		if (rc)
			break;
		out->kind = X86_INSN_MOV;
		out->write = !(op & 2);
		if (!(op & 1)) {
			out->opsize = 1;
			out->reg_high8 = high8(out, out->reg);
			if (!out->has_mem)
				out->rm_high8 = high8(out, out->rm);
		}
		if (out->has_mem)
			out->memsize = out->opsize;
		break;
	case 0xc6: case 0xc7:
		rc = decode_modrm(&d, mode, out);
		if (rc)
			break;
		if ((out->modrm >> 3) & 7) {
			/* C6 F8 / C7 F8 are XABORT / XBEGIN; the rest #UD. */
			rc = X86_DECODE_EUNSUP;
			break;
		}
		out->kind = X86_INSN_MOV;
		out->write = true;
		out->reg = 0;
		if (op == 0xc6) {
			out->opsize = 1;
			if (!out->has_mem)
				out->rm_high8 = high8(out, out->rm);
		}
		rc = take(&d, out->opsize == 8 ? 4 : out->opsize, &v);
		if (rc)
			break;
		out->has_imm = true;
		out->imm = out->opsize == 8 ? sign_extend(v, 4) : v;
		if (out->has_mem)
			out->memsize = out->opsize;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		rc = take(&d, asz, &v);
		if (rc)
			break;
		out->kind = X86_INSN_MOV;
		out->has_mem = true;
		out->write = (op & 2) != 0;
		out->reg = 0;
		out->disp_len = (uint8_t)asz;
		out->disp = v;
		if (!(op & 1))
			out->opsize = 1;
		out->memsize = out->opsize;
		break;
	case 0x63:
		/* MOVSXD in 64-bit mode; ARPL elsewhere. */
		if (mode != CPU_MODE_64) {
			rc = X86_DECODE_EUNSUP;
			break;
		}
		rc = decode_modrm(&d, mode, out);
		if (rc)
			break;
		out->kind = X86_INSN_MOVSX;
		out->write = false;
		if (out->has_mem)
			out->memsize = osz == 2 ? 2 : 4;
		break;
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
		rc = take(&d, 1, &v);
		if (rc)
			break;
		out->kind = (op & 2) ? X86_INSN_OUT : X86_INSN_IN;
		out->write = (op & 2) != 0;
		out->opsize = io_size(op, osz);
		out->has_imm = true;
		out->imm = v;
		break;
	case 0xec: case 0xed: case 0xee: case 0xef:
		out->kind = (op & 2) ? X86_INSN_OUT : X86_INSN_IN;
		out->write = (op & 2) != 0;
		out->opsize = io_size(op, osz);
		out->port_in_dx = true;
		rc = 0;
		break;
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
		out->kind = (op & 2) ? X86_INSN_OUTS : X86_INSN_INS;
		out->write = (op & 2) != 0;
		out->opsize = io_size(op, osz);
		out->port_in_dx = true;
		out->rep = out->last_rep != 0;
		rc = 0;
		break;
	case 0x84: case 0x85: case 0x86: case 0x87:
		rc = modrm_sized(&d, mode, !(op & 1), out);
		if (rc)
			break;
		out->kind = op >= 0x86 ? X86_INSN_XCHG : X86_INSN_TEST;
		out->mem_is_dst = true;
		out->write = op >= 0x86;
		break;
	case 0x80: case 0x81: case 0x82: case 0x83:
		if (op == 0x82 && mode == CPU_MODE_64) {
			rc = X86_DECODE_EUNSUP;        /* #UD in 64-bit mode */
			break;
		}
		rc = modrm_sized(&d, mode, !(op & 1), out);
		if (rc)
			break;
		out->kind = X86_INSN_ALU;
		out->alu_op = (out->modrm >> 3) & 7;
		out->mem_is_dst = true;
		out->write = out->alu_op != 7;
		out->reg = 0;
		out->reg_high8 = false;
		if (op == 0x83)
			rc = take_imm(&d, 1, true, out);
		else
			rc = take_imm(&d, out->opsize == 1 ? 1 : out->opsize == 2 ? 2 : 4,
				      out->opsize == 8, out);
		break;
	case 0xf6: case 0xf7:
	case 0xfe: case 0xff: {
		unsigned sub;

		rc = modrm_sized(&d, mode, !(op & 1), out);
		if (rc)
			break;
		sub = (out->modrm >> 3) & 7;
		out->reg = 0;
		out->reg_high8 = false;
		out->mem_is_dst = true;
		out->write = true;
		if (op <= 0xf7) {
			if (sub >= 4) {
				rc = X86_DECODE_EUNSUP;   /* MUL IMUL DIV IDIV */
				break;
			}
			if (sub < 2) {
				out->kind = X86_INSN_TEST;
				out->write = false;
				rc = take_imm(&d, out->opsize == 1 ? 1 : out->opsize == 2 ? 2 : 4,
					      out->opsize == 8, out);
				break;
			}
			out->kind = sub == 2 ? X86_INSN_NOT : X86_INSN_NEG;
		} else if (sub < 2) {
			out->kind = sub == 0 ? X86_INSN_INC : X86_INSN_DEC;
		} else if (op == 0xff && sub == 6) {
			out->kind = X86_INSN_PUSH;
			out->mem_is_dst = false;
			out->write = false;
			if (mode == CPU_MODE_64 && out->opsize == 4)
				out->opsize = 8;        /* no 32-bit push in 64-bit mode */
			if (out->has_mem)
				out->memsize = out->opsize;
		} else {
			rc = X86_DECODE_EUNSUP;
		}
		break;
	}
	case 0x8f:
		rc = modrm_sized(&d, mode, false, out);
		if (rc)
			break;
		if ((out->modrm >> 3) & 7) {
			rc = X86_DECODE_EUNSUP;        /* XOP prefix (AMD) */
			break;
		}
		out->kind = X86_INSN_POP;
		out->reg = 0;
		out->mem_is_dst = true;
		out->write = true;
		if (mode == CPU_MODE_64 && out->opsize == 4)
			out->opsize = 8;
		if (out->has_mem)
			out->memsize = out->opsize;
		break;
	case 0xa4: case 0xa5: case 0xa6: case 0xa7:
	case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf: {
		static const enum x86_insn_kind kinds[6] = {
			X86_INSN_MOVS, X86_INSN_CMPS, 0, X86_INSN_STOS, X86_INSN_LODS, X86_INSN_SCAS,
		};

		out->kind = kinds[(op - 0xa4) >> 1];
		if (!(op & 1))
			out->opsize = 1;
		out->rep = out->last_rep != 0;
		out->write = out->kind == X86_INSN_STOS || out->kind == X86_INSN_MOVS;
		rc = 0;
		break;
	}
	default:
		if (op < 0x40 && (op & 7) < 4) {
			/* ADD OR ADC SBB AND SUB XOR CMP, ModRM forms: bit 1
			 * set = register destination. */
			rc = modrm_sized(&d, mode, !(op & 1), out);
			if (rc)
				break;
			out->kind = X86_INSN_ALU;
			out->alu_op = (op >> 3) & 7;
			out->mem_is_dst = !(op & 2);
			out->write = out->mem_is_dst && out->alu_op != 7;
			break;
		}
		rc = X86_DECODE_EUNSUP;
		break;
	}
	if (rc)
		return rc;
	/* LOCK is legal only on a read-modify-write of memory (SDM Vol. 2
	 * "LOCK"): ALU except CMP, INC DEC NOT NEG, XCHG, BTS BTR BTC, XADD,
	 * CMPXCHG, each with a memory destination. Anything else #UD. */
	if ((out->prefixes & X86_PFX_LOCK) &&
	    !(out->has_mem && out->mem_is_dst && out->write &&
	      (out->kind == X86_INSN_ALU || out->kind == X86_INSN_INC || out->kind == X86_INSN_DEC ||
	       out->kind == X86_INSN_NOT || out->kind == X86_INSN_NEG || out->kind == X86_INSN_XCHG ||
	       out->kind == X86_INSN_BT || out->kind == X86_INSN_XADD || out->kind == X86_INSN_CMPXCHG)))
		return X86_DECODE_EINVAL;
	out->len = (uint8_t)d.pos;
	return 0;
}
