/*
 * vclock: guest time and device timers.
 *
 * Devices (RTC, UART, PIT, LAPIC, HPET, PM timer) read guest time with
 * vclock_now() and schedule callbacks at absolute guest times with vtimer_*.
 * Guest time is nanoseconds since power-on.
 *
 * Two sources:
 *  - realtime (default): host CLOCK_MONOTONIC. A timer thread sleeps until
 *    the earliest deadline and runs due callbacks.
 *  - instruction count (--icount): the software CPU advances time by retired
 *    instructions and calls vclock_run_due() itself, so a run is reproducible.
 *
 * Locking: the timer list is protected by the machine's device lock, the same
 * lock every device entry point holds. vtimer_arm/disarm are called with it
 * held; callbacks run with it held. The timer thread waits on a condition
 * variable tied to that lock, so arming an earlier timer wakes it at once.
 */
#ifndef LODGE_VCLOCK_H
#define LODGE_VCLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000LL

struct vclock;
struct vtimer;

typedef void vtimer_fn(void *opaque, int64_t now_ns);
/* Guest-time source for instruction-count mode. */
typedef int64_t vclock_source_fn(void *opaque);

/* lock may be NULL: the clock then uses a private mutex (unit tests). */
struct vclock *vclock_create(pthread_mutex_t *lock);
void vclock_destroy(struct vclock *vc);
/* Start/stop the realtime timer thread. Not used in icount mode. */
int vclock_start_thread(struct vclock *vc);
void vclock_stop_thread(struct vclock *vc);
/* Switch to a custom source (icount); must be called before any timer runs. */
void vclock_set_source(struct vclock *vc, vclock_source_fn *fn, void *opaque);
bool vclock_is_custom(const struct vclock *vc);

/* Any thread, no lock needed. */
int64_t vclock_now(struct vclock *vc);
/* Host wall-clock time at power-on (seconds since the epoch), for the RTC. */
int64_t vclock_epoch_at_start(const struct vclock *vc);

/* Lock held. Runs every due callback; returns the next deadline or INT64_MAX. */
int64_t vclock_run_due(struct vclock *vc);
/* Lock held. Earliest armed deadline or INT64_MAX. */
int64_t vclock_next_deadline(const struct vclock *vc);

struct vtimer *vtimer_create(struct vclock *vc, vtimer_fn *fn, void *opaque);
void vtimer_destroy(struct vtimer *t);
/* Lock held. Re-arming replaces the previous deadline. */
void vtimer_arm(struct vtimer *t, int64_t deadline_ns);
void vtimer_disarm(struct vtimer *t);
bool vtimer_armed(const struct vtimer *t);
int64_t vtimer_deadline(const struct vtimer *t);

#endif
