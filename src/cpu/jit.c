/*
 * jit: host code for hot blocks (see jit.h).
 *
 * The generated function keeps every piece of guest state where the
 * threaded handlers keep it - registers in c->gpr, lazy flags in c->cc_*,
 * c->rip at the block's first instruction while the block runs - so at any
 * op boundary it can hand over to the threaded chain (a "bail": rsi = that
 * op, jump to its threaded handler) or to the exits the handlers use
 * (emu_exec_end at the end of the block, fast_exit after a taken branch).
 * Host registers: rdi = struct cpu for the whole function; rax, rcx, rdx,
 * rsi, r8-r10 scratch. Nothing is kept on the host stack, so a fault raised
 * in a helper unwinds past the function like past a threaded handler.
 *
 * Blocks: 64-bit code with 64-bit addressing, and 32-bit protected-mode
 * code (legacy or compatibility mode) with 32-bit addressing whose
 * segments are flat when it runs - 4 GiB limits, CS at base 0 (so rip is
 * the linear address and needs no limit check), a 32-bit SS: the function
 * starts by testing the segments it uses in c->seg_flat (seg.c) and runs
 * the interpreter if one is not.
 *
 * What is translated: MOV, MOVZX/MOVSX, LEA, ADD/OR/AND/SUB/XOR/CMP/TEST
 * in all five operand forms with their flags recorded lazily exactly as
 * exec_alu_fast.c records them (or not at all where select.c found them
 * dead), ADC/SBB, a flag setter fused with the Jcc after it as one host
 * compare and branch, INC/DEC, shifts and rotates, IMUL, MUL, PUSH/POP of
 * a register of the stack's width, CALL/JMP/Jcc with a relative target,
 * RET, CMOVcc/SETcc of registers, NOP. An op without a translation that
 * has no threaded fast form either runs its reference handler from the
 * function (jit_ref, as emu_exec_ref does) and the function goes on; any
 * other op ends the translation with a bail to its threaded handler.
 * Exits to a target on the block's own page are linked into direct jumps
 * on first use (jit_link); the rest go through the jump cache.
 *
 * Memory operands go through the same software TLB as the fast paths:
 * index the slot, compare the page tag (read or write), for a write also
 * the page's decoded-code byte, add the host addend. A miss bails before
 * the op has changed anything, and the threaded handler then takes its own
 * slow path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "cpu/exec.h"
#include "cpu/fast.h"
#include "cpu/jit.h"
#include "cpu/jit_asm.h"
#include "log.h"

/* Host code per vCPU; when it is full every block is dropped (decode.c). */
#define JIT_AREA (64u << 20)
/* A function never grows past this (64 ops of a few dozen bytes each). */
#define JIT_FN_MAX (64u << 10)
/* Entries of a block before it is compiled, unless LODGE_JIT says. */
#define JIT_HOT_DEFAULT 16
/* The longest block decode.c makes. */
#define JIT_MAX_OPS 64
#define JIT_MAX_BAILS (3 * JIT_MAX_OPS + 2)

struct jit {
	uint8_t *mem;
	size_t used;
	bool full;
	unsigned hot;
	bool log;                       /* LODGE_JIT_LOG: a line per compiled block */
	FILE *perfmap;                  /* LODGE_JIT_PERFMAP: /tmp/perf-PID.map for perf */
};

/* A jump to the bail of op idx, patched when the bails are written. */
struct jit_fix {
	uint8_t *at;
	unsigned idx;
};

/* One translation. */
struct jit_tr {
	struct cpu *c;
	struct block *b;
	struct asm_buf a;
	uint8_t *entry;
	struct jit_fix fix[JIT_MAX_BAILS];
	unsigned nfix;
	bool fail;                      /* too many bails: give up on the block */
	/* The host's arithmetic flags are the guest's as the op before the
	 * current one left them (hf), or as the current one leaves them (hf_next). */
	bool hf, hf_next;
	op_exec *exec;                  /* the threaded handler of the op being translated */
	/* 32-bit code: segments it needs flat (seg_flat bits), and where the
	 * checks of that mask are, to be patched once it is known. */
	bool m32;
	uint8_t need;
	uint8_t *need_at[JIT_MAX_OPS + 1];
	unsigned nneed;
};

#define CPU_OFF(field) ((int32_t)offsetof(struct cpu, field))
/* jit_tlb scales the slot index by a shift. */
_Static_assert(sizeof(struct tlb_entry) == 32, "TLB entries are 32 bytes");

/* The guest register r (as struct op numbers it) as a host memory operand. */
static struct asm_rm jit_greg(unsigned r)
{
	if (r >= REG_HIGH8 && r < REG_HIGH8 + 4)
		return asm_m(ASM_DI, CPU_OFF(gpr) + 8 * (int32_t)(r - REG_HIGH8) + 1);
	return asm_m(ASM_DI, CPU_OFF(gpr) + 8 * (int32_t)r);
}

/* Guest register r = host register h, with the operand-size rules: a
 * 32-bit result (zero-extended in h) clears bits 63:32, 8/16-bit ones merge. */
static void jit_set_reg(struct jit_tr *t, unsigned size, unsigned r, unsigned h)
{
	asm_store(&t->a, size >= 4 ? 8 : size, jit_greg(r), h);
}

/* A jump to op idx's bail (the threaded handler of that op). */
static void jit_bail_on(struct jit_tr *t, unsigned cc, unsigned idx)
{
	uint8_t *at = asm_jcc(&t->a, cc);
	if (t->nfix == JIT_MAX_BAILS) {
		t->fail = true;
		return;
	}
	t->fix[t->nfix++] = (struct jit_fix){ at, idx };
}

enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A };

/* rsi = op, then jump to fn (a handler's signature: rdi = c, rsi = op). */
static void jit_goto(struct jit_tr *t, const struct op *op, const void *fn)
{
	asm_mov_imm(&t->a, ASM_SI, (uintptr_t)op);
	asm_mov_imm(&t->a, ASM_AX, (uintptr_t)fn);
	asm_jmp_reg(&t->a, ASM_AX);
}

static const struct op *jit_count(struct cpu *c, const struct op *op);

/* fast_exit for the generated code: leave after a taken branch. */
static const struct op *jit_leave(struct cpu *c, const struct op *ret)
{
	return fast_exit(c, ret);
}

/* Is b's entry host code the JIT wrote (not a threaded handler)? */
static bool jit_compiled(const struct block *b)
{
	return b->exec0 && b->ops[0].exec != b->exec0 && b->ops[0].exec != jit_count;
}

