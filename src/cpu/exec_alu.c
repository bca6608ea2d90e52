/*
 * exec_alu: integer arithmetic and logic (Intel SDM Vol. 2: ADD, ADC, SUB,
 * SBB, AND, OR, XOR, CMP, TEST, INC, DEC, NEG, NOT, XCHG, XADD, CMPXCHG,
 * CMPXCHG8B/16B) and the read-modify-write helper every LOCK-able
 * instruction uses (Vol. 3A 8.1.2 "Bus Locking": locked operations are
 * atomic with respect to all other processors).
 */
#include "cpu/cpu.h"
#include "machine.h"

uint64_t alu_compute(struct cpu *c, unsigned kind, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t cf = (kind == ALU_ADC || kind == ALU_SBB) ? flags_cf(c) : 0;
	uint64_t r = alu_result(kind, a, b, cf);
	alu_flags(c, kind, size, r, b, cf);
	return r;
}

static bool alu_cas(void *p, unsigned size, uint64_t *old, uint64_t new)
{
	switch (size) {
	case 1: {
		uint8_t o = (uint8_t)*old;
		bool ok = __atomic_compare_exchange_n((uint8_t *)p, &o, (uint8_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 2: {
		uint16_t o = (uint16_t)*old;
		bool ok = __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 4: {
		uint32_t o = (uint32_t)*old;
		bool ok = __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, old, new, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
}

uint64_t alu_rmw(struct cpu *c, uint64_t lin, unsigned size, bool locked, rmw_fn *f,
		 const struct rmw *arg)
{
	uint8_t *p = mmu_rmw_ptr(c, lin, size);
	uint64_t old, m = cpu_mask(size);
	if (p && locked && ((uintptr_t)p & (size - 1)) == 0) {
		old = cpu_load_host(p, size);
		while (!alu_cas(p, size, &old, f(arg, old, size) & m))
			;
		mmu_rmw_done(c, lin, size);
		return old;
	}
	if (p) {
		old = cpu_load_host(p, size);
		uint64_t n = f(arg, old, size);
		if (locked) {
			/* Misaligned locked access on the host: serialise with
			 * the other split-lock users. */
			pthread_mutex_lock(&c->vm->split_lock);
			old = cpu_load_host(p, size);
			n = f(arg, old, size);
			cpu_store_host(p, size, n);
			pthread_mutex_unlock(&c->vm->split_lock);
		} else {
			cpu_store_host(p, size, n);
		}
		mmu_rmw_done(c, lin, size);
		return old;
	}
	/* MMIO or a page-crossing location: both pages were translated for
	 * writing by mmu_rmw_ptr, so nothing below faults. */
	if (locked)
		pthread_mutex_lock(&c->vm->split_lock);
	old = cpu_read_lin(c, lin, size);
	cpu_write_lin(c, lin, size, f(arg, old, size));
	if (locked)
		pthread_mutex_unlock(&c->vm->split_lock);
	return old;
}

static uint64_t alu_rmw_arith(const struct rmw *r, uint64_t old, unsigned size)
{
	return alu_result(r->kind, old, r->src, r->cf);
}

/* Destination operand 0 is memory: linear address checked for writing. */
static inline uint64_t alu_dst_lin(struct cpu *c, const struct op *op, unsigned size)
{
	return cpu_lin(c, op->seg, cpu_ea(c, op), size, ACC_W);
}

int alu_arith(struct cpu *c, const struct op *op)
{
	unsigned size = op->size, kind = op->sub;
	uint64_t b = cpu_opnd_get(c, op, 1, size);
	if (op->k[0] == K_REG) {
		uint64_t r = alu_compute(c, kind, size, cpu_reg_get(c, op->r[0], size), b);
		if (kind != ALU_CMP)
			cpu_reg_set(c, op->r[0], size, r);
		return 0;
	}
	if (kind == ALU_CMP) {
		alu_compute(c, kind, size, cpu_read(c, op->seg, cpu_ea(c, op), size), b);
		return 0;
	}
	uint64_t cf = (kind == ALU_ADC || kind == ALU_SBB) ? flags_cf(c) : 0;
	uint64_t lin = alu_dst_lin(c, op, size);
	if (!(op->flags & OPF_LOCK)) {
		/* Unlocked: a read then a write, both through the TLB fast path.
		 * The write is checked before anything changes (SDM: the
		 * destination is not modified if the access faults). */
		struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
		if (e->tag_w != (lin & ~0xfffULL))
			mmu_translate(c, c->mode64 ? lin : (uint32_t)lin, ACC_W);
		uint64_t old = cpu_read_lin(c, lin, size);
		uint64_t r = alu_result(kind, old, b, cf);
		cpu_write_lin(c, lin, size, r);
		alu_flags(c, kind, size, r, b, cf);
		return 0;
	}
	struct rmw r = { b, cf, 0, kind };
	uint64_t old = alu_rmw(c, lin, size, true, alu_rmw_arith, &r);
	alu_flags(c, kind, size, alu_result(kind, old, b, r.cf), b, r.cf);
	return 0;
}

int alu_test(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t a = cpu_opnd_get(c, op, 0, size), b = cpu_opnd_get(c, op, 1, size);
	flags_lazy(c, CC_OP(CC_LOGIC, size), a & b, 0, 0);
	return 0;
}

static uint64_t alu_rmw_add(const struct rmw *r, uint64_t old, unsigned size)
{
	return old + r->src;
}

/* INC/DEC keep CF (SDM: "The CF flag is not affected"). */
static int alu_incdec(struct cpu *c, const struct op *op, int64_t d, unsigned cc)
{
	unsigned size = op->size;
	uint64_t cf = flags_cf(c), r;
	if (op->k[0] == K_REG) {
		r = cpu_reg_get(c, op->r[0], size) + (uint64_t)d;
		cpu_reg_set(c, op->r[0], size, r);
	} else {
		struct rmw a = { (uint64_t)d, 0, 0, 0 };
		r = alu_rmw(c, alu_dst_lin(c, op, size), size, op->flags & OPF_LOCK, alu_rmw_add,
			    &a) + (uint64_t)d;
	}
	flags_lazy(c, CC_OP(cc, size), r, 1, cf);
	return 0;
}

int alu_inc(struct cpu *c, const struct op *op)
{
	return alu_incdec(c, op, 1, CC_INC);
}

int alu_dec(struct cpu *c, const struct op *op)
{
	return alu_incdec(c, op, -1, CC_DEC);
}

static uint64_t alu_rmw_neg(const struct rmw *r, uint64_t old, unsigned size)
{
	return -old;
}

static uint64_t alu_rmw_not(const struct rmw *r, uint64_t old, unsigned size)
{
	return ~old;
}

int alu_neg(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t old;
	if (op->k[0] == K_REG) {
		old = cpu_reg_get(c, op->r[0], size);
		cpu_reg_set(c, op->r[0], size, -old);
	} else {
		old = alu_rmw(c, alu_dst_lin(c, op, size), size, op->flags & OPF_LOCK, alu_rmw_neg,
			      NULL);
	}
	/* NEG is 0 - src: CF = (src != 0), as SUB computes it. */
	flags_lazy(c, CC_OP(CC_SUB, size), -old, old, 0);
	return 0;
}

int alu_not(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	if (op->k[0] == K_REG)
		cpu_reg_set(c, op->r[0], size, ~cpu_reg_get(c, op->r[0], size));
	else
		alu_rmw(c, alu_dst_lin(c, op, size), size, op->flags & OPF_LOCK, alu_rmw_not, NULL);
	return 0;
}

static uint64_t alu_rmw_xchg(const struct rmw *r, uint64_t old, unsigned size)
{
	return r->src;
}

/* XCHG with memory is always locked (SDM XCHG: "the processor's locking
 * protocol is automatically implemented"). */
int alu_xchg(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	if (op->k[0] == K_REG && op->k[1] == K_REG) {
		uint64_t a = cpu_reg_get(c, op->r[0], size), b = cpu_reg_get(c, op->r[1], size);
		cpu_reg_set(c, op->r[0], size, b);
		cpu_reg_set(c, op->r[1], size, a);
		return 0;
	}
	unsigned reg = op->k[0] == K_REG ? op->r[0] : op->r[1];
	struct rmw a = { cpu_reg_get(c, reg, size), 0, 0, 0 };
	uint64_t old = alu_rmw(c, alu_dst_lin(c, op, size), size, true, alu_rmw_xchg, &a);
	cpu_reg_set(c, reg, size, old);
	return 0;
}

int alu_xadd(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t src = cpu_reg_get(c, op->r[1], size), old;
	if (op->k[0] == K_REG) {
		old = cpu_reg_get(c, op->r[0], size);
		cpu_reg_set(c, op->r[1], size, old);
		cpu_reg_set(c, op->r[0], size, old + src);
	} else {
		struct rmw a = { src, 0, 0, 0 };
		old = alu_rmw(c, alu_dst_lin(c, op, size), size, op->flags & OPF_LOCK, alu_rmw_add,
			      &a);
		cpu_reg_set(c, op->r[1], size, old);
	}
	flags_lazy(c, CC_OP(CC_ADD, size), old + src, src, 0);
	return 0;
}

static uint64_t alu_rmw_cmpxchg(const struct rmw *r, uint64_t old, unsigned size)
{
	return (old & cpu_mask(size)) == r->extra ? r->src : old;
}

int alu_cmpxchg(struct cpu *c, const struct op *op)
{
	unsigned size = op->size;
	uint64_t acc = cpu_reg_get(c, R_AX, size), src = cpu_reg_get(c, op->r[1], size), old;
	if (op->k[0] == K_REG) {
		old = cpu_reg_get(c, op->r[0], size);
		if (old == acc)
			cpu_reg_set(c, op->r[0], size, src);
	} else {
		struct rmw a = { src, 0, acc, 0 };
		old = alu_rmw(c, alu_dst_lin(c, op, size), size, op->flags & OPF_LOCK,
			      alu_rmw_cmpxchg, &a);
	}
	alu_compute(c, ALU_CMP, size, acc, old);
	if (old != acc)
		cpu_reg_set(c, R_AX, size, old);
	return 0;
}

/* CMPXCHG8B / CMPXCHG16B (op->size 8 or 16): compare rDX:rAX with m, store
 * rCX:rBX if equal, else load m into rDX:rAX; ZF reports which. */
int alu_cmpxchg8b(struct cpu *c, const struct op *op)
{
	unsigned half = op->size / 2;
	uint64_t ea = cpu_ea(c, op);
	if (op->size == 16 && (ea & 15))
		cpu_raise(c, EXC_GP, 0);
	uint64_t lin = cpu_lin(c, op->seg, ea, op->size, ACC_W);
	uint64_t m = cpu_mask(half);
	uint64_t cmp_lo = c->gpr[R_AX] & m, cmp_hi = c->gpr[R_DX] & m;
	uint64_t new_lo = c->gpr[R_BX] & m, new_hi = c->gpr[R_CX] & m;
	uint64_t old_lo, old_hi;
	bool eq;
	uint8_t *p = mmu_rmw_ptr(c, lin, op->size);
	if (p && op->size == 8 && ((uintptr_t)p & 7) == 0) {
		uint64_t exp = cmp_lo | cmp_hi << 32, des = new_lo | new_hi << 32;
		eq = __atomic_compare_exchange_n((uint64_t *)p, &exp, des, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
		old_lo = exp & m;
		old_hi = exp >> 32;
	} else if (p && op->size == 16 && ((uintptr_t)p & 15) == 0) {
		unsigned __int128 exp = cmp_lo | (unsigned __int128)cmp_hi << 64;
		unsigned __int128 des = new_lo | (unsigned __int128)new_hi << 64;
		eq = __atomic_compare_exchange_n((unsigned __int128 *)p, &exp, des, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		old_lo = (uint64_t)exp;
		old_hi = (uint64_t)(exp >> 64);
	} else if (p) {
		/* Misaligned: serialised with the other split-lock users. */
		pthread_mutex_lock(&c->vm->split_lock);
		old_lo = cpu_load_host(p, half);
		old_hi = cpu_load_host(p + half, half);
		eq = old_lo == cmp_lo && old_hi == cmp_hi;
		cpu_store_host(p, half, eq ? new_lo : old_lo);
		cpu_store_host(p + half, half, eq ? new_hi : old_hi);
		pthread_mutex_unlock(&c->vm->split_lock);
	} else {
		pthread_mutex_lock(&c->vm->split_lock);
		old_lo = cpu_read_lin(c, lin, half);
		old_hi = cpu_read_lin(c, lin + half, half);
		eq = old_lo == cmp_lo && old_hi == cmp_hi;
		/* The destination is written either way (SDM CMPXCHG8B). */
		cpu_write_lin(c, lin, half, eq ? new_lo : old_lo);
		cpu_write_lin(c, lin + half, half, eq ? new_hi : old_hi);
		pthread_mutex_unlock(&c->vm->split_lock);
	}
	if (p)
		mmu_rmw_done(c, lin, op->size);
	uint64_t f = flags_get(c) & FL_ARITH;
	flags_set_arith(c, eq ? f | FL_ZF : f & ~FL_ZF);
	if (!eq) {
		cpu_reg_set(c, R_AX, half, old_lo);
		cpu_reg_set(c, R_DX, half, old_hi);
	}
	return 0;
}
