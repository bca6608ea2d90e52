/*
 * piix_ide: the IDE function of the Intel 82371SB PIIX3 (datasheet 290550:
 * IDE configuration registers, bus-master IDE I/O registers, the IDE
 * interface) at PCI 00:01.1, 8086:7010, class 0101h with prog-if 80h:
 * both channels in compatibility mode, bus-master capable.
 *
 *   primary    0x1f0-0x1f7, 0x3f6    IRQ 14
 *   secondary  0x170-0x177, 0x376    IRQ 15
 *   BAR4       16 bytes of bus-master registers, channel 0 at 0, 1 at 8
 *
 * The legacy ports decode while COMMAND.IO is set and the channel's IDETIM
 * register (0x40 primary, 0x42 secondary) has its decode enable, bit 15.
 * The datasheet resets IDETIM to 0 and leaves the enable to firmware
 * (SeaBIOS writes 8000h); we reset it to 8000h, the value firmware leaves,
 * because Lodge also starts kernels without firmware and Linux's ata_piix
 * ignores a channel whose enable bit is clear. The timing fields of IDETIM
 * and SIDETIM (0x44) are storage: there is no cable to time.
 * Bus-master transfers run only while COMMAND.MASTER is set.
 *
 * Port 0x3f7/0x377 (the floppy controller's digital input register on a PC)
 * is not claimed. The function has no INTx pin: compatibility-mode channels
 * use the ISA IRQs.
 */
#include "ide/piix_ide.h"

#include <stdio.h>
#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"
#include "pci/pci.h"

#define PIIX_IDE_DEVICE_ID 0x7010
#define PIIX_IDE_CLASS 0x010180         /* IDE, compatibility mode, bus master */
#define PIIX_IDE_BM_BAR 4
#define PIIX_IDETIM 0x40                /* primary; secondary at 0x42 */
#define PIIX_IDETIM_IDE 0x8000          /* decode enable */
#define PIIX_SIDETIM 0x44

static const struct {
	uint16_t cmd, ctl;
	unsigned gsi;
} piix_ide_legacy[2] = {
	{ 0x1f0, 0x3f6, 14 },
	{ 0x170, 0x376, 15 },
};

struct piix_ide {
	struct machine *m;
	struct pci_dev *pci;
	struct ide_channel *ch[2];
	struct iobus_region *cmd_region[2], *ctl_region[2];
};

struct ide_channel *piix_ide_channel(struct piix_ide *p, unsigned index)
{
	return p->ch[index & 1];
}

/* Bus-master block (BAR4): channel 0 at 0, channel 1 at 8. */
static uint64_t piix_ide_bm_read(struct piix_ide *p, unsigned offset, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (offset + i) & 15;
		v |= (uint64_t)ide_bm_read(p->ch[off >> 3], off & 7) << (8 * i);
	}
	return v;
}

static void piix_ide_bm_write(struct piix_ide *p, unsigned offset, unsigned size,
			      uint64_t value)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (offset + i) & 15;
		ide_bm_write(p->ch[off >> 3], off & 7, (uint8_t)(value >> (8 * i)));
	}
}

static uint64_t piix_ide_bar_read(void *dev, unsigned bar, uint64_t off, unsigned size)
{
	return piix_ide_bm_read(dev, (unsigned)off, size);
}

static void piix_ide_bar_write(void *dev, unsigned bar, uint64_t off, unsigned size,
			       uint64_t value)
{
	piix_ide_bm_write(dev, (unsigned)off, size, value);
}

/* COMMAND and IDETIM decide what the channels decode and whether they may
 * master the bus. */
static void piix_ide_update(struct piix_ide *p)
{
	uint16_t cmd = pci_config_get16(p->pci, PCI_COMMAND);
	for (unsigned c = 0; c < 2; c++) {
		uint16_t idetim = pci_config_get16(p->pci, PIIX_IDETIM + 2 * c);
		ide_set_decode(p->ch[c], (cmd & PCI_COMMAND_IO) && (idetim & PIIX_IDETIM_IDE));
		ide_set_bus_master(p->ch[c], cmd & PCI_COMMAND_MASTER);
	}
}

static void piix_ide_config_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	if (pci_config_touches(off, size, PCI_COMMAND, 2) ||
	    pci_config_touches(off, size, PIIX_IDETIM, 4))
		piix_ide_update(dev);
}

static const struct pci_dev_ops piix_ide_pci_ops = {
	.bar_read = piix_ide_bar_read,
	.bar_write = piix_ide_bar_write,
	.config_write = piix_ide_config_write,
};

static void piix_ide_destroy(void *dev)
{
	struct piix_ide *p = dev;
	for (unsigned c = 0; c < 2; c++) {
		machine_lock(p->m);
		iobus_remove(p->cmd_region[c]);
		iobus_remove(p->ctl_region[c]);
		machine_unlock(p->m);
		ide_channel_destroy(p->ch[c]);
	}
	if (p->pci)
		pci_unregister(p->pci);
	free(p);
}

static void *piix_ide_create(struct machine *m, const void *params)
{
	const struct piix_ide_params *pp = params;
	struct piix_ide *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->m = m;
	for (unsigned c = 0; c < 2; c++) {
		char name[16];
		p->ch[c] = ide_channel_create(m, c, piix_ide_legacy[c].gsi, &pp->drive[2 * c]);
		if (!p->ch[c])
			goto fail;
		snprintf(name, sizeof(name), "ide%u-cmd", c);
		if (iobus_add(m->pio, name, piix_ide_legacy[c].cmd, 8, &ide_cmd_ops, p->ch[c], 0,
			      &p->cmd_region[c]))
			goto fail;
		snprintf(name, sizeof(name), "ide%u-ctl", c);
		if (iobus_add(m->pio, name, piix_ide_legacy[c].ctl, 1, &ide_ctl_ops, p->ch[c], 0,
			      &p->ctl_region[c]))
			goto fail;
	}
	const struct pci_dev_params pci = {
		.name = "piix-ide",
		.devfn = pp->devfn,
		.vendor_id = 0x8086,
		.device_id = PIIX_IDE_DEVICE_ID,
		.class_code = PIIX_IDE_CLASS,
		.bar[PIIX_IDE_BM_BAR] = { .type = PCI_BAR_IO, .size = 16, .max_access = 4 },
		.ops = &piix_ide_pci_ops,
		.opaque = p,
	};
	p->pci = pci_register(pp->bus, &pci);
	if (!p->pci)
		goto fail;
	pci_config_set_wmask(p->pci, PIIX_IDETIM, 4, 0xffffffff);
	pci_config_set_wmask(p->pci, PIIX_SIDETIM, 1, 0xff);
	return p;
fail:
	log_err("ide", "cannot create the IDE controller");
	piix_ide_destroy(p);
	return NULL;
}

/* Power-on state; device lock held, vCPUs paused. */
static void piix_ide_reset(void *dev)
{
	struct piix_ide *p = dev;
	pci_dev_reset(p->pci);
	pci_config_set16(p->pci, PIIX_IDETIM, PIIX_IDETIM_IDE);
	pci_config_set16(p->pci, PIIX_IDETIM + 2, PIIX_IDETIM_IDE);
	pci_config_set8(p->pci, PIIX_SIDETIM, 0);
	for (unsigned c = 0; c < 2; c++)
		ide_channel_reset(p->ch[c]);
	piix_ide_update(p);
}

const struct device_desc piix_ide_desc = {
	.name = "piix-ide",
	.create = piix_ide_create,
	.reset = piix_ide_reset,
	.destroy = piix_ide_destroy,
};
