/*
 * Unit tests for the x87/MMX/SSE unit (src/cpu/simd*.c): what a 64-bit
 * user-mode differential test cannot observe. FSAVE/FSTENV images in the
 * 16/32-bit protected and real/V86 layouts and FXSAVE in the legacy and
 * 64-bit layouts, byte for byte against the SDM figures; tag-word
 * computation; the CR0.EM/TS/MP/NE and CR4.OSFXSR/OSXMMEXCPT gating (#NM,
 * #UD, #MF, FERR#, #XM); #GP(0) conditions; MMX/x87 aliasing; the last
 * instruction/data pointers; fault atomicity with a faulting fake MMU; and
 * random hostile instructions and state, after which the host FPU/MXCSR
 * state must be intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <Zydis/Zydis.h>

#include "cpu/simd.h"
#include "fake_simd_env.h"

#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x10000u

struct fx {
	struct simd_state *s;
	struct fake_simd_cpu cpu;
	uint8_t mem[MEM_SIZE];
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->s = simd_state_create();
	fake_simd_init(&f->cpu, f->mem, MEM_BASE, MEM_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	simd_state_destroy(f->s);
	free(f);
	return 0;
}

enum mode { M16 = 16, M32 = 32, M64 = 64 };

/* Sets the CPU mode of the fake core: long mode, or 32/16-bit code. */
static void set_mode(struct fx *f, enum mode m, bool protected_mode)
{
	f->cpu.env.long_mode = m == M64;
	f->cpu.env.cr0 = (f->cpu.env.cr0 & ~1ull) | (protected_mode ? 1 : 0);
}

/* Decodes `bytes` in mode `m` and runs them; returns simd_exec's result. */
static int run(struct fx *f, enum mode m, const uint8_t *bytes, unsigned len)
{
	ZydisDecoder d;
	ZydisDecoderInit(&d, m == M64 ? ZYDIS_MACHINE_MODE_LONG_64 :
			 m == M32 ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LEGACY_16,
			 m == M64 ? ZYDIS_STACK_WIDTH_64 :
			 m == M32 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16);
	assert_true(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, bytes, len, &f->insn, f->ops)));
	assert_true(simd_handles(&f->insn));
	uint16_t seg = f->cpu.env.mem_seg;              /* the test's DS/SS choice */
	fake_simd_set_mem(&f->cpu, &f->insn, f->ops);
	f->cpu.env.mem_seg = seg;
	if (f->cpu.env.has_mem)
		f->cpu.env.mem_linear += MEM_BASE;      /* flat segments based at MEM_BASE */
	return simd_exec(f->s, &f->cpu.env, &f->insn, f->ops);
}

#define RUN(f, m, ...)                                                          \
	({                                                                      \
		static const uint8_t b_[] = { __VA_ARGS__ };                    \
		run(f, m, b_, sizeof(b_));                                      \
	})

static uint8_t *at(struct fx *f, uint32_t off)
{
	return f->mem + off;
}

static void fxsave64(struct fx *f, uint8_t img[512])
{
	simd_state_get_fxsave(f->s, img);
}

static uint16_t fx16(const uint8_t *img, unsigned off)
{
	uint16_t v;
	memcpy(&v, img + off, 2);
	return v;
}

static uint32_t fx32(const uint8_t *img, unsigned off)
{
	uint32_t v;
	memcpy(&v, img + off, 4);
	return v;
}

/* ---- CPUID, decoding scope, reset ------------------------------------ */

static void test_cpuid_features(void **state)
{
	(void)state;
	uint32_t ecx = 0, edx = 0;
	simd_cpuid_features(&ecx, &edx);
	assert_int_equal(ecx, (1u << 0) | (1u << 9));                   /* SSE3 SSSE3 */
	assert_int_equal(edx, (1u << 0) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26));
	ecx = 0x80000000u;
	edx = 0x10u;
	simd_cpuid_features(&ecx, &edx);                                 /* ORs, keeps the rest */
	assert_true(ecx & 0x80000000u);
	assert_true(edx & 0x10u);
}

static bool handles(ZydisMachineMode mode, const uint8_t *b, unsigned len)
{
	ZydisDecoder d;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecoderInit(&d, mode, mode == ZYDIS_MACHINE_MODE_LONG_64 ? ZYDIS_STACK_WIDTH_64 :
			 ZYDIS_STACK_WIDTH_32);
	assert_true(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, b, len, &insn, ops)));
	return simd_handles(&insn);
}

#define HANDLES(...)                                                            \
	({                                                                      \
		static const uint8_t b_[] = { __VA_ARGS__ };                    \
		handles(ZYDIS_MACHINE_MODE_LONG_64, b_, sizeof(b_));            \
	})

static void test_handles_scope(void **state)
{
	(void)state;
	assert_true(HANDLES(0x0f, 0x58, 0xc1));                 /* addps */
	assert_true(HANDLES(0xd9, 0xe8));                       /* fld1 */
	assert_true(HANDLES(0x9b));                             /* fwait */
	assert_true(HANDLES(0x0f, 0x77));                       /* emms */
	assert_true(HANDLES(0x0f, 0xae, 0x07));                 /* fxsave */
	assert_true(HANDLES(0x48, 0x0f, 0xae, 0x0f));           /* fxrstor64 */
	assert_true(HANDLES(0x66, 0x0f, 0x38, 0x00, 0xc1));     /* pshufb */
	assert_true(HANDLES(0xdb, 0x0f));                       /* fisttp m32 (SSE3) */
	assert_false(HANDLES(0xa5));                            /* movsd (string) */
	assert_false(HANDLES(0xa7));                            /* cmpsd (string) */
	assert_false(HANDLES(0xc5, 0xf0, 0x58, 0xc1));          /* vaddps: AVX */
	assert_false(HANDLES(0x66, 0x0f, 0x38, 0x17, 0xc1));    /* ptest: SSE4.1 */
	assert_false(HANDLES(0x0f, 0xae, 0x38));                /* clflush */
	assert_false(HANDLES(0xf3, 0x90));                      /* pause */
	assert_false(HANDLES(0x0f, 0x01, 0xc8));                /* monitor */
	assert_false(HANDLES(0x01, 0xc1));                      /* add */
}

