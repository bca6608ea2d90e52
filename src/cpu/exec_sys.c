/*
 * exec_sys: system instructions (Intel SDM Vol. 2: HLT, CLI, STI, CPUID,
 * RDTSC, RDTSCP, RDMSR, WRMSR, MOV to/from CR and DR, CLTS, LMSW, SMSW,
 * LGDT/LIDT, SGDT/SIDT, LLDT, SLDT, LTR, STR, LAR, LSL, VERR, VERW, ARPL,
 * INVLPG, INVD/WBINVD, CLFLUSH, SYSCALL, SYSRET, SYSENTER, SYSEXIT, SWAPGS;
 * Vol. 3A 2.5 control registers, 5.8.8 fast system calls) and the bridge to
 * the SIMD unit.
 */
#include "cpu/cpu.h"
#include "cpu/simd.h"
#include "devices/apic/lapic.h"
#include "irq.h"
#include "machine.h"

static void sys_need_cpl0(struct cpu *c)
{
	if (c->cpl != 0)
		cpu_raise(c, EXC_GP, 0);
}

/* CLI/STI sensitivity without VME/PVI (SDM CLI, STI). */
static void sys_check_if(struct cpu *c)
{
	if (!(c->cr0 & CR0_PE))
		return;
	unsigned iopl = (c->rflags & FL_IOPL) >> 12;
	if ((c->rflags & FL_VM) ? iopl < 3 : c->cpl > iopl)
		cpu_raise(c, EXC_GP, 0);
}

int sys_hlt(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	c->halted = true;
	c->rip += op->len;
	return 1;
}

int sys_cli(struct cpu *c, const struct op *op)
{
	sys_check_if(c);
	c->rflags &= ~FL_IF;
	return 0;
}

/* STI opens the interrupt window only after the next instruction. */
int sys_sti(struct cpu *c, const struct op *op)
{
	sys_check_if(c);
	if (!(c->rflags & FL_IF))
		c->shadow = true;
	c->rflags |= FL_IF;
	c->rip += op->len;
	return 1;
}

int sys_cpuid(struct cpu *c, const struct op *op)
{
	uint32_t r[4];
	cpuid_emu(c, (uint32_t)c->gpr[R_AX], (uint32_t)c->gpr[R_CX], r);
	c->gpr[R_AX] = r[0];
	c->gpr[R_BX] = r[1];
	c->gpr[R_CX] = r[2];
	c->gpr[R_DX] = r[3];
	return 0;
}

int sys_rdtsc(struct cpu *c, const struct op *op)
{
	if ((c->cr4 & CR4_TSD) && c->cpl != 0)
		cpu_raise(c, EXC_GP, 0);
	uint64_t t = tsc_read(c);
	c->gpr[R_AX] = (uint32_t)t;
	c->gpr[R_DX] = t >> 32;
	return 0;
}

int sys_rdtscp(struct cpu *c, const struct op *op)
{
	sys_rdtsc(c, op);
	c->gpr[R_CX] = (uint32_t)c->tsc_aux;
	return 0;
}

int sys_rdmsr(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	uint64_t v;
	if (msr_read(c, (uint32_t)c->gpr[R_CX], &v))
		cpu_raise(c, EXC_GP, 0);
	c->gpr[R_AX] = (uint32_t)v;
	c->gpr[R_DX] = v >> 32;
	return 0;
}

int sys_wrmsr(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	uint64_t v = (c->gpr[R_DX] << 32) | (uint32_t)c->gpr[R_AX];
	if (msr_write(c, (uint32_t)c->gpr[R_CX], v))
		cpu_raise(c, EXC_GP, 0);
	c->rip += op->len;
	return 1;
}

/* CR4 bits this CPU implements (everything else is reserved: #GP). */
#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | \
		   CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT)

