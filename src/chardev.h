/*
 * chardev: host back-ends for character devices (serial ports).
 *
 *   stdio      the terminal, in raw mode when it is a TTY; Ctrl-A x quits,
 *              Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h prints help
 *   file:PATH  output appended to a file, no input
 *   none       output discarded, no input
 *
 * Devices see only this header. Output (chardev_write) may be called from any
 * thread. Input arrives on the loop thread through the receive callback, which
 * returns how many bytes it accepted; the rest is kept, and the device calls
 * chardev_rx_ready() (any thread, any lock) when it has room again. The
 * callback is called without the device lock; it takes it itself.
 */
#ifndef LODGE_CHARDEV_H
#define LODGE_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct chardev;
struct loop;

typedef size_t chardev_rx_fn(void *opaque, const uint8_t *buf, size_t len);
typedef void chardev_escape_fn(void *opaque, int key);
/* Sees every byte written to the back-end, in the writer's thread, with the
 * back-end's output lock held (so calls are serialised); must not block. */
typedef void chardev_tap_fn(void *opaque, const void *buf, size_t len);

struct chardev *chardev_open(struct loop *loop, const struct config_serial *cfg,
			     char *err, size_t errlen);
/* Loop thread. Restores the terminal. */
void chardev_close(struct chardev *cd);
void chardev_set_rx(struct chardev *cd, chardev_rx_fn *fn, void *opaque);
/* Ctrl-A sequences on a stdio terminal ('x' = quit). */
void chardev_set_escape(struct chardev *cd, chardev_escape_fn *fn, void *opaque);
void chardev_write(struct chardev *cd, const void *buf, size_t len);
/* Watch the output (lodge run --type-at). Main thread, before the VM runs,
 * or after it stopped; fn NULL removes the tap. */
void chardev_set_tap(struct chardev *cd, chardev_tap_fn *fn, void *opaque);
void chardev_rx_ready(struct chardev *cd);

#endif
