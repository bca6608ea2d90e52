/*
 * pic: the two cascaded Intel 8259A interrupt controllers of a PC (ports
 * 0x20/0x21 master, 0xa0/0xa1 slave) and the PIIX edge/level control
 * registers (ELCR, ports 0x4d0/0x4d1). Only for engines without in-kernel
 * controllers.
 */
#ifndef LODGE_PIC_H
#define LODGE_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

struct pic;

extern const struct device_desc pic_desc;

/* Device lock held. Input level of ISA IRQ 0-15 (2 is the cascade). */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
/* Device lock held. The INTA cycle: returns the vector (the spurious IRQ7 or
 * IRQ15 vector when the request went away) and updates IRR/ISR. */
int pic_intack(struct pic *p);
/* Device lock held. The master's INTR output. */
bool pic_intr(const struct pic *p);
/* Device lock held. True when an edge on IRQ irq would change nothing: masked
 * and already latched in IRR. */
bool pic_irq_idle(const struct pic *p, unsigned irq);
/* Where INTR goes when the machine has no APIC bus (unit tests). */
void pic_set_output(struct pic *p, void (*fn)(void *opaque, bool level), void *opaque);

#endif
