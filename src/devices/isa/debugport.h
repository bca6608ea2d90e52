/* debugport: POST port 0x80 and the 0x402/0xe9 debug console. */
#ifndef LODGE_DEBUGPORT_H
#define LODGE_DEBUGPORT_H
#include "device.h"
extern const struct device_desc debugport_desc;
#endif
