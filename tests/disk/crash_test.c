/*
 * crash_test: a writer doing allocation-heavy random writes through the block
 * layer is killed with SIGKILL at random moments; after every kill:
 *   - `lodge disk check` passes,
 *   - qemu-img reads the file (dynamic: identical to Lodge's reading),
 *   - every write that a completed flush covered reads back intact, and
 *     every other sector holds either its last flushed content or the whole
 *     content of one later write — never a torn or foreign sector.
 * The same image is reopened by the next writer, so recovery after a crash
 * (orphaned space past the last block, a moved footer) is exercised too.
 *
 *   crash_test LODGE WORKDIR KILLS       the test (KILLS per image type)
 *   crash_test writer IMG FD FIRST SEED  (internal) the writer process
 *
 * Every sector the writer writes is stamped with its write's id and its own
 * sector number, the rest filled from both, so a sector identifies the write
 * it came from and a torn or misplaced sector cannot pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disk/blk.h"
#include "disk/vhd.h"

#define DISK_SIZE (32ULL << 20)
#define SECTORS (DISK_SIZE / 512)
#define BLOCK_SIZE (64u << 10)          /* 512 blocks: nearly every write allocates */
#define MAX_WRITE_SECTORS 128
#define DEPTH 4
#define BASE_OP 1ULL                    /* the differencing test's parent content */
#define MAX_OPS 200000

struct rec {
	uint64_t type;                  /* 'W' write issued, 'F' flush done */
	uint64_t a, b, c;               /* W: op, lba, count; F: ops < a are durable */
};

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void stamp(uint8_t *s, uint64_t op, uint64_t lba)
{
	memcpy(s, &op, 8);
	memcpy(s + 8, &lba, 8);
	uint64_t x = mix(op * 1000003 + lba);
	for (int i = 16; i < 512; i += 8) {
		x = mix(x);
		memcpy(s + i, &x, 8);
	}
}

/* The write a sector came from: 0 for zeros, UINT64_MAX for garbage. */
static uint64_t decode(const uint8_t *s, uint64_t lba)
{
	static const uint8_t zero[512];
	if (!memcmp(s, zero, 512))
		return 0;
	uint64_t op;
	uint8_t want[512];
	memcpy(&op, s, 8);
	stamp(want, op, lba);
	return memcmp(s, want, 512) ? UINT64_MAX : op;
}

/* ---- the writer -------------------------------------------------------- */

struct slot {
	struct blk_req req;
	struct iovec iov;
	uint8_t buf[MAX_WRITE_SECTORS * 512];
	uint64_t flush_mark;            /* flush: ops below this are covered */
	bool busy;                      /* under writer.m */
};

struct writer {
	int fd;
	pthread_mutex_t m;
	pthread_cond_t c;
	int inflight;
};

