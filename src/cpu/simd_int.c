/*
 * simd_int: packed-integer SIMD — MMX, the SSE additions to MMX (PAVGB,
 * PSHUFW, PMOVMSKB, MASKMOVQ, ...), the SSE2 128-bit integer forms and
 * SSSE3 — plus the MMX/XMM integer moves (MOVD, MOVQ, MOVDQA, MOVDQU,
 * LDDQU, MOVNTQ, MOVNTDQ, MOVQ2DQ, MOVDQ2Q) and EMMS.
 *
 * Intel SDM Vol. 1 chapters 9 (MMX), 10.4.4 (SSE 64-bit integer), 11.4.3
 * (SSE2 integer), 12.9 (SSSE3); Vol. 2 instruction pages. Integer results
 * are fully specified by the manuals, so they are computed here in portable
 * C; every operation is written once over 8- or 16-byte vectors and serves
 * both the MMX and the XMM form. The x87-to-MMX transition (TOP = 0, tags
 * valid) is applied by simd.c for every form with an MMX register operand.
 *
 * Thread: the vCPU thread owning the state; no locks.
 */
#include "cpu/simd_internal.h"

static int8_t sat8s(int32_t v) { return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v; }
static uint8_t sat8u(int32_t v) { return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v; }
static int16_t sat16s(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }
static uint16_t sat16u(int32_t v) { return v > 65535 ? 65535 : v < 0 ? 0 : (uint16_t)v; }

/* PSLL/PSRL/PSRA on `esz`-byte elements; counts past the width saturate. */
static void int_shift(union simd_vec *r, unsigned n, unsigned esz, uint64_t count, int kind)
{
	unsigned bits = esz * 8;
	for (unsigned i = 0; i < n / esz; i++) {
		uint64_t v = 0;
		memcpy(&v, r->b + i * esz, esz);
		if (kind == 0)          /* left */
			v = count >= bits ? 0 : v << count;
		else if (kind == 1)     /* logical right */
			v = count >= bits ? 0 : v >> count;
		else {                  /* arithmetic right */
			unsigned c = count >= bits ? bits - 1 : (unsigned)count;
			int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
			v = (uint64_t)(sv >> c);
		}
		memcpy(r->b + i * esz, &v, esz);
	}
}

/* PUNPCKLxx and PUNPCKHxx: interleave the low or high halves of a and b. */
static void int_unpack(union simd_vec *r, const union simd_vec *a, const union simd_vec *b,
		       unsigned n, unsigned esz, bool high)
{
	union simd_vec t = { 0 };
	unsigned base = high ? n / 2 : 0;
	for (unsigned i = 0; i < n / 2 / esz; i++) {
		memcpy(t.b + 2 * i * esz, a->b + base + i * esz, esz);
		memcpy(t.b + (2 * i + 1) * esz, b->b + base + i * esz, esz);
	}
	*r = t;
}

/*
 * PHADD/PHSUB family: the first half of the result from pairs of a, the
 * second from pairs of b. `op` 0: add, 1: sub, 2: add saturating, 3: sub
 * saturating; `esz` 2 or 4.
 */
static void int_horizontal(union simd_vec *r, const union simd_vec *a, const union simd_vec *b,
			   unsigned n, unsigned esz, int op)
{
	union simd_vec t = { 0 };
	unsigned pairs = n / esz / 2;
	for (unsigned i = 0; i < 2 * pairs; i++) {
		const union simd_vec *src = i < pairs ? a : b;
		unsigned j = (i % pairs) * 2;
		if (esz == 2) {
			int32_t x = src->sw[j], y = src->sw[j + 1];
			int32_t v = op & 1 ? x - y : x + y;
			t.w[i] = op & 2 ? (uint16_t)sat16s(v) : (uint16_t)v;
		} else {
			uint32_t x = src->d[j], y = src->d[j + 1];
			t.d[i] = op & 1 ? x - y : x + y;
		}
	}
	*r = t;
}

/*
 * r = a OP b for the two-operand (and immediate) forms. `a` is the
 * destination's old value, `n` the vector width in bytes.
 */
