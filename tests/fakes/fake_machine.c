/* fake_machine: see fake_machine.h. */
#include "fake_machine.h"

#include <stdlib.h>

#include "guestmem.h"
#include "iobus.h"
#include "loop.h"
#include "vclock.h"

static void fake_set_line(void *opaque, unsigned gsi, int level)
{
	struct fake_machine *fm = opaque;
	if (level && !fm->level[gsi])
		fm->raised[gsi]++;
	fm->level[gsi] = level;
}

static void fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;
	if (fm->nmsi < FAKE_MSI_MAX) {
		fm->msi[fm->nmsi].addr = addr;
		fm->msi[fm->nmsi].data = data;
	}
	fm->nmsi++;
}

static const struct irqchip_ops fake_chip = { fake_set_line, fake_msi };

static int64_t fake_now(void *opaque)
{
	struct fake_machine *fm = opaque;
	return fm->now_ns;
}

struct fake_machine *fake_machine_create(uint64_t ram_bytes)
{
	struct fake_machine *fm = calloc(1, sizeof(*fm));
	if (!fm)
		return NULL;
	struct machine *m = &fm->m;
	config_init(&fm->cfg);
	m->cfg = &fm->cfg;
	m->ncpus = 1;
	pthread_mutex_init(&m->dev_lock, NULL);
	m->loop = loop_create();
	m->clock = vclock_create(NULL);
	vclock_set_source(m->clock, fake_now, fm);
	m->mem = guestmem_create();
	m->pio = iobus_create("pio", 0xffff, NULL);
	m->mmio = iobus_create("mmio", UINT64_MAX, NULL);
	m->ram_below_4g = ram_bytes;
	if (!m->loop || !m->clock || !m->mem || !m->pio || !m->mmio ||
	    guestmem_add(m->mem, "ram", 0, ram_bytes, NULL, GUESTMEM_RAM, NULL)) {
		fake_machine_destroy(fm);
		return NULL;
	}
	irq_register_chip(m, &fake_chip, fm);
	return fm;
}

void fake_machine_destroy(struct fake_machine *fm)
{
	if (!fm)
		return;
	struct machine *m = &fm->m;
	loop_destroy(m->loop);
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	guestmem_destroy(m->mem);
	vclock_destroy(m->clock);
	pthread_mutex_destroy(&m->dev_lock);
	config_free(&fm->cfg);
	free(fm);
}

void fake_machine_advance(struct fake_machine *fm, int64_t ns)
{
	fm->now_ns += ns;
	vclock_run_due(fm->m.clock);
}

unsigned fake_machine_take_requests(struct fake_machine *fm)
{
	return atomic_exchange(&fm->m.requests, 0);
}
