/*
 * disk_convert: `lodge disk convert IN OUT --to raw|vhd-fixed|vhd-dynamic`.
 *
 * The input is read through the block layer, so any format Lodge opens
 * (raw, ISO, every VHD type, a differencing chain flattened) can be
 * converted. The output is created new (never overwritten) and written
 * through the block layer too; 64 KiB pieces that are all zeros are skipped,
 * which leaves holes in raw files and unallocated blocks in dynamic VHDs.
 * On any failure the half-written output is removed.
 */
#include "disk_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "diskfile.h"
#include "iov.h"
#include "vhd.h"

#define CONVERT_CHUNK (2u << 20)
#define CONVERT_PIECE (64u << 10)
#define CONVERT_FLUSH_EVERY (1ULL << 30)

static int convert_create(const char *out, enum disk_target to, uint64_t size, char *err,
			  size_t errlen)
{
	if (to == DISK_TO_RAW) {
		struct diskfile f;
		int rc = diskfile_create(&f, out, err, errlen);
		if (rc)
			return rc;
		rc = diskfile_truncate(&f, size);
		if (rc) {
			snprintf(err, errlen, "%s: cannot size the file: %s", out, strerror(-rc));
			unlink(out);
		}
		diskfile_close(&f);
		return rc;
	}
	struct vhd_create_opts o = {
		.type = to == DISK_TO_VHD_FIXED ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC,
		.size = size,
	};
	return vhd_create(out, &o, err, errlen);
}

/* Write the non-zero pieces of buf (len bytes, for offset off). */
static int convert_write(struct blk *dst, const uint8_t *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len;) {
		size_t n = len - i < CONVERT_PIECE ? len - i : CONVERT_PIECE;
		if (iov_buf_is_zero(buf + i, n)) {
			i += n;
			continue;
		}
		size_t j = i + n;   /* extend over following non-zero pieces */
		while (j < len) {
			size_t m = len - j < CONVERT_PIECE ? len - j : CONVERT_PIECE;
			if (iov_buf_is_zero(buf + j, m))
				break;
			j += m;
		}
		int rc = blk_pwrite(dst, off + i, buf + i, j - i);
		if (rc)
			return rc;
		i = j;
	}
	return 0;
}

int disk_convert(const char *in, const char *out, enum disk_target to, struct progress *pr,
		 char *err, size_t errlen)
{
	struct blk *src = NULL, *dst = NULL;
	struct blk_opts ro = { .read_only = true };
	int rc = blk_open(in, &ro, &src, err, errlen);
	if (rc)
		return rc;
	uint64_t size = blk_size(src);
	rc = convert_create(out, to, size, err, errlen);
	if (rc) {
		blk_close(src);
		return rc;
	}
	struct blk_opts rw = { .format = to == DISK_TO_RAW ? "raw" : "vhd" };
	rc = blk_open(out, &rw, &dst, err, errlen);
	uint8_t *buf = malloc(CONVERT_CHUNK);
	if (!rc && !buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", out);
	}
	uint64_t since_flush = 0;
	for (uint64_t off = 0; !rc && off < size;) {
		size_t n = size - off < CONVERT_CHUNK ? (size_t)(size - off) : CONVERT_CHUNK;
		rc = blk_pread(src, off, buf, n);
		if (rc) {
			snprintf(err, errlen, "%s: cannot read at offset %llu: %s", in,
				 (unsigned long long)off, strerror(-rc));
			break;
		}
		rc = convert_write(dst, buf, n, off);
		if (rc) {
			snprintf(err, errlen, "%s: cannot write at offset %llu: %s", out,
				 (unsigned long long)off, strerror(-rc));
			break;
		}
		off += n;
		since_flush += n;
		/* Bound the metadata a dynamic output keeps in memory. */
		if (since_flush >= CONVERT_FLUSH_EVERY) {
			rc = blk_flush(dst);
			since_flush = 0;
		}
		if (pr)
			progress_update(pr, off, size);
	}
	if (!rc && dst) {
		rc = blk_flush(dst);
		if (rc)
			snprintf(err, errlen, "%s: cannot flush: %s", out, strerror(-rc));
	}
	free(buf);
	blk_close(dst);
	blk_close(src);
	if (rc)
		unlink(out);
	return rc;
}
