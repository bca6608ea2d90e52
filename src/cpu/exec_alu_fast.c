/*
 * exec_alu_fast: the threaded forms (fast.h) of the integer ALU
 * instructions of exec_alu.c (Intel SDM Vol. 2: ADD, OR, ADC, SBB, AND,
 * SUB, XOR, CMP, TEST, INC, DEC), specialised at compile time by ALU kind,
 * operand size (8, 4, or any taken from the op) and operand kinds, so the
 * hot path has no dispatch left: register or immediate into a register, a
 * memory source into a register, an unlocked read-modify-write (or CMP,
 * TEST) of memory.
 *
 * Each form comes in the four variants of exec.h (FAST_V_*): with or
 * without recording its flags, and alone or fused with the Jcc after it.
 * A fused form decides the branch from its operands - CF, ZF, SF and OF of
 * a SUB, ADD or logic operation with the normalised values of flags.c -
 * without reading back the lazy flags. The reference handlers are
 * alu_arith, alu_test, alu_inc and alu_dec.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

/* The condition cc after ALU kind computed r from a and b (size bytes). */
CPU_INLINE bool alu_cond(unsigned kind, unsigned size, unsigned cc, uint64_t a, uint64_t b,
			 uint64_t r)
{
	unsigned sh = 64 - 8 * size;
	a <<= sh;
	b <<= sh;
	r <<= sh;
	switch (kind) {
	case ALU_ADD: return flags_cond_add(cc, a, b, r);
	case ALU_SUB: case ALU_CMP: return flags_cond_sub(cc, a, b, r);
	default: return flags_cond_logic(cc, r);        /* AND, OR, XOR, TEST */
	}
}

/*
 * The condition pair cc >> 1 (not P) after a SUB/CMP of a - b = r (size bytes),
 * the pair known at compile time: each is one compare of the normalised
 * operands, where the generic alu_cond works out all four flags.
 */
CPU_INLINE bool alu_cond_sub_pair(unsigned pair, unsigned size, uint64_t a, uint64_t b,
				  uint64_t r)
{
	unsigned sh = 64 - 8 * size;
	a <<= sh;
	b <<= sh;
	r <<= sh;
	switch (pair) {
	case 0: return ((a ^ b) & (a ^ r)) >> 63;               /* O */
	case 1: return a < b;                                   /* B */
	case 2: return a == b;                                  /* Z */
	case 3: return a <= b;                                  /* BE */
	case 4: return r >> 63;                                 /* S */
	case 6: return (int64_t)a < (int64_t)b;                 /* L: SF != OF */
	default: return (int64_t)a <= (int64_t)b;               /* LE */
	}
}

/* The end of every form: flags by variant, then the next op or the branch
 * of the fused Jcc. ADC/SBB are never fused (select.c). pair is the Jcc's
 * condition pair when the form is specialised for it (SUB, CMP), else -1. */
CPU_INLINE const struct op *
alu_tail(struct cpu *c, const struct op *op, unsigned v, unsigned kind, unsigned size,
	 uint64_t a, uint64_t b, uint64_t r, uint64_t cf, int pair)
{
	if (v == FAST_V_PLAIN || v == FAST_V_JCC)
		alu_flags(c, kind, size, r, b, cf);
	if (v == FAST_V_PLAIN || v == FAST_V_NF)
		FAST_NEXT(c, op);
	bool taken = pair >= 0 ? alu_cond_sub_pair((unsigned)pair, size, a, b, r) ^ (op[1].sub & 1)
			       : alu_cond(kind, size, op[1].sub, a, b, r);
	if (v == FAST_V_JCC_NF && taken)
		alu_flags(c, kind, size, r, b, cf);
	return fast_branch(c, op + 1, taken);
}

CPU_INLINE uint64_t alu_cf_in(struct cpu *c, unsigned kind)
{
	return (kind == ALU_ADC || kind == ALU_SBB) ? flags_cf(c) : 0;
}

