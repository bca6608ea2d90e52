/*
 * exec_string: string instructions (Intel SDM Vol. 2: MOVS, CMPS, STOS,
 * LODS, SCAS, INS, OUTS; Vol. 1 7.3.9 "String Operations" and the REP/REPE/
 * REPNE prefixes). The source may use a segment override, the destination is
 * always ES:rDI. Index and count registers have the address size.
 *
 * A repeated instruction runs a bounded number of iterations per call and
 * then leaves RIP on itself, so interrupts are taken between iterations
 * (SDM 7.3.9.2) and a fault leaves consistent registers to restart from.
 */
#include "cpu/cpu.h"

#define STR_BUDGET 4096

static inline int64_t str_step(const struct cpu *c, unsigned size)
{
	return (c->rflags & FL_DF) ? -(int64_t)size : (int64_t)size;
}

static inline void str_adv(struct cpu *c, unsigned reg, unsigned as, int64_t d)
{
	cpu_reg_set(c, reg, as, c->gpr[reg] + (uint64_t)d);
}

/* One iteration of each instruction. */
static void str_movs1(struct cpu *c, const struct op *op, int64_t d)
{
	uint64_t am = cpu_mask(op->asize);
	uint64_t v = cpu_read(c, op->seg, c->gpr[R_SI] & am, op->size);
	cpu_write(c, S_ES, c->gpr[R_DI] & am, op->size, v);
	str_adv(c, R_SI, op->asize, d);
	str_adv(c, R_DI, op->asize, d);
}

static void str_stos1(struct cpu *c, const struct op *op, int64_t d)
{
	cpu_write(c, S_ES, c->gpr[R_DI] & cpu_mask(op->asize), op->size,
		  cpu_reg_get(c, R_AX, op->size));
	str_adv(c, R_DI, op->asize, d);
}

static void str_lods1(struct cpu *c, const struct op *op, int64_t d)
{
	uint64_t v = cpu_read(c, op->seg, c->gpr[R_SI] & cpu_mask(op->asize), op->size);
	cpu_reg_set(c, R_AX, op->size, v);
	str_adv(c, R_SI, op->asize, d);
}

static void str_cmps1(struct cpu *c, const struct op *op, int64_t d)
{
	uint64_t am = cpu_mask(op->asize);
	uint64_t a = cpu_read(c, op->seg, c->gpr[R_SI] & am, op->size);
	uint64_t b = cpu_read(c, S_ES, c->gpr[R_DI] & am, op->size);
	alu_compute(c, ALU_CMP, op->size, a, b);
	str_adv(c, R_SI, op->asize, d);
	str_adv(c, R_DI, op->asize, d);
}

static void str_scas1(struct cpu *c, const struct op *op, int64_t d)
{
	uint64_t b = cpu_read(c, S_ES, c->gpr[R_DI] & cpu_mask(op->asize), op->size);
	alu_compute(c, ALU_CMP, op->size, cpu_reg_get(c, R_AX, op->size), b);
	str_adv(c, R_DI, op->asize, d);
}

static void str_ins1(struct cpu *c, const struct op *op, int64_t d)
{
	uint16_t port = (uint16_t)c->gpr[R_DX];
	uint64_t lin = cpu_lin(c, S_ES, c->gpr[R_DI] & cpu_mask(op->asize), op->size, ACC_W);
	/* Probe the destination before the port read, which has side effects. */
	cpu_write_lin(c, lin, op->size, cpu_read_lin(c, lin, op->size));
	cpu_write_lin(c, lin, op->size, emu_port_in(c, port, op->size));
	str_adv(c, R_DI, op->asize, d);
}

static void str_outs1(struct cpu *c, const struct op *op, int64_t d)
{
	uint64_t v = cpu_read(c, op->seg, c->gpr[R_SI] & cpu_mask(op->asize), op->size);
	emu_port_out(c, (uint16_t)c->gpr[R_DX], op->size, v);
	str_adv(c, R_SI, op->asize, d);
}

typedef void str_fn(struct cpu *c, const struct op *op, int64_t d);

/* cmp: 0 = no termination condition, else REPE/REPNE semantics apply. */
static int str_run(struct cpu *c, const struct op *op, str_fn *fn, bool cmp)
{
	int64_t d = str_step(c, op->size);
	if (!(op->flags & (OPF_REP | OPF_REPNE))) {
		fn(c, op, d);
		return 0;
	}
	uint64_t am = cpu_mask(op->asize);
	for (unsigned budget = STR_BUDGET;; budget--) {
		uint64_t cx = c->gpr[R_CX] & am;
		if (!cx)
			return 0;
		fn(c, op, d);
		cpu_reg_set(c, R_CX, op->asize, cx - 1);
		if (cx == 1)
			return 0;
		if (cmp) {
			bool zf = flags_cond(c, 4);
			if ((op->flags & OPF_REPNE) ? zf : !zf)
				return 0;
		}
		if (budget == 1 || c->brk) {
			/* Continue later from the same instruction; the iterations
			 * count as retired instructions for guest time (icount). */
			c->extra_retired += STR_BUDGET - budget + 1;
			return 1;
		}
	}
}

int str_movs(struct cpu *c, const struct op *op)
{
	return str_run(c, op, str_movs1, false);
}

int str_stos(struct cpu *c, const struct op *op)
{
	return str_run(c, op, str_stos1, false);
}

int str_lods(struct cpu *c, const struct op *op)
{
	return str_run(c, op, str_lods1, false);
}

int str_cmps(struct cpu *c, const struct op *op)
{
	return str_run(c, op, str_cmps1, true);
}

int str_scas(struct cpu *c, const struct op *op)
{
	return str_run(c, op, str_scas1, true);
}

int str_ins(struct cpu *c, const struct op *op)
{
	io_check(c, (uint16_t)c->gpr[R_DX], op->size);
	return str_run(c, op, str_ins1, false);
}

int str_outs(struct cpu *c, const struct op *op)
{
	io_check(c, (uint16_t)c->gpr[R_DX], op->size);
	return str_run(c, op, str_outs1, false);
}
