/*
 * intr: exceptions and interrupts for the software CPU (Intel SDM Vol. 3A
 * chapter 6 "Interrupt and Exception Handling": 6.4 sources, 6.12 protected
 * mode delivery, 6.13 error codes, 6.14 64-bit mode, 6.15 exception
 * reference; Vol. 3A 20.1.4 real-mode IVT, 20.3 virtual-8086 interrupts;
 * Vol. 2A INT n/IRET pseudo-code).
 *
 * cpu_raise() abandons the current instruction with longjmp; the run loop
 * (emu.c) then calls intr_deliver() with the double-fault rules applied. A
 * fault during delivery comes back through the same path, so a #GP while
 * delivering a #GP becomes #DF and a fault while delivering #DF a shutdown.
 */
#include "cpu/cpu.h"

#include <setjmp.h>

_Noreturn void cpu_raise(struct cpu *c, int vec, uint32_t err)
{
	c->exc_vec = vec;
	c->exc_err = err;
	c->exc_has_err = intr_has_error_code(vec);
	longjmp(c->jb, 1);
}

_Noreturn void cpu_raise_noerr(struct cpu *c, int vec)
{
	cpu_raise(c, vec, 0);
}

_Noreturn void cpu_raise_pf(struct cpu *c, uint64_t lin, uint32_t err)
{
	c->cr2 = lin;
	cpu_raise(c, EXC_PF, err);
}

bool intr_has_error_code(int vec)
{
	switch (vec) {
	case EXC_DF: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_PF:
	case EXC_AC:
		return true;
	default:
		return false;
	}
}

/* Offset check against a (possibly expand-down) stack segment descriptor. */
static bool intr_stack_ok(const struct vcpu_segment *ss, uint64_t off, unsigned size)
{
	if (!(ss->type & 4))
		return off + size - 1 <= ss->limit;
	uint64_t hi = ss->db ? 0xffffffffULL : 0xffffULL;
	return off > ss->limit && off + size - 1 <= hi;
}

/* A push on a stack that is not (yet) SS: supervisor-privilege writes. */
struct intr_stack {
	const struct vcpu_segment *ss;
	uint64_t sp;
	uint64_t spmask;
	bool flat64;
	bool super;
};

static void intr_push(struct cpu *c, struct intr_stack *st, unsigned size, uint64_t v)
{
	uint64_t sp = (st->sp - size) & st->spmask;
	uint64_t lin;
	if (st->flat64) {
		lin = sp;
		if (!cpu_canonical(lin))
			cpu_raise(c, EXC_SS, 0);
	} else {
		if (!intr_stack_ok(st->ss, sp, size))
			cpu_raise(c, EXC_SS, 0);
		lin = (uint32_t)(st->ss->base + sp);
	}
	mmu_write_slow(c, lin, size, v, ACC_W | (st->super ? ACC_SUPER : 0));
	st->sp = sp;
}

/* Real-mode delivery through the IVT (SDM 20.1.4). */
static void intr_real(struct cpu *c, int vec, uint64_t ret_ip)
{
	if ((uint32_t)vec * 4 + 3 > c->idt.limit)
		cpu_raise(c, EXC_GP, 0);
	uint32_t ent = (uint32_t)mmu_read_sys(c, c->idt.base + vec * 4, 4);
	uint64_t fl = flags_get(c);
	cpu_push(c, 2, fl);
	cpu_push(c, 2, c->seg[S_CS].selector);
	cpu_push(c, 2, ret_ip);
	flags_set(c, 0, FL_IF | FL_TF | FL_AC | FL_RF);
	seg_load_real(c, S_CS, ent >> 16);
	c->rip = ent & 0xffff;
}

/* Ring stack pointer for privilege level dpl from the current TSS. */
static void intr_tss_stack(struct cpu *c, unsigned dpl, uint16_t *ss, uint64_t *sp)
{
	const struct vcpu_segment *tr = &c->tr;
	if (tr->unusable || !tr->present)
		cpu_raise(c, EXC_TS, tr->selector & 0xfffc);
	if (!(tr->type & 8)) {
		/* 16-bit TSS: SP0 at 2, SS0 at 4, 4 bytes per level. */
		uint32_t off = 2 + dpl * 4;
		if (off + 3 > tr->limit)
			cpu_raise(c, EXC_TS, tr->selector & 0xfffc);
		*sp = mmu_read_sys(c, tr->base + off, 2);
		*ss = (uint16_t)mmu_read_sys(c, tr->base + off + 2, 2);
	} else {
		uint32_t off = 4 + dpl * 8;
		if (off + 5 > tr->limit)
			cpu_raise(c, EXC_TS, tr->selector & 0xfffc);
		*sp = mmu_read_sys(c, tr->base + off, 4);
		*ss = (uint16_t)mmu_read_sys(c, tr->base + off + 4, 2);
	}
}

