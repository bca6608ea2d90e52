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
 * loads the guest's x87 state with FXRSTOR64 (registers, TOP, tags, control
 * word; the exception flags are loaded cleared so nothing is pending), loads
 * the guest's arithmetic flags if the instruction uses them (FCMOVcc, FCOMI),
 * calls a two-byte stub holding the guest's own D8-DF opcode and ModRM
 * (memory forms address the scratch operand at [rdi]), stores the result
 * with FXSAVE64, and gives the thread its own FPU back: FNINIT (which also
 * drops any exception the instruction raised), then the thread's x87 control
 * word and MXCSR. Unmasked x87 exceptions never trap inside the monitor: x87
 * exceptions are delivered only at the next waiting x87 instruction, and the
 * only ones after the guest's are FXSAVE64, FNINIT, FLDCW (no exception is
 * pending by then) and LDMXCSR. Because the guest's control word is loaded as
 * is, unmasked-exception behaviour (no store, no pop, biased exponents on
 * register overflow) is the hardware's own.
 *
 * SSE (Vol. 1 11.5): simd_host_sse_run() runs the lanes of an instruction
 * as scalar operations (ADDSS, CVTSD2SI, CMPSS imm, ...) with the guest's
 * rounding control, DAZ and FZ and with every exception masked, so it never
 * traps, and returns their combined flags; simd_sse.c runs one lane per call
 * when it needs each lane's own flags to apply the unmasked-exception rules
 * of Vol. 1 11.5.1. The thread's MXCSR is restored after.
 *
 * What "the thread's own FPU" means: the System V ABI has the x87 stack
 * empty and XMM registers caller-saved at any call, so what the calling
 * (vCPU) thread can observe is its x87 control word and its MXCSR. They are
 * read on the thread's first run and restored to those values after every
 * run: Lodge never changes them (C code on x86-64 keeps the defaults), and
 * reading MXCSR back costs a pipeline drain (a load of what STMXCSR stored
 * waits some two hundred cycles on current Intel cores), which once per run
 * dominated an SSE lane. The x87 status flags, which C code on x86-64 never
 * uses, are left clear.
 *
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
_Static_assert(offsetof(struct simd_host_sse, stub) == 56, "asm offsets");
_Static_assert(sizeof(struct simd_host_sse) == 64, "asm offsets");
_Static_assert(offsetof(struct simd_host_x87, use_flags) == 1056, "asm offsets");

/* The calling thread's own x87 control word and MXCSR (see the file comment). */
struct simd_host_ctl {
	uint32_t mxcsr;                 /* 0 */
	uint16_t fcw;                   /* 4 */
};

void simd_host_x87_call(struct simd_host_x87 *h, const struct simd_host_ctl *ctl)
	__attribute__((visibility("hidden")));
void simd_host_sse_call(struct simd_host_sse *lanes, unsigned n, const struct simd_host_ctl *ctl)
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

	/* void simd_host_x87_call(struct simd_host_x87 *h, const struct simd_host_ctl *ctl) */
	"	.balign 16\n"
	"	.globl simd_host_x87_call\n"
	"	.hidden simd_host_x87_call\n"
	"	.type simd_host_x87_call, @function\n"
	"simd_host_x87_call:\n"
	"	endbr64\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	sub $8, %rsp\n"
	"	mov %rdi, %rbx\n"
	"	mov %rsi, %r12\n"
	"	fxrstor64 0(%rbx)\n"            /* guest x87 state, nothing pending */
	"	lea 1024(%rbx), %rdi\n"
	"	testl $1, 1056(%rbx)\n"
	"	jz 1f\n"
	"	pushfq\n"                       /* host flags */
	"	pushq 1048(%rbx)\n"
	"	popfq\n"                        /* guest OF SF ZF AF PF CF */
	"	call *1040(%rbx)\n"
	"	pushfq\n"
	"	popq 1048(%rbx)\n"
	"	popfq\n"
	"	jmp 2f\n"
	"1:	call *1040(%rbx)\n"
	"2:	fxsave64 512(%rbx)\n"         /* does not wait: no #MF here */
	"	fninit\n"                       /* empty stack, nothing pending */
	"	fldcw 4(%r12)\n"
	"	ldmxcsr 0(%r12)\n"
	"	add $8, %rsp\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	ret\n"
	"	.size simd_host_x87_call, . - simd_host_x87_call\n"

	/* void simd_host_sse_call(struct simd_host_sse *lanes, unsigned n,
	 *                         const struct simd_host_ctl *ctl), n >= 1 */
	"	.balign 16\n"
	"	.globl simd_host_sse_call\n"
	"	.hidden simd_host_sse_call\n"
	"	.type simd_host_sse_call, @function\n"
	"simd_host_sse_call:\n"
	"	endbr64\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	mov %rdi, %rbx\n"
	"	mov %esi, %r12d\n"
	"	mov %rdx, %r13\n"
	"	ldmxcsr 40(%rdi)\n"             /* the first lane's control word */
	"1:	movdqu (%rbx), %xmm0\n"
	"	movdqu 16(%rbx), %xmm1\n"
	"	mov 32(%rbx), %rax\n"
	"	call *56(%rbx)\n"
	"	movdqu %xmm0, (%rbx)\n"
	"	mov %rax, 32(%rbx)\n"
	"	pushfq\n"
	"	popq 48(%rbx)\n"
	"	add $64, %rbx\n"
	"	dec %r12d\n"
	"	jnz 1b\n"
	"	stmxcsr 40(%rdi)\n"             /* all the lanes' flags */
	"	ldmxcsr 0(%r13)\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
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

/* The calling thread's x87 control word and MXCSR, as first seen. */
static const struct simd_host_ctl *simd_host_ctl_get(void)
{
	static _Thread_local struct simd_host_ctl ctl;
	static _Thread_local bool have;
	if (!have) {
		__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(ctl.mxcsr), "=m"(ctl.fcw));
		have = true;
	}
	return &ctl;
}

/* Runs h->stub on the guest state in h->fx_in; see the file comment. */
void simd_host_x87_run(struct simd_host_x87 *h)
{
	simd_host_x87_call(h, simd_host_ctl_get());
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
 * Runs lane i as op[i] on lanes[i], for 1 <= n <= 4, under lanes[0].mxcsr's
 * RC, DAZ and FZ with every exception masked (so the host cannot trap, and no
 * reserved bit can make LDMXCSR fault). Returns with lanes[0].mxcsr holding
 * the flags all the lanes raised together.
 */
void simd_host_sse_run(const enum simd_host_op *op, struct simd_host_sse *lanes, unsigned n)
{
	lanes[0].mxcsr = (lanes[0].mxcsr & (MXCSR_RC | MXCSR_DAZ | MXCSR_FZ)) | MXCSR_MASKS;
	for (unsigned i = 0; i < n; i++)
		lanes[i].stub = simd_host_sse_stubs + (unsigned)op[i] * 16;
	simd_host_sse_call(lanes, n, simd_host_ctl_get());
}