static void test_reset_state(void **state)
{
	struct fx *f = *state;
	uint8_t img[512];
	simd_reset(f->s);
	fxsave64(f, img);
	assert_int_equal(fx16(img, 0), 0x0040);                 /* FCW after RESET */
	assert_int_equal(fx16(img, 2), 0);
	assert_int_equal(img[4], 0xff);                         /* tag word 5555H */
	assert_int_equal(fx32(img, 24), 0x1f80);
	assert_int_equal(fx32(img, 28), 0xffff);
	for (unsigned i = 32; i < 416; i++)
		assert_int_equal(img[i], 0);
	/* FNSTENV after RESET shows the full tag word 5555H (all +0.0). */
	set_mode(f, M32, true);
	f->cpu.gpr[6] = 0x100;
	assert_int_equal(RUN(f, M32, 0xd9, 0x36), SIMD_OK);    /* fnstenv [esi] */
	assert_int_equal(fx16(at(f, 0x108), 0), 0x5555);
}

/* ---- environment images ---------------------------------------------- */

/*
 * A known x87 state in 32-bit protected mode: FNINIT; FLD1; FLDZ; FLD dword
 * [ebx+0x10] = 1.5 at CS:EIP 0008:00001234 with DS = 0010, EBX = 2000.
 * R7 = 1.0, R6 = +0, R5 = 1.5, TOP = 5; FOP = 143H; FDP = 2010H.
 */
static void known_state_pm32(struct fx *f)
{
	set_mode(f, M32, true);
	f->cpu.env.cs = 0x08;
	f->cpu.env.rip = 0x1000;
	assert_int_equal(RUN(f, M32, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M32, 0xd9, 0xe8), SIMD_OK);
	assert_int_equal(RUN(f, M32, 0xd9, 0xee), SIMD_OK);
	f->cpu.gpr[3] = 0x2000;
	uint32_t v = 0x3fc00000;
	memcpy(at(f, 0x2010), &v, 4);
	f->cpu.env.rip = 0x1234;
	f->cpu.env.mem_seg = 0x10;
	assert_int_equal(RUN(f, M32, 0xd9, 0x43, 0x10), SIMD_OK);
	f->cpu.env.rip = 0x1300;
	f->cpu.env.mem_seg = 0;
}

static void test_fstenv_protected_32(void **state)
{
	struct fx *f = *state;
	known_state_pm32(f);
	f->cpu.gpr[6] = 0x3000;
	memset(at(f, 0x3000), 0xcc, 64);
	assert_int_equal(RUN(f, M32, 0xd9, 0x36), SIMD_OK);    /* fnstenv [esi] */
	static const uint8_t want[28] = {
		0x7f, 0x03, 0xff, 0xff,  0x00, 0x28, 0xff, 0xff,  0xff, 0x13, 0xff, 0xff,
		0x34, 0x12, 0x00, 0x00,  0x08, 0x00, 0x43, 0x01,  0x10, 0x20, 0x00, 0x00,
		0x10, 0x00, 0xff, 0xff,
	};
	assert_memory_equal(at(f, 0x3000), want, sizeof(want));
	assert_int_equal(*at(f, 0x3000 + 28), 0xcc);

	/* FLDENV of the same image restores exactly that environment. */
	assert_int_equal(RUN(f, M32, 0xdb, 0xe3), SIMD_OK);    /* fninit */
	assert_int_equal(RUN(f, M32, 0xd9, 0x26), SIMD_OK);    /* fldenv [esi] */
	f->cpu.gpr[6] = 0x3100;
	assert_int_equal(RUN(f, M32, 0xd9, 0x36), SIMD_OK);
	assert_memory_equal(at(f, 0x3100), want, sizeof(want));
}

static void test_fstenv_protected_16(void **state)
{
	struct fx *f = *state;
	known_state_pm32(f);
	f->cpu.gpr[6] = 0x3000;
	memset(at(f, 0x3000), 0xcc, 32);
	assert_int_equal(RUN(f, M32, 0x66, 0xd9, 0x36), SIMD_OK);      /* o16 fnstenv */
	static const uint8_t want[14] = {
		0x7f, 0x03, 0x00, 0x28, 0xff, 0x13, 0x34, 0x12, 0x08, 0x00, 0x10, 0x20, 0x10, 0x00,
	};
	assert_memory_equal(at(f, 0x3000), want, sizeof(want));
	assert_int_equal(*at(f, 0x3000 + 14), 0xcc);
	assert_int_equal(RUN(f, M32, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M32, 0x66, 0xd9, 0x26), SIMD_OK);      /* o16 fldenv */
	f->cpu.gpr[6] = 0x3100;
	assert_int_equal(RUN(f, M32, 0x66, 0xd9, 0x36), SIMD_OK);
	assert_memory_equal(at(f, 0x3100), want, sizeof(want));
}

/*
 * The same state made in real mode: CS = 1000, IP = 0234 (linear 10234),
 * FLD dword [bx+10] with BX = 0100 and DS = 2000 (linear 20110), FOP 147H.
 */
static void known_state_real(struct fx *f)
{
	set_mode(f, M16, false);
	f->cpu.env.cs = 0x1000;
	f->cpu.env.rip = 0x0100;
	assert_int_equal(RUN(f, M16, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M16, 0xd9, 0xe8), SIMD_OK);
	assert_int_equal(RUN(f, M16, 0xd9, 0xee), SIMD_OK);
	f->cpu.gpr[3] = 0x0100;
	uint32_t v = 0x3fc00000;
	memcpy(at(f, 0x0110), &v, 4);
	f->cpu.env.rip = 0x0234;
	f->cpu.env.mem_seg = 0x2000;
	assert_int_equal(RUN(f, M16, 0xd9, 0x47, 0x10), SIMD_OK);
	f->cpu.env.mem_seg = 0;
}

