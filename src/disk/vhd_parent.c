/*
 * vhd_parent: how a differencing disk names its parent, and finding it.
 *
 * Spec: "Dynamic Disk Header Format" — Parent Unique ID, Parent Time Stamp,
 * Parent Unicode Name (UTF-16 big-endian) and the eight Parent Locator
 * Entries (platform code, data space, data length, data offset).
 * reference/vhd-format.md §2.1-2.2 records what producers really write:
 * W2ru/W2ku payloads are UTF-16 little-endian, Data Space is in bytes for
 * Microsoft products (sectors if below 512), MacX is a file:// URL.
 *
 * Lookup order (ibid., "recommended resolution order"): the caller's hint
 * (an undo disk's base, a path from the VM file), W2ru relative to the
 * child, MacX, W2ku as given and then its file name beside the child, the
 * Parent Unicode Name beside the child. The first candidate whose footer
 * Unique Id equals the child's Parent Unique ID is the parent; a time stamp
 * that differs only earns a warning.
 */
#include "vhd.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define VHD_MAX_CANDIDATES 8

/* ---- text encodings --------------------------------------------------- */

static size_t utf8_put(char *out, size_t pos, size_t outlen, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (pos + n < outlen)
		memcpy(out + pos, b, n);
	return pos + n;
}

/* UTF-16 to UTF-8 up to the first NUL; unpaired surrogates become U+FFFD.
 * Returns -ENAMETOOLONG if out is too small. */
static int utf16_decode(const uint8_t *p, size_t bytes, bool big_endian, char *out,
			size_t outlen)
{
	size_t pos = 0;
	for (size_t i = 0; i + 1 < bytes; i += 2) {
		uint32_t u = big_endian ? (uint32_t)(p[i] << 8 | p[i + 1])
					: (uint32_t)(p[i] | p[i + 1] << 8);
		if (!u)
			break;
		if (u >= 0xd800 && u < 0xdc00 && i + 3 < bytes) {
			uint32_t lo = big_endian ? (uint32_t)(p[i + 2] << 8 | p[i + 3])
						 : (uint32_t)(p[i + 2] | p[i + 3] << 8);
			if (lo >= 0xdc00 && lo < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			} else {
				u = 0xfffd;
			}
		} else if (u >= 0xd800 && u < 0xe000) {
			u = 0xfffd;
		}
		pos = utf8_put(out, pos, outlen, u);
	}
	if (pos >= outlen)
		return -ENAMETOOLONG;
	out[pos] = 0;
	return 0;
}

/* UTF-8 to UTF-16; returns bytes written or -EINVAL (bad UTF-8) / -ENAMETOOLONG. */
static int utf16_encode(const char *s, bool big_endian, uint8_t *out, size_t outlen)
{
	size_t pos = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c;
		int extra;
		if (*p < 0x80) {
			c = *p;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			extra = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			extra = 3;
		} else {
			return -EINVAL;
		}
		p++;
		for (int k = 0; k < extra; k++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -EINVAL;
			c = c << 6 | (*p & 0x3f);
		}
		uint16_t units[2];
		int nu = 1;
		if (c >= 0x10000) {
			c -= 0x10000;
			units[0] = (uint16_t)(0xd800 | c >> 10);
			units[1] = (uint16_t)(0xdc00 | (c & 0x3ff));
			nu = 2;
		} else {
			units[0] = (uint16_t)c;
		}
		for (int k = 0; k < nu; k++) {
			if (pos + 2 > outlen)
				return -ENAMETOOLONG;
			out[pos + (big_endian ? 0 : 1)] = (uint8_t)(units[k] >> 8);
			out[pos + (big_endian ? 1 : 0)] = (uint8_t)units[k];
			pos += 2;
		}
	}
	return (int)pos;
}

const char *vhd_locator_code_name(uint32_t code, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)(code >> (24 - 8 * i));
		out[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	out[4] = 0;
	return out;
}

int vhd_parent_name(const struct vhd_header *h, char *out, size_t outlen)
{
	return utf16_decode(h->parent_name, sizeof(h->parent_name), true, out, outlen);
}

static void slashes_to_unix(char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			*s = '/';
}

