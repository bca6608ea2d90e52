/*
 * Unit tests for VHD images: creation in Hyper-V style, reads and writes of
 * fixed/dynamic/differencing disks against a model, parent lookup through
 * locators and names, size rules per creator, commit, compact, the checker,
 * and hostile files — each must be refused with one message naming the
 * file, the field and its byte offset.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/blk.h"
#include "disk/vhd.h"
#include "disk_tmp.h"

#define MIB (1ULL << 20)

static void create(const char *path, uint32_t type, uint64_t size, uint32_t bs,
		   const char *parent)
{
	char err[1024];
	struct vhd_create_opts o = { .type = type, .size = size, .block_size = bs,
				     .parent = parent };
	unlink(path);
	if (vhd_create(path, &o, err, sizeof(err)))
		fail_msg("create %s: %s", path, err);
}

static struct blk *open_blk(const char *path, bool ro)
{
	char err[1024];
	struct blk_opts o = { .read_only = ro };
	struct blk *b;
	if (blk_open(path, &o, &b, err, sizeof(err)))
		fail_msg("open %s: %s", path, err);
	return b;
}

/* Random writes (sector-granular, up to 3 blocks long) to b and to model. */
static void random_writes(struct blk *b, uint8_t *model, uint64_t size, int n, uint64_t seed)
{
	uint8_t *buf = malloc(3 * 2 * MIB);
	for (int i = 0; i < n; i++) {
		uint64_t off = disk_tmp_rand(&seed) % (size / 512) * 512;
		uint64_t len = (disk_tmp_rand(&seed) % 64 + 1) * 512;
		if (i % 8 == 0)
			len = (disk_tmp_rand(&seed) % (3 * 4096) + 1) * 512;
		if (len > size - off)
			len = size - off;
		disk_tmp_pattern(buf, len, disk_tmp_rand(&seed));
		assert_int_equal(blk_pwrite(b, off, buf, len), 0);
		memcpy(model + off, buf, len);
		if (i % 10 == 9)
			assert_int_equal(blk_flush(b), 0);
	}
	free(buf);
}

static void expect_content(struct blk *b, const uint8_t *model, uint64_t size)
{
	uint8_t *got = malloc(size);
	assert_int_equal(blk_pread(b, 0, got, size), 0);
	for (uint64_t i = 0; i < size; i += 512)
		if (memcmp(got + i, model + i, 512))
			fail_msg("sector %llu differs from the model", (unsigned long long)(i / 512));
	free(got);
}

static void expect_check_clean(const char *path)
{
	struct vhd_report r = { 0 };
	vhd_check(path, &r);
	assert_int_equal(r.errors, 0);
}

/* ---- creation and size rules ------------------------------------------- */

static void test_create_hyperv_style(void **state)
{
	const char *p = disk_tmp_path("create.vhd");
	create(p, VHD_TYPE_DYNAMIC, 3ULL << 30, 0, NULL);
	uint8_t raw[512];
	disk_tmp_read(p, disk_tmp_file_size(p) - 512, raw, 512);
	struct vhd_footer f;
	vhd_footer_decode(raw, &f);
	assert_memory_equal(f.cookie, "conectix", 8);
	assert_memory_equal(f.creator_app, "win ", 4);
	assert_int_equal(f.cur_size, 3ULL << 30);
	assert_int_equal(f.orig_size, 3ULL << 30);
	assert_int_equal(f.cylinders, 6241);       /* Windows 7's footer for 3 GiB */
	assert_int_equal(f.heads, 16);
	assert_int_equal(f.sectors, 63);
	assert_int_equal(f.features, 2);
	assert_int_equal(f.checksum, vhd_checksum(raw, 512, VHD_F_CHECKSUM));
	uint8_t copy[512];
	disk_tmp_read(p, 0, copy, 512);
	assert_memory_equal(copy, raw, 512);
	struct blk *b = open_blk(p, true);
	assert_int_equal(blk_size(b), 3ULL << 30);
	blk_close(b);
	expect_check_clean(p);
	/* 2040 GiB is the limit; one sector more is refused. */
	create(p, VHD_TYPE_DYNAMIC, VHD_MAX_SIZE, 0, NULL);
	char err[512];
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC, .size = VHD_MAX_SIZE + 512 };
	unlink(p);
	assert_int_equal(vhd_create(p, &o, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "2040 GiB"));
	/* Never overwrite. */
	create(p, VHD_TYPE_DYNAMIC, MIB, 0, NULL);
	o.size = MIB;
	assert_int_equal(vhd_create(p, &o, err, sizeof(err)), -EEXIST);
}

