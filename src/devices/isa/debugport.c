/*
 * debugport: the diagnostic ports firmware and test kernels write to.
 *
 *   0x80         POST code port: the last code is kept and logged (debug).
 *                Linux also uses it for I/O delays, so it must stay cheap.
 *   0x402, 0xe9  Bochs/QEMU debug console: bytes are gathered into lines and
 *                logged under the "debugcon" tag (lodge run --debug debugcon).
 *                Reads return 0xe9, which is how SeaBIOS detects the port.
 */
#include "isa/debugport.h"

#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"

#define DEBUGCON_LINE 160

struct debugport {
	uint8_t post;
	char line[DEBUGCON_LINE];
	unsigned len;
	struct iobus_region *r_post, *r_402, *r_e9;
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
	struct debugport *d = opaque;
	return d->post;
}

static void post_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct debugport *d = opaque;
	d->post = (uint8_t)v;
	log_debug("post", "POST code %#04x", d->post);
}

static const struct iobus_ops post_ops = { post_read, post_write, 1 };

static void debugcon_flush(struct debugport *d)
{
	d->line[d->len] = 0;
	log_debug("debugcon", "%s", d->line);
	d->len = 0;
}

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
	return 0xe9;
}

static void debugcon_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct debugport *d = opaque;
	char c = (char)v;
	if (c == '\n') {
		debugcon_flush(d);
		return;
	}
	if (c == '\r')
		return;
	d->line[d->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? c : '?';
	if (d->len == DEBUGCON_LINE - 1)
		debugcon_flush(d);
}

static const struct iobus_ops debugcon_ops = { debugcon_read, debugcon_write, 1 };

static void *debugport_create(struct machine *m, const void *params)
{
	struct debugport *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (iobus_add(m->pio, "post", 0x80, 1, &post_ops, d, 0, &d->r_post) ||
	    iobus_add(m->pio, "debugcon", 0x402, 1, &debugcon_ops, d, 0, &d->r_402) ||
	    iobus_add(m->pio, "debugcon", 0xe9, 1, &debugcon_ops, d, 0, &d->r_e9)) {
		iobus_remove(d->r_post);
		iobus_remove(d->r_402);
		free(d);
		return NULL;
	}
	return d;
}

static void debugport_destroy(void *dev)
{
	struct debugport *d = dev;
	if (d->len)
		debugcon_flush(d);
	iobus_remove(d->r_post);
	iobus_remove(d->r_402);
	iobus_remove(d->r_e9);
	free(d);
}

const struct device_desc debugport_desc = {
	.name = "debugport",
	.create = debugport_create,
	.destroy = debugport_destroy,
};
