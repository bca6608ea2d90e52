/*
 * simd_sse: SSE, SSE2 and SSE3 floating point on XMM registers — packed
 * and scalar arithmetic, compares, COMISS/UCOMISS, every CVT*, ADDSUB/HADD/
 * HSUB — plus the FP moves, logic and shuffles, MOVMSKPS/PD, MOVNTI, the
 * fences and the prefetch hints.
 *
 * Intel SDM Vol. 1 10.2.3 (MXCSR), 10.4, 11.4, 12.3, and 11.5 (SIMD
 * floating-point exceptions); Vol. 2 instruction pages.
 *
 * Arithmetic is done one lane at a time by simd_host.c with the guest's RC,
 * DAZ and FZ and every exception masked, which gives each lane's result and
 * its own exception flags. The architectural outcome is then assembled here
 * per Vol. 1 11.5.1, as this host behaves (checked by the differential test):
 *  - if no flag that is unmasked came up, the results are committed and the
 *    union of the lanes' flags is ORed into MXCSR;
 *  - else, if an unmasked pre-computation exception (IE, DE, ZE) occurred in
 *    any lane, only the pre-computation flags of all lanes are set and #XM
 *    is raised (#UD if CR4.OSXMMEXCPT=0), the destination untouched;
 *  - else the post-computation flags are set and #XM raised: a lane that
 *    overflows with OE unmasked reports OE, a lane whose result is tiny with
 *    UE unmasked reports UE (tininess does not need inexactness then, and FZ
 *    does not apply), each with PE only if the result rounded with an
 *    unbounded exponent is inexact; other lanes report their masked flags.
 * Tininess for unmasked UE is found by rerunning the lane with FZ set: the
 * hardware's flush-to-zero raises UE exactly for tiny results.
 *
 * Thread: the vCPU thread owning the state; no locks.
 */
#include "cpu/simd_internal.h"

struct sse_lane {
	enum simd_host_op op;
	uint64_t a, b;                  /* xmm0 and xmm1, low 64 bits */
	uint64_t gpr;                   /* rax, for integer-to-FP conversions */
};

static bool sse_op_int_result(enum simd_host_op op)
{
	switch (op) {
	case SIMD_HOP_CVTSS2SI32: case SIMD_HOP_CVTSS2SI64:
	case SIMD_HOP_CVTTSS2SI32: case SIMD_HOP_CVTTSS2SI64:
	case SIMD_HOP_CVTSD2SI32: case SIMD_HOP_CVTSD2SI64:
	case SIMD_HOP_CVTTSD2SI32: case SIMD_HOP_CVTTSD2SI64:
		return true;
	default:
		return false;
	}
}

static int sse_exception(const struct simd_env *env)
{
	return env->cr4 & SIMD_CR4_OSXMMEXCPT ? SIMD_EXC_XM : SIMD_EXC_UD;
}

/*
 * Runs lanes ln[0..n) together; returns the flags they raised, their results
 * in res[] and the last lane's RFLAGS in *rflags (COMISS has one lane).
 */
static uint32_t sse_lanes_run(const struct sse_lane *ln, unsigned n, uint32_t mxcsr,
			      uint64_t *res, uint64_t *rflags)
{
	struct simd_host_sse h[4];
	enum simd_host_op op[4] = { 0 };
	for (unsigned i = 0; i < n && i < 4; i++) {
		h[i] = (struct simd_host_sse){
			.a = { ln[i].a, 0 }, .b = { ln[i].b, 0 }, .gpr = ln[i].gpr, .mxcsr = mxcsr,
		};
		op[i] = ln[i].op;
	}
	simd_host_sse_run(op, h, n);
	for (unsigned i = 0; res && i < n; i++)
		res[i] = sse_op_int_result(op[i]) ? h[i].gpr : h[i].a[0];
	if (rflags)
		*rflags = h[n - 1].rflags;
	return h[0].mxcsr & MXCSR_FLAGS;
}

/*
 * Runs `n` lanes and decides the outcome (see the file comment). On SIMD_OK
 * the caller commits res[]; otherwise MXCSR already holds the flags the
 * exception reports. With every exception masked — what operating systems
 * run with — all lanes go to the host at once; otherwise one at a time, for
 * each lane's own flags.
 */
