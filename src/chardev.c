/*
 * chardev: serial back-ends on the host side (see chardev.h).
 *
 * Input from a TTY or pipe is read with libuv on the loop thread into a
 * bounded buffer; reading pauses while the buffer is full, so a guest that
 * never drains its UART costs bounded memory. Output is written directly from
 * the calling thread: a UART transmits a byte at a time and a blocking write()
 * to a terminal or file is the simplest thing that keeps ordering.
 */
#include "chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "loop.h"

#define RX_BUF 4096
#define ESCAPE_KEY 0x01                 /* Ctrl-A */

struct chardev {
	struct loop *loop;
	enum serial_mode mode;
	int out_fd;
	bool own_out_fd;
	pthread_mutex_t out_lock;

	/* stdio input */
	bool is_tty, reading, have_stream;
	union {
		uv_tty_t tty;
		uv_pipe_t pipe;
	} in;
	bool escape_pending;
	uint8_t rx[RX_BUF];
	size_t rx_len;
	_Atomic bool rx_ready_queued;

	chardev_rx_fn *rx_fn;
	void *rx_opaque;
	chardev_escape_fn *esc_fn;
	void *esc_opaque;
	chardev_tap_fn *tap_fn;
	void *tap_opaque;
};

static void chardev_deliver(struct chardev *cd);

static void rx_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct chardev *cd = h->data;
	buf->base = (char *)cd->rx + cd->rx_len;
	buf->len = RX_BUF - cd->rx_len;
}

static void chardev_start_reading(struct chardev *cd);

/* Loop thread: strip Ctrl-A sequences from fresh TTY input. */
static size_t chardev_filter_escapes(struct chardev *cd, uint8_t *p, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (cd->escape_pending) {
			cd->escape_pending = false;
			if (c == ESCAPE_KEY) {
				p[out++] = c;
			} else if (c == 'h' || c == '?') {
				log_info("serial", "Ctrl-A x: quit   Ctrl-A Ctrl-A: send Ctrl-A");
			} else if (cd->esc_fn) {
				cd->esc_fn(cd->esc_opaque, c);
			}
			continue;
		}
		if (c == ESCAPE_KEY && cd->is_tty) {
			cd->escape_pending = true;
			continue;
		}
		p[out++] = c;
	}
	return out;
}

static void rx_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct chardev *cd = s->data;
	if (nread < 0) {
		/* EOF or error on stdin: no more input, the guest keeps running. */
		uv_read_stop(s);
		cd->reading = false;
		return;
	}
	cd->rx_len += chardev_filter_escapes(cd, (uint8_t *)buf->base, (size_t)nread);
	chardev_deliver(cd);
}

/* Loop thread: offer buffered input to the device; pause reading when full. */
static void chardev_deliver(struct chardev *cd)
{
	if (cd->rx_fn && cd->rx_len) {
		size_t took = cd->rx_fn(cd->rx_opaque, cd->rx, cd->rx_len);
		if (took > cd->rx_len)
			took = cd->rx_len;
		memmove(cd->rx, cd->rx + took, cd->rx_len - took);
		cd->rx_len -= took;
	}
	if (cd->rx_len == RX_BUF && cd->reading) {
		uv_read_stop((uv_stream_t *)&cd->in);
		cd->reading = false;
	} else if (cd->rx_len < RX_BUF && !cd->reading) {
		chardev_start_reading(cd);
	}
}

static void chardev_start_reading(struct chardev *cd)
{
	if (!cd->have_stream || cd->reading)
		return;
	if (uv_read_start((uv_stream_t *)&cd->in, rx_alloc, rx_read) == 0)
		cd->reading = true;
}

static void chardev_deliver_deferred(void *arg)
{
	struct chardev *cd = arg;
	atomic_store(&cd->rx_ready_queued, false);
	chardev_deliver(cd);
}

