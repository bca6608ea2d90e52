/*
 * Unit tests for the 8254 PIT and port 0x61: OUT of every mode over time,
 * IRQ0 edges, gates, counter latch and read-back, LSB/MSB sequences, BCD,
 * the calibration loops of Linux and SeaBIOS, the IRQ0 rate limit, and the
 * timer going quiet while nobody can see IRQ0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fake_irqmachine.h"
#include "isa/pit.h"
#include "machine.h"
#include "vclock.h"

#define HZ 1193182

static int64_t ns_of_tick(int64_t tick)
{
	return (tick * NS_PER_SEC + HZ - 1) / HZ;
}

static int64_t tick_of(int64_t ns)
{
	return (int64_t)((__int128)ns * HZ / NS_PER_SEC);
}

static int setup(void **state)
{
	struct fim *f = fim_create(1);
	fim_capture_irqs(f);
	f->pit = machine_add_device(f->m, &pit_desc, NULL);
	assert_non_null(f->pit);
	*state = f;
	return 0;
}

/* Program a counter with a control word and a 16-bit count (LSB, MSB). */
static int64_t program(struct fim *f, unsigned ch, uint8_t mode_bits, uint16_t count)
{
	fim_outb(f, 0x43, (uint8_t)(ch << 6 | 0x30 | mode_bits));
	fim_outb(f, (uint16_t)(0x40 + ch), (uint8_t)count);
	fim_outb(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
	return tick_of(f->now);
}

static void at_tick(struct fim *f, int64_t tick)
{
	fim_run_until(f, ns_of_tick(tick));
}

static bool out_of(struct fim *f, unsigned ch)
{
	fim_outb(f, 0x43, (uint8_t)(0xe0 | 2u << ch));   /* read-back, status only */
	return fim_inb(f, (uint16_t)(0x40 + ch)) & 0x80;
}

static uint16_t read_count(struct fim *f, unsigned ch)
{
	fim_outb(f, 0x43, (uint8_t)(ch << 6));          /* counter latch */
	uint16_t lo = fim_inb(f, (uint16_t)(0x40 + ch));
	return (uint16_t)(lo | fim_inb(f, (uint16_t)(0x40 + ch)) << 8);
}

static void test_mode0_interrupt_on_terminal_count(void **state)
{
	struct fim *f = *state;
	int64_t t = program(f, 0, 0 << 1, 1000);
	unsigned base = f->rises[0];
	assert_false(out_of(f, 0));
	at_tick(f, t + 999);
	assert_int_equal(f->rises[0], base);
	assert_false(out_of(f, 0));
	assert_int_equal(read_count(f, 0), 1);
	at_tick(f, t + 1000);
	assert_int_equal(f->rises[0], base + 1);
	assert_true(out_of(f, 0));
	/* The counter wraps and keeps counting, OUT stays high, no more IRQs. */
	at_tick(f, t + 1001);
	assert_int_equal(read_count(f, 0), 0xffff);
	fim_advance(f, NS_PER_SEC);
	assert_int_equal(f->rises[0], base + 1);
	assert_true(out_of(f, 0));
	/* Nothing left to wait for. */
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
}

static void test_mode2_rate_generator(void **state)
{
	struct fim *f = *state;
	int64_t t = program(f, 0, 2 << 1, 11932);       /* ~100 Hz */
	unsigned base = f->rises[0];
	assert_true(out_of(f, 0));
	at_tick(f, t + 11930);
	assert_true(out_of(f, 0));
	at_tick(f, t + 11931);
	assert_false(out_of(f, 0));                     /* low for the last tick */
	assert_int_equal(read_count(f, 0), 1);
	at_tick(f, t + 11932);
	assert_true(out_of(f, 0));
	assert_int_equal(read_count(f, 0), 11932);
	at_tick(f, t + 10 * 11932);
	assert_int_equal(f->rises[0] - base, 10);
	/* A new count without a control word waits for the period's end. */
	at_tick(f, t + 10 * 11932 + 500);
	fim_outb(f, 0x40, 200);
	fim_outb(f, 0x40, 0);
	at_tick(f, t + 11 * 11932 - 1);
	assert_int_equal(f->rises[0] - base, 10);
	at_tick(f, t + 11 * 11932);
	assert_int_equal(f->rises[0] - base, 11);
	at_tick(f, t + 11 * 11932 + 200);
	assert_int_equal(f->rises[0] - base, 12);
	at_tick(f, t + 11 * 11932 + 400);
	assert_int_equal(f->rises[0] - base, 13);
}

static void test_mode3_square_wave(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x61, 0x01);                        /* gate 2 on, speaker off */
	int64_t t = program(f, 2, 3 << 1, 100);
	at_tick(f, t + 10);
	assert_true(fim_inb(f, 0x61) & 0x20);
	assert_int_equal(read_count(f, 2), 80);         /* counts down by two */
	at_tick(f, t + 49);
	assert_true(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 50);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 99);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 100);
	assert_true(fim_inb(f, 0x61) & 0x20);
	/* Odd count: high for (N+1)/2, low for (N-1)/2. */
	t = program(f, 2, 3 << 1, 5);
	at_tick(f, t + 2);
	assert_true(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 3);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 4);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 5);
	assert_true(fim_inb(f, 0x61) & 0x20);
	/* Gate low forces OUT high and stops the counter. */
	at_tick(f, t + 8);
	fim_outb(f, 0x61, 0x00);
	assert_true(fim_inb(f, 0x61) & 0x20);
	/* On IRQ0 a square wave makes one edge per period. */
	unsigned base = f->rises[0];
	t = program(f, 0, 3 << 1, 1193);
	at_tick(f, t + 20 * 1193);
	assert_int_equal(f->rises[0] - base, 20);
}