static void test_fstenv_real_16(void **state)
{
	struct fx *f = *state;
	known_state_real(f);
	f->cpu.gpr[6] = 0x3000;
	memset(at(f, 0x3000), 0xcc, 32);
	assert_int_equal(RUN(f, M16, 0xd9, 0x34), SIMD_OK);    /* fnstenv [si] */
	static const uint8_t want[14] = {
		0x7f, 0x03, 0x00, 0x28, 0xff, 0x13, 0x34, 0x02, 0x47, 0x11, 0x10, 0x01, 0x00, 0x20,
	};
	assert_memory_equal(at(f, 0x3000), want, sizeof(want));
	assert_int_equal(*at(f, 0x3000 + 14), 0xcc);
	assert_int_equal(RUN(f, M16, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M16, 0xd9, 0x24), SIMD_OK);    /* fldenv [si] */
	f->cpu.gpr[6] = 0x3100;
	assert_int_equal(RUN(f, M16, 0xd9, 0x34), SIMD_OK);
	assert_memory_equal(at(f, 0x3100), want, sizeof(want));
}

static void test_fstenv_real_32(void **state)
{
	struct fx *f = *state;
	known_state_real(f);
	f->cpu.gpr[6] = 0x3000;
	memset(at(f, 0x3000), 0xcc, 32);
	assert_int_equal(RUN(f, M16, 0x66, 0xd9, 0x34), SIMD_OK);      /* o32 fnstenv [si] */
	static const uint8_t want[28] = {
		0x7f, 0x03, 0xff, 0xff,  0x00, 0x28, 0xff, 0xff,  0xff, 0x13, 0xff, 0xff,
		0x34, 0x02, 0xff, 0xff,  0x47, 0x11, 0x00, 0x00,  0x10, 0x01, 0xff, 0xff,
		0x00, 0x20, 0x00, 0x00,
	};
	assert_memory_equal(at(f, 0x3000), want, sizeof(want));
	assert_int_equal(RUN(f, M16, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M16, 0x66, 0xd9, 0x24), SIMD_OK);
	f->cpu.gpr[6] = 0x3100;
	assert_int_equal(RUN(f, M16, 0x66, 0xd9, 0x34), SIMD_OK);
	assert_memory_equal(at(f, 0x3100), want, sizeof(want));
}

/* Virtual-8086 mode uses the real-mode layouts (protected mode, EFLAGS.VM). */
static void test_fstenv_v86(void **state)
{
	struct fx *f = *state;
	known_state_real(f);
	set_mode(f, M16, true);
	f->cpu.rflags |= 1u << 17;
	f->cpu.gpr[6] = 0x3000;
	assert_int_equal(RUN(f, M16, 0xd9, 0x34), SIMD_OK);
	assert_int_equal(fx16(at(f, 0x3000), 8), 0x1147);       /* FIP[19:16], FOP */
	f->cpu.rflags &= ~(1ull << 17);
	assert_int_equal(RUN(f, M16, 0xd9, 0x34), SIMD_OK);
	assert_int_equal(fx16(at(f, 0x3000), 8), 0x1000);       /* FCS in protected mode */
}

static void test_fnsave_frstor(void **state)
{
	struct fx *f = *state;
	known_state_pm32(f);
	f->cpu.gpr[6] = 0x3000;
	memset(at(f, 0x3000), 0xcc, 128);
	assert_int_equal(RUN(f, M32, 0xdd, 0x36), SIMD_OK);    /* fnsave [esi] */
	/* ST0 = 1.5, ST1 = +0, ST2 = 1.0, ST3..ST7 = R0..R4 (+0 after reset). */
	static const uint8_t st[30] = {
		0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x3f,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f,
	};
	assert_int_equal(fx16(at(f, 0x3000), 8), 0x13ff);
	assert_memory_equal(at(f, 0x3000 + 28), st, sizeof(st));
	assert_int_equal(*at(f, 0x3000 + 108), 0xcc);
	/* FNSAVE then initializes the FPU. */
	uint8_t img[512];
	fxsave64(f, img);
	assert_int_equal(fx16(img, 0), 0x037f);
	assert_int_equal(fx16(img, 2), 0);
	assert_int_equal(img[4], 0);
	/* FRSTOR brings everything back; a second FNSAVE gives the same bytes. */
	assert_int_equal(RUN(f, M32, 0xdd, 0x26), SIMD_OK);    /* frstor [esi] */
	f->cpu.gpr[6] = 0x3200;
	assert_int_equal(RUN(f, M32, 0xdd, 0x36), SIMD_OK);
	assert_memory_equal(at(f, 0x3200), at(f, 0x3000), 108);
	/* The 16-bit image is 94 bytes: 14 of environment, then the registers. */
	assert_int_equal(RUN(f, M32, 0xdd, 0x26), SIMD_OK);
	f->cpu.gpr[6] = 0x3400;
	memset(at(f, 0x3400), 0xcc, 128);
	assert_int_equal(RUN(f, M32, 0x66, 0xdd, 0x36), SIMD_OK);
	assert_memory_equal(at(f, 0x3400 + 14), st, sizeof(st));
	assert_int_equal(*at(f, 0x3400 + 94), 0xcc);
}

