/*
 * pci: bus 0 of the PC and the interface every PCI function is built on.
 *
 * Specs: PCI Local Bus Specification 3.0 — 3.2.2.3.2 (configuration
 * mechanism #1), 6.1-6.2 (type 0 configuration header), 6.2.5.1 (base
 * address registers), 6.2.5.2 (expansion ROM base address), 6.7 (capability
 * list), 6.8.1 (MSI capability); 2.2.6 and the PCI-to-PCI Bridge
 * Architecture Specification 1.2, 9.1 (INTx "swizzle" across slots).
 *
 * Who owns what
 * -------------
 * The core owns each function's 256-byte configuration space. A device
 * declares its identity, its BARs and an optional expansion ROM in a
 * struct pci_dev_params and calls pci_register(); from then on the core
 *  - answers configuration reads and writes, keeping read-only bits read-only
 *    through a per-byte write mask (and write-one-to-clear mask for STATUS);
 *  - sizes BARs (a BAR reads back ~(size-1) | type bits after the guest
 *    writes all ones), decodes them while COMMAND.IO / COMMAND.MEMORY is set,
 *    and moves their iobus regions when the guest reprograms them; accesses
 *    reach the device as bar_read/bar_write(dev, bar, offset, size[, value])
 *    with an offset into the BAR, never an absolute address;
 *  - serves the expansion ROM image itself (SeaBIOS copies option ROMs out
 *    of the ROM BAR while bit 0 and COMMAND.MEMORY are set);
 *  - links capabilities into the list at 0x34 and runs the MSI capability;
 *  - turns INTx levels into PIRQ levels (see "Interrupts").
 * A device keeps its own registers above 0x40 (and any it chooses to
 * intercept) through config_read/config_write hooks, and marks which of
 * those bits the guest may change with pci_config_set_wmask().
 *
 * Interrupts
 * ----------
 * pci_set_irq(dev, level) drives the function's INTx# pin (the one named in
 * params.int_pin). The board wires pin p of slot s to PIRQ[(p - 1 + s - 1) & 3]
 * — the i440FX/PIIX rotation QEMU's PC uses and SeaBIOS's $PIR, MP and ACPI
 * _PRT tables describe. Several functions on one PIRQ are OR'ed; the router
 * (the PIIX3 ISA bridge, pci_bus_set_router()) sees only changes of that OR
 * and forwards it to the ISA IRQ its PIRQ register selects. INTx is masked
 * while COMMAND.INTX_DISABLE is set or MSI is enabled, and STATUS.INTERRUPT
 * reads back the pin. MSI: pci_msi_init() adds the capability, and
 * pci_msi_notify(dev, vector) sends the message the guest programmed
 * (nothing while MSI is disabled or bus mastering is off).
 *
 * A device's life
 * ---------------
 *   create:  d = pci_register(bus, &params)   (params.opaque = the device)
 *   reset:   pci_dev_reset(d), then the device's own register defaults
 *   destroy: pci_unregister(d)
 * pci_dev_reset() puts the standard header (0x00-0x3f) back to power-on
 * state (BARs unmapped, COMMAND 0, INTx low) and turns MSI off; registers
 * above 0x40 are the device's to reset.
 *
 * Threads and locks: everything here runs with the machine's device lock
 * held — configuration cycles and BAR accesses come from bus handlers,
 * create/destroy run before vCPUs start or after they stop. bar_read,
 * bar_write and the config hooks are called with that lock held; they may
 * call back into the core (pci_set_irq, pci_config_get/set...).
 */
#ifndef LODGE_PCI_H
#define LODGE_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct pci_bus;
struct pci_dev;

#define PCI_DEVFN(slot, fn) ((unsigned)(((slot) << 3) | (fn)))
#define PCI_SLOT(devfn) ((unsigned)(devfn) >> 3)
#define PCI_FUNC(devfn) ((unsigned)(devfn) & 7)
#define PCI_MAX_DEVFN 256

