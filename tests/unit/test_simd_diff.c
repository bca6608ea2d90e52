/*
 * Differential test of the x87/MMX/SSE/SSE2/SSE3/SSSE3 unit against the
 * host CPU.
 *
 * The instruction space is enumerated by decoding every legacy opcode of the
 * 0F, 0F38 and 0F3A maps (with no prefix, 66, F2, F3, with and without
 * REX.W) and every D8-DF opcode with every ModRM, keeping what Zydis assigns
 * to the six families. Each distinct form (mnemonic, encoding, operand
 * classes and sizes) becomes a group, and every group runs a number of
 * random cases: register numbers, REX.R/REX.B, immediates, displacements,
 * operand alignment and all values are random, drawn from lists of special
 * values (signed zeros, denormals, pseudo-denormals, unnormals, infinities,
 * pseudo-infinities, QNaN/SNaN/indefinite, integer boundaries, packed BCD
 * with bad digits, ...) mixed with random bits, under random x87 control
 * words (precision, rounding, masks), random MXCSR (rounding, DAZ, FZ,
 * masks, sticky flags), random tags and TOP, and sometimes pending unmasked
 * x87 exceptions.
 *
 * Each case is executed natively (simd_native.c) and through simd_exec()
 * with a fake core (fake_simd_env.c); the FXSAVE images, general registers,
 * arithmetic flags, the memory buffer and the outcome (normal completion,
 * #MF, #XM, #GP(0), #UD) must all match. At the end a coverage table lists
 * every mnemonic with the number of forms and cases run.
 *
 * Compared state excludes only what cannot be compared between a native run
 * and an emulated one, each named where it is masked: the x87 last
 * instruction/data pointers and last opcode (native values are host
 * addresses; this host also deprecates FCS/FDS and stores FOP only after
 * unmasked exceptions, SDM Vol. 1 8.1.8-8.1.9), including their copies in
 * memory written by FXSAVE/FNSTENV/FNSAVE. Those are covered by test_simd.c.
 *
 * LODGE_SIMD_DIFF_CASES (cases per form, default 48) and LODGE_SIMD_DIFF_SEED
 * make longer or different runs; LODGE_SIMD_DIFF_FILTER=text runs only the
 * forms whose key (mnemonic, encoding, operands) contains the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <Zydis/Zydis.h>

#include "cpu/simd.h"
#include "fake_simd_env.h"
#include "simd_native.h"

/* ---- random values ---------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const uint32_t f32_special[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40000000,
	0x40400000, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000, 0x00000001, 0x80000001,
	0x007fffff, 0x807fffff, 0x00400000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
	0x7f800001, 0xff800001, 0x7fa00000, 0x7fc12345, 0x7fbfffff, 0x4f000000, 0xcf000000,
	0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x5effffff, 0x3effffff, 0x3f000001,
	0x3f7fffff, 0x00ffffff, 0x01000000, 0x7e800000, 0x3f800001, 0x4b000000, 0x4b7fffff,
	0xbf000000, 0x46fffe00, 0xc7000000, 0x437f0000, 0x1f800000, 0x20000000, 0x5f800000,
};

static const uint64_t f64_special[] = {
	0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
	0xbff0000000000000ull, 0x3fe0000000000000ull, 0x4000000000000000ull,
	0x7fefffffffffffffull, 0xffefffffffffffffull, 0x0010000000000000ull,
	0x8010000000000000ull, 0x0000000000000001ull, 0x8000000000000001ull,
	0x000fffffffffffffull, 0x0008000000000000ull, 0x7ff0000000000000ull,
	0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000000ull,
	0x7ff0000000000001ull, 0x7ff4000000000000ull, 0x7ff8123456789abcull,
	0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffc00000ull,
	0xc1e0000000200000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
	0x43dfffffffffffffull, 0x3fdfffffffffffffull, 0x3fe0000000000001ull,
	0x47efffffe0000000ull, 0x47efffff00000000ull, 0x3810000000000000ull,
	0x380fffffffffffffull, 0x36a0000000000000ull, 0x3ff0000000000001ull,
	0x4330000000000000ull, 0x7fe0000000000000ull, 0x0020000000000000ull,
	0x400921fb54442d18ull, 0xc00921fb54442d18ull, 0x3ff8000000000000ull,
};

struct f80 {
	uint64_t mant;
	uint16_t exp;
};

static const struct f80 f80_special[] = {
	{ 0, 0 }, { 0, 0x8000 }, { 0x8000000000000000ull, 0x3fff }, { 0x8000000000000000ull, 0xbfff },
	{ 0xc90fdaa22168c235ull, 0x4000 }, { 0xc90fdaa22168c234ull, 0x3fff },
	{ 0xc90fdaa22168c235ull, 0x403f }, { 0x8000000000000000ull, 0x403e },
	{ 0xffffffffffffffffull, 0x7ffe }, { 0xffffffffffffffffull, 0xfffe },
	{ 0x8000000000000000ull, 0x0001 }, { 0x8000000000000001ull, 0x8001 },
	{ 0x0000000000000001ull, 0x0000 }, { 0x7fffffffffffffffull, 0x8000 },
	{ 0x8000000000000000ull, 0x0000 }, { 0xc000000000000000ull, 0x8000 },      /* pseudo-denormal */
	{ 0x4000000000000000ull, 0x3fff }, { 0x0000000000000000ull, 0x4000 },      /* unnormal */
	{ 0x8000000000000000ull, 0x7fff }, { 0x8000000000000000ull, 0xffff },      /* infinities */
	{ 0x0000000000000000ull, 0x7fff },                                        /* pseudo-inf */
	{ 0xc000000000000000ull, 0x7fff }, { 0xc000000000000000ull, 0xffff },      /* QNaN, indefinite */
	{ 0xa000000000000000ull, 0x7fff }, { 0x8000000000000001ull, 0xffff },      /* SNaN */
	{ 0x4000000000000000ull, 0x7fff }, { 0xc000000000001234ull, 0x7fff },      /* pseudo-NaN, QNaN */
	{ 0xb504f333f9de6484ull, 0x3ffe }, { 0xffffffffffffffffull, 0x401d },
	{ 0xfffffffffffff800ull, 0x43fe }, { 0x8000000000000000ull, 0x43ff },
	{ 0xffffff0000000000ull, 0x407e }, { 0x8000000000000000ull, 0x3c01 },
	{ 0xfffffffffffff800ull, 0x3c00 }, { 0x8000000000000000ull, 0x3f81 },
	{ 0x8000000000000000ull, 0x401e }, { 0xffffffff00000000ull, 0x401d },
	{ 0x8000000000000000ull, 0x400e }, { 0xa000000000000000ull, 0x3ffe },
	{ 0xde5bd8a937287195ull, 0x3ffd }, { 0xb17217f7d1cf79acull, 0x3ffe },
};

