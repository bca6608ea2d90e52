/*
 * task: hardware task switching and the TSS I/O permission bitmap (Intel
 * SDM Vol. 3A chapter 7 "Task Management": 7.2 TSS layout, 7.3 task
 * switching, 7.4 task linking; Vol. 1 19.5.2 I/O permission bit map).
 *
 * Task switches happen through JMP/CALL to a TSS descriptor or task gate,
 * interrupts through task gates, and IRET with NT set. Long mode has no task
 * switching (#GP where legacy mode would switch). 16-bit TSSes are supported
 * with the 80286 layout.
 */
#include "cpu/cpu.h"

/* 32-bit TSS offsets (SDM Figure 7-2). */
#define TSS_LINK 0x00
#define TSS_CR3 0x1c
#define TSS_EIP 0x20
#define TSS_EFLAGS 0x24
#define TSS_EAX 0x28
#define TSS_ES 0x48
#define TSS_LDT 0x60
#define TSS_IOMAP 0x66

static void task_set_busy(struct cpu *c, uint16_t sel, bool busy)
{
	uint64_t lin = c->gdt.base + (sel & ~7u) + 5;
	uint8_t b = (uint8_t)mmu_read_sys(c, lin, 1);
	b = busy ? (b | 2) : (b & ~2);
	mmu_write_sys(c, lin, 1, b);
}

