/*
 * Unit tests for config: VM files (good ones, unknown keys and sections with
 * file:line, bad values, paths resolved against the file's folder), flags
 * overriding the file, missing files and cross-field checks reported as one
 * sentence naming where, sizes, and --type-at's MARKER:TEXT escapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

struct fixture {
	char dir[64];
	char path[128];
	struct config cfg;
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lodge-test-config-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/demo.lodge", f->dir);
	config_init(&f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A file that must be rejected: the error starts with file:line and is one
 * line that contains `what`. */
static void expect_file_error(struct fixture *f, const char *text, int line, const char *what)
{
	char where[160];
	write_file(f->path, text);
	config_free(&f->cfg);
	config_init(&f->cfg);
	assert_int_equal(config_load_file(&f->cfg, f->path, f->err, sizeof(f->err)), -1);
	snprintf(where, sizeof(where), "%s:%d: ", f->path, line);
	if (strncmp(f->err, where, strlen(where)) || !strstr(f->err, what) || strchr(f->err, '\n'))
		fail_msg("got \"%s\", want \"%s...%s\"", f->err, where, what);
}

static int run_args(struct fixture *f, int argc, const char **args)
{
	char *argv[16];
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	return config_parse_run(&f->cfg, argc, argv, f->err, sizeof(f->err));
}

static void test_good_file(void **state)
{
	struct fixture *f = *state;
	char want[256];
	write_file(f->path,
		   "; a comment\n"
		   "[machine]\n"
		   "memory = 1G\n"
		   "cpus = 2\n"
		   "accel = emu\n"
		   "[boot]\n"
		   "kernel = vmlinuz\n"
		   "initrd = sub/initrd.img\n"
		   "append = console=ttyS0 quiet\n"
		   "[serial1]\n"
		   "mode = file:log/com2.txt\n"
		   "[input]\n"
		   "type-at = login\\: :root\\n\n");
	assert_int_equal(config_load_file(&f->cfg, f->path, f->err, sizeof(f->err)), 0);
	assert_true(f->cfg.mem_bytes == 1ULL << 30);
	assert_int_equal(f->cfg.cpus, 2);
	assert_int_equal(f->cfg.accel, ACCEL_EMU);
	assert_string_equal(f->cfg.name, "demo");       /* from the file name */
	/* Relative paths resolve against the file's folder, not the cwd. */
	snprintf(want, sizeof(want), "%s/vmlinuz", f->dir);
	assert_string_equal(f->cfg.kernel.path, want);
	snprintf(want, sizeof(want), "%s/sub/initrd.img", f->dir);
	assert_string_equal(f->cfg.initrd.path, want);
	snprintf(want, sizeof(want), "%s:7", f->path);
	assert_string_equal(f->cfg.kernel.origin, want);
	assert_string_equal(f->cfg.append, "console=ttyS0 quiet");
	assert_int_equal(f->cfg.serial[1].mode, SERIAL_FILE);
	snprintf(want, sizeof(want), "%s/log/com2.txt", f->dir);
	assert_string_equal(f->cfg.serial[1].file.path, want);
	assert_int_equal(f->cfg.serial[0].mode, SERIAL_STDIO);  /* default */
	assert_int_equal(f->cfg.ntype_at, 1);
	assert_string_equal(f->cfg.type_at[0].marker, "login: ");
	assert_string_equal(f->cfg.type_at[0].text, "root\n");
}

