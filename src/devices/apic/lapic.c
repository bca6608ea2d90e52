/*
 * lapic: the local APIC of one vCPU, Intel SDM Vol. 3A chapter 10 ("Advanced
 * Programmable Interrupt Controller"; chapter 11 in newer editions):
 * xAPIC registers (table 10-1) and their x2APIC MSRs (table 10-6), IA32_APIC_BASE
 * and the xAPIC/x2APIC/disabled transitions (10.4.4, 10.12.5), TPR/PPR/APR
 * (10.8.3), IRR/ISR/TMR and EOI (10.8.4-5), the LVT (10.5.1), the timer in
 * one-shot, periodic and TSC-deadline mode (10.5.4), ESR (10.5.3), the
 * spurious-interrupt register (10.9), IPIs through the ICR (10.6) and the
 * reset/INIT states (10.4.7). The contract with the CPU is in lapic.h.
 *
 * The timer's input is a 1 GHz bus clock, as on KVM and QEMU, so a tick is
 * (divide value) ns. The current count is computed from guest time when read;
 * the vtimer only runs while the interrupt can be delivered (unmasked), and a
 * periodic timer fires at most every LAPIC_MIN_PERIOD_NS (KVM clamps periodic
 * timers the same way): faster periods still read back exactly.
 *
 * The BSP's LINT0 starts as ExtINT, unmasked, as KVM and QEMU set it up, so
 * the 8259's interrupts reach a guest that never programs its APIC; like
 * KVM, an ExtINT LINT0 passes the 8259 even while the APIC is software
 * disabled, and a globally disabled APIC hands the 8259's INTR (and LINT1 as
 * NMI) straight to the CPU.
 *
 * Locking: each LAPIC has its own mutex, taken after the device lock. The
 * CPU's entry points run without the device lock and take it first when they
 * reach the vtimer (whose list the device lock protects) or the 8259. The
 * pending-event word is atomic so the CPU can poll it without any lock. The
 * vCPU is kicked with the LAPIC lock held (order LAPIC -> vCPU lock).
 */
#include "apic/lapic.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "apic/apicbus.h"
#include "cpu/vcpu.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ULL
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10)
#define APIC_BASE_EN (1ULL << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000ULL
#define APIC_BASE_RESERVED (~(APIC_BASE_ADDR | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN))

#define LAPIC_VERSION 0x14u             /* integrated APIC, Pentium 4 and later */
#define LAPIC_NLVT 6
#define LAPIC_MIN_PERIOD_NS 100000      /* periodic timer: at most 10000 interrupts/s */

#define X2APIC_MSR_FIRST 0x800
#define X2APIC_MSR_LAST 0x8ff

/* Register offsets in the xAPIC page; x2APIC MSR = 0x800 + offset / 16. */
enum {
	APIC_ID = 0x020, APIC_VER = 0x030, APIC_TPR = 0x080, APIC_APR = 0x090,
	APIC_PPR = 0x0a0, APIC_EOI = 0x0b0, APIC_RRD = 0x0c0, APIC_LDR = 0x0d0,
	APIC_DFR = 0x0e0, APIC_SVR = 0x0f0, APIC_ISR = 0x100, APIC_TMR = 0x180,
	APIC_IRR = 0x200, APIC_ESR = 0x280, APIC_ICR = 0x300, APIC_ICR2 = 0x310,
	APIC_LVT0 = 0x320,              /* timer, thermal, perf, LINT0, LINT1, error */
	APIC_TMICT = 0x380, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0, APIC_SELF_IPI = 0x3f0,
};
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

#define LVT_VECTOR(v) ((uint8_t)(v))
#define LVT_DM(v) (((v) >> 8) & 7)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_LEVEL (1u << 15)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* Bits software can write in each LVT entry (figure 10-8). */
static const uint32_t lapic_lvt_writable[LAPIC_NLVT] = {
	0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff,
};

#define SVR_ENABLE 0x100u
#define SVR_WRITABLE 0x3ffu             /* vector, enable, focus; no EOI suppression */
#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECV_ILLEGAL 0x40u
#define ESR_ILLEGAL_REG 0x80u
#define ICR_WRITABLE 0x000ccfffu        /* vector, mode, dest mode, level, trigger, shorthand */
#define ICR_LOGICAL (1u << 11)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)

struct lapic {
	struct machine *m;
	struct apicbus *bus;
	unsigned index;
	struct vtimer *timer;
	pthread_mutex_t lock;
	_Atomic unsigned events;        /* LAPIC_EV_*, rewritten under lock */
	_Atomic uint64_t base;          /* IA32_APIC_BASE; written under lock */

