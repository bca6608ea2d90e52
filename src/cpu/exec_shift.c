/*
 * exec_shift: shifts and rotates (Intel SDM Vol. 2: SAL/SAR/SHL/SHR,
 * RCL/RCR/ROL/ROR, SHLD, SHRD). The count is masked to 5 bits (6 with a
 * 64-bit operand); a masked count of zero changes no flags. Flags the manual
 * leaves undefined (OF for counts other than 1, AF) are computed the way
 * current Intel processors do where that is known, else left as the
 * count-1 formula gives them; the differential tests exclude them.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

struct shift_out {
	uint64_t res;
	bool cf, of;
	bool arith;                     /* SF/ZF/PF follow the result (shifts, not rotates) */
};

CPU_INLINE struct shift_out
shift_calc(unsigned kind, unsigned size, uint64_t v, unsigned cnt, bool cf_in)
{
	unsigned bits = size * 8;
	uint64_t m = cpu_mask(size), sign = cpu_sign(size);
	struct shift_out o = { v, cf_in, false, false };
	v &= m;
	switch (kind) {
	case SH_ROL: {
		unsigned n = cnt % bits;
		o.res = n ? ((v << n) | (v >> (bits - n))) & m : v;
		o.cf = o.res & 1;
		o.of = ((o.res & sign) != 0) ^ o.cf;
		break;
	}
	case SH_ROR: {
		unsigned n = cnt % bits;
		o.res = n ? ((v >> n) | (v << (bits - n))) & m : v;
		o.cf = (o.res & sign) != 0;
		o.of = ((o.res ^ (o.res << 1)) & sign) != 0;
		break;
	}
	case SH_RCL: {
		unsigned n = size == 1 ? cnt % 9 : size == 2 ? cnt % 17 : cnt;
		bool cf = cf_in;
		for (unsigned i = 0; i < n; i++) {
			bool t = (v & sign) != 0;
			v = ((v << 1) | cf) & m;
			cf = t;
		}
		o.res = v;
		o.cf = cf;
		o.of = ((v & sign) != 0) ^ cf;
		break;
	}
	case SH_RCR: {
		unsigned n = size == 1 ? cnt % 9 : size == 2 ? cnt % 17 : cnt;
		bool cf = cf_in;
		o.of = ((v & sign) != 0) ^ cf;
		for (unsigned i = 0; i < n; i++) {
			bool t = v & 1;
			v = (v >> 1) | (cf ? sign : 0);
			cf = t;
		}
		o.res = v;
		o.cf = cf;
		break;
	}
	case SH_SHL:
	case SH_SAL:
		o.arith = true;
		if (cnt >= bits) {
			o.res = 0;
			o.cf = cnt == bits ? (v & 1) : false;
		} else {
			o.res = (v << cnt) & m;
			o.cf = (v >> (bits - cnt)) & 1;
		}
		o.of = ((o.res & sign) != 0) ^ o.cf;
		break;
	case SH_SHR:
		o.arith = true;
		if (cnt >= bits) {
			o.res = 0;
			o.cf = cnt == bits ? (v & sign) != 0 : false;
		} else {
			o.res = v >> cnt;
			o.cf = (v >> (cnt - 1)) & 1;
		}
		o.of = (v & sign) != 0;
		break;
	default: {                      /* SAR */
		int64_t s = cpu_sext(v, size);
		o.arith = true;
		unsigned n = cnt >= bits ? bits - 1 : cnt;
		o.res = (uint64_t)(s >> n) & m;
		o.cf = cnt >= bits ? s < 0 : (s >> (cnt - 1)) & 1;
		o.of = false;
		break;
	}
	}
	return o;
}

CPU_INLINE void shift_flags(struct cpu *c, const struct shift_out *o, unsigned size)
{
	uint64_t cf_of = (o->cf ? FL_CF : 0) | (o->of ? FL_OF : 0);
	/* Shifts define all six flags but AF (undefined: cleared), SF, ZF and
	 * PF from the result: lazily, like the ALU. Rotates keep the old SF,
	 * ZF, AF and PF. */
	if (o->arith)
		flags_lazy(c, CC_OP(CC_SHIFT, size), o->res, 0, cf_of);
	else
		flags_set_arith(c, (flags_get(c) & FL_ARITH & ~(FL_CF | FL_OF)) | cf_of);
}

/* Threaded forms (fast.h) of SHL/SHR/SAR of a register by an immediate or
 * CL: the old CF is not needed, and kind and size are compile-time
 * constants. With nf the flags are dead (select.c) and not recorded. The
 * reference handler is shift_op. */
CPU_INLINE void shift_reg_body(struct cpu *c, const struct op *op, unsigned kind,
			       unsigned size, bool nf)
{
	uint64_t n = op->k[1] == K_IMM ? op->imm : c->gpr[R_CX];
	unsigned cnt = (unsigned)n & (size == 8 ? 0x3f : 0x1f);
	uint64_t v = cpu_reg_get(c, op->r[0], size);
	if (!cnt) {
		cpu_reg_set(c, op->r[0], size, v);
		return;
	}
	struct shift_out o = shift_calc(kind, size, v, cnt, false);
	cpu_reg_set(c, op->r[0], size, o.res);
	if (!nf)
		shift_flags(c, &o, size);
}

#define SHIFT_SIZED(K, N, SZ, SUFFIX, NF, V)                                   \
	static const struct op *shift_##N##SUFFIX##V(struct cpu *c, const struct op *op) \
	{                                                                      \
		shift_reg_body(c, op, K, SZ, NF);                              \
		FAST_NEXT(c, op);                                              \
	}
