/*
 * Hostile-guest tests for the interrupt controllers and timers: every
 * register offset at every access size with garbage, long random sequences
 * of guest and device actions, and timers programmed at absurd rates. The
 * monitor must not crash or spin (fim_run_until fails on timers that keep
 * firing at one instant), timer work per simulated second must stay bounded,
 * and after a reset every device must work normally again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apic/hpet.h"
#include "apic/ioapic.h"
#include "apic/lapic.h"
#include "fake_irqmachine.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define NCPUS 2
/* PIT + 2 LAPICs + 3 HPET timers, each at most 10000 runs per second. */
#define MAX_RUNS_PER_SEC (6 * 10000 + 100)

static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
				  0x40, 0x41, 0x42, 0x43, 0x61 };

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static uint64_t garbage(struct rng *r)
{
	switch (rnd(r) % 4) {
	case 0:
		return 0;
	case 1:
		return ~0ULL;
	default:
		return rnd(r);
	}
}

static int setup(void **state)
{
	log_set_level(LOG_ERROR);       /* guest warnings are expected by the thousand */
	struct fim *f = fim_create(NCPUS);
	fim_add_pc(f, true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fim_destroy(*state);
	log_set_level(LOG_INFO);
	return 0;
}

static void reset_all(struct fim *f)
{
	machine_lock(f->m);
	for (unsigned i = f->m->ndevs; i-- > 0;)
		if (f->m->devs[i].desc->reset)
			f->m->devs[i].desc->reset(f->m->devs[i].inst);
	machine_unlock(f->m);
}

/* The work the timers do over one simulated second is bounded. */
static void assert_timer_work_bounded(struct fim *f)
{
	unsigned runs = f->timer_runs;
	fim_advance(f, NS_PER_SEC);
	assert_true(f->timer_runs - runs <= MAX_RUNS_PER_SEC);
}

/* After a reset the stack behaves as on a fresh machine. */
static void assert_works_after_reset(struct fim *f)
{
	reset_all(f);
	struct lapic *bsp = fim_lapic(f, 0);
	while (lapic_take_nmi(bsp) || lapic_take_init(bsp) || lapic_take_sipi(bsp) >= 0)
		;
	for (unsigned gsi = 0; gsi < IRQ_MAX_GSI; gsi++)
		fim_irq(f, gsi, 0);
	fim_pic_init(f, 0x01);
	fim_outb(f, 0x21, 0xfd);
	fim_irq(f, 1, 1);
	fim_irq(f, 1, 0);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x09);
	fim_outb(f, 0x20, 0x20);
	lapic_mmio_write(bsp, 0xf0, 0x1ff);
	lapic_mmio_write(bsp, 0x3e0, 0xb);
	lapic_mmio_write(bsp, 0x320, 0x44);
	lapic_mmio_write(bsp, 0x380, 1000);
	fim_advance(f, 1000);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x44);
	lapic_mmio_write(bsp, 0xb0, 0);
	fim_write(f, HPET_BASE + 0x10, 8, 1);
	fim_advance(f, 1000);
	assert_true(fim_read(f, HPET_BASE + 0xf0, 8) >= 100);
}

static void test_every_register_with_garbage(void **state)
{
	struct fim *f = *state;
	struct rng r = { 0x243f6a8885a308d3ULL };
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		for (unsigned k = 0; k < 64; k++) {
			unsigned size = sizes[k % 3];   /* port I/O is 1, 2 or 4 bytes */
			iobus_write(f->m->pio, ports[p], size, garbage(&r));
			iobus_read(f->m->pio, ports[p], size);
		}
	}
	for (unsigned s = 0; s < 4; s++) {
		for (uint64_t off = 0; off < 0x1000; off++) {
			fim_read(f, IOAPIC_BASE + off, sizes[s]);
			fim_write(f, IOAPIC_BASE + off, sizes[s], garbage(&r));
		}
		for (uint64_t off = 0; off < 0x400; off++) {
			fim_read(f, HPET_BASE + off, sizes[s]);
			fim_write(f, HPET_BASE + off, sizes[s], garbage(&r));
		}
		fim_advance(f, 1000);
	}
	for (unsigned c = 0; c < NCPUS; c++) {
		struct lapic *l = fim_lapic(f, c);
		for (uint32_t off = 0; off < 0x1000; off++) {
			lapic_mmio_read(l, off);
			lapic_mmio_write(l, off, (uint32_t)garbage(&r));
		}
		uint64_t v;
		lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00c00);
		for (uint32_t msr = 0x800; msr <= 0x8ff; msr++) {
			lapic_rdmsr(l, msr, &v);
			lapic_wrmsr(l, msr, garbage(&r));
		}
		for (unsigned k = 0; k < 64; k++)
			lapic_wrmsr(l, MSR_IA32_APIC_BASE, garbage(&r));
		lapic_set_tsc_deadline(l, (int64_t)(garbage(&r) >> 1));
		lapic_set_cr8(l, (uint8_t)garbage(&r));
		for (unsigned k = 0; k < 300; k++)
			lapic_ack_interrupt(l);
	}
	assert_timer_work_bounded(f);
	assert_works_after_reset(f);
}

