/*
 * rtc: Motorola MC146818A real-time clock plus 114 bytes of CMOS RAM, as
 * wired on the PC: index register at port 0x70 (bit 7 masks NMI), data at
 * 0x71, interrupt on ISA IRQ 8, century byte at CMOS 0x32 (IBM PC/AT).
 *
 * Follows the MC146818A datasheet (Motorola, rev. 1984): time, calendar and
 * alarm registers in BCD or binary (DM) and 12- or 24-hour form (with the
 * PM bit), register A's divider (DV2-0) and rate select (RS3-0) with the
 * update-in-progress bit, register B's SET, PIE, AIE, UIE, SQWE, DM, 24/12
 * and DSE, register C's IRQF, PF, AF and UF (cleared by reading C), register
 * D's VRT, alarm "don't care" values (11xxxxxx), and the daylight-saving
 * update of DSE (last Sunday in April, last Sunday in October).
 *
 * Model: instead of ticking the registers, the clock is "seconds at the
 * divider chain's last origin" plus guest time, so a running clock costs
 * nothing and follows guest time (with --icount it is reproducible). The
 * registers are computed on every read. While SET is held or the divider is
 * in reset the registers are frozen bytes the guest may rewrite; when the
 * clock runs again they are read back and the clock keeps that offset from
 * then on, the chain's sub-second phase preserved as on the chip.
 *
 * The flags in register C are computed lazily from guest time when C is
 * read; timers run only while an interrupt that needs them is enabled (the
 * periodic timer for PIE, the update timer for UIE, or for AIE the next
 * alarm time), so an idle guest costs no host wake-ups.
 */
#include "isa/rtc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define RTC_GSI 8
#define RTC_HZ 32768

enum {
	REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03,
	REG_HOUR = 0x04, REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
	REG_MONTH = 0x08, REG_YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c,
	REG_D = 0x0d,
};

#define A_UIP 0x80
#define A_DV 0x70
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM 0x04                       /* binary, not BCD */
#define B_24H 0x02
#define B_DSE 0x01
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80

#define HOUR_PM 0x80
#define ALARM_DONT_CARE 0xc0

/* UIP rises 244 us before an update and stays up through the 1984 us update
 * cycle (datasheet, "Update cycle"): 8 and 65 cycles of the 32768 Hz base. */
#define RTC_UIP_BEFORE_NS 244141
#define RTC_UIP_AFTER_NS 1983643

#define NEVER INT64_MAX

/* The time registers as bytes, in the format register B selects. */
struct rtc_regs {
	uint8_t sec, min, hour, wday, mday, month, year, century;
};