/*
 * The first leave through an exit that jit_exit_to made linkable: run the
 * next block as fast_exit would, and when it is compiled and on the same
 * guest page (linear and physical) as the block being left, point the
 * exit's jump straight at its code. A link needs no undoing: anything that
 * drops one of the two blocks (a write to the page, a flush) drops the
 * other, and then nothing jumps into the dead code; it stays in place until
 * the whole area is reset. The budget was already counted by the exit.
 */
static const struct op *jit_link(struct cpu *c, const struct op *ret, uint8_t *site)
{
	const struct op *first = ret - ret->idx;
	const struct block *b = (const struct block *)((const char *)first -
						       offsetof(struct block, ops));
	uint64_t lin = cpu_code_lin(c);
	const struct block *x = c->jmp[cpu_jmp_hash(lin)];
	if (x->lin != lin || x->key_mode != c->code_key)
		return ret;
	if (jit_compiled(x) && x->gpa2 == ~0ULL && (x->gpa >> 12) == (b->gpa >> 12) &&
	    (lin >> 12) == (b->lin >> 12))
		asm_patch(site, (const uint8_t *)(const void *)x->ops[0].exec);
	c->cur_block = x;
	return x->ops[0].exec(c, x->ops);
}

/*
 * Leave the block for the constant target, with ret the op after the last
 * one that ran. A target on the block's own page gets a linkable exit:
 * count the budget, then a jump that first goes to jit_link and, once
 * linked, to the next block's code. Other targets go through fast_exit.
 */
static void jit_exit_to(struct jit_tr *t, const struct op *ret, uint64_t target)
{
	struct asm_buf *a = &t->a;
	asm_mov_imm(a, ASM_AX, target);
	asm_store(a, 8, asm_m(ASM_DI, CPU_OFF(rip)), ASM_AX);
	if ((target >> 12) != (t->b->lin >> 12) || t->c->icount_mode) {
		jit_goto(t, ret, (const void *)jit_leave);
		return;
	}
	asm_alu_imm(a, ASM_SUB, 4, asm_m(ASM_DI, CPU_OFF(budget)), 1);
	uint8_t *spent = asm_jcc(a, 0xe /* LE */);
	uint8_t *site = asm_jmp(a);
	asm_patch(site, a->p);
	asm_mov_imm(a, ASM_DX, (uintptr_t)site);
	jit_goto(t, ret, (const void *)jit_link);
	asm_patch(spent, a->p);
	asm_mov_imm(a, ASM_AX, (uintptr_t)ret);
	asm_ret(a);
}

/* c->rip = the constant target of the branch at idx. A branch to the
 * block's own start loops in host code while the budget of blocks lasts,
 * as fast_jump does. */
static void jit_jump(struct jit_tr *t, unsigned idx, uint64_t target)
{
	struct block *b = t->b;
	if (target == b->lin) {
		asm_alu_imm(&t->a, ASM_SUB, 4, asm_m(ASM_DI, CPU_OFF(budget)), 1);
		asm_patch(asm_jcc(&t->a, 0xf /* G */), t->entry);
		jit_goto(t, &b->ops[idx + 1], (const void *)jit_leave);
		return;
	}
	jit_exit_to(t, &b->ops[idx + 1], target);
}

/* A relative branch target that fast_check_target would accept, or false:
 * in 64-bit code canonical, in 32-bit code within the flat CS. */
static bool jit_target(const struct jit_tr *t, const struct op *op, uint64_t *target)
{
	uint64_t v = t->b->lin + (uint64_t)op->disp;
	if (t->m32) {
		if (op->size != 4)
			return false;
		*target = (uint32_t)v;
		return true;
	}
	if (op->size != 8 || !cpu_canonical(v))
		return false;
	*target = v;
	return true;
}

/* A memory operand the generated code can address: in 64-bit code 64-bit
 * addressing (no limits, no wrap; FS and GS add their base), in 32-bit code
 * 32-bit addressing through a segment that is flat when the block runs. */
static bool jit_mem_ok(struct jit_tr *t, const struct op *op)
{
	if (!t->m32)
		return op->asize == 8;
	if (op->asize != 4 || op->seg >= S_NONE || op->seg == S_CS)
		return false;
	t->need |= (uint8_t)(1u << op->seg);
	return true;
}

/* rax += the base of segment s. */
static void jit_add_seg_base(struct jit_tr *t, unsigned s)
{
	asm_alu(&t->a, ASM_ADD, 8, ASM_AX,
		asm_m(ASM_DI, CPU_OFF(seg) + (int32_t)(s * sizeof(struct vcpu_segment) +
						       offsetof(struct vcpu_segment, base))));
}

/* rax = linear address of a 32-bit access at offset rax of segment s
 * (flat: the base plus the offset, wrapped). */
static void jit_seg32(struct jit_tr *t, unsigned s)
{
	jit_add_seg_base(t, s);
	asm_store(&t->a, 4, asm_r(ASM_AX), ASM_AX);     /* mov eax, eax */
}

/* rax = the effective address of op's memory operand, plus the segment's
 * base when seg (the linear address: in 64-bit code only FS and GS have
 * one). */
static void jit_ea(struct jit_tr *t, const struct op *op, bool seg)
{
	struct asm_buf *a = &t->a;
	int64_t disp = op->disp;
	if (op->sbase == CPU_SLOT_RIP) {
		/* rip is the block's start while it runs: a constant. */
		asm_mov_imm(a, ASM_AX, (uint64_t)(disp + (int64_t)t->b->lin));
		if (op->sindex == CPU_SLOT_ZERO)
			return;
		disp = 0;
	} else if (op->sbase != CPU_SLOT_ZERO) {
		asm_load(a, 8, ASM_AX, asm_m(ASM_DI, 8 * op->sbase));
	} else {
		asm_mov_imm(a, ASM_AX, 0);
	}
	if (disp < INT32_MIN || disp > INT32_MAX) {
		asm_mov_imm(a, ASM_R8, (uint64_t)disp);
		asm_alu(a, ASM_ADD, 8, ASM_AX, asm_r(ASM_R8));
		disp = 0;
	}
	if (op->sindex != CPU_SLOT_ZERO) {
		asm_load(a, 8, ASM_R8, asm_m(ASM_DI, 8 * op->sindex));
		asm_lea(a, 8, ASM_AX, asm_mx(ASM_AX, ASM_R8, op->scale, (int32_t)disp));
	} else if (disp) {
		asm_lea(a, 8, ASM_AX, asm_m(ASM_AX, (int32_t)disp));
	}
	if (t->m32) {
		asm_store(a, 4, asm_r(ASM_AX), ASM_AX);         /* 32-bit address wrap */
		if (seg)
			jit_seg32(t, op->seg);
		return;
	}
	if (seg && op->seg >= S_FS)
		jit_add_seg_base(t, op->seg);
}