static int sse_run(struct simd_state *s, const struct simd_env *env, unsigned n,
		   const struct sse_lane *ln, uint64_t *res, uint64_t *rflags)
{
	uint32_t unmasked = ~(s->mxcsr >> 7) & MXCSR_FLAGS;
	uint32_t f[4], all = 0, pre = 0, post = 0;

	if (!unmasked) {
		s->mxcsr |= sse_lanes_run(ln, n, s->mxcsr, res, rflags);
		return SIMD_OK;
	}
	for (unsigned i = 0; i < n; i++) {
		f[i] = sse_lanes_run(&ln[i], 1, s->mxcsr, &res[i], rflags);
		all |= f[i];
		pre |= f[i] & (MXCSR_IE | MXCSR_DE | MXCSR_ZE);
	}
	if (!(all & unmasked) && !(unmasked & MXCSR_UE)) {
		s->mxcsr |= all;
		return SIMD_OK;
	}
	if (pre & unmasked) {
		s->mxcsr |= pre;
		return sse_exception(env);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t lf = f[i] & (MXCSR_OE | MXCSR_UE | MXCSR_PE);
		if ((unmasked & MXCSR_OE) && (f[i] & MXCSR_OE))
			lf = MXCSR_OE;
		else if ((unmasked & MXCSR_UE) &&
			 (sse_lanes_run(&ln[i], 1, s->mxcsr | MXCSR_FZ, NULL, NULL) & MXCSR_UE))
			lf = MXCSR_UE;
		else {
			post |= lf;
			continue;
		}
		if (simd_host_inexact_unbounded(ln[i].op, ln[i].a, ln[i].b, s->mxcsr))
			lf |= MXCSR_PE;
		post |= lf;
	}
	if (post & unmasked) {
		s->mxcsr |= pre | post;
		return sse_exception(env);
	}
	s->mxcsr |= all;
	return SIMD_OK;
}

static uint64_t vec_elem(const union simd_vec *v, unsigned i, unsigned esz)
{
	return esz == 4 ? v->d[i] : v->q[i];
}

static void vec_set_elem(union simd_vec *v, unsigned i, unsigned esz, uint64_t x)
{
	if (esz == 4)
		v->d[i] = (uint32_t)x;
	else
		v->q[i] = x;
}

/* The XMM register an operand names; masked so a confused caller cannot index out. */
static unsigned xmm_index(const ZydisDecodedOperand *op)
{
	return (unsigned)(op->reg.value - ZYDIS_REGISTER_XMM0) & 15;
}

