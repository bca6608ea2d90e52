/*
 * pit: Intel 82C54 CHMOS Programmable Interval Timer (datasheet 231244):
 * three 16-bit counters at 1.193182 MHz, modes 0-5 (figures 11-16), binary
 * and BCD counting, the counter latch and read-back commands (figures 8-10)
 * and the LSB/MSB access sequences; wired as on the IBM PC/AT: counter 0
 * drives IRQ0, counter 1 is the old DRAM refresh timer, counter 2 feeds the
 * speaker through port 0x61 (PC/AT technical reference, "System Control Port
 * B"): bit 0 gate 2, bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT2.
 *
 * Nothing ticks. Each counter remembers when its counting element had which
 * value and computes count and OUT from guest time (vclock) when read. Only
 * counter 0 has a vtimer, for the rising edges of OUT0 that make IRQ0, and it
 * runs only while someone can see them: it stops while the HPET has taken
 * IRQ0 and while the interrupt controllers would ignore the edge (masked,
 * request already latched) until they say otherwise (apicbus watch). Edges
 * closer than PIT_MIN_EDGE_NS are merged, as an interrupt controller merges
 * edges the CPU has not acknowledged yet.
 *
 * Port 0x61 bit 4 toggles every 15.085 us from guest time, the rate PC
 * firmware and DOS-era delay loops expect; it does not depend on counter 1.
 *
 * All state is under the machine's device lock.
 */
#include "isa/pit.h"

#include <stdint.h>
#include <stdlib.h>

#include "apic/apicbus.h"
#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define PIT_HZ 1193182
#define PIT_MIN_EDGE_NS 100000          /* at most 10000 IRQ0 edges per second */
#define PIT_REFRESH_NS 15085            /* port 0x61 bit 4 half period */

#define PORT61_GATE2 0x01
#define PORT61_SPEAKER 0x02
#define PORT61_WRITABLE 0x0f
#define PORT61_REFRESH 0x10
#define PORT61_OUT2 0x20

enum { PIT_RW_LATCH = 0, PIT_RW_LSB = 1, PIT_RW_MSB = 2, PIT_RW_WORD = 3 };

struct pit_channel {
	/* Control word. */
	uint8_t mode;                   /* 0-5 */
	uint8_t rw;                     /* PIT_RW_* */
	bool bcd;
	/* Count register and access state. */
	uint32_t cr;                    /* last count written (BCD decoded), 0 = maximum */
	uint8_t cr_lsb;                 /* first byte of a two-byte write */
	bool write_msb, read_msb;       /* next byte of a two-byte access is the MSB */
	bool null_count;
	bool count_latched, status_latched;
	uint16_t latch;                 /* output latch, already BCD encoded */
	uint8_t status;
	/* The counting element as a function of time (ticks of the 1.19 MHz clock). */
	bool gate;
	bool loaded;                    /* a count reached the counter since the control word */
	bool running;                   /* counting (gate open, or triggered) */
	int64_t t0;                     /* tick at which the element held ce0 */
	uint32_t ce0;
	bool out0;                      /* modes 0/1: OUT was high at t0; 4/5: strobe done */
	uint32_t period;                /* modes 2/3: ticks per period */
	bool reload;                    /* modes 2/3: a new count takes over at reload_t */
	int64_t reload_t;
	uint32_t next_period;
};

struct pit {
	struct machine *m;
	struct apicbus *bus;
	struct pit_channel ch[3];
	uint8_t port61;
	struct irq_line irq;
	struct vtimer *timer;
	int64_t edge_tick;              /* the OUT0 rising edge the timer waits for */
	bool irq_enabled;               /* false while the HPET owns IRQ0 */
	bool sleeping;                  /* timer stopped: nobody sees IRQ0 edges */
	struct iobus_region *r_pit, *r_61;
};

static int64_t pit_ticks(int64_t ns)
{
	if (ns <= 0)
		return 0;
	return (int64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_SEC);
}

