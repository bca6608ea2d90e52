/*
 * undo: undo disks (see undo.h). The .vud format is a differencing VHD, as
 * libvhdi documents for Virtual PC's VirtualPCUndo_*.vud files
 * (reference/vhd-format.md §6); Lodge names it after the disk, so one VM can
 * have an undo disk per drive.
 *
 * Runs on the main thread at power-on and power-off, with no device running.
 */
#include "undo.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_driver.h"
#include "log.h"
#include "vhd.h"

int undo_path(const char *base, char *out, size_t outlen)
{
	const char *slash = strrchr(base, '/');
	const char *dot = strrchr(base, '.');
	size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - base) : strlen(base);
	int n = snprintf(out, outlen, "%.*s.vud", (int)stem, base);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* Make a rename/unlink/create in path's folder durable. */
static void undo_sync_dir(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int undo_marker(const char *vud, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s.commit", vud);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static bool undo_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

bool undo_is_empty(const char *vud)
{
	char err[512];
	struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true };
	struct vhd *v;
	if (vhd_open(vud, &o, &v, err, sizeof(err)))
		return false;
	bool empty = vhd_is_sparse(v) && v->allocated == 0;
	vhd_close(v);
	return empty;
}

/* The kept undo disk must be a differencing disk of this very base. */
static int undo_check_kept(const char *base, const char *vud, char *err, size_t errlen)
{
	struct vhd_open_opts o = { .read_only = true, .no_parent = true };
	struct vhd *child = NULL, *parent = NULL;
	int rc = vhd_open(vud, &o, &child, err, errlen);
	if (rc)
		return rc;
	if (child->footer.type != VHD_TYPE_DIFF) {
		snprintf(err, errlen, "%s: footer disk type at offset %llu: an undo disk must be a "
			 "differencing disk, this one is %s", vud,
			 (unsigned long long)(child->footer_off + VHD_F_TYPE),
			 vhd_type_name(child->footer.type));
		rc = -EINVAL;
		goto out;
	}
	rc = vhd_open(base, &o, &parent, err, errlen);
	if (rc)
		goto out;
	if (memcmp(child->header.parent_uuid, parent->footer.uuid, 16)) {
		snprintf(err, errlen, "%s: parent unique id at offset %llu: this undo disk belongs "
			 "to another disk than %s (ids differ); move it away to start a new one",
			 vud, (unsigned long long)(child->header_off + VHD_H_PARENT_UUID), base);
		rc = -ESTALE;
	}
out:
	vhd_close(parent);
	vhd_close(child);
	return rc;
}

int undo_begin(const char *base, char *vud, size_t vudlen, bool *created, char *err,
	       size_t errlen)
{
	char marker[PATH_MAX];
	const char *format;
	*created = false;
	if (undo_path(base, vud, vudlen) || undo_marker(vud, marker, sizeof(marker))) {
		snprintf(err, errlen, "%s: the path is too long for an undo disk beside it", base);
		return -ENAMETOOLONG;
	}
	int rc = blk_probe(base, &format, err, errlen);
	if (rc)
		return rc;
	if (strcmp(format, "vhd")) {
		snprintf(err, errlen, "%s: undo disks need a VHD disk, this is %s (convert it with "
			 "`lodge disk convert %s NEW.vhd --to vhd-dynamic`)", base, format, base);
		return -EINVAL;
	}
	if (undo_exists(marker)) {
		if (undo_exists(vud)) {
			log_info("undo", "finishing the commit of %s into %s that was interrupted",
				 vud, base);
			rc = undo_commit(base, vud, NULL, err, errlen);
			if (rc)
				return rc;
		} else {
			unlink(marker);     /* the commit finished; only its marker was left */
		}
	}
	if (undo_exists(vud)) {
		rc = undo_check_kept(base, vud, err, errlen);
		if (!rc)
			log_info("undo", "continuing the kept undo disk %s", vud);
		return rc;
	}
	struct vhd_create_opts o = { .type = VHD_TYPE_DIFF, .parent = base };
	rc = vhd_create(vud, &o, err, errlen);
	if (rc)
		return rc;
	undo_sync_dir(vud);
	*created = true;
	return 0;
}

static void undo_progress(void *ctx, uint64_t done, uint64_t total)
{
	if (ctx)
		progress_update(ctx, done, total);
}

int undo_commit(const char *base, const char *vud, struct progress *pr, char *err,
		size_t errlen)
{
	char marker[PATH_MAX];
	if (undo_marker(vud, marker, sizeof(marker))) {
		snprintf(err, errlen, "%s: the path is too long", vud);
		return -ENAMETOOLONG;
	}
	int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot record that a commit started: %s", marker,
			 strerror(errno));
		return -errno;
	}
	dprintf(fd, "%s\n", base);
	fsync(fd);
	close(fd);
	undo_sync_dir(marker);
	int rc = vhd_commit(vud, base, undo_progress, pr, err, errlen);
	if (rc)
		return rc;      /* the marker stays: the next power-on finishes it */
	if (unlink(vud)) {
		snprintf(err, errlen, "%s: committed, but it cannot be deleted: %s", vud,
			 strerror(errno));
		return -errno;
	}
	undo_sync_dir(vud);
	unlink(marker);
	undo_sync_dir(marker);
	return 0;
}

int undo_discard(const char *vud, char *err, size_t errlen)
{
	if (unlink(vud) && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot delete the undo disk: %s", vud, strerror(errno));
		return -errno;
	}
	undo_sync_dir(vud);
	return 0;
}