/*
 * rax (a linear address) -> rax (the host address) for a size-byte access,
 * through the TLB of the block's privilege (the decode key holds it);
 * anything but a hit bails to op idx. As fast_lin_rptr/fast_lin_wptr.
 */
static void jit_tlb(struct jit_tr *t, unsigned idx, unsigned size, bool write)
{
	struct asm_buf *a = &t->a;
	unsigned mmu_idx = t->b->key_mode >> 3;
	int32_t base = CPU_OFF(tlb) + (int32_t)(mmu_idx * TLB_SIZE * sizeof(struct tlb_entry));
	/* r8 = the slot's offset, ((lin >> 12) & (TLB_SIZE - 1)) * 32. */
	asm_store(a, 4, asm_r(ASM_R8), ASM_AX);                 /* mov r8d, eax */
	asm_shift_imm(a, ASM_SHR, 4, asm_r(ASM_R8), 12 - 5);
	asm_alu_imm(a, ASM_AND, 4, asm_r(ASM_R8), (TLB_SIZE - 1) << 5);
	asm_lea(a, 8, ASM_R9, asm_m(ASM_AX, (int32_t)size - 1));
	asm_alu_imm(a, ASM_AND, 8, asm_r(ASM_R9), -4096);
	int32_t tag = write ? (int32_t)offsetof(struct tlb_entry, tag_w)
			    : (int32_t)offsetof(struct tlb_entry, tag_r);
	asm_alu(a, ASM_CMP, 8, ASM_R9, asm_mx(ASM_DI, ASM_R8, 0, base + tag));
	jit_bail_on(t, CC_NE, idx);
	if (write) {
		asm_load(a, 8, ASM_R9, asm_mx(ASM_DI, ASM_R8, 0,
					      base + (int32_t)offsetof(struct tlb_entry, code)));
		asm_alu_imm(a, ASM_CMP, 1, asm_m(ASM_R9, 0), 0);
		jit_bail_on(t, CC_NE, idx);
	}
	asm_alu(a, ASM_ADD, 8, ASM_AX, asm_mx(ASM_DI, ASM_R8, 0,
					      base + (int32_t)offsetof(struct tlb_entry, addend)));
}

/* rax = host address of op's memory operand. */
static void jit_mem(struct jit_tr *t, const struct op *op, unsigned idx, unsigned size, bool write)
{
	jit_ea(t, op, true);
	jit_tlb(t, idx, size, write);
}

/* Call a C helper fn(c, arg): rdi is saved around it, which also gives the
 * call its 16-byte stack alignment (rsp is 8 past it at entry). */
static void jit_call(struct jit_tr *t, const void *fn, uint64_t arg)
{
	asm_push(&t->a, ASM_DI);
	asm_mov_imm(&t->a, ASM_SI, arg);
	asm_mov_imm(&t->a, ASM_AX, (uintptr_t)fn);
	asm_call_reg(&t->a, ASM_AX);
	asm_pop(&t->a, ASM_DI);
}

/* The reference handler of op, run from the generated code as
 * emu_exec_ref runs it; 1 when the block is left (c->rip set). */
static int jit_ref(struct cpu *c, const struct op *op)
{
	uint64_t start = c->rip;
	c->rip = start + op->off;
	if (op->fn(c, op))
		return 1;
	if (unlikely(c->brk)) {
		c->rip += op->len;
		return 1;
	}
	c->rip = start;
	return 0;
}

static uint64_t jit_cond(struct cpu *c, uint64_t cc)
{
	return flags_cond_fast(c, (unsigned)cc);
}

/* ---- ALU --------------------------------------------------------------- */

static uint64_t jit_cf(struct cpu *c, uint64_t unused)
{
	return flags_cf(c);
}

/* The lazy-flags kind alu_flags records for each ALU kind. */
static const uint8_t jit_cc_kind[9] = {
	[ALU_ADD] = CC_ADD, [ALU_OR] = CC_LOGIC, [ALU_ADC] = CC_ADC, [ALU_SBB] = CC_SBB,
	[ALU_AND] = CC_LOGIC, [ALU_SUB] = CC_SUB, [ALU_XOR] = CC_LOGIC, [ALU_CMP] = CC_SUB,
	[ALU_TEST] = CC_LOGIC,
};

/* [c + off] = the low size bytes of host register h, normalised (shifted
 * up to bit 63) as flags_lazy stores them, without touching the host's
 * flags: the bytes go to the top of the quadword, zeros below. */
static void jit_store_norm(struct jit_tr *t, int32_t off, unsigned size, unsigned h)
{
	if (size < 8)
		asm_store_imm(&t->a, 8, asm_m(ASM_DI, off), 0);
	asm_store(&t->a, size, asm_m(ASM_DI, off + 8 - (int32_t)size), h);
}

/*
 * flags_lazy(c, cc_op, dst, src, src2) from generated code, with moves only
 * (so the host's flags survive it): dst in host register h_dst; src in
 * h_src, or the constant src when h_src is ASM_NONE; src2 in h_src2, or 0
 * when h_src2 is ASM_NONE.
 */
static void jit_lazy_flags(struct jit_tr *t, unsigned cc_op, unsigned h_dst, unsigned h_src,
			   uint64_t src, unsigned h_src2)
{
	struct asm_buf *a = &t->a;
	unsigned size = 1u << (cc_op & 3), sh = flags_norm_shift(cc_op);
	asm_store_imm(a, 4, asm_m(ASM_DI, CPU_OFF(cc_op)), (int32_t)cc_op);
	jit_store_norm(t, CPU_OFF(cc_dst), size, h_dst);
	if (h_src == ASM_NONE) {
		asm_mov_imm(a, ASM_R8, src << sh);
		asm_store(a, 8, asm_m(ASM_DI, CPU_OFF(cc_src)), ASM_R8);
	} else {
		jit_store_norm(t, CPU_OFF(cc_src), size, h_src);
	}
	if (h_src2 == ASM_NONE)
		asm_store_imm(a, 8, asm_m(ASM_DI, CPU_OFF(cc_src2)), 0);
	else
		asm_store(a, 8, asm_m(ASM_DI, CPU_OFF(cc_src2)), h_src2);
}

/* alu_flags from rdx (the result) and rcx (the source) or the constant b;
 * ADC and SBB take their carry in from r10. */
static void jit_alu_flags(struct jit_tr *t, unsigned kind, unsigned size, bool b_imm, uint64_t b)
{
	bool carry = kind == ALU_ADC || kind == ALU_SBB;
	jit_lazy_flags(t, CC_OP(jit_cc_kind[kind], size), ASM_DX, b_imm ? ASM_NONE : ASM_CX, b,
		       carry ? ASM_R10 : ASM_NONE);
}

