/*
 * ioapic: Intel 82093AA I/O Advanced Programmable Interrupt Controller
 * (datasheet 290566): the indirect register window IOREGSEL (0x00) / IOWIN
 * (0x10) (3.0), IOAPICID, IOAPICVER and IOAPICARB (3.2.1-3.2.3) and the 24
 * redirection table entries (3.2.4): vector, delivery mode (fixed, lowest
 * priority, SMI, NMI, INIT, ExtINT), physical or logical destination, edge or
 * level trigger with Remote IRR cleared by the LAPIC's EOI, and the mask.
 *
 * Lines carry the logical "asserted" state (irq.h), so the polarity bit is
 * kept and read back but does not invert the input: KVM's in-kernel I/O APIC
 * does the same, and both engines must see a guest's interrupts alike
 * whatever polarity its firmware tables declare.
 *
 * Edge pins send on a rising edge while unmasked; an edge on a masked pin is
 * lost (3.2.4, bit 16). Level pins send while asserted, unmasked and Remote
 * IRR clear; Remote IRR is set when a LAPIC accepts the message and cleared
 * by its EOI for that vector. NMI, INIT and ExtINT are always edge-like.
 * Messages are instantaneous, so Delivery Status always reads idle.
 *
 * All state is under the machine's device lock.
 */
#include "apic/ioapic.h"

#include <stdlib.h>

#include "apic/apicbus.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"

#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_VERSION 0x11

#define IOREGSEL 0x00
#define IOWIN 0x10

#define REG_ID 0x00
#define REG_VER 0x01
#define REG_ARB 0x02
#define REG_REDTBL 0x10

#define RTE_VECTOR(e) ((uint8_t)(e))
#define RTE_DM(e) (((e) >> 8) & 7)
#define RTE_LOGICAL (1ULL << 11)
#define RTE_POLARITY (1ULL << 13)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL (1ULL << 15)
#define RTE_MASKED (1ULL << 16)
#define RTE_DEST(e) ((uint8_t)((e) >> 56))
/* Software writes vector, mode, destination mode, polarity, trigger, mask
 * and destination; delivery status and Remote IRR are read-only. */
#define RTE_WRITABLE 0xff0000000001afffULL

struct ioapic {
	struct machine *m;
	struct apicbus *bus;
	struct iobus_region *region;
	uint8_t regsel;
	uint8_t id;
	uint32_t asserted;              /* pin levels */
	uint64_t rte[IOAPIC_PINS];
};

/* Send pin's message; for a level pin, set Remote IRR if a LAPIC took it. */
static void ioapic_send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	unsigned mode = RTE_DM(e);
	bool level = (e & RTE_LEVEL) && (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST);
	struct apic_msg msg = {
		.dest = RTE_DEST(e),
		.vector = RTE_VECTOR(e),
		.mode = (uint8_t)mode,
		.logical = e & RTE_LOGICAL,
		.level = level,
		.assert = true,
	};
	if (mode == APIC_DM_SIPI || mode == 3) {
		log_guest(LOG_WARN, "ioapic", "pin %u uses reserved delivery mode %u; dropped",
			  pin, mode);
		return;
	}
	unsigned taken = io->bus ? apicbus_deliver(io->bus, &msg) : 0;
	if (level && taken)
		io->rte[pin] |= RTE_REMOTE_IRR;
}