#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_ROM_SLOT 6                  /* bar index of the expansion ROM */
#define PCI_BAR_UNMAPPED UINT64_MAX

/* Type 0 configuration header (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define  PCI_COMMAND_IO 0x0001
#define  PCI_COMMAND_MEMORY 0x0002
#define  PCI_COMMAND_MASTER 0x0004
#define  PCI_COMMAND_PARITY 0x0040
#define  PCI_COMMAND_SERR 0x0100
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS 0x06
#define  PCI_STATUS_INTERRUPT 0x0008
#define  PCI_STATUS_CAP_LIST 0x0010
#define  PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define  PCI_STATUS_ERRORS 0xf900       /* the write-one-to-clear error bits */
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define  PCI_HEADER_TYPE_MULTI 0x80
#define PCI_BASE_ADDRESS_0 0x10
#define  PCI_BASE_ADDRESS_SPACE_IO 0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define  PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define  PCI_ROM_ADDRESS_ENABLE 0x01
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_HEADER_END 0x40             /* device-specific registers start here */

#define PCI_CAP_ID_PM 0x01
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09

/* QEMU's subsystem IDs; SeaBIOS checks them on the host bridge (PF_QEMU). */
#define PCI_SUBVENDOR_QEMU 0x1af4
#define PCI_SUBDEVICE_QEMU 0x1100

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,                     /* I/O space, 4..256 bytes */
	PCI_BAR_MEM32,                  /* memory below 4 GiB, >= 16 bytes */
	PCI_BAR_MEM64,                  /* 64-bit memory; uses this slot and the next */
};

struct pci_bar_desc {
	enum pci_bar_type type;
	uint64_t size;                  /* a power of two */
	bool prefetchable;              /* memory BARs only */
	/* Widest access bar_read/bar_write decode (1, 2, 4 or 8); 0 means 4.
	 * Wider guest accesses are split by the bus, see iobus.h. */
	unsigned max_access;
};

struct pci_dev_ops {
	/* Accesses to BAR bar (0-5) at offset; size 1..max_access. NULL reads
	 * all ones and drops writes. */
	uint64_t (*bar_read)(void *dev, unsigned bar, uint64_t offset, unsigned size);
	void (*bar_write)(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t value);
	/* Called for every configuration read with the value the core would
	 * return (size 1, 2 or 4, naturally aligned); returns what the guest sees. */
	uint32_t (*config_read)(void *dev, unsigned offset, unsigned size, uint32_t value);
	/* Called after the core stored a configuration write (masked by the
	 * write masks) and updated BAR decoding; value is what the guest wrote. */
	void (*config_write)(void *dev, unsigned offset, unsigned size, uint32_t value);
	/* A BAR (0-5, or PCI_ROM_SLOT) started or stopped decoding at addr
	 * (PCI_BAR_UNMAPPED when it stopped). Optional. */
	void (*bar_moved)(void *dev, unsigned bar, uint64_t addr);
};

struct pci_dev_params {
	const char *name;               /* short, for logs and region names */
	unsigned devfn;                 /* PCI_DEVFN(slot, function) on bus 0 */
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	uint8_t revision;
	uint32_t class_code;            /* class << 16 | subclass << 8 | prog-if */
	uint8_t int_pin;                /* 0 = none, 1..4 = INTA#..INTD# */
	struct pci_bar_desc bar[PCI_NUM_BARS];
	/* Expansion ROM image (copied); its BAR is the image size rounded up to
	 * a power of two, at least 2 KiB. NULL for none. */
	const void *rom;
	size_t rom_size;
	const struct pci_dev_ops *ops;
	void *opaque;                   /* first argument of every ops call */
};

/* ---- the bus (owned by the host bridge) -------------------------------- */

/* Main thread, at board build. */
struct pci_bus *pci_bus_create(struct machine *m);
/* After every function was unregistered. */
void pci_bus_destroy(struct pci_bus *bus);
struct machine *pci_bus_machine(const struct pci_bus *bus);

