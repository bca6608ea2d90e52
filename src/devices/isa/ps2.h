/*
 * ps2: the PS/2 keyboard and mouse as the i8042 controller sees them.
 *
 * Each device is a byte pipe in both directions. The controller hands it the
 * bytes the guest sends (ps2kbd_write/ps2mouse_write) and pulls the bytes it
 * sends back one at a time (ps2kbd_read/ps2mouse_read) whenever the
 * controller's output buffer is free and the device's clock line is enabled.
 * A device calls its notify function when it has queued new bytes so the
 * controller can pull at once. Host input reaches the devices through the
 * input hub (ui/input.h), never through the controller.
 *
 * Everything here runs with the device lock held.
 */
#ifndef LODGE_PS2_H
#define LODGE_PS2_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct ps2kbd;
struct ps2mouse;

/* The device has bytes for the controller. */
typedef void ps2_notify_fn(void *opaque);

/* A byte FIFO. */
#define PS2_QUEUE_SIZE 64

struct ps2_queue {
	uint8_t data[PS2_QUEUE_SIZE];
	unsigned head, count;
};

/*
 * A device's transmitter. Data (a key's scan-code sequence, a mouse packet)
 * goes out in whole units; replies to the host's commands go out before any
 * queued data but never split a unit already started, which is what keeps
 * the controller's set-2 translation (an F0 prefix followed by its code) and
 * a driver's packet framing intact when a command arrives mid-stream.
 */
struct ps2_out {
	struct ps2_queue reply, data;
	uint8_t units[PS2_QUEUE_SIZE];  /* length of each queued data unit */
	unsigned unit_head, unit_count;
	unsigned in_unit;               /* bytes of the started unit still to send */
	uint8_t last;                   /* last byte sent, for the Resend command */
};

void ps2_out_clear(struct ps2_out *o);
/* False (nothing queued) if the reply queue is full. */
bool ps2_out_reply(struct ps2_out *o, uint8_t byte);
/* False (nothing queued) if len bytes do not fit. */
bool ps2_out_data(struct ps2_out *o, const uint8_t *bytes, unsigned len);
/* Forget queued data units not yet started (a command arrived). */
void ps2_out_drop_data(struct ps2_out *o);
/* Next byte to transmit, or -1. */
int ps2_out_pop(struct ps2_out *o);
bool ps2_out_pending(const struct ps2_out *o);
/* Data bytes queued, including the rest of a started unit. */
unsigned ps2_out_data_bytes(const struct ps2_out *o);

/* Replies common to both devices. */
#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_BAT_OK 0xaa

/* Keyboard (ps2kbd.c). Main thread for create/destroy. */
struct ps2kbd *ps2kbd_create(struct machine *m, ps2_notify_fn *notify, void *opaque);
void ps2kbd_destroy(struct ps2kbd *k);
void ps2kbd_reset(struct ps2kbd *k);
void ps2kbd_write(struct ps2kbd *k, uint8_t byte);
int ps2kbd_read(struct ps2kbd *k);              /* next byte or -1 */
bool ps2kbd_has_data(const struct ps2kbd *k);
/* A host key event (HID usage ID); also the keyboard's input consumer. */
void ps2kbd_key(struct ps2kbd *k, unsigned keycode, bool down);
/* LED state from the last 0xED command: bit 0 Scroll, 1 Num, 2 Caps Lock. */
uint8_t ps2kbd_leds(const struct ps2kbd *k);
/* Set 1/2 byte sequence for a key, for the controller's translation check
 * in tests: returns the length (0 if the key has no code in that set). */
unsigned ps2kbd_make_code(unsigned keycode, unsigned set, uint8_t *out, unsigned max);

/* Mouse (ps2mouse.c). */
struct ps2mouse *ps2mouse_create(struct machine *m, ps2_notify_fn *notify, void *opaque);
void ps2mouse_destroy(struct ps2mouse *ms);
void ps2mouse_reset(struct ps2mouse *ms);
void ps2mouse_write(struct ps2mouse *ms, uint8_t byte);
int ps2mouse_read(struct ps2mouse *ms);
bool ps2mouse_has_data(const struct ps2mouse *ms);
void ps2mouse_motion(struct ps2mouse *ms, int dx, int dy, int dwheel, unsigned buttons);

#endif
