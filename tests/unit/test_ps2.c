/*
 * Unit tests for the PS/2 keyboard and mouse models on their own (the
 * controller's side is in test_i8042.c): keyboard commands, scan-code sets
 * 1/2/3, Pause and Print Screen, typematic repeat, the 16-byte buffer and
 * its overrun code, set-3 key modes; mouse commands, packets, IntelliMouse
 * detection, wheel, scaling, remote and wrap modes, and overflow.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "isa/ps2.h"
#include "ui/input.h"

#define MS (1000 * 1000LL)

struct fixture {
	struct machine *m;
	struct ps2kbd *kbd;
	struct ps2mouse *mouse;
	unsigned notified;
};

static void notify(void *opaque)
{
	((struct fixture *)opaque)->notified++;
}

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	f.m = fake_machine_create();
	f.kbd = ps2kbd_create(f.m, notify, &f);
	f.mouse = ps2mouse_create(f.m, notify, &f);
	assert_non_null(f.kbd);
	assert_non_null(f.mouse);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ps2kbd_destroy(f->kbd);
	ps2mouse_destroy(f->mouse);
	fake_machine_destroy(f->m);
	return 0;
}

/* Everything the keyboard has queued. */
static unsigned kbd_drain(struct fixture *f, uint8_t *out, unsigned max)
{
	unsigned n = 0;
	int b;
	while ((b = ps2kbd_read(f->kbd)) >= 0)
		if (n < max)
			out[n++] = (uint8_t)b;
	return n;
}

static unsigned mouse_drain(struct fixture *f, uint8_t *out, unsigned max)
{
	unsigned n = 0;
	int b;
	while ((b = ps2mouse_read(f->mouse)) >= 0)
		if (n < max)
			out[n++] = (uint8_t)b;
	return n;
}

#define EXPECT_KBD(f, ...)                                                     \
	do {                                                                   \
		const uint8_t want_[] = { __VA_ARGS__ };                       \
		uint8_t got_[64];                                              \
		unsigned n_ = kbd_drain(f, got_, sizeof(got_));                \
		assert_int_equal(n_, sizeof(want_));                           \
		assert_memory_equal(got_, want_, sizeof(want_));               \
	} while (0)

#define EXPECT_MOUSE(f, ...)                                                   \
	do {                                                                   \
		const uint8_t want_[] = { __VA_ARGS__ };                       \
		uint8_t got_[64];                                              \
		unsigned n_ = mouse_drain(f, got_, sizeof(got_));              \
		assert_int_equal(n_, sizeof(want_));                           \
		assert_memory_equal(got_, want_, sizeof(want_));               \
	} while (0)

/* F0 n: select scan-code set n (both bytes acknowledged). */
static void kbd_set(struct fixture *f, uint8_t set)
{
	ps2kbd_write(f->kbd, 0xf0);
	ps2kbd_write(f->kbd, set);
	EXPECT_KBD(f, 0xfa, 0xfa);
}

static void press(struct fixture *f, unsigned key)
{
	ps2kbd_key(f->kbd, key, true);
}

static void release(struct fixture *f, unsigned key)
{
	ps2kbd_key(f->kbd, key, false);
}

/* ---- keyboard ------------------------------------------------------------ */

static void test_kbd_commands(void **state)
{
	struct fixture *f = *state;
	ps2kbd_write(f->kbd, 0xff);
	EXPECT_KBD(f, 0xfa, 0xaa);
	assert_true(f->notified > 0);
	ps2kbd_write(f->kbd, 0xf2);
	EXPECT_KBD(f, 0xfa, 0xab, 0x83);
	ps2kbd_write(f->kbd, 0xee);
	EXPECT_KBD(f, 0xee);
	ps2kbd_write(f->kbd, 0xed);
	ps2kbd_write(f->kbd, 0x07);
	EXPECT_KBD(f, 0xfa, 0xfa);
	assert_int_equal(ps2kbd_leds(f->kbd), 7);
	ps2kbd_write(f->kbd, 0xf3);
	ps2kbd_write(f->kbd, 0x20);
	EXPECT_KBD(f, 0xfa, 0xfa);
	ps2kbd_write(f->kbd, 0x01);     /* not a command */
	EXPECT_KBD(f, 0xfe);
	ps2kbd_write(f->kbd, 0xfe);     /* resend: the last byte again */
	EXPECT_KBD(f, 0xfe);
	ps2kbd_write(f->kbd, 0xf2);
	kbd_drain(f, (uint8_t[8]){ 0 }, 8);
	ps2kbd_write(f->kbd, 0xfe);
	EXPECT_KBD(f, 0x83);
}

