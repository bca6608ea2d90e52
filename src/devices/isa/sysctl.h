/* sysctl: System Control Port A (0x92: fast A20 and CPU reset). */
#ifndef LODGE_SYSCTL_H
#define LODGE_SYSCTL_H
#include "device.h"
extern const struct device_desc sysctl_desc;
#endif
