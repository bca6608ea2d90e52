/*
 * simd_internal: state and helpers shared by the files of the x87/MMX/SSE
 * unit (simd.c, simd_state.c, simd_x87.c, simd_int.c, simd_sse.c,
 * simd_host.c). Nothing outside src/cpu/simd*.c includes this header; the
 * core sees only simd.h.
 *
 * Register model (Intel SDM Vol. 1 8.1, 9.5, 10.2):
 *  - the eight x87 data registers are kept by physical number R0-R7, each a
 *    64-bit significand and a 16-bit sign/exponent; MMn is the significand
 *    of Rn, and an MMX write sets the exponent to all ones;
 *  - the tag word is kept abridged (one "not empty" bit per physical
 *    register), as FXSAVE stores it: the full two-bit tags that FSTENV and
 *    FSAVE store are recomputed from the register contents, which is what the
 *    hardware does (SDM Vol. 1 8.1.7);
 *  - FSW.ES and FSW.B are always derived from the exception flags and the
 *    control-word masks (a loaded FSW's ES bit is ignored, as on hardware).
 */
#ifndef LODGE_SIMD_INTERNAL_H
#define LODGE_SIMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/simd.h"

/* CR0/CR4/EFLAGS bits the unit looks at. */
#define SIMD_CR0_PE        (1ull << 0)
#define SIMD_CR0_MP        (1ull << 1)
#define SIMD_CR0_EM        (1ull << 2)
#define SIMD_CR0_TS        (1ull << 3)
#define SIMD_CR0_NE        (1ull << 5)
#define SIMD_CR4_OSFXSR    (1ull << 9)
#define SIMD_CR4_OSXMMEXCPT (1ull << 10)
#define SIMD_RFLAGS_VM     (1ull << 17)
/* The arithmetic flags FCOMI/COMISS write and FCMOVcc reads. */
#define SIMD_RFLAGS_ARITH  0x8d5ull     /* OF SF ZF AF PF CF */

/* x87 status word. */
#define X87_SW_IE   0x0001
#define X87_SW_DE   0x0002
#define X87_SW_ZE   0x0004
#define X87_SW_SF   0x0040
#define X87_SW_ES   0x0080
#define X87_SW_B    0x8000
#define X87_SW_TOP_SHIFT 11
#define X87_SW_TOP  (7u << X87_SW_TOP_SHIFT)
#define X87_CW_INIT 0x037f

/* MXCSR. */
#define MXCSR_FLAGS   0x003fu
#define MXCSR_DAZ     0x0040u
#define MXCSR_MASKS   0x1f80u
#define MXCSR_RC      0x6000u
#define MXCSR_FZ      0x8000u
#define MXCSR_MASK    0xffffu           /* bits the unit implements (MXCSR_MASK in FXSAVE) */
#define MXCSR_IE 0x01u
#define MXCSR_DE 0x02u
#define MXCSR_ZE 0x04u
#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u

union simd_vec {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
};

struct simd_x87 {
	uint64_t mant[8];               /* R0-R7 significands (= MM0-MM7) */
	uint16_t exp[8];                /* R0-R7 sign and exponent */
	uint16_t fcw, fsw;              /* fsw holds TOP in bits 13:11 */
	uint8_t ftw;                    /* bit n set: Rn is not empty */
	uint16_t fop;                   /* 11-bit last opcode */
	uint16_t fcs, fds;
	uint64_t fip, fdp;
};

/*
 * Scratch frame for running one x87 instruction on the host FPU
 * (simd_host.c). Offsets are fixed: the assembly uses them.
 */
struct simd_host_x87 {
	_Alignas(64) uint8_t fx_in[512];        /*    0: FXRSTOR64 image loaded before */
	_Alignas(64) uint8_t fx_out[512];       /*  512: FXSAVE64 image stored after */
	_Alignas(16) uint8_t mem[16];           /* 1024: the memory operand, at [rdi] */
	const void *stub;                       /* 1040: the instruction, then ret */
	uint64_t rflags;                        /* 1048: arithmetic flags in and out */
	uint32_t use_flags;                     /* 1056: load/store RFLAGS around it */
};

