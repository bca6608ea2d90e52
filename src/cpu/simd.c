/*
 * simd: dispatch for the software CPU's x87, MMX, SSE, SSE2, SSE3 and SSSE3
 * unit (the contract is in simd.h).
 *
 * This file decides which family an instruction belongs to, applies the
 * gating that comes before any work — CR0.EM/TS/MP, CR4.OSFXSR and pending
 * x87 exceptions (Intel SDM Vol. 3A 2.5, 13.1 Table 13-1, Vol. 3B 22.25.3
 * Tables 22-4 to 22-8, Vol. 1 8.6 and D) — and holds the operand helpers the
 * families share. The families are simd_x87.c (x87), simd_int.c (MMX and
 * SSE2/SSSE3 integer), simd_sse.c (SSE/SSE2/SSE3 floating point, moves,
 * MXCSR-free housekeeping) and simd_state.c (state images: FXSAVE/FXRSTOR,
 * FSAVE/FRSTOR, FSTENV/FLDENV, LDMXCSR/STMXCSR); simd_host.c runs the
 * floating-point arithmetic on the host.
 *
 * x87 error reporting (Vol. 1 8.7, D.2): an unmasked x87 exception sets
 * FSW.ES and stays pending. The next waiting x87 instruction, or MMX
 * instruction, then raises #MF if CR0.NE=1 (nothing executes). With CR0.NE=0
 * (MS-DOS compatible) the instruction executes and simd_exec() returns
 * SIMD_FERR so that the core asserts FERR#, i.e. IRQ13 through the PIC; the
 * guest's handler clears the condition (FNCLEX). This is the deferred
 * reporting of the P6 and later processors, and it never stalls the vCPU.
 *
 * Thread: the vCPU thread that owns the simd_state; no locks.
 */
#include "cpu/simd_internal.h"

#include <stdlib.h>

/* Which file carries out an instruction. */
enum simd_unit { UNIT_NONE, UNIT_X87, UNIT_INT, UNIT_SSE, UNIT_STATE };

/* What has to be checked before it runs. */
enum simd_gate {
	GATE_NONE,              /* fences, prefetches, MOVNTI */
	GATE_FWAIT,             /* #NM if TS and MP, then pending x87 errors */
	GATE_X87_NOWAIT,        /* #NM if EM or TS */
	GATE_X87,               /* #NM if EM or TS, then pending x87 errors */
	GATE_FXSR,              /* FXSAVE/FXRSTOR: #NM if EM or TS */
	GATE_MMX,               /* #UD if EM, #NM if TS, pending x87 errors */
	GATE_SSE,               /* #UD if EM or !OSFXSR, #NM if TS */
	GATE_MIXED,             /* SSE checks, then pending x87 errors */
};

