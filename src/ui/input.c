/*
 * input: the input hub between host-side producers and emulated input
 * devices (see input.h). Keycodes are USB HID page 0x07 usages (HID Usage
 * Tables 1.3, chapter 10).
 *
 * Scripted typing is paced in guest time by a vtimer: one key event per
 * INPUT_TYPE_GAP_NS, so a long script can never overrun the 16-byte buffer of
 * a PS/2 keyboard whose guest reads it promptly, and a run under --icount
 * types at the same guest instants every time.
 *
 * The --type-at watcher sees guest output from inside the serial device,
 * where the device lock is already held, so it only notes the match and
 * defers the typing to the loop thread.
 */
#include "ui/input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "vclock.h"

#define INPUT_MAX_CONSUMERS 8
/* A script longer than this many key events is refused (about 20 000 chars). */
#define INPUT_QUEUE_LIMIT 65536

struct input_sink {
	const struct input_consumer *c;
	void *opaque;
};

struct input_event {
	uint8_t key;
	bool down;
};

struct input_typeat {
	char *marker, *text;
	size_t mlen;
	bool fired;                     /* the marker was seen */
	bool typed;                     /* the text went to input_type() */
};

struct input {
	pthread_mutex_t *lock;          /* the device lock */
	struct vclock *vc;
	struct loop *loop;
	struct input_sink sinks[INPUT_MAX_CONSUMERS];
	unsigned nsinks;

	/* Scripted typing, under the device lock. */
	struct input_event *queue;
	size_t head, count, cap;
	struct vtimer *type_timer;

	/* --type-at, under script_lock (writers of several serial ports may
	 * race and some may not hold the device lock). */
	pthread_mutex_t script_lock;
	struct input_typeat *typeat;
	unsigned ntypeat, next_typeat, fired;
	char window[2 * INPUT_MARKER_MAX];
	size_t wlen;
};

static void input_type_tick(void *opaque, int64_t now);

struct input *input_create(pthread_mutex_t *lock, struct vclock *vc, struct loop *loop)
{
	struct input *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->lock = lock;
	in->vc = vc;
	in->loop = loop;
	in->type_timer = vtimer_create(vc, input_type_tick, in);
	if (!in->type_timer) {
		free(in);
		return NULL;
	}
	pthread_mutex_init(&in->script_lock, NULL);
	return in;
}

void input_destroy(struct input *in)
{
	if (!in)
		return;
	vtimer_destroy(in->type_timer);
	free(in->queue);
	for (unsigned i = 0; i < in->ntypeat; i++) {
		free(in->typeat[i].marker);
		free(in->typeat[i].text);
	}
	free(in->typeat);
	pthread_mutex_destroy(&in->script_lock);
	free(in);
}

int input_add_consumer(struct input *in, const struct input_consumer *c, void *opaque)
{
	if (in->nsinks == INPUT_MAX_CONSUMERS)
		return -ENOSPC;
	in->sinks[in->nsinks++] = (struct input_sink){ c, opaque };
	return 0;
}

void input_remove_consumer(struct input *in, void *opaque)
{
	for (unsigned i = 0; i < in->nsinks; i++) {
		if (in->sinks[i].opaque != opaque)
			continue;
		memmove(&in->sinks[i], &in->sinks[i + 1],
			(in->nsinks - i - 1) * sizeof(in->sinks[0]));
		in->nsinks--;
		i--;
	}
}

/* Device lock held. */
static void input_deliver_key(struct input *in, unsigned keycode, bool down)
{
	if (keycode >= INPUT_KEY_MAX)
		return;
	for (unsigned i = 0; i < in->nsinks; i++)
		if (in->sinks[i].c->key)
			in->sinks[i].c->key(in->sinks[i].opaque, keycode, down);
}

void input_key(struct input *in, unsigned keycode, bool down)
{
	pthread_mutex_lock(in->lock);
	input_deliver_key(in, keycode, down);
	pthread_mutex_unlock(in->lock);
}

void input_mouse_rel(struct input *in, int dx, int dy, int dwheel, unsigned buttons)
{
	pthread_mutex_lock(in->lock);
	for (unsigned i = 0; i < in->nsinks; i++)
		if (in->sinks[i].c->mouse_rel)
			in->sinks[i].c->mouse_rel(in->sinks[i].opaque, dx, dy, dwheel, buttons);
	pthread_mutex_unlock(in->lock);
}

/* ---- typing text ------------------------------------------------------ */

/* US layout, printable ASCII from ' ' to '~': the key and whether Shift is
 * held for it. */
