/*
 * disk_info: `lodge disk info FILE [--json]` — what an image is: format and
 * VHD type, the sizes (and which one the guest sees, by the creator rule of
 * vhd_footer_disk_size), geometry, creator, unique id, blocks in use and
 * the parent chain down to the base disk.
 *
 * Images are opened without their lock (read-only), so a disk in use by a
 * running VM can be inspected; what it shows may then be a moment old.
 */
#include "disk_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blk.h"
#include "blk_driver.h"
#include "vhd.h"

struct info_link {
	char *file;
	char type[16];
	char uuid[37];
};

struct info {
	const char *format;              /* raw, iso, vhd */
	uint64_t size, file_size, host_bytes;
	struct blk_geometry geom;
	struct vhd *v;                   /* VHD only */
	struct info_link chain[VHD_MAX_CHAIN + 1];
	unsigned nchain;
	char chain_error[768];
	char parent_name[1024];
};

static const char *info_size_text(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	double v = (double)bytes;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, len, "%.*f %s (%" PRIu64 " bytes)", v == (uint64_t)v ? 0 : 1, v,
			 unit[u], bytes);
	return buf;
}

static void info_fourcc(uint32_t v, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)(v >> (24 - 8 * i));
		out[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	out[4] = 0;
}

static void info_time(uint32_t vhd_ts, char *out, size_t len)
{
	time_t t = (time_t)vhd_ts + VHD_EPOCH;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Walk from v to the base disk, recording each link. */
static void info_chain(struct info *in, const char *path)
{
	struct vhd *cur = in->v;
	in->chain[0].file = strdup(path);
	snprintf(in->chain[0].type, sizeof(in->chain[0].type), "%s", vhd_type_name(cur->footer.type));
	vhd_uuid_format(cur->footer.uuid, in->chain[0].uuid);
	in->nchain = 1;
	struct vhd *opened = NULL;
	while (cur->footer.type == VHD_TYPE_DIFF && in->nchain <= VHD_MAX_CHAIN) {
		char *ppath;
		if (vhd_parent_find(cur, NULL, &ppath, in->chain_error, sizeof(in->chain_error)))
			break;
		struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true };
		struct vhd *p;
		int rc = vhd_open(ppath, &o, &p, in->chain_error, sizeof(in->chain_error));
		if (rc) {
			free(ppath);
			break;
		}
		struct info_link *l = &in->chain[in->nchain++];
		l->file = ppath;
		snprintf(l->type, sizeof(l->type), "%s", vhd_type_name(p->footer.type));
		vhd_uuid_format(p->footer.uuid, l->uuid);
		vhd_close(opened);
		opened = cur = p;
	}
	vhd_close(opened);
}

static int info_gather(struct info *in, const char *path, char *err, size_t errlen)
{
	int rc = blk_probe(path, &in->format, err, errlen);
	if (rc)
		return rc;
	struct stat st;
	if (stat(path, &st) == 0) {
		in->file_size = (uint64_t)st.st_size;
		in->host_bytes = (uint64_t)st.st_blocks * 512;
	}
	if (strcmp(in->format, "vhd")) {
		struct blk_opts o = { .read_only = true, .no_lock = true, .format = in->format };
		struct blk *b;
		rc = blk_open(path, &o, &b, err, errlen);
		if (rc)
			return rc;
		in->size = blk_size(b);
		blk_get_geometry(b, &in->geom);
		blk_close(b);
		return 0;
	}
	struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true };
	rc = vhd_open(path, &o, &in->v, err, errlen);
	if (rc)
		return rc;
	in->size = in->v->size;
	in->geom.cylinders = in->v->footer.cylinders;
	in->geom.heads = in->v->footer.heads;
	in->geom.sectors = in->v->footer.sectors;
	if (in->v->footer.type == VHD_TYPE_DIFF)
		vhd_parent_name(&in->v->header, in->parent_name, sizeof(in->parent_name));
	info_chain(in, path);
	return 0;
}