/* The first guest time at which the clock has made tick ticks. */
static int64_t pit_tick_ns(int64_t tick)
{
	unsigned __int128 ns = ((unsigned __int128)tick * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
	return ns > INT64_MAX ? INT64_MAX : (int64_t)ns;
}

static int64_t pit_now(struct pit *p)
{
	return pit_ticks(vclock_now(p->m->clock));
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* A count of 0 means the largest count (datasheet "Counter Operation"). */
static uint32_t pit_eff(const struct pit_channel *c, uint32_t count)
{
	return count ? count : pit_modulus(c);
}

static uint16_t pit_to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* Digits above 9 are undefined on the chip; weigh them like the others. */
static uint32_t pit_from_bcd(uint16_t v)
{
	return ((v >> 12) * 1000u + ((v >> 8) & 15) * 100u + ((v >> 4) & 15) * 10u + (v & 15)) % 10000u;
}

/* A mode 2/3 count written while counting takes over at the period's end. */
static void pit_normalize(struct pit_channel *c, int64_t t)
{
	if (c->reload && t >= c->reload_t) {
		c->t0 = c->reload_t;
		c->period = c->next_period;
		c->reload = false;
		c->null_count = false;
	}
}

/* Mode 3 counts down by two, with the odd-count adjustments of figure 15. */
static uint32_t pit_square_value(uint32_t n, uint64_t d)
{
	uint64_t m = d % n, high = (n + 1) / 2;
	if (n % 2 == 0)
		return (uint32_t)(n - 2 * (m % (n / 2)));
	if (m < high)
		return (uint32_t)(m == 0 ? n : n + 1 - 2 * m);
	m -= high;
	return (uint32_t)(m == 0 ? n : n - 1 - 2 * m);
}

/* The counting element at tick t, binary, in [0, modulus). */
static uint32_t pit_value(struct pit_channel *c, int64_t t)
{
	pit_normalize(c, t);
	uint32_t mod = pit_modulus(c);
	if (!c->running)
		return c->ce0 % mod;
	uint64_t d = (uint64_t)(t - c->t0);
	switch (c->mode) {
	case 2:
		return (uint32_t)((c->period - d % c->period) % mod);
	case 3:
		return pit_square_value(c->period, d) % mod;
	default:
		return (uint32_t)(((int64_t)c->ce0 - (int64_t)(d % mod) + mod) % mod);
	}
}

static bool pit_out(struct pit_channel *c, int64_t t)
{
	pit_normalize(c, t);
	if (!c->loaded)
		return c->mode != 0;
	uint64_t d = c->running ? (uint64_t)(t - c->t0) : 0;
	uint64_t term = pit_eff(c, c->ce0);
	switch (c->mode) {
	case 0:
	case 1:
		return c->out0 || (c->running && d >= term);
	case 4:
	case 5:
		return !(c->running && !c->out0 && d == term);
	case 2:
		return !c->running || d % c->period != c->period - 1;
	default:
		return !c->running || d % c->period < (c->period + 1) / 2;
	}
}

/* The first rising edge of OUT after tick t, or INT64_MAX. */
static int64_t pit_next_edge(struct pit_channel *c, int64_t t)
{
	pit_normalize(c, t);
	if (!c->running)
		return INT64_MAX;
	int64_t e;
	switch (c->mode) {
	case 0:
	case 1:
		if (c->out0)
			return INT64_MAX;
		e = c->t0 + pit_eff(c, c->ce0);
		break;
	case 4:
	case 5:
		if (c->out0)
			return INT64_MAX;
		e = c->t0 + pit_eff(c, c->ce0) + 1;
		break;
	default:
		e = c->t0 + ((t - c->t0) / c->period + 1) * c->period;
		if (c->reload && e > c->reload_t)
			e = c->reload_t;
		break;
	}
	return e > t ? e : INT64_MAX;
}

/* Stop the counting element where it is (gate low, control word). */
static void pit_freeze(struct pit_channel *c, int64_t t)
{
	uint32_t v = pit_value(c, t);
	if (c->loaded && (c->mode == 0 || c->mode == 1))
		c->out0 = pit_out(c, t);
	else if (c->loaded && (c->mode == 4 || c->mode == 5))
		c->out0 = c->out0 || (c->running && (uint64_t)(t - c->t0) >= pit_eff(c, c->ce0));
	c->ce0 = v;
	c->t0 = t;
	c->running = false;
	c->reload = false;
}

/* Load the count register into the counting element and start counting. */
static void pit_start(struct pit_channel *c, int64_t t, bool counting)
{
	c->t0 = t;
	c->loaded = true;
	c->null_count = false;
	c->reload = false;
	c->running = counting;
	c->out0 = false;
	c->period = pit_eff(c, c->cr);
	c->ce0 = c->mode == 2 || c->mode == 3 ? c->period % pit_modulus(c) : c->cr;
}

/* ---- IRQ0 ---------------------------------------------------------------- */

/* Device lock held: wait for the next rising edge of OUT0, if anyone cares. */
static void pit_arm(struct pit *p, int64_t not_before_ns)
{
	int64_t now_ns = vclock_now(p->m->clock);
	int64_t t = pit_ticks(now_ns);
	p->edge_tick = pit_next_edge(&p->ch[0], t);
	if (!p->irq_enabled || p->sleeping || p->edge_tick == INT64_MAX) {
		vtimer_disarm(p->timer);
		return;
	}
	int64_t at = pit_tick_ns(p->edge_tick);
	vtimer_arm(p->timer, at > not_before_ns ? at : not_before_ns);
}

/* Timer thread, device lock held. */
static void pit_timer_fired(void *opaque, int64_t now_ns)
{
	struct pit *p = opaque;
	if (!p->irq_enabled)
		return;
	if (pit_ticks(now_ns) < p->edge_tick) {
		pit_arm(p, 0);
		return;
	}
	irq_line_pulse(&p->irq);
	if (p->bus && apicbus_irq_idle(p->bus, 0)) {
		p->sleeping = true;
		return;
	}
	pit_arm(p, now_ns + PIT_MIN_EDGE_NS);
}

/* Device lock held: the 8259 or I/O APIC may have unmasked IRQ0. */
static void pit_irq_watch(void *opaque)
{
	struct pit *p = opaque;
	if (p->sleeping && !apicbus_irq_idle(p->bus, 0)) {
		p->sleeping = false;
		pit_arm(p, 0);
	}
}

void pit_set_irq_enabled(struct pit *p, bool enabled)
{
	if (p->irq_enabled == enabled)
		return;
	p->irq_enabled = enabled;
	irq_line_set(&p->irq, false);
	pit_arm(p, 0);
}

/* ---- counter programming --------------------------------------------------- */

static void pit_gate(struct pit_channel *c, int64_t t, bool gate)
{
	bool rising = gate && !c->gate;
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 0:
	case 4:                         /* the gate enables counting */
		if (!gate) {
			pit_freeze(c, t);
		} else {
			c->t0 = t;
			c->running = true;
		}
		break;
	case 1:
	case 5:                         /* a rising gate (re)triggers */
		if (rising)
			pit_start(c, t, true);
		break;
	default:                        /* 2, 3: low stops and forces OUT high, rising reloads */
		if (!gate)
			pit_freeze(c, t);
		else
			pit_start(c, t, true);
		break;
	}
}

static void pit_control(struct pit_channel *c, int64_t t, uint8_t v)
{
	pit_freeze(c, t);
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;           /* 6 and 7 are aliases of 2 and 3 */
	c->bcd = v & 1;
	c->loaded = false;
	c->out0 = false;
	c->write_msb = false;
	c->read_msb = false;
	c->null_count = true;
	c->ce0 %= pit_modulus(c);
}

/* The count register received its last byte (datasheet, per-mode "new count"). */
static void pit_count_written(struct pit_channel *c, int64_t t, uint16_t raw)
{
	c->cr = c->bcd ? pit_from_bcd(raw) : raw;
	c->null_count = true;
	switch (c->mode) {
	case 0:
	case 4:
		pit_start(c, t, c->gate);
		break;
	case 1:
	case 5:                         /* waits for a trigger; OUT stays high */
		if (!c->loaded || !c->running)
			c->out0 = c->mode == 1;
		c->loaded = true;
		break;
	default:
		if (!c->loaded || !c->running) {
			pit_start(c, t, c->gate);
		} else {
			pit_normalize(c, t);
			c->reload_t = c->t0 + ((t - c->t0) / c->period + 1) * c->period;
			c->next_period = pit_eff(c, c->cr);
			c->reload = true;
		}
		break;
	}
}

static void pit_counter_write(struct pit_channel *c, int64_t t, uint8_t v)
{
	switch (c->rw) {
	case PIT_RW_LSB:
		pit_count_written(c, t, v);
		break;
	case PIT_RW_MSB:
		pit_count_written(c, t, (uint16_t)(v << 8));
		break;
	default:
		if (!c->write_msb) {
			c->cr_lsb = v;
			c->write_msb = true;
			if (c->mode == 0) {     /* the first byte stops counting, OUT low */
				pit_freeze(c, t);
				c->out0 = false;
			}
		} else {
			c->write_msb = false;
			pit_count_written(c, t, (uint16_t)(c->cr_lsb | v << 8));
		}
		break;
	}
}

static uint16_t pit_encode(const struct pit_channel *c, uint32_t v)
{
	return c->bcd ? pit_to_bcd(v) : (uint16_t)v;
}

static uint8_t pit_counter_read(struct pit_channel *c, int64_t t)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	uint16_t v;
	if (c->count_latched)
		v = c->latch;
	else
		v = pit_encode(c, pit_value(c, t));
	bool msb;
	switch (c->rw) {
	case PIT_RW_LSB:
		msb = false;
		c->count_latched = false;
		break;
	case PIT_RW_MSB:
		msb = true;
		c->count_latched = false;
		break;
	default:
		msb = c->read_msb;
		c->read_msb = !c->read_msb;
		if (msb)
			c->count_latched = false;
		break;
	}
	return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void pit_latch_count(struct pit_channel *c, int64_t t)
{
	if (c->count_latched)
		return;
	c->latch = pit_encode(c, pit_value(c, t));
	c->count_latched = true;
}

static void pit_latch_status(struct pit_channel *c, int64_t t)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((pit_out(c, t) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
			      c->rw << 4 | c->mode << 1 | (c->bcd ? 1 : 0));
	c->status_latched = true;
}

static void pit_command(struct pit *p, int64_t t, uint8_t v)
{
	unsigned sc = v >> 6;
	if (sc == 3) {                  /* read-back: bit 5 = !COUNT, bit 4 = !STATUS */
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x10))
				pit_latch_status(&p->ch[i], t);
			if (!(v & 0x20))
				pit_latch_count(&p->ch[i], t);
		}
		return;
	}
	if (((v >> 4) & 3) == PIT_RW_LATCH)
		pit_latch_count(&p->ch[sc], t);
	else
		pit_control(&p->ch[sc], t, v);
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pit *p = opaque;
	if (off == 3)
		return 0xff;            /* the control word register cannot be read */
	return pit_counter_read(&p->ch[off], pit_now(p));
}

