/*
 * i8042: the PC keyboard controller (ports 0x60/0x64, IRQ 1 and 12) with the
 * PS/2 keyboard and mouse behind it.
 */
#ifndef LODGE_I8042_H
#define LODGE_I8042_H

#include <stdint.h>

#include "device.h"

extern const struct device_desc i8042_desc;

/* The controller's set-2 to set-1 translation of one byte (XLATE). */
uint8_t i8042_translate(uint8_t set2);

#endif
