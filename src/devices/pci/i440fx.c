/*
 * i440fx: Intel 82441FX PCI and Memory Controller (PMC), the PC's host
 * bridge at 00:00.0, plus the configuration ports it decodes.
 *
 * References: Intel 440FX PCIset datasheet (82441FX PMC / 82442FX DBX),
 * 3.1 (I/O registers CONFADD 0xcf8, CONFDATA 0xcfc), 3.2 (PCI configuration
 * registers: PAM0-6 at 0x59-0x5f, SMRAM at 0x72); PCI Local Bus
 * Specification 3.0, 3.2.2.3.2 (configuration mechanism #1); Intel 82371SB
 * PIIX3 datasheet 2.4.1 (Reset Control Register, I/O port 0xcf9).
 *
 * Ports 0xcf8-0xcff: CONFIG_ADDRESS is latched only by a dword access to
 * 0xcf8; byte and word accesses there are ordinary I/O. The PIIX's reset
 * control register lives at 0xcf9, inside that dword, so both are decoded
 * here: a byte at 0xcf9 is the reset register, a dword at 0xcf8 the address.
 * 0xcfc-0xcff forward byte, word and dword accesses to the function
 * CONFIG_ADDRESS selects (bus 0 only; other buses have no devices).
 *
 * PAM and shadowing. The PAM registers choose, per 16 KiB of 0xc0000-0xfffff,
 * whether reads and writes go to DRAM or to the ISA/ROM side. Lodge keeps
 * that whole area as RAM all the time and puts a fresh copy of the BIOS image
 * there at every reset (src/boot/firmware.c), which is what the firmware
 * would see after "copy ROM to shadow RAM" on real hardware. So the PAM
 * registers are storage: SeaBIOS's unlock-and-copy at POST is harmless, and
 * its write-protect at the end of POST is not enforced — the BIOS area stays
 * writable. A KVM memory slot cannot be made partly read-only without
 * splitting RAM at run time, and no OS depends on a read-only BIOS shadow
 * (only DOS memory managers probing for upper memory could tell).
 *
 * SMRAM (0x72) follows the register rules (C_BASE_SEG fixed at 010b, D_LCK
 * freezes the register until reset) but SMRAM itself is never mapped: Lodge
 * has no System Management Mode, so the 0xa0000 window stays closed.
 */
#include "pci/i440fx.h"

#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"
#include "pci/pci.h"

#define I440FX_VENDOR 0x8086
#define I440FX_DEVICE 0x1237
#define I440FX_REVISION 0x02
#define PCI_CLASS_HOST_BRIDGE 0x060000

#define CONFIG_PORTS 0xcf8
#define CONFIG_ADDRESS_ENABLE 0x80000000u
#define CONFIG_ADDRESS_MASK 0x80fffffcu         /* reserved bits and 1:0 read 0 */
#define RCR_OFFSET 1                            /* 0xcf9 */
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04

#define I440FX_PAM0 0x59
#define I440FX_PAM_LAST 0x5f
#define I440FX_SMRAM 0x72
#define  SMRAM_D_OPEN 0x40
#define  SMRAM_D_CLS 0x20
#define  SMRAM_D_LCK 0x10
#define  SMRAM_G_SMRAME 0x08
#define  SMRAM_C_BASE_SEG 0x02          /* 0xa0000, hard-wired */

struct i440fx {
	struct machine *m;
	struct pci_bus *bus;
	struct pci_dev *pci;
	uint32_t config_address;
	uint8_t rcr;
	struct iobus_region *ports;
};

struct pci_bus *i440fx_bus(void *host)
{
	struct i440fx *h = host;
	return h->bus;
}

/* Returns the PCI function and register CONFIG_ADDRESS selects, or false. */
static bool i440fx_selected(const struct i440fx *h, unsigned *devfn, unsigned *reg)
{
	uint32_t a = h->config_address;
	if (!(a & CONFIG_ADDRESS_ENABLE) || ((a >> 16) & 0xff) != 0)
		return false;
	*devfn = (a >> 8) & 0xff;
	*reg = a & 0xfc;
	return true;
}

static uint8_t i440fx_read_low_byte(struct i440fx *h, uint64_t off)
{
	return off == RCR_OFFSET ? h->rcr : 0xff;
}

static void i440fx_write_rcr(struct i440fx *h, uint8_t v)
{
	h->rcr = v & RCR_SYS_RST;
	if (v & RCR_RST_CPU) {
		log_debug("pci", "reset through port 0xcf9");
		machine_request_reset(h->m);
	}
}

/* vCPU thread, device lock held. */
static uint64_t i440fx_port_read(void *opaque, uint64_t off, unsigned size)
{
	struct i440fx *h = opaque;
	if (off == 0 && size == 4)
		return h->config_address;
	if (off < 4) {
		/* Not a dword at 0xcf8: plain I/O cycles, byte by byte. */
		uint64_t v = 0;
		for (unsigned i = 0; i < size; i++) {
			uint64_t b = off + i < 4 ? i440fx_read_low_byte(h, off + i)
						 : i440fx_port_read(h, off + i, 1);
			v |= b << (8 * i);
		}
		return v;
	}
	unsigned devfn, reg;
	if (!i440fx_selected(h, &devfn, &reg))
		return (1ULL << (8 * size)) - 1;
	return pci_bus_config_read(h->bus, devfn, reg + (unsigned)(off - 4), size);
}

