/*
 * Differential tests of the software CPU against the host CPU.
 *
 * Each case is one instruction with random operands. It runs natively, in
 * this process, inside a generated stub that loads the registers and RFLAGS
 * from a struct, executes the instruction and stores them back; then it runs
 * on the software CPU in 64-bit mode (test_cpu_harness) followed by HLT.
 * Registers, the arithmetic flags and DF must match, except the flags the
 * Intel SDM leaves undefined for that instruction (each family names them
 * with the manual's words next to the mask).
 *
 * Adding a family (the SIMD helper's x87/SSE families plug in the same way):
 *  1. write a generator `static bool gen_x(struct rng *, struct diff_case *)`
 *     that fills the instruction bytes (diff_encode() wraps Zydis' encoder),
 *     the initial state and `undef` (flag bits not to compare, with the SDM
 *     quote in a comment);
 *  2. add it to families[] with a case count;
 *  3. for state beyond the general registers (XMM, x87), extend struct
 *     diff_state and the stub: diff_build_stub() loads/stores each field
 *     (e.g. MOVDQU xmmN, [r15 + offset]) and harness_compare() compares it;
 *     on the emulated side read it back through the SIMD unit's state.
 * R15 holds the state pointer in the stub, so generators never use R15/RSP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <cpuid.h>

#include <Zydis/Zydis.h>

#include "guestmem.h"
#include "test_cpu_harness.h"

#define FLAGS_CMP (0x1ULL | 0x4 | 0x10 | 0x40 | 0x80 | 0x800 | 0x400)
#define F_CF 0x1ULL
#define F_PF 0x4ULL
#define F_AF 0x10ULL
#define F_ZF 0x40ULL
#define F_SF 0x80ULL
#define F_DF 0x400ULL
#define F_OF 0x800ULL

struct diff_state {
	uint64_t r[16];
	uint64_t flags;
};

/* The two data buffers of string cases (one page each). */
#define BUF_SIZE 4096
#define BUF_MID 2048

struct diff_case {
	uint8_t code[128];
	unsigned len;
	struct diff_state in;
	uint64_t undef;                 /* flags not compared */
	uint16_t skip_regs;             /* registers not compared (undefined results) */
	bool string;                    /* uses the two data buffers through rSI/rDI */
	/* String cases: where rSI and rDI start, as offsets into the two
	 * buffers taken as one area of two pages; 0 and 0: the middle of the
	 * first and the middle of the second. */
	uint16_t si_pos, di_pos;
};

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static unsigned rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_next(r) % n);
}

/* Operand values that hit edge cases more often than uniform random ones. */
static uint64_t rng_value(struct rng *r)
{
	static const uint64_t special[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, 0x0f0f0f0f0f0f0f0fULL,
	};
	switch (rng_below(r, 4)) {
	case 0: return special[rng_below(r, sizeof(special) / sizeof(special[0]))];
	case 1: return rng_next(r) & 0xff;
	case 2: return special[rng_below(r, 16)] ^ (1ULL << rng_below(r, 64));
	default: return rng_next(r);
	}
}

/* Registers a generator may use: not RSP (4), not R15 (the state pointer). */
static const unsigned usable[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

static unsigned rng_reg(struct rng *r)
{
	return usable[rng_below(r, sizeof(usable) / sizeof(usable[0]))];
}

static unsigned rng_size(struct rng *r)
{
	return 1u << rng_below(r, 4);
}

static ZydisRegister diff_gpr(unsigned size, unsigned idx)
{
	switch (size) {
	case 1: return idx < 4 ? ZYDIS_REGISTER_AL + idx : ZYDIS_REGISTER_SPL + (idx - 4);
	case 2: return ZYDIS_REGISTER_AX + idx;
	case 4: return ZYDIS_REGISTER_EAX + idx;
	default: return ZYDIS_REGISTER_RAX + idx;
	}
}

static ZydisEncoderOperand op_reg(ZydisRegister r)
{
	ZydisEncoderOperand o;
	memset(&o, 0, sizeof(o));
	o.type = ZYDIS_OPERAND_TYPE_REGISTER;
	o.reg.value = r;
	return o;
}

static ZydisEncoderOperand op_imm(int64_t v)
{
	ZydisEncoderOperand o;
	memset(&o, 0, sizeof(o));
	o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	o.imm.s = v;
	return o;
}

/* Encode one 64-bit-mode instruction into dc; false if Zydis refuses. */
static bool diff_encode(struct diff_case *dc, ZydisMnemonic mn, unsigned n,
			const ZydisEncoderOperand *ops)
{
	ZydisEncoderRequest req;
	memset(&req, 0, sizeof(req));
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.mnemonic = mn;
	req.operand_count = (ZyanU8)n;
	for (unsigned i = 0; i < n; i++)
		req.operands[i] = ops[i];
	ZyanUSize len = sizeof(dc->code);
	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(&req, dc->code, &len)))
		return false;
	dc->len = (unsigned)len;
	return true;
}

static void diff_random_state(struct rng *r, struct diff_case *dc)
{
	for (unsigned i = 0; i < 16; i++)
		dc->in.r[i] = rng_value(r);
	dc->in.flags = 0x202 | (rng_next(r) & (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF));
}

/* ---- families ---------------------------------------------------------- */

