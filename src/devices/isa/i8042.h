/* i8042: the PC keyboard controller (ports 0x60/0x64). */
#ifndef LODGE_I8042_H
#define LODGE_I8042_H
#include "device.h"
extern const struct device_desc i8042_desc;
#endif