	/* Everything below is under lock. */
	uint32_t id;                    /* APIC ID: 8 bits (xAPIC) or 32 (x2APIC) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;      /* visible ESR, errors since the last ESR write */
	uint32_t icr, icr2;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[LAPIC_NLVT];
	uint32_t tmict, tdcr;
	/* Timer: the count was timer_c0 at timer_t0 (0: stopped or expired). */
	int64_t timer_t0;
	uint32_t timer_c0;
	int64_t timer_due;              /* the expiry the vtimer waits for */
	int64_t tsc_deadline;           /* guest ns, INT64_MAX when disarmed */
	bool nmi, init, sipi, wait_sipi;
	uint8_t sipi_vector;
	bool extint;                    /* an ExtINT message (I/O APIC) is pending */
	bool lint[2];                   /* input levels; LINT0 is the 8259's INTR */
};

/* ---- 256-bit vector registers ------------------------------------------------ */

static void vec_set(uint32_t *v, unsigned n)
{
	v[n >> 5] |= 1u << (n & 31);
}

static void vec_clear(uint32_t *v, unsigned n)
{
	v[n >> 5] &= ~(1u << (n & 31));
}

static bool vec_test(const uint32_t *v, unsigned n)
{
	return v[n >> 5] & (1u << (n & 31));
}

static int vec_highest(const uint32_t *v)
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

/* ---- state helpers (LAPIC lock held) ------------------------------------------- */

static bool lapic_hw_enabled(const struct lapic *l)
{
	return atomic_load(&l->base) & APIC_BASE_EN;
}

static bool lapic_x2apic(const struct lapic *l)
{
	return (atomic_load(&l->base) & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
	       (APIC_BASE_EN | APIC_BASE_EXTD);
}

static bool lapic_sw_enabled(const struct lapic *l)
{
	return l->svr & SVR_ENABLE;
}

/* Processor priority (10.8.3.1). */
static uint32_t lapic_ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

/* The IRR vector the CPU would take now, or -1. */
static int lapic_deliverable(const struct lapic *l)
{
	int v = vec_highest(l->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return v;
}

/* The 8259 (or an ExtINT message) asks for an INTA. */
static bool lapic_extint_active(const struct lapic *l)
{
	if (!lapic_hw_enabled(l))
		return l->lint[0];
	uint32_t lvt = l->lvt[LVT_LINT0];
	return l->extint ||
	       (l->lint[0] && !(lvt & LVT_MASKED) && LVT_DM(lvt) == APIC_DM_EXTINT);
}

/* Publish the pending events and wake the vCPU when something new appeared. */
static void lapic_update(struct lapic *l)
{
	unsigned ev = 0;
	if (l->nmi)
		ev |= LAPIC_EV_NMI;
	if (l->init)
		ev |= LAPIC_EV_INIT;
	if (l->sipi)
		ev |= LAPIC_EV_SIPI;
	if (lapic_extint_active(l) || (lapic_hw_enabled(l) && lapic_deliverable(l) >= 0))
		ev |= LAPIC_EV_INTR;
	unsigned old = atomic_exchange(&l->events, ev);
	if (ev & ~old) {
		struct vcpu *v = l->m->vcpus[l->index];
		if (v)
			vcpu_kick(v);
	}
}

static void lapic_set_irr(struct lapic *l, uint8_t vector, bool level);

/* Record an error (10.5.3) and raise the error interrupt if it is unmasked. */
static void lapic_error(struct lapic *l, uint32_t bits)
{
	l->esr_pending |= bits;
	uint32_t lvt = l->lvt[LVT_ERROR];
	if (!(lvt & LVT_MASKED) && LVT_VECTOR(lvt) >= 16)
		lapic_set_irr(l, LVT_VECTOR(lvt), false);
}

/* Accept a fixed interrupt; vectors 0-15 are illegal (10.5.2). */
static void lapic_set_irr(struct lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		lapic_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
}

/* Level-triggered fixed LINT0: deliver while asserted and not in service. */
static void lapic_lint0_level(struct lapic *l)
{
	uint32_t lvt = l->lvt[LVT_LINT0];
	if (l->lint[0] && !(lvt & (LVT_MASKED | LVT_REMOTE_IRR)) && (lvt & LVT_LEVEL) &&
	    LVT_DM(lvt) == APIC_DM_FIXED) {
		lapic_set_irr(l, LVT_VECTOR(lvt), true);
		l->lvt[LVT_LINT0] |= LVT_REMOTE_IRR;
	}
}

/* ---- timer (device lock and LAPIC lock held) ------------------------------------- */

static int64_t lapic_tick_ns(const struct lapic *l)
{
	unsigned dv = (l->tdcr & 3) | ((l->tdcr >> 1) & 4);
	return (int64_t)1 << ((dv + 1) & 7);
}

static unsigned lapic_timer_mode(const struct lapic *l)
{
	unsigned mode = LVT_TIMER_MODE(l->lvt[LVT_TIMER]);
	return mode == TIMER_PERIODIC || mode == TIMER_TSC_DEADLINE ? mode : TIMER_ONESHOT;
}

/* Current count register (10.5.4). */
static uint32_t lapic_timer_ccr(const struct lapic *l, int64_t now)
{
	if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE || !l->timer_c0 || now < l->timer_t0)
		return l->timer_c0;
	uint64_t e = (uint64_t)(now - l->timer_t0) / (uint64_t)lapic_tick_ns(l);
	if (e < l->timer_c0)
		return (uint32_t)(l->timer_c0 - e);
	if (lapic_timer_mode(l) == TIMER_PERIODIC && l->tmict)
		return (uint32_t)(l->tmict - (e - l->timer_c0) % l->tmict);
	return 0;
}

/* The first expiry strictly after now... or at now for a past TSC deadline. */
static int64_t lapic_timer_next(const struct lapic *l, int64_t now)
{
	if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE)
		return l->tsc_deadline;
	if (!l->timer_c0)
		return INT64_MAX;
	int64_t tick = lapic_tick_ns(l);
	int64_t first = l->timer_t0 + (int64_t)l->timer_c0 * tick;
	if (first > now)
		return first;
	if (lapic_timer_mode(l) != TIMER_PERIODIC || !l->tmict)
		return INT64_MAX;
	int64_t period = (int64_t)l->tmict * tick;
	return first + ((now - first) / period + 1) * period;
}

