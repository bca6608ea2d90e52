/*
 * decode: x86 instruction bytes -> struct op records, and the per-vCPU cache
 * of decoded blocks.
 *
 * Zydis 4 decodes each instruction once; decode_map() digests it into a
 * compact struct op (handler + operands), so the hot path never sees Zydis.
 * A block is a run of instructions from one guest-physical page, ending at
 * a control transfer, an instruction that changes how later ones decode or
 * whether interrupts may be taken (MOV SS, STI, POPF, MOV CR0...), the end
 * of the page or a length cap. An instruction that straddles two pages is a
 * block of its own, registered on both pages.
 *
 * Blocks are found through a direct-mapped "jump cache" keyed by linear
 * address (flushed with the TLB, since the linear->physical mapping may have
 * changed) and a hash keyed by (physical address, linear address, mode).
 * Each page with decoded code is marked in the VM-wide code_pages map; a
 * write to such a page (by any vCPU or by device DMA) drops the page's blocks
 * in every vCPU: the writer's own blocks at once (after the writing
 * instruction completes), other vCPUs' at their next block boundary.
 *
 * Threads: everything here runs on the owning vCPU thread, except
 * decode_code_written(), which any thread may call (it only posts requests).
 */
#include <errno.h>
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include "cpu/cpu.h"
#include "cpu/fast.h"
#include "cpu/jit.h"
#include "cpu/simd.h"
#include "cpu/vcpu.h"
#include "log.h"
#include "machine.h"

#define BLOCK_MAX_OPS 64
#define HASH_BITS 14
#define PAGE_BITS 12
#define INVAL_RING 64
#define MAX_BLOCKS 200000


struct block_ref {
	struct block *b;
	uint64_t gpfn;
	struct block_ref *next, **pprev;
};

struct block_ext {
	struct block_ref ref[2];
	unsigned nref;
	struct block **hpprev;
	struct block *dnext;            /* on the dead list */
	void *simd_mem;                 /* Zydis copies for SIMD ops */
};

struct cpu_code {
	ZydisDecoder dec[DM_COUNT];
	struct block *hash[1u << HASH_BITS];
	struct block *jmp[1u << JMP_BITS];
	struct block_ref *pages[1u << PAGE_BITS];
	struct block *dead;
	unsigned nblocks;
	/* Invalidation requests from other threads. */
	pthread_mutex_t lock;
	uint64_t ring[INVAL_RING];
	unsigned nring;
	bool overflow;
};

/* Matches no linear address in any mode: fills empty jump cache slots so
 * a probe needs no NULL check. */
const struct block decode_no_block = { .lin = ~0ULL, .key_mode = ~0u };

static void decode_clear_jmp(struct cpu_code *k)
{
	for (unsigned i = 0; i < (1u << JMP_BITS); i++)
		k->jmp[i] = (struct block *)&decode_no_block;
}

/* The extension lives right after the ops array (and its end marker). */
static struct block_ext *block_ext(const struct block *b)
{
	return (struct block_ext *)(void *)&b->ops[b->n + 1];
}