static struct f80 rnd_f80(void)
{
	struct f80 v;
	switch (rndn(6)) {
	case 0:
	case 1:
		return f80_special[rndn(sizeof(f80_special) / sizeof(f80_special[0]))];
	case 2:         /* around 1, both signs */
		v.mant = rnd() | (1ull << 63);
		v.exp = (uint16_t)((0x3fff - 8 + rndn(16)) | (rndn(2) << 15));
		return v;
	case 3:         /* anywhere */
		v.mant = rnd() | (rndn(8) ? 1ull << 63 : 0);
		v.exp = (uint16_t)rnd();
		return v;
	case 4:         /* an integer value */
		v.mant = (rnd() >> rndn(64)) | (1ull << 63);
		v.exp = (uint16_t)((0x3fff + rndn(64)) | (rndn(2) << 15));
		return v;
	default:        /* tiny or huge */
		v.mant = rnd() | (1ull << 63);
		v.exp = (uint16_t)((rndn(2) ? rndn(80) : 0x7ffe - rndn(80)) | (rndn(2) << 15));
		return v;
	}
}

static uint32_t rnd_f32(void)
{
	switch (rndn(4)) {
	case 0:
	case 1:
		return f32_special[rndn(sizeof(f32_special) / sizeof(f32_special[0]))];
	case 2:
		return (uint32_t)((rnd() & 0x807fffff) | ((0x7f - 10 + rndn(20)) << 23));
	default:
		return (uint32_t)rnd();
	}
}

static uint64_t rnd_f64(void)
{
	switch (rndn(4)) {
	case 0:
	case 1:
		return f64_special[rndn(sizeof(f64_special) / sizeof(f64_special[0]))];
	case 2:
		return (rnd() & 0x800fffffffffffffull) | ((uint64_t)(0x3ff - 30 + rndn(60)) << 52);
	default:
		return rnd();
	}
}

