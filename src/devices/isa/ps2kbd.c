/*
 * ps2kbd: an IBM PS/2 (MF2, 101/102/104-key) keyboard.
 *
 * Follows the IBM PS/2 Hardware Interface Technical Reference, "Keyboards
 * (101- and 102-Key)": commands ED (LEDs), EE (echo), F0 (scan-code set),
 * F2 (ID: AB 83), F3 (typematic rate/delay), F4/F5/F6 (enable, default and
 * disable, default), F7-FD (set-3 key modes), FE (resend), FF (reset: AA);
 * scan-code sets 1, 2 and 3; typematic repeat of the last key pressed; a
 * 16-byte buffer that ends in an overrun code (00, or FF in set 1) when the
 * host does not read it. The Microsoft "Keyboard Scan Code Specification"
 * (rev 1.3a) fixes the Pause, Print Screen and Windows-key sequences.
 *
 * Host keys arrive as USB HID usage IDs (ui/input.h). The keyboard speaks
 * set 2 natively; the i8042 translates to set 1 when its XLATE bit is set.
 *
 * Not modelled: the "fake shift" prefixes real keyboards add to navigation
 * keys while Num Lock or Shift is on (every driver discards them), and the
 * per-key set-3 defaults (every key starts typematic and make/break).
 */
#include "isa/ps2.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "ui/input.h"
#include "vclock.h"

#define KBD_BUFFER 16                   /* the keyboard's own buffer (bytes) */
#define KBD_ID1 0xab
#define KBD_ID2 0x83
#define KBD_ECHO 0xee
#define KBD_DEFAULT_TYPEMATIC 0x2b      /* 10.9 characters/s after 500 ms */

/* Set-3 key modes (commands F7-FD). */
#define MODE_BREAK 0x01
#define MODE_TYPEMATIC 0x02
#define MODE_DEFAULT (MODE_BREAK | MODE_TYPEMATIC)

/* Key flags in the table. */
#define KEY_NOBREAK 0x01                /* sets 1 and 2 send no break code */
#define KEY_NOREPEAT 0x02

/* Set-1 and set-2 codes are one byte, or 0xe0xx for the E0-prefixed keys. */
struct ps2kbd_code {
	uint16_t s1, s2;
	uint8_t s3, flags;
};