static void test_fxsave_layouts(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 16; i++) {
		uint8_t x[16];
		memset(x, 0x10 + i, 16);
		uint8_t img[512];
		fxsave64(f, img);
		memcpy(img + 160 + 16 * i, x, 16);
		assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
	}
	known_state_pm32(f);
	/* Legacy mode: 32-bit pointers with selectors, XMM0-7 only (288 bytes). */
	f->cpu.gpr[6] = 0x4000;
	memset(at(f, 0x4000), 0xcc, 512);
	assert_int_equal(RUN(f, M32, 0x0f, 0xae, 0x06), SIMD_OK);      /* fxsave [esi] */
	const uint8_t *p = at(f, 0x4000);
	static const uint8_t head[32] = {
		0x7f, 0x03, 0x00, 0x28, 0xe0, 0x00, 0x43, 0x01,  0x34, 0x12, 0x00, 0x00, 0x08, 0x00,
		0x00, 0x00, 0x10, 0x20, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,  0x80, 0x1f, 0x00, 0x00,
		0xff, 0xff, 0x00, 0x00,
	};
	assert_memory_equal(p, head, sizeof(head));
	static const uint8_t st0[16] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x3f, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(p + 32, st0, 16);
	assert_int_equal(p[160], 0x10);
	assert_int_equal(p[287], 0x17);
	assert_int_equal(p[288], 0xcc);                          /* XMM8+ not stored */
	assert_int_equal(p[511], 0xcc);

	/* 64-bit mode: FXSAVE64 has 64-bit FIP/FDP and stores XMM0-15 (416 bytes). */
	set_mode(f, M64, true);
	f->cpu.env.rip = 0x123456789aull;
	f->cpu.gpr[3] = 0x2000;
	assert_int_equal(RUN(f, M64, 0xd9, 0x43, 0x10), SIMD_OK);      /* fld dword [rbx+16] */
	memset(at(f, 0x4000), 0xcc, 512);
	f->cpu.gpr[6] = 0x4000;
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0xae, 0x06), SIMD_OK); /* fxsave64 [rsi] */
	assert_int_equal(fx32(p, 8), 0x3456789a);
	assert_int_equal(fx32(p, 12), 0x12);
	assert_int_equal(fx32(p, 16), 0x2010);
	assert_int_equal(fx32(p, 20), 0);
	assert_int_equal(p[415], 0x1f);
	assert_int_equal(p[416], 0xcc);
	/* Without REX.W: the 32-bit pointer layout, still all sixteen XMM. */
	memset(at(f, 0x4000), 0xcc, 512);
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x06), SIMD_OK);
	assert_int_equal(fx32(p, 8), 0x3456789a);
	assert_int_equal(fx16(p, 12), f->cpu.env.cs);
	assert_int_equal(p[415], 0x1f);
	assert_int_equal(p[416], 0xcc);

	/* FXRSTOR64 of an FXSAVE64 image gives the state back; bad MXCSR is #GP(0). */
	uint8_t before[512], after[512];
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0xae, 0x06), SIMD_OK);
	fxsave64(f, before);
	assert_int_equal(RUN(f, M64, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0xae, 0x0e), SIMD_OK); /* fxrstor64 [rsi] */
	fxsave64(f, after);
	assert_memory_equal(before, after, 416);
	uint32_t bad = 0x10000 | 0x1f80;
	memcpy(at(f, 0x4000 + 24), &bad, 4);
	assert_int_equal(RUN(f, M64, 0xdb, 0xe3), SIMD_OK);
	fxsave64(f, before);
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0xae, 0x0e), SIMD_EXC_GP0);
	fxsave64(f, after);
	assert_memory_equal(before, after, 512);
	/* Misaligned area: #GP(0). */
	f->cpu.gpr[6] = 0x4008;
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x06), SIMD_EXC_GP0);
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x0e), SIMD_EXC_GP0);
}

/* ---- tags --------------------------------------------------------------- */

static void set_reg(uint8_t *img, unsigned st, uint64_t mant, uint16_t exp)
{
	memcpy(img + 32 + 16 * st, &mant, 8);
	memcpy(img + 40 + 16 * st, &exp, 2);
}

static void test_tag_word(void **state)
{
	struct fx *f = *state;
	uint8_t img[512];
	fxsave64(f, img);
	uint16_t fsw = 3 << 11;                                 /* TOP = 3: ST(i) = R(3+i) */
	memcpy(img + 2, &fsw, 2);
	img[4] = 0x7f;                                          /* R7 empty */
	set_reg(img, 0, 0x8000000000000000ull, 0x3fff);         /* R3 valid */
	set_reg(img, 1, 0, 0x8000);                             /* R4 zero (-0) */
	set_reg(img, 2, 1, 0);                                  /* R5 denormal: special */
	set_reg(img, 3, 0xc000000000000000ull, 0x7fff);         /* R6 NaN: special */
	set_reg(img, 5, 0x4000000000000000ull, 0x3fff);         /* R0 unnormal: special */
	set_reg(img, 6, 0x8000000000000000ull, 0x0000);         /* R1 pseudo-denormal: special */
	set_reg(img, 7, 0x8000000000000000ull, 0x7fff);         /* R2 infinity: special */
	assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
	set_mode(f, M32, true);
	f->cpu.gpr[6] = 0x100;
	assert_int_equal(RUN(f, M32, 0xd9, 0x36), SIMD_OK);
	/* R7..R0 = 11 10 10 01 00 10 10 10 */
	assert_int_equal(fx16(at(f, 0x100), 8), 0xe92a);

	/* FLDENV keeps only empty/non-empty; FXSAVE stores that abridged. */
	uint16_t tw = 0x36cd;                                   /* R6 R3 R1 empty (11) */
	memcpy(at(f, 0x108), &tw, 2);
	assert_int_equal(RUN(f, M32, 0xd9, 0x26), SIMD_OK);
	fxsave64(f, img);
	assert_int_equal(img[4], 0xb5);
}

/* ---- gating --------------------------------------------------------------- */

