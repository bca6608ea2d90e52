/*
 * Unit tests for the MC146818A RTC: time from the start epoch and guest
 * time, BCD/binary and 12/24-hour forms, SET and divider reset, UIP, the
 * periodic, update-ended and alarm interrupts on IRQ 8, lazy flags, NVRAM,
 * DSE, and that no timer runs while no interrupt is enabled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "isa/rtc.h"
#include "vclock.h"

#define MS (1000 * 1000LL)
#define US 1000LL

enum { SEC, SEC_ALARM, MIN, MIN_ALARM, HOUR, HOUR_ALARM, WDAY, MDAY, MONTH, YEAR,
       REG_A, REG_B, REG_C, REG_D };

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04
#define B_24H 0x02
#define B_DSE 0x01

struct fixture {
	struct machine *m;
	void *rtc;
};

static int64_t utc(int y, int mon, int d, int h, int min, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = min, .tm_sec = s };
	return (int64_t)timegm(&tm);
}

static struct fixture *setup_at(int64_t epoch)
{
	static struct fixture f;
	struct rtc_params p = { .fixed_start = true, .start_epoch = epoch };
	f.m = fake_machine_create();
	f.rtc = machine_add_device(f.m, &rtc_desc, &p);
	assert_non_null(f.rtc);
	fake_machine_reset(f.m);
	return &f;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fake_machine_destroy(f->m);
	return 0;
}

/* 2024-02-29 23:59:58 UTC, a Thursday, two seconds before a leap-day rollover. */
static int setup_leap(void **state)
{
	*state = setup_at(utc(2024, 2, 29, 23, 59, 58));
	return 0;
}

static uint8_t rd(struct fixture *f, uint8_t index)
{
	iobus_write(f->m->pio, 0x70, 1, index);
	return (uint8_t)iobus_read(f->m->pio, 0x71, 1);
}

static void wr(struct fixture *f, uint8_t index, uint8_t v)
{
	iobus_write(f->m->pio, 0x70, 1, index);
	iobus_write(f->m->pio, 0x71, 1, v);
}

static void test_power_on_registers(void **state)
{
	struct fixture *f = *state;
	/* Power-on is an update boundary: UIP is up for the first 1984 us. */
	assert_int_equal(rd(f, REG_A), 0x80 | 0x26);
	assert_int_equal(rd(f, REG_B), B_24H);
	assert_int_equal(rd(f, REG_C), 0x00);
	assert_int_equal(rd(f, REG_D), 0x80);
	fake_machine_advance(f->m, 2 * MS);
	assert_int_equal(rd(f, REG_A), 0x26);
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_time_from_start_in_bcd(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);   /* away from the UIP window */
	assert_int_equal(rd(f, SEC), 0x58);
	assert_int_equal(rd(f, MIN), 0x59);
	assert_int_equal(rd(f, HOUR), 0x23);
	assert_int_equal(rd(f, WDAY), 5);       /* Thursday; Sunday is 1 */
	assert_int_equal(rd(f, MDAY), 0x29);
	assert_int_equal(rd(f, MONTH), 0x02);
	assert_int_equal(rd(f, YEAR), 0x24);
	assert_int_equal(rd(f, 0x32), 0x20);
}

static void test_guest_time_drives_the_clock(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 1999 * MS);
	assert_int_equal(rd(f, SEC), 0x59);
	fake_machine_advance(f->m, 1 * MS);
	/* Leap day rolls into March 1st, a Friday. */
	assert_int_equal(rd(f, SEC), 0x00);
	assert_int_equal(rd(f, HOUR), 0x00);
	assert_int_equal(rd(f, MDAY), 0x01);
	assert_int_equal(rd(f, MONTH), 0x03);
	assert_int_equal(rd(f, WDAY), 6);
	fake_machine_advance(f->m, 3 * 86400 * NS_PER_SEC);
	assert_int_equal(rd(f, MDAY), 0x04);
}