static void info_free(struct info *in)
{
	for (unsigned i = 0; i < in->nchain; i++)
		free(in->chain[i].file);
	vhd_close(in->v);
}

static void info_print_text(const struct info *in, const char *path, FILE *out)
{
	char a[96], b[96];
	const struct vhd *v = in->v;
	fprintf(out, "file:           %s\n", path);
	if (!v) {
		fprintf(out, "format:         %s\n", in->format);
		fprintf(out, "virtual size:   %s\n", info_size_text(in->size, a, sizeof(a)));
	} else {
		const struct vhd_footer *f = &v->footer;
		char app[5], os[5], when[32], uuid[37];
		memcpy(app, f->creator_app, 4);
		for (int i = 0; i < 4; i++)
			app[i] = app[i] >= 0x20 && app[i] < 0x7f ? app[i] : '.';
		app[4] = 0;
		info_fourcc(f->creator_os, os);
		info_time(f->timestamp, when, sizeof(when));
		vhd_uuid_format(f->uuid, uuid);
		fprintf(out, "format:         VHD %s (version %u.%u)\n", vhd_type_name(f->type),
			f->version >> 16, f->version & 0xffff);
		fprintf(out, "virtual size:   %s, by %s\n", info_size_text(in->size, a, sizeof(a)),
			v->size_by_chs ? "CHS geometry (Virtual PC rule)" : "current size");
		fprintf(out, "current size:   %s\n", info_size_text(f->cur_size, a, sizeof(a)));
		fprintf(out, "original size:  %s\n", info_size_text(f->orig_size, a, sizeof(a)));
		fprintf(out, "creator:        \"%s\" %u.%u on \"%s\"\n", app, f->creator_version >> 16,
			f->creator_version & 0xffff, os);
		fprintf(out, "time stamp:     %s\n", when);
		fprintf(out, "unique id:      %s\n", uuid);
		fprintf(out, "saved state:    %s\n", f->saved_state ? "yes" : "no");
	}
	fprintf(out, "geometry:       %u/%u/%u (C/H/S)\n", in->geom.cylinders, in->geom.heads,
		in->geom.sectors);
	fprintf(out, "file size:      %s, %s on disk\n", info_size_text(in->file_size, a, sizeof(a)),
		info_size_text(in->host_bytes, b, sizeof(b)));
	if (!v)
		return;
	if (vhd_is_sparse(v)) {
		fprintf(out, "block size:     %s\n", info_size_text(v->block_size, a, sizeof(a)));
		fprintf(out, "blocks:         %u of %u allocated (%s)\n", v->allocated, v->blocks,
			info_size_text((uint64_t)v->allocated * v->block_size, a, sizeof(a)));
	}
	if (v->footer.type == VHD_TYPE_DIFF) {
		char uuid[37];
		vhd_uuid_format(v->header.parent_uuid, uuid);
		fprintf(out, "parent name:    %s\n", in->parent_name);
		fprintf(out, "parent id:      %s\n", uuid);
		for (unsigned i = 0; i < VHD_NLOC; i++) {
			char code[5], *p;
			if (!v->header.loc[i].code)
				continue;
			vhd_locator_code_name(v->header.loc[i].code, code);
			if (vhd_locator_read((struct vhd *)v, i, &p) == 0) {
				fprintf(out, "parent locator: %s %s\n", code, p);
				free(p);
			} else {
				fprintf(out, "parent locator: %s (unreadable)\n", code);
			}
		}
	}
	if (in->nchain > 1 || in->chain_error[0]) {
		fprintf(out, "chain:\n");
		for (unsigned i = 0; i < in->nchain; i++)
			fprintf(out, "  %s%s (%s, %s)\n", i ? "-> " : "", in->chain[i].file,
				in->chain[i].type, in->chain[i].uuid);
		if (in->chain_error[0])
			fprintf(out, "  -> missing: %s\n", in->chain_error);
	}
}