static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	expect_file_error(f, "[machine]\ncolour = red\n", 2,
			  "unknown key 'colour' in section [machine]");
	expect_file_error(f, "[machine]\ncpus = 1\n[display]\nsize = 2\n", 4,
			  "unknown section [display]");
	expect_file_error(f, "[serial7]\nmode = stdio\n", 2, "unknown section [serial7]");
	expect_file_error(f, "[machine]\nmemory = lots\n", 2, "not a size like 512M");
	expect_file_error(f, "[machine]\nmemory = 8M\n", 2, "outside 16M..1T");
	expect_file_error(f, "[machine]\nmemory = 16385K\n", 2, "not a whole number of MiB");
	expect_file_error(f, "\n\n[machine]\ncpus = 0\n", 4, "not a number from 1 to 64");
	expect_file_error(f, "[machine]\ncpus = 2x\n", 2, "not a number from 1 to 64");
	expect_file_error(f, "[machine]\naccel = fast\n", 2, "not one of auto, kvm, emu");
	expect_file_error(f, "[machine]\nheadless = maybe\n", 2, "not true or false");
	expect_file_error(f, "[serial0]\nmode = tcp:4444\n", 2, "not stdio, none or file:PATH");
	expect_file_error(f, "[machine]\nthis is not ini\n", 2, "not 'key = value'");
	expect_file_error(f, "[input]\ntype-at = no colon here\n", 2, "is not MARKER:TEXT");
}

static void test_missing_vm_file(void **state)
{
	struct fixture *f = *state;
	const char *args[] = { "run", "/nonexistent/dir/vm.lodge" };
	assert_int_equal(run_args(f, 2, args), -1);
	assert_string_equal(f->err, "/nonexistent/dir/vm.lodge: cannot open the VM file: "
			    "No such file or directory");
}

static void test_flags_override_file(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "[machine]\nmemory = 1G\ncpus = 2\nname = fromfile\n"
			    "[boot]\nkernel = vmlinuz\n");
	const char *args[] = { "run", "--mem", "2G", f->path, "--cpus=4", "--kernel", "rel/bz" };
	assert_int_equal(run_args(f, 7, args), 0);
	assert_true(f->cfg.mem_bytes == 2ULL << 30);
	assert_int_equal(f->cfg.cpus, 4);
	assert_string_equal(f->cfg.name, "fromfile");
	/* A path from the command line is relative to the working folder. */
	assert_string_equal(f->cfg.kernel.path, "rel/bz");
	assert_string_equal(f->cfg.kernel.origin, "--kernel");
}

static void test_bad_flags(void **state)
{
	struct fixture *f = *state;
	const char *a1[] = { "run", "--colour" };
	assert_int_equal(run_args(f, 2, a1), -1);
	assert_string_equal(f->err, "--colour: unknown option (see lodge run --help)");
	const char *a2[] = { "run", "--mem" };
	assert_int_equal(run_args(f, 2, a2), -1);
	assert_string_equal(f->err, "--mem: this option needs a value");
	const char *a3[] = { "run", "--cpus", "65" };
	assert_int_equal(run_args(f, 3, a3), -1);
	assert_string_equal(f->err, "--cpus: cpu count '65' is not a number from 1 to 64");
	const char *a4[] = { "run", "a.lodge", "b.lodge" };
	assert_int_equal(run_args(f, 3, a4), -1);
	assert_non_null(strstr(f->err, "only one VM file"));
	const char *a5[] = { "run", "--serial", "9=stdio" };
	assert_int_equal(run_args(f, 3, a5), -1);
	assert_string_equal(f->err, "--serial: serial port 9 does not exist (0-3)");
}

static void test_validate_missing_files(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "[boot]\nkernel = vmlinuz\n");
	assert_int_equal(config_load_file(&f->cfg, f->path, f->err, sizeof(f->err)), 0);
	assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), -1);
	char want[256];
	snprintf(want, sizeof(want), "%s:2: kernel '%s/vmlinuz': No such file or directory",
		 f->path, f->dir);
	assert_string_equal(f->err, want);
	/* A folder is not a kernel. */
	config_free(&f->cfg);
	config_init(&f->cfg);
	const char *args[] = { "run", "--kernel", f->dir };
	assert_int_equal(run_args(f, 3, args), 0);
	assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "is not a regular file"));
	assert_int_equal(strncmp(f->err, "--kernel: ", 10), 0);
}