static const struct {
	uint8_t key;
	bool shift;
} input_ascii[0x7f - 0x20] = {
	[' ' - 0x20] = { INPUT_KEY_SPACE, false },
	['!' - 0x20] = { INPUT_KEY_1, true },
	['"' - 0x20] = { INPUT_KEY_APOSTROPHE, true },
	['#' - 0x20] = { INPUT_KEY_3, true },
	['$' - 0x20] = { INPUT_KEY_4, true },
	['%' - 0x20] = { INPUT_KEY_5, true },
	['&' - 0x20] = { INPUT_KEY_7, true },
	['\'' - 0x20] = { INPUT_KEY_APOSTROPHE, false },
	['(' - 0x20] = { INPUT_KEY_9, true },
	[')' - 0x20] = { INPUT_KEY_0, true },
	['*' - 0x20] = { INPUT_KEY_8, true },
	['+' - 0x20] = { INPUT_KEY_EQUAL, true },
	[',' - 0x20] = { INPUT_KEY_COMMA, false },
	['-' - 0x20] = { INPUT_KEY_MINUS, false },
	['.' - 0x20] = { INPUT_KEY_PERIOD, false },
	['/' - 0x20] = { INPUT_KEY_SLASH, false },
	[':' - 0x20] = { INPUT_KEY_SEMICOLON, true },
	[';' - 0x20] = { INPUT_KEY_SEMICOLON, false },
	['<' - 0x20] = { INPUT_KEY_COMMA, true },
	['=' - 0x20] = { INPUT_KEY_EQUAL, false },
	['>' - 0x20] = { INPUT_KEY_PERIOD, true },
	['?' - 0x20] = { INPUT_KEY_SLASH, true },
	['@' - 0x20] = { INPUT_KEY_2, true },
	['[' - 0x20] = { INPUT_KEY_LEFTBRACKET, false },
	['\\' - 0x20] = { INPUT_KEY_BACKSLASH, false },
	[']' - 0x20] = { INPUT_KEY_RIGHTBRACKET, false },
	['^' - 0x20] = { INPUT_KEY_6, true },
	['_' - 0x20] = { INPUT_KEY_MINUS, true },
	['`' - 0x20] = { INPUT_KEY_GRAVE, false },
	['{' - 0x20] = { INPUT_KEY_LEFTBRACKET, true },
	['|' - 0x20] = { INPUT_KEY_BACKSLASH, true },
	['}' - 0x20] = { INPUT_KEY_RIGHTBRACKET, true },
	['~' - 0x20] = { INPUT_KEY_GRAVE, true },
};

/* The key for c and the modifier held with it (0 for none); false if c has
 * no key. Letters and digits are computed, the rest come from the table. */
static bool input_char_key(char c, unsigned *key, unsigned *mod)
{
	unsigned char u = (unsigned char)c;
	*mod = 0;
	switch (u) {
	case '\n': case '\r': *key = INPUT_KEY_ENTER; return true;
	case '\t': *key = INPUT_KEY_TAB; return true;
	case '\b': *key = INPUT_KEY_BACKSPACE; return true;
	case 0x1b: *key = INPUT_KEY_ESCAPE; return true;
	}
	if (u >= 0x01 && u <= 0x1a) {
		*key = INPUT_KEY_A + (u - 0x01);
		*mod = INPUT_KEY_LCTRL;
		return true;
	}
	if (u >= 'a' && u <= 'z') {
		*key = INPUT_KEY_A + (u - 'a');
		return true;
	}
	if (u >= 'A' && u <= 'Z') {
		*key = INPUT_KEY_A + (u - 'A');
		*mod = INPUT_KEY_LSHIFT;
		return true;
	}
	if (u >= '1' && u <= '9') {
		*key = INPUT_KEY_1 + (u - '1');
		return true;
	}
	if (u == '0') {
		*key = INPUT_KEY_0;
		return true;
	}
	if (u < 0x20 || u >= 0x7f || !input_ascii[u - 0x20].key)
		return false;
	*key = input_ascii[u - 0x20].key;
	*mod = input_ascii[u - 0x20].shift ? INPUT_KEY_LSHIFT : 0;
	return true;
}

bool input_char_typeable(char c)
{
	unsigned key, mod;
	return input_char_key(c, &key, &mod);
}

/* Device lock held: deliver one queued event and schedule the next. */
static void input_type_tick(void *opaque, int64_t now)
{
	struct input *in = opaque;
	if (in->head == in->count)
		return;
	struct input_event ev = in->queue[in->head++];
	if (in->head == in->count)
		in->head = in->count = 0;
	input_deliver_key(in, ev.key, ev.down);
	if (in->count)
		vtimer_arm(in->type_timer, now + INPUT_TYPE_GAP_NS);
}

