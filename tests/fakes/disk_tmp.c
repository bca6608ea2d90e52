/*
 * disk_tmp: scratch files for the disk tests (see disk_tmp.h).
 */
#include "disk_tmp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[256];
static char tmp_paths[8][512];
static unsigned tmp_next;

const char *disk_tmp_dir(void)
{
	if (tmp_dir[0])
		return tmp_dir;
	const char *base = getenv("TMPDIR");
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/lodge-disk-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		abort();
	}
	return tmp_dir;
}

const char *disk_tmp_path(const char *name)
{
	char *p = tmp_paths[tmp_next++ % 8];
	snprintf(p, 512, "%s/%s", disk_tmp_dir(), name);
	return p;
}

void disk_tmp_cleanup(void)
{
	if (!tmp_dir[0])
		return;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp_dir);
	tmp_dir[0] = 0;
}

int disk_tmp_group_setup(void **state)
{
	disk_tmp_dir();
	return 0;
}

int disk_tmp_group_teardown(void **state)
{
	disk_tmp_cleanup();
	return 0;
}

uint64_t disk_tmp_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void disk_tmp_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = disk_tmp_rand(&seed);
		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

void disk_tmp_patch(const char *path, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, bytes, len, (off_t)off) != (ssize_t)len) {
		perror(path);
		abort();
	}
	close(fd);
}

void disk_tmp_read(const char *path, uint64_t off, void *bytes, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, bytes, len, (off_t)off) != (ssize_t)len) {
		perror(path);
		abort();
	}
	close(fd);
}

uint64_t disk_tmp_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

uint64_t disk_tmp_file_hash(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	uint64_t h = 0xcbf29ce484222325ULL;
	static uint8_t buf[1 << 16];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	close(fd);
	return h;
}
