/*
 * fake_machine: a struct machine for device unit tests (see fake_machine.h).
 */
#include "fake_machine.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "guestmem.h"
#include "iobus.h"
#include "irq.h"
#include "loop.h"
#include "ui/input.h"
#include "vclock.h"

#define FAKE_RAM (16ULL << 20)

struct fake_machine {
	struct machine m;               /* first: tests hold &fm->m */
	struct config cfg;
	struct accel_ops accel;
	int64_t now;
	int level[IRQ_MAX_GSI];
	unsigned edges[IRQ_MAX_GSI];
	struct fake_msi msi[FAKE_MSI_MAX];
	unsigned nmsi;
	bool a20;
};

static struct fake_machine *fake_of(struct machine *m)
{
	return (struct fake_machine *)m;
}

static int64_t fake_clock(void *opaque)
{
	return ((struct fake_machine *)opaque)->now;
}

static void fake_set_line(void *opaque, unsigned gsi, int level)
{
	struct fake_machine *fm = opaque;
	if (level && !fm->level[gsi])
		fm->edges[gsi]++;
	fm->level[gsi] = level;
}

static void fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;
	if (fm->nmsi < FAKE_MSI_MAX)
		fm->msi[fm->nmsi] = (struct fake_msi){ addr, data };
	fm->nmsi++;
}

static const struct irqchip_ops fake_irqchip = { .set_line = fake_set_line, .msi = fake_msi };

static void fake_set_a20(struct machine *m, bool enabled)
{
	fake_of(m)->a20 = enabled;
}

static void *must(void *p, const char *what)
{
	if (!p) {
		fprintf(stderr, "fake_machine: cannot create %s\n", what);
		abort();
	}
	return p;
}

struct machine *fake_machine_create(void)
{
	struct fake_machine *fm = must(calloc(1, sizeof(*fm)), "the machine");
	struct machine *m = &fm->m;
	config_init(&fm->cfg);
	m->cfg = &fm->cfg;
	m->ncpus = 1;
	pthread_mutex_init(&m->dev_lock, NULL);
	m->loop = must(loop_create(), "the loop");
	m->clock = must(vclock_create(&m->dev_lock), "the clock");
	vclock_set_source(m->clock, fake_clock, fm);
	m->mem = must(guestmem_create(), "guest memory");
	if (guestmem_add(m->mem, "ram", 0, FAKE_RAM, NULL, GUESTMEM_RAM, NULL))
		must(NULL, "guest RAM");
	m->ram_below_4g = FAKE_RAM;
	m->pio = must(iobus_create("pio", 0xffff, &m->dev_lock), "the pio bus");
	m->mmio = must(iobus_create("mmio", UINT64_MAX, &m->dev_lock), "the mmio bus");
	fm->accel.name = "fake";
	fm->accel.set_a20 = fake_set_a20;
	m->accel = &fm->accel;
	m->a20 = fm->a20 = true;
	irq_register_chip(m, &fake_irqchip, fm);
	m->input = must(input_create(&m->dev_lock, m->clock, m->loop), "the input hub");
	return m;
}

void fake_machine_destroy(struct machine *m)
{
	struct fake_machine *fm = fake_of(m);
	/* Deferred work may still refer to the devices: run it first. */
	loop_destroy(m->loop);
	for (unsigned i = m->ndevs; i-- > 0;)
		if (m->devs[i].desc->destroy)
			m->devs[i].desc->destroy(m->devs[i].inst);
	free(m->devs);
	input_destroy(m->input);
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	guestmem_destroy(m->mem);
	vclock_destroy(m->clock);
	pthread_mutex_destroy(&m->dev_lock);
	config_free(&fm->cfg);
	free(fm);
}

void fake_machine_reset(struct machine *m)
{
	machine_lock(m);
	for (unsigned i = m->ndevs; i-- > 0;)
		if (m->devs[i].desc->reset)
			m->devs[i].desc->reset(m->devs[i].inst);
	machine_unlock(m);
}

int64_t fake_machine_now(struct machine *m)
{
	return fake_of(m)->now;
}

void fake_machine_advance(struct machine *m, int64_t ns)
{
	machine_lock(m);
	fake_of(m)->now += ns;
	vclock_run_due(m->clock);
	machine_unlock(m);
}

bool fake_machine_run_next_timer(struct machine *m, int64_t limit_ns)
{
	struct fake_machine *fm = fake_of(m);
	machine_lock(m);
	int64_t next = vclock_next_deadline(m->clock);
	bool ok = next != INT64_MAX && next - fm->now <= limit_ns;
	if (ok) {
		if (next > fm->now)
			fm->now = next;
		vclock_run_due(m->clock);
	}
	machine_unlock(m);
	return ok;
}

bool fake_machine_timer_armed(struct machine *m)
{
	machine_lock(m);
	bool armed = vclock_next_deadline(m->clock) != INT64_MAX;
	machine_unlock(m);
	return armed;
}

void fake_machine_run_loop(struct machine *m)
{
	/* loop_stop() wakes the loop, which runs everything queued, then stops. */
	loop_stop(m->loop);
	loop_run(m->loop);
}

int fake_machine_irq_level(struct machine *m, unsigned gsi)
{
	return gsi < IRQ_MAX_GSI ? fake_of(m)->level[gsi] : 0;
}

unsigned fake_machine_irq_edges(struct machine *m, unsigned gsi)
{
	return gsi < IRQ_MAX_GSI ? fake_of(m)->edges[gsi] : 0;
}

void fake_machine_clear_irq_edges(struct machine *m)
{
	for (unsigned i = 0; i < IRQ_MAX_GSI; i++)
		fake_of(m)->edges[i] = 0;
}

unsigned fake_machine_msi_count(struct machine *m)
{
	return fake_of(m)->nmsi;
}

struct fake_msi fake_machine_msi(struct machine *m, unsigned i)
{
	struct fake_machine *fm = fake_of(m);
	return i < FAKE_MSI_MAX && i < fm->nmsi ? fm->msi[i] : (struct fake_msi){ 0, 0 };
}

unsigned fake_machine_take_requests(struct machine *m)
{
	return atomic_exchange(&m->requests, 0);
}

bool fake_machine_a20(struct machine *m)
{
	return fake_of(m)->a20;
}
