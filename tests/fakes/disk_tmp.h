/*
 * disk_tmp: scratch folders and small file helpers for the disk tests.
 * Everything lives under one mkdtemp folder that disk_tmp_cleanup removes.
 */
#ifndef LODGE_TESTS_DISK_TMP_H
#define LODGE_TESTS_DISK_TMP_H

#include <stddef.h>
#include <stdint.h>

/* A fresh folder under $TMPDIR (or /tmp); aborts on failure. */
const char *disk_tmp_dir(void);
/* dir/name in a static rotating buffer (8 slots). */
const char *disk_tmp_path(const char *name);
void disk_tmp_cleanup(void);
/* cmocka group setup/teardown: make the folder, remove it. */
int disk_tmp_group_setup(void **state);
int disk_tmp_group_teardown(void **state);
/* Deterministic bytes for (seed): splitmix64 stream. */
void disk_tmp_pattern(uint8_t *buf, size_t len, uint64_t seed);
uint64_t disk_tmp_rand(uint64_t *state);
/* Patch len bytes of a file at off. */
void disk_tmp_patch(const char *path, uint64_t off, const void *bytes, size_t len);
void disk_tmp_read(const char *path, uint64_t off, void *bytes, size_t len);
uint64_t disk_tmp_file_size(const char *path);
/* 64-bit FNV-1a of a whole file: "did the base disk change?" */
uint64_t disk_tmp_file_hash(const char *path);

#endif