static void test_validate_cross_fields(void **state)
{
	struct fixture *f = *state;
	char kernel[160];
	snprintf(kernel, sizeof(kernel), "%s/k", f->dir);
	write_file(kernel, "x");
	/* Nothing to boot means the default BIOS, if it is installed. */
	const char *a1[] = { "run" };
	assert_int_equal(run_args(f, 1, a1), 0);
	if (access(CONFIG_DEFAULT_BIOS, R_OK) == 0) {
		assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
	} else {
		assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), -1);
		assert_non_null(strstr(f->err, "lodge run: nothing to boot: the default BIOS"));
	}
	const char *a2[] = { "run", "--initrd", kernel, "--bios", kernel };
	assert_int_equal(run_args(f, 5, a2), 0);
	assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "--initrd: an initrd needs a kernel to go with it");
	config_free(&f->cfg);
	config_init(&f->cfg);
	const char *a3[] = { "run", "--kernel", kernel, "--serial", "1=stdio" };
	assert_int_equal(run_args(f, 5, a3), 0);
	assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "serial: only one serial port can use stdio");
	const char *a4[] = { "run", "--serial", "0=none" };
	assert_int_equal(run_args(f, 3, a4), 0);
	assert_int_equal(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
}

static void test_sizes(void **state)
{
	uint64_t v;
	assert_int_equal(config_parse_size("512M", 1, &v), 0);
	assert_true(v == 512ULL << 20);
	assert_int_equal(config_parse_size("2GiB", 1, &v), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(config_parse_size("1t", 1, &v), 0);
	assert_true(v == 1ULL << 40);
	assert_int_equal(config_parse_size("4096", 1ULL << 20, &v), 0);
	assert_true(v == 4096ULL << 20);
	assert_int_equal(config_parse_size("10x", 1, &v), -1);
	assert_int_equal(config_parse_size("-1", 1, &v), -1);
	assert_int_equal(config_parse_size("", 1, &v), -1);
	assert_int_equal(config_parse_size("99999999999T", 1, &v), -1);
	assert_int_equal(config_parse_size("18446744073709551616", 1, &v), -1);
}

static void test_type_at_flag(void **state)
{
	struct fixture *f = *state;
	const char *good[] = { "run", "--type-at", "login\\: :root\\n",
			       "--type-at", "#:echo a\\x3bb\\t\\e\\\\" };
	assert_int_equal(run_args(f, 5, good), 0);
	assert_int_equal(f->cfg.ntype_at, 2);
	assert_string_equal(f->cfg.type_at[0].marker, "login: ");
	assert_string_equal(f->cfg.type_at[0].text, "root\n");
	assert_string_equal(f->cfg.type_at[1].marker, "#");
	assert_string_equal(f->cfg.type_at[1].text, "echo a;b\t\x1b\\");
	assert_string_equal(f->cfg.type_at[1].origin, "--type-at");

	static const struct { const char *arg, *msg; } bad[] = {
		{ "nocolon", "is not MARKER:TEXT" },
		{ ":x", "the marker must have 1 to 128 characters" },
		{ "m:", "there is no text to type" },
		{ "m:\\q", "'\\q' is not an escape" },
		{ "m:\\x0", "'\\x' needs two hex digits" },
		{ "m:\\x00", "'\\x' needs two hex digits" },
		{ "m:\\x 1", "'\\x' needs two hex digits" },
		{ "m:caf\xc3\xa9", "byte 0xc3 in the text has no key" },
		{ "m:a\\", "a lone '\\' ends the text" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(&f->cfg);
		config_init(&f->cfg);
		const char *args[] = { "run", "--type-at", bad[i].arg };
		assert_int_equal(run_args(f, 3, args), -1);
		if (strncmp(f->err, "--type-at: ", 11) || !strstr(f->err, bad[i].msg))
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].arg, f->err, bad[i].msg);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_file),
		T(test_bad_files),
		T(test_missing_vm_file),
		T(test_flags_override_file),
		T(test_bad_flags),
		T(test_validate_missing_files),
		T(test_validate_cross_fields),
		T(test_sizes),
		T(test_type_at_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
