/*
 * blk_driver: what a disk image format provides to the block engine (blk.c).
 *
 * The engine calls readv/writev/flush from its worker threads, several at
 * once, but never two that overlap where one of them writes: a driver only
 * protects its own metadata (a VHD's BAT and bitmaps), never data ranges.
 * Requests arrive checked: sector-aligned, inside the disk, writes only on a
 * writable image.
 */
#ifndef LODGE_DISK_BLK_DRIVER_H
#define LODGE_DISK_BLK_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blk.h"

struct blk_driver {
	const char *name;
	int (*readv)(void *s, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len);
	int (*writev)(void *s, uint64_t off, const struct iovec *iov, int iovcnt,
		      uint64_t len);
	int (*flush)(void *s);
	/* Flushes, releases the file and its lock, frees s. */
	int (*close)(void *s);
};

/* An opened image as a format driver hands it to the engine. */
struct blk_image {
	const struct blk_driver *drv;
	void *state;
	uint64_t size;                  /* bytes the guest sees */
	bool read_only;
	const char *format;             /* "raw", "iso", "vhd-fixed", ... */
	struct blk_geometry geom;
};

/* Format probes and openers (main thread). 0 or -errno with err filled. */
int raw_open(const char *path, const struct blk_opts *opts, bool iso, struct blk_image *img,
	     char *err, size_t errlen);
int vhd_blk_open(const char *path, const struct blk_opts *opts, struct blk_image *img,
		 char *err, size_t errlen);
/* Put the engine over an already opened image (blk_open's last step; tests
 * use it with fake drivers). path is for messages. 0 or -ENOMEM. */
int blk_attach(const char *path, const struct blk_image *img, struct blk **out);
/* "vhd", "iso" or "raw" for the file's contents; -errno if unreadable. */
int blk_probe(const char *path, const char **format, char *err, size_t errlen);

#endif