static void writer_done(struct blk_req *r, int result)
{
	struct writer *w = r->opaque;
	struct slot *s = (struct slot *)r;
	if (result) {
		fprintf(stderr, "crash_test writer: request failed: %s\n", strerror(-result));
		_exit(9);
	}
	if (r->op == BLK_FLUSH) {
		struct rec rec = { 'F', s->flush_mark, 0, 0 };
		if (write(w->fd, &rec, sizeof(rec)) != sizeof(rec))
			_exit(8);
	}
	pthread_mutex_lock(&w->m);
	w->inflight--;
	s->busy = false;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static int writer_main(const char *img, int fd, uint64_t first, uint64_t seed)
{
	char err[1024];
	struct blk *b;
	if (blk_open(img, NULL, &b, err, sizeof(err))) {
		fprintf(stderr, "crash_test writer: %s\n", err);
		return 7;
	}
	struct writer w = { fd, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	static struct slot slots[DEPTH];
	struct rec ready = { 'R', 0, 0, 0 };
	if (write(fd, &ready, sizeof(ready)) != sizeof(ready))
		return 8;
	for (uint64_t op = first;; op++) {
		struct slot *s = NULL;
		pthread_mutex_lock(&w.m);
		while (w.inflight == DEPTH)
			pthread_cond_wait(&w.c, &w.m);
		for (int i = 0; i < DEPTH && !s; i++)
			if (!slots[i].busy)
				s = &slots[i];
		s->busy = true;
		w.inflight++;
		pthread_mutex_unlock(&w.m);
		seed = mix(seed);
		bool flush = op % 8 == 0;
		memset(&s->req, 0, sizeof(s->req));
		s->req.done = writer_done;
		s->req.opaque = &w;
		if (flush) {
			s->req.op = BLK_FLUSH;
			s->flush_mark = op;
		} else {
			uint64_t count = seed % MAX_WRITE_SECTORS + 1;
			uint64_t lba = mix(seed) % SECTORS;
			if (lba + count > SECTORS)
				count = SECTORS - lba;
			for (uint64_t i = 0; i < count; i++)
				stamp(s->buf + i * 512, op, lba + i);
			s->iov = (struct iovec){ s->buf, count * 512 };
			s->req.op = BLK_WRITE;
			s->req.offset = lba * 512;
			s->req.iov = &s->iov;
			s->req.iovcnt = 1;
			struct rec rec = { 'W', op, lba, count };
			if (write(fd, &rec, sizeof(rec)) != sizeof(rec))
				return 8;
		}
		if (blk_submit(b, &s->req))
			return 9;
	}
}

/* ---- the checker ------------------------------------------------------- */

struct op {
	uint64_t lba, count;
};

struct state {
	const char *lodge, *dir, *img;
	bool diff;
	uint64_t *baseline;             /* per sector: the write it must show, or newer */
	struct op *ops;                 /* this generation's writes, by id - first */
	uint64_t first, next;
	unsigned kills;
};

static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One generation: start a writer, kill it, then check everything. */
static int generation(struct state *st, const char *self, uint64_t seed)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	char fdtext[16], firsttext[32], seedtext[32];
	snprintf(fdtext, sizeof(fdtext), "%d", pfd[1]);
	snprintf(firsttext, sizeof(firsttext), "%llu", (unsigned long long)st->first);
	snprintf(seedtext, sizeof(seedtext), "%llu", (unsigned long long)seed);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		execl(self, self, "writer", st->img, fdtext, firsttext, seedtext, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	memset(st->ops, 0, MAX_OPS * sizeof(*st->ops));
	uint64_t durable = st->first;   /* ops below this were flushed */
	int64_t deadline = 0;
	int64_t delay = (int64_t)(mix(seed) % 60) + 2;
	st->next = st->first;
	bool killed = false;
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int timeout = -1;
		if (deadline && !killed) {
			int64_t left = deadline - now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		int n = poll(&p, 1, timeout);
		if (n == 0 && !killed) {
			kill(pid, SIGKILL);
			killed = true;
			continue;
		}
		struct rec r;
		ssize_t got = read(pfd[0], &r, sizeof(r));
		if (got == 0)
			break;                  /* the writer is gone and the pipe drained */
		if (got != sizeof(r)) {
			fprintf(stderr, "crash_test: short record from the writer\n");
			return -1;
		}
		if (r.type == 'R') {
			deadline = now_ms() + delay;
		} else if (r.type == 'W') {
			if (r.a - st->first >= MAX_OPS) {
				fprintf(stderr, "crash_test: too many writes in one generation\n");
				return -1;
			}
			st->ops[r.a - st->first] = (struct op){ r.b, r.c };
			if (r.a + 1 > st->next)
				st->next = r.a + 1;
		} else if (r.type == 'F' && r.a > durable) {
			durable = r.a;
		}
	}
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "crash_test: the writer ended by itself (status %#x)\n", status);
		return -1;
	}
	st->kills++;

	/* What each sector must show: the last durable write covering it. */
	uint64_t *must = malloc(SECTORS * sizeof(*must));
	memcpy(must, st->baseline, SECTORS * sizeof(*must));
	for (uint64_t op = st->first; op < durable && op < st->next; op++) {
		struct op *o = &st->ops[op - st->first];
		for (uint64_t i = 0; i < o->count; i++)
			must[o->lba + i] = op;
	}
	char err[1024];
	struct blk_opts ro = { .read_only = true };
	struct blk *b;
	if (blk_open(st->img, &ro, &b, err, sizeof(err))) {
		fprintf(stderr, "crash_test: after kill %u: %s\n", st->kills, err);
		return -1;
	}
	uint8_t *data = malloc(DISK_SIZE);
	int rc = blk_pread(b, 0, data, DISK_SIZE);
	blk_close(b);
	if (rc) {
		fprintf(stderr, "crash_test: after kill %u: read failed: %s\n", st->kills,
			strerror(-rc));
		return -1;
	}
	unsigned bad = 0;
	for (uint64_t s = 0; s < SECTORS; s++) {
		uint64_t seen = decode(data + s * 512, s);
		bool ok = seen == must[s];
		if (!ok && seen != UINT64_MAX && seen >= st->first && seen < st->next &&
		    (must[s] < st->first || seen > must[s])) {
			/* A newer write that was not yet flushed: allowed if it covers s. */
			struct op *o = &st->ops[seen - st->first];
			ok = s >= o->lba && s < o->lba + o->count;
		}
		if (!ok && bad++ < 5)
			fprintf(stderr, "crash_test: after kill %u: sector %llu shows write %llu, "
				"must show write %llu (or a newer one)\n", st->kills,
				(unsigned long long)s, (unsigned long long)seen,
				(unsigned long long)must[s]);
		st->baseline[s] = seen;     /* what the next writer starts from */
	}
	free(must);
	if (bad) {
		free(data);
		return -1;
	}
	/* lodge disk check must pass. */
	char *check[] = { (char *)st->lodge, "disk", "check", (char *)st->img, NULL };
	if (run_quiet(check)) {
		fprintf(stderr, "crash_test: after kill %u: lodge disk check %s failed\n",
			st->kills, st->img);
		free(data);
		return -1;
	}
	/* qemu-img must read it; a dynamic disk must read the same as in Lodge. */
	char raw[4096];
	snprintf(raw, sizeof(raw), "%s/flat.raw", st->dir);
	int out = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, data, DISK_SIZE) != (ssize_t)DISK_SIZE) {
		perror(raw);
		return -1;
	}
	close(out);
	free(data);
	if (!st->diff) {
		char *cmp[] = { "qemu-img", "compare", "-q", "-f", "vpc", "-F", "raw",
				(char *)st->img, raw, NULL };
		if (run_quiet(cmp)) {
			fprintf(stderr, "crash_test: after kill %u: qemu-img reads %s differently\n",
				st->kills, st->img);
			return -1;
		}
	} else {
		/* QEMU has no differencing support: it must still open and read it. */
		char *conv[] = { "qemu-img", "convert", "-f", "vpc", "-O", "raw",
				 (char *)st->img, raw, NULL };
		if (run_quiet(conv)) {
			fprintf(stderr, "crash_test: after kill %u: qemu-img cannot read %s\n",
				st->kills, st->img);
			return -1;
		}
	}
	st->first = st->next + 1;
	return 0;
}