struct rtc {
	struct machine *m;
	struct iobus_region *region;
	struct irq_line irq;
	struct vtimer *periodic, *update;
	uint8_t cmos[RTC_CMOS_SIZE];    /* RAM; time bytes hold values only while stopped */
	uint8_t index;
	bool nmi_masked;
	int64_t origin_ns;              /* guest time of a divider-chain second boundary */
	int64_t base_secs;              /* standard-time seconds at origin_ns */
	int64_t flags_upto_ns;          /* register C accounts for events up to here */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static bool rtc_divider_running(uint8_t a)
{
	return ((a & A_DV) >> 4) <= 2;  /* 4.194304 MHz, 1.048576 MHz or 32.768 kHz */
}

/* The registers count time (neither SET held nor the divider in reset). */
static bool rtc_ticking(const struct rtc *r)
{
	return rtc_divider_running(r->cmos[REG_A]) && !(r->cmos[REG_B] & B_SET);
}

static int64_t rtc_now(const struct rtc *r)
{
	return vclock_now(r->m->clock);
}

static int64_t rtc_seconds(const struct rtc *r, int64_t now)
{
	return r->base_secs + floor_div(now - r->origin_ns, NS_PER_SEC);
}

/* 32768 Hz ticks in ns nanoseconds (ns >= 0), without 64-bit overflow. */
static int64_t rtc_ticks(int64_t ns)
{
	if (ns < 0)
		return 0;
	return (ns / NS_PER_SEC) * RTC_HZ + (ns % NS_PER_SEC) * RTC_HZ / NS_PER_SEC;
}

/* The first nanosecond at which tick n has happened. */
static int64_t rtc_tick_ns(int64_t n)
{
	return (n / RTC_HZ) * NS_PER_SEC + ((n % RTC_HZ) * NS_PER_SEC + RTC_HZ - 1) / RTC_HZ;
}

/* Periodic interrupt rate (datasheet table 5, 32.768 kHz time base). */
static int64_t rtc_period_ticks(unsigned rs)
{
	return rs <= 2 ? (int64_t)64 << rs : (int64_t)1 << (rs - 1);
}

/* ---- calendar ----------------------------------------------------------- */

static uint8_t rtc_to_reg(const struct rtc *r, int v)
{
	v = ((v % 100) + 100) % 100;
	return (uint8_t)((r->cmos[REG_B] & B_DM) ? v : (v / 10) << 4 | v % 10);
}

static int rtc_from_reg(const struct rtc *r, uint8_t v)
{
	return (r->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_hour_reg(const struct rtc *r, int hour)
{
	if (r->cmos[REG_B] & B_24H)
		return rtc_to_reg(r, hour);
	return (uint8_t)(rtc_to_reg(r, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? HOUR_PM : 0));
}

static int rtc_hour_from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_24H)
		return rtc_from_reg(r, v);
	return rtc_from_reg(r, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

/* 00:00 UTC on the last Sunday of a month (month 0-11). */
static int64_t rtc_last_sunday(int year, int month)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = month + 1, .tm_mday = 0 };
	time_t last = timegm(&tm);      /* day 0 of the next month: the last day */
	struct tm t;
	gmtime_r(&last, &t);
	return (int64_t)last - (int64_t)t.tm_wday * 86400;
}

/* Daylight saving as DSE applies it, on standard time: from 2:00 on the last
 * Sunday in April until 1:00 (2:00 daylight) on the last Sunday in October. */
static bool rtc_in_dst(int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return false;
	int year = tm.tm_year + 1900;
	return secs >= rtc_last_sunday(year, 3) + 2 * 3600 &&
	       secs < rtc_last_sunday(year, 9) + 3600;
}

static int64_t rtc_dst_offset(const struct rtc *r, int64_t secs)
{
	return (r->cmos[REG_B] & B_DSE) && rtc_in_dst(secs) ? 3600 : 0;
}

static void rtc_encode(const struct rtc *r, int64_t secs, struct rtc_regs *out)
{
	time_t t = (time_t)(secs + rtc_dst_offset(r, secs));
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	int year = tm.tm_year + 1900;
	out->sec = rtc_to_reg(r, tm.tm_sec);
	out->min = rtc_to_reg(r, tm.tm_min);
	out->hour = rtc_hour_reg(r, tm.tm_hour);
	out->wday = rtc_to_reg(r, tm.tm_wday + 1);      /* Sunday is 1 */
	out->mday = rtc_to_reg(r, tm.tm_mday);
	out->month = rtc_to_reg(r, tm.tm_mon + 1);
	out->year = rtc_to_reg(r, year % 100);
	out->century = rtc_to_reg(r, year / 100);
}

/* Out-of-range values (month 13, BCD 0x5a...) are normalised the way a
 * calendar would; the day of the week is recomputed from the date. */
static int64_t rtc_decode(const struct rtc *r, const struct rtc_regs *in)
{
	struct tm tm = {
		.tm_sec = rtc_from_reg(r, in->sec),
		.tm_min = rtc_from_reg(r, in->min),
		.tm_hour = rtc_hour_from_reg(r, in->hour),
		.tm_mday = rtc_from_reg(r, in->mday),
		.tm_mon = rtc_from_reg(r, in->month) - 1,
		.tm_year = rtc_from_reg(r, in->century) * 100 + rtc_from_reg(r, in->year) - 1900,
	};
	int64_t secs = (int64_t)timegm(&tm);
	return secs - rtc_dst_offset(r, secs - 3600);
}

/* The time registers live in the CMOS array while the clock is stopped. */
static uint8_t *rtc_reg_slot(struct rtc_regs *t, unsigned index)
{
	switch (index) {
	case REG_SEC: return &t->sec;
	case REG_MIN: return &t->min;
	case REG_HOUR: return &t->hour;
	case REG_WDAY: return &t->wday;
	case REG_MDAY: return &t->mday;
	case REG_MONTH: return &t->month;
	case REG_YEAR: return &t->year;
	case RTC_CMOS_CENTURY: return &t->century;
	}
	return NULL;
}

static void rtc_regs_from_cmos(const struct rtc *r, struct rtc_regs *t)
{
	*t = (struct rtc_regs){ r->cmos[REG_SEC], r->cmos[REG_MIN], r->cmos[REG_HOUR],
				r->cmos[REG_WDAY], r->cmos[REG_MDAY], r->cmos[REG_MONTH],
				r->cmos[REG_YEAR], r->cmos[RTC_CMOS_CENTURY] };
}

static void rtc_regs_to_cmos(struct rtc *r, const struct rtc_regs *t)
{
	r->cmos[REG_SEC] = t->sec;
	r->cmos[REG_MIN] = t->min;
	r->cmos[REG_HOUR] = t->hour;
	r->cmos[REG_WDAY] = t->wday;
	r->cmos[REG_MDAY] = t->mday;
	r->cmos[REG_MONTH] = t->month;
	r->cmos[REG_YEAR] = t->year;
	r->cmos[RTC_CMOS_CENTURY] = t->century;
}

/* The clock stops: keep the current time in the registers. */
static void rtc_freeze(struct rtc *r, int64_t now)
{
	struct rtc_regs t;
	rtc_encode(r, rtc_seconds(r, now), &t);
	rtc_regs_to_cmos(r, &t);
}

/* The clock runs again from what the registers say, keeping the phase of
 * the divider chain. */
static void rtc_thaw(struct rtc *r, int64_t now)
{
	struct rtc_regs t;
	rtc_regs_from_cmos(r, &t);
	r->base_secs = rtc_decode(r, &t) - floor_div(now - r->origin_ns, NS_PER_SEC);
}

/* ---- alarm, flags, interrupt --------------------------------------------- */

static bool rtc_alarm_match(uint8_t alarm, uint8_t value)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == value;
}

