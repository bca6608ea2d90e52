/*
 * undo: Virtual PC / Virtual Server undo disks. While a VM runs, every write
 * to a disk goes to NAME.vud beside it — a differencing VHD whose parent is
 * the disk — and the disk itself is opened read-only. At power-off the user
 * commits the changes into the disk, discards them, or keeps the .vud for
 * the next run, which continues it.
 *
 * A commit is restartable: NAME.vud.commit marks it as started, and the
 * next power-on finishes it before anything else touches the disk (copying
 * a child into its parent is idempotent; see vhd_commit.c).
 */
#ifndef LODGE_DISK_UNDO_H
#define LODGE_DISK_UNDO_H

#include <stdbool.h>
#include <stddef.h>

#include "progress.h"

/* "dir/win98.vhd" -> "dir/win98.vud". 0 or -ENAMETOOLONG. */
int undo_path(const char *base, char *out, size_t outlen);
/*
 * Power-on, main thread: finish an interrupted commit, then continue a kept
 * undo disk (its parent id must still be the base's) or create a new one.
 * *created tells which. 0 or -errno with one sentence in err.
 */
int undo_begin(const char *base, char *vud, size_t vudlen, bool *created, char *err,
	       size_t errlen);
/* The undo disk holds no change (no block allocated). */
bool undo_is_empty(const char *vud);
/* Power-off, undo disk closed: merge it into base, then delete it. */
int undo_commit(const char *base, const char *vud, struct progress *pr, char *err,
		size_t errlen);
int undo_discard(const char *vud, char *err, size_t errlen);

#endif