static void test_random_sequences(void **state)
{
	struct fim *f = *state;
	struct rng r = { 0x13198a2e03707344ULL };
	for (unsigned n = 0; n < 200000; n++) {
		struct lapic *l = fim_lapic(f, (unsigned)(rnd(&r) % NCPUS));
		uint64_t v = garbage(&r), pick = rnd(&r);
		switch (pick % 12) {
		case 0:
			fim_outb(f, ports[rnd(&r) % (sizeof(ports) / sizeof(ports[0]))], (uint8_t)v);
			break;
		case 1:
			fim_inb(f, ports[rnd(&r) % (sizeof(ports) / sizeof(ports[0]))]);
			break;
		case 2:
			fim_write(f, IOAPIC_BASE + (pick >> 8) % 0x20, 4, v);
			break;
		case 3:
			fim_write(f, HPET_BASE + ((pick >> 8) % 0x180 & ~7ULL), 8, v);
			break;
		case 4:
			fim_read(f, HPET_BASE + ((pick >> 8) % 0x180 & ~7ULL), 8);
			break;
		case 5:
			lapic_mmio_write(l, (uint32_t)((pick >> 8) % 0x400) & ~0xfu, (uint32_t)v);
			break;
		case 6:
			lapic_wrmsr(l, 0x800 + (uint32_t)((pick >> 8) % 0x40), v);
			break;
		case 7:
			fim_irq(f, (unsigned)((pick >> 8) % IRQ_MAX_GSI), (int)(v & 1));
			break;
		case 8:
			fim_msi(f, 0xfee00000 | (v & 0xff00c), (uint32_t)(v >> 32));
			break;
		case 9:
			lapic_ack_interrupt(l);
			lapic_take_nmi(l);
			lapic_take_init(l);
			lapic_take_sipi(l);
			break;
		case 10:
			lapic_set_tsc_deadline(l, f->now + (int64_t)(v % 100000) - 1000);
			break;
		default:
			fim_advance(f, (int64_t)(v % 100000));
			break;
		}
	}
	assert_timer_work_bounded(f);
	assert_works_after_reset(f);
}

static void test_absurd_timer_rates(void **state)
{
	struct fim *f = *state;
	/* Every controller open, every timer as fast as it can be asked. */
	fim_pic_init(f, 0x03);                          /* auto EOI */
	fim_outb(f, 0x43, 0x34);                        /* PIT ch0, mode 2, count 1 */
	fim_outb(f, 0x40, 1);
	fim_outb(f, 0x40, 0);
	for (unsigned c = 0; c < NCPUS; c++) {
		struct lapic *l = fim_lapic(f, c);
		lapic_mmio_write(l, 0xf0, 0x1ff);
		lapic_mmio_write(l, 0x3e0, 0xb);
		lapic_mmio_write(l, 0x320, 0x20040);
		lapic_mmio_write(l, 0x380, 1);          /* 1 ns periodic */
	}
	fim_write(f, HPET_BASE + 0x10, 8, 1);
	for (unsigned t = 0; t < 3; t++) {
		uint64_t conf = 0x100 + 0x20 * t, cmp = conf + 8;
		fim_write(f, HPET_BASE + conf, 8, (1u << 2) | (1u << 3) | (1u << 6) | (20u + t) << 9);
		fim_write(f, HPET_BASE + cmp, 8, 0);
		fim_write(f, HPET_BASE + cmp, 8, t == 2 ? 0 : 1);
	}
	unsigned runs = f->timer_runs;
	for (unsigned ms = 0; ms < 1000; ms++) {
		fim_advance(f, 1000 * 1000);
		/* The CPUs take what they can; the PIT goes through the 8259. */
		for (unsigned c = 0; c < NCPUS; c++) {
			struct lapic *l = fim_lapic(f, c);
			for (int v; (v = lapic_ack_interrupt(l)) >= 0;)
				if (v >= 0x20)
					lapic_mmio_write(l, 0xb0, 0);
		}
		/* A TSC deadline always in the past fires at once, no timer. */
		lapic_mmio_write(fim_lapic(f, 1), 0x320, 0x40041);
		lapic_set_tsc_deadline(fim_lapic(f, 1), 0);
		lapic_mmio_write(fim_lapic(f, 1), 0x320, 0x20040);
		lapic_mmio_write(fim_lapic(f, 1), 0x380, 1);
	}
	assert_true(f->timer_runs - runs <= MAX_RUNS_PER_SEC);
	assert_true(f->timer_runs - runs >= 10000);     /* they did run */
	assert_works_after_reset(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_register_with_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_sequences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absurd_timer_rates, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