/* The host operation for an ALU kind on rdx: CMP as SUB and TEST as AND
 * (the same flags), so rdx always ends as the result alu_flags records. */
static unsigned jit_host_alu(unsigned kind)
{
	switch (kind) {
	case ALU_CMP: return ASM_SUB;
	case ALU_TEST: return ASM_AND;
	default: return kind;   /* ALU_ADD.. in the same order as ASM_ADD.. */
	}
}

/* Does v fit the sign-extended 32-bit immediate of a size-byte operation? */
static bool jit_imm32(unsigned size, uint64_t v)
{
	return size < 8 || ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX);
}

/*
 * An ALU op (and the Jcc after it when fused, fv JCC/JCC_NF). Returns the
 * number of ops consumed, 0 if not translated.
 */
static unsigned jit_alu(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	unsigned kind = op->fn == alu_test ? ALU_TEST : op->sub, size = op->size;
	unsigned k0 = op->k[0], k1 = op->k[1], v = op->fv;
	bool carry = kind == ALU_ADC || kind == ALU_SBB;
	if ((k0 == K_MEM || k1 == K_MEM) && !jit_mem_ok(t, op))
		return 0;
	uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	uint64_t b = op->imm & mask;
	bool b_imm = k1 == K_IMM;
	if (b_imm && !jit_imm32(size, op->imm))
		return 0;
	bool fused = v == FAST_V_JCC || v == FAST_V_JCC_NF;
	uint64_t target = 0;
	if (fused && !jit_target(t, &op[1], &target))
		return 0;
	bool writes = kind != ALU_CMP && kind != ALU_TEST;
	if (carry && fused)
		return 0;               /* select.c never fuses them */

	if (carry) {
		/* The carry in, kept in r10 for the flags. */
		jit_call(t, (const void *)jit_cf, 0);
		asm_store(a, 8, asm_r(ASM_R10), ASM_AX);
	}
	if (k0 == K_MEM)
		jit_mem(t, op, idx, size, writes);
	else if (k1 == K_MEM)
		jit_mem(t, op, idx, size, false);
	if (k1 == K_REG)
		asm_load(a, size, ASM_CX, jit_greg(op->r[1]));
	else if (k1 == K_MEM)
		asm_load(a, size, ASM_CX, asm_m(ASM_AX, 0));
	asm_load(a, size, ASM_DX, k0 == K_MEM ? asm_m(ASM_AX, 0) : jit_greg(op->r[0]));
	unsigned hop = jit_host_alu(kind);
	if (carry) {
		/* Host CF = the guest's (NEG sets CF when its operand is not 0). */
		asm_store(a, 8, asm_r(ASM_R9), ASM_R10);
		asm_neg(a, 8, asm_r(ASM_R9));
	}
	if (b_imm)
		asm_alu_imm(a, hop, size, asm_r(ASM_DX), (int32_t)op->imm);
	else
		asm_alu(a, hop, size, ASM_DX, asm_r(ASM_CX));
	uint8_t *skip = NULL;
	if (fused) {
		/* Not taken: on. Taken: record the flags, branch. */
		skip = asm_jcc(a, op[1].sub ^ 1);
		if (writes) {
			if (k0 == K_MEM)
				asm_store(a, size, asm_m(ASM_AX, 0), ASM_DX);
			else
				jit_set_reg(t, size, op->r[0], ASM_DX);
		}
		jit_alu_flags(t, kind, size, b_imm, b);
		jit_jump(t, idx + 1, target);
		asm_patch(skip, a->p);
	}
	if (writes) {
		if (k0 == K_MEM)
			asm_store(a, size, asm_m(ASM_AX, 0), ASM_DX);
		else
			jit_set_reg(t, size, op->r[0], ASM_DX);
	}
	if (v == FAST_V_PLAIN || v == FAST_V_JCC)
		jit_alu_flags(t, kind, size, b_imm, b);
	/* Unfused, the host's flags are the guest's for the next op. */
	t->hf_next = !fused;
	return fused ? 2 : 1;
}

/* INC/DEC's lazy flags from rdx (the result) and r10 (the old CF), as
 * exec_alu_fast.c records them. */
static void jit_incdec_flags(struct jit_tr *t, bool dec, unsigned size)
{
	jit_lazy_flags(t, CC_OP(dec ? CC_DEC : CC_INC, size), ASM_DX, ASM_NONE, 1, ASM_R10);
}

/* INC/DEC of a register, alone or fused with a Jcc that does not read CF
 * (select.c): the host ADD/SUB of 1 sets the other five flags the same. */
static unsigned jit_incdec(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	unsigned size = op->size, v = op->fv;
	bool dec = op->fn == alu_dec;
	bool fused = v == FAST_V_JCC || v == FAST_V_JCC_NF;
	uint64_t target = 0;
	if (op->k[0] != K_REG || (fused && !jit_target(t, &op[1], &target)))
		return 0;
	if (v != FAST_V_NF) {
		/* Recording the flags takes the old CF along. */
		jit_call(t, (const void *)jit_cf, 0);
		asm_store(a, 8, asm_r(ASM_R10), ASM_AX);
	}
	asm_load(a, size, ASM_DX, jit_greg(op->r[0]));
	asm_alu_imm(a, dec ? ASM_SUB : ASM_ADD, size, asm_r(ASM_DX), 1);
	if (fused) {
		uint8_t *skip = asm_jcc(a, op[1].sub ^ 1);
		jit_set_reg(t, size, op->r[0], ASM_DX);
		jit_incdec_flags(t, dec, size);
		jit_jump(t, idx + 1, target);
		asm_patch(skip, a->p);
	}
	jit_set_reg(t, size, op->r[0], ASM_DX);
	if (v == FAST_V_PLAIN || v == FAST_V_JCC)
		jit_incdec_flags(t, dec, size);
	return fused ? 2 : 1;
}

static uint64_t jit_flags(struct cpu *c, uint64_t unused)
{
	return flags_get(c) & FL_ARITH;
}

/*
 * SHL/SHR/SAR/ROL/ROR of a register or memory by an immediate or CL: the
 * host instruction masks the count and sets the flags as the guest's does
 * (a masked count of 0 changes none). Recorded flags go to the lazy state
 * as plain bits: the shifts' with AF cleared as shift_flags leaves it
 * (undefined in the SDM), the rotates' CF and OF merged into the old flags.
 */
