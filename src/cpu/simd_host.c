/*
 * simd_host: computing x87 and SSE floating-point results on the host CPU.
 *
 * Why the host FPU and not a soft-float: Lodge only runs on x86-64 hosts, and
 * the guest must see exactly what a real x86 computes, including the parts no
 * standard pins down: 80-bit extended precision with precision control, the
 * x87's C1 round-up bit, pseudo-denormals and unnormals, FSIN/FPATAN/F2XM1
 * and friends to the last bit, FPREM's partial remainders, RCPPS/RSQRTPS
 * approximation tables, DAZ/FTZ and the x86 rules for NaN propagation and
 * tininess. A soft-float would reproduce one CPU's choices at best and be
 * wrong in the transcendental corners; the host reproduces itself, and the
 * KVM engine shows the guest that very host anyway.
 *
 * x87 (Intel SDM Vol. 1 8, Vol. 2 FXSAVE/FXRSTOR): simd_host_x87_run()
 * saves the host's x87/SSE state with FXSAVE64, loads the guest's x87 state
 * (registers, TOP, tags, control word; the exception flags are loaded cleared
 * so nothing is pending), loads the guest's arithmetic flags, calls a
 * two-byte stub holding the guest's own D8-DF opcode and ModRM (memory forms
 * address the scratch operand at [rdi]), stores the result with FXSAVE64,
 * clears any exception the instruction raised with FNCLEX and restores the
 * host's state with FXRSTOR64. Unmasked x87 exceptions never trap inside the
 * monitor: x87 exceptions are delivered only at the next waiting x87
 * instruction, and the only instructions after the guest's are FXSAVE64,
 * FNCLEX and FXRSTOR64, none of which waits. Because the guest's control word
 * is loaded as is, unmasked-exception behaviour (no store, no pop, biased
 * exponents on register overflow) is the hardware's own.
 *
 * SSE (Vol. 1 11.5): simd_host_sse_run() runs one scalar operation (ADDSS,
 * CVTSD2SI, CMPSS imm, ...) with the guest's rounding control, DAZ and FZ and
 * with every exception masked, so it never traps; simd_sse.c builds packed
 * instructions lane by lane and applies the unmasked-exception rules of
 * Vol. 1 11.5.1 itself. The host's MXCSR is saved before and restored after.
 *
 * In both cases the host state of the calling (vCPU) thread is exactly what
 * it was before the call: the caller-saved XMM registers are restored too.
 * The stubs are fixed code in .text (no code is generated at run time); each
 * starts with ENDBR64 so that indirect calls to it are valid under CET.
 *
 * Thread: any vCPU thread, on its own simd_state; no locks.
 */
#include "cpu/simd_internal.h"

_Static_assert(offsetof(struct simd_host_x87, fx_out) == 512, "asm offsets");
_Static_assert(offsetof(struct simd_host_x87, mem) == 1024, "asm offsets");
_Static_assert(offsetof(struct simd_host_x87, stub) == 1040, "asm offsets");
_Static_assert(offsetof(struct simd_host_x87, rflags) == 1048, "asm offsets");
_Static_assert(offsetof(struct simd_host_sse, gpr) == 32, "asm offsets");
_Static_assert(offsetof(struct simd_host_sse, mxcsr) == 40, "asm offsets");
_Static_assert(offsetof(struct simd_host_sse, rflags) == 48, "asm offsets");

void simd_host_x87_call(struct simd_host_x87 *h) __attribute__((visibility("hidden")));
void simd_host_sse_call(struct simd_host_sse *f, const void *stub)
	__attribute__((visibility("hidden")));
extern const unsigned char simd_host_x87_reg_stubs[] __attribute__((visibility("hidden")));
extern const unsigned char simd_host_x87_mem_stubs[] __attribute__((visibility("hidden")));
extern const unsigned char simd_host_sse_stubs[] __attribute__((visibility("hidden")));

