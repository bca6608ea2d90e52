/*
 * piix_ide: the IDE function of the Intel 82371SB PIIX3 (PCI 00:01.1,
 * 8086:7010): two IDE channels on the legacy ports and IRQs, and bus-master
 * DMA.
 */
#ifndef LODGE_PIIX_IDE_H
#define LODGE_PIIX_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "ide/ide.h"

#define PIIX_IDE_DRIVES 4               /* ide0..ide3 */

struct pci_bus;

struct piix_ide_params {
	struct pci_bus *bus;
	unsigned devfn;                 /* PCI_DEVFN(1, 1) on the PC */
	/* ide0 primary master, ide1 primary slave, ide2 secondary master,
	 * ide3 secondary slave. */
	struct ide_drive_params drive[PIIX_IDE_DRIVES];
};

extern const struct device_desc piix_ide_desc;

struct piix_ide;
/* The channel (0 primary, 1 secondary), to change a CD's medium. */
struct ide_channel *piix_ide_channel(struct piix_ide *p, unsigned index);

#endif
