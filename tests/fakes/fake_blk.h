/*
 * fake_blk: an in-memory block device for unit tests of disk controllers.
 *
 * A controller calls blk_submit, blk_size, blk_is_read_only and
 * blk_get_geometry. A test links with FAKE_BLK_WRAP (tests/unit/
 * CMakeLists.txt: -Wl,--wrap=blk_submit,...), so the controller's calls go
 * to the __wrap_blk_* functions here while the real block layer stays in
 * lodge_core for everything else (the linker's --wrap, as cmocka advises
 * for mocks). Only block devices made by fake_blk_create may be passed to
 * the wrapped calls.
 *
 * Requests queue up until the test completes them (fake_blk_complete_one,
 * fake_blk_drain), from the test's thread and with no lock held, exactly as
 * a block worker would; or, in threaded mode, a worker thread of the fake
 * completes them after a short delay. The fake checks the contract (sector
 * aligned offsets and lengths, nothing past the end, no write to a
 * read-only image) and counts violations instead of performing them.
 *
 * A "sparse" fake has a size but no storage: reads return a pattern derived
 * from the byte offset (fake_blk_pattern), writes are counted and dropped.
 * It lets a test address a 200 GiB disk.
 */
#ifndef LODGE_FAKE_BLK_H
#define LODGE_FAKE_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "disk/blk.h"

struct fake_blk_stats {
	unsigned reads, writes, flushes;
	uint64_t bytes_read, bytes_written;
	unsigned violations;
};

/* Storage filled with fake_blk_pattern(offset). */
struct blk *fake_blk_create(uint64_t size, bool read_only);
struct blk *fake_blk_create_sparse(uint64_t size);
void fake_blk_destroy(struct blk *b);

uint8_t fake_blk_pattern(uint64_t offset);
uint8_t *fake_blk_data(struct blk *b);  /* NULL for a sparse fake */
void fake_blk_set_geometry(struct blk *b, uint32_t cylinders, uint8_t heads, uint8_t sectors);
/* The next request of this kind completes with err (a negative errno). */
void fake_blk_fail_next(struct blk *b, enum blk_op op, int err);
/* The next blk_submit returns err at once (done() is not called). */
void fake_blk_refuse_next(struct blk *b, int err);
void fake_blk_stats(struct blk *b, struct fake_blk_stats *s);

unsigned fake_blk_pending(struct blk *b);
/* Complete the oldest pending request; false if there was none. */
bool fake_blk_complete_one(struct blk *b);
/* Complete requests (including ones submitted by completions) until none
 * is pending; returns how many. */
unsigned fake_blk_drain(struct blk *b);
/* Threaded mode: a worker completes each request delay_us after it came. */
void fake_blk_set_threaded(struct blk *b, unsigned delay_us);

/* What the controller's blk_* calls become. */
int __wrap_blk_submit(struct blk *b, struct blk_req *req);
uint64_t __wrap_blk_size(const struct blk *b);
bool __wrap_blk_is_read_only(const struct blk *b);
void __wrap_blk_get_geometry(const struct blk *b, struct blk_geometry *g);

#endif