static void test_size_rule_by_creator(void **state)
{
	struct vhd_footer f = { 0 };
	f.cur_size = 104857600;                     /* 100 MiB, CHS 1003/12/17 */
	f.cylinders = 1003;
	f.heads = 12;
	f.sectors = 17;
	bool chs;
	memcpy(f.creator_app, "vpc ", 4);
	assert_int_equal(vhd_footer_disk_size(&f, &chs), 1003ULL * 12 * 17 * 512);
	assert_true(chs);
	memcpy(f.creator_app, "win ", 4);
	assert_int_equal(vhd_footer_disk_size(&f, &chs), 104857600);
	assert_false(chs);
	memcpy(f.creator_app, "qem2", 4);
	assert_int_equal(vhd_footer_disk_size(&f, &chs), 104857600);
	/* The CHS cap means "use Current Size" even for Virtual PC. */
	memcpy(f.creator_app, "vpc ", 4);
	f.cur_size = 200ULL << 30;
	f.cylinders = 65535;
	f.heads = 16;
	f.sectors = 255;
	assert_int_equal(vhd_footer_disk_size(&f, &chs), 200ULL << 30);
	assert_false(chs);
}

/* ---- data paths -------------------------------------------------------- */

static void roundtrip(uint32_t type, uint64_t size, uint32_t bs, uint64_t seed)
{
	const char *p = disk_tmp_path("rt.vhd");
	create(p, type, size, bs, NULL);
	uint8_t *model = calloc(1, size);
	struct blk *b = open_blk(p, false);
	random_writes(b, model, size, 150, seed);
	expect_content(b, model, size);
	blk_close(b);
	b = open_blk(p, false);                    /* after a close and reopen */
	expect_content(b, model, size);
	random_writes(b, model, size, 50, seed + 1);
	blk_close(b);
	b = open_blk(p, true);
	expect_content(b, model, size);
	blk_close(b);
	expect_check_clean(p);
	free(model);
}

static void test_dynamic_roundtrip(void **state)
{
	roundtrip(VHD_TYPE_DYNAMIC, 24 * MIB, 0, 1);
	roundtrip(VHD_TYPE_DYNAMIC, 5 * MIB + 3 * 512, 512 << 10, 2);  /* odd size, 512 KiB */
	roundtrip(VHD_TYPE_DYNAMIC, 2 * MIB, 4096, 3);                 /* tiny blocks */
}

static void test_fixed_roundtrip(void **state)
{
	roundtrip(VHD_TYPE_FIXED, 8 * MIB, 0, 4);
}

static void test_differencing_chain(void **state)
{
	const uint64_t size = 12 * MIB;
	const char *base = disk_tmp_path("base.vhd"), *mid = disk_tmp_path("mid.vhd");
	const char *top = disk_tmp_path("top.vhd");
	uint8_t *model = calloc(1, size);
	create(base, VHD_TYPE_DYNAMIC, size, 0, NULL);
	struct blk *b = open_blk(base, false);
	random_writes(b, model, size, 60, 10);
	blk_close(b);
	uint64_t base_hash = disk_tmp_file_hash(base);
	create(mid, VHD_TYPE_DIFF, 0, 0, base);
	b = open_blk(mid, false);
	random_writes(b, model, size, 60, 11);
	blk_close(b);
	uint64_t mid_hash = disk_tmp_file_hash(mid);
	create(top, VHD_TYPE_DIFF, 0, 0, mid);
	b = open_blk(top, false);
	assert_string_equal(blk_format_name(b), "vhd-differencing");
	assert_int_equal(blk_size(b), size);
	expect_content(b, model, size);          /* nothing written yet: the parents' data */
	random_writes(b, model, size, 80, 12);
	expect_content(b, model, size);
	blk_close(b);
	b = open_blk(top, true);
	expect_content(b, model, size);
	blk_close(b);
	assert_true(disk_tmp_file_hash(base) == base_hash);
	assert_true(disk_tmp_file_hash(mid) == mid_hash);
	expect_check_clean(top);
	free(model);
}

