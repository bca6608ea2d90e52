/*
 * cpu: the state of one software x86-64 CPU and the small inline helpers
 * every part of the interpreter shares (register access, segment-relative
 * memory access, exception raising).
 *
 * The engine is split by what each file models:
 *   emu.c        accel_ops, the run loop, interrupt polling, icount
 *   decode.c     Zydis -> struct op records, the per-vCPU decoded-block cache
 *   flags.c      lazy arithmetic flags (SDM Vol. 1 3.4.3)
 *   mmu.c        paging (SDM Vol. 3A ch. 4), the software TLB, physical/MMIO access
 *   seg.c        segmentation (SDM Vol. 3A ch. 3, 5): descriptor loads and checks
 *   intr.c       exceptions and interrupts (SDM Vol. 3A ch. 6), IRET
 *   task.c       hardware task switching (SDM Vol. 3A ch. 7)
 *   exec_*.c     instruction families
 *   msr.c, cpuid_emu.c, tsc.c
 *
 * Faults unwind with longjmp to the run loop (cpu_raise), which delivers the
 * exception with the guest state as it was before the faulting instruction:
 * every handler does its reads and checks before it changes architectural
 * state. Only the owning vCPU thread touches struct cpu, so nothing here locks.
 */
#ifndef LODGE_CPU_CPU_H
#define LODGE_CPU_CPU_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/accel.h"

struct machine;
struct vcpu;
struct lapic;
struct simd_state;
struct emu_vm;
struct cpu;
struct op;
struct block;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* The helpers below sit on the paths every instruction takes: GCC's
 * heuristics would leave some of them out of line in the larger handlers. */
#define CPU_INLINE static inline __attribute__((always_inline))

/* General registers in encoding order. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
/* Operand register numbers: 0-15 GPRs; 16-19 AH, CH, DH, BH. */
#define REG_HIGH8 16
#define REG_RIP 32
#define REG_NONE 0xff
/* struct cpu.slot indexes beyond the GPRs. */
#define CPU_SLOT_RIP 16
#define CPU_SLOT_ZERO 17

/* Segment registers in encoding order. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NONE };

/* Exception vectors (SDM Vol. 3A Table 6-1). */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
	EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
	EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* RFLAGS bits. */
#define FL_CF 0x1ULL
#define FL_PF 0x4ULL
#define FL_AF 0x10ULL
#define FL_ZF 0x40ULL
#define FL_SF 0x80ULL
#define FL_TF 0x100ULL
#define FL_IF 0x200ULL
#define FL_DF 0x400ULL
#define FL_OF 0x800ULL
#define FL_IOPL 0x3000ULL
#define FL_NT 0x4000ULL
#define FL_RF 0x10000ULL
#define FL_VM 0x20000ULL
#define FL_AC 0x40000ULL
#define FL_VIF 0x80000ULL
#define FL_VIP 0x100000ULL
#define FL_ID 0x200000ULL
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_EM 0x4ULL
#define CR0_TS 0x8ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_WP 0x10000ULL
#define CR0_AM 0x40000ULL
#define CR0_NW 0x20000000ULL
#define CR0_CD 0x40000000ULL
#define CR0_PG 0x80000000ULL

#define CR4_VME 0x1ULL
#define CR4_PVI 0x2ULL
#define CR4_TSD 0x4ULL
#define CR4_DE 0x8ULL
#define CR4_PSE 0x10ULL
#define CR4_PAE 0x20ULL
#define CR4_MCE 0x40ULL
#define CR4_PGE 0x80ULL
#define CR4_PCE 0x100ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL

#define EFER_SCE 0x1ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define EFER_NXE 0x800ULL

/* Memory access kinds for the MMU and segment checks. */
#define ACC_R 0x1u
#define ACC_W 0x2u
#define ACC_X 0x4u
#define ACC_SUPER 0x8u                  /* implicit supervisor access (GDT, TSS, IDT) */