static void test_scan_code_sets(void **state)
{
	struct fixture *f = *state;
	ps2kbd_write(f->kbd, 0xf0);
	ps2kbd_write(f->kbd, 0x00);
	EXPECT_KBD(f, 0xfa, 0xfa, 0x02);
	press(f, INPUT_KEY_A);
	release(f, INPUT_KEY_A);
	press(f, INPUT_KEY_RCTRL);
	release(f, INPUT_KEY_RCTRL);
	EXPECT_KBD(f, 0x1c, 0xf0, 0x1c, 0xe0, 0x14, 0xe0, 0xf0, 0x14);

	kbd_set(f, 1);
	press(f, INPUT_KEY_A);
	release(f, INPUT_KEY_A);
	press(f, INPUT_KEY_RCTRL);
	release(f, INPUT_KEY_RCTRL);
	EXPECT_KBD(f, 0x1e, 0x9e, 0xe0, 0x1d, 0xe0, 0x9d);

	kbd_set(f, 3);
	press(f, INPUT_KEY_ESCAPE);
	release(f, INPUT_KEY_ESCAPE);
	press(f, INPUT_KEY_RCTRL);
	release(f, INPUT_KEY_RCTRL);
	EXPECT_KBD(f, 0x08, 0xf0, 0x08, 0x58, 0xf0, 0x58);
	ps2kbd_write(f->kbd, 0xf0);
	ps2kbd_write(f->kbd, 0x00);
	EXPECT_KBD(f, 0xfa, 0xfa, 0x03);

	ps2kbd_write(f->kbd, 0xf0);
	ps2kbd_write(f->kbd, 0x04);     /* no such set */
	EXPECT_KBD(f, 0xfa, 0xfe);
}