/*
 * The first second after s0 whose time of day matches the alarm registers
 * (compared as the chip does, byte for byte in the current format), or NEVER.
 * Skips whole hours and minutes that cannot match, so it takes at most a few
 * hundred steps.
 */
static int64_t rtc_next_alarm(const struct rtc *r, int64_t s0)
{
	bool hour_ok[24], min_ok[60], sec_ok[60];
	bool any_h = false, any_m = false, any_s = false;
	for (int h = 0; h < 24; h++)
		any_h |= hour_ok[h] = rtc_alarm_match(r->cmos[REG_HOUR_ALARM], rtc_hour_reg(r, h));
	for (int i = 0; i < 60; i++) {
		any_m |= min_ok[i] = rtc_alarm_match(r->cmos[REG_MIN_ALARM], rtc_to_reg(r, i));
		any_s |= sec_ok[i] = rtc_alarm_match(r->cmos[REG_SEC_ALARM], rtc_to_reg(r, i));
	}
	if (!any_h || !any_m || !any_s)
		return NEVER;
	int64_t off = rtc_dst_offset(r, s0);
	int64_t s = s0 + 1;
	for (int steps = 0; steps < 1000; steps++) {
		int64_t tod = floor_mod(s + off, 86400);
		int h = (int)(tod / 3600), m = (int)(tod / 60 % 60), sec = (int)(tod % 60);
		if (!hour_ok[h])
			s += 3600 - tod % 3600;
		else if (!min_ok[m])
			s += 60 - sec;
		else if (!sec_ok[sec])
			s++;
		else
			return s;
	}
	return NEVER;
}

/* Set the C flags for every event in (flags_upto_ns, now]. */
static void rtc_eval(struct rtc *r, int64_t now)
{
	int64_t from = r->flags_upto_ns;
	if (now <= from)
		return;
	r->flags_upto_ns = now;
	uint8_t a = r->cmos[REG_A];
	if (!rtc_divider_running(a))
		return;
	if (from < r->origin_ns)
		from = r->origin_ns;
	/* PF is set at every edge of the selected divider tap, enabled or not. */
	if (a & A_RS) {
		int64_t p = rtc_period_ticks(a & A_RS);
		if (rtc_ticks(now - r->origin_ns) / p > rtc_ticks(from - r->origin_ns) / p)
			r->cmos[REG_C] |= C_PF;
	}
	if (r->cmos[REG_B] & B_SET)
		return;
	int64_t s0 = rtc_seconds(r, from), s1 = rtc_seconds(r, now);
	if (s1 > s0) {
		r->cmos[REG_C] |= C_UF;
		if (rtc_next_alarm(r, s0) <= s1)
			r->cmos[REG_C] |= C_AF;
	}
}

