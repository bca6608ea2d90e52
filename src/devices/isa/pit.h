/*
 * pit: Intel 8254 programmable interval timer (ports 0x40-0x43, counter 0
 * on IRQ0) and the PC's port 0x61 (counter 2 gate, speaker data, refresh
 * toggle, OUT2). Only for engines without an in-kernel PIT.
 */
#ifndef LODGE_PIT_H
#define LODGE_PIT_H

#include <stdbool.h>

#include "device.h"

struct pit;

extern const struct device_desc pit_desc;

/* Device lock held. The HPET's legacy replacement route takes IRQ0 away from
 * the PIT (IA-PC HPET 1.0a, 2.3.9.1 LEG_RT_CNF): false silences counter 0. */
void pit_set_irq_enabled(struct pit *p, bool enabled);

#endif
