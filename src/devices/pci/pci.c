/*
 * pci: configuration space, BAR decoding, capabilities, INTx and MSI for
 * the functions on bus 0 (see pci.h for the contract).
 *
 * Specs: PCI Local Bus Specification 3.0, 6.1-6.2 (header), 6.2.5 (BARs and
 * the expansion ROM BAR), 6.7 (capabilities), 6.8.1 (MSI).
 *
 * Every configuration byte has a write mask (bits the guest may change) and a
 * write-one-to-clear mask; a write stores (old & ~wmask) | (new & wmask) and
 * then clears the w1c bits written as one. BAR sizing falls out of the masks:
 * the low bits of a BAR are not writable, so all ones reads back ~(size - 1)
 * plus the type bits. After every write that touches COMMAND or a BAR, each
 * BAR is decoded again and its iobus region added, moved or removed.
 */
#include "pci/pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"

#define PCI_NUM_PIRQS 4
#define PCI_NUM_SLOTS (PCI_NUM_BARS + 1)        /* six BARs and the ROM */
#define PCI_ROM_MIN 2048u
#define PCI_ROM_MAX (16u << 20)
#define PCI_IO_LIMIT 0xffffULL

#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

/* MSI capability layout (PCI 3.0, 6.8.1). */
#define MSI_CONTROL 2
#define  MSI_CONTROL_ENABLE 0x0001
#define  MSI_CONTROL_MMC_SHIFT 1
#define  MSI_CONTROL_MME_SHIFT 4
#define  MSI_CONTROL_MME_MASK 0x0070
#define  MSI_CONTROL_64BIT 0x0080
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8
#define MSI_DATA_64 12

struct pci_bar {
	struct pci_dev *dev;
	unsigned index;                 /* 0-5 or PCI_ROM_SLOT */
	enum pci_bar_type type;         /* PCI_BAR_MEM32 for the ROM */
	uint64_t size;
	uint64_t addr;                  /* decoded address or PCI_BAR_UNMAPPED */
	struct iobus_ops ops;           /* per BAR: max_access differs */
	struct iobus_region *region;
};

struct pci_dev {
	struct pci_bus *bus;
	char name[20];
	unsigned devfn;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];
	uint8_t w1cmask[PCI_CONFIG_SIZE];
	uint8_t header_init[PCI_HEADER_END];    /* power-on header */
	uint8_t cap_used[PCI_CONFIG_SIZE];      /* bytes owned by capabilities */
	unsigned cap_last;                      /* offset of the last capability */
	struct pci_bar bar[PCI_NUM_SLOTS];
	uint8_t *rom;                           /* ROM BAR contents, bar[6].size bytes */
	const struct pci_dev_ops *ops;
	void *opaque;
	bool intx_level;                        /* what the device drives */
	bool intx_out;                          /* what reaches the PIRQ */
	unsigned msi_cap;                       /* 0 = no MSI capability */
};

struct pci_bus {
	struct machine *m;
	struct pci_dev *devs[PCI_MAX_DEVFN];
	unsigned pirq_count[PCI_NUM_PIRQS];     /* asserted pins per PIRQ */
	pci_router_fn *router;
	void *router_opaque;
};

/* ---- little-endian config helpers -------------------------------------- */

uint8_t pci_config_get8(const struct pci_dev *d, unsigned off)
{
	return d->config[off & 0xff];
}

uint16_t pci_config_get16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(pci_config_get8(d, off) | pci_config_get8(d, off + 1) << 8);
}

uint32_t pci_config_get32(const struct pci_dev *d, unsigned off)
{
	return pci_config_get16(d, off) | (uint32_t)pci_config_get16(d, off + 2) << 16;
}

void pci_config_set8(struct pci_dev *d, unsigned off, uint8_t v)
{
	d->config[off & 0xff] = v;
}

void pci_config_set16(struct pci_dev *d, unsigned off, uint16_t v)
{
	pci_config_set8(d, off, (uint8_t)v);
	pci_config_set8(d, off + 1, (uint8_t)(v >> 8));
}