/* The host operation for a packed or scalar arithmetic mnemonic. */
static bool sse_arith_op(ZydisMnemonic m, enum simd_host_op *op, unsigned *esz, unsigned *count)
{
	static const struct {
		ZydisMnemonic m;
		enum simd_host_op op;
		uint8_t esz, count;
	} tab[] = {
		{ ZYDIS_MNEMONIC_ADDPS, SIMD_HOP_ADDSS, 4, 4 }, { ZYDIS_MNEMONIC_ADDSS, SIMD_HOP_ADDSS, 4, 1 },
		{ ZYDIS_MNEMONIC_ADDPD, SIMD_HOP_ADDSD, 8, 2 }, { ZYDIS_MNEMONIC_ADDSD, SIMD_HOP_ADDSD, 8, 1 },
		{ ZYDIS_MNEMONIC_SUBPS, SIMD_HOP_SUBSS, 4, 4 }, { ZYDIS_MNEMONIC_SUBSS, SIMD_HOP_SUBSS, 4, 1 },
		{ ZYDIS_MNEMONIC_SUBPD, SIMD_HOP_SUBSD, 8, 2 }, { ZYDIS_MNEMONIC_SUBSD, SIMD_HOP_SUBSD, 8, 1 },
		{ ZYDIS_MNEMONIC_MULPS, SIMD_HOP_MULSS, 4, 4 }, { ZYDIS_MNEMONIC_MULSS, SIMD_HOP_MULSS, 4, 1 },
		{ ZYDIS_MNEMONIC_MULPD, SIMD_HOP_MULSD, 8, 2 }, { ZYDIS_MNEMONIC_MULSD, SIMD_HOP_MULSD, 8, 1 },
		{ ZYDIS_MNEMONIC_DIVPS, SIMD_HOP_DIVSS, 4, 4 }, { ZYDIS_MNEMONIC_DIVSS, SIMD_HOP_DIVSS, 4, 1 },
		{ ZYDIS_MNEMONIC_DIVPD, SIMD_HOP_DIVSD, 8, 2 }, { ZYDIS_MNEMONIC_DIVSD, SIMD_HOP_DIVSD, 8, 1 },
		{ ZYDIS_MNEMONIC_MINPS, SIMD_HOP_MINSS, 4, 4 }, { ZYDIS_MNEMONIC_MINSS, SIMD_HOP_MINSS, 4, 1 },
		{ ZYDIS_MNEMONIC_MINPD, SIMD_HOP_MINSD, 8, 2 }, { ZYDIS_MNEMONIC_MINSD, SIMD_HOP_MINSD, 8, 1 },
		{ ZYDIS_MNEMONIC_MAXPS, SIMD_HOP_MAXSS, 4, 4 }, { ZYDIS_MNEMONIC_MAXSS, SIMD_HOP_MAXSS, 4, 1 },
		{ ZYDIS_MNEMONIC_MAXPD, SIMD_HOP_MAXSD, 8, 2 }, { ZYDIS_MNEMONIC_MAXSD, SIMD_HOP_MAXSD, 8, 1 },
		{ ZYDIS_MNEMONIC_SQRTPS, SIMD_HOP_SQRTSS, 4, 4 }, { ZYDIS_MNEMONIC_SQRTSS, SIMD_HOP_SQRTSS, 4, 1 },
		{ ZYDIS_MNEMONIC_SQRTPD, SIMD_HOP_SQRTSD, 8, 2 }, { ZYDIS_MNEMONIC_SQRTSD, SIMD_HOP_SQRTSD, 8, 1 },
		{ ZYDIS_MNEMONIC_RCPPS, SIMD_HOP_RCPSS, 4, 4 }, { ZYDIS_MNEMONIC_RCPSS, SIMD_HOP_RCPSS, 4, 1 },
		{ ZYDIS_MNEMONIC_RSQRTPS, SIMD_HOP_RSQRTSS, 4, 4 },
		{ ZYDIS_MNEMONIC_RSQRTSS, SIMD_HOP_RSQRTSS, 4, 1 },
		{ ZYDIS_MNEMONIC_CMPPS, SIMD_HOP_CMPSS0, 4, 4 }, { ZYDIS_MNEMONIC_CMPSS, SIMD_HOP_CMPSS0, 4, 1 },
		{ ZYDIS_MNEMONIC_CMPPD, SIMD_HOP_CMPSD0, 8, 2 }, { ZYDIS_MNEMONIC_CMPSD, SIMD_HOP_CMPSD0, 8, 1 },
	};
	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (tab[i].m == m) {
			*op = tab[i].op;
			*esz = tab[i].esz;
			*count = tab[i].count;
			return true;
		}
	}
	return false;
}

/*
 * dst[i] = dst[i] OP src[i] for the first `count` lanes; the rest of dst
 * keeps its value (scalar forms). CMPxx take their predicate from imm8[2:0].
 */
static int sse_elementwise(struct simd_state *s, struct simd_env *env,
			   const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
			   enum simd_host_op op, unsigned esz, unsigned count)
{
	union simd_vec *dst = &s->xmm[xmm_index(&ops[0])], b;
	int rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
	if (rc != SIMD_OK)
		return rc;
	if (op == SIMD_HOP_CMPSS0 || op == SIMD_HOP_CMPSD0)
		op += (unsigned)(ops[2].imm.value.u & 7);
	struct sse_lane ln[4] = { 0 };
	uint64_t res[4];
	for (unsigned i = 0; i < count; i++)
		ln[i] = (struct sse_lane){ op, vec_elem(dst, i, esz), vec_elem(&b, i, esz), 0 };
	rc = sse_run(s, env, count, ln, res, NULL);
	if (rc != SIMD_OK)
		return rc;
	for (unsigned i = 0; i < count; i++)
		vec_set_elem(dst, i, esz, res[i]);
	return SIMD_OK;
}

/* ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD. */
static int sse_horizontal(struct simd_state *s, struct simd_env *env,
			  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	union simd_vec *dst = &s->xmm[xmm_index(&ops[0])], b;
	int rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
	if (rc != SIMD_OK)
		return rc;
	struct sse_lane ln[4] = { 0 };
	uint64_t res[4];
	unsigned esz, n;
	ZydisMnemonic m = insn->mnemonic;
	bool ps = m == ZYDIS_MNEMONIC_ADDSUBPS || m == ZYDIS_MNEMONIC_HADDPS ||
		  m == ZYDIS_MNEMONIC_HSUBPS;
	enum simd_host_op add = ps ? SIMD_HOP_ADDSS : SIMD_HOP_ADDSD;
	enum simd_host_op sub = ps ? SIMD_HOP_SUBSS : SIMD_HOP_SUBSD;
	esz = ps ? 4 : 8;
	n = 16 / esz;

	for (unsigned i = 0; i < n; i++) {
		if (m == ZYDIS_MNEMONIC_ADDSUBPS || m == ZYDIS_MNEMONIC_ADDSUBPD) {
			ln[i] = (struct sse_lane){ i & 1 ? add : sub, vec_elem(dst, i, esz),
						   vec_elem(&b, i, esz), 0 };
		} else {
			const union simd_vec *src = i < n / 2 ? dst : &b;
			unsigned j = (i % (n / 2)) * 2;
			bool is_add = m == ZYDIS_MNEMONIC_HADDPS || m == ZYDIS_MNEMONIC_HADDPD;
			ln[i] = (struct sse_lane){ is_add ? add : sub, vec_elem(src, j, esz),
						   vec_elem(src, j + 1, esz), 0 };
		}
	}
	rc = sse_run(s, env, n, ln, res, NULL);
	if (rc != SIMD_OK)
		return rc;
	for (unsigned i = 0; i < n; i++)
		vec_set_elem(dst, i, esz, res[i]);
	return SIMD_OK;
}

/* COMISS, UCOMISS, COMISD, UCOMISD: EFLAGS from one compare. */
static int sse_comis(struct simd_state *s, struct simd_env *env,
		     const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	union simd_vec b;
	int rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
	if (rc != SIMD_OK)
		return rc;
	const union simd_vec *a = &s->xmm[xmm_index(&ops[0])];
	enum simd_host_op op;
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_COMISS: op = SIMD_HOP_COMISS; break;
	case ZYDIS_MNEMONIC_UCOMISS: op = SIMD_HOP_UCOMISS; break;
	case ZYDIS_MNEMONIC_COMISD: op = SIMD_HOP_COMISD; break;
	default: op = SIMD_HOP_UCOMISD; break;
	}
	bool ss = op == SIMD_HOP_COMISS || op == SIMD_HOP_UCOMISS;
	struct sse_lane ln = { op, ss ? a->d[0] : a->q[0], ss ? b.d[0] : b.q[0], 0 };
	uint64_t res, fl;
	rc = sse_run(s, env, 1, &ln, &res, &fl);
	if (rc != SIMD_OK)
		return rc;
	uint64_t rflags = env->get_gpr(env->cpu, ZYDIS_REGISTER_RFLAGS);
	env->set_gpr(env->cpu, ZYDIS_REGISTER_RFLAGS,
		     (rflags & ~SIMD_RFLAGS_ARITH) | (fl & SIMD_RFLAGS_ARITH));
	return SIMD_OK;
}

/* How each CVT instruction maps onto scalar host conversions. */
enum { CVT_INT_SRC = 1, CVT_ZERO_UPPER = 2, CVT_W_SRC = 4, CVT_W_DST = 8 };

struct sse_cvt {
	ZydisMnemonic m;
	enum simd_host_op op, op64;     /* op64: 64-bit integer side (CVT_W_*) */
	uint8_t count, in_esz, out_esz, flags;
};