#define K(hid, a, b, c) [hid] = { a, b, c, 0 }
#define KF(hid, a, b, c, f) [hid] = { a, b, c, f }
static const struct ps2kbd_code ps2kbd_codes[INPUT_KEY_MAX] = {
	K(INPUT_KEY_A, 0x1e, 0x1c, 0x1c), K(INPUT_KEY_B, 0x30, 0x32, 0x32),
	K(INPUT_KEY_C, 0x2e, 0x21, 0x21), K(INPUT_KEY_D, 0x20, 0x23, 0x23),
	K(INPUT_KEY_E, 0x12, 0x24, 0x24), K(INPUT_KEY_F, 0x21, 0x2b, 0x2b),
	K(INPUT_KEY_G, 0x22, 0x34, 0x34), K(INPUT_KEY_H, 0x23, 0x33, 0x33),
	K(INPUT_KEY_I, 0x17, 0x43, 0x43), K(INPUT_KEY_J, 0x24, 0x3b, 0x3b),
	K(INPUT_KEY_K, 0x25, 0x42, 0x42), K(INPUT_KEY_L, 0x26, 0x4b, 0x4b),
	K(INPUT_KEY_M, 0x32, 0x3a, 0x3a), K(INPUT_KEY_N, 0x31, 0x31, 0x31),
	K(INPUT_KEY_O, 0x18, 0x44, 0x44), K(INPUT_KEY_P, 0x19, 0x4d, 0x4d),
	K(INPUT_KEY_Q, 0x10, 0x15, 0x15), K(INPUT_KEY_R, 0x13, 0x2d, 0x2d),
	K(INPUT_KEY_S, 0x1f, 0x1b, 0x1b), K(INPUT_KEY_T, 0x14, 0x2c, 0x2c),
	K(INPUT_KEY_U, 0x16, 0x3c, 0x3c), K(INPUT_KEY_V, 0x2f, 0x2a, 0x2a),
	K(INPUT_KEY_W, 0x11, 0x1d, 0x1d), K(INPUT_KEY_X, 0x2d, 0x22, 0x22),
	K(INPUT_KEY_Y, 0x15, 0x35, 0x35), K(INPUT_KEY_Z, 0x2c, 0x1a, 0x1a),
	K(INPUT_KEY_1, 0x02, 0x16, 0x16), K(INPUT_KEY_2, 0x03, 0x1e, 0x1e),
	K(INPUT_KEY_3, 0x04, 0x26, 0x26), K(INPUT_KEY_4, 0x05, 0x25, 0x25),
	K(INPUT_KEY_5, 0x06, 0x2e, 0x2e), K(INPUT_KEY_6, 0x07, 0x36, 0x36),
	K(INPUT_KEY_7, 0x08, 0x3d, 0x3d), K(INPUT_KEY_8, 0x09, 0x3e, 0x3e),
	K(INPUT_KEY_9, 0x0a, 0x46, 0x46), K(INPUT_KEY_0, 0x0b, 0x45, 0x45),
	K(INPUT_KEY_ENTER, 0x1c, 0x5a, 0x5a), K(INPUT_KEY_ESCAPE, 0x01, 0x76, 0x08),
	K(INPUT_KEY_BACKSPACE, 0x0e, 0x66, 0x66), K(INPUT_KEY_TAB, 0x0f, 0x0d, 0x0d),
	K(INPUT_KEY_SPACE, 0x39, 0x29, 0x29), K(INPUT_KEY_MINUS, 0x0c, 0x4e, 0x4e),
	K(INPUT_KEY_EQUAL, 0x0d, 0x55, 0x55), K(INPUT_KEY_LEFTBRACKET, 0x1a, 0x54, 0x54),
	K(INPUT_KEY_RIGHTBRACKET, 0x1b, 0x5b, 0x5b), K(INPUT_KEY_BACKSLASH, 0x2b, 0x5d, 0x5c),
	K(INPUT_KEY_NONUS_HASH, 0x2b, 0x5d, 0x53), K(INPUT_KEY_SEMICOLON, 0x27, 0x4c, 0x4c),
	K(INPUT_KEY_APOSTROPHE, 0x28, 0x52, 0x52), K(INPUT_KEY_GRAVE, 0x29, 0x0e, 0x0e),
	K(INPUT_KEY_COMMA, 0x33, 0x41, 0x41), K(INPUT_KEY_PERIOD, 0x34, 0x49, 0x49),
	K(INPUT_KEY_SLASH, 0x35, 0x4a, 0x4a), K(INPUT_KEY_CAPSLOCK, 0x3a, 0x58, 0x14),
	K(INPUT_KEY_F1, 0x3b, 0x05, 0x07), K(INPUT_KEY_F2, 0x3c, 0x06, 0x0f),
	K(INPUT_KEY_F3, 0x3d, 0x04, 0x17), K(INPUT_KEY_F4, 0x3e, 0x0c, 0x1f),
	K(INPUT_KEY_F5, 0x3f, 0x03, 0x27), K(INPUT_KEY_F6, 0x40, 0x0b, 0x2f),
	K(INPUT_KEY_F7, 0x41, 0x83, 0x37), K(INPUT_KEY_F8, 0x42, 0x0a, 0x3f),
	K(INPUT_KEY_F9, 0x43, 0x01, 0x47), K(INPUT_KEY_F10, 0x44, 0x09, 0x4f),
	K(INPUT_KEY_F11, 0x57, 0x78, 0x56), K(INPUT_KEY_F12, 0x58, 0x07, 0x5e),
	/* Print Screen and Pause have sequences of their own (ps2kbd_special). */
	K(INPUT_KEY_PRINTSCREEN, 0xe037, 0xe07c, 0x57),
	K(INPUT_KEY_SCROLLLOCK, 0x46, 0x7e, 0x5f),
	KF(INPUT_KEY_PAUSE, 0, 0, 0x62, KEY_NOBREAK | KEY_NOREPEAT),
	K(INPUT_KEY_INSERT, 0xe052, 0xe070, 0x67), K(INPUT_KEY_HOME, 0xe047, 0xe06c, 0x6e),
	K(INPUT_KEY_PAGEUP, 0xe049, 0xe07d, 0x6f), K(INPUT_KEY_DELETE, 0xe053, 0xe071, 0x64),
	K(INPUT_KEY_END, 0xe04f, 0xe069, 0x65), K(INPUT_KEY_PAGEDOWN, 0xe051, 0xe07a, 0x6d),
	K(INPUT_KEY_RIGHT, 0xe04d, 0xe074, 0x6a), K(INPUT_KEY_LEFT, 0xe04b, 0xe06b, 0x61),
	K(INPUT_KEY_DOWN, 0xe050, 0xe072, 0x60), K(INPUT_KEY_UP, 0xe048, 0xe075, 0x63),
	K(INPUT_KEY_NUMLOCK, 0x45, 0x77, 0x76), K(INPUT_KEY_KP_DIVIDE, 0xe035, 0xe04a, 0x77),
	K(INPUT_KEY_KP_MULTIPLY, 0x37, 0x7c, 0x7e), K(INPUT_KEY_KP_MINUS, 0x4a, 0x7b, 0x84),
	K(INPUT_KEY_KP_PLUS, 0x4e, 0x79, 0x7c), K(INPUT_KEY_KP_ENTER, 0xe01c, 0xe05a, 0x79),
	K(INPUT_KEY_KP_1, 0x4f, 0x69, 0x69), K(INPUT_KEY_KP_2, 0x50, 0x72, 0x72),
	K(INPUT_KEY_KP_3, 0x51, 0x7a, 0x7a), K(INPUT_KEY_KP_4, 0x4b, 0x6b, 0x6b),
	K(INPUT_KEY_KP_5, 0x4c, 0x73, 0x73), K(INPUT_KEY_KP_6, 0x4d, 0x74, 0x74),
	K(INPUT_KEY_KP_7, 0x47, 0x6c, 0x6c), K(INPUT_KEY_KP_8, 0x48, 0x75, 0x75),
	K(INPUT_KEY_KP_9, 0x49, 0x7d, 0x7d), K(INPUT_KEY_KP_0, 0x52, 0x70, 0x70),
	K(INPUT_KEY_KP_PERIOD, 0x53, 0x71, 0x71),
	K(INPUT_KEY_NONUS_BACKSLASH, 0x56, 0x61, 0x13),
	K(INPUT_KEY_APPLICATION, 0xe05d, 0xe02f, 0x8d),
	K(INPUT_KEY_POWER, 0xe05e, 0xe037, 0),
	K(INPUT_KEY_KP_EQUAL, 0x59, 0x0f, 0),
	K(INPUT_KEY_F13, 0x64, 0x08, 0), K(INPUT_KEY_F14, 0x65, 0x10, 0),
	K(INPUT_KEY_F15, 0x66, 0x18, 0), K(INPUT_KEY_F16, 0x67, 0x20, 0),
	K(INPUT_KEY_F17, 0x68, 0x28, 0), K(INPUT_KEY_F18, 0x69, 0x30, 0),
	K(INPUT_KEY_F19, 0x6a, 0x38, 0), K(INPUT_KEY_F20, 0x6b, 0x40, 0),
	K(INPUT_KEY_F21, 0x6c, 0x48, 0), K(INPUT_KEY_F22, 0x6d, 0x50, 0),
	K(INPUT_KEY_F23, 0x6e, 0x57, 0), K(INPUT_KEY_F24, 0x76, 0x5f, 0),
	K(INPUT_KEY_MUTE, 0xe020, 0xe023, 0), K(INPUT_KEY_VOLUMEUP, 0xe030, 0xe032, 0),
	K(INPUT_KEY_VOLUMEDOWN, 0xe02e, 0xe021, 0),
	K(INPUT_KEY_INTL1, 0x73, 0x51, 0x51), K(INPUT_KEY_INTL2, 0x70, 0x13, 0x87),
	K(INPUT_KEY_INTL3, 0x7d, 0x6a, 0x5d), K(INPUT_KEY_INTL4, 0x79, 0x64, 0x86),
	K(INPUT_KEY_INTL5, 0x7b, 0x67, 0x85),
	/* The Korean keys send one code and no break in sets 1 and 2. */
	KF(INPUT_KEY_LANG1, 0xf2, 0xf2, 0, KEY_NOBREAK | KEY_NOREPEAT),
	KF(INPUT_KEY_LANG2, 0xf1, 0xf1, 0, KEY_NOBREAK | KEY_NOREPEAT),
	K(INPUT_KEY_LCTRL, 0x1d, 0x14, 0x11), K(INPUT_KEY_LSHIFT, 0x2a, 0x12, 0x12),
	K(INPUT_KEY_LALT, 0x38, 0x11, 0x19), K(INPUT_KEY_LGUI, 0xe05b, 0xe01f, 0x8b),
	K(INPUT_KEY_RCTRL, 0xe01d, 0xe014, 0x58), K(INPUT_KEY_RSHIFT, 0x36, 0x59, 0x59),
	K(INPUT_KEY_RALT, 0xe038, 0xe011, 0x39), K(INPUT_KEY_RGUI, 0xe05c, 0xe027, 0x8c),
};
#undef K
#undef KF