void pci_config_set32(struct pci_dev *d, unsigned off, uint32_t v)
{
	pci_config_set16(d, off, (uint16_t)v);
	pci_config_set16(d, off + 2, (uint16_t)(v >> 16));
}

static void pci_mask_set(uint8_t *mask, unsigned off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++)
		mask[off + i] = (uint8_t)(v >> (8 * i));
}

void pci_config_set_wmask(struct pci_dev *d, unsigned off, unsigned size, uint32_t mask)
{
	if (off < PCI_HEADER_END || size > 4) {
		log_err("pci", "%s: write mask at %#x is inside the standard header", d->name, off);
		return;
	}
	pci_mask_set(d->wmask, off, size, mask);
}

/* ---- bus --------------------------------------------------------------- */

struct pci_bus *pci_bus_create(struct machine *m)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	if (bus)
		bus->m = m;
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	free(bus);
}

struct machine *pci_bus_machine(const struct pci_bus *bus)
{
	return bus->m;
}

void pci_bus_set_router(struct pci_bus *bus, pci_router_fn *fn, void *opaque)
{
	bus->router = fn;
	bus->router_opaque = opaque;
}

bool pci_bus_pirq_level(const struct pci_bus *bus, unsigned pirq)
{
	return pirq < PCI_NUM_PIRQS && bus->pirq_count[pirq] > 0;
}

/* The PC's slot rotation: INTA# of slot 1 is PIRQA, of slot 2 PIRQB... */
unsigned pci_bus_pirq_of(unsigned slot, unsigned pin)
{
	return (pin - 1 + slot + PCI_NUM_PIRQS - 1) % PCI_NUM_PIRQS;
}

/* ---- INTx and MSI ------------------------------------------------------ */

bool pci_msi_enabled(const struct pci_dev *d)
{
	return d->msi_cap && (pci_config_get16(d, d->msi_cap + MSI_CONTROL) & MSI_CONTROL_ENABLE);
}

/* Recompute what the pin presents to its PIRQ and tell the router when the
 * PIRQ's OR changes. Device lock held. */
static void pci_intx_update(struct pci_dev *d)
{
	uint8_t pin = d->config[PCI_INTERRUPT_PIN];
	bool out = d->intx_level && pin >= 1 && pin <= 4 &&
		   !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
		   !pci_msi_enabled(d);
	if (out == d->intx_out)
		return;
	d->intx_out = out;
	struct pci_bus *bus = d->bus;
	unsigned pirq = pci_bus_pirq_of(PCI_SLOT(d->devfn), pin);
	unsigned before = bus->pirq_count[pirq];
	bus->pirq_count[pirq] = out ? before + 1 : before - 1;
	if ((before == 0) != (bus->pirq_count[pirq] == 0) && bus->router)
		bus->router(bus->router_opaque, pirq, bus->pirq_count[pirq] > 0);
}

void pci_set_irq(struct pci_dev *d, bool level)
{
	d->intx_level = level;
	pci_intx_update(d);
}

void pci_msi_notify(struct pci_dev *d, unsigned vector)
{
	if (!pci_msi_enabled(d))
		return;
	if (!pci_bus_master_enabled(d)) {
		log_guest(LOG_DEBUG, "pci", "%s: MSI dropped: bus mastering is off", d->name);
		return;
	}
	unsigned cap = d->msi_cap;
	uint16_t ctl = pci_config_get16(d, cap + MSI_CONTROL);
	bool is64 = ctl & MSI_CONTROL_64BIT;
	unsigned mmc = (ctl >> MSI_CONTROL_MMC_SHIFT) & 7;
	unsigned mme = (ctl & MSI_CONTROL_MME_MASK) >> MSI_CONTROL_MME_SHIFT;
	/* A function granted fewer vectors than it asked for folds its vector
	 * numbers into the low bits it was given (PCI 3.0, 6.8.3.4). */
	uint32_t nvec = 1u << (mme < mmc ? mme : mmc);
	uint64_t addr = pci_config_get32(d, cap + MSI_ADDR_LO);
	if (is64)
		addr |= (uint64_t)pci_config_get32(d, cap + MSI_ADDR_HI) << 32;
	uint32_t data = pci_config_get16(d, cap + (is64 ? MSI_DATA_64 : MSI_DATA_32));
	data = (data & ~(nvec - 1)) | (vector & (nvec - 1));
	irq_msi(d->bus->m, addr, data);
}

