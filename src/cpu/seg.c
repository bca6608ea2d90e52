/*
 * seg: segmentation for the software CPU (Intel SDM Vol. 3A chapter 3
 * "Protected-Mode Memory Management" and chapter 5 "Protection"; Vol. 2
 * MOV/POP/LDS pseudo-code for segment register loads; Vol. 3A 20.1 for
 * real mode and 20.2 for virtual-8086 mode).
 *
 * Each segment register keeps its hidden descriptor cache (struct
 * vcpu_segment) plus a precomputed check (allowed access kinds and the valid
 * offset range) so the hot path tests one mask and two bounds. In real mode
 * a load changes only the selector and base and keeps the cached limit and
 * attributes ("unreal mode" works as on hardware).
 */
#include "cpu/cpu.h"

/* The seg_flat bit of segment s, from its refreshed checks. */
static void seg_refresh_flat(struct cpu *c, unsigned s)
{
	const struct vcpu_segment *d = &c->seg[s];
	bool flat = c->pmode && c->seg_lo[s] == 0 && c->seg_hi[s] == 0xffffffffULL;
	if (s == S_CS)
		flat = flat && (c->seg_acc[s] & ACC_X) && d->base == 0;
	else
		flat = flat && (c->seg_acc[s] & (ACC_R | ACC_W)) == (ACC_R | ACC_W) &&
		       (s != S_SS || d->db);
	c->seg_flat = (uint8_t)((c->seg_flat & ~(1u << s)) | (unsigned)flat << s);
}

/* seg_acc, seg_lo and seg_hi of segment s. */
static void seg_refresh_checks(struct cpu *c, unsigned s)
{
	const struct vcpu_segment *d = &c->seg[s];
	if (!c->pmode) {
		/* Real and virtual-8086 mode: no type checks, limit only. */
		c->seg_acc[s] = ACC_R | ACC_W | ACC_X;
		c->seg_lo[s] = 0;
		c->seg_hi[s] = d->limit;
		return;
	}
	if (d->unusable || !d->present) {
		c->seg_acc[s] = 0;
		c->seg_lo[s] = 1;
		c->seg_hi[s] = 0;
		return;
	}
	uint8_t acc = 0;
	if (d->type & 8) {                      /* code */
		acc = ACC_X | ((d->type & 2) ? ACC_R : 0);
	} else {
		acc = ACC_R | ((d->type & 2) ? ACC_W : 0);
	}
	c->seg_acc[s] = acc;
	if (!(d->type & 8) && (d->type & 4)) {  /* expand-down data */
		c->seg_lo[s] = (uint64_t)d->limit + 1;
		c->seg_hi[s] = d->db ? 0xffffffffULL : 0xffffULL;
	} else {
		c->seg_lo[s] = 0;
		c->seg_hi[s] = d->limit;
	}
}

/* Recompute the fast checks for segment register s. */
void seg_refresh(struct cpu *c, unsigned s)
{
	seg_refresh_checks(c, s);
	seg_refresh_flat(c, s);
}

/* Recompute the mode flags derived from CR0, EFER, RFLAGS.VM, CS and SS. */
void cpu_update_mode(struct cpu *c)
{
	bool vm86 = (c->cr0 & CR0_PE) && (c->rflags & FL_VM);
	c->pmode = (c->cr0 & CR0_PE) && !vm86;
	c->mode64 = (c->efer & EFER_LMA) && c->seg[S_CS].l && c->pmode;
	if (!(c->cr0 & CR0_PE))
		c->cpl = 0;
	else if (vm86)
		c->cpl = 3;
	if (c->mode64)
		c->code_size = 8;
	else if (vm86)
		c->code_size = 2;
	else
		c->code_size = c->seg[S_CS].db ? 4 : 2;
	c->stack_size = c->mode64 ? 8 : (c->seg[S_SS].db && !vm86) ? 4 : 2;
	c->mmu_idx = c->cpl == 3;
	unsigned dm;
	if (!c->pmode)
		dm = DM_REAL;
	else if (c->mode64)
		dm = DM_LONG64;
	else if (c->efer & EFER_LMA)
		dm = c->code_size == 4 ? DM_COMPAT32 : DM_COMPAT16;
	else
		dm = c->code_size == 4 ? DM_PROT32 : DM_PROT16;
	c->code_key = dm | (uint32_t)c->mmu_idx << 3;
	for (unsigned s = 0; s < 6; s++)
		seg_refresh(c, s);
}

