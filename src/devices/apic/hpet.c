/*
 * hpet: IA-PC HPET (High Precision Event Timers) Specification 1.0a:
 * the register map (2.3.1), general capabilities and configuration (2.3.4,
 * 2.3.5) with the legacy replacement route (2.3.9.1: timer 0 on IRQ0 and
 * I/O APIC pin 2, timer 1 on IRQ8), the interrupt status register (2.3.6),
 * the 64-bit main counter (2.3.7), and per timer the configuration and
 * capabilities (2.3.8), comparator (2.3.9) and FSB (MSI) route (2.3.10);
 * one-shot and periodic modes, 32-bit and 64-bit comparisons, edge or level
 * interrupts.
 *
 * The main counter runs at 100 MHz (10 ns, the rate QEMU offers) and is
 * computed from guest time. Each timer has a vtimer that waits for its next
 * comparator match, only while that match can be seen (interrupts enabled or
 * level status); a periodic timer fires at most every HPET_MIN_PERIOD_NS,
 * the comparator still advancing by whole periods. A comparator in the past
 * matches when the counter gets there again: after the 32-bit wrap in 32-bit
 * mode, never in 64-bit mode, as the hardware does.
 *
 * Timers route to I/O APIC pins 20-23 (as on Intel ICH chipsets), to GSI 0/8
 * in legacy mode, or to an MSI. Everything goes through irq.h, so the HPET
 * serves KVM (which has no in-kernel HPET) and the software CPU alike.
 *
 * All state is under the machine's device lock.
 */
#include "apic/hpet.h"

#include <stdlib.h>

#include "iobus.h"
#include "irq.h"
#include "isa/pit.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define HPET_MMIO_SIZE 0x400
#define HPET_TIMERS 3
#define HPET_TICK_NS 10
#define HPET_PERIOD_FS 10000000ULL      /* femtoseconds per tick */
#define HPET_MIN_PERIOD_NS 100000       /* periodic: at most 10000 interrupts/s */
#define HPET_ROUTE_CAP 0x00f00000u      /* I/O APIC pins 20-23 */
#define HPET_NEVER INT64_MAX

#define HPET_GCAP 0x000
#define HPET_GCONF 0x010
#define HPET_GISR 0x020
#define HPET_COUNTER 0x0f0
#define HPET_TIMER0 0x100
#define HPET_TIMER_STRIDE 0x20
#define HPET_TN_CONF 0x0
#define HPET_TN_CMP 0x8
#define HPET_TN_FSB 0x10

#define GCAP_REV 0x01ULL
#define GCAP_COUNT_SIZE (1ULL << 13)
#define GCAP_LEG_RT (1ULL << 15)
#define GCAP_VENDOR (0x8086ULL << 16)
#define GCONF_ENABLE 0x1ULL
#define GCONF_LEGACY 0x2ULL

#define TN_LEVEL (1ULL << 1)
#define TN_INT_ENB (1ULL << 2)
#define TN_PERIODIC (1ULL << 3)
#define TN_PER_CAP (1ULL << 4)
#define TN_SIZE_CAP (1ULL << 5)
#define TN_VAL_SET (1ULL << 6)
#define TN_32MODE (1ULL << 8)
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE (0x1fULL << TN_ROUTE_SHIFT)
#define TN_FSB_EN (1ULL << 14)
#define TN_FSB_CAP (1ULL << 15)
#define TN_WRITABLE (TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32MODE | \
		     TN_ROUTE | TN_FSB_EN)
#define TN_CAPS (TN_PER_CAP | TN_SIZE_CAP | TN_FSB_CAP | (uint64_t)HPET_ROUTE_CAP << 32)

struct hpet;

