/*
 * simd: the software CPU's x87, MMX and SSE/SSE2/SSE3/SSSE3 unit.
 *
 * The integer core (decode cache, dispatch, segmentation, paging) hands any
 * instruction whose Zydis ISA set is x87, MMX, SSE..SSSE3, or one of the
 * state instructions (FXSAVE/FXRSTOR, FSAVE/FRSTOR, FNSTENV/FLDENV, EMMS,
 * LDMXCSR/STMXCSR, FWAIT) to simd_exec() together with a small environment:
 * general-register access, memory access through the core's MMU (which may
 * fault), the control bits that gate the unit, and the effective address of a
 * memory operand that the core has already computed.
 *
 * The unit owns struct simd_state (x87 stack and control/status/tag words,
 * last-instruction pointers, MMX aliasing of the x87 registers, XMM0-15,
 * MXCSR); the core holds one per vCPU by pointer.
 *
 * Faults: simd_exec() returns SIMD_OK, or one of the SIMD_EXC_* codes for the
 * core to raise (with no architectural change made by the instruction), or
 * SIMD_FAULTED when an env memory access already raised a fault (page fault,
 * #GP, #SS) and the instruction must be abandoned. The only changes that
 * survive an exception are the ones the hardware itself makes first: the
 * MXCSR flags an #XM (or its #UD when CR4.OSXMMEXCPT=0) reports, and the
 * x87-to-MMX switch (TOP = 0) of an MMX form. A core whose env callbacks
 * unwind instead of returning false is fine too: memory is read before and
 * written after everything else, and nothing is committed in between.
 *
 * Intel SDM Vol. 1 chapters 8-12; Vol. 2 instruction pages.
 */
#ifndef LODGE_SIMD_H
#define LODGE_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

struct simd_state;                      /* private to the unit; the core holds a pointer */

enum simd_result {
	SIMD_OK = 0,
	SIMD_FAULTED,                   /* an env access already raised a fault */
	SIMD_EXC_UD,                    /* #UD: CR0.EM, CR4.OSFXSR, unsupported */
	SIMD_EXC_NM,                    /* #NM: CR0.TS (or EM for x87) */
	SIMD_EXC_MF,                    /* #MF: pending unmasked x87 exception, CR0.NE=1 */
	SIMD_EXC_XM,                    /* #XM: unmasked SIMD FP exception, CR4.OSXMMEXCPT=1 */
	SIMD_EXC_GP0,                   /* #GP(0): misaligned 16-byte operand, bad MXCSR */
	SIMD_FERR,                      /* x87 error with CR0.NE=0: assert FERR#/IRQ13;
					 * the instruction has completed (see simd.c) */
};

struct simd_env {
	void *cpu;
	/* Control bits the unit obeys. */
	uint64_t cr0, cr4;
	bool long_mode, operand_16;     /* FSAVE/FLDENV layouts differ by mode/size */
	/* The instruction's own address, for FIP/FCS and FDP/FDS. */
	uint64_t rip;
	uint16_t cs, ds;
	/* Memory operand: linear address computed by the core (valid if has_mem).
	 * MASKMOVQ/MASKMOVDQU have only the implicit DS:rDI operand (segment
	 * override applies): the core must put its linear address here too. */
	bool has_mem;
	uint64_t mem_linear;
	uint16_t mem_seg;
	/* General registers by Zydis id (any width incl. AH..DH, with the usual
	 * zero-extension of 32-bit writes in 64-bit mode). ZYDIS_REGISTER_RFLAGS
	 * reads and writes the flags: FCMOVcc reads them, FCOMI/FUCOMI(P) and
	 * (U)COMISS/(U)COMISD write OF SF ZF AF PF CF, and the real/V86 FSAVE
	 * layouts look at VM. */
	uint64_t (*get_gpr)(void *cpu, ZydisRegister reg);
	void (*set_gpr)(void *cpu, ZydisRegister reg, uint64_t value);
	/* Linear memory access; return false after raising a fault. A write of
	 * several parts must be checked first with probe_write. */
	bool (*read)(void *cpu, uint64_t linear, void *buf, unsigned len);
	bool (*write)(void *cpu, uint64_t linear, const void *buf, unsigned len);
	bool (*probe_write)(void *cpu, uint64_t linear, unsigned len);
};

struct simd_state *simd_state_create(void);
void simd_state_destroy(struct simd_state *s);
void simd_reset(struct simd_state *s);  /* power-on/RESET state (SDM Vol. 3A 9.1) */

int simd_exec(struct simd_state *s, struct simd_env *env, const ZydisDecodedInstruction *insn,
	      const ZydisDecodedOperand *ops);
/* True for instructions simd_exec() handles. */
bool simd_handles(const ZydisDecodedInstruction *insn);
/*
 * OR into CPUID leaf 1 ECX/EDX exactly the features this unit implements
 * (FPU, MMX, FXSR, SSE, SSE2, SSE3, SSSE3), so the core never advertises
 * more than exists.
 */
void simd_cpuid_features(uint32_t *leaf1_ecx, uint32_t *leaf1_edx);

/*
 * The unit's whole state as a 512-byte FXSAVE64 image (64-bit FIP/FDP,
 * XMM0-15; SDM Vol. 2 FXSAVE Table 3-53), for moving a vCPU between engines
 * (KVM's struct kvm_fpu holds the same fields) or for save files. Loading
 * returns -EINVAL, and changes nothing, if MXCSR has reserved bits set.
 */
void simd_state_get_fxsave(const struct simd_state *s, uint8_t img[512]);
int simd_state_set_fxsave(struct simd_state *s, const uint8_t img[512]);

#endif