/* A level pin that is asserted, unmasked and not in service sends. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) &&
	    (io->asserted & (1u << pin)))
		ioapic_send(io, pin);
}

void ioapic_set_pin(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool rising = level && !(io->asserted & bit);
	if (level)
		io->asserted |= bit;
	else
		io->asserted &= ~bit;
	uint64_t e = io->rte[pin];
	if (e & RTE_MASKED)
		return;
	if (e & RTE_LEVEL)
		ioapic_service_level(io, pin);
	else if (rising)
		ioapic_send(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->rte[pin];
		if (!(e & RTE_REMOTE_IRR) || RTE_VECTOR(e) != vector)
			continue;
		io->rte[pin] &= ~RTE_REMOTE_IRR;
		ioapic_service_level(io, pin);
	}
}

bool ioapic_pin_masked(const struct ioapic *io, unsigned pin)
{
	return pin >= IOAPIC_PINS || (io->rte[pin] & RTE_MASKED);
}

static uint32_t ioapic_reg_read(struct ioapic *io)
{
	unsigned reg = io->regsel;
	switch (reg) {
	case REG_ID:
		return (uint32_t)(io->id & 0xf) << 24;
	case REG_VER:
		return (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	case REG_ARB:
		return (uint32_t)(io->id & 0xf) << 24;
	default:
		if (reg >= REG_REDTBL && reg < REG_REDTBL + 2 * IOAPIC_PINS) {
			uint64_t e = io->rte[(reg - REG_REDTBL) / 2];
			return (uint32_t)(reg & 1 ? e >> 32 : e);
		}
		return 0;
	}
}

static void ioapic_rte_write(struct ioapic *io, unsigned pin, bool high, uint32_t v)
{
	uint64_t e = io->rte[pin];
	uint64_t n = high ? (e & 0xffffffffULL) | (uint64_t)v << 32
			  : (e & 0xffffffff00000000ULL) | v;
	n = (n & RTE_WRITABLE) | (e & RTE_REMOTE_IRR);
	/* Remote IRR only has a meaning for level-triggered pins. */
	if (!(n & RTE_LEVEL))
		n &= ~RTE_REMOTE_IRR;
	io->rte[pin] = n;
	ioapic_service_level(io, pin);
	if (io->bus)
		apicbus_irq_changed(io->bus);
}

static void ioapic_reg_write(struct ioapic *io, uint32_t v)
{
	unsigned reg = io->regsel;
	if (reg == REG_ID) {
		io->id = (uint8_t)((v >> 24) & 0xf);
	} else if (reg >= REG_REDTBL && reg < REG_REDTBL + 2 * IOAPIC_PINS) {
		ioapic_rte_write(io, (reg - REG_REDTBL) / 2, reg & 1, v);
	}
	/* The version and arbitration registers are read-only. */
}

/* Register window: IOREGSEL is 8 bits wide at offset 0, IOWIN a 32-bit
 * register at 0x10 (3.0); reads of part of IOWIN see its bytes, partial
 * writes to it are ignored, everything else in the page reads as zero. */
static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct ioapic *io = opaque;
	uint64_t v;
	if (off < 4)
		v = io->regsel;
	else if (off >= IOWIN && off < IOWIN + 4)
		v = ioapic_reg_read(io);
	else
		return 0;
	return (v >> (8 * (off & 3))) & (size >= 4 ? 0xffffffffULL : (1ULL << (8 * size)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct ioapic *io = opaque;
	if (off == IOREGSEL) {
		io->regsel = (uint8_t)v;
	} else if (off == IOWIN && size == 4) {
		ioapic_reg_write(io, (uint32_t)v);
	} else {
		log_guest(LOG_WARN, "ioapic", "ignored %u-byte write at I/O APIC offset %#llx",
			  size, (unsigned long long)off);
	}
}

static const struct iobus_ops ioapic_ops = { ioapic_mmio_read, ioapic_mmio_write, 4 };

/* Power-on: every pin masked, edge, fixed, vector 0 (3.2.4); ID 0. The pin
 * levels are wires and survive. */
static void ioapic_reset(void *dev)
{
	struct ioapic *io = dev;
	io->regsel = 0;
	io->id = 0;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = RTE_MASKED;
	if (io->bus)
		apicbus_irq_changed(io->bus);
}

static void ioapic_destroy(void *dev)
{
	struct ioapic *io = dev;
	if (io->bus)
		apicbus_attach_ioapic(io->bus, NULL);
	iobus_remove(io->region);
	free(io);
}

static void *ioapic_create(struct machine *m, const void *params)
{
	struct ioapic *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->m = m;
	if (iobus_add(m->mmio, "ioapic", IOAPIC_BASE, IOAPIC_MMIO_SIZE, &ioapic_ops, io, 0,
		      &io->region)) {
		log_err("ioapic", "cannot claim the I/O APIC page at %#llx", IOAPIC_BASE);
		free(io);
		return NULL;
	}
	ioapic_reset(io);
	io->bus = apicbus_of(m);
	if (io->bus)
		apicbus_attach_ioapic(io->bus, io);
	return io;
}

const struct device_desc ioapic_desc = {
	.name = "ioapic",
	.create = ioapic_create,
	.reset = ioapic_reset,
	.destroy = ioapic_destroy,
};
