/*
 * i440fx: the Intel 82441FX PCI and memory controller — host bridge 00:00.0,
 * owner of PCI bus 0 and of configuration mechanism #1 (ports 0xcf8-0xcff,
 * with the PIIX reset control register at 0xcf9).
 */
#ifndef LODGE_I440FX_H
#define LODGE_I440FX_H

#include "device.h"

struct pci_bus;

/* Created first among the PCI devices; params unused (NULL). */
extern const struct device_desc i440fx_desc;

/* The bus the board hands to every other PCI function. */
struct pci_bus *i440fx_bus(void *host);

#endif