static void test_cr0_gating(void **state)
{
	struct fx *f = *state;
	uint64_t cr0 = f->cpu.env.cr0;
	const uint64_t EM = 4, TS = 8, MP = 2;

	f->cpu.env.cr0 = cr0 | EM;
	assert_int_equal(RUN(f, M64, 0xd8, 0xc1), SIMD_EXC_NM);        /* x87: #NM */
	assert_int_equal(RUN(f, M64, 0xdb, 0xe3), SIMD_EXC_NM);        /* even FNINIT */
	assert_int_equal(RUN(f, M64, 0x0f, 0xfc, 0xc1), SIMD_EXC_UD);  /* MMX: #UD */
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_EXC_UD);  /* SSE: #UD */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x07), SIMD_EXC_NM);  /* FXSAVE: #NM */
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_OK);                  /* WAIT ignores EM */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0xf8), SIMD_OK);      /* SFENCE */
	assert_int_equal(RUN(f, M64, 0x0f, 0x18, 0x07), SIMD_OK);      /* PREFETCHNTA */
	f->cpu.gpr[7] = 0x100;
	assert_int_equal(RUN(f, M64, 0x0f, 0xc3, 0x07), SIMD_OK);      /* MOVNTI */

	f->cpu.env.cr0 = (cr0 & ~MP) | TS;
	assert_int_equal(RUN(f, M64, 0xd8, 0xc1), SIMD_EXC_NM);
	assert_int_equal(RUN(f, M64, 0x0f, 0xfc, 0xc1), SIMD_EXC_NM);
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_EXC_NM);
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_OK);                  /* WAIT: TS alone */
	f->cpu.env.cr0 = cr0 | TS | MP;
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_EXC_NM);              /* WAIT: TS and MP */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0xe8), SIMD_OK);      /* LFENCE */

	/* CR4.OSFXSR = 0: XMM forms #UD; MMX-register forms, FXSAVE do not. */
	f->cpu.env.cr0 = cr0;
	f->cpu.env.cr4 &= ~(1ull << 9);
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_EXC_UD);
	assert_int_equal(RUN(f, M64, 0x66, 0x0f, 0xfc, 0xc1), SIMD_EXC_UD);   /* paddb xmm */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x17), SIMD_EXC_UD);  /* LDMXCSR */
	assert_int_equal(RUN(f, M64, 0x0f, 0x2a, 0xc1), SIMD_EXC_UD);  /* cvtpi2ps xmm, mm */
	assert_int_equal(RUN(f, M64, 0x0f, 0x70, 0xc1, 0x1b), SIMD_OK); /* pshufw */
	assert_int_equal(RUN(f, M64, 0x0f, 0xe0, 0xc1), SIMD_OK);      /* pavgb mm */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x07), SIMD_OK);      /* fxsave */
	f->cpu.env.cr4 |= 1ull << 9;
}

/* Makes a pending unmasked x87 exception: ZE flag set, ZE unmasked. */
static void make_pending(struct fx *f)
{
	uint8_t img[512];
	fxsave64(f, img);
	uint16_t fcw = 0x037b, fsw = 0x0004;
	memcpy(img + 0, &fcw, 2);
	memcpy(img + 2, &fsw, 2);
	img[4] = 0x03;
	set_reg(img, 0, 0x8000000000000000ull, 0x3fff);
	set_reg(img, 1, 0x8000000000000000ull, 0x4000);
	assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
}

static void test_pending_mf_and_ferr(void **state)
{
	struct fx *f = *state;
	uint8_t before[512], after[512];

	/* FDIV by zero with ZE unmasked leaves the exception pending, no #MF yet. */
	uint8_t img[512];
	fxsave64(f, img);
	uint16_t fcw = 0x037b;
	memcpy(img, &fcw, 2);
	memset(img + 2, 0, 2);
	img[4] = 0x03;
	set_reg(img, 0, 0x8000000000000000ull, 0x3fff);
	set_reg(img, 1, 0, 0);
	assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
	assert_int_equal(RUN(f, M64, 0xd8, 0xf1), SIMD_OK);            /* fdiv st0, st1 */
	fxsave64(f, img);
	assert_int_equal(fx16(img, 2) & 0x8085, 0x8084);                /* B ES ZE */
	assert_int_equal(fx16(img, 32 + 8), 0x3fff);                    /* ST0 unchanged */

	/* CR0.NE = 1: the next waiting x87 or MMX instruction raises #MF and does nothing. */
	make_pending(f);
	fxsave64(f, before);
	assert_int_equal(RUN(f, M64, 0xd8, 0xc1), SIMD_EXC_MF);
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_EXC_MF);
	assert_int_equal(RUN(f, M64, 0x0f, 0xfc, 0xc1), SIMD_EXC_MF);  /* paddb mm */
	assert_int_equal(RUN(f, M64, 0x0f, 0x2a, 0xc1), SIMD_EXC_MF);  /* cvtpi2ps xmm, mm */
	fxsave64(f, after);
	assert_memory_equal(before, after, 512);
	/* SSE and non-waiting x87 instructions do not look at it. */
	f->cpu.gpr[7] = 0x100;
	assert_int_equal(RUN(f, M64, 0x0f, 0x2a, 0x07), SIMD_OK);      /* cvtpi2ps xmm, m64 */
	fxsave64(f, after);
	assert_int_equal(after[4], before[4]);                          /* no MMX transition */
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_OK);
	assert_int_equal(RUN(f, M64, 0xdf, 0xe0), SIMD_OK);            /* fnstsw ax */
	assert_int_equal(f->cpu.gpr[0] & 0xffff, 0x8084);
	assert_int_equal(RUN(f, M64, 0xd9, 0x3f), SIMD_OK);            /* fnstcw */
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x07), SIMD_OK);      /* fxsave */
	/* FNCLEX clears it. */
	assert_int_equal(RUN(f, M64, 0xdb, 0xe2), SIMD_OK);
	assert_int_equal(RUN(f, M64, 0xd8, 0xc1), SIMD_OK);

	/*
	 * FLDCW unmasking a flag that is set makes it pending: a masked stack
	 * underflow (FDIV with an empty ST3) sets IE, then IE is unmasked.
	 */
	make_pending(f);
	assert_int_equal(RUN(f, M64, 0xdb, 0xe2), SIMD_OK);            /* fnclex */
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_OK);            /* fld1 */
	assert_int_equal(RUN(f, M64, 0xd8, 0xf3), SIMD_OK);            /* fdiv st0, st3 */
	fxsave64(f, img);
	assert_int_equal(fx16(img, 2) & 0xc1, 0x41);                    /* SF IE, no ES */
	uint16_t cw = 0x037b & ~1;                                      /* unmask IE too */
	memcpy(at(f, 0x200), &cw, 2);
	f->cpu.gpr[7] = 0x200;
	assert_int_equal(RUN(f, M64, 0xd9, 0x2f), SIMD_OK);            /* fldcw [rdi] */
	fxsave64(f, img);
	assert_true(fx16(img, 2) & 0x80);
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_EXC_MF);

	/* CR0.NE = 0: the instruction runs and the core is told to assert FERR#. */
	make_pending(f);
	f->cpu.env.cr0 &= ~(1ull << 5);
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_FERR);          /* fld1 runs */
	fxsave64(f, img);
	assert_int_equal((fx16(img, 2) >> 11) & 7, 7);                  /* pushed */
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_FERR);
	assert_int_equal(RUN(f, M64, 0xdf, 0xe0), SIMD_OK);            /* no-wait: nothing */
	assert_int_equal(RUN(f, M64, 0xdb, 0xe2), SIMD_OK);            /* handler: FNCLEX */
	assert_int_equal(RUN(f, M64, 0x9b), SIMD_OK);
	f->cpu.env.cr0 |= 1ull << 5;
}

