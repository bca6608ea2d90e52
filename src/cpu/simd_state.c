/*
 * simd_state: the unit's architectural state in memory — FXSAVE/FXRSTOR
 * (legacy and 64-bit layouts), FNSAVE/FRSTOR and FNSTENV/FLDENV (16- and
 * 32-bit, protected and real/virtual-8086 layouts), LDMXCSR/STMXCSR — and
 * the status-word bookkeeping the other files share.
 *
 * Intel SDM Vol. 1 8.1.3-8.1.11 (status, control and tag words, pointers,
 * Figures 8-9 to 8-12), 10.5 (FXSAVE area); Vol. 2 FXSAVE Tables 3-52/3-53,
 * FXRSTOR, FSAVE, FSTENV, FLDENV, FRSTOR, LDMXCSR.
 *
 * Details the manuals leave open follow the hardware (checked against this
 * host by the differential test where a 64-bit process can observe them):
 * reserved upper halves of the 32-bit environment's words are stored as
 * FFFFH; FLDCW and the image loads keep control-word bits 12:8 and 5:0 and
 * force bit 6 to one; FXSAVE writes bytes 0-415 (0-287 outside 64-bit mode)
 * and leaves the rest of the 512-byte area alone, but faults unless all of
 * it is writable, and FXRSTOR reads all of it; the FXSAVE tag byte is
 * abridged, the FSAVE/FSTENV tag word is recomputed from the registers.
 *
 * The data and instruction pointers are always kept (the "FOP compatibility"
 * behaviour: FOP/FDP are defined after every non-control instruction, which
 * the newer processors only guarantee after an unmasked exception).
 *
 * Thread: the vCPU thread owning the state; no locks.
 */
#include "cpu/simd_internal.h"

#include <errno.h>

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ES and B mirror "some exception flag is set and unmasked". */
void simd_x87_sync_es(struct simd_state *s)
{
	uint16_t sw = s->x87.fsw & (uint16_t)~(X87_SW_ES | X87_SW_B);
	if (sw & ~s->x87.fcw & 0x3f)
		sw |= X87_SW_ES | X87_SW_B;
	s->x87.fsw = sw;
}

/* FNINIT: the registers keep their contents, everything else is reset. */
void simd_x87_init(struct simd_state *s)
{
	s->x87.fcw = X87_CW_INIT;
	s->x87.fsw = 0;
	s->x87.ftw = 0;
	s->x87.fop = 0;
	s->x87.fip = s->x87.fdp = 0;
	s->x87.fcs = s->x87.fds = 0;
}

/* Control-word bits that exist; bit 6 reads as one (checked on hardware). */
static uint16_t x87_cw_load(uint16_t v)
{
	return (v & 0x1f3f) | 0x0040;
}

/* Two-bit tag of a non-empty register, from its contents (Vol. 1 8.1.7). */
static unsigned x87_tag_of(uint16_t exp, uint64_t mant)
{
	unsigned e = exp & 0x7fff;
	if (e == 0x7fff)
		return 2;                       /* NaN, infinity */
	if (e == 0)
		return mant == 0 ? 1 : 2;       /* zero / denormal, pseudo-denormal */
	return mant >> 63 ? 0 : 2;              /* valid / unnormal */
}

/* The full tag word, by physical register, as FSTENV and FSAVE store it. */
unsigned simd_x87_full_tags(const struct simd_state *s)
{
	unsigned tw = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (s->x87.ftw >> i) & 1 ? x87_tag_of(s->x87.exp[i], s->x87.mant[i]) : 3;
		tw |= t << (2 * i);
	}
	return tw;
}

static uint8_t x87_abridge(unsigned tw)
{
	uint8_t ftw = 0;
	for (unsigned i = 0; i < 8; i++)
		if (((tw >> (2 * i)) & 3) != 3)
			ftw |= 1u << i;
	return ftw;
}

