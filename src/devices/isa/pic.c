/*
 * pic: Intel 8259A Programmable Interrupt Controller (datasheet 231468),
 * two of them cascaded as in every PC since the AT, plus the edge/level
 * control registers of the Intel 82371AB PIIX4 (datasheet 4.1.12, ELCR1/2).
 *
 * What is modelled: the initialization sequence ICW1-ICW4 (figure 7), the
 * operation command words OCW1 (mask), OCW2 (EOI, specific EOI, rotation,
 * set priority) and OCW3 (read IRR/ISR, poll, special mask), edge and level
 * triggering (ICW1 LTIM or the ELCR bit), automatic EOI with optional
 * rotation, special fully nested mode on the master, the cascade on IR2 and
 * the spurious IR7 vector when a request vanishes before INTA.
 *
 * Priority is kept as "the lowest-priority level": the level after it is the
 * highest. Fixed priority is lowest = 7 (IR0 highest).
 *
 * Edge-triggered requests stay latched in IRR if the line drops before INTA,
 * as KVM's and QEMU's models do, instead of turning into a spurious IR7: our
 * devices pulse their lines, and guests expect the interrupt.
 *
 * All state is under the machine's device lock.
 */
#include "isa/pic.h"

#include <stdlib.h>

#include "apic/apicbus.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"

#define PIC_CASCADE_IRQ 2

/* ICW1 (A0 = 0, D4 = 1) */
#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1_INIT 0x10
/* ICW4 */
#define ICW4_UPM 0x01
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 (A0 = 0, D4 = 0, D3 = 1) */
#define OCW3_SEL 0x08
#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_POLL 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40

/* ELCR bits the PIIX keeps at zero: IRQ0-2 (master), IRQ8 and IRQ13 (slave). */
static const uint8_t pic_elcr_mask[2] = { 0xf8, 0xde };

enum pic_init { PIC_READY, PIC_ICW2, PIC_ICW3, PIC_ICW4 };

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;                  /* input levels */
	uint8_t elcr;
	uint8_t base;                   /* vector of IR0 (ICW2) */
	uint8_t icw3;
	uint8_t lowest;                 /* lowest-priority level */
	enum pic_init init;
	bool need_icw4, single, ltim;
	bool aeoi, rotate_aeoi, sfnm;
	bool special_mask, poll, read_isr;
};

struct pic {
	struct machine *m;
	struct apicbus *bus;
	struct pic_chip chip[2];        /* master, slave */
	bool intr;
	void (*out_fn)(void *opaque, bool level);
	void *out_opaque;
	struct iobus_region *r_master, *r_slave, *r_elcr;
};

