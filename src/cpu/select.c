/*
 * select: instruction selection for decoded blocks. decode.c binds every
 * instruction to its reference handler (struct op.fn); this pass picks the
 * threaded handler (struct op.exec, fast.h) each op runs through: a form
 * specialised for its operand kinds and size when one exists, else
 * emu_exec_ref, which runs the reference handler.
 *
 * Two facts about the block refine the choice:
 *  - flag liveness (SDM Vol. 1 3.4.3): walking the block backwards, a flag
 *    is dead after an op when a later op sets it before anything reads it.
 *    A flag-setting form whose flags are all dead need not record them
 *    (FAST_V_NF). Where the block may be left - an op that can fault, a
 *    branch, the end - every flag is live, so an exception handler or the
 *    next block always sees exact RFLAGS;
 *  - a CMP, TEST, ADD, SUB, AND, OR, XOR, INC or DEC followed by a Jcc
 *    becomes one op (FAST_V_JCC): the Jcc is decided from the operands.
 *    The Jcc keeps its own op, which still counts as an instruction and
 *    serves when the fused form hands over to reference handlers.
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

/* The ALU form of op (ALU_F_*), or -1. */
static int select_alu_form(const struct op *op)
{
	switch (KK(op->k[0], op->k[1])) {
	case KK(K_REG, K_REG): return ALU_F_RR;
	case KK(K_REG, K_IMM): return ALU_F_RI;
	case KK(K_REG, K_MEM): return ALU_F_RM;
	case KK(K_MEM, K_REG): return ALU_F_MR;
	case KK(K_MEM, K_IMM): return ALU_F_MI;
	default: return -1;
	}
}

/* Flags condition code cc reads (SDM Vol. 1 Table B-1). */
static uint16_t select_cc_reads(unsigned cc)
{
	static const uint16_t reads[8] = {
		FL_OF, FL_CF, FL_ZF, FL_CF | FL_ZF, FL_SF, FL_PF, FL_SF | FL_OF,
		FL_ZF | FL_SF | FL_OF,
	};
	return reads[(cc >> 1) & 7];
}

/* What an op does with the arithmetic flags, for the liveness pass. */
struct select_flags {
	uint16_t reads;                 /* flags it needs */
	uint16_t writes;                /* flags it always sets */
	uint16_t clobbers;              /* flags it may set (a superset of writes) */
	bool barrier;                   /* may fault or leave: all flags live before it */
};

/* An ALU-family op's kind for the fast tables (ALU_TEST for TEST), or -1. */
static int select_alu_kind(const struct op *op)
{
	if (op->fn == alu_arith)
		return op->sub;
	return op->fn == alu_test ? ALU_TEST : -1;
}

/* The row of shift_fast for a SHL/SHR/SAR of a register, or -1. */
static int select_shift_kind(const struct op *op)
{
	if (op->fn != shift_op || op->k[0] != K_REG)
		return -1;
	switch (op->sub) {
	case SH_SHL: return 0;
	case SH_SHR: return 1;
	case SH_SAR: return 2;
	default: return -1;
	}
}

/* live: the flags live after op. Conservative for anything not listed:
 * reference handlers read every flag and may fault. */
static struct select_flags select_flags_of(const struct op *op, uint16_t live)
{
	struct select_flags f = { .reads = FL_ARITH, .barrier = true };
	bool mem = op->k[0] == K_MEM || op->k[1] == K_MEM;
	op_fn *fn = op->fn;
	int kind = select_alu_kind(op);
	if (kind >= 0) {
		f.reads = (kind == ALU_ADC || kind == ALU_SBB) ? FL_CF : 0;
		f.writes = FL_ARITH;
		f.barrier = mem || (op->flags & OPF_LOCK);
	} else if (fn == alu_inc || fn == alu_dec) {
		/* Recording INC/DEC flags takes the old CF along. */
		f.writes = FL_ARITH & ~FL_CF;
		f.reads = (live & f.writes) ? FL_CF : 0;
		f.barrier = mem;
	} else if (select_shift_kind(op) >= 0) {
		/* A count of zero (only possible from CL) changes no flags. */
		unsigned cnt = (unsigned)op->imm & (op->size == 8 ? 0x3f : 0x1f);
		f.reads = 0;
		f.writes = op->k[1] == K_IMM && cnt ? FL_ARITH : 0;
		f.clobbers = FL_ARITH;
		f.barrier = false;
	} else if (fn == shift_op && (op->sub == SH_ROL || op->sub == SH_ROR)) {
		/* Rotates set CF and OF (a count of zero: none) and pass the
		 * other flags through. */
		unsigned cnt = (unsigned)op->imm & (op->size == 8 ? 0x3f : 0x1f);
		f.reads = 0;
		f.writes = op->k[1] == K_IMM && cnt ? FL_CF | FL_OF : 0;
		f.clobbers = FL_CF | FL_OF;
		f.barrier = mem;
	} else if (fn == muldiv_imul || fn == muldiv_mul) {
		f.reads = 0;
		f.writes = FL_ARITH;
		f.barrier = mem;
	} else if (fn == mov_mov || fn == mov_lea || fn == mov_movzx || fn == mov_movsx) {
		f.reads = 0;
		f.barrier = mem;
	} else if (fn == mov_cmov) {
		f.reads = select_cc_reads(op->sub);
		f.barrier = mem;
	} else if (fn == ctrl_jcc) {
		f.reads = select_cc_reads(op->sub);
	}
	if (!f.clobbers)
		f.clobbers = f.writes;
	return f;
}

