/*
 * exec_stack: stack instructions (Intel SDM Vol. 2: PUSH, POP, PUSHA/PUSHAD,
 * POPA/POPAD, PUSHF/PUSHFD/PUSHFQ, POPF/POPFD/POPFQ, ENTER, LEAVE; Vol. 1
 * 6.2 stack size attributes). The stack pointer width is SS.B (or 64 bits in
 * 64-bit mode), independent of the operand size of the instruction.
 * Registers change only after every memory access succeeded.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

void cpu_push(struct cpu *c, unsigned size, uint64_t v)
{
	uint64_t sp = (cpu_sp(c) - size) & cpu_mask(c->stack_size);
	cpu_write(c, S_SS, sp, size, v);
	cpu_sp_set(c, sp);
}

uint64_t cpu_pop(struct cpu *c, unsigned size)
{
	uint64_t sp = cpu_sp(c);
	uint64_t v = cpu_read(c, S_SS, sp, size);
	cpu_sp_set(c, sp + size);
	return v;
}

int stack_push(struct cpu *c, const struct op *op)
{
	cpu_push(c, op->size, cpu_opnd_get(c, op, 0, op->size));
	return 0;
}

/* POP r/m: a memory destination addressed through rSP sees the incremented
 * stack pointer (SDM POP), yet a faulting store must leave rSP unchanged. */
int stack_pop(struct cpu *c, const struct op *op)
{
	uint64_t sp = cpu_sp(c);
	uint64_t v = cpu_read(c, S_SS, sp, op->size);
	if (op->k[0] == K_REG) {
		cpu_sp_set(c, sp + op->size);
		cpu_reg_set(c, op->r[0], op->size, v);
		return 0;
	}
	uint64_t old = c->gpr[R_SP];
	cpu_sp_set(c, sp + op->size);
	uint64_t ea = cpu_ea(c, op), nsp = c->gpr[R_SP];
	c->gpr[R_SP] = old;
	cpu_write(c, op->seg, ea, op->size, v);
	c->gpr[R_SP] = nsp;
	return 0;
}

/* Threaded forms (fast.h) of PUSH r and POP r. */
const struct op *stack_push_r(struct cpu *c, const struct op *op)
{
	uint64_t sp;
	unsigned size = op->size;
	uint8_t *p = fast_push_ptr(c, size, &sp);
	if (unlikely(!p))
		FAST_REF(c, op);
	cpu_store_host(p, size, cpu_reg_get(c, op->r[0], size));
	cpu_sp_set(c, sp);
	FAST_NEXT(c, op);
}

const struct op *stack_pop_r(struct cpu *c, const struct op *op)
{
	uint64_t sp;
	unsigned size = op->size;
	const uint8_t *p = fast_pop_ptr(c, size, &sp);
	if (unlikely(!p))
		FAST_REF(c, op);
	cpu_sp_set(c, sp + size);
	cpu_reg_set(c, op->r[0], size, cpu_load_host(p, size));
	FAST_NEXT(c, op);
}

/* PUSH Sreg: with a 32/64-bit operand only the low 16 bits are written
 * (SDM PUSH: "recent processors ... leave the upper portion unmodified"). */
int stack_push_seg(struct cpu *c, const struct op *op)
{
	uint64_t sp = (cpu_sp(c) - op->size) & cpu_mask(c->stack_size);
	cpu_write(c, S_SS, sp, 2, c->seg[op->r[0]].selector);
	cpu_sp_set(c, sp);
	return 0;
}

int stack_pop_seg(struct cpu *c, const struct op *op)
{
	uint64_t sp = cpu_sp(c);
	uint16_t sel = (uint16_t)cpu_read(c, S_SS, sp, 2);
	cpu_lin(c, S_SS, sp, op->size, ACC_R);
	seg_load_any(c, op->r[0], sel);
	cpu_sp_set(c, sp + op->size);
	if (op->r[0] == S_SS) {
		c->shadow = true;
		c->rip += op->len;
		return 1;
	}
	return 0;
}

