/*
 * blk: the block engine — request queue, ordering of overlapping requests,
 * worker threads, flush, and format detection (see blk.h for the contract).
 *
 * Threads: each open image has its own small pool of workers (at most
 * BLK_MAX_WORKERS, started on demand). Why per image and not one shared pool:
 * a VM has at most a handful of drives, an idle worker costs only a blocked
 * thread, and a slow image (a network mount, an fdatasync that takes a
 * second) then never holds up another drive's requests — a shared pool would
 * need per-image fairness to get the same. Four workers let reads proceed
 * while a write waits on the disk, which is all the parallelism IDE (one
 * command per channel) and a small virtio queue can use. libuv's threadpool
 * is not used: it is shared with DNS lookups and file-system calls and
 * bounded to four threads for the whole process.
 *
 * Ordering: every submitted request stays on one list, in submission order,
 * until it completes. A worker starts the first waiting request that does not
 * conflict with an earlier one still on the list: reads never conflict with
 * reads; a read or write conflicts with an earlier write or read whose range
 * overlaps; a flush waits for every earlier write and flush. Later requests
 * never wait for a flush. Queues are short (a device's depth), so the scan is
 * quadratic in the worst case and cheap in practice.
 *
 * Lock: b->lock protects the list and worker bookkeeping only; drivers run
 * unlocked and completion callbacks run with no lock held.
 */
#include "blk.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_driver.h"
#include "diskfile.h"
#include "iov.h"
#include "log.h"

#define BLK_MAX_WORKERS 4
#define BLK_REQ_RUNNING 1u

struct blk {
	struct blk_image img;
	char *path;
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a request may be runnable, or stopping */
	pthread_cond_t idle;            /* the list became empty */
	struct blk_req *head, *tail;    /* submitted, not yet completed */
	unsigned waiting;               /* on the list and not running */
	unsigned nworkers, idle_workers;
	bool stopping;
	pthread_t workers[BLK_MAX_WORKERS];
};

static bool blk_ranges_overlap(const struct blk_req *a, const struct blk_req *b)
{
	return a->offset < b->offset + b->len_ && b->offset < a->offset + a->len_;
}

/* May r start while e (submitted earlier, not completed) is on the list? */
static bool blk_conflicts(const struct blk_req *e, const struct blk_req *r)
{
	if (r->op == BLK_FLUSH)
		return e->op != BLK_READ;
	if (e->op == BLK_FLUSH)
		return false;
	if (e->op == BLK_READ && r->op == BLK_READ)
		return false;
	return blk_ranges_overlap(e, r);
}

/* b->lock held: the first waiting request free of conflicts, or NULL. */
static struct blk_req *blk_pick(struct blk *b)
{
	if (!b->waiting)
		return NULL;
	for (struct blk_req *r = b->head; r; r = r->next_) {
		if (r->flags_ & BLK_REQ_RUNNING)
			continue;
		bool blocked = false;
		for (struct blk_req *e = b->head; e != r; e = e->next_) {
			if (blk_conflicts(e, r)) {
				blocked = true;
				break;
			}
		}
		if (!blocked)
			return r;
	}
	return NULL;
}

static void blk_unlink(struct blk *b, struct blk_req *r)
{
	struct blk_req **pp = &b->head, *prev = NULL;
	while (*pp != r) {
		prev = *pp;
		pp = &(*pp)->next_;
	}
	*pp = r->next_;
	if (b->tail == r)
		b->tail = prev;
	r->next_ = NULL;
}

/* Worker thread, no lock held: run one request against the driver. */
static int blk_execute(struct blk *b, struct blk_req *r)
{
	switch (r->op) {
	case BLK_READ:
		if (!r->len_)
			return 0;
		return b->img.drv->readv(b->img.state, r->offset, r->iov, r->iovcnt, r->len_);
	case BLK_WRITE:
		if (!r->len_)
			return 0;
		return b->img.drv->writev(b->img.state, r->offset, r->iov, r->iovcnt, r->len_);
	case BLK_FLUSH:
		return b->img.drv->flush(b->img.state);
	}
	return -EINVAL;
}