/* Device lock held: make room for n more events. */
static int input_queue_reserve(struct input *in, size_t n)
{
	if (in->head) {
		memmove(in->queue, in->queue + in->head,
			(in->count - in->head) * sizeof(in->queue[0]));
		in->count -= in->head;
		in->head = 0;
	}
	if (in->count + n > INPUT_QUEUE_LIMIT)
		return -ENOSPC;
	if (in->count + n <= in->cap)
		return 0;
	size_t cap = in->cap ? in->cap : 64;
	while (cap < in->count + n)
		cap *= 2;
	struct input_event *q = realloc(in->queue, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	in->queue = q;
	in->cap = cap;
	return 0;
}

int input_type(struct input *in, const char *text)
{
	size_t len = strlen(text);
	unsigned key = 0, mod = 0;
	for (size_t i = 0; i < len; i++)
		if (!input_char_key(text[i], &key, &mod))
			return -EINVAL;

	pthread_mutex_lock(in->lock);
	int rc = input_queue_reserve(in, len * 4);
	if (rc) {
		pthread_mutex_unlock(in->lock);
		return rc;
	}
	bool idle = in->count == 0;
	for (size_t i = 0; i < len; i++) {
		input_char_key(text[i], &key, &mod);
		if (mod)
			in->queue[in->count++] = (struct input_event){ (uint8_t)mod, true };
		in->queue[in->count++] = (struct input_event){ (uint8_t)key, true };
		in->queue[in->count++] = (struct input_event){ (uint8_t)key, false };
		if (mod)
			in->queue[in->count++] = (struct input_event){ (uint8_t)mod, false };
	}
	if (idle && in->count)
		vtimer_arm(in->type_timer, vclock_now(in->vc));
	pthread_mutex_unlock(in->lock);
	return 0;
}

/* ---- --type-at -------------------------------------------------------- */

int input_type_at(struct input *in, const char *marker, const char *text)
{
	size_t mlen = strlen(marker);
	if (!mlen || mlen > INPUT_MARKER_MAX)
		return -EINVAL;
	for (const char *p = text; *p; p++)
		if (!input_char_typeable(*p))
			return -EINVAL;
	struct input_typeat *t = realloc(in->typeat, (in->ntypeat + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	in->typeat = t;
	t = &in->typeat[in->ntypeat];
	*t = (struct input_typeat){ .marker = strdup(marker), .text = strdup(text), .mlen = mlen };
	if (!t->marker || !t->text) {
		free(t->marker);
		free(t->text);
		return -ENOMEM;
	}
	in->ntypeat++;
	return 0;
}

/* Loop thread, no lock held: type the text of every entry that fired. */
static void input_type_at_run(void *arg)
{
	struct input *in = arg;
	for (;;) {
		const char *text = NULL;
		pthread_mutex_lock(&in->script_lock);
		for (unsigned i = 0; i < in->ntypeat && !text; i++) {
			if (in->typeat[i].fired && !in->typeat[i].typed) {
				in->typeat[i].typed = true;
				text = in->typeat[i].text;
			}
		}
		pthread_mutex_unlock(&in->script_lock);
		if (!text)
			return;
		log_debug("input", "typing a --type-at script (%zu characters)", strlen(text));
		if (input_type(in, text))
			log_warn("input", "a --type-at script could not be queued");
	}
}

/*
 * Any thread (serial writers, usually a vCPU with the device lock held): look
 * for the current entry's marker in the output that follows the previous
 * match. A window of the last bytes is kept so a marker split across writes
 * is still found.
 */
void input_watch_output(void *opaque, const void *buf, size_t len)
{
	struct input *in = opaque;
	const uint8_t *p = buf;
	bool fired = false;
	pthread_mutex_lock(&in->script_lock);
	for (size_t i = 0; i < len && in->next_typeat < in->ntypeat; i++) {
		if (in->wlen == sizeof(in->window)) {
			memmove(in->window, in->window + INPUT_MARKER_MAX, INPUT_MARKER_MAX);
			in->wlen = INPUT_MARKER_MAX;
		}
		in->window[in->wlen++] = (char)p[i];
		struct input_typeat *t = &in->typeat[in->next_typeat];
		if (in->wlen >= t->mlen &&
		    !memcmp(in->window + in->wlen - t->mlen, t->marker, t->mlen)) {
			t->fired = true;
			in->next_typeat++;
			in->fired++;
			in->wlen = 0;
			fired = true;
		}
	}
	pthread_mutex_unlock(&in->script_lock);
	if (fired && in->loop)
		loop_defer(in->loop, input_type_at_run, in);
}

unsigned input_type_at_fired(struct input *in)
{
	pthread_mutex_lock(&in->script_lock);
	unsigned n = in->fired;
	pthread_mutex_unlock(&in->script_lock);
	return n;
}
