/*
 * exec_muldiv: multiply and divide (Intel SDM Vol. 2: MUL, IMUL, DIV,
 * IDIV). MUL/IMUL set CF = OF when the result does not fit the low half;
 * SF, ZF, AF and PF are undefined (we set SF/ZF/PF from the low half and
 * clear AF, as current Intel cores do). DIV/IDIV leave all flags undefined
 * (unchanged here) and raise #DE for a zero divisor or a quotient that does
 * not fit, before changing any register.
 */
#include "cpu/cpu.h"

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

/* IMUL r, r/m and IMUL r, r/m, imm: truncated product in the register. */
int muldiv_imul(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	int64_t a, b;
	if (op->k[2] == K_IMM) {
		a = cpu_sext(cpu_opnd_get(c, op, 1, size), size);
		b = cpu_sext(op->imm & cpu_mask(size), size);
	} else {
		a = cpu_sext(cpu_reg_get(c, op->r[0], size), size);
		b = cpu_sext(cpu_opnd_get(c, op, 1, size), size);
	}
	uint64_t lo;
	bool ovf;
	if (size == 8) {
		__int128 p = (__int128)a * b;
		lo = (uint64_t)p;
		ovf = p != (int64_t)lo;
	} else {
		int64_t p = a * b;
		lo = (uint64_t)p & cpu_mask(size);
		ovf = p != cpu_sext(lo, size);
	}
	cpu_reg_set(c, op->r[0], size, lo);
	muldiv_flags(c, lo, size, ovf);
	return 0;
}

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