/* Expiries that passed while the timer was masked are lost, as on hardware. */
static void lapic_timer_sync(struct lapic *l, int64_t now)
{
	if (!(l->lvt[LVT_TIMER] & LVT_MASKED) && lapic_hw_enabled(l))
		return;
	if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE) {
		if (l->tsc_deadline <= now)
			l->tsc_deadline = INT64_MAX;
	} else if (lapic_timer_mode(l) == TIMER_ONESHOT && l->timer_c0 &&
		   lapic_timer_ccr(l, now) == 0) {
		l->timer_c0 = 0;
	}
}

static void lapic_timer_arm(struct lapic *l, int64_t now, int64_t not_before)
{
	if ((l->lvt[LVT_TIMER] & LVT_MASKED) || !lapic_hw_enabled(l)) {
		vtimer_disarm(l->timer);
		return;
	}
	l->timer_due = lapic_timer_next(l, now);
	if (l->timer_due == INT64_MAX)
		vtimer_disarm(l->timer);
	else
		vtimer_arm(l->timer, l->timer_due > not_before ? l->timer_due : not_before);
}

/* Restart the countdown from the current count (divide or mode change). */
static void lapic_timer_rebase(struct lapic *l, int64_t now)
{
	l->timer_c0 = lapic_timer_ccr(l, now);
	l->timer_t0 = now;
}

static void lapic_timer_fire(struct lapic *l)
{
	uint32_t lvt = l->lvt[LVT_TIMER];
	if (!(lvt & LVT_MASKED))
		lapic_set_irr(l, LVT_VECTOR(lvt), false);
}

/* Timer thread, device lock held. */
static void lapic_timer_fired(void *opaque, int64_t now)
{
	struct lapic *l = opaque;
	pthread_mutex_lock(&l->lock);
	int64_t not_before = 0;
	if (now >= l->timer_due) {
		switch (lapic_timer_mode(l)) {
		case TIMER_TSC_DEADLINE:
			l->tsc_deadline = INT64_MAX;
			break;
		case TIMER_ONESHOT:
			l->timer_c0 = 0;
			break;
		default:
			not_before = now + LAPIC_MIN_PERIOD_NS;
			break;
		}
		lapic_timer_fire(l);
	}
	lapic_timer_arm(l, now, not_before);
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
}

/* ---- register writes that need the device lock -------------------------------------- */

static void lapic_write_lvt(struct lapic *l, unsigned idx, uint32_t v)
{
	v &= lapic_lvt_writable[idx];
	if (!lapic_sw_enabled(l))
		v |= LVT_MASKED;
	v |= l->lvt[idx] & LVT_REMOTE_IRR;
	if (idx == LVT_LINT0 && (!(v & LVT_LEVEL) || LVT_DM(v) != APIC_DM_FIXED))
		v &= ~LVT_REMOTE_IRR;
	if (idx != LVT_TIMER) {
		l->lvt[idx] = v;
		if (idx == LVT_LINT0)
			lapic_lint0_level(l);
		return;
	}
	int64_t now = vclock_now(l->m->clock);
	lapic_timer_sync(l, now);
	unsigned old_mode = lapic_timer_mode(l);
	lapic_timer_rebase(l, now);
	l->lvt[LVT_TIMER] = v;
	/* Entering or leaving TSC-deadline mode disarms the timer (10.5.4.1). */
	if ((old_mode == TIMER_TSC_DEADLINE) != (lapic_timer_mode(l) == TIMER_TSC_DEADLINE)) {
		l->tmict = 0;
		l->timer_c0 = 0;
		l->tsc_deadline = INT64_MAX;
	}
	lapic_timer_arm(l, now, 0);
}