struct simd_copy {
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

int decode_create(struct cpu *c)
{
	struct cpu_code *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	static const struct {
		ZydisMachineMode mode;
		ZydisStackWidth sw;
	} modes[DM_COUNT] = {
		[DM_REAL] = { ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16 },
		[DM_PROT16] = { ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16 },
		[DM_PROT32] = { ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32 },
		[DM_COMPAT16] = { ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_STACK_WIDTH_16 },
		[DM_COMPAT32] = { ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32 },
		[DM_LONG64] = { ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64 },
	};
	for (unsigned i = 0; i < DM_COUNT; i++)
		if (ZYAN_FAILED(ZydisDecoderInit(&k->dec[i], modes[i].mode, modes[i].sw))) {
			free(k);
			return -EINVAL;
		}
	pthread_mutex_init(&k->lock, NULL);
	decode_clear_jmp(k);
	c->code = k;
	c->jmp = (const struct block *const *)k->jmp;
	return 0;
}

static void block_free(struct block *b)
{
	free(block_ext(b)->simd_mem);
	free(b);
}

static void decode_free_dead(struct cpu_code *k)
{
	while (k->dead) {
		struct block *b = k->dead;
		k->dead = block_ext(b)->dnext;
		block_free(b);
	}
}

/* Unlink b from every index and queue it for freeing at a safe point. */
static void decode_kill(struct cpu *c, struct block *b)
{
	struct cpu_code *k = c->code;
	struct block_ext *x = block_ext(b);
	if (!b->valid)
		return;
	b->valid = false;
	*x->hpprev = b->hnext;
	if (b->hnext)
		block_ext(b->hnext)->hpprev = x->hpprev;
	for (unsigned i = 0; i < x->nref; i++) {
		struct block_ref *r = &x->ref[i];
		*r->pprev = r->next;
		if (r->next)
			r->next->pprev = r->pprev;
	}
	struct block **jp = &k->jmp[cpu_jmp_hash(b->lin)];
	if (*jp == b)
		*jp = (struct block *)&decode_no_block;
	x->dnext = k->dead;
	k->dead = b;
	k->nblocks--;
	if (c->cur_block == b)
		c->brk = true;
}

void decode_flush_all(struct cpu *c)
{
	struct cpu_code *k = c->code;
	for (unsigned i = 0; i < (1u << HASH_BITS); i++)
		while (k->hash[i])
			decode_kill(c, k->hash[i]);
	decode_clear_jmp(k);
}

void decode_flush_jmp_cache(struct cpu *c)
{
	if (c->code)
		decode_clear_jmp(c->code);
}

void decode_destroy(struct cpu *c)
{
	struct cpu_code *k = c->code;
	if (!k)
		return;
	c->cur_block = NULL;
	decode_flush_all(c);
	decode_free_dead(k);
	pthread_mutex_destroy(&k->lock);
	free(k);
	c->code = NULL;
}

void decode_invalidate_page(struct cpu *c, uint64_t gpfn)
{
	struct cpu_code *k = c->code;
	struct block_ref *r = k->pages[gpfn & ((1u << PAGE_BITS) - 1)];
	while (r) {
		struct block_ref *next = r->next;
		if (r->gpfn == gpfn) {
			decode_kill(c, r->b);
			/* decode_kill unlinked r; restart: next may have been unlinked too */
			r = k->pages[gpfn & ((1u << PAGE_BITS) - 1)];
			continue;
		}
		r = next;
	}
}

/* Any thread: [gpa, gpa+len) changed. self (may be NULL) drops its own blocks
 * now; every other vCPU gets a request it handles at its next boundary. */
void decode_code_written(struct emu_vm *vm, struct cpu *self, uint64_t gpa, uint64_t len)
{
	struct machine *m = vm->m;
	if (!len)
		return;
	for (uint64_t pfn = gpa >> 12; pfn <= (gpa + len - 1) >> 12; pfn++) {
		if (pfn >= vm->code_pages_n ||
		    !atomic_exchange_explicit(&vm->code_pages[pfn], 0, memory_order_acq_rel))
			continue;
		for (unsigned i = 0; i < m->ncpus; i++) {
			struct vcpu *v = m->vcpus[i];
			struct cpu *o = v ? v->accel : NULL;
			if (!o || !o->code)
				continue;
			if (o == self) {
				decode_invalidate_page(o, pfn);
				continue;
			}
			struct cpu_code *k = o->code;
			pthread_mutex_lock(&k->lock);
			if (k->nring < INVAL_RING)
				k->ring[k->nring++] = pfn;
			else
				k->overflow = true;
			pthread_mutex_unlock(&k->lock);
			atomic_store(&o->flush_code, true);
		}
	}
}

/* vCPU thread, at a block boundary: act on requests and free dead blocks. */
static void decode_service(struct cpu *c)
{
	struct cpu_code *k = c->code;
	if (atomic_exchange(&c->flush_code, false)) {
		uint64_t pages[INVAL_RING];
		pthread_mutex_lock(&k->lock);
		unsigned n = k->nring;
		bool all = k->overflow;
		memcpy(pages, k->ring, n * sizeof(pages[0]));
		k->nring = 0;
		k->overflow = false;
		pthread_mutex_unlock(&k->lock);
		if (all)
			decode_flush_all(c);
		else
			for (unsigned i = 0; i < n; i++)
				decode_invalidate_page(c, pages[i]);
	}
	if (k->nblocks > MAX_BLOCKS)
		decode_flush_all(c);
	if (jit_wants_reset(c)) {
		/* No host code runs here (the run loop is between blocks). */
		decode_flush_all(c);
		decode_free_dead(k);
		jit_reset(c);
	}
	decode_free_dead(k);
}

/* ---- Zydis -> struct op ------------------------------------------------ */

uint8_t decode_gpr(int zreg)
{
	ZydisRegister r = (ZydisRegister)zreg;
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8: {
		unsigned id = r - ZYDIS_REGISTER_AL;
		if (id < 4)
			return (uint8_t)id;
		if (id < 8)
			return (uint8_t)(REG_HIGH8 + id - 4);
		return (uint8_t)(id - 4);
	}
	case ZYDIS_REGCLASS_GPR16: return (uint8_t)(r - ZYDIS_REGISTER_AX);
	case ZYDIS_REGCLASS_GPR32: return (uint8_t)(r - ZYDIS_REGISTER_EAX);
	case ZYDIS_REGCLASS_GPR64: return (uint8_t)(r - ZYDIS_REGISTER_RAX);
	case ZYDIS_REGCLASS_SEGMENT: return (uint8_t)(r - ZYDIS_REGISTER_ES);
	case ZYDIS_REGCLASS_CONTROL: return (uint8_t)(r - ZYDIS_REGISTER_CR0);
	case ZYDIS_REGCLASS_DEBUG: return (uint8_t)(r - ZYDIS_REGISTER_DR0);
	case ZYDIS_REGCLASS_IP: return REG_RIP;
	default: return REG_NONE;
	}
}

