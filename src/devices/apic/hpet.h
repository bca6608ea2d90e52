/*
 * hpet: IA-PC High Precision Event Timer at 0xfed00000, three timers. Works
 * with every engine: it only raises GSIs and MSIs.
 */
#ifndef LODGE_HPET_H
#define LODGE_HPET_H

#include "device.h"

#define HPET_BASE 0xfed00000ULL

struct pit;

struct hpet_params {
	/* Our own 8254 if the machine has one (not with KVM's in-kernel PIT):
	 * the legacy replacement route silences it. May be NULL. */
	struct pit *pit;
};

extern const struct device_desc hpet_desc;

#endif
