/*
 * vhd: Microsoft Virtual Hard Disk (VHD v1.0) images — fixed, dynamic and
 * differencing — inside Lodge. Follows "Virtual Hard Disk Image Format
 * Specification" v1.0 (2006) and the interoperability notes in
 * reference/vhd-format.md (what Virtual PC, Hyper-V, QEMU, VirtualBox,
 * Xen and libvhdi actually write and read).
 *
 * Files:
 *   vhd_format.c   footer/header/locator encoding, checksums, size rules,
 *                  field validation (shared by open and `lodge disk check`)
 *   vhd_open.c     finding the footer, loading and validating the BAT, close
 *   vhd_parent.c   parent locators (W2ru/W2ku/MacX/name) and parent lookup
 *   vhd_io.c       reads and writes: block allocation, sector bitmaps, flush
 *   vhd_create.c   new fixed/dynamic/differencing images (Hyper-V style)
 *   vhd_check.c    structural checker
 *   vhd_commit.c   merging a differencing disk into its parent
 *   vhd_compact.c  dropping blocks that hold only zeros
 *
 * All integers on disk are big-endian; a sector is 512 bytes.
 */
#ifndef LODGE_DISK_VHD_H
#define LODGE_DISK_VHD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "diskfile.h"

#define VHD_SECTOR 512u
#define VHD_FOOTER_SIZE 512u
#define VHD_HEADER_SIZE 1024u
#define VHD_TYPE_FIXED 2u
#define VHD_TYPE_DYNAMIC 3u
#define VHD_TYPE_DIFF 4u
#define VHD_BAT_FREE 0xffffffffu
#define VHD_VERSION 0x00010000u
#define VHD_FEATURE_TEMPORARY 0x1u
#define VHD_FEATURE_RESERVED 0x2u      /* must be set */
/* 2040 GiB: BAT entries are 32-bit sector numbers, so no block may start at
 * or past 2 TiB; Microsoft caps every VHD at 2040 GB (0xFF000000 sectors). */
#define VHD_MAX_SIZE (2040ULL << 30)
#define VHD_MIN_BLOCK 512u
#define VHD_MAX_BLOCK (256u << 20)     /* what VHDX allows; nobody writes more */
#define VHD_DEFAULT_BLOCK (2u << 20)
/* Enough for 2040 GiB in 512 KiB blocks; a 16 MiB table in memory at most. */
#define VHD_MAX_BAT_ENTRIES (1u << 22)
#define VHD_MAX_CHAIN 16               /* differencing disks above a base */
#define VHD_MAX_LOCATOR 32768u         /* bytes of one locator path */
#define VHD_EPOCH 946684800            /* 2000-01-01T00:00:00Z in Unix time */
#define VHD_NLOC 8

/* Locator platform codes. */
#define VHD_LOC_W2RU 0x57327275u       /* "W2ru" UTF-16LE relative Windows path */
#define VHD_LOC_W2KU 0x57326b75u       /* "W2ku" UTF-16LE absolute Windows path */
#define VHD_LOC_MACX 0x4d616358u       /* "MacX" UTF-8 file:// URL */
#define VHD_LOC_WI2R 0x57693272u       /* deprecated 8-bit relative */
#define VHD_LOC_WI2K 0x5769326bu       /* deprecated 8-bit absolute */
#define VHD_LOC_MAC 0x4d616320u        /* "Mac " alias blob */

/* Field offsets, named in messages ("footer checksum at offset N"). */
enum {
	VHD_F_COOKIE = 0, VHD_F_FEATURES = 8, VHD_F_VERSION = 12, VHD_F_DATA_OFFSET = 16,
	VHD_F_TIMESTAMP = 24, VHD_F_CREATOR_APP = 28, VHD_F_CREATOR_VER = 32,
	VHD_F_CREATOR_OS = 36, VHD_F_ORIG_SIZE = 40, VHD_F_CUR_SIZE = 48, VHD_F_GEOMETRY = 56,
	VHD_F_TYPE = 60, VHD_F_CHECKSUM = 64, VHD_F_UUID = 68, VHD_F_SAVED = 84,
	VHD_F_RESERVED = 85,
};
enum {
	VHD_H_COOKIE = 0, VHD_H_DATA_OFFSET = 8, VHD_H_TABLE_OFFSET = 16, VHD_H_VERSION = 24,
	VHD_H_MAX_ENTRIES = 28, VHD_H_BLOCK_SIZE = 32, VHD_H_CHECKSUM = 36,
	VHD_H_PARENT_UUID = 40, VHD_H_PARENT_TS = 56, VHD_H_RESERVED1 = 60,
	VHD_H_PARENT_NAME = 64, VHD_H_LOCATORS = 576, VHD_H_RESERVED2 = 768,
};