static void set_xmm(struct fx *f, unsigned r, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	uint8_t img[512];
	fxsave64(f, img);
	uint32_t v[4] = { a, b, c, d };
	memcpy(img + 160 + 16 * r, v, 16);
	assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
}

static void set_mxcsr(struct fx *f, uint32_t mxcsr)
{
	uint8_t img[512];
	fxsave64(f, img);
	memcpy(img + 24, &mxcsr, 4);
	assert_int_equal(simd_state_set_fxsave(f->s, img), 0);
}

static void test_simd_fp_exceptions(void **state)
{
	struct fx *f = *state;
	uint8_t img[512];

	/* SNaN operand with IE unmasked: #XM, IE set, destination untouched. */
	set_xmm(f, 0, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000);
	set_xmm(f, 1, 0x3f800000, 0x7f800001, 0x3f800000, 0x3f800000);
	set_mxcsr(f, 0x1f80 & ~(1u << 7));
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_EXC_XM);  /* addps xmm0, xmm1 */
	fxsave64(f, img);
	assert_int_equal(fx32(img, 24), 0x1f01);
	assert_int_equal(fx32(img, 160 + 4), 0x3f800000);
	/* The same with CR4.OSXMMEXCPT = 0 is #UD. */
	set_mxcsr(f, 0x1f80 & ~(1u << 7));
	f->cpu.env.cr4 &= ~(1ull << 10);
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_EXC_UD);
	f->cpu.env.cr4 |= 1ull << 10;
	/* Masked: the QNaN result and the flag. */
	set_mxcsr(f, 0x1f80);
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0xc1), SIMD_OK);
	fxsave64(f, img);
	assert_int_equal(fx32(img, 160 + 4), 0x7fc00001);
	assert_int_equal(fx32(img, 160), 0x40000000);
	assert_int_equal(fx32(img, 24), 0x1f81);

	/* COMISS writes ZF PF CF and clears OF SF AF; unordered = 111. */
	f->cpu.rflags = 0x202 | 0x800 | 0x80 | 0x10;
	set_mxcsr(f, 0x1f80);
	set_xmm(f, 1, 0x7fc00000, 0, 0, 0);
	assert_int_equal(RUN(f, M64, 0x0f, 0x2f, 0xc1), SIMD_OK);
	assert_int_equal(f->cpu.rflags & 0x8d5, 0x45);
	fxsave64(f, img);
	assert_int_equal(fx32(img, 24), 0x1f81);                        /* COMISS: QNaN is IE */

	/* LDMXCSR with reserved bits: #GP(0), MXCSR unchanged. */
	uint32_t v = 0x20000;
	memcpy(at(f, 0x300), &v, 4);
	f->cpu.gpr[7] = 0x300;
	set_mxcsr(f, 0x1f80);
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x17), SIMD_EXC_GP0);
	fxsave64(f, img);
	assert_int_equal(fx32(img, 24), 0x1f80);
	v = 0xffff;
	memcpy(at(f, 0x300), &v, 4);
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x17), SIMD_OK);
	assert_int_equal(RUN(f, M64, 0x0f, 0xae, 0x1f), SIMD_OK);      /* stmxcsr */
	assert_int_equal(fx32(at(f, 0x300), 0), 0xffff);
}

static void test_alignment(void **state)
{
	struct fx *f = *state;
	f->cpu.gpr[7] = 0x108;
	assert_int_equal(RUN(f, M64, 0x0f, 0x28, 0x07), SIMD_EXC_GP0); /* movaps xmm0, [rdi] */
	assert_int_equal(RUN(f, M64, 0x0f, 0x29, 0x07), SIMD_EXC_GP0); /* movaps [rdi], xmm0 */
	assert_int_equal(RUN(f, M64, 0x0f, 0x58, 0x07), SIMD_EXC_GP0); /* addps */
	assert_int_equal(RUN(f, M64, 0x66, 0x0f, 0xfc, 0x07), SIMD_EXC_GP0);   /* paddb xmm */
	assert_int_equal(RUN(f, M64, 0x0f, 0x10, 0x07), SIMD_OK);      /* movups */
	assert_int_equal(RUN(f, M64, 0xf2, 0x0f, 0xf0, 0x07), SIMD_OK);        /* lddqu */
	assert_int_equal(RUN(f, M64, 0xf3, 0x0f, 0x58, 0x07), SIMD_OK);        /* addss m32 */
	assert_int_equal(RUN(f, M64, 0x0f, 0xfc, 0x07), SIMD_OK);      /* paddb mm, m64 */
	f->cpu.gpr[7] = 0x110;
	assert_int_equal(RUN(f, M64, 0x0f, 0x28, 0x07), SIMD_OK);
}

/* ---- MMX and x87 share the registers --------------------------------- */