static bool gen_alu(struct rng *r, struct diff_case *dc)
{
	static const ZydisMnemonic bin[] = {
		ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
		ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP,
		ZYDIS_MNEMONIC_TEST,
	};
	static const ZydisMnemonic un[] = {
		ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_NOT,
	};
	diff_random_state(r, dc);
	unsigned size = rng_size(r);
	ZydisEncoderOperand ops[2];
	ZydisMnemonic mn;
	unsigned n;
	ops[0] = op_reg(diff_gpr(size, rng_reg(r)));
	if (rng_below(r, 5) == 0) {
		mn = un[rng_below(r, 4)];
		n = 1;
	} else {
		mn = bin[rng_below(r, 9)];
		n = 2;
		if (rng_below(r, 2))
			ops[1] = op_reg(diff_gpr(size, rng_reg(r)));
		else
			ops[1] = op_imm(size == 1 ? (int8_t)rng_value(r)
				       : rng_below(r, 2) ? (int8_t)rng_value(r) : (int32_t)rng_value(r));
		if (size == 2 && ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			ops[1].imm.s = (int16_t)ops[1].imm.s;
	}
	/* AND, OR, XOR, TEST: "The state of the AF flag is undefined." */
	if (mn == ZYDIS_MNEMONIC_AND || mn == ZYDIS_MNEMONIC_OR || mn == ZYDIS_MNEMONIC_XOR ||
	    mn == ZYDIS_MNEMONIC_TEST)
		dc->undef = F_AF;
	return diff_encode(dc, mn, n, ops);
}

static bool gen_shift(struct rng *r, struct diff_case *dc)
{
	static const ZydisMnemonic mns[] = {
		ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR, ZYDIS_MNEMONIC_ROL,
		ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR, ZYDIS_MNEMONIC_SHLD,
		ZYDIS_MNEMONIC_SHRD,
	};
	diff_random_state(r, dc);
	unsigned size = rng_size(r);
	ZydisMnemonic mn = mns[rng_below(r, 9)];
	bool dbl = mn == ZYDIS_MNEMONIC_SHLD || mn == ZYDIS_MNEMONIC_SHRD;
	if (dbl && size == 1)
		size = 4;
	unsigned dst = rng_reg(r);
	bool by_cl = rng_below(r, 2);
	unsigned count = rng_below(r, 3) ? rng_below(r, 9) : rng_below(r, 80);
	ZydisEncoderOperand ops[3];
	unsigned n = 0;
	if (by_cl && dst == 1)
		dst = 2;
	ops[n++] = op_reg(diff_gpr(size, dst));
	if (dbl) {
		unsigned src = rng_reg(r);
		ops[n++] = op_reg(diff_gpr(size, src));
	}
	if (by_cl) {
		dc->in.r[1] = (dc->in.r[1] & ~0xffULL) | count;
		ops[n++] = op_reg(ZYDIS_REGISTER_CL);
	} else {
		ops[n++] = op_imm(count & 0xff);
	}
	unsigned masked = count & (size == 8 ? 0x3f : 0x1f);
	unsigned bits = size * 8;
	/* "The OF flag is affected only on 1-bit shifts/rotates... For
	 * [other] counts, the OF flag is undefined." AF: "For a non-zero
	 * count, the AF flag is undefined." */
	if (masked != 1)
		dc->undef |= F_OF;
	bool rot = mn == ZYDIS_MNEMONIC_ROL || mn == ZYDIS_MNEMONIC_ROR ||
		   mn == ZYDIS_MNEMONIC_RCL || mn == ZYDIS_MNEMONIC_RCR;
	if (!rot && masked)
		dc->undef |= F_AF;
	/* SHL/SHR: "CF is undefined ... where the count is greater than or
	 * equal to the size (in bits) of the destination operand." */
	if ((mn == ZYDIS_MNEMONIC_SHL || mn == ZYDIS_MNEMONIC_SHR) && masked >= bits)
		dc->undef |= F_CF;
	/* SHLD/SHRD: "If the count is greater than the operand size, the
	 * result is undefined" (and so are the flags). */
	if (dbl && masked > bits) {
		dc->undef |= FLAGS_CMP & ~F_DF;
		dc->skip_regs |= 1u << dst;
	}
	return diff_encode(dc, mn, n, ops);
}

static bool gen_muldiv(struct rng *r, struct diff_case *dc)
{
	diff_random_state(r, dc);
	unsigned size = rng_size(r), kind = rng_below(r, 6);
	unsigned src = rng_reg(r);
	ZydisEncoderOperand ops[3];
	uint64_t m = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	/* MUL/IMUL: "The SF, ZF, AF, and PF flags are undefined." */
	dc->undef = F_SF | F_ZF | F_AF | F_PF;
	switch (kind) {
	case 0:
	case 1:
		ops[0] = op_reg(diff_gpr(size, src));
		return diff_encode(dc, kind ? ZYDIS_MNEMONIC_IMUL : ZYDIS_MNEMONIC_MUL, 1, ops);
	case 2:
		if (size == 1)
			size = 4;
		ops[0] = op_reg(diff_gpr(size, rng_reg(r)));
		ops[1] = op_reg(diff_gpr(size, src));
		return diff_encode(dc, ZYDIS_MNEMONIC_IMUL, 2, ops);
	case 3:
		if (size == 1)
			size = 2;
		ops[0] = op_reg(diff_gpr(size, rng_reg(r)));
		ops[1] = op_reg(diff_gpr(size, src));
		ops[2] = op_imm(size == 2 ? (int16_t)rng_value(r) : (int32_t)rng_value(r));
		return diff_encode(dc, ZYDIS_MNEMONIC_IMUL, 3, ops);
	default: {
		/* DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
		 * Operands are chosen so the quotient fits (no #DE natively). */
		dc->undef = FLAGS_CMP & ~F_DF;
		bool sgn = kind == 5;
		if (src == 0 || src == 2 || (size == 1 && src >= 4))
			src = 3;
		uint64_t d = rng_value(r) & m;
		if (d == 0)
			d = 7;
		dc->in.r[src] = (dc->in.r[src] & ~m) | d;
		uint64_t lo = rng_value(r) & m;
		if (!sgn) {
			uint64_t hi = d > 1 ? (rng_next(r) % d) : 0;
			if (size == 1) {
				dc->in.r[0] = (dc->in.r[0] & ~0xffffULL) | (hi << 8) | lo;
			} else {
				dc->in.r[0] = (dc->in.r[0] & ~m) | lo;
				dc->in.r[2] = (dc->in.r[2] & ~m) | hi;
			}
		} else {
			/* A sign-extended dividend: |quotient| <= |dividend|. */
			int64_t sd = size == 8 ? (int64_t)d : size == 4 ? (int32_t)d
				   : size == 2 ? (int16_t)d : (int8_t)d;
			if (sd == -1 || sd == 0)
				d = 3;
			bool neg = (lo >> (size * 8 - 1)) & 1;
			uint64_t hi = neg ? m : 0;
			if (size == 1) {
				dc->in.r[0] = (dc->in.r[0] & ~0xffffULL) | (hi & 0xff) << 8 | lo;
			} else {
				dc->in.r[0] = (dc->in.r[0] & ~m) | lo;
				dc->in.r[2] = (dc->in.r[2] & ~m) | hi;
			}
			dc->in.r[src] = (dc->in.r[src] & ~m) | d;
		}
		ops[0] = op_reg(diff_gpr(size, src));
		return diff_encode(dc, sgn ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV, 1, ops);
	}
	}
}

static bool host_has_lzcnt, host_has_bmi1;

static bool gen_bit(struct rng *r, struct diff_case *dc)
{
	diff_random_state(r, dc);
	unsigned size = rng_size(r), kind = rng_below(r, 9);
	if (size == 1)
		size = 2;
	unsigned dst = rng_reg(r), src = rng_reg(r);
	ZydisEncoderOperand ops[2] = { op_reg(diff_gpr(size, dst)), op_reg(diff_gpr(size, src)) };
	if (rng_below(r, 3) == 0)
		dc->in.r[src] = 0;
	switch (kind) {
	case 0: case 1: case 2: case 3: {
		static const ZydisMnemonic bt[] = { ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS,
						    ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC };
		/* BT*: "The ZF flag is unaffected. The OF, SF, AF, and PF flags are
		 * undefined." */
		dc->undef = F_OF | F_SF | F_AF | F_PF;
		if (rng_below(r, 2))
			ops[1] = op_imm(rng_below(r, 256));
		return diff_encode(dc, bt[kind], 2, ops);
	}
	case 4: case 5:
		/* BSF/BSR: "The CF, OF, SF, AF, and PF flags are undefined"; "If the
		 * content of the source operand is 0, the content of the destination
		 * operand is undefined." */
		dc->undef = F_CF | F_OF | F_SF | F_AF | F_PF;
		if ((dc->in.r[src] & (size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1)) == 0)
			dc->skip_regs |= 1u << dst;
		return diff_encode(dc, kind == 4 ? ZYDIS_MNEMONIC_BSF : ZYDIS_MNEMONIC_BSR, 2, ops);
	case 6:
		return diff_encode(dc, ZYDIS_MNEMONIC_POPCNT, 2, ops);
	case 7:
		if (!host_has_lzcnt)
			return false;
		/* LZCNT/TZCNT: "The OF, SF, PF and AF flags are undefined." */
		dc->undef = F_OF | F_SF | F_PF | F_AF;
		return diff_encode(dc, ZYDIS_MNEMONIC_LZCNT, 2, ops);
	default:
		/* F3 0F BC is TZCNT with BMI1 and BSF without; this CPU does not
		 * offer BMI1, so it runs BSF. With a nonzero source both give the
		 * same result; their flags differ by definition (TZCNT: ZF means a
		 * zero result; BSF: a zero source), and BSF's CF, OF, SF, AF and PF
		 * are undefined, so no flag is compared. */
		if (!host_has_bmi1)
			return false;
		dc->undef = F_CF | F_OF | F_SF | F_PF | F_AF | F_ZF;
		if ((dc->in.r[src] & (size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1)) == 0)
			dc->in.r[src] |= 0x100;
		return diff_encode(dc, ZYDIS_MNEMONIC_TZCNT, 2, ops);
	}
}

static bool gen_misc(struct rng *r, struct diff_case *dc)
{
	diff_random_state(r, dc);
	unsigned size = rng_size(r), kind = rng_below(r, 12);
	unsigned dst = rng_reg(r), src = rng_reg(r);
	ZydisEncoderOperand ops[2];
	if (size == 1 && (kind == 0 || kind == 2))
		size = 4;
	ops[0] = op_reg(diff_gpr(size, dst));
	ops[1] = op_reg(diff_gpr(size, src));
	switch (kind) {
	case 0: {
		static const ZydisMnemonic cm[] = {
			ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,
			ZYDIS_MNEMONIC_CMOVNB, ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ,
			ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVS,
			ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
			ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE,
			ZYDIS_MNEMONIC_CMOVNLE,
		};
		return diff_encode(dc, cm[rng_below(r, 16)], 2, ops);
	}
	case 1: {
		static const ZydisMnemonic sc[] = {
			ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,
			ZYDIS_MNEMONIC_SETNB, ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ,
			ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE, ZYDIS_MNEMONIC_SETS,
			ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
			ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE,
			ZYDIS_MNEMONIC_SETNLE,
		};
		ops[0] = op_reg(diff_gpr(1, dst));
		return diff_encode(dc, sc[rng_below(r, 16)], 1, ops);
	}
	case 2:
		if (size == 2)
			size = 4;
		ops[0] = op_reg(diff_gpr(size, dst));
		return diff_encode(dc, ZYDIS_MNEMONIC_BSWAP, 1, ops);
	case 3:
		return diff_encode(dc, ZYDIS_MNEMONIC_XCHG, 2, ops);
	case 4:
		return diff_encode(dc, ZYDIS_MNEMONIC_XADD, 2, ops);
	case 5:
		if (rng_below(r, 2))
			dc->in.r[0] = dc->in.r[dst];
		return diff_encode(dc, ZYDIS_MNEMONIC_CMPXCHG, 2, ops);
	case 6:
	case 7: {
		static const unsigned dsz[] = { 2, 4, 8 };
		unsigned d = dsz[rng_below(r, 3)];
		unsigned s = rng_below(r, 2) ? 1 : 2;
		if (s >= d)
			d = 4;
		ZydisMnemonic mn = kind == 6 ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOVSX;
		if (kind == 7 && rng_below(r, 3) == 0) {
			s = 4;
			d = 8;
			mn = ZYDIS_MNEMONIC_MOVSXD;
		}
		ops[0] = op_reg(diff_gpr(d, dst));
		ops[1] = op_reg(diff_gpr(s, src));
		return diff_encode(dc, mn, 2, ops);
	}
	case 8: {
		static const ZydisMnemonic cv[] = {
			ZYDIS_MNEMONIC_CBW, ZYDIS_MNEMONIC_CWDE, ZYDIS_MNEMONIC_CDQE,
			ZYDIS_MNEMONIC_CWD, ZYDIS_MNEMONIC_CDQ, ZYDIS_MNEMONIC_CQO,
		};
		return diff_encode(dc, cv[rng_below(r, 6)], 0, ops);
	}
	case 9: {
		static const ZydisMnemonic fl[] = {
			ZYDIS_MNEMONIC_CLC, ZYDIS_MNEMONIC_STC, ZYDIS_MNEMONIC_CMC,
			ZYDIS_MNEMONIC_LAHF, ZYDIS_MNEMONIC_SAHF,
		};
		return diff_encode(dc, fl[rng_below(r, 5)], 0, ops);
	}
	case 10:
		ops[0] = op_reg(diff_gpr(size == 1 ? 4 : size, dst));
		ops[1] = op_imm((int32_t)rng_value(r));
		if (size == 8 && rng_below(r, 2))
			ops[1].imm.s = (int64_t)rng_value(r);
		if (size == 2)
			ops[1].imm.s = (int16_t)ops[1].imm.s;
		return diff_encode(dc, ZYDIS_MNEMONIC_MOV, 2, ops);
	default:
		return diff_encode(dc, ZYDIS_MNEMONIC_MOV, 2, ops);
	}
}

/* String instructions are encoded by hand: opcode, optional 66h/REX.W,
 * optional F3/F2. rSI/rDI point into two buffers; rCX is a small count. */
static bool gen_string(struct rng *r, struct diff_case *dc)
{
	static const uint8_t base_op[] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };  /* movs cmps stos lods scas */
	diff_random_state(r, dc);
	unsigned kind = rng_below(r, 5), size = rng_size(r), n = 0;
	unsigned rep = rng_below(r, 3);     /* none, F3, F2 */
	if (rng_below(r, 2))
		dc->in.flags |= F_DF;
	if (rep == 1)
		dc->code[n++] = 0xf3;
	else if (rep == 2)
		dc->code[n++] = 0xf2;
	if (size == 2)
		dc->code[n++] = 0x66;
	else if (size == 8)
		dc->code[n++] = 0x48;
	dc->code[n++] = (uint8_t)(base_op[kind] + (size == 1 ? 0 : 1));
	dc->len = n;
	dc->in.r[1] = rng_below(r, 24);     /* rCX */
	dc->in.r[0] = rng_below(r, 2) ? 0x41 : rng_value(r);
	dc->string = true;
	if (rng_below(r, 3) == 0) {
		/* Across the page boundary between the buffers, and for MOVS
		 * maybe overlapping: a destination just ahead of the source
		 * sees the elements copied before it. */
		dc->si_pos = (uint16_t)(BUF_SIZE - 1 - rng_below(r, 200));
		dc->di_pos = (uint16_t)(dc->si_pos - 16 + rng_below(r, 33));
	}
	return true;
}