/* Decode locator i of v to a host path (malloc'd); -ENOENT if unusable. */
int vhd_locator_read(struct vhd *v, unsigned i, char **path)
{
	const struct vhd_locator *l = &v->header.loc[i];
	*path = NULL;
	if (!l->code || !l->length || l->length > VHD_MAX_LOCATOR ||
	    l->offset > v->file_size || v->file_size - l->offset < l->length)
		return -ENOENT;
	uint8_t *raw = malloc(l->length);
	size_t outlen = (size_t)l->length * 2 + 1;
	char *out = malloc(outlen);
	int rc = raw && out ? diskfile_pread(&v->file, raw, l->length, l->offset) : -ENOMEM;
	if (rc)
		goto out;
	switch (l->code) {
	case VHD_LOC_W2RU:
	case VHD_LOC_W2KU:
		rc = utf16_decode(raw, l->length, false, out, outlen);
		break;
	case VHD_LOC_MACX:
	case VHD_LOC_WI2R:
	case VHD_LOC_WI2K:
		memcpy(out, raw, l->length);
		out[l->length] = 0;
		break;
	default:
		rc = -ENOENT;       /* "Mac " aliases are opaque blobs */
	}
	if (rc)
		goto out;
	if (l->code == VHD_LOC_MACX) {
		/* file://localhost/dir/parent.vhd or file:///dir/parent.vhd */
		char *p = out;
		if (!strncmp(p, "file://", 7))
			p += 7;
		if (!strncmp(p, "localhost/", 10))
			p += 9;
		memmove(out, p, strlen(p) + 1);
	} else {
		slashes_to_unix(out);
	}
	if (!*out) {
		rc = -ENOENT;
		goto out;
	}
	*path = out;
	out = NULL;
out:
	free(raw);
	free(out);
	return rc;
}

/* ---- lookup ------------------------------------------------------------ */

struct vhd_candidates {
	char *path[VHD_MAX_CANDIDATES];
	unsigned n;
};

static void cand_add(struct vhd_candidates *c, const char *dir, const char *p)
{
	if (!p || !*p || c->n == VHD_MAX_CANDIDATES)
		return;
	char buf[PATH_MAX];
	while (dir && p[0] == '.' && p[1] == '/')
		p += 2;
	if (dir && p[0] != '/' && strcmp(dir, "."))
		snprintf(buf, sizeof(buf), "%s/%s", dir, p);
	else
		snprintf(buf, sizeof(buf), "%s", p);
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->path[i], buf))
			return;
	c->path[c->n] = strdup(buf);
	if (c->path[c->n])
		c->n++;
}

static void cand_free(struct vhd_candidates *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->path[i]);
	c->n = 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void vhd_parent_candidates(struct vhd *v, const char *hint, struct vhd_candidates *c)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", v->file.path);
	char *dir = dirname(tmp);
	char *loc[VHD_NLOC] = { 0 };
	for (unsigned i = 0; i < VHD_NLOC; i++)
		vhd_locator_read(v, i, &loc[i]);

	cand_add(c, NULL, hint);
	for (unsigned i = 0; i < VHD_NLOC; i++)
		if (loc[i] && (v->header.loc[i].code == VHD_LOC_W2RU ||
			       v->header.loc[i].code == VHD_LOC_WI2R))
			cand_add(c, dir, loc[i]);
	for (unsigned i = 0; i < VHD_NLOC; i++)
		if (loc[i] && v->header.loc[i].code == VHD_LOC_MACX)
			cand_add(c, dir, loc[i]);
	for (unsigned i = 0; i < VHD_NLOC; i++) {
		uint32_t code = v->header.loc[i].code;
		if (!loc[i] || (code != VHD_LOC_W2KU && code != VHD_LOC_WI2K))
			continue;
		char *p = loc[i];
		if (((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) && p[1] == ':')
			p += 2;     /* a Windows drive letter means nothing here */
		cand_add(c, NULL, p);
		cand_add(c, dir, base_name(p));
	}
	char name[1024];
	if (vhd_parent_name(&v->header, name, sizeof(name)) == 0 && *name) {
		slashes_to_unix(name);
		cand_add(c, dir, base_name(name));
	}
	for (unsigned i = 0; i < VHD_NLOC; i++)
		free(loc[i]);
}

/* The footer Unique Id of the VHD at path, or -errno. */
static int vhd_read_uuid(const char *path, uint8_t uuid[16], uint32_t *ts)
{
	char err[256];
	struct vhd_open_opts o = { .read_only = true, .no_lock = true, .no_parent = true };
	struct vhd *p;
	int rc = vhd_open(path, &o, &p, err, sizeof(err));
	if (rc)
		return rc;
	memcpy(uuid, p->footer.uuid, 16);
	*ts = p->footer.timestamp;
	vhd_close(p);
	return 0;
}