static uint64_t rnd_int(unsigned bits)
{
	static const int64_t specials[] = { 0, 1, -1, 2, 127, -128, 255, 32767, -32768, 65535,
					    0x7fffffff, -0x7fffffff - 1, 0xffffffff,
					    0x7fffffffffffffff, -0x7fffffffffffffff - 1 };
	uint64_t v;
	switch (rndn(3)) {
	case 0:
		v = (uint64_t)specials[rndn(sizeof(specials) / sizeof(specials[0]))];
		break;
	case 1:
		v = rnd() >> rndn(64);
		if (rndn(2))
			v = -v;
		break;
	default:
		v = rnd();
		break;
	}
	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

/* Packed BCD: 18 digits and a sign byte, sometimes with bad digits. */
static void rnd_bcd(uint8_t *p)
{
	for (unsigned i = 0; i < 9; i++)
		p[i] = rndn(10) ? (uint8_t)(rndn(10) | (rndn(10) << 4)) : (uint8_t)rnd();
	p[9] = rndn(4) ? (uint8_t)(rndn(2) << 7) : (uint8_t)rnd();
}

/* Fills `n` bytes with values of one randomly chosen kind. */
static void rnd_fill(uint8_t *p, unsigned n)
{
	unsigned kind = rndn(7), i = 0;
	while (i < n) {
		uint8_t tmp[16];
		unsigned w;
		switch (kind) {
		case 0: { uint32_t v = rnd_f32(); memcpy(tmp, &v, 4); w = 4; break; }
		case 1: { uint64_t v = rnd_f64(); memcpy(tmp, &v, 8); w = 8; break; }
		case 2: { struct f80 v = rnd_f80(); memcpy(tmp, &v.mant, 8); memcpy(tmp + 8, &v.exp, 2); w = 10; break; }
		case 3: rnd_bcd(tmp); w = 10; break;
		case 4: { unsigned b = 8u << rndn(4); uint64_t v = rnd_int(b); memcpy(tmp, &v, 8); w = b / 8; break; }
		case 5: { uint64_t v = rnd_int(16) | rnd_int(16) << 16 | rnd_int(16) << 32 | rnd_int(16) << 48; memcpy(tmp, &v, 8); w = 8; break; }
		default: { uint64_t v = rnd(); memcpy(tmp, &v, 8); w = 8; break; }
		}
		if (w > n - i)
			w = n - i;
		memcpy(p + i, tmp, w);
		i += w;
	}
}

/* A random but loadable FXSAVE64 image. */
static void rnd_fx_image(uint8_t *fx)
{
	memset(fx, 0, 512);
	uint16_t fcw = (uint16_t)rnd();
	if (rndn(10) < 6)
		fcw |= 0x3f;
	uint16_t fsw = (uint16_t)(rnd() & 0x7f00);      /* TOP and C0-C3 */
	if (rndn(10) < 2)
		fsw |= (uint16_t)(rnd() & 0x7f);
	if (fsw & ~fcw & 0x3f)
		fsw |= 0x8080;
	if (rndn(20) == 0)
		fsw ^= 0x8080;                          /* an inconsistent ES/B now and then */
	memcpy(fx + 0, &fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = (uint8_t)(rnd() | rnd());               /* mostly non-empty */
	if (rndn(8) == 0)
		fx[4] = (uint8_t)rnd();
	uint32_t mxcsr = (uint32_t)(rnd() & 0xe07f);    /* RC, FZ, DAZ, flags */
	if (rndn(10) < 7)
		mxcsr &= ~0x3fu;
	mxcsr |= rndn(2) ? 0x1f80 : (uint32_t)(rnd() & 0x1f80);
	memcpy(fx + 24, &mxcsr, 4);
	uint32_t mask = 0xffff;
	memcpy(fx + 28, &mask, 4);
	bool ints = rndn(3) == 0;
	for (unsigned i = 0; i < 8; i++) {
		struct f80 v = rnd_f80();
		if (ints) {
			v.mant = rnd_int(16) | rnd_int(16) << 16 | rnd_int(16) << 32 | rnd_int(16) << 48;
			if (rndn(2))
				v.mant = rnd();
		}
		memcpy(fx + 32 + 16 * i, &v.mant, 8);
		memcpy(fx + 40 + 16 * i, &v.exp, 2);
	}
	for (unsigned r = 0; r < 16; r++) {
		uint8_t *x = fx + 160 + 16 * r;
		switch (rndn(4)) {
		case 0:
			for (unsigned i = 0; i < 4; i++) {
				uint32_t v = rnd_f32();
				memcpy(x + 4 * i, &v, 4);
			}
			break;
		case 1:
			for (unsigned i = 0; i < 2; i++) {
				uint64_t v = rnd_f64();
				memcpy(x + 8 * i, &v, 8);
			}
			break;
		default:
			rnd_fill(x, 16);
			break;
		}
	}
}

/* ---- enumeration of forms ------------------------------------------- */

enum family { FAM_X87, FAM_MMX, FAM_SSE, FAM_SSE2, FAM_SSE3, FAM_SSSE3, FAM_COUNT };
static const char *const family_name[FAM_COUNT] = { "x87", "MMX", "SSE", "SSE2", "SSE3", "SSSE3" };

struct seed {
	uint8_t b[15];
	uint8_t len;
	uint8_t rex_at;         /* where a REX prefix goes (after 66/F2/F3) */
	uint8_t has_rex;
	uint8_t x87;
	uint8_t mod3;
};

struct group {
	char key[128];
	ZydisMnemonic mnemonic;
	enum family fam;
	struct seed *seeds;
	unsigned nseeds, cap;
	unsigned cases, native_faults, mismatches;
};

static struct group *groups;
static unsigned ngroups, groups_cap;
static ZydisDecoder decoder;
static ZydisFormatter formatter;

static bool family_of(const ZydisDecodedInstruction *insn, enum family *f)
{
	if (insn->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return false;
	switch (insn->meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87: *f = FAM_X87; return true;
	case ZYDIS_ISA_EXT_MMX: *f = FAM_MMX; return true;
	case ZYDIS_ISA_EXT_SSE: *f = FAM_SSE; return true;
	case ZYDIS_ISA_EXT_SSE2: *f = FAM_SSE2; return true;
	case ZYDIS_ISA_EXT_SSE3: *f = FAM_SSE3; return true;
	case ZYDIS_ISA_EXT_SSSE3: *f = FAM_SSSE3; return true;
	default: return false;
	}
}

static void form_key(char *key, size_t n, const struct seed *sd,
		     const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	int o = snprintf(key, n, "%s", ZydisMnemonicGetString(insn->mnemonic));
	for (unsigned i = 0; i < sd->rex_at; i++)
		o += snprintf(key + o, n - (size_t)o, " %02x", sd->b[i]);
	o += snprintf(key + o, n - (size_t)o, "%s map%d op%02x%s", sd->has_rex ? " w" : "",
		      insn->opcode_map, insn->opcode, sd->x87 ? "" : "");
	if (sd->x87 && sd->mod3)
		o += snprintf(key + o, n - (size_t)o, "/%d", insn->raw.modrm.reg);
	for (unsigned i = 0; i < insn->operand_count_visible && o < (int)n - 16; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
			o += snprintf(key + o, n - (size_t)o, " r%d:%d",
				      ZydisRegisterGetClass(op->reg.value), op->size);
		else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY)
			o += snprintf(key + o, n - (size_t)o, " m%d", op->size);
		else
			o += snprintf(key + o, n - (size_t)o, " i%d", op->size);
	}
}

static void add_seed(const struct seed *sd)
{
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t buf[16] = { 0 };
	memcpy(buf, sd->b, sd->len);
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, buf, sizeof(buf), &insn, ops)))
		return;
	enum family fam;
	if (!family_of(&insn, &fam))
		return;
	struct seed s = *sd;
	s.len = insn.length;
	char key[128];
	form_key(key, sizeof(key), &s, &insn, ops);
	struct group *g = NULL;
	for (unsigned i = ngroups; i-- > 0;) {
		if (!strcmp(groups[i].key, key)) {
			g = &groups[i];
			break;
		}
	}
	if (!g) {
		if (ngroups == groups_cap) {
			groups_cap = groups_cap ? 2 * groups_cap : 256;
			groups = realloc(groups, groups_cap * sizeof(*groups));
		}
		g = &groups[ngroups++];
		memset(g, 0, sizeof(*g));
		snprintf(g->key, sizeof(g->key), "%s", key);
		g->mnemonic = insn.mnemonic;
		g->fam = fam;
	}
	if (g->nseeds == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 8;
		g->seeds = realloc(g->seeds, g->cap * sizeof(*g->seeds));
	}
	g->seeds[g->nseeds++] = s;
}