/* A diff disk's block holds partial bitmaps; the bitmap cache is over budget. */
static void test_bitmap_cache_eviction(void **state)
{
	const uint64_t size = 160 * MIB;
	const uint32_t bs = 4096;                 /* 40960 blocks, 512-byte bitmaps */
	const char *base = disk_tmp_path("ebase.vhd"), *top = disk_tmp_path("etop.vhd");
	create(base, VHD_TYPE_DYNAMIC, size, bs, NULL);
	create(top, VHD_TYPE_DIFF, 0, 0, base);
	struct blk *b = open_blk(base, false);
	uint8_t fill[4096];
	memset(fill, 0xaa, sizeof(fill));
	for (uint64_t off = 0; off < size; off += 64 * 4096)
		assert_int_equal(blk_pwrite(b, off, fill, 4096), 0);
	blk_close(b);
	b = open_blk(top, false);
	uint8_t one[512];
	memset(one, 0x55, sizeof(one));
	for (uint64_t blk = 0; blk < size / bs; blk++) {
		assert_int_equal(blk_pwrite(b, blk * bs + 512, one, 512), 0);
		if (blk % 4096 == 4095)
			assert_int_equal(blk_flush(b), 0);
	}
	blk_close(b);
	b = open_blk(top, true);
	uint8_t got[4096];
	for (uint64_t blk = 0; blk < size / bs; blk += 7) {
		assert_int_equal(blk_pread(b, blk * bs, got, 4096), 0);
		uint8_t first = blk % 64 == 0 ? 0xaa : 0;
		for (int s = 0; s < 8; s++) {
			uint8_t want = s == 1 ? 0x55 : first;
			if (got[s * 512] != want || got[s * 512 + 511] != want)
				fail_msg("block %llu sector %d: %#x, want %#x",
					 (unsigned long long)blk, s, got[s * 512], want);
		}
	}
	blk_close(b);
}

