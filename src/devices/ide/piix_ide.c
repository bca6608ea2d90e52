/*
 * piix_ide: the IDE function of the Intel 82371SB PIIX3 (datasheet 290550:
 * IDE configuration registers, bus-master IDE I/O registers, the IDE
 * interface), in compatibility mode as SeaBIOS and Linux's ata_piix use
 * it: the primary channel at 0x1f0-0x1f7 and 0x3f6 on IRQ 14, the secondary
 * at 0x170-0x177 and 0x376 on IRQ 15, and the 16 bytes of bus-master
 * registers (channel 0 at 0, channel 1 at 8).
 *
 * Port 0x3f7/0x377 (the floppy controller's digital input register on a PC)
 * is not claimed.
 */
#include "ide/piix_ide.h"

#include <stdio.h>
#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"

#define PIIX_IDE_GSI_PRIMARY 14
#define PIIX_IDE_GSI_SECONDARY 15

static const struct {
	uint16_t cmd, ctl;
	unsigned gsi;
} piix_ide_legacy[2] = {
	{ 0x1f0, 0x3f6, PIIX_IDE_GSI_PRIMARY },
	{ 0x170, 0x376, PIIX_IDE_GSI_SECONDARY },
};

struct piix_ide {
	struct machine *m;
	struct ide_channel *ch[2];
	struct iobus_region *cmd_region[2], *ctl_region[2];
};

struct ide_channel *piix_ide_channel(struct piix_ide *p, unsigned index)
{
	return p->ch[index & 1];
}

uint64_t piix_ide_bm_read(struct piix_ide *p, unsigned offset, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (offset + i) & 15;
		v |= (uint64_t)ide_bm_read(p->ch[off >> 3], off & 7) << (8 * i);
	}
	return v;
}

void piix_ide_bm_write(struct piix_ide *p, unsigned offset, unsigned size, uint64_t value)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (offset + i) & 15;
		ide_bm_write(p->ch[off >> 3], off & 7, (uint8_t)(value >> (8 * i)));
	}
}

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
		ide_set_bus_master(p->ch[c], true);
	}
	return p;
fail:
	log_err("ide", "cannot create the IDE controller");
	piix_ide_destroy(p);
	return NULL;
}

static void piix_ide_reset(void *dev)
{
	struct piix_ide *p = dev;
	for (unsigned c = 0; c < 2; c++)
		ide_channel_reset(p->ch[c]);
}

const struct device_desc piix_ide_desc = {
	.name = "piix-ide",
	.create = piix_ide_create,
	.reset = piix_ide_reset,
	.destroy = piix_ide_destroy,
};