static void lapic_write_svr(struct lapic *l, uint32_t v)
{
	l->svr = v & SVR_WRITABLE;
	if (lapic_sw_enabled(l))
		return;
	/* Software disable masks every LVT entry (10.4.7.2). */
	for (unsigned i = 0; i < LAPIC_NLVT; i++)
		l->lvt[i] |= LVT_MASKED;
	vtimer_disarm(l->timer);
}

static void lapic_write_timer(struct lapic *l, unsigned reg, uint32_t v)
{
	int64_t now = vclock_now(l->m->clock);
	lapic_timer_sync(l, now);
	if (reg == APIC_TDCR) {
		lapic_timer_rebase(l, now);
		l->tdcr = v & 0xb;
	} else if (lapic_timer_mode(l) != TIMER_TSC_DEADLINE) {
		l->tmict = v;
		l->timer_c0 = v;
		l->timer_t0 = now;
	}
	lapic_timer_arm(l, now, 0);
}

static bool lapic_reg_needs_devlock(unsigned reg)
{
	return reg == APIC_LVT0 || reg == APIC_SVR || reg == APIC_TMICT || reg == APIC_TDCR;
}

/* ---- reset ---------------------------------------------------------------------- */

/* LAPIC lock and device lock held. Keeps the APIC ID and base (INIT). */
static void lapic_clear_state(struct lapic *l)
{
	l->tpr = 0;
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr = l->icr2 = 0;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	for (unsigned i = 0; i < LAPIC_NLVT; i++)
		l->lvt[i] = LVT_MASKED;
	l->tmict = l->tdcr = 0;
	l->timer_c0 = 0;
	l->timer_t0 = 0;
	l->tsc_deadline = INT64_MAX;
	l->nmi = l->init = l->sipi = false;
	l->extint = false;
	vtimer_disarm(l->timer);
}

/* Device lock held (or nothing runs yet): power-on state (10.4.7.1). */
static void lapic_power_on(struct lapic *l, bool bsp)
{
	pthread_mutex_lock(&l->lock);
	lapic_clear_state(l);
	atomic_store(&l->base, LAPIC_DEFAULT_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0));
	l->id = l->index;
	l->ldr = 0;
	if (bsp)
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	l->wait_sipi = !bsp;
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
}

void lapic_reset(struct lapic *l, bool bsp)
{
	machine_lock(l->m);
	lapic_power_on(l, bsp);
	machine_unlock(l->m);
}

/* ---- the CPU side ------------------------------------------------------------------ */

unsigned lapic_events(struct lapic *l)
{
	return atomic_load_explicit(&l->events, memory_order_acquire);
}

int lapic_ack_interrupt(struct lapic *l)
{
	pthread_mutex_lock(&l->lock);
	if (lapic_hw_enabled(l)) {
		int v = lapic_deliverable(l);
		if (v >= 0) {
			vec_clear(l->irr, (unsigned)v);
			vec_set(l->isr, (unsigned)v);
			lapic_update(l);
			pthread_mutex_unlock(&l->lock);
			return v;
		}
	}
	bool extint = lapic_extint_active(l);
	l->extint = false;
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
	if (!extint || !l->bus)
		return -1;
	/* The INTA cycle goes to the 8259, whose state is under the device lock. */
	machine_lock(l->m);
	int v = apicbus_pic_intack(l->bus);
	machine_unlock(l->m);
	return v;
}

bool lapic_take_nmi(struct lapic *l)
{
	if (!(lapic_events(l) & LAPIC_EV_NMI))
		return false;
	pthread_mutex_lock(&l->lock);
	bool nmi = l->nmi;
	l->nmi = false;
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
	return nmi;
}

bool lapic_take_init(struct lapic *l)
{
	if (!(lapic_events(l) & LAPIC_EV_INIT))
		return false;
	machine_lock(l->m);
	pthread_mutex_lock(&l->lock);
	bool init = l->init;
	if (init) {
		bool sipi = l->sipi;
		uint8_t sipi_vector = l->sipi_vector;
		lapic_clear_state(l);
		/* A SIPI may already have followed the INIT. */
		l->sipi = sipi;
		l->sipi_vector = sipi_vector;
		l->wait_sipi = !(atomic_load(&l->base) & APIC_BASE_BSP);
		lapic_update(l);
	}
	pthread_mutex_unlock(&l->lock);
	machine_unlock(l->m);
	return init;
}

int lapic_take_sipi(struct lapic *l)
{
	if (!(lapic_events(l) & LAPIC_EV_SIPI))
		return -1;
	pthread_mutex_lock(&l->lock);
	int v = -1;
	if (l->sipi) {
		v = l->sipi_vector;
		l->sipi = false;
		l->wait_sipi = false;
		lapic_update(l);
	}
	pthread_mutex_unlock(&l->lock);
	return v;
}

