/*
 * loop: libuv main loop and cross-thread defer (see loop.h).
 */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

#include "log.h"

struct loop_item {
	loop_fn *fn;
	void *arg;
	struct loop_item *next;
};

struct loop {
	uv_loop_t uv;
	uv_async_t wake;
	uv_signal_t sigint, sigterm;
	pthread_mutex_t lock;
	struct loop_item *head, **tail;   /* FIFO of deferred calls */
	int stopping;
	loop_signal_fn *signal_fn;
	void *signal_arg;
};

static void loop_drain(uv_async_t *h)
{
	struct loop *loop = h->data;
	for (;;) {
		pthread_mutex_lock(&loop->lock);
		struct loop_item *it = loop->head;
		if (it) {
			loop->head = it->next;
			if (!loop->head)
				loop->tail = &loop->head;
		}
		int stopping = loop->stopping;
		pthread_mutex_unlock(&loop->lock);
		if (!it) {
			if (stopping)
				uv_stop(&loop->uv);
			return;
		}
		it->fn(it->arg);
		free(it);
	}
}

static void loop_signal(uv_signal_t *h, int signo)
{
	struct loop *loop = h->data;
	if (loop->signal_fn)
		loop->signal_fn(loop->signal_arg, signo);
	else
		loop_stop(loop);
}

struct loop *loop_create(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	if (uv_loop_init(&loop->uv))
		goto free_loop;
	pthread_mutex_init(&loop->lock, NULL);
	loop->tail = &loop->head;
	loop->wake.data = loop;
	uv_async_init(&loop->uv, &loop->wake, loop_drain);
	loop->sigint.data = loop->sigterm.data = loop;
	uv_signal_init(&loop->uv, &loop->sigint);
	uv_signal_init(&loop->uv, &loop->sigterm);
	uv_signal_start(&loop->sigint, loop_signal, SIGINT);
	uv_signal_start(&loop->sigterm, loop_signal, SIGTERM);
	/* The signal handles must not keep a finished loop alive. */
	uv_unref((uv_handle_t *)&loop->sigint);
	uv_unref((uv_handle_t *)&loop->sigterm);
	return loop;
free_loop:
	free(loop);
	return NULL;
}

static void loop_close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void loop_destroy(struct loop *loop)
{
	if (!loop)
		return;
	/* Run anything still queued so no caller's memory leaks. */
	loop->stopping = 0;
	loop_drain(&loop->wake);
	uv_walk(&loop->uv, loop_close_cb, NULL);
	uv_run(&loop->uv, UV_RUN_DEFAULT);
	uv_loop_close(&loop->uv);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int loop_run(struct loop *loop)
{
	uv_run(&loop->uv, UV_RUN_DEFAULT);
	return 0;
}

void loop_stop(struct loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->stopping = 1;
	pthread_mutex_unlock(&loop->lock);
	uv_async_send(&loop->wake);
}

int loop_defer(struct loop *loop, loop_fn *fn, void *arg)
{
	struct loop_item *it = malloc(sizeof(*it));
	if (!it) {
		log_err("loop", "out of memory queueing work for the main loop");
		return -ENOMEM;
	}
	it->fn = fn;
	it->arg = arg;
	it->next = NULL;
	pthread_mutex_lock(&loop->lock);
	*loop->tail = it;
	loop->tail = &it->next;
	pthread_mutex_unlock(&loop->lock);
	uv_async_send(&loop->wake);
	return 0;
}

void loop_on_signal(struct loop *loop, loop_signal_fn *fn, void *arg)
{
	loop->signal_fn = fn;
	loop->signal_arg = arg;
}

void *loop_uv(struct loop *loop)
{
	return &loop->uv;
}
