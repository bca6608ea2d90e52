/*
 * simd: PLACEHOLDER for the x87/MMX/SSE unit (see simd.h). The real unit is
 * built on another branch; until it lands this file keeps the contract so
 * the integer core builds and runs: every instruction of those ISA sets is
 * claimed and raises #UD, and no feature is advertised in CPUID, which is
 * exactly what a CPU without these units does. The integrator takes the
 * SIMD branch's simd.c over this one.
 */
#include <stdlib.h>

#include "cpu/simd.h"

struct simd_state {
	int unused;
};

struct simd_state *simd_state_create(void)
{
	return calloc(1, sizeof(struct simd_state));
}

void simd_state_destroy(struct simd_state *s)
{
	free(s);
}

void simd_reset(struct simd_state *s)
{
	(void)s;
}

bool simd_handles(const ZydisDecodedInstruction *insn)
{
	switch (insn->meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87:
	case ZYDIS_ISA_EXT_MMX:
	case ZYDIS_ISA_EXT_SSE:
	case ZYDIS_ISA_EXT_SSE2:
	case ZYDIS_ISA_EXT_SSE3:
	case ZYDIS_ISA_EXT_SSSE3:
		return true;
	default:
		return insn->meta.isa_set == ZYDIS_ISA_SET_FXSAVE ||
		       insn->meta.isa_set == ZYDIS_ISA_SET_FXSAVE64;
	}
}

int simd_exec(struct simd_state *s, struct simd_env *env, const ZydisDecodedInstruction *insn,
	      const ZydisDecodedOperand *ops)
{
	(void)s;
	(void)env;
	(void)insn;
	(void)ops;
	return SIMD_EXC_UD;
}

void simd_cpuid_features(uint32_t *leaf1_ecx, uint32_t *leaf1_edx)
{
	(void)leaf1_ecx;
	(void)leaf1_edx;
}
