/*
 * Unit tests for the block engine (blk.c) and the raw/ISO driver: request
 * checks, iovecs, read-only and locking, geometry, and the ordering rules —
 * overlapping requests run in submission order, non-overlapping ones do not
 * wait for each other, a flush waits for every earlier write.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/blk.h"
#include "disk/blk_driver.h"
#include "disk_tmp.h"

static void make_file(const char *path, uint64_t size)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)size), 0);
	fclose(f);
}

struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	int done;
};

static void count_done(struct blk_req *r, int result)
{
	struct waiter *w = r->opaque;
	pthread_mutex_lock(&w->m);
	w->done++;
	pthread_cond_broadcast(&w->c);
	pthread_mutex_unlock(&w->m);
}

static void wait_done(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->m);
	while (w->done < n)
		pthread_cond_wait(&w->c, &w->m);
	pthread_mutex_unlock(&w->m);
}

static void test_geometry_spec_examples(void **state)
{
	/* Windows 7 and VirtualBox footers (reference/vhd-format.md §1.2). */
	static const struct { uint64_t size; uint32_t c; uint8_t h, s; } ex[] = {
		{ 3ULL << 30, 6241, 16, 63 },
		{ 32ULL << 30, 16448, 16, 255 },
		{ 100ULL << 30, 51400, 16, 255 },
		{ 20ULL << 30, 41610, 16, 63 },
		{ 160041885696ULL, 65535, 16, 255 },  /* beyond CHS: capped */
		{ 104857600ULL, 1003, 12, 17 },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct blk_geometry g;
		blk_geometry_from_size(ex[i].size, &g);
		assert_int_equal(g.cylinders, ex[i].c);
		assert_int_equal(g.heads, ex[i].h);
		assert_int_equal(g.sectors, ex[i].s);
	}
}

static void test_raw_iovec_roundtrip(void **state)
{
	const char *p = disk_tmp_path("raw.img");
	make_file(p, 1 << 20);
	char err[512];
	struct blk *b;
	assert_int_equal(blk_open(p, NULL, &b, err, sizeof(err)), 0);
	assert_string_equal(blk_format_name(b), "raw");
	assert_int_equal(blk_size(b), 1 << 20);
	uint8_t a[512], c[1536], back[2048];
	disk_tmp_pattern(a, sizeof(a), 1);
	disk_tmp_pattern(c, sizeof(c), 2);
	assert_int_equal(blk_pwrite(b, 4096, a, 512), 0);
	assert_int_equal(blk_pwrite(b, 4608, c, 1536), 0);
	assert_int_equal(blk_pread(b, 4096, back, 2048), 0);
	assert_memory_equal(back, a, 512);
	assert_memory_equal(back + 512, c, 1536);
	/* A scattered read, pieces not sector-sized. */
	memset(back, 0, sizeof(back));
	struct iovec iov[3] = { { back, 100 }, { back + 100, 1000 }, { back + 1100, 948 } };
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct blk_req r = { .op = BLK_READ, .offset = 4096, .iov = iov, .iovcnt = 3,
			     .done = count_done, .opaque = &w };
	assert_int_equal(blk_submit(b, &r), 0);
	wait_done(&w, 1);
	assert_memory_equal(back, a, 512);
	assert_memory_equal(back + 512, c, 1536);
	assert_int_equal(blk_flush(b), 0);
	blk_close(b);
}

static void test_requests_checked(void **state)
{
	const char *p = disk_tmp_path("check.img");
	make_file(p, 64 << 10);
	char err[512];
	struct blk *b;
	uint8_t buf[1024] = { 0 };
	assert_int_equal(blk_open(p, NULL, &b, err, sizeof(err)), 0);
	assert_int_equal(blk_pwrite(b, 100, buf, 512), -EINVAL);       /* unaligned offset */
	assert_int_equal(blk_pwrite(b, 0, buf, 100), -EINVAL);         /* partial sector */
	assert_int_equal(blk_pread(b, (64 << 10) - 512, buf, 1024), -EINVAL);  /* past the end */
	assert_int_equal(blk_pread(b, 64 << 10, buf, 0), 0);           /* empty, at the end */
	struct blk_req r = { .op = BLK_WRITE, .offset = 0, .iov = NULL, .iovcnt = 1 };
	assert_int_equal(blk_submit(b, &r), -EINVAL);                  /* no callback */
	blk_close(b);
}