static bool rtc_irqf(const struct rtc *r)
{
	uint8_t b = r->cmos[REG_B], c = r->cmos[REG_C];
	return ((b & B_PIE) && (c & C_PF)) || ((b & B_AIE) && (c & C_AF)) ||
	       ((b & B_UIE) && (c & C_UF));
}

/* IRQ 8 follows IRQF: an edge for the PIC when a new enabled event sets it. */
static void rtc_update_irq(struct rtc *r)
{
	irq_line_set(&r->irq, rtc_irqf(r));
}

static void rtc_arm_periodic(struct rtc *r, int64_t now)
{
	uint8_t a = r->cmos[REG_A];
	if (!(r->cmos[REG_B] & B_PIE) || !(a & A_RS) || !rtc_divider_running(a)) {
		vtimer_disarm(r->periodic);
		return;
	}
	int64_t p = rtc_period_ticks(a & A_RS);
	int64_t next = (rtc_ticks(now - r->origin_ns) / p + 1) * p;
	vtimer_arm(r->periodic, r->origin_ns + rtc_tick_ns(next));
}

static void rtc_arm_update(struct rtc *r, int64_t now)
{
	uint8_t b = r->cmos[REG_B];
	int64_t when = NEVER;
	if (rtc_ticking(r) && (b & B_UIE)) {
		when = r->origin_ns + (floor_div(now - r->origin_ns, NS_PER_SEC) + 1) * NS_PER_SEC;
	} else if (rtc_ticking(r) && (b & B_AIE)) {
		int64_t s = rtc_next_alarm(r, rtc_seconds(r, now));
		if (s != NEVER)
			when = r->origin_ns + (s - r->base_secs) * NS_PER_SEC;
	}
	if (when == NEVER)
		vtimer_disarm(r->update);
	else
		vtimer_arm(r->update, when);
}

/* Timer thread, device lock held. */
static void rtc_periodic_fired(void *opaque, int64_t now)
{
	struct rtc *r = opaque;
	rtc_eval(r, now);
	rtc_update_irq(r);
	rtc_arm_periodic(r, now);
}

static void rtc_update_fired(void *opaque, int64_t now)
{
	struct rtc *r = opaque;
	rtc_eval(r, now);
	rtc_update_irq(r);
	rtc_arm_update(r, now);
}

/* After any change of the clock's state: interrupt line and timers. */
static void rtc_changed(struct rtc *r, int64_t now)
{
	rtc_update_irq(r);
	rtc_arm_periodic(r, now);
	rtc_arm_update(r, now);
}

/* ---- registers ----------------------------------------------------------- */

static bool rtc_uip(const struct rtc *r, int64_t now)
{
	if (!rtc_ticking(r))
		return false;
	int64_t frac = floor_mod(now - r->origin_ns, NS_PER_SEC);
	return frac >= NS_PER_SEC - RTC_UIP_BEFORE_NS || frac < RTC_UIP_AFTER_NS;
}

/* Device lock held. clear: a guest read, which clears register C. */
static uint8_t rtc_read(struct rtc *r, unsigned index, bool clear)
{
	int64_t now = rtc_now(r);
	struct rtc_regs t;
	uint8_t *slot = rtc_reg_slot(&t, index);
	if (slot && rtc_ticking(r)) {
		rtc_encode(r, rtc_seconds(r, now), &t);
		return *slot;
	}
	switch (index) {
	case REG_A:
		return (uint8_t)(r->cmos[REG_A] | (rtc_uip(r, now) ? A_UIP : 0));
	case REG_C: {
		rtc_eval(r, now);
		uint8_t v = (uint8_t)(r->cmos[REG_C] | (rtc_irqf(r) ? C_IRQF : 0));
		if (clear) {
			r->cmos[REG_C] = 0;
			rtc_update_irq(r);
		}
		return v;
	}
	case REG_D:
		return D_VRT;           /* the battery is always good */
	default:
		return r->cmos[index];
	}
}

/* A time or calendar register written while the clock runs: the new value
 * takes effect at once and the clock counts on from it. */
static void rtc_set_running_time(struct rtc *r, unsigned index, uint8_t v, int64_t now)
{
	struct rtc_regs t;
	rtc_encode(r, rtc_seconds(r, now), &t);
	*rtc_reg_slot(&t, index) = v;
	r->base_secs = rtc_decode(r, &t) - floor_div(now - r->origin_ns, NS_PER_SEC);
}

