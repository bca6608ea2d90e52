/*
 * Unit tests for the i8042 keyboard controller: SeaBIOS's and Linux's
 * command sequences, the command byte and RAM, translation, the shared
 * output buffer with AUXB and IRQ 1/12, the disable bits, D2/D3/D4, the
 * output port (A20, reset), and the reset pulse commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "isa/i8042.h"
#include "isa/ps2.h"
#include "ui/input.h"

#define ST_OBF 0x01
#define ST_IBF 0x02
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_INH 0x10
#define ST_AUXB 0x20

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

static int setup(void **state)
{
	struct machine *m = fake_machine_create();
	assert_non_null(machine_add_device(m, &i8042_desc, NULL));
	fake_machine_reset(m);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	fake_machine_destroy(*state);
	return 0;
}

static uint8_t status(struct machine *m)
{
	return (uint8_t)iobus_read(m->pio, 0x64, 1);
}

static void command(struct machine *m, uint8_t v)
{
	iobus_write(m->pio, 0x64, 1, v);
}

static void data_out(struct machine *m, uint8_t v)
{
	iobus_write(m->pio, 0x60, 1, v);
}

static uint8_t data_in(struct machine *m)
{
	return (uint8_t)iobus_read(m->pio, 0x60, 1);
}

/* Read one byte the way drivers do: it must be there, from the right side. */
static uint8_t expect_byte(struct machine *m, bool aux)
{
	uint8_t st = status(m);
	assert_true(st & ST_OBF);
	assert_int_equal(!!(st & ST_AUXB), aux);
	assert_false(st & ST_IBF);
	return data_in(m);
}

static void expect_empty(struct machine *m)
{
	assert_false(status(m) & ST_OBF);
}

static uint8_t read_ctr(struct machine *m)
{
	command(m, 0x20);
	return expect_byte(m, false);
}

static void write_ctr(struct machine *m, uint8_t v)
{
	command(m, 0x60);
	data_out(m, v);
}

static void test_power_on_state(void **state)
{
	struct machine *m = *state;
	assert_int_equal(status(m), ST_SYS | ST_INH);
	assert_int_equal(read_ctr(m), CTR_XLATE | CTR_SYS | CTR_KBDINT);
	expect_empty(m);
	assert_true(status(m) & ST_CMD);
	data_out(m, 0xf4);              /* a keyboard command clears A2 */
	assert_false(status(m) & ST_CMD);
}

/* SeaBIOS 1.16 __ps2_command() for the keyboard: interfaces and interrupts
 * off, keyboard interface on, command, replies, old command byte back. */
static void seabios_kbd_command(struct machine *m, uint8_t *ctr, uint8_t cmd,
				const uint8_t *args, unsigned nargs,
				uint8_t *replies, unsigned nreplies)
{
	uint8_t newctr = (uint8_t)((*ctr | CTR_AUXDIS | CTR_KBDDIS) & ~(CTR_KBDINT | CTR_AUXINT));
	write_ctr(m, newctr);
	newctr &= (uint8_t)~CTR_KBDDIS;
	write_ctr(m, newctr);
	data_out(m, cmd);
	assert_int_equal(expect_byte(m, false), PS2_ACK);
	for (unsigned i = 0; i < nargs; i++) {
		data_out(m, args[i]);
		assert_int_equal(expect_byte(m, false), PS2_ACK);
	}
	for (unsigned i = 0; i < nreplies; i++)
		replies[i] = expect_byte(m, false);
	expect_empty(m);
	write_ctr(m, *ctr);
}

static void test_seabios_keyboard_setup(void **state)
{
	struct machine *m = *state;
	uint8_t reply[2];
	/* ps2_keyboard_setup(): flush, self tests. */
	for (int i = 0; i < 16 && (status(m) & ST_OBF); i++)
		data_in(m);
	command(m, 0xaa);
	assert_int_equal(expect_byte(m, false), 0x55);
	command(m, 0xab);
	assert_int_equal(expect_byte(m, false), 0x00);
	uint8_t ctr = CTR_KBDDIS | CTR_AUXDIS;
	seabios_kbd_command(m, &ctr, 0xff, NULL, 0, reply, 1);
	assert_int_equal(reply[0], PS2_BAT_OK);
	seabios_kbd_command(m, &ctr, 0xf5, NULL, 0, NULL, 0);
	uint8_t set2 = 0x02;
	seabios_kbd_command(m, &ctr, 0xf0, &set2, 1, NULL, 0);
	ctr = CTR_AUXDIS | CTR_XLATE | CTR_KBDINT;
	seabios_kbd_command(m, &ctr, 0xf4, NULL, 0, NULL, 0);
	assert_int_equal(read_ctr(m), ctr);

	/* A key now reaches INT 9 as set 1 through IRQ 1. */
	fake_machine_clear_irq_edges(m);
	input_key(m->input, INPUT_KEY_A, true);
	assert_int_equal(fake_machine_irq_edges(m, 1), 1);
	assert_int_equal(expect_byte(m, false), 0x1e);
	assert_int_equal(fake_machine_irq_level(m, 1), 0);
	input_key(m->input, INPUT_KEY_A, false);
	assert_int_equal(expect_byte(m, false), 0x9e);
	assert_int_equal(fake_machine_irq_edges(m, 1), 2);
	assert_int_equal(fake_machine_irq_edges(m, 12), 0);
}

