/*
 * vhd_format: the VHD footer, the dynamic disk header and their rules.
 *
 * Spec sections: "Hard Disk Footer Format" (checksum, CHS in the appendix),
 * "Dynamic Disk Header Format", "Block Allocation Table and Data Blocks".
 * Rules the spec leaves open follow reference/vhd-format.md: the size a
 * reader shows depends on the creator application (§5), and the validation
 * list is the Xen checker's (§7), split into errors (the image cannot be
 * used safely) and warnings (unusual but readable).
 */
#include "vhd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "blk.h"

const uint8_t vhd_bitmap_full_tag;

/* ---- reports --------------------------------------------------------- */

void vhd_report(struct vhd_report *r, enum vhd_severity sev, uint64_t off, const char *field,
		const char *fmt, ...)
{
	char what[320], msg[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s at offset %llu: %s", r->path, field,
		 (unsigned long long)off, what);
	if (sev == VHD_ERROR) {
		if (r->first && !r->errors)
			snprintf(r->first, r->firstlen, "%s", msg);
		r->errors++;
	} else {
		r->warnings++;
	}
	if (r->fn)
		r->fn(r->ctx, sev, msg);
}

/* ---- encoding -------------------------------------------------------- */

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)vhd_be32(p) << 32 | vhd_be32(p + 4);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	vhd_put_be32(p, (uint32_t)(v >> 32));
	vhd_put_be32(p + 4, (uint32_t)v);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement of the byte sum, the checksum field counted as zero. */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t checksum_off)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		if (i < checksum_off || i >= checksum_off + 4)
			sum += buf[i];
	return ~sum;
}

void vhd_footer_decode(const uint8_t raw[VHD_FOOTER_SIZE], struct vhd_footer *f)
{
	memcpy(f->cookie, raw, 8);
	f->features = vhd_be32(raw + VHD_F_FEATURES);
	f->version = vhd_be32(raw + VHD_F_VERSION);
	f->data_offset = get_be64(raw + VHD_F_DATA_OFFSET);
	f->timestamp = vhd_be32(raw + VHD_F_TIMESTAMP);
	memcpy(f->creator_app, raw + VHD_F_CREATOR_APP, 4);
	f->creator_version = vhd_be32(raw + VHD_F_CREATOR_VER);
	f->creator_os = vhd_be32(raw + VHD_F_CREATOR_OS);
	f->orig_size = get_be64(raw + VHD_F_ORIG_SIZE);
	f->cur_size = get_be64(raw + VHD_F_CUR_SIZE);
	f->cylinders = get_be16(raw + VHD_F_GEOMETRY);
	f->heads = raw[VHD_F_GEOMETRY + 2];
	f->sectors = raw[VHD_F_GEOMETRY + 3];
	f->type = vhd_be32(raw + VHD_F_TYPE);
	f->checksum = vhd_be32(raw + VHD_F_CHECKSUM);
	memcpy(f->uuid, raw + VHD_F_UUID, 16);
	f->saved_state = raw[VHD_F_SAVED];
	memcpy(f->reserved, raw + VHD_F_RESERVED, sizeof(f->reserved));
}

