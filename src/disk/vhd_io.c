/*
 * vhd_io: reading and writing VHD images — the BAT lookup, sector bitmaps,
 * block allocation and the flush that makes metadata durable in the right
 * order. Also the block-engine driver for VHD (vhd_blk_open).
 *
 * Spec: "Block Allocation Table and Data Blocks" (a block is its sector
 * bitmap followed by its data; bitmap MSB = lowest sector), "Differencing
 * Hard Disk Image" (bit 1: the sector is in this file, 0: read the parent).
 *
 * Crash safety (reference/vhd-format.md §4, adapted). The format has no
 * journal, so the order of writes is the whole story:
 *
 *   1. A new block is placed past every existing block and never over the
 *      live footer. When it would not fit below the footer, the footer is
 *      first written further out (the file grows; the old footer copy stays
 *      behind as unreferenced bytes). The footer moves in steps of up to
 *      VHD_PREALLOC, so most allocations do not move it at all.
 *   2. Guest data is written into the block. The BAT entry and the sector
 *      bitmap change only in memory.
 *   3. Flush: fdatasync (data, and the grown file, are durable), then write
 *      the dirty bitmaps and BAT sectors, then fdatasync again.
 *
 * After a crash at any point, the on-disk BAT references only blocks whose
 * data reached the disk before their BAT entry did; a bitmap bit is never
 * durable before its sector's data; space written but not yet referenced is
 * unreferenced (leaked until compaction) and never reused, because open
 * starts allocating past the end of the file. A process kill loses nothing
 * that was flushed. Dynamic disks created here get an all-ones bitmap at
 * allocation (like QEMU): unwritten sectors of a new block are host-file
 * holes, which read as zeros, so no bitmap write is needed per data write.
 * Differencing disks keep exact bitmaps (zero bits read the parent).
 *
 * Threads: the block engine's workers call readv/writev/flush concurrently
 * on disjoint ranges. v->lock protects the BAT, the bitmaps in memory, the
 * dirty sets and the allocation cursor; it is held for bookkeeping and for
 * the 512-byte footer move only, never across data I/O. flush_lock keeps
 * flushes one at a time.
 */
#include "vhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_driver.h"
#include "iov.h"
#include "log.h"

#define VHD_PREALLOC (32u << 20)
#define VHD_DATA_ALIGN 4096u           /* block data starts page-aligned in the file */
#define VHD_BITMAP_CACHE_BYTES (8u << 20)
#define VHD_LOCAL_IOV 16

/* An I/O request being split into runs: the caller's list and room to slice it. */
struct vhd_io {
	const struct iovec *iov;
	int iovcnt;
	struct iovec *tmp;
};

static bool vhd_test_bit(const uint8_t *p, size_t n)
{
	return p[n / 8] & (0x80u >> (n % 8));
}

static void vhd_set_bit(uint8_t *p, size_t n)
{
	p[n / 8] |= (uint8_t)(0x80u >> (n % 8));
}

static bool vhd_bitmap_all_ones(const struct vhd *v, const uint8_t *bm)
{
	uint32_t full = v->block_sectors / 8;
	for (uint32_t i = 0; i < full; i++)
		if (bm[i] != 0xff)
			return false;
	for (uint32_t s = full * 8; s < v->block_sectors; s++)
		if (!vhd_test_bit(bm, s))
			return false;
	return true;
}

/* Lock held: drop clean partial bitmaps when the cache is over budget. */
static void vhd_bitmap_evict(struct vhd *v)
{
	unsigned limit = VHD_BITMAP_CACHE_BYTES / v->bitmap_bytes;
	if (limit < 64)
		limit = 64;
	if (v->bitmaps_cached < limit)
		return;
	for (uint32_t i = 0; i < v->blocks; i++) {
		uint8_t *bm = v->bitmap[i];
		if (!bm || bm == VHD_BITMAP_FULL || vhd_test_bit(v->block_dirty, i))
			continue;
		free(bm);
		v->bitmap[i] = NULL;
		v->bitmaps_cached--;
	}
}

