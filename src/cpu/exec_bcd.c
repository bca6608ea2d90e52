/*
 * exec_bcd: decimal adjust instructions (Intel SDM Vol. 2: AAA, AAS, DAA,
 * DAS, AAM, AAD), invalid in 64-bit mode (the decoder raises #UD there).
 * Flags the manual leaves undefined are set the way Intel processors do
 * where documented by the pseudo-code, else from the result.
 */
#include "cpu/cpu.h"

static void bcd_szp(struct cpu *c, uint8_t al, uint64_t keep)
{
	uint64_t f = keep;
	if (al == 0)
		f |= FL_ZF;
	if (al & 0x80)
		f |= FL_SF;
	if (flags_parity(al))
		f |= FL_PF;
	flags_set_arith(c, f);
}

static int bcd_ascii(struct cpu *c, bool add)
{
	uint64_t f = flags_get(c);
	uint16_t ax = (uint16_t)c->gpr[R_AX];
	bool adj = (ax & 0xf) > 9 || (f & FL_AF);
	if (adj) {
		if (add)
			ax = (uint16_t)(ax + 0x106);
		else
			ax = (uint16_t)(((ax - 6) & 0xff) | ((ax & 0xff00) - 0x100));
	}
	ax &= 0xff0f;
	cpu_reg_set(c, R_AX, 2, ax);
	bcd_szp(c, (uint8_t)ax, adj ? FL_AF | FL_CF : 0);
	return 0;
}

int bcd_aaa(struct cpu *c, const struct op *op)
{
	return bcd_ascii(c, true);
}

int bcd_aas(struct cpu *c, const struct op *op)
{
	return bcd_ascii(c, false);
}

static int bcd_decimal(struct cpu *c, bool add)
{
	uint64_t f = flags_get(c);
	uint8_t al = (uint8_t)c->gpr[R_AX], old = al;
	bool cf = f & FL_CF, ncf = false, af = false;
	if ((al & 0xf) > 9 || (f & FL_AF)) {
		ncf = cf || (add ? al > 0xf9 : al < 6);
		al = (uint8_t)(add ? al + 6 : al - 6);
		af = true;
	}
	if (old > 0x99 || cf) {
		al = (uint8_t)(add ? al + 0x60 : al - 0x60);
		ncf = true;
	}
	cpu_reg_set(c, R_AX, 1, al);
	bcd_szp(c, al, (ncf ? FL_CF : 0) | (af ? FL_AF : 0));
	return 0;
}

int bcd_daa(struct cpu *c, const struct op *op)
{
	return bcd_decimal(c, true);
}

int bcd_das(struct cpu *c, const struct op *op)
{
	return bcd_decimal(c, false);
}

int bcd_aam(struct cpu *c, const struct op *op)
{
	uint8_t base = (uint8_t)op->imm, al = (uint8_t)c->gpr[R_AX];
	if (!base)
		cpu_raise(c, EXC_DE, 0);
	uint8_t r = al % base;
	cpu_reg_set(c, R_AX, 2, (uint16_t)((al / base) << 8 | r));
	bcd_szp(c, r, 0);
	return 0;
}

int bcd_aad(struct cpu *c, const struct op *op)
{
	uint8_t base = (uint8_t)op->imm;
	uint16_t ax = (uint16_t)c->gpr[R_AX];
	uint8_t al = (uint8_t)((ax & 0xff) + (ax >> 8) * base);
	cpu_reg_set(c, R_AX, 2, al);
	bcd_szp(c, al, 0);
	return 0;
}
