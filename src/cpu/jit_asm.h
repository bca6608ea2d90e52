/*
 * jit_asm: the x86-64 instructions the JIT (jit.c) emits, encoded by hand.
 *
 * The JIT needs a few dozen forms - MOV, MOVZX/MOVSX, LEA, the eight ALU
 * operations, shifts by an immediate, IMUL, SETcc/CMOVcc, Jcc/JMP rel32,
 * indirect JMP/CALL - each with a register or a base+index*scale+disp
 * memory operand. Encoding them is the ModRM/SIB/REX scheme of Intel SDM
 * Vol. 2A chapter 2 (2.1 instruction format, 2.2.1 REX prefixes); a general
 * encoder library would cost a request structure and a validation pass per
 * instruction on the path that compiles hot blocks.
 *
 * Host registers are numbered as in ModRM (ASM_AX = 0 ... ASM_R15 = 15).
 * Sizes are operand sizes in bytes (1, 2, 4, 8); 32-bit results
 * zero-extend into the 64-bit register as on hardware. Every byte-sized
 * form carries a REX prefix, so register numbers 4-7 mean SPL..DIL, never
 * AH..BH.
 */
#ifndef LODGE_CPU_JIT_ASM_H
#define LODGE_CPU_JIT_ASM_H

#include <stdbool.h>
#include <stdint.h>

enum { ASM_AX, ASM_CX, ASM_DX, ASM_BX, ASM_SP, ASM_BP, ASM_SI, ASM_DI,
       ASM_R8, ASM_R9, ASM_R10, ASM_R11, ASM_R12, ASM_R13, ASM_R14, ASM_R15 };
#define ASM_NONE 0xff

/* Where code goes. On overflow the writes stop and full is set: the
 * caller throws the half-built function away. */
struct asm_buf {
	uint8_t *p, *end;
	bool full;
};

/* A register or a memory operand [base + index * 2^scale + disp]. */
struct asm_rm {
	bool mem;
	uint8_t reg;                    /* the register, or the base (ASM_NONE: none) */
	uint8_t index;                  /* ASM_NONE: none */
	uint8_t scale;
	int32_t disp;
};

static inline struct asm_rm asm_r(unsigned reg)
{
	return (struct asm_rm){ .reg = (uint8_t)reg, .index = ASM_NONE };
}

static inline struct asm_rm asm_m(unsigned base, int32_t disp)
{
	return (struct asm_rm){ true, (uint8_t)base, ASM_NONE, 0, disp };
}

static inline struct asm_rm asm_mx(unsigned base, unsigned index, unsigned scale, int32_t disp)
{
	return (struct asm_rm){ true, (uint8_t)base, (uint8_t)index, (uint8_t)scale, disp };
}

/* ALU operations in their ModRM.reg order (SDM Vol. 2 Table A-6, group 1). */
enum { ASM_ADD, ASM_OR, ASM_ADC, ASM_SBB, ASM_AND, ASM_SUB, ASM_XOR, ASM_CMP };
/* Shift group 2 /digit. */
enum { ASM_SHL = 4, ASM_SHR = 5, ASM_SAR = 7 };

void asm_byte(struct asm_buf *a, uint8_t b);
void asm_u32(struct asm_buf *a, uint32_t v);

/* reg = zero-extended load of size bytes from rm (MOVZX for 1 and 2). */
void asm_load(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm);
/* reg = sign-extended load of size (1, 2, 4) bytes into 64 bits. */
void asm_load_sx(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm);
/* rm = low size bytes of reg. */
void asm_store(struct asm_buf *a, unsigned size, struct asm_rm rm, unsigned reg);
/* rm = imm (sign-extended from 32 bits for size 8). */
void asm_store_imm(struct asm_buf *a, unsigned size, struct asm_rm rm, int32_t imm);
/* reg = imm, the shortest form. */
void asm_mov_imm(struct asm_buf *a, unsigned reg, uint64_t imm);
/* reg = address of rm, size 4 or 8. */
void asm_lea(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm);
/* reg op= rm (op ASM_ADD..ASM_CMP). */
void asm_alu(struct asm_buf *a, unsigned op, unsigned size, unsigned reg, struct asm_rm rm);
/* rm op= imm. */
void asm_alu_imm(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm, int32_t imm);
/* TEST rm, reg / TEST rm, imm. */
void asm_test(struct asm_buf *a, unsigned size, struct asm_rm rm, unsigned reg);
void asm_test_imm(struct asm_buf *a, unsigned size, struct asm_rm rm, int32_t imm);
/* rm shifted or rotated by imm (op ASM_SHL/SHR/SAR, 0 = ROL, 1 = ROR). */
void asm_shift_imm(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm, uint8_t imm);
/* rm shifted or rotated by CL (op ASM_SHL/SHR/SAR, 0 = ROL, 1 = ROR). */
void asm_op_cl(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm);
/* NEG rm; MUL rm (rDX:rAX = rAX * rm). */
void asm_neg(struct asm_buf *a, unsigned size, struct asm_rm rm);
void asm_mul(struct asm_buf *a, unsigned size, struct asm_rm rm);
/* reg *= rm (two-operand IMUL, size 2, 4 or 8); reg = rm * imm. */
void asm_imul(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm);
void asm_imul_imm(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm, int32_t imm);
/* The low byte of reg = condition cc; reg = rm when cc (size 2, 4, 8). */
void asm_setcc(struct asm_buf *a, unsigned cc, unsigned reg);
void asm_cmov(struct asm_buf *a, unsigned cc, unsigned size, unsigned reg, struct asm_rm rm);
/* Jumps with a 32-bit displacement: the position of that displacement is
 * returned for asm_patch. */
uint8_t *asm_jcc(struct asm_buf *a, unsigned cc);
uint8_t *asm_jmp(struct asm_buf *a);
/* Point the displacement at fix to target. */
void asm_patch(uint8_t *fix, const uint8_t *target);
/* JMP/CALL through a register; PUSH/POP of a register; PUSHFQ; RET. */
void asm_jmp_reg(struct asm_buf *a, unsigned reg);
void asm_call_reg(struct asm_buf *a, unsigned reg);
void asm_push(struct asm_buf *a, unsigned reg);
void asm_pop(struct asm_buf *a, unsigned reg);
void asm_pushf(struct asm_buf *a);
void asm_ret(struct asm_buf *a);

#endif