/* Software TLB: direct mapped, one array per privilege class (CPL 3 or not).
 * Only canonical pages are ever entered, so a hit also proves the address
 * canonical. */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID (~0ULL)

/* The part of an entry every data access looks at: 32 bytes, two per
 * cache line. */
struct tlb_entry {
	uint64_t tag_r, tag_w;          /* linear page, or TLB_INVALID */
	uintptr_t addend;               /* host = linear + addend (RAM pages) */
	_Atomic uint8_t *code;          /* the page's code_pages byte */
};

/* The rest, for instruction fetch and flushes. */
struct tlb_info {
	uint64_t tag_x;                 /* linear page, or TLB_INVALID */
	uint64_t gpfn;                  /* guest-physical page number */
	bool global;
	bool large;                     /* part of a 2 MiB or 4 MiB page */
};

/* Lazy flags: cc_op = kind << 2 | log2(size). */
enum cc_kind { CC_EFLAGS, CC_ADD, CC_ADC, CC_SUB, CC_SBB, CC_LOGIC, CC_INC, CC_DEC,
	       CC_MUL,                  /* MUL/IMUL: cc_src2 = CF = OF */
	       CC_SHIFT };              /* SHL/SHR/SAR: cc_src2 = CF and OF as RFLAGS bits */
#define CC_OP(kind, size) ((unsigned)(kind) << 2 | cpu_size_log2(size))

/* Operand kinds in struct op. */
enum { K_NONE, K_REG, K_MEM, K_IMM };

/* struct op flags. */
#define OPF_LOCK 0x1u
#define OPF_REP 0x2u                    /* F3 */
#define OPF_REPNE 0x4u                  /* F2 */
#define OPF_SEG_OVR 0x8u                /* explicit segment prefix */
/* The memory operand is flat: 64-bit code, 64-bit address size, a segment
 * other than FS and GS, so the linear address is the effective address
 * (no base, no limit; the decode mode is part of the block's key). */
#define OPF_FLAT 0x10u

typedef int op_fn(struct cpu *c, const struct op *op);
typedef const struct op *op_exec(struct cpu *c, const struct op *op);

/*
 * One decoded instruction: handlers and operands digested so no handler
 * ever looks at instruction bytes.
 *
 * fn is the reference handler: it runs with c->rip at this instruction and
 * returns 0 to fall through (the caller advances rip by len), or 1 when it
 * set rip itself or the block must end after it.
 *
 * exec is the threaded handler a block runs through (fast.h): either a
 * specialised form chosen by select.c or emu_exec_ref, which calls fn.
 */
struct op {
	op_exec *exec;
	op_fn *fn;
	uint8_t len;                    /* instruction length */
	uint8_t size;                   /* operand size in bytes */
	uint8_t asize;                  /* address size in bytes */
	uint8_t flags;                  /* OPF_* */
	uint8_t k[3];                   /* operand kinds */
	uint8_t r[3];                   /* register numbers for K_REG */
	uint8_t seg, base, index, scale;
	uint8_t sub;                    /* handler-specific selector */
	uint8_t size2;                  /* source size (MOVZX/MOVSX), etc. */
	uint16_t imm2;                  /* far pointer selector, ENTER level */
	uint16_t off;                   /* offset from the block's first instruction */
	uint8_t sbase, sindex;          /* base and index as struct cpu.slot indexes */
	uint8_t idx;                    /* index in the block's ops */
	uint8_t fv;                     /* flag setters: the FAST_V_* variant chosen (select.c) */
	int64_t disp;                   /* RIP-relative: from the block's first instruction */
	uint64_t imm;
	const void *zinsn;              /* SIMD: decoded instruction kept for simd_exec */
};

struct cpu {
	/* The general registers, rip and a constant zero in one array, so the
	 * threaded handlers form an address as slot[base] + (slot[index] <<
	 * scale) + disp without branches (an absent base or index is
	 * CPU_SLOT_ZERO, RIP-relative addressing uses CPU_SLOT_RIP). */
	union {
		struct {
			uint64_t gpr[16];
			uint64_t rip;
			uint64_t zero;
		};
		uint64_t slot[18];
	};
	uint64_t rflags;                /* all bits except the arithmetic ones */
	uint64_t cc_dst, cc_src, cc_src2;
	unsigned cc_op;