/* ---- BARs -------------------------------------------------------------- */

bool pci_bus_master_enabled(const struct pci_dev *d)
{
	return pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

unsigned pci_dev_devfn(const struct pci_dev *d)
{
	return d->devfn;
}

struct machine *pci_dev_machine(const struct pci_dev *d)
{
	return d->bus->m;
}

static unsigned pci_bar_reg(unsigned index)
{
	return index == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * index;
}

/*
 * Where the BAR decodes now, or PCI_BAR_UNMAPPED. An address of 0 and a
 * 32-bit range that reaches the last byte below 4 GiB count as unmapped: they
 * are what the registers hold at reset and during sizing (all ones written),
 * never a real assignment.
 */
static uint64_t pci_bar_decode(const struct pci_dev *d, const struct pci_bar *b)
{
	uint16_t cmd = pci_config_get16(d, PCI_COMMAND);
	uint32_t lo = pci_config_get32(d, pci_bar_reg(b->index));
	uint64_t addr, last;

	switch (b->type) {
	case PCI_BAR_IO:
		if (!(cmd & PCI_COMMAND_IO))
			return PCI_BAR_UNMAPPED;
		addr = lo & ~0x3u;
		last = addr + b->size - 1;
		return addr && last <= PCI_IO_LIMIT ? addr : PCI_BAR_UNMAPPED;
	case PCI_BAR_MEM32:
		if (!(cmd & PCI_COMMAND_MEMORY))
			return PCI_BAR_UNMAPPED;
		if (b->index == PCI_ROM_SLOT) {
			if (!(lo & PCI_ROM_ADDRESS_ENABLE))
				return PCI_BAR_UNMAPPED;
			addr = lo & ~0x7ffu;
		} else {
			addr = lo & ~0xfu;
		}
		last = addr + b->size - 1;
		return addr && last < UINT32_MAX ? addr : PCI_BAR_UNMAPPED;
	case PCI_BAR_MEM64:
		if (!(cmd & PCI_COMMAND_MEMORY))
			return PCI_BAR_UNMAPPED;
		addr = (lo & ~0xfu) | (uint64_t)pci_config_get32(d, pci_bar_reg(b->index) + 4) << 32;
		last = addr + b->size - 1;
		return addr && last > addr && last != UINT64_MAX ? addr : PCI_BAR_UNMAPPED;
	default:
		return PCI_BAR_UNMAPPED;
	}
}

uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar)
{
	return bar < PCI_NUM_SLOTS ? d->bar[bar].addr : PCI_BAR_UNMAPPED;
}

static uint64_t pci_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;
	if (b->index == PCI_ROM_SLOT)
		return iobus_load_le(d->rom + off, size);
	if (!d->ops || !d->ops->bar_read)
		return size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
	return d->ops->bar_read(d->opaque, b->index, off, size);
}

static void pci_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;
	if (b->index == PCI_ROM_SLOT) {
		log_guest(LOG_DEBUG, "pci", "%s: write to the expansion ROM ignored", d->name);
		return;
	}
	if (d->ops && d->ops->bar_write)
		d->ops->bar_write(d->opaque, b->index, off, size, v);
}

/* Bring one BAR's iobus region in line with its registers. Device lock held. */
static void pci_bar_update(struct pci_dev *d, struct pci_bar *b)
{
	uint64_t addr = pci_bar_decode(d, b);
	if (addr == b->addr)
		return;
	struct machine *m = d->bus->m;
	int rc = 0;
	if (addr == PCI_BAR_UNMAPPED) {
		iobus_remove(b->region);
		b->region = NULL;
	} else if (b->region) {
		rc = iobus_move(b->region, addr);
	} else {
		char name[32];
		snprintf(name, sizeof(name), "%s %s%u", d->name,
			 b->index == PCI_ROM_SLOT ? "rom" : "bar", b->index);
		rc = iobus_add(b->type == PCI_BAR_IO ? m->pio : m->mmio, name, addr, b->size,
			       &b->ops, b, 0, &b->region);
	}
	if (rc) {
		/* Two devices decoding one address is the guest's mistake; real
		 * hardware would return garbage, we keep the BAR off. */
		log_guest(LOG_DEBUG, "pci", "%s: BAR %u at %#llx clashes with another device; "
			  "it does not decode", d->name, b->index, (unsigned long long)addr);
		iobus_remove(b->region);
		b->region = NULL;
		addr = PCI_BAR_UNMAPPED;
		if (addr == b->addr)
			return;
	}
	b->addr = addr;
	if (d->ops && d->ops->bar_moved)
		d->ops->bar_moved(d->opaque, b->index, addr);
}

