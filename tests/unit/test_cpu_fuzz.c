/*
 * Random-bytes robustness test of the software CPU: whatever a guest
 * executes, the monitor must neither crash nor hang. Each seed fills guest
 * RAM around the code with random bytes, points every IDT/IVT entry at
 * random places in it, starts the vCPU in one of real mode, 16/32-bit
 * protected mode, virtual-8086 mode or 64-bit long mode, and runs it in
 * instruction-count mode for a bounded number of instructions (a guest-time
 * timer kicks the vCPU out). The run must end by HLT, by a triple fault or
 * by that kick; anything else, a crash or a sanitizer report fails the test.
 *
 * `test_cpu_fuzz` runs 300 seeds (part of make check, about a second);
 * `test_cpu_fuzz SEEDS [FIRST]` runs as many as asked (the long fuzz run:
 * `make cpu-fuzz` / ctest -L fuzz). A failing seed is printed so it can be
 * replayed alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guestmem.h"
#include "test_cpu_harness.h"
#include "vclock.h"

#define FUZZ_INSNS 200000               /* guest ns = instructions in icount mode */
#define FUZZ_REGION 0x40000             /* random bytes from 0 to here and at CODE */

static unsigned fuzz_seeds = 300, fuzz_first = 1;

static uint64_t fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct fuzz_kick {
	struct vcpu *v;
	bool fired;
};

/* Timer callback (lock held): end the run. */
static void fuzz_timeout(void *opaque, int64_t now)
{
	struct fuzz_kick *k = opaque;
	k->fired = true;
	vcpu_kick(k->v);
}

static void fuzz_seg(struct vcpu_segment *s, uint16_t sel, uint64_t base, uint32_t limit,
		     uint8_t type, bool db, bool l, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->db = db;
	s->l = l;
	s->g = limit > 0xfffff;
}

/* Put the vCPU in one of the five modes, with random registers. */
static void fuzz_mode(struct harness *h, uint64_t *rs, unsigned mode)
{
	struct vcpu_sregs s;
	struct vcpu_regs r;
	accel_emu.vcpu_reset(&h->v);
	accel_emu.get_sregs(&h->v, &s);
	memset(&r, 0, sizeof(r));
	uint64_t *g = &r.rax;
	for (unsigned i = 0; i < 16; i++)
		g[i] = fuzz_next(rs) & (fuzz_next(rs) & 1 ? 0xffff : ~0ULL);
	r.rflags = 0x2 | (fuzz_next(rs) & 0xcd5);     /* arith, DF, maybe IF/TF */
	s.gdt = (struct vcpu_dtable){ 0x1000, 0xfff };
	s.ldt.unusable = 1;
	switch (mode) {
	case 0:                 /* real mode at 1000:0000 */
		fuzz_seg(&s.cs, 0x1000, 0x10000, 0xffff, 0xb, false, false, 0);
		s.idt = (struct vcpu_dtable){ 0, 0x3ff };
		r.rip = 0;
		r.rsp = 0xfff0;
		break;
	case 1:                 /* 16-bit protected mode */
	case 2:                 /* 32-bit protected mode */
	case 3:                 /* virtual-8086 mode */
		s.cr0 = 0x11;
		fuzz_seg(&s.cs, 8, mode == 1 ? 0x10000 : 0, mode == 1 ? 0xffff : 0xffffffff, 0xb,
			 mode != 1, false, 0);
		fuzz_seg(&s.ds, 16, 0, 0xffffffff, 3, true, false, 0);
		s.es = s.ss = s.fs = s.gs = s.ds;
		s.idt = (struct vcpu_dtable){ 0x2000, 0x7ff };
		s.tr.base = 0x3000;
		s.tr.limit = 0x2067;
		s.tr.type = 0xb;
		s.tr.present = 1;
		s.tr.selector = 0x28;
		r.rip = mode == 1 ? 0 : HARNESS_CODE;
		r.rsp = 0x80000;
		if (mode == 3) {
			r.rflags |= 0x20000;
			fuzz_seg(&s.cs, 0x1000, 0x10000, 0xffff, 0xb, false, false, 3);
			s.ss = s.ds = s.es = s.cs;
			s.ss.type = s.ds.type = s.es.type = 3;
			r.rip = 0;
			r.rsp = 0xfff0;
		}
		break;
	default:                /* 64-bit long mode */
		harness_long_mode(h);
		accel_emu.get_sregs(&h->v, &s);
		s.gdt = (struct vcpu_dtable){ 0x1000, 0xfff };
		s.idt = (struct vcpu_dtable){ 0x2000, 0xfff };
		s.tr.base = 0x3000;
		s.tr.limit = 0x2067;
		s.tr.type = 0xb;
		s.tr.present = 1;
		r.rip = HARNESS_CODE;
		r.rsp = 0x80000;
		break;
	}
	accel_emu.set_sregs(&h->v, &s);
	accel_emu.set_regs(&h->v, &r);
}

