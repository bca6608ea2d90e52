/*
 * exec_far: far control transfers (Intel SDM Vol. 2 JMP, CALL and RET
 * "far" pseudo-code; Vol. 3A 5.8 privilege level checks for control
 * transfers, 5.8.3 call gates, 5.8.5 stack switching, 5.8.6 returning from
 * a called procedure; 7.3 task switches through TSS descriptors and task
 * gates).
 */
#include "cpu/cpu.h"

/* Selector and offset of a far operand (ptr16:16/32 or m16:16/32/64). */
static void far_operand(struct cpu *c, const struct op *op, uint16_t *sel, uint64_t *off)
{
	if (op->k[0] == K_IMM) {
		*off = op->imm;
		*sel = op->imm2;
		return;
	}
	uint64_t ea = cpu_ea(c, op);
	*off = cpu_read(c, op->seg, ea, op->size);
	*sel = (uint16_t)cpu_read(c, op->seg, (ea + op->size) & cpu_mask(op->asize), 2);
}

static uint64_t far_check_off(struct cpu *c, const struct vcpu_segment *cs, uint64_t off,
			      unsigned size)
{
	bool to64 = (c->efer & EFER_LMA) && cs->l;
	if (to64) {
		if (!cpu_canonical(off))
			cpu_raise(c, EXC_GP, 0);
		return off;
	}
	off &= cpu_mask(size < 4 ? size : 4);
	if (off > cs->limit)
		cpu_raise(c, EXC_GP, 0);
	return off;
}

/* Check a code segment reached directly by JMP/CALL (SDM 5.8.2). */
static void far_direct_cs(struct cpu *c, uint16_t sel, const struct vcpu_segment *cs)
{
	unsigned rpl = sel & 3;
	if (cs->type & 4) {
		if (cs->dpl > c->cpl)
			cpu_raise(c, EXC_GP, sel & 0xfffc);
	} else if (rpl > c->cpl || cs->dpl != c->cpl) {
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	}
	if (!cs->present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	if ((c->efer & EFER_LMA) && cs->l && cs->db)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
}

/* The descriptor a far JMP/CALL names. True for a code segment, which is
 * then checked as a direct target; false for a system descriptor (gate or
 * TSS) the caller handles. */
static bool far_target(struct cpu *c, uint16_t sel, uint64_t *desc, struct vcpu_segment *cs)
{
	if ((sel & ~3u) == 0)
		cpu_raise(c, EXC_GP, 0);
	if (!seg_read_desc(c, sel, desc))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	seg_from_desc(cs, sel, *desc);
	if (!cs->s)
		return false;
	if (!(cs->type & 8))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	far_direct_cs(c, sel, cs);
	return true;
}

struct far_gate {
	uint16_t sel;
	uint64_t off;
	unsigned params, size;          /* parameter count; 2, 4 or 8 byte gate */
};

/* Read a call gate (legacy 8 bytes or long-mode 16 bytes) and check it. */
static void far_read_gate(struct cpu *c, uint16_t sel, uint64_t desc, struct far_gate *g)
{
	unsigned type = (desc >> 40) & 0xf, dpl = (desc >> 45) & 3;
	if (dpl < c->cpl || dpl < (sel & 3u))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!((desc >> 47) & 1))
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	g->sel = (uint16_t)(desc >> 16);
	g->off = (desc & 0xffff) | ((desc >> 32) & 0xffff0000ULL);
	g->params = (desc >> 32) & 0x1f;
	if (c->efer & EFER_LMA) {
		uint64_t lo, hi;
		if (type != 0xc || !seg_read_desc16(c, sel, &lo, &hi) || ((hi >> 40) & 0x1f))
			cpu_raise(c, EXC_GP, sel & 0xfffc);
		g->off |= hi << 32;
		g->params = 0;
		g->size = 8;
	} else {
		g->size = type == 0xc ? 4 : 2;
		if (g->size == 2)
			g->off &= 0xffff;
	}
}

