/*
 * vclock: guest time and device timers (see vclock.h).
 *
 * Armed timers sit on a list sorted by deadline. Machines have a handful of
 * timers (RTC, UARTs, PIT, LAPICs, HPET), so a sorted list is simpler than a
 * heap and just as fast.
 */
#include "vclock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

struct vtimer {
	struct vclock *vc;
	vtimer_fn *fn;
	void *opaque;
	int64_t deadline;
	bool armed;
	struct vtimer *next;            /* on vc->armed, sorted by deadline */
};

struct vclock {
	pthread_mutex_t *lock;
	pthread_mutex_t own_lock;
	pthread_cond_t cond;            /* signalled when the head changes */
	pthread_t thread;
	bool thread_running, thread_stop;
	int64_t start_mono_ns;
	int64_t epoch_at_start;
	vclock_source_fn *source;
	void *source_opaque;
	struct vtimer *armed;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

struct vclock *vclock_create(pthread_mutex_t *lock)
{
	struct vclock *vc = calloc(1, sizeof(*vc));
	if (!vc)
		return NULL;
	pthread_mutex_init(&vc->own_lock, NULL);
	vc->lock = lock ? lock : &vc->own_lock;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vc->cond, &ca);
	pthread_condattr_destroy(&ca);
	vc->start_mono_ns = mono_ns();
	vc->epoch_at_start = time(NULL);
	return vc;
}

void vclock_destroy(struct vclock *vc)
{
	if (!vc)
		return;
	vclock_stop_thread(vc);
	pthread_cond_destroy(&vc->cond);
	pthread_mutex_destroy(&vc->own_lock);
	free(vc);
}

void vclock_set_source(struct vclock *vc, vclock_source_fn *fn, void *opaque)
{
	vc->source = fn;
	vc->source_opaque = opaque;
}

bool vclock_is_custom(const struct vclock *vc)
{
	return vc->source != NULL;
}

int64_t vclock_now(struct vclock *vc)
{
	if (vc->source)
		return vc->source(vc->source_opaque);
	return mono_ns() - vc->start_mono_ns;
}

int64_t vclock_epoch_at_start(const struct vclock *vc)
{
	return vc->epoch_at_start;
}

static void vclock_unlink(struct vtimer *t)
{
	struct vtimer **pp = &t->vc->armed;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	t->next = NULL;
	t->armed = false;
}

int64_t vclock_next_deadline(const struct vclock *vc)
{
	return vc->armed ? vc->armed->deadline : INT64_MAX;
}

/*
 * Lock held. A callback may re-arm its own timer (periodic devices do) or
 * arm/disarm others, so the head is re-read after every call.
 */
int64_t vclock_run_due(struct vclock *vc)
{
	/* Bound the work per call so a zero-period timer cannot wedge us. */
	for (int budget = 10000; budget > 0; budget--) {
		struct vtimer *t = vc->armed;
		if (!t)
			break;
		int64_t now = vclock_now(vc);
		if (t->deadline > now)
			break;
		vclock_unlink(t);
		t->fn(t->opaque, now);
	}
	return vclock_next_deadline(vc);
}

static void *vclock_thread(void *arg)
{
	struct vclock *vc = arg;
	pthread_mutex_lock(vc->lock);
	while (!vc->thread_stop) {
		int64_t next = vclock_run_due(vc);
		if (vc->thread_stop)
			break;
		if (next == INT64_MAX) {
			pthread_cond_wait(&vc->cond, vc->lock);
		} else {
			int64_t abs = vc->start_mono_ns + next;
			struct timespec ts = { abs / NS_PER_SEC, abs % NS_PER_SEC };
			pthread_cond_timedwait(&vc->cond, vc->lock, &ts);
		}
	}
	pthread_mutex_unlock(vc->lock);
	return NULL;
}

int vclock_start_thread(struct vclock *vc)
{
	if (vc->thread_running || vc->source)
		return 0;
	vc->thread_stop = false;
	int rc = pthread_create(&vc->thread, NULL, vclock_thread, vc);
	if (rc)
		return -rc;
	pthread_setname_np(vc->thread, "lodge-timers");
	vc->thread_running = true;
	return 0;
}

void vclock_stop_thread(struct vclock *vc)
{
	if (!vc->thread_running)
		return;
	pthread_mutex_lock(vc->lock);
	vc->thread_stop = true;
	pthread_cond_signal(&vc->cond);
	pthread_mutex_unlock(vc->lock);
	pthread_join(vc->thread, NULL);
	vc->thread_running = false;
}

struct vtimer *vtimer_create(struct vclock *vc, vtimer_fn *fn, void *opaque)
{
	struct vtimer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->vc = vc;
	t->fn = fn;
	t->opaque = opaque;
	return t;
}

/* Lock held (or the machine is not running). */
void vtimer_destroy(struct vtimer *t)
{
	if (!t)
		return;
	if (t->armed)
		vclock_unlink(t);
	free(t);
}

void vtimer_arm(struct vtimer *t, int64_t deadline_ns)
{
	struct vclock *vc = t->vc;
	if (t->armed)
		vclock_unlink(t);
	t->deadline = deadline_ns;
	t->armed = true;
	struct vtimer **pp = &vc->armed;
	while (*pp && (*pp)->deadline <= deadline_ns)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	if (vc->armed == t)
		pthread_cond_signal(&vc->cond);
}

void vtimer_disarm(struct vtimer *t)
{
	if (t->armed)
		vclock_unlink(t);
}

bool vtimer_armed(const struct vtimer *t)
{
	return t->armed;
}

int64_t vtimer_deadline(const struct vtimer *t)
{
	return t->deadline;
}
