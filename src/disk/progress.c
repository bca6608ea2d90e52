/*
 * progress: terminal progress line (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int64_t progress_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void progress_init(struct progress *p, const char *label)
{
	p->tty = isatty(STDERR_FILENO);
	p->label = label;
	p->last_pct = -1;
	p->last_ns = 0;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	if (!p->tty || !total)
		return;
	int pct = (int)(done * 100 / total);
	int64_t now = progress_now_ns();
	if (pct == p->last_pct || (now - p->last_ns < 100000000 && pct != 100))
		return;
	p->last_pct = pct;
	p->last_ns = now;
	fprintf(stderr, "\r%s: %3d%%", p->label, pct);
	fflush(stderr);
}

void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
	progress_update(ctx, done, total);
}

void progress_finish(struct progress *p, bool ok)
{
	if (!p->tty || p->last_pct < 0)
		return;
	if (ok)
		fprintf(stderr, "\r%s: %3d%%\n", p->label, 100);
	else
		fputc('\n', stderr);
	fflush(stderr);
}
