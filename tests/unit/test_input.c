/*
 * Unit tests for the input hub: delivery to consumers, scripted typing
 * (US layout, pacing in guest time), the --type-at watcher fed through a
 * real chardev tap, and a scripted key sequence read by the "guest" through
 * the i8042's ports.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chardev.h"
#include "fake_machine.h"
#include "iobus.h"
#include "isa/i8042.h"
#include "ui/input.h"
#include "vclock.h"

#define MS (1000 * 1000LL)

struct recorder {
	struct {
		unsigned key;
		bool down;
		int64_t at;
	} ev[256];
	unsigned n;
	int dx, dy, dw;
	unsigned buttons, mouse_events;
	struct machine *m;
};

static void rec_key(void *opaque, unsigned key, bool down)
{
	struct recorder *r = opaque;
	if (r->n < 256)
		r->ev[r->n++] = (typeof(r->ev[0])){ key, down, fake_machine_now(r->m) };
}

static void rec_mouse(void *opaque, int dx, int dy, int dw, unsigned buttons)
{
	struct recorder *r = opaque;
	r->dx += dx;
	r->dy += dy;
	r->dw += dw;
	r->buttons = buttons;
	r->mouse_events++;
}

static const struct input_consumer rec_consumer = { rec_key, rec_mouse };

struct fixture {
	struct machine *m;
	struct recorder rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->m = fake_machine_create();
	f->rec.m = f->m;
	assert_int_equal(input_add_consumer(f->m->input, &rec_consumer, &f->rec), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	input_remove_consumer(f->m->input, &f->rec);
	fake_machine_destroy(f->m);
	free(f);
	return 0;
}

/* Let every queued typing event out. */
static void type_all(struct fixture *f)
{
	while (fake_machine_run_next_timer(f->m, NS_PER_SEC))
		;
}

static void test_delivery(void **state)
{
	struct fixture *f = *state;
	input_key(f->m->input, INPUT_KEY_Q, true);
	input_key(f->m->input, INPUT_KEY_Q, false);
	input_key(f->m->input, 0x100, true);            /* not a page-7 usage */
	input_mouse_rel(f->m->input, 3, -4, 1, INPUT_BUTTON_LEFT);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.ev[0].key, INPUT_KEY_Q);
	assert_true(f->rec.ev[0].down);
	assert_false(f->rec.ev[1].down);
	assert_int_equal(f->rec.mouse_events, 1);
	assert_int_equal(f->rec.dx, 3);
	assert_int_equal(f->rec.dy, -4);
	assert_int_equal(f->rec.dw, 1);
	assert_int_equal(f->rec.buttons, INPUT_BUTTON_LEFT);
	/* A second consumer sees the same events; a removed one none. */
	struct recorder other = { .m = f->m };
	assert_int_equal(input_add_consumer(f->m->input, &rec_consumer, &other), 0);
	input_key(f->m->input, INPUT_KEY_W, true);
	assert_int_equal(other.n, 1);
	assert_int_equal(f->rec.n, 3);
	input_remove_consumer(f->m->input, &other);
	input_key(f->m->input, INPUT_KEY_W, false);
	assert_int_equal(other.n, 1);
	assert_int_equal(f->rec.n, 4);
}

static void test_type_text_paced(void **state)
{
	struct fixture *f = *state;
	fake_machine_advance(f->m, 5 * MS);
	assert_int_equal(input_type(f->m->input, "Hi!\n"), 0);
	type_all(f);
	static const struct { unsigned key; bool down; } want[] = {
		{ INPUT_KEY_LSHIFT, true }, { INPUT_KEY_H, true }, { INPUT_KEY_H, false },
		{ INPUT_KEY_LSHIFT, false }, { INPUT_KEY_I, true }, { INPUT_KEY_I, false },
		{ INPUT_KEY_LSHIFT, true }, { INPUT_KEY_1, true }, { INPUT_KEY_1, false },
		{ INPUT_KEY_LSHIFT, false }, { INPUT_KEY_ENTER, true }, { INPUT_KEY_ENTER, false },
	};
	assert_int_equal(f->rec.n, 12);
	for (unsigned i = 0; i < 12; i++) {
		assert_int_equal(f->rec.ev[i].key, want[i].key);
		assert_int_equal(f->rec.ev[i].down, want[i].down);
		assert_int_equal(f->rec.ev[i].at, 5 * MS + i * INPUT_TYPE_GAP_NS);
	}
	/* Idle again: no timer left running. */
	assert_false(fake_machine_timer_armed(f->m));
}

static void test_type_queues_behind_earlier_text(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(input_type(f->m->input, "a"), 0);
	assert_int_equal(input_type(f->m->input, "b"), 0);
	type_all(f);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(f->rec.ev[2].key, INPUT_KEY_B);
	assert_int_equal(f->rec.ev[3].at, 3 * INPUT_TYPE_GAP_NS);
}