static void enumerate_forms(void)
{
	struct seed sd;
	/* x87: every D8-DF ModRM; memory forms address [rdi] or [rdi+disp8]. */
	for (unsigned pfx = 0; pfx < 2; pfx++) {
		for (unsigned op = 0xd8; op <= 0xdf; op++) {
			for (unsigned m = 0; m < 256; m++) {
				unsigned mod = m >> 6, rm = m & 7;
				if (mod == 2 || (mod != 3 && rm != 7))
					continue;
				if (pfx && mod == 3)
					continue;
				memset(&sd, 0, sizeof(sd));
				unsigned n = 0;
				if (pfx)
					sd.b[n++] = 0x66;
				sd.b[n++] = (uint8_t)op;
				sd.b[n++] = (uint8_t)m;
				if (mod == 1)
					sd.b[n++] = 0x10;
				sd.len = (uint8_t)n;
				sd.x87 = 1;
				sd.mod3 = mod == 3;
				add_seed(&sd);
			}
		}
	}
	memset(&sd, 0, sizeof(sd));
	sd.b[0] = 0x9b;
	sd.len = 1;
	sd.x87 = 1;
	add_seed(&sd);

	static const uint8_t pfxs[4] = { 0, 0x66, 0xf2, 0xf3 };
	for (unsigned p = 0; p < 4; p++)
	for (unsigned w = 0; w < 2; w++)
	for (unsigned map = 0; map < 3; map++)
	for (unsigned op = 0; op < 256; op++)
	for (unsigned form = 0; form < 80; form++) {
		memset(&sd, 0, sizeof(sd));
		unsigned n = 0;
		if (pfxs[p])
			sd.b[n++] = pfxs[p];
		sd.rex_at = (uint8_t)n;
		if (w) {
			sd.b[n++] = 0x48;
			sd.has_rex = 1;
		}
		sd.b[n++] = 0x0f;
		if (map == 1)
			sd.b[n++] = 0x38;
		if (map == 2)
			sd.b[n++] = 0x3a;
		sd.b[n++] = (uint8_t)op;
		if (form < 64) {
			sd.b[n++] = (uint8_t)(0xc0 | form);
			sd.mod3 = 1;
		} else if (form < 72) {
			sd.b[n++] = (uint8_t)(((form - 64) << 3) | 7);
		} else {
			sd.b[n++] = (uint8_t)(0x40 | ((form - 72) << 3) | 7);
			sd.b[n++] = 0x20;
		}
		sd.b[n++] = 0;          /* a possible imm8, randomized per case */
		sd.len = (uint8_t)n;
		add_seed(&sd);
	}
}

