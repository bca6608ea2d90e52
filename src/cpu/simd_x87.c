/*
 * simd_x87: the x87 FPU instructions (Intel SDM Vol. 1 chapter 8, Vol. 2
 * D8-DF opcode pages, FISTTP from SSE3).
 *
 * The control instructions — FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FWAIT,
 * the 8087/287 no-ops, and the environment moves in simd_state.c — are done
 * here in C. Every other x87 instruction (loads and stores of all formats,
 * arithmetic, compares, FXAM, FCMOVcc, FCOMI, transcendentals, FPREM,
 * FSCALE, stack management, ...) runs as itself on the host FPU with the
 * guest's registers, TOP, tags and control word loaded (simd_host.c): its
 * result, condition codes, stack and tag effects and exception flags are the
 * hardware's, in every precision and rounding mode, masked or not.
 *
 * Around the host run this file does what the host cannot see: the memory
 * operand goes through the guest MMU (read before, written after, nothing
 * committed if either faults), the guest's exception flags are kept sticky
 * (the host starts with them clear so nothing is pending), and FIP/FCS,
 * FDP/FDS and FOP record the guest instruction (Vol. 1 8.1.8-8.1.9).
 *
 * Whether a store instruction wrote its operand (an unmasked exception
 * suppresses the store) is observed, not predicted: the scratch operand is
 * filled with a pattern before the run, and with a second pattern on a
 * rerun if the first one came back unchanged.
 *
 * Thread: the vCPU thread owning the state; no locks.
 */
#include "cpu/simd_internal.h"

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Loads the guest x87 state into the host frame's FXRSTOR image. */
static void x87_fx_in(const struct simd_state *s, uint8_t *fx)
{
	unsigned top = simd_x87_top(s);
	put16(fx + 0, s->x87.fcw);
	/* Exception flags, SF, ES and B cleared: nothing pending on the host. */
	put16(fx + 2, s->x87.fsw & 0x7f00);
	fx[4] = s->x87.ftw;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;
	memcpy(fx + 24, &mxcsr, 4);
	memcpy(fx + 28, &mask, 4);
	for (unsigned i = 0; i < 8; i++) {
		unsigned r = (top + i) & 7;
		memcpy(fx + 32 + 16 * i, &s->x87.mant[r], 8);
		put16(fx + 40 + 16 * i, s->x87.exp[r]);
	}
}

/* Takes the result back; the guest's earlier exception flags stay set. */
static void x87_fx_out(struct simd_state *s, const uint8_t *fx, uint16_t old_fsw)
{
	s->x87.fsw = get16(fx + 2) | (old_fsw & 0x7f);
	s->x87.ftw = fx[4];
	unsigned top = simd_x87_top(s);
	for (unsigned i = 0; i < 8; i++) {
		unsigned r = (top + i) & 7;
		memcpy(&s->x87.mant[r], fx + 32 + 16 * i, 8);
		s->x87.exp[r] = get16(fx + 40 + 16 * i);
	}
	simd_x87_sync_es(s);
}

static bool x87_reads_flags(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_FCMOVB: case ZYDIS_MNEMONIC_FCMOVE:
	case ZYDIS_MNEMONIC_FCMOVBE: case ZYDIS_MNEMONIC_FCMOVU:
	case ZYDIS_MNEMONIC_FCMOVNB: case ZYDIS_MNEMONIC_FCMOVNE:
	case ZYDIS_MNEMONIC_FCMOVNBE: case ZYDIS_MNEMONIC_FCMOVNU:
		return true;
	default:
		return false;
	}
}

static bool x87_writes_flags(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_FCOMI || m == ZYDIS_MNEMONIC_FCOMIP ||
	       m == ZYDIS_MNEMONIC_FUCOMI || m == ZYDIS_MNEMONIC_FUCOMIP;
}

static bool x87_run_store(struct simd_host_x87 *h, unsigned len, uint64_t rflags)
{
	/* No store instruction reads or writes RFLAGS. */
	h->use_flags = 0;
	static const uint8_t pat_a[16] = { [0 ... 15] = 0xa5 };
	static const uint8_t pat_b[16] = { [0 ... 15] = 0x5a };

	memcpy(h->mem, pat_a, sizeof(h->mem));
	h->rflags = rflags;
	simd_host_x87_run(h);
	if (memcmp(h->mem, pat_a, len))
		return true;
	memcpy(h->mem, pat_b, sizeof(h->mem));
	h->rflags = rflags;
	simd_host_x87_run(h);
	return memcmp(h->mem, pat_b, len) != 0;
}