static void i440fx_port_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct i440fx *h = opaque;
	if (off == 0 && size == 4) {
		h->config_address = (uint32_t)v & CONFIG_ADDRESS_MASK;
		return;
	}
	if (off < 4) {
		for (unsigned i = 0; i < size; i++) {
			uint8_t b = (uint8_t)(v >> (8 * i));
			if (off + i == RCR_OFFSET)
				i440fx_write_rcr(h, b);
			else if (off + i >= 4)
				i440fx_port_write(h, off + i, 1, b);
		}
		return;
	}
	unsigned devfn, reg;
	if (i440fx_selected(h, &devfn, &reg))
		pci_bus_config_write(h->bus, devfn, reg + (unsigned)(off - 4), size, (uint32_t)v);
}

static const struct iobus_ops i440fx_port_ops = { i440fx_port_read, i440fx_port_write, 4 };

/* SMRAM: once D_LCK is set only D_CLS stays writable (datasheet 3.2.27). */
static void i440fx_config_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct i440fx *h = opaque;
	if (!pci_config_touches(off, size, I440FX_SMRAM, 1))
		return;
	uint8_t smram = pci_config_get8(h->pci, I440FX_SMRAM);
	if (smram & SMRAM_D_LCK) {
		smram &= ~SMRAM_D_OPEN;
		pci_config_set_wmask(h->pci, I440FX_SMRAM, 1, SMRAM_D_CLS);
	}
	pci_config_set8(h->pci, I440FX_SMRAM, (uint8_t)((smram & ~0x07) | SMRAM_C_BASE_SEG));
}

static const struct pci_dev_ops i440fx_pci_ops = {
	.config_write = i440fx_config_write,
};

static void i440fx_reset(void *dev)
{
	struct i440fx *h = dev;
	h->config_address = 0;
	h->rcr = 0;
	pci_dev_reset(h->pci);
	/* Power-on values (datasheet 3.2): PAM all "DRAM disabled", SMRAM closed. */
	for (unsigned r = I440FX_PAM0; r <= I440FX_PAM_LAST; r++)
		pci_config_set8(h->pci, r, 0);
	pci_config_set8(h->pci, I440FX_SMRAM, SMRAM_C_BASE_SEG);
	pci_config_set_wmask(h->pci, I440FX_SMRAM, 1,
			     SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME);
}

static void i440fx_destroy(void *dev)
{
	struct i440fx *h = dev;
	iobus_remove(h->ports);
	pci_unregister(h->pci);
	pci_bus_destroy(h->bus);
	free(h);
}

static void *i440fx_create(struct machine *m, const void *params)
{
	struct i440fx *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->bus = pci_bus_create(m);
	if (!h->bus)
		goto fail;
	const struct pci_dev_params p = {
		.name = "i440fx",
		.devfn = PCI_DEVFN(0, 0),
		.vendor_id = I440FX_VENDOR,
		.device_id = I440FX_DEVICE,
		.subsys_vendor_id = PCI_SUBVENDOR_QEMU,
		.subsys_id = PCI_SUBDEVICE_QEMU,
		.revision = I440FX_REVISION,
		.class_code = PCI_CLASS_HOST_BRIDGE,
		.ops = &i440fx_pci_ops,
		.opaque = h,
	};
	h->pci = pci_register(h->bus, &p);
	if (!h->pci)
		goto fail;
	/* DRAM control, PAM, DRB and error registers are plain storage; PAM0's
	 * low nibble and the reserved PAM bits stay zero. */
	pci_config_set_wmask(h->pci, 0x50, 4, 0xffffffff);
	pci_config_set_wmask(h->pci, 0x54, 4, 0xffffffff);
	pci_config_set_wmask(h->pci, 0x58, 1, 0xff);
	pci_config_set_wmask(h->pci, I440FX_PAM0, 1, 0x30);
	for (unsigned r = I440FX_PAM0 + 1; r <= I440FX_PAM_LAST; r++)
		pci_config_set_wmask(h->pci, r, 1, 0x33);
	pci_config_set_wmask(h->pci, 0x60, 4, 0xffffffff);
	pci_config_set_wmask(h->pci, 0x64, 4, 0xffffffff);
	pci_config_set_wmask(h->pci, 0x68, 1, 0xff);
	pci_config_set_wmask(h->pci, 0x70, 2, 0xffff);
	pci_config_set_wmask(h->pci, 0x90, 4, 0xffffffff);
	if (iobus_add(m->pio, "pci-config", CONFIG_PORTS, 8, &i440fx_port_ops, h, 0, &h->ports))
		goto fail;
	i440fx_reset(h);
	return h;
fail:
	log_err("pci", "cannot create the i440FX host bridge");
	if (h->pci)
		pci_unregister(h->pci);
	pci_bus_destroy(h->bus);
	free(h);
	return NULL;
}

const struct device_desc i440fx_desc = {
	.name = "i440fx",
	.create = i440fx_create,
	.reset = i440fx_reset,
	.destroy = i440fx_destroy,
};