/* ---- one case ------------------------------------------------------- */

/*
 * The native operand buffer is followed by an inaccessible page, so that
 * operands straddling its end fault (#PF) natively; the fake core faults on
 * anything outside its 8 KiB window, i.e. at the same place.
 */
#define MEM_SIZE 8192
static uint8_t *native_mem;
static _Alignas(4096) uint8_t emu_mem[MEM_SIZE];
static struct native_frame frame;
static struct simd_state *emu;
static unsigned total_mismatches;

static bool reg_forbidden(ZydisRegister r)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	return big == ZYDIS_REGISTER_RSP || big == ZYDIS_REGISTER_R15;
}

/* Builds a concrete instruction from a seed; false if it must be redrawn. */
static bool make_insn(const struct group *g, uint8_t *out, unsigned *len,
		      ZydisDecodedInstruction *insn, ZydisDecodedOperand *ops)
{
	const struct seed *sd = &g->seeds[rndn(g->nseeds)];
	uint8_t b[16] = { 0 };
	unsigned n = 0;
	memcpy(b, sd->b, sd->rex_at);
	n = sd->rex_at;
	unsigned from = sd->rex_at;
	if (!sd->x87) {
		uint8_t rex = sd->has_rex ? 0x48 : 0;
		if (sd->has_rex)
			from++;
		if (rndn(2)) {
			rex |= 0x40 | (rndn(2) ? 4 : 0);
			if (sd->mod3 && rndn(2))
				rex |= 1;
		}
		if (rex)
			b[n++] = rex;
	}
	memcpy(b + n, sd->b + from, sd->len - from);
	n += sd->len - from;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, b, sizeof(b), insn, ops)))
		return false;
	if (insn->mnemonic != g->mnemonic)
		return false;
	for (unsigned i = 0; i < insn->raw.imm[0].size / 8; i++)
		b[insn->raw.imm[0].offset + i] = (uint8_t)rnd();
	if (insn->raw.disp.size == 8)
		b[insn->raw.disp.offset] = (uint8_t)rndn(0x80);
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, b, sizeof(b), insn, ops)))
		return false;
	for (unsigned i = 0; i < insn->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && reg_forbidden(ops[i].reg.value))
			return false;
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.base != ZYDIS_REGISTER_RDI && ops[i].mem.base != ZYDIS_REGISTER_NONE)
			return false;
	}
	memcpy(out, b, insn->length);
	*len = insn->length;
	return true;
}