static void test_mmx_aliasing(void **state)
{
	struct fx *f = *state;
	uint8_t img[512];

	assert_int_equal(RUN(f, M64, 0xdb, 0xe3), SIMD_OK);            /* fninit */
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_OK);            /* fld1: R7, TOP 7 */
	f->cpu.gpr[0] = 0x1122334455667788ull;
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0x6e, 0xf8), SIMD_OK); /* movq mm7, rax */
	fxsave64(f, img);
	assert_int_equal((fx16(img, 2) >> 11) & 7, 0);                  /* TOP = 0 */
	assert_int_equal(img[4], 0xff);                                 /* all valid */
	/* With TOP = 0, ST7 is R7: the MMX value with an all-ones exponent. */
	assert_int_equal(fx32(img, 32 + 16 * 7), 0x55667788);
	assert_int_equal(fx32(img, 32 + 16 * 7 + 4), 0x11223344);
	assert_int_equal(fx16(img, 32 + 16 * 7 + 8), 0xffff);
	/* EMMS: tags empty, TOP 0. */
	assert_int_equal(RUN(f, M64, 0x0f, 0x77), SIMD_OK);
	fxsave64(f, img);
	assert_int_equal(img[4], 0);
	assert_int_equal((fx16(img, 2) >> 11) & 7, 0);
	/* The x87 value 1.0 pushed into R7 reads as its significand in MM7. */
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_OK);            /* fld1 -> R7 */
	assert_int_equal(RUN(f, M64, 0x48, 0x0f, 0x7e, 0xf8), SIMD_OK); /* movq rax, mm7 */
	assert_int_equal(f->cpu.gpr[0], 0x8000000000000000ull);
	/* A full stack (MMX mode) makes the next FLD overflow: IE, SF, C1. */
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_OK);
	fxsave64(f, img);
	assert_int_equal(fx16(img, 2) & 0x2c1, 0x241);
	/* MMX instructions never touch the status flags or the pointers. */
	assert_int_equal(RUN(f, M64, 0xdb, 0xe2), SIMD_OK);            /* fnclex */
	fxsave64(f, img);
	uint8_t ptrs[18];
	memcpy(ptrs, img + 6, 18);
	assert_int_equal(RUN(f, M64, 0x0f, 0xfc, 0xc1), SIMD_OK);      /* paddb mm0, mm1 */
	fxsave64(f, img);
	assert_int_equal(fx16(img, 2) & 0xff, 0);
	assert_memory_equal(ptrs, img + 6, 18);
}

/* ---- last instruction and data pointers -------------------------------- */

static void test_pointers(void **state)
{
	struct fx *f = *state;
	uint8_t img[512];
	set_mode(f, M32, true);
	f->cpu.env.cs = 0x23;
	f->cpu.env.rip = 0x8000;
	f->cpu.env.mem_seg = 0x2b;
	f->cpu.gpr[3] = 0x500;
	f->cpu.gpr[1] = 0x20;
	assert_int_equal(RUN(f, M32, 0xdb, 0xe3), SIMD_OK);
	assert_int_equal(RUN(f, M32, 0xdd, 0x44, 0x8b, 0x08), SIMD_OK); /* fld qword [ebx+ecx*4+8] */
	fxsave64(f, img);
	assert_int_equal(fx16(img, 6), 0x544);                          /* FOP: DD 44 */
	f->cpu.env.long_mode = false;
	f->cpu.gpr[6] = 0x4000;
	assert_int_equal(RUN(f, M32, 0x0f, 0xae, 0x06), SIMD_OK);
	assert_int_equal(fx32(at(f, 0x4000), 8), 0x8000);
	assert_int_equal(fx16(at(f, 0x4000), 12), 0x23);
	assert_int_equal(fx32(at(f, 0x4000), 16), 0x588);               /* 500 + 20*4 + 8 */
	assert_int_equal(fx16(at(f, 0x4000), 20), 0x2b);
	/* A register form updates FIP/FOP but keeps the data pointer. */
	f->cpu.env.rip = 0x8010;
	assert_int_equal(RUN(f, M32, 0xd9, 0xe1), SIMD_OK);            /* fabs */
	/* Control instructions update nothing. */
	f->cpu.env.rip = 0x8020;
	assert_int_equal(RUN(f, M32, 0xd9, 0x7e, 0x00), SIMD_OK);      /* fnstcw [esi] */
	assert_int_equal(RUN(f, M32, 0x0f, 0xae, 0x06), SIMD_OK);
	assert_int_equal(fx32(at(f, 0x4000), 8), 0x8010);
	assert_int_equal(fx16(at(f, 0x4000), 6), 0x1e1);
	assert_int_equal(fx32(at(f, 0x4000), 16), 0x588);
	/* 16-bit addressing wraps the offset at 64 KiB. */
	set_mode(f, M16, true);
	f->cpu.gpr[3] = 0xfff0;
	f->cpu.gpr[6] = 0x0020;
	assert_int_equal(RUN(f, M16, 0xd9, 0x00), SIMD_OK);            /* fld dword [bx+si] */
	assert_int_equal(RUN(f, M32, 0x0f, 0xae, 0x06), SIMD_OK);      /* esi = 20 now */
	assert_int_equal(fx32(at(f, 0x20), 16), 0x0010);
	/* FNINIT clears the pointers. */
	assert_int_equal(RUN(f, M32, 0xdb, 0xe3), SIMD_OK);
	fxsave64(f, img);
	for (unsigned i = 6; i < 24; i++)
		assert_int_equal(img[i], 0);
}

/* ---- faults leave no trace ------------------------------------------- */

/* Every byte of memory and of the unit's state must be as before. */
static void expect_untouched(struct fx *f, const uint8_t *state_before, const uint8_t *mem_before)
{
	uint8_t img[512];
	fxsave64(f, img);
	assert_memory_equal(state_before, img, 512);
	assert_memory_equal(mem_before, f->mem, MEM_SIZE);
}