uint64_t lapic_base(struct lapic *l)
{
	return atomic_load(&l->base) & APIC_BASE_ADDR;
}

bool lapic_mmio_active(struct lapic *l)
{
	return (atomic_load(&l->base) & (APIC_BASE_EN | APIC_BASE_EXTD)) == APIC_BASE_EN;
}

uint8_t lapic_get_cr8(struct lapic *l)
{
	pthread_mutex_lock(&l->lock);
	uint8_t cr8 = (uint8_t)((l->tpr >> 4) & 0xf);
	pthread_mutex_unlock(&l->lock);
	return cr8;
}

void lapic_set_cr8(struct lapic *l, uint8_t cr8)
{
	pthread_mutex_lock(&l->lock);
	l->tpr = (uint32_t)(cr8 & 0xf) << 4;
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
}

void lapic_set_tsc_deadline(struct lapic *l, int64_t deadline_ns)
{
	machine_lock(l->m);
	pthread_mutex_lock(&l->lock);
	if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE) {
		int64_t now = vclock_now(l->m->clock);
		l->tsc_deadline = deadline_ns;
		if (deadline_ns <= now) {
			l->tsc_deadline = INT64_MAX;
			if (lapic_hw_enabled(l))
				lapic_timer_fire(l);
		}
		lapic_timer_arm(l, now, 0);
		lapic_update(l);
	}
	pthread_mutex_unlock(&l->lock);
	machine_unlock(l->m);
}

bool lapic_tsc_deadline_armed(struct lapic *l)
{
	pthread_mutex_lock(&l->lock);
	bool armed = lapic_timer_mode(l) == TIMER_TSC_DEADLINE && l->tsc_deadline != INT64_MAX &&
		     vclock_now(l->m->clock) < l->tsc_deadline;
	pthread_mutex_unlock(&l->lock);
	return armed;
}

/* ---- register file ----------------------------------------------------------------- */

static uint32_t lapic_arb_locked(const struct lapic *l)
{
	int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
	uint32_t pr = l->tpr & 0xf0;
	if (irrv >= 0 && ((uint32_t)irrv & 0xf0) > pr)
		pr = (uint32_t)irrv & 0xf0;
	if (isrv >= 0 && ((uint32_t)isrv & 0xf0) > pr)
		pr = (uint32_t)isrv & 0xf0;
	return pr;
}

/* LAPIC lock held. Reads of reg (an offset in the xAPIC page); false for
 * reserved offsets. */
static bool lapic_reg_read(struct lapic *l, unsigned reg, uint32_t *out)
{
	uint32_t v;
	switch (reg) {
	case APIC_ID:
		v = lapic_x2apic(l) ? l->id : l->id << 24;
		break;
	case APIC_VER:
		v = LAPIC_VERSION | (LAPIC_NLVT - 1) << 16;
		break;
	case APIC_TPR:
		v = l->tpr;
		break;
	case APIC_APR:
		v = lapic_arb_locked(l);
		break;
	case APIC_PPR:
		v = lapic_ppr(l);
		break;
	case APIC_EOI:
	case APIC_RRD:
		v = 0;
		break;
	case APIC_LDR:
		v = l->ldr;
		break;
	case APIC_DFR:
		v = l->dfr;
		break;
	case APIC_SVR:
		v = l->svr;
		break;
	case APIC_ESR:
		v = l->esr;
		break;
	case APIC_ICR:
		v = l->icr;             /* delivery status: always idle */
		break;
	case APIC_ICR2:
		v = l->icr2;
		break;
	case APIC_TMICT:
		v = l->tmict;
		break;
	case APIC_TMCCT:
		v = lapic_timer_ccr(l, vclock_now(l->m->clock));
		break;
	case APIC_TDCR:
		v = l->tdcr;
		break;
	default:
		if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
			v = l->isr[(reg - APIC_ISR) >> 4];
		else if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
			v = l->tmr[(reg - APIC_TMR) >> 4];
		else if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
			v = l->irr[(reg - APIC_IRR) >> 4];
		else if (reg >= APIC_LVT0 && reg < APIC_LVT0 + 0x10 * LAPIC_NLVT)
			v = l->lvt[(reg - APIC_LVT0) >> 4];
		else
			return false;
		break;
	}
	*out = v;
	return true;
}

/* The message an ICR write sends (10.6.1). */
static void lapic_icr_msg(const struct lapic *l, uint32_t icr, uint32_t dest, bool wide,
			  struct apic_msg *msg)
{
	*msg = (struct apic_msg){
		.dest = dest,
		.vector = (uint8_t)icr,
		.mode = (icr >> 8) & 7,
		.shorthand = (icr >> 18) & 3,
		.logical = icr & ICR_LOGICAL,
		.level = icr & ICR_LEVEL,
		.assert = icr & ICR_ASSERT,
		.wide = wide,
		.from = l,
	};
}