static void test_binary_and_12_hour_modes(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);
	wr(f, REG_B, B_DM | B_24H);
	assert_int_equal(rd(f, SEC), 58);
	assert_int_equal(rd(f, HOUR), 23);
	assert_int_equal(rd(f, YEAR), 24);
	assert_int_equal(rd(f, 0x32), 20);
	wr(f, REG_B, B_DM);                     /* binary, 12-hour */
	assert_int_equal(rd(f, HOUR), 0x80 | 11);
	wr(f, REG_B, 0);                        /* BCD, 12-hour */
	assert_int_equal(rd(f, HOUR), 0x91);
	fake_machine_advance(f->m, 2 * NS_PER_SEC);
	assert_int_equal(rd(f, HOUR), 0x12);    /* midnight is 12 AM */
	fake_machine_advance(f->m, 12 * 3600 * NS_PER_SEC);
	assert_int_equal(rd(f, HOUR), 0x92);    /* noon is 12 PM */
}

static void test_set_freezes_and_guest_time_sticks(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);
	wr(f, REG_B, B_SET | B_24H);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);       /* no UIP while SET */
	wr(f, SEC, 0x00); wr(f, MIN, 0x00); wr(f, HOUR, 0x12);
	wr(f, MDAY, 0x01); wr(f, MONTH, 0x01); wr(f, YEAR, 0x00); wr(f, 0x32, 0x20);
	fake_machine_advance(f->m, 5 * NS_PER_SEC);
	assert_int_equal(rd(f, SEC), 0x00);             /* frozen */
	assert_int_equal(rd(f, HOUR), 0x12);
	wr(f, REG_B, B_24H);
	/* The divider kept its phase: the next update is at the next whole
	 * second of guest time (t = 6 s). */
	fake_machine_advance(f->m, 799 * MS);
	assert_int_equal(rd(f, SEC), 0x00);
	fake_machine_advance(f->m, 101 * MS);
	assert_int_equal(rd(f, SEC), 0x01);
	assert_int_equal(rd(f, WDAY), 7);               /* 2000-01-01 was a Saturday */
	/* The clock keeps the offset the guest gave it. */
	fake_machine_advance(f->m, 3600 * NS_PER_SEC);
	assert_int_equal(rd(f, HOUR), 0x13);
	assert_int_equal(rd(f, SEC), 0x01);
	assert_int_equal(rd(f, YEAR), 0x00);
	assert_int_equal(rd(f, 0x32), 0x20);
}

static void test_write_while_running(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);
	wr(f, YEAR, 0x28);                      /* another leap year */
	assert_int_equal(rd(f, YEAR), 0x28);
	assert_int_equal(rd(f, MDAY), 0x29);
	assert_int_equal(rd(f, SEC), 0x58);
	fake_machine_advance(f->m, NS_PER_SEC);
	assert_int_equal(rd(f, SEC), 0x59);
	assert_int_equal(rd(f, YEAR), 0x28);
	/* A date that does not exist rolls over as a calendar would. */
	wr(f, YEAR, 0x30);
	assert_int_equal(rd(f, MONTH), 0x03);
	assert_int_equal(rd(f, MDAY), 0x01);
}

static void test_uip_window(void **state)
{
	struct fixture *f = *state;
	/* Updates happen at whole seconds of guest time; UIP rises 244 us
	 * before and falls 1984 us after. */
	fake_machine_advance(f->m, 500 * MS);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	fake_machine_advance(f->m, 500 * MS - 250 * US);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	fake_machine_advance(f->m, 10 * US);
	assert_int_equal(rd(f, REG_A), 0x80 | 0x26);
	fake_machine_advance(f->m, 1000 * US);
	assert_int_equal(rd(f, REG_A) & 0x80, 0x80);
	fake_machine_advance(f->m, 1300 * US);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
}

static void test_divider_reset(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 300 * MS);
	wr(f, REG_A, 0x76);                     /* divider held in reset */
	fake_machine_advance(f->m, 10 * NS_PER_SEC);
	assert_int_equal(rd(f, SEC), 0x58);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	wr(f, REG_A, 0x26);
	/* The first update comes 500 ms after the divider starts. */
	fake_machine_advance(f->m, 499 * MS);
	assert_int_equal(rd(f, SEC), 0x58);
	fake_machine_advance(f->m, 2 * MS);
	assert_int_equal(rd(f, SEC), 0x59);
}