static void test_translation(void **state)
{
	struct machine *m = *state;
	input_key(m->input, INPUT_KEY_UP, true);
	input_key(m->input, INPUT_KEY_UP, false);
	static const uint8_t xlated[] = { 0xe0, 0x48, 0xe0, 0xc8 };
	for (unsigned i = 0; i < sizeof(xlated); i++)
		assert_int_equal(expect_byte(m, false), xlated[i]);
	expect_empty(m);
	/* Raw set 2 with XLATE off. */
	write_ctr(m, CTR_SYS | CTR_KBDINT);
	input_key(m->input, INPUT_KEY_UP, true);
	input_key(m->input, INPUT_KEY_UP, false);
	static const uint8_t raw[] = { 0xe0, 0x75, 0xe0, 0xf0, 0x75 };
	for (unsigned i = 0; i < sizeof(raw); i++)
		assert_int_equal(expect_byte(m, false), raw[i]);
	/* The scan-set query answers 41 (not 02) through the translator, the
	 * value Linux and DOS programs expect. */
	write_ctr(m, CTR_XLATE | CTR_SYS | CTR_KBDINT);
	data_out(m, 0xf0);
	assert_int_equal(expect_byte(m, false), PS2_ACK);
	data_out(m, 0x00);
	assert_int_equal(expect_byte(m, false), PS2_ACK);
	assert_int_equal(expect_byte(m, false), 0x41);
	/* The keyboard ID AB 83 reads AB 41, which Linux takes as translated. */
	data_out(m, 0xf2);
	assert_int_equal(expect_byte(m, false), PS2_ACK);
	assert_int_equal(expect_byte(m, false), 0xab);
	assert_int_equal(expect_byte(m, false), 0x41);
}

/* The controller's table agrees with the keyboard's own set-1 codes for every
 * key that has one: translated set 2 equals set 1. */
static void test_translation_table_matches_set1(void **state)
{
	unsigned checked = 0;
	for (unsigned key = 0; key < INPUT_KEY_MAX; key++) {
		uint8_t s1[16], s2[16];
		unsigned n1 = ps2kbd_make_code(key, 1, s1, sizeof(s1));
		unsigned n2 = ps2kbd_make_code(key, 2, s2, sizeof(s2));
		if (!n1 && !n2)
			continue;
		uint8_t out[16];
		unsigned n = 0;
		bool brk = false;
		for (unsigned i = 0; i < n2; i++) {
			if (s2[i] == 0xf0) {
				brk = true;
				continue;
			}
			out[n++] = (uint8_t)(i8042_translate(s2[i]) | (brk ? 0x80 : 0));
			brk = false;
		}
		assert_int_equal(n, n1);
		assert_memory_equal(out, s1, n1);
		checked++;
	}
	assert_true(checked > 120);
	assert_int_equal(i8042_translate(0x00), 0xff);  /* overrun 00 -> FF */
	assert_int_equal(i8042_translate(0xfa), 0xfa);
	assert_int_equal(i8042_translate(0xaa), 0xaa);
}

static void test_ram_and_command_byte(void **state)
{
	struct machine *m = *state;
	for (uint8_t i = 1; i < 32; i++) {
		command(m, (uint8_t)(0x60 + i));
		data_out(m, (uint8_t)(0xa0 + i));
	}
	for (uint8_t i = 1; i < 32; i++) {
		command(m, (uint8_t)(0x20 + i));
		assert_int_equal(expect_byte(m, false), 0xa0 + i);
	}
	/* The status register's system flag follows command byte bit 2. */
	write_ctr(m, CTR_KBDINT);
	assert_false(status(m) & ST_SYS);
	command(m, 0xaa);               /* the self test sets it */
	assert_int_equal(expect_byte(m, false), 0x55);
	assert_true(status(m) & ST_SYS);
	/* A command replaced before its data byte arrives is forgotten. */
	command(m, 0x60);
	command(m, 0xae);
	data_out(m, 0xf4);              /* goes to the keyboard, not the RAM */
	assert_int_equal(expect_byte(m, false), PS2_ACK);
	assert_int_equal(read_ctr(m) & 0x0f, CTR_KBDINT | CTR_SYS);
}