/* Device lock held. */
static void rtc_write(struct rtc *r, unsigned index, uint8_t v)
{
	int64_t now = rtc_now(r);
	struct rtc_regs t;
	bool was_ticking = rtc_ticking(r);

	rtc_eval(r, now);
	switch (index) {
	case REG_A: {
		bool was_running = rtc_divider_running(r->cmos[REG_A]);
		if (was_ticking && !rtc_divider_running(v))
			rtc_freeze(r, now);
		r->cmos[REG_A] = v & (uint8_t)~A_UIP;
		/* Out of reset, the first update comes half a second later. */
		if (!was_running && rtc_divider_running(v))
			r->origin_ns = now - NS_PER_SEC / 2;
		if (!was_ticking && rtc_ticking(r))
			rtc_thaw(r, now);
		break;
	}
	case REG_B:
		if (v & B_SET)
			v &= (uint8_t)~B_UIE;   /* SET clears UIE */
		if (was_ticking && (v & B_SET))
			rtc_freeze(r, now);     /* in the old format, as the chip holds it */
		r->cmos[REG_B] = v;
		if (!was_ticking && rtc_ticking(r))
			rtc_thaw(r, now);
		break;
	case REG_C:
	case REG_D:
		break;                  /* read-only */
	default:
		if (rtc_reg_slot(&t, index) && was_ticking)
			rtc_set_running_time(r, index, v, now);
		else
			r->cmos[index] = v;
		break;
	}
	rtc_changed(r, now);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc *r = opaque;
	if (off == 0)
		return 0xff;            /* the index register is write-only */
	return rtc_read(r, r->index, true);
}

static void rtc_io_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct rtc *r = opaque;
	if (off == 0) {
		r->index = value & 0x7f;
		r->nmi_masked = value & 0x80;
		return;
	}
	rtc_write(r, r->index, (uint8_t)value);
}

static const struct iobus_ops rtc_io_ops = { rtc_io_read, rtc_io_write, 1 };

void rtc_cmos_set(void *rtc, unsigned index, uint8_t value)
{
	if (index >= RTC_CMOS_SIZE) {
		log_warn("rtc", "CMOS byte %#x does not exist", index);
		return;
	}
	rtc_write(rtc, index, value);
}

uint8_t rtc_cmos_get(void *rtc, unsigned index)
{
	if (index >= RTC_CMOS_SIZE)
		return 0xff;
	return rtc_read(rtc, index, false);
}

/* Machine reset: the PC ties the chip's RESET to system reset, which clears
 * the interrupt enables and flags but not the time or the RAM. */
static void rtc_reset(void *dev)
{
	struct rtc *r = dev;
	int64_t now = rtc_now(r);
	rtc_eval(r, now);
	r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->cmos[REG_C] = 0;
	r->index = 0;
	r->nmi_masked = false;
	rtc_changed(r, now);
}

static void *rtc_create(struct machine *m, const void *params)
{
	const struct rtc_params *p = params;
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->m = m;
	irq_line_init(&r->irq, m, RTC_GSI);
	r->periodic = vtimer_create(m->clock, rtc_periodic_fired, r);
	r->update = vtimer_create(m->clock, rtc_update_fired, r);
	if (!r->periodic || !r->update)
		goto free_timers;
	if (iobus_add(m->pio, "rtc", 0x70, 2, &rtc_io_ops, r, 0, &r->region))
		goto free_timers;
	/* 32.768 kHz time base, 1024 Hz periodic rate; 24-hour BCD. */
	r->cmos[REG_A] = 0x26;
	r->cmos[REG_B] = B_24H;
	r->origin_ns = 0;
	r->base_secs = p && p->fixed_start ? p->start_epoch : vclock_epoch_at_start(m->clock);
	r->flags_upto_ns = rtc_now(r);
	return r;
free_timers:
	vtimer_destroy(r->periodic);
	vtimer_destroy(r->update);
	free(r);
	return NULL;
}

static void rtc_destroy(void *dev)
{
	struct rtc *r = dev;
	iobus_remove(r->region);
	vtimer_destroy(r->periodic);
	vtimer_destroy(r->update);
	free(r);
}

const struct device_desc rtc_desc = {
	.name = "mc146818",
	.create = rtc_create,
	.reset = rtc_reset,
	.destroy = rtc_destroy,
};
