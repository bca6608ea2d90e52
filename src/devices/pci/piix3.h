/*
 * piix3: the Intel 82371SB PIIX3 PCI-to-ISA bridge (function 0 of the
 * south bridge) and its PCI interrupt router (PIRQA-D at config 0x60-0x63).
 */
#ifndef LODGE_PIIX3_H
#define LODGE_PIIX3_H

#include "device.h"

struct pci_bus;

struct piix3_params {
	struct pci_bus *bus;
	unsigned devfn;                 /* PCI_DEVFN(1, 0) on the PC */
};

extern const struct device_desc piix3_desc;

#endif