struct ps2kbd {
	struct machine *m;
	ps2_notify_fn *notify;
	void *opaque;
	struct ps2_out out;
	struct vtimer *repeat;

	uint8_t pending;                /* command awaiting its argument, or 0 */
	bool scanning;
	bool overrun;                   /* the overrun code is queued */
	unsigned set;                   /* 1, 2 or 3 */
	uint8_t leds;
	uint8_t typematic;              /* F3 argument: delay and rate */
	uint8_t set3_mode[256];
	uint8_t down[INPUT_KEY_MAX / 8];
	unsigned repeat_key;            /* key being repeated, 0 for none */
};

static bool ps2kbd_is_down(const struct ps2kbd *k, unsigned key)
{
	return k->down[key / 8] & (1u << (key % 8));
}

static void ps2kbd_set_down(struct ps2kbd *k, unsigned key, bool down)
{
	if (down)
		k->down[key / 8] |= (uint8_t)(1u << (key % 8));
	else
		k->down[key / 8] &= (uint8_t)~(1u << (key % 8));
}

static bool ps2kbd_either_down(const struct ps2kbd *k, unsigned a, unsigned b)
{
	return ps2kbd_is_down(k, a) || ps2kbd_is_down(k, b);
}

/* Append one set-1/set-2 code (0xe0xx for prefixed keys). */
static unsigned ps2kbd_put(uint8_t *out, unsigned n, uint16_t code, bool brk, unsigned set)
{
	if (code >> 8)
		out[n++] = 0xe0;
	if (set == 1) {
		out[n++] = (uint8_t)(code | (brk ? 0x80 : 0));
	} else {
		if (brk)
			out[n++] = 0xf0;
		out[n++] = (uint8_t)code;
	}
	return n;
}

