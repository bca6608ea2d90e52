/*
 * jit_asm: x86-64 instruction encoding for the JIT (see jit_asm.h).
 *
 * Intel SDM Vol. 2A: 2.1 (prefixes, opcode, ModRM, SIB, displacement,
 * immediate), 2.1.5 (addressing forms: RSP/R12 as a base need a SIB byte,
 * RBP/R13 as a base with no displacement need a zero disp8), 2.2.1 (REX:
 * W = 64-bit operand, R/X/B extend ModRM.reg, SIB.index and the base).
 * Opcodes from Appendix A and each instruction's page.
 */
#include <string.h>

#include "cpu/jit_asm.h"

void asm_byte(struct asm_buf *a, uint8_t b)
{
	if (a->p >= a->end) {
		a->full = true;
		return;
	}
	*a->p++ = b;
}

void asm_u32(struct asm_buf *a, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		asm_byte(a, (uint8_t)(v >> (8 * i)));
}

static void asm_u64(struct asm_buf *a, uint64_t v)
{
	asm_u32(a, (uint32_t)v);
	asm_u32(a, (uint32_t)(v >> 32));
}

/*
 * Prefixes, opcode bytes and ModRM (+ SIB + displacement) for an
 * instruction whose ModRM.reg is reg (a register or an opcode extension)
 * and whose ModRM.rm is rm. size 2 adds the operand-size prefix, size 8
 * REX.W; size 1 always carries a REX so 4-7 are SPL..DIL.
 */
static void asm_modrm(struct asm_buf *a, unsigned size, const uint8_t *opc, unsigned nopc,
		      unsigned reg, struct asm_rm rm)
{
	unsigned base = rm.reg, index = rm.index;
	bool has_base = !rm.mem || base != ASM_NONE;
	uint8_t rex = 0x40;
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (rm.mem && index != ASM_NONE && (index & 8))
		rex |= 2;
	if (has_base && (base & 8))
		rex |= 1;
	if (size == 2)
		asm_byte(a, 0x66);
	if (rex != 0x40 || size == 1)
		asm_byte(a, rex);
	for (unsigned i = 0; i < nopc; i++)
		asm_byte(a, opc[i]);
	if (!rm.mem) {
		asm_byte(a, (uint8_t)(0xc0 | (reg & 7) << 3 | (base & 7)));
		return;
	}
	int32_t disp = rm.disp;
	unsigned mod;
	if (!has_base)
		mod = 0;                        /* SIB with no base: disp32 */
	else if (disp == 0 && (base & 7) != 5)
		mod = 0;
	else if (disp >= -128 && disp <= 127)
		mod = 1;
	else
		mod = 2;
	bool sib = !has_base || index != ASM_NONE || (base & 7) == 4;
	asm_byte(a, (uint8_t)(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (base & 7))));
	if (sib) {
		unsigned idx = index == ASM_NONE ? 4 : (index & 7);
		asm_byte(a, (uint8_t)(rm.scale << 6 | idx << 3 | (has_base ? (base & 7) : 5)));
	}
	if (mod == 1)
		asm_byte(a, (uint8_t)disp);
	else if (mod == 2 || !has_base)
		asm_u32(a, (uint32_t)disp);
}

static void asm_op1(struct asm_buf *a, unsigned size, uint8_t opc, unsigned reg, struct asm_rm rm)
{
	asm_modrm(a, size, &opc, 1, reg, rm);
}

static void asm_op2(struct asm_buf *a, unsigned size, uint8_t opc, unsigned reg, struct asm_rm rm)
{
	const uint8_t o[2] = { 0x0f, opc };
	asm_modrm(a, size, o, 2, reg, rm);
}

static void asm_imm(struct asm_buf *a, unsigned size, int32_t imm)
{
	if (size == 1)
		asm_byte(a, (uint8_t)imm);
	else if (size == 2) {
		asm_byte(a, (uint8_t)imm);
		asm_byte(a, (uint8_t)(imm >> 8));
	} else
		asm_u32(a, (uint32_t)imm);
}

void asm_load(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm)
{
	if (size == 1)
		asm_op2(a, 1, 0xb6, reg, rm);   /* MOVZX r32, r/m8 (REX: SPL..DIL) */
	else if (size == 2)
		asm_op2(a, 4, 0xb7, reg, rm);   /* MOVZX r32, r/m16 */
	else
		asm_op1(a, size, 0x8b, reg, rm);
}

void asm_load_sx(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm)
{
	if (size == 1)
		asm_op2(a, 8, 0xbe, reg, rm);   /* MOVSX r64, r/m8 */
	else if (size == 2)
		asm_op2(a, 8, 0xbf, reg, rm);
	else
		asm_op1(a, 8, 0x63, reg, rm);   /* MOVSXD */
}

void asm_store(struct asm_buf *a, unsigned size, struct asm_rm rm, unsigned reg)
{
	asm_op1(a, size, size == 1 ? 0x88 : 0x89, reg, rm);
}

void asm_store_imm(struct asm_buf *a, unsigned size, struct asm_rm rm, int32_t imm)
{
	asm_op1(a, size, size == 1 ? 0xc6 : 0xc7, 0, rm);
	asm_imm(a, size == 8 ? 4 : size, imm);
}