/*
 * One scalar SSE operation on the host (simd_host.c), one lane of an
 * instruction; offsets fixed. Only the first lane's mxcsr is used.
 */
struct simd_host_sse {
	uint64_t a[2];                  /*  0: xmm0 in, result out */
	uint64_t b[2];                  /* 16: xmm1 in */
	uint64_t gpr;                   /* 32: rax in, integer result out */
	uint32_t mxcsr;                 /* 40: control in, status out */
	uint32_t pad;
	uint64_t rflags;                /* 48: flags out (COMISS/UCOMISS) */
	const void *stub;               /* 56: set by simd_host_sse_run */
};

struct simd_state {
	struct simd_x87 x87;
	union simd_vec xmm[16];
	uint32_t mxcsr;
	struct simd_host_x87 host;      /* per-vCPU scratch, never guest-visible */
};

/*
 * The scalar operations simd_sse.c builds packed instructions from, one lane
 * at a time. X(name, AT&T text): xmm0 is the first operand and result, xmm1
 * the second, rax the integer side of conversions.
 */
#define SIMD_HOST_SSE_OPS(X)                                                     \
	X(ADDSS, "addss %xmm1, %xmm0")       X(ADDSD, "addsd %xmm1, %xmm0")     \
	X(SUBSS, "subss %xmm1, %xmm0")       X(SUBSD, "subsd %xmm1, %xmm0")     \
	X(MULSS, "mulss %xmm1, %xmm0")       X(MULSD, "mulsd %xmm1, %xmm0")     \
	X(DIVSS, "divss %xmm1, %xmm0")       X(DIVSD, "divsd %xmm1, %xmm0")     \
	X(MINSS, "minss %xmm1, %xmm0")       X(MINSD, "minsd %xmm1, %xmm0")     \
	X(MAXSS, "maxss %xmm1, %xmm0")       X(MAXSD, "maxsd %xmm1, %xmm0")     \
	X(SQRTSS, "sqrtss %xmm1, %xmm0")     X(SQRTSD, "sqrtsd %xmm1, %xmm0")   \
	X(RCPSS, "rcpss %xmm1, %xmm0")       X(RSQRTSS, "rsqrtss %xmm1, %xmm0") \
	X(COMISS, "comiss %xmm1, %xmm0")     X(COMISD, "comisd %xmm1, %xmm0")   \
	X(UCOMISS, "ucomiss %xmm1, %xmm0")   X(UCOMISD, "ucomisd %xmm1, %xmm0") \
	X(CVTSS2SD, "cvtss2sd %xmm1, %xmm0") X(CVTSD2SS, "cvtsd2ss %xmm1, %xmm0") \
	X(CVTSS2SI32, "cvtss2si %xmm1, %eax")   X(CVTSS2SI64, "cvtss2si %xmm1, %rax")   \
	X(CVTTSS2SI32, "cvttss2si %xmm1, %eax") X(CVTTSS2SI64, "cvttss2si %xmm1, %rax") \
	X(CVTSD2SI32, "cvtsd2si %xmm1, %eax")   X(CVTSD2SI64, "cvtsd2si %xmm1, %rax")   \
	X(CVTTSD2SI32, "cvttsd2si %xmm1, %eax") X(CVTTSD2SI64, "cvttsd2si %xmm1, %rax") \
	X(CVTSI2SS32, "cvtsi2ssl %eax, %xmm0")  X(CVTSI2SS64, "cvtsi2ssq %rax, %xmm0")  \
	X(CVTSI2SD32, "cvtsi2sdl %eax, %xmm0")  X(CVTSI2SD64, "cvtsi2sdq %rax, %xmm0")  \
	X(CMPSS0, "cmpss $0, %xmm1, %xmm0") X(CMPSS1, "cmpss $1, %xmm1, %xmm0") \
	X(CMPSS2, "cmpss $2, %xmm1, %xmm0") X(CMPSS3, "cmpss $3, %xmm1, %xmm0") \
	X(CMPSS4, "cmpss $4, %xmm1, %xmm0") X(CMPSS5, "cmpss $5, %xmm1, %xmm0") \
	X(CMPSS6, "cmpss $6, %xmm1, %xmm0") X(CMPSS7, "cmpss $7, %xmm1, %xmm0") \
	X(CMPSD0, "cmpsd $0, %xmm1, %xmm0") X(CMPSD1, "cmpsd $1, %xmm1, %xmm0") \
	X(CMPSD2, "cmpsd $2, %xmm1, %xmm0") X(CMPSD3, "cmpsd $3, %xmm1, %xmm0") \
	X(CMPSD4, "cmpsd $4, %xmm1, %xmm0") X(CMPSD5, "cmpsd $5, %xmm1, %xmm0") \
	X(CMPSD6, "cmpsd $6, %xmm1, %xmm0") X(CMPSD7, "cmpsd $7, %xmm1, %xmm0")