struct hpet_timer {
	struct hpet *h;
	unsigned idx;
	uint64_t conf, cmp, period, fsb;
	struct vtimer *vt;
	struct irq_line line;
	int gsi;                        /* where line is attached, -1: nowhere */
	/* Positions on the counter's timeline, in ticks since it was last
	 * enabled: where the next match is searched from, and the match the
	 * vtimer waits for. Counting from the enable rather than in counter
	 * values keeps a guest-written counter near 2^64 from wrapping them. */
	int64_t from;
	int64_t due;
};

struct hpet {
	struct machine *m;
	struct pit *pit;
	struct iobus_region *region;
	uint64_t conf, isr;
	uint64_t counter0;              /* the main counter at t0 (frozen while halted) */
	int64_t t0;
	struct hpet_timer t[HPET_TIMERS];
};

static bool hpet_enabled(const struct hpet *h)
{
	return h->conf & GCONF_ENABLE;
}

/* Ticks since the counter was enabled (0 while halted). */
static int64_t hpet_ticks(const struct hpet *h, int64_t now)
{
	if (!hpet_enabled(h) || now <= h->t0)
		return 0;
	return (now - h->t0) / HPET_TICK_NS;
}

/* The main counter wraps at 2^64 like the hardware's. */
static uint64_t hpet_counter(const struct hpet *h, int64_t now)
{
	return h->counter0 + (uint64_t)hpet_ticks(h, now);
}

/* Guest time of tick e, or INT64_MAX. */
static int64_t hpet_tick_ns(const struct hpet *h, int64_t e)
{
	if (!hpet_enabled(h) || e == HPET_NEVER || e > (INT64_MAX - h->t0) / HPET_TICK_NS)
		return INT64_MAX;
	return h->t0 + e * HPET_TICK_NS;
}

static bool hpet_timer_32(const struct hpet_timer *t)
{
	return t->conf & TN_32MODE;
}

/* The first tick >= e at which the counter equals the comparator (in its
 * low 32 bits in 32-bit mode). A 64-bit comparator behind the counter is
 * 2^64 ticks away: never, for our purposes. */
static int64_t hpet_next_match(const struct hpet_timer *t, int64_t e)
{
	uint64_t at = t->h->counter0 + (uint64_t)e;
	uint64_t delta = hpet_timer_32(t) ? (uint32_t)((uint32_t)t->cmp - (uint32_t)at)
					  : t->cmp - at;
	if (delta > (uint64_t)(HPET_NEVER - e))
		return HPET_NEVER;
	return e + (int64_t)delta;
}

/* Where the timer's interrupt goes: a GSI, or -1 (MSI or no valid route). */
static int hpet_timer_gsi(const struct hpet_timer *t)
{
	if (t->conf & TN_FSB_EN)
		return -1;
	if ((t->h->conf & GCONF_LEGACY) && t->idx < 2)
		return t->idx == 0 ? 0 : 8;
	unsigned route = (unsigned)((t->conf & TN_ROUTE) >> TN_ROUTE_SHIFT);
	return (HPET_ROUTE_CAP >> route) & 1 ? (int)route : -1;
}

/* Follow the route and, for level mode, drive the line from the status bit. */
static void hpet_timer_line(struct hpet_timer *t)
{
	struct hpet *h = t->h;
	int gsi = hpet_timer_gsi(t);
	if (gsi != t->gsi) {
		if (t->gsi >= 0)
			irq_line_set(&t->line, false);
		if (gsi >= 0)
			irq_line_init(&t->line, h->m, (unsigned)gsi);
		t->gsi = gsi;
	}
	if (gsi >= 0)
		irq_line_set(&t->line, hpet_enabled(h) && (t->conf & TN_INT_ENB) &&
				       (t->conf & TN_LEVEL) && (h->isr & (1ULL << t->idx)));
}

static void hpet_timer_interrupt(struct hpet_timer *t)
{
	struct hpet *h = t->h;
	if (t->conf & TN_LEVEL)
		h->isr |= 1ULL << t->idx;
	if (!(t->conf & TN_INT_ENB))
		return;
	if (t->conf & TN_FSB_EN) {
		irq_msi(h->m, t->fsb >> 32, (uint32_t)t->fsb);
		return;
	}
	hpet_timer_line(t);
	if (!(t->conf & TN_LEVEL) && t->gsi >= 0)
		irq_line_pulse(&t->line);
}