void sys_write_cr(struct cpu *c, unsigned n, uint64_t v)
{
	switch (n) {
	case 0: {
		if (v >> 32)
			cpu_raise(c, EXC_GP, 0);
		v |= CR0_ET;
		if ((v & CR0_PG) && !(v & CR0_PE))
			cpu_raise(c, EXC_GP, 0);
		if ((v & CR0_NW) && !(v & CR0_CD))
			cpu_raise(c, EXC_GP, 0);
		bool pg_on = (v & CR0_PG) && !(c->cr0 & CR0_PG);
		bool pg_off = !(v & CR0_PG) && (c->cr0 & CR0_PG);
		if (pg_on && (c->efer & EFER_LME)) {
			if (!(c->cr4 & CR4_PAE) || c->seg[S_CS].l)
				cpu_raise(c, EXC_GP, 0);
			c->efer |= EFER_LMA;
		}
		if (pg_off && (c->efer & EFER_LMA)) {
			if (c->mode64)
				cpu_raise(c, EXC_GP, 0);
			c->efer &= ~EFER_LMA;
		}
		uint64_t changed = c->cr0 ^ v;
		c->cr0 = v & 0xe005003fULL;
		if (changed & (CR0_PG | CR0_WP | CR0_PE))
			mmu_flush(c, true);
		cpu_update_mode(c);
		break;
	}
	case 2:
		c->cr2 = v;
		break;
	case 3:
		if ((c->efer & EFER_LMA) && (v & 0xfff0000000000000ULL))
			cpu_raise(c, EXC_GP, 0);
		c->cr3 = (c->efer & EFER_LMA) ? v : (uint32_t)v;
		mmu_flush(c, false);
		break;
	case 4: {
		if (v & ~CR4_VALID)
			cpu_raise(c, EXC_GP, 0);
		if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
			cpu_raise(c, EXC_GP, 0);
		uint64_t changed = c->cr4 ^ v;
		c->cr4 = v;
		if (changed & (CR4_PSE | CR4_PAE | CR4_PGE))
			mmu_flush(c, true);
		break;
	}
	case 8:
		if (v & ~0xfULL)
			cpu_raise(c, EXC_GP, 0);
		if (c->lapic)
			lapic_set_cr8(c->lapic, (uint8_t)v);
		break;
	default:
		cpu_raise_noerr(c, EXC_UD);
	}
}

static uint64_t sys_read_cr(struct cpu *c, unsigned n)
{
	switch (n) {
	case 0: return c->cr0;
	case 2: return c->cr2;
	case 3: return c->cr3;
	case 4: return c->cr4;
	case 8: return c->lapic ? lapic_get_cr8(c->lapic) : 0;
	default: cpu_raise_noerr(c, EXC_UD);
	}
}

/* MOV CRn: op->sub = 1 for a write; the register operand has the mode's
 * natural width regardless of prefixes. */
int sys_mov_cr(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	unsigned size = c->mode64 ? 8 : 4;
	if (op->sub) {
		unsigned n = op->r[0];
		if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
			cpu_raise_noerr(c, EXC_UD);
		sys_write_cr(c, n, cpu_reg_get(c, op->r[1], size));
	} else {
		cpu_reg_set(c, op->r[0], size, sys_read_cr(c, op->r[1]));
	}
	c->rip += op->len;
	return 1;
}

/* Debug registers are kept as storage; hardware breakpoints are not
 * implemented (CPUID does not advertise DE beyond the architectural base). */
int sys_mov_dr(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	unsigned size = c->mode64 ? 8 : 4;
	unsigned n = op->sub ? op->r[0] : op->r[1];
	if (n == 4 || n == 5) {
		if (c->cr4 & CR4_DE)
			cpu_raise_noerr(c, EXC_UD);
		n += 2;
	}
	if (n > 7)
		cpu_raise_noerr(c, EXC_UD);
	if (op->sub) {
		uint64_t v = cpu_reg_get(c, op->r[1], size);
		if (n >= 6 && (v >> 32))
			cpu_raise(c, EXC_GP, 0);
		c->dr[n] = n == 6 ? (v | 0xffff0ff0ULL) : n == 7 ? ((v | 0x400) & ~0x2000ULL) : v;
	} else {
		uint64_t v = c->dr[n];
		if (n == 6 && !v)
			v = 0xffff0ff0ULL;
		if (n == 7 && !v)
			v = 0x400;
		cpu_reg_set(c, op->r[0], size, v);
	}
	return 0;
}

int sys_clts(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	c->cr0 &= ~CR0_TS;
	return 0;
}

/* LMSW loads CR0 bits 0-3 and cannot clear PE (SDM LMSW). */
int sys_lmsw(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	uint64_t v = cpu_opnd_get(c, op, 0, 2) & 0xf;
	v |= c->cr0 & CR0_PE;
	sys_write_cr(c, 0, (c->cr0 & ~0xfULL) | v);
	c->rip += op->len;
	return 1;
}

int sys_smsw(struct cpu *c, const struct op *op)
{
	if (op->k[0] == K_REG)
		cpu_reg_set(c, op->r[0], op->size, c->cr0 & cpu_mask(op->size));
	else
		cpu_write(c, op->seg, cpu_ea(c, op), 2, c->cr0 & 0xffff);
	return 0;
}