/* Validate the target code segment of a gate; returns the descriptor. */
static void intr_gate_cs(struct cpu *c, uint16_t sel, uint32_t ext, struct vcpu_segment *cs,
			 uint64_t *raw)
{
	if ((sel & ~3u) == 0)
		cpu_raise(c, EXC_GP, ext);
	if (!seg_read_desc(c, sel, raw))
		cpu_raise(c, EXC_GP, (sel & 0xfffc) | ext);
	seg_from_desc(cs, sel, *raw);
	if (!cs->s || !(cs->type & 8) || cs->dpl > c->cpl)
		cpu_raise(c, EXC_GP, (sel & 0xfffc) | ext);
	if (!cs->present)
		cpu_raise(c, EXC_NP, (sel & 0xfffc) | ext);
}

/* Protected-mode and virtual-8086 delivery through a 32-bit IDT (SDM 6.12). */
static void intr_protected(struct cpu *c, int vec, bool has_err, uint32_t err, bool soft,
			   bool ext, uint64_t ret_ip)
{
	uint32_t e = ext ? 1 : 0;
	uint32_t idt_err = (uint32_t)vec * 8 + 2 + e;
	if ((uint32_t)vec * 8 + 7 > c->idt.limit)
		cpu_raise(c, EXC_GP, idt_err);
	uint64_t gate = mmu_read_sys(c, (uint32_t)(c->idt.base + vec * 8), 8);
	unsigned type = (gate >> 40) & 0x1f, gdpl = (gate >> 45) & 3;
	bool present = (gate >> 47) & 1;
	if (type != 5 && type != 6 && type != 7 && type != 0xe && type != 0xf)
		cpu_raise(c, EXC_GP, idt_err);
	if (soft && gdpl < c->cpl)
		cpu_raise(c, EXC_GP, idt_err);
	if (!present)
		cpu_raise(c, EXC_NP, idt_err);
	if (type == 5) {
		uint16_t tsel = (uint16_t)(gate >> 16);
		uint64_t tdesc;
		if ((tsel & 4) || !seg_read_desc(c, tsel, &tdesc))
			cpu_raise(c, EXC_GP, (tsel & 0xfffc) | e);
		task_switch(c, tsel, tdesc, TASK_INT, has_err, err, ret_ip);
		return;
	}
	unsigned gsize = (type & 8) ? 4 : 2;
	uint16_t sel = (uint16_t)(gate >> 16);
	uint64_t off = (gate & 0xffff) | ((gate >> 32) & 0xffff0000ULL);
	if (gsize == 2)
		off &= 0xffff;
	struct vcpu_segment cs, ss;
	uint64_t raw;
	intr_gate_cs(c, sel, e, &cs, &raw);

	bool vm86 = c->rflags & FL_VM;
	bool conforming = cs.type & 4;
	unsigned newcpl = conforming ? c->cpl : cs.dpl;
	uint64_t fl = flags_get(c);
	struct intr_stack st;
	uint16_t old_ss = c->seg[S_SS].selector;
	uint64_t old_sp = c->gpr[R_SP];

	if (!conforming && cs.dpl < c->cpl) {
		if (vm86 && cs.dpl != 0)
			cpu_raise(c, EXC_GP, (sel & 0xfffc) | e);
		uint16_t nss;
		uint64_t nsp, ssraw;
		intr_tss_stack(c, cs.dpl, &nss, &nsp);
		if ((nss & ~3u) == 0)
			cpu_raise(c, EXC_TS, e);
		if ((nss & 3) != cs.dpl || !seg_read_desc(c, nss, &ssraw))
			cpu_raise(c, EXC_TS, (nss & 0xfffc) | e);
		seg_from_desc(&ss, nss, ssraw);
		if (ss.dpl != cs.dpl || !ss.s || (ss.type & 8) || !(ss.type & 2))
			cpu_raise(c, EXC_TS, (nss & 0xfffc) | e);
		if (!ss.present)
			cpu_raise(c, EXC_SS, (nss & 0xfffc) | e);
		st = (struct intr_stack){ &ss, nsp, ss.db ? 0xffffffffULL : 0xffffULL, false,
					  true };
		if (vm86) {
			intr_push(c, &st, gsize, c->seg[S_GS].selector);
			intr_push(c, &st, gsize, c->seg[S_FS].selector);
			intr_push(c, &st, gsize, c->seg[S_DS].selector);
			intr_push(c, &st, gsize, c->seg[S_ES].selector);
		}
		intr_push(c, &st, gsize, old_ss);
		intr_push(c, &st, gsize, old_sp);
		intr_push(c, &st, gsize, fl);
		intr_push(c, &st, gsize, c->seg[S_CS].selector);
		intr_push(c, &st, gsize, ret_ip);
		if (has_err)
			intr_push(c, &st, gsize, err);
		seg_set_accessed(c, nss, &ssraw);
		ss.type |= 1;
		c->seg[S_SS] = ss;
		c->gpr[R_SP] = ss.db ? (uint32_t)st.sp : (c->gpr[R_SP] & ~0xffffULL) | (st.sp & 0xffff);
		if (ss.db)
			c->gpr[R_SP] = (uint32_t)st.sp;
	} else {
		if (vm86)
			cpu_raise(c, EXC_GP, (sel & 0xfffc) | e);
		st = (struct intr_stack){ &c->seg[S_SS], c->gpr[R_SP],
					  c->seg[S_SS].db ? 0xffffffffULL : 0xffffULL, false,
					  c->cpl < 3 };
		intr_push(c, &st, gsize, fl);
		intr_push(c, &st, gsize, c->seg[S_CS].selector);
		intr_push(c, &st, gsize, ret_ip);
		if (has_err)
			intr_push(c, &st, gsize, err);
		cpu_sp_set(c, st.sp);
	}
	seg_set_accessed(c, sel, &raw);
	cs.type |= 1;
	cs.selector = (sel & ~3u) | newcpl;
	uint64_t clear = FL_TF | FL_NT | FL_RF | FL_VM | (type & 1 ? 0 : FL_IF);
	flags_set(c, 0, clear);
	if (vm86) {
		static const unsigned regs[] = { S_ES, S_DS, S_FS, S_GS };
		for (unsigned i = 0; i < 4; i++) {
			memset(&c->seg[regs[i]], 0, sizeof(c->seg[0]));
			c->seg[regs[i]].unusable = 1;
		}
	}
	seg_set_cs(c, &cs, newcpl);
	c->rip = off;
}