/* LAPIC lock held on entry, released on return: the IPI goes out unlocked
 * because delivery takes the target LAPICs' locks. */
static void lapic_send_ipi_unlock(struct lapic *l, const struct apic_msg *msg)
{
	if ((msg->mode == APIC_DM_FIXED || msg->mode == APIC_DM_LOWEST) && msg->vector < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		lapic_update(l);
		pthread_mutex_unlock(&l->lock);
		return;
	}
	pthread_mutex_unlock(&l->lock);
	if (l->bus)
		apicbus_deliver(l->bus, msg);
	else if (lapic_match(l, msg))
		lapic_accept(l, msg);
}

/* LAPIC lock held. End of interrupt (10.8.5): returns the vector to
 * broadcast to the I/O APIC (level-triggered), or -1. */
static int lapic_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);
	if (v < 0)
		return -1;
	vec_clear(l->isr, (unsigned)v);
	if (!vec_test(l->tmr, (unsigned)v))
		return -1;
	uint32_t lint0 = l->lvt[LVT_LINT0];
	if ((lint0 & LVT_REMOTE_IRR) && LVT_VECTOR(lint0) == v) {
		l->lvt[LVT_LINT0] &= ~LVT_REMOTE_IRR;
		lapic_lint0_level(l);
	}
	return v;
}

static void lapic_eoi_broadcast(struct lapic *l, int vector)
{
	if (vector < 0 || !l->bus)
		return;
	machine_lock(l->m);
	apicbus_eoi(l->bus, (uint8_t)vector);
	machine_unlock(l->m);
}

enum lapic_access { ACCESS_MMIO, ACCESS_MSR };

/*
 * A register write through either interface; the caller has checked the
 * x2APIC rules. Takes the device lock first when the register reaches the
 * timer. Returns false for read-only or reserved registers.
 */
static bool lapic_reg_write(struct lapic *l, unsigned reg, uint64_t v64, enum lapic_access how)
{
	uint32_t v = (uint32_t)v64;
	bool devlock = lapic_reg_needs_devlock(reg);
	int eoi = -1;
	bool ok = true;
	if (devlock)
		machine_lock(l->m);
	pthread_mutex_lock(&l->lock);
	switch (reg) {
	case APIC_ID:
		if (how == ACCESS_MSR)
			ok = false;
		else
			l->id = v >> 24;
		break;
	case APIC_TPR:
		l->tpr = v & 0xff;
		break;
	case APIC_EOI:
		eoi = lapic_eoi(l);
		break;
	case APIC_LDR:
		if (how == ACCESS_MSR)
			ok = false;
		else
			l->ldr = v & 0xff000000;
		break;
	case APIC_DFR:
		l->dfr = v | 0x0fffffff;
		break;
	case APIC_SVR:
		lapic_write_svr(l, v);
		break;
	case APIC_ESR:
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case APIC_ICR: {
		struct apic_msg msg;
		l->icr = v & ICR_WRITABLE;
		if (how == ACCESS_MSR) {
			l->icr2 = (uint32_t)(v64 >> 32);
			lapic_icr_msg(l, l->icr, l->icr2, true, &msg);
		} else {
			lapic_icr_msg(l, l->icr, l->icr2 >> 24, false, &msg);
		}
		lapic_send_ipi_unlock(l, &msg);
		return true;
	}
	case APIC_ICR2:
		l->icr2 = v & 0xff000000;
		break;
	case APIC_TMICT:
	case APIC_TDCR:
		lapic_write_timer(l, reg, v);
		break;
	case APIC_SELF_IPI:
		if (how == ACCESS_MSR)
			lapic_set_irr(l, (uint8_t)v, false);
		else
			ok = false;
		break;
	default:
		if (reg >= APIC_LVT0 && reg < APIC_LVT0 + 0x10 * LAPIC_NLVT)
			lapic_write_lvt(l, (reg - APIC_LVT0) >> 4, v);
		else
			ok = false;
		break;
	}
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
	if (devlock)
		machine_unlock(l->m);
	lapic_eoi_broadcast(l, eoi);
	return ok;
}

uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset)
{
	unsigned reg = offset & 0xff0;
	unsigned byte = offset & 0xf;
	uint32_t v = 0;
	if (!lapic_mmio_active(l) || byte >= 4)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (reg == APIC_SELF_IPI || !lapic_reg_read(l, reg, &v)) {
		lapic_error(l, ESR_ILLEGAL_REG);
		lapic_update(l);
		v = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return v >> (8 * byte);
}

void lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t value)
{
	unsigned reg = offset & 0xff0;
	if (!lapic_mmio_active(l) || (offset & 0xf))
		return;
	if (!lapic_reg_write(l, reg, value, ACCESS_MMIO)) {
		uint32_t dummy;
		pthread_mutex_lock(&l->lock);
		if (!lapic_reg_read(l, reg, &dummy)) {
			lapic_error(l, ESR_ILLEGAL_REG);
			lapic_update(l);
		}
		pthread_mutex_unlock(&l->lock);
	}
}