#define SHIFT_VARIANT(K, N, NF, V)                                             \
	SHIFT_SIZED(K, N, 8, 8, NF, V) SHIFT_SIZED(K, N, 4, 4, NF, V)          \
	SHIFT_SIZED(K, N, op->size, , NF, V)
#define SHIFT_FORMS(K, N) SHIFT_VARIANT(K, N, false, ) SHIFT_VARIANT(K, N, true, _nf)
SHIFT_FORMS(SH_SHL, shl_r)
SHIFT_FORMS(SH_SHR, shr_r)
SHIFT_FORMS(SH_SAR, sar_r)

#define SHIFT_ROW(N, V) { shift_##N##8##V, shift_##N##4##V, shift_##N##V }
#define SHIFT_KINDS(V) { SHIFT_ROW(shl_r, V), SHIFT_ROW(shr_r, V), SHIFT_ROW(sar_r, V) }
op_exec *const shift_fast[2][3][3] = { SHIFT_KINDS(), SHIFT_KINDS(_nf) };

static uint64_t shift_rmw(const struct rmw *r, uint64_t old, unsigned size)
{
	return shift_calc(r->kind, size, old, (unsigned)r->src, r->cf).res;
}

int shift_op(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	unsigned cnt = (unsigned)cpu_opnd_get(c, op, 1, 1) & (size == 8 ? 0x3f : 0x1f);
	bool cf = flags_cf(c);
	uint64_t old;
	if (op->k[0] == K_REG) {
		old = cpu_reg_get(c, op->r[0], size);
		if (!cnt) {
			/* The register is still written: a 32-bit one zero-extends. */
			cpu_reg_set(c, op->r[0], size, old);
			return 0;
		}
		struct shift_out o = shift_calc(op->sub, size, old, cnt, cf);
		cpu_reg_set(c, op->r[0], size, o.res);
		shift_flags(c, &o, size);
		return 0;
	}
	uint64_t lin = cpu_lin(c, op->seg, cpu_ea(c, op), size, ACC_W);
	if (!cnt) {
		/* The operand is still accessed (and may fault). */
		cpu_read_lin(c, lin, size);
		return 0;
	}
	struct rmw r = { cnt, cf, 0, op->sub };
	old = alu_rmw(c, lin, size, false, shift_rmw, &r);
	struct shift_out o = shift_calc(op->sub, size, old, cnt, cf);
	shift_flags(c, &o, size);
	return 0;
}

/* SHLD/SHRD: dst:src as one double-width value (SDM SHLD/SHRD). A count
 * above the operand size (16-bit operands only) is undefined; we shift the
 * 32-bit concatenation as Intel processors do. */
static struct shift_out shift_double(bool left, unsigned size, uint64_t d, uint64_t s,
				     unsigned cnt)
{
	unsigned bits = size * 8;
	uint64_t m = cpu_mask(size), sign = cpu_sign(size);
	struct shift_out o = { d, false, false, true };
	d &= m;
	s &= m;
	if (size == 2) {
		/* Intel: 16-bit SHLD/SHRD shift the 48-bit pattern d:s:d. */
		uint64_t w = left ? (d << 32 | s << 16 | d) : (d | s << 16 | d << 32);
		if (left) {
			o.res = (w >> (32 - cnt)) & m;
			o.cf = (w >> (48 - cnt)) & 1;
		} else {
			o.res = (w >> cnt) & m;
			o.cf = (w >> (cnt - 1)) & 1;
		}
	} else if (left) {
		o.res = ((d << cnt) | (cnt ? s >> (bits - cnt) : 0)) & m;
		o.cf = (d >> (bits - cnt)) & 1;
	} else {
		o.res = ((d >> cnt) | (cnt ? s << (bits - cnt) : 0)) & m;
		o.cf = (d >> (cnt - 1)) & 1;
	}
	o.of = ((o.res ^ d) & sign) != 0;
	return o;
}

static uint64_t shift_double_rmw(const struct rmw *r, uint64_t old, unsigned size)
{
	return shift_double(r->kind, size, old, r->extra, (unsigned)r->src).res;
}

static int shift_dbl(struct cpu *c, const struct op *op, bool left)
{
	unsigned size = op->size;
	unsigned cnt = (unsigned)cpu_opnd_get(c, op, 2, 1) & (size == 8 ? 0x3f : 0x1f);
	uint64_t s = cpu_reg_get(c, op->r[1], size), old;
	if (op->k[0] == K_REG) {
		old = cpu_reg_get(c, op->r[0], size);
		if (!cnt) {
			cpu_reg_set(c, op->r[0], size, old);
			return 0;
		}
		struct shift_out o = shift_double(left, size, old, s, cnt);
		cpu_reg_set(c, op->r[0], size, o.res);
		shift_flags(c, &o, size);
		return 0;
	}
	uint64_t lin = cpu_lin(c, op->seg, cpu_ea(c, op), size, ACC_W);
	if (!cnt) {
		cpu_read_lin(c, lin, size);
		return 0;
	}
	struct rmw r = { cnt, 0, s, left };
	old = alu_rmw(c, lin, size, false, shift_double_rmw, &r);
	struct shift_out o = shift_double(left, size, old, s, cnt);
	shift_flags(c, &o, size);
	return 0;
}

int shift_shld(struct cpu *c, const struct op *op)
{
	return shift_dbl(c, op, true);
}

int shift_shrd(struct cpu *c, const struct op *op)
{
	return shift_dbl(c, op, false);
}
