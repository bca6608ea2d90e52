/*
 * Unit tests for the 16550 UART register model: DLAB and the divisor, FIFOs
 * and trigger levels, IIR priorities (PC16550D table IV), the THRE interrupt
 * rules, LSR/MSR read-clear, loopback, OUT2 gating of the IRQ, the
 * character timeout and receive flow control.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "isa/uart.h"

#define US 1000LL

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct fixture {
	struct machine *m;
	void *uart;
};

static int setup(void **state)
{
	static struct fixture f;
	f.m = fake_machine_create();
	struct uart_params p = { 0x3f8, 4, NULL };
	f.uart = machine_add_device(f.m, &uart_desc, &p);
	assert_non_null(f.uart);
	fake_machine_reset(f.m);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fake_machine_destroy(f->m);
	return 0;
}

static uint8_t r(struct fixture *f, unsigned reg)
{
	return (uint8_t)iobus_read(f->m->pio, 0x3f8 + reg, 1);
}

static void w(struct fixture *f, unsigned reg, uint8_t v)
{
	iobus_write(f->m->pio, 0x3f8 + reg, 1, v);
}

static size_t feed(struct fixture *f, const char *s, size_t n)
{
	machine_lock(f->m);
	size_t took = uart_receive(f->uart, (const uint8_t *)s, n);
	machine_unlock(f->m);
	return took;
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(r(f, IER), 0);
	assert_int_equal(r(f, IIR), 0x01);
	assert_int_equal(r(f, LCR), 0);
	assert_int_equal(r(f, MCR), 0);
	assert_int_equal(r(f, LSR), 0x60);
	assert_int_equal(r(f, MSR), 0xb0);      /* CTS, DSR, DCD from the back-end */
	assert_int_equal(r(f, SCR), 0);
	w(f, SCR, 0x5a);
	assert_int_equal(r(f, SCR), 0x5a);
	w(f, LSR, 0x00);                        /* read-only */
	assert_int_equal(r(f, LSR), 0x60);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
}

static void test_dlab_and_divisor(void **state)
{
	struct fixture *f = *state;
	w(f, LCR, 0x80);
	assert_int_equal(r(f, RBR), 12);        /* 9600 baud at power-on */
	assert_int_equal(r(f, IER), 0);
	w(f, RBR, 0x01);
	w(f, IER, 0x02);
	assert_int_equal(r(f, RBR), 0x01);
	assert_int_equal(r(f, IER), 0x02);
	w(f, LCR, 0x03);                        /* 8N1, DLAB off */
	assert_int_equal(r(f, LCR), 0x03);
	assert_int_equal(r(f, IER), 0x00);      /* the DLM write did not touch IER */
	w(f, IER, 0x0f);
	assert_int_equal(r(f, IER), 0x0f);
	w(f, IER, 0xff);                        /* upper bits do not exist */
	assert_int_equal(r(f, IER), 0x0f);
	w(f, LCR, 0x83);
	assert_int_equal(r(f, IER), 0x02);
}

static void test_fifo_and_trigger_levels(void **state)
{
	struct fixture *f = *state;
	static const struct { uint8_t fcr; unsigned level; } t[] = {
		{ 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
	};
	w(f, IER, 0x01);
	for (unsigned i = 0; i < 4; i++) {
		w(f, FCR, t[i].fcr | 0x02);     /* clear the receive FIFO */
		assert_int_equal(r(f, IIR) & 0xc0, 0xc0);
		char buf[16];
		memset(buf, 'a' + (int)i, sizeof(buf));
		assert_int_equal(feed(f, buf, t[i].level - 1), t[i].level - 1);
		assert_int_equal(r(f, IIR) & 0x0f, 0x01);     /* below the trigger */
		assert_int_equal(feed(f, buf, 1), 1);
		assert_int_equal(r(f, IIR), 0xc4);
	}
	/* Sixteen bytes fit, the seventeenth waits in the back-end. */
	w(f, FCR, 0x07);
	assert_int_equal(feed(f, "0123456789abcdefXY", 18), 16);
	assert_int_equal(r(f, LSR) & 0x03, 0x01);       /* data, no overrun */
	for (int i = 0; i < 16; i++)
		assert_int_equal(r(f, RBR), (uint8_t)"0123456789abcdef"[i]);
	assert_int_equal(r(f, LSR) & 0x01, 0);
	assert_int_equal(feed(f, "XY", 2), 2);
	/* Without the FIFO the holding register takes one byte. */
	w(f, FCR, 0x00);
	assert_int_equal(r(f, IIR) & 0xc0, 0);
	assert_int_equal(r(f, LSR) & 0x01, 0);          /* turning it off cleared it */
	assert_int_equal(feed(f, "abc", 3), 1);
	assert_int_equal(r(f, RBR), 'a');
	assert_int_equal(feed(f, "bc", 2), 1);
}

static void test_iir_priorities(void **state)
{
	struct fixture *f = *state;
	w(f, FCR, 0x01);
	w(f, MCR, 0x10);                /* loopback: outputs drop, MSR deltas */
	w(f, IER, 0x0f);
	/* Seventeen bytes into a sixteen-byte FIFO: an overrun error. */
	for (int i = 0; i < 17; i++)
		w(f, RBR, (uint8_t)('A' + i));
	assert_int_equal(r(f, IIR), 0xc6);              /* line status first */
	assert_int_equal(r(f, LSR), 0x63);              /* THRE TEMT OE DR */
	assert_int_equal(r(f, LSR), 0x61);              /* OE cleared by the read */
	assert_int_equal(r(f, IIR), 0xc4);              /* then received data */
	for (int i = 0; i < 16; i++)
		assert_int_equal(r(f, RBR), 'A' + i);
	assert_int_equal(r(f, IIR), 0xc2);              /* then THR empty */
	assert_int_equal(r(f, IIR), 0xc0);              /* read IIR: THRI gone; modem status */
	assert_int_equal(r(f, MSR), 0x0b);              /* CTS, DSR, DCD fell */
	assert_int_equal(r(f, IIR), 0xc1);
}

static void test_thre_interrupt_rules(void **state)
{
	struct fixture *f = *state;
	w(f, MCR, 0x08);                /* OUT2: the IRQ reaches the PIC */
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	/* Enabling ETBEI with the holding register empty interrupts at once
	 * (the Linux 8250 driver's probe relies on it). */
	w(f, IER, 0x02);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 1);
	assert_int_equal(r(f, IIR), 0x02);
	/* Reading IIR while it reports THRE acknowledges it. */
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	assert_int_equal(r(f, IIR), 0x01);
	/* Each transmitted byte empties the holding register again. */
	w(f, RBR, 'x');
	assert_int_equal(fake_machine_irq_level(f->m, 4), 1);
	assert_int_equal(r(f, LSR) & 0x60, 0x60);
	/* Disabling ETBEI withdraws the interrupt. */
	w(f, IER, 0x00);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	assert_int_equal(r(f, IIR), 0x01);
	/* Re-enabling with THRE still set raises it again. */
	w(f, IER, 0x02);
	assert_int_equal(r(f, IIR), 0x02);
}

