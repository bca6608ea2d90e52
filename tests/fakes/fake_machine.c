/*
 * fake_machine: a bare struct machine for device unit tests (see
 * fake_machine.h).
 */
#include "fake_machine.h"

#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "iobus.h"
#include "irq.h"
#include "machine.h"

struct fake_irqchip {
	bool level[IRQ_MAX_GSI];
	unsigned rises[IRQ_MAX_GSI];
};

static void fake_irq_set_line(void *opaque, unsigned gsi, int level)
{
	struct fake_irqchip *c = opaque;
	if (level && !c->level[gsi])
		c->rises[gsi]++;
	c->level[gsi] = level;
}

static void fake_irq_msi(void *opaque, uint64_t addr, uint32_t data)
{
}

static const struct irqchip_ops fake_irqchip_ops = { fake_irq_set_line, fake_irq_msi };

struct machine *fake_machine_create(uint64_t ram_bytes)
{
	struct machine *m = calloc(1, sizeof(*m));
	pthread_mutex_init(&m->dev_lock, NULL);
	m->mem = guestmem_create();
	if (guestmem_add(m->mem, "ram", 0, ram_bytes, NULL, GUESTMEM_RAM, NULL))
		abort();
	m->ram_below_4g = ram_bytes;
	m->pio = iobus_create("pio", 0xffff, &m->dev_lock);
	m->mmio = iobus_create("mmio", UINT64_MAX, &m->dev_lock);
	irq_register_chip(m, &fake_irqchip_ops, calloc(1, sizeof(struct fake_irqchip)));
	return m;
}

void fake_machine_destroy(struct machine *m)
{
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	guestmem_destroy(m->mem);
	free(m->irqchip_opaque);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}

bool fake_irq_level(const struct machine *m, unsigned gsi)
{
	const struct fake_irqchip *c = m->irqchip_opaque;
	return c->level[gsi];
}

unsigned fake_irq_rises(const struct machine *m, unsigned gsi)
{
	const struct fake_irqchip *c = m->irqchip_opaque;
	return c->rises[gsi];
}

void fake_irq_clear_counts(struct machine *m)
{
	struct fake_irqchip *c = m->irqchip_opaque;
	memset(c->rises, 0, sizeof(c->rises));
}