static void test_periodic_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_A, 0x2f);                     /* 500 ms */
	assert_false(fake_machine_timer_armed(f->m));
	wr(f, REG_B, B_24H | B_PIE);
	assert_true(fake_machine_timer_armed(f->m));
	assert_true(fake_machine_run_next_timer(f->m, NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 500 * MS);
	assert_int_equal(fake_machine_irq_level(f->m, 8), 1);
	assert_int_equal(fake_machine_irq_edges(f->m, 8), 1);
	assert_int_equal(rd(f, REG_C), 0xc0);   /* IRQF | PF */
	assert_int_equal(fake_machine_irq_level(f->m, 8), 0);
	assert_int_equal(rd(f, REG_C), 0x00);   /* read clears */
	assert_true(fake_machine_run_next_timer(f->m, NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 1000 * MS);
	assert_int_equal(fake_machine_irq_edges(f->m, 8), 2);
	wr(f, REG_B, B_24H);
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_periodic_rate_1024hz(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_B, B_24H | B_PIE);            /* A is 0x26: 1024 Hz */
	unsigned n = 0;
	while (fake_machine_run_next_timer(f->m, 2 * MS) && fake_machine_now(f->m) <= NS_PER_SEC) {
		assert_int_equal(rd(f, REG_C) & 0xc0, 0xc0);
		n++;
	}
	assert_int_equal(n, 1024);
	assert_int_equal(fake_machine_irq_edges(f->m, 8), 1025);
}

static void test_flags_without_interrupts(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 2500 * MS);
	assert_false(fake_machine_timer_armed(f->m));
	/* PF, UF and AF (the alarm registers say 00:00:00 and midnight has
	 * passed) are set whether or not their interrupt is enabled, but IRQF
	 * and the line stay low. */
	assert_int_equal(rd(f, REG_C), 0x70);
	assert_int_equal(rd(f, REG_C), 0x00);
	assert_int_equal(fake_machine_irq_edges(f->m, 8), 0);
	/* Enabling an interrupt whose flag is already set raises IRQ 8 at once. */
	fake_machine_advance(f->m, 1 * MS);
	wr(f, REG_B, B_24H | B_PIE);
	assert_int_equal(fake_machine_irq_level(f->m, 8), 1);
	assert_int_equal(rd(f, REG_C), 0xc0);
}

static void test_update_ended_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_A, 0x20);                     /* no periodic rate */
	fake_machine_advance(f->m, 200 * MS);
	rd(f, REG_C);
	wr(f, REG_B, B_24H | B_UIE);
	assert_true(fake_machine_run_next_timer(f->m, NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), NS_PER_SEC);
	assert_int_equal(rd(f, REG_C), 0x90);   /* IRQF | UF */
	assert_int_equal(rd(f, SEC), 0x59);
	/* SET clears UIE and stops updates. */
	wr(f, REG_B, B_24H | B_UIE | B_SET);
	assert_int_equal(rd(f, REG_B), B_24H | B_SET);
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_alarm_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_A, 0x20);
	fake_machine_advance(f->m, 200 * MS);
	/* 00:00:03 on March 1st: five seconds from now. */
	wr(f, HOUR_ALARM, 0x00);
	wr(f, MIN_ALARM, 0x00);
	wr(f, SEC_ALARM, 0x03);
	wr(f, REG_B, B_24H | B_AIE);
	assert_true(fake_machine_run_next_timer(f->m, 10 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 5 * NS_PER_SEC);
	assert_int_equal(fake_machine_irq_level(f->m, 8), 1);
	assert_int_equal(rd(f, REG_C), 0xb0);   /* IRQF | AF | UF */
	assert_int_equal(rd(f, SEC), 0x03);
	/* The next match is a day later. */
	assert_true(fake_machine_run_next_timer(f->m, 2 * 86400 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), (5 + 86400) * NS_PER_SEC);
}