static void test_pause_and_print_screen(void **state)
{
	struct fixture *f = *state;
	press(f, INPUT_KEY_PAUSE);
	release(f, INPUT_KEY_PAUSE);
	EXPECT_KBD(f, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
	press(f, INPUT_KEY_LCTRL);
	press(f, INPUT_KEY_PAUSE);      /* Ctrl+Pause is Break */
	release(f, INPUT_KEY_PAUSE);
	release(f, INPUT_KEY_LCTRL);
	EXPECT_KBD(f, 0x14, 0xe0, 0x7e, 0xe0, 0xf0, 0x7e, 0xf0, 0x14);
	press(f, INPUT_KEY_PRINTSCREEN);
	release(f, INPUT_KEY_PRINTSCREEN);
	EXPECT_KBD(f, 0xe0, 0x12, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12);
	press(f, INPUT_KEY_RSHIFT);
	press(f, INPUT_KEY_PRINTSCREEN);
	release(f, INPUT_KEY_PRINTSCREEN);
	release(f, INPUT_KEY_RSHIFT);
	EXPECT_KBD(f, 0x59, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xf0, 0x59);
	press(f, INPUT_KEY_LALT);
	press(f, INPUT_KEY_PRINTSCREEN);        /* Alt+Print Screen is SysRq */
	release(f, INPUT_KEY_PRINTSCREEN);
	release(f, INPUT_KEY_LALT);
	EXPECT_KBD(f, 0x11, 0x84, 0xf0, 0x84, 0xf0, 0x11);

	kbd_set(f, 1);
	press(f, INPUT_KEY_PAUSE);
	release(f, INPUT_KEY_PAUSE);
	EXPECT_KBD(f, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
	press(f, INPUT_KEY_PRINTSCREEN);
	release(f, INPUT_KEY_PRINTSCREEN);
	EXPECT_KBD(f, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
}

static void test_typematic(void **state)
{
	struct fixture *f = *state;
	press(f, INPUT_KEY_A);
	EXPECT_KBD(f, 0x1c);
	/* Default: 500 ms delay, then (8+3)*2*4.17 ms = 91.7 ms apart. */
	fake_machine_advance(f->m, 499 * MS);
	EXPECT_KBD(f);
	fake_machine_advance(f->m, 1 * MS);
	EXPECT_KBD(f, 0x1c);
	unsigned repeats = 0;
	while (fake_machine_run_next_timer(f->m, 100 * MS) && fake_machine_now(f->m) <= 1500 * MS)
		repeats += kbd_drain(f, (uint8_t[8]){ 0 }, 8);
	assert_int_equal(repeats, 10);          /* 1000 ms / 91.7 ms */
	/* A host auto-repeat event is ignored: we repeat ourselves. */
	press(f, INPUT_KEY_A);
	kbd_drain(f, (uint8_t[8]){ 0 }, 8);
	/* Only the last key pressed repeats; releasing it stops repeating. */
	press(f, INPUT_KEY_B);
	EXPECT_KBD(f, 0x32);
	fake_machine_advance(f->m, 500 * MS);
	EXPECT_KBD(f, 0x32);
	release(f, INPUT_KEY_B);
	EXPECT_KBD(f, 0xf0, 0x32);
	assert_false(fake_machine_timer_armed(f->m));
	release(f, INPUT_KEY_A);
	EXPECT_KBD(f, 0xf0, 0x1c);

	/* F3 00: 250 ms, 30 characters per second. Pause never repeats. */
	ps2kbd_write(f->kbd, 0xf3);
	ps2kbd_write(f->kbd, 0x00);
	kbd_drain(f, (uint8_t[4]){ 0 }, 4);
	press(f, INPUT_KEY_UP);
	fake_machine_advance(f->m, 250 * MS);
	fake_machine_advance(f->m, 34 * MS);
	EXPECT_KBD(f, 0xe0, 0x75, 0xe0, 0x75, 0xe0, 0x75);
	release(f, INPUT_KEY_UP);
	kbd_drain(f, (uint8_t[8]){ 0 }, 8);
	press(f, INPUT_KEY_PAUSE);
	kbd_drain(f, (uint8_t[16]){ 0 }, 16);
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_buffer_overrun(void **state)
{
	struct fixture *f = *state;
	/* Sixteen bytes fit; the next key becomes one overrun code. */
	static const unsigned keys[] = {
		INPUT_KEY_A, INPUT_KEY_B, INPUT_KEY_C, INPUT_KEY_D, INPUT_KEY_E, INPUT_KEY_F,
		INPUT_KEY_G, INPUT_KEY_H, INPUT_KEY_I, INPUT_KEY_J, INPUT_KEY_K, INPUT_KEY_L,
		INPUT_KEY_M, INPUT_KEY_N, INPUT_KEY_O, INPUT_KEY_P, INPUT_KEY_Q, INPUT_KEY_R,
	};
	for (unsigned i = 0; i < 18; i++)
		press(f, keys[i]);
	uint8_t got[32];
	unsigned n = kbd_drain(f, got, sizeof(got));
	assert_int_equal(n, 17);
	assert_int_equal(got[0], 0x1c);
	assert_int_equal(got[15], 0x4d);        /* P */
	assert_int_equal(got[16], 0x00);        /* overrun, once */
	/* Drained: keys flow again. */
	release(f, INPUT_KEY_A);
	EXPECT_KBD(f, 0xf0, 0x1c);
	/* Set 1's overrun code is FF. A sequence that does not fit whole is
	 * not split. */
	kbd_set(f, 1);
	for (unsigned i = 1; i < 16; i++)
		release(f, keys[i]);            /* 15 one-byte breaks */
	press(f, INPUT_KEY_UP);                 /* E0 48 does not fit */
	n = kbd_drain(f, got, sizeof(got));
	assert_int_equal(n, 16);
	assert_int_equal(got[15], 0xff);
}

static void test_enable_disable(void **state)
{
	struct fixture *f = *state;
	ps2kbd_write(f->kbd, 0xf5);             /* defaults, scanning off */
	EXPECT_KBD(f, 0xfa);
	press(f, INPUT_KEY_Z);
	EXPECT_KBD(f);
	ps2kbd_write(f->kbd, 0xf4);
	EXPECT_KBD(f, 0xfa);
	release(f, INPUT_KEY_Z);
	EXPECT_KBD(f, 0xf0, 0x1a);
	/* F4 throws away what was not sent yet. */
	press(f, INPUT_KEY_Y);
	ps2kbd_write(f->kbd, 0xf4);
	EXPECT_KBD(f, 0xfa);
	/* F6 restores defaults (set 2) and keeps scanning. */
	ps2kbd_write(f->kbd, 0xf0);
	ps2kbd_write(f->kbd, 0x01);
	ps2kbd_write(f->kbd, 0xf6);
	EXPECT_KBD(f, 0xfa, 0xfa, 0xfa);
	release(f, INPUT_KEY_Y);
	EXPECT_KBD(f, 0xf0, 0x35);
}

static void test_set3_key_modes(void **state)
{
	struct fixture *f = *state;
	kbd_set(f, 3);
	ps2kbd_write(f->kbd, 0xf9);             /* every key make-only */
	EXPECT_KBD(f, 0xfa);
	press(f, INPUT_KEY_A);
	release(f, INPUT_KEY_A);
	EXPECT_KBD(f, 0x1c);
	assert_false(fake_machine_timer_armed(f->m));
	/* FC: these keys make/break; the list ends at the next command. */
	ps2kbd_write(f->kbd, 0xfc);
	ps2kbd_write(f->kbd, 0x1c);
	ps2kbd_write(f->kbd, 0x32);
	ps2kbd_write(f->kbd, 0xee);
	EXPECT_KBD(f, 0xfa, 0xfa, 0xfa, 0xee);
	press(f, INPUT_KEY_A);
	release(f, INPUT_KEY_A);
	press(f, INPUT_KEY_C);
	release(f, INPUT_KEY_C);
	EXPECT_KBD(f, 0x1c, 0xf0, 0x1c, 0x21);
	/* FA: all typematic and make/break. */
	ps2kbd_write(f->kbd, 0xfa);
	kbd_drain(f, (uint8_t[4]){ 0 }, 4);
	press(f, INPUT_KEY_A);
	fake_machine_advance(f->m, 500 * MS);
	EXPECT_KBD(f, 0x1c, 0x1c);
}

static void test_reply_does_not_split_a_sequence(void **state)
{
	struct fixture *f = *state;
	press(f, INPUT_KEY_UP);
	press(f, INPUT_KEY_DOWN);
	assert_int_equal(ps2kbd_read(f->kbd), 0xe0);
	ps2kbd_write(f->kbd, 0xee);
	/* The started sequence finishes, then the reply, then queued data. */
	EXPECT_KBD(f, 0x75, 0xee, 0xe0, 0x72);
}

static void test_keys_after_reset(void **state)
{
	struct fixture *f = *state;
	press(f, INPUT_KEY_LSHIFT);
	ps2kbd_reset(f->kbd);
	EXPECT_KBD(f);
	assert_int_equal(ps2kbd_leds(f->kbd), 0);
	press(f, INPUT_KEY_LSHIFT);
	EXPECT_KBD(f, 0x12);
	ps2kbd_key(f->kbd, 0x1ff, true);        /* out of range: ignored */
	ps2kbd_key(f->kbd, 0x03, true);         /* no such key */
	EXPECT_KBD(f);
}

/* ---- mouse --------------------------------------------------------------- */

static void mouse_cmd(struct fixture *f, uint8_t cmd)
{
	ps2mouse_write(f->mouse, cmd);
}

static void mouse_rate(struct fixture *f, uint8_t rate)
{
	mouse_cmd(f, 0xf3);
	mouse_cmd(f, rate);
	EXPECT_MOUSE(f, 0xfa, 0xfa);
}

static void test_mouse_reset_and_id(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xff);
	EXPECT_MOUSE(f, 0xfa, 0xaa, 0x00);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x00);
	/* A wrong knock does nothing. */
	mouse_rate(f, 200);
	mouse_rate(f, 200);
	mouse_rate(f, 80);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x00);
	/* IntelliMouse: 200, 100, 80. */
	mouse_rate(f, 200);
	mouse_rate(f, 100);
	mouse_rate(f, 80);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x03);
	/* IntelliMouse Explorer: then 200, 200, 80. */
	mouse_rate(f, 200);
	mouse_rate(f, 200);
	mouse_rate(f, 80);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x04);
	mouse_cmd(f, 0xff);
	EXPECT_MOUSE(f, 0xfa, 0xaa, 0x00);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x00);
	mouse_cmd(f, 0x42);             /* not a command */
	EXPECT_MOUSE(f, 0xfe);
}