	struct vcpu_segment seg[6];
	struct vcpu_segment ldt, tr;
	struct vcpu_dtable gdt, idt;
	/* Precomputed segment checks: allowed access kinds and offset range. */
	uint8_t seg_acc[6];
	uint64_t seg_lo[6], seg_hi[6];
	/* Bit s: segment s spans 4 GiB from its base in protected mode, as
	 * compiled 32-bit code assumes (jit.c): readable and writable data
	 * (SS also 32-bit), or for CS code at base 0. */
	uint8_t seg_flat;

	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t dr[8];
	unsigned cpl;
	bool mode64;                    /* 64-bit code segment in long mode */
	bool pmode;                     /* CR0.PE and not virtual-8086 */
	uint8_t code_size;              /* 2, 4 or 8: default operand size of CS */
	uint8_t stack_size;             /* 2, 4 or 8: SS.B / long mode */
	uint8_t mmu_idx;                /* 1 at CPL 3 */
	uint32_t code_key;              /* decode mode | mmu_idx << 3 (decode.c) */

	/* MSRs. */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, tsc_offset, tsc_aux, misc_enable, apic_base;
	uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	uint64_t tsc_deadline;

	/* Interrupt state. */
	bool shadow;                    /* STI / MOV SS shadow covers the next instruction */
	bool nmi_blocked;
	bool halted;
	bool wait_sipi;
	bool ferr;                      /* FERR# asserted (IRQ13) */
	/* Exception being delivered, for double/triple fault (SDM 6.15 Table 6-5). */
	int delivering;                 /* vector or -1 */
	int exc_vec;
	uint32_t exc_err;
	bool exc_has_err;
	bool exc_soft;                  /* INT n / INT3 / INTO: software interrupt */
	bool shutdown;                  /* triple fault */
	jmp_buf jb;

	/* Block execution. */
	bool brk;                       /* end the current block after this instruction */
	int budget;                     /* blocks left before the run loop looks for events */
	uint64_t extra_retired;         /* REP iterations counted as instructions (icount) */
	_Atomic bool kicked;
	_Atomic bool flush_code;        /* another agent invalidated code pages */
	_Atomic bool flush_tlb;         /* A20 changed, etc. */

	struct tlb_entry tlb[2][TLB_SIZE];
	struct tlb_info tlb_info[2][TLB_SIZE];
	bool tlb_large;                 /* some slot may hold a large page (INVLPG) */
	struct cpu_code *code;          /* decoded-block cache (decode.c) */
	struct jit *jit;                /* host code for hot blocks (jit.c), or NULL */
	const struct block *cur_block;
	/* Blocks by linear address of their first instruction (decode.c). */
	const struct block *const *jmp;
	bool icount_mode;               /* vm->icount, kept here for the block loop */

	struct machine *m;
	struct vcpu *v;
	struct emu_vm *vm;
	struct lapic *lapic;
	struct simd_state *simd;
	unsigned index;
};

/* The VM-wide part of the engine (m->accel_state). */
struct emu_vm {
	struct machine *m;
	bool a20;
	bool icount;
	/* One byte per guest-physical RAM page below the limit: nonzero while
	 * some vCPU holds decoded code from that page. */
	_Atomic uint8_t *code_pages;
	uint64_t code_pages_n;
	/* Lock-prefixed accesses that a host atomic cannot cover (split across
	 * pages or cache lines, MMIO) serialize here. */
	pthread_mutex_t split_lock;
	/* icount: guest time in ns = base + retired / per-ns scale, plus warps. */
	_Atomic int64_t icount_ns;
	/* Guest time of the last machine reset: every TSC reads 0 there. */
	int64_t tsc_reset_ns;
};