static enum simd_unit simd_unit_of(const ZydisDecodedInstruction *insn)
{
	if (insn->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return UNIT_NONE;
	switch (insn->meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87:
	case ZYDIS_ISA_EXT_MMX:
	case ZYDIS_ISA_EXT_SSE:
	case ZYDIS_ISA_EXT_SSE2:
	case ZYDIS_ISA_EXT_SSE3:
	case ZYDIS_ISA_EXT_SSSE3:
		break;
	default:
		return UNIT_NONE;
	}
	if (insn->meta.isa_ext == ZYDIS_ISA_EXT_X87)
		return UNIT_X87;

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FISTTP:
		return UNIT_X87;
	case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXSAVE64:
	case ZYDIS_MNEMONIC_FXRSTOR: case ZYDIS_MNEMONIC_FXRSTOR64:
	case ZYDIS_MNEMONIC_LDMXCSR: case ZYDIS_MNEMONIC_STMXCSR:
		return UNIT_STATE;

	case ZYDIS_MNEMONIC_EMMS:
	case ZYDIS_MNEMONIC_MOVD: case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_MOVDQA: case ZYDIS_MNEMONIC_MOVDQU: case ZYDIS_MNEMONIC_LDDQU:
	case ZYDIS_MNEMONIC_MOVNTQ: case ZYDIS_MNEMONIC_MOVNTDQ:
	case ZYDIS_MNEMONIC_MOVQ2DQ: case ZYDIS_MNEMONIC_MOVDQ2Q:
	case ZYDIS_MNEMONIC_MASKMOVQ: case ZYDIS_MNEMONIC_MASKMOVDQU:
	case ZYDIS_MNEMONIC_PACKSSWB: case ZYDIS_MNEMONIC_PACKSSDW: case ZYDIS_MNEMONIC_PACKUSWB:
	case ZYDIS_MNEMONIC_PADDB: case ZYDIS_MNEMONIC_PADDW:
	case ZYDIS_MNEMONIC_PADDD: case ZYDIS_MNEMONIC_PADDQ:
	case ZYDIS_MNEMONIC_PADDSB: case ZYDIS_MNEMONIC_PADDSW:
	case ZYDIS_MNEMONIC_PADDUSB: case ZYDIS_MNEMONIC_PADDUSW:
	case ZYDIS_MNEMONIC_PSUBB: case ZYDIS_MNEMONIC_PSUBW:
	case ZYDIS_MNEMONIC_PSUBD: case ZYDIS_MNEMONIC_PSUBQ:
	case ZYDIS_MNEMONIC_PSUBSB: case ZYDIS_MNEMONIC_PSUBSW:
	case ZYDIS_MNEMONIC_PSUBUSB: case ZYDIS_MNEMONIC_PSUBUSW:
	case ZYDIS_MNEMONIC_PAND: case ZYDIS_MNEMONIC_PANDN:
	case ZYDIS_MNEMONIC_POR: case ZYDIS_MNEMONIC_PXOR:
	case ZYDIS_MNEMONIC_PCMPEQB: case ZYDIS_MNEMONIC_PCMPEQW: case ZYDIS_MNEMONIC_PCMPEQD:
	case ZYDIS_MNEMONIC_PCMPGTB: case ZYDIS_MNEMONIC_PCMPGTW: case ZYDIS_MNEMONIC_PCMPGTD:
	case ZYDIS_MNEMONIC_PMADDWD: case ZYDIS_MNEMONIC_PMULHW: case ZYDIS_MNEMONIC_PMULLW:
	case ZYDIS_MNEMONIC_PMULHUW: case ZYDIS_MNEMONIC_PMULUDQ:
	case ZYDIS_MNEMONIC_PUNPCKHBW: case ZYDIS_MNEMONIC_PUNPCKHWD:
	case ZYDIS_MNEMONIC_PUNPCKHDQ: case ZYDIS_MNEMONIC_PUNPCKHQDQ:
	case ZYDIS_MNEMONIC_PUNPCKLBW: case ZYDIS_MNEMONIC_PUNPCKLWD:
	case ZYDIS_MNEMONIC_PUNPCKLDQ: case ZYDIS_MNEMONIC_PUNPCKLQDQ:
	case ZYDIS_MNEMONIC_PSLLW: case ZYDIS_MNEMONIC_PSLLD: case ZYDIS_MNEMONIC_PSLLQ:
	case ZYDIS_MNEMONIC_PSRLW: case ZYDIS_MNEMONIC_PSRLD: case ZYDIS_MNEMONIC_PSRLQ:
	case ZYDIS_MNEMONIC_PSRAW: case ZYDIS_MNEMONIC_PSRAD:
	case ZYDIS_MNEMONIC_PSLLDQ: case ZYDIS_MNEMONIC_PSRLDQ:
	case ZYDIS_MNEMONIC_PAVGB: case ZYDIS_MNEMONIC_PAVGW:
	case ZYDIS_MNEMONIC_PEXTRW: case ZYDIS_MNEMONIC_PINSRW:
	case ZYDIS_MNEMONIC_PMAXSW: case ZYDIS_MNEMONIC_PMAXUB:
	case ZYDIS_MNEMONIC_PMINSW: case ZYDIS_MNEMONIC_PMINUB:
	case ZYDIS_MNEMONIC_PMOVMSKB: case ZYDIS_MNEMONIC_PSADBW:
	case ZYDIS_MNEMONIC_PSHUFW: case ZYDIS_MNEMONIC_PSHUFD:
	case ZYDIS_MNEMONIC_PSHUFHW: case ZYDIS_MNEMONIC_PSHUFLW:
	case ZYDIS_MNEMONIC_PABSB: case ZYDIS_MNEMONIC_PABSW: case ZYDIS_MNEMONIC_PABSD:
	case ZYDIS_MNEMONIC_PALIGNR:
	case ZYDIS_MNEMONIC_PHADDW: case ZYDIS_MNEMONIC_PHADDD: case ZYDIS_MNEMONIC_PHADDSW:
	case ZYDIS_MNEMONIC_PHSUBW: case ZYDIS_MNEMONIC_PHSUBD: case ZYDIS_MNEMONIC_PHSUBSW:
	case ZYDIS_MNEMONIC_PMADDUBSW: case ZYDIS_MNEMONIC_PMULHRSW: case ZYDIS_MNEMONIC_PSHUFB:
	case ZYDIS_MNEMONIC_PSIGNB: case ZYDIS_MNEMONIC_PSIGNW: case ZYDIS_MNEMONIC_PSIGND:
		return UNIT_INT;

	case ZYDIS_MNEMONIC_ADDPS: case ZYDIS_MNEMONIC_ADDSS:
	case ZYDIS_MNEMONIC_ADDPD: case ZYDIS_MNEMONIC_ADDSD:
	case ZYDIS_MNEMONIC_SUBPS: case ZYDIS_MNEMONIC_SUBSS:
	case ZYDIS_MNEMONIC_SUBPD: case ZYDIS_MNEMONIC_SUBSD:
	case ZYDIS_MNEMONIC_MULPS: case ZYDIS_MNEMONIC_MULSS:
	case ZYDIS_MNEMONIC_MULPD: case ZYDIS_MNEMONIC_MULSD:
	case ZYDIS_MNEMONIC_DIVPS: case ZYDIS_MNEMONIC_DIVSS:
	case ZYDIS_MNEMONIC_DIVPD: case ZYDIS_MNEMONIC_DIVSD:
	case ZYDIS_MNEMONIC_MINPS: case ZYDIS_MNEMONIC_MINSS:
	case ZYDIS_MNEMONIC_MINPD: case ZYDIS_MNEMONIC_MINSD:
	case ZYDIS_MNEMONIC_MAXPS: case ZYDIS_MNEMONIC_MAXSS:
	case ZYDIS_MNEMONIC_MAXPD: case ZYDIS_MNEMONIC_MAXSD:
	case ZYDIS_MNEMONIC_SQRTPS: case ZYDIS_MNEMONIC_SQRTSS:
	case ZYDIS_MNEMONIC_SQRTPD: case ZYDIS_MNEMONIC_SQRTSD:
	case ZYDIS_MNEMONIC_RCPPS: case ZYDIS_MNEMONIC_RCPSS:
	case ZYDIS_MNEMONIC_RSQRTPS: case ZYDIS_MNEMONIC_RSQRTSS:
	case ZYDIS_MNEMONIC_CMPPS: case ZYDIS_MNEMONIC_CMPSS:
	case ZYDIS_MNEMONIC_CMPPD: case ZYDIS_MNEMONIC_CMPSD:
	case ZYDIS_MNEMONIC_COMISS: case ZYDIS_MNEMONIC_COMISD:
	case ZYDIS_MNEMONIC_UCOMISS: case ZYDIS_MNEMONIC_UCOMISD:
	case ZYDIS_MNEMONIC_ANDPS: case ZYDIS_MNEMONIC_ANDNPS:
	case ZYDIS_MNEMONIC_ORPS: case ZYDIS_MNEMONIC_XORPS:
	case ZYDIS_MNEMONIC_ANDPD: case ZYDIS_MNEMONIC_ANDNPD:
	case ZYDIS_MNEMONIC_ORPD: case ZYDIS_MNEMONIC_XORPD:
	case ZYDIS_MNEMONIC_MOVAPS: case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVAPD: case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_MOVSS: case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVLPS: case ZYDIS_MNEMONIC_MOVHPS:
	case ZYDIS_MNEMONIC_MOVLPD: case ZYDIS_MNEMONIC_MOVHPD:
	case ZYDIS_MNEMONIC_MOVHLPS: case ZYDIS_MNEMONIC_MOVLHPS:
	case ZYDIS_MNEMONIC_MOVMSKPS: case ZYDIS_MNEMONIC_MOVMSKPD:
	case ZYDIS_MNEMONIC_MOVNTPS: case ZYDIS_MNEMONIC_MOVNTPD: case ZYDIS_MNEMONIC_MOVNTI:
	case ZYDIS_MNEMONIC_SHUFPS: case ZYDIS_MNEMONIC_SHUFPD:
	case ZYDIS_MNEMONIC_UNPCKLPS: case ZYDIS_MNEMONIC_UNPCKHPS:
	case ZYDIS_MNEMONIC_UNPCKLPD: case ZYDIS_MNEMONIC_UNPCKHPD:
	case ZYDIS_MNEMONIC_CVTPI2PS: case ZYDIS_MNEMONIC_CVTPS2PI: case ZYDIS_MNEMONIC_CVTTPS2PI:
	case ZYDIS_MNEMONIC_CVTSI2SS: case ZYDIS_MNEMONIC_CVTSS2SI: case ZYDIS_MNEMONIC_CVTTSS2SI:
	case ZYDIS_MNEMONIC_CVTPI2PD: case ZYDIS_MNEMONIC_CVTPD2PI: case ZYDIS_MNEMONIC_CVTTPD2PI:
	case ZYDIS_MNEMONIC_CVTSI2SD: case ZYDIS_MNEMONIC_CVTSD2SI: case ZYDIS_MNEMONIC_CVTTSD2SI:
	case ZYDIS_MNEMONIC_CVTPS2PD: case ZYDIS_MNEMONIC_CVTPD2PS:
	case ZYDIS_MNEMONIC_CVTSS2SD: case ZYDIS_MNEMONIC_CVTSD2SS:
	case ZYDIS_MNEMONIC_CVTDQ2PS: case ZYDIS_MNEMONIC_CVTPS2DQ: case ZYDIS_MNEMONIC_CVTTPS2DQ:
	case ZYDIS_MNEMONIC_CVTDQ2PD: case ZYDIS_MNEMONIC_CVTPD2DQ: case ZYDIS_MNEMONIC_CVTTPD2DQ:
	case ZYDIS_MNEMONIC_ADDSUBPS: case ZYDIS_MNEMONIC_ADDSUBPD:
	case ZYDIS_MNEMONIC_HADDPS: case ZYDIS_MNEMONIC_HADDPD:
	case ZYDIS_MNEMONIC_HSUBPS: case ZYDIS_MNEMONIC_HSUBPD:
	case ZYDIS_MNEMONIC_MOVSLDUP: case ZYDIS_MNEMONIC_MOVSHDUP: case ZYDIS_MNEMONIC_MOVDDUP:
	case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE:
	case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_PREFETCHNTA:
		return UNIT_SSE;
	default:
		return UNIT_NONE;
	}
}