/* LGDT/LIDT m16&32 (m16&64 in 64-bit mode); a 16-bit operand size keeps
 * 24 bits of base. op->sub: 0 GDT, 1 IDT. */
int sys_lgdt(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	uint64_t ea = cpu_ea(c, op), am = cpu_mask(op->asize);
	uint16_t limit = (uint16_t)cpu_read(c, op->seg, ea, 2);
	uint64_t base = cpu_read(c, op->seg, (ea + 2) & am, c->mode64 ? 8 : 4);
	if (c->mode64 && !cpu_canonical(base))
		cpu_raise(c, EXC_GP, 0);
	if (!c->mode64 && op->size == 2)
		base &= 0xffffff;
	struct vcpu_dtable *t = op->sub ? &c->idt : &c->gdt;
	t->base = base;
	t->limit = limit;
	return 0;
}

int sys_sgdt(struct cpu *c, const struct op *op)
{
	const struct vcpu_dtable *t = op->sub ? &c->idt : &c->gdt;
	uint64_t ea = cpu_ea(c, op), am = cpu_mask(op->asize);
	unsigned bsize = c->mode64 ? 8 : 4;
	cpu_lin(c, op->seg, ea, 2 + bsize, ACC_W);
	cpu_write(c, op->seg, ea, 2, t->limit);
	uint64_t base = op->size == 2 && !c->mode64 ? t->base & 0xffffff : t->base;
	cpu_write(c, op->seg, (ea + 2) & am, bsize, base);
	return 0;
}

static void sys_need_pmode(struct cpu *c)
{
	if (!c->pmode)
		cpu_raise_noerr(c, EXC_UD);
}

/* A system descriptor for LLDT/LTR; 16 bytes in long mode. */
static void sys_system_desc(struct cpu *c, uint16_t sel, struct vcpu_segment *s, uint64_t *raw)
{
	if (sel & 4)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	uint64_t hi = 0;
	bool ok = (c->efer & EFER_LMA) ? seg_read_desc16(c, sel, raw, &hi)
				       : seg_read_desc(c, sel, raw);
	if (!ok)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	seg_from_desc(s, sel, *raw);
	if (c->efer & EFER_LMA)
		s->base |= (hi & 0xffffffffULL) << 32;
}

int sys_lldt(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	sys_need_cpl0(c);
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 0, 2);
	if ((sel & ~3u) == 0) {
		memset(&c->ldt, 0, sizeof(c->ldt));
		c->ldt.selector = sel;
		c->ldt.unusable = 1;
		return 0;
	}
	struct vcpu_segment s;
	uint64_t raw;
	sys_system_desc(c, sel, &s, &raw);
	if (s.s || s.type != 2)
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!s.present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	c->ldt = s;
	return 0;
}

int sys_sldt(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	if (op->k[0] == K_REG)
		cpu_reg_set(c, op->r[0], op->size, c->ldt.selector);
	else
		cpu_write(c, op->seg, cpu_ea(c, op), 2, c->ldt.selector);
	return 0;
}

int sys_ltr(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	sys_need_cpl0(c);
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 0, 2);
	if ((sel & ~3u) == 0)
		cpu_raise(c, EXC_GP, 0);
	struct vcpu_segment s;
	uint64_t raw;
	sys_system_desc(c, sel, &s, &raw);
	bool lm = c->efer & EFER_LMA;
	if (s.s || (lm ? s.type != 9 : (s.type != 1 && s.type != 9)))
		cpu_raise(c, EXC_GP, sel & 0xfffc);
	if (!s.present)
		cpu_raise(c, EXC_NP, sel & 0xfffc);
	mmu_write_sys(c, c->gdt.base + (sel & ~7u) + 5, 1, ((raw >> 40) & 0xff) | 2);
	s.type |= 2;
	c->tr = s;
	return 0;
}

int sys_str(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	if (op->k[0] == K_REG)
		cpu_reg_set(c, op->r[0], op->size, c->tr.selector);
	else
		cpu_write(c, op->seg, cpu_ea(c, op), 2, c->tr.selector);
	return 0;
}

static void sys_set_zf(struct cpu *c, bool zf)
{
	uint64_t f = flags_get(c) & FL_ARITH;
	flags_set_arith(c, zf ? f | FL_ZF : f & ~FL_ZF);
}

/*
 * Shared checks of LAR/LSL/VERR/VERW: the descriptor is visible at the
 * current CPL and RPL. lsl selects LSL's set of system types.
 */
