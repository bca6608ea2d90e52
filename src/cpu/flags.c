/*
 * flags: lazy evaluation of the arithmetic flags (SDM Vol. 1 3.4.3.1,
 * Appendix A "EFLAGS Cross-Reference").
 *
 * ALU instructions record their kind, operand size, result and source in
 * struct cpu (cc_op/cc_dst/cc_src/cc_src2) instead of computing six flags;
 * the flags are derived only when something reads them (Jcc, SETcc, PUSHF,
 * ADC...). Rarer instructions (shifts, multiply, BCD) compute their flags
 * eagerly and store them with CC_EFLAGS.
 *
 * For every kind, cc_dst is the result. cc_src is the second source operand;
 * cc_src2 is the carry-in (ADC/SBB), the previous CF (INC/DEC, which leave
 * CF alone) or the overflow of a multiply (CF = OF).
 */
#include "cpu/cpu.h"

bool flags_parity(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

/* The six arithmetic flags of the pending operation. */
static uint64_t flags_arith(const struct cpu *c)
{
	unsigned kind = c->cc_op >> 2, size = 1u << (c->cc_op & 3);
	uint64_t m = cpu_mask(size), sign = cpu_sign(size);
	uint64_t res = c->cc_dst & m, src = c->cc_src & m, src1, f = 0;
	bool cf = false, of = false;

	switch (kind) {
	case CC_EFLAGS:
		return c->cc_src & FL_ARITH;
	case CC_ADD:
	case CC_ADC:
		src1 = (res - src - (kind == CC_ADC ? c->cc_src2 : 0)) & m;
		cf = kind == CC_ADC && c->cc_src2 ? res <= src1 : res < src1;
		of = ((src1 ^ res) & (src ^ res) & sign) != 0;
		f |= (src1 ^ src ^ res) & FL_AF;
		break;
	case CC_SUB:
	case CC_SBB:
		src1 = (res + src + (kind == CC_SBB ? c->cc_src2 : 0)) & m;
		cf = kind == CC_SBB && c->cc_src2 ? src1 <= src : src1 < src;
		of = ((src1 ^ src) & (src1 ^ res) & sign) != 0;
		f |= (src1 ^ src ^ res) & FL_AF;
		break;
	case CC_LOGIC:
		break;
	case CC_MUL:
		cf = of = c->cc_src2 != 0;
		break;
	case CC_INC:
		cf = c->cc_src2 != 0;
		of = res == sign;
		if ((res & 0xf) == 0)
			f |= FL_AF;
		break;
	case CC_DEC:
		cf = c->cc_src2 != 0;
		of = res == sign - 1;
		if ((res & 0xf) == 0xf)
			f |= FL_AF;
		break;
	}
	if (cf)
		f |= FL_CF;
	if (of)
		f |= FL_OF;
	if (res == 0)
		f |= FL_ZF;
	if (res & sign)
		f |= FL_SF;
	if (flags_parity(res))
		f |= FL_PF;
	return f;
}

uint64_t flags_get(struct cpu *c)
{
	return (c->rflags & ~FL_ARITH) | flags_arith(c) | 0x2;
}

void flags_set(struct cpu *c, uint64_t v, uint64_t mask)
{
	uint64_t cur = flags_get(c);
	uint64_t n = (cur & ~mask) | (v & mask);
	c->cc_op = CC_EFLAGS;
	c->cc_src = n & FL_ARITH;
	c->rflags = (n & ~FL_ARITH) | 0x2;
}

/* CF alone, without deriving the other five flags. */
bool flags_cf(struct cpu *c)
{
	unsigned kind = c->cc_op >> 2;
	uint64_t m = cpu_mask(1u << (c->cc_op & 3));
	uint64_t res = c->cc_dst & m, src = c->cc_src & m;
	switch (kind) {
	case CC_EFLAGS: return c->cc_src & FL_CF;
	case CC_ADD: return res < src;
	case CC_ADC: return c->cc_src2 ? res <= src : res < src;
	case CC_SUB: return ((res + src) & m) < src;
	case CC_SBB: {
		uint64_t src1 = (res + src + c->cc_src2) & m;
		return c->cc_src2 ? src1 <= src : src1 < src;
	}
	case CC_LOGIC: return false;
	default: return c->cc_src2 != 0;        /* INC/DEC keep the old CF; MUL */
	}
}

/* Condition code cc (the low nibble of Jcc/SETcc/CMOVcc), SDM Vol. 1 B.1. */
bool flags_cond(struct cpu *c, unsigned cc)
{
	unsigned kind = c->cc_op >> 2;
	bool r;
	if (kind != CC_EFLAGS) {
		/* ZF, SF and CF never need the full set. */
		unsigned size = 1u << (c->cc_op & 3);
		switch (cc >> 1) {
		case 1: return flags_cf(c) ^ (cc & 1);
		case 2: return ((c->cc_dst & cpu_mask(size)) == 0) ^ (cc & 1);
		case 4: return ((c->cc_dst & cpu_sign(size)) != 0) ^ (cc & 1);
		default: break;
		}
	} else {
		uint64_t f = c->cc_src;
		switch (cc >> 1) {
		case 1: return ((f & FL_CF) != 0) ^ (cc & 1);
		case 2: return ((f & FL_ZF) != 0) ^ (cc & 1);
		case 4: return ((f & FL_SF) != 0) ^ (cc & 1);
		default: break;
		}
	}
	/* Fast paths for the flags producers that dominate real code. */
	if (kind == CC_SUB || kind == CC_LOGIC) {
		unsigned size = 1u << (c->cc_op & 3);
		uint64_t m = cpu_mask(size);
		uint64_t res = c->cc_dst & m;
		if (kind == CC_LOGIC) {
			switch (cc >> 1) {
			case 0: r = false; break;                       /* O */
			case 1: r = false; break;                       /* B */
			case 2: r = res == 0; break;                    /* Z */
			case 3: r = res == 0; break;                    /* BE */
			case 4: r = (res & cpu_sign(size)) != 0; break; /* S */
			case 5: r = flags_parity(res); break;           /* P */
			case 6: r = (res & cpu_sign(size)) != 0; break; /* L: SF != OF(0) */
			default: r = res == 0 || (res & cpu_sign(size)); break; /* LE */
			}
			return r ^ (cc & 1);
		}
		uint64_t src = c->cc_src & m, src1 = (res + src) & m;
		int64_t a = cpu_sext(src1, size), b = cpu_sext(src, size);
		switch (cc >> 1) {
		case 1: r = src1 < src; break;
		case 2: r = res == 0; break;
		case 3: r = src1 <= src; break;
		case 6: r = a < b; break;
		case 7: r = a <= b; break;
		default: goto generic;
		}
		return r ^ (cc & 1);
	}
generic:;
	uint64_t f = flags_arith(c);
	bool of = f & FL_OF, sf = f & FL_SF, zf = f & FL_ZF, cf = f & FL_CF;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = f & FL_PF; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return r ^ (cc & 1);
}
