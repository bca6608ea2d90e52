/*
 * exec_bit: bit instructions (Intel SDM Vol. 2: BT, BTS, BTR, BTC, BSF,
 * BSR, POPCNT, LZCNT; F3 0F BC is BSF since BMI1's TZCNT is not offered). With a register bit offset and a memory
 * operand, BT* address the bit string beyond the operand (the offset is a
 * signed value of the operand size, SDM BT "Bit Base and Bit Offset").
 */
#include "cpu/cpu.h"

static uint64_t bit_rmw(const struct rmw *r, uint64_t old, unsigned size)
{
	uint64_t bit = 1ULL << r->src;
	switch (r->kind) {
	case BT_BTS: return old | bit;
	case BT_BTR: return old & ~bit;
	default: return old ^ bit;
	}
}

/* CF is the selected bit; ZF is unaffected; OF, SF, AF and PF are undefined
 * (SDM BT) and left unchanged here. */
static void bit_set_cf(struct cpu *c, bool cf)
{
	uint64_t f = flags_get(c) & FL_ARITH;
	flags_set_arith(c, cf ? f | FL_CF : f & ~FL_CF);
}

int bit_bt(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, bits = size * 8;
	uint64_t old;
	unsigned pos;
	if (op->k[0] == K_REG) {
		pos = (unsigned)(cpu_opnd_get(c, op, 1, size) & (bits - 1));
		old = cpu_reg_get(c, op->r[0], size);
		if (op->sub != BT_BT) {
			struct rmw r = { pos, 0, 0, op->sub };
			cpu_reg_set(c, op->r[0], size, bit_rmw(&r, old, size));
		}
		bit_set_cf(c, (old >> pos) & 1);
		return 0;
	}
	uint64_t ea = cpu_ea(c, op);
	if (op->k[1] == K_REG) {
		int64_t off = cpu_sext(cpu_reg_get(c, op->r[1], size), size);
		/* Floor division so negative offsets address lower units. */
		int64_t unit = off >= 0 ? off / (int64_t)bits : -((-off + bits - 1) / (int64_t)bits);
		ea = (ea + (uint64_t)(unit * (int64_t)size)) & cpu_mask(op->asize);
		pos = (unsigned)(off - unit * (int64_t)bits);
	} else {
		pos = (unsigned)(op->imm & (bits - 1));
	}
	if (op->sub == BT_BT) {
		old = cpu_read(c, op->seg, ea, size);
	} else {
		struct rmw r = { pos, 0, 0, op->sub };
		uint64_t lin = cpu_lin(c, op->seg, ea, size, ACC_W);
		old = alu_rmw(c, lin, size, op->flags & OPF_LOCK, bit_rmw, &r);
	}
	bit_set_cf(c, (old >> pos) & 1);
	return 0;
}

/* ZF reports a zero source, in which case the destination is unchanged
 * (as Intel and AMD processors do; the SDM calls it undefined). CF, OF, SF,
 * AF and PF are undefined: we clear them. */
static void bit_scan_flags(struct cpu *c, bool zero)
{
	flags_set_arith(c, zero ? FL_ZF : 0);
}

int bit_bsf(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	bit_scan_flags(c, v == 0);
	if (v)
		cpu_reg_set(c, op->r[0], op->size, (uint64_t)__builtin_ctzll(v));
	return 0;
}

int bit_bsr(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	bit_scan_flags(c, v == 0);
	if (v)
		cpu_reg_set(c, op->r[0], op->size, (uint64_t)(63 - __builtin_clzll(v)));
	return 0;
}

int bit_popcnt(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	cpu_reg_set(c, op->r[0], op->size, (uint64_t)__builtin_popcountll(v));
	flags_set_arith(c, v ? 0 : FL_ZF);
	return 0;
}

/* LZCNT: CF = source is zero, ZF = result is zero; OF, SF, PF and AF
 * are undefined (SDM) and cleared here. */
int bit_lzcnt(struct cpu *c, const struct op *op)
{
	unsigned bits = op->size * 8;
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	uint64_t n = v ? (uint64_t)(__builtin_clzll(v) - (64 - bits)) : bits;
	cpu_reg_set(c, op->r[0], op->size, n);
	flags_set_arith(c, (v ? 0 : FL_CF) | (n ? 0 : FL_ZF));
	return 0;
}