static void pci_bars_update(struct pci_dev *d)
{
	for (unsigned i = 0; i < PCI_NUM_SLOTS; i++)
		if (d->bar[i].type != PCI_BAR_NONE)
			pci_bar_update(d, &d->bar[i]);
}

/* ---- configuration cycles ---------------------------------------------- */

static bool pci_config_access_valid(unsigned off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && off < PCI_CONFIG_SIZE &&
	       (off & 3) + size <= 4;
}

static bool pci_slot_is_multifunction(const struct pci_bus *bus, unsigned slot)
{
	for (unsigned fn = 1; fn < 8; fn++)
		if (bus->devs[PCI_DEVFN(slot, fn)])
			return true;
	return false;
}

uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned devfn, unsigned off, unsigned size)
{
	uint32_t ones = size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
	if (!pci_config_access_valid(off, size) || devfn >= PCI_MAX_DEVFN)
		return ones;
	struct pci_dev *d = bus->devs[devfn];
	if (!d)
		return ones;
	uint8_t bytes[4];
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t v = d->config[o];
		if (o == PCI_STATUS)
			v = (uint8_t)((v & ~PCI_STATUS_INTERRUPT) |
				      (d->intx_level ? PCI_STATUS_INTERRUPT : 0));
		else if (o == PCI_HEADER_TYPE && PCI_FUNC(devfn) == 0 &&
			 pci_slot_is_multifunction(bus, PCI_SLOT(devfn)))
			v |= PCI_HEADER_TYPE_MULTI;
		bytes[i] = v;
	}
	uint32_t value = (uint32_t)iobus_load_le(bytes, size);
	if (d->ops && d->ops->config_read)
		value = d->ops->config_read(d->opaque, off, size, value) & ones;
	return value;
}

void pci_bus_config_write(struct pci_bus *bus, unsigned devfn, unsigned off, unsigned size,
			  uint32_t value)
{
	if (!pci_config_access_valid(off, size) || devfn >= PCI_MAX_DEVFN)
		return;
	struct pci_dev *d = bus->devs[devfn];
	if (!d)
		return;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		uint8_t v = (uint8_t)((d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]));
		d->config[o] = (uint8_t)(v & ~(b & d->w1cmask[o]));
	}
	if (pci_config_touches(off, size, PCI_COMMAND, 2) ||
	    pci_config_touches(off, size, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS) ||
	    pci_config_touches(off, size, PCI_ROM_ADDRESS, 4))
		pci_bars_update(d);
	if (pci_config_touches(off, size, PCI_COMMAND, 2) ||
	    (d->msi_cap && pci_config_touches(off, size, d->msi_cap + MSI_CONTROL, 2)))
		pci_intx_update(d);
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d->opaque, off, size, value);
}

/* ---- capabilities ------------------------------------------------------ */