/*
 * Make block's bitmap present in memory. Called with v->lock held (block
 * allocated); returns with it held, 0 or -errno. The read happens unlocked;
 * another thread may load the same bitmap meanwhile, and the first copy wins.
 */
static int vhd_bitmap_load_locked(struct vhd *v, uint32_t block)
{
	while (!v->bitmap[block]) {
		uint64_t off = (uint64_t)vhd_bat_get(v, block) * VHD_SECTOR;
		pthread_mutex_unlock(&v->lock);
		uint8_t *bm = malloc(v->bitmap_bytes);
		int rc = bm ? diskfile_pread(&v->file, bm, v->bitmap_bytes, off) : -ENOMEM;
		pthread_mutex_lock(&v->lock);
		if (rc) {
			free(bm);
			return rc;
		}
		if (v->bitmap[block]) {
			free(bm);
			break;
		}
		if (vhd_bitmap_all_ones(v, bm)) {
			free(bm);
			v->bitmap[block] = VHD_BITMAP_FULL;
		} else {
			vhd_bitmap_evict(v);
			v->bitmap[block] = bm;
			v->bitmaps_cached++;
		}
	}
	return 0;
}

/* Lock held: queue block's bitmap for the next flush. */
static int vhd_mark_block_dirty(struct vhd *v, uint32_t block)
{
	if (vhd_test_bit(v->block_dirty, block))
		return 0;
	if (v->ndirty == v->capdirty) {
		uint32_t cap = v->capdirty ? v->capdirty * 2 : 64;
		uint32_t *n = realloc(v->dirty_blocks, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->dirty_blocks = n;
		v->capdirty = cap;
	}
	v->dirty_blocks[v->ndirty++] = block;
	vhd_set_bit(v->block_dirty, block);
	return 0;
}

static void vhd_mark_bat_dirty(struct vhd *v, uint32_t block)
{
	vhd_set_bit(v->bat_dirty, (size_t)block * 4 / VHD_SECTOR);
}

/* Smallest offset >= pos where a block's data (after its bitmap) is page-aligned. */
static uint64_t vhd_block_place(const struct vhd *v, uint64_t pos)
{
	uint64_t data = (pos + v->bitmap_bytes + VHD_DATA_ALIGN - 1) / VHD_DATA_ALIGN *
			VHD_DATA_ALIGN;
	return data - v->bitmap_bytes;
}

/*
 * Lock held: give block a place in the file (step 1 of the header comment).
 * The BAT entry is set in memory and queued for the next flush.
 */
static int vhd_block_allocate(struct vhd *v, uint32_t block)
{
	uint64_t total = (uint64_t)v->bitmap_bytes + v->block_size;
	uint64_t x = vhd_block_place(v, v->alloc_next);
	if (x < v->footer_off + VHD_FOOTER_SIZE && x + total > v->footer_off)
		x = vhd_block_place(v, v->footer_off + VHD_FOOTER_SIZE);
	if (x / VHD_SECTOR >= VHD_BAT_FREE)
		return -EFBIG;          /* BAT entries are 32-bit sector numbers */
	if (x + total > v->footer_off) {
		uint64_t left = (uint64_t)(v->blocks - v->allocated - 1) * (total + VHD_DATA_ALIGN);
		uint64_t ahead = left < VHD_PREALLOC ? left : VHD_PREALLOC;
		uint64_t nf = x + total + ahead;
		int rc = diskfile_pwrite(&v->file, v->footer_raw, VHD_FOOTER_SIZE, nf);
		if (rc)
			return rc;
		v->footer_off = nf;
	}
	uint8_t *bm;
	if (v->footer.type == VHD_TYPE_DIFF) {
		/* A clean new bitmap may be evicted: the file holds zeros there too. */
		vhd_bitmap_evict(v);
		bm = calloc(1, v->bitmap_bytes);
		if (!bm)
			return -ENOMEM;
		v->bitmaps_cached++;
	} else {
		bm = VHD_BITMAP_FULL;
		int rc = vhd_mark_block_dirty(v, block);
		if (rc)
			return rc;
	}
	free(v->bitmap[block] == VHD_BITMAP_FULL ? NULL : v->bitmap[block]);
	v->bitmap[block] = bm;
	vhd_put_be32(v->bat + 4 * (size_t)block, (uint32_t)(x / VHD_SECTOR));
	vhd_mark_bat_dirty(v, block);
	v->alloc_next = x + total;
	v->allocated++;
	return 0;
}

/* ---- reads ------------------------------------------------------------ */

static int vhd_io_file(struct vhd *v, struct vhd_io *io, uint64_t skip, uint64_t len,
		       uint64_t file_off, bool write)
{
	int n = iov_slice(io->iov, io->iovcnt, skip, len, io->tmp, io->iovcnt);
	return write ? diskfile_pwritev(&v->file, io->tmp, n, file_off)
		     : diskfile_preadv(&v->file, io->tmp, n, file_off);
}

/* Sectors a differencing disk does not hold: the parent's, zeros past its end. */
static int vhd_io_parent(struct vhd *v, struct vhd_io *io, uint64_t skip, uint64_t len,
			 uint64_t guest_off)
{
	struct vhd *p = v->parent;
	if (!p)
		return -EIO;
	uint64_t psize = p->footer.cur_size / VHD_SECTOR * VHD_SECTOR;
	uint64_t avail = guest_off < psize ? psize - guest_off : 0;
	if (avail > len)
		avail = len;
	if (avail) {
		int n = iov_slice(io->iov, io->iovcnt, skip, avail, io->tmp, io->iovcnt);
		int rc = vhd_readv(p, guest_off, io->tmp, n, avail);
		if (rc)
			return rc;
	}
	if (avail < len)
		iov_memset(io->iov, io->iovcnt, skip + avail, 0, len - avail);
	return 0;
}

/*
 * What the file holds for sectors [s0, s0+n) of block: *entry is its BAT
 * entry; if allocated and not full, bits gets the bitmap bytes covering the
 * range (bit s0 is bit s0 % 8 of bits[0]).
 */
static int vhd_block_lookup(struct vhd *v, uint32_t block, uint32_t s0, uint32_t n,
			    uint32_t *entry, bool *full, uint8_t *bits)
{
	pthread_mutex_lock(&v->lock);
	*entry = vhd_bat_get(v, block);
	*full = false;
	int rc = 0;
	if (*entry != VHD_BAT_FREE) {
		rc = vhd_bitmap_load_locked(v, block);
		if (!rc) {
			const uint8_t *bm = v->bitmap[block];
			if (bm == VHD_BITMAP_FULL)
				*full = true;
			else
				memcpy(bits, bm + s0 / 8, (s0 % 8 + n + 7) / 8);
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static int vhd_read_block(struct vhd *v, struct vhd_io *io, uint64_t skip, uint32_t block,
			  uint32_t s0, uint32_t n)
{
	uint8_t local[520];
	size_t need = (s0 % 8 + n + 7) / 8;
	uint8_t *bits = need <= sizeof(local) ? local : malloc(need);
	if (!bits)
		return -ENOMEM;
	uint64_t guest_off = (uint64_t)block * v->block_size + (uint64_t)s0 * VHD_SECTOR;
	uint32_t e;
	bool full;
	int rc = vhd_block_lookup(v, block, s0, n, &e, &full, bits);
	if (rc)
		goto out;
	if (e == VHD_BAT_FREE) {
		if (v->footer.type == VHD_TYPE_DIFF)
			rc = vhd_io_parent(v, io, skip, (uint64_t)n * VHD_SECTOR, guest_off);
		else
			iov_memset(io->iov, io->iovcnt, skip, 0, (uint64_t)n * VHD_SECTOR);
		goto out;
	}
	uint64_t data = (uint64_t)e * VHD_SECTOR + v->bitmap_bytes + (uint64_t)s0 * VHD_SECTOR;
	uint32_t base = s0 % 8;
	for (uint32_t i = 0; i < n && !rc;) {
		bool bit = full || vhd_test_bit(bits, base + i);
		uint32_t j = i + 1;
		while (j < n && (full || vhd_test_bit(bits, base + j)) == bit)
			j++;
		uint64_t sk = skip + (uint64_t)i * VHD_SECTOR, len = (uint64_t)(j - i) * VHD_SECTOR;
		if (bit)
			rc = vhd_io_file(v, io, sk, len, data + (uint64_t)i * VHD_SECTOR, false);
		else if (v->footer.type == VHD_TYPE_DIFF)
			rc = vhd_io_parent(v, io, sk, len, guest_off + (uint64_t)i * VHD_SECTOR);
		else
			iov_memset(io->iov, io->iovcnt, sk, 0, len);
		i = j;
	}
out:
	if (bits != local)
		free(bits);
	return rc;
}

/* ---- writes ----------------------------------------------------------- */

static int vhd_write_block(struct vhd *v, struct vhd_io *io, uint64_t skip, uint32_t block,
			   uint32_t s0, uint32_t n)
{
	pthread_mutex_lock(&v->lock);
	int rc = 0;
	uint32_t e = vhd_bat_get(v, block);
	if (e == VHD_BAT_FREE) {
		rc = vhd_block_allocate(v, block);
		e = vhd_bat_get(v, block);
	}
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;

	uint64_t data = (uint64_t)e * VHD_SECTOR + v->bitmap_bytes + (uint64_t)s0 * VHD_SECTOR;
	rc = vhd_io_file(v, io, skip, (uint64_t)n * VHD_SECTOR, data, true);
	if (rc)
		return rc;

	/* The data is written: now its bits may be set (never before). */
	pthread_mutex_lock(&v->lock);
	rc = vhd_bitmap_load_locked(v, block);
	uint8_t *bm = rc ? NULL : v->bitmap[block];
	if (bm && bm != VHD_BITMAP_FULL) {
		bool changed = false;
		for (uint32_t i = s0; i < s0 + n; i++) {
			if (!vhd_test_bit(bm, i)) {
				vhd_set_bit(bm, i);
				changed = true;
			}
		}
		if (changed)
			rc = vhd_mark_block_dirty(v, block);
		if (changed && vhd_bitmap_all_ones(v, bm)) {
			free(bm);
			v->bitmap[block] = VHD_BITMAP_FULL;
			v->bitmaps_cached--;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

typedef int vhd_block_fn(struct vhd *v, struct vhd_io *io, uint64_t skip, uint32_t block,
			 uint32_t s0, uint32_t n);

/* Split [off, off+len) at block boundaries. */
static int vhd_for_each_block(struct vhd *v, uint64_t off, const struct iovec *iov, int iovcnt,
			      uint64_t len, vhd_block_fn *fn)
{
	struct iovec local[VHD_LOCAL_IOV];
	struct vhd_io io = { iov, iovcnt, local };
	if (iovcnt > VHD_LOCAL_IOV) {
		io.tmp = malloc(sizeof(*io.tmp) * (size_t)iovcnt);
		if (!io.tmp)
			return -ENOMEM;
	}
	int rc = 0;
	for (uint64_t done = 0; done < len && !rc;) {
		uint64_t pos = off + done;
		uint32_t block = (uint32_t)(pos / v->block_size);
		uint32_t in = (uint32_t)(pos % v->block_size);
		uint64_t n = v->block_size - in;
		if (n > len - done)
			n = len - done;
		rc = fn(v, &io, done, block, in / VHD_SECTOR, (uint32_t)(n / VHD_SECTOR));
		done += n;
	}
	if (io.tmp != local)
		free(io.tmp);
	return rc;
}

int vhd_readv(struct vhd *v, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len)
{
	if (!vhd_is_sparse(v))
		return diskfile_preadv(&v->file, iov, iovcnt, off);
	return vhd_for_each_block(v, off, iov, iovcnt, len, vhd_read_block);
}

int vhd_writev(struct vhd *v, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len)
{
	if (v->read_only)
		return -EROFS;
	if (!vhd_is_sparse(v))
		return diskfile_pwritev(&v->file, iov, iovcnt, off);
	return vhd_for_each_block(v, off, iov, iovcnt, len, vhd_write_block);
}

int vhd_block_bitmap(struct vhd *v, uint32_t block, uint8_t *out)
{
	pthread_mutex_lock(&v->lock);
	int rc = -ENOENT;
	if (block < v->blocks && vhd_bat_get(v, block) != VHD_BAT_FREE) {
		rc = vhd_bitmap_load_locked(v, block);
		if (!rc) {
			if (v->bitmap[block] == VHD_BITMAP_FULL)
				memset(out, 0xff, v->bitmap_bytes);
			else
				memcpy(out, v->bitmap[block], v->bitmap_bytes);
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* ---- flush ------------------------------------------------------------ */

struct vhd_meta_write {
	uint64_t off;
	uint32_t len;
	const uint8_t *data;            /* NULL: all ones (a full bitmap) */
	uint8_t *copy;
};

/* Lock held: take the dirty bitmaps and BAT sectors, clearing their marks. */
static int vhd_flush_collect(struct vhd *v, struct vhd_meta_write **out, size_t *count)
{
	size_t nbat = 0, nsec = v->bat_bytes / VHD_SECTOR;
	for (size_t s = 0; s < nsec; s++)
		nbat += vhd_test_bit(v->bat_dirty, s);
	size_t n = v->ndirty + nbat;
	*out = NULL;
	*count = 0;
	if (!n)
		return 0;
	struct vhd_meta_write *w = calloc(n, sizeof(*w));
	if (!w)
		return -ENOMEM;
	size_t k = 0;
	for (uint32_t i = 0; i < v->ndirty; i++) {
		uint32_t b = v->dirty_blocks[i];
		w[k].off = (uint64_t)vhd_bat_get(v, b) * VHD_SECTOR;
		w[k].len = v->bitmap_bytes;
		if (v->bitmap[b] != VHD_BITMAP_FULL) {
			w[k].copy = malloc(v->bitmap_bytes);
			if (!w[k].copy)
				goto nomem;
			memcpy(w[k].copy, v->bitmap[b], v->bitmap_bytes);
			w[k].data = w[k].copy;
		}
		k++;
	}
	/* Consecutive dirty BAT sectors go out as one write. */
	for (size_t s = 0; s < nsec; s++) {
		if (!vhd_test_bit(v->bat_dirty, s))
			continue;
		size_t e = s;
		while (e + 1 < nsec && vhd_test_bit(v->bat_dirty, e + 1))
			e++;
		uint32_t len = (uint32_t)((e - s + 1) * VHD_SECTOR);
		w[k].off = v->header.table_offset + s * VHD_SECTOR;
		w[k].len = len;
		w[k].copy = malloc(len);
		if (!w[k].copy)
			goto nomem;
		memcpy(w[k].copy, v->bat + s * VHD_SECTOR, len);
		w[k].data = w[k].copy;
		k++;
		s = e;
	}
	for (uint32_t i = 0; i < v->ndirty; i++)
		v->block_dirty[v->dirty_blocks[i] / 8] = 0;
	v->ndirty = 0;
	memset(v->bat_dirty, 0, nsec / 8 + 1);
	*out = w;
	*count = k;
	return 0;
nomem:
	for (size_t i = 0; i < k + 1 && i < n; i++)
		free(w[i].copy);
	free(w);
	return -ENOMEM;
}

/* Lock held: a flush failed; its metadata must go out with the next one. */
static void vhd_flush_requeue(struct vhd *v, const struct vhd_meta_write *w, size_t n)
{
	uint64_t bat_start = v->header.table_offset, bat_end = bat_start + v->bat_bytes;
	for (size_t i = 0; i < n; i++) {
		if (w[i].off >= bat_start && w[i].off < bat_end) {
			for (uint64_t s = (w[i].off - bat_start) / VHD_SECTOR;
			     s < (w[i].off - bat_start + w[i].len) / VHD_SECTOR; s++)
				vhd_set_bit(v->bat_dirty, s);
			continue;
		}
		for (uint32_t b = 0; b < v->blocks; b++) {
			if ((uint64_t)vhd_bat_get(v, b) * VHD_SECTOR == w[i].off) {
				vhd_mark_block_dirty(v, b);
				break;
			}
		}
	}
}

/* Worker (or closing) thread: step 3 of the header comment. */
int vhd_flush(struct vhd *v)
{
	if (v->read_only)
		return 0;
	if (!vhd_is_sparse(v))
		return diskfile_sync(&v->file);
	pthread_mutex_lock(&v->flush_lock);
	struct vhd_meta_write *w;
	size_t n;
	pthread_mutex_lock(&v->lock);
	int rc = vhd_flush_collect(v, &w, &n);
	pthread_mutex_unlock(&v->lock);
	if (!rc)
		rc = diskfile_sync(&v->file);
	uint8_t *ones = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		const uint8_t *data = w[i].data;
		if (!data) {
			if (!ones && !(ones = malloc(v->bitmap_bytes))) {
				rc = -ENOMEM;
				break;
			}
			memset(ones, 0xff, v->bitmap_bytes);
			data = ones;
		}
		rc = diskfile_pwrite(&v->file, data, w[i].len, w[i].off);
	}
	if (!rc && n)
		rc = diskfile_sync(&v->file);
	if (rc && n) {
		pthread_mutex_lock(&v->lock);
		vhd_flush_requeue(v, w, n);
		pthread_mutex_unlock(&v->lock);
	}
	for (size_t i = 0; i < n; i++)
		free(w[i].copy);
	free(w);
	free(ones);
	pthread_mutex_unlock(&v->flush_lock);
	return rc;
}

/* ---- block engine driver ---------------------------------------------- */

static int vhd_drv_readv(void *s, uint64_t off, const struct iovec *iov, int iovcnt,
			 uint64_t len)
{
	return vhd_readv(s, off, iov, iovcnt, len);
}

static int vhd_drv_writev(void *s, uint64_t off, const struct iovec *iov, int iovcnt,
			  uint64_t len)
{
	return vhd_writev(s, off, iov, iovcnt, len);
}

static int vhd_drv_flush(void *s)
{
	return vhd_flush(s);
}

static int vhd_drv_close(void *s)
{
	return vhd_close(s);
}

static const struct blk_driver vhd_driver = {
	.name = "vhd",
	.readv = vhd_drv_readv,
	.writev = vhd_drv_writev,
	.flush = vhd_drv_flush,
	.close = vhd_drv_close,
};

int vhd_blk_open(const char *path, const struct blk_opts *opts, struct blk_image *img,
		 char *err, size_t errlen)
{
	struct vhd_open_opts o = {
		.read_only = opts->read_only,
		.no_lock = opts->no_lock,
		.parent_hint = opts->parent,
	};
	struct vhd *v;
	int rc = vhd_open(path, &o, &v, err, errlen);
	if (rc)
		return rc;
	img->drv = &vhd_driver;
	img->state = v;
	img->size = v->size;
	img->read_only = v->read_only;
	switch (v->footer.type) {
	case VHD_TYPE_FIXED: img->format = "vhd-fixed"; break;
	case VHD_TYPE_DYNAMIC: img->format = "vhd-dynamic"; break;
	default: img->format = "vhd-differencing"; break;
	}
	if (v->footer.cylinders && v->footer.heads && v->footer.sectors) {
		img->geom.cylinders = v->footer.cylinders;
		img->geom.heads = v->footer.heads;
		img->geom.sectors = v->footer.sectors;
	} else {
		blk_geometry_from_size(v->size, &img->geom);
	}
	return 0;
}