/*
 * Sequences: a few instructions that the software CPU runs as one or more
 * decoded blocks, so the flags pass from instruction to instruction (lazy
 * flags, fused compare-and-branch, flags nobody reads) and the blocks are
 * chained. Memory operands address the two data buffers through rSI/rDI;
 * a Jcc skips the instruction after it. Readers of flags (Jcc, CMOVcc,
 * SETcc, ADC/SBB) only test flags the instructions before them defined.
 */
struct seq {
	uint64_t undef;                 /* flags left undefined so far */
};

static const ZydisMnemonic setcc_mn[16] = {
	ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
	ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
	ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
	ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
};
static const ZydisMnemonic cmovcc_mn[16] = {
	ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,
	ZYDIS_MNEMONIC_CMOVNB, ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ,
	ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVS,
	ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
	ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE,
	ZYDIS_MNEMONIC_CMOVNLE,
};

static const unsigned seq_regs[] = { 0, 1, 2, 3, 5, 8, 9, 10, 11, 12, 13, 14 };

static unsigned seq_reg(struct rng *r)
{
	return seq_regs[rng_below(r, sizeof(seq_regs) / sizeof(seq_regs[0]))];
}

static ZydisEncoderOperand op_mem(struct rng *r, unsigned size)
{
	ZydisEncoderOperand o;
	memset(&o, 0, sizeof(o));
	o.type = ZYDIS_OPERAND_TYPE_MEMORY;
	o.mem.base = rng_below(r, 2) ? ZYDIS_REGISTER_RSI : ZYDIS_REGISTER_RDI;
	o.mem.displacement = (int64_t)rng_below(r, 256) - 128;
	o.mem.size = (ZyanU16)size;
	return o;
}