static unsigned jit_shift(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	static const uint8_t host[] = { [SH_ROL] = 0, [SH_ROR] = 1, [SH_SHL] = ASM_SHL,
					[SH_SHR] = ASM_SHR, [SH_SAR] = ASM_SAR };
	unsigned size = op->size, sub = op->sub;
	if (sub != SH_SHL && sub != SH_SHR && sub != SH_SAR && sub != SH_ROL && sub != SH_ROR)
		return 0;
	if ((op->k[0] != K_REG && (op->k[0] != K_MEM || !jit_mem_ok(t, op))) ||
	    (op->k[1] != K_IMM && op->k[1] != K_REG))
		return 0;
	bool rotate = sub == SH_ROL || sub == SH_ROR;
	bool record = op->fv != FAST_V_NF;
	unsigned mask = size == 8 ? 0x3f : 0x1f;
	unsigned cnt = (unsigned)op->imm & mask;
	bool by_cl = op->k[1] == K_REG;
	if (record && rotate) {
		jit_call(t, (const void *)jit_flags, 0);
		asm_store(a, 8, asm_r(ASM_R10), ASM_AX);
	}
	if (op->k[0] == K_MEM)
		jit_mem(t, op, idx, size, true);
	struct asm_rm dst = op->k[0] == K_MEM ? asm_m(ASM_AX, 0) : asm_r(ASM_DX);
	if (op->k[0] == K_REG)
		asm_load(a, size, ASM_DX, jit_greg(op->r[0]));
	if (by_cl) {
		asm_load(a, 1, ASM_CX, jit_greg(R_CX));
		asm_op_cl(a, host[sub], size, dst);
	} else if (cnt) {
		asm_shift_imm(a, host[sub], size, dst, (uint8_t)cnt);
	}
	if (op->k[0] == K_REG)
		jit_set_reg(t, size, op->r[0], ASM_DX);
	if (!record || (!by_cl && !cnt))
		return 1;
	/* The flags, unless the masked count was 0 (then they stay). */
	asm_pushf(a);
	asm_pop(a, ASM_R9);
	uint8_t *skip = NULL;
	if (by_cl) {
		asm_test_imm(a, 1, asm_r(ASM_CX), (int32_t)mask);
		skip = asm_jcc(a, CC_E);
	}
	if (rotate) {
		asm_alu_imm(a, ASM_AND, 4, asm_r(ASM_R9), FL_CF | FL_OF);
		asm_alu_imm(a, ASM_AND, 4, asm_r(ASM_R10), (int32_t)(FL_ARITH & ~(FL_CF | FL_OF)));
		asm_alu(a, ASM_OR, 4, ASM_R9, asm_r(ASM_R10));
	} else {
		asm_alu_imm(a, ASM_AND, 4, asm_r(ASM_R9), (int32_t)(FL_ARITH & ~FL_AF));
	}
	asm_store(a, 8, asm_m(ASM_DI, CPU_OFF(cc_src)), ASM_R9);
	asm_store_imm(a, 4, asm_m(ASM_DI, CPU_OFF(cc_op)), CC_EFLAGS);
	asm_patch(skip, a->p);
	return 1;
}

/* muldiv_flags after a host MUL/IMUL with the (low) result in h: the
 * overflow is the host's OF (= CF for both). */
static void jit_mul_flags(struct jit_tr *t, unsigned size, unsigned h)
{
	asm_setcc(&t->a, CC_O, ASM_CX);
	asm_load(&t->a, 1, ASM_CX, asm_r(ASM_CX));
	jit_lazy_flags(t, CC_OP(CC_MUL, size), h, ASM_NONE, 0, ASM_CX);
}

/* IMUL r, r/m and IMUL r, r/m, imm (size 2, 4, 8): the host IMUL has the
 * same result and the same CF = OF; the flags go to the lazy state as
 * muldiv_flags records them (CC_MUL: result, overflow). */
static unsigned jit_imul(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	unsigned size = op->size;
	bool three = op->k[2] == K_IMM;
	if (size < 2 || (op->fv != FAST_V_NF && op->fv != FAST_V_PLAIN) ||
	    (three && !jit_imm32(size, op->imm)))
		return 0;
	struct asm_rm src;
	if (op->k[1] == K_MEM) {
		if (!jit_mem_ok(t, op))
			return 0;
		jit_mem(t, op, idx, size, false);
		src = asm_m(ASM_AX, 0);
	} else if (op->k[1] == K_REG) {
		src = jit_greg(op->r[1]);
	} else {
		return 0;
	}
	if (three) {
		asm_imul_imm(a, size, ASM_DX, src, (int32_t)op->imm);
	} else {
		asm_load(a, size, ASM_DX, jit_greg(op->r[0]));
		asm_imul(a, size, ASM_DX, src);
	}
	if (op->fv == FAST_V_PLAIN)
		jit_mul_flags(t, size, ASM_DX);
	jit_set_reg(t, size, op->r[0], ASM_DX);
	return 1;
}

/* MUL r/m with a 32- or 64-bit operand: rDX:rAX = rAX * src on the host;
 * its CF (the high half is not 0) is the overflow muldiv_flags records. */
static unsigned jit_mul(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	unsigned size = op->size;
	if (size < 4 || (op->fv != FAST_V_NF && op->fv != FAST_V_PLAIN))
		return 0;
	struct asm_rm src;
	if (op->k[0] == K_MEM) {
		if (!jit_mem_ok(t, op))
			return 0;
		jit_mem(t, op, idx, size, false);
		asm_store(a, 8, asm_r(ASM_CX), ASM_AX);
		src = asm_m(ASM_CX, 0);
	} else if (op->k[0] == K_REG) {
		src = jit_greg(op->r[0]);
	} else {
		return 0;
	}
	asm_load(a, size, ASM_AX, jit_greg(R_AX));
	asm_mul(a, size, src);
	jit_set_reg(t, size, R_AX, ASM_AX);
	jit_set_reg(t, size, R_DX, ASM_DX);
	if (op->fv == FAST_V_PLAIN)
		jit_mul_flags(t, size, ASM_AX);
	return 1;
}

/* ---- moves --------------------------------------------------------------- */

static unsigned jit_mov(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	unsigned size = op->size, k0 = op->k[0], k1 = op->k[1];
	uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	if ((k0 == K_MEM || k1 == K_MEM) && !jit_mem_ok(t, op))
		return 0;
	if (k0 == K_REG && k1 == K_REG) {
		asm_load(a, size, ASM_DX, jit_greg(op->r[1]));
		jit_set_reg(t, size, op->r[0], ASM_DX);
	} else if (k0 == K_REG && k1 == K_IMM) {
		asm_mov_imm(a, ASM_DX, op->imm & mask);
		jit_set_reg(t, size, op->r[0], ASM_DX);
	} else if (k0 == K_REG && k1 == K_MEM) {
		jit_mem(t, op, idx, size, false);
		asm_load(a, size, ASM_DX, asm_m(ASM_AX, 0));
		jit_set_reg(t, size, op->r[0], ASM_DX);
	} else if (k0 == K_MEM && k1 == K_REG) {
		jit_mem(t, op, idx, size, true);
		asm_load(a, size, ASM_DX, jit_greg(op->r[1]));
		asm_store(a, size, asm_m(ASM_AX, 0), ASM_DX);
	} else if (k0 == K_MEM && k1 == K_IMM) {
		jit_mem(t, op, idx, size, true);
		asm_mov_imm(a, ASM_DX, op->imm & mask);
		asm_store(a, size, asm_m(ASM_AX, 0), ASM_DX);
	} else {
		return 0;
	}
	return 1;
}

