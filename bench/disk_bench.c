/*
 * disk_bench: sequential and 4 KiB "random" I/O through Lodge's block layer,
 * on a dynamic VHD and on a raw file, with the same access pattern
 * `qemu-img bench` uses, so bench/disk.sh can compare all three in one run.
 *
 *   disk_bench IMAGE seq-write|seq-read SIZE BUFSIZE DEPTH
 *   disk_bench IMAGE rand-write|rand-read COUNT 4096 DEPTH STEP
 *
 * Sequential: BUFSIZE requests from offset 0 to SIZE. "Random": qemu-img
 * bench has no random mode, only a step that wraps at the end of the image;
 * a step of an odd number of 4 KiB units visits every 4 KiB slot in a
 * scattered order, and both sides use the same one. Prints the seconds the
 * run took (requests submitted until the last completion; no final flush,
 * as qemu-img bench) and the CPU seconds all its threads used meanwhile.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "disk/blk.h"

#define MAX_DEPTH 64

struct bench {
	pthread_mutex_t m;
	pthread_cond_t c;
	int inflight, failed;
};

struct slot {
	struct blk_req req;
	struct iovec iov;
	struct bench *b;
	int busy;
};

static void bench_done(struct blk_req *r, int result)
{
	struct slot *s = (struct slot *)r;
	pthread_mutex_lock(&s->b->m);
	if (result)
		s->b->failed = result;
	s->busy = 0;
	s->b->inflight--;
	pthread_cond_signal(&s->b->c);
	pthread_mutex_unlock(&s->b->m);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* User + system CPU seconds of every thread of the process. */
static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: disk_bench IMAGE MODE SIZE|COUNT BUFSIZE DEPTH [STEP]\n");
		return 2;
	}
	const char *mode = argv[2];
	bool write = strstr(mode, "write") != NULL, seq = !strncmp(mode, "seq", 3);
	uint64_t n = strtoull(argv[3], NULL, 0), bufsize = strtoull(argv[4], NULL, 0);
	int depth = atoi(argv[5]);
	uint64_t step = argc > 6 ? strtoull(argv[6], NULL, 0) : bufsize;
	if (depth < 1 || depth > MAX_DEPTH)
		return 2;
	char err[1024];
	struct blk_opts o = { .read_only = !write };
	struct blk *blk;
	if (blk_open(argv[1], &o, &blk, err, sizeof(err))) {
		fprintf(stderr, "disk_bench: %s\n", err);
		return 1;
	}
	uint64_t size = blk_size(blk);
	uint64_t count = seq ? n / bufsize : n;
	struct bench b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	static struct slot slots[MAX_DEPTH];
	for (int i = 0; i < depth; i++) {
		slots[i].iov.iov_base = aligned_alloc(4096, bufsize);
		memset(slots[i].iov.iov_base, 0xa5 + i, bufsize);
		slots[i].iov.iov_len = bufsize;
		slots[i].b = &b;
	}
	uint64_t off = 0;
	double t0 = now(), c0 = cpu();
	for (uint64_t i = 0; i < count; i++) {
		pthread_mutex_lock(&b.m);
		while (b.inflight == depth)
			pthread_cond_wait(&b.c, &b.m);
		struct slot *s = NULL;
		for (int k = 0; k < depth && !s; k++)
			if (!slots[k].busy)
				s = &slots[k];
		s->busy = 1;
		b.inflight++;
		pthread_mutex_unlock(&b.m);
		s->req = (struct blk_req){ .op = write ? BLK_WRITE : BLK_READ, .offset = off,
					   .iov = &s->iov, .iovcnt = 1, .done = bench_done };
		if (blk_submit(blk, &s->req)) {
			fprintf(stderr, "disk_bench: submit failed at %llu\n", (unsigned long long)off);
			return 1;
		}
		off = (off + step) % size;      /* qemu-img bench's walk */
		if (off + bufsize > size)
			off = 0;
	}
	pthread_mutex_lock(&b.m);
	while (b.inflight)
		pthread_cond_wait(&b.c, &b.m);
	pthread_mutex_unlock(&b.m);
	double t = now() - t0, c = cpu() - c0;
	blk_close(blk);
	if (b.failed) {
		fprintf(stderr, "disk_bench: a request failed (%d)\n", b.failed);
		return 1;
	}
	printf("%.4f %.4f\n", t, c);
	return 0;
}