/* Flags read by condition cc (SDM Vol. 1 Table B-1). */
static uint64_t seq_cc_reads(unsigned cc)
{
	static const uint64_t reads[8] = {
		F_OF, F_CF, F_ZF, F_CF | F_ZF, F_SF, F_PF, F_SF | F_OF, F_ZF | F_SF | F_OF,
	};
	return reads[cc >> 1];
}

/* A condition whose flags are all defined, or -1. */
static int seq_cc(struct rng *r, const struct seq *q)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned cc = rng_below(r, 16);
		if (!(seq_cc_reads(cc) & q->undef))
			return (int)cc;
	}
	return -1;
}

/* Encode one instruction into buf; its length, or 0. */
static unsigned seq_encode(uint8_t *buf, ZydisMnemonic mn, unsigned n,
			   const ZydisEncoderOperand *ops)
{
	struct diff_case t;
	memset(&t, 0, sizeof(t));
	if (!diff_encode(&t, mn, n, ops))
		return 0;
	memcpy(buf, t.code, t.len);
	return t.len;
}

/* One random instruction into buf (its length, 0 if none) and its effect
 * on q->undef. */
static unsigned seq_insn(struct rng *r, struct seq *q, uint8_t *buf)
{
	static const ZydisMnemonic bin[] = {
		ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
		ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP,
		ZYDIS_MNEMONIC_TEST,
	};
	unsigned size = rng_below(r, 3) ? (rng_below(r, 2) ? 4 : 8) : rng_size(r);
	unsigned kind = rng_below(r, 11);
	ZydisEncoderOperand ops[3];
	ops[0] = op_reg(diff_gpr(size, seq_reg(r)));
	switch (kind) {
	case 0: case 1: case 2: case 3: {
		ZydisMnemonic mn = bin[rng_below(r, 9)];
		if ((mn == ZYDIS_MNEMONIC_ADC || mn == ZYDIS_MNEMONIC_SBB) && (q->undef & F_CF))
			mn = ZYDIS_MNEMONIC_ADD;
		if (kind == 0) {
			ops[1] = op_reg(diff_gpr(size, seq_reg(r)));
		} else if (kind == 1) {
			int64_t v = size == 1 || rng_below(r, 2) ? (int8_t)rng_value(r)
							      : (int32_t)rng_value(r);
			ops[1] = op_imm(size == 2 ? (int16_t)v : v);
		} else if (kind == 2 && mn != ZYDIS_MNEMONIC_TEST) {
			ops[1] = op_mem(r, size);
		} else {
			ops[1] = ops[0];
			ops[0] = op_mem(r, size);
			if (rng_below(r, 2))
				ops[1] = op_imm(size == 2 ? (int16_t)(int8_t)rng_value(r)
					       : (int8_t)rng_value(r));
		}
		bool logic = mn == ZYDIS_MNEMONIC_AND || mn == ZYDIS_MNEMONIC_OR ||
			     mn == ZYDIS_MNEMONIC_XOR || mn == ZYDIS_MNEMONIC_TEST;
		q->undef = logic ? F_AF : 0;
		return seq_encode(buf, mn, 2, ops);
	}
	case 4:
		if (rng_below(r, 4) == 0)
			ops[0] = op_mem(r, size);
		q->undef &= F_CF;
		return seq_encode(buf, rng_below(r, 2) ? ZYDIS_MNEMONIC_INC : ZYDIS_MNEMONIC_DEC, 1,
				  ops);
	case 5: {
		static const ZydisMnemonic sh[] = { ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR,
						    ZYDIS_MNEMONIC_SAR };
		unsigned count = rng_below(r, 2) ? 1 + rng_below(r, 4) : rng_below(r, 64);
		unsigned masked = count & (size == 8 ? 0x3f : 0x1f);
		ops[1] = op_imm(count);
		ZydisMnemonic mn = sh[rng_below(r, 3)];
		if (masked) {
			q->undef = F_AF | (masked != 1 ? F_OF : 0);
			if (mn != ZYDIS_MNEMONIC_SAR && masked >= size * 8)
				q->undef |= F_CF;
		}
		return seq_encode(buf, mn, 2, ops);
	}
	case 6:
		if (size == 1)
			size = 4;
		ops[0] = op_reg(diff_gpr(size, seq_reg(r)));
		ops[1] = rng_below(r, 2) ? op_reg(diff_gpr(size, seq_reg(r))) : op_mem(r, size);
		/* IMUL: "The SF, ZF, AF, and PF flags are undefined." */
		q->undef = F_SF | F_ZF | F_AF | F_PF;
		if (rng_below(r, 2)) {
			ops[2] = op_imm((int8_t)rng_value(r));
			return seq_encode(buf, ZYDIS_MNEMONIC_IMUL, 3, ops);
		}
		return seq_encode(buf, ZYDIS_MNEMONIC_IMUL, 2, ops);
	case 7:
		switch (rng_below(r, 5)) {
		case 0:
			ops[1] = op_mem(r, size);
			break;
		case 1:
			ops[1] = ops[0];
			ops[0] = op_mem(r, size);
			break;
		case 2:
			ops[0] = op_mem(r, size);
			ops[1] = op_imm(size == 1 ? (int8_t)rng_value(r)
				       : size == 2 ? (int16_t)rng_value(r) : (int32_t)rng_value(r));
			break;
		case 3:
			ops[1] = op_imm(size == 8 ? (int64_t)rng_value(r)
				       : size == 4 ? (int32_t)rng_value(r)
				       : size == 2 ? (int16_t)rng_value(r) : (int8_t)rng_value(r));
			break;
		default: {
			unsigned d = rng_below(r, 2) ? 4 : 8;
			ops[0] = op_reg(diff_gpr(d, seq_reg(r)));
			ops[1] = op_mem(r, rng_below(r, 2) ? 1 : 2);
			return seq_encode(buf, rng_below(r, 2) ? ZYDIS_MNEMONIC_MOVZX
						   : ZYDIS_MNEMONIC_MOVSX, 2, ops);
		}
		}
		return seq_encode(buf, ZYDIS_MNEMONIC_MOV, 2, ops);
	case 8: {
		if (size < 4)
			size = 4;
		ZydisEncoderOperand m;
		memset(&m, 0, sizeof(m));
		m.type = ZYDIS_OPERAND_TYPE_MEMORY;
		m.mem.base = diff_gpr(8, seq_reg(r));
		if (rng_below(r, 2)) {
			m.mem.index = diff_gpr(8, seq_reg(r));
			m.mem.scale = (ZyanU8)(1u << rng_below(r, 4));
		}
		m.mem.displacement = (int32_t)rng_value(r);
		m.mem.size = 0;
		ops[0] = op_reg(diff_gpr(size, seq_reg(r)));
		ops[1] = m;
		return seq_encode(buf, ZYDIS_MNEMONIC_LEA, 2, ops);
	}
	case 9: {
		int cc = seq_cc(r, q);
		if (cc < 0)
			return 0;
		if (size == 1 || rng_below(r, 2)) {
			ops[0] = op_reg(diff_gpr(1, seq_reg(r)));
			return seq_encode(buf, setcc_mn[cc], 1, ops);
		}
		ops[1] = rng_below(r, 2) ? op_reg(diff_gpr(size, seq_reg(r))) : op_mem(r, size);
		return seq_encode(buf, cmovcc_mn[cc], 2, ops);
	}
	default: {
		/* PUSH r; POP r': a move through the stack. */
		unsigned n = seq_encode(buf, ZYDIS_MNEMONIC_PUSH, 1,
					(ZydisEncoderOperand[]){ op_reg(diff_gpr(8, seq_reg(r))) });
		if (!n)
			return 0;
		unsigned m = seq_encode(buf + n, ZYDIS_MNEMONIC_POP, 1,
					(ZydisEncoderOperand[]){ op_reg(diff_gpr(8, seq_reg(r))) });
		return m ? n + m : 0;
	}
	}
}