/* The code segment a call gate points at. */
static void far_gate_cs(struct cpu *c, const struct far_gate *g, struct vcpu_segment *cs,
			uint64_t *raw)
{
	if ((g->sel & ~3u) == 0)
		cpu_raise(c, EXC_GP, 0);
	if (!seg_read_desc(c, g->sel, raw))
		cpu_raise(c, EXC_GP, g->sel & 0xfffc);
	seg_from_desc(cs, g->sel, *raw);
	if (!cs->s || !(cs->type & 8) || cs->dpl > c->cpl)
		cpu_raise(c, EXC_GP, g->sel & 0xfffc);
	if (!cs->present)
		cpu_raise(c, EXC_NP, g->sel & 0xfffc);
	if ((c->efer & EFER_LMA) && (!cs->l || cs->db))
		cpu_raise(c, EXC_GP, g->sel & 0xfffc);
}

/* A call gate and the code segment it leads to, both checked. */
static void far_gate(struct cpu *c, uint16_t sel, uint64_t desc, struct far_gate *g,
		     struct vcpu_segment *tcs, uint64_t *raw)
{
	far_read_gate(c, sel, desc, g);
	far_gate_cs(c, g, tcs, raw);
}

static void far_real(struct cpu *c, uint16_t sel, uint64_t off, unsigned size)
{
	off &= cpu_mask(size);
	seg_load_real(c, S_CS, sel);
	c->rip = off;
}

static void far_enter_cs(struct cpu *c, uint16_t sel, uint64_t *raw, struct vcpu_segment *cs,
			 unsigned cpl, uint64_t off)
{
	seg_set_accessed(c, sel, raw);
	cs->type |= 1;
	cs->selector = (sel & ~3u) | cpl;
	seg_set_cs(c, cs, cpl);
	c->rip = off;
}

/* JMP/CALL to a TSS descriptor or through a task gate (SDM 7.3). */
static void far_task(struct cpu *c, const struct op *op, uint16_t sel, uint64_t desc,
		     enum task_reason why)
{
	if (c->efer & EFER_LMA)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	unsigned dpl = (desc >> 45) & 3;
	if (dpl < c->cpl || dpl < (sel & 3u))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!((desc >> 47) & 1))
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	if (((desc >> 40) & 0xf) == 5) {
		sel = (uint16_t)(desc >> 16);
		if ((sel & 4) || !seg_read_desc(c, sel, &desc))
			cpu_raise(c, EXC_GP, sel & 0xfffc);
	}
	task_switch(c, sel, desc, why, false, 0, c->rip + op->len);
}

int far_jmp(struct cpu *c, const struct op *op)
{
	uint16_t sel;
	uint64_t off, desc;
	far_operand(c, op, &sel, &off);
	if (!c->pmode) {
		far_real(c, sel, off, op->size);
		return 1;
	}
	struct vcpu_segment cs;
	if (far_target(c, sel, &desc, &cs)) {
		off = far_check_off(c, &cs, off, op->size);
		far_enter_cs(c, sel, &desc, &cs, c->cpl, off);
		return 1;
	}
	switch (cs.type) {
	case 4: case 0xc: {
		struct far_gate g;
		struct vcpu_segment tcs;
		uint64_t raw;
		far_gate(c, sel, desc, &g, &tcs, &raw);
		if (!(tcs.type & 4) && tcs.dpl != c->cpl)
			cpu_raise(c, EXC_GP, g.sel & 0xfffc);
		uint64_t t = far_check_off(c, &tcs, g.off, g.size);
		far_enter_cs(c, g.sel, &raw, &tcs, c->cpl, t);
		return 1;
	}
	case 5: case 1: case 9:
		far_task(c, op, sel, desc, TASK_JMP);
		return 1;
	default:
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	}
}

/* Switch to the inner stack and push the caller's SS:SP, the copied
 * parameters and CS:IP there. A fault while pushing restores the caller's
 * stack. Kept apart from far_call_inner so no local of that function is live
 * across the setjmp. */
