/*
 * Unit tests for vclock: ordering of timers, re-arming from callbacks, a
 * custom (deterministic) time source, the per-call work bound, and the
 * realtime timer thread firing a timer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "vclock.h"

static int64_t fake_now;
static int64_t fake_source(void *opaque)
{
	return fake_now;
}

struct rec {
	int order[16];
	int n;
};

struct tcb {
	struct rec *rec;
	int id;
	struct vtimer *self;
	int64_t period;                 /* re-arm by this much if nonzero */
	int fired;
};

static void tcb_fire(void *opaque, int64_t now)
{
	struct tcb *t = opaque;
	t->fired++;
	if (t->rec->n < 16)
		t->rec->order[t->rec->n++] = t->id;
	if (t->period)
		vtimer_arm(t->self, vtimer_deadline(t->self) + t->period);
}

static void test_fires_in_deadline_order(void **state)
{
	struct vclock *vc = vclock_create(NULL);
	vclock_set_source(vc, fake_source, NULL);
	struct rec rec = { 0 };
	struct tcb a = { .rec = &rec, .id = 1 }, b = { .rec = &rec, .id = 2 }, c = { .rec = &rec, .id = 3 };
	a.self = vtimer_create(vc, tcb_fire, &a);
	b.self = vtimer_create(vc, tcb_fire, &b);
	c.self = vtimer_create(vc, tcb_fire, &c);
	fake_now = 0;
	vtimer_arm(a.self, 300);
	vtimer_arm(b.self, 100);
	vtimer_arm(c.self, 200);
	assert_int_equal(vclock_next_deadline(vc), 100);
	fake_now = 150;
	assert_int_equal(vclock_run_due(vc), 200);
	assert_int_equal(rec.n, 1);
	fake_now = 1000;
	assert_true(vclock_run_due(vc) == INT64_MAX);
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.order[0], 2);
	assert_int_equal(rec.order[1], 3);
	assert_int_equal(rec.order[2], 1);
	assert_false(vtimer_armed(a.self));
	vtimer_destroy(a.self);
	vtimer_destroy(b.self);
	vtimer_destroy(c.self);
	vclock_destroy(vc);
}

static void test_rearm_disarm_and_periodic(void **state)
{
	struct vclock *vc = vclock_create(NULL);
	vclock_set_source(vc, fake_source, NULL);
	struct rec rec = { 0 };
	struct tcb p = { .rec = &rec, .id = 7 }, d = { .rec = &rec, .id = 8 };
	p.self = vtimer_create(vc, tcb_fire, &p);
	d.self = vtimer_create(vc, tcb_fire, &d);
	p.period = 10;
	fake_now = 0;
	vtimer_arm(p.self, 10);
	vtimer_arm(d.self, 15);
	vtimer_arm(d.self, 500);        /* re-arming moves, never duplicates */
	vtimer_disarm(d.self);
	fake_now = 35;
	vclock_run_due(vc);
	/* 10, 20, 30 fired; the next one waits for 40. */
	assert_int_equal(p.fired, 3);
	assert_int_equal(d.fired, 0);
	assert_int_equal(vclock_next_deadline(vc), 40);
	vtimer_destroy(p.self);         /* destroying an armed timer unlinks it */
	assert_true(vclock_next_deadline(vc) == INT64_MAX);
	vtimer_destroy(d.self);
	vclock_destroy(vc);
}

static void test_zero_period_does_not_wedge(void **state)
{
	struct vclock *vc = vclock_create(NULL);
	vclock_set_source(vc, fake_source, NULL);
	struct rec rec = { 0 };
	struct tcb z = { .rec = &rec, .id = 9 };
	z.self = vtimer_create(vc, tcb_fire, &z);
	fake_now = 100;
	/* A callback that re-arms itself in the past forever (deadline - 1):
	 * it is always due, yet run_due must return. */
	z.period = -1;
	vtimer_arm(z.self, 0);
	vclock_run_due(vc);
	assert_true(z.fired > 0);
	assert_true(z.fired <= 10000);
	vtimer_destroy(z.self);
	vclock_destroy(vc);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fired_cond = PTHREAD_COND_INITIALIZER;
static int thread_fired;

static void thread_cb(void *opaque, int64_t now)
{
	/* Runs on the timer thread with `lock` held. */
	thread_fired = 1;
	pthread_cond_signal(&fired_cond);
}

static void test_timer_thread_fires(void **state)
{
	struct vclock *vc = vclock_create(&lock);
	struct vtimer *t = vtimer_create(vc, thread_cb, NULL);
	assert_int_equal(vclock_start_thread(vc), 0);
	pthread_mutex_lock(&lock);
	vtimer_arm(t, vclock_now(vc) + 2000000);        /* 2 ms */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (!thread_fired)
		if (pthread_cond_timedwait(&fired_cond, &lock, &deadline))
			break;
	pthread_mutex_unlock(&lock);
	assert_int_equal(thread_fired, 1);
	vclock_stop_thread(vc);
	vtimer_destroy(t);
	vclock_destroy(vc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires_in_deadline_order),
		cmocka_unit_test(test_rearm_disarm_and_periodic),
		cmocka_unit_test(test_zero_period_does_not_wedge),
		cmocka_unit_test(test_timer_thread_fires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