static void decode_mem(struct op *op, const ZydisDecodedOperand *o)
{
	op->seg = o->mem.segment == ZYDIS_REGISTER_NONE ? S_DS
						       : (uint8_t)(o->mem.segment - ZYDIS_REGISTER_ES);
	op->base = o->mem.base == ZYDIS_REGISTER_NONE ? REG_NONE : decode_gpr(o->mem.base);
	op->index = o->mem.index == ZYDIS_REGISTER_NONE ? REG_NONE : decode_gpr(o->mem.index);
	op->scale = o->mem.scale == 8 ? 3 : o->mem.scale == 4 ? 2 : o->mem.scale == 2 ? 1 : 0;
	op->disp = o->mem.disp.has_displacement ? o->mem.disp.value : 0;
}

/* Visible operands in order into k[]/r[]/imm; memory into the op's EA fields. */
static void decode_operands(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *zo,
			    struct op *op)
{
	unsigned n = 0;
	bool have_imm = false;
	op->base = op->index = REG_NONE;
	op->seg = S_DS;
	for (unsigned i = 0; i < in->operand_count && n < 3; i++) {
		const ZydisDecodedOperand *o = &zo[i];
		if (o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			continue;
		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			op->k[n] = K_REG;
			op->r[n] = decode_gpr(o->reg.value);
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			op->k[n] = K_MEM;
			decode_mem(op, o);
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			op->k[n] = K_IMM;
			if (!have_imm) {
				op->imm = o->imm.value.u;
				have_imm = true;
			} else {
				op->imm2 = (uint16_t)o->imm.value.u;
			}
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			op->k[n] = K_IMM;
			op->imm = o->ptr.offset;
			op->imm2 = o->ptr.segment;
			break;
		default:
			continue;
		}
		n++;
	}
}

static bool decode_is_reg(const ZydisDecodedOperand *o, ZydisRegisterClass cls)
{
	return o->type == ZYDIS_OPERAND_TYPE_REGISTER && ZydisRegisterGetClass(o->reg.value) == cls;
}

/* Source segment of a string instruction (the operand addressed by rSI). */
static uint8_t decode_str_seg(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *zo)
{
	for (unsigned i = 0; i < in->operand_count; i++) {
		const ZydisDecodedOperand *o = &zo[i];
		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (o->mem.base == ZYDIS_REGISTER_SI || o->mem.base == ZYDIS_REGISTER_ESI ||
		    o->mem.base == ZYDIS_REGISTER_RSI)
			return (uint8_t)(o->mem.segment - ZYDIS_REGISTER_ES);
	}
	return S_DS;
}

/*
 * Bind one decoded instruction to a handler. Returns true if the block must
 * end after it.
 */