static void test_mode4_software_strobe(void **state)
{
	struct fim *f = *state;
	int64_t t = program(f, 0, 4 << 1, 10);
	unsigned base = f->rises[0];
	assert_true(out_of(f, 0));
	at_tick(f, t + 10);
	assert_false(out_of(f, 0));                     /* the one-tick strobe */
	assert_int_equal(f->rises[0], base);
	at_tick(f, t + 11);
	assert_true(out_of(f, 0));
	assert_int_equal(f->rises[0], base + 1);        /* IRQ0 on the rising edge */
	fim_advance(f, NS_PER_SEC / 10);
	assert_int_equal(f->rises[0], base + 1);
}

static void test_modes_1_and_5_gate_triggered(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x61, 0x00);
	int64_t t = program(f, 2, 1 << 1, 20);
	at_tick(f, t + 100);
	assert_true(fim_inb(f, 0x61) & 0x20);           /* waits for a trigger */
	fim_outb(f, 0x61, 0x01);
	int64_t g = tick_of(f->now);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, g + 19);
	assert_false(fim_inb(f, 0x61) & 0x20);
	assert_int_equal(read_count(f, 2), 1);
	at_tick(f, g + 20);
	assert_true(fim_inb(f, 0x61) & 0x20);
	/* Retrigger: the gate must fall and rise again. */
	fim_outb(f, 0x61, 0x00);
	fim_outb(f, 0x61, 0x01);
	g = tick_of(f->now);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, g + 20);
	assert_true(fim_inb(f, 0x61) & 0x20);

	fim_outb(f, 0x61, 0x00);
	t = program(f, 2, 5 << 1, 20);
	at_tick(f, t + 50);
	assert_true(fim_inb(f, 0x61) & 0x20);
	fim_outb(f, 0x61, 0x01);
	g = tick_of(f->now);
	at_tick(f, g + 19);
	assert_true(fim_inb(f, 0x61) & 0x20);
	at_tick(f, g + 20);
	assert_false(fim_inb(f, 0x61) & 0x20);          /* strobe */
	at_tick(f, g + 21);
	assert_true(fim_inb(f, 0x61) & 0x20);
}

static void test_mode0_gate_pauses_counting(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x61, 0x01);
	int64_t t = program(f, 2, 0 << 1, 100);
	at_tick(f, t + 30);
	fim_outb(f, 0x61, 0x00);
	assert_int_equal(read_count(f, 2), 70);
	at_tick(f, t + 80);
	assert_int_equal(read_count(f, 2), 70);
	fim_outb(f, 0x61, 0x01);
	at_tick(f, t + 149);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 150);
	assert_true(fim_inb(f, 0x61) & 0x20);
	/* Mode 0: the first byte of a new count stops counting and drops OUT. */
	fim_outb(f, 0x42, 0x10);
	assert_false(fim_inb(f, 0x61) & 0x20);
	uint16_t frozen = read_count(f, 2);
	fim_advance(f, 100000);
	assert_int_equal(read_count(f, 2), frozen);
	fim_outb(f, 0x42, 0x00);
	t = tick_of(f->now);
	at_tick(f, t + 16);
	assert_true(fim_inb(f, 0x61) & 0x20);
}

