/*
 * select: instruction selection for decoded blocks. decode.c binds every
 * instruction to its reference handler (struct op.fn); this pass picks the
 * threaded handler (struct op.exec, fast.h) each op runs through: a form
 * specialised for its operand kinds and size when one exists, else
 * emu_exec_ref, which runs the reference handler.
 *
 * Every specialised form does exactly what its reference handler does, or
 * hands the op to it before changing anything (FAST_REF): the choice here
 * is only ever about speed.
 *
 * Runs on the vCPU thread while a block is decoded.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

/* Column of the size-specialised tables: 8 bytes, 4 bytes, any size. */
static unsigned select_size(const struct op *op)
{
	return op->size == 8 ? 0 : op->size == 4 ? 1 : 2;
}

/* Operand kinds of op0 and op1 as one number, e.g. KK(K_REG, K_MEM). */
#define KK(a, b) ((a) << 4 | (b))

static op_exec *select_alu(const struct op *op)
{
	static const int form[64] = {
		[KK(K_REG, K_REG)] = ALU_F_RR + 1, [KK(K_REG, K_IMM)] = ALU_F_RI + 1,
		[KK(K_REG, K_MEM)] = ALU_F_RM + 1, [KK(K_MEM, K_REG)] = ALU_F_MR + 1,
		[KK(K_MEM, K_IMM)] = ALU_F_MI + 1,
	};
	int f = form[KK(op->k[0], op->k[1])];
	if (!f || (op->flags & OPF_LOCK))
		return NULL;
	return alu_fast[f - 1][op->sub][select_size(op)];
}

static op_exec *select_mov(const struct op *op)
{
	static const int form[64] = {
		[KK(K_REG, K_REG)] = MOV_F_RR + 1, [KK(K_REG, K_IMM)] = MOV_F_RI + 1,
		[KK(K_REG, K_MEM)] = MOV_F_LOAD + 1, [KK(K_MEM, K_REG)] = MOV_F_STORE + 1,
		[KK(K_MEM, K_IMM)] = MOV_F_STOREI + 1,
	};
	int f = form[KK(op->k[0], op->k[1])];
	return f ? mov_fast[f - 1][select_size(op)] : NULL;
}

/* The threaded form for op, or NULL for the reference handler. */
static op_exec *select_op(struct op *op)
{
	op_fn *fn = op->fn;
	unsigned k0 = op->k[0], k1 = op->k[1];

	if (fn == alu_arith)
		return select_alu(op);
	if (fn == mov_mov)
		return select_mov(op);
	if (fn == alu_test) {
		if (k0 == K_MEM)
			return alu_test_m;
		return k1 == K_REG ? alu_test_rr : k1 == K_IMM ? alu_test_ri : NULL;
	}
	if ((fn == alu_inc || fn == alu_dec) && k0 == K_REG)
		return fn == alu_inc ? alu_inc_r : alu_dec_r;
	if (fn == mov_movzx || fn == mov_movsx) {
		if (k1 == K_REG)
			return fn == mov_movzx ? mov_movzx_r : mov_movsx_r;
		if (op->size >= 4)
			return fn == mov_movzx ? mov_movzx_m : mov_movsx_m;
		return NULL;
	}
	if (fn == mov_lea)
		return op->size == 8 ? mov_lea8 : op->size == 4 ? mov_lea4 : NULL;
	if (fn == mov_cmov && k1 == K_REG)
		return mov_cmov_rr;
	if (fn == shift_op && k0 == K_REG) {
		switch (op->sub) {
		case SH_SHL: return shift_fast[0][select_size(op)];
		case SH_SHR: return shift_fast[1][select_size(op)];
		case SH_SAR: return shift_fast[2][select_size(op)];
		default: return NULL;
		}
	}
	if (fn == muldiv_imul)
		return k1 == K_REG ? muldiv_imul_r : muldiv_imul_m;
	if (fn == stack_push && k0 == K_REG)
		return stack_push_r;
	if (fn == stack_pop && k0 == K_REG)
		return stack_pop_r;
	if (fn == ctrl_ret)
		return ctrl_ret_near;
	if (fn == ctrl_jcc || fn == ctrl_jmp || fn == ctrl_call) {
		/* The target, relative to the block's first instruction. */
		op->disp = (int64_t)(op->off + op->len + op->imm);
		return fn == ctrl_jcc ? ctrl_jcc_fast[op->sub]
		       : fn == ctrl_jmp ? ctrl_jmp_rel : ctrl_call_rel;
	}
	return NULL;
}

void select_block(struct cpu *c, struct op *ops, unsigned n)
{
	(void)c;
	for (unsigned i = 0; i < n; i++) {
		op_exec *x = select_op(&ops[i]);
		if (x)
			ops[i].exec = x;
	}
}