CPU_INLINE bool alu_writes(unsigned kind)
{
	return kind != ALU_CMP && kind != ALU_TEST;
}

/* op0 a register, op1 the value b (register, immediate or memory). */
CPU_INLINE const struct op *
alu_reg(struct cpu *c, const struct op *op, unsigned v, unsigned kind, unsigned size, uint64_t b,
	int pair)
{
	uint64_t a = cpu_reg_get(c, op->r[0], size), cf = alu_cf_in(c, kind);
	uint64_t r = alu_result(kind, a, b, cf);
	if (alu_writes(kind))
		cpu_reg_set(c, op->r[0], size, r);
	return alu_tail(c, op, v, kind, size, a, b, r, cf, pair);
}

/* op0 memory, op1 a register or an immediate. */
CPU_INLINE const struct op *
alu_mem(struct cpu *c, const struct op *op, unsigned v, unsigned kind, unsigned size, bool imm,
	int pair)
{
	uint64_t b = imm ? op->imm & cpu_mask(size) : cpu_reg_get(c, op->r[1], size);
	if (!alu_writes(kind)) {
		const uint8_t *p = fast_rptr(c, op, size);
		if (unlikely(!p))
			FAST_REF(c, op);
		uint64_t a = cpu_load_host(p, size);
		return alu_tail(c, op, v, kind, size, a, b, alu_result(kind, a, b, 0), 0, pair);
	}
	uint8_t *p = fast_wptr(c, op, size);
	if (unlikely(!p))
		FAST_REF(c, op);
	uint64_t a = cpu_load_host(p, size), cf = alu_cf_in(c, kind);
	uint64_t r = alu_result(kind, a, b, cf);
	cpu_store_host(p, size, r);
	return alu_tail(c, op, v, kind, size, a, b, r, cf, pair);
}

CPU_INLINE const struct op *
alu_rm(struct cpu *c, const struct op *op, unsigned v, unsigned kind, unsigned size, int pair)
{
	const uint8_t *p = fast_rptr(c, op, size);
	if (unlikely(!p))
		FAST_REF(c, op);
	return alu_reg(c, op, v, kind, size, cpu_load_host(p, size), pair);
}

/* One function per (variant, kind, form, size): V variant, K kind, N its
 * name, F form, SZ size expression, S name suffix. */
#define ALU_FN(V, K, N, F, SZ, S, BODY)                                        \
	static const struct op *alu_##N##_##F##S##_##V(struct cpu *c,          \
						       const struct op *op)    \
	{                                                                      \
		const unsigned v = FAST_V_##V, size = SZ;                      \
		BODY;                                                          \
	}
#define ALU_SIZES(V, K, N, F, BODY)                                            \
	ALU_FN(V, K, N, F, 8, 8, BODY)                                         \
	ALU_FN(V, K, N, F, 4, 4, BODY)                                         \
	ALU_FN(V, K, N, F, op->size, , BODY)
#define ALU_FORMS_OF(V, K, N, P)                                               \
	ALU_SIZES(V, K, N, rr, return alu_reg(c, op, v, K, size,               \
					      cpu_reg_get(c, op->r[1], size), P)) \
	ALU_SIZES(V, K, N, ri, return alu_reg(c, op, v, K, size,               \
					      op->imm & cpu_mask(size), P))    \
	ALU_SIZES(V, K, N, rm, return alu_rm(c, op, v, K, size, P))            \
	ALU_SIZES(V, K, N, mr, return alu_mem(c, op, v, K, size, false, P))    \
	ALU_SIZES(V, K, N, mi, return alu_mem(c, op, v, K, size, true, P))
#define ALU_VARIANT(V, K, N) ALU_FORMS_OF(V, K, N, -1)
#define ALU_KIND(K, N)                                                         \
	ALU_VARIANT(PLAIN, K, N) ALU_VARIANT(NF, K, N)                         \
	ALU_VARIANT(JCC, K, N) ALU_VARIANT(JCC_NF, K, N)
