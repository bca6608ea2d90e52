/*
 * exec: instruction handlers of the software CPU, by family. decode.c binds
 * each decoded instruction to one of these (struct op.fn); op.sub selects a
 * variant inside a family (ALU kind, condition code, shift kind...).
 * Included from cpu.h.
 */
#ifndef LODGE_CPU_EXEC_H
#define LODGE_CPU_EXEC_H

/* op.sub for alu_arith: the ModRM.reg order of the 80-83 group. */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* op.sub for shift_op: the ModRM.reg order of the C0/D0 group. */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
/* op.sub for bit_bt. */
enum { BT_BT, BT_BTS, BT_BTR, BT_BTC };
/* op.sub for string ops: element kind. */
enum { LOOP_LOOP, LOOP_LOOPE, LOOP_LOOPNE };

/* exec_alu.c */
op_fn alu_arith, alu_test, alu_test_rr, alu_test_ri, alu_inc, alu_dec, alu_neg, alu_not;
op_fn alu_cmpxchg, alu_xadd, alu_xchg, alu_cmpxchg8b;
/* Register forms by [ALU kind][0: 64-bit, 1: 32-bit, 2: any size]. */
extern op_fn *const alu_rr_fns[8][3];
extern op_fn *const alu_ri_fns[8][3];
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
op_fn mov_mov, mov_mov_rr, mov_mov_ri, mov_load, mov_store, mov_load8, mov_load4;
op_fn mov_store8, mov_store4, mov_movzx, mov_movsx, mov_lea;
op_fn mov_cmov, mov_setcc, mov_bswap, mov_cbw, mov_cwd, mov_xlat, mov_lahf, mov_sahf;
op_fn mov_salc, mov_flagop, mov_nop, mov_sreg_load, mov_sreg_store, mov_lxs, mov_movbe;

/* exec_stack.c */
op_fn stack_push, stack_pop, stack_push_seg, stack_pop_seg, stack_pusha, stack_popa;
op_fn stack_pushf, stack_popf, stack_enter, stack_leave;

/* exec_ctrl.c */
op_fn ctrl_jmp, ctrl_jmp_ind, ctrl_jcc, ctrl_jcxz, ctrl_loop, ctrl_call, ctrl_call_ind;
op_fn ctrl_ret, ctrl_iret, ctrl_int, ctrl_int3, ctrl_into, ctrl_int1, ctrl_bound;

/* exec_far.c */
op_fn far_jmp, far_call, far_ret;

/* exec_shift.c */
op_fn shift_op, shift_shld, shift_shrd, shift_shl_reg, shift_shr_reg, shift_sar_reg;

/* exec_bit.c */
op_fn bit_bt, bit_bsf, bit_bsr, bit_popcnt, bit_lzcnt;

/* exec_muldiv.c */
op_fn muldiv_mul, muldiv_imul1, muldiv_imul, muldiv_div, muldiv_idiv;

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