/* ST(i) as ten bytes. */
static void x87_put_st(const struct simd_state *s, unsigned i, uint8_t *p)
{
	unsigned r = (simd_x87_top(s) + i) & 7;
	put64(p, s->x87.mant[r]);
	put16(p + 8, s->x87.exp[r]);
}

static void x87_get_st(struct simd_state *s, unsigned i, const uint8_t *p)
{
	unsigned r = (simd_x87_top(s) + i) & 7;
	s->x87.mant[r] = get64(p);
	s->x87.exp[r] = get16(p + 8);
}

/* FXSAVE ------------------------------------------------------------------ */

/*
 * Builds the FXSAVE image; `rex_w` selects the 64-bit pointer layout.
 * Returns how many bytes the instruction stores.
 */
static unsigned fx_image(const struct simd_state *s, uint8_t *img, bool rex_w, bool mode64)
{
	put16(img + 0, s->x87.fcw);
	put16(img + 2, s->x87.fsw);
	img[4] = s->x87.ftw;
	img[5] = 0;
	put16(img + 6, s->x87.fop);
	if (rex_w) {
		put64(img + 8, s->x87.fip);
		put64(img + 16, s->x87.fdp);
	} else {
		put32(img + 8, (uint32_t)s->x87.fip);
		put16(img + 12, s->x87.fcs);
		put16(img + 14, 0);
		put32(img + 16, (uint32_t)s->x87.fdp);
		put16(img + 20, s->x87.fds);
		put16(img + 22, 0);
	}
	put32(img + 24, s->mxcsr);
	put32(img + 28, MXCSR_MASK);
	for (unsigned i = 0; i < 8; i++) {
		x87_put_st(s, i, img + 32 + 16 * i);
		memset(img + 42 + 16 * i, 0, 6);
	}
	unsigned nxmm = mode64 ? 16 : 8;
	memcpy(img + 160, s->xmm, 16 * nxmm);
	return 160 + 16 * nxmm;
}

static int fx_load(struct simd_state *s, const uint8_t *img, bool rex_w, bool mode64)
{
	uint32_t mxcsr = get32(img + 24);
	if (mxcsr & ~MXCSR_MASK)
		return -EINVAL;
	s->x87.fcw = x87_cw_load(get16(img + 0));
	s->x87.fsw = get16(img + 2);
	s->x87.ftw = img[4];
	s->x87.fop = get16(img + 6) & 0x7ff;
	if (rex_w) {
		s->x87.fip = get64(img + 8);
		s->x87.fdp = get64(img + 16);
		s->x87.fcs = s->x87.fds = 0;
	} else {
		s->x87.fip = get32(img + 8);
		s->x87.fcs = get16(img + 12);
		s->x87.fdp = get32(img + 16);
		s->x87.fds = get16(img + 20);
	}
	s->mxcsr = mxcsr;
	for (unsigned i = 0; i < 8; i++)
		x87_get_st(s, i, img + 32 + 16 * i);
	memcpy(s->xmm, img + 160, 16 * (mode64 ? 16 : 8));
	simd_x87_sync_es(s);
	return 0;
}

void simd_state_get_fxsave(const struct simd_state *s, uint8_t img[512])
{
	memset(img, 0, 512);
	fx_image(s, img, true, true);
}

int simd_state_set_fxsave(struct simd_state *s, const uint8_t img[512])
{
	return fx_load(s, img, true, true);
}

/* FSTENV / FLDENV / FSAVE / FRSTOR ---------------------------------------- */

static bool x87_real_layout(const struct simd_env *env)
{
	if (!(env->cr0 & SIMD_CR0_PE))
		return true;
	return !env->long_mode && (env->get_gpr(env->cpu, ZYDIS_REGISTER_RFLAGS) & SIMD_RFLAGS_VM);
}