/* MOVZX/MOVSX: size2 bytes from a register or memory into size bytes. */
static unsigned jit_movx(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	bool sx = op->fn == mov_movsx;
	struct asm_rm src;
	if (op->k[1] == K_MEM) {
		if (!jit_mem_ok(t, op))
			return 0;
		jit_mem(t, op, idx, op->size2, false);
		src = asm_m(ASM_AX, 0);
	} else if (op->k[1] == K_REG) {
		src = jit_greg(op->r[1]);
	} else {
		return 0;
	}
	if (sx)
		asm_load_sx(a, op->size2, ASM_DX, src);
	else
		asm_load(a, op->size2, ASM_DX, src);
	if (op->size == 4 && sx)
		asm_store(a, 4, asm_r(ASM_DX), ASM_DX);         /* mov edx, edx */
	jit_set_reg(t, op->size, op->r[0], ASM_DX);
	return 1;
}

static unsigned jit_lea(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	if (op->asize != (t->m32 ? 4 : 8) || (op->size != 4 && op->size != 8))
		return 0;
	jit_ea(t, op, false);
	if (op->size == 4)
		asm_store(&t->a, 4, asm_r(ASM_AX), ASM_AX);     /* mov eax, eax */
	jit_set_reg(t, 8, op->r[0], ASM_AX);
	return 1;
}

/*
 * al = condition cc of the lazy flags (flags_cond_fast). After a SUB/CMP or
 * an ADD the host redoes the operation on the normalised operands (sign
 * bit at bit 63), after a logic operation it tests the result: CF, ZF, SF
 * and OF come out as the guest's, so SETcc gives the condition. Parity
 * (normalisation moves the low byte) and the other producers call
 * flags_cond_fast.
 */
static void jit_flag_cond(struct jit_tr *t, unsigned cc)
{
	struct asm_buf *a = &t->a;
	if (t->hf) {
		asm_setcc(a, cc, ASM_AX);
		return;
	}
	if ((cc >> 1) == 5) {
		jit_call(t, (const void *)jit_cond, cc);
		return;
	}
	uint8_t *done[3], *next[2];
	asm_load(a, 4, ASM_AX, asm_m(ASM_DI, CPU_OFF(cc_op)));
	asm_shift_imm(a, ASM_SHR, 4, asm_r(ASM_AX), 2);
	asm_load(a, 8, ASM_DX, asm_m(ASM_DI, CPU_OFF(cc_dst)));
	asm_load(a, 8, ASM_CX, asm_m(ASM_DI, CPU_OFF(cc_src)));
	/* SUB: a = r + b, then a - b. */
	asm_alu_imm(a, ASM_CMP, 4, asm_r(ASM_AX), CC_SUB);
	next[0] = asm_jcc(a, CC_NE);
	asm_alu(a, ASM_ADD, 8, ASM_DX, asm_r(ASM_CX));
	asm_alu(a, ASM_CMP, 8, ASM_DX, asm_r(ASM_CX));
	asm_setcc(a, cc, ASM_AX);
	done[0] = asm_jmp(a);
	asm_patch(next[0], a->p);
	/* LOGIC: CF = OF = 0, ZF and SF of r. */
	asm_alu_imm(a, ASM_CMP, 4, asm_r(ASM_AX), CC_LOGIC);
	next[1] = asm_jcc(a, CC_NE);
	asm_test(a, 8, asm_r(ASM_DX), ASM_DX);
	asm_setcc(a, cc, ASM_AX);
	done[1] = asm_jmp(a);
	asm_patch(next[1], a->p);
	/* ADD: a = r - b, then a + b. */
	asm_alu_imm(a, ASM_CMP, 4, asm_r(ASM_AX), CC_ADD);
	uint8_t *slow = asm_jcc(a, CC_NE);
	asm_alu(a, ASM_SUB, 8, ASM_DX, asm_r(ASM_CX));
	asm_alu(a, ASM_ADD, 8, ASM_DX, asm_r(ASM_CX));
	asm_setcc(a, cc, ASM_AX);
	done[2] = asm_jmp(a);
	asm_patch(slow, a->p);
	jit_call(t, (const void *)jit_cond, cc);
	for (unsigned i = 0; i < 3; i++)
		asm_patch(done[i], a->p);
}

static unsigned jit_cmov(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	if (op->k[1] != K_REG || op->size < 2)
		return 0;
	jit_flag_cond(t, op->sub);
	asm_load(a, op->size, ASM_DX, jit_greg(op->r[0]));
	asm_load(a, op->size, ASM_CX, jit_greg(op->r[1]));
	asm_test(a, 1, asm_r(ASM_AX), ASM_AX);
	/* 16-bit: a 32-bit CMOV; jit_set_reg stores only the low 2 bytes. */
	asm_cmov(a, CC_NE, op->size == 8 ? 8 : 4, ASM_DX, asm_r(ASM_CX));
	jit_set_reg(t, op->size, op->r[0], ASM_DX);
	return 1;
}

static unsigned jit_setcc(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	if (op->k[0] != K_REG)
		return 0;
	jit_flag_cond(t, op->sub);
	asm_store(&t->a, 1, jit_greg(op->r[0]), ASM_AX);
	return 1;
}

/* ---- stack and branches -------------------------------------------------- */

/* The stack width of the block: 8, or 4 in 32-bit code (SS flat, 32-bit). */
static unsigned jit_ssz(struct jit_tr *t)
{
	if (!t->m32)
		return 8;
	t->need |= 1u << S_SS;
	return 4;
}

/* rax = host address of the stack slot at rSP + delta (a push's or a
 * pop's, jit_ssz bytes); r10 = rSP + delta. */
static void jit_stack(struct jit_tr *t, unsigned idx, int32_t delta, bool write)
{
	unsigned ssz = jit_ssz(t);
	asm_load(&t->a, ssz, ASM_AX, asm_m(ASM_DI, CPU_OFF(gpr) + 8 * R_SP));
	if (delta)
		asm_lea(&t->a, ssz, ASM_AX, asm_m(ASM_AX, delta));
	asm_store(&t->a, 8, asm_r(ASM_R10), ASM_AX);
	if (t->m32)
		jit_seg32(t, S_SS);
	jit_tlb(t, idx, ssz, write);
}

