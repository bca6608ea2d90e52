/*
 * fast: the conventions of the threaded handlers (struct op.exec) and the
 * inline helpers the specialised forms share.
 *
 * A block runs as a chain of tail calls: each handler does its instruction
 * and jumps straight to the next op's handler (FAST_NEXT), so there is no
 * loop, no return and no rip update between two instructions. The last op
 * of every block is an end marker (emu_exec_end) that moves rip past the
 * block; a handler that leaves the block itself (a taken branch) sets
 * c->rip and leaves through FAST_LEAVE. Either way out goes on into the
 * next block when the jump cache has it (fast_exit), else back to the run
 * loop with the pointer one past the last retired instruction.
 *
 * While a block runs, c->rip holds the address of its first instruction and
 * an op finds its own as c->rip + op->off. Everything that is not a fast
 * path of a threaded handler - the reference handlers, the MMU slow paths,
 * exception delivery - sees c->rip at the current instruction, as if the
 * instructions ran one by one: a threaded handler brackets every call that
 * can fault or look at rip with fast_sync()/fast_unsync(), which cost
 * nothing on the fast path. Faults therefore need no recovery step.
 *
 * GCC turns `return f(...)` into a jump at -O2 (sibling calls); without it
 * (-O0) the calls nest, at most EMU_BLOCKS_PER_POLL blocks of
 * BLOCK_MAX_OPS + 1 ops deep (a few hundred KiB of stack).
 */
#ifndef LODGE_CPU_FAST_H
#define LODGE_CPU_FAST_H

#include "cpu/cpu.h"

/* Run the next op of the block. */
#define FAST_NEXT(c, op) return (op)[1].exec((c), (op) + 1)

/* Leave the block after op (a taken branch) with rip already set. */
#define FAST_LEAVE(c, op) return fast_exit((c), (op) + 1)

/*
 * Leave the block with c->rip at the next instruction. When the jump cache
 * has the block that starts there (in the current decode mode), run it
 * directly, as long as the budget of blocks between two looks at events
 * lasts; else return ret (one past the last retired op) to the run loop,
 * which finds or decodes the block. Halts, interrupt shadows and mode
 * changes only ever come from reference handlers, which return to the loop.
 */
CPU_INLINE const struct op *fast_exit(struct cpu *c, const struct op *ret)
{
	uint64_t lin = cpu_code_lin(c);
	const struct block *x = c->jmp[cpu_jmp_hash(lin)];
	if (likely(x->lin == lin && x->key_mode == c->code_key && --c->budget > 0)) {
		c->cur_block = x;
		return x->ops[0].exec(c, x->ops);
	}
	return ret;
}

/* c->rip at op / back at the block start (see above). */
CPU_INLINE void fast_sync(struct cpu *c, const struct op *op)
{
	c->rip += op->off;
}

CPU_INLINE void fast_unsync(struct cpu *c, const struct op *op)
{
	c->rip -= op->off;
}

/* The generic threaded handler: runs op->fn (emu.c). A specialised form
 * whose fast path does not apply (a TLB miss, a segment check, any fault)
 * hands the op to it before changing any state: the reference handler
 * then does the instruction, or raises its fault, exactly. */
op_exec emu_exec_ref;
/* The end marker of every block (emu.c). */
op_exec emu_exec_end;

#define FAST_REF(c, op) return emu_exec_ref((c), (op))

/* Effective address of op's memory operand, wrapped to the address size. */
CPU_INLINE uint64_t fast_ea(const struct cpu *c, const struct op *op)
{
	uint64_t a = c->slot[op->sbase] + (c->slot[op->sindex] << op->scale) +
		     (uint64_t)op->disp;
	if (likely(op->asize == 8))
		return a;
	return op->asize == 4 ? (uint32_t)a : a & 0xffff;
}

/*
 * Linear address of a size-byte access of kind acc at offset ea of segment
 * s; false when the segment checks fail (the reference handler raises the
 * fault). In 64-bit mode the canonical check is left to the TLB, which
 * holds only canonical pages: a miss goes to the reference handler.
 */
CPU_INLINE bool fast_lin(const struct cpu *c, unsigned s, uint64_t ea, unsigned size,
			 unsigned acc, uint64_t *lin)
{
	if (likely(c->mode64)) {
		*lin = s >= S_FS ? ea + c->seg[s].base : ea;
		return true;
	}
	if (unlikely(!(c->seg_acc[s] & acc) || ea < c->seg_lo[s] ||
		     ea + size - 1 > c->seg_hi[s]))
		return false;
	*lin = (uint32_t)(c->seg[s].base + ea);
	return true;
}

CPU_INLINE const struct tlb_entry *fast_tlb(const struct cpu *c, uint64_t lin)
{
	return &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
}

/* Host address of a size-byte read at linear lin, or NULL (TLB miss, page
 * crossing, MMIO). */
