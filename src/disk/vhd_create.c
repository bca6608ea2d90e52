/*
 * vhd_create: new fixed, dynamic and differencing VHDs, written the way
 * Hyper-V writes them (reference/vhd-format.md §5, §9 "Create").
 *
 * Original Size = Current Size = the requested size exactly; the footer
 * geometry is the spec's CHS for that size, which rounds down (capped at
 * 65535/16/255). The creator application is "win " (Windows/Hyper-V): the
 * readers decide between Current Size and the CHS size by this field, and
 * "win " is the value every one of them (QEMU old and new, VirtualBox,
 * Hyper-V, libvhdi) reads as Current Size — any other value makes QEMU up to
 * 9.x show a smaller, CHS-rounded disk. A differencing disk takes its
 * parent's guest-visible size and geometry, so the guest sees the same disk.
 *
 * Layout of a sparse image: footer copy at 0, dynamic header at 512, BAT at
 * 1536 (all 0xFFFFFFFF), parent locator payloads (differencing), footer.
 */
#include "vhd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"

#define VHD_CREATOR_VERSION 0x000a0000u  /* Windows 10's vhdmp */
#define VHD_HOST_WINDOWS 0x5769326bu     /* "Wi2k" */
#define VHD_BAT_OFFSET 1536u

static void vhd_footer_init(struct vhd_footer *f, uint32_t type, uint64_t size)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->cookie, "conectix", 8);
	f->features = VHD_FEATURE_RESERVED;
	f->version = VHD_VERSION;
	f->data_offset = type == VHD_TYPE_FIXED ? UINT64_MAX : VHD_FOOTER_SIZE;
	f->timestamp = vhd_time_now();
	memcpy(f->creator_app, "win ", 4);
	f->creator_version = VHD_CREATOR_VERSION;
	f->creator_os = VHD_HOST_WINDOWS;
	f->orig_size = f->cur_size = size;
	struct blk_geometry g;
	blk_geometry_from_size(size, &g);
	f->cylinders = (uint16_t)g.cylinders;
	f->heads = g.heads;
	f->sectors = g.sectors;
	f->type = type;
}

static int vhd_create_fixed(struct diskfile *file, struct vhd_footer *f, char *err,
			    size_t errlen)
{
	uint8_t raw[VHD_FOOTER_SIZE];
	vhd_footer_encode(f, raw);
	/* A fixed disk owns its space: reserve it now (zeros, no writing). */
	int rc = posix_fallocate(file->fd, 0, (off_t)f->cur_size);
	if (rc == EOPNOTSUPP || rc == EINVAL)
		rc = ftruncate(file->fd, (off_t)f->cur_size) ? errno : 0;
	if (rc) {
		snprintf(err, errlen, "%s: cannot reserve %llu bytes: %s", file->path,
			 (unsigned long long)f->cur_size, strerror(rc));
		return -rc;
	}
	rc = diskfile_pwrite(file, raw, sizeof(raw), f->cur_size);
	if (rc)
		snprintf(err, errlen, "%s: cannot write the footer: %s", file->path, strerror(-rc));
	return rc;
}