static int info_print_json(const struct info *in, const char *path, FILE *out)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	const struct vhd *v = in->v;
	cJSON_AddStringToObject(o, "file", path);
	cJSON_AddStringToObject(o, "format", in->format);
	cJSON_AddNumberToObject(o, "virtual_size", (double)in->size);
	cJSON_AddNumberToObject(o, "file_size", (double)in->file_size);
	cJSON_AddNumberToObject(o, "host_bytes", (double)in->host_bytes);
	cJSON *g = cJSON_AddObjectToObject(o, "geometry");
	cJSON_AddNumberToObject(g, "cylinders", in->geom.cylinders);
	cJSON_AddNumberToObject(g, "heads", in->geom.heads);
	cJSON_AddNumberToObject(g, "sectors", in->geom.sectors);
	if (v) {
		const struct vhd_footer *f = &v->footer;
		char app[5], os[5], ver[16], when[32], uuid[37];
		memcpy(app, f->creator_app, 4);
		app[4] = 0;
		info_fourcc(f->creator_os, os);
		snprintf(ver, sizeof(ver), "%u.%u", f->creator_version >> 16,
			 f->creator_version & 0xffff);
		info_time(f->timestamp, when, sizeof(when));
		vhd_uuid_format(f->uuid, uuid);
		cJSON_AddStringToObject(o, "type", vhd_type_name(f->type));
		cJSON_AddStringToObject(o, "size_rule", v->size_by_chs ? "chs" : "current-size");
		cJSON_AddNumberToObject(o, "current_size", (double)f->cur_size);
		cJSON_AddNumberToObject(o, "original_size", (double)f->orig_size);
		cJSON *c = cJSON_AddObjectToObject(o, "creator");
		cJSON_AddStringToObject(c, "application", app);
		cJSON_AddStringToObject(c, "version", ver);
		cJSON_AddStringToObject(c, "host_os", os);
		cJSON_AddStringToObject(o, "time_stamp", when);
		cJSON_AddStringToObject(o, "unique_id", uuid);
		cJSON_AddBoolToObject(o, "saved_state", f->saved_state != 0);
		if (vhd_is_sparse(v)) {
			cJSON_AddNumberToObject(o, "block_size", v->block_size);
			cJSON_AddNumberToObject(o, "blocks", v->blocks);
			cJSON_AddNumberToObject(o, "allocated_blocks", v->allocated);
		}
		if (f->type == VHD_TYPE_DIFF) {
			cJSON *p = cJSON_AddObjectToObject(o, "parent");
			vhd_uuid_format(v->header.parent_uuid, uuid);
			cJSON_AddStringToObject(p, "name", in->parent_name);
			cJSON_AddStringToObject(p, "unique_id", uuid);
			if (in->nchain > 1)
				cJSON_AddStringToObject(p, "path", in->chain[1].file);
			else
				cJSON_AddNullToObject(p, "path");
			if (in->chain_error[0] && in->nchain == 1)
				cJSON_AddStringToObject(p, "error", in->chain_error);
		}
		cJSON *chain = cJSON_AddArrayToObject(o, "chain");
		for (unsigned i = 0; i < in->nchain; i++) {
			cJSON *l = cJSON_CreateObject();
			cJSON_AddStringToObject(l, "file", in->chain[i].file);
			cJSON_AddStringToObject(l, "type", in->chain[i].type);
			cJSON_AddStringToObject(l, "unique_id", in->chain[i].uuid);
			cJSON_AddItemToArray(chain, l);
		}
		if (in->chain_error[0])
			cJSON_AddStringToObject(o, "chain_error", in->chain_error);
	}
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	fprintf(out, "%s\n", text);
	cJSON_free(text);
	return 0;
}

int disk_info(const char *path, bool json, FILE *out, char *err, size_t errlen)
{
	struct info in;
	memset(&in, 0, sizeof(in));
	int rc = info_gather(&in, path, err, errlen);
	if (!rc) {
		if (json)
			rc = info_print_json(&in, path, out);
		else
			info_print_text(&in, path, out);
		if (rc)
			snprintf(err, errlen, "%s: out of memory", path);
	}
	info_free(&in);
	return rc;
}