static const struct sse_cvt sse_cvts[] = {
	{ ZYDIS_MNEMONIC_CVTSS2SD, SIMD_HOP_CVTSS2SD, 0, 1, 4, 8, 0 },
	{ ZYDIS_MNEMONIC_CVTSD2SS, SIMD_HOP_CVTSD2SS, 0, 1, 8, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTPS2PD, SIMD_HOP_CVTSS2SD, 0, 2, 4, 8, 0 },
	{ ZYDIS_MNEMONIC_CVTPD2PS, SIMD_HOP_CVTSD2SS, 0, 2, 8, 4, CVT_ZERO_UPPER },
	{ ZYDIS_MNEMONIC_CVTSI2SS, SIMD_HOP_CVTSI2SS32, SIMD_HOP_CVTSI2SS64, 1, 4, 4,
	  CVT_INT_SRC | CVT_W_SRC },
	{ ZYDIS_MNEMONIC_CVTSI2SD, SIMD_HOP_CVTSI2SD32, SIMD_HOP_CVTSI2SD64, 1, 4, 8,
	  CVT_INT_SRC | CVT_W_SRC },
	{ ZYDIS_MNEMONIC_CVTSS2SI, SIMD_HOP_CVTSS2SI32, SIMD_HOP_CVTSS2SI64, 1, 4, 8, CVT_W_DST },
	{ ZYDIS_MNEMONIC_CVTTSS2SI, SIMD_HOP_CVTTSS2SI32, SIMD_HOP_CVTTSS2SI64, 1, 4, 8, CVT_W_DST },
	{ ZYDIS_MNEMONIC_CVTSD2SI, SIMD_HOP_CVTSD2SI32, SIMD_HOP_CVTSD2SI64, 1, 8, 8, CVT_W_DST },
	{ ZYDIS_MNEMONIC_CVTTSD2SI, SIMD_HOP_CVTTSD2SI32, SIMD_HOP_CVTTSD2SI64, 1, 8, 8, CVT_W_DST },
	{ ZYDIS_MNEMONIC_CVTDQ2PS, SIMD_HOP_CVTSI2SS32, 0, 4, 4, 4, CVT_INT_SRC },
	{ ZYDIS_MNEMONIC_CVTPS2DQ, SIMD_HOP_CVTSS2SI32, 0, 4, 4, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTTPS2DQ, SIMD_HOP_CVTTSS2SI32, 0, 4, 4, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTDQ2PD, SIMD_HOP_CVTSI2SD32, 0, 2, 4, 8, CVT_INT_SRC },
	{ ZYDIS_MNEMONIC_CVTPD2DQ, SIMD_HOP_CVTSD2SI32, 0, 2, 8, 4, CVT_ZERO_UPPER },
	{ ZYDIS_MNEMONIC_CVTTPD2DQ, SIMD_HOP_CVTTSD2SI32, 0, 2, 8, 4, CVT_ZERO_UPPER },
	{ ZYDIS_MNEMONIC_CVTPI2PS, SIMD_HOP_CVTSI2SS32, 0, 2, 4, 4, CVT_INT_SRC },
	{ ZYDIS_MNEMONIC_CVTPI2PD, SIMD_HOP_CVTSI2SD32, 0, 2, 4, 8, CVT_INT_SRC },
	{ ZYDIS_MNEMONIC_CVTPS2PI, SIMD_HOP_CVTSS2SI32, 0, 2, 4, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTTPS2PI, SIMD_HOP_CVTTSS2SI32, 0, 2, 4, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTPD2PI, SIMD_HOP_CVTSD2SI32, 0, 2, 8, 4, 0 },
	{ ZYDIS_MNEMONIC_CVTTPD2PI, SIMD_HOP_CVTTSD2SI32, 0, 2, 8, 4, 0 },
};

static const struct sse_cvt *sse_cvt_find(ZydisMnemonic m)
{
	for (unsigned i = 0; i < sizeof(sse_cvts) / sizeof(sse_cvts[0]); i++)
		if (sse_cvts[i].m == m)
			return &sse_cvts[i];
	return NULL;
}

/*
 * Every CVT instruction. The lanes read `count` elements of `in_esz` bytes
 * from the source; integer sources go through rax, FP ones through xmm1.
 * The 64-bit forms (REX.W) are told by the general register's width.
 */
