/*
 * drives: opening the configured drives and resolving undo disks (see
 * drives.h and undo.h).
 *
 * Undo disks are decided for the whole VM at once, as in Virtual Server:
 * one answer commits, discards or keeps every drive's changes. The answer
 * comes from --on-exit / [machine] on-exit, else from a prompt when stdin is
 * a terminal, else "keep" (nothing is lost, and the log says so). If the VM
 * never started, or no undo disk holds a change, nothing is asked: empty
 * undo disks are removed and kept ones stay.
 */
#include "drives.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "log.h"
#include "machine.h"
#include "progress.h"
#include "undo.h"

struct drives {
	struct {
		char vud[PATH_MAX];              /* undo disk, "" if none */
		bool created;                    /* made at this power-on */
	} undo[CONFIG_MAX_DRIVES];
};

int drives_open(struct machine *m)
{
	struct drives *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->drives = d;
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		const struct config_drive *cd = &m->cfg->drive[i];
		char err[1024];
		if (!cd->file.path)
			continue;
		struct blk_opts o = { .read_only = cd->read_only || cd->media == MEDIA_CDROM };
		const char *path = cd->file.path;
		if (cd->undo) {
			int rc = undo_begin(path, d->undo[i].vud, sizeof(d->undo[i].vud),
					    &d->undo[i].created, err, sizeof(err));
			if (rc) {
				d->undo[i].vud[0] = 0;
				log_err("disk", "%s: %s", cd->file.origin, err);
				return rc == -ENOMEM ? rc : -EINVAL;
			}
			o.parent = path;     /* the base, before any locator */
			path = d->undo[i].vud;
		}
		int rc = blk_open(path, &o, &m->drive[i], err, sizeof(err));
		if (rc) {
			log_err("disk", "%s: %s", cd->file.origin, err);
			return rc == -ENOMEM ? rc : -EINVAL;
		}
		log_info("disk", "%s: %s (%s, %llu MiB%s)", config_drive_position(i), path,
			 blk_format_name(m->drive[i]),
			 (unsigned long long)(blk_size(m->drive[i]) >> 20),
			 blk_is_read_only(m->drive[i]) ? ", read-only" :
			 !cd->undo ? "" : d->undo[i].created ? ", new undo disk" :
			 ", undo disk kept from the last run");
	}
	return 0;
}

/* Ask on the terminal; EOF or an error means keep. */
static enum config_on_exit drives_ask(const struct drives *d)
{
	/* The serial console's libuv handle may have left stdin non-blocking. */
	int fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(STDIN_FILENO, F_SETFL, fl & ~O_NONBLOCK);
	for (;;) {
		fprintf(stderr, "lodge: the VM changed its disks; the changes are in");
		for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++)
			if (d->undo[i].vud[0])
				fprintf(stderr, " %s", d->undo[i].vud);
		fprintf(stderr, ".\n       [c]ommit them to the disks, [d]iscard them, or "
			"[k]eep them for next time? ");
		fflush(stderr);
		char line[64];
		size_t n = 0;
		while (n + 1 < sizeof(line)) {
			ssize_t r = read(STDIN_FILENO, line + n, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr, "\n");
				return ON_EXIT_KEEP;
			}
			if (line[n] == '\n')
				break;
			n++;
		}
		line[n] = 0;
		switch (line[0]) {
		case 'c': case 'C': return ON_EXIT_COMMIT;
		case 'd': case 'D': return ON_EXIT_DISCARD;
		case 'k': case 'K': return ON_EXIT_KEEP;
		}
	}
}

static void drives_resolve(struct machine *m, struct drives *d)
{
	bool changed = false, any = false;
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		if (!d->undo[i].vud[0])
			continue;
		any = true;
		if (undo_is_empty(d->undo[i].vud)) {
			/* Nothing to decide: an empty undo disk is just removed. */
			char err[512];
			if (undo_discard(d->undo[i].vud, err, sizeof(err)))
				log_warn("undo", "%s", err);
			d->undo[i].vud[0] = 0;
		} else {
			changed = true;
		}
	}
	if (!any || !changed)
		return;
	enum config_on_exit action = m->cfg->on_exit;
	if (!m->started) {
		action = ON_EXIT_KEEP;
	} else if (action == ON_EXIT_ASK) {
		if (isatty(STDIN_FILENO)) {
			action = drives_ask(d);
		} else {
			action = ON_EXIT_KEEP;
			log_info("undo", "keeping the undo disks (no terminal to ask; choose with "
				 "--on-exit commit|discard|keep)");
		}
	}
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		const char *vud = d->undo[i].vud, *base = m->cfg->drive[i].file.path;
		char err[1024];
		if (!vud[0])
			continue;
		if (action == ON_EXIT_KEEP) {
			log_info("undo", "kept %s; the next start continues it", vud);
		} else if (action == ON_EXIT_DISCARD) {
			if (undo_discard(vud, err, sizeof(err)))
				log_err("undo", "%s", err);
			else
				log_info("undo", "discarded the changes in %s", vud);
		} else {
			struct progress pr;
			progress_init(&pr, "committing");
			int rc = undo_commit(base, vud, &pr, err, sizeof(err));
			progress_finish(&pr, rc == 0);
			if (rc)
				log_err("undo", "%s (the next start finishes the commit)", err);
			else
				log_info("undo", "committed %s into %s", vud, base);
		}
	}
}

void drives_close(struct machine *m)
{
	struct drives *d = m->drives;
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		blk_close(m->drive[i]);
		m->drive[i] = NULL;
	}
	if (!d)
		return;
	drives_resolve(m, d);
	free(d);
	m->drives = NULL;
}