#define SIMD_HOST_SSE_STUB(name, text)                                         \
	"	.balign 16\n"                                                  \
	"1:	endbr64\n"                                                     \
	"	" text "\n"                                                    \
	"	ret\n"                                                         \
	"	.if . - 1b > 16\n"                                             \
	"	.error \"SSE stub " #name " is longer than 16 bytes\"\n"       \
	"	.endif\n"

__asm__(
	"	.pushsection .text\n"

	/* void simd_host_x87_call(struct simd_host_x87 *h) */
	"	.balign 16\n"
	"	.globl simd_host_x87_call\n"
	"	.hidden simd_host_x87_call\n"
	"	.type simd_host_x87_call, @function\n"
	"simd_host_x87_call:\n"
	"	endbr64\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	push %rbx\n"
	"	sub $520, %rsp\n"
	"	and $-64, %rsp\n"
	"	mov %rdi, %rbx\n"
	"	fxsave64 (%rsp)\n"              /* host x87/SSE state */
	"	fxrstor64 0(%rbx)\n"            /* guest x87 state, nothing pending */
	"	pushfq\n"                       /* host flags */
	"	pushq 1048(%rbx)\n"
	"	popfq\n"                        /* guest OF SF ZF AF PF CF */
	"	lea 1024(%rbx), %rdi\n"
	"	call *1040(%rbx)\n"
	"	pushfq\n"
	"	popq 1048(%rbx)\n"
	"	popfq\n"
	"	fxsave64 512(%rbx)\n"           /* does not wait: no #MF here */
	"	fnclex\n"
	"	fxrstor64 (%rsp)\n"
	"	mov -8(%rbp), %rbx\n"
	"	leave\n"
	"	ret\n"
	"	.size simd_host_x87_call, . - simd_host_x87_call\n"

	/* void simd_host_sse_call(struct simd_host_sse *f, const void *stub) */
	"	.balign 16\n"
	"	.globl simd_host_sse_call\n"
	"	.hidden simd_host_sse_call\n"
	"	.type simd_host_sse_call, @function\n"
	"simd_host_sse_call:\n"
	"	endbr64\n"
	"	sub $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	movdqu (%rdi), %xmm0\n"
	"	movdqu 16(%rdi), %xmm1\n"
	"	mov 32(%rdi), %rax\n"
	"	ldmxcsr 40(%rdi)\n"
	"	call *%rsi\n"
	"	stmxcsr 40(%rdi)\n"
	"	pushfq\n"
	"	popq 48(%rdi)\n"
	"	ldmxcsr (%rsp)\n"
	"	movdqu %xmm0, (%rdi)\n"
	"	mov %rax, 32(%rdi)\n"
	"	add $8, %rsp\n"
	"	ret\n"
	"	.size simd_host_sse_call, . - simd_host_sse_call\n"

	/* x87 register forms: opcode D8+o, ModRM C0+m, 8 bytes each. */
	"	.balign 16\n"
	"	.globl simd_host_x87_reg_stubs\n"
	"	.hidden simd_host_x87_reg_stubs\n"
	"simd_host_x87_reg_stubs:\n"
	"	.irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	"	.set simd_host_m, 0xc0\n"
	"	.rept 64\n"
	"	.balign 8\n"
	"	endbr64\n"
	"	.byte \\op, simd_host_m\n"
	"	ret\n"
	"	.set simd_host_m, simd_host_m + 1\n"
	"	.endr\n"
	"	.endr\n"

	/* x87 memory forms: opcode D8+o, ModRM (reg << 3) | 7 = [rdi]. */
	"	.balign 16\n"
	"	.globl simd_host_x87_mem_stubs\n"
	"	.hidden simd_host_x87_mem_stubs\n"
	"simd_host_x87_mem_stubs:\n"
	"	.irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	"	.irp r, 0, 1, 2, 3, 4, 5, 6, 7\n"
	"	.balign 8\n"
	"	endbr64\n"
	"	.byte \\op, (\\r << 3) | 7\n"
	"	ret\n"
	"	.endr\n"
	"	.endr\n"

	/* Scalar SSE operations, 16 bytes each, in enum simd_host_op order. */
	"	.balign 16\n"
	"	.globl simd_host_sse_stubs\n"
	"	.hidden simd_host_sse_stubs\n"
	"simd_host_sse_stubs:\n"
	SIMD_HOST_SSE_OPS(SIMD_HOST_SSE_STUB)
	"	.popsection\n");