/* Configuration cycle to devfn on bus 0 (the host bridge turns mechanism #1
 * port accesses into these). offset + size must not cross a dword; absent
 * functions read all ones and ignore writes. */
uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned devfn, unsigned offset,
			     unsigned size);
void pci_bus_config_write(struct pci_bus *bus, unsigned devfn, unsigned offset,
			  unsigned size, uint32_t value);

/* The PIRQ router: called when the OR of the INTx pins wired to PIRQ pirq
 * (0-3 = A-D) changes. */
typedef void pci_router_fn(void *opaque, unsigned pirq, bool level);
void pci_bus_set_router(struct pci_bus *bus, pci_router_fn *fn, void *opaque);
/* Current OR level of a PIRQ (the router re-reads it when rerouting). */
bool pci_bus_pirq_level(const struct pci_bus *bus, unsigned pirq);
/* Which PIRQ (0-3) INTx pin (1-4) of slot is wired to on this board. */
unsigned pci_bus_pirq_of(unsigned slot, unsigned pin);

/* ---- functions --------------------------------------------------------- */

/* Main thread, before vCPUs run. NULL after logging why (a clash of devfn, a
 * malformed BAR list: these are programming errors in the board). */
struct pci_dev *pci_register(struct pci_bus *bus, const struct pci_dev_params *p);
void pci_unregister(struct pci_dev *d);
/* Power-on state of the standard header and MSI; see "A device's life". */
void pci_dev_reset(struct pci_dev *d);

/* Device-side access to its own configuration space: no write masks, no
 * side effects. Offsets wrap inside the 256 bytes. */
uint8_t pci_config_get8(const struct pci_dev *d, unsigned offset);
uint16_t pci_config_get16(const struct pci_dev *d, unsigned offset);
uint32_t pci_config_get32(const struct pci_dev *d, unsigned offset);
void pci_config_set8(struct pci_dev *d, unsigned offset, uint8_t value);
void pci_config_set16(struct pci_dev *d, unsigned offset, uint16_t value);
void pci_config_set32(struct pci_dev *d, unsigned offset, uint32_t value);
/* Which bits of the size bytes at offset (>= 0x40) the guest may write
 * (mask little-endian, like the register). */
void pci_config_set_wmask(struct pci_dev *d, unsigned offset, unsigned size, uint32_t mask);
/* True if a config access [offset, offset+size) touches [reg, reg+len). */
static inline bool pci_config_touches(unsigned offset, unsigned size, unsigned reg,
				      unsigned len)
{
	return offset < reg + len && reg < offset + size;
}

/* Add a capability at offset (dword aligned, >= 0x40) of size bytes to the
 * end of the list; returns offset or -EINVAL/-EEXIST. The first two bytes
 * (ID, next) belong to the core; the rest is the caller's. */
int pci_add_capability(struct pci_dev *d, uint8_t id, unsigned offset, unsigned size);

/* Decoded address of a BAR (0-5 or PCI_ROM_SLOT), or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar);
/* COMMAND.MASTER: the function may do DMA (and send MSIs). */
bool pci_bus_master_enabled(const struct pci_dev *d);
unsigned pci_dev_devfn(const struct pci_dev *d);
struct machine *pci_dev_machine(const struct pci_dev *d);

/* Drive INTx# (params.int_pin). */
void pci_set_irq(struct pci_dev *d, bool level);

/* MSI capability at offset with nvectors (1, 2, 4 ... 32) and a 64-bit
 * address if addr64. 0 or -EINVAL/-EEXIST. */
int pci_msi_init(struct pci_dev *d, unsigned offset, unsigned nvectors, bool addr64);
bool pci_msi_enabled(const struct pci_dev *d);
/* Send MSI vector (0 .. enabled vectors - 1). */
void pci_msi_notify(struct pci_dev *d, unsigned vector);

#endif