struct writer_arg {
	struct blk *b;
	uint64_t region, len;
	uint8_t *model;
	uint64_t seed;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;
	uint8_t buf[16384];
	for (int i = 0; i < 200; i++) {
		uint64_t off = a->region + disk_tmp_rand(&a->seed) % (a->len / 4096 - 4) * 4096;
		size_t len = (size_t)(disk_tmp_rand(&a->seed) % 4 + 1) * 4096;
		disk_tmp_pattern(buf, len, disk_tmp_rand(&a->seed));
		if (blk_pwrite(a->b, off, buf, len))
			return "write failed";
		memcpy(a->model + off, buf, len);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	const uint64_t size = 32 * MIB;
	const char *base = disk_tmp_path("cbase.vhd"), *top = disk_tmp_path("ctop.vhd");
	uint8_t *model = calloc(1, size);
	create(base, VHD_TYPE_DYNAMIC, size, 64 << 10, NULL);
	create(top, VHD_TYPE_DIFF, 0, 0, base);
	const char *paths[2] = { base, top };
	for (int k = 0; k < 2; k++) {
		struct blk *b = open_blk(paths[k], false);
		pthread_t t[4];
		struct writer_arg a[4];
		for (int i = 0; i < 4; i++) {
			/* Regions interleave at 1 MiB so threads share blocks' neighbours. */
			a[i] = (struct writer_arg){ b, (uint64_t)i * 8 * MIB, 8 * MIB, model,
						    (uint64_t)(k * 10 + i) };
			pthread_create(&t[i], NULL, writer_thread, &a[i]);
		}
		for (int i = 0; i < 4; i++) {
			void *res;
			pthread_join(t[i], &res);
			assert_null(res);
		}
		blk_close(b);
	}
	struct blk *b = open_blk(top, true);
	expect_content(b, model, size);
	blk_close(b);
	expect_check_clean(top);
	free(model);
}

/* ---- parents ------------------------------------------------------------ */

static void run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static int try_open(const char *path, char *err, size_t errlen)
{
	struct blk_opts o = { .read_only = true };
	struct blk *b;
	int rc = blk_open(path, &o, &b, err, errlen);
	if (!rc)
		blk_close(b);
	return rc;
}

static void test_parent_lookup(void **state)
{
	const char *dir = disk_tmp_dir();
	char err[1024];
	run("mkdir -p %s/a %s/b %s/c", dir, dir, dir);
	const char *base = disk_tmp_path("a/base.vhd"), *child = disk_tmp_path("a/child.vhd");
	create(base, VHD_TYPE_DYNAMIC, 4 * MIB, 0, NULL);
	create(child, VHD_TYPE_DIFF, 0, 0, base);
	assert_int_equal(try_open(child, err, sizeof(err)), 0);
	/* Both moved together: the relative W2ru locator finds the parent. */
	run("mv %s/a/base.vhd %s/a/child.vhd %s/b/", dir, dir, dir);
	assert_int_equal(try_open(disk_tmp_path("b/child.vhd"), err, sizeof(err)), 0);
	/* Only the child moved: the absolute W2ku path finds the parent? No — it
	 * names a/, which is empty now; the name beside the child fails too. */
	run("mv %s/b/child.vhd %s/c/", dir, dir);
	assert_int_equal(try_open(disk_tmp_path("c/child.vhd"), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "c/child.vhd: parent name and locators at offset 576"));
	assert_non_null(strstr(err, "\"base.vhd\" was not found"));
	/* ...but a hint (the VM file's path) does. */
	struct blk_opts o = { .read_only = true, .parent = disk_tmp_path("b/base.vhd") };
	struct blk *b;
	assert_int_equal(blk_open(disk_tmp_path("c/child.vhd"), &o, &b, err, sizeof(err)), 0);
	blk_close(b);
	/* The parent beside the child, found by the Parent Unicode Name. */
	run("cp %s/b/base.vhd %s/c/base.vhd", dir, dir);
	assert_int_equal(try_open(disk_tmp_path("c/child.vhd"), err, sizeof(err)), 0);
	/* Another disk under the parent's name: refused by unique id. */
	run("rm %s/c/base.vhd", dir);
	create(disk_tmp_path("c/base.vhd"), VHD_TYPE_DYNAMIC, 4 * MIB, 0, NULL);
	assert_int_equal(try_open(disk_tmp_path("c/child.vhd"), err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "parent unique id at offset 552"));
	assert_non_null(strstr(err, "c/base.vhd has id"));
}

/* ---- commit and compact ----------------------------------------------- */

static void test_commit(void **state)
{
	const uint64_t size = 10 * MIB;
	const char *base = disk_tmp_path("mbase.vhd"), *child = disk_tmp_path("mchild.vhd");
	uint8_t *model = calloc(1, size);
	create(base, VHD_TYPE_DYNAMIC, size, 0, NULL);
	struct blk *b = open_blk(base, false);
	random_writes(b, model, size, 40, 20);
	blk_close(b);
	create(child, VHD_TYPE_DIFF, 0, 0, base);
	b = open_blk(child, false);
	random_writes(b, model, size, 40, 21);
	blk_close(b);
	char err[1024];
	assert_int_equal(vhd_commit(child, NULL, NULL, NULL, err, sizeof(err)), 0);
	b = open_blk(base, true);
	expect_content(b, model, size);
	blk_close(b);
	b = open_blk(child, true);                /* the child still reads the same */
	expect_content(b, model, size);
	blk_close(b);
	expect_check_clean(base);
	assert_int_equal(vhd_commit(base, NULL, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no parent"));
	free(model);
}

static void test_compact(void **state)
{
	const uint64_t size = 16 * MIB;
	const char *p = disk_tmp_path("compact.vhd");
	uint8_t *model = calloc(1, size);
	create(p, VHD_TYPE_DYNAMIC, size, 0, NULL);
	struct blk *b = open_blk(p, false);
	uint8_t *zero = calloc(1, 2 * MIB), data[4096];
	disk_tmp_pattern(data, sizeof(data), 5);
	for (uint64_t blk = 0; blk < 8; blk++) {
		if (blk % 2)
			assert_int_equal(blk_pwrite(b, blk * 2 * MIB, zero, 2 * MIB), 0);
		else
			assert_int_equal(blk_pwrite(b, blk * 2 * MIB + 8192, data, 4096), 0);
		if (!(blk % 2))
			memcpy(model + blk * 2 * MIB + 8192, data, 4096);
	}
	blk_close(b);
	uint8_t uuid[512];
	disk_tmp_read(p, 0, uuid, 512);
	char err[1024];
	uint64_t freed = 0;
	assert_int_equal(vhd_compact(p, NULL, NULL, &freed, err, sizeof(err)), 0);
	assert_true(freed >= 4 * 2 * MIB);
	uint8_t after[512];
	disk_tmp_read(p, 0, after, 512);
	assert_memory_equal(uuid, after, 512);    /* same footer: same unique id */
	struct vhd_open_opts o = { .read_only = true };
	struct vhd *v;
	assert_int_equal(vhd_open(p, &o, &v, err, sizeof(err)), 0);
	assert_int_equal(v->allocated, 4);
	vhd_close(v);
	b = open_blk(p, true);
	expect_content(b, model, size);
	blk_close(b);
	expect_check_clean(p);
	free(zero);
	free(model);
}

/* ---- damaged and hostile files ---------------------------------------- */

/* A small dynamic disk with blocks 0..2 allocated; returns its path. */
static const char *victim(void)
{
	const char *p = disk_tmp_path("victim.vhd");
	create(p, VHD_TYPE_DYNAMIC, 8 * MIB, 0, NULL);
	struct blk *b = open_blk(p, false);
	uint8_t buf[4096];
	disk_tmp_pattern(buf, sizeof(buf), 9);
	for (int i = 0; i < 3; i++)
		assert_int_equal(blk_pwrite(b, (uint64_t)i * 2 * MIB, buf, sizeof(buf)), 0);
	blk_close(b);
	return p;
}

static void put32(const char *p, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	vhd_put_be32(b, v);
	disk_tmp_patch(p, off, b, 4);
}

static void put64(const char *p, uint64_t off, uint64_t v)
{
	put32(p, off, (uint32_t)(v >> 32));
	put32(p, off + 4, (uint32_t)v);
}

/* Recompute the header checksum (offset 512) after patching it. */
static void fix_header(const char *p)
{
	uint8_t h[1024];
	disk_tmp_read(p, 512, h, sizeof(h));
	put32(p, 512 + VHD_H_CHECKSUM, vhd_checksum(h, sizeof(h), VHD_H_CHECKSUM));
}

/* Patch both footers' field and fix both checksums. */
static void patch_footers(const char *p, unsigned field, const void *bytes, size_t len)
{
	uint64_t offs[2] = { 0, disk_tmp_file_size(p) - 512 };
	for (int i = 0; i < 2; i++) {
		uint8_t f[512];
		disk_tmp_patch(p, offs[i] + field, bytes, len);
		disk_tmp_read(p, offs[i], f, 512);
		put32(p, offs[i] + VHD_F_CHECKSUM, vhd_checksum(f, 512, VHD_F_CHECKSUM));
	}
}

static void expect_refused(const char *p, const char *needle1, const char *needle2)
{
	char err[1024];
	struct blk_opts o = { .read_only = false, .format = "vhd" };
	struct blk *b;
	int rc = blk_open(p, &o, &b, err, sizeof(err));
	if (!rc) {
		blk_close(b);
		fail_msg("%s was accepted; wanted \"%s\"", p, needle1);
	}
	if (!strstr(err, p) || !strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err, needle1,
			 needle2 ? needle2 : "");
	/* The checker names the same problem. */
	struct vhd_report r = { 0 };
	assert_true(vhd_check(p, &r) > 0);
}

static void test_hostile_footer(void **state)
{
	const char *p = victim();
	uint64_t eof = disk_tmp_file_size(p);
	char at[64];
	put32(p, eof - 512 + VHD_F_CHECKSUM, 0x12345678);
	put32(p, VHD_F_CHECKSUM, 0x12345678);
	snprintf(at, sizeof(at), "footer checksum at offset %llu",
		 (unsigned long long)(eof - 512 + VHD_F_CHECKSUM));
	expect_refused(p, at, "is 0x12345678");

	p = victim();
	put32(p, eof - 512 + VHD_F_CHECKSUM, 0x12345678);   /* only the end: copy used */
	char err[1024];
	struct blk_opts ro = { .read_only = true };
	struct blk *b;
	assert_int_equal(blk_open(p, &ro, &b, err, sizeof(err)), 0);
	blk_close(b);
	struct vhd_report r = { 0 };
	assert_int_equal(vhd_check(p, &r), 1);              /* libvhdi needs that footer */
	b = open_blk(p, false);                             /* a writable open repairs it */
	blk_close(b);
	expect_check_clean(p);

	p = victim();
	patch_footers(p, VHD_F_TYPE, "\0\0\0\x05", 4);
	snprintf(at, sizeof(at), "footer disk type at offset %llu",
		 (unsigned long long)(eof - 512 + VHD_F_TYPE));
	expect_refused(p, at, "type 5");

	p = victim();
	uint8_t big[8];
	vhd_put_be32(big, (uint32_t)((VHD_MAX_SIZE + MIB) >> 32));
	vhd_put_be32(big + 4, (uint32_t)(VHD_MAX_SIZE + MIB));
	patch_footers(p, VHD_F_CUR_SIZE, big, 8);
	expect_refused(p, "footer current size at offset", "2040 GiB");

	p = victim();
	uint8_t off[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };       /* header at 16 GiB */
	patch_footers(p, VHD_F_DATA_OFFSET, off, 8);
	expect_refused(p, "footer data offset at offset", "does not fit");

	p = victim();
	disk_tmp_patch(p, 0, "garbage!", 8);
	disk_tmp_patch(p, eof - 512, "garbage!", 8);
	expect_refused(p, "footer cookie at offset", "conectix");
}

static void test_hostile_truncated(void **state)
{
	const char *p = victim();
	assert_int_equal(truncate(p, 300), 0);
	expect_refused(p, "file size at offset 0", "too small");

	p = victim();
	assert_int_equal(truncate(p, (off_t)(3 * MIB)), 0);  /* blocks cut off, copy at 0 */
	expect_refused(p, "BAT entry 1 at offset 1540", "past the footer");

	/* A fixed disk whose footer claims more data than the file holds. */
	p = disk_tmp_path("fixed.vhd");
	create(p, VHD_TYPE_FIXED, 2 * MIB, 0, NULL);
	uint8_t f[512];
	disk_tmp_read(p, 2 * MIB, f, 512);
	put64(p, 2 * MIB + VHD_F_CUR_SIZE, 4 * MIB);
	disk_tmp_read(p, 2 * MIB, f, 512);
	put32(p, 2 * MIB + VHD_F_CHECKSUM, vhd_checksum(f, 512, VHD_F_CHECKSUM));
	char at[64];
	snprintf(at, sizeof(at), "footer current size at offset %llu",
		 (unsigned long long)(2 * MIB + VHD_F_CUR_SIZE));
	expect_refused(p, at, "truncated");
}

static void test_hostile_header_and_bat(void **state)
{
	/* Header fields patched (checksum fixed unless it is the field). */
	static const struct {
		unsigned field, bytes;
		uint64_t value;
		const char *where, *what;
	} cases[] = {
		{ VHD_H_CHECKSUM, 4, 0xdeadbeef, "dynamic header checksum at offset 548", "0xdeadbeef" },
		{ VHD_H_BLOCK_SIZE, 4, 3 << 20, "dynamic header block size at offset 544", "power" },
		{ VHD_H_BLOCK_SIZE, 4, 1u << 30, "dynamic header block size at offset 544", "256 MiB" },
		{ VHD_H_MAX_ENTRIES, 4, 1u << 30, "max table entries at offset 540", "more than" },
		{ VHD_H_MAX_ENTRIES, 4, 1, "max table entries at offset 540", "less than" },
		{ VHD_H_TABLE_OFFSET, 8, 1ULL << 40, "table offset at offset 528", "does not end" },
	};
	const char *p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = victim();
		if (cases[i].bytes == 8)
			put64(p, 512 + cases[i].field, cases[i].value);
		else
			put32(p, 512 + cases[i].field, (uint32_t)cases[i].value);
		if (cases[i].field != VHD_H_CHECKSUM)
			fix_header(p);
		expect_refused(p, cases[i].where, cases[i].what);
	}

	p = victim();
	put32(p, 1536 + 4 * 1, 0x7fffffff);                 /* BAT entry past the end */
	expect_refused(p, "BAT entry 1 at offset 1540", "past the footer");

	p = victim();
	uint8_t e0[4];
	disk_tmp_read(p, 1536, e0, 4);
	disk_tmp_patch(p, 1536 + 4 * 2, e0, 4);             /* duplicate of entry 0 */
	expect_refused(p, "BAT entry 2 at offset 1544", "is also the block of BAT entry 0");

	p = victim();
	put32(p, 1536 + 4 * 2, vhd_be32(e0) + 8);           /* overlaps block 0 */
	expect_refused(p, "BAT entry 2 at offset 1544", "overlaps the block of BAT entry 0");

	p = victim();
	put32(p, 1536 + 4 * 1, 2);                          /* on top of the header */
	expect_refused(p, "BAT entry 1 at offset 1540", "overlaps the dynamic header");
}

static void test_hostile_parent(void **state)
{
	const char *base = disk_tmp_path("pbase.vhd"), *child = disk_tmp_path("pchild.vhd");
	create(base, VHD_TYPE_DYNAMIC, 4 * MIB, 0, NULL);
	create(child, VHD_TYPE_DIFF, 0, 0, base);
	unlink(base);
	expect_refused(child, "parent name and locators at offset 576", "\"pbase.vhd\" was not found");
	create(base, VHD_TYPE_DYNAMIC, 4 * MIB, 0, NULL);    /* same name, another disk */
	expect_refused(child, "parent unique id at offset 552", "has id");
	/* A locator whose path lies outside the file. */
	create(base, VHD_TYPE_DYNAMIC, 4 * MIB, 0, NULL);
	create(child, VHD_TYPE_DIFF, 0, 0, base);
	put64(child, 512 + VHD_H_LOCATORS + 16, 1ULL << 40);
	fix_header(child);
	expect_refused(child, "parent locator 0 at offset 1104", "not inside the file");
	/* A child that is its own parent (locators pointing at itself). */
	create(child, VHD_TYPE_DIFF, 0, 0, base);
	uint8_t f[512];
	disk_tmp_read(child, 0, f, 512);
	disk_tmp_patch(child, 512 + VHD_H_PARENT_UUID, f + VHD_F_UUID, 16);
	fix_header(child);
	unlink(base);
	expect_refused(child, "parent name and locators at offset 576", "was not found");
}

static void test_old_511_byte_footer(void **state)
{
	const char *p = disk_tmp_path("short.vhd");
	create(p, VHD_TYPE_FIXED, MIB, 0, NULL);
	struct blk *b = open_blk(p, false);
	uint8_t buf[4096];
	disk_tmp_pattern(buf, sizeof(buf), 77);
	assert_int_equal(blk_pwrite(b, 8192, buf, sizeof(buf)), 0);
	blk_close(b);
	assert_int_equal(truncate(p, (off_t)(MIB + 511)), 0);  /* pre-VPC 2004 layout */
	b = open_blk(p, true);
	uint8_t got[4096];
	assert_int_equal(blk_size(b), MIB);
	assert_int_equal(blk_pread(b, 8192, got, sizeof(got)), 0);
	assert_memory_equal(got, buf, sizeof(got));
	blk_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_hyperv_style),
		cmocka_unit_test(test_size_rule_by_creator),
		cmocka_unit_test(test_dynamic_roundtrip),
		cmocka_unit_test(test_fixed_roundtrip),
		cmocka_unit_test(test_differencing_chain),
		cmocka_unit_test(test_bitmap_cache_eviction),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_parent_lookup),
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_hostile_footer),
		cmocka_unit_test(test_hostile_truncated),
		cmocka_unit_test(test_hostile_header_and_bat),
		cmocka_unit_test(test_hostile_parent),
		cmocka_unit_test(test_old_511_byte_footer),
	};
	return cmocka_run_group_tests(tests, disk_tmp_group_setup, disk_tmp_group_teardown);
}
