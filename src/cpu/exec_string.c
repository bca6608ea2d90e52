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
#include "cpu/fast.h"

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

/*
 * REP STOS/MOVS, forward, many elements at once: as many as lie in one
 * page of the destination (and of the source), up to max, when every one
 * of them passes the segment checks and both pages are plain RAM in the
 * TLB with no decoded code on the destination's. Returns the elements
 * done; 0 leaves the next one to the one-by-one path, which also raises
 * any fault at the exact element. A copy whose destination overlaps the
 * source ahead of it is done element by element, as the CPU does.
 */
static uint64_t str_bulk(struct cpu *c, const struct op *op, bool movs, uint64_t max)
{
	unsigned size = op->size;
	uint64_t am = cpu_mask(op->asize);
	uint64_t di = c->gpr[R_DI] & am, si = c->gpr[R_SI] & am;
	uint64_t dlin, slin = 0;
	if (!fast_lin(c, S_ES, di, size, ACC_W, &dlin))
		return 0;
	uint64_t n = (0x1000 - (dlin & 0xfff)) / size;
	if (movs) {
		if (!fast_lin(c, op->seg, si, size, ACC_R, &slin))
			return 0;
		uint64_t ns = (0x1000 - (slin & 0xfff)) / size;
		n = ns < n ? ns : n;
	}
	n = n < max ? n : max;
	/* The offsets must not wrap within the address size, and the last
	 * element must pass the segment checks too. */
	uint64_t span = (n - 1) * size, last;
	if (n < 2 || ((di + span) & am) < di || (movs && ((si + span) & am) < si) ||
	    !fast_lin(c, S_ES, di + span, size, ACC_W, &last) ||
	    (movs && !fast_lin(c, op->seg, si + span, size, ACC_R, &last)))
		return 0;
	uint8_t *d = fast_lin_wptr(c, dlin, size);
	const uint8_t *src = movs ? fast_lin_rptr(c, slin, size) : NULL;
	if (!d || (movs && !src))
		return 0;
	uint64_t bytes = n * size;
	if (!movs) {
		uint64_t v = c->gpr[R_AX];
		if (size == 1)
			memset(d, (int)(v & 0xff), bytes);
		else
			for (uint64_t i = 0; i < bytes; i += size)
				cpu_store_host(d + i, size, v);
	} else if (d <= src || d >= src + bytes) {
		memmove(d, src, bytes);
	} else {
		for (uint64_t i = 0; i < bytes; i += size)
			cpu_store_host(d + i, size, cpu_load_host(src + i, size));
	}
	cpu_reg_set(c, R_DI, op->asize, c->gpr[R_DI] + bytes);
	if (movs)
		cpu_reg_set(c, R_SI, op->asize, c->gpr[R_SI] + bytes);
	return n;
}

/* cmp: 0 = no termination condition, else REPE/REPNE semantics apply. */
static int str_run(struct cpu *c, const struct op *op, str_fn *fn, bool cmp)
{
	int64_t d = str_step(c, op->size);
	if (!(op->flags & (OPF_REP | OPF_REPNE))) {
		fn(c, op, d);
		return 0;
	}
	uint64_t am = cpu_mask(op->asize);
	bool bulk = (fn == str_stos1 || fn == str_movs1) && d > 0;
	for (unsigned budget = STR_BUDGET;; budget--) {
		uint64_t cx = c->gpr[R_CX] & am;
		if (!cx)
			return 0;
		uint64_t done = bulk ? str_bulk(c, op, fn == str_movs1, cx < budget ? cx : budget)
				     : 0;
		if (done) {
			/* The last of them is counted as one iteration below. */
			budget -= (unsigned)(done - 1);
			cx -= done - 1;
		} else {
			fn(c, op, d);
		}
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
			if (c->icount_mode)
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