static bool decode_map(struct cpu *c, const ZydisDecodedInstruction *in,
		       const ZydisDecodedOperand *zo, struct op *op, struct block_ext *tmp_simd,
		       void **simd_out)
{
	bool end = false;
	bool far = in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
	op->size = (uint8_t)(in->operand_width / 8);
	op->asize = (uint8_t)(in->address_width / 8);
	if (in->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		op->flags |= OPF_LOCK;
	if (in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		op->flags |= OPF_REP;
	if (in->attributes & ZYDIS_ATTRIB_HAS_REPNE)
		op->flags |= OPF_REPNE;
	decode_operands(in, zo, op);
	(void)tmp_simd;

	if (simd_handles(in)) {
		struct simd_copy *s = malloc(sizeof(*s));
		if (!s) {
			op->fn = sys_ud;
			return true;
		}
		s->insn = *in;
		memcpy(s->ops, zo, sizeof(s->ops));
		op->zinsn = s;
		*simd_out = s;
		op->fn = sys_simd;
		return false;
	}

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_ADD: op->sub = ALU_ADD; goto arith;
	case ZYDIS_MNEMONIC_OR: op->sub = ALU_OR; goto arith;
	case ZYDIS_MNEMONIC_ADC: op->sub = ALU_ADC; goto arith;
	case ZYDIS_MNEMONIC_SBB: op->sub = ALU_SBB; goto arith;
	case ZYDIS_MNEMONIC_AND: op->sub = ALU_AND; goto arith;
	case ZYDIS_MNEMONIC_SUB: op->sub = ALU_SUB; goto arith;
	case ZYDIS_MNEMONIC_XOR: op->sub = ALU_XOR; goto arith;
	case ZYDIS_MNEMONIC_CMP: op->sub = ALU_CMP;
	arith:
		op->fn = alu_arith;
		break;
	case ZYDIS_MNEMONIC_TEST: op->fn = alu_test; break;
	case ZYDIS_MNEMONIC_INC: op->fn = alu_inc; break;
	case ZYDIS_MNEMONIC_DEC: op->fn = alu_dec; break;
	case ZYDIS_MNEMONIC_NEG: op->fn = alu_neg; break;
	case ZYDIS_MNEMONIC_NOT: op->fn = alu_not; break;
	case ZYDIS_MNEMONIC_CMPXCHG: op->fn = alu_cmpxchg; break;
	case ZYDIS_MNEMONIC_XADD: op->fn = alu_xadd; break;
	case ZYDIS_MNEMONIC_XCHG: op->fn = alu_xchg; break;
	case ZYDIS_MNEMONIC_CMPXCHG8B: op->fn = alu_cmpxchg8b; op->size = 8; break;
	case ZYDIS_MNEMONIC_CMPXCHG16B: op->fn = alu_cmpxchg8b; op->size = 16; break;

	case ZYDIS_MNEMONIC_MOV:
		if (decode_is_reg(&zo[0], ZYDIS_REGCLASS_CONTROL) ||
		    decode_is_reg(&zo[1], ZYDIS_REGCLASS_CONTROL)) {
			op->fn = sys_mov_cr;
			op->sub = decode_is_reg(&zo[0], ZYDIS_REGCLASS_CONTROL);
			end = true;
		} else if (decode_is_reg(&zo[0], ZYDIS_REGCLASS_DEBUG) ||
			   decode_is_reg(&zo[1], ZYDIS_REGCLASS_DEBUG)) {
			op->fn = sys_mov_dr;
			op->sub = decode_is_reg(&zo[0], ZYDIS_REGCLASS_DEBUG);
		} else if (decode_is_reg(&zo[0], ZYDIS_REGCLASS_SEGMENT)) {
			if (op->r[0] == S_CS) {
				op->fn = sys_ud;
			} else {
				op->fn = mov_sreg_load;
				op->size2 = (uint8_t)(zo[1].size / 8);
				end = op->r[0] == S_SS;
			}
		} else if (decode_is_reg(&zo[1], ZYDIS_REGCLASS_SEGMENT)) {
			op->fn = mov_sreg_store;
		} else {
			op->fn = mov_mov;
		}
		break;
	case ZYDIS_MNEMONIC_MOVZX: op->fn = mov_movzx; op->size2 = (uint8_t)(zo[1].size / 8); break;
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD: op->fn = mov_movsx; op->size2 = (uint8_t)(zo[1].size / 8); break;
	case ZYDIS_MNEMONIC_LEA: op->fn = mov_lea; break;
	case ZYDIS_MNEMONIC_BSWAP: op->fn = mov_bswap; break;
	case ZYDIS_MNEMONIC_CBW: case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE:
		op->fn = mov_cbw;
		break;
	case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO:
		op->fn = mov_cwd;
		break;
	case ZYDIS_MNEMONIC_XLAT: op->fn = mov_xlat; op->seg = decode_str_seg(in, zo);
		for (unsigned i = 0; i < in->operand_count; i++)
			if (zo[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
				op->seg = (uint8_t)(zo[i].mem.segment - ZYDIS_REGISTER_ES);
		break;
	case ZYDIS_MNEMONIC_LAHF: op->fn = mov_lahf; break;
	case ZYDIS_MNEMONIC_SAHF: op->fn = mov_sahf; break;
	case ZYDIS_MNEMONIC_SALC: op->fn = mov_salc; break;
	case ZYDIS_MNEMONIC_CLC: op->fn = mov_flagop; op->sub = 0; break;
	case ZYDIS_MNEMONIC_STC: op->fn = mov_flagop; op->sub = 1; break;
	case ZYDIS_MNEMONIC_CMC: op->fn = mov_flagop; op->sub = 2; break;
	case ZYDIS_MNEMONIC_CLD: op->fn = mov_flagop; op->sub = 3; break;
	case ZYDIS_MNEMONIC_STD: op->fn = mov_flagop; op->sub = 4; break;
	case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_PAUSE: case ZYDIS_MNEMONIC_LFENCE:
	case ZYDIS_MNEMONIC_MFENCE: case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_PREFETCH:
	case ZYDIS_MNEMONIC_PREFETCHW: case ZYDIS_MNEMONIC_ENDBR32: case ZYDIS_MNEMONIC_ENDBR64:
		op->fn = mov_nop;
		op->sub = in->mnemonic == ZYDIS_MNEMONIC_MFENCE;
		break;
	case ZYDIS_MNEMONIC_LDS: op->fn = mov_lxs; op->sub = S_DS; break;
	case ZYDIS_MNEMONIC_LES: op->fn = mov_lxs; op->sub = S_ES; break;
	case ZYDIS_MNEMONIC_LFS: op->fn = mov_lxs; op->sub = S_FS; break;
	case ZYDIS_MNEMONIC_LGS: op->fn = mov_lxs; op->sub = S_GS; break;
	case ZYDIS_MNEMONIC_LSS: op->fn = mov_lxs; op->sub = S_SS; break;
	case ZYDIS_MNEMONIC_CMOVO: case ZYDIS_MNEMONIC_CMOVNO: case ZYDIS_MNEMONIC_CMOVB:
	case ZYDIS_MNEMONIC_CMOVNB: case ZYDIS_MNEMONIC_CMOVZ: case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVBE: case ZYDIS_MNEMONIC_CMOVNBE: case ZYDIS_MNEMONIC_CMOVS:
	case ZYDIS_MNEMONIC_CMOVNS: case ZYDIS_MNEMONIC_CMOVP: case ZYDIS_MNEMONIC_CMOVNP:
	case ZYDIS_MNEMONIC_CMOVL: case ZYDIS_MNEMONIC_CMOVNL: case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNLE:
		op->fn = mov_cmov;
		op->sub = in->opcode & 0xf;
		break;
	case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_SETB:
	case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_SETZ: case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_SETS:
	case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_SETNP:
	case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNLE:
		op->fn = mov_setcc;
		op->sub = in->opcode & 0xf;
		op->size = 1;
		break;

	case ZYDIS_MNEMONIC_PUSH:
		if (decode_is_reg(&zo[0], ZYDIS_REGCLASS_SEGMENT))
			op->fn = stack_push_seg;
		else
			op->fn = stack_push;
		break;
	case ZYDIS_MNEMONIC_POP:
		if (decode_is_reg(&zo[0], ZYDIS_REGCLASS_SEGMENT)) {
			op->fn = stack_pop_seg;
			end = op->r[0] == S_SS;
		} else {
			op->fn = stack_pop;
		}
		break;
	case ZYDIS_MNEMONIC_PUSHA: case ZYDIS_MNEMONIC_PUSHAD: op->fn = stack_pusha; break;
	case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD: op->fn = stack_popa; break;
	case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFD: case ZYDIS_MNEMONIC_PUSHFQ:
		op->fn = stack_pushf;
		break;
	case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPFQ:
		op->fn = stack_popf;
		end = true;
		break;
	case ZYDIS_MNEMONIC_ENTER: op->fn = stack_enter; break;
	case ZYDIS_MNEMONIC_LEAVE: op->fn = stack_leave; break;

	case ZYDIS_MNEMONIC_JMP:
		op->fn = far ? far_jmp : op->k[0] == K_IMM ? ctrl_jmp : ctrl_jmp_ind;
		end = true;
		break;
	case ZYDIS_MNEMONIC_CALL:
		op->fn = far ? far_call : op->k[0] == K_IMM ? ctrl_call : ctrl_call_ind;
		end = true;
		break;
	case ZYDIS_MNEMONIC_RET:
		op->fn = far ? far_ret : ctrl_ret;
		if (op->k[0] != K_IMM)
			op->imm = 0;
		end = true;
		break;
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB:
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNLE:
		/* Decoding goes on after a conditional branch: a taken one
		 * leaves the block, so a block is a trace through the not-taken
		 * way. In icount mode blocks end at every branch as they always
		 * did, so guest time advances at the same points. */
		op->fn = ctrl_jcc;
		op->sub = in->opcode & 0xf;
		end = c->icount_mode;
		break;
	case ZYDIS_MNEMONIC_JCXZ: case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_JRCXZ:
		op->fn = ctrl_jcxz;
		end = true;
		break;
	case ZYDIS_MNEMONIC_LOOP: op->fn = ctrl_loop; op->sub = LOOP_LOOP; end = true; break;
	case ZYDIS_MNEMONIC_LOOPE: op->fn = ctrl_loop; op->sub = LOOP_LOOPE; end = true; break;
	case ZYDIS_MNEMONIC_LOOPNE: op->fn = ctrl_loop; op->sub = LOOP_LOOPNE; end = true; break;
	case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRETQ:
		op->fn = ctrl_iret;
		end = true;
		break;
	case ZYDIS_MNEMONIC_INT: op->fn = ctrl_int; end = true; break;
	case ZYDIS_MNEMONIC_INT3: op->fn = ctrl_int3; end = true; break;
	case ZYDIS_MNEMONIC_INTO: op->fn = ctrl_into; end = true; break;
	case ZYDIS_MNEMONIC_INT1: op->fn = ctrl_int1; end = true; break;
	case ZYDIS_MNEMONIC_BOUND: op->fn = ctrl_bound; break;

	case ZYDIS_MNEMONIC_ROL: op->fn = shift_op; op->sub = SH_ROL; break;
	case ZYDIS_MNEMONIC_ROR: op->fn = shift_op; op->sub = SH_ROR; break;
	case ZYDIS_MNEMONIC_RCL: op->fn = shift_op; op->sub = SH_RCL; break;
	case ZYDIS_MNEMONIC_RCR: op->fn = shift_op; op->sub = SH_RCR; break;
	case ZYDIS_MNEMONIC_SHL: op->fn = shift_op; op->sub = SH_SHL; break;
	case ZYDIS_MNEMONIC_SHR: op->fn = shift_op; op->sub = SH_SHR; break;
	case ZYDIS_MNEMONIC_SAR: op->fn = shift_op; op->sub = SH_SAR; break;
	case ZYDIS_MNEMONIC_SHLD: op->fn = shift_shld; break;
	case ZYDIS_MNEMONIC_SHRD: op->fn = shift_shrd; break;

	case ZYDIS_MNEMONIC_BT: op->fn = bit_bt; op->sub = BT_BT; break;
	case ZYDIS_MNEMONIC_BTS: op->fn = bit_bt; op->sub = BT_BTS; break;
	case ZYDIS_MNEMONIC_BTR: op->fn = bit_bt; op->sub = BT_BTR; break;
	case ZYDIS_MNEMONIC_BTC: op->fn = bit_bt; op->sub = BT_BTC; break;
	case ZYDIS_MNEMONIC_BSF: op->fn = bit_bsf; break;
	case ZYDIS_MNEMONIC_BSR: op->fn = bit_bsr; break;
	case ZYDIS_MNEMONIC_POPCNT: op->fn = bit_popcnt; break;
	case ZYDIS_MNEMONIC_LZCNT: op->fn = bit_lzcnt; break;
	/* F3 0F BC is TZCNT only with BMI1, which this CPU does not offer;
	 * without it the prefix is ignored and the instruction is BSF. */
	case ZYDIS_MNEMONIC_TZCNT: op->fn = bit_bsf; break;

	case ZYDIS_MNEMONIC_MUL: op->fn = muldiv_mul; break;
	case ZYDIS_MNEMONIC_IMUL:
		op->fn = in->operand_count_visible == 1 ? muldiv_imul1 : muldiv_imul;
		break;
	case ZYDIS_MNEMONIC_DIV: op->fn = muldiv_div; break;
	case ZYDIS_MNEMONIC_IDIV: op->fn = muldiv_idiv; break;
	case ZYDIS_MNEMONIC_AAA: op->fn = bcd_aaa; break;
	case ZYDIS_MNEMONIC_AAS: op->fn = bcd_aas; break;
	case ZYDIS_MNEMONIC_DAA: op->fn = bcd_daa; break;
	case ZYDIS_MNEMONIC_DAS: op->fn = bcd_das; break;
	case ZYDIS_MNEMONIC_AAM: op->fn = bcd_aam; break;
	case ZYDIS_MNEMONIC_AAD: op->fn = bcd_aad; break;

	case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVSQ:
		op->fn = str_movs;
		goto string;
	case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD:
	case ZYDIS_MNEMONIC_CMPSQ:
		op->fn = str_cmps;
		goto string;
	case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ:
		op->fn = str_stos;
		goto string;
	case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
	case ZYDIS_MNEMONIC_LODSQ:
		op->fn = str_lods;
		goto string;
	case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD:
	case ZYDIS_MNEMONIC_SCASQ:
		op->fn = str_scas;
		goto string;
	case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
		op->fn = str_ins;
		goto string;
	case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
		op->fn = str_outs;
	string:
		op->seg = decode_str_seg(in, zo);
		break;
	case ZYDIS_MNEMONIC_IN: op->fn = io_in; break;
	case ZYDIS_MNEMONIC_OUT: op->fn = io_out; break;

	case ZYDIS_MNEMONIC_HLT: op->fn = sys_hlt; end = true; break;
	case ZYDIS_MNEMONIC_CLI: op->fn = sys_cli; break;
	case ZYDIS_MNEMONIC_STI: op->fn = sys_sti; end = true; break;
	case ZYDIS_MNEMONIC_CPUID: op->fn = sys_cpuid; break;
	case ZYDIS_MNEMONIC_RDTSC: op->fn = sys_rdtsc; break;
	case ZYDIS_MNEMONIC_RDTSCP: op->fn = sys_rdtscp; break;
	case ZYDIS_MNEMONIC_RDMSR: op->fn = sys_rdmsr; break;
	case ZYDIS_MNEMONIC_WRMSR: op->fn = sys_wrmsr; end = true; break;
	case ZYDIS_MNEMONIC_CLTS: op->fn = sys_clts; break;
	case ZYDIS_MNEMONIC_LMSW: op->fn = sys_lmsw; end = true; break;
	case ZYDIS_MNEMONIC_SMSW: op->fn = sys_smsw; break;
	case ZYDIS_MNEMONIC_LGDT: op->fn = sys_lgdt; op->sub = 0; break;
	case ZYDIS_MNEMONIC_LIDT: op->fn = sys_lgdt; op->sub = 1; break;
	case ZYDIS_MNEMONIC_SGDT: op->fn = sys_sgdt; op->sub = 0; break;
	case ZYDIS_MNEMONIC_SIDT: op->fn = sys_sgdt; op->sub = 1; break;
	case ZYDIS_MNEMONIC_LLDT: op->fn = sys_lldt; break;
	case ZYDIS_MNEMONIC_SLDT: op->fn = sys_sldt; break;
	case ZYDIS_MNEMONIC_LTR: op->fn = sys_ltr; break;
	case ZYDIS_MNEMONIC_STR: op->fn = sys_str; break;
	case ZYDIS_MNEMONIC_LAR: op->fn = sys_lar; op->size2 = (uint8_t)(zo[1].size / 8); break;
	case ZYDIS_MNEMONIC_LSL: op->fn = sys_lsl; op->size2 = (uint8_t)(zo[1].size / 8); break;
	case ZYDIS_MNEMONIC_VERR: op->fn = sys_verr; op->sub = 0; break;
	case ZYDIS_MNEMONIC_VERW: op->fn = sys_verr; op->sub = 1; break;
	case ZYDIS_MNEMONIC_ARPL: op->fn = sys_arpl; break;
	case ZYDIS_MNEMONIC_INVLPG: op->fn = sys_invlpg; end = true; break;
	case ZYDIS_MNEMONIC_INVD: case ZYDIS_MNEMONIC_WBINVD: op->fn = sys_wbinvd; break;
	case ZYDIS_MNEMONIC_CLFLUSH: op->fn = sys_clflush; break;
	case ZYDIS_MNEMONIC_SYSCALL: op->fn = sys_syscall; end = true; break;
	case ZYDIS_MNEMONIC_SYSRET: op->fn = sys_sysret; end = true; break;
	case ZYDIS_MNEMONIC_SYSENTER: op->fn = sys_sysenter; end = true; break;
	case ZYDIS_MNEMONIC_SYSEXIT: op->fn = sys_sysexit; end = true; break;
	case ZYDIS_MNEMONIC_SWAPGS: op->fn = sys_swapgs; break;
	default:
		op->fn = sys_ud;
		end = true;
		break;
	}
	return end;
}

/* An op that raises vec when executed (undecodable bytes, too long...). */
static void decode_fault_op(struct op *op, op_fn *fn)
{
	memset(op, 0, sizeof(*op));
	op->fn = fn;
	op->len = 1;
}

static void decode_add_ref(struct cpu_code *k, struct block *b, uint64_t gpfn)
{
	struct block_ext *x = block_ext(b);
	struct block_ref *r = &x->ref[x->nref++];
	struct block_ref **head = &k->pages[gpfn & ((1u << PAGE_BITS) - 1)];
	r->b = b;
	r->gpfn = gpfn;
	r->next = *head;
	r->pprev = head;
	if (*head)
		(*head)->pprev = &r->next;
	*head = r;
}

static unsigned decode_hash(uint64_t gpa, uint64_t lin)
{
	uint64_t h = gpa * 0x9e3779b97f4a7c15ULL ^ lin;
	return (unsigned)(h >> (64 - HASH_BITS));
}

/* Decode the block at lin (guest-physical gpa) in the current mode. */
static struct block *decode_block(struct cpu *c, uint64_t lin, uint64_t gpa, uint32_t key)
{
	struct cpu_code *k = c->code;
	struct op ops[BLOCK_MAX_OPS + 1];
	void *simd[BLOCK_MAX_OPS];
	unsigned n = 0, nsimd = 0;
	uint8_t page[4096];
	uint64_t gpa_page;
	uint64_t gpa2 = ~0ULL;
	ZydisDecoder *dec = &k->dec[key & 7];
	/* CS limit: bytes from rip up to and including the limit. */
	uint64_t limit_left = c->mode64 ? ~0ULL : (uint64_t)c->seg[S_CS].limit - c->rip + 1;

	unsigned avail = mmu_fetch(c, lin, page, 4096, &gpa_page);
	unsigned off = 0;
	for (;;) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
		struct op *op = &ops[n];
		uint8_t buf[16];
		unsigned have = avail - off;
		const uint8_t *p = page + off;
		bool straddle = false;
		if (have > limit_left - off)
			have = (unsigned)(limit_left - off);
		memset(op, 0, sizeof(*op));
		ZyanStatus st = ZydisDecoderDecodeFull(dec, p, have, &in, zo);
		if (st == ZYDIS_STATUS_NO_MORE_DATA && have < 15 && off + have == avail &&
		    limit_left > avail) {
			/* The instruction continues on the next page. */
			if (n > 0)
				break;
			uint64_t g2;
			memcpy(buf, p, have);
			unsigned more = mmu_fetch(c, lin + have, buf + have, 15 - have, &g2);
			unsigned total = have + more;
			if (total > limit_left)
				total = (unsigned)limit_left;
			st = ZydisDecoderDecodeFull(dec, buf, total, &in, zo);
			gpa2 = g2 & ~0xfffULL;
			straddle = true;
		}
		bool end;
		if (ZYAN_SUCCESS(st)) {
			void *sm = NULL;
			end = decode_map(c, &in, zo, op, NULL, &sm);
			op->len = in.length;
			if (sm)
				simd[nsimd++] = sm;
		} else {
			/* Too long (over 15 bytes) is #GP(0); anything else #UD. A
			 * fetch past the CS limit is #GP(0) too. */
			bool gp = st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG ||
				  (st == ZYDIS_STATUS_NO_MORE_DATA && have >= limit_left - off);
			if (st == ZYDIS_STATUS_NO_MORE_DATA && n > 0 && !gp)
				break;
			decode_fault_op(op, gp ? sys_gp0 : sys_ud);
			end = true;
		}
		op->off = (uint16_t)off;
		op->idx = (uint8_t)n;
		op->exec = emu_exec_ref;
		op->sbase = op->base == REG_NONE ? CPU_SLOT_ZERO
			    : op->base == REG_RIP ? CPU_SLOT_RIP : op->base;
		op->sindex = op->index == REG_NONE ? CPU_SLOT_ZERO : op->index;
		if (op->base == REG_RIP)
			op->disp += off + op->len;
		if ((key & 7) == DM_LONG64 && op->asize == 8 && op->seg < S_FS)
			op->flags |= OPF_FLAT;
		n++;
		off += op->len;
		if (end || straddle || n == BLOCK_MAX_OPS || off >= avail || off >= limit_left)
			break;
	}

	/* The end marker: where the next instruction would be. */
	memset(&ops[n], 0, sizeof(ops[n]));
	ops[n].exec = emu_exec_end;
	ops[n].off = (uint16_t)off;
	ops[n].idx = (uint8_t)n;
	select_block(c, ops, n);
	size_t sz = sizeof(struct block) + (n + 1) * sizeof(struct op) + sizeof(struct block_ext);
	struct block *b = calloc(1, sz);
	if (!b) {
		log_err("cpu", "out of memory for decoded code");
		abort();
	}
	b->lin = lin;
	b->gpa = gpa_page;
	b->gpa2 = gpa2;
	b->key_mode = key;
	b->n = (uint16_t)n;
	b->valid = true;
	memcpy(b->ops, ops, (n + 1) * sizeof(struct op));
	struct block_ext *x = block_ext(b);
	if (nsimd) {
		/* Keep the SIMD copies in one allocation owned by the block. */
		struct simd_copy *all = malloc(nsimd * sizeof(*all));
		if (!all)
			abort();
		for (unsigned i = 0, j = 0; i < n; i++)
			if (b->ops[i].zinsn) {
				all[j] = *(const struct simd_copy *)b->ops[i].zinsn;
				b->ops[i].zinsn = &all[j++];
			}
		for (unsigned i = 0; i < nsimd; i++)
			free(simd[i]);
		x->simd_mem = all;
	}
	unsigned h = decode_hash(b->gpa, lin);
	b->hnext = k->hash[h];
	x->hpprev = &k->hash[h];
	if (b->hnext)
		block_ext(b->hnext)->hpprev = &b->hnext;
	k->hash[h] = b;
	decode_add_ref(k, b, b->gpa >> 12);
	if (gpa2 != ~0ULL)
		decode_add_ref(k, b, gpa2 >> 12);
	k->nblocks++;
	jit_attach(c, b);
	struct emu_vm *vm = c->vm;
	if ((b->gpa >> 12) < vm->code_pages_n)
		atomic_store_explicit(&vm->code_pages[b->gpa >> 12], 1, memory_order_release);
	if (gpa2 != ~0ULL && (gpa2 >> 12) < vm->code_pages_n)
		atomic_store_explicit(&vm->code_pages[gpa2 >> 12], 1, memory_order_release);
	return b;
}

const struct block *decode_lookup(struct cpu *c)
{
	struct cpu_code *k = c->code;
	if (unlikely(atomic_load_explicit(&c->flush_code, memory_order_relaxed) || k->dead ||
		     k->nblocks > MAX_BLOCKS))
		decode_service(c);
	uint64_t lin = cpu_code_lin(c);
	uint32_t key = c->code_key;
	struct block **jp = &k->jmp[cpu_jmp_hash(lin)];
	struct block *b = *jp;
	if (likely(b->lin == lin && b->key_mode == key))
		return b;
	if (!c->mode64 && c->rip > c->seg[S_CS].limit)
		cpu_raise(c, EXC_GP, 0);
	uint64_t gpa = mmu_translate(c, lin, ACC_X);
	for (b = k->hash[decode_hash(gpa, lin)]; b; b = b->hnext)
		if (b->lin == lin && b->key_mode == key && b->gpa == gpa)
			break;
	if (b && b->gpa2 != ~0ULL) {
		uint64_t g2 = mmu_translate(c, (lin | 0xfff) + 1, ACC_X);
		if ((g2 & ~0xfffULL) != b->gpa2)
			b = NULL;
	}
	if (!b)
		b = decode_block(c, lin, gpa, key);
	*jp = b;
	return b;
}
