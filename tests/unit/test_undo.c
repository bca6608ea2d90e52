/*
 * Unit tests for undo disks (undo.c) and the drives that use them
 * (drives.c): commit, discard and keep, verified by the base disk's file
 * hash and by the guest's view through the block layer; an interrupted
 * commit finished at the next power-on; a SIGKILL during a session leaves
 * the base untouched and the undo disk usable; the power-off decision
 * (--on-exit, no terminal, VM never started, nothing changed).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/blk.h"
#include "disk/drives.h"
#include "disk/undo.h"
#include "disk/vhd.h"
#include "disk_tmp.h"
#include "machine.h"

#define SIZE (8ULL << 20)

static uint8_t model0[SIZE], model1[SIZE];

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void writes(struct blk *b, uint8_t *model, int n, uint64_t seed)
{
	uint8_t buf[64 << 10];
	for (int i = 0; i < n; i++) {
		uint64_t off = disk_tmp_rand(&seed) % (SIZE / 512) * 512;
		uint64_t len = (disk_tmp_rand(&seed) % 128 + 1) * 512;
		if (len > SIZE - off)
			len = SIZE - off;
		disk_tmp_pattern(buf, len, disk_tmp_rand(&seed));
		assert_int_equal(blk_pwrite(b, off, buf, len), 0);
		memcpy(model + off, buf, len);
	}
	assert_int_equal(blk_flush(b), 0);
}

static void expect_view(const char *path, const char *parent, const uint8_t *model)
{
	char err[1024];
	struct blk_opts o = { .read_only = true, .parent = parent };
	struct blk *b;
	if (blk_open(path, &o, &b, err, sizeof(err)))
		fail_msg("%s", err);
	static uint8_t got[SIZE];
	assert_int_equal(blk_pread(b, 0, got, SIZE), 0);
	blk_close(b);
	assert_memory_equal(got, model, SIZE);
}

/* A base disk holding model0; returns its path. */
static const char *make_base(const char *name)
{
	const char *p = disk_tmp_path(name);
	char err[1024];
	unlink(p);
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC, .size = SIZE };
	assert_int_equal(vhd_create(p, &o, err, sizeof(err)), 0);
	struct blk *b;
	assert_int_equal(blk_open(p, NULL, &b, err, sizeof(err)), 0);
	memset(model0, 0, SIZE);
	writes(b, model0, 30, 100);
	blk_close(b);
	return p;
}