/* A 48-bit linear address sign-extended to 64 bits (SDM Vol. 1 3.3.7.1). */
CPU_INLINE bool cpu_canonical(uint64_t v)
{
	return ((v + (1ULL << 47)) >> 48) == 0;
}

CPU_INLINE unsigned cpu_size_log2(unsigned size)
{
	return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

CPU_INLINE uint64_t cpu_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

CPU_INLINE uint64_t cpu_sign(unsigned size)
{
	return 1ULL << (size * 8 - 1);
}

CPU_INLINE int64_t cpu_sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	case 4: return (int32_t)v;
	default: return (int64_t)v;
	}
}

CPU_INLINE uint64_t cpu_reg_get(const struct cpu *c, unsigned r, unsigned size)
{
	if (size == 1 && r >= REG_HIGH8)
		return (c->gpr[r - REG_HIGH8] >> 8) & 0xff;
	return c->gpr[r] & cpu_mask(size);
}

/* 32-bit writes zero-extend; 8/16-bit writes merge (SDM Vol. 1 3.4.1.1). */
CPU_INLINE void cpu_reg_set(struct cpu *c, unsigned r, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		if (r >= REG_HIGH8) {
			uint64_t *g = &c->gpr[r - REG_HIGH8];
			*g = (*g & ~0xff00ULL) | (v & 0xff) << 8;
		} else {
			c->gpr[r] = (c->gpr[r] & ~0xffULL) | (v & 0xff);
		}
		break;
	case 2:
		c->gpr[r] = (c->gpr[r] & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		c->gpr[r] = (uint32_t)v;
		break;
	default:
		c->gpr[r] = v;
		break;
	}
}

/* ---- exceptions (intr.c) ---------------------------------------------- */

/* Abandon the current instruction and deliver vector vec (with an error
 * code if the vector has one). Never returns. */
_Noreturn void cpu_raise(struct cpu *c, int vec, uint32_t err);
_Noreturn void cpu_raise_noerr(struct cpu *c, int vec);
/* #PF with CR2. */
_Noreturn void cpu_raise_pf(struct cpu *c, uint64_t lin, uint32_t err);

/* ---- mmu.c ------------------------------------------------------------ */

uint64_t mmu_read_slow(struct cpu *c, uint64_t lin, unsigned size, unsigned acc);
void mmu_write_slow(struct cpu *c, uint64_t lin, unsigned size, uint64_t v, unsigned acc);

CPU_INLINE uint64_t cpu_load_host(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

CPU_INLINE void cpu_store_host(uint8_t *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t t = (uint16_t)v; memcpy(p, &t, 2); break; }
	case 4: { uint32_t t = (uint32_t)v; memcpy(p, &t, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/*
 * The tag a TLB hit for a size-byte access at lin must match: the page of
 * its last byte, looked up in the slot of its first. An access that
 * crosses into the next page asks for that page's tag in the slot of the
 * page before, where it can never be (neighbouring pages have neighbouring
 * slots), so one compare checks both the page and the page crossing.
 */
CPU_INLINE uint64_t cpu_tlb_tag(uint64_t lin, unsigned size)
{
	return (lin + size - 1) & ~0xfffULL;
}

/* Linear read at the current privilege (size 1, 2, 4 or 8). */
CPU_INLINE uint64_t cpu_read_lin(struct cpu *c, uint64_t lin, unsigned size)
{
	struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_r == cpu_tlb_tag(lin, size)))
		return cpu_load_host((const uint8_t *)(uintptr_t)(lin + e->addend), size);
	return mmu_read_slow(c, lin, size, ACC_R);
}

CPU_INLINE void cpu_write_lin(struct cpu *c, uint64_t lin, unsigned size, uint64_t v)
{
	struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_w == cpu_tlb_tag(lin, size) &&
		   !atomic_load_explicit(e->code, memory_order_relaxed))) {
		cpu_store_host((uint8_t *)(uintptr_t)(lin + e->addend), size, v);
		return;
	}
	mmu_write_slow(c, lin, size, v, ACC_W);
}