/* Long-mode delivery through 16-byte gates (SDM 6.14). */
static void intr_long(struct cpu *c, int vec, bool has_err, uint32_t err, bool soft,
		      bool ext, uint64_t ret_ip)
{
	uint32_t e = ext ? 1 : 0;
	uint32_t idt_err = (uint32_t)vec * 8 + 2 + e;
	if ((uint32_t)vec * 16 + 15 > c->idt.limit)
		cpu_raise(c, EXC_GP, idt_err);
	uint64_t lo = mmu_read_sys(c, c->idt.base + vec * 16, 8);
	uint64_t hi = mmu_read_sys(c, c->idt.base + vec * 16 + 8, 8);
	unsigned type = (lo >> 40) & 0x1f, gdpl = (lo >> 45) & 3, ist = (lo >> 32) & 7;
	if (type != 0xe && type != 0xf)
		cpu_raise(c, EXC_GP, idt_err);
	if (soft && gdpl < c->cpl)
		cpu_raise(c, EXC_GP, idt_err);
	if (!((lo >> 47) & 1))
		cpu_raise(c, EXC_NP, idt_err);
	uint16_t sel = (uint16_t)(lo >> 16);
	uint64_t off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL) | (hi << 32);
	struct vcpu_segment cs;
	uint64_t raw;
	intr_gate_cs(c, sel, e, &cs, &raw);
	if (!cs.l || cs.db)
		cpu_raise(c, EXC_GP, (sel & 0xfffc) | e);
	bool conforming = cs.type & 4;
	unsigned newcpl = conforming ? c->cpl : cs.dpl;
	uint64_t rsp = c->gpr[R_SP];
	uint16_t old_ss = c->seg[S_SS].selector;
	uint64_t old_rsp = rsp;
	bool change = newcpl < c->cpl;
	if (!c->mode64 && !change && !conforming && cs.dpl != c->cpl)
		cpu_raise(c, EXC_GP, (sel & 0xfffc) | e);
	if (ist) {
		uint32_t o = 0x24 + (ist - 1) * 8;
		if (o + 7 > c->tr.limit)
			cpu_raise(c, EXC_TS, c->tr.selector & 0xfffc);
		rsp = mmu_read_sys(c, c->tr.base + o, 8);
	} else if (change) {
		uint32_t o = 4 + newcpl * 8;
		if (o + 7 > c->tr.limit)
			cpu_raise(c, EXC_TS, c->tr.selector & 0xfffc);
		rsp = mmu_read_sys(c, c->tr.base + o, 8);
	} else if (!c->mode64) {
		rsp = (uint32_t)rsp;
	}
	rsp &= ~0xfULL;
	struct intr_stack st = { NULL, rsp, ~0ULL, true, true };
	uint64_t fl = flags_get(c);
	intr_push(c, &st, 8, old_ss);
	intr_push(c, &st, 8, old_rsp);
	intr_push(c, &st, 8, fl);
	intr_push(c, &st, 8, c->seg[S_CS].selector);
	intr_push(c, &st, 8, ret_ip);
	if (has_err)
		intr_push(c, &st, 8, err);
	seg_set_accessed(c, sel, &raw);
	if (change) {
		memset(&c->seg[S_SS], 0, sizeof(c->seg[S_SS]));
		c->seg[S_SS].selector = newcpl;
		c->seg[S_SS].present = 1;
		c->seg[S_SS].s = 1;
		c->seg[S_SS].type = 3;
		c->seg[S_SS].dpl = newcpl;
		c->seg[S_SS].limit = 0xffffffff;
		c->seg[S_SS].db = 1;
	}
	c->gpr[R_SP] = st.sp;
	cs.type |= 1;
	cs.selector = (sel & ~3u) | newcpl;
	flags_set(c, 0, FL_TF | FL_NT | FL_RF | FL_VM | (type & 1 ? 0 : FL_IF));
	seg_set_cs(c, &cs, newcpl);
	c->rip = off;
}

