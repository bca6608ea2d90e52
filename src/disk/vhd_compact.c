/*
 * vhd_compact: rewrite a dynamic or differencing VHD without the blocks it
 * does not need, the way Virtual Server 2005 compacts: a new file is written
 * beside the old one and renamed over it, so a crash leaves either image
 * whole (and needs room for both meanwhile).
 *
 * A dynamic disk's block is dropped when its data is all zeros (it reads as
 * zeros unallocated, too) or no sector is marked; a differencing disk's only
 * when no sector is marked, since its zeros hide the parent's data. Kept
 * blocks are packed in order, data page-aligned; all-zero runs inside them
 * stay holes. Footer, header and parent locators are kept byte for byte, so
 * the unique id (which children refer to) does not change.
 */
#include "vhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iov.h"

#define VHD_COMPACT_HOLE 65536u

static bool bitmap_empty(const struct vhd *v, const uint8_t *bm)
{
	for (uint32_t s = 0; s < v->block_sectors; s++)
		if (vhd_bit(bm, s))
			return false;
	return true;
}

/* Write buf[0, len) at off, leaving aligned all-zero pieces as holes. */
static int vhd_write_sparse(struct diskfile *f, const uint8_t *buf, uint64_t len, uint64_t off)
{
	for (uint64_t i = 0; i < len;) {
		uint64_t n = len - i < VHD_COMPACT_HOLE ? len - i : VHD_COMPACT_HOLE;
		if (!iov_buf_is_zero(buf + i, n)) {
			int rc = diskfile_pwrite(f, buf + i, n, off + i);
			if (rc)
				return rc;
		}
		i += n;
	}
	return 0;
}

/* Copy the old image's metadata region: footer copy, header, locators. */
static int vhd_compact_meta(struct vhd *v, struct diskfile *out, uint8_t *bat)
{
	uint8_t *meta = malloc(v->meta_end);
	if (!meta)
		return -ENOMEM;
	int rc = diskfile_pread(&v->file, meta, v->meta_end, 0);
	if (!rc) {
		memcpy(meta + v->header.table_offset, bat, v->bat_bytes);
		rc = diskfile_pwrite(out, meta, v->meta_end, 0);
	}
	free(meta);
	return rc;
}

int vhd_compact(const char *path, vhd_progress_fn *progress, void *ctx, uint64_t *freed,
		char *err, size_t errlen)
{
	struct vhd_open_opts o = { .read_only = false, .no_parent = true };
	struct vhd *v;
	int rc = vhd_open(path, &o, &v, err, errlen);
	if (rc)
		return rc;
	struct diskfile out = { .fd = -1 };
	uint8_t *bat = NULL, *bm = NULL, *data = NULL;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.compacting", path);
	if (!vhd_is_sparse(v)) {
		snprintf(err, errlen, "%s: a fixed disk has no blocks to drop (convert it to "
			 "vhd-dynamic instead)", path);
		rc = -EINVAL;
		goto out;
	}
	/* A leftover from a compaction that was interrupted is ours to remove. */
	unlink(tmp);
	rc = diskfile_create(&out, tmp, err, errlen);
	if (rc)
		goto out;
	struct stat st;
	if (fstat(v->file.fd, &st) == 0)
		fchmod(out.fd, st.st_mode & 07777);
	bat = malloc(v->bat_bytes);
	bm = malloc(v->bitmap_bytes);
	data = malloc(v->block_size);
	if (!bat || !bm || !data) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	memcpy(bat, v->bat, v->bat_bytes);
	uint64_t next = v->meta_end;
	for (uint32_t b = 0; b < v->blocks; b++) {
		if (progress)
			progress(ctx, b, v->blocks);
		uint32_t e = vhd_bat_get(v, b);
		if (e == VHD_BAT_FREE)
			continue;
		uint64_t at = (uint64_t)e * VHD_SECTOR;
		rc = vhd_block_bitmap(v, b, bm);
		if (!rc)
			rc = diskfile_pread(&v->file, data, v->block_size, at + v->bitmap_bytes);
		if (rc) {
			snprintf(err, errlen, "%s: cannot read block %u at offset %llu: %s", path, b,
				 (unsigned long long)at, strerror(-rc));
			goto fail;
		}
		bool drop = bitmap_empty(v, bm) ||
			    (v->footer.type == VHD_TYPE_DYNAMIC &&
			     iov_buf_is_zero(data, v->block_size));
		if (drop) {
			vhd_put_be32(bat + 4 * (size_t)b, VHD_BAT_FREE);
			continue;
		}
		/* Data page-aligned, as the allocator places it. */
		uint64_t x = (next + v->bitmap_bytes + 4095) / 4096 * 4096 - v->bitmap_bytes;
		rc = diskfile_pwrite(&out, bm, v->bitmap_bytes, x);
		if (!rc)
			rc = vhd_write_sparse(&out, data, v->block_size, x + v->bitmap_bytes);
		if (rc) {
			snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(-rc));
			goto fail;
		}
		vhd_put_be32(bat + 4 * (size_t)b, (uint32_t)(x / VHD_SECTOR));
		next = x + v->bitmap_bytes + v->block_size;
	}
	rc = vhd_compact_meta(v, &out, bat);
	if (!rc)
		rc = diskfile_pwrite(&out, v->footer_raw, VHD_FOOTER_SIZE, next);
	if (!rc)
		rc = fsync(out.fd) ? -errno : 0;
	if (rc) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(-rc));
		goto fail;
	}
	if (rename(tmp, path)) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot replace it with the compacted copy: %s", path,
			 strerror(errno));
		goto fail;
	}
	if (freed)
		*freed = v->file_size > next + VHD_FOOTER_SIZE ?
			 v->file_size - (next + VHD_FOOTER_SIZE) : 0;
	if (progress)
		progress(ctx, v->blocks, v->blocks);
	diskfile_close(&out);
	goto out;
fail:
	diskfile_close(&out);
	unlink(tmp);
out:
	v->read_only = true;        /* the old file is replaced or untouched */
	vhd_close(v);
	free(bat);
	free(bm);
	free(data);
	return rc;
}
