/*
 * flags: lazy evaluation of the arithmetic flags (SDM Vol. 1 3.4.3.1,
 * Appendix A "EFLAGS Cross-Reference").
 *
 * ALU instructions record their kind, operand size, result and source in
 * struct cpu (cc_op/cc_dst/cc_src/cc_src2) instead of computing six flags;
 * the flags are derived only when something reads them (Jcc, SETcc, PUSHF,
 * ADC...). Rotates, BCD and bit instructions compute their flags eagerly
 * and store them with CC_EFLAGS.
 *
 * Result and source are stored normalised (flags_lazy): shifted left so the
 * operand's sign bit is bit 63. CF, ZF, SF and OF then follow from plain
 * 64-bit arithmetic whatever the operand size, and a condition code is a
 * bit of a 16-bit table indexed by those four flags (flags_cond_bits); only
 * PF and AF need the size.
 *
 * cc_src2 is the carry-in (ADC/SBB), the previous CF (INC/DEC, which leave
 * CF alone and record src = 1 as ADD/SUB of one), the overflow of a
 * multiply (CF = OF) or CF and OF as RFLAGS bits (shifts).
 */
#include "cpu/cpu.h"

bool flags_parity(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

/* The six arithmetic flags of the pending operation. */
static uint64_t flags_arith(const struct cpu *c)
{
	unsigned kind = c->cc_op >> 2, sh = flags_norm_shift(c->cc_op);
	uint64_t res = c->cc_dst, src = c->cc_src, src1, cin, f = 0;
	bool cf = false, of = false;

	switch (kind) {
	case CC_EFLAGS:
		return c->cc_src & FL_ARITH;
	case CC_ADD:
	case CC_ADC:
	case CC_INC:
		cin = kind == CC_ADC ? c->cc_src2 << sh : 0;
		src1 = res - src - cin;
		if (kind == CC_INC)
			cf = c->cc_src2 != 0;
		else
			cf = cin ? res <= src1 : res < src1;
		of = ((src1 ^ res) & (src ^ res)) >> 63;
		f |= ((src1 ^ src ^ res) >> sh) & FL_AF;
		break;
	case CC_SUB:
	case CC_SBB:
	case CC_DEC:
		cin = kind == CC_SBB ? c->cc_src2 << sh : 0;
		src1 = res + src + cin;
		if (kind == CC_DEC)
			cf = c->cc_src2 != 0;
		else
			cf = cin ? src1 <= src : src1 < src;
		of = ((src1 ^ src) & (src1 ^ res)) >> 63;
		f |= ((src1 ^ src ^ res) >> sh) & FL_AF;
		break;
	case CC_LOGIC:
		break;
	case CC_MUL:
		cf = of = c->cc_src2 != 0;
		break;
	case CC_SHIFT:
		cf = c->cc_src2 & FL_CF;
		of = c->cc_src2 & FL_OF;
		break;
	}
	if (cf)
		f |= FL_CF;
	if (of)
		f |= FL_OF;
	if (res == 0)
		f |= FL_ZF;
	if (res >> 63)
		f |= FL_SF;
	if (flags_parity(res >> sh))
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
	uint64_t res = c->cc_dst, src = c->cc_src;
	switch (c->cc_op >> 2) {
	case CC_EFLAGS: return c->cc_src & FL_CF;
	case CC_ADD: return res < src;
	case CC_SUB: return res + src < src;
	case CC_LOGIC: return false;
	case CC_SHIFT: return c->cc_src2 & FL_CF;
	case CC_ADC:
	case CC_SBB: return flags_arith(c) & FL_CF;
	default: return c->cc_src2 != 0;        /* INC/DEC keep the old CF; MUL */
	}
}

/* Condition code cc (the low nibble of Jcc/SETcc/CMOVcc), SDM Vol. 1 B.1. */
bool flags_cond(struct cpu *c, unsigned cc)
{
	uint64_t f = flags_arith(c);
	if ((cc >> 1) == 5)
		return (f & FL_PF) ? !(cc & 1) : (cc & 1);
	return flags_cond_bits(cc, (f & FL_CF) != 0, (f & FL_ZF) != 0, (f & FL_SF) != 0,
			       (f & FL_OF) != 0);
}