/*
 * Deliver vector vec. ret_ip is the RIP to push: the faulting instruction
 * for faults, the next one for traps, software interrupts and external
 * interrupts. soft marks INT n/INT3/INTO (gate DPL is checked); ext marks an
 * event from outside the instruction stream (the EXT bit of error codes).
 */
void intr_deliver(struct cpu *c, int vec, bool has_err, uint32_t err, bool soft, bool ext,
		  uint64_t ret_ip)
{
	c->halted = false;
	if (!(c->cr0 & CR0_PE)) {
		intr_real(c, vec, ret_ip);
	} else if (c->efer & EFER_LMA) {
		intr_long(c, vec, has_err, err, soft, ext, ret_ip);
	} else {
		/* INT n in virtual-8086 mode without VME needs IOPL 3 (SDM 20.3.1). */
		if (soft && (c->rflags & FL_VM) && ((c->rflags & FL_IOPL) >> 12) < 3)
			cpu_raise(c, EXC_GP, 0);
		intr_protected(c, vec, has_err, err, soft, ext, ret_ip);
	}
	if (vec == EXC_NMI && !soft)
		c->nmi_blocked = true;
}

/* Which RFLAGS bits an IRET/POPF at the current privilege may change. */
static uint64_t intr_flags_mask(struct cpu *c, unsigned size)
{
	uint64_t m = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID | FL_RF;
	unsigned iopl = (c->rflags & FL_IOPL) >> 12;
	if (c->cpl <= iopl)
		m |= FL_IF;
	if (c->cpl == 0)
		m |= FL_IOPL | FL_VIF | FL_VIP | FL_IF;
	if (size == 2)
		m &= 0xffff;
	return m;
}

/* Load a data segment register popped by IRET to virtual-8086 mode. */
static void intr_iret_to_v86(struct cpu *c, uint64_t ip, uint16_t cs, uint64_t fl)
{
	uint32_t sp = (uint32_t)cpu_read(c, S_SS, cpu_sp(c), 4);
	uint16_t ss = (uint16_t)cpu_read(c, S_SS, (cpu_sp(c) + 4) & cpu_mask(c->stack_size), 4);
	uint16_t es = (uint16_t)cpu_read(c, S_SS, (cpu_sp(c) + 8) & cpu_mask(c->stack_size), 4);
	uint16_t ds = (uint16_t)cpu_read(c, S_SS, (cpu_sp(c) + 12) & cpu_mask(c->stack_size), 4);
	uint16_t fs = (uint16_t)cpu_read(c, S_SS, (cpu_sp(c) + 16) & cpu_mask(c->stack_size), 4);
	uint16_t gs = (uint16_t)cpu_read(c, S_SS, (cpu_sp(c) + 20) & cpu_mask(c->stack_size), 4);
	flags_set(c, fl, ~0ULL & 0x3f7fd5);
	c->rflags |= FL_VM;
	cpu_update_mode(c);
	seg_load_real(c, S_CS, cs);
	seg_load_real(c, S_SS, ss);
	seg_load_real(c, S_ES, es);
	seg_load_real(c, S_DS, ds);
	seg_load_real(c, S_FS, fs);
	seg_load_real(c, S_GS, gs);
	c->gpr[R_SP] = sp;
	c->rip = ip & 0xffff;
	c->cpl = 3;
	cpu_update_mode(c);
}