static void int_binop(ZydisMnemonic m, unsigned n, union simd_vec *r, const union simd_vec *a,
		      const union simd_vec *b, uint8_t imm)
{
	union simd_vec t = *a;
	unsigned i;

	switch (m) {
	case ZYDIS_MNEMONIC_PADDB: for (i = 0; i < n; i++) t.b[i] = (uint8_t)(a->b[i] + b->b[i]); break;
	case ZYDIS_MNEMONIC_PADDW: for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)(a->w[i] + b->w[i]); break;
	case ZYDIS_MNEMONIC_PADDD: for (i = 0; i < n / 4; i++) t.d[i] = a->d[i] + b->d[i]; break;
	case ZYDIS_MNEMONIC_PADDQ: for (i = 0; i < n / 8; i++) t.q[i] = a->q[i] + b->q[i]; break;
	case ZYDIS_MNEMONIC_PSUBB: for (i = 0; i < n; i++) t.b[i] = (uint8_t)(a->b[i] - b->b[i]); break;
	case ZYDIS_MNEMONIC_PSUBW: for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)(a->w[i] - b->w[i]); break;
	case ZYDIS_MNEMONIC_PSUBD: for (i = 0; i < n / 4; i++) t.d[i] = a->d[i] - b->d[i]; break;
	case ZYDIS_MNEMONIC_PSUBQ: for (i = 0; i < n / 8; i++) t.q[i] = a->q[i] - b->q[i]; break;
	case ZYDIS_MNEMONIC_PADDSB: for (i = 0; i < n; i++) t.sb[i] = sat8s(a->sb[i] + b->sb[i]); break;
	case ZYDIS_MNEMONIC_PADDSW: for (i = 0; i < n / 2; i++) t.sw[i] = sat16s(a->sw[i] + b->sw[i]); break;
	case ZYDIS_MNEMONIC_PSUBSB: for (i = 0; i < n; i++) t.sb[i] = sat8s(a->sb[i] - b->sb[i]); break;
	case ZYDIS_MNEMONIC_PSUBSW: for (i = 0; i < n / 2; i++) t.sw[i] = sat16s(a->sw[i] - b->sw[i]); break;
	case ZYDIS_MNEMONIC_PADDUSB: for (i = 0; i < n; i++) t.b[i] = sat8u(a->b[i] + b->b[i]); break;
	case ZYDIS_MNEMONIC_PADDUSW: for (i = 0; i < n / 2; i++) t.w[i] = sat16u(a->w[i] + b->w[i]); break;
	case ZYDIS_MNEMONIC_PSUBUSB: for (i = 0; i < n; i++) t.b[i] = sat8u(a->b[i] - b->b[i]); break;
	case ZYDIS_MNEMONIC_PSUBUSW: for (i = 0; i < n / 2; i++) t.w[i] = sat16u(a->w[i] - b->w[i]); break;
	case ZYDIS_MNEMONIC_PAND: for (i = 0; i < 2; i++) t.q[i] = a->q[i] & b->q[i]; break;
	case ZYDIS_MNEMONIC_PANDN: for (i = 0; i < 2; i++) t.q[i] = ~a->q[i] & b->q[i]; break;
	case ZYDIS_MNEMONIC_POR: for (i = 0; i < 2; i++) t.q[i] = a->q[i] | b->q[i]; break;
	case ZYDIS_MNEMONIC_PXOR: for (i = 0; i < 2; i++) t.q[i] = a->q[i] ^ b->q[i]; break;
	case ZYDIS_MNEMONIC_PCMPEQB: for (i = 0; i < n; i++) t.b[i] = a->b[i] == b->b[i] ? 0xff : 0; break;
	case ZYDIS_MNEMONIC_PCMPEQW: for (i = 0; i < n / 2; i++) t.w[i] = a->w[i] == b->w[i] ? 0xffff : 0; break;
	case ZYDIS_MNEMONIC_PCMPEQD: for (i = 0; i < n / 4; i++) t.d[i] = a->d[i] == b->d[i] ? ~0u : 0; break;
	case ZYDIS_MNEMONIC_PCMPGTB: for (i = 0; i < n; i++) t.b[i] = a->sb[i] > b->sb[i] ? 0xff : 0; break;
	case ZYDIS_MNEMONIC_PCMPGTW: for (i = 0; i < n / 2; i++) t.w[i] = a->sw[i] > b->sw[i] ? 0xffff : 0; break;
	case ZYDIS_MNEMONIC_PCMPGTD: for (i = 0; i < n / 4; i++) t.d[i] = a->sd[i] > b->sd[i] ? ~0u : 0; break;
	case ZYDIS_MNEMONIC_PMULLW:
		for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)((int32_t)a->sw[i] * b->sw[i]);
		break;
	case ZYDIS_MNEMONIC_PMULHW:
		for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)(((int32_t)a->sw[i] * b->sw[i]) >> 16);
		break;
	case ZYDIS_MNEMONIC_PMULHUW:
		for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)(((uint32_t)a->w[i] * b->w[i]) >> 16);
		break;
	case ZYDIS_MNEMONIC_PMULUDQ:
		for (i = 0; i < n / 8; i++) t.q[i] = (uint64_t)a->d[2 * i] * b->d[2 * i];
		break;
	case ZYDIS_MNEMONIC_PMADDWD:
		for (i = 0; i < n / 4; i++)
			t.d[i] = (uint32_t)((int32_t)a->sw[2 * i] * b->sw[2 * i]) +
				 (uint32_t)((int32_t)a->sw[2 * i + 1] * b->sw[2 * i + 1]);
		break;
	case ZYDIS_MNEMONIC_PACKSSWB:
		for (i = 0; i < n / 2; i++) {
			t.sb[i] = sat8s(a->sw[i]);
			t.sb[n / 2 + i] = sat8s(b->sw[i]);
		}
		break;
	case ZYDIS_MNEMONIC_PACKUSWB:
		for (i = 0; i < n / 2; i++) {
			t.b[i] = sat8u(a->sw[i]);
			t.b[n / 2 + i] = sat8u(b->sw[i]);
		}
		break;
	case ZYDIS_MNEMONIC_PACKSSDW:
		for (i = 0; i < n / 4; i++) {
			t.sw[i] = sat16s(a->sd[i]);
			t.sw[n / 4 + i] = sat16s(b->sd[i]);
		}
		break;
	case ZYDIS_MNEMONIC_PUNPCKLBW: int_unpack(&t, a, b, n, 1, false); break;
	case ZYDIS_MNEMONIC_PUNPCKLWD: int_unpack(&t, a, b, n, 2, false); break;
	case ZYDIS_MNEMONIC_PUNPCKLDQ: int_unpack(&t, a, b, n, 4, false); break;
	case ZYDIS_MNEMONIC_PUNPCKLQDQ: int_unpack(&t, a, b, n, 8, false); break;
	case ZYDIS_MNEMONIC_PUNPCKHBW: int_unpack(&t, a, b, n, 1, true); break;
	case ZYDIS_MNEMONIC_PUNPCKHWD: int_unpack(&t, a, b, n, 2, true); break;
	case ZYDIS_MNEMONIC_PUNPCKHDQ: int_unpack(&t, a, b, n, 4, true); break;
	case ZYDIS_MNEMONIC_PUNPCKHQDQ: int_unpack(&t, a, b, n, 8, true); break;
	case ZYDIS_MNEMONIC_PSLLW: int_shift(&t, n, 2, b->q[0], 0); break;
	case ZYDIS_MNEMONIC_PSLLD: int_shift(&t, n, 4, b->q[0], 0); break;
	case ZYDIS_MNEMONIC_PSLLQ: int_shift(&t, n, 8, b->q[0], 0); break;
	case ZYDIS_MNEMONIC_PSRLW: int_shift(&t, n, 2, b->q[0], 1); break;
	case ZYDIS_MNEMONIC_PSRLD: int_shift(&t, n, 4, b->q[0], 1); break;
	case ZYDIS_MNEMONIC_PSRLQ: int_shift(&t, n, 8, b->q[0], 1); break;
	case ZYDIS_MNEMONIC_PSRAW: int_shift(&t, n, 2, b->q[0], 2); break;
	case ZYDIS_MNEMONIC_PSRAD: int_shift(&t, n, 4, b->q[0], 2); break;
	case ZYDIS_MNEMONIC_PSLLDQ:
		memset(&t, 0, sizeof(t));
		if (b->q[0] < 16)
			memcpy(t.b + b->q[0], a->b, 16 - b->q[0]);
		break;
	case ZYDIS_MNEMONIC_PSRLDQ:
		memset(&t, 0, sizeof(t));
		if (b->q[0] < 16)
			memcpy(t.b, a->b + b->q[0], 16 - b->q[0]);
		break;
	case ZYDIS_MNEMONIC_PAVGB:
		for (i = 0; i < n; i++) t.b[i] = (uint8_t)((a->b[i] + b->b[i] + 1) >> 1);
		break;
	case ZYDIS_MNEMONIC_PAVGW:
		for (i = 0; i < n / 2; i++) t.w[i] = (uint16_t)(((uint32_t)a->w[i] + b->w[i] + 1) >> 1);
		break;
	case ZYDIS_MNEMONIC_PMINUB: for (i = 0; i < n; i++) t.b[i] = a->b[i] < b->b[i] ? a->b[i] : b->b[i]; break;
	case ZYDIS_MNEMONIC_PMAXUB: for (i = 0; i < n; i++) t.b[i] = a->b[i] > b->b[i] ? a->b[i] : b->b[i]; break;
	case ZYDIS_MNEMONIC_PMINSW: for (i = 0; i < n / 2; i++) t.sw[i] = a->sw[i] < b->sw[i] ? a->sw[i] : b->sw[i]; break;
	case ZYDIS_MNEMONIC_PMAXSW: for (i = 0; i < n / 2; i++) t.sw[i] = a->sw[i] > b->sw[i] ? a->sw[i] : b->sw[i]; break;
	case ZYDIS_MNEMONIC_PSADBW:
		for (unsigned g = 0; g < n / 8; g++) {
			unsigned sum = 0;
			for (i = 0; i < 8; i++) {
				int dlt = a->b[8 * g + i] - b->b[8 * g + i];
				sum += (unsigned)(dlt < 0 ? -dlt : dlt);
			}
			t.q[g] = sum;
		}
		break;
	case ZYDIS_MNEMONIC_PSHUFW:
		for (i = 0; i < 4; i++) t.w[i] = b->w[(imm >> (2 * i)) & 3];
		break;
	case ZYDIS_MNEMONIC_PSHUFD:
		for (i = 0; i < 4; i++) t.d[i] = b->d[(imm >> (2 * i)) & 3];
		break;
	case ZYDIS_MNEMONIC_PSHUFLW:
		t = *b;
		for (i = 0; i < 4; i++) t.w[i] = b->w[(imm >> (2 * i)) & 3];
		break;
	case ZYDIS_MNEMONIC_PSHUFHW:
		t = *b;
		for (i = 0; i < 4; i++) t.w[4 + i] = b->w[4 + ((imm >> (2 * i)) & 3)];
		break;
	case ZYDIS_MNEMONIC_PSHUFB:
		for (i = 0; i < n; i++) t.b[i] = b->b[i] & 0x80 ? 0 : a->b[b->b[i] & (n - 1)];
		break;
	case ZYDIS_MNEMONIC_PHADDW: int_horizontal(&t, a, b, n, 2, 0); break;
	case ZYDIS_MNEMONIC_PHSUBW: int_horizontal(&t, a, b, n, 2, 1); break;
	case ZYDIS_MNEMONIC_PHADDSW: int_horizontal(&t, a, b, n, 2, 2); break;
	case ZYDIS_MNEMONIC_PHSUBSW: int_horizontal(&t, a, b, n, 2, 3); break;
	case ZYDIS_MNEMONIC_PHADDD: int_horizontal(&t, a, b, n, 4, 0); break;
	case ZYDIS_MNEMONIC_PHSUBD: int_horizontal(&t, a, b, n, 4, 1); break;
	case ZYDIS_MNEMONIC_PMADDUBSW:
		for (i = 0; i < n / 2; i++)
			t.sw[i] = sat16s(a->b[2 * i] * b->sb[2 * i] + a->b[2 * i + 1] * b->sb[2 * i + 1]);
		break;
	case ZYDIS_MNEMONIC_PMULHRSW:
		for (i = 0; i < n / 2; i++)
			t.w[i] = (uint16_t)(((((int32_t)a->sw[i] * b->sw[i]) >> 14) + 1) >> 1);
		break;
	case ZYDIS_MNEMONIC_PSIGNB:
		for (i = 0; i < n; i++)
			t.b[i] = b->sb[i] < 0 ? (uint8_t)-a->b[i] : b->sb[i] ? a->b[i] : 0;
		break;
	case ZYDIS_MNEMONIC_PSIGNW:
		for (i = 0; i < n / 2; i++)
			t.w[i] = b->sw[i] < 0 ? (uint16_t)-a->w[i] : b->sw[i] ? a->w[i] : 0;
		break;
	case ZYDIS_MNEMONIC_PSIGND:
		for (i = 0; i < n / 4; i++)
			t.d[i] = b->sd[i] < 0 ? -a->d[i] : b->sd[i] ? a->d[i] : 0;
		break;
	case ZYDIS_MNEMONIC_PABSB:
		for (i = 0; i < n; i++) t.b[i] = b->sb[i] < 0 ? (uint8_t)-b->b[i] : b->b[i];
		break;
	case ZYDIS_MNEMONIC_PABSW:
		for (i = 0; i < n / 2; i++) t.w[i] = b->sw[i] < 0 ? (uint16_t)-b->w[i] : b->w[i];
		break;
	case ZYDIS_MNEMONIC_PABSD:
		for (i = 0; i < n / 4; i++) t.d[i] = b->sd[i] < 0 ? -b->d[i] : b->d[i];
		break;
	case ZYDIS_MNEMONIC_PALIGNR: {
		/* (a:b) shifted right by imm bytes; b is the low half. */
		uint8_t cat[32] = { 0 };
		memcpy(cat, b->b, n);
		memcpy(cat + n, a->b, n);
		memset(&t, 0, sizeof(t));
		for (i = 0; i < n; i++)
			t.b[i] = imm + i < 2 * n ? cat[imm + i] : 0;
		break;
	}
	default:
		break;
	}
	if (n == 8)
		t.q[1] = 0;
	*r = t;
}