static int sse_convert(struct simd_state *s, struct simd_env *env,
		       const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		       const struct sse_cvt *cv)
{
	bool r64 = (cv->flags & CVT_W_DST) && ops[0].size == 64;
	bool i64 = (cv->flags & CVT_W_SRC) && ops[1].size == 64;
	enum simd_host_op op = r64 || i64 ? cv->op64 : cv->op;
	unsigned count = cv->count, in_esz = i64 ? 8 : cv->in_esz, out_esz = cv->out_esz;
	bool int_src = cv->flags & CVT_INT_SRC, zero_upper = cv->flags & CVT_ZERO_UPPER;

	union simd_vec b;
	int rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
	if (rc != SIMD_OK)
		return rc;
	struct sse_lane ln[4] = { 0 };
	uint64_t res[4];
	for (unsigned i = 0; i < count; i++) {
		uint64_t x = vec_elem(&b, i, in_esz);
		ln[i] = (struct sse_lane){ op, 0, int_src ? 0 : x, int_src ? x : 0 };
	}
	rc = sse_run(s, env, count, ln, res, NULL);
	if (rc != SIMD_OK)
		return rc;

	ZydisRegister dr = ops[0].reg.value;
	if (!simd_reg_is_xmm(dr) && !simd_reg_is_mm(dr)) {
		env->set_gpr(env->cpu, dr, r64 ? res[0] : (uint32_t)res[0]);
		return SIMD_OK;
	}
	union simd_vec out;
	if (simd_reg_is_mm(dr))
		memset(&out, 0, sizeof(out));
	else
		out = s->xmm[xmm_index(&ops[0])];
	for (unsigned i = 0; i < count; i++)
		vec_set_elem(&out, i, out_esz, res[i]);
	if (zero_upper)
		out.q[1] = 0;
	simd_vec_write_reg(s, dr, &out);
	return SIMD_OK;
}

/* Data movement and bitwise operations: no MXCSR involvement. */
static int sse_move(struct simd_state *s, struct simd_env *env,
		    const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	ZydisMnemonic m = insn->mnemonic;
	union simd_vec b, out;
	int rc;

	/* Stores: the memory operand is first. */
	if (simd_op_is_mem(&ops[0])) {
		if (m == ZYDIS_MNEMONIC_MOVNTI) {
			uint64_t v = env->get_gpr(env->cpu, ops[1].reg.value);
			memset(&out, 0, sizeof(out));
			out.q[0] = v;
			return simd_vec_store(env, insn, &ops[0], &out);
		}
		out = s->xmm[xmm_index(&ops[1])];
		if (m == ZYDIS_MNEMONIC_MOVHPS || m == ZYDIS_MNEMONIC_MOVHPD)
			out.q[0] = out.q[1];
		return simd_vec_store(env, insn, &ops[0], &out);
	}

	rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
	if (rc != SIMD_OK)
		return rc;
	if (m == ZYDIS_MNEMONIC_MOVMSKPS || m == ZYDIS_MNEMONIC_MOVMSKPD) {
		unsigned mask = 0;
		if (m == ZYDIS_MNEMONIC_MOVMSKPS)
			for (unsigned i = 0; i < 4; i++)
				mask |= (b.d[i] >> 31) << i;
		else
			mask = (unsigned)((b.q[0] >> 63) | ((b.q[1] >> 63) << 1));
		env->set_gpr(env->cpu, ops[0].reg.value, mask);
		return SIMD_OK;
	}

	union simd_vec *dst = &s->xmm[xmm_index(&ops[0])];
	const union simd_vec a = *dst;
	bool from_mem = simd_op_is_mem(&ops[1]);
	unsigned imm = insn->operand_count_visible > 2 ? (unsigned)ops[2].imm.value.u : 0;
	out = a;

	switch (m) {
	case ZYDIS_MNEMONIC_MOVAPS: case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVAPD: case ZYDIS_MNEMONIC_MOVUPD:
		out = b;
		break;
	case ZYDIS_MNEMONIC_MOVSS:
		if (from_mem)
			out = b;        /* upper lanes zeroed by the read */
		else
			out.d[0] = b.d[0];
		break;
	case ZYDIS_MNEMONIC_MOVSD:
		if (from_mem)
			out = b;
		else
			out.q[0] = b.q[0];
		break;
	case ZYDIS_MNEMONIC_MOVLPS: case ZYDIS_MNEMONIC_MOVLPD:
		out.q[0] = b.q[0];
		break;
	case ZYDIS_MNEMONIC_MOVHPS: case ZYDIS_MNEMONIC_MOVHPD: case ZYDIS_MNEMONIC_MOVLHPS:
		out.q[1] = b.q[0];
		break;
	case ZYDIS_MNEMONIC_MOVHLPS:
		out.q[0] = b.q[1];
		break;
	case ZYDIS_MNEMONIC_ANDPS: case ZYDIS_MNEMONIC_ANDPD:
		out.q[0] = a.q[0] & b.q[0];
		out.q[1] = a.q[1] & b.q[1];
		break;
	case ZYDIS_MNEMONIC_ANDNPS: case ZYDIS_MNEMONIC_ANDNPD:
		out.q[0] = ~a.q[0] & b.q[0];
		out.q[1] = ~a.q[1] & b.q[1];
		break;
	case ZYDIS_MNEMONIC_ORPS: case ZYDIS_MNEMONIC_ORPD:
		out.q[0] = a.q[0] | b.q[0];
		out.q[1] = a.q[1] | b.q[1];
		break;
	case ZYDIS_MNEMONIC_XORPS: case ZYDIS_MNEMONIC_XORPD:
		out.q[0] = a.q[0] ^ b.q[0];
		out.q[1] = a.q[1] ^ b.q[1];
		break;
	case ZYDIS_MNEMONIC_UNPCKLPS:
		out.d[0] = a.d[0]; out.d[1] = b.d[0]; out.d[2] = a.d[1]; out.d[3] = b.d[1];
		break;
	case ZYDIS_MNEMONIC_UNPCKHPS:
		out.d[0] = a.d[2]; out.d[1] = b.d[2]; out.d[2] = a.d[3]; out.d[3] = b.d[3];
		break;
	case ZYDIS_MNEMONIC_UNPCKLPD:
		out.q[0] = a.q[0]; out.q[1] = b.q[0];
		break;
	case ZYDIS_MNEMONIC_UNPCKHPD:
		out.q[0] = a.q[1]; out.q[1] = b.q[1];
		break;
	case ZYDIS_MNEMONIC_SHUFPS:
		out.d[0] = a.d[imm & 3];
		out.d[1] = a.d[(imm >> 2) & 3];
		out.d[2] = b.d[(imm >> 4) & 3];
		out.d[3] = b.d[(imm >> 6) & 3];
		break;
	case ZYDIS_MNEMONIC_SHUFPD:
		out.q[0] = a.q[imm & 1];
		out.q[1] = b.q[(imm >> 1) & 1];
		break;
	case ZYDIS_MNEMONIC_MOVSLDUP:
		out.d[0] = out.d[1] = b.d[0];
		out.d[2] = out.d[3] = b.d[2];
		break;
	case ZYDIS_MNEMONIC_MOVSHDUP:
		out.d[0] = out.d[1] = b.d[1];
		out.d[2] = out.d[3] = b.d[3];
		break;
	case ZYDIS_MNEMONIC_MOVDDUP:
		out.q[0] = out.q[1] = b.q[0];
		break;
	default:
		return SIMD_EXC_UD;
	}
	*dst = out;
	return SIMD_OK;
}

