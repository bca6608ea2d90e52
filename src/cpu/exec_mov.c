/*
 * exec_mov: data movement and flag instructions (Intel SDM Vol. 2: MOV,
 * MOVZX, MOVSX/MOVSXD, LEA, CMOVcc, SETcc, BSWAP, CBW/CWDE/CDQE,
 * CWD/CDQ/CQO, XLAT, LAHF, SAHF, SALC, CLC/STC/CMC/CLD/STD, MOV to/from
 * segment registers, LDS/LES/LFS/LGS/LSS, NOP and fences).
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

int mov_mov(struct cpu *c, const struct op *op)
{
	cpu_opnd_set(c, op, 0, op->size, cpu_opnd_get(c, op, 1, op->size));
	return 0;
}

/*
 * Threaded forms of MOV (fast.h), by operand kinds and size, each size
 * fixed at compile time. The reference handler is mov_mov.
 */
#define MOV_SIZED(NAME, SZ, BODY)                                              \
	static const struct op *NAME(struct cpu *c, const struct op *op)       \
	{                                                                      \
		unsigned size = SZ;                                            \
		BODY;                                                          \
		FAST_NEXT(c, op);                                              \
	}
#define MOV_FORM(F, BODY)                                                      \
	MOV_SIZED(mov_##F##8, 8, BODY)                                         \
	MOV_SIZED(mov_##F##4, 4, BODY)                                         \
	MOV_SIZED(mov_##F##2, 2, BODY)                                         \
	MOV_SIZED(mov_##F##1, 1, BODY)
MOV_FORM(rr, cpu_reg_set(c, op->r[0], size, cpu_reg_get(c, op->r[1], size)))
MOV_FORM(ri, cpu_reg_set(c, op->r[0], size, op->imm))
MOV_FORM(load, const uint8_t *p = fast_rptr(c, op, size);
	 if (unlikely(!p)) FAST_REF(c, op);
	 cpu_reg_set(c, op->r[0], size, cpu_load_host(p, size)))
MOV_FORM(store, uint8_t *p = fast_wptr(c, op, size);
	 if (unlikely(!p)) FAST_REF(c, op);
	 cpu_store_host(p, size, cpu_reg_get(c, op->r[1], size)))
MOV_FORM(storei, uint8_t *p = fast_wptr(c, op, size);
	 if (unlikely(!p)) FAST_REF(c, op);
	 cpu_store_host(p, size, op->imm))
#define MOV_ROW(F) { mov_##F##8, mov_##F##4, mov_##F##2, mov_##F##1 }
op_exec *const mov_fast[MOV_FORM_COUNT][4] = {
	[MOV_F_RR] = MOV_ROW(rr), [MOV_F_RI] = MOV_ROW(ri), [MOV_F_LOAD] = MOV_ROW(load),
	[MOV_F_STORE] = MOV_ROW(store), [MOV_F_STOREI] = MOV_ROW(storei),
};

/* MOVZX/MOVSX from memory into a 32/64-bit register (which it fills
 * whole), and LEA. MOVZX has a form per source size. */
CPU_INLINE const struct op *mov_movzx_m(struct cpu *c, const struct op *op, unsigned size2)
{
	const uint8_t *p = fast_rptr(c, op, size2);
	if (unlikely(!p))
		FAST_REF(c, op);
	c->gpr[op->r[0]] = cpu_load_host(p, size2);
	FAST_NEXT(c, op);
}

const struct op *mov_movzx_m1(struct cpu *c, const struct op *op)
{
	return mov_movzx_m(c, op, 1);
}

const struct op *mov_movzx_m2(struct cpu *c, const struct op *op)
{
	return mov_movzx_m(c, op, 2);
}

const struct op *mov_movsx_m(struct cpu *c, const struct op *op)
{
	const uint8_t *p = fast_rptr(c, op, op->size2);
	if (unlikely(!p))
		FAST_REF(c, op);
	uint64_t v = (uint64_t)cpu_sext(cpu_load_host(p, op->size2), op->size2);
	c->gpr[op->r[0]] = op->size == 8 ? v : (uint32_t)v;
	FAST_NEXT(c, op);
}

const struct op *mov_movzx_r(struct cpu *c, const struct op *op)
{
	cpu_reg_set(c, op->r[0], op->size, cpu_reg_get(c, op->r[1], op->size2));
	FAST_NEXT(c, op);
}

const struct op *mov_movsx_r(struct cpu *c, const struct op *op)
{
	uint64_t v = (uint64_t)cpu_sext(cpu_reg_get(c, op->r[1], op->size2), op->size2);
	cpu_reg_set(c, op->r[0], op->size, v);
	FAST_NEXT(c, op);
}

const struct op *mov_lea8(struct cpu *c, const struct op *op)
{
	c->gpr[op->r[0]] = fast_ea(c, op);
	FAST_NEXT(c, op);
}

const struct op *mov_lea4(struct cpu *c, const struct op *op)
{
	c->gpr[op->r[0]] = (uint32_t)fast_ea(c, op);
	FAST_NEXT(c, op);
}

/* CMOVcc between registers. */
const struct op *mov_cmov_rr(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t v = cpu_reg_get(c, op->r[1], size);
	if (flags_cond_fast(c, op->sub))
		cpu_reg_set(c, op->r[0], size, v);
	else if (size == 4)
		c->gpr[op->r[0]] = (uint32_t)c->gpr[op->r[0]];
	FAST_NEXT(c, op);
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