static void test_mouse_packets(void **state)
{
	struct fixture *f = *state;
	ps2mouse_motion(f->mouse, 1, 1, 0, 0);
	EXPECT_MOUSE(f);                /* reporting is off after power-on */
	mouse_cmd(f, 0xf4);
	EXPECT_MOUSE(f, 0xfa);
	ps2mouse_motion(f->mouse, 10, -5, 0, INPUT_BUTTON_LEFT);
	EXPECT_MOUSE(f, 0x09, 0x0a, 0x05);      /* up the screen is +y */
	ps2mouse_motion(f->mouse, -3, 4, 0, INPUT_BUTTON_LEFT | INPUT_BUTTON_MIDDLE);
	EXPECT_MOUSE(f, 0x3d, 0xfd, 0xfc);
	ps2mouse_motion(f->mouse, 0, 0, 0, 0);  /* buttons released */
	EXPECT_MOUSE(f, 0x08, 0x00, 0x00);
	ps2mouse_motion(f->mouse, 0, 0, 0, 0);  /* nothing new */
	EXPECT_MOUSE(f);
	/* Big motion is split over packets, none lost, no overflow bits. */
	ps2mouse_motion(f->mouse, 600, 0, 0, 0);
	EXPECT_MOUSE(f, 0x08, 0xff, 0x00, 0x08, 0xff, 0x00, 0x08, 0x5a, 0x00);
	/* A plain PS/2 mouse has no wheel: scrolling sends nothing. */
	ps2mouse_motion(f->mouse, 0, 0, 3, 0);
	EXPECT_MOUSE(f);
}