void vhd_footer_encode(struct vhd_footer *f, uint8_t raw[VHD_FOOTER_SIZE])
{
	memset(raw, 0, VHD_FOOTER_SIZE);
	memcpy(raw, f->cookie, 8);
	vhd_put_be32(raw + VHD_F_FEATURES, f->features);
	vhd_put_be32(raw + VHD_F_VERSION, f->version);
	put_be64(raw + VHD_F_DATA_OFFSET, f->data_offset);
	vhd_put_be32(raw + VHD_F_TIMESTAMP, f->timestamp);
	memcpy(raw + VHD_F_CREATOR_APP, f->creator_app, 4);
	vhd_put_be32(raw + VHD_F_CREATOR_VER, f->creator_version);
	vhd_put_be32(raw + VHD_F_CREATOR_OS, f->creator_os);
	put_be64(raw + VHD_F_ORIG_SIZE, f->orig_size);
	put_be64(raw + VHD_F_CUR_SIZE, f->cur_size);
	put_be16(raw + VHD_F_GEOMETRY, f->cylinders);
	raw[VHD_F_GEOMETRY + 2] = f->heads;
	raw[VHD_F_GEOMETRY + 3] = f->sectors;
	vhd_put_be32(raw + VHD_F_TYPE, f->type);
	memcpy(raw + VHD_F_UUID, f->uuid, 16);
	raw[VHD_F_SAVED] = f->saved_state;
	memcpy(raw + VHD_F_RESERVED, f->reserved, sizeof(f->reserved));
	f->checksum = vhd_checksum(raw, VHD_FOOTER_SIZE, VHD_F_CHECKSUM);
	vhd_put_be32(raw + VHD_F_CHECKSUM, f->checksum);
}

void vhd_header_decode(const uint8_t raw[VHD_HEADER_SIZE], struct vhd_header *h)
{
	memcpy(h->cookie, raw, 8);
	h->data_offset = get_be64(raw + VHD_H_DATA_OFFSET);
	h->table_offset = get_be64(raw + VHD_H_TABLE_OFFSET);
	h->version = vhd_be32(raw + VHD_H_VERSION);
	h->max_entries = vhd_be32(raw + VHD_H_MAX_ENTRIES);
	h->block_size = vhd_be32(raw + VHD_H_BLOCK_SIZE);
	h->checksum = vhd_be32(raw + VHD_H_CHECKSUM);
	memcpy(h->parent_uuid, raw + VHD_H_PARENT_UUID, 16);
	h->parent_timestamp = vhd_be32(raw + VHD_H_PARENT_TS);
	h->reserved1 = vhd_be32(raw + VHD_H_RESERVED1);
	memcpy(h->parent_name, raw + VHD_H_PARENT_NAME, 512);
	for (unsigned i = 0; i < VHD_NLOC; i++) {
		const uint8_t *p = raw + VHD_H_LOCATORS + 24 * i;
		h->loc[i].code = vhd_be32(p);
		h->loc[i].space = vhd_be32(p + 4);
		h->loc[i].length = vhd_be32(p + 8);
		h->loc[i].reserved = vhd_be32(p + 12);
		h->loc[i].offset = get_be64(p + 16);
	}
	memcpy(h->reserved2, raw + VHD_H_RESERVED2, 256);
}

void vhd_header_encode(struct vhd_header *h, uint8_t raw[VHD_HEADER_SIZE])
{
	memset(raw, 0, VHD_HEADER_SIZE);
	memcpy(raw, h->cookie, 8);
	put_be64(raw + VHD_H_DATA_OFFSET, h->data_offset);
	put_be64(raw + VHD_H_TABLE_OFFSET, h->table_offset);
	vhd_put_be32(raw + VHD_H_VERSION, h->version);
	vhd_put_be32(raw + VHD_H_MAX_ENTRIES, h->max_entries);
	vhd_put_be32(raw + VHD_H_BLOCK_SIZE, h->block_size);
	memcpy(raw + VHD_H_PARENT_UUID, h->parent_uuid, 16);
	vhd_put_be32(raw + VHD_H_PARENT_TS, h->parent_timestamp);
	vhd_put_be32(raw + VHD_H_RESERVED1, h->reserved1);
	memcpy(raw + VHD_H_PARENT_NAME, h->parent_name, 512);
	for (unsigned i = 0; i < VHD_NLOC; i++) {
		uint8_t *p = raw + VHD_H_LOCATORS + 24 * i;
		vhd_put_be32(p, h->loc[i].code);
		vhd_put_be32(p + 4, h->loc[i].space);
		vhd_put_be32(p + 8, h->loc[i].length);
		vhd_put_be32(p + 12, h->loc[i].reserved);
		put_be64(p + 16, h->loc[i].offset);
	}
	memcpy(raw + VHD_H_RESERVED2, h->reserved2, 256);
	h->checksum = vhd_checksum(raw, VHD_HEADER_SIZE, VHD_H_CHECKSUM);
	vhd_put_be32(raw + VHD_H_CHECKSUM, h->checksum);
}

