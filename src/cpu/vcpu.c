/*
 * vcpu: vCPU threads, the pause/resume/stop state machine, and the generic
 * exit loop that turns an engine's normalized exits into bus accesses.
 */
#include "cpu/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/accel.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"

static void vcpu_set_state(struct vcpu *v, enum vcpu_state s)
{
	pthread_mutex_lock(&v->lock);
	v->state = s;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/*
 * vCPU thread. Returns true if the thread should exit. A pause request parks
 * the thread here, outside the engine and outside any device code, until the
 * main thread resumes or stops it.
 */
static bool vcpu_handle_requests(struct vcpu *v)
{
	int req = atomic_load(&v->request);
	if (req == VCPU_REQ_NONE)
		return false;
	if (req == VCPU_REQ_STOP)
		return true;
	pthread_mutex_lock(&v->lock);
	v->state = VCPU_PAUSED;
	pthread_cond_broadcast(&v->cond);
	while (atomic_load(&v->request) == VCPU_REQ_PAUSE)
		pthread_cond_wait(&v->cond, &v->lock);
	bool stop = atomic_load(&v->request) == VCPU_REQ_STOP;
	if (!stop)
		v->state = VCPU_RUNNING;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return stop;
}

/* vCPU thread: sleep until kicked (an interrupt arrived) or a request. */
static void vcpu_idle(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	while (!v->woken && atomic_load(&v->request) == VCPU_REQ_NONE)
		pthread_cond_wait(&v->cond, &v->lock);
	v->woken = false;
	pthread_mutex_unlock(&v->lock);
}

static void vcpu_do_io(struct machine *m, struct vcpu_exit *e)
{
	uint8_t *p = e->io.data;
	for (uint32_t i = 0; i < e->io.count; i++, p += e->io.size) {
		if (e->io.write)
			iobus_write(m->pio, e->io.port, e->io.size, iobus_load_le(p, e->io.size));
		else
			iobus_store_le(p, e->io.size, iobus_read(m->pio, e->io.port, e->io.size));
	}
}

static void vcpu_do_mmio(struct machine *m, struct vcpu_exit *e)
{
	if (e->mmio.write)
		iobus_write(m->mmio, e->mmio.addr, e->mmio.size,
			    iobus_load_le(e->mmio.data, e->mmio.size));
	else
		iobus_store_le(e->mmio.data, e->mmio.size,
			       iobus_read(m->mmio, e->mmio.addr, e->mmio.size));
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	char name[16];

	snprintf(name, sizeof(name), "lodge-vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	vcpu_set_state(v, VCPU_RUNNING);

	while (!vcpu_handle_requests(v)) {
		struct vcpu_exit e;
		memset(&e, 0, sizeof(e));
		if (m->accel->vcpu_run(v, &e) < 0)
			e.reason = VCPU_EXIT_ERROR;
		switch (e.reason) {
		case VCPU_EXIT_NONE:
			break;
		case VCPU_EXIT_IO:
			vcpu_do_io(m, &e);
			break;
		case VCPU_EXIT_MMIO:
			vcpu_do_mmio(m, &e);
			break;
		case VCPU_EXIT_HLT:
			vcpu_idle(v);
			break;
		case VCPU_EXIT_SHUTDOWN:
			log_info("cpu", "vCPU %u triple-faulted; resetting the machine", v->index);
			machine_request_reset(m);
			vcpu_idle(v);
			break;
		case VCPU_EXIT_RESET:
			machine_request_reset(m);
			vcpu_idle(v);
			break;
		case VCPU_EXIT_ERROR:
			log_err("cpu", "vCPU %u stopped on an engine error; stopping the VM", v->index);
			machine_request_exit(m, 1);
			vcpu_idle(v);
			break;
		}
	}
	vcpu_set_state(v, VCPU_STOPPED);
	return NULL;
}

int vcpu_create_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		v->m = m;
		v->index = i;
		pthread_mutex_init(&v->lock, NULL);
		pthread_cond_init(&v->cond, NULL);
		m->vcpus[i] = v;
		int rc = m->accel->vcpu_create(v);
		if (rc)
			return rc;
	}
	return 0;
}

void vcpu_destroy_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (!v)
			continue;
		if (v->accel)
			m->accel->vcpu_destroy(v);
		pthread_mutex_destroy(&v->lock);
		pthread_cond_destroy(&v->cond);
		free(v);
		m->vcpus[i] = NULL;
	}
}

int vcpu_start_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		/* vCPU threads run guest code on deep interpreter stacks. */
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 8 << 20);
		int rc = pthread_create(&v->thread, &attr, vcpu_thread, v);
		pthread_attr_destroy(&attr);
		if (rc) {
			log_err("cpu", "cannot start the thread for vCPU %u: %s", i, strerror(rc));
			return -rc;
		}
		v->thread_started = true;
	}
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->woken = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	v->m->accel->vcpu_kick(v);
}

static void vcpu_post(struct vcpu *v, int req)
{
	pthread_mutex_lock(&v->lock);
	atomic_store(&v->request, req);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	v->m->accel->vcpu_kick(v);
}

/* Main thread, device lock NOT held (a vCPU may be waiting for it). */
void vcpu_pause_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (v->thread_started && v->state != VCPU_STOPPED)
			vcpu_post(v, VCPU_REQ_PAUSE);
	}
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (!v->thread_started)
			continue;
		pthread_mutex_lock(&v->lock);
		while (v->state == VCPU_RUNNING || v->state == VCPU_CREATED)
			pthread_cond_wait(&v->cond, &v->lock);
		pthread_mutex_unlock(&v->lock);
	}
}

void vcpu_resume_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (!v->thread_started || v->state == VCPU_STOPPED)
			continue;
		pthread_mutex_lock(&v->lock);
		atomic_store(&v->request, VCPU_REQ_NONE);
		v->woken = false;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
	}
}

void vcpu_stop_all(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (v && v->thread_started)
			vcpu_post(v, VCPU_REQ_STOP);
	}
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (v && v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}
