/*
 * input: keyboard and mouse events from the host to the guest's input
 * devices.
 *
 * Producers (the SDL window, scripted tests, the --type-at watcher) call
 * input_key(), input_mouse_rel() and input_type() on the machine's input hub
 * (struct machine's `input`). Consumers are emulated devices (the PS/2
 * keyboard and mouse behind the i8042, later USB or virtio input); they
 * register a struct input_consumer and receive events with the device lock
 * held. A producer never sees which device takes its events.
 *
 * Keycodes are USB HID usage IDs from the Keyboard/Keypad page (page 0x07) of
 * the USB HID Usage Tables 1.3, chapter 10: INPUT_KEY_A is 0x04, Enter is
 * 0x28, Left Control is 0xe0. SDL's SDL_Scancode uses the same numbers, so the
 * window passes event.key.keysym.scancode through unchanged. The code names a
 * key position, not a character: what a guest makes of it depends on the
 * layout it has loaded (input_type() assumes a US layout).
 *
 * Mouse motion is relative, in device counts, with +x to the right and +y
 * downwards (screen convention, like SDL); the PS/2 mouse flips y itself.
 * dwheel > 0 scrolls away from the user. buttons is the current state of all
 * buttons, a mask of INPUT_BUTTON_*.
 *
 * Threads: input_key(), input_mouse_rel() and input_type() may be called from
 * any thread that does NOT hold the device lock; they take it themselves.
 * input_watch_output() may be called from any thread, with or without it.
 */
#ifndef LODGE_INPUT_H
#define LODGE_INPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct input;
struct loop;
struct vclock;

/* HID page 0x07 usages the emulated keyboards know (HID Usage Tables 1.3, 10). */
enum input_key {
	INPUT_KEY_A = 0x04, INPUT_KEY_B, INPUT_KEY_C, INPUT_KEY_D, INPUT_KEY_E, INPUT_KEY_F,
	INPUT_KEY_G, INPUT_KEY_H, INPUT_KEY_I, INPUT_KEY_J, INPUT_KEY_K, INPUT_KEY_L,
	INPUT_KEY_M, INPUT_KEY_N, INPUT_KEY_O, INPUT_KEY_P, INPUT_KEY_Q, INPUT_KEY_R,
	INPUT_KEY_S, INPUT_KEY_T, INPUT_KEY_U, INPUT_KEY_V, INPUT_KEY_W, INPUT_KEY_X,
	INPUT_KEY_Y, INPUT_KEY_Z,
	INPUT_KEY_1 = 0x1e, INPUT_KEY_2, INPUT_KEY_3, INPUT_KEY_4, INPUT_KEY_5,
	INPUT_KEY_6, INPUT_KEY_7, INPUT_KEY_8, INPUT_KEY_9, INPUT_KEY_0,
	INPUT_KEY_ENTER = 0x28,
	INPUT_KEY_ESCAPE = 0x29,
	INPUT_KEY_BACKSPACE = 0x2a,
	INPUT_KEY_TAB = 0x2b,
	INPUT_KEY_SPACE = 0x2c,
	INPUT_KEY_MINUS = 0x2d,
	INPUT_KEY_EQUAL = 0x2e,
	INPUT_KEY_LEFTBRACKET = 0x2f,
	INPUT_KEY_RIGHTBRACKET = 0x30,
	INPUT_KEY_BACKSLASH = 0x31,
	INPUT_KEY_NONUS_HASH = 0x32,       /* ISO key left of Enter */
	INPUT_KEY_SEMICOLON = 0x33,
	INPUT_KEY_APOSTROPHE = 0x34,
	INPUT_KEY_GRAVE = 0x35,
	INPUT_KEY_COMMA = 0x36,
	INPUT_KEY_PERIOD = 0x37,
	INPUT_KEY_SLASH = 0x38,
	INPUT_KEY_CAPSLOCK = 0x39,
	INPUT_KEY_F1 = 0x3a, INPUT_KEY_F2, INPUT_KEY_F3, INPUT_KEY_F4, INPUT_KEY_F5,
	INPUT_KEY_F6, INPUT_KEY_F7, INPUT_KEY_F8, INPUT_KEY_F9, INPUT_KEY_F10,
	INPUT_KEY_F11, INPUT_KEY_F12,
	INPUT_KEY_PRINTSCREEN = 0x46,
	INPUT_KEY_SCROLLLOCK = 0x47,
	INPUT_KEY_PAUSE = 0x48,
	INPUT_KEY_INSERT = 0x49,
	INPUT_KEY_HOME = 0x4a,
	INPUT_KEY_PAGEUP = 0x4b,
	INPUT_KEY_DELETE = 0x4c,
	INPUT_KEY_END = 0x4d,
	INPUT_KEY_PAGEDOWN = 0x4e,
	INPUT_KEY_RIGHT = 0x4f,
	INPUT_KEY_LEFT = 0x50,
	INPUT_KEY_DOWN = 0x51,
	INPUT_KEY_UP = 0x52,
	INPUT_KEY_NUMLOCK = 0x53,
	INPUT_KEY_KP_DIVIDE = 0x54,
	INPUT_KEY_KP_MULTIPLY = 0x55,
	INPUT_KEY_KP_MINUS = 0x56,
	INPUT_KEY_KP_PLUS = 0x57,
	INPUT_KEY_KP_ENTER = 0x58,
	INPUT_KEY_KP_1 = 0x59, INPUT_KEY_KP_2, INPUT_KEY_KP_3, INPUT_KEY_KP_4,
	INPUT_KEY_KP_5, INPUT_KEY_KP_6, INPUT_KEY_KP_7, INPUT_KEY_KP_8, INPUT_KEY_KP_9,
	INPUT_KEY_KP_0 = 0x62,
	INPUT_KEY_KP_PERIOD = 0x63,
	INPUT_KEY_NONUS_BACKSLASH = 0x64,  /* ISO key left of Z */
	INPUT_KEY_APPLICATION = 0x65,      /* the Menu key */
	INPUT_KEY_POWER = 0x66,
	INPUT_KEY_KP_EQUAL = 0x67,
	INPUT_KEY_F13 = 0x68, INPUT_KEY_F14, INPUT_KEY_F15, INPUT_KEY_F16, INPUT_KEY_F17,
	INPUT_KEY_F18, INPUT_KEY_F19, INPUT_KEY_F20, INPUT_KEY_F21, INPUT_KEY_F22,
	INPUT_KEY_F23, INPUT_KEY_F24,
	INPUT_KEY_MUTE = 0x7f,
	INPUT_KEY_VOLUMEUP = 0x80,
	INPUT_KEY_VOLUMEDOWN = 0x81,
	INPUT_KEY_INTL1 = 0x87,            /* Ro (JIS) */
	INPUT_KEY_INTL2 = 0x88,            /* Katakana/Hiragana */
	INPUT_KEY_INTL3 = 0x89,            /* Yen */
	INPUT_KEY_INTL4 = 0x8a,            /* Henkan */
	INPUT_KEY_INTL5 = 0x8b,            /* Muhenkan */
	INPUT_KEY_LANG1 = 0x90,            /* Hangul/English */
	INPUT_KEY_LANG2 = 0x91,            /* Hanja */
	INPUT_KEY_LCTRL = 0xe0,
	INPUT_KEY_LSHIFT = 0xe1,
	INPUT_KEY_LALT = 0xe2,
	INPUT_KEY_LGUI = 0xe3,
	INPUT_KEY_RCTRL = 0xe4,
	INPUT_KEY_RSHIFT = 0xe5,
	INPUT_KEY_RALT = 0xe6,
	INPUT_KEY_RGUI = 0xe7,
};

