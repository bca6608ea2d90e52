/*
 * exec_muldiv: multiply and divide (Intel SDM Vol. 2: MUL, IMUL, DIV,
 * IDIV). MUL/IMUL set CF = OF when the result does not fit the low half;
 * SF, ZF, AF and PF are undefined (we set SF/ZF/PF from the low half and
 * clear AF, as current Intel cores do). DIV/IDIV leave all flags undefined
 * (unchanged here) and raise #DE for a zero divisor or a quotient that does
 * not fit, before changing any register.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

static void muldiv_flags(struct cpu *c, uint64_t lo, unsigned size, bool overflow)
{
	flags_lazy(c, CC_OP(CC_MUL, size), lo, 0, overflow);
}

/* Store a double-width result in AX (8-bit) or rDX:rAX. */
static void muldiv_store(struct cpu *c, unsigned size, uint64_t lo, uint64_t hi)
{
	if (size == 1) {
		cpu_reg_set(c, R_AX, 2, (lo & 0xff) | (hi & 0xff) << 8);
	} else {
		cpu_reg_set(c, R_AX, size, lo);
		cpu_reg_set(c, R_DX, size, hi);
	}
}

int muldiv_mul(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, bits = size * 8;
	uint64_t a = cpu_reg_get(c, R_AX, size), b = cpu_opnd_get(c, op, 0, size), lo, hi;
	if (size == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * b;
		lo = p & cpu_mask(size);
		hi = p >> bits;
	}
	muldiv_store(c, size, lo, hi);
	muldiv_flags(c, lo, size, hi != 0);
	return 0;
}

int muldiv_imul1(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, bits = size * 8;
	int64_t a = cpu_sext(cpu_reg_get(c, R_AX, size), size);
	int64_t b = cpu_sext(cpu_opnd_get(c, op, 0, size), size);
	uint64_t lo, hi;
	bool ovf;
	if (size == 8) {
		__int128 p = (__int128)a * b;
		lo = (uint64_t)p;
		hi = (uint64_t)((unsigned __int128)p >> 64);
		ovf = p != (int64_t)lo;
	} else {
		int64_t p = a * b;
		lo = (uint64_t)p & cpu_mask(size);
		hi = ((uint64_t)p >> bits) & cpu_mask(size);
		ovf = p != cpu_sext(lo, size);
	}
	muldiv_store(c, size, lo, hi);
	muldiv_flags(c, lo, size, ovf);
	return 0;
}

/* IMUL r, r/m and IMUL r, r/m, imm: truncated product in the register.
 * src is the r/m operand's value; nf: the flags are dead (select.c). */
CPU_INLINE void muldiv_imul_body(struct cpu *c, const struct op *op, unsigned size,
				 uint64_t src, bool nf)
{
	int64_t a, b;
	if (op->k[2] == K_IMM) {
		a = cpu_sext(src, size);
		b = cpu_sext(op->imm & cpu_mask(size), size);
	} else {
		a = cpu_sext(cpu_reg_get(c, op->r[0], size), size);
		b = cpu_sext(src, size);
	}
	uint64_t lo;
	bool ovf;
	if (size == 8) {
		ovf = __builtin_mul_overflow(a, b, (int64_t *)&lo);
	} else {
		int64_t p = a * b;
		lo = (uint64_t)p & cpu_mask(size);
		ovf = p != cpu_sext(lo, size);
	}
	cpu_reg_set(c, op->r[0], size, lo);
	if (!nf)
		muldiv_flags(c, lo, size, ovf);
}

int muldiv_imul(struct cpu *c, const struct op *op)
{
	muldiv_imul_body(c, op, op->size, cpu_opnd_get(c, op, 1, op->size), false);
	return 0;
}

/* Threaded forms (fast.h) with a register or memory r/m operand. */
CPU_INLINE const struct op *muldiv_imul_r(struct cpu *c, const struct op *op, bool nf)
{
	unsigned size = op->size;
	if (size == 8)
		muldiv_imul_body(c, op, 8, c->gpr[op->r[1]], nf);
	else if (size == 4)
		muldiv_imul_body(c, op, 4, (uint32_t)c->gpr[op->r[1]], nf);
	else
		muldiv_imul_body(c, op, size, cpu_reg_get(c, op->r[1], size), nf);
	FAST_NEXT(c, op);
}

CPU_INLINE const struct op *muldiv_imul_m(struct cpu *c, const struct op *op, bool nf)
{
	unsigned size = op->size;
	const uint8_t *p = fast_rptr(c, op, size);
	if (unlikely(!p))
		FAST_REF(c, op);
	muldiv_imul_body(c, op, size, cpu_load_host(p, size), nf);
	FAST_NEXT(c, op);
}