/* Whether a match can be seen, so the vtimer must wait for it. */
static bool hpet_timer_live(const struct hpet_timer *t)
{
	return hpet_enabled(t->h) && (t->conf & (TN_INT_ENB | TN_LEVEL));
}

/* After a match, with the counter at cnt: a periodic comparator advances by
 * whole periods past it (2.3.9.2.2); others stay. Modular arithmetic, since
 * cnt - cmp is the (small) time since the match even across a wrap. */
static uint64_t hpet_periodic_next(const struct hpet_timer *t, uint64_t cnt)
{
	if (!(t->conf & TN_PERIODIC) || !t->period)
		return t->cmp;
	if (hpet_timer_32(t)) {
		uint32_t p = (uint32_t)t->period, c = (uint32_t)t->cmp;
		if (!p)
			return c;
		return c + p * (((uint32_t)cnt - c) / p + 1);
	}
	return t->cmp + t->period * ((cnt - t->cmp) / t->period + 1);
}

/*
 * Process a match the counter has reached by now: interrupt (if deliver),
 * advance a periodic comparator past the counter, and search the next match
 * from the value after it.
 */
static bool hpet_timer_run(struct hpet_timer *t, int64_t now, bool deliver)
{
	if (!hpet_enabled(t->h))
		return false;           /* a halted counter makes no matches */
	int64_t e = hpet_ticks(t->h, now);
	if (hpet_next_match(t, t->from) > e)
		return false;
	if (deliver)
		hpet_timer_interrupt(t);
	t->cmp = hpet_periodic_next(t, t->h->counter0 + (uint64_t)e);
	t->from = e + 1;
	return true;
}

static void hpet_timer_arm(struct hpet_timer *t, int64_t not_before)
{
	if (!hpet_timer_live(t)) {
		vtimer_disarm(t->vt);
		return;
	}
	t->due = hpet_next_match(t, t->from);
	int64_t at = hpet_tick_ns(t->h, t->due);
	if (at == INT64_MAX)
		vtimer_disarm(t->vt);
	else
		vtimer_arm(t->vt, at > not_before ? at : not_before);
}

/* Timer thread, device lock held. */
static void hpet_timer_fired(void *opaque, int64_t now)
{
	struct hpet_timer *t = opaque;
	bool fired = hpet_timer_run(t, now, hpet_timer_live(t));
	bool periodic = (t->conf & TN_PERIODIC) && t->period;
	hpet_timer_arm(t, fired && periodic ? now + HPET_MIN_PERIOD_NS : 0);
}

/* Bring every timer up to now before a register changes under it. */
static void hpet_sync(struct hpet *h, int64_t now)
{
	for (unsigned i = 0; i < HPET_TIMERS; i++)
		hpet_timer_run(&h->t[i], now, hpet_timer_live(&h->t[i]));
}

static void hpet_rearm_all(struct hpet *h)
{
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		hpet_timer_line(&h->t[i]);
		hpet_timer_arm(&h->t[i], 0);
	}
}

/* ---- registers --------------------------------------------------------------------- */

