/* debugexit: the test exit device at port 0xf4 (--debug-exit). */
#ifndef LODGE_DEBUGEXIT_H
#define LODGE_DEBUGEXIT_H
#include "device.h"
extern const struct device_desc debugexit_desc;
#endif
