/*
 * irq: interrupt lines from devices to whatever interrupt controllers the
 * engine uses.
 *
 * Devices raise Global System Interrupts: GSI 0-15 are the ISA IRQs (wired to
 * both the 8259 pair and I/O APIC pins 0-15, with ISA IRQ0 on pin 2 as every
 * PC firmware table declares), 16-23 are I/O APIC pins (PCI PIRQs). With KVM
 * the lines go to the in-kernel PIC/IOAPIC; with the software CPU they go to
 * our own 8259/IOAPIC models, which register themselves as the irqchip.
 *
 * Called with the device lock held.
 */
#ifndef LODGE_IRQ_H
#define LODGE_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

#define IRQ_MAX_GSI 24

struct irqchip_ops {
	void (*set_line)(void *opaque, unsigned gsi, int level);
	/* Message-signalled interrupt: a write of data to addr (0xfeeXXXXX). */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
};

/*
 * A device's output wired to a GSI. Several lines may share one GSI (COM1 and
 * COM3 on IRQ4, PCI INTx through PIRQ routing): the GSI is the OR of its
 * lines, and the controller sees only transitions of that OR.
 */
struct irq_line {
	struct machine *m;
	unsigned gsi;
	bool level;
};

void irq_line_init(struct irq_line *l, struct machine *m, unsigned gsi);
void irq_line_set(struct irq_line *l, bool level);
/* Edge-triggered sources: raise then lower. */
void irq_line_pulse(struct irq_line *l);

void irq_register_chip(struct machine *m, const struct irqchip_ops *ops, void *opaque);
/* The raw OR'ed level of a GSI into the controller; devices use irq_line. */
void irq_set(struct machine *m, unsigned gsi, int level);
void irq_msi(struct machine *m, uint64_t addr, uint32_t data);

#endif