/* IA32_APIC_BASE (10.4.4, 10.12.5): the valid transitions between disabled,
 * xAPIC and x2APIC; the BSP flag is read-only. */
static int lapic_set_base(struct lapic *l, uint64_t v)
{
	if (v & APIC_BASE_RESERVED)
		return -1;
	machine_lock(l->m);
	pthread_mutex_lock(&l->lock);
	uint64_t old = atomic_load(&l->base);
	bool old_en = old & APIC_BASE_EN, old_x2 = lapic_x2apic(l);
	bool en = v & APIC_BASE_EN, x2 = v & APIC_BASE_EXTD;
	int64_t now = vclock_now(l->m->clock);
	int rc = 0;
	if ((x2 && !en) || (old_x2 && en && !x2) || (!old_en && x2)) {
		rc = -1;
		goto unlock;
	}
	lapic_timer_sync(l, now);
	atomic_store(&l->base, (v & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP));
	if (x2 && !old_x2) {
		/* x2APIC: the ID is the initial APIC ID, the LDR derives from it. */
		l->id = l->index;
		l->ldr = (l->index >> 4) << 16 | 1u << (l->index & 15);
	} else if (!en && old_x2) {
		l->id = l->index;
		l->ldr = 0;
		l->dfr = 0xffffffff;
	}
	lapic_timer_arm(l, now, 0);
	lapic_update(l);
unlock:
	pthread_mutex_unlock(&l->lock);
	machine_unlock(l->m);
	return rc;
}

int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *value)
{
	if (msr == MSR_IA32_APIC_BASE) {
		*value = atomic_load(&l->base);
		return 0;
	}
	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST || !lapic_x2apic(l))
		return -1;
	unsigned reg = (msr - X2APIC_MSR_FIRST) << 4;
	/* Registers that do not exist in x2APIC mode (table 10-6). */
	if (reg == APIC_APR || reg == APIC_EOI || reg == APIC_RRD || reg == APIC_DFR ||
	    reg == APIC_ICR2 || reg == APIC_SELF_IPI)
		return -1;
	uint32_t v;
	pthread_mutex_lock(&l->lock);
	bool ok = lapic_reg_read(l, reg, &v);
	uint64_t v64 = v;
	if (ok && reg == APIC_ICR)
		v64 |= (uint64_t)l->icr2 << 32;
	pthread_mutex_unlock(&l->lock);
	if (!ok)
		return -1;
	*value = v64;
	return 0;
}

int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t value)
{
	if (msr == MSR_IA32_APIC_BASE)
		return lapic_set_base(l, value);
	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST || !lapic_x2apic(l))
		return -1;
	unsigned reg = (msr - X2APIC_MSR_FIRST) << 4;
	if (reg == APIC_APR || reg == APIC_RRD || reg == APIC_DFR || reg == APIC_ICR2)
		return -1;
	/* Reserved bits must be zero; EOI and ESR take only 0 (10.12.1.2). */
	if (reg != APIC_ICR && (value >> 32))
		return -1;
	if ((reg == APIC_EOI || reg == APIC_ESR) && value)
		return -1;
	if ((reg == APIC_TPR || reg == APIC_SELF_IPI) && (value & ~0xffULL))
		return -1;
	return lapic_reg_write(l, reg, value, ACCESS_MSR) ? 0 : -1;
}

/* ---- the APIC bus side ------------------------------------------------------------- */

static bool lapic_match_logical(const struct lapic *l, const struct apic_msg *msg)
{
	if (lapic_x2apic(l)) {
		uint32_t d = msg->dest;
		if (d == APIC_BCAST_X2APIC || (!msg->wide && d == APIC_BCAST_XAPIC))
			return true;
		return (d >> 16) == (l->ldr >> 16) && (d & l->ldr & 0xffff);
	}
	uint8_t d = msg->wide && msg->dest == APIC_BCAST_X2APIC ? 0xff : (uint8_t)msg->dest;
	uint8_t ldr = (uint8_t)(l->ldr >> 24);
	if (d == APIC_BCAST_XAPIC)
		return true;
	if ((l->dfr >> 28) == 0xf)      /* flat model */
		return ldr & d;
	/* Cluster model: cluster in bits 7:4 (15 = all clusters), members 3:0. */
	return ((d >> 4) == 0xf || (d >> 4) == (ldr >> 4)) && (d & ldr & 0x0f);
}

