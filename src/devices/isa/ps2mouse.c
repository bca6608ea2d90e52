/*
 * ps2mouse: an IBM PS/2 mouse with the Microsoft IntelliMouse extensions.
 *
 * Follows the IBM PS/2 Hardware Interface Technical Reference, "Pointing
 * Device": commands E6/E7 (scaling 1:1, 2:1), E8 (resolution), E9 (status),
 * EA (stream mode), EB (read data), EC/EE (wrap mode off/on), F0 (remote
 * mode), F2 (ID), F3 (sample rate), F4/F5 (reporting on/off), F6 (defaults),
 * FE (resend), FF (reset: AA 00); three-byte packets with sign and overflow
 * bits. The Microsoft IntelliMouse (sample rates 200, 100, 80 → ID 3, a
 * fourth byte with the wheel) and IntelliMouse Explorer (then 200, 200, 80 →
 * ID 4, wheel plus buttons 4 and 5) extensions are detected the way drivers
 * probe for them.
 *
 * Host motion accumulates in counters; a packet takes at most what one
 * packet can carry (-256..255 per axis, -8..7 for the wheel) and leaves the
 * rest for the next, so fast motion is not lost. Only when a counter passes
 * +-65535 (the guest stopped reading) is motion dropped, and the packet's
 * overflow bit says so. Packets go out as soon as the controller takes them;
 * the sample rate is stored and reported but does not pace them.
 */
#include "isa/ps2.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "ui/input.h"

#define MOUSE_ID_PS2 0x00
#define MOUSE_ID_IMPS2 0x03
#define MOUSE_ID_IMEX 0x04
#define MOUSE_BUFFER 16                 /* packet bytes queued at most */
#define MOUSE_COUNTER_MAX 65535

#define STATUS_RIGHT 0x01
#define STATUS_MIDDLE 0x02
#define STATUS_LEFT 0x04
#define STATUS_SCALE21 0x10
#define STATUS_ENABLED 0x20
#define STATUS_REMOTE 0x40

struct ps2mouse {
	struct machine *m;
	ps2_notify_fn *notify;
	void *opaque;
	struct ps2_out out;

	uint8_t pending;                /* E8 or F3 awaiting its argument, or 0 */
	bool enabled, remote, wrap, scale21;
	uint8_t resolution, rate, id;
	uint8_t rates[3];               /* last sample rates set, newest last */
	int dx, dy, dz;                 /* counts not yet reported (+y is up) */
	bool xovf, yovf;
	unsigned buttons, reported_buttons;
};

static int ps2mouse_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Add host motion to a counter; latch overflow when it saturates. */
static void ps2mouse_accumulate(int *counter, long long delta, bool *ovf)
{
	long long v = *counter + delta;
	if (v > MOUSE_COUNTER_MAX || v < -MOUSE_COUNTER_MAX) {
		*ovf = true;
		v = v > 0 ? MOUSE_COUNTER_MAX : -MOUSE_COUNTER_MAX;
	}
	*counter = (int)v;
}

/* 2:1 scaling (stream mode only): the IBM table for 0-5, then doubling. */
static int ps2mouse_scale(int v)
{
	static const int table[6] = { 0, 1, 1, 3, 6, 9 };
	int a = v < 0 ? -v : v;
	int s = a < 6 ? table[a] : 2 * a;
	return v < 0 ? -s : s;
}

static unsigned ps2mouse_packet_len(const struct ps2mouse *ms)
{
	return ms->id == MOUSE_ID_PS2 ? 3 : 4;
}

/* Build a packet from the counters and take what it reports out of them. */
static unsigned ps2mouse_packet(struct ps2mouse *ms, bool scaled, uint8_t *p)
{
	int x = ps2mouse_clamp(ms->dx, -256, 255);
	int y = ps2mouse_clamp(ms->dy, -256, 255);
	int z = ps2mouse_clamp(ms->dz, -8, 7);
	ms->dx -= x;
	ms->dy -= y;
	ms->dz -= z;
	bool xovf = ms->xovf, yovf = ms->yovf;
	if (scaled) {
		x = ps2mouse_scale(x);
		y = ps2mouse_scale(y);
		xovf |= x < -256 || x > 255;
		yovf |= y < -256 || y > 255;
		x = ps2mouse_clamp(x, -256, 255);
		y = ps2mouse_clamp(y, -256, 255);
	}
	ms->xovf = ms->yovf = false;
	unsigned b = ms->buttons;
	p[0] = (uint8_t)(0x08 | (b & INPUT_BUTTON_LEFT ? 0x01 : 0) |
			 (b & INPUT_BUTTON_RIGHT ? 0x02 : 0) | (b & INPUT_BUTTON_MIDDLE ? 0x04 : 0) |
			 (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) | (xovf ? 0x40 : 0) |
			 (yovf ? 0x80 : 0));
	p[1] = (uint8_t)x;
	p[2] = (uint8_t)y;
	ms->reported_buttons = b;
	if (ms->id == MOUSE_ID_IMPS2) {
		p[3] = (uint8_t)z;
	} else if (ms->id == MOUSE_ID_IMEX) {
		p[3] = (uint8_t)((z & 0x0f) | (b & INPUT_BUTTON_SIDE ? 0x10 : 0) |
				 (b & INPUT_BUTTON_EXTRA ? 0x20 : 0));
	}
	return ps2mouse_packet_len(ms);
}