/*
 * Print Screen and Pause in sets 1 and 2 (Microsoft scan code specification,
 * tables "Print Screen" and "Pause"): their bytes depend on the modifiers
 * held. repeat asks for the typematic form, which drops the leading fake
 * shift. Returns the length written to out.
 */
static unsigned ps2kbd_special(const struct ps2kbd *k, unsigned key, bool down, bool repeat,
			       unsigned set, uint8_t *out)
{
	bool ctrl = ps2kbd_either_down(k, INPUT_KEY_LCTRL, INPUT_KEY_RCTRL);
	bool shift = ps2kbd_either_down(k, INPUT_KEY_LSHIFT, INPUT_KEY_RSHIFT);
	bool alt = ps2kbd_either_down(k, INPUT_KEY_LALT, INPUT_KEY_RALT);
	unsigned n = 0;

	if (key == INPUT_KEY_PAUSE) {
		static const uint8_t pause1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
		static const uint8_t pause2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
		if (!down)
			return 0;       /* Pause sends everything on the make */
		if (ctrl) {     /* Ctrl+Pause is Break, an ordinary E0 key */
			uint16_t brk = set == 1 ? 0xe046 : 0xe07e;
			return ps2kbd_put(out, ps2kbd_put(out, 0, brk, false, set), brk, true, set);
		}
		n = set == 1 ? sizeof(pause1) : sizeof(pause2);
		memcpy(out, set == 1 ? pause1 : pause2, n);
		return n;
	}
	/* Print Screen. */
	if (alt)                /* Alt+Print Screen is SysRq */
		return ps2kbd_put(out, 0, set == 1 ? 0x54 : 0x84, !down, set);
	uint16_t prt = set == 1 ? 0xe037 : 0xe07c;
	uint16_t fake_shift = set == 1 ? 0xe02a : 0xe012;
	if (ctrl || shift || repeat)
		return ps2kbd_put(out, 0, prt, !down, set);
	if (down)
		return ps2kbd_put(out, ps2kbd_put(out, 0, fake_shift, false, set), prt, false, set);
	return ps2kbd_put(out, ps2kbd_put(out, 0, prt, true, set), fake_shift, true, set);
}