enum simd_host_op {
#define SIMD_HOST_ENUM(name, text) SIMD_HOP_##name,
	SIMD_HOST_SSE_OPS(SIMD_HOST_ENUM)
#undef SIMD_HOST_ENUM
	SIMD_HOP_COUNT
};

/* simd_host.c */
void simd_host_x87_run(struct simd_host_x87 *h);
const void *simd_host_x87_stub(uint8_t opcode, uint8_t modrm);
void simd_host_sse_run(const enum simd_host_op *op, struct simd_host_sse *lanes, unsigned n);
bool simd_host_inexact_unbounded(enum simd_host_op op, uint64_t a, uint64_t b, uint32_t mxcsr);

/* simd.c: operand access shared by the instruction files. */
static inline bool simd_reg_is_xmm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15;
}
static inline bool simd_reg_is_mm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_MM0 && r <= ZYDIS_REGISTER_MM7;
}
static inline bool simd_op_is_mem(const ZydisDecodedOperand *op)
{
	return op->type == ZYDIS_OPERAND_TYPE_MEMORY;
}
/* The MMX view of Rn, and an MMX write to it (exponent all ones). */
static inline uint64_t simd_mm_get(const struct simd_state *s, unsigned n)
{
	return s->x87.mant[n & 7];
}
static inline void simd_mm_set(struct simd_state *s, unsigned n, uint64_t v)
{
	s->x87.mant[n & 7] = v;
	s->x87.exp[n & 7] = 0xffff;
}
/* x87-to-MMX transition: TOP = 0, every tag valid (SDM Vol. 1 9.5.1). */
static inline void simd_mmx_enter(struct simd_state *s)
{
	s->x87.fsw &= (uint16_t)~X87_SW_TOP;
	s->x87.ftw = 0xff;
}
static inline unsigned simd_x87_top(const struct simd_state *s)
{
	return (s->x87.fsw >> X87_SW_TOP_SHIFT) & 7;
}

int simd_mem_read(struct simd_env *env, uint64_t linear, void *buf, unsigned len);
int simd_mem_write(struct simd_env *env, uint64_t linear, const void *buf, unsigned len);
int simd_vec_read(struct simd_state *s, struct simd_env *env, const ZydisDecodedOperand *op,
		  union simd_vec *out, bool align16);
int simd_vec_read_src(struct simd_state *s, struct simd_env *env,
		      const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *op,
		      union simd_vec *out);
int simd_vec_store(struct simd_env *env, const ZydisDecodedInstruction *insn,
		   const ZydisDecodedOperand *op, const union simd_vec *v);
void simd_vec_write_reg(struct simd_state *s, ZydisRegister reg, const union simd_vec *v);
uint64_t simd_effective_offset(struct simd_env *env, const ZydisDecodedInstruction *insn,
			       const ZydisDecodedOperand *op);
const ZydisDecodedOperand *simd_find_mem(const ZydisDecodedInstruction *insn,
					 const ZydisDecodedOperand *ops);

/* simd_state.c: memory images and the status-word bookkeeping. */
void simd_x87_sync_es(struct simd_state *s);
void simd_x87_init(struct simd_state *s);
unsigned simd_x87_full_tags(const struct simd_state *s);
int simd_state_exec(struct simd_state *s, struct simd_env *env,
		    const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops);
int simd_state_x87_env(struct simd_state *s, struct simd_env *env,
		       const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops);

/* The instruction families. Each returns a simd_result. */
int simd_x87_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops);
int simd_int_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops);
int simd_sse_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops);

#endif