#define ALU_KIND_UNFUSED(K, N) ALU_VARIANT(PLAIN, K, N) ALU_VARIANT(NF, K, N)

ALU_KIND(ALU_ADD, add)
ALU_KIND(ALU_OR, or)
ALU_KIND_UNFUSED(ALU_ADC, adc)
ALU_KIND_UNFUSED(ALU_SBB, sbb)
ALU_KIND(ALU_AND, and)
ALU_KIND(ALU_SUB, sub)
ALU_KIND(ALU_XOR, xor)
ALU_KIND(ALU_CMP, cmp)
ALU_KIND(ALU_TEST, test)

/* The table: sizes in a row, then kinds, forms and variants. ADC and SBB
 * have no fused variants. */
#define ALU_ROW(V, N, F) { alu_##N##_##F##8_##V, alu_##N##_##F##4_##V, alu_##N##_##F##_##V }
#define ALU_NONE(V, N, F) { NULL, NULL, NULL }
#define ALU_KINDS(V, F, CARRY)                                                 \
	{ [ALU_ADD] = ALU_ROW(V, add, F), [ALU_OR] = ALU_ROW(V, or, F),        \
	  [ALU_ADC] = CARRY(V, adc, F), [ALU_SBB] = CARRY(V, sbb, F),          \
	  [ALU_AND] = ALU_ROW(V, and, F), [ALU_SUB] = ALU_ROW(V, sub, F),      \
	  [ALU_XOR] = ALU_ROW(V, xor, F), [ALU_CMP] = ALU_ROW(V, cmp, F),      \
	  [ALU_TEST] = ALU_ROW(V, test, F) }
#define ALU_FORMS(V, CARRY)                                                    \
	{ [ALU_F_RR] = ALU_KINDS(V, rr, CARRY), [ALU_F_RI] = ALU_KINDS(V, ri, CARRY), \
	  [ALU_F_RM] = ALU_KINDS(V, rm, CARRY), [ALU_F_MR] = ALU_KINDS(V, mr, CARRY), \
	  [ALU_F_MI] = ALU_KINDS(V, mi, CARRY) }
op_exec *const alu_fast[FAST_V_COUNT][ALU_FORM_COUNT][9][3] = {
	[FAST_V_PLAIN] = ALU_FORMS(PLAIN, ALU_ROW),
	[FAST_V_NF] = ALU_FORMS(NF, ALU_ROW),
	[FAST_V_JCC] = ALU_FORMS(JCC, ALU_NONE),
	[FAST_V_JCC_NF] = ALU_FORMS(JCC_NF, ALU_NONE),
};

/*
 * SUB and CMP fused with a Jcc, also specialised by the Jcc's condition
 * pair (cc >> 1; P/NP are never fused): CMP + Jcc is the commonest pair in
 * compiled loops, and a known condition is a single compare.
 */
#define CMP_PAIR(V, K, N, P) ALU_FORMS_OF(V, K, N##_p##P, P)
#define CMP_PAIRS(V, K, N)                                                     \
	CMP_PAIR(V, K, N, 0) CMP_PAIR(V, K, N, 1) CMP_PAIR(V, K, N, 2)         \
	CMP_PAIR(V, K, N, 3) CMP_PAIR(V, K, N, 4) CMP_PAIR(V, K, N, 6)         \
	CMP_PAIR(V, K, N, 7)
CMP_PAIRS(JCC, ALU_SUB, sub)
CMP_PAIRS(JCC_NF, ALU_SUB, sub)
CMP_PAIRS(JCC, ALU_CMP, cmp)
CMP_PAIRS(JCC_NF, ALU_CMP, cmp)

#define CMP_SIZES(V, N, F, P) { alu_##N##_p##P##_##F##8_##V, alu_##N##_p##P##_##F##4_##V, \
				alu_##N##_p##P##_##F##_##V }