void asm_mov_imm(struct asm_buf *a, unsigned reg, uint64_t imm)
{
	if (imm <= 0xffffffffu) {
		if (reg & 8)
			asm_byte(a, 0x41);
		asm_byte(a, (uint8_t)(0xb8 + (reg & 7)));       /* MOV r32, imm32 */
		asm_u32(a, (uint32_t)imm);
	} else if ((int64_t)imm >= INT32_MIN && (int64_t)imm <= INT32_MAX) {
		asm_op1(a, 8, 0xc7, 0, asm_r(reg));             /* sign-extended imm32 */
		asm_u32(a, (uint32_t)imm);
	} else {
		asm_byte(a, (uint8_t)(0x48 | (reg >> 3)));
		asm_byte(a, (uint8_t)(0xb8 + (reg & 7)));       /* MOV r64, imm64 */
		asm_u64(a, imm);
	}
}

void asm_lea(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm)
{
	asm_op1(a, size, 0x8d, reg, rm);
}

void asm_alu(struct asm_buf *a, unsigned op, unsigned size, unsigned reg, struct asm_rm rm)
{
	asm_op1(a, size, (uint8_t)(op << 3 | (size == 1 ? 2 : 3)), reg, rm);
}

void asm_alu_imm(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm, int32_t imm)
{
	if (size == 1) {
		asm_op1(a, 1, 0x80, op, rm);
		asm_byte(a, (uint8_t)imm);
	} else if (imm >= -128 && imm <= 127) {
		asm_op1(a, size, 0x83, op, rm);
		asm_byte(a, (uint8_t)imm);
	} else {
		asm_op1(a, size, 0x81, op, rm);
		asm_imm(a, size, imm);
	}
}

void asm_test(struct asm_buf *a, unsigned size, struct asm_rm rm, unsigned reg)
{
	asm_op1(a, size, size == 1 ? 0x84 : 0x85, reg, rm);
}

void asm_test_imm(struct asm_buf *a, unsigned size, struct asm_rm rm, int32_t imm)
{
	asm_op1(a, size, size == 1 ? 0xf6 : 0xf7, 0, rm);
	asm_imm(a, size, imm);
}

void asm_shift_imm(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm, uint8_t imm)
{
	asm_op1(a, size, size == 1 ? 0xc0 : 0xc1, op, rm);
	asm_byte(a, imm);
}

void asm_op_cl(struct asm_buf *a, unsigned op, unsigned size, struct asm_rm rm)
{
	asm_op1(a, size, size == 1 ? 0xd2 : 0xd3, op, rm);
}

void asm_neg(struct asm_buf *a, unsigned size, struct asm_rm rm)
{
	asm_op1(a, size, size == 1 ? 0xf6 : 0xf7, 3, rm);
}

void asm_mul(struct asm_buf *a, unsigned size, struct asm_rm rm)
{
	asm_op1(a, size, size == 1 ? 0xf6 : 0xf7, 4, rm);
}

void asm_imul(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm)
{
	asm_op2(a, size, 0xaf, reg, rm);
}

void asm_imul_imm(struct asm_buf *a, unsigned size, unsigned reg, struct asm_rm rm, int32_t imm)
{
	if (imm >= -128 && imm <= 127) {
		asm_op1(a, size, 0x6b, reg, rm);
		asm_byte(a, (uint8_t)imm);
	} else {
		asm_op1(a, size, 0x69, reg, rm);
		asm_imm(a, size, imm);
	}
}

void asm_setcc(struct asm_buf *a, unsigned cc, unsigned reg)
{
	asm_op2(a, 1, (uint8_t)(0x90 | cc), 0, asm_r(reg));
}

void asm_cmov(struct asm_buf *a, unsigned cc, unsigned size, unsigned reg, struct asm_rm rm)
{
	asm_op2(a, size, (uint8_t)(0x40 | cc), reg, rm);
}

uint8_t *asm_jcc(struct asm_buf *a, unsigned cc)
{
	asm_byte(a, 0x0f);
	asm_byte(a, (uint8_t)(0x80 | cc));
	uint8_t *fix = a->p;
	asm_u32(a, 0);
	return a->full ? NULL : fix;
}

uint8_t *asm_jmp(struct asm_buf *a)
{
	asm_byte(a, 0xe9);
	uint8_t *fix = a->p;
	asm_u32(a, 0);
	return a->full ? NULL : fix;
}

void asm_patch(uint8_t *fix, const uint8_t *target)
{
	if (!fix)
		return;
	int32_t rel = (int32_t)(target - (fix + 4));
	memcpy(fix, &rel, 4);
}

void asm_jmp_reg(struct asm_buf *a, unsigned reg)
{
	asm_op1(a, 4, 0xff, 4, asm_r(reg));
}

void asm_call_reg(struct asm_buf *a, unsigned reg)
{
	asm_op1(a, 4, 0xff, 2, asm_r(reg));
}

void asm_push(struct asm_buf *a, unsigned reg)
{
	if (reg & 8)
		asm_byte(a, 0x41);
	asm_byte(a, (uint8_t)(0x50 + (reg & 7)));
}

void asm_pop(struct asm_buf *a, unsigned reg)
{
	if (reg & 8)
		asm_byte(a, 0x41);
	asm_byte(a, (uint8_t)(0x58 + (reg & 7)));
}

void asm_pushf(struct asm_buf *a)
{
	asm_byte(a, 0x9c);
}

void asm_ret(struct asm_buf *a)
{
	asm_byte(a, 0xc3);
}