int pci_add_capability(struct pci_dev *d, uint8_t id, unsigned off, unsigned size)
{
	if (off < PCI_HEADER_END || off % 4 || size < 2 || size > PCI_CONFIG_SIZE - off) {
		log_err("pci", "%s: capability %#x at %#x (%u bytes) does not fit", d->name, id,
			off, size);
		return -EINVAL;
	}
	for (unsigned i = 0; i < size; i++)
		if (d->cap_used[off + i]) {
			log_err("pci", "%s: capability %#x at %#x overlaps another", d->name, id, off);
			return -EEXIST;
		}
	memset(d->cap_used + off, 1, size);
	if (d->cap_last)
		d->config[d->cap_last + 1] = (uint8_t)off;
	else
		d->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->config[off] = id;
	d->config[off + 1] = 0;
	d->wmask[off] = d->wmask[off + 1] = 0;
	d->cap_last = off;
	pci_config_set16(d, PCI_STATUS, pci_config_get16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	memcpy(d->header_init, d->config, PCI_HEADER_END);
	return (int)off;
}

int pci_msi_init(struct pci_dev *d, unsigned off, unsigned nvectors, bool addr64)
{
	unsigned mmc = 0;
	while (mmc < 5 && (1u << mmc) < nvectors)
		mmc++;
	if (d->msi_cap || nvectors == 0 || (1u << mmc) != nvectors) {
		log_err("pci", "%s: bad MSI capability (%u vectors)", d->name, nvectors);
		return -EINVAL;
	}
	int rc = pci_add_capability(d, PCI_CAP_ID_MSI, off, addr64 ? 14 : 10);
	if (rc < 0)
		return rc;
	d->msi_cap = off;
	pci_config_set16(d, off + MSI_CONTROL,
			 (uint16_t)(mmc << MSI_CONTROL_MMC_SHIFT | (addr64 ? MSI_CONTROL_64BIT : 0)));
	pci_mask_set(d->wmask, off + MSI_CONTROL, 2, MSI_CONTROL_ENABLE | MSI_CONTROL_MME_MASK);
	pci_mask_set(d->wmask, off + MSI_ADDR_LO, 4, 0xfffffffc);
	if (addr64)
		pci_mask_set(d->wmask, off + MSI_ADDR_HI, 4, 0xffffffff);
	pci_mask_set(d->wmask, off + (addr64 ? MSI_DATA_64 : MSI_DATA_32), 2, 0xffff);
	return 0;
}

/* ---- registration ------------------------------------------------------ */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int pci_check_params(const struct pci_dev_params *p)
{
	if (p->devfn >= PCI_MAX_DEVFN || p->int_pin > 4 || !p->name)
		return -1;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *b = &p->bar[i];
		unsigned ma = b->max_access;
		if (ma != 0 && ma != 1 && ma != 2 && ma != 4 && ma != 8)
			return -1;
		switch (b->type) {
		case PCI_BAR_NONE:
			break;
		case PCI_BAR_IO:
			if (!is_pow2(b->size) || b->size < 4 || b->size > 256 || b->prefetchable)
				return -1;
			break;
		case PCI_BAR_MEM32:
			if (!is_pow2(b->size) || b->size < 16 || b->size > (1ULL << 31))
				return -1;
			break;
		case PCI_BAR_MEM64:
			if (!is_pow2(b->size) || b->size < 16 || b->size > (1ULL << 62) ||
			    i + 1 >= PCI_NUM_BARS || p->bar[i + 1].type != PCI_BAR_NONE)
				return -1;
			i++;            /* the next slot is the upper half */
			break;
		default:
			return -1;
		}
	}
	if (p->rom && (p->rom_size == 0 || p->rom_size > PCI_ROM_MAX))
		return -1;
	return 0;
}

static void pci_setup_bar(struct pci_dev *d, unsigned index, enum pci_bar_type type,
			  uint64_t size, bool prefetch, unsigned max_access)
{
	struct pci_bar *b = &d->bar[index];
	unsigned reg = pci_bar_reg(index);
	b->dev = d;
	b->index = index;
	b->type = type;
	b->size = size;
	b->addr = PCI_BAR_UNMAPPED;
	b->ops = (struct iobus_ops){ pci_bar_read, pci_bar_write, max_access ? max_access : 4 };
	uint32_t flags = 0;
	uint64_t wmask = ~(size - 1);
	switch (type) {
	case PCI_BAR_IO:
		flags = PCI_BASE_ADDRESS_SPACE_IO;
		wmask &= ~0x3ULL;
		break;
	case PCI_BAR_MEM64:
		flags = PCI_BASE_ADDRESS_MEM_TYPE_64;
		/* fall through */
	case PCI_BAR_MEM32:
		if (index == PCI_ROM_SLOT) {
			wmask = (wmask & ~0x7ffULL) | PCI_ROM_ADDRESS_ENABLE;
		} else {
			wmask &= ~0xfULL;
			flags |= prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
		}
		break;
	default:
		return;
	}
	pci_config_set32(d, reg, flags);
	pci_mask_set(d->wmask, reg, 4, wmask & 0xffffffffULL);
	if (type == PCI_BAR_MEM64)
		pci_mask_set(d->wmask, reg + 4, 4, wmask >> 32);
}