int stack_pusha(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size);
	static const unsigned order[8] = { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
	for (unsigned i = 0; i < 8; i++)
		cpu_write(c, S_SS, (sp - (i + 1) * size) & m, size, c->gpr[order[i]]);
	cpu_sp_set(c, sp - 8 * size);
	return 0;
}

int stack_popa(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size), v[8];
	for (unsigned i = 0; i < 8; i++)
		v[i] = cpu_read(c, S_SS, (sp + i * size) & m, size);
	static const unsigned order[8] = { R_DI, R_SI, R_BP, R_SP, R_BX, R_DX, R_CX, R_AX };
	for (unsigned i = 0; i < 8; i++)
		if (order[i] != R_SP)
			cpu_reg_set(c, order[i], size, v[i]);
	cpu_sp_set(c, sp + 8 * size);
	return 0;
}

/* PUSHF: the image has VM and RF clear (SDM PUSHF). In virtual-8086 mode
 * without VME it needs IOPL 3. */
int stack_pushf(struct cpu *c, const struct op *op)
{
	if ((c->rflags & FL_VM) && ((c->rflags & FL_IOPL) >> 12) < 3)
		cpu_raise(c, EXC_GP, 0);
	cpu_push(c, op->size, flags_get(c) & ~(FL_VM | FL_RF));
	return 0;
}

/* POPF: which bits may change depends on CPL and IOPL (SDM POPF, Table 4-?
 * "Effect of POPF/POPFD on the EFLAGS Register"). Ends the block: IF and TF
 * changes take effect at the next instruction boundary. */
int stack_popf(struct cpu *c, const struct op *op)
{
	unsigned iopl = (c->rflags & FL_IOPL) >> 12;
	bool vm86 = c->rflags & FL_VM;
	if (vm86 && iopl < 3)
		cpu_raise(c, EXC_GP, 0);
	uint64_t v = cpu_read(c, S_SS, cpu_sp(c), op->size);
	uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID | FL_IF | FL_IOPL;
	if (c->cpl > 0 || vm86)
		mask &= ~FL_IOPL;
	if (c->cpl > iopl && !vm86)
		mask &= ~FL_IF;
	if (op->size == 2)
		mask &= 0xffff;
	cpu_sp_set(c, cpu_sp(c) + op->size);
	flags_set(c, v, mask);
	c->rflags &= ~FL_RF;
	c->rip += op->len;
	return 1;
}

/* ENTER imm16, imm8 (SDM ENTER, nesting level taken modulo 32). */
int stack_enter(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, level = op->imm2 & 31;
	uint64_t m = cpu_mask(c->stack_size);
	uint64_t sp = cpu_sp(c), bp = c->gpr[R_BP] & m;
	sp = (sp - size) & m;
	cpu_write(c, S_SS, sp, size, c->gpr[R_BP]);
	uint64_t frame = sp;
	if (level > 0) {
		for (unsigned i = 1; i < level; i++) {
			bp = (bp - size) & m;
			uint64_t v = cpu_read(c, S_SS, bp, size);
			sp = (sp - size) & m;
			cpu_write(c, S_SS, sp, size, v);
		}
		sp = (sp - size) & m;
		cpu_write(c, S_SS, sp, size, frame);
	}
	sp = (sp - (op->imm & 0xffff)) & m;
	/* The final stack pointer must be valid (a #SS if not). */
	cpu_lin(c, S_SS, sp, 1, ACC_W);
	cpu_reg_set(c, R_BP, size, frame);
	cpu_sp_set(c, sp);
	return 0;
}

int stack_leave(struct cpu *c, const struct op *op)
{
	uint64_t bp = c->gpr[R_BP] & cpu_mask(c->stack_size);
	uint64_t v = cpu_read(c, S_SS, bp, op->size);
	cpu_sp_set(c, bp + op->size);
	cpu_reg_set(c, R_BP, op->size, v);
	return 0;
}