int vhd_parent_find(struct vhd *v, const char *hint, char **path, char *err, size_t errlen)
{
	struct vhd_candidates c = { 0 };
	vhd_parent_candidates(v, hint, &c);
	struct stat self, st;
	bool have_self = fstat(v->file.fd, &self) == 0;
	char tried[512] = "";
	size_t tl = 0;
	int found = -1, mismatch = -1;
	uint8_t bad_uuid[16];
	for (unsigned i = 0; i < c.n && found < 0; i++) {
		if (stat(c.path[i], &st) || !S_ISREG(st.st_mode)) {
			if (tl < sizeof(tried))
				tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl, "%s%s",
						       tl ? ", " : "", c.path[i]);
			continue;
		}
		if (have_self && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
			continue;   /* a disk is never its own parent */
		uint8_t uuid[16];
		uint32_t ts;
		if (vhd_read_uuid(c.path[i], uuid, &ts))
			continue;
		if (!memcmp(uuid, v->header.parent_uuid, 16))
			found = (int)i;
		else if (mismatch < 0) {
			mismatch = (int)i;
			memcpy(bad_uuid, uuid, 16);
		}
	}
	int rc = 0;
	uint64_t field = v->header_off + VHD_H_PARENT_UUID;
	if (found >= 0) {
		*path = c.path[found];
		c.path[found] = NULL;           /* ownership moved to the caller */
	} else if (mismatch >= 0) {
		char want[37], have[37];
		vhd_uuid_format(v->header.parent_uuid, want);
		vhd_uuid_format(bad_uuid, have);
		snprintf(err, errlen, "%s: parent unique id at offset %llu: %s has id %s, but this "
			 "disk's parent is %s (the parent was replaced or is another disk)",
			 v->file.path, (unsigned long long)field, c.path[mismatch], have, want);
		rc = -ESTALE;
	} else {
		char name[256];
		if (vhd_parent_name(&v->header, name, sizeof(name)) || !*name)
			snprintf(name, sizeof(name), "(no name recorded)");
		snprintf(err, errlen, "%s: parent name and locators at offset %llu: the parent "
			 "\"%s\" was not found (tried %s)", v->file.path,
			 (unsigned long long)(v->header_off + VHD_H_PARENT_NAME), name,
			 *tried ? tried : "nothing: no usable locator");
		rc = -ENOENT;
	}
	cand_free(&c);
	return rc;
}

int vhd_parent_open(struct vhd *v, const char *hint, int depth, char *err, size_t errlen)
{
	if (depth >= VHD_MAX_CHAIN) {
		snprintf(err, errlen, "%s: more than %d differencing disks above the base (a loop?)",
			 v->file.path, VHD_MAX_CHAIN);
		return -ELOOP;
	}
	char *path;
	int rc = vhd_parent_find(v, hint, &path, err, errlen);
	if (rc)
		return rc;
	struct vhd_open_opts o = { .read_only = true, .depth = depth + 1 };
	rc = vhd_open(path, &o, &v->parent, err, errlen);
	if (rc) {
		free(path);
		return rc;
	}
	if (memcmp(v->parent->footer.uuid, v->header.parent_uuid, 16)) {
		/* Replaced between the lookup and the open. */
		snprintf(err, errlen, "%s: parent unique id at offset %llu: %s changed while it "
			 "was being opened", v->file.path,
			 (unsigned long long)(v->header_off + VHD_H_PARENT_UUID), path);
		vhd_close(v->parent);
		v->parent = NULL;
		free(path);
		return -ESTALE;
	}
	struct stat st;
	uint32_t mtime = 0;
	if (fstat(v->parent->file.fd, &st) == 0 && st.st_mtime > VHD_EPOCH)
		mtime = (uint32_t)(st.st_mtime - VHD_EPOCH);
	if (v->header.parent_timestamp != mtime &&
	    v->header.parent_timestamp != v->parent->footer.timestamp) {
		v->parent_ts_mismatch = true;
		log_warn("vhd", "%s: its parent %s was modified after this differencing disk was "
			 "created (parent time stamp differs); if the parent's data changed, "
			 "this disk's contents are not what they were", v->file.path, path);
	}
	v->parent_path = path;
	return 0;
}

