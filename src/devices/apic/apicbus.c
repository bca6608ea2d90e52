/*
 * apicbus: interrupt routing between device lines, the 8259 pair, the I/O
 * APIC and the local APICs of a machine without in-kernel controllers (see
 * apicbus.h for the wiring). Interrupt messages follow Intel SDM Vol. 3A
 * 10.6.2 (destination modes), 10.6.2.4 (lowest-priority delivery) and 10.11
 * (MSI address and data format).
 *
 * Lowest-priority delivery picks the matching LAPIC with the lowest
 * arbitration priority; ties rotate, which is what the "focus processor"
 * optimisation of real chipsets is allowed to do and spreads interrupts the
 * way Linux and Windows expect.
 */
#include "apic/apicbus.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "apic/ioapic.h"
#include "apic/lapic.h"
#include "irq.h"
#include "isa/pic.h"
#include "log.h"
#include "machine.h"

#define MSI_ADDR_WINDOW 0xfeeULL
#define MSI_ADDR_LOGICAL (1u << 2)
#define MSI_DATA_ASSERT (1u << 14)
#define MSI_DATA_LEVEL (1u << 15)

struct apicbus_watch {
	void (*fn)(void *opaque);
	void *opaque;
};

struct apicbus {
	struct machine *m;
	struct pic *pic;
	struct ioapic *io;
	_Atomic unsigned rotor;         /* lowest-priority tie breaker */
	struct apicbus_watch watch[IRQ_MAX_GSI];
};

static void apicbus_set_line(void *opaque, unsigned gsi, int level);
static void apicbus_msi(void *opaque, uint64_t addr, uint32_t data);

static const struct irqchip_ops apicbus_chip_ops = { apicbus_set_line, apicbus_msi };

struct apicbus *apicbus_of(struct machine *m)
{
	return m->irqchip == &apicbus_chip_ops ? m->irqchip_opaque : NULL;
}

void apicbus_attach_pic(struct apicbus *b, struct pic *pic)
{
	b->pic = pic;
}

void apicbus_attach_ioapic(struct apicbus *b, struct ioapic *io)
{
	b->io = io;
}

/* The I/O APIC pin of ISA IRQ irq (ACPI interrupt source override 0 -> 2). */
static unsigned apicbus_isa_pin(unsigned irq)
{
	return irq == 0 ? 2 : irq;
}

/* Device lock held: the OR'ed level of GSI gsi changed (irq.c). */
static void apicbus_set_line(void *opaque, unsigned gsi, int level)
{
	struct apicbus *b = opaque;
	if (gsi < 16) {
		if (gsi == 2) {
			log_guest(LOG_WARN, "apic", "a device raised IRQ2, the 8259 cascade; dropped");
			return;
		}
		if (b->pic)
			pic_set_irq(b->pic, gsi, level);
	}
	if (b->io)
		ioapic_set_pin(b->io, apicbus_isa_pin(gsi), level);
}

bool apic_msg_from_msi(struct apic_msg *msg, uint64_t addr, uint32_t data)
{
	if ((addr >> 20) != MSI_ADDR_WINDOW)
		return false;
	bool level = data & MSI_DATA_LEVEL;
	*msg = (struct apic_msg){
		.dest = (addr >> 12) & 0xff,
		.logical = addr & MSI_ADDR_LOGICAL,
		.vector = (uint8_t)data,
		.mode = (data >> 8) & 7,
		.level = level,
		.assert = !level || (data & MSI_DATA_ASSERT),
	};
	return true;
}

/* Device lock held: a PCI device or the HPET wrote an MSI. */
static void apicbus_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct apicbus *b = opaque;
	struct apic_msg msg;
	if (!apic_msg_from_msi(&msg, addr, data)) {
		log_guest(LOG_WARN, "apic", "MSI to %#llx is outside the APIC window; dropped",
			  (unsigned long long)addr);
		return;
	}
	if (msg.mode == APIC_DM_SIPI || msg.mode == 3 || msg.mode == APIC_DM_EXTINT) {
		log_guest(LOG_WARN, "apic", "MSI with reserved delivery mode %u; dropped", msg.mode);
		return;
	}
	apicbus_deliver(b, &msg);
}

unsigned apicbus_deliver(struct apicbus *b, const struct apic_msg *msg)
{
	struct machine *m = b->m;
	unsigned n = m->ncpus < CONFIG_MAX_CPUS ? m->ncpus : CONFIG_MAX_CPUS;
	if (msg->mode != APIC_DM_LOWEST) {
		unsigned taken = 0;
		for (unsigned i = 0; i < n; i++) {
			struct lapic *l = m->lapic[i];
			if (l && lapic_match(l, msg) && lapic_accept(l, msg))
				taken++;
		}
		return taken;
	}
	if (!n)
		return 0;
	struct lapic *best = NULL;
	unsigned best_pr = 0;
	unsigned start = atomic_fetch_add(&b->rotor, 1) % n;
	for (unsigned k = 0; k < n; k++) {
		struct lapic *l = m->lapic[(start + k) % n];
		if (!l || !lapic_match(l, msg))
			continue;
		unsigned pr = lapic_arb_priority(l);
		if (!best || pr < best_pr) {
			best = l;
			best_pr = pr;
		}
	}
	return best && lapic_accept(best, msg) ? 1 : 0;
}

void apicbus_eoi(struct apicbus *b, uint8_t vector)
{
	if (b->io)
		ioapic_eoi(b->io, vector);
}

int apicbus_pic_intack(struct apicbus *b)
{
	return b->pic ? pic_intack(b->pic) : -1;
}

/* Virtual wire: the 8259's INTR reaches every LINT0 (MP spec 3.6.2.2, mode
 * A) and I/O APIC pin 0 (mode B). */
void apicbus_pic_output(struct apicbus *b, bool level)
{
	struct machine *m = b->m;
	for (unsigned i = 0; i < m->ncpus && i < CONFIG_MAX_CPUS; i++)
		if (m->lapic[i])
			lapic_set_lint(m->lapic[i], 0, level);
	if (b->io)
		ioapic_set_pin(b->io, 0, level);
}

bool apicbus_irq_idle(struct apicbus *b, unsigned gsi)
{
	if (gsi >= IRQ_MAX_GSI || gsi == 2)
		return true;
	if (gsi < 16 && b->pic && !pic_irq_idle(b->pic, gsi))
		return false;
	return !b->io || ioapic_pin_masked(b->io, apicbus_isa_pin(gsi));
}

void apicbus_watch_irq(struct apicbus *b, unsigned gsi, void (*fn)(void *opaque), void *opaque)
{
	if (gsi < IRQ_MAX_GSI)
		b->watch[gsi] = (struct apicbus_watch){ fn, opaque };
}

void apicbus_irq_changed(struct apicbus *b)
{
	for (unsigned i = 0; i < IRQ_MAX_GSI; i++)
		if (b->watch[i].fn)
			b->watch[i].fn(b->watch[i].opaque);
}

static void *apicbus_create(struct machine *m, const void *params)
{
	struct apicbus *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->m = m;
	irq_register_chip(m, &apicbus_chip_ops, b);
	return b;
}

static void apicbus_destroy(void *dev)
{
	struct apicbus *b = dev;
	if (apicbus_of(b->m) == b)
		irq_register_chip(b->m, NULL, NULL);
	free(b);
}

const struct device_desc apicbus_desc = {
	.name = "apicbus",
	.create = apicbus_create,
	.destroy = apicbus_destroy,
};
