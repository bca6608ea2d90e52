/*
 * The hostile guest: every device is created on a fake machine and hammered
 * with random accesses of sizes 1, 2, 4 and 8 at every register offset in
 * and around its ports, mixed with guest-time jumps, host input and resets.
 * Nothing may crash (run it under ASan/UBSan), and after every step the
 * invariants below must hold.
 *
 * Adding a device is one line in `targets`. The run is deterministic:
 * LODGE_HOSTILE_SEED picks another seed and LODGE_HOSTILE_ITERS another
 * length (the default keeps the test to a second or two).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "isa/debugexit.h"
#include "isa/debugport.h"
#include "isa/i8042.h"
#include "isa/rtc.h"
#include "isa/sysctl.h"
#include "isa/uart.h"
#include "log.h"
#include "ui/input.h"
#include "vclock.h"

#define DEFAULT_ITERS 20000
#define SLOP 8                          /* offsets probed outside each range */

struct hostile_port {
	uint16_t base, len;
};

/* Invariants a device must keep whatever the guest did; may read the
 * device's side-effect-free registers. */
typedef void hostile_check_fn(struct machine *m, void *dev);

struct hostile_target {
	const char *name;
	const struct device_desc *desc;
	const void *params;
	struct hostile_port ports[4];
	hostile_check_fn *check;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

/* Values a guest might write: any bits, but small numbers (register
 * indexes, command codes) often enough to reach deep states. */
static uint64_t hostile_value(void)
{
	switch (rng_below(3)) {
	case 0: return rng();
	case 1: return rng_below(16);
	default: return rng_below(256);
	}
}

static void check_uart(struct machine *m, void *dev)
{
	uint8_t mcr = (uint8_t)iobus_read(m->pio, 0x3f8 + 4, 1);
	assert_int_equal(mcr & 0xe0, 0);
	/* The PC gates the UART's interrupt with OUT2. */
	if (fake_machine_irq_level(m, 4))
		assert_true(mcr & 0x08);
}

static void check_rtc(struct machine *m, void *dev)
{
	assert_int_equal(rtc_cmos_get(dev, 0x0d), 0x80);
	uint8_t b = rtc_cmos_get(dev, 0x0b), c = rtc_cmos_get(dev, 0x0c);
	assert_int_equal(c & 0x0f, 0);
	/* IRQ 8 is IRQF, and IRQF is an enabled flag. */
	assert_int_equal(fake_machine_irq_level(m, 8), !!(c & 0x80));
	assert_int_equal(!!(c & 0x80), !!(c & b & 0x70));
	/* No timer runs while no interrupt is enabled. */
	if (!(b & 0x70))
		assert_false(fake_machine_timer_armed(m));
}

static void check_i8042(struct machine *m, void *dev)
{
	uint8_t st = (uint8_t)iobus_read(m->pio, 0x64, 1);
	assert_int_equal(st & 0x02, 0);                 /* IBF: writes are taken at once */
	if (fake_machine_irq_level(m, 1))
		assert_int_equal(st & 0x21, 0x01);      /* keyboard data in the buffer */
	if (fake_machine_irq_level(m, 12))
		assert_int_equal(st & 0x21, 0x21);      /* mouse data in the buffer */
	assert_false(fake_machine_irq_level(m, 1) && fake_machine_irq_level(m, 12));
}

static void check_sysctl(struct machine *m, void *dev)
{
	assert_int_equal(iobus_read(m->pio, 0x92, 1) & 0x01, 0);
}

static const struct uart_params com1 = { 0x3f8, 4, NULL };

static const struct hostile_target targets[] = {
	{ "uart", &uart_desc, &com1, { { 0x3f8, 8 } }, check_uart },
	{ "rtc", &rtc_desc, NULL, { { 0x70, 2 } }, check_rtc },
	{ "i8042", &i8042_desc, NULL, { { 0x60, 1 }, { 0x64, 1 } }, check_i8042 },
	{ "debugport", &debugport_desc, NULL, { { 0x80, 1 }, { 0x402, 1 }, { 0xe9, 1 } }, NULL },
	{ "debugexit", &debugexit_desc, NULL, { { 0xf4, 4 } }, NULL },
	{ "sysctl", &sysctl_desc, NULL, { { 0x92, 1 }, { 0xcf9, 1 } }, check_sysctl },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static unsigned env_unsigned(const char *name, unsigned def)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 0) : def;
}

static int host_delta(void)
{
	static const int extremes[] = { INT_MIN, INT_MAX, -65536, 65536, 0, 1, -1 };
	return rng_below(4) == 0 ? extremes[rng_below(7)] : (int)rng_below(1001) - 500;
}