static bool ps2mouse_has_news(const struct ps2mouse *ms)
{
	return ms->dx || ms->dy || ms->dz || ms->xovf || ms->yovf ||
	       ms->buttons != ms->reported_buttons;
}

/* Stream mode: send packets while there is motion and room for them. */
static void ps2mouse_stream(struct ps2mouse *ms)
{
	uint8_t p[4];
	if (!ms->enabled || ms->remote || ms->wrap)
		return;
	while (ps2mouse_has_news(ms) &&
	       ps2_out_data_bytes(&ms->out) + ps2mouse_packet_len(ms) <= MOUSE_BUFFER) {
		unsigned n = ps2mouse_packet(ms, ms->scale21, p);
		ps2_out_data(&ms->out, p, n);
	}
}

static void ps2mouse_notify(struct ps2mouse *ms)
{
	if (ps2_out_pending(&ms->out))
		ms->notify(ms->opaque);
}

/* Device lock held: host motion (the input hub calls this). */
void ps2mouse_motion(struct ps2mouse *ms, int dx, int dy, int dwheel, unsigned buttons)
{
	ps2mouse_accumulate(&ms->dx, dx, &ms->xovf);
	/* PS/2 counts y upwards and the wheel towards the user; a mouse
	 * without a wheel (ID 0) has no counter for it. */
	ps2mouse_accumulate(&ms->dy, -(long long)dy, &ms->yovf);
	bool wheel_lost = false;
	if (ms->id != MOUSE_ID_PS2)
		ps2mouse_accumulate(&ms->dz, -(long long)dwheel, &wheel_lost);
	ms->buttons = buttons & 0x1f;
	ps2mouse_stream(ms);
	ps2mouse_notify(ms);
}

static void ps2mouse_input_rel(void *opaque, int dx, int dy, int dwheel, unsigned buttons)
{
	ps2mouse_motion(opaque, dx, dy, dwheel, buttons);
}

static const struct input_consumer ps2mouse_consumer = { .mouse_rel = ps2mouse_input_rel };

static void ps2mouse_clear_counters(struct ps2mouse *ms)
{
	ms->dx = ms->dy = ms->dz = 0;
	ms->xovf = ms->yovf = false;
	ms->reported_buttons = ms->buttons;
}

/* Power-on defaults (also command F6): stream mode, reporting off. */
static void ps2mouse_defaults(struct ps2mouse *ms)
{
	ms->enabled = false;
	ms->remote = false;
	ms->scale21 = false;
	ms->resolution = 2;             /* 4 counts/mm */
	ms->rate = 100;
	ps2mouse_clear_counters(ms);
}

static void ps2mouse_reply(struct ps2mouse *ms, uint8_t byte)
{
	if (!ps2_out_reply(&ms->out, byte))
		log_guest(LOG_WARN, "ps2mouse", "the guest sends commands without reading "
			  "the replies; dropping a reply");
}

/* F3 arguments: the IntelliMouse knocks are 200-100-80 and 200-200-80. */
static void ps2mouse_sample_rate(struct ps2mouse *ms, uint8_t rate)
{
	ms->rate = rate;
	ms->rates[0] = ms->rates[1];
	ms->rates[1] = ms->rates[2];
	ms->rates[2] = rate;
	if (ms->rates[0] == 200 && ms->rates[2] == 80) {
		if (ms->rates[1] == 100 && ms->id == MOUSE_ID_PS2)
			ms->id = MOUSE_ID_IMPS2;
		else if (ms->rates[1] == 200 && ms->id == MOUSE_ID_IMPS2)
			ms->id = MOUSE_ID_IMEX;
	}
}