void chardev_rx_ready(struct chardev *cd)
{
	if (!cd || !cd->have_stream)
		return;
	if (!atomic_exchange(&cd->rx_ready_queued, true))
		loop_defer(cd->loop, chardev_deliver_deferred, cd);
}

void chardev_set_rx(struct chardev *cd, chardev_rx_fn *fn, void *opaque)
{
	cd->rx_fn = fn;
	cd->rx_opaque = opaque;
	chardev_start_reading(cd);
}

void chardev_set_escape(struct chardev *cd, chardev_escape_fn *fn, void *opaque)
{
	cd->esc_fn = fn;
	cd->esc_opaque = opaque;
}

void chardev_set_tap(struct chardev *cd, chardev_tap_fn *fn, void *opaque)
{
	cd->tap_fn = fn;
	cd->tap_opaque = opaque;
}

void chardev_write(struct chardev *cd, const void *buf, size_t len)
{
	if (!cd || cd->out_fd < 0)
		return;
	const uint8_t *p = buf;
	pthread_mutex_lock(&cd->out_lock);
	if (cd->tap_fn)
		cd->tap_fn(cd->tap_opaque, buf, len);
	while (len) {
		ssize_t n = write(cd->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* A non-blocking terminal is full: wait for it rather than drop. */
			usleep(1000);
			continue;
		}
		if (n <= 0) {
			log_guest(LOG_WARN, "serial", "serial output lost: %s", strerror(errno));
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&cd->out_lock);
}

static int chardev_open_stdin(struct chardev *cd)
{
	uv_loop_t *uv = loop_uv(cd->loop);
	switch (uv_guess_handle(0)) {
	case UV_TTY:
		if (uv_tty_init(uv, &cd->in.tty, 0, 1))
			return 0;
		cd->is_tty = true;
		if (uv_tty_set_mode(&cd->in.tty, UV_TTY_MODE_RAW) == 0)
			log_set_raw_terminal(true);
		log_info("serial", "serial console on this terminal; press Ctrl-A x to quit");
		break;
	case UV_NAMED_PIPE:
		if (uv_pipe_init(uv, &cd->in.pipe, 0) || uv_pipe_open(&cd->in.pipe, 0))
			return 0;
		break;
	default:
		/* A regular file or /dev/null on stdin: no interactive input. */
		return 0;
	}
	cd->in.tty.data = cd;
	cd->have_stream = true;
	return 0;
}

struct chardev *chardev_open(struct loop *loop, const struct config_serial *cfg,
			     char *err, size_t errlen)
{
	struct chardev *cd = calloc(1, sizeof(*cd));
	if (!cd) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cd->loop = loop;
	cd->mode = cfg->mode;
	cd->out_fd = -1;
	pthread_mutex_init(&cd->out_lock, NULL);
	switch (cfg->mode) {
	case SERIAL_STDIO:
		cd->out_fd = STDOUT_FILENO;
		chardev_open_stdin(cd);
		break;
	case SERIAL_FILE:
		cd->out_fd = open(cfg->file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cd->out_fd < 0) {
			snprintf(err, errlen, "%s: cannot open serial output file '%s': %s",
				 cfg->file.origin, cfg->file.path, strerror(errno));
			free(cd);
			return NULL;
		}
		cd->own_out_fd = true;
		break;
	case SERIAL_NONE:
		break;
	}
	return cd;
}

void chardev_close(struct chardev *cd)
{
	if (!cd)
		return;
	if (cd->have_stream) {
		if (cd->is_tty) {
			uv_tty_set_mode(&cd->in.tty, UV_TTY_MODE_NORMAL);
			uv_tty_reset_mode();
			log_set_raw_terminal(false);
		}
		uv_close((uv_handle_t *)&cd->in, NULL);
		/* The handle's memory lives in cd: let libuv finish closing it. */
		uv_run(loop_uv(cd->loop), UV_RUN_NOWAIT);
	}
	if (cd->own_out_fd)
		close(cd->out_fd);
	pthread_mutex_destroy(&cd->out_lock);
	free(cd);
}