/* Any non-control x87 instruction, on the host FPU. */
static int x87_host_exec(struct simd_state *s, struct simd_env *env,
			 const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	uint8_t modrm = (uint8_t)((insn->raw.modrm.mod << 6) | (insn->raw.modrm.reg << 3) |
				  insn->raw.modrm.rm);
	const void *stub = simd_host_x87_stub(insn->opcode, modrm);
	if (!stub)
		return SIMD_EXC_UD;
	struct simd_host_x87 *h = &s->host;
	const ZydisDecodedOperand *mem = insn->raw.modrm.mod != 3 ? simd_find_mem(insn, ops) : NULL;
	unsigned len = 0;
	bool rd = false, wr = false;
	int rc;

	if (mem) {
		len = mem->size / 8;
		if (!env->has_mem || len == 0 || len > 10)
			return SIMD_EXC_UD;
		rd = mem->actions & ZYDIS_OPERAND_ACTION_MASK_READ;
		wr = mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
	}
	if (rd) {
		rc = simd_mem_read(env, env->mem_linear, h->mem, len);
		if (rc != SIMD_OK)
			return rc;
	}

	uint64_t rflags = 0;
	bool rf = x87_reads_flags(insn->mnemonic), wf = x87_writes_flags(insn->mnemonic);
	if (rf || wf)
		rflags = env->get_gpr(env->cpu, ZYDIS_REGISTER_RFLAGS);
	uint64_t host_rflags = (rflags & SIMD_RFLAGS_ARITH) | 2;

	x87_fx_in(s, h->fx_in);
	h->stub = stub;
	if (wr) {
		if (x87_run_store(h, len, host_rflags)) {
			rc = simd_mem_write(env, env->mem_linear, h->mem, len);
			if (rc != SIMD_OK)
				return rc;
		}
	} else {
		h->rflags = host_rflags;
		h->use_flags = rf || wf;
		simd_host_x87_run(h);
	}

	x87_fx_out(s, h->fx_out, s->x87.fsw);
	if (wf)
		env->set_gpr(env->cpu, ZYDIS_REGISTER_RFLAGS,
			     (rflags & ~SIMD_RFLAGS_ARITH) | (h->rflags & SIMD_RFLAGS_ARITH));
	s->x87.fop = (uint16_t)(((insn->opcode & 7) << 8) | modrm);
	s->x87.fip = env->rip;
	s->x87.fcs = env->cs;
	if (mem) {
		s->x87.fdp = simd_effective_offset(env, insn, mem);
		s->x87.fds = env->mem_seg;
	}
	return SIMD_OK;
}

/*
 * Executes an x87 instruction whose gating (CR0, pending errors) simd.c has
 * already checked.
 */
int simd_x87_exec(struct simd_state *s, struct simd_env *env,
		  const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	const ZydisDecodedOperand *mem;
	uint16_t v;
	int rc;

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FWAIT:
	case ZYDIS_MNEMONIC_FENI8087_NOP:
	case ZYDIS_MNEMONIC_FDISI8087_NOP:
	case ZYDIS_MNEMONIC_FSETPM287_NOP:
		return SIMD_OK;
	case ZYDIS_MNEMONIC_FNINIT:
		simd_x87_init(s);
		return SIMD_OK;
	case ZYDIS_MNEMONIC_FNCLEX:
		s->x87.fsw &= 0x7f00;   /* flags, SF, ES, B */
		return SIMD_OK;
	case ZYDIS_MNEMONIC_FLDCW:
		if (!env->has_mem)
			return SIMD_EXC_UD;
		rc = simd_mem_read(env, env->mem_linear, &v, 2);
		if (rc != SIMD_OK)
			return rc;
		s->x87.fcw = (v & 0x1f3f) | 0x0040;
		simd_x87_sync_es(s);
		return SIMD_OK;
	case ZYDIS_MNEMONIC_FNSTCW:
		if (!env->has_mem)
			return SIMD_EXC_UD;
		return simd_mem_write(env, env->mem_linear, &s->x87.fcw, 2);
	case ZYDIS_MNEMONIC_FNSTSW:
		mem = simd_find_mem(insn, ops);
		if (!mem) {
			env->set_gpr(env->cpu, ZYDIS_REGISTER_AX, s->x87.fsw);
			return SIMD_OK;
		}
		if (!env->has_mem)
			return SIMD_EXC_UD;
		return simd_mem_write(env, env->mem_linear, &s->x87.fsw, 2);
	case ZYDIS_MNEMONIC_FNSTENV:
	case ZYDIS_MNEMONIC_FLDENV:
	case ZYDIS_MNEMONIC_FNSAVE:
	case ZYDIS_MNEMONIC_FRSTOR:
		return simd_state_x87_env(s, env, insn, ops);
	default:
		return x87_host_exec(s, env, insn, ops);
	}
}
