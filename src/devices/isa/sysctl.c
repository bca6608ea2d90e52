/*
 * sysctl: System Control Port A (0x92, PS/2 "fast A20"): bit 1 gates A20,
 * writing bit 0 as 1 resets the CPU. Reads return bit 0 as 0: SeaBIOS does
 * read-modify-write on every mode switch, so a read of 1 would reset the
 * machine in a loop.
 *
 * The other reset register, 0xcf9, shares a dword with the PCI configuration
 * address and is decoded by the host bridge (devices/pci/i440fx.c).
 */
#include "isa/sysctl.h"

#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"

struct sysctl {
	struct machine *m;
	uint8_t port92;
	struct iobus_region *r92;
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
	struct sysctl *s = opaque;
	return s->port92 & ~0x01u;
}

static void port92_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct sysctl *s = opaque;
	s->port92 = (uint8_t)(v & 0x02);
	machine_set_a20(s->m, v & 0x02);
	if (v & 0x01) {
		log_debug("sysctl", "reset through port 0x92");
		machine_request_reset(s->m);
	}
}

static const struct iobus_ops port92_ops = { port92_read, port92_write, 1 };

static void sysctl_reset(void *dev)
{
	struct sysctl *s = dev;
	s->port92 = 0x02;               /* A20 on, as PC firmware leaves it */
	machine_set_a20(s->m, true);
}

static void *sysctl_create(struct machine *m, const void *params)
{
	struct sysctl *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	if (iobus_add(m->pio, "port92", 0x92, 1, &port92_ops, s, 0, &s->r92)) {
		free(s);
		return NULL;
	}
	return s;
}

static void sysctl_destroy(void *dev)
{
	struct sysctl *s = dev;
	iobus_remove(s->r92);
	free(s);
}

const struct device_desc sysctl_desc = {
	.name = "sysctl",
	.create = sysctl_create,
	.reset = sysctl_reset,
	.destroy = sysctl_destroy,
};