static void test_mouse_overflow(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xf0);             /* remote mode: nothing streams */
	EXPECT_MOUSE(f, 0xfa);
	ps2mouse_motion(f->mouse, 70000, INT_MIN, 0, 0);
	ps2mouse_motion(f->mouse, INT_MAX, INT_MAX, INT_MIN, 0);
	mouse_cmd(f, 0xeb);
	/* Both counters saturated: overflow bits, the largest counts
	 * (+255 right, -256 down). */
	EXPECT_MOUSE(f, 0xfa, 0xe8, 0xff, 0x00);
}

static void test_mouse_wheel(void **state)
{
	struct fixture *f = *state;
	mouse_rate(f, 200);
	mouse_rate(f, 100);
	mouse_rate(f, 80);
	mouse_cmd(f, 0xf4);
	EXPECT_MOUSE(f, 0xfa);
	ps2mouse_motion(f->mouse, 0, 0, 1, 0);  /* away from the user: -1 */
	EXPECT_MOUSE(f, 0x08, 0x00, 0x00, 0xff);
	ps2mouse_motion(f->mouse, 0, 0, -10, 0);        /* split at +7 */
	EXPECT_MOUSE(f, 0x08, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x03);
	/* Explorer: the fourth byte also carries buttons 4 and 5. */
	mouse_rate(f, 200);
	mouse_rate(f, 200);
	mouse_rate(f, 80);
	ps2mouse_motion(f->mouse, 0, 0, 1, INPUT_BUTTON_SIDE | INPUT_BUTTON_EXTRA);
	EXPECT_MOUSE(f, 0x08, 0x00, 0x00, 0x3f);
}