static const char *outcome_name(int o)
{
	static const char *const names[] = { "ok", "#MF", "#XM", "#GP", "#UD", "#PF", "other" };
	return o >= 0 && o <= NATIVE_OTHER ? names[o] : "?";
}

static int simd_outcome(int rc)
{
	switch (rc) {
	case SIMD_OK: return NATIVE_OK;
	case SIMD_EXC_MF: return NATIVE_MF;
	case SIMD_EXC_XM: return NATIVE_XM;
	case SIMD_EXC_GP0: return NATIVE_GP;
	case SIMD_EXC_UD: return NATIVE_UD;
	case SIMD_FAULTED: return NATIVE_PF;
	default: return NATIVE_OTHER;
	}
}

/*
 * Bytes of an instruction's memory image that hold the x87 pointers and
 * opcode (see the file comment), relative to the operand's address.
 */
static void pointer_bytes_in_memory(const ZydisDecodedInstruction *insn, unsigned memsize,
				    unsigned *lo, unsigned *hi)
{
	*lo = *hi = 0;
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_FXSAVE:
	case ZYDIS_MNEMONIC_FXSAVE64:
		*lo = 6;
		*hi = 24;
		break;
	case ZYDIS_MNEMONIC_FNSTENV:
	case ZYDIS_MNEMONIC_FNSAVE:
		if (memsize == 14 || memsize == 94) {
			*lo = 6;
			*hi = 14;
		} else {
			*lo = 12;
			*hi = 28;
		}
		break;
	default:
		break;
	}
}