/* ---- writing locators (creation) -------------------------------------- */

/* Split an absolute path into its components (in place). */
static unsigned split_path(char *p, char **comp, unsigned max)
{
	unsigned n = 0;
	for (char *tok = strtok(p, "/"); tok && n < max; tok = strtok(NULL, "/"))
		comp[n++] = tok;
	return n;
}

/* Path of target relative to the directory dir (both absolute, canonical),
 * e.g. "./base.vhd" or "../images/base.vhd". */
static int vhd_relative_path(const char *dir, const char *target, char *out, size_t outlen)
{
	char d[PATH_MAX], t[PATH_MAX];
	char *dc[PATH_MAX / 2], *tc[PATH_MAX / 2];
	snprintf(d, sizeof(d), "%s", dir);
	snprintf(t, sizeof(t), "%s", target);
	unsigned nd = split_path(d, dc, PATH_MAX / 2), nt = split_path(t, tc, PATH_MAX / 2);
	unsigned k = 0;
	while (k < nd && k + 1 < nt && !strcmp(dc[k], tc[k]))
		k++;
	size_t pos = 0;
	if (k == nd)
		pos += (size_t)snprintf(out, outlen, "./");
	for (unsigned i = k; i < nd; i++)
		pos += (size_t)snprintf(out + pos, pos < outlen ? outlen - pos : 0, "../");
	for (unsigned i = k; i < nt; i++)
		pos += (size_t)snprintf(out + pos, pos < outlen ? outlen - pos : 0, "%s%s", tc[i],
					i + 1 < nt ? "/" : "");
	return pos < outlen ? 0 : -ENAMETOOLONG;
}

int vhd_locators_build(const char *child, const char *parent, struct vhd_header *h,
		       uint64_t *next, uint8_t **buf, size_t *buflen, char *err, size_t errlen)
{
	char abs_parent[PATH_MAX], child_dir[PATH_MAX], tmp[PATH_MAX], rel[PATH_MAX];
	if (!realpath(parent, abs_parent)) {
		snprintf(err, errlen, "%s: %s", parent, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s", child);
	if (!realpath(dirname(tmp), child_dir)) {
		snprintf(err, errlen, "%s: cannot resolve its folder: %s", child, strerror(errno));
		return -errno;
	}
	if (vhd_relative_path(child_dir, abs_parent, rel, sizeof(rel))) {
		snprintf(err, errlen, "%s: the path to the parent is too long", child);
		return -ENAMETOOLONG;
	}
	int n = utf16_encode(base_name(abs_parent), true, h->parent_name, sizeof(h->parent_name));
	if (n < 0) {
		snprintf(err, errlen, "%s: the parent's file name %s (more than 255 UTF-16 "
			 "characters or not UTF-8)", parent,
			 n == -ENAMETOOLONG ? "is too long" : "is not valid");
		return n;
	}
	/* W2ku (absolute) then W2ru (relative), Windows separators, UTF-16LE. */
	const char *paths[2] = { abs_parent, rel };
	const uint32_t codes[2] = { VHD_LOC_W2KU, VHD_LOC_W2RU };
	size_t cap = 2 * (PATH_MAX * 4 + VHD_SECTOR);
	uint8_t *out = calloc(1, cap);
	if (!out)
		return -ENOMEM;
	size_t used = 0;
	for (unsigned i = 0; i < 2; i++) {
		char win[PATH_MAX];
		snprintf(win, sizeof(win), "%s", paths[i]);
		for (char *p = win; *p; p++)
			if (*p == '/')
				*p = '\\';
		int len = utf16_encode(win, false, out + used, cap - used);
		if (len < 0 || (uint32_t)len > VHD_MAX_LOCATOR) {
			free(out);
			snprintf(err, errlen, "%s: the parent path cannot be recorded", parent);
			return -ENAMETOOLONG;
		}
		/* Data Space in bytes, a whole number of sectors (>= 512), so the
		 * "sectors if below 512" readers and the byte readers agree. */
		uint32_t space = ((uint32_t)len + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
		if (!space)
			space = VHD_SECTOR;
		h->loc[i] = (struct vhd_locator){ codes[i], space, (uint32_t)len, 0, *next + used };
		used += space;
	}
	*buf = out;
	*buflen = used;
	*next += used;
	return 0;
}