static void pit_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pit *p = opaque;
	int64_t t = pit_now(p);
	if (off == 3)
		pit_command(p, t, (uint8_t)v);
	else
		pit_counter_write(&p->ch[off], t, (uint8_t)v);
	if (off == 0 || (off == 3 && ((v >> 6) == 0)))
		pit_arm(p, 0);
}

static uint64_t pit_61_read(void *opaque, uint64_t off, unsigned size)
{
	struct pit *p = opaque;
	int64_t now = vclock_now(p->m->clock);
	uint8_t v = p->port61 & PORT61_WRITABLE;
	if ((now / PIT_REFRESH_NS) & 1)
		v |= PORT61_REFRESH;
	if (pit_out(&p->ch[2], pit_ticks(now)))
		v |= PORT61_OUT2;
	return v;
}

static void pit_61_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pit *p = opaque;
	p->port61 = (uint8_t)v & PORT61_WRITABLE;
	pit_gate(&p->ch[2], pit_now(p), v & PORT61_GATE2);
}

static const struct iobus_ops pit_io_ops = { pit_io_read, pit_io_write, 1 };
static const struct iobus_ops pit_61_ops = { pit_61_read, pit_61_write, 1 };

/* Power-on: like the PC BIOS would leave it (and as KVM's and QEMU's PITs
 * start), every counter in mode 3 with the maximum count; gates 0 and 1 are
 * tied high, gate 2 is port 0x61 bit 0, low. */