/* ---- segments (seg.c) ------------------------------------------------- */

_Noreturn void seg_fault(struct cpu *c, unsigned s, uint64_t off, unsigned size, unsigned acc);

/* Segment-relative offset -> linear address, with the protection checks of
 * SDM Vol. 3A 5.3 (limit) and 5.4-5.6 (type), or the canonical check in
 * 64-bit mode. */
CPU_INLINE uint64_t cpu_lin(struct cpu *c, unsigned s, uint64_t off, unsigned size, unsigned acc)
{
	if (c->mode64) {
		uint64_t lin = off + (s >= S_FS ? c->seg[s].base : 0);
		if (unlikely(!cpu_canonical(lin)))
			seg_fault(c, s, off, size, acc);
		return lin;
	}
	if (unlikely(!(c->seg_acc[s] & acc) || off < c->seg_lo[s] ||
		     off + size - 1 > c->seg_hi[s]))
		seg_fault(c, s, off, size, acc);
	return (uint32_t)(c->seg[s].base + off);
}

CPU_INLINE uint64_t cpu_read(struct cpu *c, unsigned s, uint64_t off, unsigned size)
{
	return cpu_read_lin(c, cpu_lin(c, s, off, size, ACC_R), size);
}

CPU_INLINE void cpu_write(struct cpu *c, unsigned s, uint64_t off, unsigned size, uint64_t v)
{
	cpu_write_lin(c, cpu_lin(c, s, off, size, ACC_W), size, v);
}

/* Effective address of a memory operand (SDM Vol. 2A 2.1.5), wrapped to the
 * address size. A RIP-relative displacement is stored relative to the
 * block's first instruction (decode.c): rip - off is that instruction. */
CPU_INLINE uint64_t cpu_ea(const struct cpu *c, const struct op *op)
{
	uint64_t a = (uint64_t)op->disp;
	if (op->base != REG_NONE)
		a += op->base == REG_RIP ? c->rip - op->off : c->gpr[op->base];
	if (op->index != REG_NONE)
		a += c->gpr[op->index] << op->scale;
	return op->asize == 8 ? a : a & cpu_mask(op->asize);
}

/* Operand n of op as a value (register, memory or immediate). */
CPU_INLINE uint64_t cpu_opnd_get(struct cpu *c, const struct op *op, unsigned n, unsigned size)
{
	switch (op->k[n]) {
	case K_REG: return cpu_reg_get(c, op->r[n], size);
	case K_MEM: return cpu_read(c, op->seg, cpu_ea(c, op), size);
	default: return op->imm & cpu_mask(size);
	}
}

CPU_INLINE void cpu_opnd_set(struct cpu *c, const struct op *op, unsigned n, unsigned size,
			     uint64_t v)
{
	if (op->k[n] == K_REG)
		cpu_reg_set(c, op->r[n], size, v);
	else
		cpu_write(c, op->seg, cpu_ea(c, op), size, v);
}

/* ---- stack (exec_stack.c) --------------------------------------------- */

void cpu_push(struct cpu *c, unsigned size, uint64_t v);
uint64_t cpu_pop(struct cpu *c, unsigned size);
/* Stack pointer as the current stack size sees it. */
CPU_INLINE uint64_t cpu_sp(const struct cpu *c)
{
	return c->gpr[R_SP] & cpu_mask(c->stack_size);
}
CPU_INLINE void cpu_sp_set(struct cpu *c, uint64_t v)
{
	if (c->stack_size == 8)
		c->gpr[R_SP] = v;
	else if (c->stack_size == 4)
		c->gpr[R_SP] = (uint32_t)v;
	else
		c->gpr[R_SP] = (c->gpr[R_SP] & ~0xffffULL) | (v & 0xffff);
}

/* ---- flags.c ---------------------------------------------------------- */

uint64_t flags_get(struct cpu *c);
/* Write RFLAGS bits under mask (arithmetic and system bits alike). */
void flags_set(struct cpu *c, uint64_t v, uint64_t mask);
bool flags_cf(struct cpu *c);
bool flags_cond(struct cpu *c, unsigned cc);
bool flags_parity(uint64_t v);