static void test_alarm_dont_care(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_A, 0x20);
	fake_machine_advance(f->m, 200 * MS);
	/* Every hour and minute at second 30. */
	wr(f, HOUR_ALARM, 0xc0);
	wr(f, MIN_ALARM, 0xff);
	wr(f, SEC_ALARM, 0x30);
	wr(f, REG_B, B_24H | B_AIE);
	assert_true(fake_machine_run_next_timer(f->m, 60 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 32 * NS_PER_SEC);
	assert_int_equal(rd(f, REG_C) & 0xa0, 0xa0);
	assert_true(fake_machine_run_next_timer(f->m, 120 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 92 * NS_PER_SEC);
	/* All three don't-care: every second. */
	rd(f, REG_C);
	wr(f, SEC_ALARM, 0xc0);
	assert_true(fake_machine_run_next_timer(f->m, 2 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 93 * NS_PER_SEC);
}

static void test_alarm_flag_is_lazy(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 200 * MS);
	wr(f, HOUR_ALARM, 0x00);
	wr(f, MIN_ALARM, 0x00);
	wr(f, SEC_ALARM, 0x10);
	rd(f, REG_C);
	assert_false(fake_machine_timer_armed(f->m));
	fake_machine_advance(f->m, 5 * NS_PER_SEC);     /* 00:00:03 */
	assert_int_equal(rd(f, REG_C) & 0x20, 0);
	fake_machine_advance(f->m, 10 * NS_PER_SEC);    /* 00:00:13 */
	assert_int_equal(rd(f, REG_C) & 0x20, 0x20);
	assert_int_equal(fake_machine_irq_edges(f->m, 8), 0);
}

static void test_twelve_hour_alarm(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_A, 0x20);
	wr(f, REG_B, 0);                        /* BCD, 12-hour */
	fake_machine_advance(f->m, 200 * MS);
	/* 12:00:00 AM is midnight: two seconds away. */
	wr(f, HOUR_ALARM, 0x12);
	wr(f, MIN_ALARM, 0x00);
	wr(f, SEC_ALARM, 0x00);
	wr(f, REG_B, B_AIE);
	assert_true(fake_machine_run_next_timer(f->m, 10 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), 2 * NS_PER_SEC);
	/* 12 PM (0x92) is noon, twelve hours on. */
	rd(f, REG_C);
	wr(f, HOUR_ALARM, 0x92);
	assert_true(fake_machine_run_next_timer(f->m, 86400 * NS_PER_SEC));
	assert_int_equal(fake_machine_now(f->m), (2 + 12 * 3600) * NS_PER_SEC);
}

static void test_nvram_and_index(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 14; i < 128; i++)
		if (i != 0x32)
			wr(f, (uint8_t)i, (uint8_t)(i * 7 + 1));
	for (unsigned i = 14; i < 128; i++)
		if (i != 0x32)
			assert_int_equal(rd(f, (uint8_t)i), (uint8_t)(i * 7 + 1));
	/* Bit 7 of the index masks NMI and does not select a register. */
	iobus_write(f->m->pio, 0x70, 1, 0x80 | 0x40);
	assert_int_equal(iobus_read(f->m->pio, 0x71, 1), (uint8_t)(0x40 * 7 + 1));
	/* C and D are read-only; the index port reads as all ones. */
	wr(f, REG_D, 0x00);
	assert_int_equal(rd(f, REG_D), 0x80);
	wr(f, REG_C, 0xff);
	assert_int_equal(rd(f, REG_C) & 0x0f, 0);
	assert_int_equal(iobus_read(f->m->pio, 0x70, 1), 0xff);
	/* The board's accessors see the same bytes. */
	rtc_cmos_set(f->rtc, 0x40, 0x5a);
	assert_int_equal(rtc_cmos_get(f->rtc, 0x40), 0x5a);
	assert_int_equal(rtc_cmos_get(f->rtc, 200), 0xff);
	rtc_cmos_set(f->rtc, 200, 1);           /* ignored, logged */
}

static void test_cmos_get_leaves_flags(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 1500 * MS);
	assert_int_equal(rtc_cmos_get(f->rtc, REG_C) & 0x10, 0x10);
	assert_int_equal(rtc_cmos_get(f->rtc, REG_C) & 0x10, 0x10);
	assert_int_equal(rd(f, REG_C) & 0x10, 0x10);
	assert_int_equal(rd(f, REG_C), 0);
}

