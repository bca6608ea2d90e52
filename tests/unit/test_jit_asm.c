/*
 * test_jit_asm: the JIT's x86-64 encoder (src/cpu/jit_asm.c) against the
 * Zydis decoder. Each case encodes one instruction and checks that Zydis
 * reads back exactly that instruction - mnemonic, every operand, and a
 * length equal to the bytes written - over the ModRM/SIB corner cases of
 * SDM Vol. 2A 2.1.5 (RSP/R12 bases need a SIB byte, RBP/R13 bases a
 * displacement), REX for R8-R15 and for SPL..DIL, and every operand size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <Zydis/Zydis.h>

#include "cpu/jit_asm.h"

enum { X_REG = 1, X_MEM, X_IMM };

/* One expected operand. */
struct xop {
	int kind;
	ZydisRegister reg;              /* X_REG; X_MEM: the base */
	ZydisRegister index;            /* X_MEM */
	unsigned scale;                 /* X_MEM: 1, 2, 4, 8 (0: no index) */
	int64_t disp;                   /* X_MEM */
	unsigned bits;                  /* X_MEM: access size (0: LEA, none) */
	uint64_t imm;                   /* X_IMM (as Zydis extends it) */
};

#define R(r) { X_REG, ZYDIS_REGISTER_##r, 0, 0, 0, 0, 0 }
#define M(b, i, s, d, bits) { X_MEM, ZYDIS_REGISTER_##b, ZYDIS_REGISTER_##i, s, d, bits, 0 }
#define I(v) { X_IMM, 0, 0, 0, 0, 0, (uint64_t)(v) }

static uint8_t buf[64];

static struct asm_buf fresh(void)
{
	memset(buf, 0xcc, sizeof(buf));
	return (struct asm_buf){ buf, buf + sizeof(buf), false };
}

/* The bytes a wrote are one instruction mn with the operands ops. */
static void expect(const struct asm_buf *a, ZydisMnemonic mn, unsigned n, const struct xop *ops)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	assert_false(a->full);
	size_t len = (size_t)(a->p - buf);
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	assert_true(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, buf, len, &insn, zo)));
	assert_int_equal(insn.length, len);
	assert_int_equal(insn.mnemonic, mn);
	assert_true(insn.operand_count_visible >= n);
	for (unsigned i = 0; i < n; i++) {
		const ZydisDecodedOperand *o = &zo[i];
		switch (ops[i].kind) {
		case X_REG:
			assert_int_equal(o->type, ZYDIS_OPERAND_TYPE_REGISTER);
			assert_int_equal(o->reg.value, ops[i].reg);
			break;
		case X_MEM:
			assert_int_equal(o->type, ZYDIS_OPERAND_TYPE_MEMORY);
			assert_int_equal(o->mem.base, ops[i].reg);
			assert_int_equal(o->mem.index, ops[i].index);
			if (ops[i].scale)
				assert_int_equal(o->mem.scale, ops[i].scale);
			assert_int_equal(o->mem.disp.has_displacement ? o->mem.disp.value : 0,
					 ops[i].disp);
			if (ops[i].bits)
				assert_int_equal(o->size, ops[i].bits);
			break;
		case X_IMM:
			assert_int_equal(o->type, ZYDIS_OPERAND_TYPE_IMMEDIATE);
			assert_int_equal(o->imm.value.u, ops[i].imm);
			break;
		}
	}
}