static bool gen_seq(struct rng *r, struct diff_case *dc)
{
	struct seq q = { 0 };
	diff_random_state(r, dc);
	unsigned count = 2 + rng_below(r, 6);
	for (unsigned i = 0; i < count; i++) {
		uint8_t buf[32];
		int cc = rng_below(r, 4) == 0 ? seq_cc(r, &q) : -1;
		uint64_t before = q.undef;
		unsigned n = seq_insn(r, &q, buf);
		if (!n || dc->len + n + 2 > sizeof(dc->code) - 1)
			break;
		if (cc >= 0) {
			/* Jcc rel8 over the instruction: its effect on the flags
			 * happens or not, so what either way leaves undefined is. */
			dc->code[dc->len++] = (uint8_t)(0x70 + cc);
			dc->code[dc->len++] = (uint8_t)n;
			q.undef |= before;
		}
		memcpy(dc->code + dc->len, buf, n);
		dc->len += n;
	}
	dc->undef = q.undef;
	dc->string = true;
	return dc->len > 0;
}

struct diff_family {
	const char *name;
	bool (*gen)(struct rng *r, struct diff_case *dc);
	unsigned cases;
};

static const struct diff_family families[] = {
	{ "alu", gen_alu, 20000 },
	{ "shift", gen_shift, 20000 },
	{ "muldiv", gen_muldiv, 10000 },
	{ "bit", gen_bit, 10000 },
	{ "misc", gen_misc, 10000 },
	{ "string", gen_string, 10000 },
	{ "seq", gen_seq, 20000 },
};

