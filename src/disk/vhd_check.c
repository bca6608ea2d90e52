/*
 * vhd_check: the structural checker behind `lodge disk check`.
 *
 * It reports every problem it finds, each as one sentence naming the file,
 * the field and its byte offset. The rules are the spec's plus the list the
 * Xen checker (vhd-util check) enforces, as collected in
 * reference/vhd-format.md §7: cookies, checksums, version, disk type, sizes,
 * the footer at the end identical to the copy at offset 0, the BAT inside
 * the file with no block overlapping metadata or another block, sector
 * bitmaps (a dynamic disk's unmarked sectors must hold zeros), parent
 * locators inside the file, and the parent link (found, same unique id).
 * Errors make the image unsafe or unreadable for some reader; warnings are
 * oddities every reader copes with.
 */
#include "vhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iov.h"

static void vhd_check_footer_copy(struct vhd *v, struct vhd_report *r)
{
	if (v->footer_from_copy) {
		vhd_report(r, VHD_ERROR, v->footer_off, "footer",
			   "the footer at the end of the file is missing or damaged (the copy at "
			   "offset 0 is intact; opening the disk for writing in Lodge repairs it)");
		return;
	}
	if (!vhd_is_sparse(v))
		return;
	uint8_t copy[VHD_FOOTER_SIZE];
	if (diskfile_pread(&v->file, copy, sizeof(copy), 0)) {
		vhd_report(r, VHD_ERROR, 0, "footer copy", "cannot be read");
		return;
	}
	if (memcmp(copy, "conectix", 8)) {
		vhd_report(r, VHD_ERROR, 0, "footer copy cookie",
			   "there is no \"conectix\" cookie (QEMU reads this copy)");
		return;
	}
	uint32_t want = vhd_checksum(copy, sizeof(copy), VHD_F_CHECKSUM);
	if (want != vhd_be32(copy + VHD_F_CHECKSUM)) {
		vhd_report(r, VHD_ERROR, VHD_F_CHECKSUM, "footer copy checksum",
			   "is %#010x, expected %#010x",
			   vhd_be32(copy + VHD_F_CHECKSUM), want);
		return;
	}
	/* A 511-byte footer has no 512th byte to compare. */
	size_t n = v->file_size - v->footer_off < VHD_FOOTER_SIZE ? VHD_FOOTER_SIZE - 1
								    : VHD_FOOTER_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (copy[i] != v->footer_raw[i]) {
			vhd_report(r, VHD_ERROR, i, "footer copy",
				   "differs from the footer at offset %llu (first at byte %zu)",
				   (unsigned long long)v->footer_off, i);
			return;
		}
	}
}

/* Dynamic disks: sectors whose bit is 0 must contain zeros (spec, "Block
 * Allocation Table and Data Blocks"). Differencing disks have no such rule. */
static void vhd_check_bitmaps(struct vhd *v, struct vhd_report *r)
{
	uint8_t *bm = malloc(v->bitmap_bytes);
	uint8_t *sec = malloc(VHD_SECTOR);
	unsigned bad = 0;
	if (!bm || !sec)
		goto out;
	for (uint32_t b = 0; b < v->blocks; b++) {
		uint32_t e = vhd_bat_get(v, b);
		if (e == VHD_BAT_FREE)
			continue;
		uint64_t at = (uint64_t)e * VHD_SECTOR;
		char field[48];
		snprintf(field, sizeof(field), "sector bitmap of block %u", b);
		if (diskfile_pread(&v->file, bm, v->bitmap_bytes, at)) {
			vhd_report(r, VHD_ERROR, at, field, "cannot be read");
			continue;
		}
		if (v->footer.type != VHD_TYPE_DYNAMIC)
			continue;
		for (uint32_t s = 0; s < v->block_sectors; s++) {
			if (vhd_bit(bm, s))
				continue;
			uint64_t off = at + v->bitmap_bytes + (uint64_t)s * VHD_SECTOR;
			if (diskfile_pread(&v->file, sec, VHD_SECTOR, off) == 0 &&
			    !iov_buf_is_zero(sec, VHD_SECTOR)) {
				if (bad++ < 10)
					vhd_report(r, VHD_WARNING, off, field,
						   "sector %u is not marked as written but holds "
						   "data (left by an unflushed write?)", s);
				break;
			}
		}
	}
out:
	free(bm);
	free(sec);
}

static void vhd_check_parent(struct vhd *v, struct vhd_report *r)
{
	char err[768];
	char *path;
	int rc = vhd_parent_find(v, NULL, &path, err, sizeof(err));
	if (rc) {
		r->errors++;
		if (r->fn)
			r->fn(r->ctx, VHD_ERROR, err);
		return;
	}
	struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true };
	struct vhd *p;
	if (vhd_open(path, &o, &p, err, sizeof(err)) == 0) {
		if (p->size < v->size)
			vhd_report(r, VHD_WARNING, v->footer_off + VHD_F_CUR_SIZE, "footer current size",
				   "the disk (%llu bytes) is larger than its parent %s (%llu bytes)",
				   (unsigned long long)v->size, path, (unsigned long long)p->size);
		struct stat st;
		uint32_t mtime = 0;
		if (fstat(p->file.fd, &st) == 0 && st.st_mtime > VHD_EPOCH)
			mtime = (uint32_t)(st.st_mtime - VHD_EPOCH);
		uint32_t ts = v->header.parent_timestamp;
		if (ts != mtime && ts != p->footer.timestamp)
			vhd_report(r, VHD_WARNING, v->header_off + VHD_H_PARENT_TS,
				   "dynamic header parent time stamp",
				   "the parent %s was modified after this disk was created", path);
		vhd_close(p);
	}
	free(path);
}

unsigned vhd_check(const char *path, struct vhd_report *r)
{
	char err[768];
	struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true,
				   .report = r };
	struct vhd *v;
	unsigned before = r->errors;
	int rc = vhd_open(path, &o, &v, err, sizeof(err));
	r->first = NULL;
	if (rc) {
		if (r->errors == before) {
			/* Refused before any field rule ran (unreadable, truncated). */
			r->errors++;
			if (r->fn)
				r->fn(r->ctx, VHD_ERROR, err);
		}
		return r->errors;
	}
	vhd_check_footer_copy(v, r);
	if (v->footer.type == VHD_TYPE_FIXED && v->footer_off > v->footer.cur_size)
		vhd_report(r, VHD_WARNING, v->footer.cur_size, "file size",
			   "%llu bytes between the disk's data and the footer belong to nothing",
			   (unsigned long long)(v->footer_off - v->footer.cur_size));
	if (vhd_is_sparse(v))
		vhd_check_bitmaps(v, r);
	if (v->footer.type == VHD_TYPE_DIFF)
		vhd_check_parent(v, r);
	vhd_close(v);
	return r->errors;
}
