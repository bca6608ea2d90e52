/*
 * irq: route device interrupt lines to the registered interrupt controller
 * (see irq.h). With an engine that has in-kernel controllers, the engine's
 * irq_line is the controller.
 */
#include "irq.h"

#include "log.h"
#include "machine.h"

void irq_register_chip(struct machine *m, const struct irqchip_ops *ops, void *opaque)
{
	m->irqchip = ops;
	m->irqchip_opaque = opaque;
}

void irq_set(struct machine *m, unsigned gsi, int level)
{
	if (gsi >= IRQ_MAX_GSI) {
		log_guest(LOG_WARN, "irq", "interrupt line %u does not exist", gsi);
		return;
	}
	if (m->accel && m->accel->has_irqchip)
		m->accel->irq_line(m, gsi, level);
	else if (m->irqchip)
		m->irqchip->set_line(m->irqchip_opaque, gsi, level);
}

void irq_line_init(struct irq_line *l, struct machine *m, unsigned gsi)
{
	l->m = m;
	l->gsi = gsi < IRQ_MAX_GSI ? gsi : 0;
	l->level = false;
}

/* Device lock held (it also protects the per-GSI counts). */
void irq_line_set(struct irq_line *l, bool level)
{
	if (l->level == level || !l->m)
		return;
	l->level = level;
	unsigned *count = &l->m->irq_count[l->gsi];
	if (level) {
		if ((*count)++ == 0)
			irq_set(l->m, l->gsi, 1);
	} else {
		if (--(*count) == 0)
			irq_set(l->m, l->gsi, 0);
	}
}

void irq_line_pulse(struct irq_line *l)
{
	irq_line_set(l, true);
	irq_line_set(l, false);
}

void irq_msi(struct machine *m, uint64_t addr, uint32_t data)
{
	if (m->accel && m->accel->has_irqchip && m->accel->msi)
		m->accel->msi(m, addr, data);
	else if (m->irqchip && m->irqchip->msi)
		m->irqchip->msi(m->irqchip_opaque, addr, data);
}