CPU_INLINE const uint8_t *fast_lin_rptr(const struct cpu *c, uint64_t lin, unsigned size)
{
	const struct tlb_entry *e = fast_tlb(c, lin);
	if (unlikely(e->tag_r != cpu_tlb_tag(lin, size)))
		return NULL;
	return (const uint8_t *)(uintptr_t)(lin + e->addend);
}

/* Host address of a size-byte write at linear lin, or NULL (also when the
 * page holds decoded code: such writes go through the MMU, which drops it). */
CPU_INLINE uint8_t *fast_lin_wptr(const struct cpu *c, uint64_t lin, unsigned size)
{
	const struct tlb_entry *e = fast_tlb(c, lin);
	if (unlikely(e->tag_w != cpu_tlb_tag(lin, size) ||
		     atomic_load_explicit(e->code, memory_order_relaxed)))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/* fast_lin for op's memory operand. A flat operand (OPF_FLAT) skips the
 * address-size wrap and the segment work. */
CPU_INLINE bool fast_op_lin(const struct cpu *c, const struct op *op, unsigned size, unsigned acc,
			    uint64_t *lin)
{
	if (likely(op->flags & OPF_FLAT)) {
		*lin = c->slot[op->sbase] + (c->slot[op->sindex] << op->scale) + (uint64_t)op->disp;
		return true;
	}
	return fast_lin(c, op->seg, fast_ea(c, op), size, acc, lin);
}

/* The same for op's memory operand. */
CPU_INLINE const uint8_t *fast_rptr(const struct cpu *c, const struct op *op, unsigned size)
{
	uint64_t lin;
	if (unlikely(!fast_op_lin(c, op, size, ACC_R, &lin)))
		return NULL;
	return fast_lin_rptr(c, lin, size);
}

CPU_INLINE uint8_t *fast_wptr(const struct cpu *c, const struct op *op, unsigned size)
{
	uint64_t lin;
	if (unlikely(!fast_op_lin(c, op, size, ACC_W, &lin)))
		return NULL;
	return fast_lin_wptr(c, lin, size);
}

/* The stack slot a push of size bytes writes, or NULL. */
CPU_INLINE uint8_t *fast_push_ptr(const struct cpu *c, unsigned size, uint64_t *sp)
{
	uint64_t lin;
	*sp = (c->gpr[R_SP] - size) & cpu_mask(c->stack_size);
	if (unlikely(!fast_lin(c, S_SS, *sp, size, ACC_W, &lin)))
		return NULL;
	return fast_lin_wptr(c, lin, size);
}

/* The stack slot a pop of size bytes reads, or NULL. */
CPU_INLINE const uint8_t *fast_pop_ptr(const struct cpu *c, unsigned size, uint64_t *sp)
{
	uint64_t lin;
	*sp = c->gpr[R_SP] & cpu_mask(c->stack_size);
	if (unlikely(!fast_lin(c, S_SS, *sp, size, ACC_R, &lin)))
		return NULL;
	return fast_lin_rptr(c, lin, size);
}

/* A near branch target v with operand size size, checked as ctrl_target
 * does; false if the branch would fault. */
CPU_INLINE bool fast_check_target(const struct cpu *c, unsigned size, uint64_t v, uint64_t *t)
{
	if (likely(c->mode64)) {
		if (unlikely(size == 2 || !cpu_canonical(v)))
			return false;
	} else {
		v &= cpu_mask(size);
		if (unlikely(v > c->seg[S_CS].limit))
			return false;
	}
	*t = v;
	return true;
}

/* The target of a relative branch: select.c stores it in op->disp relative
 * to the block's first instruction. */
CPU_INLINE bool fast_target(const struct cpu *c, const struct op *op, uint64_t *t)
{
	return fast_check_target(c, op->size, c->rip + (uint64_t)op->disp, t);
}

/* Leave the block through the branch op, whose target t is checked. A
 * branch back to the block's own start (a loop the block is the body of)
 * goes round again directly, budget permitting: the block is alive and
 * its mode unchanged, as it is running. */
CPU_INLINE const struct op *fast_jump(struct cpu *c, const struct op *op, uint64_t t)
{
	if (t == c->rip && likely(--c->budget > 0))
		return (op - op->idx)->exec(c, op - op->idx);
	c->rip = t;
	FAST_LEAVE(c, op);
}

/* The Jcc j, its condition decided: on to the next op, or out of the
 * block to its target. */
CPU_INLINE const struct op *fast_branch(struct cpu *c, const struct op *j, bool taken)
{
	uint64_t t;
	if (!taken)
		FAST_NEXT(c, j);
	if (unlikely(!fast_target(c, j, &t)))
		FAST_REF(c, j);
	return fast_jump(c, j, t);
}

#endif