/* The threaded form of a flag-setting op in variant v, or NULL. */
static op_exec *select_flagged(const struct op *op, unsigned v)
{
	int kind = select_alu_kind(op);
	if (kind >= 0) {
		int form = select_alu_form(op);
		if (form < 0 || (op->flags & OPF_LOCK))
			return NULL;
		if (kind == ALU_TEST && form == ALU_F_RM)
			return NULL;
		/* Fused, op[1] is the Jcc (select_fusable). */
		if ((kind == ALU_SUB || kind == ALU_CMP) && (v == FAST_V_JCC || v == FAST_V_JCC_NF))
			return alu_sub_jcc_fast[kind == ALU_CMP][v - FAST_V_JCC][form]
					       [op[1].sub >> 1][select_size(op)];
		return alu_fast[v][form][kind][select_size(op)];
	}
	if ((op->fn == alu_inc || op->fn == alu_dec) && op->k[0] == K_REG)
		return alu_incdec_fast[op->fn == alu_dec][v][select_size(op)];
	if (v != FAST_V_PLAIN && v != FAST_V_NF)
		return NULL;
	unsigned nf = v == FAST_V_NF;
	int sh = select_shift_kind(op);
	if (sh >= 0)
		return shift_fast[nf][sh][select_size(op)];
	if (op->fn == muldiv_imul)
		return muldiv_imul_fast[nf][op->k[1] == K_MEM];
	if (op->fn == muldiv_mul && op->size >= 4)
		return muldiv_mul_fast[nf][op->k[0] == K_MEM];
	return NULL;
}

/* Can op, a flag setter, be fused with the Jcc j after it? */
static bool select_fusable(const struct op *op, const struct op *j)
{
	if (j->fn != ctrl_jcc || (j->sub >> 1) == 5)            /* not P/NP */
		return false;
	int kind = select_alu_kind(op);
	if (op->fn == alu_inc || op->fn == alu_dec)
		return !(select_cc_reads(j->sub) & FL_CF);     /* CF is the old one */
	return kind >= 0 && kind != ALU_ADC && kind != ALU_SBB;
}

static op_exec *select_mov(const struct op *op)
{
	unsigned sz = op->size == 8 ? 0 : op->size == 4 ? 1 : op->size == 2 ? 2 : 3;
	switch (KK(op->k[0], op->k[1])) {
	case KK(K_REG, K_REG): return mov_fast[MOV_F_RR][sz];
	case KK(K_REG, K_IMM): return mov_fast[MOV_F_RI][sz];
	case KK(K_REG, K_MEM): return mov_fast[MOV_F_LOAD][sz];
	case KK(K_MEM, K_REG): return mov_fast[MOV_F_STORE][sz];
	case KK(K_MEM, K_IMM): return mov_fast[MOV_F_STOREI][sz];
	default: return NULL;
	}
}

/* The threaded form for an op that sets no flags (or sets them through
 * its reference semantics only), or NULL for the reference handler. */
static op_exec *select_other(struct op *op)
{
	op_fn *fn = op->fn;
	unsigned k0 = op->k[0], k1 = op->k[1];

	if (fn == mov_mov)
		return select_mov(op);
	if (fn == mov_movzx || fn == mov_movsx) {
		if (k1 == K_REG)
			return fn == mov_movzx ? mov_movzx_r : mov_movsx_r;
		if (op->size >= 4 && fn == mov_movsx)
			return mov_movsx_m;
		if (op->size >= 4)
			return op->size2 == 1 ? mov_movzx_m1 : mov_movzx_m2;
		return NULL;
	}
	if (fn == mov_lea)
		return op->size == 8 ? mov_lea8 : op->size == 4 ? mov_lea4 : NULL;
	if (fn == mov_cmov && k1 == K_REG)
		return mov_cmov_rr;
	if (fn == stack_push && k0 == K_REG)
		return stack_push_r;
	if (fn == stack_pop && k0 == K_REG)
		return stack_pop_r;
	if (fn == ctrl_ret)
		return ctrl_ret_near;
	if (fn == ctrl_jcc)
		return ctrl_jcc_fast[op->sub];
	if (fn == ctrl_jmp)
		return ctrl_jmp_rel;
	if (fn == ctrl_call)
		return ctrl_call_rel;
	return NULL;
}

void select_block(struct cpu *c, struct op *ops, unsigned n)
{
	(void)c;
	uint16_t live_after[n > 0 ? n : 1];
	uint16_t live = FL_ARITH;               /* the end: the next block may read any */
	for (unsigned i = n; i-- > 0;) {
		struct op *op = &ops[i];
		if (op->fn == ctrl_jcc || op->fn == ctrl_jmp || op->fn == ctrl_call) {
			/* The target, relative to the block's first instruction. */
			op->disp = (int64_t)(op->off + op->len + op->imm);
		}
		live_after[i] = live;
		struct select_flags f = select_flags_of(op, live);
		live = f.barrier ? FL_ARITH : (uint16_t)((live & ~f.writes) | f.reads);
	}
	for (unsigned i = 0; i < n; i++) {
		struct op *op = &ops[i];
		struct select_flags f = select_flags_of(op, live_after[i]);
		op_exec *x = NULL;
		if (f.clobbers) {
			bool fuse = i + 1 < n && select_fusable(op, &ops[i + 1]);
			/* Fused, the flags only matter where the Jcc falls through. */
			uint16_t live_on = fuse ? live_after[i + 1] : live_after[i];
			bool dead = !(live_on & f.clobbers);
			unsigned v = fuse ? (dead ? FAST_V_JCC_NF : FAST_V_JCC)
				     : (dead ? FAST_V_NF : FAST_V_PLAIN);
			x = select_flagged(op, v);
			op->fv = (uint8_t)v;
		}
		if (!x)
			x = select_other(op);
		if (x)
			op->exec = x;
	}
}