static void test_type_control_and_symbols(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(input_type(f->m->input, "\x03~ \t\x1b"), 0);
	type_all(f);
	static const unsigned keys[] = {
		INPUT_KEY_LCTRL, INPUT_KEY_C, INPUT_KEY_C, INPUT_KEY_LCTRL,
		INPUT_KEY_LSHIFT, INPUT_KEY_GRAVE, INPUT_KEY_GRAVE, INPUT_KEY_LSHIFT,
		INPUT_KEY_SPACE, INPUT_KEY_SPACE, INPUT_KEY_TAB, INPUT_KEY_TAB,
		INPUT_KEY_ESCAPE, INPUT_KEY_ESCAPE,
	};
	assert_int_equal(f->rec.n, 14);
	for (unsigned i = 0; i < 14; i++)
		assert_int_equal(f->rec.ev[i].key, keys[i]);
	/* Every printable ASCII character has a key. */
	for (char c = 0x20; c < 0x7f; c++)
		assert_true(input_char_typeable(c));
}

static void test_type_rejects_untypeable(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(input_type(f->m->input, "ok\x7f"), -EINVAL);
	assert_int_equal(input_type(f->m->input, "caf\xc3\xa9"), -EINVAL);
	assert_false(fake_machine_timer_armed(f->m));
	type_all(f);
	assert_int_equal(f->rec.n, 0);
	assert_false(input_char_typeable('\0'));
}

static void test_type_at_in_order(void **state)
{
	struct fixture *f = *state;
	struct input *in = f->m->input;
	assert_int_equal(input_type_at(in, "login: ", "r"), 0);
	assert_int_equal(input_type_at(in, "# ", "x"), 0);
	assert_int_equal(input_type_at(in, "", "x"), -EINVAL);
	assert_int_equal(input_type_at(in, "m", "\xff"), -EINVAL);
	/* The second marker seen first does nothing; the first is found even
	 * when split across writes. */
	input_watch_output(in, "boot # ok\r\ndebian log", 21);
	input_watch_output(in, "in", 2);
	assert_int_equal(input_type_at_fired(in), 0);
	input_watch_output(in, ": ", 2);
	assert_int_equal(input_type_at_fired(in), 1);
	fake_machine_run_loop(f->m);
	type_all(f);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.ev[0].key, INPUT_KEY_R);
	/* Only output after the first marker counts for the second. */
	input_watch_output(in, "root@host:~# ", 13);
	assert_int_equal(input_type_at_fired(in), 2);
	input_watch_output(in, "# # login: ", 11);       /* nothing left to fire */
	assert_int_equal(input_type_at_fired(in), 2);
	fake_machine_run_loop(f->m);
	type_all(f);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(f->rec.ev[2].key, INPUT_KEY_X);
}

/* The board taps serial output exactly like this. */
static void test_type_at_through_chardev_tap(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/lodge-test-tap-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct config_serial cs = { .mode = SERIAL_FILE };
	cs.file.path = path;
	snprintf(cs.file.origin, sizeof(cs.file.origin), "test");
	char err[256];
	struct chardev *cd = chardev_open(f->m->loop, &cs, err, sizeof(err));
	assert_non_null(cd);
	assert_int_equal(input_type_at(f->m->input, "READY", "y"), 0);
	chardev_set_tap(cd, input_watch_output, f->m->input);
	chardev_write(cd, "...RE", 5);
	chardev_write(cd, "ADY\n", 4);
	chardev_set_tap(cd, NULL, NULL);
	chardev_close(cd);
	unlink(path);
	assert_int_equal(input_type_at_fired(f->m->input), 1);
	fake_machine_run_loop(f->m);
	type_all(f);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.ev[0].key, INPUT_KEY_Y);
}

/* A scripted key sequence reaches a guest that polls the i8042 (XLATE on,
 * as firmware leaves it): the bytes are the set-1 codes of "ls -l\n". */
static void test_scripted_keys_reach_the_guest(void **state)
{
	struct fixture *f = *state;
	assert_non_null(machine_add_device(f->m, &i8042_desc, NULL));
	fake_machine_reset(f->m);
	assert_int_equal(input_type(f->m->input, "ls -L\n"), 0);
	static const uint8_t want[] = {
		0x26, 0xa6, 0x1f, 0x9f, 0x39, 0xb9, 0x0c, 0x8c,
		0x2a, 0x26, 0xa6, 0xaa, 0x1c, 0x9c,
	};
	uint8_t got[32];
	unsigned n = 0;
	for (int steps = 0; steps < 100 && n < sizeof(got); steps++) {
		while (iobus_read(f->m->pio, 0x64, 1) & 0x01)
			got[n++] = (uint8_t)iobus_read(f->m->pio, 0x60, 1);
		if (!fake_machine_run_next_timer(f->m, NS_PER_SEC))
			break;
	}
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(fake_machine_irq_edges(f->m, 1), sizeof(want));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_delivery),
		T(test_type_text_paced),
		T(test_type_queues_behind_earlier_text),
		T(test_type_control_and_symbols),
		T(test_type_rejects_untypeable),
		T(test_type_at_in_order),
		T(test_type_at_through_chardev_tap),
		T(test_scripted_keys_reach_the_guest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