static void test_keyboard_disable(void **state)
{
	struct machine *m = *state;
	command(m, 0xad);
	assert_int_equal(read_ctr(m) & CTR_KBDDIS, CTR_KBDDIS);
	input_key(m->input, INPUT_KEY_B, true);
	expect_empty(m);                /* held in the keyboard while disabled */
	assert_int_equal(fake_machine_irq_edges(m, 1), 1);      /* the CTR read */
	command(m, 0xae);
	assert_int_equal(expect_byte(m, false), 0x30);
	/* Writing to the keyboard enables its interface again. */
	command(m, 0xad);
	data_out(m, 0xee);
	assert_int_equal(expect_byte(m, false), 0xee);
	assert_int_equal(read_ctr(m) & CTR_KBDDIS, 0);
}

static void test_aux_port(void **state)
{
	struct machine *m = *state;
	/* Linux i8042_check_aux(): loop a byte through D3. */
	write_ctr(m, CTR_XLATE | CTR_SYS | CTR_KBDINT | CTR_AUXINT);
	fake_machine_clear_irq_edges(m);
	command(m, 0xd3);
	data_out(m, 0x5a);
	assert_int_equal(fake_machine_irq_edges(m, 12), 1);
	assert_int_equal(expect_byte(m, true), 0x5a);
	command(m, 0xa7);
	assert_true(read_ctr(m) & CTR_AUXDIS);
	command(m, 0xa8);
	assert_false(read_ctr(m) & CTR_AUXDIS);
	command(m, 0xa9);
	assert_int_equal(expect_byte(m, false), 0x00);
	/* Enable the mouse and move it: a packet, every byte on IRQ 12. */
	command(m, 0xd4);
	data_out(m, 0xf4);
	assert_int_equal(expect_byte(m, true), PS2_ACK);
	fake_machine_clear_irq_edges(m);
	input_mouse_rel(m->input, 5, 0, 0, INPUT_BUTTON_RIGHT);
	assert_int_equal(expect_byte(m, true), 0x0a);
	assert_int_equal(expect_byte(m, true), 0x05);
	assert_int_equal(expect_byte(m, true), 0x00);
	expect_empty(m);
	assert_int_equal(fake_machine_irq_edges(m, 12), 3);
	assert_int_equal(fake_machine_irq_edges(m, 1), 0);
	/* Mouse bytes are never translated. */
	command(m, 0xd4);
	data_out(m, 0xf2);
	assert_int_equal(expect_byte(m, true), PS2_ACK);
	assert_int_equal(expect_byte(m, true), 0x00);
	/* AUXDIS holds mouse data back. */
	command(m, 0xa7);
	input_mouse_rel(m->input, 1, 0, 0, 0);
	expect_empty(m);
	command(m, 0xa8);
	assert_int_equal(expect_byte(m, true), 0x08);
}

static void test_shared_output_buffer(void **state)
{
	struct machine *m = *state;
	write_ctr(m, CTR_SYS | CTR_KBDINT | CTR_AUXINT);        /* no translation */
	command(m, 0xd4);
	data_out(m, 0xf4);
	assert_int_equal(expect_byte(m, true), PS2_ACK);
	fake_machine_clear_irq_edges(m);
	/* Both devices have data: one byte at a time, each tagged and routed. */
	input_mouse_rel(m->input, 1, 1, 0, 0);
	input_key(m->input, INPUT_KEY_C, true);
	unsigned kbd = 0, aux = 0;
	uint8_t kbd_byte = 0;
	for (int i = 0; i < 10 && (status(m) & ST_OBF); i++) {
		bool is_aux = status(m) & ST_AUXB;
		assert_int_equal(fake_machine_irq_level(m, 1), !is_aux);
		assert_int_equal(fake_machine_irq_level(m, 12), is_aux);
		uint8_t b = data_in(m);
		if (is_aux) {
			aux++;
		} else {
			kbd++;
			kbd_byte = b;
		}
	}
	assert_int_equal(kbd, 1);
	assert_int_equal(kbd_byte, 0x21);
	assert_int_equal(aux, 3);
	assert_int_equal(fake_machine_irq_edges(m, 1), 1);
	assert_int_equal(fake_machine_irq_edges(m, 12), 3);
	/* With its interrupt bit clear, a byte sets OBF but raises no IRQ. */
	write_ctr(m, CTR_SYS);
	fake_machine_clear_irq_edges(m);
	input_key(m->input, INPUT_KEY_C, false);
	assert_true(status(m) & ST_OBF);
	assert_int_equal(fake_machine_irq_edges(m, 1), 0);
}