/*
 * The size the guest sees. Virtual PC and Virtual Server present the CHS
 * geometry (C*H*S sectors, rounded down from the requested size) to the
 * guest, so images they made — and QEMU's default 'qemu' images, which are
 * CHS-exact — are read by geometry. Everyone else (Hyper-V 'win ', QEMU
 * force_size 'qem2', VirtualBox, Xen, Disk2vhd, Azure, Lodge) means Current
 * Size. The geometry's cap 65535/16/255 also means Current Size: the disk is
 * too large for CHS. This is QEMU 10's rule, which matches what each
 * producer's own VMM shows.
 */
uint64_t vhd_footer_disk_size(const struct vhd_footer *f, bool *by_chs)
{
	bool chs = false;
	uint64_t chs_size = (uint64_t)f->cylinders * f->heads * f->sectors * VHD_SECTOR;
	bool capped = f->cylinders == 65535 && f->heads == 16 && f->sectors == 255;
	if (chs_size && !capped &&
	    (!memcmp(f->creator_app, "vpc ", 4) || !memcmp(f->creator_app, "vs  ", 4) ||
	     !memcmp(f->creator_app, "qemu", 4)))
		chs = true;
	uint64_t size = f->cur_size;
	if (chs && chs_size < size)
		size = chs_size;
	else
		chs = false;
	if (by_chs)
		*by_chs = chs;
	return size / VHD_SECTOR * VHD_SECTOR;
}

const char *vhd_type_name(uint32_t type)
{
	switch (type) {
	case VHD_TYPE_FIXED: return "fixed";
	case VHD_TYPE_DYNAMIC: return "dynamic";
	case VHD_TYPE_DIFF: return "differencing";
	default: return "unknown";
	}
}

/* The 16 bytes in order, as libvhdi and RFC 4122 print them. */
void vhd_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

int vhd_uuid_generate(uint8_t u[16])
{
	size_t got = 0;
	while (got < 16) {
		ssize_t n = getrandom(u + got, 16 - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);    /* version 4, random */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);    /* RFC 4122 variant */
	return 0;
}

uint32_t vhd_time_now(void)
{
	time_t t = time(NULL);
	return t > VHD_EPOCH ? (uint32_t)(t - VHD_EPOCH) : 0;
}