static void test_mouse_status_and_settings(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xe9);
	EXPECT_MOUSE(f, 0xfa, 0x00, 0x02, 100);
	mouse_cmd(f, 0xe8);
	mouse_cmd(f, 0x03);
	EXPECT_MOUSE(f, 0xfa, 0xfa);
	mouse_rate(f, 40);
	mouse_cmd(f, 0xe7);
	mouse_cmd(f, 0xf4);
	EXPECT_MOUSE(f, 0xfa, 0xfa);
	ps2mouse_motion(f->mouse, 0, 0, 0, INPUT_BUTTON_LEFT | INPUT_BUTTON_RIGHT);
	mouse_drain(f, (uint8_t[8]){ 0 }, 8);
	mouse_cmd(f, 0xe9);
	EXPECT_MOUSE(f, 0xfa, 0x20 | 0x10 | 0x04 | 0x01, 0x03, 40);
	mouse_cmd(f, 0xf0);
	mouse_cmd(f, 0xe6);
	mouse_cmd(f, 0xe9);
	EXPECT_MOUSE(f, 0xfa, 0xfa, 0xfa, 0x40 | 0x20 | 0x04 | 0x01, 0x03, 40);
	mouse_cmd(f, 0xf6);             /* defaults */
	mouse_cmd(f, 0xe9);
	EXPECT_MOUSE(f, 0xfa, 0xfa, 0x05, 0x02, 100);
}

static void test_mouse_scaling(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xe7);
	mouse_cmd(f, 0xf4);
	EXPECT_MOUSE(f, 0xfa, 0xfa);
	static const int in[] = { 1, 2, 3, 4, 5, 10, -4 };
	static const uint8_t out[] = { 1, 1, 3, 6, 9, 20, 0xfa };
	for (unsigned i = 0; i < 7; i++) {
		ps2mouse_motion(f->mouse, in[i], 0, 0, 0);
		uint8_t p[8];
		assert_int_equal(mouse_drain(f, p, sizeof(p)), 3);
		assert_int_equal(p[1], out[i]);
	}
	/* Remote reads are never scaled. */
	mouse_cmd(f, 0xf0);
	mouse_drain(f, (uint8_t[4]){ 0 }, 4);
	ps2mouse_motion(f->mouse, 5, 0, 0, 0);
	mouse_cmd(f, 0xeb);
	EXPECT_MOUSE(f, 0xfa, 0x08, 0x05, 0x00);
	mouse_cmd(f, 0xeb);             /* counters were cleared by the read */
	EXPECT_MOUSE(f, 0xfa, 0x08, 0x00, 0x00);
}

static void test_mouse_wrap_mode(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xee);
	EXPECT_MOUSE(f, 0xfa);
	mouse_cmd(f, 0x42);
	mouse_cmd(f, 0xf2);             /* echoed too */
	EXPECT_MOUSE(f, 0x42, 0xf2);
	mouse_cmd(f, 0xec);
	EXPECT_MOUSE(f, 0xfa);
	mouse_cmd(f, 0xf2);
	EXPECT_MOUSE(f, 0xfa, 0x00);
	mouse_cmd(f, 0xee);
	EXPECT_MOUSE(f, 0xfa);
	mouse_cmd(f, 0xff);             /* reset works from wrap mode */
	EXPECT_MOUSE(f, 0xfa, 0xaa, 0x00);
	mouse_cmd(f, 0x42);
	EXPECT_MOUSE(f, 0xfe);
}

static void test_mouse_command_interrupts_stream(void **state)
{
	struct fixture *f = *state;
	mouse_cmd(f, 0xf4);
	EXPECT_MOUSE(f, 0xfa);
	ps2mouse_motion(f->mouse, 1000, 0, 0, 0);       /* four packets queue */
	assert_int_equal(ps2mouse_read(f->mouse), 0x08);
	mouse_cmd(f, 0xf5);
	/* The started packet ends, the reply follows, the rest is dropped. */
	EXPECT_MOUSE(f, 0xff, 0x00, 0xfa);
	mouse_cmd(f, 0xfe);             /* resend */
	EXPECT_MOUSE(f, 0xfa);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_kbd_commands),
		T(test_scan_code_sets),
		T(test_pause_and_print_screen),
		T(test_typematic),
		T(test_buffer_overrun),
		T(test_enable_disable),
		T(test_set3_key_modes),
		T(test_reply_does_not_split_a_sequence),
		T(test_keys_after_reset),
		T(test_mouse_reset_and_id),
		T(test_mouse_packets),
		T(test_mouse_overflow),
		T(test_mouse_wheel),
		T(test_mouse_status_and_settings),
		T(test_mouse_scaling),
		T(test_mouse_wrap_mode),
		T(test_mouse_command_interrupts_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
