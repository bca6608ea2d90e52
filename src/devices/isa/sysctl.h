/* sysctl: System Control Port A (0x92) and the PIIX reset control register (0xcf9). */
#ifndef LODGE_SYSCTL_H
#define LODGE_SYSCTL_H
#include "device.h"
extern const struct device_desc sysctl_desc;
#endif