/* How far lazy operands are shifted left: the sign bit lands on bit 63. */
CPU_INLINE unsigned flags_norm_shift(unsigned cc_op)
{
	return 64 - (8u << (cc_op & 3));
}

/* Record a finished ADD/SUB/... (dst the result, src the second operand,
 * both of the operand size); its flags are derived when read. */
CPU_INLINE void flags_lazy(struct cpu *c, unsigned cc_op, uint64_t dst, uint64_t src, uint64_t src2)
{
	unsigned sh = flags_norm_shift(cc_op);
	c->cc_op = cc_op;
	c->cc_dst = dst << sh;
	c->cc_src = src << sh;
	c->cc_src2 = src2;
}

/* Set the six arithmetic flags to exactly bits (others untouched). */
CPU_INLINE void flags_set_arith(struct cpu *c, uint64_t bits)
{
	c->cc_op = CC_EFLAGS;
	c->cc_src = bits & FL_ARITH;
}

/*
 * Condition cc (other than P/NP) from CF, ZF, SF and OF: bit
 * CF | ZF << 1 | SF << 2 | OF << 3 of a 16-bit truth table, so no branch.
 */
#define FLAGS_T_CF 0xaaaau                 /* the index has CF set */
#define FLAGS_T_ZF 0xccccu
#define FLAGS_T_SF 0xf0f0u
#define FLAGS_T_OF 0xff00u
CPU_INLINE bool flags_cond_bits(unsigned cc, bool cf, bool zf, bool sf, bool of)
{
	static const uint16_t table[8] = {
		FLAGS_T_OF,                             /* O */
		FLAGS_T_CF,                             /* B */
		FLAGS_T_ZF,                             /* Z */
		FLAGS_T_CF | FLAGS_T_ZF,                /* BE */
		FLAGS_T_SF,                             /* S */
		0,                                      /* P: not from these four */
		FLAGS_T_SF ^ FLAGS_T_OF,                /* L */
		FLAGS_T_ZF | (FLAGS_T_SF ^ FLAGS_T_OF), /* LE */
	};
	unsigned i = (unsigned)cf | (unsigned)zf << 1 | (unsigned)sf << 2 | (unsigned)of << 3;
	return ((table[cc >> 1] >> i) & 1) ^ (cc & 1);
}

/* The condition after a SUB/CMP of normalised a - b = r. */
CPU_INLINE bool flags_cond_sub(unsigned cc, uint64_t a, uint64_t b, uint64_t r)
{
	return flags_cond_bits(cc, a < b, r == 0, r >> 63, ((a ^ b) & (a ^ r)) >> 63);
}

/* The condition after an ADD of normalised a + b = r. */
CPU_INLINE bool flags_cond_add(unsigned cc, uint64_t a, uint64_t b, uint64_t r)
{
	return flags_cond_bits(cc, r < a, r == 0, r >> 63, ((a ^ r) & (b ^ r)) >> 63);
}

/* The condition after a logic operation with normalised result r. */
CPU_INLINE bool flags_cond_logic(unsigned cc, uint64_t r)
{
	return flags_cond_bits(cc, false, r == 0, r >> 63, false);
}

/* flags_cond with the producers that dominate real code inline. */
CPU_INLINE bool flags_cond_fast(struct cpu *c, unsigned cc)
{
	unsigned kind = c->cc_op >> 2;
	uint64_t res = c->cc_dst;
	if ((cc >> 1) != 5) {
		if (likely(kind == CC_SUB))
			return flags_cond_sub(cc, res + c->cc_src, c->cc_src, res);
		if (kind == CC_LOGIC)
			return flags_cond_logic(cc, res);
		if ((cc >> 1) == 2 && kind != CC_EFLAGS)
			return (res == 0) ^ (cc & 1);
	}
	return flags_cond(c, cc);
}