/* Builds the environment image (Figures 8-9 to 8-12); returns 14 or 28. */
static unsigned env_image(const struct simd_state *s, uint8_t *img, bool op16, bool real)
{
	const struct simd_x87 *x = &s->x87;
	uint16_t tw = (uint16_t)simd_x87_full_tags(s);
	uint32_t lip = (uint32_t)(((uint32_t)x->fcs << 4) + (uint32_t)x->fip);
	uint32_t ldp = (uint32_t)(((uint32_t)x->fds << 4) + (uint32_t)x->fdp);

	if (op16) {
		put16(img + 0, x->fcw);
		put16(img + 2, x->fsw);
		put16(img + 4, tw);
		if (real) {
			put16(img + 6, (uint16_t)lip);
			put16(img + 8, (uint16_t)(((lip >> 4) & 0xf000) | (x->fop & 0x7ff)));
			put16(img + 10, (uint16_t)ldp);
			put16(img + 12, (uint16_t)((ldp >> 4) & 0xf000));
		} else {
			put16(img + 6, (uint16_t)x->fip);
			put16(img + 8, x->fcs);
			put16(img + 10, (uint16_t)x->fdp);
			put16(img + 12, x->fds);
		}
		return 14;
	}
	put32(img + 0, 0xffff0000u | x->fcw);
	put32(img + 4, 0xffff0000u | x->fsw);
	put32(img + 8, 0xffff0000u | tw);
	if (real) {
		put32(img + 12, 0xffff0000u | (lip & 0xffff));
		put32(img + 16, ((lip >> 4) & 0x0ffff000u) | (x->fop & 0x7ffu));
		put32(img + 20, 0xffff0000u | (ldp & 0xffff));
		put32(img + 24, (ldp >> 4) & 0x0ffff000u);
	} else {
		put32(img + 12, (uint32_t)x->fip);
		put32(img + 16, x->fcs | ((uint32_t)(x->fop & 0x7ff) << 16));
		put32(img + 20, (uint32_t)x->fdp);
		put32(img + 24, 0xffff0000u | x->fds);
	}
	return 28;
}

static unsigned env_load(struct simd_state *s, const uint8_t *img, bool op16, bool real)
{
	struct simd_x87 *x = &s->x87;
	if (op16) {
		x->fcw = x87_cw_load(get16(img + 0));
		x->fsw = get16(img + 2);
		x->ftw = x87_abridge(get16(img + 4));
		if (real) {
			x->fip = get16(img + 6) | ((uint32_t)(get16(img + 8) & 0xf000) << 4);
			x->fop = get16(img + 8) & 0x7ff;
			x->fdp = get16(img + 10) | ((uint32_t)(get16(img + 12) & 0xf000) << 4);
			x->fcs = x->fds = 0;
		} else {
			x->fip = get16(img + 6);
			x->fcs = get16(img + 8);
			x->fdp = get16(img + 10);
			x->fds = get16(img + 12);
		}
		simd_x87_sync_es(s);
		return 14;
	}
	x->fcw = x87_cw_load(get16(img + 0));
	x->fsw = get16(img + 4);
	x->ftw = x87_abridge(get16(img + 8));
	if (real) {
		x->fip = (get32(img + 12) & 0xffff) | ((get32(img + 16) & 0x0ffff000u) << 4);
		x->fop = get32(img + 16) & 0x7ff;
		x->fdp = (get32(img + 20) & 0xffff) | ((get32(img + 24) & 0x0ffff000u) << 4);
		x->fcs = x->fds = 0;
	} else {
		x->fip = get32(img + 12);
		x->fcs = get16(img + 16);
		x->fop = (get32(img + 16) >> 16) & 0x7ff;
		x->fdp = get32(img + 20);
		x->fds = get16(img + 24);
	}
	simd_x87_sync_es(s);
	return 28;
}

/*
 * FNSTENV, FLDENV, FNSAVE, FRSTOR. The layout follows the operand size the
 * decoder saw (its memory operand is 14/94 bytes for the 16-bit forms) and
 * the mode. The whole image is read, or written in one access, before any
 * state changes, so a fault leaves the FPU untouched.
 */
