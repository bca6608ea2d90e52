/*
 * Unit tests for the HPET: capabilities, the main counter, one-shot timers in
 * 64- and 32-bit mode, periodic timers set up the way Linux does, edge and
 * level interrupts with the status register, routing capabilities, FSB
 * (MSI) delivery, the legacy replacement route (on an engine with in-kernel
 * controllers and on our own stack, where it silences the PIT), and the
 * interrupt rate limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apic/hpet.h"
#include "apic/lapic.h"
#include "fake_irqmachine.h"
#include "machine.h"
#include "vclock.h"

#define GCAP 0x000
#define GCONF 0x010
#define GISR 0x020
#define COUNTER 0x0f0
#define TCONF(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))
#define TFSB(n) (0x110 + 0x20 * (n))

#define ENABLE 0x1
#define LEGACY 0x2
#define T_LEVEL (1u << 1)
#define T_ENB (1u << 2)
#define T_PERIODIC (1u << 3)
#define T_VALSET (1u << 6)
#define T_32 (1u << 8)
#define T_ROUTE(p) ((uint64_t)(p) << 9)
#define T_FSB (1u << 14)

/* KVM-like engine: the HPET is the only device, lines are recorded. */
static int setup(void **state)
{
	struct fim *f = fim_create_kvm(1);
	f->hpet = machine_add_device(f->m, &hpet_desc, NULL);
	assert_non_null(f->hpet);
	*state = f;
	return 0;
}

static uint64_t hr(struct fim *f, unsigned off)
{
	return fim_read(f, HPET_BASE + off, 8);
}

static void hw(struct fim *f, unsigned off, uint64_t v)
{
	fim_write(f, HPET_BASE + off, 8, v);
}

static void test_caps_and_counter(void **state)
{
	struct fim *f = *state;
	assert_int_equal(hr(f, GCAP), 0x009896808086a201ULL);
	assert_int_equal(fim_read(f, HPET_BASE + GCAP + 4, 4), 10000000);  /* fs */
	assert_int_equal(hr(f, COUNTER), 0);
	fim_advance(f, 1000);
	assert_int_equal(hr(f, COUNTER), 0);            /* halted */
	hw(f, GCONF, ENABLE);
	fim_advance(f, 1005);
	assert_int_equal(hr(f, COUNTER), 100);          /* 10 ns per tick */
	hw(f, COUNTER, 12345);                          /* running: ignored */
	assert_int_equal(hr(f, COUNTER), 100);
	hw(f, GCONF, 0);
	fim_advance(f, 1000);
	assert_int_equal(hr(f, COUNTER), 100);
	fim_write(f, HPET_BASE + COUNTER + 4, 4, 1);    /* upper half while halted */
	assert_int_equal(hr(f, COUNTER), (1ULL << 32) | 100);
	hw(f, COUNTER, 0);
	assert_int_equal(hr(f, COUNTER), 0);
	assert_int_equal(hr(f, TCONF(0)) >> 32, 0x00f00000);   /* pins 20-23 */
	assert_int_equal(hr(f, TCONF(0)) & 0xffff, (1u << 4) | (1u << 5) | (1u << 15));
	assert_int_equal(hr(f, TCMP(1)), ~0ULL);
	assert_int_equal(hr(f, 0x300), 0);              /* outside the timers */
}

static void test_oneshot_64_and_32(void **state)
{
	struct fim *f = *state;
	hw(f, TCONF(0), T_ENB | T_ROUTE(20));
	hw(f, TCMP(0), 500);
	hw(f, GCONF, ENABLE);
	int64_t t0 = f->now;
	fim_run_until(f, t0 + 4999);
	assert_int_equal(f->rises[20], 0);
	fim_run_until(f, t0 + 5000);
	assert_int_equal(f->rises[20], 1);
	assert_int_equal(f->level[20], 0);              /* an edge: raised and lowered */
	fim_advance(f, 60LL * NS_PER_SEC);
	assert_int_equal(f->rises[20], 1);              /* 64-bit: once */
	/* A comparator behind the counter never matches in 64-bit mode. */
	hw(f, TCMP(0), 10);
	fim_advance(f, NS_PER_SEC);
	assert_int_equal(f->rises[20], 1);
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
	/* 32-bit mode compares the low half: it matches again after the wrap. */
	uint64_t now = hr(f, COUNTER);
	hw(f, TCONF(1), T_ENB | T_32 | T_ROUTE(21));
	hw(f, TCMP(1), (uint32_t)(now + 100));
	assert_int_equal(hr(f, TCMP(1)), (uint32_t)(now + 100));
	t0 = f->now;
	fim_run_until(f, t0 + 1000);
	assert_int_equal(f->rises[21], 1);
	fim_run_until(f, t0 + 1000 + (int64_t)(1ULL << 32) * 10 - 1);
	assert_int_equal(f->rises[21], 1);
	fim_run_until(f, t0 + 1000 + (int64_t)(1ULL << 32) * 10);
	assert_int_equal(f->rises[21], 2);
	/* Halting stops matches. */
	hw(f, GCONF, 0);
	fim_advance(f, 100LL * NS_PER_SEC);
	assert_int_equal(f->rises[21], 2);
}