static int prepare(struct state *st, bool diff, char *img, size_t imglen)
{
	char err[1024];
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC, .size = DISK_SIZE,
				     .block_size = BLOCK_SIZE };
	memset(st->baseline, 0, SECTORS * sizeof(*st->baseline));
	snprintf(img, imglen, "%s/%s", st->dir, diff ? "child.vhd" : "dynamic.vhd");
	if (!diff)
		return vhd_create(img, &o, err, sizeof(err)) ? (fprintf(stderr, "%s\n", err), -1) : 0;
	/* A parent with its first half stamped as write BASE_OP. */
	char base[4096];
	snprintf(base, sizeof(base), "%s/base.vhd", st->dir);
	if (vhd_create(base, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct blk *b;
	if (blk_open(base, NULL, &b, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	uint8_t *buf = malloc(1 << 20);
	for (uint64_t s = 0; s < SECTORS / 2; s += 2048) {
		for (uint64_t i = 0; i < 2048; i++) {
			stamp(buf + i * 512, BASE_OP, s + i);
			st->baseline[s + i] = BASE_OP;
		}
		blk_pwrite(b, s * 512, buf, 1 << 20);
	}
	free(buf);
	blk_close(b);
	struct vhd_create_opts c = { .type = VHD_TYPE_DIFF, .parent = base };
	if (vhd_create(img, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "writer"))
		return writer_main(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0),
				   strtoull(argv[5], NULL, 0));
	if (argc != 4) {
		fprintf(stderr, "usage: crash_test LODGE WORKDIR KILLS\n");
		return 2;
	}
	if (run_quiet((char *[]){ "qemu-img", "--version", NULL })) {
		printf("SKIP: qemu-img (Debian package qemu-utils) is not installed\n");
		return 77;
	}
	struct state st = { .lodge = argv[1], .dir = argv[2] };
	int kills = atoi(argv[3]);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", st.dir, st.dir);
	if (system(cmd))
		return 1;
	st.baseline = malloc(SECTORS * sizeof(*st.baseline));
	st.ops = malloc(MAX_OPS * sizeof(*st.ops));
	char img[4096];
	uint64_t seed = (uint64_t)time(NULL);
	printf("crash_test: seed %llu\n", (unsigned long long)seed);
	for (int diff = 0; diff < 2; diff++) {
		st.diff = diff;
		st.img = img;
		st.first = 1000;
		if (prepare(&st, diff, img, sizeof(img)))
			return 1;
		for (int k = 0; k < kills; k++) {
			seed = mix(seed);
			if (generation(&st, argv[0], seed)) {
				fprintf(stderr, "crash_test: FAILED on %s (seed %llu)\n", img,
					(unsigned long long)seed);
				return 1;
			}
		}
		printf("crash_test: %s: %d kills, every check passed (%llu writes)\n", img, kills,
		       (unsigned long long)(st.first - 1000));
	}
	free(st.baseline);
	free(st.ops);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", st.dir);
	return system(cmd) ? 1 : 0;
}
