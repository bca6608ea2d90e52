/*
 * raw: flat disk images and ISO 9660 CD images (ECMA-119) — the guest's
 * sector N is the file's bytes [N*512, N*512+512).
 *
 * ISO images are always read-only: they are distribution media, and a CD-ROM
 * drive cannot write. A raw file whose length is not a whole number of
 * sectors shows the guest only its whole sectors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_driver.h"
#include "diskfile.h"

struct raw {
	struct diskfile file;
};

static int raw_readv(void *s, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len)
{
	struct raw *r = s;
	return diskfile_preadv(&r->file, iov, iovcnt, off);
}

static int raw_writev(void *s, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len)
{
	struct raw *r = s;
	return diskfile_pwritev(&r->file, iov, iovcnt, off);
}

static int raw_flush(void *s)
{
	struct raw *r = s;
	return diskfile_sync(&r->file);
}

static int raw_close(void *s)
{
	struct raw *r = s;
	int rc = diskfile_sync(&r->file);
	diskfile_close(&r->file);
	free(r);
	return rc;
}

static const struct blk_driver raw_driver = {
	.name = "raw",
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.close = raw_close,
};

int raw_open(const char *path, const struct blk_opts *opts, bool iso, struct blk_image *img,
	     char *err, size_t errlen)
{
	struct raw *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	bool ro = opts->read_only || iso;
	int rc = diskfile_open(&r->file, path, ro,
			       opts->no_lock ? DISKFILE_NO_LOCK : DISKFILE_LOCK, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	uint64_t size;
	rc = diskfile_size(&r->file, &size);
	if (rc) {
		snprintf(err, errlen, "%s: cannot read the file size: %s", path, strerror(-rc));
		diskfile_close(&r->file);
		free(r);
		return rc;
	}
	img->drv = &raw_driver;
	img->state = r;
	img->size = size / BLK_SECTOR * BLK_SECTOR;
	img->read_only = ro;
	img->format = iso ? "iso" : "raw";
	blk_geometry_from_size(img->size, &img->geom);
	return 0;
}