static void test_read_only_and_lock(void **state)
{
	const char *p = disk_tmp_path("lock.img");
	make_file(p, 64 << 10);
	char err[512];
	struct blk *w, *w2, *r;
	uint8_t buf[512] = { 0 };
	struct blk_opts ro = { .read_only = true };
	assert_int_equal(blk_open(p, &ro, &r, err, sizeof(err)), 0);
	assert_true(blk_is_read_only(r));
	assert_int_equal(blk_pwrite(r, 0, buf, 512), -EROFS);
	/* A reader blocks writers: the base under an undo disk stays unchanged. */
	assert_int_equal(blk_open(p, NULL, &w, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "in use"));
	blk_close(r);
	assert_int_equal(blk_open(p, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(blk_open(p, NULL, &w2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, p));
	assert_int_equal(blk_open(p, &ro, &r, err, sizeof(err)), -EBUSY);
	/* Inspection opens take no lock. */
	struct blk_opts peek = { .read_only = true, .no_lock = true };
	assert_int_equal(blk_open(p, &peek, &r, err, sizeof(err)), 0);
	blk_close(r);
	blk_close(w);
}

static void test_iso_is_read_only(void **state)
{
	const char *p = disk_tmp_path("cd.iso");
	make_file(p, 64 << 10);
	disk_tmp_patch(p, 0x8000, "\1CD001\1", 7);
	char err[512];
	struct blk *b;
	assert_int_equal(blk_open(p, NULL, &b, err, sizeof(err)), 0);
	assert_string_equal(blk_format_name(b), "iso");
	assert_true(blk_is_read_only(b));
	blk_close(b);
}

/* ---- ordering, with a driver that records and can hold requests ---------- */

struct fake_op {
	enum blk_op op;
	uint64_t off;
	int start, end;                 /* sequence numbers */
};

struct fake {
	pthread_mutex_t m;
	pthread_cond_t c;
	int seq;
	struct fake_op ops[16];
	int nops;
	uint64_t hold_off;              /* a request at this offset waits for release */
	bool hold, released;
	bool timed_out;
};

static int fake_run(struct fake *f, enum blk_op op, uint64_t off)
{
	pthread_mutex_lock(&f->m);
	int i = f->nops++;
	f->ops[i].op = op;
	f->ops[i].off = off;
	f->ops[i].start = f->seq++;
	pthread_cond_broadcast(&f->c);
	if (f->hold && op == BLK_WRITE && off == f->hold_off) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		while (!f->released && !f->timed_out)
			if (pthread_cond_timedwait(&f->c, &f->m, &ts))
				f->timed_out = true;
	}
	f->ops[i].end = f->seq++;
	pthread_cond_broadcast(&f->c);
	pthread_mutex_unlock(&f->m);
	return 0;
}

static int fake_readv(void *s, uint64_t off, const struct iovec *iov, int n, uint64_t len)
{
	return fake_run(s, BLK_READ, off);
}

static int fake_writev(void *s, uint64_t off, const struct iovec *iov, int n, uint64_t len)
{
	return fake_run(s, BLK_WRITE, off);
}

static int fake_flush(void *s)
{
	return fake_run(s, BLK_FLUSH, UINT64_MAX);
}

static int fake_close(void *s)
{
	return 0;
}

static const struct blk_driver fake_driver = { "fake", fake_readv, fake_writev, fake_flush,
					       fake_close };

/* Release the held request once nops_ended requests have finished. */
static void release_when(struct fake *f, int nops_ended)
{
	pthread_mutex_lock(&f->m);
	for (;;) {
		int ended = 0;
		for (int i = 0; i < f->nops; i++)
			ended += f->ops[i].end > 0;
		if (ended >= nops_ended || f->timed_out)
			break;
		pthread_cond_wait(&f->c, &f->m);
	}
	f->released = true;
	pthread_cond_broadcast(&f->c);
	pthread_mutex_unlock(&f->m);
}

static struct fake_op *find_op(struct fake *f, enum blk_op op, uint64_t off)
{
	for (int i = 0; i < f->nops; i++)
		if (f->ops[i].op == op && f->ops[i].off == off)
			return &f->ops[i];
	fail_msg("operation %d at %llu never ran", op, (unsigned long long)off);
	return NULL;
}

static void test_ordering(void **state)
{
	struct fake f = { .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER, .seq = 1 };
	f.hold = true;
	f.hold_off = 0;
	struct blk_image img = { .drv = &fake_driver, .state = &f, .size = 1 << 20,
				 .format = "fake" };
	struct blk *b;
	assert_int_equal(blk_attach("fake", &img, &b), 0);
	uint8_t buf[4096];
	struct iovec v = { buf, sizeof(buf) };
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct blk_req r[5] = {
		{ .op = BLK_WRITE, .offset = 0, .iov = &v, .iovcnt = 1 },      /* held */
		{ .op = BLK_WRITE, .offset = 2048, .iov = &v, .iovcnt = 1 },   /* overlaps 0 */
		{ .op = BLK_FLUSH },                                          /* after both */
		{ .op = BLK_READ, .offset = 65536, .iov = &v, .iovcnt = 1 },   /* free to run */
		{ .op = BLK_WRITE, .offset = 131072, .iov = &v, .iovcnt = 1 }, /* free to run */
	};
	for (int i = 0; i < 5; i++) {
		r[i].done = count_done;
		r[i].opaque = &w;
		assert_int_equal(blk_submit(b, &r[i]), 0);
	}
	/* The held write is released only after the two independent requests
	 * finished: that can only happen if they did not wait behind it. */
	release_when(&f, 2);
	wait_done(&w, 5);
	assert_false(f.timed_out);
	struct fake_op *w0 = find_op(&f, BLK_WRITE, 0), *w1 = find_op(&f, BLK_WRITE, 2048);
	struct fake_op *fl = find_op(&f, BLK_FLUSH, UINT64_MAX);
	struct fake_op *rd = find_op(&f, BLK_READ, 65536), *w4 = find_op(&f, BLK_WRITE, 131072);
	assert_true(w1->start > w0->end);        /* overlapping: in submission order */
	assert_true(fl->start > w0->end && fl->start > w1->end);
	assert_true(rd->end < w0->end);          /* ran while the held write waited */
	assert_true(w4->end < w0->end);
	blk_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry_spec_examples),
		cmocka_unit_test(test_raw_iovec_roundtrip),
		cmocka_unit_test(test_requests_checked),
		cmocka_unit_test(test_read_only_and_lock),
		cmocka_unit_test(test_iso_is_read_only),
		cmocka_unit_test(test_ordering),
	};
	return cmocka_run_group_tests(tests, disk_tmp_group_setup, disk_tmp_group_teardown);
}