static uint64_t hpet_reg_read(struct hpet *h, uint64_t reg, int64_t now)
{
	switch (reg) {
	case HPET_GCAP:
		return HPET_PERIOD_FS << 32 | GCAP_VENDOR | GCAP_LEG_RT | GCAP_COUNT_SIZE |
		       (uint64_t)(HPET_TIMERS - 1) << 8 | GCAP_REV;
	case HPET_GCONF:
		return h->conf;
	case HPET_GISR:
		return h->isr;
	case HPET_COUNTER:
		return hpet_counter(h, now);
	default:
		break;
	}
	if (reg < HPET_TIMER0 || reg >= HPET_TIMER0 + HPET_TIMERS * HPET_TIMER_STRIDE)
		return 0;
	struct hpet_timer *t = &h->t[(reg - HPET_TIMER0) / HPET_TIMER_STRIDE];
	switch ((reg - HPET_TIMER0) % HPET_TIMER_STRIDE) {
	case HPET_TN_CONF:
		return t->conf | TN_CAPS;
	case HPET_TN_CMP: {
		/* A periodic comparator the vtimer has not caught up with yet
		 * (rate limit, or nobody listening) reads as the hardware's. */
		uint64_t cmp = t->cmp;
		if (hpet_enabled(h) && hpet_next_match(t, t->from) <= hpet_ticks(h, now))
			cmp = hpet_periodic_next(t, hpet_counter(h, now));
		return hpet_timer_32(t) ? (uint32_t)cmp : cmp;
	}
	case HPET_TN_FSB:
		return t->fsb;
	default:
		return 0;
	}
}

static void hpet_write_gconf(struct hpet *h, uint64_t v, int64_t now)
{
	uint64_t old = h->conf;
	if (!(old & GCONF_ENABLE) && (v & GCONF_ENABLE)) {
		h->t0 = now;
		for (unsigned i = 0; i < HPET_TIMERS; i++)
			h->t[i].from = 0;
	} else if ((old & GCONF_ENABLE) && !(v & GCONF_ENABLE))
		h->counter0 = hpet_counter(h, now);
	h->conf = v & (GCONF_ENABLE | GCONF_LEGACY);
	if (((old ^ h->conf) & GCONF_LEGACY) && h->pit)
		pit_set_irq_enabled(h->pit, !(h->conf & GCONF_LEGACY));
	hpet_rearm_all(h);
}

static void hpet_write_tconf(struct hpet_timer *t, uint64_t v, int64_t now)
{
	/* The new configuration compares from now on; earlier matches were
	 * processed under the old one (hpet_sync). */
	int64_t e = hpet_ticks(t->h, now);
	if (t->from < e)
		t->from = e;
	uint64_t n = (t->conf & ~TN_WRITABLE) | (v & TN_WRITABLE);
	unsigned route = (unsigned)((n & TN_ROUTE) >> TN_ROUTE_SHIFT);
	if (!((HPET_ROUTE_CAP >> route) & 1))
		n = (n & ~TN_ROUTE) | (t->conf & TN_ROUTE);  /* unsupported routes do not stick */
	if ((n & TN_32MODE) && !(t->conf & TN_32MODE)) {
		t->cmp = (uint32_t)t->cmp;
		t->period = (uint32_t)t->period;
	}
	if (!(n & TN_LEVEL))
		t->h->isr &= ~(1ULL << t->idx);
	t->conf = n;
}

/* A comparator write: in periodic mode it sets the period, and the
 * comparator too when Tn_VAL_SET_CNF was set (2.3.9.2.2). */
static void hpet_write_cmp(struct hpet_timer *t, uint64_t v, uint64_t mask, int64_t now)
{
	if (hpet_timer_32(t))
		mask &= 0xffffffffULL;
	if (!(t->conf & TN_PERIODIC) || (t->conf & TN_VAL_SET))
		t->cmp = (t->cmp & ~mask) | (v & mask);
	if (t->conf & TN_PERIODIC)
		t->period = (t->period & ~mask) | (v & mask);
	t->conf &= ~TN_VAL_SET;
	t->from = hpet_ticks(t->h, now);
}