void intr_iret(struct cpu *c, unsigned size, uint64_t next_rip)
{
	uint64_t sp = cpu_sp(c), m = cpu_mask(c->stack_size);
	if (!(c->cr0 & CR0_PE) || (c->rflags & FL_VM)) {
		if ((c->rflags & FL_VM) && ((c->rflags & FL_IOPL) >> 12) < 3)
			cpu_raise(c, EXC_GP, 0);
		uint64_t ip = cpu_read(c, S_SS, sp, size);
		uint16_t cs = (uint16_t)cpu_read(c, S_SS, (sp + size) & m, size);
		uint64_t fl = cpu_read(c, S_SS, (sp + 2 * size) & m, size);
		if (size == 4 && ip > 0xffff && (c->rflags & FL_VM))
			cpu_raise(c, EXC_GP, 0);
		uint64_t mask = (c->rflags & FL_VM) ? intr_flags_mask(c, size) & ~FL_IOPL
						     : (size == 2 ? 0xffffULL : 0x257fd5ULL);
		cpu_sp_set(c, sp + 3 * size);
		flags_set(c, fl, mask);
		seg_load_real(c, S_CS, cs);
		c->rip = ip & (size == 2 ? 0xffff : 0xffffffff);
		return;
	}
	if ((c->rflags & FL_NT) && !(c->efer & EFER_LMA)) {
		uint16_t link = (uint16_t)mmu_read_sys(c, c->tr.base, 2);
		uint64_t desc;
		if ((link & 4) || !seg_read_desc(c, link, &desc))
			cpu_raise(c, EXC_TS, link & 0xfffc);
		task_switch(c, link, desc, TASK_IRET, false, 0, next_rip);
		return;
	}
	uint64_t ip = cpu_read(c, S_SS, sp, size);
	uint16_t csel = (uint16_t)cpu_read(c, S_SS, (sp + size) & m, size);
	uint64_t fl = cpu_read(c, S_SS, (sp + 2 * size) & m, size);
	if (size == 4 && (fl & FL_VM) && c->cpl == 0 && !(c->efer & EFER_LMA)) {
		cpu_sp_set(c, sp + 12);
		intr_iret_to_v86(c, ip, csel, fl);
		return;
	}
	struct vcpu_segment cs;
	uint64_t raw;
	seg_return_cs(c, csel, &cs, &raw);
	unsigned rpl = csel & 3;
	uint64_t fmask = intr_flags_mask(c, size) & ~FL_VM;
	bool outer = rpl > c->cpl || c->mode64;
	uint64_t new_sp = 0;
	uint16_t ssel = 0;
	struct vcpu_segment ss;
	if (outer) {
		new_sp = cpu_read(c, S_SS, (sp + 3 * size) & m, size);
		ssel = (uint16_t)cpu_read(c, S_SS, (sp + 4 * size) & m, size);
		seg_return_ss(c, ssel, rpl, (c->efer & EFER_LMA) && cs.l, &ss);
	}
	seg_set_accessed(c, csel, &raw);
	cs.type |= 1;
	flags_set(c, fl, fmask);
	bool lower = rpl > c->cpl;
	seg_set_cs(c, &cs, rpl);
	c->rip = c->mode64 ? ip : ip & cpu_mask(size);
	if (outer) {
		c->seg[S_SS] = ss;
		cpu_update_mode(c);
		if (c->mode64)
			c->gpr[R_SP] = new_sp;
		else if (ss.db)
			c->gpr[R_SP] = (uint32_t)new_sp;
		else
			c->gpr[R_SP] = (c->gpr[R_SP] & ~0xffffULL) | (new_sp & 0xffff);
	} else {
		cpu_sp_set(c, sp + 3 * size);
	}
	if (lower)
		seg_null_on_return(c);
	c->nmi_blocked = false;
}