/* The 64-bit counter wraps; a comparator just past the wrap still matches. */
static void test_counter_wrap(void **state)
{
	struct fim *f = *state;
	hw(f, COUNTER, 0ULL - 20000);                   /* 200 us before the wrap */
	hw(f, TCONF(0), T_ENB | T_ROUTE(20));
	hw(f, TCMP(0), 50);
	hw(f, TCONF(1), T_ENB | T_ROUTE(21) | T_PERIODIC | T_VALSET);
	hw(f, TCMP(1), 0ULL - 15000);
	hw(f, TCMP(1), 20000);
	hw(f, GCONF, ENABLE);
	int64_t t0 = f->now;
	fim_run_until(f, t0 + 50000);
	assert_int_equal(f->rises[21], 1);              /* matched 2^64 - 15000 */
	assert_int_equal(hr(f, TCMP(1)), 5000);         /* the next period wrapped */
	fim_run_until(f, t0 + 199990);
	assert_int_equal(hr(f, COUNTER), ~0ULL);
	assert_int_equal(f->rises[20], 0);
	fim_run_until(f, t0 + 200500);                  /* wrapped to 50 */
	assert_int_equal(f->rises[20], 1);
	fim_run_until(f, t0 + 249990);
	assert_int_equal(f->rises[21], 1);
	fim_run_until(f, t0 + 250000);
	assert_int_equal(f->rises[21], 2);
	assert_int_equal(hr(f, TCMP(1)), 25000);
	fim_advance(f, NS_PER_SEC);
	assert_int_equal(f->rises[20], 1);
}

/* hpet_clkevt_set_state_periodic() in Linux: SETVAL, comparator = now +
 * delta, then the period, with 32-bit accesses. */
static void test_periodic_linux_legacy(void **state)
{
	struct fim *f = *state;
	hw(f, GCONF, ENABLE | LEGACY);
	uint32_t delta = 100000;                        /* 1 ms */
	fim_write(f, HPET_BASE + TCONF(0), 4, T_ENB | T_PERIODIC | T_VALSET | T_32);
	uint32_t now = (uint32_t)fim_read(f, HPET_BASE + COUNTER, 4);
	fim_write(f, HPET_BASE + TCMP(0), 4, now + delta);
	fim_write(f, HPET_BASE + TCMP(0), 4, delta);
	assert_false(hr(f, TCONF(0)) & T_VALSET);
	int64_t t0 = f->now;
	fim_run_until(f, t0 + 10 * 1000 * 1000);
	assert_int_equal(f->rises[0], 10);              /* GSI 0: IRQ0 / pin 2 */
	assert_int_equal(f->rises[20], 0);
	assert_int_equal(hr(f, TCMP(0)), now + 11 * delta);
	/* Timer 1 goes to IRQ8 in legacy mode. */
	hw(f, TCONF(1), T_ENB | T_ROUTE(22));
	hw(f, TCMP(1), hr(f, COUNTER) + 10);
	fim_advance(f, 1000);
	assert_int_equal(f->rises[8], 1);
	assert_int_equal(f->rises[22], 0);
	/* Leaving legacy mode: timer 1 uses its own route again. */
	hw(f, GCONF, ENABLE);
	hw(f, TCMP(1), hr(f, COUNTER) + 10);
	fim_advance(f, 1000);
	assert_int_equal(f->rises[22], 1);
}

static void test_level_and_status(void **state)
{
	struct fim *f = *state;
	hw(f, GCONF, ENABLE);
	hw(f, TCONF(2), T_ENB | T_LEVEL | T_ROUTE(23));
	hw(f, TCMP(2), hr(f, COUNTER) + 100);
	fim_advance(f, 1000);
	assert_int_equal(f->level[23], 1);
	assert_int_equal(hr(f, GISR), 0x4);
	fim_advance(f, 1000);
	assert_int_equal(f->level[23], 1);              /* held until cleared */
	hw(f, GISR, 0x3);                               /* other bits: no effect */
	assert_int_equal(f->level[23], 1);
	hw(f, GISR, 0x4);
	assert_int_equal(f->level[23], 0);
	assert_int_equal(hr(f, GISR), 0);
	/* Interrupts disabled: the status bit still reports the match. */
	hw(f, TCONF(2), T_LEVEL | T_ROUTE(23));
	hw(f, TCMP(2), hr(f, COUNTER) + 100);
	fim_advance(f, 1000);
	assert_int_equal(hr(f, GISR), 0x4);
	assert_int_equal(f->level[23], 0);
	/* Enabling the interrupt then raises the line. */
	hw(f, TCONF(2), T_ENB | T_LEVEL | T_ROUTE(23));
	assert_int_equal(f->level[23], 1);
	/* A route change moves the asserted line. */
	hw(f, TCONF(2), T_ENB | T_LEVEL | T_ROUTE(21));
	assert_int_equal(f->level[23], 0);
	assert_int_equal(f->level[21], 1);
	/* Unsupported routes do not stick. */
	hw(f, TCONF(2), T_ENB | T_LEVEL | T_ROUTE(5));
	assert_int_equal((hr(f, TCONF(2)) >> 9) & 0x1f, 21);
	/* Edge mode has no status. */
	hw(f, TCONF(2), T_ENB | T_ROUTE(21));
	assert_int_equal(hr(f, GISR), 0);
	assert_int_equal(f->level[21], 0);
}

