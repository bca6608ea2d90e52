/*
 * fake_blk: in-memory blk.h for unit tests (see fake_blk.h).
 */
#include "fake_blk.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct blk {
	uint8_t *data;                  /* NULL: sparse */
	uint64_t size;
	bool ro;
	struct blk_geometry geo;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct blk_req *head, *tail;
	int fail[3];
	int refuse;
	struct fake_blk_stats st;

	bool threaded, stop;
	unsigned delay_us;
	pthread_t worker;
};

/* Every bit of the sector number changes the sector's bytes. */
uint8_t fake_blk_pattern(uint64_t offset)
{
	uint64_t h = (offset / BLK_SECTOR + 1) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (uint8_t)((h >> 32) + (offset % BLK_SECTOR) * 13);
}

static struct blk *fake_blk_alloc(uint64_t size, bool ro)
{
	struct blk *b = calloc(1, sizeof(*b));
	b->size = size;
	b->ro = ro;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	blk_geometry_from_size(size, &b->geo);
	return b;
}

struct blk *fake_blk_create(uint64_t size, bool read_only)
{
	struct blk *b = fake_blk_alloc(size, read_only);
	b->data = malloc(size ? size : 1);
	for (uint64_t i = 0; i < size; i++)
		b->data[i] = fake_blk_pattern(i);
	return b;
}

struct blk *fake_blk_create_sparse(uint64_t size)
{
	return fake_blk_alloc(size, false);
}

void fake_blk_destroy(struct blk *b)
{
	if (!b)
		return;
	if (b->threaded) {
		pthread_mutex_lock(&b->mu);
		b->stop = true;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->worker, NULL);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b->data);
	free(b);
}

uint8_t *fake_blk_data(struct blk *b)
{
	return b->data;
}

void fake_blk_set_geometry(struct blk *b, uint32_t cylinders, uint8_t heads, uint8_t sectors)
{
	b->geo = (struct blk_geometry){ cylinders, heads, sectors };
}

void fake_blk_fail_next(struct blk *b, enum blk_op op, int err)
{
	pthread_mutex_lock(&b->mu);
	b->fail[op] = err;
	pthread_mutex_unlock(&b->mu);
}

void fake_blk_refuse_next(struct blk *b, int err)
{
	pthread_mutex_lock(&b->mu);
	b->refuse = err;
	pthread_mutex_unlock(&b->mu);
}

void fake_blk_stats(struct blk *b, struct fake_blk_stats *s)
{
	pthread_mutex_lock(&b->mu);
	*s = b->st;
	pthread_mutex_unlock(&b->mu);
}

static uint64_t iov_total(const struct blk_req *r)
{
	uint64_t n = 0;
	for (int i = 0; i < r->iovcnt; i++)
		n += r->iov[i].iov_len;
	return n;
}

/* Perform a request's I/O; returns the result for done(). */
static int fake_blk_perform(struct blk *b, struct blk_req *r)
{
	int err = b->fail[r->op];
	b->fail[r->op] = 0;
	if (r->op == BLK_FLUSH) {
		b->st.flushes++;
		return err;
	}
	uint64_t off = r->offset;
	for (int i = 0; i < r->iovcnt; i++) {
		uint8_t *p = r->iov[i].iov_base;
		size_t len = r->iov[i].iov_len;
		if (r->op == BLK_READ) {
			for (size_t k = 0; k < len && !err; k++)
				p[k] = b->data ? b->data[off + k] : fake_blk_pattern(off + k);
		} else if (b->data && !err) {
			memcpy(b->data + off, p, len);
		}
		off += len;
	}
	if (r->op == BLK_READ) {
		b->st.reads++;
		b->st.bytes_read += off - r->offset;
	} else {
		b->st.writes++;
		b->st.bytes_written += off - r->offset;
	}
	return err;
}

/* Pop and run the oldest request; the callback runs without our mutex. */
static bool fake_blk_run_one(struct blk *b)
{
	pthread_mutex_lock(&b->mu);
	struct blk_req *r = b->head;
	if (!r) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	b->head = r->next_;
	if (!b->head)
		b->tail = NULL;
	int result = fake_blk_perform(b, r);
	pthread_mutex_unlock(&b->mu);
	r->done(r, result);
	return true;
}

static void *fake_blk_worker(void *arg)
{
	struct blk *b = arg;
	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		if (!b->head) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		pthread_mutex_unlock(&b->mu);
		usleep(b->delay_us);
		fake_blk_run_one(b);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

void fake_blk_set_threaded(struct blk *b, unsigned delay_us)
{
	b->delay_us = delay_us;
	if (!b->threaded) {
		b->threaded = true;
		pthread_create(&b->worker, NULL, fake_blk_worker, b);
	}
}

unsigned fake_blk_pending(struct blk *b)
{
	unsigned n = 0;
	pthread_mutex_lock(&b->mu);
	for (struct blk_req *r = b->head; r; r = r->next_)
		n++;
	pthread_mutex_unlock(&b->mu);
	return n;
}

bool fake_blk_complete_one(struct blk *b)
{
	return fake_blk_run_one(b);
}

unsigned fake_blk_drain(struct blk *b)
{
	unsigned n = 0;
	while (fake_blk_run_one(b))
		n++;
	return n;
}

/* ---- the wrapped blk.h calls --------------------------------------- */

uint64_t __wrap_blk_size(const struct blk *b)
{
	return b->size;
}

bool __wrap_blk_is_read_only(const struct blk *b)
{
	return b->ro;
}

void __wrap_blk_get_geometry(const struct blk *b, struct blk_geometry *g)
{
	*g = b->geo;
}

int __wrap_blk_submit(struct blk *b, struct blk_req *r)
{
	pthread_mutex_lock(&b->mu);
	if (b->refuse) {
		int err = b->refuse;
		b->refuse = 0;
		pthread_mutex_unlock(&b->mu);
		return err;
	}
	uint64_t len = iov_total(r);
	bool bad = r->op != BLK_FLUSH &&
		   (r->offset % BLK_SECTOR || len % BLK_SECTOR || len == 0 ||
		    r->offset > b->size || len > b->size - r->offset ||
		    (r->op == BLK_WRITE && b->ro));
	if (bad) {
		b->st.violations++;
		pthread_mutex_unlock(&b->mu);
		return -EINVAL;
	}
	r->next_ = NULL;
	r->len_ = len;
	if (b->tail)
		b->tail->next_ = r;
	else
		b->head = r;
	b->tail = r;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return 0;
}
