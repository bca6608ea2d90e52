/*
 * vhd_open: opening a VHD — finding a trustworthy footer, loading the
 * dynamic header and the BAT, and refusing anything that could make a read
 * or write land outside the image's own blocks. Also close, which trims the
 * space a dynamic disk reserved but did not use.
 *
 * Spec: "Hard Disk Footer Format" (footer at the end; dynamic disks keep a
 * copy at offset 0; pre-2004 images have a 511-byte footer), "Dynamic Disk
 * Header Format", "Block Allocation Table". reference/vhd-format.md §1.4 and
 * §9 give the order in which readers look for the footer.
 *
 * Everything here runs on the opening thread before the image is shared.
 */
#include "vhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define VHD_BAT_REPORT_LIMIT 20

/* Read a footer candidate at off (len 512, or 511 for the old short footer).
 * Returns 1 if it is a valid footer, 0 if it is not, -errno on I/O error;
 * *why explains a near miss (cookie right, checksum wrong). */
static int vhd_footer_try(struct vhd *v, uint64_t off, size_t len, uint8_t raw[VHD_FOOTER_SIZE],
			  char *why, size_t whylen)
{
	memset(raw, 0, VHD_FOOTER_SIZE);
	int rc = diskfile_pread(&v->file, raw, len, off);
	if (rc)
		return rc;
	if (memcmp(raw, "conectix", 8))
		return 0;
	uint32_t want = vhd_checksum(raw, VHD_FOOTER_SIZE, VHD_F_CHECKSUM);
	uint32_t have = vhd_be32(raw + VHD_F_CHECKSUM);
	if (want != have) {
		if (!*why)
			snprintf(why, whylen, "%s: footer checksum at offset %llu: is %#010x, "
				 "expected %#010x", v->file.path,
				 (unsigned long long)(off + VHD_F_CHECKSUM), have, want);
		return 0;
	}
	return 1;
}

/* Find the footer: EOF-512, then EOF-511, then the copy at offset 0. */
static int vhd_footer_find(struct vhd *v, struct vhd_report *r)
{
	uint8_t raw[VHD_FOOTER_SIZE];
	char why[384] = "";
	uint64_t size = v->file_size;
	if (size < VHD_FOOTER_SIZE - 1) {
		vhd_report(r, VHD_ERROR, 0, "file size", "%llu bytes is too small to hold a "
			   "VHD footer", (unsigned long long)size);
		return -EINVAL;
	}
	int rc;
	if (size >= VHD_FOOTER_SIZE) {
		rc = vhd_footer_try(v, size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE, raw, why, sizeof(why));
		if (rc < 0)
			goto io_error;
		if (rc == 1) {
			v->footer_off = size - VHD_FOOTER_SIZE;
			goto found;
		}
	}
	rc = vhd_footer_try(v, size - (VHD_FOOTER_SIZE - 1), VHD_FOOTER_SIZE - 1, raw, why,
			    sizeof(why));
	if (rc < 0)
		goto io_error;
	if (rc == 1) {
		v->footer_off = size - (VHD_FOOTER_SIZE - 1);
		goto found;
	}
	rc = vhd_footer_try(v, 0, VHD_FOOTER_SIZE, raw, why, sizeof(why));
	if (rc < 0)
		goto io_error;
	if (rc == 1 && vhd_be32(raw + VHD_F_TYPE) != VHD_TYPE_FIXED &&
	    size >= 2 * VHD_FOOTER_SIZE) {
		v->footer_off = size - VHD_FOOTER_SIZE;
		v->footer_from_copy = true;
		vhd_report(r, VHD_WARNING, v->footer_off, "footer",
			   "the footer at the end of the file is missing or damaged; "
			   "the copy at offset 0 is used");
		goto found;
	}
	if (*why) {
		/* A footer was there but damaged: say exactly where. */
		if (r->first && !r->errors)
			snprintf(r->first, r->firstlen, "%s", why);
		r->errors++;
		if (r->fn)
			r->fn(r->ctx, VHD_ERROR, why);
	} else {
		vhd_report(r, VHD_ERROR, size - VHD_FOOTER_SIZE, "footer cookie",
			   "there is no \"conectix\" cookie here or at offset 0: "
			   "not a VHD, or a truncated one");
	}
	return -EINVAL;
found:
	memcpy(v->footer_raw, raw, VHD_FOOTER_SIZE);
	vhd_footer_decode(raw, &v->footer);
	return 0;
io_error:
	vhd_report(r, VHD_ERROR, 0, "file", "cannot read: %s", strerror(-rc));
	return rc;
}

struct vhd_range {
	uint64_t start, end;
	uint32_t index;                  /* BAT entry, or UINT32_MAX for metadata */
};