static uint8_t pic_level_mask(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/*
 * The request the chip would present at the next INTA, or -1. An in-service
 * level blocks itself and everything below it; in special mask mode masked
 * levels do not block; in special fully nested mode the master does not let
 * the cascade's in-service bit block further requests on the cascade.
 */
static int pic_chip_pending(const struct pic_chip *c, bool master)
{
	uint8_t req = c->irr & ~c->imr;
	if (!req)
		return -1;
	uint8_t in = c->isr;
	if (c->special_mask)
		in &= ~c->imr;
	for (unsigned rank = 0; rank < 8; rank++) {
		unsigned irq = (c->lowest + 1 + rank) & 7;
		uint8_t bit = 1u << irq;
		bool nested = master && c->sfnm && (c->icw3 & bit);
		if (req & bit) {
			if (!(in & bit) || nested)
				return (int)irq;
			return -1;
		}
		if (in & bit)
			return -1;
	}
	return -1;
}

/* The highest-priority in-service level, for a non-specific EOI, or -1. */
static int pic_chip_top_isr(const struct pic_chip *c)
{
	for (unsigned rank = 0; rank < 8; rank++) {
		unsigned irq = (c->lowest + 1 + rank) & 7;
		if (c->isr & (1u << irq))
			return (int)irq;
	}
	return -1;
}

static void pic_chip_input(struct pic_chip *c, unsigned irq, bool level)
{
	uint8_t bit = 1u << irq;
	if (pic_level_mask(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* Second INTA pulse on one chip: the request becomes in service. */
static void pic_chip_ack(struct pic_chip *c, unsigned irq)
{
	uint8_t bit = 1u << irq;
	if (!(pic_level_mask(c) & bit))
		c->irr &= ~bit;
	if (c->aeoi) {
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)irq;
	} else {
		c->isr |= bit;
	}
}

/*
 * Recompute the slave's INT (the master's IR2 input) and the master's INTR,
 * and tell the world if INTR changed. Device lock held.
 */
static void pic_update(struct pic *p)
{
	bool slave_int = pic_chip_pending(&p->chip[1], false) >= 0;
	pic_chip_input(&p->chip[0], PIC_CASCADE_IRQ, slave_int);
	bool intr = pic_chip_pending(&p->chip[0], true) >= 0;
	if (intr == p->intr)
		return;
	p->intr = intr;
	if (p->bus)
		apicbus_pic_output(p->bus, intr);
	else if (p->out_fn)
		p->out_fn(p->out_opaque, intr);
}

/* Something that can unmask or un-latch a request changed. */
static void pic_changed(struct pic *p)
{
	pic_update(p);
	if (p->bus)
		apicbus_irq_changed(p->bus);
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
	if (irq >= 16 || irq == PIC_CASCADE_IRQ)
		return;
	pic_chip_input(&p->chip[irq >> 3], irq & 7, level);
	pic_update(p);
}

bool pic_intr(const struct pic *p)
{
	return p->intr;
}

bool pic_irq_idle(const struct pic *p, unsigned irq)
{
	if (irq >= 16)
		return true;
	const struct pic_chip *c = &p->chip[irq >> 3];
	uint8_t bit = 1u << (irq & 7);
	return (c->imr & bit) && (c->irr & bit);
}

void pic_set_output(struct pic *p, void (*fn)(void *opaque, bool level), void *opaque)
{
	p->out_fn = fn;
	p->out_opaque = opaque;
}

/*
 * The INTA cycle as the CPU runs it (datasheet "Interrupt Sequence"): the
 * master resolves priority; if the winner is the cascade input the slave
 * supplies the vector. With nothing to give, a chip answers with its IR7
 * vector and sets no ISR bit (the spurious interrupt).
 */
int pic_intack(struct pic *p)
{
	struct pic_chip *master = &p->chip[0], *slave = &p->chip[1];
	int irq = pic_chip_pending(master, true);
	int vector;
	if (irq < 0) {
		vector = master->base + 7;
	} else {
		pic_chip_ack(master, (unsigned)irq);
		if (irq == PIC_CASCADE_IRQ && !master->single &&
		    (master->icw3 & (1u << PIC_CASCADE_IRQ))) {
			int irq2 = pic_chip_pending(slave, false);
			if (irq2 < 0) {
				vector = slave->base + 7;
			} else {
				pic_chip_ack(slave, (unsigned)irq2);
				vector = slave->base + irq2;
			}
		} else {
			vector = master->base + irq;
		}
	}
	pic_changed(p);
	return vector;
}

/* ICW1: start the initialization sequence (datasheet "Initialization
 * Command Words"). */
static void pic_chip_icw1(struct pic_chip *c, uint8_t v)
{
	c->need_icw4 = v & ICW1_IC4;
	c->single = v & ICW1_SNGL;
	c->ltim = v & ICW1_LTIM;
	c->init = PIC_ICW2;
	/* The edge sense circuit is reset: a line already high must fall and
	 * rise again to be seen. Level-mode requests keep following the line. */
	c->irr &= c->lines & pic_level_mask(c);
	c->imr = 0;
	c->isr = 0;
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_aeoi = false;
	if (!c->need_icw4) {
		c->aeoi = false;
		c->sfnm = false;
	}
}

static void pic_chip_icw(struct pic_chip *c, uint8_t v)
{
	switch (c->init) {
	case PIC_ICW2:
		c->base = v & 0xf8;
		c->init = !c->single ? PIC_ICW3 : c->need_icw4 ? PIC_ICW4 : PIC_READY;
		break;
	case PIC_ICW3:
		c->icw3 = v;
		c->init = c->need_icw4 ? PIC_ICW4 : PIC_READY;
		break;
	case PIC_ICW4:
		if (!(v & ICW4_UPM))
			log_guest(LOG_WARN, "pic", "8259 set to 8080 mode, which a PC cannot use");
		c->aeoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		c->init = PIC_READY;
		break;
	case PIC_READY:
		break;
	}
}

/* OCW2: end of interrupt and priority rotation. */
static void pic_chip_ocw2(struct pic_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	int top;
	switch (v >> 5) {
	case 0:                         /* rotate in automatic EOI mode: clear */
		c->rotate_aeoi = false;
		break;
	case 4:                         /* rotate in automatic EOI mode: set */
		c->rotate_aeoi = true;
		break;
	case 1:                         /* non-specific EOI */
	case 5:                         /* rotate on non-specific EOI */
		top = pic_chip_top_isr(c);
		if (top >= 0) {
			c->isr &= ~(1u << top);
			if (v >> 5 == 5)
				c->lowest = (uint8_t)top;
		}
		break;
	case 3:                         /* specific EOI */
		c->isr &= ~(1u << level);
		break;
	case 7:                         /* rotate on specific EOI */
		c->isr &= ~(1u << level);
		c->lowest = (uint8_t)level;
		break;
	case 6:                         /* set priority */
		c->lowest = (uint8_t)level;
		break;
	default:                        /* 2: no operation */
		break;
	}
}

static void pic_chip_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & OCW3_POLL)
		c->poll = true;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
}

/* A poll command read: acknowledge the top request like an INTA would. */
static uint8_t pic_chip_poll(struct pic_chip *c, bool master)
{
	c->poll = false;
	int irq = pic_chip_pending(c, master);
	if (irq < 0)
		return 0;
	pic_chip_ack(c, (unsigned)irq);
	return (uint8_t)(0x80 | irq);
}

static uint64_t pic_read(struct pic *p, unsigned idx, uint64_t off)
{
	struct pic_chip *c = &p->chip[idx];
	uint8_t v;
	if (c->poll) {
		v = pic_chip_poll(c, idx == 0);
		pic_changed(p);
	} else if (off == 0) {
		v = c->read_isr ? c->isr : c->irr;
	} else {
		v = c->imr;
	}
	return v;
}

static void pic_write(struct pic *p, unsigned idx, uint64_t off, uint8_t v)
{
	struct pic_chip *c = &p->chip[idx];
	if (off == 0) {
		if (v & ICW1_INIT)
			pic_chip_icw1(c, v);
		else if (v & OCW3_SEL)
			pic_chip_ocw3(c, v);
		else
			pic_chip_ocw2(c, v);
	} else if (c->init != PIC_READY) {
		pic_chip_icw(c, v);
	} else {
		c->imr = v;
	}
	pic_changed(p);
}

static uint64_t pic_master_read(void *opaque, uint64_t off, unsigned size)
{
	return pic_read(opaque, 0, off);
}

static void pic_master_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	pic_write(opaque, 0, off, (uint8_t)v);
}