/* ---- the native side --------------------------------------------------- */


static uint8_t native_buf[2][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t *stub_mem;

static unsigned emit_mov_r15(uint8_t *p, unsigned reg, bool store)
{
	unsigned n = 0;
	p[n++] = (uint8_t)(0x49 | (reg >= 8 ? 4 : 0));
	p[n++] = store ? 0x89 : 0x8b;
	p[n++] = (uint8_t)(0x87 | (reg & 7) << 3);
	uint32_t disp = reg * 8;
	memcpy(p + n, &disp, 4);
	return n + 4;
}

/* Build: save callee-saved, r15 = state, load flags and registers, the
 * instruction, store registers and flags, restore, ret. */
static void diff_build_stub(const struct diff_case *dc)
{
	uint8_t *p = stub_mem;
	unsigned n = 0;
	static const uint8_t pro[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,
				       0x49, 0x89, 0xff,                       /* mov r15, rdi */
				       0x41, 0xff, 0xb7, 0x80, 0, 0, 0,        /* push [r15+128] */
				       0x9d };                                 /* popfq */
	memcpy(p, pro, sizeof(pro));
	n += sizeof(pro);
	for (unsigned i = 0; i < 15; i++)
		if (i != 4)
			n += emit_mov_r15(p + n, i, false);
	memcpy(p + n, dc->code, dc->len);
	n += dc->len;
	p[n++] = 0x9c;                                                  /* pushfq */
	p[n++] = 0xfc;                  /* cld: the C ABI needs DF clear on return */
	static const uint8_t popf[] = { 0x41, 0x8f, 0x87, 0x80, 0, 0, 0 };  /* pop [r15+128] */
	memcpy(p + n, popf, sizeof(popf));
	n += sizeof(popf);
	for (unsigned i = 0; i < 15; i++)
		if (i != 4)
			n += emit_mov_r15(p + n, i, true);
	static const uint8_t epi[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b,
				       0xc3 };
	memcpy(p + n, epi, sizeof(epi));
}

static void diff_fill_buffers(struct rng *r, uint8_t bufs[2][BUF_SIZE])
{
	/* A small alphabet so REPE/REPNE comparisons stop at varied places. */
	for (unsigned b = 0; b < 2; b++)
		for (unsigned i = 0; i < BUF_SIZE; i++)
			bufs[b][i] = (uint8_t)(0x40 + rng_below(r, 3));
}

static unsigned failures;

static void diff_report(const struct diff_family *f, const struct diff_case *dc,
			const struct diff_state *nat, const struct diff_state *emu, const char *what)
{
	if (++failures > 20)
		return;
	ZydisDecoder dec;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	ZydisFormatter fmt;
	char text[1024] = "", one[128];
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	/* Every instruction of a sequence, with its offset. */
	for (unsigned off = 0; off < dc->len; off += in.length) {
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, dc->code + off, dc->len - off, &in, zo)))
			break;
		ZydisFormatterFormatInstruction(&fmt, &in, zo, in.operand_count_visible, one,
						sizeof(one), 0, NULL);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%u: %s",
			 off ? "; " : "", off, one);
	}
	fprintf(stderr, "[%s] %s: %s\n  in  flags %#llx", f->name, text, what,
		(unsigned long long)dc->in.flags);
	for (unsigned i = 0; i < 16; i++)
		if (i != 4 && i != 15)
			fprintf(stderr, " r%u=%#llx", i, (unsigned long long)dc->in.r[i]);
	fprintf(stderr, "\n  host flags %#llx", (unsigned long long)nat->flags);
	for (unsigned i = 0; i < 16; i++)
		if (i != 4 && i != 15 && nat->r[i] != emu->r[i])
			fprintf(stderr, " r%u host=%#llx emu=%#llx", i, (unsigned long long)nat->r[i],
				(unsigned long long)emu->r[i]);
	fprintf(stderr, "\n  emu  flags %#llx\n", (unsigned long long)emu->flags);
}