/* Load a segment register of the new task, faulting with #TS (SDM 7.3 step 14). */
static void task_load_seg(struct cpu *c, unsigned s, uint16_t sel)
{
	if (c->rflags & FL_VM) {
		seg_load_real(c, s, sel);
		return;
	}
	uint64_t desc;
	struct vcpu_segment n;
	if ((sel & ~3u) == 0) {
		if (s == S_SS || s == S_CS)
			cpu_raise(c, EXC_TS, 0);
		memset(&c->seg[s], 0, sizeof(c->seg[s]));
		c->seg[s].selector = sel;
		c->seg[s].unusable = 1;
		seg_refresh(c, s);
		return;
	}
	if (!seg_read_desc(c, sel, &desc))
		cpu_raise(c, EXC_TS, sel & 0xfffc);
	seg_from_desc(&n, sel, desc);
	unsigned rpl = sel & 3;
	if (s == S_CS) {
		if (!n.s || !(n.type & 8))
			cpu_raise(c, EXC_TS, sel & 0xfffc);
		if ((n.type & 4) ? n.dpl > rpl : n.dpl != rpl)
			cpu_raise(c, EXC_TS, sel & 0xfffc);
	} else if (s == S_SS) {
		if (!n.s || (n.type & 8) || !(n.type & 2) || n.dpl != rpl || rpl != c->cpl)
			cpu_raise(c, EXC_TS, sel & 0xfffc);
		if (!n.present)
			cpu_raise(c, EXC_SS, sel & 0xfffc);
	} else {
		if (!n.s || ((n.type & 8) && !(n.type & 2)))
			cpu_raise(c, EXC_TS, sel & 0xfffc);
		if ((n.type & 0xc) != 0xc && (rpl > n.dpl || c->cpl > n.dpl))
			cpu_raise(c, EXC_TS, sel & 0xfffc);
	}
	if (!n.present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	seg_set_accessed(c, sel, &desc);
	n.type |= 1;
	c->seg[s] = n;
	if (s == S_CS)
		c->cpl = rpl;
	cpu_update_mode(c);
}

/*
 * Switch to the task whose TSS descriptor (selector sel, raw desc) was
 * reached by why. Follows the 16 steps of SDM 7.3; the state saved into the
 * old TSS has EIP = next_rip.
 */
void task_switch(struct cpu *c, uint16_t sel, uint64_t desc, enum task_reason why,
		 bool has_err, uint32_t err, uint64_t next_rip)
{
	struct vcpu_segment nt;
	seg_from_desc(&nt, sel, desc);
	if (c->efer & EFER_LMA)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	unsigned t = nt.type;
	bool busy = t == 3 || t == 0xb;
	if (nt.s || !(t == 1 || t == 3 || t == 9 || t == 0xb) || (why == TASK_IRET) != busy)
		cpu_raise(c, why == TASK_IRET ? EXC_TS : EXC_GP, sel & 0xfffc);
	if (!nt.present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	bool n32 = t & 8;
	if (nt.limit < (n32 ? 0x67u : 0x2bu))
		cpu_raise(c, EXC_TS, sel & 0xfffc);

	/* Read the whole new state first so a fault leaves the old task intact. */
	uint32_t regs[8], segs[6], eip, efl, cr3 = 0;
	uint16_t ldt;
	uint64_t nb = nt.base;
	if (n32) {
		cr3 = (uint32_t)mmu_read_sys(c, nb + TSS_CR3, 4);
		eip = (uint32_t)mmu_read_sys(c, nb + TSS_EIP, 4);
		efl = (uint32_t)mmu_read_sys(c, nb + TSS_EFLAGS, 4);
		for (unsigned i = 0; i < 8; i++)
			regs[i] = (uint32_t)mmu_read_sys(c, nb + TSS_EAX + 4 * i, 4);
		for (unsigned i = 0; i < 6; i++)
			segs[i] = (uint16_t)mmu_read_sys(c, nb + TSS_ES + 4 * i, 2);
		ldt = (uint16_t)mmu_read_sys(c, nb + TSS_LDT, 2);
	} else {
		eip = (uint16_t)mmu_read_sys(c, nb + 0x0e, 2);
		efl = (uint16_t)mmu_read_sys(c, nb + 0x10, 2);
		for (unsigned i = 0; i < 8; i++)
			regs[i] = (uint16_t)mmu_read_sys(c, nb + 0x12 + 2 * i, 2);
		for (unsigned i = 0; i < 4; i++)
			segs[i] = (uint16_t)mmu_read_sys(c, nb + 0x22 + 2 * i, 2);
		segs[S_FS] = segs[S_GS] = 0;
		ldt = (uint16_t)mmu_read_sys(c, nb + 0x2a, 2);
	}

	/* Save the outgoing task. */
	uint64_t ob = c->tr.base;
	bool o32 = c->tr.type & 8;
	uint64_t ofl = flags_get(c);
	if (why == TASK_IRET)
		ofl &= ~FL_NT;
	if (o32) {
		mmu_write_sys(c, ob + TSS_EIP, 4, next_rip);
		mmu_write_sys(c, ob + TSS_EFLAGS, 4, ofl);
		for (unsigned i = 0; i < 8; i++)
			mmu_write_sys(c, ob + TSS_EAX + 4 * i, 4, c->gpr[i]);
		for (unsigned i = 0; i < 6; i++)
			mmu_write_sys(c, ob + TSS_ES + 4 * i, 2, c->seg[i].selector);
	} else {
		mmu_write_sys(c, ob + 0x0e, 2, next_rip);
		mmu_write_sys(c, ob + 0x10, 2, ofl);
		for (unsigned i = 0; i < 8; i++)
			mmu_write_sys(c, ob + 0x12 + 2 * i, 2, c->gpr[i]);
		for (unsigned i = 0; i < 4; i++)
			mmu_write_sys(c, ob + 0x22 + 2 * i, 2, c->seg[i].selector);
	}
	if (why == TASK_JMP || why == TASK_IRET)
		task_set_busy(c, c->tr.selector, false);
	if (why == TASK_CALL || why == TASK_INT) {
		mmu_write_sys(c, nb + TSS_LINK, 2, c->tr.selector);
		efl |= FL_NT;
	}
	if (why != TASK_IRET) {
		task_set_busy(c, sel, true);
		desc |= 2ULL << 40;
	}

	/* Commit: TR, CR0.TS, CR3, registers, then the checked segment loads. */
	seg_from_desc(&c->tr, sel, desc | (2ULL << 40));
	c->cr0 |= CR0_TS;
	if (n32 && (c->cr0 & CR0_PG)) {
		c->cr3 = cr3;
		mmu_flush(c, false);
	}
	for (unsigned i = 0; i < 8; i++)
		c->gpr[i] = n32 ? regs[i] : (c->gpr[i] & ~0xffffULL) | regs[i];
	c->rip = eip;
	c->cc_op = CC_EFLAGS;
	c->cc_src = efl & FL_ARITH;
	c->rflags = ((n32 ? efl : (efl | (c->rflags & 0xffff0000ULL)))& ~FL_ARITH) | 2;
	cpu_update_mode(c);
	for (unsigned i = 0; i < 6; i++)
		c->seg[i].selector = (uint16_t)segs[i];
	/* LDT first: the segment selectors may refer to it. */
	if ((ldt & ~3u) == 0) {
		memset(&c->ldt, 0, sizeof(c->ldt));
		c->ldt.unusable = 1;
	} else {
		uint64_t ld;
		if ((ldt & 4) || !seg_read_desc(c, ldt, &ld))
			cpu_raise(c, EXC_TS, ldt & 0xfffc);
		struct vcpu_segment l;
		seg_from_desc(&l, ldt, ld);
		if (l.s || l.type != 2)
			cpu_raise(c, EXC_TS, ldt & 0xfffc);
		if (!l.present)
			cpu_raise(c, EXC_NP, ldt & 0xfffc);
		c->ldt = l;
	}
	if (c->rflags & FL_VM) {
		for (unsigned i = 0; i < 6; i++)
			seg_load_real(c, i, (uint16_t)segs[i]);
		c->cpl = 3;
		cpu_update_mode(c);
	} else {
		c->cpl = segs[S_CS] & 3;
		task_load_seg(c, S_CS, (uint16_t)segs[S_CS]);
		task_load_seg(c, S_SS, (uint16_t)segs[S_SS]);
		task_load_seg(c, S_ES, (uint16_t)segs[S_ES]);
		task_load_seg(c, S_DS, (uint16_t)segs[S_DS]);
		task_load_seg(c, S_FS, (uint16_t)segs[S_FS]);
		task_load_seg(c, S_GS, (uint16_t)segs[S_GS]);
	}
	if (has_err)
		cpu_push(c, n32 ? 4 : 2, err);
}

/* SDM Vol. 1 19.5.2: every bit for the accessed ports must be clear. */
void task_check_io(struct cpu *c, uint16_t port, unsigned size)
{
	const struct vcpu_segment *tr = &c->tr;
	if (tr->unusable || !(tr->type & 8) || tr->limit < 0x67)
		cpu_raise(c, EXC_GP, 0);
	uint32_t base = (uint32_t)mmu_read_sys(c, tr->base + TSS_IOMAP, 2);
	uint32_t off = base + port / 8;
	if (off + 1 > tr->limit)
		cpu_raise(c, EXC_GP, 0);
	uint32_t bits = (uint32_t)mmu_read_sys(c, tr->base + off, 2);
	uint32_t mask = ((1u << size) - 1) << (port & 7);
	if (bits & mask)
		cpu_raise(c, EXC_GP, 0);
}