int simd_sse_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	ZydisMnemonic m = insn->mnemonic;
	enum simd_host_op op;
	unsigned esz, count;

	switch (m) {
	case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE:
		/* Other vCPUs are host threads: order this one's host accesses. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return SIMD_OK;
	case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_PREFETCHNTA:
		return SIMD_OK;         /* a hint: no access, no fault */
	case ZYDIS_MNEMONIC_COMISS: case ZYDIS_MNEMONIC_UCOMISS:
	case ZYDIS_MNEMONIC_COMISD: case ZYDIS_MNEMONIC_UCOMISD:
		return sse_comis(s, env, insn, ops);
	case ZYDIS_MNEMONIC_ADDSUBPS: case ZYDIS_MNEMONIC_ADDSUBPD:
	case ZYDIS_MNEMONIC_HADDPS: case ZYDIS_MNEMONIC_HADDPD:
	case ZYDIS_MNEMONIC_HSUBPS: case ZYDIS_MNEMONIC_HSUBPD:
		return sse_horizontal(s, env, insn, ops);
	default:
		break;
	}
	const struct sse_cvt *cv = sse_cvt_find(m);
	if (cv)
		return sse_convert(s, env, insn, ops, cv);
	if (sse_arith_op(m, &op, &esz, &count))
		return sse_elementwise(s, env, insn, ops, op, esz, count);
	return sse_move(s, env, insn, ops);
}
