/*
 * fake_irqmachine: see fake_irqmachine.h.
 */
#include "fake_irqmachine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apic/apicbus.h"
#include "apic/hpet.h"
#include "apic/ioapic.h"
#include "apic/lapic.h"
#include "cpu/accel.h"
#include "cpu/vcpu.h"
#include "iobus.h"
#include "isa/pic.h"
#include "isa/pit.h"
#include "machine.h"
#include "vclock.h"

static int64_t fim_clock(void *opaque)
{
	struct fim *f = opaque;
	return f->now;
}

static void fim_vcpu_kick(struct vcpu *v)
{
	struct fim *f = v->m->accel_state;
	f->kicks[v->index]++;
}

static void fim_record_line(struct fim *f, unsigned gsi, int level)
{
	if (level && !f->level[gsi])
		f->rises[gsi]++;
	f->level[gsi] = level;
}

static void fim_record_msi(struct fim *f, uint64_t addr, uint32_t data)
{
	f->msis++;
	f->msi_addr = addr;
	f->msi_data = data;
}

static void fim_kvm_irq_line(struct machine *m, unsigned gsi, int level)
{
	fim_record_line(m->accel_state, gsi, level);
}

static void fim_kvm_msi(struct machine *m, uint64_t addr, uint32_t data)
{
	fim_record_msi(m->accel_state, addr, data);
}

static const struct accel_ops fim_soft_accel = {
	.name = "fake-soft",
	.vcpu_kick = fim_vcpu_kick,
};

static const struct accel_ops fim_kvm_accel = {
	.name = "fake-kvm",
	.has_irqchip = true,
	.irq_line = fim_kvm_irq_line,
	.msi = fim_kvm_msi,
	.vcpu_kick = fim_vcpu_kick,
};

static struct fim *fim_new(unsigned ncpus, const struct accel_ops *accel)
{
	struct fim *f = calloc(1, sizeof(*f));
	struct machine *m = calloc(1, sizeof(*m));
	assert_non_null(f);
	assert_non_null(m);
	f->m = m;
	f->now = 1000;                  /* not zero: catches "time 0 means unset" bugs */
	pthread_mutex_init(&m->dev_lock, NULL);
	m->clock = vclock_create(&m->dev_lock);
	vclock_set_source(m->clock, fim_clock, f);
	m->pio = iobus_create("pio", 0xffff, &m->dev_lock);
	m->mmio = iobus_create("mmio", UINT64_MAX, &m->dev_lock);
	m->accel = accel;
	m->accel_state = f;
	m->ncpus = ncpus;
	for (unsigned i = 0; i < ncpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		assert_non_null(v);
		v->m = m;
		v->index = i;
		pthread_mutex_init(&v->lock, NULL);
		pthread_cond_init(&v->cond, NULL);
		m->vcpus[i] = v;
	}
	return f;
}

struct fim *fim_create(unsigned ncpus)
{
	return fim_new(ncpus, &fim_soft_accel);
}

struct fim *fim_create_kvm(unsigned ncpus)
{
	return fim_new(ncpus, &fim_kvm_accel);
}

static void fim_capture_line(void *opaque, unsigned gsi, int level)
{
	fim_record_line(opaque, gsi, level);
}

static void fim_capture_msi(void *opaque, uint64_t addr, uint32_t data)
{
	fim_record_msi(opaque, addr, data);
}

static const struct irqchip_ops fim_capture_ops = { fim_capture_line, fim_capture_msi };

void fim_capture_irqs(struct fim *f)
{
	irq_register_chip(f->m, &fim_capture_ops, f);
}