/* Random bytes everywhere the guest is likely to look: low memory (IVT,
 * GDT at 0x1000, IDT at 0x2000, TSS at 0x3000), the real-mode code segment
 * and the code area. Page tables of long mode (0x1000-0x3fff) are rebuilt
 * by harness_long_mode afterwards so most of the address space is mapped. */
static void fuzz_memory(struct harness *h, uint64_t *rs)
{
	static uint8_t buf[FUZZ_REGION];
	for (unsigned i = 0; i < FUZZ_REGION; i += 8) {
		uint64_t v = fuzz_next(rs);
		memcpy(buf + i, &v, 8);
	}
	/* Bias gates and descriptors toward present and plausible. */
	for (unsigned i = 0x1000; i < 0x3000; i += 8)
		if (fuzz_next(rs) & 1)
			buf[i + 5] |= 0x80;
	guestmem_write(h->m.mem, 0, buf, FUZZ_REGION);
	guestmem_write(h->m.mem, HARNESS_CODE, buf + 0x10000, 0x10000);
}

static int fuzz_one(struct harness *h, uint64_t seed)
{
	uint64_t rs = seed * 0x9e3779b97f4a7c15ULL | 1;
	unsigned mode = (unsigned)(fuzz_next(&rs) % 5);
	accel_emu.vcpu_reset(&h->v);
	fuzz_memory(h, &rs);
	fuzz_mode(h, &rs, mode);

	struct fuzz_kick k = { &h->v, false };
	struct vtimer *t = vtimer_create(h->m.clock, fuzz_timeout, &k);
	machine_lock(&h->m);
	vtimer_arm(t, vclock_now(h->m.clock) + FUZZ_INSNS);
	machine_unlock(&h->m);
	enum vcpu_exit_reason why = VCPU_EXIT_NONE;
	for (unsigned runs = 0; runs < 1000 && !k.fired; runs++) {
		struct vcpu_exit e = { 0 };
		accel_emu.vcpu_run(&h->v, &e);
		why = e.reason;
		if (why == VCPU_EXIT_HLT || why == VCPU_EXIT_SHUTDOWN || why == VCPU_EXIT_ERROR)
			break;
	}
	machine_lock(&h->m);
	vtimer_destroy(t);
	machine_unlock(&h->m);
	if (why == VCPU_EXIT_ERROR || (why == VCPU_EXIT_NONE && !k.fired)) {
		fprintf(stderr, "seed %llu (mode %u): the run ended with %d\n",
			(unsigned long long)seed, mode, why);
		return -1;
	}
	return 0;
}

static void test_cpu_random_bytes(void **state)
{
	struct harness *h = *state;
	unsigned bad = 0;
	for (unsigned i = 0; i < fuzz_seeds; i++)
		if (fuzz_one(h, fuzz_first + i))
			bad++;
	assert_int_equal(bad, 0);
}

static int fuzz_setup(void **state)
{
	static struct harness h;
	if (!harness_init_icount(&h))
		return -1;
	*state = &h;
	return 0;
}

static int fuzz_teardown(void **state)
{
	harness_fini(*state);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		fuzz_seeds = (unsigned)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		fuzz_first = (unsigned)strtoul(argv[2], NULL, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_random_bytes),
	};
	return cmocka_run_group_tests(tests, fuzz_setup, fuzz_teardown);
}