/* Register or memory width of an operand in bytes. */
static unsigned op_bytes(const ZydisDecodedOperand *op)
{
	return op->size / 8;
}

/*
 * The integer moves: a source of any class, truncated to its operand size,
 * into an XMM register (zero-extended to 128 bits), an MMX register, a
 * general register or memory.
 */
static int int_move(struct simd_state *s, struct simd_env *env,
		    const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	union simd_vec v;
	int rc = simd_vec_read_src(s, env, insn, &ops[1], &v);
	if (rc != SIMD_OK)
		return rc;
	unsigned n = op_bytes(&ops[1]);
	if (n < 16)
		memset(v.b + n, 0, 16 - n);
	if (simd_op_is_mem(&ops[0]))
		return simd_vec_store(env, insn, &ops[0], &v);
	ZydisRegister r = ops[0].reg.value;
	if (simd_reg_is_xmm(r) || simd_reg_is_mm(r))
		simd_vec_write_reg(s, r, &v);
	else
		env->set_gpr(env->cpu, r, v.q[0]);
	return SIMD_OK;
}

/* MASKMOVQ/MASKMOVDQU: byte-masked store to DS:rDI. */
static int int_maskmov(struct simd_state *s, struct simd_env *env,
		       const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	union simd_vec data, mask;
	simd_vec_read(s, env, &ops[0], &data, false);
	simd_vec_read(s, env, &ops[1], &mask, false);
	unsigned n = simd_reg_is_xmm(ops[0].reg.value) ? 16 : 8;
	if (!env->has_mem)
		return SIMD_EXC_UD;
	/*
	 * Several writes: check the whole range first so none is partial. The
	 * hardware faults on the whole range even for bytes the mask leaves
	 * alone, including an all-zero mask (which the SDM allows).
	 */
	if (!env->probe_write(env->cpu, env->mem_linear, n))
		return SIMD_FAULTED;
	for (unsigned i = 0; i < n;) {
		if (!(mask.b[i] & 0x80)) {
			i++;
			continue;
		}
		unsigned j = i;
		while (j < n && (mask.b[j] & 0x80))
			j++;
		int rc = simd_mem_write(env, env->mem_linear + i, data.b + i, j - i);
		if (rc != SIMD_OK)
			return rc;
		i = j;
	}
	(void)insn;
	return SIMD_OK;
}

