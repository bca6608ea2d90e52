/*
 * progress: a one-line percentage for long disk operations ("converting:
 * 42%"), drawn on stderr only when stderr is a terminal, so scripts and logs
 * stay clean.
 */
#ifndef LODGE_DISK_PROGRESS_H
#define LODGE_DISK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool tty;
	const char *label;
	int last_pct;
	int64_t last_ns;
};

void progress_init(struct progress *p, const char *label);
/* Any single thread; redraws at most ten times a second. */
void progress_update(struct progress *p, uint64_t done, uint64_t total);
/* Callback shape used by vhd_commit/vhd_compact (ctx is the progress). */
void progress_cb(void *ctx, uint64_t done, uint64_t total);
/* Ends the line (if one was drawn): at 100% if ok, where it stopped if not. */
void progress_finish(struct progress *p, bool ok);

#endif