/*
 * Fault for an access that failed cpu_lin(): #SS for the stack segment,
 * #GP otherwise, both with error code 0 (SDM 6.15, interrupts 12 and 13).
 */
_Noreturn void seg_fault(struct cpu *c, unsigned s, uint64_t off, unsigned size, unsigned acc)
{
	(void)off;
	(void)size;
	(void)acc;
	cpu_raise(c, s == S_SS ? EXC_SS : EXC_GP, 0);
}

void seg_from_desc(struct vcpu_segment *s, uint16_t sel, uint64_t d)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
}

bool seg_read_desc(struct cpu *c, uint16_t sel, uint64_t *desc)
{
	uint64_t base;
	uint32_t limit;
	if (sel & 4) {
		if (c->ldt.unusable || !c->ldt.present)
			return false;
		base = c->ldt.base;
		limit = c->ldt.limit;
	} else {
		base = c->gdt.base;
		limit = c->gdt.limit;
	}
	uint32_t off = sel & ~7u;
	if ((uint64_t)off + 7 > limit)
		return false;
	uint64_t lin = base + off;
	if (!(c->efer & EFER_LMA))
		lin = (uint32_t)lin;
	*desc = mmu_read_sys(c, lin, 8);
	return true;
}

bool seg_read_desc16(struct cpu *c, uint16_t sel, uint64_t *lo, uint64_t *hi)
{
	if (!seg_read_desc(c, sel, lo))
		return false;
	uint64_t base = (sel & 4) ? c->ldt.base : c->gdt.base;
	uint32_t limit = (sel & 4) ? c->ldt.limit : c->gdt.limit;
	uint32_t off = (sel & ~7u) + 8;
	if ((uint64_t)off + 7 > limit)
		return false;
	*hi = mmu_read_sys(c, base + off, 8);
	return true;
}

/* Set the accessed bit of a code/data descriptor in memory (SDM 3.4.5.1). */
void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t *desc)
{
	if (*desc & (1ULL << 40))
		return;
	*desc |= 1ULL << 40;
	uint64_t base = (sel & 4) ? c->ldt.base : c->gdt.base;
	uint64_t lin = base + (sel & ~7u) + 5;
	if (!(c->efer & EFER_LMA))
		lin = (uint32_t)lin;
	mmu_write_sys(c, lin, 1, (*desc >> 40) & 0xff);
}

void seg_set_cs(struct cpu *c, const struct vcpu_segment *cs, unsigned cpl)
{
	c->seg[S_CS] = *cs;
	c->cpl = cpl;
	cpu_update_mode(c);
}

void seg_load_real(struct cpu *c, unsigned s, uint16_t sel)
{
	struct vcpu_segment *d = &c->seg[s];
	d->selector = sel;
	d->base = (uint64_t)sel << 4;
	if (c->rflags & FL_VM) {
		/* Virtual-8086 mode: fixed 64 KiB, DPL 3 segments (SDM 20.2.1). */
		d->limit = 0xffff;
		d->type = s == S_CS ? 0xb : 0x3;
		d->s = 1;
		d->dpl = 3;
		d->present = 1;
		d->db = d->l = d->g = 0;
		d->unusable = 0;
	} else if (!c->pmode) {
		d->unusable = 0;
		d->present = 1;
	}
	if (s == S_CS || s == S_SS)
		cpu_update_mode(c);
	else
		seg_refresh(c, s);
}

/* The #GP/#TS/#NP error code for a selector (SDM 6.13). */
static inline uint32_t sel_err(uint16_t sel)
{
	return sel & 0xfffc;
}

/*
 * Protected-mode load of SS, DS, ES, FS or GS with the checks of SDM Vol. 2
 * MOV "IF SS is loaded" / "IF DS, ES, FS, or GS is loaded".
 */