/* The bytes for a key event in the current set; 0 if the key sends none. */
static unsigned ps2kbd_sequence(const struct ps2kbd *k, unsigned key, bool down, bool repeat,
				uint8_t *out)
{
	const struct ps2kbd_code *c = &ps2kbd_codes[key];
	if (k->set == 3) {
		if (!c->s3 || (!down && !(k->set3_mode[c->s3] & MODE_BREAK)))
			return 0;
		unsigned n = 0;
		if (!down)
			out[n++] = 0xf0;
		out[n++] = c->s3;
		return n;
	}
	if (key == INPUT_KEY_PAUSE || key == INPUT_KEY_PRINTSCREEN)
		return ps2kbd_special(k, key, down, repeat, k->set, out);
	uint16_t code = k->set == 1 ? c->s1 : c->s2;
	if (!code || (!down && (c->flags & KEY_NOBREAK)))
		return 0;
	return ps2kbd_put(out, 0, code, !down, k->set);
}

unsigned ps2kbd_make_code(unsigned keycode, unsigned set, uint8_t *out, unsigned max)
{
	struct ps2kbd k = { .set = set };
	uint8_t buf[16];
	if (keycode >= INPUT_KEY_MAX || set < 1 || set > 3)
		return 0;
	memset(k.set3_mode, MODE_DEFAULT, sizeof(k.set3_mode));
	unsigned n = ps2kbd_sequence(&k, keycode, true, false, buf);
	if (n > max)
		return 0;
	memcpy(out, buf, n);
	return n;
}

static void ps2kbd_notify(struct ps2kbd *k)
{
	if (ps2_out_pending(&k->out))
		k->notify(k->opaque);
}

static void ps2kbd_reply(struct ps2kbd *k, uint8_t byte)
{
	if (!ps2_out_reply(&k->out, byte))
		log_guest(LOG_WARN, "ps2kbd", "the guest sends commands without reading "
			  "the replies; dropping a reply");
}

/*
 * Queue a scan-code sequence, or the overrun code once when the 16-byte
 * buffer cannot take it: the guest then sees one overrun code in place of
 * every key it missed, as on the real keyboard.
 */
static void ps2kbd_send_scan(struct ps2kbd *k, const uint8_t *seq, unsigned n)
{
	if (!n)
		return;
	if (ps2_out_data_bytes(&k->out) + n <= KBD_BUFFER && ps2_out_data(&k->out, seq, n)) {
		k->overrun = false;
	} else if (!k->overrun) {
		uint8_t code = k->set == 1 ? 0xff : 0x00;
		k->overrun = ps2_out_data(&k->out, &code, 1);
	}
}

/* F3 argument: bits 6-5 delay (250 ms steps from 250), bits 4-0 the rate
 * (IBM: period = (8 + A) * 2^B * 4.17 ms with A bits 2-0, B bits 4-3). */
static int64_t ps2kbd_delay_ns(const struct ps2kbd *k)
{
	return (1 + ((k->typematic >> 5) & 3)) * 250LL * 1000 * 1000;
}