static int vhd_range_cmp(const void *a, const void *b)
{
	const struct vhd_range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static const char *vhd_range_name(const struct vhd *v, const struct vhd_range *m, char *buf,
				  size_t len)
{
	if (m->index != UINT32_MAX) {
		snprintf(buf, len, "the block of BAT entry %u", m->index);
		return buf;
	}
	if (m->start == 0)
		return "the footer copy";
	if (m->start == v->header_off)
		return "the dynamic header";
	if (m->start == v->header.table_offset)
		return "the BAT";
	return "a parent locator's path";
}

void vhd_bat_validate(const struct vhd *v, struct vhd_report *r)
{
	uint32_t total = v->bitmap_bytes + v->block_size;
	size_t n = 0, cap = (size_t)v->bat_entries + 3 + VHD_NLOC;
	struct vhd_range *rg = malloc(cap * sizeof(*rg));
	unsigned reported = 0;
	if (!rg) {
		vhd_report(r, VHD_ERROR, v->header.table_offset, "BAT", "out of memory");
		return;
	}
	rg[n++] = (struct vhd_range){ 0, VHD_FOOTER_SIZE, UINT32_MAX };
	rg[n++] = (struct vhd_range){ v->header_off, v->header_off + VHD_HEADER_SIZE, UINT32_MAX };
	rg[n++] = (struct vhd_range){ v->header.table_offset, v->header.table_offset + v->bat_bytes,
				      UINT32_MAX };
	if (v->footer.type == VHD_TYPE_DIFF) {
		for (unsigned i = 0; i < VHD_NLOC; i++) {
			const struct vhd_locator *l = &v->header.loc[i];
			if (l->code && l->length)
				rg[n++] = (struct vhd_range){ l->offset, l->offset + l->length,
							      UINT32_MAX };
		}
	}
	for (uint32_t i = 0; i < v->bat_entries; i++) {
		uint32_t e = vhd_bat_get(v, i);
		if (e == VHD_BAT_FREE)
			continue;
		uint64_t off = v->header.table_offset + 4ULL * i;
		uint64_t start = (uint64_t)e * VHD_SECTOR, end = start + total;
		char field[40];
		snprintf(field, sizeof(field), "BAT entry %u", i);
		if (i >= v->blocks) {
			vhd_report(r, VHD_WARNING, off, field,
				   "a block is allocated beyond the end of the disk (ignored)");
			continue;
		}
		if (end > v->footer_off) {
			if (reported++ < VHD_BAT_REPORT_LIMIT)
				vhd_report(r, VHD_ERROR, off, field,
					   "the block at %llu ends at %llu, past the footer at %llu "
					   "(the file is truncated or the entry is wrong)",
					   (unsigned long long)start, (unsigned long long)end,
					   (unsigned long long)v->footer_off);
			continue;
		}
		rg[n++] = (struct vhd_range){ start, end, i };
	}
	qsort(rg, n, sizeof(*rg), vhd_range_cmp);
	/* Sorted by start: a range overlaps an earlier one iff it starts before
	 * the furthest end seen so far. */
	size_t far = 0;
	for (size_t k = 1; k < n; k++) {
		if (rg[k].start < rg[far].end) {
			const struct vhd_range *a = &rg[far], *b = &rg[k];
			/* Name the BAT entry that is wrong, not the metadata. */
			const struct vhd_range *bad = b->index != UINT32_MAX ? b : a;
			const struct vhd_range *other = bad == b ? a : b;
			if (bad->index != UINT32_MAX && reported++ < VHD_BAT_REPORT_LIMIT) {
				char field[40], what[48];
				snprintf(field, sizeof(field), "BAT entry %u", bad->index);
				vhd_report(r, VHD_ERROR,
					   v->header.table_offset + 4ULL * bad->index, field,
					   "the block at %llu %s %s at %llu",
					   (unsigned long long)bad->start,
					   bad->start == other->start ? "is also" : "overlaps",
					   vhd_range_name(v, other, what, sizeof(what)),
					   (unsigned long long)other->start);
			}
		}
		if (rg[k].end > rg[far].end)
			far = k;
	}
	if (reported > VHD_BAT_REPORT_LIMIT)
		vhd_report(r, VHD_ERROR, v->header.table_offset, "BAT",
			   "%u more bad entries not listed", reported - VHD_BAT_REPORT_LIMIT);
	free(rg);
}

/* Load the dynamic header and the BAT, and set up allocation state. */
static int vhd_open_sparse(struct vhd *v, struct vhd_report *r)
{
	uint8_t raw[VHD_HEADER_SIZE];
	unsigned before = r->errors;
	v->header_off = v->footer.data_offset;
	int rc = diskfile_pread(&v->file, raw, sizeof(raw), v->header_off);
	if (rc) {
		vhd_report(r, VHD_ERROR, v->header_off, "dynamic header", "cannot read: %s",
			   strerror(-rc));
		return rc;
	}
	if (memcmp(raw, "cxsparse", 8)) {
		vhd_report(r, VHD_ERROR, v->header_off, "dynamic header cookie",
			   "there is no \"cxsparse\" cookie");
		return -EINVAL;
	}
	uint32_t want = vhd_checksum(raw, VHD_HEADER_SIZE, VHD_H_CHECKSUM);
	if (want != vhd_be32(raw + VHD_H_CHECKSUM)) {
		vhd_report(r, VHD_ERROR, v->header_off + VHD_H_CHECKSUM, "dynamic header checksum",
			   "is %#010x, expected %#010x",
			   vhd_be32(raw + VHD_H_CHECKSUM), want);
		return -EINVAL;
	}
	vhd_header_decode(raw, &v->header);
	vhd_header_validate(&v->header, v->header_off, &v->footer, v->footer_off, r);
	if (r->errors != before)
		return -EINVAL;

	struct vhd_header *h = &v->header;
	v->block_size = h->block_size;
	v->block_sectors = h->block_size / VHD_SECTOR;
	v->bitmap_bytes = vhd_bitmap_bytes(h->block_size);
	v->bat_entries = h->max_entries;
	v->blocks = (uint32_t)((v->footer.cur_size + h->block_size - 1) / h->block_size);
	v->bat_bytes = ((size_t)h->max_entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	v->bat = malloc(v->bat_bytes ? v->bat_bytes : 1);
	if (!v->bat)
		return -ENOMEM;
	rc = diskfile_pread(&v->file, v->bat, v->bat_bytes, h->table_offset);
	if (rc) {
		vhd_report(r, VHD_ERROR, h->table_offset, "BAT", "cannot read: %s", strerror(-rc));
		return rc;
	}
	vhd_bat_validate(v, r);
	if (r->errors != before)
		return -EINVAL;

	v->meta_end = v->header_off + VHD_HEADER_SIZE;
	if (h->table_offset + v->bat_bytes > v->meta_end)
		v->meta_end = h->table_offset + v->bat_bytes;
	for (unsigned i = 0; v->footer.type == VHD_TYPE_DIFF && i < VHD_NLOC; i++) {
		const struct vhd_locator *l = &h->loc[i];
		uint64_t space = l->space < VHD_SECTOR ? (uint64_t)l->space * VHD_SECTOR : l->space;
		uint64_t end = l->offset + (space > l->length ? space : l->length);
		if (l->code && end <= v->footer_off && end > v->meta_end)
			v->meta_end = end;
	}
	uint64_t data_end = v->meta_end;
	for (uint32_t i = 0; i < v->blocks; i++) {
		uint32_t e = vhd_bat_get(v, i);
		if (e == VHD_BAT_FREE)
			continue;
		v->allocated++;
		uint64_t end = (uint64_t)e * VHD_SECTOR + v->bitmap_bytes + v->block_size;
		if (end > data_end)
			data_end = end;
	}
	/* Never reuse space past the last block: after a crash it may hold an
	 * orphaned block, and the live footer must not be overwritten. */
	v->alloc_next = v->footer_off + VHD_FOOTER_SIZE;
	if (data_end > v->alloc_next)
		v->alloc_next = data_end;

	v->bitmap = calloc(v->blocks ? v->blocks : 1, sizeof(*v->bitmap));
	v->block_dirty = calloc(v->blocks / 8 + 1, 1);
	v->bat_dirty = calloc(v->bat_bytes / VHD_SECTOR / 8 + 1, 1);
	if (!v->bitmap || !v->block_dirty || !v->bat_dirty)
		return -ENOMEM;
	return 0;
}

int vhd_open(const char *path, const struct vhd_open_opts *o, struct vhd **out, char *err,
	     size_t errlen)
{
	struct vhd_report local = { .path = path };
	struct vhd_report *r = o->report ? o->report : &local;
	r->path = path;
	r->first = err;
	r->firstlen = errlen;
	unsigned errors_before = r->errors;
	struct vhd *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->flush_lock, NULL);
	v->read_only = o->read_only || o->no_lock;
	int rc = diskfile_open(&v->file, path, v->read_only,
			       o->no_lock ? DISKFILE_NO_LOCK : DISKFILE_LOCK, err, errlen);
	if (rc) {
		v->file.fd = -1;
		goto fail;
	}
	rc = diskfile_size(&v->file, &v->file_size);
	if (rc) {
		snprintf(err, errlen, "%s: cannot read the file size: %s", path, strerror(-rc));
		goto fail;
	}
	rc = vhd_footer_find(v, r);
	if (rc)
		goto fail;
	uint64_t foff = v->footer_from_copy ? 0 : v->footer_off;
	vhd_footer_validate(&v->footer, foff, v->footer_off, r);
	if (r->errors != errors_before) {
		rc = -EINVAL;
		goto fail;
	}
	if (v->footer.saved_state && !v->read_only) {
		snprintf(err, errlen, "%s: footer saved state at offset %llu: the disk belongs to a "
			 "saved virtual machine; resume that VM in the program that saved it, "
			 "or open the disk read-only", path,
			 (unsigned long long)(foff + VHD_F_SAVED));
		rc = -EBUSY;
		goto fail;
	}
	v->size = vhd_footer_disk_size(&v->footer, &v->size_by_chs);
	if (v->footer.type == VHD_TYPE_FIXED) {
		if (v->footer_off < v->footer.cur_size) {
			snprintf(err, errlen, "%s: footer current size at offset %llu: the disk is "
				 "%llu bytes but the file holds only %llu before its footer "
				 "(truncated?)", path,
				 (unsigned long long)(foff + VHD_F_CUR_SIZE),
				 (unsigned long long)v->footer.cur_size,
				 (unsigned long long)v->footer_off);
			rc = -EINVAL;
			goto fail;
		}
	} else {
		rc = vhd_open_sparse(v, r);
		if (rc) {
			if (r->errors == errors_before)
				snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto fail;
		}
	}
	if (v->footer_from_copy && !v->read_only) {
		/* Put the footer back where the spec wants it; every block ends
		 * before footer_off, so this overwrites nothing of value. */
		rc = diskfile_pwrite(&v->file, v->footer_raw, VHD_FOOTER_SIZE, v->footer_off);
		if (!rc)
			rc = diskfile_sync(&v->file);
		if (rc) {
			snprintf(err, errlen, "%s: cannot repair the footer at offset %llu: %s",
				 path, (unsigned long long)v->footer_off, strerror(-rc));
			goto fail;
		}
		log_warn("vhd", "%s: the footer at the end of the file was damaged; "
			 "it was rewritten from the copy at offset 0", path);
		v->footer_from_copy = false;
	}
	if (v->footer.type == VHD_TYPE_DIFF && !o->no_parent) {
		rc = vhd_parent_open(v, o->parent_hint, o->depth, err, errlen);
		if (rc)
			goto fail;
	}
	*out = v;
	return 0;
fail:
	v->read_only = true;     /* nothing to flush */
	vhd_close(v);
	return rc ? rc : -EINVAL;
}

/* Close-time tidy of a writable dynamic disk: the footer moves down to just
 * past the last block and the reserved tail is cut off. The new footer is on
 * disk before the file shrinks, so a crash leaves one valid footer or two. */
static int vhd_trim_tail(struct vhd *v)
{
	uint64_t end = v->meta_end;
	for (uint32_t i = 0; i < v->blocks; i++) {
		uint32_t e = vhd_bat_get(v, i);
		uint64_t block_end = (uint64_t)e * VHD_SECTOR + v->bitmap_bytes + v->block_size;
		if (e != VHD_BAT_FREE && block_end > end)
			end = block_end;
	}
	end = (end + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	if (end >= v->footer_off)
		return 0;
	int rc = diskfile_pwrite(&v->file, v->footer_raw, VHD_FOOTER_SIZE, end);
	if (!rc)
		rc = diskfile_sync(&v->file);
	if (!rc)
		rc = diskfile_truncate(&v->file, end + VHD_FOOTER_SIZE);
	if (!rc)
		rc = diskfile_sync(&v->file);
	if (!rc)
		v->footer_off = end;
	return rc;
}

int vhd_close(struct vhd *v)
{
	if (!v)
		return 0;
	int rc = 0;
	if (!v->read_only) {
		rc = vhd_flush(v);
		if (!rc && vhd_is_sparse(v))
			rc = vhd_trim_tail(v);
	}
	if (v->parent)
		vhd_close(v->parent);
	if (v->bitmap) {
		for (uint32_t i = 0; i < v->blocks; i++)
			if (v->bitmap[i] != VHD_BITMAP_FULL)
				free(v->bitmap[i]);
	}
	free(v->bitmap);
	free(v->block_dirty);
	free(v->bat_dirty);
	free(v->dirty_blocks);
	free(v->bat);
	free(v->parent_path);
	if (v->file.fd >= 0 || v->file.path)
		diskfile_close(&v->file);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->flush_lock);
	free(v);
	return rc;
}