static void diff_run_family(struct harness *h, const struct diff_family *f, uint64_t seed)
{
	struct rng r = { seed };
	unsigned done = 0, tries = 0;
	while (done < f->cases && tries < f->cases * 4) {
		struct diff_case dc;
		memset(&dc, 0, sizeof(dc));
		tries++;
		if (!f->gen(&r, &dc))
			continue;
		done++;

		/* Native run. */
		struct diff_state nat = dc.in;
		uint8_t ebufs[2][BUF_SIZE];
		if (dc.string) {
			diff_fill_buffers(&r, native_buf);
			memcpy(ebufs, native_buf, sizeof(ebufs));
			if (!dc.si_pos && !dc.di_pos) {
				dc.si_pos = BUF_MID;
				dc.di_pos = BUF_SIZE + BUF_MID;
			}
			nat.r[6] = (uint64_t)(uintptr_t)native_buf[0] + dc.si_pos;
			nat.r[7] = (uint64_t)(uintptr_t)native_buf[0] + dc.di_pos;
		}
		diff_build_stub(&dc);
		((void (*)(struct diff_state *))(void *)stub_mem)(&nat);

		/* Emulated run. */
		struct vcpu_regs vr;
		memset(&vr, 0, sizeof(vr));
		uint64_t in[16];
		memcpy(in, dc.in.r, sizeof(in));
		if (dc.string) {
			guestmem_write(h->m.mem, HARNESS_DATA, ebufs, sizeof(ebufs));
			in[6] = HARNESS_DATA + dc.si_pos;
			in[7] = HARNESS_DATA + dc.di_pos;
		}
		vr.rax = in[0]; vr.rcx = in[1]; vr.rdx = in[2]; vr.rbx = in[3];
		vr.rsp = HARNESS_STACK; vr.rbp = in[5]; vr.rsi = in[6]; vr.rdi = in[7];
		vr.r8 = in[8]; vr.r9 = in[9]; vr.r10 = in[10]; vr.r11 = in[11];
		vr.r12 = in[12]; vr.r13 = in[13]; vr.r14 = in[14]; vr.r15 = in[15];
		vr.rflags = dc.in.flags;
		accel_emu.set_regs(&h->v, &vr);
		uint8_t code[sizeof(dc.code) + 1];
		memcpy(code, dc.code, dc.len);
		code[dc.len] = 0xf4;    /* hlt */
		enum vcpu_exit_reason why = harness_run(h, code, dc.len + 1, 64);
		accel_emu.get_regs(&h->v, &vr);
		struct diff_state emu = { { vr.rax, vr.rcx, vr.rdx, vr.rbx, vr.rsp, vr.rbp, vr.rsi,
					    vr.rdi, vr.r8, vr.r9, vr.r10, vr.r11, vr.r12, vr.r13,
					    vr.r14, vr.r15 }, vr.rflags };
		if (why != VCPU_EXIT_HLT || vr.rip != HARNESS_CODE + dc.len + 1) {
			diff_report(f, &dc, &nat, &emu, "the software CPU did not complete it");
			continue;
		}
		if (dc.string) {
			nat.r[6] -= (uint64_t)(uintptr_t)native_buf[0];
			nat.r[7] -= (uint64_t)(uintptr_t)native_buf[0];
			emu.r[6] -= HARNESS_DATA;
			emu.r[7] -= HARNESS_DATA;
			guestmem_read(h->m.mem, HARNESS_DATA, ebufs, sizeof(ebufs));
			if (memcmp(ebufs, native_buf, sizeof(ebufs))) {
				diff_report(f, &dc, &nat, &emu, "memory differs");
				continue;
			}
		}
		bool bad = false;
		for (unsigned i = 0; i < 15; i++)
			if (i != 4 && !(dc.skip_regs & (1u << i)) && nat.r[i] != emu.r[i])
				bad = true;
		uint64_t mask = FLAGS_CMP & ~dc.undef;
		if ((nat.flags & mask) != (emu.flags & mask))
			bad = true;
		if (bad)
			diff_report(f, &dc, &nat, &emu, "results differ");
	}
	assert_true(done >= f->cases / 2);
}