static bool sys_probe_desc(struct cpu *c, uint16_t sel, bool lsl, uint64_t *raw)
{
	if ((sel & ~3u) == 0 || !seg_read_desc(c, sel, raw))
		return false;
	struct vcpu_segment s;
	seg_from_desc(&s, sel, *raw);
	if (!s.s) {
		bool lm = c->efer & EFER_LMA;
		switch (s.type) {
		case 2: case 9: case 0xb: break;
		case 0xc: if (lsl) return false; break;
		case 1: case 3: if (lm) return false; break;
		case 4: case 5: if (lm || lsl) return false; break;
		default: return false;
		}
	}
	bool conforming = s.s && (s.type & 0xc) == 0xc;
	if (!conforming && (s.dpl < c->cpl || s.dpl < (sel & 3u)))
		return false;
	return true;
}

int sys_lar(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 1, 2);
	uint64_t raw;
	bool ok = sys_probe_desc(c, sel, false, &raw);
	if (ok)
		cpu_reg_set(c, op->r[0], op->size, (raw >> 32) & 0x00ffff00ULL);
	sys_set_zf(c, ok);
	return 0;
}

int sys_lsl(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 1, 2);
	uint64_t raw;
	bool ok = sys_probe_desc(c, sel, true, &raw);
	if (ok) {
		struct vcpu_segment s;
		seg_from_desc(&s, sel, raw);
		cpu_reg_set(c, op->r[0], op->size, s.limit);
	}
	sys_set_zf(c, ok);
	return 0;
}

/* VERR (sub 0) / VERW (sub 1). */
int sys_verr(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	uint16_t sel = (uint16_t)cpu_opnd_get(c, op, 0, 2);
	uint64_t raw;
	bool ok = false;
	if ((sel & ~3u) != 0 && seg_read_desc(c, sel, &raw)) {
		struct vcpu_segment s;
		seg_from_desc(&s, sel, raw);
		bool conforming = (s.type & 0xc) == 0xc;
		if (s.s && (conforming || (s.dpl >= c->cpl && s.dpl >= (sel & 3u)))) {
			if (op->sub)
				ok = !(s.type & 8) && (s.type & 2);
			else
				ok = !(s.type & 8) || (s.type & 2);
		}
	}
	sys_set_zf(c, ok);
	return 0;
}

int sys_arpl(struct cpu *c, const struct op *op)
{
	sys_need_pmode(c);
	uint16_t d = (uint16_t)cpu_opnd_get(c, op, 0, 2);
	uint16_t s = (uint16_t)cpu_reg_get(c, op->r[1], 2);
	bool adj = (d & 3) < (s & 3);
	if (adj)
		cpu_opnd_set(c, op, 0, 2, (d & ~3u) | (s & 3));
	sys_set_zf(c, adj);
	return 0;
}

int sys_invlpg(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	uint64_t ea = cpu_ea(c, op);
	uint64_t lin = c->mode64 ? ea + (op->seg >= S_FS ? c->seg[op->seg].base : 0)
				 : (uint32_t)(c->seg[op->seg].base + ea);
	mmu_flush_page(c, lin);
	return 0;
}

int sys_wbinvd(struct cpu *c, const struct op *op)
{
	sys_need_cpl0(c);
	return 0;
}

int sys_ud(struct cpu *c, const struct op *op)
{
	cpu_raise_noerr(c, EXC_UD);
}

int sys_gp0(struct cpu *c, const struct op *op)
{
	cpu_raise(c, EXC_GP, 0);
}

int sys_clflush(struct cpu *c, const struct op *op)
{
	cpu_read(c, op->seg, cpu_ea(c, op), 1);
	return 0;
}

/* A flat 4 GiB code or data segment as SYSCALL/SYSENTER load them. */
static void sys_flat(struct vcpu_segment *s, uint16_t sel, bool code, unsigned dpl, bool l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = (uint8_t)dpl;
	s->present = 1;
	s->g = 1;
	s->l = l;
	s->db = !l;
}

int sys_syscall(struct cpu *c, const struct op *op)
{
	if (!(c->efer & EFER_SCE) || !c->mode64)
		cpu_raise_noerr(c, EXC_UD);
	uint16_t sel = (uint16_t)(c->star >> 32);
	c->gpr[R_CX] = c->rip + op->len;
	c->gpr[11] = flags_get(c) & ~FL_RF;
	flags_set(c, 0, c->sfmask | FL_RF);
	struct vcpu_segment cs, ss;
	sys_flat(&cs, sel & 0xfffc, true, 0, true);
	sys_flat(&ss, (sel + 8) & 0xfffc, false, 0, false);
	c->seg[S_SS] = ss;
	seg_set_cs(c, &cs, 0);
	c->rip = c->lstar;
	return 1;
}