/*
 * Register forms that are not valid instructions, or that simd_x87.c handles
 * itself (FNCLEX, FNINIT, FNSTSW AX and the 8087/287 no-ops), have no stub:
 * reaching one would mean a decoder disagreement, and must not execute an
 * invalid opcode in the monitor.
 */
static bool x87_reg_form_runs_on_host(uint8_t opcode, uint8_t modrm)
{
	switch (opcode) {
	case 0xd9:
		if (modrm >= 0xd1 && modrm <= 0xd7)
			return false;
		return !(modrm == 0xe2 || modrm == 0xe3 || modrm == 0xe6 || modrm == 0xe7 ||
			 modrm == 0xef);
	case 0xda:
		return modrm < 0xe0 || modrm == 0xe9;
	case 0xdb:
		return modrm < 0xe0 || (modrm >= 0xe8 && modrm <= 0xf7);
	case 0xdd:
		return modrm < 0xf0;
	case 0xde:
		return !(modrm == 0xd8 || (modrm >= 0xda && modrm <= 0xdf));
	case 0xdf:
		return modrm < 0xe0 || (modrm >= 0xe8 && modrm <= 0xf7);
	default:
		return true;
	}
}

/*
 * Memory forms the host runs: everything that touches at most 10 bytes.
 * FLDENV, FLDCW, FNSTENV, FNSTCW, FRSTOR, FNSAVE and FNSTSW are done in
 * software (they touch the environment, not the data path), and
 * D9 /1, DB /4, DB /6, DD /5 are invalid.
 */
static bool x87_mem_form_runs_on_host(uint8_t opcode, unsigned reg)
{
	switch (opcode) {
	case 0xd9:
		return reg == 0 || reg == 2 || reg == 3;
	case 0xdb:
		return reg != 4 && reg != 6;
	case 0xdd:
		return reg <= 3;
	default:
		return true;
	}
}

/*
 * The stub for x87 instruction `opcode` (D8-DF) with ModRM `modrm`; for a
 * memory form only ModRM.reg matters. NULL if the host must not run it.
 */
const void *simd_host_x87_stub(uint8_t opcode, uint8_t modrm)
{
	if (opcode < 0xd8 || opcode > 0xdf)
		return NULL;
	unsigned o = opcode - 0xd8;
	if ((modrm >> 6) == 3) {
		if (!x87_reg_form_runs_on_host(opcode, modrm))
			return NULL;
		return simd_host_x87_reg_stubs + ((o << 6) | (modrm & 0x3f)) * 8;
	}
	unsigned reg = (modrm >> 3) & 7;
	if (!x87_mem_form_runs_on_host(opcode, reg))
		return NULL;
	return simd_host_x87_mem_stubs + ((o << 3) | reg) * 8;
}

/* Runs h->stub on the guest state in h->fx_in; see the file comment. */
void simd_host_x87_run(struct simd_host_x87 *h)
{
	simd_host_x87_call(h);
}

/*
 * Whether `op` (ADD/SUB/MUL/DIV SS/SD on a and b, CVTSD2SS on b) is inexact when
 * rounded to the destination's precision with an unbounded exponent, under
 * MXCSR's rounding control and DAZ. That is what decides PE alongside an
 * unmasked OE or UE (SDM Vol. 1 4.9.2; the result itself is never stored
 * then). The x87 computes it directly: precision control gives the 24- or
 * 53-bit rounding, its 15-bit exponent the range. All x87 exceptions are
 * masked and the host's x87 environment is saved and restored around it.
 */
