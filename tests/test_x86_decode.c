/* Host tests of pure/x86_decode.c: a table of hand-assembled encodings (from
 * the SDM opcode tables), truncation at every length, the 15-byte limit, REX
 * placement, and a fixed-seed random/mutation loop. Every decode reads from
 * a heap buffer of exactly `avail` bytes, so ASan catches any over-read. */
#include "harness.h"
#include <tscvisor/x86_decode.h>
#include <stdbool.h>
#include <stdint.h>

#define M16 CPU_MODE_16
#define M32 CPU_MODE_32
#define M64 CPU_MODE_64

static int decode_heap(const uint8_t *b, unsigned n, enum cpu_mode mode, struct x86_insn *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rc;

	if (!copy)
		abort();
	if (n)
		memcpy(copy, b, n);
	rc = x86_decode(copy, n, mode, out);
	free(copy);
	return rc;
}

/* ---- the table ----------------------------------------------------------- */

enum tc_type { T_SIMPLE, T_MEM, T_IMM, T_IO, T_ERR };

struct tc {
	int line;
	enum tc_type type;
	enum cpu_mode mode;
	int rc;
	enum x86_insn_kind kind;
	unsigned len, opsize, memsize, reg;
	bool write, high8, rep;
	uint64_t imm;
	int port;               /* T_IO: imm8 port, or -1 for DX */
	unsigned n;
	uint8_t b[16];
};

#define BYTES(...) .n = sizeof((uint8_t[]){ __VA_ARGS__ }), .b = { __VA_ARGS__ }
/* Kind and length only. */
#define SIMPLE(m, k, l, ...) { .line = __LINE__, .type = T_SIMPLE, .mode = m, .kind = k, .len = l, BYTES(__VA_ARGS__) }
/* A MOV/MOVZX/MOVSX with a register operand; memsize 0 = register form. */
#define MEM(m, k, l, osz, msz, wr, r, h8, ...) { .line = __LINE__, .type = T_MEM, .mode = m, .kind = k, \
	.len = l, .opsize = osz, .memsize = msz, .write = wr, .reg = r, .high8 = h8, BYTES(__VA_ARGS__) }
/* MOV r/m, imm. */
#define IMM(m, l, osz, msz, im, ...) { .line = __LINE__, .type = T_IMM, .mode = m, .kind = X86_INSN_MOV, \
	.len = l, .opsize = osz, .memsize = msz, .write = true, .imm = im, BYTES(__VA_ARGS__) }
/* Port I/O. */
#define IO(m, k, l, sz, p, rp, ...) { .line = __LINE__, .type = T_IO, .mode = m, .kind = k, .len = l, \
	.opsize = sz, .port = p, .rep = rp, BYTES(__VA_ARGS__) }
#define ERR(m, e, ...) { .line = __LINE__, .type = T_ERR, .mode = m, .rc = e, BYTES(__VA_ARGS__) }

#define K(x) X86_INSN_##x
#define TRUNC X86_DECODE_ETRUNC
#define UNSUP X86_DECODE_EUNSUP
#define INVAL X86_DECODE_EINVAL
#define TOOLONG X86_DECODE_ETOOLONG

