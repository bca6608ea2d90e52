/*
 * blk: the block layer between disk controllers (IDE, virtio-blk) and disk
 * image formats (raw, ISO, VHD fixed/dynamic/differencing, undo disks).
 *
 * A device opens an image with blk_open() and submits requests; a small pool
 * of worker threads owned by the block layer (not libuv's shared pool) runs
 * them against the format driver. Requests that overlap an earlier, still
 * running request wait for it, so a device sees its writes land in the order
 * it issued them. BLK_FLUSH completes only once every earlier write is on
 * stable storage (the format's metadata included, fdatasync on the file).
 *
 * Completion callbacks run on a worker thread with no lock held; a device
 * takes its own lock (the machine's device lock) or defers to the loop.
 *
 * Writable images are locked (fcntl OFD lock) so two VMs cannot open one
 * image for writing; the second gets a clear error naming the file.
 */
#ifndef LODGE_BLK_H
#define LODGE_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR 512u

struct blk;

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH };

struct blk_opts {
	bool read_only;
	/* NULL: detect (VHD footer/cookie, ISO 9660 volume descriptor, else raw). */
	const char *format;
	/* Inspection tools (`lodge disk info`) only: read-only without taking the
	 * image lock, so an image in use by a running VM can still be examined. */
	bool no_lock;
	/* Differencing VHD: the parent's path to try before the locators (the
	 * base of an undo disk, a path from the VM file). NULL: locators only. */
	const char *parent;
};

struct blk_geometry {
	uint32_t cylinders;
	uint8_t heads, sectors;
};

struct blk_req;
typedef void blk_done_fn(struct blk_req *req, int result);  /* 0 or -errno */

struct blk_req {
	enum blk_op op;
	uint64_t offset;                /* bytes; multiple of BLK_SECTOR */
	const struct iovec *iov;        /* total length a multiple of BLK_SECTOR */
	int iovcnt;
	blk_done_fn *done;
	void *opaque;
	/* Private to the block layer. */
	struct blk_req *next_;
	uint64_t len_;
	unsigned flags_;
};

/* Main thread. 0, or -errno with one sentence in err (file, field, offset). */
int blk_open(const char *path, const struct blk_opts *opts, struct blk **out,
	     char *err, size_t errlen);
/* Main thread: waits for in-flight requests, flushes, unlocks. */
void blk_close(struct blk *b);

uint64_t blk_size(const struct blk *b);         /* bytes the guest sees */
bool blk_is_read_only(const struct blk *b);
const char *blk_format_name(const struct blk *b);
/* Geometry from the image (VHD footer) or computed as the VHD spec does. */
void blk_get_geometry(const struct blk *b, struct blk_geometry *g);
/* The VHD specification's CHS algorithm (appendix "CHS calculation"): the
 * largest geometry not above size, capped at 65535/16/255. */
void blk_geometry_from_size(uint64_t size, struct blk_geometry *g);
const char *blk_path(const struct blk *b);

/* Any thread. Returns 0 (done() will be called) or -errno (it will not). */
int blk_submit(struct blk *b, struct blk_req *req);
/* Synchronous helpers for tools and tests (any thread but a worker). */
int blk_pread(struct blk *b, uint64_t offset, void *buf, size_t len);
int blk_pwrite(struct blk *b, uint64_t offset, const void *buf, size_t len);
int blk_flush(struct blk *b);

#endif