struct vhd_footer {
	char cookie[8];
	uint32_t features, version;
	uint64_t data_offset;
	uint32_t timestamp;
	char creator_app[4];
	uint32_t creator_version, creator_os;
	uint64_t orig_size, cur_size;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t type, checksum;
	uint8_t uuid[16];
	uint8_t saved_state;
	uint8_t reserved[427];           /* preserved as read (Xen's "hidden" byte) */
};

struct vhd_locator {
	uint32_t code, space, length, reserved;
	uint64_t offset;
};

struct vhd_header {
	char cookie[8];
	uint64_t data_offset, table_offset;
	uint32_t version, max_entries, block_size, checksum;
	uint8_t parent_uuid[16];
	uint32_t parent_timestamp, reserved1;
	uint8_t parent_name[512];        /* UTF-16BE */
	struct vhd_locator loc[VHD_NLOC];
	uint8_t reserved2[256];
};

/* ---- problem reports (vhd_format.c) ------------------------------------ */

enum vhd_severity { VHD_WARNING, VHD_ERROR };
typedef void vhd_report_fn(void *ctx, enum vhd_severity sev, const char *msg);

/* Where validators send problems: open stops at the first error, check
 * prints them all. Messages read "FILE: FIELD at offset N: what is wrong". */
struct vhd_report {
	const char *path;
	vhd_report_fn *fn;               /* NULL: only count */
	void *ctx;
	char *first;                     /* if set, the first error is kept here */
	size_t firstlen;
	unsigned errors, warnings;
};

void vhd_report(struct vhd_report *r, enum vhd_severity sev, uint64_t off, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- encoding (vhd_format.c) ------------------------------------------- */

uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t checksum_off);
void vhd_footer_decode(const uint8_t raw[VHD_FOOTER_SIZE], struct vhd_footer *f);
/* Fills f->checksum and writes the 512 bytes. */
void vhd_footer_encode(struct vhd_footer *f, uint8_t raw[VHD_FOOTER_SIZE]);
void vhd_header_decode(const uint8_t raw[VHD_HEADER_SIZE], struct vhd_header *h);
void vhd_header_encode(struct vhd_header *h, uint8_t raw[VHD_HEADER_SIZE]);
/* Guest-visible size by the creator's rule; *by_chs tells which rule. */
uint64_t vhd_footer_disk_size(const struct vhd_footer *f, bool *by_chs);
const char *vhd_type_name(uint32_t type);
void vhd_uuid_format(const uint8_t uuid[16], char out[37]);
int vhd_uuid_generate(uint8_t uuid[16]);
uint32_t vhd_time_now(void);
/* Bitmap bytes in front of each block: sector bits, padded to sectors. */
uint32_t vhd_bitmap_bytes(uint32_t block_size);

/* Field rules (spec + the Xen checker's list); errors stop an open. */
void vhd_footer_validate(const struct vhd_footer *f, uint64_t off, uint64_t footer_off,
			 struct vhd_report *r);
void vhd_header_validate(const struct vhd_header *h, uint64_t off, const struct vhd_footer *f,
			 uint64_t footer_off, struct vhd_report *r);

/* ---- an open image (vhd_open.c, vhd_io.c) ------------------------------ */

struct vhd_open_opts {
	bool read_only;
	bool no_lock;                    /* inspection only; implies read_only */
	bool no_parent;                  /* don't open the parent chain (check, info) */
	const char *parent_hint;         /* try this parent path first */
	int depth;                       /* chain depth, for the loop guard */
	struct vhd_report *report;       /* check: every problem, warnings too */
};

struct vhd {
	struct diskfile file;
	struct vhd_footer footer;
	uint8_t footer_raw[VHD_FOOTER_SIZE];  /* what we write when the footer moves */
	uint64_t file_size;               /* at open */
	uint64_t footer_off;              /* the trailing footer */
	uint64_t size;                    /* guest-visible bytes */
	bool size_by_chs;
	bool read_only;
	bool footer_from_copy;            /* trailing footer bad, the copy at 0 used */

	/* Dynamic and differencing disks. */
	struct vhd_header header;
	uint64_t header_off;
	uint32_t bat_entries;             /* header's Max Table Entries */
	uint32_t blocks;                  /* entries the disk size needs */
	uint8_t *bat;                     /* big-endian, padded to sectors, as on disk */
	size_t bat_bytes;
	uint32_t block_size, block_sectors, bitmap_bytes;
	uint64_t meta_end;                /* end of footer copy, header, BAT, locators */
	uint32_t allocated;               /* blocks in use */