int sys_sysret(struct cpu *c, const struct op *op)
{
	if (!(c->efer & EFER_SCE) || !c->mode64)
		cpu_raise_noerr(c, EXC_UD);
	sys_need_cpl0(c);
	uint16_t sel = (uint16_t)(c->star >> 48);
	bool to64 = op->size == 8;
	uint64_t rip = to64 ? c->gpr[R_CX] : (uint32_t)c->gpr[R_CX];
	if (to64 && !cpu_canonical(rip))
		cpu_raise(c, EXC_GP, 0);
	struct vcpu_segment cs, ss;
	sys_flat(&cs, (uint16_t)((to64 ? sel + 16 : sel) | 3), true, 3, to64);
	sys_flat(&ss, (uint16_t)((sel + 8) | 3), false, 3, false);
	flags_set(c, (c->gpr[11] & 0x3c7fd7ULL) | 2, ~0ULL);
	c->seg[S_SS] = ss;
	seg_set_cs(c, &cs, 3);
	c->rip = rip;
	return 1;
}

#define MSR_SYSENTER_CS_NULL(c) (((c)->sysenter_cs & 0xfffc) == 0)

int sys_sysenter(struct cpu *c, const struct op *op)
{
	if (!(c->cr0 & CR0_PE) || MSR_SYSENTER_CS_NULL(c))
		cpu_raise(c, EXC_GP, 0);
	bool lm = c->efer & EFER_LMA;
	uint16_t sel = (uint16_t)c->sysenter_cs & 0xfffc;
	struct vcpu_segment cs, ss;
	sys_flat(&cs, sel, true, 0, lm);
	sys_flat(&ss, sel + 8, false, 0, false);
	flags_set(c, 0, FL_VM | FL_IF | FL_RF);
	c->seg[S_SS] = ss;
	seg_set_cs(c, &cs, 0);
	c->gpr[R_SP] = lm ? c->sysenter_esp : (uint32_t)c->sysenter_esp;
	c->rip = lm ? c->sysenter_eip : (uint32_t)c->sysenter_eip;
	return 1;
}

int sys_sysexit(struct cpu *c, const struct op *op)
{
	if (!c->pmode || c->cpl != 0 || MSR_SYSENTER_CS_NULL(c))
		cpu_raise(c, EXC_GP, 0);
	bool to64 = op->size == 8;
	uint16_t sel = (uint16_t)c->sysenter_cs;
	struct vcpu_segment cs, ss;
	sys_flat(&cs, (uint16_t)((sel + (to64 ? 32 : 16)) | 3), true, 3, to64);
	sys_flat(&ss, (uint16_t)((sel + (to64 ? 40 : 24)) | 3), false, 3, false);
	uint64_t rip = to64 ? c->gpr[R_DX] : (uint32_t)c->gpr[R_DX];
	uint64_t rsp = to64 ? c->gpr[R_CX] : (uint32_t)c->gpr[R_CX];
	if (to64 && (!cpu_canonical(rip) ||
		     !cpu_canonical(rsp)))
		cpu_raise(c, EXC_GP, 0);
	c->seg[S_SS] = ss;
	seg_set_cs(c, &cs, 3);
	c->gpr[R_SP] = rsp;
	c->rip = rip;
	return 1;
}

int sys_swapgs(struct cpu *c, const struct op *op)
{
	if (!c->mode64)
		cpu_raise_noerr(c, EXC_UD);
	sys_need_cpl0(c);
	uint64_t t = c->seg[S_GS].base;
	c->seg[S_GS].base = c->kernel_gs_base;
	c->kernel_gs_base = t;
	return 0;
}

/* ---- SIMD unit bridge -------------------------------------------------- */

/* simd.h: ZYDIS_REGISTER_RFLAGS is the flags register (FCMOVcc reads it,
 * FCOMI and COMISS write the six arithmetic flags, FSAVE looks at VM). */
static uint64_t sys_simd_get_gpr(void *cpu, ZydisRegister reg)
{
	if (reg == ZYDIS_REGISTER_RFLAGS || reg == ZYDIS_REGISTER_EFLAGS ||
	    reg == ZYDIS_REGISTER_FLAGS)
		return flags_get(cpu);
	unsigned size = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg) / 8;
	uint8_t r = decode_gpr(reg);
	return r < REG_RIP && size ? cpu_reg_get(cpu, r, size) : 0;
}