/* ---- seg.c ------------------------------------------------------------ */

void seg_refresh(struct cpu *c, unsigned s);
void cpu_update_mode(struct cpu *c);
void seg_load_real(struct cpu *c, unsigned s, uint16_t sel);
/* Load a data/stack segment register in protected mode with all checks. */
void seg_load(struct cpu *c, unsigned s, uint16_t sel);
/* Read the 8-byte descriptor for sel from GDT/LDT; false if outside the table. */
bool seg_read_desc(struct cpu *c, uint16_t sel, uint64_t *desc);
void seg_from_desc(struct vcpu_segment *s, uint16_t sel, uint64_t desc);
void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t *desc);
/* Read a 16-byte system descriptor (long mode gates, TSS, LDT). */
bool seg_read_desc16(struct cpu *c, uint16_t sel, uint64_t *lo, uint64_t *hi);
void seg_set_cs(struct cpu *c, const struct vcpu_segment *cs, unsigned cpl);
/* Any segment load in real or v86 mode or protected mode, by the current mode. */
void seg_load_any(struct cpu *c, unsigned s, uint16_t sel);
/* Code segment of a far return or IRET, checked (SDM RET/IRET). */
void seg_return_cs(struct cpu *c, uint16_t sel, struct vcpu_segment *cs, uint64_t *raw);
/* Stack segment of a return to an outer privilege level, checked. */
void seg_return_ss(struct cpu *c, uint16_t sel, unsigned rpl, bool to64,
		   struct vcpu_segment *ss);
/* Null data segments whose DPL is below the new CPL after a return (SDM RET). */
void seg_null_on_return(struct cpu *c);

/* ---- mmu.c ------------------------------------------------------------ */

void mmu_flush(struct cpu *c, bool global);
void mmu_flush_page(struct cpu *c, uint64_t lin);
/* Translate linear to guest-physical for acc; raises #PF. */
uint64_t mmu_translate(struct cpu *c, uint64_t lin, unsigned acc);
/* Supervisor (implicit) accesses: descriptor tables, TSS, IDT. */
uint64_t mmu_read_sys(struct cpu *c, uint64_t lin, unsigned size);
void mmu_write_sys(struct cpu *c, uint64_t lin, unsigned size, uint64_t v);
/* Host pointer for a read-modify-write of size bytes at lin, after all write
 * checks; NULL when the location is not plain RAM within one page. Locked
 * operations go through it even on pages with decoded code, so every vCPU
 * updates a location the same way (host atomics); the caller then calls
 * mmu_rmw_done, which drops that code. */
uint8_t *mmu_rmw_ptr(struct cpu *c, uint64_t lin, unsigned size);
void mmu_rmw_done(struct cpu *c, uint64_t lin, unsigned size);
/* Physical memory: bounds-checked; unmapped reads return all ones. */
uint64_t mmu_phys_read(struct cpu *c, uint64_t gpa, unsigned size);
void mmu_phys_write(struct cpu *c, uint64_t gpa, unsigned size, uint64_t v);
/* Fetch up to len code bytes at lin into buf; returns bytes available in
 * the page (raises #PF only if the first byte is not executable). */
unsigned mmu_fetch(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len, uint64_t *gpa);
void mmu_set_a20(struct cpu *c, bool on);

/* ---- decode.c --------------------------------------------------------- */

/* Decoder modes (which Zydis machine mode decodes the code). */
enum { DM_REAL, DM_PROT16, DM_PROT32, DM_COMPAT16, DM_COMPAT32, DM_LONG64, DM_COUNT };

int decode_create(struct cpu *c);
void decode_destroy(struct cpu *c);
/* The block starting at the current CS:RIP (decoding it if needed). */
const struct block *decode_lookup(struct cpu *c);
/* The jump cache (struct cpu.jmp): a block per hash of the linear address
 * of its first instruction, or decode_no_block, which matches nothing. It
 * only ever holds live blocks and is emptied with the TLB. */