	/* Under lock: allocation state, bitmaps in memory, what flush writes. */
	pthread_mutex_t lock;
	pthread_mutex_t flush_lock;       /* one flush at a time */
	uint64_t alloc_next;              /* a new block starts at or after this */
	uint8_t **bitmap;                 /* per block: NULL, VHD_BITMAP_FULL or a copy */
	unsigned bitmaps_cached;          /* partial copies in memory */
	uint8_t *bat_dirty;               /* bit per BAT sector to write at flush */
	uint8_t *block_dirty;             /* bit per block whose bitmap flush writes */
	uint32_t *dirty_blocks;
	uint32_t ndirty, capdirty;

	struct vhd *parent;               /* differencing disks, NULL if not opened */
	char *parent_path;                /* where it was found */
	bool parent_ts_mismatch;
};

extern const uint8_t vhd_bitmap_full_tag;
#define VHD_BITMAP_FULL ((uint8_t *)&vhd_bitmap_full_tag)

static inline uint32_t vhd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void vhd_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t vhd_bat_get(const struct vhd *v, uint32_t block)
{
	return vhd_be32(v->bat + 4 * (size_t)block);
}

static inline bool vhd_is_sparse(const struct vhd *v)
{
	return v->footer.type != VHD_TYPE_FIXED;
}

/* Main thread (or a tool). 0 or -errno with one sentence in err. */
int vhd_open(const char *path, const struct vhd_open_opts *o, struct vhd **out, char *err,
	     size_t errlen);
/* Flushes, trims the unused tail of a dynamic disk, closes the parent. */
int vhd_close(struct vhd *v);
/* Validate the loaded BAT: bounds, overlaps with metadata and each other. */
void vhd_bat_validate(const struct vhd *v, struct vhd_report *r);

/* Block engine workers (several at once; see vhd_io.c). */
int vhd_readv(struct vhd *v, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len);
int vhd_writev(struct vhd *v, uint64_t off, const struct iovec *iov, int iovcnt, uint64_t len);
int vhd_flush(struct vhd *v);
/* Copy block's sector bitmap (all ones for FULL), bitmap_bytes long. */
int vhd_block_bitmap(struct vhd *v, uint32_t block, uint8_t *out);
static inline bool vhd_bit(const uint8_t *bm, uint32_t sector)
{
	return bm[sector / 8] & (0x80u >> (sector % 8));    /* MSB = lowest sector */
}

/* ---- parents (vhd_parent.c) --------------------------------------------- */

/* Open v's parent (read-only) by hint, locators and name; check its UUID. */
int vhd_parent_open(struct vhd *v, const char *hint, int depth, char *err, size_t errlen);
/* Find the parent's path without opening it as an image (info, check).
 * 0 and a malloc'd path, or -ENOENT with the places tried in err. */
int vhd_parent_find(struct vhd *v, const char *hint, char **path, char *err, size_t errlen);
/* The parent name and locator paths as text (UTF-8, '/' separators). */
int vhd_parent_name(const struct vhd_header *h, char *out, size_t outlen);
int vhd_locator_read(struct vhd *v, unsigned i, char **path);
/* Fill a child's header: name, W2ku and W2ru locators laid out from *next
 * (payloads returned in buf, written by the caller at h->loc[i].offset). */
int vhd_locators_build(const char *child, const char *parent, struct vhd_header *h,
		       uint64_t *next, uint8_t **buf, size_t *buflen, char *err, size_t errlen);
const char *vhd_locator_code_name(uint32_t code, char out[5]);

/* ---- creation and maintenance ------------------------------------------- */

struct vhd_create_opts {
	uint32_t type;                   /* VHD_TYPE_* */
	uint64_t size;                   /* fixed/dynamic; a child takes its parent's */
	uint32_t block_size;             /* 0: 2 MiB */
	const char *parent;              /* differencing */
};
int vhd_create(const char *path, const struct vhd_create_opts *o, char *err, size_t errlen);

typedef void vhd_progress_fn(void *ctx, uint64_t done, uint64_t total);
/* Check: every problem to r; returns r->errors. */
unsigned vhd_check(const char *path, struct vhd_report *r);
/* Copy the child's sectors into its parent. The child stays valid. */
int vhd_commit(const char *child, const char *parent_hint, vhd_progress_fn *progress, void *ctx,
	       char *err, size_t errlen);
/* Rewrite without all-zero blocks (dynamic) or empty ones (differencing). */
int vhd_compact(const char *path, vhd_progress_fn *progress, void *ctx, uint64_t *freed,
		char *err, size_t errlen);

#endif