static void sys_simd_set_gpr(void *cpu, ZydisRegister reg, uint64_t value)
{
	if (reg == ZYDIS_REGISTER_RFLAGS || reg == ZYDIS_REGISTER_EFLAGS ||
	    reg == ZYDIS_REGISTER_FLAGS) {
		flags_set(cpu, value, FL_ARITH);
		return;
	}
	unsigned size = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg) / 8;
	uint8_t r = decode_gpr(reg);
	if (r < REG_RIP && size)
		cpu_reg_set(cpu, r, size, value);
}

/* Memory callbacks: faults unwind straight to the run loop, so "return
 * false after raising" never actually returns. */
static bool sys_simd_read(void *cpu, uint64_t lin, void *buf, unsigned len)
{
	struct cpu *c = cpu;
	uint8_t *p = buf;
	for (unsigned i = 0; i < len;) {
		unsigned n = len - i >= 8 && ((lin + i) & 7) == 0 ? 8 : 1;
		uint64_t v = cpu_read_lin(c, c->mode64 ? lin + i : (uint32_t)(lin + i), n);
		memcpy(p + i, &v, n);
		i += n;
	}
	return true;
}

static bool sys_simd_probe(void *cpu, uint64_t lin, unsigned len)
{
	struct cpu *c = cpu;
	for (uint64_t a = lin & ~0xfffULL; a < lin + len; a += 0x1000)
		mmu_translate(c, c->mode64 ? a : (uint32_t)a, ACC_W);
	return true;
}

static bool sys_simd_write(void *cpu, uint64_t lin, const void *buf, unsigned len)
{
	struct cpu *c = cpu;
	const uint8_t *p = buf;
	sys_simd_probe(cpu, lin, len);
	for (unsigned i = 0; i < len;) {
		unsigned n = len - i >= 8 && ((lin + i) & 7) == 0 ? 8 : 1;
		uint64_t v = 0;
		memcpy(&v, p + i, n);
		cpu_write_lin(c, c->mode64 ? lin + i : (uint32_t)(lin + i), n, v);
		i += n;
	}
	return true;
}

struct sys_simd_copy {
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

int sys_simd(struct cpu *c, const struct op *op)
{
	const struct sys_simd_copy *z = op->zinsn;
	struct simd_env env = {
		.cpu = c,
		.cr0 = c->cr0,
		.cr4 = c->cr4,
		.long_mode = c->mode64,
		.operand_16 = z->insn.operand_width == 16,
		.rip = c->rip,
		.cs = c->seg[S_CS].selector,
		.ds = c->seg[S_DS].selector,
		.get_gpr = sys_simd_get_gpr,
		.set_gpr = sys_simd_set_gpr,
		.read = sys_simd_read,
		.write = sys_simd_write,
		.probe_write = sys_simd_probe,
	};
	for (unsigned i = 0; i < z->insn.operand_count; i++) {
		if (z->ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    z->ops[i].mem.type != ZYDIS_MEMOP_TYPE_MEM)
			continue;
		unsigned size = z->ops[i].size / 8;
		uint64_t ea = cpu_ea(c, op);
		env.has_mem = true;
		env.mem_seg = c->seg[op->seg].selector;
		/* Segment checks for the whole operand happen here, once. */
		env.mem_linear = cpu_lin(c, op->seg, ea, size ? (size > 512 ? 512 : size) : 1,
					 ACC_R);
		break;
	}
	switch (simd_exec(c->simd, &env, &z->insn, z->ops)) {
	case SIMD_OK:
	case SIMD_FAULTED:
		return 0;
	case SIMD_EXC_UD: cpu_raise_noerr(c, EXC_UD);
	case SIMD_EXC_NM: cpu_raise_noerr(c, EXC_NM);
	case SIMD_EXC_MF: cpu_raise_noerr(c, EXC_MF);
	case SIMD_EXC_XM: cpu_raise_noerr(c, EXC_XM);
	case SIMD_EXC_GP0: cpu_raise(c, EXC_GP, 0);
	case SIMD_FERR:
		/* CR0.NE = 0: the error goes out on FERR# as IRQ13 (PC/AT). */
		c->ferr = true;
		machine_lock(c->m);
		irq_set(c->m, 13, 1);
		machine_unlock(c->m);
		return 0;
	}
	return 0;
}