static void far_push_inner(struct cpu *c, const struct vcpu_segment *ss, unsigned dpl,
			   uint64_t sp, unsigned gs, uint16_t old_ss, uint64_t old_sp,
			   const uint64_t *params, unsigned nparams, uint16_t old_cs, uint64_t ret)
{
	struct vcpu_segment save_ss = c->seg[S_SS];
	unsigned save_cpl = c->cpl;
	uint64_t save_rsp = c->gpr[R_SP];
	c->seg[S_SS] = *ss;
	c->cpl = dpl;
	cpu_update_mode(c);
	c->gpr[R_SP] = sp;
	jmp_buf saved;
	memcpy(saved, c->jb, sizeof(saved));
	if (setjmp(c->jb)) {
		memcpy(c->jb, saved, sizeof(saved));
		c->seg[S_SS] = save_ss;
		c->cpl = save_cpl;
		c->gpr[R_SP] = save_rsp;
		cpu_update_mode(c);
		longjmp(c->jb, 1);
	}
	cpu_push(c, gs, old_ss);
	cpu_push(c, gs, old_sp);
	for (unsigned i = nparams; i-- > 0;)
		cpu_push(c, gs, params[i]);
	cpu_push(c, gs, old_cs);
	cpu_push(c, gs, ret);
	memcpy(c->jb, saved, sizeof(saved));
}

/* Call through a gate to a more privileged level: stack switch with
 * parameter copy (SDM 5.8.5, Figure 5-13). */
static void far_call_inner(struct cpu *c, const struct op *op, const struct far_gate *g,
			   struct vcpu_segment *tcs, uint64_t *raw)
{
	unsigned dpl = tcs->dpl, gs = g->size;
	uint16_t old_ss = c->seg[S_SS].selector, old_cs = c->seg[S_CS].selector;
	uint64_t old_sp = c->gpr[R_SP], ret = c->rip + op->len;
	uint64_t t = far_check_off(c, tcs, g->off, gs);
	uint64_t params[32];
	for (unsigned i = 0; i < g->params; i++)
		params[i] = cpu_read(c, S_SS, (cpu_sp(c) + i * gs) & cpu_mask(c->stack_size), gs);
	struct vcpu_segment ss;
	uint64_t sp;
	uint16_t nss;
	if (c->efer & EFER_LMA) {
		uint32_t o = 4 + dpl * 8;
		if (o + 7 > c->tr.limit)
			cpu_raise(c, EXC_TS, c->tr.selector & 0xfffc);
		sp = mmu_read_sys(c, c->tr.base + o, 8);
		nss = (uint16_t)dpl;
		memset(&ss, 0, sizeof(ss));
		ss.selector = nss;
		ss.present = ss.s = 1;
		ss.type = 3;
		ss.dpl = dpl;
		ss.db = 1;
		ss.limit = 0xffffffff;
	} else {
		uint64_t ssraw;
		bool tss32 = c->tr.type & 8;
		uint32_t o = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
		if (o + (tss32 ? 5 : 3) > c->tr.limit)
			cpu_raise(c, EXC_TS, c->tr.selector & 0xfffc);
		sp = mmu_read_sys(c, c->tr.base + o, tss32 ? 4 : 2);
		nss = (uint16_t)mmu_read_sys(c, c->tr.base + o + (tss32 ? 4 : 2), 2);
		if ((nss & ~3u) == 0)
			cpu_raise(c, EXC_TS, 0);
		if ((nss & 3) != dpl || !seg_read_desc(c, nss, &ssraw))
			cpu_raise(c, EXC_TS, nss & 0xfffc);
		seg_from_desc(&ss, nss, ssraw);
		if (ss.dpl != dpl || !ss.s || (ss.type & 8) || !(ss.type & 2))
			cpu_raise(c, EXC_TS, nss & 0xfffc);
		if (!ss.present)
			cpu_raise(c, EXC_SS, nss & 0xfffc);
		seg_set_accessed(c, nss, &ssraw);
		ss.type |= 1;
	}
	far_push_inner(c, &ss, dpl, sp, gs, old_ss, old_sp, params, g->params, old_cs, ret);
	far_enter_cs(c, g->sel, raw, tcs, dpl, t);
}