int simd_int_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	ZydisMnemonic m = insn->mnemonic;
	union simd_vec a, b;
	int rc;

	switch (m) {
	case ZYDIS_MNEMONIC_EMMS:
		/* All tags empty, and TOP 0 as after any MMX instruction. */
		simd_mmx_enter(s);
		s->x87.ftw = 0;
		return SIMD_OK;
	case ZYDIS_MNEMONIC_MOVD: case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_MOVDQA: case ZYDIS_MNEMONIC_MOVDQU: case ZYDIS_MNEMONIC_LDDQU:
	case ZYDIS_MNEMONIC_MOVNTQ: case ZYDIS_MNEMONIC_MOVNTDQ:
	case ZYDIS_MNEMONIC_MOVQ2DQ: case ZYDIS_MNEMONIC_MOVDQ2Q:
		return int_move(s, env, insn, ops);
	case ZYDIS_MNEMONIC_MASKMOVQ: case ZYDIS_MNEMONIC_MASKMOVDQU:
		return int_maskmov(s, env, insn, ops);
	case ZYDIS_MNEMONIC_PMOVMSKB: {
		simd_vec_read(s, env, &ops[1], &b, false);
		unsigned n = simd_reg_is_xmm(ops[1].reg.value) ? 16 : 8, mask = 0;
		for (unsigned i = 0; i < n; i++)
			mask |= (unsigned)(b.b[i] >> 7) << i;
		env->set_gpr(env->cpu, ops[0].reg.value, mask);
		return SIMD_OK;
	}
	case ZYDIS_MNEMONIC_PEXTRW: {
		simd_vec_read(s, env, &ops[1], &b, false);
		unsigned n = simd_reg_is_xmm(ops[1].reg.value) ? 16 : 8;
		unsigned idx = (unsigned)ops[2].imm.value.u & (n / 2 - 1);
		env->set_gpr(env->cpu, ops[0].reg.value, b.w[idx]);
		return SIMD_OK;
	}
	case ZYDIS_MNEMONIC_PINSRW: {
		rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
		if (rc != SIMD_OK)
			return rc;
		simd_vec_read(s, env, &ops[0], &a, false);
		unsigned n = simd_reg_is_xmm(ops[0].reg.value) ? 16 : 8;
		a.w[(unsigned)ops[2].imm.value.u & (n / 2 - 1)] = b.w[0];
		simd_vec_write_reg(s, ops[0].reg.value, &a);
		return SIMD_OK;
	}
	default:
		break;
	}

	/* dst op= src [, imm] or dst op= imm (shift by immediate). */
	if (ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return SIMD_EXC_UD;
	ZydisRegister dst = ops[0].reg.value;
	unsigned n = simd_reg_is_xmm(dst) ? 16 : 8;
	uint8_t imm = 0;
	simd_vec_read(s, env, &ops[0], &a, false);
	if (ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		memset(&b, 0, sizeof(b));
		b.q[0] = (uint8_t)ops[1].imm.value.u;
	} else {
		rc = simd_vec_read_src(s, env, insn, &ops[1], &b);
		if (rc != SIMD_OK)
			return rc;
		if (insn->operand_count_visible > 2 &&
		    ops[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			imm = (uint8_t)ops[2].imm.value.u;
	}
	int_binop(m, n, &a, &a, &b, imm);
	simd_vec_write_reg(s, dst, &a);
	return SIMD_OK;
}
