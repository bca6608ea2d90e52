/*
 * debugexit: the test exit device (compatible with QEMU's isa-debug-exit and
 * bhyve's pctestdev). A write of V to port 0xf4 stops the VM and lodge exits
 * with status (V << 1) | 1, so a test guest can report pass/fail and no guest
 * value can be mistaken for lodge's own statuses (0, 1, 2, 4), which are even
 * or 1. Only present with --debug-exit: a normal VM has nothing at 0xf4.
 */
#include "isa/debugexit.h"

#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"

struct debugexit {
	struct machine *m;
	struct iobus_region *region;
};

static uint64_t debugexit_read(void *opaque, uint64_t off, unsigned size)
{
	return 0xffffffff;
}

static void debugexit_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct debugexit *d = opaque;
	int status = (int)(((v & 0xff) << 1) | 1);
	log_info("debugexit", "the guest asked to exit with status %d", status);
	machine_request_exit(d->m, status);
}

static const struct iobus_ops debugexit_ops = { debugexit_read, debugexit_write, 4 };

static void *debugexit_create(struct machine *m, const void *params)
{
	struct debugexit *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->m = m;
	if (iobus_add(m->pio, "debugexit", 0xf4, 4, &debugexit_ops, d, 0, &d->region)) {
		free(d);
		return NULL;
	}
	return d;
}

static void debugexit_destroy(void *dev)
{
	struct debugexit *d = dev;
	iobus_remove(d->region);
	free(d);
}

const struct device_desc debugexit_desc = {
	.name = "debugexit",
	.create = debugexit_create,
	.destroy = debugexit_destroy,
};