#define JMP_BITS 12
CPU_INLINE unsigned cpu_jmp_hash(uint64_t lin)
{
	return (unsigned)(lin ^ (lin >> JMP_BITS)) & ((1u << JMP_BITS) - 1);
}
extern const struct block decode_no_block;
/* Linear address of CS:RIP (the CS base is 0 in 64-bit mode). */
CPU_INLINE uint64_t cpu_code_lin(const struct cpu *c)
{
	return c->mode64 ? c->rip : (uint32_t)(c->seg[S_CS].base + c->rip);
}
void decode_flush_all(struct cpu *c);
/* Our register number (0-15, REG_HIGH8+n, segment/CR/DR index) for a Zydis
 * register; REG_NONE if it has none. */
uint8_t decode_gpr(int zydis_reg);
void decode_flush_jmp_cache(struct cpu *c);
/* Choose the threaded handler of each of the n ops of a new block (select.c). */
void select_block(struct cpu *c, struct op *ops, unsigned n);
/* Drop this vCPU's blocks on page gpfn. */
void decode_invalidate_page(struct cpu *c, uint64_t gpfn);
/* Some agent wrote guest-physical [gpa, gpa+len): invalidate code everywhere. */
void decode_code_written(struct emu_vm *vm, struct cpu *self, uint64_t gpa, uint64_t len);

struct block {
	uint64_t lin;                   /* CS.base + RIP of the first instruction */
	uint64_t gpa;                   /* guest-physical address of the first byte */
	uint64_t gpa2;                  /* second page of a straddling instruction, or ~0 */
	uint32_t key_mode;
	uint16_t n;                     /* instructions; ops[n] is the end marker */
	bool valid;
	uint32_t heat;                  /* entries counted by the JIT (jit.c) */
	op_exec *exec0;                 /* ops[0]'s threaded handler once the JIT counts */
	struct block *hnext;            /* hash chain by gpa */
	struct block *pnext;            /* chain of blocks on the same page */
	struct op ops[];
};

/* ---- intr.c ----------------------------------------------------------- */

/* Deliver an interrupt or exception now (run loop / fault path). */
void intr_deliver(struct cpu *c, int vec, bool has_err, uint32_t err, bool soft,
		  bool ext, uint64_t next_rip);
bool intr_has_error_code(int vec);
/* IRET in every mode. */
void intr_iret(struct cpu *c, unsigned size, uint64_t next_rip);

/* ---- task.c ----------------------------------------------------------- */

enum task_reason { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
void task_switch(struct cpu *c, uint16_t sel, uint64_t desc, enum task_reason why,
		 bool has_err, uint32_t err, uint64_t next_rip);
/* Check the TSS I/O permission bitmap for port..port+size-1 (#GP if denied). */
void task_check_io(struct cpu *c, uint16_t port, unsigned size);

/* ---- msr.c, tsc.c, cpuid_emu.c ---------------------------------------- */

int msr_read(struct cpu *c, uint32_t idx, uint64_t *v);
int msr_write(struct cpu *c, uint32_t idx, uint64_t v);
void msr_reset(struct cpu *c);
uint64_t tsc_read(struct cpu *c);
void tsc_write(struct cpu *c, uint64_t v);
/* TSC ticks per second (advertised in CPUID 0x15/0x16). */
#define TSC_HZ 1000000000ULL
int64_t tsc_to_ns(struct cpu *c, uint64_t tsc);
void cpuid_emu(struct cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4]);

/* ---- emu.c ------------------------------------------------------------ */

/* CPU-side of machine power-on / INIT (SDM Vol. 3A 9.1.1). */
void emu_cpu_reset(struct cpu *c, bool init_only);
/* Port I/O from an instruction (the device lock is taken by iobus). */
uint64_t emu_port_in(struct cpu *c, uint16_t port, unsigned size);
void emu_port_out(struct cpu *c, uint16_t port, unsigned size, uint64_t v);

/* ---- exec_*.c: handlers referenced by decode.c ------------------------- */
#include "cpu/exec.h"

#endif