static void *blk_worker(void *arg)
{
	struct blk *b = arg;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct blk_req *r = blk_pick(b);
		if (!r) {
			if (b->stopping)
				break;
			b->idle_workers++;
			pthread_cond_wait(&b->work, &b->lock);
			b->idle_workers--;
			continue;
		}
		r->flags_ |= BLK_REQ_RUNNING;
		b->waiting--;
		pthread_mutex_unlock(&b->lock);

		int rc = blk_execute(b, r);

		pthread_mutex_lock(&b->lock);
		blk_unlink(b, r);
		if (!b->head)
			pthread_cond_broadcast(&b->idle);
		if (b->waiting)
			pthread_cond_broadcast(&b->work);
		pthread_mutex_unlock(&b->lock);
		r->done(r, rc);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

int blk_submit(struct blk *b, struct blk_req *req)
{
	if (!req->done)
		return -EINVAL;
	req->len_ = 0;
	if (req->op == BLK_READ || req->op == BLK_WRITE) {
		if (req->iovcnt < 0 || req->iovcnt > IOV_MAX || (req->iovcnt && !req->iov))
			return -EINVAL;
		req->len_ = iov_length(req->iov, req->iovcnt);
		if (req->offset % BLK_SECTOR || req->len_ % BLK_SECTOR ||
		    req->offset > b->img.size || req->len_ > b->img.size - req->offset)
			return -EINVAL;
		if (req->op == BLK_WRITE && b->img.read_only)
			return -EROFS;
	} else if (req->op != BLK_FLUSH) {
		return -EINVAL;
	}
	req->flags_ = 0;
	req->next_ = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->stopping) {
		pthread_mutex_unlock(&b->lock);
		return -ESHUTDOWN;
	}
	if (b->tail)
		b->tail->next_ = req;
	else
		b->head = req;
	b->tail = req;
	b->waiting++;
	if (b->idle_workers == 0 && b->nworkers < BLK_MAX_WORKERS) {
		/* A failure to start another worker only costs parallelism. */
		if (pthread_create(&b->workers[b->nworkers], NULL, blk_worker, b) == 0)
			b->nworkers++;
	}
	if (b->nworkers == 0) {
		blk_unlink(b, req);
		b->waiting--;
		pthread_mutex_unlock(&b->lock);
		log_err("blk", "%s: cannot start a worker thread", b->path);
		return -EAGAIN;
	}
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* ---- synchronous helpers -------------------------------------------- */

struct blk_sync {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
	int rc;
};

static void blk_sync_done(struct blk_req *req, int result)
{
	struct blk_sync *s = req->opaque;
	pthread_mutex_lock(&s->m);
	s->rc = result;
	s->done = true;
	pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

static int blk_sync_run(struct blk *b, enum blk_op op, uint64_t offset, void *buf, size_t len)
{
	struct blk_sync s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };
	struct iovec v = { buf, len };
	struct blk_req r = {
		.op = op, .offset = offset, .iov = &v, .iovcnt = op == BLK_FLUSH ? 0 : 1,
		.done = blk_sync_done, .opaque = &s,
	};
	int rc = blk_submit(b, &r);
	if (rc)
		return rc;
	pthread_mutex_lock(&s.m);
	while (!s.done)
		pthread_cond_wait(&s.c, &s.m);
	pthread_mutex_unlock(&s.m);
	pthread_mutex_destroy(&s.m);
	pthread_cond_destroy(&s.c);
	return s.rc;
}

int blk_pread(struct blk *b, uint64_t offset, void *buf, size_t len)
{
	return blk_sync_run(b, BLK_READ, offset, buf, len);
}

int blk_pwrite(struct blk *b, uint64_t offset, const void *buf, size_t len)
{
	return blk_sync_run(b, BLK_WRITE, offset, (void *)buf, len);
}

int blk_flush(struct blk *b)
{
	return blk_sync_run(b, BLK_FLUSH, 0, NULL, 0);
}

/* ---- open / close ---------------------------------------------------- */

int blk_probe(const char *path, const char **format, char *err, size_t errlen)
{
	struct diskfile f;
	int rc = diskfile_open(&f, path, true, DISKFILE_NO_LOCK, err, errlen);
	if (rc)
		return rc;
	uint64_t size = 0;
	diskfile_size(&f, &size);
	char buf[8];
	*format = "raw";
	/* A VHD has its footer at the end (512 bytes, or 511 before VPC 2004);
	 * dynamic disks also keep a copy at offset 0. */
	const uint64_t where[] = { size - 512, size - 511, 0 };
	for (unsigned i = 0; i < 3 && size >= 511; i++) {
		if (where[i] > size)
			continue;
		if (diskfile_pread(&f, buf, 8, where[i]) == 0 && !memcmp(buf, "conectix", 8)) {
			*format = "vhd";
			goto out;
		}
	}
	/* ISO 9660: a volume descriptor at sector 16 (of 2048 bytes), "\1CD001". */
	if (size >= 0x8006 && diskfile_pread(&f, buf, 6, 0x8000) == 0 &&
	    !memcmp(buf + 1, "CD001", 5))
		*format = "iso";
out:
	diskfile_close(&f);
	return 0;
}

int blk_open(const char *path, const struct blk_opts *opts, struct blk **out, char *err,
	     size_t errlen)
{
	static const struct blk_opts defaults;
	if (!opts)
		opts = &defaults;
	if (opts->no_lock && !opts->read_only) {
		snprintf(err, errlen, "%s: an image opened without its lock must be read-only",
			 path);
		return -EINVAL;
	}
	const char *format = opts->format;
	if (!format) {
		int rc = blk_probe(path, &format, err, errlen);
		if (rc)
			return rc;
	}
	struct blk_image img = { 0 };
	int rc;
	if (!strcmp(format, "raw"))
		rc = raw_open(path, opts, false, &img, err, errlen);
	else if (!strcmp(format, "iso"))
		rc = raw_open(path, opts, true, &img, err, errlen);
	else if (!strcmp(format, "vhd"))
		rc = vhd_blk_open(path, opts, &img, err, errlen);
	else {
		snprintf(err, errlen, "%s: unknown image format '%s' (raw, iso or vhd)", path,
			 format);
		rc = -EINVAL;
	}
	if (rc)
		return rc;
	rc = blk_attach(path, &img, out);
	if (rc) {
		img.drv->close(img.state);
		snprintf(err, errlen, "%s: out of memory", path);
	}
	return rc;
}

int blk_attach(const char *path, const struct blk_image *img, struct blk **out)
{
	struct blk *b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return -ENOMEM;
	}
	b->img = *img;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);
	*out = b;
	return 0;
}

void blk_close(struct blk *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	while (b->head)
		pthread_cond_wait(&b->idle, &b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	int rc = b->img.drv->close(b->img.state);
	if (rc)
		log_err("blk", "%s: writing the image's last changes failed: %s", b->path,
			strerror(-rc));
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	free(b->path);
	free(b);
}

uint64_t blk_size(const struct blk *b)
{
	return b->img.size;
}

bool blk_is_read_only(const struct blk *b)
{
	return b->img.read_only;
}

const char *blk_format_name(const struct blk *b)
{
	return b->img.format;
}

void blk_get_geometry(const struct blk *b, struct blk_geometry *g)
{
	*g = b->img.geom;
}

const char *blk_path(const struct blk *b)
{
	return b->path;
}