static void report(const struct group *g, const uint8_t *code, unsigned len,
		   const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void report(const struct group *g, const uint8_t *code, unsigned len,
		   const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		   const char *fmt, ...)
{
	if (total_mismatches > 40)
		return;
	char text[128];
	ZydisFormatterFormatInstruction(&formatter, insn, ops, insn->operand_count_visible, text,
					sizeof(text), 0, NULL);
	printf("MISMATCH [%s] %-36s bytes", family_name[g->fam], text);
	for (unsigned i = 0; i < len; i++)
		printf(" %02x", code[i]);
	printf(": ");
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void dump_fx_diff(const uint8_t *want, const uint8_t *got)
{
	static const char *const region[] = { "FCW/FSW/FTW", "pointers", "MXCSR" };
	for (unsigned i = 0; i < 416; i++) {
		if (want[i] == got[i])
			continue;
		const char *what;
		char buf[32];
		if (i < 6)
			what = region[0];
		else if (i < 24)
			what = region[1];
		else if (i < 32)
			what = region[2];
		else if (i < 160)
			snprintf(buf, sizeof(buf), "ST%u", (i - 32) / 16), what = buf;
		else
			snprintf(buf, sizeof(buf), "XMM%u", (i - 160) / 16), what = buf;
		printf("    fx[%3u] (%s): native %02x emulated %02x\n", i, what, want[i], got[i]);
	}
}

static void run_case(struct group *g)
{
	uint8_t code[16];
	unsigned len;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	unsigned tries = 0;
	while (!make_insn(g, code, &len, &insn, ops))
		if (++tries > 200)
			return;

	/* Inputs. */
	rnd_fx_image(frame.fx_in);
	const ZydisDecodedOperand *mem = NULL;
	for (unsigned i = 0; i < insn.operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			mem = &ops[i];
	unsigned disp = mem ? (unsigned)mem->mem.disp.value : 0;
	unsigned msize = mem ? mem->size / 8 : 0;
	if (msize > 512)
		msize = 512;            /* FXSAVE/FXRSTOR: Zydis says 4096 bits */
	unsigned off = 512 + rndn(2048);
	if (rndn(4))
		off &= ~15u;
	if (msize > 1 && rndn(12) == 0)         /* straddle the inaccessible page */
		off = MEM_SIZE - disp - 1 - rndn(msize - 1);
	uint8_t *rdi = native_mem + off;
	for (unsigned i = 0; i < 640; i += 16)
		if (off + i >= 64 && off + i - 64 + 16 <= MEM_SIZE)
			rnd_fill(rdi - 64 + i, 16);
	/* Mostly loadable images for the state loads (up to the buffer's end). */
	uint8_t image[512];
	unsigned room = MEM_SIZE - (off + disp), ilen = 0;
	switch (insn.mnemonic) {
	case ZYDIS_MNEMONIC_FXRSTOR:
	case ZYDIS_MNEMONIC_FXRSTOR64:
		if (rndn(4)) {
			rnd_fx_image(image);
			ilen = 512;
		}
		break;
	case ZYDIS_MNEMONIC_LDMXCSR:
		if (rndn(4)) {
			uint32_t v = (uint32_t)rnd() & 0xffff;
			memcpy(image, &v, 4);
			ilen = 4;
		}
		break;
	default:
		break;
	}
	memcpy(rdi + disp, image, ilen < room ? ilen : room);
	for (unsigned i = 0; i < 16; i++)
		frame.gpr[i] = rnd_int(8u << rndn(4));
	frame.gpr[4] = 0;
	frame.gpr[7] = (uint64_t)(uintptr_t)rdi;
	frame.gpr[15] = 0;
	frame.rflags_in = 0x202 | (rnd() & 0x8d5);
	memset(frame.fx_out, 0, sizeof(frame.fx_out));

	/* Emulated. */
	memcpy(emu_mem, native_mem, MEM_SIZE);
	struct fake_simd_cpu cpu;
	fake_simd_init(&cpu, emu_mem, (uint64_t)(uintptr_t)native_mem, MEM_SIZE);
	memcpy(cpu.gpr, frame.gpr, sizeof(cpu.gpr));
	cpu.rflags = frame.rflags_in;
	fake_simd_set_mem(&cpu, &insn, ops);
	if (simd_state_set_fxsave(emu, frame.fx_in) != 0) {
		report(g, code, len, &insn, ops, "simd_state_set_fxsave refused a valid image");
		g->mismatches++;
		total_mismatches++;
		return;
	}
	if (!simd_handles(&insn)) {
		report(g, code, len, &insn, ops, "simd_handles() says no");
		g->mismatches++;
		total_mismatches++;
		return;
	}
	int rc = simd_exec(emu, &cpu.env, &insn, ops);
	uint8_t efx[512];
	simd_state_get_fxsave(emu, efx);

	/* Native. */
	struct native_result nr;
	native_run(code, len, &frame, &nr);
	g->cases++;
	if (nr.outcome != NATIVE_OK)
		g->native_faults++;

	bool bad = false;
	if (simd_outcome(rc) != (int)nr.outcome) {
		report(g, code, len, &insn, ops, "outcome native %s (signal %d trap %d), emulated %s (rc %d)",
		       outcome_name(nr.outcome), nr.signo, nr.trapno,
		       outcome_name(simd_outcome(rc)), rc);
		bad = true;
	}
	/* FOP (6-7), FIP (8-15), FDP (16-23): see the file comment. */
	uint8_t nfx[512];
	memcpy(nfx, nr.fx, 512);
	memset(nfx + 6, 0, 18);
	memset(efx + 6, 0, 18);
	if (!bad && memcmp(nfx, efx, 416)) {
		report(g, code, len, &insn, ops, "FXSAVE image differs (native %s)",
		       outcome_name(nr.outcome));
		dump_fx_diff(nfx, efx);
		bad = true;
	}
	for (unsigned i = 0; i < 15 && !bad; i++) {
		if (i == 4)
			continue;
		if (nr.gpr[i] != cpu.gpr[i]) {
			report(g, code, len, &insn, ops, "GPR %u native %016llx emulated %016llx", i,
			       (unsigned long long)nr.gpr[i], (unsigned long long)cpu.gpr[i]);
			bad = true;
		}
	}
	if (!bad && ((nr.rflags ^ cpu.rflags) & 0x8d5)) {
		report(g, code, len, &insn, ops, "RFLAGS native %llx emulated %llx",
		       (unsigned long long)nr.rflags, (unsigned long long)cpu.rflags);
		bad = true;
	}
	/*
	 * The hardware writes its multi-part stores — the 10-byte FSTP m80 and
	 * FBSTP, and the FNSTENV/FNSAVE/FXSAVE images — piece by piece, so a
	 * #PF on a later piece leaves the earlier ones written. The unit writes
	 * nothing before the fault (its contract, simd.h); either way the
	 * instruction restarts and rewrites everything, so the bytes are not
	 * compared in that case.
	 */
	bool split_store = nr.outcome == NATIVE_PF && mem &&
			   (mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) && mem->size > 64;
	if (!bad && !split_store) {
		unsigned lo, hi;
		pointer_bytes_in_memory(&insn, mem ? mem->size / 8 : 0, &lo, &hi);
		for (unsigned i = off + disp + lo; i < off + disp + hi && i < MEM_SIZE; i++)
			native_mem[i] = emu_mem[i] = 0;
		for (unsigned i = 0; i < MEM_SIZE; i++) {
			if (native_mem[i] != emu_mem[i]) {
				report(g, code, len, &insn, ops,
				       "memory at rdi%+d: native %02x emulated %02x",
				       (int)(i - off), native_mem[i], emu_mem[i]);
				bad = true;
				break;
			}
		}
	}
	if (bad) {
		g->mismatches++;
		total_mismatches++;
	}
}

/* ---- tests ------------------------------------------------------------ */

static unsigned cases_per_form = 48;
static const char *filter;      /* LODGE_SIMD_DIFF_FILTER: only forms whose key contains it */

static void run_family(enum family fam)
{
	unsigned before = total_mismatches, forms = 0, cases = 0;
	assert_true(native_arm());
	for (unsigned i = 0; i < ngroups; i++) {
		if (groups[i].fam != fam || (filter && !strstr(groups[i].key, filter)))
			continue;
		forms++;
		for (unsigned c = 0; c < cases_per_form; c++)
			run_case(&groups[i]);
		cases += groups[i].cases;
		if (!groups[i].cases) {
			printf("form \"%s\": no case could be built\n", groups[i].key);
			total_mismatches++;
		}
	}
	printf("%s: %u forms, %u cases, %u mismatches\n", family_name[fam], forms, cases,
	       total_mismatches - before);
	assert_true(forms > 0 || filter);
	assert_int_equal(total_mismatches - before, 0);
}

static void test_diff_x87(void **state) { (void)state; run_family(FAM_X87); }
static void test_diff_mmx(void **state) { (void)state; run_family(FAM_MMX); }
static void test_diff_sse(void **state) { (void)state; run_family(FAM_SSE); }
static void test_diff_sse2(void **state) { (void)state; run_family(FAM_SSE2); }
static void test_diff_sse3(void **state) { (void)state; run_family(FAM_SSE3); }
static void test_diff_ssse3(void **state) { (void)state; run_family(FAM_SSSE3); }

/* Every mnemonic the decoder puts in the six families, with its coverage. */
static void print_coverage(void)
{
	for (int fam = 0; fam < FAM_COUNT; fam++) {
		printf("coverage %s:", family_name[fam]);
		unsigned col = 0, mnems = 0;
		for (unsigned i = 0; i < ngroups; i++) {
			if (groups[i].fam != (enum family)fam)
				continue;
			bool first = true;
			for (unsigned j = 0; j < i; j++)
				if (groups[j].mnemonic == groups[i].mnemonic && groups[j].fam == groups[i].fam)
					first = false;
			if (!first)
				continue;
			unsigned forms = 0, cases = 0, faults = 0;
			for (unsigned j = i; j < ngroups; j++) {
				if (groups[j].mnemonic != groups[i].mnemonic || groups[j].fam != groups[i].fam)
					continue;
				forms++;
				cases += groups[j].cases;
				faults += groups[j].native_faults;
			}
			mnems++;
			char cell[64];
			snprintf(cell, sizeof(cell), " %s %u/%u/%u", ZydisMnemonicGetString(groups[i].mnemonic),
				 forms, cases, faults);
			if (col + strlen(cell) > 100) {
				printf("\n   ");
				col = 0;
			}
			printf("%s", cell);
			col += (unsigned)strlen(cell);
		}
		printf("\n  (%u mnemonics; each entry: forms/cases/natively faulting cases)\n", mnems);
	}
}

int main(void)
{
	const char *e = getenv("LODGE_SIMD_DIFF_CASES");
	if (e && atoi(e) > 0)
		cases_per_form = (unsigned)atoi(e);
	filter = getenv("LODGE_SIMD_DIFF_FILTER");
	e = getenv("LODGE_SIMD_DIFF_SEED");
	if (e && strtoull(e, NULL, 0))
		rng_state = strtoull(e, NULL, 0);
	native_mem = mmap(NULL, MEM_SIZE + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (native_mem == MAP_FAILED ||
	    mprotect(native_mem + MEM_SIZE, 4096, PROT_NONE) != 0 || !native_init()) {
		printf("SKIP: cannot map an executable buffer for native runs\n");
		return 0;
	}
	ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
	enumerate_forms();
	emu = simd_state_create();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_x87),
		cmocka_unit_test(test_diff_mmx),
		cmocka_unit_test(test_diff_sse),
		cmocka_unit_test(test_diff_sse2),
		cmocka_unit_test(test_diff_sse3),
		cmocka_unit_test(test_diff_ssse3),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	print_coverage();
	simd_state_destroy(emu);
	return rc;
}