static void test_latch_and_readback(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x43, 0x34);
	fim_outb(f, 0x43, 0xe2);                        /* status of counter 0 */
	uint8_t st = fim_inb(f, 0x40);
	assert_int_equal(st & 0x3f, 0x34);              /* rw 3, mode 2, binary */
	assert_true(st & 0x40);                         /* null count: no count yet */
	fim_outb(f, 0x40, 1000 & 0xff);
	fim_outb(f, 0x40, 1000 >> 8);
	int64_t t = tick_of(f->now);
	fim_outb(f, 0x43, 0xe2);
	assert_false(fim_inb(f, 0x40) & 0x40);
	at_tick(f, t + 100);
	fim_outb(f, 0x43, 0x00);                        /* latch */
	at_tick(f, t + 300);
	fim_outb(f, 0x43, 0x00);                        /* a second latch is ignored */
	assert_int_equal(fim_inb(f, 0x40), 900 & 0xff);
	assert_int_equal(fim_inb(f, 0x40), 900 >> 8);
	/* After the latched value, reads see the live counter again. */
	assert_int_equal(fim_inb(f, 0x40), 700 & 0xff);
	assert_int_equal(fim_inb(f, 0x40), 700 >> 8);
	/* Read-back of count and status together: status first. */
	fim_outb(f, 0x43, 0xc2);
	at_tick(f, t + 400);
	assert_int_equal(fim_inb(f, 0x40) & 0x3f, 0x34);
	assert_int_equal(fim_inb(f, 0x40), 700 & 0xff);
	assert_int_equal(fim_inb(f, 0x40), 700 >> 8);
	/* The control register cannot be read. */
	assert_int_equal(fim_inb(f, 0x43), 0xff);
}

static void test_byte_access_modes_and_bcd(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x61, 0x01);
	fim_outb(f, 0x43, 0x90);                        /* counter 2, LSB only, mode 0 */
	fim_outb(f, 0x42, 0x50);
	int64_t t = tick_of(f->now);
	at_tick(f, t + 0x10);
	assert_int_equal(fim_inb(f, 0x42), 0x40);
	assert_int_equal(fim_inb(f, 0x42), 0x40);       /* every read is the LSB */
	fim_outb(f, 0x43, 0xa0);                        /* MSB only */
	fim_outb(f, 0x42, 0x02);
	t = tick_of(f->now);
	at_tick(f, t + 1);
	assert_int_equal(fim_inb(f, 0x42), 0x01);       /* 0x1ff >> 8 */
	fim_outb(f, 0x43, 0xb1);                        /* word, mode 0, BCD */
	fim_outb(f, 0x42, 0x00);
	fim_outb(f, 0x42, 0x01);                        /* 0100 decimal */
	t = tick_of(f->now);
	at_tick(f, t + 1);
	assert_int_equal(read_count(f, 2), 0x0099);
	at_tick(f, t + 100);
	assert_true(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 101);
	assert_int_equal(read_count(f, 2), 0x9999);     /* BCD wraps at 10000 */
	fim_outb(f, 0x43, 0xb1);
	fim_outb(f, 0x42, 0x00);
	fim_outb(f, 0x42, 0x00);                        /* 0 is 10000 in BCD */
	t = tick_of(f->now);
	at_tick(f, t + 9999);
	assert_false(fim_inb(f, 0x61) & 0x20);
	at_tick(f, t + 10000);
	assert_true(fim_inb(f, 0x61) & 0x20);
}

/* Linux's pit_calibrate_tsc() and SeaBIOS's tsctimer_setup(): gate on,
 * speaker off, counter 2 in mode 0, then spin on port 0x61 bit 5. */