/* One random step of a guest (and host) that means harm. */
static void hostile_step(struct machine *m, const struct hostile_target *t, void *dev)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned nports = 0;
	while (nports < 4 && t->ports[nports].len)
		nports++;
	const struct hostile_port *p = &t->ports[rng_below(nports)];
	unsigned roll = rng_below(1000);

	if (roll < 900) {
		/* An access to the device's registers, or (a quarter of the
		 * time) at or around them. */
		int off = rng_below(4) ? (int)rng_below(p->len)
				       : (int)rng_below(p->len + 2 * SLOP) - SLOP;
		uint64_t port = (uint64_t)((int)p->base + off) & 0xffff;
		unsigned size = sizes[rng_below(4)];
		if (roll < 450) {
			iobus_write(m->pio, port, size, hostile_value());
		} else {
			uint64_t v = iobus_read(m->pio, port, size);
			if (size < 8)
				assert_true(v >> (8 * size) == 0);
		}
	} else if (roll < 950) {
		/* Guest time passes: mostly a little, sometimes hours. */
		int64_t ns = rng_below(10) ? (int64_t)rng_below(10 * 1000 * 1000)
					   : (int64_t)rng_below(7200) * NS_PER_SEC;
		fake_machine_advance(m, ns);
	} else if (roll < 985) {
		if (rng_below(2))
			input_key(m->input, rng_below(0x200), rng_below(2));
		else
			input_mouse_rel(m->input, host_delta(), host_delta(), host_delta(),
					rng_below(0x100));
	} else if (roll < 995) {
		fake_machine_take_requests(m);
		fake_machine_run_loop(m);
	} else {
		fake_machine_reset(m);
	}
}

/* Each GSI's level is the OR of the lines that drive it. */
static void check_irq_lines(struct machine *m)
{
	for (unsigned gsi = 0; gsi < IRQ_MAX_GSI; gsi++) {
		assert_true(m->irq_count[gsi] <= 2);
		assert_int_equal(fake_machine_irq_level(m, gsi), m->irq_count[gsi] > 0);
	}
}

static void test_hostile_guest(void **state)
{
	unsigned iters = env_unsigned("LODGE_HOSTILE_ITERS", DEFAULT_ITERS);
	unsigned seed = env_unsigned("LODGE_HOSTILE_SEED", 0x10d6e);
	/* The guest's misdeeds are logged, rate-limited; keep the output short. */
	log_set_level(LOG_ERROR);
	for (unsigned i = 0; i < NTARGETS; i++) {
		const struct hostile_target *t = &targets[i];
		rng_state = ((uint64_t)seed << 8 | i) * 0x9e3779b97f4a7c15ULL | 1;
		struct machine *m = fake_machine_create();
		void *dev = machine_add_device(m, t->desc, t->params);
		if (!dev)
			fail_msg("%s: create failed", t->name);
		fake_machine_reset(m);
		for (unsigned n = 0; n < iters; n++) {
			hostile_step(m, t, dev);
			check_irq_lines(m);
			if (t->check)
				t->check(m, dev);
		}
		unsigned edges = 0;
		for (unsigned gsi = 0; gsi < IRQ_MAX_GSI; gsi++)
			edges += fake_machine_irq_edges(m, gsi);
		fake_machine_destroy(m);
		print_message("%-10s %u hostile steps, %u interrupts (seed %#x)\n", t->name,
			      iters, edges, seed);
	}
}

/* The i8042 with a guest that never reads: bounded memory, and a driver that
 * finally drains it gets a bounded number of bytes. */
static void test_i8042_unread_floods(void **state)
{
	struct machine *m = fake_machine_create();
	assert_non_null(machine_add_device(m, &i8042_desc, NULL));
	fake_machine_reset(m);
	rng_state = 12345;
	for (unsigned n = 0; n < 50000; n++) {
		switch (rng_below(4)) {
		case 0: iobus_write(m->pio, 0x60, 1, rng()); break;
		case 1: iobus_write(m->pio, 0x64, 1, 0x20 + rng_below(0x20)); break;
		case 2: input_key(m->input, rng_below(0x100), rng_below(2)); break;
		default: input_mouse_rel(m->input, host_delta(), host_delta(), 0, 7); break;
		}
	}
	unsigned drained = 0;
	while ((iobus_read(m->pio, 0x64, 1) & 0x01) && drained < 100000) {
		iobus_read(m->pio, 0x60, 1);
		drained++;
	}
	assert_true(drained < 1000);
	fake_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_guest),
		cmocka_unit_test(test_i8042_unread_floods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