static void ps2mouse_command(struct ps2mouse *ms, uint8_t cmd)
{
	uint8_t p[4];
	switch (cmd) {
	case 0xe6:
	case 0xe7:
		ms->scale21 = cmd == 0xe7;
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xe8:
	case 0xf3:
		ms->pending = cmd;
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xe9: {
		unsigned b = ms->buttons;
		ps2mouse_reply(ms, PS2_ACK);
		ps2mouse_reply(ms, (uint8_t)((ms->remote ? STATUS_REMOTE : 0) |
					     (ms->enabled ? STATUS_ENABLED : 0) |
					     (ms->scale21 ? STATUS_SCALE21 : 0) |
					     (b & INPUT_BUTTON_LEFT ? STATUS_LEFT : 0) |
					     (b & INPUT_BUTTON_MIDDLE ? STATUS_MIDDLE : 0) |
					     (b & INPUT_BUTTON_RIGHT ? STATUS_RIGHT : 0)));
		ps2mouse_reply(ms, ms->resolution);
		ps2mouse_reply(ms, ms->rate);
		break;
	}
	case 0xea:
	case 0xf0:
		ms->remote = cmd == 0xf0;
		ps2mouse_clear_counters(ms);
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xeb: {
		ps2mouse_reply(ms, PS2_ACK);
		unsigned n = ps2mouse_packet(ms, false, p);
		for (unsigned i = 0; i < n; i++)
			ps2mouse_reply(ms, p[i]);
		break;
	}
	case 0xec:
		ms->wrap = false;
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xee:
		ms->wrap = true;
		ps2mouse_clear_counters(ms);
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xf2:
		ps2mouse_reply(ms, PS2_ACK);
		ps2mouse_reply(ms, ms->id);
		break;
	case 0xf4:
		ms->enabled = true;
		ps2mouse_clear_counters(ms);
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xf5:
		ms->enabled = false;
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xf6:
		ps2mouse_defaults(ms);
		ps2mouse_reply(ms, PS2_ACK);
		break;
	case 0xfe:
		ps2mouse_reply(ms, ms->out.last);
		break;
	case 0xff:
		ps2_out_clear(&ms->out);
		ps2mouse_defaults(ms);
		ms->wrap = false;
		ms->id = MOUSE_ID_PS2;
		memset(ms->rates, 0, sizeof(ms->rates));
		ps2mouse_reply(ms, PS2_ACK);
		ps2mouse_reply(ms, PS2_BAT_OK);
		ps2mouse_reply(ms, MOUSE_ID_PS2);
		break;
	default:
		log_guest(LOG_DEBUG, "ps2mouse", "unknown mouse command %#04x", cmd);
		ps2mouse_reply(ms, PS2_RESEND);
		break;
	}
}

/* Device lock held: a byte from the controller (command 0xd4). */
void ps2mouse_write(struct ps2mouse *ms, uint8_t byte)
{
	if (ms->wrap && byte != 0xec && byte != 0xff) {
		ps2mouse_reply(ms, byte);       /* wrap mode echoes everything */
	} else if (ms->pending) {
		if (ms->pending == 0xe8)
			ms->resolution = byte & 3;
		else
			ps2mouse_sample_rate(ms, byte);
		ms->pending = 0;
		ps2mouse_reply(ms, PS2_ACK);
	} else {
		/* A command interrupts the stream: packets not yet started are
		 * dropped so the reply comes next. */
		ps2_out_drop_data(&ms->out);
		ps2mouse_command(ms, byte);
	}
	ps2mouse_stream(ms);
	ps2mouse_notify(ms);
}

int ps2mouse_read(struct ps2mouse *ms)
{
	int b = ps2_out_pop(&ms->out);
	/* Room again: counters that could not be sent go out now. */
	ps2mouse_stream(ms);
	return b;
}

bool ps2mouse_has_data(const struct ps2mouse *ms)
{
	return ps2_out_pending(&ms->out);
}

/* Machine reset. Device lock held. */
void ps2mouse_reset(struct ps2mouse *ms)
{
	ps2_out_clear(&ms->out);
	ms->pending = 0;
	ms->wrap = false;
	ms->id = MOUSE_ID_PS2;
	memset(ms->rates, 0, sizeof(ms->rates));
	ms->buttons = 0;
	ps2mouse_defaults(ms);
}

struct ps2mouse *ps2mouse_create(struct machine *m, ps2_notify_fn *notify, void *opaque)
{
	struct ps2mouse *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return NULL;
	ms->m = m;
	ms->notify = notify;
	ms->opaque = opaque;
	if (m->input && input_add_consumer(m->input, &ps2mouse_consumer, ms)) {
		free(ms);
		return NULL;
	}
	ps2mouse_reset(ms);
	return ms;
}

void ps2mouse_destroy(struct ps2mouse *ms)
{
	if (!ms)
		return;
	if (ms->m->input)
		input_remove_consumer(ms->m->input, ms);
	free(ms);
}