/* One powered-on session: begin, write through the undo disk, close. */
static void session(const char *base, char *vud, bool expect_created, uint8_t *model,
		    uint64_t seed)
{
	char err[1024];
	bool created;
	if (undo_begin(base, vud, 4096, &created, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(created, expect_created);
	struct blk_opts o = { .parent = base };
	struct blk *b;
	if (blk_open(vud, &o, &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(blk_is_read_only(b) == false);
	writes(b, model, 40, seed);
	blk_close(b);
}

static void test_undo_path(void **state)
{
	char out[256];
	assert_int_equal(undo_path("dir/win98.vhd", out, sizeof(out)), 0);
	assert_string_equal(out, "dir/win98.vud");
	assert_int_equal(undo_path("dir.d/disk", out, sizeof(out)), 0);
	assert_string_equal(out, "dir.d/disk.vud");
	assert_int_equal(undo_path("a.b.vhd", out, sizeof(out)), 0);
	assert_string_equal(out, "a.b.vud");
	assert_int_equal(undo_path("x.vhd", out, 4), -ENAMETOOLONG);
}

static void test_commit_discard_keep(void **state)
{
	char vud[4096], err[1024];
	const char *base = make_base("cdk.vhd");
	uint64_t h0 = disk_tmp_file_hash(base);

	/* Discard: the base is untouched, its view is model0. */
	memcpy(model1, model0, SIZE);
	session(base, vud, true, model1, 1);
	assert_true(disk_tmp_file_hash(base) == h0);
	expect_view(vud, base, model1);
	assert_int_equal(undo_discard(vud, err, sizeof(err)), 0);
	assert_false(exists(vud));
	assert_true(disk_tmp_file_hash(base) == h0);
	expect_view(base, NULL, model0);

	/* Keep: the next session continues the same undo disk. */
	memcpy(model1, model0, SIZE);
	session(base, vud, true, model1, 2);
	assert_true(exists(vud));
	assert_true(disk_tmp_file_hash(base) == h0);
	session(base, vud, false, model1, 3);
	expect_view(vud, base, model1);
	assert_true(disk_tmp_file_hash(base) == h0);

	/* Commit: the base now holds the guest's view, the undo disk is gone. */
	assert_int_equal(undo_commit(base, vud, NULL, err, sizeof(err)), 0);
	assert_false(exists(vud));
	assert_true(disk_tmp_file_hash(base) != h0);
	expect_view(base, NULL, model1);
	struct vhd_report r = { 0 };
	assert_int_equal(vhd_check(base, &r), 0);
}

static void test_interrupted_commit_finishes(void **state)
{
	char vud[4096], marker[4200];
	const char *base = make_base("int.vhd");
	memcpy(model1, model0, SIZE);
	session(base, vud, true, model1, 4);
	/* As if the power went out during the commit: the marker is there. */
	snprintf(marker, sizeof(marker), "%s.commit", vud);
	int fd = open(marker, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	char err[1024];
	bool created;
	assert_int_equal(undo_begin(base, vud, sizeof(vud), &created, err, sizeof(err)), 0);
	assert_true(created);                     /* a fresh undo disk after the commit */
	assert_false(exists(marker));
	expect_view(base, NULL, model1);
	expect_view(vud, base, model1);
	assert_int_equal(undo_discard(vud, err, sizeof(err)), 0);
}

static void test_undo_refusals(void **state)
{
	char vud[4096], err[1024];
	bool created;
	const char *raw = disk_tmp_path("plain.img");
	FILE *f = fopen(raw, "w");
	assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
	fclose(f);
	assert_int_equal(undo_begin(raw, vud, sizeof(vud), &created, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "undo disks need a VHD disk"));
	assert_non_null(strstr(err, raw));
	/* A kept undo disk from another disk of the same name. */
	const char *base = make_base("other.vhd");
	memcpy(model1, model0, SIZE);
	session(base, vud, true, model1, 5);
	unlink(base);
	make_base("other.vhd");
	assert_int_equal(undo_begin(base, vud, sizeof(vud), &created, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "belongs to another disk"));
	assert_non_null(strstr(err, "other.vud"));
	unlink(vud);
}

static void print_problem(void *ctx, enum vhd_severity sev, const char *msg)
{
	fprintf(stderr, "%s: %s\n", sev == VHD_ERROR ? "error" : "warning", msg);
}

/* A writer killed at random moments: the base never changes, the undo disk
 * always passes the checker and can be continued. */
static void test_sigkill_during_session(void **state)
{
	char vud[4096], err[1024];
	const char *base = make_base("kill.vhd");
	uint64_t h0 = disk_tmp_file_hash(base);
	uint64_t seed = 42;
	assert_int_equal(undo_path(base, vud, sizeof(vud)), 0);
	for (int round = 0; round < 6; round++) {
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			bool created;
			struct blk *b;
			if (undo_begin(base, vud, sizeof(vud), &created, err, sizeof(err)))
				_exit(3);
			struct blk_opts o = { .parent = base };
			if (blk_open(vud, &o, &b, err, sizeof(err)))
				_exit(4);
			if (write(pfd[1], "r", 1) != 1)
				_exit(5);
			uint8_t buf[32 << 10];
			for (uint64_t s = round * 1000ULL;; s++) {
				uint64_t st = s;
				uint64_t off = disk_tmp_rand(&st) % (SIZE / 512) * 512;
				size_t len = sizeof(buf) < SIZE - off ? sizeof(buf) : SIZE - off;
				disk_tmp_pattern(buf, len, s);
				blk_pwrite(b, off, buf, len);
				if (s % 7 == 0)
					blk_flush(b);
			}
		}
		close(pfd[1]);
		char c;
		assert_int_equal(read(pfd[0], &c, 1), 1);
		close(pfd[0]);
		usleep((useconds_t)(disk_tmp_rand(&seed) % 40000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		assert_true(disk_tmp_file_hash(base) == h0);
		struct vhd_report r = { .fn = print_problem };
		assert_int_equal(vhd_check(vud, &r), 0);
		expect_view(base, NULL, model0);
	}
	bool created;
	assert_int_equal(undo_begin(base, vud, sizeof(vud), &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_int_equal(undo_discard(vud, err, sizeof(err)), 0);
	assert_true(disk_tmp_file_hash(base) == h0);
}

/* ---- drives: the power-on / power-off decisions ------------------------ */

struct vm {
	struct config cfg;
	struct machine m;
};

static void vm_power_on(struct vm *vm, const char *base, enum config_on_exit on_exit)
{
	memset(vm, 0, sizeof(*vm));
	config_init(&vm->cfg);
	vm->cfg.drive[0].file.path = strdup(base);
	snprintf(vm->cfg.drive[0].file.origin, sizeof(vm->cfg.drive[0].file.origin), "test.lodge:3");
	vm->cfg.drive[0].undo = true;
	vm->cfg.on_exit = on_exit;
	vm->m.cfg = &vm->cfg;
	assert_int_equal(drives_open(&vm->m), 0);
	assert_non_null(vm->m.drive[0]);
	assert_string_equal(blk_format_name(vm->m.drive[0]), "vhd-differencing");
	vm->m.started = true;
}

static void vm_power_off(struct vm *vm)
{
	drives_close(&vm->m);
	config_free(&vm->cfg);
}

static void guest_writes(struct vm *vm, uint8_t *model, uint64_t seed)
{
	writes(vm->m.drive[0], model, 20, seed);
}

static void test_drives_power_off(void **state)
{
	const char *base = make_base("vm.vhd");
	char vud[4096];
	undo_path(base, vud, sizeof(vud));
	uint64_t h0 = disk_tmp_file_hash(base);
	struct vm vm;
	/* stdin is not a terminal here: asking means keep. */
	int saved = dup(0), devnull = open("/dev/null", O_RDONLY);
	dup2(devnull, 0);
	memcpy(model1, model0, SIZE);
	vm_power_on(&vm, base, ON_EXIT_ASK);
	guest_writes(&vm, model1, 7);
	vm_power_off(&vm);
	assert_true(exists(vud));
	assert_true(disk_tmp_file_hash(base) == h0);
	/* The VM never started: nothing is decided, the kept disk stays. */
	vm_power_on(&vm, base, ON_EXIT_COMMIT);
	vm.m.started = false;
	vm_power_off(&vm);
	assert_true(exists(vud));
	assert_true(disk_tmp_file_hash(base) == h0);
	/* Discard. */
	vm_power_on(&vm, base, ON_EXIT_DISCARD);
	guest_writes(&vm, model1, 8);
	vm_power_off(&vm);
	assert_false(exists(vud));
	assert_true(disk_tmp_file_hash(base) == h0);
	/* Nothing written: the empty undo disk is removed without asking. */
	vm_power_on(&vm, base, ON_EXIT_KEEP);
	vm_power_off(&vm);
	assert_false(exists(vud));
	/* Commit. */
	memcpy(model1, model0, SIZE);
	vm_power_on(&vm, base, ON_EXIT_COMMIT);
	guest_writes(&vm, model1, 9);
	vm_power_off(&vm);
	assert_false(exists(vud));
	expect_view(base, NULL, model1);
	dup2(saved, 0);
	close(saved);
	close(devnull);
}

static void test_drives_bad_file(void **state)
{
	struct vm vm;
	memset(&vm, 0, sizeof(vm));
	config_init(&vm.cfg);
	const char *p = disk_tmp_path("broken.vhd");
	vm.cfg.drive[1].file.path = strdup(p);
	vm.m.cfg = &vm.cfg;
	/* A VHD whose dynamic header checksum is wrong. */
	unlink(p);
	char err[1024];
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC, .size = SIZE };
	assert_int_equal(vhd_create(p, &o, err, sizeof(err)), 0);
	disk_tmp_patch(p, 512 + VHD_H_CHECKSUM, "\1\2\3\4", 4);
	assert_int_equal(drives_open(&vm.m), -EINVAL);   /* machine_create: exit status 2 */
	vm_power_off(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_undo_path),
		cmocka_unit_test(test_commit_discard_keep),
		cmocka_unit_test(test_interrupted_commit_finishes),
		cmocka_unit_test(test_undo_refusals),
		cmocka_unit_test(test_sigkill_during_session),
		cmocka_unit_test(test_drives_power_off),
		cmocka_unit_test(test_drives_bad_file),
	};
	return cmocka_run_group_tests(tests, disk_tmp_group_setup, disk_tmp_group_teardown);
}