static bool lapic_match_locked(const struct lapic *l, const struct apic_msg *msg)
{
	if (!lapic_hw_enabled(l))
		return false;
	switch (msg->shorthand) {
	case APIC_SH_SELF:
		return msg->from == l;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_OTHERS:
		return msg->from != l;
	default:
		break;
	}
	if (msg->logical)
		return lapic_match_logical(l, msg);
	if (msg->wide)
		return msg->dest == APIC_BCAST_X2APIC || msg->dest == l->id;
	return (uint8_t)msg->dest == APIC_BCAST_XAPIC || (uint8_t)msg->dest == l->id;
}

bool lapic_match(struct lapic *l, const struct apic_msg *msg)
{
	pthread_mutex_lock(&l->lock);
	bool match = lapic_match_locked(l, msg);
	pthread_mutex_unlock(&l->lock);
	return match;
}

unsigned lapic_arb_priority(struct lapic *l)
{
	pthread_mutex_lock(&l->lock);
	unsigned pr = lapic_arb_locked(l);
	pthread_mutex_unlock(&l->lock);
	return pr;
}

bool lapic_accept(struct lapic *l, const struct apic_msg *msg)
{
	bool accepted = true;
	pthread_mutex_lock(&l->lock);
	if (!lapic_hw_enabled(l)) {
		pthread_mutex_unlock(&l->lock);
		return false;
	}
	switch (msg->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (lapic_sw_enabled(l))
			lapic_set_irr(l, msg->vector, msg->level);
		else
			accepted = false;
		break;
	case APIC_DM_NMI:
		l->nmi = true;
		break;
	case APIC_DM_INIT:
		/* A level de-assert INIT only resynchronises arbitration IDs. */
		if (!msg->level || msg->assert)
			l->init = true;
		break;
	case APIC_DM_SIPI:
		if (l->wait_sipi || l->init) {
			l->sipi = true;
			l->sipi_vector = msg->vector;
		}
		break;
	case APIC_DM_EXTINT:
		l->extint = true;
		break;
	case APIC_DM_SMI:
		log_guest(LOG_WARN, "lapic", "SMI delivered to APIC %u: there is no SMM; dropped",
			  l->index);
		accepted = false;
		break;
	default:
		accepted = false;
		break;
	}
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
	return accepted;
}

void lapic_set_lint(struct lapic *l, unsigned pin, bool level)
{
	if (pin > 1)
		return;
	pthread_mutex_lock(&l->lock);
	bool rising = level && !l->lint[pin];
	l->lint[pin] = level;
	uint32_t lvt = l->lvt[LVT_LINT0 + pin];
	if (!lapic_hw_enabled(l)) {
		if (pin == 1 && rising)
			l->nmi = true;  /* LINT1 is the CPU's NMI pin */
	} else if (!(lvt & LVT_MASKED)) {
		switch (LVT_DM(lvt)) {
		case APIC_DM_FIXED:
			if (pin == 0 && (lvt & LVT_LEVEL))
				lapic_lint0_level(l);
			else if (rising)
				lapic_set_irr(l, LVT_VECTOR(lvt), false);
			break;
		case APIC_DM_NMI:
			if (rising)
				l->nmi = true;
			break;
		case APIC_DM_INIT:
			if (rising)
				l->init = true;
			break;
		default:                /* ExtINT is level-sensitive: lapic_update sees it */
			break;
		}
	}
	lapic_update(l);
	pthread_mutex_unlock(&l->lock);
}

/* ---- device ------------------------------------------------------------------------ */

/* Main thread, device lock held. */
static void lapic_dev_reset(void *dev)
{
	struct lapic *l = dev;
	lapic_power_on(l, l->index == 0);
}

static void lapic_destroy(void *dev)
{
	struct lapic *l = dev;
	if (l->m->lapic[l->index] == l)
		l->m->lapic[l->index] = NULL;
	vtimer_destroy(l->timer);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void *lapic_create(struct machine *m, const void *params)
{
	const struct lapic_params *p = params;
	unsigned index = p ? p->index : 0;
	if (index >= CONFIG_MAX_CPUS) {
		log_err("lapic", "no local APIC for vCPU %u: at most %u vCPUs", index,
			CONFIG_MAX_CPUS);
		return NULL;
	}
	struct lapic *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->m = m;
	l->index = index;
	pthread_mutex_init(&l->lock, NULL);
	l->timer = vtimer_create(m->clock, lapic_timer_fired, l);
	if (!l->timer) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return NULL;
	}
	l->bus = apicbus_of(m);
	lapic_power_on(l, index == 0);
	m->lapic[index] = l;
	return l;
}

const struct device_desc lapic_desc = {
	.name = "lapic",
	.create = lapic_create,
	.reset = lapic_dev_reset,
	.destroy = lapic_destroy,
};