static void test_replies_wait_behind_data(void **state)
{
	struct machine *m = *state;
	input_key(m->input, INPUT_KEY_F, true);
	command(m, 0x20);               /* the key byte is still unread */
	assert_int_equal(expect_byte(m, false), 0x21);
	assert_int_equal(expect_byte(m, false), CTR_XLATE | CTR_SYS | CTR_KBDINT);
	expect_empty(m);
	/* An empty buffer reads its last byte again (EMM386 does this). */
	assert_int_equal(data_in(m), CTR_XLATE | CTR_SYS | CTR_KBDINT);
	/* D2 poses as the keyboard, untranslated. */
	command(m, 0xd2);
	data_out(m, 0x02);
	assert_int_equal(expect_byte(m, false), 0x02);
}

static void test_output_port_and_reset(void **state)
{
	struct machine *m = *state;
	command(m, 0xd0);
	assert_int_equal(expect_byte(m, false) & 0x03, 0x03);
	command(m, 0xdd);
	assert_false(fake_machine_a20(m));
	command(m, 0xdf);
	assert_true(fake_machine_a20(m));
	command(m, 0xd1);
	data_out(m, 0x01);              /* A20 off, no reset */
	assert_false(fake_machine_a20(m));
	assert_int_equal(fake_machine_take_requests(m), 0);
	command(m, 0xd0);
	assert_int_equal(expect_byte(m, false) & 0x03, 0x01);
	command(m, 0xd1);
	data_out(m, 0x02);              /* bit 0 low: reset */
	assert_int_equal(fake_machine_take_requests(m), MACHINE_REQ_RESET);
	command(m, 0xfe);
	assert_int_equal(fake_machine_take_requests(m), MACHINE_REQ_RESET);
	command(m, 0xff);               /* pulses nothing */
	command(m, 0xf1);               /* pulses line 1, not the reset line */
	assert_int_equal(fake_machine_take_requests(m), 0);
	command(m, 0xf0);
	assert_int_equal(fake_machine_take_requests(m), MACHINE_REQ_RESET);
	/* Output port bit 4 shows the keyboard interrupt. */
	command(m, 0xd2);
	data_out(m, 0x11);
	command(m, 0xd0);               /* queued behind the D2 byte */
	assert_int_equal(expect_byte(m, false), 0x11);
	assert_int_equal(expect_byte(m, false) & 0x10, 0x10);
}

static void test_info_commands(void **state)
{
	struct machine *m = *state;
	command(m, 0xc0);
	assert_int_equal(expect_byte(m, false), 0xa0);
	command(m, 0xa4);
	assert_int_equal(expect_byte(m, false), 0xf1);
	command(m, 0xe0);
	assert_int_equal(expect_byte(m, false), 0x00);
	command(m, 0xc8);               /* unknown: ignored */
	expect_empty(m);
}

static void test_machine_reset(void **state)
{
	struct machine *m = *state;
	write_ctr(m, CTR_KBDDIS);
	input_key(m->input, INPUT_KEY_E, true);
	fake_machine_reset(m);
	assert_int_equal(status(m), ST_SYS | ST_INH);
	assert_int_equal(read_ctr(m), CTR_XLATE | CTR_SYS | CTR_KBDINT);
	expect_empty(m);                /* the queued key is gone */
	/* After reset the key can be pressed again (its state was cleared). */
	input_key(m->input, INPUT_KEY_E, true);
	assert_int_equal(expect_byte(m, false), 0x12);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_state),
		T(test_seabios_keyboard_setup),
		T(test_translation),
		T(test_translation_table_matches_set1),
		T(test_ram_and_command_byte),
		T(test_keyboard_disable),
		T(test_aux_port),
		T(test_shared_output_buffer),
		T(test_replies_wait_behind_data),
		T(test_output_port_and_reset),
		T(test_info_commands),
		T(test_machine_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