static enum simd_gate simd_gate_of(const ZydisDecodedInstruction *insn,
				   const ZydisDecodedOperand *ops, enum simd_unit unit)
{
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FWAIT:
		return GATE_FWAIT;
	case ZYDIS_MNEMONIC_FNINIT: case ZYDIS_MNEMONIC_FNCLEX:
	case ZYDIS_MNEMONIC_FNSTSW: case ZYDIS_MNEMONIC_FNSTCW:
	case ZYDIS_MNEMONIC_FNSTENV: case ZYDIS_MNEMONIC_FNSAVE:
	case ZYDIS_MNEMONIC_FENI8087_NOP: case ZYDIS_MNEMONIC_FDISI8087_NOP:
	case ZYDIS_MNEMONIC_FSETPM287_NOP:
		return GATE_X87_NOWAIT;
	case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXSAVE64:
	case ZYDIS_MNEMONIC_FXRSTOR: case ZYDIS_MNEMONIC_FXRSTOR64:
		return GATE_FXSR;
	case ZYDIS_MNEMONIC_LDMXCSR: case ZYDIS_MNEMONIC_STMXCSR:
		return GATE_SSE;
	case ZYDIS_MNEMONIC_EMMS:
		return GATE_MMX;
	/* Table 13-1 note 1: not affected by EM, OSFXSR or TS. */
	case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE:
	case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_PREFETCHNTA:
	case ZYDIS_MNEMONIC_MOVNTI:
		return GATE_NONE;
	default:
		break;
	}
	if (unit == UNIT_X87)
		return GATE_X87;
	/*
	 * The register classes decide the rest: MMX-register-only forms
	 * (including the SSE additions PSHUFW, PAVGB mm, MASKMOVQ, ...) follow
	 * Tables 22-7/22-8 (no OSFXSR check); forms touching XMM follow Table
	 * 13-1; forms touching both (CVTPI2PS xmm, mm, MOVQ2DQ, ...) do both.
	 */
	bool mm = false, xmm = false;
	for (unsigned i = 0; i < insn->operand_count_visible; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		mm |= simd_reg_is_mm(ops[i].reg.value);
		xmm |= simd_reg_is_xmm(ops[i].reg.value);
	}
	if (mm && xmm)
		return GATE_MIXED;
	return mm ? GATE_MMX : GATE_SSE;
}