void seg_load(struct cpu *c, unsigned s, uint16_t sel)
{
	uint64_t desc;
	struct vcpu_segment n;
	unsigned rpl = sel & 3;

	if ((sel & ~3u) == 0) {
		if (s == S_SS && !(c->mode64 && c->cpl != 3 && rpl == c->cpl))
			cpu_raise(c, EXC_GP, 0);
		memset(&n, 0, sizeof(n));
		n.selector = sel;
		n.unusable = 1;
		if (s == S_SS) {
			/* 64-bit null SS keeps a usable flat stack with DPL = CPL. */
			n.unusable = 0;
			n.present = 1;
			n.s = 1;
			n.type = 3;
			n.dpl = c->cpl;
			n.limit = 0xffffffff;
			n.db = 1;
		}
		c->seg[s] = n;
		if (s == S_SS)
			cpu_update_mode(c);
		else
			seg_refresh(c, s);
		return;
	}
	if (!seg_read_desc(c, sel, &desc))
		cpu_raise(c, EXC_GP, sel_err(sel));
	seg_from_desc(&n, sel, desc);
	if (s == S_SS) {
		if (rpl != c->cpl || !n.s || (n.type & 8) || !(n.type & 2) || n.dpl != c->cpl)
			cpu_raise(c, EXC_GP, sel_err(sel));
		if (!n.present)
			cpu_raise(c, EXC_SS, sel_err(sel));
	} else {
		if (!n.s || ((n.type & 8) && !(n.type & 2)))
			cpu_raise(c, EXC_GP, sel_err(sel));
		bool conforming_code = (n.type & 0xc) == 0xc;
		if (!conforming_code && (rpl > n.dpl || c->cpl > n.dpl))
			cpu_raise(c, EXC_GP, sel_err(sel));
		if (!n.present)
			cpu_raise(c, EXC_NP, sel_err(sel));
	}
	seg_set_accessed(c, sel, &desc);
	n.type |= 1;
	c->seg[s] = n;
	if (s == S_SS)
		cpu_update_mode(c);
	else
		seg_refresh(c, s);
}

void seg_load_any(struct cpu *c, unsigned s, uint16_t sel)
{
	if (!c->pmode)
		seg_load_real(c, s, sel);
	else
		seg_load(c, s, sel);
}

/* After a return to an outer privilege level, data segments the new CPL may
 * not use become null (SDM Vol. 2 RET, IRET: "FOR each SegReg in ES, FS, GS,
 * and DS"). */
void seg_null_on_return(struct cpu *c)
{
	static const unsigned regs[] = { S_ES, S_DS, S_FS, S_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct vcpu_segment *d = &c->seg[regs[i]];
		bool conforming_code = (d->type & 0xc) == 0xc;
		if (d->unusable || !d->s || conforming_code)
			continue;
		if (d->dpl < c->cpl) {
			d->selector = 0;
			d->unusable = 1;
			seg_refresh(c, regs[i]);
		}
	}
}

/*
 * The stack segment of a return to an outer level (RET far, IRET): checked
 * and marked accessed. A null selector is allowed only when returning to
 * 64-bit code below CPL 3 (SDM IRET, RET "return to outer privilege").
 */
void seg_return_ss(struct cpu *c, uint16_t sel, unsigned rpl, bool to64,
		   struct vcpu_segment *ss)
{
	uint64_t raw;
	if ((sel & ~3u) == 0) {
		if (!to64 || rpl == 3)
			cpu_raise(c, EXC_GP, 0);
		memset(ss, 0, sizeof(*ss));
		ss->selector = sel;
		ss->present = ss->s = 1;
		ss->type = 3;
		ss->dpl = (uint8_t)rpl;
		ss->db = 1;
		ss->limit = 0xffffffff;
		return;
	}
	if ((sel & 3) != rpl || !seg_read_desc(c, sel, &raw))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	seg_from_desc(ss, sel, raw);
	if (!ss->s || (ss->type & 8) || !(ss->type & 2) || ss->dpl != rpl)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!ss->present)
		cpu_raise(c, EXC_SS, sel & 0xfffc);
	seg_set_accessed(c, sel, &raw);
	ss->type |= 1;
}

/* Check a return code segment (SDM IRET/RET "return code segment checks"). */
void seg_return_cs(struct cpu *c, uint16_t sel, struct vcpu_segment *cs, uint64_t *raw)
{
	if ((sel & ~3u) == 0)
		cpu_raise(c, EXC_GP, 0);
	if (!seg_read_desc(c, sel, raw))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	seg_from_desc(cs, sel, *raw);
	unsigned rpl = sel & 3;
	if (!cs->s || !(cs->type & 8) || rpl < c->cpl)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if ((cs->type & 4) ? cs->dpl > rpl : cs->dpl != rpl)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!cs->present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	if ((c->efer & EFER_LMA) && cs->l && cs->db)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
}