static int64_t ps2kbd_period_ns(const struct ps2kbd *k)
{
	int64_t a = k->typematic & 7, b = (k->typematic >> 3) & 3;
	return (8 + a) * (1LL << b) * 4166667LL;
}

static bool ps2kbd_repeats(const struct ps2kbd *k, unsigned key)
{
	const struct ps2kbd_code *c = &ps2kbd_codes[key];
	if (k->set == 3)
		return c->s3 && (k->set3_mode[c->s3] & MODE_TYPEMATIC);
	return c->s2 && !(c->flags & KEY_NOREPEAT);
}

/* Timer thread, device lock held: the held key repeats. */
static void ps2kbd_repeat_fired(void *opaque, int64_t now)
{
	struct ps2kbd *k = opaque;
	uint8_t seq[16];
	if (!k->repeat_key || !k->scanning)
		return;
	ps2kbd_send_scan(k, seq, ps2kbd_sequence(k, k->repeat_key, true, true, seq));
	ps2kbd_notify(k);
	vtimer_arm(k->repeat, now + ps2kbd_period_ns(k));
}

static void ps2kbd_stop_repeat(struct ps2kbd *k)
{
	k->repeat_key = 0;
	vtimer_disarm(k->repeat);
}

/* Device lock held: a host key event (the input hub calls this). */
void ps2kbd_key(struct ps2kbd *k, unsigned key, bool down)
{
	uint8_t seq[16];
	if (key >= INPUT_KEY_MAX || !key || ps2kbd_is_down(k, key) == down)
		return;         /* unknown, or a host auto-repeat: we repeat ourselves */
	ps2kbd_set_down(k, key, down);
	if (!k->scanning)
		return;
	ps2kbd_send_scan(k, seq, ps2kbd_sequence(k, key, down, false, seq));
	if (down && ps2kbd_repeats(k, key)) {
		k->repeat_key = key;
		vtimer_arm(k->repeat, vclock_now(k->m->clock) + ps2kbd_delay_ns(k));
	} else if (!down && key == k->repeat_key) {
		ps2kbd_stop_repeat(k);
	}
	ps2kbd_notify(k);
}

static void ps2kbd_input_key(void *opaque, unsigned keycode, bool down)
{
	ps2kbd_key(opaque, keycode, down);
}

static const struct input_consumer ps2kbd_consumer = { .key = ps2kbd_input_key };

/* Power-on defaults (also commands F5, F6 and FF). */
static void ps2kbd_defaults(struct ps2kbd *k)
{
	k->set = 2;
	k->typematic = KBD_DEFAULT_TYPEMATIC;
	memset(k->set3_mode, MODE_DEFAULT, sizeof(k->set3_mode));
	ps2kbd_stop_repeat(k);
	ps2_out_drop_data(&k->out);
	k->overrun = false;
}

static void ps2kbd_set3_all(struct ps2kbd *k, uint8_t mode)
{
	memset(k->set3_mode, mode, sizeof(k->set3_mode));
}

static const uint8_t set3_key_mode[3] = { MODE_TYPEMATIC, MODE_BREAK, 0 };  /* FB FC FD */

/* The argument byte of a two-byte command. False if arg is really a new
 * command (the set-3 key lists end that way). */
static bool ps2kbd_argument(struct ps2kbd *k, uint8_t arg)
{
	switch (k->pending) {
	case 0xed:
		k->leds = arg & 7;
		ps2kbd_reply(k, PS2_ACK);
		break;
	case 0xf0:
		if (arg == 0) {
			ps2kbd_reply(k, PS2_ACK);
			ps2kbd_reply(k, (uint8_t)k->set);
		} else if (arg <= 3) {
			ps2kbd_reply(k, PS2_ACK);
			k->set = arg;
			ps2kbd_stop_repeat(k);
			ps2_out_drop_data(&k->out);
		} else {
			ps2kbd_reply(k, PS2_RESEND);
		}
		break;
	case 0xf3:
		k->typematic = arg & 0x7f;
		ps2kbd_reply(k, PS2_ACK);
		break;
	case 0xfb: case 0xfc: case 0xfd:
		if (arg >= 0xed)
			return false;
		k->set3_mode[arg] = set3_key_mode[k->pending - 0xfb];
		ps2kbd_reply(k, PS2_ACK);
		return true;    /* more key codes may follow */
	}
	k->pending = 0;
	return true;
}

