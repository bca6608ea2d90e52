/*
 * exec_mov: data movement and flag instructions (Intel SDM Vol. 2: MOV,
 * MOVZX, MOVSX/MOVSXD, LEA, CMOVcc, SETcc, BSWAP, CBW/CWDE/CDQE,
 * CWD/CDQ/CQO, XLAT, LAHF, SAHF, SALC, CLC/STC/CMC/CLD/STD, MOV to/from
 * segment registers, LDS/LES/LFS/LGS/LSS, NOP and fences).
 */
#include "cpu/cpu.h"

int mov_mov(struct cpu *c, const struct op *op)
{
	cpu_opnd_set(c, op, 0, op->size, cpu_opnd_get(c, op, 1, op->size));
	return 0;
}

int mov_mov_rr(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, cpu_reg_get(c, op->r[1], op->size));
	return 0;
}

int mov_mov_ri(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, op->imm);
	return 0;
}

int mov_load(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, cpu_read(c, op->seg, cpu_ea(c, op), op->size));
	return 0;
}

int mov_store(struct cpu *c, const struct op *op)
{
	cpu_write(c, op->seg, cpu_ea(c, op), op->size, cpu_reg_get(c, op->r[1], op->size));
	return 0;
}

/* 64- and 32-bit forms with the size known at compile time. */
int mov_load8(struct cpu *c, const struct op *op)
{
	c->gpr[op->r[0]] = cpu_read(c, op->seg, cpu_ea(c, op), 8);
	return 0;
}

int mov_load4(struct cpu *c, const struct op *op)
{
	c->gpr[op->r[0]] = (uint32_t)cpu_read(c, op->seg, cpu_ea(c, op), 4);
	return 0;
}

int mov_store8(struct cpu *c, const struct op *op)
{
	cpu_write(c, op->seg, cpu_ea(c, op), 8, c->gpr[op->r[1]]);
	return 0;
}

int mov_store4(struct cpu *c, const struct op *op)
{
	cpu_write(c, op->seg, cpu_ea(c, op), 4, (uint32_t)c->gpr[op->r[1]]);
	return 0;
}

int mov_movzx(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, cpu_opnd_get(c, op, 1, op->size2));
	return 0;
}

int mov_movsx(struct cpu *c, const struct op *op)
{
	uint64_t v = (uint64_t)cpu_sext(cpu_opnd_get(c, op, 1, op->size2), op->size2);
	cpu_reg_set(c, op->r[0], op->size, v);
	return 0;
}

int mov_lea(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, cpu_ea(c, op));
	return 0;
}

/* The source is read (and may fault) even when the condition is false; a
 * 32-bit destination is zero-extended either way (SDM CMOVcc). */
int mov_cmov(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	if (flags_cond_fast(c, op->sub))
		cpu_reg_set(c, op->r[0], op->size, v);
	else if (op->size == 4)
		cpu_reg_set(c, op->r[0], 4, cpu_reg_get(c, op->r[0], 4));
	return 0;
}

int mov_setcc(struct cpu *c, const struct op *op)
{
	cpu_opnd_set(c, op, 0, 1, flags_cond(c, op->sub));
	return 0;
}

int mov_bswap(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_reg_get(c, op->r[0], op->size);
	if (op->size == 8)
		v = __builtin_bswap64(v);
	else if (op->size == 4)
		v = __builtin_bswap32((uint32_t)v);
	else
		v = 0;          /* 16-bit BSWAP is undefined; hardware clears the register */
	cpu_reg_set(c, op->r[0], op->size, v);
	return 0;
}

int mov_cbw(struct cpu *c, const struct op *op)
{
	unsigned half = op->size / 2;
	cpu_reg_set(c, R_AX, op->size, (uint64_t)cpu_sext(cpu_reg_get(c, R_AX, half), half));
	return 0;
}

int mov_cwd(struct cpu *c, const struct op *op)
{
	bool neg = cpu_reg_get(c, R_AX, op->size) & cpu_sign(op->size);
	cpu_reg_set(c, R_DX, op->size, neg ? ~0ULL : 0);
	return 0;
}

int mov_xlat(struct cpu *c, const struct op *op)
{
	uint64_t a = (c->gpr[R_BX] + (c->gpr[R_AX] & 0xff)) & cpu_mask(op->asize);
	cpu_reg_set(c, R_AX, 1, cpu_read(c, op->seg, a, 1));
	return 0;
}

int mov_lahf(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, REG_HIGH8 + 0, 1, flags_get(c) & 0xff);
	return 0;
}

int mov_sahf(struct cpu *c, const struct op *op)
{
	flags_set(c, (c->gpr[R_AX] >> 8) & 0xff, FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF);
	return 0;
}

int mov_salc(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, R_AX, 1, flags_cf(c) ? 0xff : 0);
	return 0;
}

int mov_flagop(struct cpu *c, const struct op *op)
{
	switch (op->sub) {
	case 0: flags_set(c, 0, FL_CF); break;
	case 1: flags_set(c, FL_CF, FL_CF); break;
	case 2: flags_set(c, flags_cf(c) ? 0 : FL_CF, FL_CF); break;
	case 3: c->rflags &= ~FL_DF; break;
	default: c->rflags |= FL_DF; break;
	}
	return 0;
}

int mov_nop(struct cpu *c, const struct op *op)
{
	if (op->sub)
		atomic_thread_fence(memory_order_seq_cst);     /* MFENCE */
	return 0;
}

/* MOV Sreg, r/m16. A load of SS inhibits interrupts for one instruction
 * (SDM 6.8.3); the block ends after it so the run loop sees the shadow. */
int mov_sreg_load(struct cpu *c, const struct op *op)
{
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 1, 2);
	seg_load_any(c, op->r[0], sel);
	if (op->r[0] == S_SS) {
		c->shadow = true;
		c->rip += op->len;
		return 1;
	}
	return 0;
}

/* MOV r/m, Sreg: a register destination of 32/64 bits gets the selector
 * zero-extended; memory is always written as 16 bits. */
int mov_sreg_store(struct cpu *c, const struct op *op)
{
	uint16_t sel = c->seg[op->r[1]].selector;
	if (op->k[0] == K_REG)
		cpu_reg_set(c, op->r[0], op->size, sel);
	else
		cpu_write(c, op->seg, cpu_ea(c, op), 2, sel);
	return 0;
}

/* LDS/LES/LFS/LGS/LSS r, m16:16/32/64: offset first, then the selector. */
int mov_lxs(struct cpu *c, const struct op *op)
{
	uint64_t ea = cpu_ea(c, op);
	uint64_t off = cpu_read(c, op->seg, ea, op->size);
	uint16_t sel = (uint16_t)cpu_read(c, op->seg, (ea + op->size) & cpu_mask(op->asize), 2);
	seg_load_any(c, op->sub, sel);
	cpu_reg_set(c, op->r[0], op->size, off);
	return 0;
}

int mov_movbe(struct cpu *c, const struct op *op)
{
	uint64_t v = cpu_opnd_get(c, op, 1, op->size);
	if (op->size == 2)
		v = __builtin_bswap16((uint16_t)v);
	else if (op->size == 4)
		v = __builtin_bswap32((uint32_t)v);
	else
		v = __builtin_bswap64(v);
	cpu_opnd_set(c, op, 0, op->size, v);
	return 0;
}