static void test_fault_atomicity(void **state)
{
	struct fx *f = *state;
	static uint8_t mem_before[MEM_SIZE];
	uint8_t st[512];

	for (unsigned i = 0; i < MEM_SIZE; i++)
		f->mem[i] = (uint8_t)(i * 7);
	assert_int_equal(RUN(f, M64, 0xdb, 0xe3), SIMD_OK);            /* fninit */
	assert_int_equal(RUN(f, M64, 0xd9, 0xe8), SIMD_OK);
	assert_int_equal(RUN(f, M64, 0xd9, 0xeb), SIMD_OK);
	set_xmm(f, 2, 1, 2, 3, 4);
	/* Faulting page at 0x8000..0x9000 (linear MEM_BASE + ...). */
	f->cpu.fault_lo = MEM_BASE + 0x8000;
	f->cpu.fault_hi = MEM_BASE + 0x9000;
	fxsave64(f, st);
	memcpy(mem_before, f->mem, MEM_SIZE);

	struct { uint64_t rdi; uint8_t b[5]; unsigned len; const char *what; } cases[] = {
		{ 0x7ff8, { 0xdb, 0x3f }, 2, "fstp tbyte straddling" },
		{ 0x7ffc, { 0xdd, 0x1f }, 2, "fstp qword straddling" },
		{ 0x8000, { 0xdd, 0x07 }, 2, "fld qword" },
		{ 0x7ff8, { 0xdf, 0x37 }, 2, "fbstp" },
		{ 0x7ff0, { 0xdd, 0x37 }, 2, "fnsave" },
		{ 0x7ff0, { 0xdd, 0x27 }, 2, "frstor" },
		{ 0x7ff0, { 0xd9, 0x37 }, 2, "fnstenv" },
		{ 0x7f00, { 0x0f, 0xae, 0x07 }, 3, "fxsave: last 256 bytes" },
		{ 0x7f00, { 0x0f, 0xae, 0x0f }, 3, "fxrstor" },
		{ 0x7ff8, { 0xf3, 0x0f, 0x7f, 0x17 }, 4, "movdqu store" },
		{ 0x8000, { 0x66, 0x0f, 0xfc, 0x17 }, 4, "paddb xmm load" },
		{ 0x7ffe, { 0x0f, 0xae, 0x17 }, 3, "ldmxcsr" },
		{ 0x8000, { 0x0f, 0xae, 0x1f }, 3, "stmxcsr" },
		{ 0x7ff8, { 0x66, 0x0f, 0xf7, 0xd1 }, 4, "maskmovdqu" },
		{ 0x7fff, { 0xd9, 0x3f }, 2, "fnstcw" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->cpu.gpr[7] = cases[i].rdi;
		f->cpu.gpr[2] = 0;
		set_xmm(f, 1, ~0u, ~0u, ~0u, ~0u);                      /* maskmovdqu mask */
		fxsave64(f, st);
		int rc = run(f, M64, cases[i].b, cases[i].len);
		if (rc != SIMD_FAULTED)
			fail_msg("%s: rc %d, want SIMD_FAULTED", cases[i].what, rc);
		expect_untouched(f, st, mem_before);
	}
	f->cpu.fault_lo = f->cpu.fault_hi = 0;
}

/* ---- hostile input ------------------------------------------------------- */

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Random instruction bytes in every mode, random state (any FXSAVE image
 * simd_state_set_fxsave accepts), random control registers and a fake MMU
 * that faults now and then: every return code must be one of the contract's
 * and the host's x87 control word and MXCSR must be what they were.
 */
static void test_hostile(void **state)
{
	struct fx *f = *state;
	static const ZydisMachineMode modes[3] = {
		ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_MACHINE_MODE_LEGACY_16,
	};
	static const uint8_t lead[] = { 0x0f, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
					0x66, 0xf2, 0xf3, 0x9b, 0x48, 0x4c };
	uint16_t host_cw, host_cw_after;
	uint32_t host_mx, host_mx_after;
	__asm__ volatile("fnstcw %0\n stmxcsr %1" : "=m"(host_cw), "=m"(host_mx));
	unsigned executed = 0;

	for (unsigned iter = 0; iter < 200000; iter++) {
		uint8_t b[16];
		for (unsigned i = 0; i < 16; i++)
			b[i] = (uint8_t)rnd();
		for (unsigned i = 0, n = (unsigned)(rnd() % 3); i < n; i++)
			b[i] = lead[rnd() % sizeof(lead)];
		ZydisMachineMode mode = modes[rnd() % 3];
		ZydisDecoder d;
		ZydisDecoderInit(&d, mode, mode == ZYDIS_MACHINE_MODE_LONG_64 ? ZYDIS_STACK_WIDTH_64 :
				 mode == ZYDIS_MACHINE_MODE_LEGACY_32 ? ZYDIS_STACK_WIDTH_32 :
				 ZYDIS_STACK_WIDTH_16);
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(&d, b, 16, &f->insn, f->ops)) ||
		    !simd_handles(&f->insn))
			continue;
		if (rnd() % 8 == 0) {
			uint8_t img[512];
			for (unsigned i = 0; i < 512; i++)
				img[i] = (uint8_t)rnd();
			simd_state_set_fxsave(f->s, img);       /* refused if MXCSR is bad */
		}
		for (unsigned i = 0; i < 16; i++)
			f->cpu.gpr[i] = rnd() % 4 ? rnd() % MEM_SIZE : rnd();
		f->cpu.rflags = rnd();
		f->cpu.env.cr0 = rnd() % 4 ? 0x80000033 : rnd();
		f->cpu.env.cr4 = rnd() % 4 ? 0x620 : rnd();
		f->cpu.env.long_mode = mode == ZYDIS_MACHINE_MODE_LONG_64;
		f->cpu.fault_lo = MEM_BASE + rnd() % MEM_SIZE;
		f->cpu.fault_hi = f->cpu.fault_lo + rnd() % 64;
		fake_simd_set_mem(&f->cpu, &f->insn, f->ops);
		if (rnd() % 16 == 0)
			f->cpu.env.has_mem = false;             /* a confused core */
		f->cpu.env.mem_linear = rnd() % 2 ? MEM_BASE + rnd() % (MEM_SIZE + 64) : rnd();
		int rc = simd_exec(f->s, &f->cpu.env, &f->insn, f->ops);
		assert_true(rc >= SIMD_OK && rc <= SIMD_FERR);
		executed++;
	}
	__asm__ volatile("fnstcw %0\n stmxcsr %1" : "=m"(host_cw_after), "=m"(host_mx_after));
	assert_int_equal(host_cw, host_cw_after);
	assert_int_equal(host_mx, host_mx_after);
	print_message("hostile: %u instructions executed\n", executed);
	assert_true(executed > 1000);
	f->cpu.fault_lo = f->cpu.fault_hi = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_features),
		cmocka_unit_test(test_handles_scope),
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fstenv_protected_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fstenv_protected_16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fstenv_real_16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fstenv_real_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fstenv_v86, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fnsave_frstor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fxsave_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cr0_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_mf_and_ferr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simd_fp_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmx_aliasing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_atomicity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