/* Keycodes are below this; anything else is ignored. */
#define INPUT_KEY_MAX 0x100

#define INPUT_BUTTON_LEFT   0x01u
#define INPUT_BUTTON_RIGHT  0x02u
#define INPUT_BUTTON_MIDDLE 0x04u
#define INPUT_BUTTON_SIDE   0x08u       /* button 4 (back) */
#define INPUT_BUTTON_EXTRA  0x10u       /* button 5 (forward) */

/* Scripted typing: the pause between two key events, in guest time. A human
 * types about ten events a second; 10 ms keeps scripts fast and is still far
 * slower than any guest driver needs. */
#define INPUT_TYPE_GAP_NS (10LL * 1000 * 1000)

/* A device that takes input. Either function may be NULL. Both are called
 * with the device lock held. */
struct input_consumer {
	void (*key)(void *opaque, unsigned keycode, bool down);
	void (*mouse_rel)(void *opaque, int dx, int dy, int dwheel, unsigned buttons);
};

/*
 * The hub. lock is the machine's device lock; vc paces scripted typing; loop
 * runs --type-at work out of the serial writer's context (may be NULL when
 * input_watch_output() is not used). Main thread.
 */
struct input *input_create(pthread_mutex_t *lock, struct vclock *vc, struct loop *loop);
/* Main thread, vCPUs and timers stopped, consumers removed. */
void input_destroy(struct input *in);

/* Device lock held, or before vCPUs run. 0 or -ENOMEM. */
int input_add_consumer(struct input *in, const struct input_consumer *c, void *opaque);
void input_remove_consumer(struct input *in, void *opaque);

/* Any thread without the device lock. Unknown keycodes are ignored. */
void input_key(struct input *in, unsigned keycode, bool down);
void input_mouse_rel(struct input *in, int dx, int dy, int dwheel, unsigned buttons);

/*
 * Type ASCII text as key presses on a US layout, one key event every
 * INPUT_TYPE_GAP_NS of guest time, after anything typed before. '\n' and '\r'
 * are Enter, '\t' Tab, '\b' Backspace, 0x1b Escape, other control characters
 * 0x01-0x1a are Ctrl+letter. Returns 0, or -EINVAL (nothing typed) if a
 * character has no key. Any thread without the device lock.
 */
int input_type(struct input *in, const char *text);
/* Whether input_type() can type c. */
bool input_char_typeable(char c);

/*
 * --type-at: when the guest's serial output shows marker, type text. Entries
 * fire in the order they were added, each once, each watching the output that
 * follows the previous one's marker. Main thread, before the VM runs.
 */
int input_type_at(struct input *in, const char *marker, const char *text);
#define INPUT_MARKER_MAX 128
/* Feed guest output to the --type-at watcher (a chardev tap). Any thread. */
void input_watch_output(void *in, const void *buf, size_t len);
/* How many --type-at entries have fired (for tests). */
unsigned input_type_at_fired(struct input *in);

#endif