static void pit_reset(void *dev)
{
	struct pit *p = dev;
	int64_t t = pit_now(p);
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];
		*c = (struct pit_channel){ .gate = i != 2 };
		pit_control(c, t, (uint8_t)(i << 6 | PIT_RW_WORD << 4 | 3 << 1));
		pit_count_written(c, t, 0);
	}
	p->port61 = 0;
	p->irq_enabled = true;
	p->sleeping = false;
	irq_line_set(&p->irq, false);
	pit_arm(p, 0);
}

static void pit_destroy(void *dev)
{
	struct pit *p = dev;
	if (p->bus)
		apicbus_watch_irq(p->bus, 0, NULL, NULL);
	vtimer_destroy(p->timer);
	iobus_remove(p->r_pit);
	iobus_remove(p->r_61);
	free(p);
}

static void *pit_create(struct machine *m, const void *params)
{
	struct pit *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->m = m;
	irq_line_init(&p->irq, m, 0);
	p->timer = vtimer_create(m->clock, pit_timer_fired, p);
	if (!p->timer) {
		free(p);
		return NULL;
	}
	if (iobus_add(m->pio, "pit", 0x40, 4, &pit_io_ops, p, 0, &p->r_pit) ||
	    iobus_add(m->pio, "port61", 0x61, 1, &pit_61_ops, p, 0, &p->r_61)) {
		log_err("pit", "cannot claim the 8254 ports");
		pit_destroy(p);
		return NULL;
	}
	p->bus = apicbus_of(m);
	if (p->bus)
		apicbus_watch_irq(p->bus, 0, pit_irq_watch, p);
	pit_reset(p);
	return p;
}

const struct device_desc pit_desc = {
	.name = "pit",
	.create = pit_create,
	.reset = pit_reset,
	.destroy = pit_destroy,
};