/* A write of the bits in mask of the 64-bit register reg. */
static void hpet_reg_write(struct hpet *h, uint64_t reg, uint64_t v, uint64_t mask, int64_t now)
{
	hpet_sync(h, now);
	switch (reg) {
	case HPET_GCONF:
		hpet_write_gconf(h, (h->conf & ~mask) | (v & mask), now);
		return;
	case HPET_GISR:
		h->isr &= ~(v & mask);
		hpet_rearm_all(h);
		return;
	case HPET_COUNTER:
		if (hpet_enabled(h)) {
			log_guest(LOG_WARN, "hpet", "main counter written while running; ignored");
			return;
		}
		h->counter0 = (h->counter0 & ~mask) | (v & mask);
		return;                 /* the timers search from tick 0 at enable */
	default:
		break;
	}
	if (reg < HPET_TIMER0 || reg >= HPET_TIMER0 + HPET_TIMERS * HPET_TIMER_STRIDE)
		return;
	struct hpet_timer *t = &h->t[(reg - HPET_TIMER0) / HPET_TIMER_STRIDE];
	switch ((reg - HPET_TIMER0) % HPET_TIMER_STRIDE) {
	case HPET_TN_CONF:
		hpet_write_tconf(t, (t->conf & ~mask) | (v & mask), now);
		break;
	case HPET_TN_CMP:
		hpet_write_cmp(t, v, mask, now);
		break;
	case HPET_TN_FSB:
		t->fsb = (t->fsb & ~mask) | (v & mask);
		break;
	default:
		return;
	}
	hpet_timer_line(t);
	hpet_timer_arm(t, 0);
}

/* 32- and 64-bit accesses are what the spec allows; narrower ones see or
 * change the bytes they cover, which no driver relies on but is harmless. */
static uint64_t hpet_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct hpet *h = opaque;
	unsigned shift = 8 * (off & 7);
	uint64_t v = hpet_reg_read(h, off & ~7ULL, vclock_now(h->m->clock)) >> shift;
	return size >= 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void hpet_mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct hpet *h = opaque;
	unsigned shift = 8 * (off & 7);
	uint64_t mask = size >= 8 ? ~0ULL : ((1ULL << (8 * size)) - 1) << shift;
	hpet_reg_write(h, off & ~7ULL, v << shift, mask, vclock_now(h->m->clock));
}

static const struct iobus_ops hpet_ops = { hpet_mmio_read, hpet_mmio_write, 8 };

/* Power-on (2.3): halted, counter 0, comparators all ones, everything else
 * zero; the 8254 owns IRQ0 again. */
static void hpet_reset(void *dev)
{
	struct hpet *h = dev;
	h->conf = 0;
	h->isr = 0;
	h->counter0 = 0;
	h->t0 = vclock_now(h->m->clock);
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		struct hpet_timer *t = &h->t[i];
		t->conf = 0;
		t->cmp = ~0ULL;
		t->period = 0;
		t->fsb = 0;
		t->from = 0;
	}
	hpet_rearm_all(h);
	if (h->pit)
		pit_set_irq_enabled(h->pit, true);
}

static void hpet_destroy(void *dev)
{
	struct hpet *h = dev;
	for (unsigned i = 0; i < HPET_TIMERS; i++)
		vtimer_destroy(h->t[i].vt);
	iobus_remove(h->region);
	free(h);
}

static void *hpet_create(struct machine *m, const void *params)
{
	const struct hpet_params *p = params;
	struct hpet *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->pit = p ? p->pit : NULL;
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		struct hpet_timer *t = &h->t[i];
		t->h = h;
		t->idx = i;
		t->gsi = -1;
		t->vt = vtimer_create(m->clock, hpet_timer_fired, t);
		if (!t->vt) {
			hpet_destroy(h);
			return NULL;
		}
	}
	if (iobus_add(m->mmio, "hpet", HPET_BASE, HPET_MMIO_SIZE, &hpet_ops, h, 0, &h->region)) {
		log_err("hpet", "cannot claim the HPET page at %#llx", HPET_BASE);
		hpet_destroy(h);
		return NULL;
	}
	hpet_reset(h);
	return h;
}

const struct device_desc hpet_desc = {
	.name = "hpet",
	.create = hpet_create,
	.reset = hpet_reset,
	.destroy = hpet_destroy,
};
