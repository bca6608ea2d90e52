/*
 * msr: model-specific registers of the software CPU (Intel SDM Vol. 4 and
 * Vol. 3A 11.11 MTRRs, 11.12 PAT, 2.2.1 EFER, 5.8.8 SYSCALL/SYSENTER MSRs).
 *
 * The set is deliberately small and matches CPUID: TSC, APIC base and the
 * x2APIC range (to the local APIC), TSC deadline, MISC_ENABLE, PAT, MTRRs as
 * storage (MTRRcap: 8 variable ranges, fixed ranges, write-combining), the
 * SYSENTER and SYSCALL MSRs, EFER, FS/GS/KERNEL_GS base, TSC_AUX,
 * ARCH_CAPABILITIES (read-only), and the
 * microcode revision Linux reads unconditionally on Intel CPUs. Anything else
 * is #GP, as on hardware for an unimplemented MSR.
 */
#include "cpu/cpu.h"
#include "devices/apic/lapic.h"

#define MSR_TSC 0x10
#define MSR_UCODE_REV 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_ARCH_CAPABILITIES 0x10a
/*
 * IA32_ARCH_CAPABILITIES (read-only): the speculation flaws this CPU is
 * not susceptible to. It executes one instruction after another with no
 * speculation, branch or return predictors, store buffer or fill buffers:
 * a load is permission-checked before it produces a value, and no
 * predicted target is ever run. So it claims RDCL_NO (bit 0, Meltdown),
 * SSB_NO (bit 4, speculative store bypass), MDS_NO (bit 5, microarchitec-
 * tural data sampling) and ITS_NO (bit 62, indirect target selection) and
 * nothing else (no enhanced IBRS, no SPEC_CTRL). Without it a kernel
 * assumes the worst of a "GenuineIntel" CPU under a hypervisor and puts
 * page-table isolation and branch/return thunks on every path.
 */
#define ARCH_CAPABILITIES_VALUE (1ULL << 0 | 1ULL << 4 | 1ULL << 5 | 1ULL << 62)
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_MTRR_VAR 0x200
#define MSR_MTRR_FIX64K 0x250
#define MSR_MTRR_FIX16K 0x258
#define MSR_MTRR_FIX4K 0x268
#define MSR_PAT 0x277
#define MSR_MTRR_DEF 0x2ff
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS 0xc0000102
#define MSR_TSC_AUX 0xc0000103

#define MTRRCAP_VALUE (8 | 1u << 8 | 1u << 10)  /* VCNT 8, FIX, WC */
#define APIC_BASE_DEFAULT 0xfee00000ULL
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EN (1ULL << 11)

void msr_reset(struct cpu *c)
{
	c->star = c->lstar = c->cstar = c->sfmask = c->kernel_gs_base = 0;
	c->sysenter_cs = c->sysenter_esp = c->sysenter_eip = 0;
	c->pat = 0x0007040600070406ULL;
	c->misc_enable = 1;             /* fast strings */
	c->tsc_aux = 0;
	c->mtrr_def_type = 0;
	memset(c->mtrr_fixed, 0, sizeof(c->mtrr_fixed));
	memset(c->mtrr_var, 0, sizeof(c->mtrr_var));
	c->apic_base = APIC_BASE_DEFAULT | APIC_BASE_EN | (c->index == 0 ? APIC_BASE_BSP : 0);
}

/* Fixed-range MTRR index 0..10 for an MSR number, or -1. */
static int msr_fixed_index(uint32_t idx)
{
	if (idx == MSR_MTRR_FIX64K)
		return 0;
	if (idx == MSR_MTRR_FIX16K || idx == MSR_MTRR_FIX16K + 1)
		return 1 + (int)(idx - MSR_MTRR_FIX16K);
	if (idx >= MSR_MTRR_FIX4K && idx < MSR_MTRR_FIX4K + 8)
		return 3 + (int)(idx - MSR_MTRR_FIX4K);
	return -1;
}

/* Memory types valid in MTRRs and PAT entries: UC, WC, WT, WP, WB (and UC-
 * for PAT). */
