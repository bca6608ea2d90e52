/*
 * exec: instruction handlers of the software CPU, by family. decode.c binds
 * each decoded instruction to one of these (struct op.fn); op.sub selects a
 * variant inside a family (ALU kind, condition code, shift kind...).
 * Included from cpu.h.
 */
#ifndef LODGE_CPU_EXEC_H
#define LODGE_CPU_EXEC_H

/* op.sub for alu_arith: the ModRM.reg order of the 80-83 group. */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
       ALU_TEST };                      /* AND without a result: the threaded forms only */
/* op.sub for shift_op: the ModRM.reg order of the C0/D0 group. */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
/* op.sub for bit_bt. */
enum { BT_BT, BT_BTS, BT_BTR, BT_BTC };
/* op.sub for string ops: element kind. */
enum { LOOP_LOOP, LOOP_LOOPE, LOOP_LOOPNE };

/* exec_alu.c */
op_fn alu_arith, alu_test, alu_inc, alu_dec, alu_neg, alu_not;
op_fn alu_cmpxchg, alu_xadd, alu_xchg, alu_cmpxchg8b;

CPU_INLINE uint64_t alu_result(unsigned kind, uint64_t a, uint64_t b, uint64_t cf)
{
	switch (kind) {
	case ALU_ADD: return a + b;
	case ALU_OR: return a | b;
	case ALU_ADC: return a + b + cf;
	case ALU_SBB: return a - b - cf;
	case ALU_AND: case ALU_TEST: return a & b;
	case ALU_XOR: return a ^ b;
	default: return a - b;          /* SUB, CMP */
	}
}

/* Record the flags of ALU kind (or ALU_TEST) with result r, source b. */
CPU_INLINE void alu_flags(struct cpu *c, unsigned kind, unsigned size, uint64_t r,
			  uint64_t b, uint64_t cf)
{
	static const uint8_t cc[9] = {
		[ALU_ADD] = CC_ADD, [ALU_OR] = CC_LOGIC, [ALU_ADC] = CC_ADC, [ALU_SBB] = CC_SBB,
		[ALU_AND] = CC_LOGIC, [ALU_SUB] = CC_SUB, [ALU_XOR] = CC_LOGIC, [ALU_CMP] = CC_SUB,
		[ALU_TEST] = CC_LOGIC,
	};
	flags_lazy(c, CC_OP(cc[kind], size), r, b, cf);
}

/* exec_alu_fast.c: threaded forms of alu_arith and alu_test (ALU_TEST) by
 * [variant][form][ALU kind][0: 64-bit, 1: 32-bit, 2: any size], forms
 * being the operand kinds op0 op1 = reg reg, reg imm, reg mem, mem reg,
 * mem imm; and of INC/DEC r by [0: INC, 1: DEC][variant][size]. */
enum { ALU_F_RR, ALU_F_RI, ALU_F_RM, ALU_F_MR, ALU_F_MI, ALU_FORM_COUNT };
/* Variants of a flag-setting form (select.c decides):
 *   FAST_V_PLAIN   records the flags, goes on with the next op;
 *   FAST_V_NF      its flags are dead (overwritten before anything reads
 *                  them or the block can be left): records nothing;
 *   FAST_V_JCC     fused with the Jcc after it: records the flags and
 *                  branches, deciding from the operands themselves;
 *   FAST_V_JCC_NF  the same, recording the flags only when the branch
 *                  leaves the block (they are dead on the way on). */
enum { FAST_V_PLAIN, FAST_V_NF, FAST_V_JCC, FAST_V_JCC_NF, FAST_V_COUNT };
extern op_exec *const alu_fast[FAST_V_COUNT][ALU_FORM_COUNT][9][3];
extern op_exec *const alu_incdec_fast[2][FAST_V_COUNT][3];
/* SUB and CMP fused with a Jcc by [0: SUB, 1: CMP][0: FAST_V_JCC, 1:
 * FAST_V_JCC_NF][form][the Jcc's cc >> 1][size as above]; NULL for P/NP. */
extern op_exec *const alu_sub_jcc_fast[2][2][ALU_FORM_COUNT][8][3];
/* Shared with other families: ADD/SUB/... with flags, no writeback. */
uint64_t alu_compute(struct cpu *c, unsigned kind, unsigned size, uint64_t a, uint64_t b);

/*
 * Read-modify-write of size bytes at linear lin (segment checks done). f
 * computes the new value from the old one and must be pure: with LOCK it may
 * run several times in a compare-and-swap loop, so flags are set by the
 * caller from the returned old value. Locked accesses are atomic on the host
 * (a VM-wide lock covers split and MMIO locations).
 */
