/*
 * exec_ctrl: near control transfers and software interrupts (Intel SDM
 * Vol. 2: JMP, Jcc, JCXZ/JECXZ/JRCXZ, LOOP/LOOPcc, CALL, RET, IRET, INT n,
 * INT3, INTO, INT1, BOUND). A near target beyond the CS limit (or
 * non-canonical in 64-bit mode) faults at the branch, before anything is
 * pushed or popped.
 */
#include "cpu/cpu.h"

/* The target of a near transfer with operand size size, checked. */
static uint64_t ctrl_target(struct cpu *c, uint64_t t, unsigned size)
{
	if (c->mode64) {
		if (size == 2)
			t &= 0xffff;
		if (!cpu_canonical(t))
			cpu_raise(c, EXC_GP, 0);
		return t;
	}
	t &= cpu_mask(size);
	if (t > c->seg[S_CS].limit)
		cpu_raise(c, EXC_GP, 0);
	return t;
}

int ctrl_jmp(struct cpu *c, const struct op *op)
{
	c->rip = ctrl_target(c, c->rip + op->len + op->imm, op->size);
	return 1;
}

int ctrl_jmp_ind(struct cpu *c, const struct op *op)
{
	c->rip = ctrl_target(c, cpu_opnd_get(c, op, 0, op->size), op->size);
	return 1;
}

int ctrl_jcc(struct cpu *c, const struct op *op)
{
	if (!flags_cond_fast(c, op->sub))
		return 0;
	c->rip = ctrl_target(c, c->rip + op->len + op->imm, op->size);
	return 1;
}

int ctrl_jcxz(struct cpu *c, const struct op *op)
{
	if (c->gpr[R_CX] & cpu_mask(op->asize))
		return 0;
	c->rip = ctrl_target(c, c->rip + op->len + op->imm, op->size);
	return 1;
}

/* LOOP/LOOPE/LOOPNE: the count register width is the address size. */
int ctrl_loop(struct cpu *c, const struct op *op)
{
	uint64_t n = (c->gpr[R_CX] - 1) & cpu_mask(op->asize);
	bool go = n != 0;
	if (op->sub == LOOP_LOOPE)
		go = go && flags_cond(c, 4);
	else if (op->sub == LOOP_LOOPNE)
		go = go && !flags_cond(c, 4);
	uint64_t t = go ? ctrl_target(c, c->rip + op->len + op->imm, op->size) : 0;
	cpu_reg_set(c, R_CX, op->asize, n);
	if (!go)
		return 0;
	c->rip = t;
	return 1;
}

int ctrl_call(struct cpu *c, const struct op *op)
{
	uint64_t ret = c->rip + op->len;
	uint64_t t = ctrl_target(c, ret + op->imm, op->size);
	cpu_push(c, op->size, ret);
	c->rip = t;
	return 1;
}

int ctrl_call_ind(struct cpu *c, const struct op *op)
{
	uint64_t t = ctrl_target(c, cpu_opnd_get(c, op, 0, op->size), op->size);
	cpu_push(c, op->size, c->rip + op->len);
	c->rip = t;
	return 1;
}

int ctrl_ret(struct cpu *c, const struct op *op)
{
	uint64_t sp = cpu_sp(c);
	uint64_t t = ctrl_target(c, cpu_read(c, S_SS, sp, op->size), op->size);
	cpu_sp_set(c, sp + op->size + (op->imm & 0xffff));
	c->rip = t;
	return 1;
}

int ctrl_iret(struct cpu *c, const struct op *op)
{
	intr_iret(c, op->size, c->rip + op->len);
	return 1;
}

int ctrl_int(struct cpu *c, const struct op *op)
{
	intr_deliver(c, (int)(op->imm & 0xff), false, 0, true, false, c->rip + op->len);
	return 1;
}

int ctrl_int3(struct cpu *c, const struct op *op)
{
	intr_deliver(c, EXC_BP, false, 0, true, false, c->rip + op->len);
	return 1;
}

int ctrl_into(struct cpu *c, const struct op *op)
{
	if (!flags_cond(c, 0))
		return 0;
	intr_deliver(c, EXC_OF, false, 0, true, false, c->rip + op->len);
	return 1;
}

/* INT1 (ICEBP) is delivered like a hardware #DB: no gate DPL check. */
int ctrl_int1(struct cpu *c, const struct op *op)
{
	intr_deliver(c, EXC_DB, false, 0, false, false, c->rip + op->len);
	return 1;
}

int ctrl_bound(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t ea = cpu_ea(c, op);
	int64_t lo = cpu_sext(cpu_read(c, op->seg, ea, size), size);
	int64_t hi = cpu_sext(cpu_read(c, op->seg, (ea + size) & cpu_mask(op->asize), size), size);
	int64_t idx = cpu_sext(cpu_reg_get(c, op->r[0], size), size);
	if (idx < lo || idx > hi)
		cpu_raise(c, EXC_BR, 0);
	return 0;
}