#define EXPECT(a, mn, ...)                                                     \
	do {                                                                   \
		const struct xop ops_[] = { __VA_ARGS__ };                     \
		expect(&(a), ZYDIS_MNEMONIC_##mn, sizeof(ops_) / sizeof(ops_[0]), ops_); \
	} while (0)

static void test_moves(void **state)
{
	struct asm_buf a = fresh();
	asm_load(&a, 8, ASM_AX, asm_m(ASM_DI, 0x10));
	EXPECT(a, MOV, R(RAX), M(RDI, NONE, 0, 0x10, 64));
	a = fresh();
	asm_load(&a, 4, ASM_R9, asm_m(ASM_R13, 0));     /* R13 base: disp8 0 */
	EXPECT(a, MOV, R(R9D), M(R13, NONE, 0, 0, 32));
	a = fresh();
	asm_load(&a, 1, ASM_DX, asm_mx(ASM_R12, ASM_R13, 3, -8));  /* R12 base: SIB */
	EXPECT(a, MOVZX, R(EDX), M(R12, R13, 8, -8, 8));
	a = fresh();
	asm_load(&a, 1, ASM_SI, asm_r(ASM_DI));         /* SIL/DIL need a REX */
	EXPECT(a, MOVZX, R(ESI), R(DIL));
	a = fresh();
	asm_load(&a, 2, ASM_CX, asm_m(ASM_SP, 0x200));  /* RSP base: SIB, disp32 */
	EXPECT(a, MOVZX, R(ECX), M(RSP, NONE, 0, 0x200, 16));
	a = fresh();
	asm_load_sx(&a, 4, ASM_R10, asm_m(ASM_AX, 0));
	EXPECT(a, MOVSXD, R(R10), M(RAX, NONE, 0, 0, 32));
	a = fresh();
	asm_load_sx(&a, 1, ASM_DX, asm_m(ASM_BP, 0x7f));
	EXPECT(a, MOVSX, R(RDX), M(RBP, NONE, 0, 0x7f, 8));
	a = fresh();
	asm_store(&a, 1, asm_m(ASM_R13, 0), ASM_SI);
	EXPECT(a, MOV, M(R13, NONE, 0, 0, 8), R(SIL));
	a = fresh();
	asm_store(&a, 2, asm_mx(ASM_DI, ASM_R8, 0, 0x4c0), ASM_R11);
	EXPECT(a, MOV, M(RDI, R8, 1, 0x4c0, 16), R(R11W));
	a = fresh();
	asm_store_imm(&a, 8, asm_m(ASM_DI, 0xa8), -1);
	EXPECT(a, MOV, M(RDI, NONE, 0, 0xa8, 64), I(UINT64_MAX));
	a = fresh();
	asm_store_imm(&a, 2, asm_m(ASM_DI, 0), 0x1234);
	EXPECT(a, MOV, M(RDI, NONE, 0, 0, 16), I(0x1234));
	a = fresh();
	asm_lea(&a, 4, ASM_AX, asm_mx(ASM_AX, ASM_R8, 2, -0x1000));
	EXPECT(a, LEA, R(EAX), M(RAX, R8, 4, -0x1000, 0));
}

static void test_immediates(void **state)
{
	struct asm_buf a = fresh();
	asm_mov_imm(&a, ASM_R8, 0x12345678);
	EXPECT(a, MOV, R(R8D), I(0x12345678));
	a = fresh();
	asm_mov_imm(&a, ASM_AX, 0xffffffff80000000ULL);
	EXPECT(a, MOV, R(RAX), I(0xffffffff80000000ULL));
	a = fresh();
	asm_mov_imm(&a, ASM_R15, 0x123456789abcdefULL);
	EXPECT(a, MOV, R(R15), I(0x123456789abcdefULL));
}

static void test_alu(void **state)
{
	struct asm_buf a = fresh();
	asm_alu(&a, ASM_CMP, 8, ASM_R9, asm_mx(ASM_DI, ASM_R8, 0, 0x4c0));
	EXPECT(a, CMP, R(R9), M(RDI, R8, 1, 0x4c0, 64));
	a = fresh();
	asm_alu(&a, ASM_SBB, 1, ASM_DX, asm_r(ASM_CX));
	EXPECT(a, SBB, R(DL), R(CL));
	a = fresh();
	asm_alu_imm(&a, ASM_AND, 8, asm_r(ASM_R9), -4096);
	EXPECT(a, AND, R(R9), I(0xfffffffffffff000ULL));
	a = fresh();
	asm_alu_imm(&a, ASM_ADD, 2, asm_m(ASM_SP, 8), 0x1234);
	EXPECT(a, ADD, M(RSP, NONE, 0, 8, 16), I(0x1234));
	a = fresh();
	asm_alu_imm(&a, ASM_XOR, 1, asm_r(ASM_AX), 0xff);
	EXPECT(a, XOR, R(AL), I(-1));   /* Zydis sign-extends the imm8 */
	a = fresh();
	asm_alu_imm(&a, ASM_SUB, 4, asm_m(ASM_DI, 0x100), 1);
	EXPECT(a, SUB, M(RDI, NONE, 0, 0x100, 32), I(1));
	a = fresh();
	asm_test(&a, 1, asm_r(ASM_AX), ASM_AX);
	EXPECT(a, TEST, R(AL), R(AL));
	a = fresh();
	asm_test_imm(&a, 1, asm_r(ASM_CX), 0x1f);
	EXPECT(a, TEST, R(CL), I(0x1f));
	a = fresh();
	asm_neg(&a, 8, asm_r(ASM_R9));
	EXPECT(a, NEG, R(R9));
	a = fresh();
	asm_mul(&a, 4, asm_m(ASM_CX, 0));
	EXPECT(a, MUL, M(RCX, NONE, 0, 0, 32));
	a = fresh();
	asm_imul(&a, 2, ASM_DX, asm_m(ASM_DI, 0x20));
	EXPECT(a, IMUL, R(DX), M(RDI, NONE, 0, 0x20, 16));
	a = fresh();
	asm_imul_imm(&a, 8, ASM_DX, asm_r(ASM_R14), 1000);
	EXPECT(a, IMUL, R(RDX), R(R14), I(1000));
}

static void test_shifts_and_conditions(void **state)
{
	struct asm_buf a = fresh();
	asm_shift_imm(&a, ASM_SAR, 4, asm_r(ASM_R10), 3);
	EXPECT(a, SAR, R(R10D), I(3));
	a = fresh();
	asm_shift_imm(&a, 1 /* ROR */, 1, asm_m(ASM_AX, 0), 7);
	EXPECT(a, ROR, M(RAX, NONE, 0, 0, 8), I(7));
	a = fresh();
	asm_op_cl(&a, 0 /* ROL */, 8, asm_r(ASM_DX));
	EXPECT(a, ROL, R(RDX), R(CL));
	a = fresh();
	asm_setcc(&a, 0xf, ASM_AX);
	EXPECT(a, SETNLE, R(AL));
	a = fresh();
	asm_cmov(&a, 5, 4, ASM_DX, asm_r(ASM_CX));
	EXPECT(a, CMOVNZ, R(EDX), R(ECX));
}

static void test_control(void **state)
{
	struct asm_buf a = fresh();
	uint8_t *fix = asm_jcc(&a, 4);
	asm_patch(fix, buf + 40);
	EXPECT(a, JZ, I(40 - 6));
	a = fresh();
	fix = asm_jmp(&a);
	asm_patch(fix, buf);
	EXPECT(a, JMP, I((uint64_t)-5));
	a = fresh();
	asm_jmp_reg(&a, ASM_R11);
	EXPECT(a, JMP, R(R11));
	a = fresh();
	asm_call_reg(&a, ASM_AX);
	EXPECT(a, CALL, R(RAX));
	a = fresh();
	asm_push(&a, ASM_R12);
	EXPECT(a, PUSH, R(R12));
	a = fresh();
	asm_pop(&a, ASM_DI);
	EXPECT(a, POP, R(RDI));
}

/* A full buffer stops writing and says so. */
static void test_overflow(void **state)
{
	struct asm_buf a = { buf, buf + 3, false };
	asm_mov_imm(&a, ASM_R15, 0x123456789abcdefULL);
	assert_true(a.full);
	assert_ptr_equal(a.p, buf + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moves),
		cmocka_unit_test(test_immediates),
		cmocka_unit_test(test_alu),
		cmocka_unit_test(test_shifts_and_conditions),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