static int vhd_create_sparse(struct diskfile *file, struct vhd_footer *f, struct vhd_header *h,
			     const uint8_t *loc, size_t loclen, char *err, size_t errlen)
{
	uint8_t fraw[VHD_FOOTER_SIZE], hraw[VHD_HEADER_SIZE];
	size_t bat_bytes = ((size_t)h->max_entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	uint8_t *bat = malloc(bat_bytes);
	if (!bat)
		return -ENOMEM;
	memset(bat, 0xff, bat_bytes);
	vhd_footer_encode(f, fraw);
	vhd_header_encode(h, hraw);
	uint64_t end = VHD_BAT_OFFSET + bat_bytes;
	int rc = diskfile_pwrite(file, fraw, sizeof(fraw), 0);
	if (!rc)
		rc = diskfile_pwrite(file, hraw, sizeof(hraw), VHD_FOOTER_SIZE);
	if (!rc)
		rc = diskfile_pwrite(file, bat, bat_bytes, VHD_BAT_OFFSET);
	if (!rc && loclen)
		rc = diskfile_pwrite(file, loc, loclen, end);
	if (!rc)
		rc = diskfile_pwrite(file, fraw, sizeof(fraw), end + loclen);
	if (rc)
		snprintf(err, errlen, "%s: cannot write the new image: %s", file->path,
			 strerror(-rc));
	free(bat);
	return rc;
}

int vhd_create(const char *path, const struct vhd_create_opts *o, char *err, size_t errlen)
{
	struct vhd_footer f;
	struct vhd_header h;
	struct vhd *parent = NULL;
	uint8_t *loc = NULL;
	size_t loclen = 0;
	uint64_t size = o->size;
	uint32_t bs = o->block_size ? o->block_size : VHD_DEFAULT_BLOCK;
	int rc;

	if (o->type == VHD_TYPE_DIFF) {
		struct vhd_open_opts po = { .read_only = true };
		rc = vhd_open(o->parent, &po, &parent, err, errlen);
		if (rc)
			return rc;
		size = parent->size;
		if (!o->block_size && vhd_is_sparse(parent))
			bs = parent->block_size;
	} else if (o->type != VHD_TYPE_FIXED && o->type != VHD_TYPE_DYNAMIC) {
		snprintf(err, errlen, "%s: unknown disk type %u", path, o->type);
		return -EINVAL;
	}
	if (size == 0 || size % VHD_SECTOR) {
		snprintf(err, errlen, "%s: a size of %llu bytes is not a positive whole number of "
			 "512-byte sectors", path, (unsigned long long)size);
		rc = -EINVAL;
		goto out;
	}
	if (size > VHD_MAX_SIZE) {
		snprintf(err, errlen, "%s: %llu bytes is more than a VHD can hold (2040 GiB)", path,
			 (unsigned long long)size);
		rc = -EFBIG;
		goto out;
	}
	if (bs < VHD_MIN_BLOCK || bs > VHD_MAX_BLOCK || (bs & (bs - 1))) {
		snprintf(err, errlen, "%s: a block size of %u bytes is not a power of two from "
			 "512 bytes to 256 MiB", path, bs);
		rc = -EINVAL;
		goto out;
	}
	vhd_footer_init(&f, o->type, size);
	rc = vhd_uuid_generate(f.uuid);
	if (rc) {
		snprintf(err, errlen, "%s: no random numbers for the disk's id: %s", path,
			 strerror(-rc));
		goto out;
	}
	if (o->type != VHD_TYPE_FIXED) {
		memset(&h, 0, sizeof(h));
		memcpy(h.cookie, "cxsparse", 8);
		h.data_offset = UINT64_MAX;
		h.table_offset = VHD_BAT_OFFSET;
		h.version = VHD_VERSION;
		h.block_size = bs;
		h.max_entries = (uint32_t)((size + bs - 1) / bs);
		if (h.max_entries > VHD_MAX_BAT_ENTRIES) {
			snprintf(err, errlen, "%s: %u-byte blocks need %u BAT entries for this size; "
				 "use larger blocks", path, bs, h.max_entries);
			rc = -EINVAL;
			goto out;
		}
	}
	if (parent) {
		f.cylinders = parent->footer.cylinders;
		f.heads = parent->footer.heads;
		f.sectors = parent->footer.sectors;
		memcpy(h.parent_uuid, parent->footer.uuid, 16);
		struct stat st;
		if (fstat(parent->file.fd, &st) == 0 && st.st_mtime > VHD_EPOCH)
			h.parent_timestamp = (uint32_t)(st.st_mtime - VHD_EPOCH);
		uint64_t next = VHD_BAT_OFFSET +
				((uint64_t)h.max_entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
		rc = vhd_locators_build(path, o->parent, &h, &next, &loc, &loclen, err, errlen);
		if (rc)
			goto out;
	}

	struct diskfile file;
	rc = diskfile_create(&file, path, err, errlen);
	if (rc)
		goto out;
	if (o->type == VHD_TYPE_FIXED)
		rc = vhd_create_fixed(&file, &f, err, errlen);
	else
		rc = vhd_create_sparse(&file, &f, &h, loc, loclen, err, errlen);
	if (!rc) {
		rc = fsync(file.fd) ? -errno : 0;
		if (rc)
			snprintf(err, errlen, "%s: cannot write the new image: %s", path,
				 strerror(-rc));
	}
	if (rc)
		unlink(path);       /* never leave half an image behind */
	diskfile_close(&file);
out:
	free(loc);
	vhd_close(parent);
	return rc;
}