static void test_fsb_msi(void **state)
{
	struct fim *f = *state;
	hw(f, GCONF, ENABLE);
	hw(f, TFSB(1), 0xfee01000ULL << 32 | 0x41);
	hw(f, TCONF(1), T_ENB | T_FSB | T_ROUTE(20));
	hw(f, TCMP(1), hr(f, COUNTER) + 50);
	fim_advance(f, 1000);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_addr, 0xfee01000);
	assert_int_equal(f->msi_data, 0x41);
	assert_int_equal(f->rises[20], 0);
}

static void test_tiny_period_is_bounded(void **state)
{
	struct fim *f = *state;
	hw(f, GCONF, ENABLE);
	hw(f, TCONF(0), T_ENB | T_PERIODIC | T_VALSET | T_ROUTE(20));
	hw(f, TCMP(0), hr(f, COUNTER) + 1);
	hw(f, TCMP(0), 1);                              /* a 10 ns period */
	unsigned runs = f->timer_runs;
	fim_advance(f, 10 * 1000 * 1000);
	assert_in_range(f->rises[20], 99, 101);
	assert_true(f->timer_runs - runs <= 101);
	assert_true(hr(f, TCMP(0)) >= hr(f, COUNTER));
	/* Period 0 in periodic mode: one match, then nothing. */
	hw(f, TCONF(1), T_ENB | T_PERIODIC | T_VALSET | T_ROUTE(21));
	hw(f, TCMP(1), hr(f, COUNTER) + 5);
	hw(f, TCMP(1), 0);
	assert_int_equal(hr(f, TCMP(1)), hr(f, COUNTER) + 5);
	fim_advance(f, 10 * 1000 * 1000);
	assert_int_equal(f->rises[21], 1);
	/* Periodic comparators advance even when nobody is told (no vtimer). */
	hw(f, TCONF(0), T_PERIODIC | T_VALSET | T_ROUTE(20));
	hw(f, TCMP(0), hr(f, COUNTER) + 1000);
	hw(f, TCMP(0), 1000);
	uint64_t c = hr(f, COUNTER);
	fim_advance(f, 25 * 1000 * 10);
	uint64_t cmp = hr(f, TCMP(0));
	assert_true(cmp > hr(f, COUNTER));
	assert_int_equal((cmp - c) % 1000, 0);
}

/* Our own stack: the legacy route takes IRQ0 from the PIT and reaches the
 * LAPIC through I/O APIC pin 2. */
static void test_legacy_on_soft_stack(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	lapic_mmio_write(l, 0xf0, 0x1ff);
	fim_outb(f, 0x21, 0xff);                        /* 8259 masked */
	fim_write(f, 0xfec00000, 4, 0x14);              /* pin 2: vector 0x30 */
	fim_write(f, 0xfec00010, 4, 0x30);
	/* The PIT runs at reset (mode 3, 18.2 Hz) and reaches pin 2. */
	fim_advance(f, 60 * 1000 * 1000);
	assert_int_equal(lapic_ack_interrupt(l), 0x30);
	lapic_mmio_write(l, 0xb0, 0);
	hw(f, GCONF, ENABLE | LEGACY);
	fim_advance(f, 200 * 1000 * 1000);
	assert_int_equal(lapic_ack_interrupt(l), -1);   /* the PIT is silent */
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
	hw(f, TCONF(0), T_ENB);
	hw(f, TCMP(0), hr(f, COUNTER) + 100);
	fim_advance(f, 1000);
	assert_int_equal(lapic_ack_interrupt(l), 0x30);
	lapic_mmio_write(l, 0xb0, 0);
	hw(f, GCONF, ENABLE);                           /* the PIT gets IRQ0 back */
	fim_advance(f, 60 * 1000 * 1000);
	assert_int_equal(lapic_ack_interrupt(l), 0x30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps_and_counter, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_oneshot_64_and_32, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_counter_wrap, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_periodic_linux_legacy, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_level_and_status, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_fsb_msi, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_tiny_period_is_bounded, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_on_soft_stack, fim_setup_pc, fim_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