static void ps2kbd_command(struct ps2kbd *k, uint8_t cmd)
{
	switch (cmd) {
	case 0xed: case 0xf0: case 0xf3: case 0xfb: case 0xfc: case 0xfd:
		ps2kbd_reply(k, PS2_ACK);
		k->pending = cmd;
		break;
	case 0xee:
		ps2kbd_reply(k, KBD_ECHO);
		break;
	case 0xf2:
		ps2kbd_reply(k, PS2_ACK);
		ps2kbd_reply(k, KBD_ID1);
		ps2kbd_reply(k, KBD_ID2);
		break;
	case 0xf4:
		ps2_out_drop_data(&k->out);
		k->overrun = false;
		k->scanning = true;
		ps2kbd_reply(k, PS2_ACK);
		break;
	case 0xf5:
	case 0xf6:
		ps2kbd_defaults(k);
		k->scanning = cmd == 0xf6;
		ps2kbd_reply(k, PS2_ACK);
		break;
	case 0xf7: ps2kbd_set3_all(k, MODE_TYPEMATIC); ps2kbd_reply(k, PS2_ACK); break;
	case 0xf8: ps2kbd_set3_all(k, MODE_BREAK); ps2kbd_reply(k, PS2_ACK); break;
	case 0xf9: ps2kbd_set3_all(k, 0); ps2kbd_reply(k, PS2_ACK); break;
	case 0xfa: ps2kbd_set3_all(k, MODE_DEFAULT); ps2kbd_reply(k, PS2_ACK); break;
	case 0xfe:
		ps2kbd_reply(k, k->out.last);
		break;
	case 0xff:
		ps2kbd_defaults(k);
		ps2_out_clear(&k->out);
		k->leds = 0;
		k->scanning = true;
		ps2kbd_reply(k, PS2_ACK);
		ps2kbd_reply(k, PS2_BAT_OK);
		break;
	default:
		log_guest(LOG_DEBUG, "ps2kbd", "unknown keyboard command %#04x", cmd);
		ps2kbd_reply(k, PS2_RESEND);
		break;
	}
}

/* Device lock held: a byte from the controller (the guest wrote port 0x60). */
void ps2kbd_write(struct ps2kbd *k, uint8_t byte)
{
	if (!k->pending || !ps2kbd_argument(k, byte)) {
		k->pending = 0;
		ps2kbd_command(k, byte);
	}
	ps2kbd_notify(k);
}

int ps2kbd_read(struct ps2kbd *k)
{
	return ps2_out_pop(&k->out);
}

bool ps2kbd_has_data(const struct ps2kbd *k)
{
	return ps2_out_pending(&k->out);
}

uint8_t ps2kbd_leds(const struct ps2kbd *k)
{
	return k->leds;
}

/* Machine reset: the keyboard powers up scanning in set 2. Device lock held. */
void ps2kbd_reset(struct ps2kbd *k)
{
	ps2kbd_defaults(k);
	ps2_out_clear(&k->out);
	k->pending = 0;
	k->leds = 0;
	k->scanning = true;
	memset(k->down, 0, sizeof(k->down));
}

struct ps2kbd *ps2kbd_create(struct machine *m, ps2_notify_fn *notify, void *opaque)
{
	struct ps2kbd *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->m = m;
	k->notify = notify;
	k->opaque = opaque;
	k->repeat = vtimer_create(m->clock, ps2kbd_repeat_fired, k);
	if (!k->repeat)
		goto free_kbd;
	if (m->input && input_add_consumer(m->input, &ps2kbd_consumer, k))
		goto free_timer;
	ps2kbd_reset(k);
	return k;
free_timer:
	vtimer_destroy(k->repeat);
free_kbd:
	free(k);
	return NULL;
}

void ps2kbd_destroy(struct ps2kbd *k)
{
	if (!k)
		return;
	if (k->m->input)
		input_remove_consumer(k->m->input, k);
	vtimer_destroy(k->repeat);
	free(k);
}