int simd_state_x87_env(struct simd_state *s, struct simd_env *env,
		       const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	const ZydisDecodedOperand *mem = simd_find_mem(insn, ops);
	if (!mem || !env->has_mem)
		return SIMD_EXC_UD;
	bool op16 = mem->size == 14 * 8 || mem->size == 94 * 8;
	bool real = x87_real_layout(env);
	uint8_t img[108];
	int rc;

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FNSTENV: {
		unsigned n = env_image(s, img, op16, real);
		rc = simd_mem_write(env, env->mem_linear, img, n);
		if (rc != SIMD_OK)
			return rc;
		s->x87.fcw |= 0x3f;     /* FNSTENV then masks all exceptions */
		simd_x87_sync_es(s);
		return SIMD_OK;
	}
	case ZYDIS_MNEMONIC_FNSAVE: {
		unsigned n = env_image(s, img, op16, real);
		for (unsigned i = 0; i < 8; i++)
			x87_put_st(s, i, img + n + 10 * i);
		rc = simd_mem_write(env, env->mem_linear, img, n + 80);
		if (rc != SIMD_OK)
			return rc;
		simd_x87_init(s);
		return SIMD_OK;
	}
	case ZYDIS_MNEMONIC_FLDENV:
		rc = simd_mem_read(env, env->mem_linear, img, op16 ? 14 : 28);
		if (rc != SIMD_OK)
			return rc;
		env_load(s, img, op16, real);
		return SIMD_OK;
	case ZYDIS_MNEMONIC_FRSTOR: {
		unsigned n = op16 ? 14 : 28;
		rc = simd_mem_read(env, env->mem_linear, img, n + 80);
		if (rc != SIMD_OK)
			return rc;
		env_load(s, img, op16, real);
		for (unsigned i = 0; i < 8; i++)
			x87_get_st(s, i, img + n + 10 * i);
		return SIMD_OK;
	}
	default:
		return SIMD_EXC_UD;
	}
}

/*
 * FXSAVE, FXRSTOR, LDMXCSR, STMXCSR. XMM8-15 are part of the image in
 * 64-bit mode only (not in compatibility mode), which the decoder's machine
 * mode tells.
 */
int simd_state_exec(struct simd_state *s, struct simd_env *env,
		    const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	const ZydisDecodedOperand *mem = simd_find_mem(insn, ops);
	if (!mem || !env->has_mem)
		return SIMD_EXC_UD;
	uint8_t img[512];
	uint32_t v;
	int rc;

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FXSAVE:
	case ZYDIS_MNEMONIC_FXSAVE64: {
		if (env->mem_linear & 15)
			return SIMD_EXC_GP0;
		unsigned n = fx_image(s, img, insn->mnemonic == ZYDIS_MNEMONIC_FXSAVE64,
				      insn->machine_mode == ZYDIS_MACHINE_MODE_LONG_64);
		/* The whole 512-byte area must be writable, as on hardware. */
		if (!env->probe_write(env->cpu, env->mem_linear, 512))
			return SIMD_FAULTED;
		return simd_mem_write(env, env->mem_linear, img, n);
	}
	case ZYDIS_MNEMONIC_FXRSTOR:
	case ZYDIS_MNEMONIC_FXRSTOR64: {
		if (env->mem_linear & 15)
			return SIMD_EXC_GP0;
		rc = simd_mem_read(env, env->mem_linear, img, 512);
		if (rc != SIMD_OK)
			return rc;
		if (fx_load(s, img, insn->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64,
			    insn->machine_mode == ZYDIS_MACHINE_MODE_LONG_64))
			return SIMD_EXC_GP0;
		return SIMD_OK;
	}
	case ZYDIS_MNEMONIC_LDMXCSR:
		rc = simd_mem_read(env, env->mem_linear, &v, 4);
		if (rc != SIMD_OK)
			return rc;
		if (v & ~MXCSR_MASK)
			return SIMD_EXC_GP0;
		s->mxcsr = v;
		return SIMD_OK;
	case ZYDIS_MNEMONIC_STMXCSR:
		return simd_mem_write(env, env->mem_linear, &s->mxcsr, 4);
	default:
		return SIMD_EXC_UD;
	}
}