bool simd_host_inexact_unbounded(enum simd_host_op op, uint64_t a, uint64_t b, uint32_t mxcsr)
{
	bool single = op == SIMD_HOP_ADDSS || op == SIMD_HOP_SUBSS || op == SIMD_HOP_MULSS ||
		      op == SIMD_HOP_DIVSS || op == SIMD_HOP_CVTSD2SS;
	bool src_single = single && op != SIMD_HOP_CVTSD2SS;
	if (op == SIMD_HOP_CVTSD2SS) {
		/* The source is the xmm1 operand; times 1.0 rounds it once to 24 bits. */
		a = b;
		b = 0x3ff0000000000000ull;
	}
	if (mxcsr & MXCSR_DAZ) {
		/* Denormal inputs count as zero. */
		if (src_single) {
			if (!(a & 0x7f800000) && (a & 0x007fffff))
				a &= 0x80000000;
			if (!(b & 0x7f800000) && (b & 0x007fffff))
				b &= 0x80000000;
		} else {
			if (!(a & 0x7ff0000000000000ull) && (a & 0x000fffffffffffffull))
				a &= 0x8000000000000000ull;
			if (!(b & 0x7ff0000000000000ull) && (b & 0x000fffffffffffffull))
				b &= 0x8000000000000000ull;
		}
	}
	uint16_t cw = (uint16_t)(0x3f | ((single ? 0u : 2u) << 8) | (((mxcsr >> 13) & 3) << 10));
	uint8_t saved_env[28];
	uint16_t sw;
	float fa, fb;
	double da, db;
	uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
	memcpy(&fa, &a32, 4);
	memcpy(&fb, &b32, 4);
	memcpy(&da, &a, 8);
	memcpy(&db, &b, 8);

#define SIMD_X87_ARITH(load, pa, pb, insn)                                      	__asm__ volatile("fnstenv %[env]\n\t"                                 			 "fnclex\n\t"                                         			 "fldcw %[cw]\n\t"                                    			 load " %[b]\n\t"                                     			 load " %[a]\n\t"                                     			 insn " %%st(1), %%st\n\t"                            			 "fnstsw %[sw]\n\t"                                   			 "fstp %%st(0)\n\t"                                   			 "fstp %%st(0)\n\t"                                   			 "fnclex\n\t"                                         			 "fldenv %[env]"                                        			 : [env] "=m"(saved_env), [sw] "=m"(sw)                 			 : [cw] "m"(cw), [a] "m"(pa), [b] "m"(pb)               			 : "cc", "st", "st(1)")

	switch (op) {
	case SIMD_HOP_ADDSS: SIMD_X87_ARITH("flds", fa, fb, "fadd"); break;
	case SIMD_HOP_SUBSS: SIMD_X87_ARITH("flds", fa, fb, "fsub"); break;
	case SIMD_HOP_MULSS: SIMD_X87_ARITH("flds", fa, fb, "fmul"); break;
	case SIMD_HOP_DIVSS: SIMD_X87_ARITH("flds", fa, fb, "fdiv"); break;
	case SIMD_HOP_ADDSD: SIMD_X87_ARITH("fldl", da, db, "fadd"); break;
	case SIMD_HOP_SUBSD: SIMD_X87_ARITH("fldl", da, db, "fsub"); break;
	case SIMD_HOP_MULSD: SIMD_X87_ARITH("fldl", da, db, "fmul"); break;
	case SIMD_HOP_DIVSD: SIMD_X87_ARITH("fldl", da, db, "fdiv"); break;
	case SIMD_HOP_CVTSD2SS: SIMD_X87_ARITH("fldl", da, db, "fmul"); break;
	default:
		return false;
	}
#undef SIMD_X87_ARITH
	return sw & 0x20;
}

/*
 * Runs one scalar operation. f->mxcsr must hold only RC, DAZ, FZ and all six
 * mask bits (the callers guarantee it): with every exception masked the host
 * cannot trap, and with no reserved bit set LDMXCSR cannot fault.
 */
void simd_host_sse_run(enum simd_host_op op, struct simd_host_sse *f)
{
	f->mxcsr = (f->mxcsr & (MXCSR_RC | MXCSR_DAZ | MXCSR_FZ)) | MXCSR_MASKS;
	simd_host_sse_call(f, simd_host_sse_stubs + (unsigned)op * 16);
}