static const struct tc table[] = {
	/* ---- intercepted instructions ---- */
	SIMPLE(M64, K(CPUID), 2, 0x0f, 0xa2),
	SIMPLE(M32, K(CPUID), 2, 0x0f, 0xa2),
	SIMPLE(M16, K(CPUID), 2, 0x0f, 0xa2),
	SIMPLE(M64, K(RDTSC), 2, 0x0f, 0x31),
	SIMPLE(M64, K(RDTSC), 3, 0x48, 0x0f, 0x31),             /* meaningless REX is legal */
	SIMPLE(M64, K(RDTSC), 4, 0x66, 0x41, 0x0f, 0x31),
	SIMPLE(M16, K(RDTSC), 2, 0x0f, 0x31),
	SIMPLE(M64, K(RDTSCP), 3, 0x0f, 0x01, 0xf9),
	SIMPLE(M32, K(RDTSCP), 3, 0x0f, 0x01, 0xf9),
	SIMPLE(M16, K(RDTSCP), 3, 0x0f, 0x01, 0xf9),
	SIMPLE(M64, K(RDTSCP), 4, 0x48, 0x0f, 0x01, 0xf9),
	SIMPLE(M64, K(RDMSR), 2, 0x0f, 0x32),
	SIMPLE(M64, K(WRMSR), 2, 0x0f, 0x30),
	SIMPLE(M64, K(INVD), 2, 0x0f, 0x08),
	SIMPLE(M16, K(INVD), 3, 0x66, 0x0f, 0x08),
	SIMPLE(M32, K(WBINVD), 2, 0x0f, 0x09),
	SIMPLE(M64, K(WBINVD), 3, 0x41, 0x0f, 0x09),
	SIMPLE(M32, K(WRMSR), 3, 0x3e, 0x0f, 0x30),
	SIMPLE(M64, K(HLT), 1, 0xf4),
	SIMPLE(M16, K(HLT), 1, 0xf4),
	SIMPLE(M64, K(VMMCALL), 3, 0x0f, 0x01, 0xd9),
	SIMPLE(M32, K(VMMCALL), 3, 0x0f, 0x01, 0xd9),
	SIMPLE(M64, K(VMCALL), 3, 0x0f, 0x01, 0xc1),
	SIMPLE(M16, K(VMCALL), 3, 0x0f, 0x01, 0xc1),
	SIMPLE(M64, K(XSETBV), 3, 0x0f, 0x01, 0xd1),
	SIMPLE(M32, K(XSETBV), 4, 0x66, 0x0f, 0x01, 0xd1),
	MEM(M64, K(RDPID), 4, 8, 0, false, 0, false, 0xf3, 0x0f, 0xc7, 0xf8),      /* rdpid rax */
	MEM(M64, K(RDPID), 5, 8, 0, false, 9, false, 0xf3, 0x41, 0x0f, 0xc7, 0xf9), /* rdpid r9 */
	MEM(M32, K(RDPID), 4, 4, 0, false, 3, false, 0xf3, 0x0f, 0xc7, 0xfb),      /* rdpid ebx */
	MEM(M16, K(RDPID), 4, 4, 0, false, 1, false, 0xf3, 0x0f, 0xc7, 0xf9),
	ERR(M64, UNSUP, 0x0f, 0xc7, 0xf8),              /* rdseed eax */
	ERR(M64, UNSUP, 0x66, 0x0f, 0xc7, 0xf8),        /* rdseed ax */
	ERR(M64, UNSUP, 0xf3, 0x0f, 0xc7, 0x38),        /* memory form of /7 */
	ERR(M64, UNSUP, 0xf2, 0x0f, 0xc7, 0xf8),
	ERR(M64, UNSUP, 0x0f, 0xc7, 0xf0),              /* rdrand eax */
	ERR(M64, UNSUP, 0xf3, 0x0f, 0x01, 0xd9),        /* vmgexit */
	ERR(M64, UNSUP, 0xf2, 0x0f, 0x01, 0xd9),        /* vmgexit */
	ERR(M64, UNSUP, 0x0f, 0x01, 0xd0),              /* xgetbv */
	ERR(M64, UNSUP, 0x0f, 0x01, 0xf8),              /* swapgs */
	ERR(M64, UNSUP, 0x0f, 0x01, 0x10),              /* lgdt [rax] */
	ERR(M64, UNSUP, 0x0f, 0x0b),                    /* ud2 */
	ERR(M64, UNSUP, 0x90),                          /* nop */
	ERR(M64, UNSUP, 0xcc),
	ERR(M64, UNSUP, 0xc4, 0xe2, 0x79, 0x18, 0x07),  /* VEX */
	ERR(M32, UNSUP, 0x48, 0x0f, 0x31),              /* 48 is DEC EAX outside 64-bit mode */
	ERR(M16, UNSUP, 0x40),
	ERR(M32, UNSUP, 0x63, 0x07),                    /* arpl */
	ERR(M64, INVAL, 0xf0, 0xf4),                    /* LOCK: #UD on all of these */
	ERR(M64, INVAL, 0xf0, 0x0f, 0xa2),
	ERR(M64, INVAL, 0xf0, 0x0f, 0x01, 0xf9),
	ERR(M64, INVAL, 0xf0, 0x89, 0x07),
	ERR(M64, INVAL, 0xf0, 0x8b, 0xc0),
	ERR(M32, INVAL, 0x66, 0xf0, 0xc7, 0x00, 0x01, 0x00),
	ERR(M64, INVAL, 0xf0, 0xec),
	ERR(M16, INVAL, 0xf0, 0xf3, 0x6c),

	/* ---- port I/O ---- */
	IO(M64, K(IN), 2, 1, 0x60, false, 0xe4, 0x60),
	IO(M64, K(IN), 2, 4, 0x71, false, 0xe5, 0x71),
	IO(M64, K(IN), 3, 2, 0x71, false, 0x66, 0xe5, 0x71),
	IO(M64, K(IN), 3, 4, 0x71, false, 0x48, 0xe5, 0x71),   /* REX.W ignored */
	IO(M64, K(OUT), 2, 1, 0x80, false, 0xe6, 0x80),
	IO(M64, K(OUT), 2, 4, 0xff, false, 0xe7, 0xff),
	IO(M64, K(IN), 1, 1, -1, false, 0xec),
	IO(M64, K(IN), 1, 4, -1, false, 0xed),
	IO(M64, K(IN), 2, 2, -1, false, 0x66, 0xed),
	IO(M64, K(IN), 2, 4, -1, false, 0x48, 0xed),
	IO(M64, K(OUT), 1, 1, -1, false, 0xee),
	IO(M64, K(OUT), 1, 4, -1, false, 0xef),
	IO(M64, K(OUT), 2, 2, -1, false, 0x66, 0xef),
	IO(M64, K(OUT), 2, 1, -1, false, 0xf3, 0xee),          /* REP ignored on OUT */
	IO(M32, K(IN), 2, 4, 0x40, false, 0xe5, 0x40),
	IO(M32, K(OUT), 2, 2, -1, false, 0x66, 0xef),
	IO(M16, K(IN), 2, 2, 0x40, false, 0xe5, 0x40),
	IO(M16, K(IN), 2, 4, -1, false, 0x66, 0xed),
	IO(M16, K(OUT), 1, 2, -1, false, 0xef),
	IO(M16, K(OUT), 2, 1, 0x21, false, 0xe6, 0x21),
	IO(M64, K(INS), 1, 1, -1, false, 0x6c),
	IO(M64, K(INS), 2, 1, -1, true, 0xf3, 0x6c),
	IO(M64, K(INS), 1, 4, -1, false, 0x6d),
	IO(M64, K(INS), 3, 2, -1, true, 0xf3, 0x66, 0x6d),
	IO(M64, K(OUTS), 2, 1, -1, true, 0xf3, 0x6e),
	IO(M64, K(OUTS), 3, 2, -1, true, 0x66, 0xf3, 0x6f),
	IO(M64, K(OUTS), 3, 4, -1, true, 0xf3, 0x48, 0x6f),    /* REX.W ignored */
	IO(M64, K(OUTS), 3, 4, -1, true, 0xf3, 0x67, 0x6f),
	IO(M64, K(OUTS), 2, 1, -1, false, 0x64, 0x6e),         /* fs: outsb */
	IO(M32, K(INS), 2, 4, -1, true, 0xf3, 0x6d),
	IO(M16, K(INS), 2, 2, -1, true, 0xf3, 0x6d),
	IO(M16, K(OUTS), 3, 4, -1, true, 0xf3, 0x66, 0x6f),

	/* ---- MOV, 64-bit ---- */
	MEM(M64, K(MOV), 6, 4, 4, true, 0, false, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00), /* mov [rip+0x10],eax */
	MEM(M64, K(MOV), 2, 4, 4, true, 0, false, 0x89, 0x07),                 /* mov [rdi],eax */
	MEM(M64, K(MOV), 3, 8, 8, true, 0, false, 0x48, 0x89, 0x07),           /* mov [rdi],rax */
	MEM(M64, K(MOV), 3, 8, 8, true, 8, false, 0x4c, 0x89, 0x07),           /* mov [rdi],r8 */
	MEM(M64, K(MOV), 4, 4, 4, true, 8, false, 0x44, 0x89, 0x47, 0x10),     /* mov [rdi+0x10],r8d */
	MEM(M64, K(MOV), 3, 4, 4, true, 7, false, 0x41, 0x89, 0x3f),           /* mov [r15],edi */
	MEM(M64, K(MOV), 7, 4, 4, false, 0, false, 0x8b, 0x04, 0x25, 0x20, 0x00, 0xe0, 0xfe), /* mov eax,[abs] */
	MEM(M64, K(MOV), 7, 4, 4, false, 0, false, 0x8b, 0x84, 0x24, 0xf0, 0x00, 0x00, 0x00), /* [rsp+0xf0] */
	MEM(M64, K(MOV), 4, 4, 4, false, 0, false, 0x8b, 0x44, 0x24, 0x08),    /* mov eax,[rsp+8] */
	MEM(M64, K(MOV), 4, 4, 4, false, 0, false, 0x41, 0x8b, 0x45, 0x00),    /* mov eax,[r13+0] */
	MEM(M64, K(MOV), 4, 4, 4, false, 0, false, 0x41, 0x8b, 0x04, 0x24),    /* mov eax,[r12] */
	MEM(M64, K(MOV), 8, 4, 4, false, 0, false, 0x41, 0x8b, 0x04, 0x25, 0, 0, 0, 0), /* [disp32], REX.B */
	MEM(M64, K(MOV), 5, 4, 4, false, 0, false, 0x43, 0x8b, 0x44, 0x25, 0x00), /* [r13+r12+0] */
	MEM(M64, K(MOV), 8, 8, 8, false, 15, false, 0x4e, 0x8b, 0x3c, 0xa5, 0, 0x10, 0, 0), /* r15,[r12*4+0x1000] */
	MEM(M64, K(MOV), 6, 4, 4, false, 0, false, 0x8b, 0x80, 0x20, 0x03, 0x00, 0x00), /* mov eax,[rax+0x320] */
	MEM(M64, K(MOV), 3, 4, 4, false, 2, false, 0x8b, 0x14, 0x88),          /* mov edx,[rax+rcx*4] */
	MEM(M64, K(MOV), 4, 4, 4, false, 2, false, 0x8b, 0x54, 0x88, 0x04),    /* mov edx,[rax+rcx*4+4] */
	MEM(M64, K(MOV), 7, 4, 4, false, 2, false, 0x8b, 0x94, 0x88, 0, 1, 0, 0), /* disp32 */
	MEM(M64, K(MOV), 2, 4, 0, false, 0, false, 0x8b, 0xc1),                /* mov eax,ecx */
	MEM(M64, K(MOV), 2, 1, 1, true, 0, false, 0x88, 0x07),                 /* mov [rdi],al */
	MEM(M64, K(MOV), 2, 1, 1, true, 4, true, 0x88, 0x27),                  /* mov [rdi],ah */
	MEM(M64, K(MOV), 3, 1, 1, true, 6, false, 0x40, 0x88, 0x37),           /* mov [rdi],sil */
	MEM(M64, K(MOV), 3, 1, 1, true, 7, true, 0x88, 0x7f, 0x01),            /* mov [rdi+1],bh */
	MEM(M64, K(MOV), 3, 1, 1, false, 4, true, 0x8a, 0x67, 0x01),           /* mov ah,[rdi+1] */
	MEM(M64, K(MOV), 3, 1, 1, false, 8, false, 0x44, 0x8a, 0x07),          /* mov r8b,[rdi] */
	MEM(M64, K(MOV), 3, 1, 1, false, 0, false, 0x48, 0x8a, 0x07),          /* REX.W: still byte */
	MEM(M64, K(MOV), 3, 2, 2, true, 0, false, 0x66, 0x89, 0x07),           /* mov [rdi],ax */
	MEM(M64, K(MOV), 4, 8, 8, true, 0, false, 0x66, 0x48, 0x89, 0x07),     /* REX.W beats 66 */
	MEM(M64, K(MOV), 4, 2, 2, true, 0, false, 0x48, 0x66, 0x89, 0x07),     /* REX not last: ignored */
	MEM(M64, K(MOV), 4, 8, 8, true, 0, false, 0x44, 0x48, 0x89, 0x07),     /* two REX: last counts */
	MEM(M64, K(MOV), 4, 4, 4, true, 0, false, 0x4c, 0x2e, 0x89, 0x07),     /* REX then segment */
	MEM(M64, K(MOV), 3, 4, 4, false, 0, false, 0x67, 0x8b, 0x07),          /* mov eax,[edi] */
	MEM(M64, K(MOV), 7, 4, 4, false, 0, false, 0x67, 0x8b, 0x05, 1, 2, 3, 4), /* [eip+disp32] */
	MEM(M64, K(MOV), 8, 4, 4, false, 0, false, 0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0), /* fs:[0] */
	MEM(M64, K(MOV), 9, 8, 8, false, 0, false, 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), /* gs:[0x28] */
	MEM(M64, K(MOV), 3, 4, 4, false, 0, false, 0x2e, 0x8b, 0x07),
	MEM(M64, K(MOV), 9, 4, 4, false, 0, false, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), /* moffs64 */
	MEM(M64, K(MOV), 10, 8, 8, true, 0, false, 0x48, 0xa3, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0),
	MEM(M64, K(MOV), 9, 1, 1, false, 0, false, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8),
	MEM(M64, K(MOV), 9, 1, 1, true, 0, false, 0xa2, 1, 2, 3, 4, 5, 6, 7, 8),
	MEM(M64, K(MOV), 6, 4, 4, false, 0, false, 0x67, 0xa1, 0x20, 0x00, 0xe0, 0xfe), /* moffs32 */
	MEM(M64, K(MOV), 10, 2, 2, false, 0, false, 0x66, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8),
	MEM(M64, K(MOVZX), 3, 4, 1, false, 0, false, 0x0f, 0xb6, 0x07),       /* movzx eax,byte [rdi] */
	MEM(M64, K(MOVZX), 5, 8, 2, false, 0, false, 0x48, 0x0f, 0xb7, 0x47, 0x04),
	MEM(M64, K(MOVZX), 4, 2, 1, false, 1, false, 0x66, 0x0f, 0xb6, 0x0f), /* movzx cx,byte [rdi] */
	MEM(M64, K(MOVZX), 4, 4, 1, false, 9, false, 0x44, 0x0f, 0xb6, 0x0f), /* movzx r9d,[rdi] */
	MEM(M64, K(MOVSX), 3, 4, 1, false, 0, false, 0x0f, 0xbe, 0x07),
	MEM(M64, K(MOVSX), 4, 8, 2, false, 2, false, 0x48, 0x0f, 0xbf, 0x17),
	MEM(M64, K(MOVSX), 3, 8, 4, false, 0, false, 0x48, 0x63, 0x07),       /* movsxd rax,[rdi] */
	MEM(M64, K(MOVSX), 2, 4, 4, false, 0, false, 0x63, 0x07),
	MEM(M64, K(MOVSX), 3, 2, 2, false, 0, false, 0x66, 0x63, 0x07),
	MEM(M64, K(MOVSX), 3, 8, 0, false, 0, false, 0x48, 0x63, 0xc1),       /* movsxd rax,ecx */
	IMM(M64, 6, 4, 4, 0x1ff, 0xc7, 0x07, 0xff, 0x01, 0x00, 0x00),         /* mov dword [rdi],0x1ff */
	IMM(M64, 10, 4, 4, 0x1ff, 0xc7, 0x80, 0xf0, 0, 0, 0, 0xff, 0x01, 0, 0), /* [rax+0xf0] */
	IMM(M64, 7, 8, 8, UINT64_MAX, 0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
	IMM(M64, 7, 8, 8, 0xffffffff80000000ull, 0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
	IMM(M64, 7, 8, 8, 0x7fffffff, 0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f),
	IMM(M64, 7, 4, 4, 0x80000000, 0x41, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80),
	IMM(M64, 5, 2, 2, 0x1234, 0x66, 0xc7, 0x07, 0x34, 0x12),
	IMM(M64, 3, 1, 1, 0x5a, 0xc6, 0x07, 0x5a),
	IMM(M64, 4, 1, 1, 0xff, 0x48, 0xc6, 0x07, 0xff),
	IMM(M64, 7, 1, 1, 0x01, 0xc6, 0x05, 0xf0, 0xff, 0xff, 0xff, 0x01),    /* [rip-0x10] */
	IMM(M64, 13, 8, 8, 2, 0x65, 0x48, 0xc7, 0x84, 0x24, 0x44, 0x33, 0x22, 0x11, 2, 0, 0, 0, 0x90),
	IMM(M64, 6, 4, 0, 1, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00),             /* mov eax,1 */
	ERR(M64, UNSUP, 0xc6, 0xf8, 0x00),                     /* xabort */
	ERR(M64, UNSUP, 0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00),   /* xbegin */
	ERR(M64, UNSUP, 0xc7, 0x4f, 0x10, 0, 0, 0, 0),         /* /1 */
	ERR(M64, UNSUP, 0x8c, 0xd8),                           /* mov eax,ds */

	/* ---- MOV, 32-bit ---- */
	MEM(M32, K(MOV), 6, 4, 4, false, 2, false, 0x8b, 0x15, 0x20, 0x00, 0xe0, 0xfe), /* mov edx,[0xfee00020] */
	MEM(M32, K(MOV), 6, 4, 4, true, 3, false, 0x89, 0x1d, 0x80, 0x03, 0xe0, 0xfe),  /* mov [0xfee00380],ebx */
	IMM(M32, 10, 4, 4, 0x1ff, 0xc7, 0x80, 0xf0, 0, 0, 0, 0xff, 0x01, 0, 0), /* mov dword [eax+0xf0],0x1ff */
	IMM(M32, 10, 4, 4, 0x1ff, 0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0, 0), /* [0xfee000b0] */
	IMM(M32, 6, 2, 2, 0xabcd, 0x66, 0xc7, 0x40, 0x10, 0xcd, 0xab),
	MEM(M32, K(MOV), 3, 4, 4, false, 0, false, 0x67, 0x8b, 0x07),          /* mov eax,[bx] */
	MEM(M32, K(MOV), 5, 4, 4, false, 0, false, 0x67, 0x8b, 0x06, 0x20, 0x00), /* mov eax,[0x20] */
	MEM(M32, K(MOV), 4, 4, 4, false, 0, false, 0x67, 0x8b, 0x46, 0x02),    /* mov eax,[bp+2] */
	MEM(M32, K(MOV), 5, 4, 4, false, 0, false, 0x67, 0x8b, 0x86, 0x00, 0x01), /* [bp+0x100] */
	MEM(M32, K(MOV), 3, 4, 4, false, 0, false, 0x67, 0x8b, 0x04),          /* rm=4 is [si]: no SIB */
	MEM(M32, K(MOV), 3, 2, 2, false, 0, false, 0x66, 0x8b, 0x07),          /* mov ax,[edi] */
	MEM(M32, K(MOV), 7, 4, 4, false, 0, false, 0x8b, 0x04, 0x25, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M32, K(MOV), 4, 4, 4, false, 0, false, 0x8b, 0x44, 0x8d, 0xfc),    /* [ebp+ecx*4-4] */
	MEM(M32, K(MOV), 7, 4, 4, false, 0, false, 0x8b, 0x04, 0x8d, 0, 0x10, 0, 0), /* [ecx*4+0x1000] */
	MEM(M32, K(MOV), 3, 4, 4, false, 0, false, 0x8b, 0x45, 0x08),          /* mov eax,[ebp+8] */
	MEM(M32, K(MOV), 3, 4, 4, false, 0, false, 0x26, 0x8b, 0x07),          /* es: */
	MEM(M32, K(MOV), 5, 4, 4, false, 0, false, 0xa1, 0x20, 0x00, 0xe0, 0xfe), /* moffs32 */
	MEM(M32, K(MOV), 4, 4, 4, true, 0, false, 0x67, 0xa3, 0x20, 0x00),     /* moffs16 */
	MEM(M32, K(MOV), 5, 1, 1, true, 0, false, 0xa2, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M32, K(MOV), 2, 1, 1, false, 5, true, 0x8a, 0x2b),                 /* mov ch,[ebx] */
	MEM(M32, K(MOVZX), 7, 4, 2, false, 0, false, 0x0f, 0xb7, 0x05, 0x30, 0x00, 0xe0, 0xfe),
	MEM(M32, K(MOVSX), 3, 4, 1, false, 1, false, 0x0f, 0xbe, 0x0b),
	SIMPLE(M32, K(RDTSCP), 3, 0x0f, 0x01, 0xf9),

	/* ---- MOV, 16-bit ---- */
	MEM(M16, K(MOV), 2, 2, 2, false, 0, false, 0x8b, 0x07),                /* mov ax,[bx] */
	MEM(M16, K(MOV), 2, 2, 2, false, 0, false, 0x8b, 0x04),                /* mov ax,[si] */
	MEM(M16, K(MOV), 4, 2, 2, false, 0, false, 0x8b, 0x06, 0x20, 0x00),    /* mov ax,[0x20] */
	MEM(M16, K(MOV), 3, 2, 2, false, 0, false, 0x8b, 0x46, 0xfe),          /* mov ax,[bp-2] */
	MEM(M16, K(MOV), 4, 2, 2, false, 0, false, 0x8b, 0x87, 0x00, 0x10),    /* mov ax,[bx+0x1000] */
	MEM(M16, K(MOV), 3, 4, 4, false, 0, false, 0x66, 0x8b, 0x07),          /* mov eax,[bx] */
	MEM(M16, K(MOV), 3, 2, 2, false, 0, false, 0x67, 0x8b, 0x07),          /* mov ax,[edi] */
	MEM(M16, K(MOV), 8, 2, 2, false, 0, false, 0x67, 0x8b, 0x04, 0x25, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M16, K(MOV), 8, 4, 4, false, 2, false, 0x67, 0x66, 0x8b, 0x15, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M16, K(MOV), 8, 4, 4, true, 2, false, 0x66, 0x67, 0x89, 0x95, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M16, K(MOV), 3, 2, 2, false, 0, false, 0xa1, 0x20, 0x00),          /* mov ax,[0x20] */
	MEM(M16, K(MOV), 7, 4, 4, false, 0, false, 0x66, 0x67, 0xa1, 0x20, 0x00, 0xe0, 0xfe),
	MEM(M16, K(MOV), 2, 1, 1, true, 7, true, 0x88, 0x3f),                  /* mov [bx],bh */
	MEM(M16, K(MOVZX), 4, 4, 1, false, 0, false, 0x66, 0x0f, 0xb6, 0x07),
	IMM(M16, 6, 2, 2, 0x1234, 0xc7, 0x06, 0x20, 0x00, 0x34, 0x12),
	IMM(M16, 9, 4, 4, 0x12345678, 0x66, 0xc7, 0x06, 0x20, 0x00, 0x78, 0x56, 0x34, 0x12),
	IMM(M16, 4, 1, 1, 0xaa, 0xc6, 0x47, 0x05, 0xaa),
	IMM(M16, 5, 1, 1, 0xaa, 0xc6, 0x87, 0x05, 0x01, 0xaa, 0xf4),           /* trailing byte not taken */

	/* ---- 15-byte limit ---- */
	MEM(M64, K(MOV), 15, 2, 2, true, 0, false, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x66, 0x66, 0x66, 0x66, 0x89, 0x07),
	ERR(M64, TOOLONG, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x66, 0x89, 0x07),
	ERR(M64, TOOLONG, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0xf4),
	ERR(M16, TOOLONG, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3,
	    0xf3, 0xf3, 0xf3),
	ERR(M64, TOOLONG, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c,
	    0x4d, 0x4e, 0x0f),
	IMM(M64, 15, 4, 4, 0x44332211, 0x2e, 0x2e, 0x2e, 0x2e, 0xc7, 0x84, 0x24, 1, 0, 0, 0,
	    0x11, 0x22, 0x33, 0x44),
	ERR(M64, TOOLONG, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xc7, 0x84, 0x24, 1, 0, 0, 0,
	    0x11, 0x22, 0x33, 0x44),
	SIMPLE(M64, K(RDTSCP), 15, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x48,
	       0x0f, 0x01, 0xf9),
};

static void check_case(const struct tc *t)
{
	struct x86_insn in;
	int rc = decode_heap(t->b, t->n, t->mode, &in);
	bool ok = true;

	if (t->type == T_ERR) {
		ok = rc == t->rc;
	} else {
		ok = rc == 0 && in.kind == t->kind && in.len == t->len;
		if (ok && (t->type == T_MEM || t->type == T_IMM)) {
			ok = in.opsize == t->opsize && in.memsize == t->memsize &&
			     in.has_mem == (t->memsize != 0);
			if (t->kind != X86_INSN_RDPID)
				ok = ok && in.write == t->write;
			if (t->type == T_MEM)
				ok = ok && in.reg == t->reg && in.reg_high8 == t->high8 && !in.has_imm;
			else
				ok = ok && in.has_imm && in.imm == t->imm;
		}
		if (ok && t->type == T_IO) {
			ok = in.opsize == t->opsize && in.rep == t->rep && !in.has_mem &&
			     in.write == (t->kind == X86_INSN_OUT || t->kind == X86_INSN_OUTS);
			if (t->port < 0)
				ok = ok && in.port_in_dx && !in.has_imm;
			else
				ok = ok && !in.port_in_dx && in.has_imm && in.imm == (uint64_t)t->port;
		}
	}
	if (!th_check(ok, "table entry", __FILE__, t->line)) {
		printf("#   line %d: rc %d kind %s len %u opsize %u memsize %u write %d reg %u h8 %d imm 0x%llx rep %d\n",
		       t->line, rc, rc ? "-" : x86_insn_kind_name(in.kind), in.len, in.opsize, in.memsize,
		       in.write, in.reg, in.reg_high8, (unsigned long long)in.imm, in.rep);
	}
}

/* Every strict prefix of a valid encoding is ETRUNC; extra bytes after it
 * change nothing. */
static void check_truncation(const struct tc *t)
{
	struct x86_insn full, in;
	uint8_t longer[32];
	unsigned k;
	bool ok = true;

	if (t->type == T_ERR || decode_heap(t->b, t->n, t->mode, &full) != 0)
		return;
	for (k = 0; k < full.len; k++)
		if (decode_heap(t->b, k, t->mode, &in) != X86_DECODE_ETRUNC)
			ok = false;
	memcpy(longer, t->b, t->n);
	memset(longer + t->n, 0xcc, sizeof(longer) - t->n);
	if (decode_heap(longer, sizeof(longer), t->mode, &in) != 0 || memcmp(&in, &full, sizeof(in)) != 0)
		ok = false;
	th_check(ok, "truncation at every length", __FILE__, t->line);
}

/* ---- specific fields ----------------------------------------------------- */

static struct x86_insn dec(enum cpu_mode mode, const uint8_t *b, unsigned n)
{
	struct x86_insn in;

	memset(&in, 0, sizeof(in));
	CHECK_EQ_U64(decode_heap(b, n, mode, &in), 0);
	return in;
}
#define DEC(mode, ...) dec(mode, (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }))

static void test_fields(void)
{
	struct x86_insn in;

	in = DEC(M64, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00);
	CHECK(in.rip_relative);
	CHECK_EQ_U64(in.disp_len, 4);
	CHECK_EQ_U64(in.disp, 0x10);
	CHECK(!in.has_sib);
	CHECK_EQ_U64(in.addrsize, 8);

	in = DEC(M64, 0x89, 0x05, 0xf0, 0xff, 0xff, 0xff);
	CHECK_EQ_U64(in.disp, (uint64_t)-16);

	in = DEC(M32, 0x8b, 0x15, 0x20, 0x00, 0xe0, 0xfe);
	CHECK(!in.rip_relative);
	CHECK_EQ_U64(in.disp, 0xfffffffffee00020ull);     /* sign-extended disp32 */
	CHECK_EQ_U64(in.addrsize, 4);
	CHECK_EQ_U64(in.modrm, 0x15);

	in = DEC(M64, 0x8b, 0x04, 0x25, 0x20, 0x00, 0xe0, 0xfe);
	CHECK(!in.rip_relative);
	CHECK(in.has_sib);
	CHECK_EQ_U64(in.sib, 0x25);

	in = DEC(M64, 0x67, 0x8b, 0x05, 1, 2, 3, 4);
	CHECK(in.rip_relative);
	CHECK_EQ_U64(in.addrsize, 4);
	CHECK_EQ_U64(in.disp, 0x04030201);

	in = DEC(M16, 0x8b, 0x46, 0xfe);
	CHECK_EQ_U64(in.disp_len, 1);
	CHECK_EQ_U64(in.disp, (uint64_t)-2);
	CHECK_EQ_U64(in.addrsize, 2);
	in = DEC(M16, 0x8b, 0x87, 0x00, 0x90);
	CHECK_EQ_U64(in.disp_len, 2);
	CHECK_EQ_U64(in.disp, 0xffffffffffff9000ull);
	in = DEC(M16, 0x8b, 0x06, 0x34, 0x12);
	CHECK_EQ_U64(in.disp, 0x1234);
	CHECK(!in.rip_relative);

	/* moffs: zero-extended, width = address size */
	in = DEC(M64, 0x48, 0xa1, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0xf2);
	CHECK_EQ_U64(in.disp, 0xf23456789abcdef0ull);
	CHECK_EQ_U64(in.disp_len, 8);
	CHECK_EQ_U64(in.reg, 0);
	CHECK(!in.has_modrm);
	in = DEC(M32, 0xa1, 0x20, 0x00, 0xe0, 0xfe);
	CHECK_EQ_U64(in.disp, 0xfee00020);
	in = DEC(M16, 0xa3, 0x00, 0x80);
	CHECK_EQ_U64(in.disp, 0x8000);
	CHECK(in.write);

	/* register forms: rm and the high-byte flags */
	in = DEC(M64, 0x88, 0xe0);                      /* mov al,ah */
	CHECK(!in.has_mem);
	CHECK_EQ_U64(in.memsize, 0);
	CHECK_EQ_U64(in.reg, 4);
	CHECK(in.reg_high8);
	CHECK_EQ_U64(in.rm, 0);
	CHECK(!in.rm_high8);
	in = DEC(M64, 0x40, 0x88, 0xe7);                /* mov dil,spl */
	CHECK_EQ_U64(in.reg, 4);
	CHECK(!in.reg_high8);
	CHECK_EQ_U64(in.rm, 7);
	CHECK(!in.rm_high8);
	in = DEC(M64, 0x8a, 0xc7);                      /* mov al,bh */
	CHECK_EQ_U64(in.rm, 7);
	CHECK(in.rm_high8);
	CHECK(!in.reg_high8);
	in = DEC(M64, 0x49, 0x8b, 0xc7);                /* mov rax,r15 */
	CHECK_EQ_U64(in.rm, 15);
	CHECK_EQ_U64(in.opsize, 8);
	in = DEC(M64, 0x0f, 0xb6, 0xc4);                /* movzx eax,ah */
	CHECK(in.rm_high8);
	CHECK(!in.reg_high8);
	CHECK_EQ_U64(in.rm, 4);
	in = DEC(M64, 0x0f, 0xb7, 0xc4);                /* movzx eax,sp */
	CHECK(!in.rm_high8);
	in = DEC(M64, 0x8b, 0x27);                      /* mov esp,[rdi]: not a byte op */
	CHECK_EQ_U64(in.reg, 4);
	CHECK(!in.reg_high8);
	in = DEC(M64, 0xc6, 0xc4, 0x12);                /* mov ah,0x12 */
	CHECK(in.rm_high8);
	CHECK(!in.has_mem);

	/* prefixes and segments */
	in = DEC(M64, 0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0);
	CHECK_EQ_U64(in.seg, X86_SEG_FS);
	in = DEC(M64, 0x65, 0x2e, 0x8b, 0x07);          /* null CS override keeps GS */
	CHECK_EQ_U64(in.seg, X86_SEG_GS);
	in = DEC(M64, 0x3e, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_NONE);
	in = DEC(M32, 0x26, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_ES);
	in = DEC(M32, 0x2e, 0x36, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_SS);
	in = DEC(M16, 0x3e, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_DS);
	in = DEC(M16, 0x2e, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_CS);
	in = DEC(M64, 0x8b, 0x07);
	CHECK_EQ_U64(in.seg, X86_SEG_NONE);
	CHECK_EQ_U64(in.prefixes, 0);
	CHECK_EQ_U64(in.rex, 0);
	in = DEC(M64, 0x48, 0x66, 0x89, 0x07);
	CHECK_EQ_U64(in.rex, 0);
	CHECK_EQ_U64(in.prefixes, X86_PFX_OPSIZE);
	in = DEC(M64, 0x4c, 0x48, 0x89, 0x07);
	CHECK_EQ_U64(in.rex, 0x48);
	CHECK_EQ_U64(in.reg, 0);
	in = DEC(M64, 0xf2, 0xf3, 0x6c);
	CHECK_EQ_U64(in.last_rep, 0xf3);
	CHECK_EQ_U64(in.prefixes, X86_PFX_REP | X86_PFX_REPNE);
	CHECK(in.rep);
	in = DEC(M64, 0xf2, 0xf3, 0x0f, 0xc7, 0xf8);    /* F3 last: RDPID */
	CHECK_EQ_U64(in.kind, X86_INSN_RDPID);
	in = DEC(M64, 0x67, 0xf3, 0x6d);
	CHECK_EQ_U64(in.addrsize, 4);
	in = DEC(M16, 0xf3, 0x6d);
	CHECK_EQ_U64(in.addrsize, 2);
	in = DEC(M16, 0x67, 0xf3, 0x6d);
	CHECK_EQ_U64(in.addrsize, 4);
	in = DEC(M32, 0x0f, 0x01, 0xf9);
	CHECK(in.two_byte);
	CHECK_EQ_U64(in.opcode, 0x01);
	CHECK_EQ_U64(in.modrm, 0xf9);
	in = DEC(M64, 0xf4);
	CHECK(!in.two_byte);
	CHECK_EQ_U64(in.opcode, 0xf4);
}

static void test_errors(void)
{
	static const uint8_t junk[1] = { 0 };
	struct x86_insn in;
	uint8_t b[32];

	CHECK_EQ_U64(x86_decode(NULL, 0, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETRUNC);
	CHECK_EQ_U64(x86_decode(NULL, 10, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETRUNC);
	CHECK_EQ_U64(x86_decode(junk, 1, M64, NULL), (uint64_t)(int64_t)X86_DECODE_EINVAL);
	CHECK_EQ_U64(x86_decode(junk, 1, (enum cpu_mode)7, &in), (uint64_t)(int64_t)X86_DECODE_EINVAL);

	/* F2 last of the rep prefixes: 0F C7 /7 is not RDPID */
	memcpy(b, (const uint8_t[]){ 0xf3, 0xf2, 0x0f, 0xc7, 0xf8 }, 5);
	CHECK_EQ_U64(decode_heap(b, 5, M64, &in), (uint64_t)(int64_t)X86_DECODE_EUNSUP);

	/* A run of prefixes: ETRUNC while fewer than 15 bytes are there,
	 * ETOOLONG from 15 on, whatever follows. */
	memset(b, 0x66, sizeof(b));
	CHECK_EQ_U64(decode_heap(b, 14, M32, &in), (uint64_t)(int64_t)X86_DECODE_ETRUNC);
	CHECK_EQ_U64(decode_heap(b, 15, M32, &in), (uint64_t)(int64_t)X86_DECODE_ETOOLONG);
	CHECK_EQ_U64(decode_heap(b, 32, M32, &in), (uint64_t)(int64_t)X86_DECODE_ETOOLONG);
	/* REX bytes are prefixes only in 64-bit mode. */
	memset(b, 0x48, sizeof(b));
	CHECK_EQ_U64(decode_heap(b, 32, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETOOLONG);
	CHECK_EQ_U64(decode_heap(b, 32, M32, &in), (uint64_t)(int64_t)X86_DECODE_EUNSUP);
	/* Length known to exceed 15 before all bytes are there: ETOOLONG. */
	memcpy(b, (const uint8_t[]){ 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xc7, 0x84, 0x24 }, 12);
	CHECK_EQ_U64(decode_heap(b, 12, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETOOLONG);
	CHECK_EQ_U64(decode_heap(b, 11, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETRUNC);
	b[0] = 0x90;    /* 8 prefixes: disp32 ends at 15, imm32 beyond: ETRUNC first */
	CHECK_EQ_U64(decode_heap(b + 1, 11, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETRUNC);
	CHECK_EQ_U64(decode_heap(b + 1, 15, M64, &in), (uint64_t)(int64_t)X86_DECODE_ETOOLONG);
}

static void test_cpu_mode(void)
{
	const uint64_t pe = 1, lma = 1u << 10, vm = 1u << 17;

	CHECK_EQ_U64(x86_cpu_mode(0, 0, 0, false, false), CPU_MODE_16);
	CHECK_EQ_U64(x86_cpu_mode(0, 0, 0, false, true), CPU_MODE_16);
	CHECK_EQ_U64(x86_cpu_mode(pe, 0, 0, false, false), CPU_MODE_16);
	CHECK_EQ_U64(x86_cpu_mode(pe, 0, 0, false, true), CPU_MODE_32);
	CHECK_EQ_U64(x86_cpu_mode(pe, 0, vm, false, true), CPU_MODE_16);
	CHECK_EQ_U64(x86_cpu_mode(pe, lma, 0, true, false), CPU_MODE_64);
	CHECK_EQ_U64(x86_cpu_mode(pe, lma, 0, false, true), CPU_MODE_32);
	CHECK_EQ_U64(x86_cpu_mode(pe, lma, 0, false, false), CPU_MODE_16);
	CHECK_STR(x86_insn_kind_name(X86_INSN_RDTSCP), "rdtscp");
	CHECK_STR(x86_insn_kind_name(X86_INSN_KIND_NR), "?");
}

/* ---- random and mutated input -------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Bytes that steer random input into the decoder's interesting paths. */
static const uint8_t hot[] = {
	0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x41, 0x44, 0x48, 0x4c,
	0x4f, 0x0f, 0x01, 0xa2, 0x31, 0x32, 0x30, 0xf9, 0xd9, 0xc1, 0xc7, 0xf8, 0xb6, 0xb7, 0xbe, 0xbf,
	0xf4, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xa0, 0xa1, 0xa2, 0xa3, 0x63, 0xe4, 0xe5, 0xe6, 0xe7, 0xec,
	0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f, 0x04, 0x05, 0x25, 0x44, 0x45, 0x84, 0x85, 0x06, 0x46,
	0x08, 0x09, 0x00, 0x01, 0x02, 0x03, 0x39, 0x80, 0x81, 0x83, 0x86, 0x87, 0xf6, 0xf7, 0xfe, 0xff,
	0x8f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xab, 0xba, 0xb0, 0xc0, 0x94,
	0xf0, 0x30, 0x37, 0x20,
};

static const uint8_t frag[6][3] = {
	{ 0x0f, 0x01, 0xf9 }, { 0x0f, 0x01, 0xd9 }, { 0x0f, 0x01, 0xc1 }, { 0x0f, 0xc7, 0xf9 }, { 0x0f, 0xc7, 0xfe },
	{ 0x0f, 0x01, 0xd1 },
};

struct fuzz_stats {
	unsigned bad, ok, per_kind[X86_INSN_KIND_NR];
	unsigned long long max_len;
};

/* Decode b[0..n) and check the invariants; on success also that exactly
 * len bytes decode identically and every shorter prefix is ETRUNC. */
static void fuzz_one(const uint8_t *b, unsigned n, enum cpu_mode mode, struct fuzz_stats *st)
{
	struct x86_insn in, again;
	int rc = decode_heap(b, n, mode, &in);
	unsigned k;

	if (rc != 0) {
		if (rc != X86_DECODE_ETRUNC && rc != X86_DECODE_EUNSUP &&
		    rc != X86_DECODE_EINVAL && rc != X86_DECODE_ETOOLONG)
			st->bad++;
		if (rc == X86_DECODE_ETRUNC && n >= X86_MAX_INSN_LEN)
			st->bad++;      /* 15 bytes always decide */
		return;
	}
	st->ok++;
	if (in.len < 1 || in.len > n || in.len > X86_MAX_INSN_LEN ||
	    in.kind <= X86_INSN_NONE || in.kind >= X86_INSN_KIND_NR ||
	    (in.has_mem && !in.memsize) || (!in.has_mem && in.memsize) ||
	    (in.opsize != 1 && in.opsize != 2 && in.opsize != 4 && in.opsize != 8) ||
	    (in.reg_high8 && (in.reg < 4 || in.reg > 7)) || in.reg > 15 || in.rm > 15) {
		if (st->bad++ < 5)
			printf("#   bad decode: mode %d len %u kind %d\n", (int)mode, in.len, (int)in.kind);
		return;
	}
	st->per_kind[in.kind]++;
	if (in.len > st->max_len)
		st->max_len = in.len;
	if (decode_heap(b, in.len, mode, &again) != 0 || memcmp(&in, &again, sizeof(in)) != 0)
		st->bad++;
	k = (unsigned)(rng() % in.len);
	if (decode_heap(b, k, mode, &again) != X86_DECODE_ETRUNC)
		st->bad++;
}

/* The read-modify-write and string forms a guest may aim at MMIO. */
static void test_mmio_forms(void)
{
	static const struct {
		int line;
		enum cpu_mode mode;
		enum x86_insn_kind kind;
		unsigned len, opsize, memsize, alu_op, reg;
		bool write, mem_is_dst, has_imm;
		uint64_t imm;
		int rc;
		uint8_t b[15];
		unsigned n;
	} t[] = {
#define F(m, k, l, osz, msz, op, r, wr, dst, hi, im, ...) { __LINE__, m, K(k), l, osz, msz, op, r, wr, dst, hi, im, 0, \
	{ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }
#define E(m, e, ...) { __LINE__, m, K(NONE), 0, 0, 0, 0, 0, 0, 0, 0, 0, e, { __VA_ARGS__ }, \
	sizeof((uint8_t[]){ __VA_ARGS__ }) }
		F(M64, ALU, 2, 4, 4, 0, 1, true, true, false, 0, 0x01, 0x0f),          /* add [rdi],ecx */
		F(M64, ALU, 2, 4, 4, 0, 1, false, false, false, 0, 0x03, 0x0f),        /* add ecx,[rdi] */
		F(M64, ALU, 2, 1, 1, 1, 4, true, true, false, 0, 0x08, 0x27),          /* or [rdi],ah */
		F(M64, ALU, 3, 8, 8, 7, 0, false, true, false, 0, 0x48, 0x39, 0x07),   /* cmp [rdi],rax */
		F(M64, ALU, 2, 4, 4, 7, 0, false, false, false, 0, 0x3b, 0x07),        /* cmp eax,[rdi] */
		F(M64, ALU, 3, 4, 4, 4, 0, true, true, true, 0xffffffff, 0x83, 0x27, 0xff), /* and dword [rdi],-1 */
		F(M64, ALU, 7, 8, 8, 6, 0, true, true, true, 0xffffffff80000000ull,
		  0x48, 0x81, 0x37, 0x00, 0x00, 0x00, 0x80),                          /* xor qword [rdi],imm32 */
		F(M64, ALU, 5, 2, 2, 2, 0, true, true, true, 0x1234, 0x66, 0x81, 0x17, 0x34, 0x12), /* adc */
		F(M64, ALU, 3, 1, 1, 3, 0, true, true, true, 0x80, 0x80, 0x1f, 0x80),  /* sbb byte [rdi],0x80 */
		F(M64, ALU, 3, 4, 4, 5, 0, true, true, false, 0, 0xf0, 0x29, 0x07),    /* lock sub [rdi],eax */
		F(M64, TEST, 2, 4, 4, 0, 2, false, true, false, 0, 0x85, 0x17),        /* test [rdi],edx */
		F(M64, TEST, 3, 1, 1, 0, 0, false, true, true, 0x81, 0xf6, 0x07, 0x81), /* test byte [rdi],0x81 */
		F(M64, INC, 2, 4, 4, 0, 0, true, true, false, 0, 0xff, 0x07),
		F(M64, DEC, 2, 1, 1, 0, 0, true, true, false, 0, 0xfe, 0x0f),
		F(M64, NOT, 3, 2, 2, 0, 0, true, true, false, 0, 0x66, 0xf7, 0x17),
		F(M64, NEG, 3, 8, 8, 0, 0, true, true, false, 0, 0x48, 0xf7, 0x1f),
		F(M64, XCHG, 2, 4, 4, 0, 3, true, true, false, 0, 0x87, 0x1f),
		F(M64, BT, 3, 4, 4, 0, 0, false, true, false, 0, 0x0f, 0xa3, 0x07),   /* bt [rdi],eax */
		F(M64, BT, 4, 4, 4, 1, 0, true, true, true, 31, 0x0f, 0xba, 0x2f, 31), /* bts [rdi],31 */
		F(M64, BT, 3, 4, 4, 3, 1, true, true, false, 0, 0x0f, 0xbb, 0x0f),    /* btc [rdi],ecx */
		F(M64, SETCC, 3, 1, 1, 4, 0, true, true, false, 0, 0x0f, 0x94, 0x07), /* sete [rdi] */
		F(M64, CMPXCHG, 3, 4, 4, 0, 1, true, true, false, 0, 0x0f, 0xb1, 0x0f),
		F(M64, XADD, 4, 1, 1, 0, 1, true, true, false, 0, 0xf0, 0x0f, 0xc0, 0x0f),
		F(M64, STOS, 1, 1, 0, 0, 0, true, false, false, 0, 0xaa),
		F(M64, STOS, 3, 8, 0, 0, 0, true, false, false, 0, 0xf3, 0x48, 0xab),
		F(M64, LODS, 1, 4, 0, 0, 0, false, false, false, 0, 0xad),
		F(M64, SCAS, 2, 2, 0, 0, 0, false, false, false, 0, 0x66, 0xaf),
		F(M64, MOVS, 1, 1, 0, 0, 0, true, false, false, 0, 0xa4),
		F(M64, CMPS, 1, 4, 0, 0, 0, false, false, false, 0, 0xa7),
		F(M64, PUSH, 2, 8, 8, 0, 0, false, false, false, 0, 0xff, 0x37),
		F(M64, POP, 2, 8, 8, 0, 0, true, true, false, 0, 0x8f, 0x07),
		F(M32, PUSH, 2, 4, 4, 0, 0, false, false, false, 0, 0xff, 0x37),
		F(M32, ALU, 3, 1, 1, 0, 0, true, true, true, 1, 0x82, 0x07, 0x01),     /* add byte [edi],1 */
		E(M64, UNSUP, 0x82, 0x07, 0x01),         /* #UD in 64-bit mode */
		E(M64, INVAL, 0xf0, 0x3b, 0x07),         /* lock cmp-into-register */
		E(M64, INVAL, 0xf0, 0x39, 0x07),         /* lock cmp */
		E(M64, INVAL, 0xf0, 0x01, 0xc8),         /* lock add eax,ecx */
		E(M64, INVAL, 0xf0, 0x0f, 0xa3, 0x07),   /* lock bt */
		E(M64, INVAL, 0xf0, 0x85, 0x07),         /* lock test */
		E(M64, UNSUP, 0xf7, 0x27),               /* mul dword [rdi] */
		E(M64, UNSUP, 0x0f, 0xba, 0x17, 1),      /* 0F BA /2 */
		E(M64, TRUNC, 0x81, 0x07, 0x01, 0x02),   /* imm32 cut short */
#undef F
#undef E
	};
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct x86_insn in;
		int rc = decode_heap(t[i].b, t[i].n, t[i].mode, &in);
		bool ok;

		if (t[i].rc)
			ok = rc == t[i].rc;
		else
			ok = rc == 0 && in.kind == t[i].kind && in.len == t[i].len && in.opsize == t[i].opsize &&
			     in.memsize == t[i].memsize && in.alu_op == t[i].alu_op && in.write == t[i].write &&
			     in.mem_is_dst == t[i].mem_is_dst && in.has_imm == t[i].has_imm &&
			     (!t[i].has_imm || in.imm == t[i].imm) && (t[i].has_imm || in.reg == t[i].reg);
		if (!th_check(ok, "mmio form", __FILE__, t[i].line))
			printf("#   rc %d kind %s len %u opsize %u memsize %u op %u reg %u write %d dst %d imm 0x%llx\n",
			       rc, x86_insn_kind_name(in.kind), in.len, in.opsize, in.memsize, in.alu_op, in.reg,
			       in.write, in.mem_is_dst, (unsigned long long)in.imm);
	}
}

static void test_random(void)
{
	static const enum cpu_mode modes[] = { M16, M32, M64 };
	struct fuzz_stats st;
	uint8_t b[24];
	unsigned i, j, n, kind;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 100000; i++) {
		n = (unsigned)(rng() % (sizeof(b) + 1));
		for (j = 0; j < n; j++) {
			uint64_t r = rng();
			b[j] = (r & 1) ? hot[(r >> 8) % sizeof(hot)] : (uint8_t)(r >> 16);
			if ((r & 0xf0000000) == 0 && j + 3 <= n) {
				/* splice in a group 7 / group 9 opcode */
				memcpy(b + j, frag[(r >> 32) % 6], 3);
				j += 2;
			}
		}
		fuzz_one(b, n, modes[i % 3], &st);
	}
	if (!CHECK(st.bad == 0))
		printf("#   %u bad of %u decoded\n", st.bad, st.ok);
	printf("# random: %u decoded of 100000, max len %llu\n", st.ok, st.max_len);
	/* The generator reaches every kind. */
	for (kind = X86_INSN_CPUID; kind < X86_INSN_KIND_NR; kind++)
		if (!th_check(st.per_kind[kind] > 0, "random input reaches every kind", __FILE__, __LINE__))
			printf("#   never decoded: %s\n", x86_insn_kind_name((enum x86_insn_kind)kind));

	/* Mutations of the table: flip, replace, insert or drop bytes. */
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 100000; i++) {
		const struct tc *t = &table[rng() % (sizeof(table) / sizeof(table[0]))];
		unsigned pos, op = (unsigned)(rng() % 4);

		n = t->n;
		memcpy(b, t->b, n);
		pos = n ? (unsigned)(rng() % n) : 0;
		switch (op) {
		case 0: if (n) b[pos] ^= (uint8_t)(1u << (rng() % 8)); break;
		case 1: if (n) b[pos] = (uint8_t)rng(); break;
		case 2:
			if (n < sizeof(b)) {
				memmove(b + pos + 1, b + pos, n - pos);
				b[pos] = hot[rng() % sizeof(hot)];
				n++;
			}
			break;
		default:
			if (n) {
				memmove(b + pos, b + pos + 1, n - pos - 1);
				n--;
			}
			break;
		}
		fuzz_one(b, n, (rng() & 3) ? t->mode : modes[rng() % 3], &st);
	}
	if (!CHECK(st.bad == 0))
		printf("#   %u bad of %u decoded\n", st.bad, st.ok);
	printf("# mutations: %u decoded of 100000\n", st.ok);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_case(&table[i]);
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_truncation(&table[i]);
	test_fields();
	test_errors();
	test_cpu_mode();
	test_mmio_forms();
	test_random();
	return th_done();
}
