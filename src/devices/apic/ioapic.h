/*
 * ioapic: the Intel 82093AA I/O APIC at 0xfec00000, 24 pins. Only for
 * engines without in-kernel interrupt controllers.
 */
#ifndef LODGE_IOAPIC_H
#define LODGE_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define IOAPIC_BASE 0xfec00000ULL
#define IOAPIC_PINS 24

struct ioapic;

extern const struct device_desc ioapic_desc;

/* Device lock held. The asserted state of pin 0-23. */
void ioapic_set_pin(struct ioapic *io, unsigned pin, bool level);
/* Device lock held. A LAPIC EOI'd vector: clear Remote IRR of the level
 * pins that sent it, and send again those still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* Device lock held. True when pin is masked (an edge on it is lost). */
bool ioapic_pin_masked(const struct ioapic *io, unsigned pin);

#endif