uint32_t vhd_bitmap_bytes(uint32_t block_size)
{
	uint32_t bits = block_size / VHD_SECTOR;
	uint32_t bytes = (bits + 7) / 8;
	return (bytes + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
}

/* ---- validation ------------------------------------------------------ */

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

void vhd_footer_validate(const struct vhd_footer *f, uint64_t off, uint64_t footer_off,
			 struct vhd_report *r)
{
	if (f->version >> 16 != 1)
		vhd_report(r, VHD_ERROR, off + VHD_F_VERSION, "footer format version",
			   "version %u.%u is not 1.x", f->version >> 16, f->version & 0xffff);
	if (f->type != VHD_TYPE_FIXED && f->type != VHD_TYPE_DYNAMIC && f->type != VHD_TYPE_DIFF) {
		vhd_report(r, VHD_ERROR, off + VHD_F_TYPE, "footer disk type",
			   "type %u is not fixed (2), dynamic (3) or differencing (4)", f->type);
		return;
	}
	if (f->cur_size > VHD_MAX_SIZE)
		vhd_report(r, VHD_ERROR, off + VHD_F_CUR_SIZE, "footer current size",
			   "%llu bytes is beyond the VHD limit of 2040 GiB",
			   (unsigned long long)f->cur_size);
	if (f->cur_size % VHD_SECTOR)
		vhd_report(r, VHD_WARNING, off + VHD_F_CUR_SIZE, "footer current size",
			   "%llu bytes is not a whole number of sectors",
			   (unsigned long long)f->cur_size);
	if (f->type == VHD_TYPE_FIXED) {
		if (f->data_offset != UINT64_MAX && f->data_offset != 0xffffffffu)
			vhd_report(r, VHD_WARNING, off + VHD_F_DATA_OFFSET, "footer data offset",
				   "a fixed disk should have all bits set, not %#llx",
				   (unsigned long long)f->data_offset);
	} else if (f->data_offset < VHD_FOOTER_SIZE || f->data_offset > footer_off ||
		   footer_off - f->data_offset < VHD_HEADER_SIZE) {
		vhd_report(r, VHD_ERROR, off + VHD_F_DATA_OFFSET, "footer data offset",
			   "the dynamic header at %llu does not fit between the footer copy and "
			   "the footer at %llu", (unsigned long long)f->data_offset,
			   (unsigned long long)footer_off);
	}
	if (!(f->features & VHD_FEATURE_RESERVED))
		vhd_report(r, VHD_WARNING, off + VHD_F_FEATURES, "footer features",
			   "the reserved bit 0x2 must be set (features %#x)", f->features);
	if (f->features & ~(VHD_FEATURE_RESERVED | VHD_FEATURE_TEMPORARY))
		vhd_report(r, VHD_WARNING, off + VHD_F_FEATURES, "footer features",
			   "unknown feature bits %#x", f->features & ~3u);
	if (f->saved_state > 1)
		vhd_report(r, VHD_WARNING, off + VHD_F_SAVED, "footer saved state",
			   "%u is not 0 or 1", f->saved_state);
	else if (f->saved_state)
		vhd_report(r, VHD_WARNING, off + VHD_F_SAVED, "footer saved state",
			   "the disk belongs to a saved virtual machine state");
	if (f->timestamp > vhd_time_now() + 86400)
		vhd_report(r, VHD_WARNING, off + VHD_F_TIMESTAMP, "footer time stamp",
			   "%u seconds after 2000-01-01 is in the future", f->timestamp);
	struct blk_geometry g;
	blk_geometry_from_size(f->cur_size, &g);
	uint64_t stored = (uint64_t)f->cylinders * f->heads * f->sectors;
	uint64_t computed = (uint64_t)g.cylinders * g.heads * g.sectors;
	if (stored > computed && !(f->cylinders == 65535 && f->heads == 16 && f->sectors == 255))
		vhd_report(r, VHD_WARNING, off + VHD_F_GEOMETRY, "footer disk geometry",
			   "%u/%u/%u is larger than the current size allows (%u/%u/%u)",
			   f->cylinders, f->heads, f->sectors, g.cylinders, g.heads, g.sectors);
	if (is_zero(f->uuid, 16))
		vhd_report(r, VHD_WARNING, off + VHD_F_UUID, "footer unique id", "it is all zero");
	/* Byte 85 is Xen's "hidden" flag; the rest is reserved. */
	if (!is_zero(f->reserved + 1, sizeof(f->reserved) - 1))
		vhd_report(r, VHD_WARNING, off + VHD_F_RESERVED + 1, "footer reserved bytes",
			   "they are not zero");
}

void vhd_header_validate(const struct vhd_header *h, uint64_t off, const struct vhd_footer *f,
			 uint64_t footer_off, struct vhd_report *r)
{
	if (h->version >> 16 != 1)
		vhd_report(r, VHD_ERROR, off + VHD_H_VERSION, "dynamic header version",
			   "version %u.%u is not 1.x", h->version >> 16, h->version & 0xffff);
	uint32_t bs = h->block_size;
	if (bs < VHD_MIN_BLOCK || bs > VHD_MAX_BLOCK || (bs & (bs - 1))) {
		vhd_report(r, VHD_ERROR, off + VHD_H_BLOCK_SIZE, "dynamic header block size",
			   "%u bytes is not a power of two from 512 bytes to 256 MiB", bs);
		return;
	}
	uint64_t need = (f->cur_size + bs - 1) / bs;
	if (h->max_entries > VHD_MAX_BAT_ENTRIES)
		vhd_report(r, VHD_ERROR, off + VHD_H_MAX_ENTRIES, "dynamic header max table entries",
			   "%u entries is more than the %u Lodge accepts", h->max_entries,
			   VHD_MAX_BAT_ENTRIES);
	else if (h->max_entries < need)
		vhd_report(r, VHD_ERROR, off + VHD_H_MAX_ENTRIES, "dynamic header max table entries",
			   "%u entries of %u bytes cover less than the disk size %llu", h->max_entries,
			   bs, (unsigned long long)f->cur_size);
	uint64_t bat_bytes = ((uint64_t)h->max_entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR *
			     VHD_SECTOR;
	uint64_t t = h->table_offset;
	if (t > footer_off || footer_off - t < bat_bytes)
		vhd_report(r, VHD_ERROR, off + VHD_H_TABLE_OFFSET, "dynamic header table offset",
			   "the BAT at %llu (%llu bytes) does not end before the footer at %llu",
			   (unsigned long long)t, (unsigned long long)bat_bytes,
			   (unsigned long long)footer_off);
	else if (t < VHD_FOOTER_SIZE || (t < off + VHD_HEADER_SIZE && t + bat_bytes > off))
		vhd_report(r, VHD_ERROR, off + VHD_H_TABLE_OFFSET, "dynamic header table offset",
			   "the BAT at %llu overlaps the footer copy or the dynamic header",
			   (unsigned long long)t);
	if (h->data_offset != UINT64_MAX && h->data_offset != 0xffffffffu)
		vhd_report(r, VHD_WARNING, off + VHD_H_DATA_OFFSET, "dynamic header data offset",
			   "should have all bits set, not %#llx", (unsigned long long)h->data_offset);

	bool diff = f->type == VHD_TYPE_DIFF;
	for (unsigned i = 0; i < VHD_NLOC; i++) {
		const struct vhd_locator *l = &h->loc[i];
		uint64_t loff = off + VHD_H_LOCATORS + 24 * i;
		char field[48];
		snprintf(field, sizeof(field), "parent locator %u", i);
		if (!l->code) {
			if (l->length || l->offset || l->space)
				vhd_report(r, VHD_WARNING, loff, field,
					   "an unused entry should be all zero");
			continue;
		}
		if (!diff) {
			vhd_report(r, VHD_WARNING, loff, field, "a %s disk has no parent locators",
				   vhd_type_name(f->type));
			continue;
		}
		if (l->length > VHD_MAX_LOCATOR)
			vhd_report(r, VHD_ERROR, loff + 8, field, "a length of %u bytes is absurd",
				   l->length);
		else if (l->offset < VHD_FOOTER_SIZE || l->offset > footer_off ||
			 footer_off - l->offset < l->length)
			vhd_report(r, VHD_ERROR, loff + 16, field,
				   "the path at %llu (%u bytes) is not inside the file",
				   (unsigned long long)l->offset, l->length);
	}
	if (!diff && (!is_zero(h->parent_uuid, 16) || !is_zero(h->parent_name, 512)))
		vhd_report(r, VHD_WARNING, off + VHD_H_PARENT_UUID, "dynamic header parent fields",
			   "a %s disk should have no parent id or name", vhd_type_name(f->type));
	if (diff && is_zero(h->parent_uuid, 16))
		vhd_report(r, VHD_WARNING, off + VHD_H_PARENT_UUID, "dynamic header parent unique id",
			   "a differencing disk's parent id is all zero");
	if (h->reserved1 || !is_zero(h->reserved2, sizeof(h->reserved2)))
		vhd_report(r, VHD_WARNING, off + (h->reserved1 ? VHD_H_RESERVED1 : VHD_H_RESERVED2),
			   "dynamic header reserved bytes", "they are not zero");
}