int far_call(struct cpu *c, const struct op *op)
{
	uint16_t sel;
	uint64_t off, desc;
	unsigned size = op->size;
	far_operand(c, op, &sel, &off);
	if (!c->pmode) {
		uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size);
		cpu_write(c, S_SS, (sp - size) & m, size, c->seg[S_CS].selector);
		cpu_write(c, S_SS, (sp - 2 * size) & m, size, c->rip + op->len);
		cpu_sp_set(c, sp - 2 * size);
		far_real(c, sel, off, size);
		return 1;
	}
	struct vcpu_segment cs;
	if (far_target(c, sel, &desc, &cs)) {
		off = far_check_off(c, &cs, off, size);
		uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size);
		cpu_write(c, S_SS, (sp - size) & m, size, c->seg[S_CS].selector);
		cpu_write(c, S_SS, (sp - 2 * size) & m, size, c->rip + op->len);
		cpu_sp_set(c, sp - 2 * size);
		far_enter_cs(c, sel, &desc, &cs, c->cpl, off);
		return 1;
	}
	switch (cs.type) {
	case 4: case 0xc: {
		struct far_gate g;
		struct vcpu_segment tcs;
		uint64_t raw;
		far_gate(c, sel, desc, &g, &tcs, &raw);
		if (!(tcs.type & 4) && tcs.dpl < c->cpl) {
			far_call_inner(c, op, &g, &tcs, &raw);
			return 1;
		}
		uint64_t t = far_check_off(c, &tcs, g.off, g.size);
		uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size);
		cpu_write(c, S_SS, (sp - g.size) & m, g.size, c->seg[S_CS].selector);
		cpu_write(c, S_SS, (sp - 2 * g.size) & m, g.size, c->rip + op->len);
		cpu_sp_set(c, sp - 2 * g.size);
		far_enter_cs(c, g.sel, &raw, &tcs, c->cpl, t);
		return 1;
	}
	case 5: case 1: case 9:
		far_task(c, op, sel, desc, TASK_CALL);
		return 1;
	default:
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	}
}

int far_ret(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size), imm = op->imm & 0xffff;
	uint64_t off = cpu_read(c, S_SS, sp, size);
	uint16_t sel = (uint16_t)cpu_read(c, S_SS, (sp + size) & m, size);
	if (!c->pmode) {
		cpu_sp_set(c, sp + 2 * size + imm);
		far_real(c, sel, off, size);
		return 1;
	}
	uint64_t desc;
	struct vcpu_segment cs;
	seg_return_cs(c, sel, &cs, &desc);
	unsigned rpl = sel & 3;
	off = far_check_off(c, &cs, off, size);
	if (rpl == c->cpl) {
		cpu_sp_set(c, sp + 2 * size + imm);
		far_enter_cs(c, sel, &desc, &cs, c->cpl, off);
		return 1;
	}
	/* Return to an outer level: SS:rSP follow the parameters. */
	uint64_t nsp_off = (sp + 2 * size + imm) & m;
	uint64_t nsp = cpu_read(c, S_SS, nsp_off, size);
	uint16_t nss = (uint16_t)cpu_read(c, S_SS, (nsp_off + size) & m, size);
	struct vcpu_segment ss;
	seg_return_ss(c, nss, rpl, (c->efer & EFER_LMA) && cs.l, &ss);
	far_enter_cs(c, sel, &desc, &cs, rpl, off);
	c->seg[S_SS] = ss;
	cpu_update_mode(c);
	if (c->mode64)
		c->gpr[R_SP] = nsp + imm;
	else
		cpu_sp_set(c, nsp + imm);
	seg_null_on_return(c);
	return 1;
}
