/*
 * exec_ctrl: near control transfers and software interrupts (Intel SDM
 * Vol. 2: JMP, Jcc, JCXZ/JECXZ/JRCXZ, LOOP/LOOPcc, CALL, RET, IRET, INT n,
 * INT3, INTO, INT1, BOUND). A near target beyond the CS limit (or
 * non-canonical in 64-bit mode) faults at the branch, before anything is
 * pushed or popped.
 */
#include "cpu/cpu.h"
#include "cpu/fast.h"

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

/*
 * Threaded forms (fast.h) of the relative branches, CALL and RET. Jcc comes
 * in one form per condition so the condition folds into the handler.
 */
#define JCC_FORM(CC)                                                           \
	static const struct op *ctrl_jcc_##CC(struct cpu *c, const struct op *op) \
	{                                                                      \
		return fast_branch(c, op, flags_cond_fast(c, CC));             \
	}
JCC_FORM(0) JCC_FORM(1) JCC_FORM(2) JCC_FORM(3) JCC_FORM(4) JCC_FORM(5) JCC_FORM(6)
JCC_FORM(7) JCC_FORM(8) JCC_FORM(9) JCC_FORM(10) JCC_FORM(11) JCC_FORM(12) JCC_FORM(13)
JCC_FORM(14) JCC_FORM(15)

op_exec *const ctrl_jcc_fast[16] = {
	ctrl_jcc_0, ctrl_jcc_1, ctrl_jcc_2, ctrl_jcc_3, ctrl_jcc_4, ctrl_jcc_5,
	ctrl_jcc_6, ctrl_jcc_7, ctrl_jcc_8, ctrl_jcc_9, ctrl_jcc_10, ctrl_jcc_11,
	ctrl_jcc_12, ctrl_jcc_13, ctrl_jcc_14, ctrl_jcc_15,
};

const struct op *ctrl_jmp_rel(struct cpu *c, const struct op *op)
{
	uint64_t t;
	if (unlikely(!fast_target(c, op, &t)))
		FAST_REF(c, op);
	return fast_jump(c, op, t);
}

const struct op *ctrl_call_rel(struct cpu *c, const struct op *op)
{
	uint64_t t, sp;
	unsigned size = op->size;
	uint8_t *p;
	if (unlikely(!fast_target(c, op, &t) || !(p = fast_push_ptr(c, size, &sp))))
		FAST_REF(c, op);
	cpu_store_host(p, size, c->rip + op->off + op->len);
	cpu_sp_set(c, sp);
	c->rip = t;
	FAST_LEAVE(c, op);
}

const struct op *ctrl_ret_near(struct cpu *c, const struct op *op)
{
	uint64_t t, sp;
	unsigned size = op->size;
	const uint8_t *p = fast_pop_ptr(c, size, &sp);
	if (unlikely(!p || !fast_check_target(c, size, cpu_load_host(p, size), &t)))
		FAST_REF(c, op);
	cpu_sp_set(c, sp + size + (op->imm & 0xffff));
	c->rip = t;
	FAST_LEAVE(c, op);
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