struct rmw {
	uint64_t src, cf, extra;
	unsigned kind;
};
typedef uint64_t rmw_fn(const struct rmw *r, uint64_t old, unsigned size);
uint64_t alu_rmw(struct cpu *c, uint64_t lin, unsigned size, bool locked, rmw_fn *f,
		 const struct rmw *arg);

/* exec_mov.c */
op_fn mov_mov, mov_movzx, mov_movsx, mov_lea;
/* Threaded forms of mov_mov by [form][size: 8, 4, 2, 1 bytes]. */
enum { MOV_F_RR, MOV_F_RI, MOV_F_LOAD, MOV_F_STORE, MOV_F_STOREI, MOV_FORM_COUNT };
extern op_exec *const mov_fast[MOV_FORM_COUNT][4];
op_exec mov_movzx_m1, mov_movzx_m2, mov_movsx_m, mov_movzx_r, mov_movsx_r, mov_lea8, mov_lea4, mov_cmov_rr;
op_fn mov_cmov, mov_setcc, mov_bswap, mov_cbw, mov_cwd, mov_xlat, mov_lahf, mov_sahf;
op_fn mov_salc, mov_flagop, mov_nop, mov_sreg_load, mov_sreg_store, mov_lxs, mov_movbe;

/* exec_stack.c */
op_fn stack_push, stack_pop, stack_push_seg, stack_pop_seg, stack_pusha, stack_popa;
op_fn stack_pushf, stack_popf, stack_enter, stack_leave;
op_exec stack_push_r, stack_pop_r;

/* exec_ctrl.c */
op_fn ctrl_jmp, ctrl_jmp_ind, ctrl_jcc, ctrl_jcxz, ctrl_loop, ctrl_call, ctrl_call_ind;
op_fn ctrl_ret, ctrl_iret, ctrl_int, ctrl_int3, ctrl_into, ctrl_int1, ctrl_bound;
/* Threaded forms; relative ones take their target from op->disp (fast.h). */
extern op_exec *const ctrl_jcc_fast[16];
op_exec ctrl_jmp_rel, ctrl_call_rel, ctrl_ret_near;

/* exec_far.c */
op_fn far_jmp, far_call, far_ret;

/* exec_shift.c */
op_fn shift_op, shift_shld, shift_shrd;
/* Threaded forms of SHL/SHR/SAR r by [0: flags recorded, 1: flags dead]
 * [0: SHL, 1: SHR, 2: SAR][0: 64-bit, 1: 32-bit, 2: any size]. */
extern op_exec *const shift_fast[2][3][3];

/* exec_bit.c */
op_fn bit_bt, bit_bsf, bit_bsr, bit_popcnt, bit_lzcnt;

/* exec_muldiv.c */
op_fn muldiv_mul, muldiv_imul1, muldiv_imul, muldiv_div, muldiv_idiv;
/* Threaded forms of IMUL r, r/m (, imm) and of one-operand MUL r/m by
 * [0: flags recorded, 1: flags dead][0: r/m a register, 1: memory]. */
extern op_exec *const muldiv_imul_fast[2][2], *const muldiv_mul_fast[2][2];

/* exec_bcd.c */
op_fn bcd_aaa, bcd_aas, bcd_daa, bcd_das, bcd_aam, bcd_aad;

/* exec_string.c */
op_fn str_movs, str_cmps, str_stos, str_lods, str_scas, str_ins, str_outs;

/* exec_io.c */
op_fn io_in, io_out;
/* IOPL / I/O bitmap check (SDM Vol. 1 19.5); #GP if denied. */
void io_check(struct cpu *c, uint16_t port, unsigned size);

/* exec_sys.c */
op_fn sys_hlt, sys_cli, sys_sti, sys_cpuid, sys_rdtsc, sys_rdtscp, sys_rdmsr, sys_wrmsr;
op_fn sys_mov_cr, sys_mov_dr, sys_clts, sys_lmsw, sys_smsw, sys_lgdt, sys_sgdt;
op_fn sys_lldt, sys_sldt, sys_ltr, sys_str, sys_lar, sys_lsl, sys_verr, sys_arpl;
op_fn sys_invlpg, sys_wbinvd, sys_ud, sys_gp0, sys_clflush, sys_simd;
op_fn sys_syscall, sys_sysret, sys_sysenter, sys_sysexit, sys_swapgs;
/* Write a control register with the checks of MOV CR (SDM Vol. 2 MOV). */
void sys_write_cr(struct cpu *c, unsigned n, uint64_t v);

#endif