static bool msr_type_ok(unsigned t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

int msr_read(struct cpu *c, uint32_t idx, uint64_t *v)
{
	int fi = msr_fixed_index(idx);
	if (fi >= 0) {
		*v = c->mtrr_fixed[fi];
		return 0;
	}
	if (idx >= MSR_MTRR_VAR && idx < MSR_MTRR_VAR + 16) {
		*v = c->mtrr_var[idx - MSR_MTRR_VAR];
		return 0;
	}
	if (idx >= 0x800 && idx <= 0x8ff)
		return c->lapic ? lapic_rdmsr(c->lapic, idx, v) : -1;
	switch (idx) {
	case MSR_TSC: *v = tsc_read(c); return 0;
	case MSR_UCODE_REV: *v = 0; return 0;
	case MSR_IA32_APIC_BASE:
		if (c->lapic)
			return lapic_rdmsr(c->lapic, idx, v);
		*v = c->apic_base;
		return 0;
	case MSR_MTRRCAP: *v = MTRRCAP_VALUE; return 0;
	case MSR_ARCH_CAPABILITIES: *v = ARCH_CAPABILITIES_VALUE; return 0;
	case MSR_SYSENTER_CS: *v = c->sysenter_cs; return 0;
	case MSR_SYSENTER_ESP: *v = c->sysenter_esp; return 0;
	case MSR_SYSENTER_EIP: *v = c->sysenter_eip; return 0;
	case MSR_MISC_ENABLE: *v = c->misc_enable; return 0;
	case MSR_PAT: *v = c->pat; return 0;
	case MSR_MTRR_DEF: *v = c->mtrr_def_type; return 0;
	case MSR_IA32_TSC_DEADLINE:
		if (!c->lapic)
			return -1;
		*v = lapic_tsc_deadline_armed(c->lapic) ? c->tsc_deadline : 0;
		return 0;
	case MSR_EFER: *v = c->efer; return 0;
	case MSR_STAR: *v = c->star; return 0;
	case MSR_LSTAR: *v = c->lstar; return 0;
	case MSR_CSTAR: *v = c->cstar; return 0;
	case MSR_SFMASK: *v = c->sfmask; return 0;
	case MSR_FS_BASE: *v = c->seg[S_FS].base; return 0;
	case MSR_GS_BASE: *v = c->seg[S_GS].base; return 0;
	case MSR_KERNEL_GS: *v = c->kernel_gs_base; return 0;
	case MSR_TSC_AUX: *v = c->tsc_aux; return 0;
	default: return -1;
	}
}

/* Physical address bits 40-51 are reserved in MTRR bases and masks. */
#define MSR_PHYS_RSVD 0xffffff0000000000ULL

int msr_write(struct cpu *c, uint32_t idx, uint64_t v)
{
	int fi = msr_fixed_index(idx);
	if (fi >= 0) {
		for (unsigned i = 0; i < 8; i++)
			if (!msr_type_ok((v >> (8 * i)) & 0xff, false))
				return -1;
		c->mtrr_fixed[fi] = v;
		return 0;
	}
	if (idx >= MSR_MTRR_VAR && idx < MSR_MTRR_VAR + 16) {
		bool mask = (idx - MSR_MTRR_VAR) & 1;
		if ((v & MSR_PHYS_RSVD) || (mask ? (v & 0x7ff) : (v & 0xf00) ||
						   !msr_type_ok(v & 0xff, false)))
			return -1;
		c->mtrr_var[idx - MSR_MTRR_VAR] = v;
		return 0;
	}
	if (idx >= 0x800 && idx <= 0x8ff)
		return c->lapic ? lapic_wrmsr(c->lapic, idx, v) : -1;
	switch (idx) {
	case MSR_TSC: tsc_write(c, v); return 0;
	case MSR_UCODE_REV: return 0;
	case MSR_IA32_APIC_BASE:
		if (c->lapic) {
			if (lapic_wrmsr(c->lapic, idx, v))
				return -1;
			mmu_flush(c, true);     /* the APIC page may have moved */
			return 0;
		}
		c->apic_base = v;
		return 0;
	case MSR_MTRRCAP: return -1;
	case MSR_SYSENTER_CS: c->sysenter_cs = v & 0xffff; return 0;
	case MSR_SYSENTER_ESP:
		if (!cpu_canonical(v))
			return -1;
		c->sysenter_esp = v;
		return 0;
	case MSR_SYSENTER_EIP:
		if (!cpu_canonical(v))
			return -1;
		c->sysenter_eip = v;
		return 0;
	case MSR_MISC_ENABLE:
		/* Fast strings is the only enable we model; the rest read as set. */
		c->misc_enable = (c->misc_enable & ~1ULL) | (v & 1);
		return 0;
	case MSR_PAT:
		for (unsigned i = 0; i < 8; i++)
			if (!msr_type_ok((v >> (8 * i)) & 0xff, true))
				return -1;
		c->pat = v;
		return 0;
	case MSR_MTRR_DEF:
		if ((v & ~0xcffULL) || !msr_type_ok(v & 0xff, false))
			return -1;
		c->mtrr_def_type = v;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		if (!c->lapic)
			return -1;
		c->tsc_deadline = v;
		lapic_set_tsc_deadline(c->lapic, v ? tsc_to_ns(c, v) : INT64_MAX);
		return 0;
	case MSR_EFER: {
		uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
		if (v & ~(allowed | EFER_LMA))
			return -1;
		/* LME cannot change while paging is on (SDM 9.8.5). */
		if ((c->cr0 & CR0_PG) && ((v ^ c->efer) & EFER_LME))
			return -1;
		uint64_t old = c->efer;
		c->efer = (v & allowed) | (c->efer & EFER_LMA);
		if ((old ^ c->efer) & EFER_NXE)
			mmu_flush(c, true);
		return 0;
	}
	case MSR_STAR: c->star = v; return 0;
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!cpu_canonical(v))
			return -1;
		if (idx == MSR_LSTAR)
			c->lstar = v;
		else
			c->cstar = v;
		return 0;
	case MSR_SFMASK: c->sfmask = (uint32_t)v; return 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS:
		if (!cpu_canonical(v))
			return -1;
		if (idx == MSR_FS_BASE)
			c->seg[S_FS].base = v;
		else if (idx == MSR_GS_BASE)
			c->seg[S_GS].base = v;
		else
			c->kernel_gs_base = v;
		return 0;
	case MSR_TSC_AUX:
		if (v >> 32)
			return -1;
		c->tsc_aux = v;
		return 0;
	default:
		return -1;
	}
}