/* Push rdx for the op at idx. */
static void jit_push_dx(struct jit_tr *t, unsigned idx)
{
	unsigned ssz = jit_ssz(t);
	jit_stack(t, idx, -(int32_t)ssz, true);
	asm_store(&t->a, ssz, asm_m(ASM_AX, 0), ASM_DX);
	jit_set_reg(t, 8, R_SP, ASM_R10);
}

static unsigned jit_push(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	if (op->size != jit_ssz(t) || op->k[0] != K_REG)
		return 0;
	asm_load(&t->a, op->size, ASM_DX, jit_greg(op->r[0]));
	jit_push_dx(t, idx);
	return 1;
}

static unsigned jit_pop(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	unsigned ssz = jit_ssz(t);
	if (op->size != ssz || op->k[0] != K_REG)
		return 0;
	jit_stack(t, idx, 0, false);
	asm_load(&t->a, ssz, ASM_DX, asm_m(ASM_AX, 0));
	asm_lea(&t->a, ssz, ASM_R10, asm_m(ASM_R10, (int32_t)ssz));
	jit_set_reg(t, 8, R_SP, ASM_R10);
	/* After the increment: POP rSP loads the popped value. */
	jit_set_reg(t, ssz, op->r[0], ASM_DX);
	return 1;
}

static unsigned jit_call_rel(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	uint64_t target;
	if (!jit_target(t, op, &target))
		return 0;
	uint64_t next = t->b->lin + op->off + op->len;
	asm_mov_imm(&t->a, ASM_DX, t->m32 ? (uint32_t)next : next);
	jit_push_dx(t, idx);
	jit_jump(t, idx, target);
	return 1;
}

static unsigned jit_ret(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	const struct op *op = &t->b->ops[idx];
	/* Near RET (ctrl_ret_near's form) of the stack's width. */
	unsigned ssz = jit_ssz(t);
	if (t->exec != ctrl_ret_near || op->size != ssz)
		return 0;
	jit_stack(t, idx, 0, false);
	asm_load(a, ssz, ASM_DX, asm_m(ASM_AX, 0));
	if (!t->m32) {
		/* A non-canonical return address faults: the threaded handler's. */
		asm_store(a, 8, asm_r(ASM_R9), ASM_DX);
		asm_shift_imm(a, ASM_SHL, 8, asm_r(ASM_R9), 16);
		asm_shift_imm(a, ASM_SAR, 8, asm_r(ASM_R9), 16);
		asm_alu(a, ASM_CMP, 8, ASM_R9, asm_r(ASM_DX));
		jit_bail_on(t, CC_NE, idx);
	}
	asm_lea(a, ssz, ASM_R10, asm_m(ASM_R10, (int32_t)ssz + (int32_t)(op->imm & 0xffff)));
	jit_set_reg(t, 8, R_SP, ASM_R10);
	asm_store(a, 8, asm_m(ASM_DI, CPU_OFF(rip)), ASM_DX);
	jit_goto(t, &op[1], (const void *)jit_leave);
	return 1;
}

/* A Jcc not fused with its flag setter: on the host's flags right after a
 * translated ALU op, else on the lazy state (jit_flag_cond). */
static unsigned jit_jcc(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	uint64_t target;
	if (!jit_target(t, op, &target))
		return 0;
	uint8_t *skip;
	if (t->hf) {
		skip = asm_jcc(&t->a, op->sub ^ 1);
	} else {
		jit_flag_cond(t, op->sub);
		asm_test(&t->a, 1, asm_r(ASM_AX), ASM_AX);
		skip = asm_jcc(&t->a, CC_E);
	}
	jit_jump(t, idx, target);
	asm_patch(skip, t->a.p);
	return 1;
}

static unsigned jit_jmp(struct jit_tr *t, unsigned idx)
{
	uint64_t target;
	if (!jit_target(t, &t->b->ops[idx], &target))
		return 0;
	jit_jump(t, idx, target);
	return 1;
}

/* 32-bit code: bail to op idx unless every segment the block needs is flat
 * (the mask is patched in when the translation is done). */
static void jit_flat_check(struct jit_tr *t, unsigned idx)
{
	struct asm_buf *a = &t->a;
	asm_load(a, 1, ASM_AX, asm_m(ASM_DI, CPU_OFF(seg_flat)));
	asm_alu_imm(a, ASM_XOR, 1, asm_r(ASM_AX), 0xff);
	asm_test_imm(a, 1, asm_r(ASM_AX), 0);
	if (t->nneed < JIT_MAX_OPS + 1 && !a->full)
		t->need_at[t->nneed++] = a->p - 1;
	else
		t->fail = true;
	jit_bail_on(t, CC_NE, idx);
}

/* An op with no threaded fast form: its reference handler, then on (in
 * 32-bit code after checking that it left the segments flat). */
static void jit_ref_op(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	jit_call(t, (const void *)jit_ref, (uintptr_t)op);
	asm_test(&t->a, 4, asm_r(ASM_AX), ASM_AX);
	uint8_t *on = asm_jcc(&t->a, CC_E);
	asm_mov_imm(&t->a, ASM_AX, (uintptr_t)&op[1]);
	asm_ret(&t->a);
	asm_patch(on, t->a.p);
	if (t->m32)
		jit_flat_check(t, idx + 1);
}

static unsigned jit_nop(struct jit_tr *t, unsigned idx)
{
	return 1;
}

/* Translators by reference handler. */
static const struct {
	op_fn *fn;
	unsigned (*tr)(struct jit_tr *t, unsigned idx);
} jit_kinds[] = {
	{ alu_arith, jit_alu }, { alu_test, jit_alu }, { alu_inc, jit_incdec },
	{ alu_dec, jit_incdec }, { shift_op, jit_shift }, { muldiv_imul, jit_imul },
	{ muldiv_mul, jit_mul }, { mov_mov, jit_mov }, { mov_movzx, jit_movx },
	{ mov_movsx, jit_movx }, { mov_lea, jit_lea }, { mov_cmov, jit_cmov },
	{ mov_setcc, jit_setcc }, { mov_nop, jit_nop }, { stack_push, jit_push },
	{ stack_pop, jit_pop }, { ctrl_call, jit_call_rel }, { ctrl_ret, jit_ret },
	{ ctrl_jcc, jit_jcc }, { ctrl_jmp, jit_jmp },
};