/* True if the instruction's memory operand is a destination only. */
static bool simd_stores_to_mem(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	const ZydisDecodedOperand *mem = simd_find_mem(insn, ops);
	return mem && (mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
	       !(mem->actions & ZYDIS_OPERAND_ACTION_MASK_READ);
}

/* Returns SIMD_OK to go on (with *ferr set for CR0.NE=0), or the exception. */
static int simd_gate_check(const struct simd_state *s, const struct simd_env *env,
			   enum simd_gate gate, bool *ferr)
{
	bool em = env->cr0 & SIMD_CR0_EM, ts = env->cr0 & SIMD_CR0_TS;
	bool pending = false;

	switch (gate) {
	case GATE_NONE:
		return SIMD_OK;
	case GATE_FWAIT:
		if (ts && (env->cr0 & SIMD_CR0_MP))
			return SIMD_EXC_NM;
		pending = true;
		break;
	case GATE_X87_NOWAIT:
	case GATE_FXSR:
		return em || ts ? SIMD_EXC_NM : SIMD_OK;
	case GATE_X87:
		if (em || ts)
			return SIMD_EXC_NM;
		pending = true;
		break;
	case GATE_MMX:
		if (em)
			return SIMD_EXC_UD;
		if (ts)
			return SIMD_EXC_NM;
		pending = true;
		break;
	case GATE_SSE:
	case GATE_MIXED:
		if (em || !(env->cr4 & SIMD_CR4_OSFXSR))
			return SIMD_EXC_UD;
		if (ts)
			return SIMD_EXC_NM;
		pending = gate == GATE_MIXED;
		break;
	}
	if (pending && (s->x87.fsw & X87_SW_ES)) {
		if (env->cr0 & SIMD_CR0_NE)
			return SIMD_EXC_MF;
		*ferr = true;
	}
	return SIMD_OK;
}

bool simd_handles(const ZydisDecodedInstruction *insn)
{
	return simd_unit_of(insn) != UNIT_NONE;
}

/*
 * Executes one instruction; see simd.h. CVTPI2PS/CVTPI2PD with a memory
 * source neither take pending x87 errors nor switch to MMX mode (their
 * instruction pages), which the register-class gating above gets right
 * because such a form has no MMX register operand.
 */
int simd_exec(struct simd_state *s, struct simd_env *env, const ZydisDecodedInstruction *insn,
	      const ZydisDecodedOperand *ops)
{
	enum simd_unit unit = simd_unit_of(insn);
	if (unit == UNIT_NONE)
		return SIMD_EXC_UD;
	bool ferr = false;
	enum simd_gate gate = simd_gate_of(insn, ops, unit);
	int rc = simd_gate_check(s, env, gate, &ferr);
	if (rc != SIMD_OK)
		return rc;
	bool mmx = (gate == GATE_MMX || gate == GATE_MIXED) &&
		   insn->mnemonic != ZYDIS_MNEMONIC_EMMS;
	/*
	 * A form with an MMX register operand enters MMX mode (TOP = 0, tags
	 * valid) once its source has been fetched, as this host does: also
	 * when it then raises #XM (CVTPS2PI), but not when its load faults or
	 * is misaligned. An MMX store that faults (MOVQ m64, mm) has set TOP to
	 * 0 but not yet the tags; MASKMOVQ has done both. Doing that part
	 * before the store keeps it right for a core whose memory callbacks
	 * unwind instead of returning false.
	 */
	if (mmx && insn->mnemonic == ZYDIS_MNEMONIC_MASKMOVQ)
		simd_mmx_enter(s);
	else if (mmx && simd_stores_to_mem(insn, ops))
		s->x87.fsw &= (uint16_t)~X87_SW_TOP;

	switch (unit) {
	case UNIT_X87:
		rc = simd_x87_exec(s, env, insn, ops);
		break;
	case UNIT_INT:
		rc = simd_int_exec(s, env, insn, ops);
		break;
	case UNIT_SSE:
		rc = simd_sse_exec(s, env, insn, ops);
		break;
	case UNIT_STATE:
		rc = simd_state_exec(s, env, insn, ops);
		break;
	case UNIT_NONE:
		return SIMD_EXC_UD;
	}
	if (mmx && (rc == SIMD_OK || rc == SIMD_EXC_XM || rc == SIMD_EXC_UD))
		simd_mmx_enter(s);
	if (rc != SIMD_OK)
		return rc;
	return ferr ? SIMD_FERR : SIMD_OK;
}

void simd_cpuid_features(uint32_t *leaf1_ecx, uint32_t *leaf1_edx)
{
	*leaf1_ecx |= (1u << 0)         /* SSE3 */
		   | (1u << 9);         /* SSSE3 */
	*leaf1_edx |= (1u << 0)         /* FPU */
		   | (1u << 23)         /* MMX */
		   | (1u << 24)         /* FXSR */
		   | (1u << 25)         /* SSE */
		   | (1u << 26);        /* SSE2 */
}

struct simd_state *simd_state_create(void)
{
	struct simd_state *s = aligned_alloc(64, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	simd_reset(s);
	return s;
}

void simd_state_destroy(struct simd_state *s)
{
	free(s);
}

/* Power-on/RESET values (SDM Vol. 3A Table 9-1); INIT leaves them alone. */
void simd_reset(struct simd_state *s)
{
	memset(&s->x87, 0, sizeof(s->x87));
	s->x87.fcw = 0x0040;
	s->x87.ftw = 0xff;              /* tag word 5555H: every register +0.0 */
	memset(s->xmm, 0, sizeof(s->xmm));
	s->mxcsr = 0x1f80;
}

/* Operand helpers ------------------------------------------------------- */

int simd_mem_read(struct simd_env *env, uint64_t linear, void *buf, unsigned len)
{
	return env->read(env->cpu, linear, buf, len) ? SIMD_OK : SIMD_FAULTED;
}

int simd_mem_write(struct simd_env *env, uint64_t linear, const void *buf, unsigned len)
{
	return env->write(env->cpu, linear, buf, len) ? SIMD_OK : SIMD_FAULTED;
}

/*
 * Legacy SSE forms with a 16-byte memory operand fault with #GP(0) when it is
 * not 16-byte aligned, except the explicitly unaligned moves (Vol. 1
 * 11.6.8; MASKMOVDQU's implicit operand is not a ModRM operand).
 */
static bool simd_needs_align16(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *op)
{
	if (op->size != 128 || op->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
		return false;
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_MOVDQU: case ZYDIS_MNEMONIC_LDDQU:
		return false;
	default:
		return true;
	}
}

/*
 * Reads a source operand into *out, zero-filled: an XMM register (16
 * bytes), an MMX register (8), a general register (its size) or memory (the
 * operand's size, alignment-checked). Nothing is changed on failure.
 */
int simd_vec_read(struct simd_state *s, struct simd_env *env, const ZydisDecodedOperand *op,
		  union simd_vec *out, bool align16)
{
	memset(out, 0, sizeof(*out));
	if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		unsigned len = op->size / 8;
		if (len > 16)
			len = 16;
		if (align16 && (env->mem_linear & 15))
			return SIMD_EXC_GP0;
		return simd_mem_read(env, env->mem_linear, out->b, len);
	}
	if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return SIMD_EXC_UD;
	ZydisRegister r = op->reg.value;
	if (simd_reg_is_xmm(r))
		*out = s->xmm[r - ZYDIS_REGISTER_XMM0];
	else if (simd_reg_is_mm(r))
		out->q[0] = simd_mm_get(s, r - ZYDIS_REGISTER_MM0);
	else
		out->q[0] = env->get_gpr(env->cpu, r) &
			    (op->size >= 64 ? ~0ull : (1ull << op->size) - 1);
	return SIMD_OK;
}

/* Writes a whole XMM or MMX register. */
void simd_vec_write_reg(struct simd_state *s, ZydisRegister reg, const union simd_vec *v)
{
	if (simd_reg_is_xmm(reg))
		s->xmm[reg - ZYDIS_REGISTER_XMM0] = *v;
	else if (simd_reg_is_mm(reg))
		simd_mm_set(s, reg - ZYDIS_REGISTER_MM0, v->q[0]);
}

int simd_vec_read_src(struct simd_state *s, struct simd_env *env,
		      const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *op,
		      union simd_vec *out)
{
	return simd_vec_read(s, env, op, out, simd_needs_align16(insn, op));
}

/* Stores op->size bits of *v to a memory operand, alignment-checked. */
int simd_vec_store(struct simd_env *env, const ZydisDecodedInstruction *insn,
		   const ZydisDecodedOperand *op, const union simd_vec *v)
{
	if (simd_needs_align16(insn, op) && (env->mem_linear & 15))
		return SIMD_EXC_GP0;
	unsigned len = op->size / 8;
	return simd_mem_write(env, env->mem_linear, v->b, len > 16 ? 16 : len);
}

const ZydisDecodedOperand *simd_find_mem(const ZydisDecodedInstruction *insn,
					 const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			return &ops[i];
	return NULL;
}

/*
 * The offset part (effective address) of a memory operand, for the x87 data
 * pointer: base + index * scale + displacement in the address size, RIP-
 * relative forms counted from the next instruction.
 */
uint64_t simd_effective_offset(struct simd_env *env, const ZydisDecodedInstruction *insn,
			       const ZydisDecodedOperand *op)
{
	uint64_t ea = (uint64_t)op->mem.disp.value;
	ZydisRegister base = op->mem.base;
	if (base == ZYDIS_REGISTER_RIP || base == ZYDIS_REGISTER_EIP)
		ea += env->rip + insn->length;
	else if (base != ZYDIS_REGISTER_NONE)
		ea += env->get_gpr(env->cpu, base);
	if (op->mem.index != ZYDIS_REGISTER_NONE)
		ea += env->get_gpr(env->cpu, op->mem.index) * op->mem.scale;
	if (insn->address_width == 16)
		ea &= 0xffff;
	else if (insn->address_width == 32)
		ea &= 0xffffffff;
	return ea;
}