static void test_linux_and_seabios_calibration(void **state)
{
	struct fim *f = *state;
	static const uint16_t counts[] = { 59659 /* Linux, 50 ms */, 2048 /* SeaBIOS */ };
	for (unsigned i = 0; i < 2; i++) {
		fim_outb(f, 0x61, (uint8_t)((fim_inb(f, 0x61) & ~0x02) | 0x01));
		fim_outb(f, 0x43, 0xb0);
		fim_outb(f, 0x42, (uint8_t)counts[i]);
		fim_outb(f, 0x42, (uint8_t)(counts[i] >> 8));
		int64_t start = f->now, t = tick_of(f->now);
		unsigned spins = 0;
		while (!(fim_inb(f, 0x61) & 0x20)) {
			fim_advance(f, 1000);
			assert_true(++spins < 1000000);
		}
		int64_t want = ns_of_tick(t + counts[i]) - start;
		assert_in_range(f->now - start, want, want + 1000);
	}
	/* quick_pit_calibrate(): mode 0 from 0xffff, the MSB read as LSB,MSB
	 * pairs must step down once every 256 ticks. */
	fim_outb(f, 0x43, 0xb0);
	fim_outb(f, 0x42, 0xff);
	fim_outb(f, 0x42, 0xff);
	int64_t t = tick_of(f->now);
	for (unsigned k = 1; k < 20; k++) {
		at_tick(f, t + 256 * k - 1);
		fim_inb(f, 0x42);
		assert_int_equal(fim_inb(f, 0x42), 0xff - (k - 1));
		at_tick(f, t + 256 * k);
		fim_inb(f, 0x42);
		assert_int_equal(fim_inb(f, 0x42), 0xff - k);
	}
}

static void test_port61(void **state)
{
	struct fim *f = *state;
	fim_outb(f, 0x61, 0xff);
	uint8_t v = fim_inb(f, 0x61);
	assert_int_equal(v & 0xcf, 0x0f);               /* bits 0-3 stick, 6-7 read 0 */
	/* The refresh bit toggles every 15.085 us. */
	fim_run_until(f, 15085 * 10 + 100);
	uint8_t a = fim_inb(f, 0x61) & 0x10;
	fim_advance(f, 15085);
	uint8_t b = fim_inb(f, 0x61) & 0x10;
	fim_advance(f, 15085);
	assert_int_not_equal(a, b);
	assert_int_equal(fim_inb(f, 0x61) & 0x10, a);
	/* OUT2 follows counter 2 only: after reset it is in mode 3, gate low. */
	fim_outb(f, 0x61, 0x00);
	assert_true(fim_inb(f, 0x61) & 0x20);
}

static void test_irq0_rate_is_bounded(void **state)
{
	struct fim *f = *state;
	unsigned base = f->rises[0], runs = f->timer_runs;
	program(f, 0, 2 << 1, 2);                       /* 600 kHz asked for */
	fim_advance(f, 10 * 1000 * 1000);
	unsigned edges = f->rises[0] - base;
	assert_in_range(edges, 90, 102);                /* one per 100 us */
	assert_true(f->timer_runs - runs <= 102);
	/* Reading the counter still shows the real 2-tick period. */
	uint16_t c = read_count(f, 0);
	assert_true(c == 1 || c == 2);
}

static void test_hpet_takes_irq0(void **state)
{
	struct fim *f = *state;
	program(f, 0, 2 << 1, 1193);
	unsigned base = f->rises[0];
	machine_lock(f->m);
	pit_set_irq_enabled(f->pit, false);
	machine_unlock(f->m);
	fim_advance(f, 20 * 1000 * 1000);
	assert_int_equal(f->rises[0], base);
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
	machine_lock(f->m);
	pit_set_irq_enabled(f->pit, true);
	machine_unlock(f->m);
	fim_advance(f, 10 * 1000 * 1000);
	assert_in_range(f->rises[0] - base, 9, 11);
}

/* With the real controllers: masked at the 8259 with the request latched and
 * masked at the I/O APIC, IRQ0 edges change nothing, so the timer stops until
 * the guest unmasks. */
static void test_quiet_while_masked(void **state)
{
	struct fim *f = *state;
	fim_pic_init(f, 0x01);
	fim_outb(f, 0x21, 0xff);
	program(f, 0, 2 << 1, 1193);                    /* 1 kHz */
	fim_advance(f, 5 * 1000 * 1000);
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
	unsigned runs = f->timer_runs;
	fim_advance(f, NS_PER_SEC);
	assert_int_equal(f->timer_runs, runs);
	/* Unmasking delivers the latched request and restarts the timer. */
	fim_outb(f, 0x21, 0xfe);
	assert_true(fim_next_deadline(f) < INT64_MAX);
	fim_outb(f, 0x20, 0x0a);
	assert_int_equal(fim_inb(f, 0x20) & 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode0_interrupt_on_terminal_count, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_mode2_rate_generator, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_mode3_square_wave, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_mode4_software_strobe, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_modes_1_and_5_gate_triggered, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_mode0_gate_pauses_counting, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_latch_and_readback, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_byte_access_modes_and_bcd, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_linux_and_seabios_calibration, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_port61, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_irq0_rate_is_bounded, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_hpet_takes_irq0, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_quiet_while_masked, fim_setup_pc, fim_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