static int diff_setup(void **state)
{
	static struct harness h;
	unsigned a, b, c, d;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		host_has_lzcnt = c & (1u << 5);
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		host_has_bmi1 = b & (1u << 3);
	stub_mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stub_mem == MAP_FAILED || !harness_init(&h))
		return -1;
	harness_long_mode(&h);
	*state = &h;
	return 0;
}

static int diff_teardown(void **state)
{
	harness_fini(*state);
	munmap(stub_mem, 4096);
	return 0;
}

#define DIFF_TEST(idx)                                                       \
	static void test_diff_##idx(void **state)                            \
	{                                                                    \
		failures = 0;                                                \
		diff_run_family(*state, &families[idx], 0x9e3779b97f4a7c15ULL + idx); \
		assert_int_equal(failures, 0);                               \
	}
DIFF_TEST(0)
DIFF_TEST(1)
DIFF_TEST(2)
DIFF_TEST(3)
DIFF_TEST(4)
DIFF_TEST(5)
DIFF_TEST(6)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_0), cmocka_unit_test(test_diff_1),
		cmocka_unit_test(test_diff_2), cmocka_unit_test(test_diff_3),
		cmocka_unit_test(test_diff_4), cmocka_unit_test(test_diff_5),
		cmocka_unit_test(test_diff_6),
	};
	return cmocka_run_group_tests(tests, diff_setup, diff_teardown);
}