static void test_reset_keeps_time_and_ram(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);
	wr(f, 0x50, 0xa5);
	wr(f, REG_B, B_24H | B_PIE | B_UIE | B_AIE);
	assert_true(fake_machine_timer_armed(f->m));
	fake_machine_reset(f->m);
	assert_int_equal(rd(f, REG_B), B_24H);
	assert_int_equal(rd(f, 0x50), 0xa5);
	assert_int_equal(rd(f, SEC), 0x58);
	assert_false(fake_machine_timer_armed(f->m));
	assert_int_equal(fake_machine_irq_level(f->m, 8), 0);
}

static void test_garbage_time_is_normalised(void **state)
{
	struct fixture *f = *state;
	wr(f, REG_B, B_SET | B_24H);
	/* Month 0x13 and BCD nonsense: the clock must still count. */
	wr(f, SEC, 0xff); wr(f, MIN, 0x5a); wr(f, HOUR, 0x99);
	wr(f, MDAY, 0x00); wr(f, MONTH, 0x13); wr(f, YEAR, 0xfa); wr(f, 0x32, 0xff);
	wr(f, REG_B, B_24H);
	uint8_t before = rd(f, SEC);
	fake_machine_advance(f->m, 1000 * MS);
	assert_int_not_equal(rd(f, SEC), before);
	assert_int_equal(rd(f, REG_D), 0x80);
}

static int setup_century(void **state)
{
	*state = setup_at(utc(2099, 12, 31, 23, 59, 59));
	return 0;
}

static void test_century_rollover(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 1100 * MS);
	assert_int_equal(rd(f, YEAR), 0x00);
	assert_int_equal(rd(f, 0x32), 0x21);
	assert_int_equal(rd(f, MONTH), 0x01);
}

/* 2024-04-28 (the last Sunday in April) 01:59:58. */
static int setup_dst(void **state)
{
	*state = setup_at(utc(2024, 4, 28, 1, 59, 58));
	return 0;
}

static void test_daylight_saving(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 100 * MS);
	wr(f, REG_B, B_24H | B_DSE);
	assert_int_equal(rd(f, HOUR), 0x01);
	fake_machine_advance(f->m, 2 * NS_PER_SEC);
	assert_int_equal(rd(f, HOUR), 0x03);    /* 1:59:59 -> 3:00:00 */
	assert_int_equal(rd(f, MIN), 0x00);
	assert_int_equal(rd(f, SEC), 0x00);
	/* Written time under DSE is taken as daylight time and kept. */
	wr(f, MIN, 0x30);
	assert_int_equal(rd(f, HOUR), 0x03);
	assert_int_equal(rd(f, MIN), 0x30);
}

static void test_host_time_by_default(void **state)
{
	struct machine *m = fake_machine_create();
	void *rtc = machine_add_device(m, &rtc_desc, NULL);
	fake_machine_reset(m);
	int64_t start = vclock_epoch_at_start(m->clock);
	struct tm tm;
	time_t t = (time_t)start;
	gmtime_r(&t, &tm);
	uint8_t year = rtc_cmos_get(rtc, YEAR), min = rtc_cmos_get(rtc, MIN);
	assert_int_equal(year, ((tm.tm_year % 100) / 10) << 4 | tm.tm_year % 10);
	assert_int_equal(min, (tm.tm_min / 10) << 4 | tm.tm_min % 10);
	fake_machine_destroy(m);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_leap, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_registers),
		T(test_time_from_start_in_bcd),
		T(test_guest_time_drives_the_clock),
		T(test_binary_and_12_hour_modes),
		T(test_set_freezes_and_guest_time_sticks),
		T(test_write_while_running),
		T(test_uip_window),
		T(test_divider_reset),
		T(test_periodic_interrupt),
		T(test_periodic_rate_1024hz),
		T(test_flags_without_interrupts),
		T(test_update_ended_interrupt),
		T(test_alarm_interrupt),
		T(test_alarm_dont_care),
		T(test_alarm_flag_is_lazy),
		T(test_twelve_hour_alarm),
		T(test_nvram_and_index),
		T(test_cmos_get_leaves_flags),
		T(test_reset_keeps_time_and_ram),
		T(test_garbage_time_is_normalised),
		cmocka_unit_test_setup_teardown(test_century_rollover, setup_century, teardown),
		cmocka_unit_test_setup_teardown(test_daylight_saving, setup_dst, teardown),
		cmocka_unit_test(test_host_time_by_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
