/*
 * disk_tool: a test helper that reads and writes images through Lodge's block
 * layer, so shell tests can compare Lodge with qemu-img and libvhdi.
 *
 *   disk_tool mirror IMG REF COUNT SEED ALIGN   COUNT random writes (ALIGN-byte
 *                                               granular, max 512 KiB) to IMG
 *                                               through blk and to the raw REF
 *   disk_tool dump IMG OUT                      IMG's guest view into raw OUT
 *   disk_tool write IMG OFFSET LEN SEED         one patterned write (SEED 0: zeros)
 *
 * Exit 0 on success, 1 with a message on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/blk.h"

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix(&seed);
		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

static struct blk *open_img(const char *path, bool ro)
{
	char err[1024];
	struct blk_opts o = { .read_only = ro };
	struct blk *b;
	if (blk_open(path, &o, &b, err, sizeof(err))) {
		fprintf(stderr, "disk_tool: %s\n", err);
		exit(1);
	}
	return b;
}

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "disk_tool: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
}

static int cmd_mirror(char **a)
{
	struct blk *b = open_img(a[0], false);
	int ref = open(a[1], O_RDWR);
	if (ref < 0) {
		perror(a[1]);
		return 1;
	}
	long count = strtol(a[2], NULL, 0);
	uint64_t seed = strtoull(a[3], NULL, 0);
	uint64_t align = strtoull(a[4], NULL, 0);
	uint64_t size = blk_size(b);
	uint8_t *buf = malloc(512 << 10);
	for (long i = 0; i < count; i++) {
		uint64_t units = size / align;
		uint64_t off = splitmix(&seed) % units * align;
		uint64_t len = (splitmix(&seed) % ((512 << 10) / align) + 1) * align;
		if (len > size - off)
			len = size - off;
		pattern(buf, len, splitmix(&seed));
		check(blk_pwrite(b, off, buf, len), "write");
		if (pwrite(ref, buf, len, (off_t)off) != (ssize_t)len) {
			perror("reference");
			return 1;
		}
		if (i % 16 == 15)
			check(blk_flush(b), "flush");
	}
	blk_close(b);
	close(ref);
	free(buf);
	return 0;
}

static int cmd_dump(char **a)
{
	struct blk *b = open_img(a[0], true);
	int out = open(a[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		perror(a[1]);
		return 1;
	}
	uint64_t size = blk_size(b);
	uint8_t *buf = malloc(1 << 20);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		size_t n = size - off < (1 << 20) ? (size_t)(size - off) : (1 << 20);
		check(blk_pread(b, off, buf, n), "read");
		if (write(out, buf, n) != (ssize_t)n) {
			perror(a[1]);
			return 1;
		}
	}
	blk_close(b);
	close(out);
	free(buf);
	return 0;
}

static int cmd_write(char **a)
{
	struct blk *b = open_img(a[0], false);
	uint64_t off = strtoull(a[1], NULL, 0), len = strtoull(a[2], NULL, 0);
	uint8_t *buf = calloc(1, len);
	uint64_t seed = strtoull(a[3], NULL, 0);
	if (seed)
		pattern(buf, len, seed);
	check(blk_pwrite(b, off, buf, len), "write");
	check(blk_flush(b), "flush");
	blk_close(b);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "mirror"))
		return cmd_mirror(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "write"))
		return cmd_write(argv + 2);
	fprintf(stderr, "usage: disk_tool mirror IMG REF COUNT SEED ALIGN | dump IMG OUT | "
		"write IMG OFFSET LEN SEED\n");
	return 2;
}