struct pci_dev *pci_register(struct pci_bus *bus, const struct pci_dev_params *p)
{
	if (pci_check_params(p)) {
		log_err("pci", "%s: invalid PCI function description (devfn, pin or BARs)",
			p->name ? p->name : "?");
		return NULL;
	}
	if (bus->devs[p->devfn]) {
		log_err("pci", "%s: slot %02x.%u is already taken by %s", p->name,
			PCI_SLOT(p->devfn), PCI_FUNC(p->devfn), bus->devs[p->devfn]->name);
		return NULL;
	}
	struct pci_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->bus = bus;
	d->devfn = p->devfn;
	d->ops = p->ops;
	d->opaque = p->opaque;
	snprintf(d->name, sizeof(d->name), "%s", p->name);

	pci_config_set16(d, PCI_VENDOR_ID, p->vendor_id);
	pci_config_set16(d, PCI_DEVICE_ID, p->device_id);
	pci_config_set16(d, PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
	pci_config_set8(d, PCI_REVISION_ID, p->revision);
	pci_config_set8(d, PCI_CLASS_PROG, (uint8_t)p->class_code);
	pci_config_set16(d, PCI_CLASS_DEVICE, (uint16_t)(p->class_code >> 8));
	pci_config_set16(d, PCI_SUBSYSTEM_VENDOR_ID, p->subsys_vendor_id);
	pci_config_set16(d, PCI_SUBSYSTEM_ID, p->subsys_id);
	pci_config_set8(d, PCI_INTERRUPT_PIN, p->int_pin);
	pci_mask_set(d->wmask, PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
	pci_mask_set(d->w1cmask, PCI_STATUS, 2, PCI_STATUS_ERRORS);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *b = &p->bar[i];
		if (b->type == PCI_BAR_NONE)
			continue;
		pci_setup_bar(d, i, b->type, b->size, b->prefetchable, b->max_access);
		if (b->type == PCI_BAR_MEM64)
			i++;
	}
	if (p->rom) {
		uint64_t size = PCI_ROM_MIN;
		while (size < p->rom_size)
			size <<= 1;
		d->rom = calloc(1, size);
		if (!d->rom) {
			free(d);
			return NULL;
		}
		memcpy(d->rom, p->rom, p->rom_size);
		pci_setup_bar(d, PCI_ROM_SLOT, PCI_BAR_MEM32, size, false, 8);
	}
	memcpy(d->header_init, d->config, PCI_HEADER_END);
	bus->devs[p->devfn] = d;
	return d;
}

void pci_dev_reset(struct pci_dev *d)
{
	memcpy(d->config, d->header_init, PCI_HEADER_END);
	if (d->msi_cap) {
		unsigned cap = d->msi_cap;
		uint16_t ctl = pci_config_get16(d, cap + MSI_CONTROL);
		pci_config_set16(d, cap + MSI_CONTROL,
				 ctl & ~(MSI_CONTROL_ENABLE | MSI_CONTROL_MME_MASK));
		for (unsigned o = MSI_ADDR_LO; o < (ctl & MSI_CONTROL_64BIT ? 14u : 10u); o++)
			d->config[cap + o] = 0;
	}
	pci_bars_update(d);
	d->intx_level = false;
	pci_intx_update(d);
}

void pci_unregister(struct pci_dev *d)
{
	if (!d)
		return;
	d->intx_level = false;
	pci_intx_update(d);
	for (unsigned i = 0; i < PCI_NUM_SLOTS; i++)
		iobus_remove(d->bar[i].region);
	d->bus->devs[d->devfn] = NULL;
	free(d->rom);
	free(d);
}