/* MUL r/m with a 32- or 64-bit operand (select.c picks no other size):
 * rDX:rAX = rAX * src. */
CPU_INLINE const struct op *muldiv_mul_body(struct cpu *c, const struct op *op, uint64_t src,
					    bool nf)
{
	uint64_t lo, hi;
	if (op->size == 8) {
		unsigned __int128 p = (unsigned __int128)c->gpr[R_AX] * src;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = (uint64_t)(uint32_t)c->gpr[R_AX] * (uint32_t)src;
		lo = (uint32_t)p;
		hi = p >> 32;
	}
	c->gpr[R_AX] = lo;
	c->gpr[R_DX] = hi;
	if (!nf)
		muldiv_flags(c, lo, op->size, hi != 0);
	FAST_NEXT(c, op);
}

CPU_INLINE const struct op *muldiv_mul_m(struct cpu *c, const struct op *op, bool nf)
{
	const uint8_t *p = fast_rptr(c, op, op->size);
	if (unlikely(!p))
		FAST_REF(c, op);
	return muldiv_mul_body(c, op, cpu_load_host(p, op->size), nf);
}

/* Each form twice: flags recorded, and flags dead (_nf). */
#define MULDIV_FN(N, NF, BODY)                                                 \
	static const struct op *N(struct cpu *c, const struct op *op)          \
	{                                                                      \
		const bool nf = NF;                                            \
		BODY;                                                          \
	}
#define MULDIV_FORMS(N, BODY) MULDIV_FN(N, false, BODY) MULDIV_FN(N##_nf, true, BODY)
MULDIV_FORMS(muldiv_imul_rf, return muldiv_imul_r(c, op, nf))
MULDIV_FORMS(muldiv_imul_mf, return muldiv_imul_m(c, op, nf))
MULDIV_FORMS(muldiv_mul_rf, return muldiv_mul_body(c, op, c->gpr[op->r[0]], nf))
MULDIV_FORMS(muldiv_mul_mf, return muldiv_mul_m(c, op, nf))
op_exec *const muldiv_imul_fast[2][2] = { { muldiv_imul_rf, muldiv_imul_mf },
					  { muldiv_imul_rf_nf, muldiv_imul_mf_nf } };
op_exec *const muldiv_mul_fast[2][2] = { { muldiv_mul_rf, muldiv_mul_mf },
					 { muldiv_mul_rf_nf, muldiv_mul_mf_nf } };

int muldiv_div(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, bits = size * 8;
	uint64_t d = cpu_opnd_get(c, op, 0, size);
	if (d == 0)
		cpu_raise(c, EXC_DE, 0);
	uint64_t q, r;
	if (size == 8) {
		unsigned __int128 n = (unsigned __int128)c->gpr[R_DX] << 64 | c->gpr[R_AX];
		unsigned __int128 qq = n / d;
		if (qq >> 64)
			cpu_raise(c, EXC_DE, 0);
		q = (uint64_t)qq;
		r = (uint64_t)(n % d);
	} else {
		uint64_t n = size == 1 ? cpu_reg_get(c, R_AX, 2)
				       : cpu_reg_get(c, R_DX, size) << bits | cpu_reg_get(c, R_AX, size);
		q = n / d;
		if (q >> bits)
			cpu_raise(c, EXC_DE, 0);
		r = n % d;
	}
	muldiv_store(c, size, q, r);
	return 0;
}

int muldiv_idiv(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, bits = size * 8;
	int64_t d = cpu_sext(cpu_opnd_get(c, op, 0, size), size);
	if (d == 0)
		cpu_raise(c, EXC_DE, 0);
	uint64_t q, r;
	if (size == 8) {
		__int128 n = (__int128)((unsigned __int128)c->gpr[R_DX] << 64 | c->gpr[R_AX]);
		if (n == -(__int128)(((unsigned __int128)1 << 127) - 1) - 1 && d == -1)
			cpu_raise(c, EXC_DE, 0);
		__int128 qq = n / d;
		if (qq != (int64_t)qq)
			cpu_raise(c, EXC_DE, 0);
		q = (uint64_t)qq;
		r = (uint64_t)(int64_t)(n % d);
	} else {
		uint64_t raw = size == 1 ? cpu_reg_get(c, R_AX, 2)
					 : cpu_reg_get(c, R_DX, size) << bits | cpu_reg_get(c, R_AX, size);
		int64_t n = cpu_sext(raw, size * 2);
		int64_t qq = n / d;
		if (qq != cpu_sext((uint64_t)qq & cpu_mask(size), size))
			cpu_raise(c, EXC_DE, 0);
		q = (uint64_t)qq;
		r = (uint64_t)(n % d);
	}
	muldiv_store(c, size, q & cpu_mask(size), r & cpu_mask(size));
	return 0;
}