static uint64_t pic_slave_read(void *opaque, uint64_t off, unsigned size)
{
	return pic_read(opaque, 1, off);
}

static void pic_slave_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	pic_write(opaque, 1, off, (uint8_t)v);
}

static uint64_t pic_elcr_read(void *opaque, uint64_t off, unsigned size)
{
	struct pic *p = opaque;
	return p->chip[off].elcr;
}

/* A request latched on an edge stays; a level-mode request follows the line. */
static void pic_elcr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pic *p = opaque;
	struct pic_chip *c = &p->chip[off];
	c->elcr = (uint8_t)v & pic_elcr_mask[off];
	uint8_t level = pic_level_mask(c);
	c->irr = (uint8_t)((c->irr & ~level) | (c->lines & level));
	pic_changed(p);
}

static const struct iobus_ops pic_master_ops = { pic_master_read, pic_master_write, 1 };
static const struct iobus_ops pic_slave_ops = { pic_slave_read, pic_slave_write, 1 };
static const struct iobus_ops pic_elcr_ops = { pic_elcr_read, pic_elcr_write, 1 };

/* Power-on: both chips uninitialized, all inputs enabled, edge-triggered.
 * Input levels are wires and survive. */
static void pic_reset(void *dev)
{
	struct pic *p = dev;
	for (unsigned i = 0; i < 2; i++) {
		struct pic_chip *c = &p->chip[i];
		uint8_t lines = c->lines;
		*c = (struct pic_chip){ .lines = lines, .lowest = 7 };
	}
	p->chip[0].base = 0x08;         /* the 8086 BIOS's vectors until reprogrammed */
	p->chip[1].base = 0x70;
	p->chip[0].icw3 = 1u << PIC_CASCADE_IRQ;
	p->chip[1].icw3 = PIC_CASCADE_IRQ;
	pic_changed(p);
}

static void pic_destroy(void *dev)
{
	struct pic *p = dev;
	if (p->bus)
		apicbus_attach_pic(p->bus, NULL);
	iobus_remove(p->r_master);
	iobus_remove(p->r_slave);
	iobus_remove(p->r_elcr);
	free(p);
}

static void *pic_create(struct machine *m, const void *params)
{
	struct pic *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->m = m;
	if (iobus_add(m->pio, "pic-master", 0x20, 2, &pic_master_ops, p, 0, &p->r_master) ||
	    iobus_add(m->pio, "pic-slave", 0xa0, 2, &pic_slave_ops, p, 0, &p->r_slave) ||
	    iobus_add(m->pio, "elcr", 0x4d0, 2, &pic_elcr_ops, p, 0, &p->r_elcr)) {
		log_err("pic", "cannot claim the 8259 ports");
		pic_destroy(p);
		return NULL;
	}
	pic_reset(p);
	p->bus = apicbus_of(m);
	if (p->bus)
		apicbus_attach_pic(p->bus, p);
	return p;
}

const struct device_desc pic_desc = {
	.name = "pic",
	.create = pic_create,
	.reset = pic_reset,
	.destroy = pic_destroy,
};