static void test_out2_gates_the_irq(void **state)
{
	struct fixture *f = *state;
	w(f, IER, 0x01);
	assert_int_equal(feed(f, "z", 1), 1);
	assert_int_equal(r(f, IIR), 0x04);              /* pending inside the UART */
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	w(f, MCR, 0x08);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 1);
	w(f, MCR, 0x00);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	w(f, MCR, 0x08);
	assert_int_equal(r(f, RBR), 'z');
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
}

static void test_loopback_and_msr(void **state)
{
	struct fixture *f = *state;
	w(f, MCR, 0x10);
	assert_int_equal(r(f, MSR), 0x0b);
	assert_int_equal(r(f, MSR), 0x00);              /* deltas clear on read */
	w(f, MCR, 0x1f);                /* DTR RTS OUT1 OUT2 loop back as DSR CTS RI DCD */
	assert_int_equal(r(f, MSR), 0xfb);
	w(f, MCR, 0x1b);                /* RI falls: trailing edge */
	assert_int_equal(r(f, MSR), 0xb4);
	assert_int_equal(r(f, MSR), 0xb0);
	/* Loopback echoes transmitted bytes; the line from the back-end is
	 * disconnected. */
	w(f, RBR, 'q');
	assert_int_equal(r(f, LSR) & 0x01, 0x01);
	assert_int_equal(r(f, RBR), 'q');
	assert_int_equal(feed(f, "n", 1), 0);
	w(f, MCR, 0x00);
	assert_int_equal(feed(f, "n", 1), 1);
}

static void test_character_timeout(void **state)
{
	struct fixture *f = *state;
	w(f, FCR, 0xc1);                /* trigger at 14 */
	w(f, IER, 0x01);
	w(f, MCR, 0x08);
	assert_int_equal(feed(f, "abc", 3), 3);
	assert_int_equal(r(f, IIR), 0xc1);
	/* Four character times at 9600 baud: 4 * 10 * 12 / 115200 s. */
	fake_machine_advance(f->m, 4100 * US);
	assert_int_equal(r(f, IIR), 0xc1);
	fake_machine_advance(f->m, 100 * US);
	assert_int_equal(r(f, IIR), 0xcc);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 1);
	/* Reading a byte resets the timeout. */
	assert_int_equal(r(f, RBR), 'a');
	assert_int_equal(r(f, IIR), 0xc1);
	assert_int_equal(fake_machine_irq_level(f->m, 4), 0);
	fake_machine_advance(f->m, 4200 * US);
	assert_int_equal(r(f, IIR), 0xcc);
	assert_int_equal(r(f, RBR), 'b');
	assert_int_equal(r(f, RBR), 'c');
	assert_int_equal(r(f, IIR), 0xc1);
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_fcr_clears(void **state)
{
	struct fixture *f = *state;
	w(f, FCR, 0x01);
	assert_int_equal(feed(f, "abcd", 4), 4);
	w(f, FCR, 0x03);                /* clear the receive FIFO, keep it on */
	assert_int_equal(r(f, LSR) & 0x01, 0);
	assert_int_equal(r(f, IIR) & 0xc0, 0xc0);
	w(f, FCR, 0x05);                /* clear transmit: THRE stays set */
	assert_int_equal(r(f, LSR) & 0x60, 0x60);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_values),
		T(test_dlab_and_divisor),
		T(test_fifo_and_trigger_levels),
		T(test_iir_priorities),
		T(test_thre_interrupt_rules),
		T(test_out2_gates_the_irq),
		T(test_loopback_and_msr),
		T(test_character_timeout),
		T(test_fcr_clears),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