void fim_add_pc(struct fim *f, bool with_pit)
{
	struct machine *m = f->m;
	f->bus = machine_add_device(m, &apicbus_desc, NULL);
	f->pic = machine_add_device(m, &pic_desc, NULL);
	f->io = machine_add_device(m, &ioapic_desc, NULL);
	assert_non_null(f->bus);
	assert_non_null(f->pic);
	assert_non_null(f->io);
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct lapic_params lp = { i };
		assert_non_null(machine_add_device(m, &lapic_desc, &lp));
	}
	if (with_pit) {
		f->pit = machine_add_device(m, &pit_desc, NULL);
		assert_non_null(f->pit);
	}
	struct hpet_params hp = { f->pit };
	f->hpet = machine_add_device(m, &hpet_desc, &hp);
	assert_non_null(f->hpet);
}

struct lapic *fim_lapic(struct fim *f, unsigned i)
{
	return f->m->lapic[i];
}

void fim_destroy(struct fim *f)
{
	struct machine *m = f->m;
	for (unsigned i = m->ndevs; i-- > 0;)
		m->devs[i].desc->destroy(m->devs[i].inst);
	free(m->devs);
	for (unsigned i = 0; i < m->ncpus; i++) {
		pthread_mutex_destroy(&m->vcpus[i]->lock);
		pthread_cond_destroy(&m->vcpus[i]->cond);
		free(m->vcpus[i]);
	}
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	vclock_destroy(m->clock);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
	free(f);
}

int fim_setup_pc(void **state)
{
	struct fim *f = fim_create(1);
	fim_add_pc(f, true);
	*state = f;
	return 0;
}

int fim_teardown(void **state)
{
	fim_destroy(*state);
	return 0;
}

void fim_run_until(struct fim *f, int64_t t)
{
	/* A timer re-armed at the instant it ran would loop here forever. */
	unsigned same_instant = 0;
	int64_t last = INT64_MIN;
	machine_lock(f->m);
	for (;;) {
		int64_t d = vclock_next_deadline(f->m->clock);
		if (d > t)
			break;
		if (d > f->now)
			f->now = d;
		same_instant = f->now == last ? same_instant + 1 : 0;
		last = f->now;
		if (same_instant > 1000) {
			machine_unlock(f->m);
			fail_msg("timers keep firing at %lld ns", (long long)f->now);
		}
		vclock_run_due(f->m->clock);
		f->timer_runs++;
	}
	if (t > f->now)
		f->now = t;
	machine_unlock(f->m);
}

void fim_advance(struct fim *f, int64_t ns)
{
	fim_run_until(f, f->now + ns);
}

int64_t fim_next_deadline(struct fim *f)
{
	machine_lock(f->m);
	int64_t d = vclock_next_deadline(f->m->clock);
	machine_unlock(f->m);
	return d;
}

uint8_t fim_inb(struct fim *f, uint16_t port)
{
	return (uint8_t)iobus_read(f->m->pio, port, 1);
}

void fim_outb(struct fim *f, uint16_t port, uint8_t v)
{
	iobus_write(f->m->pio, port, 1, v);
}

uint64_t fim_read(struct fim *f, uint64_t addr, unsigned size)
{
	return iobus_read(f->m->mmio, addr, size);
}

void fim_write(struct fim *f, uint64_t addr, unsigned size, uint64_t v)
{
	iobus_write(f->m->mmio, addr, size, v);
}

void fim_pic_init(struct fim *f, uint8_t icw4)
{
	static const uint8_t seq[2][4] = { { 0x11, 0x08, 0x04, 0 }, { 0x11, 0x70, 0x02, 0x01 } };
	for (unsigned i = 0; i < 2; i++) {
		uint16_t port = i ? 0xa0 : 0x20;
		fim_outb(f, port, seq[i][0]);
		fim_outb(f, port + 1, seq[i][1]);
		fim_outb(f, port + 1, seq[i][2]);
		fim_outb(f, port + 1, i ? seq[i][3] : icw4);
	}
}

void fim_irq(struct fim *f, unsigned gsi, int level)
{
	machine_lock(f->m);
	irq_set(f->m, gsi, level);
	machine_unlock(f->m);
}

void fim_msi(struct fim *f, uint64_t addr, uint32_t data)
{
	machine_lock(f->m);
	irq_msi(f->m, addr, data);
	machine_unlock(f->m);
}