#define CMP_FORM(V, N, F)                                                      \
	{ CMP_SIZES(V, N, F, 0), CMP_SIZES(V, N, F, 1), CMP_SIZES(V, N, F, 2), \
	  CMP_SIZES(V, N, F, 3), CMP_SIZES(V, N, F, 4), { NULL, NULL, NULL },  \
	  CMP_SIZES(V, N, F, 6), CMP_SIZES(V, N, F, 7) }
#define CMP_VARIANT(V, N)                                                      \
	{ [ALU_F_RR] = CMP_FORM(V, N, rr), [ALU_F_RI] = CMP_FORM(V, N, ri),    \
	  [ALU_F_RM] = CMP_FORM(V, N, rm), [ALU_F_MR] = CMP_FORM(V, N, mr),    \
	  [ALU_F_MI] = CMP_FORM(V, N, mi) }
op_exec *const alu_sub_jcc_fast[2][2][ALU_FORM_COUNT][8][3] = {
	{ CMP_VARIANT(JCC, sub), CMP_VARIANT(JCC_NF, sub) },
	{ CMP_VARIANT(JCC, cmp), CMP_VARIANT(JCC_NF, cmp) },
};

/*
 * INC/DEC of a register: CF is left alone, so recording the flags needs
 * the old CF (flags_cf). Fused, they are ADD/SUB of one for the condition,
 * which select.c only allows when it does not read CF.
 */
CPU_INLINE const struct op *
alu_incdec(struct cpu *c, const struct op *op, unsigned v, bool dec, unsigned size)
{
	uint64_t a = cpu_reg_get(c, op->r[0], size), r = dec ? a - 1 : a + 1;
	bool store = v == FAST_V_PLAIN || v == FAST_V_JCC;
	uint64_t cf = store ? flags_cf(c) : 0;
	cpu_reg_set(c, op->r[0], size, r);
	if (store)
		flags_lazy(c, CC_OP(dec ? CC_DEC : CC_INC, size), r, 1, cf);
	if (v == FAST_V_PLAIN || v == FAST_V_NF)
		FAST_NEXT(c, op);
	bool taken = alu_cond(dec ? ALU_SUB : ALU_ADD, size, op[1].sub, a, 1, r);
	if (v == FAST_V_JCC_NF && taken)
		flags_lazy(c, CC_OP(dec ? CC_DEC : CC_INC, size), r, 1, flags_cf(c));
	return fast_branch(c, op + 1, taken);
}

#define INCDEC_FN(V, N, DEC, SZ, S)                                            \
	static const struct op *alu_##N##_r##S##_##V(struct cpu *c, const struct op *op) \
	{                                                                      \
		return alu_incdec(c, op, FAST_V_##V, DEC, SZ);                 \
	}
#define INCDEC_VARIANT(V, N, DEC)                                              \
	INCDEC_FN(V, N, DEC, 8, 8) INCDEC_FN(V, N, DEC, 4, 4)                  \
	INCDEC_FN(V, N, DEC, op->size, )
#define INCDEC(N, DEC)                                                         \
	INCDEC_VARIANT(PLAIN, N, DEC) INCDEC_VARIANT(NF, N, DEC)               \
	INCDEC_VARIANT(JCC, N, DEC) INCDEC_VARIANT(JCC_NF, N, DEC)
INCDEC(inc, false)
INCDEC(dec, true)

#define INCDEC_ROW(V, N) { alu_##N##_r8_##V, alu_##N##_r4_##V, alu_##N##_r_##V }
#define INCDEC_VARIANTS(N)                                                     \
	{ INCDEC_ROW(PLAIN, N), INCDEC_ROW(NF, N), INCDEC_ROW(JCC, N),         \
	  INCDEC_ROW(JCC_NF, N) }
op_exec *const alu_incdec_fast[2][FAST_V_COUNT][3] = { INCDEC_VARIANTS(inc),
						       INCDEC_VARIANTS(dec) };
