/*
 * vhd_commit: merge a differencing disk into its parent — Hyper-V's "Merge
 * into the parent" and Virtual PC's "Commit undo disk".
 *
 * Spec, "Differencing Hard Disk Image": a sector whose bitmap bit is 1 lives
 * in the child. Commit copies exactly those sectors to the same place in the
 * parent (allocating parent blocks as needed, through the parent's normal
 * write path and its crash-safe ordering), then flushes the parent. The
 * child is only read, so the operation is idempotent: after a crash it is
 * simply run again. The child stays a valid overlay of the changed parent;
 * any other child of that parent is no longer valid (as in every VHD tool).
 */
#include "vhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VHD_COMMIT_CHUNK (1u << 20)

int vhd_commit(const char *child_path, const char *parent_hint, vhd_progress_fn *progress,
	       void *ctx, char *err, size_t errlen)
{
	struct vhd_open_opts co = { .read_only = true, .no_parent = true };
	struct vhd *c = NULL, *p = NULL;
	uint8_t *bm = NULL, *buf = NULL;
	char *ppath = NULL;
	int rc = vhd_open(child_path, &co, &c, err, errlen);
	if (rc)
		return rc;
	if (c->footer.type != VHD_TYPE_DIFF) {
		snprintf(err, errlen, "%s: a %s disk has no parent to commit into", child_path,
			 vhd_type_name(c->footer.type));
		rc = -EINVAL;
		goto out;
	}
	if (c->footer.saved_state) {
		snprintf(err, errlen, "%s: footer saved state at offset %llu: the disk belongs to a "
			 "saved virtual machine and must not be merged", child_path,
			 (unsigned long long)(c->footer_off + VHD_F_SAVED));
		rc = -EBUSY;
		goto out;
	}
	rc = vhd_parent_find(c, parent_hint, &ppath, err, errlen);
	if (rc)
		goto out;
	struct vhd_open_opts po = { .read_only = false };
	rc = vhd_open(ppath, &po, &p, err, errlen);
	if (rc)
		goto out;
	uint64_t psize = p->footer.cur_size / VHD_SECTOR * VHD_SECTOR;
	bm = malloc(c->bitmap_bytes);
	buf = malloc(VHD_COMMIT_CHUNK);
	if (!bm || !buf) {
		snprintf(err, errlen, "%s: out of memory", child_path);
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t b = 0; b < c->blocks && !rc; b++) {
		if (progress)
			progress(ctx, b, c->blocks);
		uint32_t e = vhd_bat_get(c, b);
		if (e == VHD_BAT_FREE)
			continue;
		rc = vhd_block_bitmap(c, b, bm);
		if (rc) {
			snprintf(err, errlen, "%s: cannot read the sector bitmap of block %u: %s",
				 child_path, b, strerror(-rc));
			break;
		}
		uint64_t data = (uint64_t)e * VHD_SECTOR + c->bitmap_bytes;
		uint64_t base = (uint64_t)b * c->block_size;
		for (uint32_t s = 0; s < c->block_sectors && !rc;) {
			if (!vhd_bit(bm, s)) {
				s++;
				continue;
			}
			uint32_t t = s;
			while (t < c->block_sectors && vhd_bit(bm, t) &&
			       (uint64_t)(t - s + 1) * VHD_SECTOR <= VHD_COMMIT_CHUNK)
				t++;
			uint64_t goff = base + (uint64_t)s * VHD_SECTOR;
			uint64_t len = (uint64_t)(t - s) * VHD_SECTOR;
			s = t;
			if (goff >= c->size)
				break;      /* bits past the end of the disk mean nothing */
			if (len > c->size - goff)
				len = c->size - goff;
			if (goff + len > psize) {
				snprintf(err, errlen, "%s: it holds data at %llu, past the end of its "
					 "parent %s (%llu bytes)", child_path,
					 (unsigned long long)goff, ppath, (unsigned long long)psize);
				rc = -EINVAL;
				break;
			}
			rc = diskfile_pread(&c->file, buf, len, data + (goff - base));
			if (rc) {
				snprintf(err, errlen, "%s: cannot read block %u: %s", child_path, b,
					 strerror(-rc));
				break;
			}
			struct iovec iov = { buf, len };
			rc = vhd_writev(p, goff, &iov, 1, len);
			if (rc)
				snprintf(err, errlen, "%s: cannot write to the parent at %llu: %s",
					 ppath, (unsigned long long)goff, strerror(-rc));
		}
	}
	if (!rc) {
		rc = vhd_flush(p);
		if (rc)
			snprintf(err, errlen, "%s: cannot flush the parent: %s", ppath, strerror(-rc));
	}
	if (!rc && progress)
		progress(ctx, c->blocks, c->blocks);
out:
	if (p) {
		int crc = vhd_close(p);
		if (!rc && crc) {
			snprintf(err, errlen, "%s: cannot finish writing the parent: %s", ppath,
				 strerror(-crc));
			rc = crc;
		}
	}
	vhd_close(c);
	free(ppath);
	free(bm);
	free(buf);
	return rc;
}