/* The translation of op idx by its kind: ops consumed, 0 if none. */
static unsigned jit_translate(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	/* LOCK: the atomic forms, or #UD, are the reference handlers'. */
	if (op->flags & OPF_LOCK)
		return 0;
	for (size_t i = 0; i < sizeof(jit_kinds) / sizeof(jit_kinds[0]); i++)
		if (jit_kinds[i].fn == op->fn)
			return jit_kinds[i].tr(t, idx);
	return 0;
}

/* Translate op idx (and a fused Jcc after it): ops consumed, 0 if not.
 * An op with no threaded fast form that has no translation either runs
 * its reference handler from the generated code. */
static unsigned jit_op(struct jit_tr *t, unsigned idx)
{
	const struct op *op = &t->b->ops[idx];
	op_exec *exec = idx ? op->exec : t->b->exec0;
	t->hf = t->hf_next;
	t->hf_next = false;
	t->exec = exec;
	unsigned n = jit_translate(t, idx);
	if (!n && exec == emu_exec_ref) {
		jit_ref_op(t, idx);
		n = 1;
	}
	return n;
}

/* Is op the last one that runs when it is translated (it always leaves)? */
static bool jit_ends(const struct op *op)
{
	return op->fn == ctrl_call || op->fn == ctrl_ret || op->fn == ctrl_jmp;
}

/* The bails: rsi = the op, jump to its threaded handler (ops[0]'s is kept
 * in b->exec0, as ops[0].exec becomes the generated code). */
static void jit_bails(struct jit_tr *t)
{
	uint8_t *bail_at[JIT_MAX_OPS + 1] = { 0 };
	for (unsigned i = 0; i < t->nfix; i++) {
		unsigned idx = t->fix[i].idx;
		if (!bail_at[idx]) {
			bail_at[idx] = t->a.p;
			const struct op *op = &t->b->ops[idx];
			jit_goto(t, op, (const void *)(idx ? op->exec : t->b->exec0));
		}
		asm_patch(t->fix[i].at, bail_at[idx]);
	}
}

static bool jit_compile(struct cpu *c, struct block *b)
{
	struct jit *j = c->jit;
	if (j->full || b->n > JIT_MAX_OPS)
		return false;
	if (JIT_AREA - j->used < JIT_FN_MAX) {
		/* decode_service resets the area at the next block boundary. */
		j->full = true;
		atomic_store(&c->flush_code, true);
		return false;
	}
	struct jit_tr t = { .c = c, .b = b };
	t.a.p = t.entry = j->mem + j->used;
	t.a.end = t.a.p + JIT_FN_MAX;
	unsigned mode = b->key_mode & 7;
	t.m32 = mode == DM_PROT32 || mode == DM_COMPAT32;
	if (t.m32) {
		/* CS flat at base 0: rip is the linear address, no limit. */
		t.need = 1u << S_CS;
		jit_flat_check(&t, 0);
	}
	unsigned i = 0;
	while (i < b->n) {
		unsigned n = jit_op(&t, i);
		if (!n)
			break;
		if (jit_ends(&b->ops[i + n - 1])) {
			i = b->n + 1;
			break;
		}
		i += n;
	}
	if (c->jit->log)
		fprintf(stderr, "jit: block at %#" PRIx64 ": %u of %u ops translated\n", b->lin,
			i > b->n ? b->n : i, b->n);
	if (i == 0)
		return false;           /* nothing to gain */
	if (i == b->n) {
		uint64_t next = b->lin + b->ops[b->n].off;
		jit_exit_to(&t, &b->ops[b->n], t.m32 ? (uint32_t)next : next);
	}
	else if (i < b->n)
		jit_goto(&t, &b->ops[i], (const void *)b->ops[i].exec);
	jit_bails(&t);
	if (t.a.full || t.fail)
		return false;
	for (unsigned k = 0; k < t.nneed; k++)
		*t.need_at[k] = t.need;
	if (j->perfmap) {
		fprintf(j->perfmap, "%" PRIxPTR " %tx guest_%" PRIx64 "\n", (uintptr_t)t.entry,
			t.a.p - t.entry, b->lin);
		fflush(j->perfmap);
	}
	/* 16-byte aligned starts keep the entries in as few cache lines as can be. */
	j->used = (size_t)(t.a.p - j->mem + 15) & ~(size_t)15;
	b->ops[0].exec = (op_exec *)(void *)t.entry;
	return true;
}

/* ops[0]'s handler until the block is hot: count, compile, run it. */
static const struct op *jit_count(struct cpu *c, const struct op *op)
{
	struct block *b = (struct block *)((char *)op - offsetof(struct block, ops));
	if (++b->heat == c->jit->hot) {
		if (!jit_compile(c, b))
			b->ops[0].exec = b->exec0;
		return b->ops[0].exec(c, op);
	}
	return b->exec0(c, op);
}

int jit_create(struct cpu *c)
{
	const char *env = getenv("LODGE_JIT");
	unsigned hot = JIT_HOT_DEFAULT;
	if (env && !strcmp(env, "off"))
		return 0;
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);
		if (*end || v == 0 || v > 1000000) {
			log_warn("cpu", "LODGE_JIT=%s is neither 'off' nor a count of block entries; "
				 "using %u", env, hot);
		} else {
			hot = (unsigned)v;
		}
	}
	struct jit *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->mem = mmap(NULL, JIT_AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (j->mem == MAP_FAILED) {
		/* A host that forbids writable code: the interpreter alone. */
		log_warn("cpu", "no executable memory for compiled blocks (%s); interpreting only",
			 strerror(errno));
		free(j);
		return 0;
	}
	j->hot = hot;
	j->log = getenv("LODGE_JIT_LOG") != NULL;
	if (getenv("LODGE_JIT_PERFMAP")) {
		char path[64];
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		j->perfmap = fopen(path, "a");
	}
	c->jit = j;
	return 0;
}

void jit_destroy(struct cpu *c)
{
	struct jit *j = c->jit;
	if (!j)
		return;
	munmap(j->mem, JIT_AREA);
	if (j->perfmap)
		fclose(j->perfmap);
	free(j);
	c->jit = NULL;
}

void jit_attach(struct cpu *c, struct block *b)
{
	unsigned mode = b->key_mode & 7;
	if (!c->jit || !b->n || (mode != DM_LONG64 && mode != DM_PROT32 && mode != DM_COMPAT32))
		return;
	b->exec0 = b->ops[0].exec;
	b->ops[0].exec = jit_count;
}

bool jit_wants_reset(const struct cpu *c)
{
	return c->jit && c->jit->full;
}

void jit_reset(struct cpu *c)
{
	struct jit *j = c->jit;
	/* Give the pages back; the mapping stays. */
	madvise(j->mem, j->used, MADV_DONTNEED);
	j->used = 0;
	j->full = false;
}
