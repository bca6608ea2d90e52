/*
 * Unit tests for the drive settings of config.c: [ide0]..[ide3] sections,
 * --disk (next free position), --cdrom and [cdrom] (secondary master first),
 * --undo (every disk), --on-exit and [machine] on-exit, and the one-sentence
 * errors for bad values and files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "disk_tmp.h"

static const char *write_file(const char *name, const char *text)
{
	const char *p = disk_tmp_path(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static int parse(struct config *cfg, char *err, size_t errlen, ...)
{
	char *argv[16] = { "run" };
	int argc = 1;
	va_list ap;
	va_start(ap, errlen);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	config_init(cfg);
	return config_parse_run(cfg, argc, argv, err, errlen);
}

static void test_ide_sections_and_flags(void **state)
{
	write_file("a.vhd", "x");
	write_file("b.vhd", "x");
	write_file("c.img", "x");
	write_file("bios.bin", "x");
	const char *vm = write_file("vm.lodge",
				    "[boot]\nbios = bios.bin\n"
				    "[machine]\non-exit = discard\n"
				    "[ide0]\nfile = a.vhd\nundo = true\n"
				    "[ide2]\nfile = b.vhd\nreadonly = yes\n");
	struct config cfg;
	char err[512];
	char extra[512];
	snprintf(extra, sizeof(extra), "%s", disk_tmp_path("c.img"));
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, "--disk", extra, NULL), 0);
	assert_string_equal(cfg.drive[0].file.path, disk_tmp_path("a.vhd"));
	assert_true(cfg.drive[0].undo);
	assert_false(cfg.drive[0].read_only);
	assert_int_equal(cfg.drive[0].media, MEDIA_DISK);
	assert_string_equal(cfg.drive[1].file.path, extra);     /* first free position */
	assert_string_equal(cfg.drive[1].file.origin, "--disk");
	assert_true(cfg.drive[2].read_only);
	assert_null(cfg.drive[3].file.path);
	assert_int_equal(cfg.on_exit, ON_EXIT_DISCARD);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);

	/* --undo covers every disk; --on-exit overrides the file. */
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, "--undo", "--on-exit", "keep",
			       NULL), 0);
	assert_true(cfg.drive[0].undo && cfg.drive[2].undo);
	assert_int_equal(cfg.on_exit, ON_EXIT_KEEP);
	/* ...and undo with readonly is refused by validation. */
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vm.lodge:9"));
	assert_non_null(strstr(err, "both read-only and have an undo disk"));
	config_free(&cfg);
}

static void test_drive_errors(void **state)
{
	struct config cfg;
	char err[512];
	const char *vm = write_file("bad.lodge", "[ide1]\nundo = maybe\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), -1);
	assert_non_null(strstr(err, "bad.lodge:2: 'maybe' is not true or false"));
	config_free(&cfg);

	vm = write_file("bad2.lodge", "[ide4]\nfile = x.vhd\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), -1);
	assert_non_null(strstr(err, "unknown section [ide4]"));
	config_free(&cfg);

	assert_int_equal(parse(&cfg, err, sizeof(err), "--on-exit", "later", NULL), -1);
	assert_string_equal(err, "--on-exit: 'later' is not commit, discard or keep");
	config_free(&cfg);

	assert_int_equal(parse(&cfg, err, sizeof(err), "--disk", "1", "--disk", "2", "--disk", "3",
			       "--disk", "4", "--disk", "5", NULL), -1);
	assert_string_equal(err, "--disk: all 4 IDE positions already hold a drive");
	config_free(&cfg);

	write_file("bios2.bin", "x");
	char bios[512];
	snprintf(bios, sizeof(bios), "%s", disk_tmp_path("bios2.bin"));
	assert_int_equal(parse(&cfg, err, sizeof(err), "--bios", bios, "--disk", "/nonexistent.vhd",
			       NULL), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "--disk: disk '/nonexistent.vhd': No such file or directory");
	config_free(&cfg);
}

static void test_cdrom(void **state)
{
	struct config cfg;
	char err[512];
	char disk[512], iso[512];
	write_file("d.vhd", "x");
	write_file("cd.iso", "x");
	chmod(write_file("ro.iso", "x"), 0444);
	snprintf(disk, sizeof(disk), "%s", disk_tmp_path("d.vhd"));
	snprintf(iso, sizeof(iso), "%s", disk_tmp_path("cd.iso"));

	/* --cdrom takes the secondary master whatever the flag order; --undo
	 * leaves the CD alone, and a read-only ISO is fine. */
	assert_int_equal(parse(&cfg, err, sizeof(err), "--cdrom", disk_tmp_path("ro.iso"),
			       "--disk", disk, "--disk", disk, "--disk", disk, "--undo", NULL), 0);
	assert_int_equal(cfg.drive[2].media, MEDIA_CDROM);
	assert_false(cfg.drive[2].undo);
	assert_string_equal(cfg.drive[2].file.origin, "--cdrom");
	assert_int_equal(cfg.drive[0].media, MEDIA_DISK);
	assert_int_equal(cfg.drive[3].media, MEDIA_DISK);
	assert_true(cfg.drive[0].undo && cfg.drive[1].undo && cfg.drive[3].undo);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);

	/* Three disks first: the CD goes to the one position left. */
	assert_int_equal(parse(&cfg, err, sizeof(err), "--disk", disk, "--disk", disk, "--disk",
			       disk, "--cdrom", iso, NULL), 0);
	assert_int_equal(cfg.drive[2].media, MEDIA_DISK);
	assert_int_equal(cfg.drive[3].media, MEDIA_CDROM);
	config_free(&cfg);

	/* [cdrom] in a VM file; [ideN] media=cdrom before or after file=. */
	const char *vm = write_file("cd.lodge", "[cdrom]\nfile = cd.iso\n"
				    "[ide1]\nmedia = cdrom\nfile = cd.iso\n"
				    "[ide3]\nfile = cd.iso\nmedia = cdrom\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), 0);
	assert_string_equal(cfg.drive[2].file.path, iso);
	assert_int_equal(cfg.drive[1].media, MEDIA_CDROM);
	assert_int_equal(cfg.drive[2].media, MEDIA_CDROM);
	assert_int_equal(cfg.drive[3].media, MEDIA_CDROM);
	config_free(&cfg);

	/* Two settings for one position name both. */
	vm = write_file("clash.lodge", "[cdrom]\nfile = cd.iso\n[ide2]\nfile = d.vhd\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), -1);
	assert_non_null(strstr(err, "clash.lodge:4: the IDE secondary master already holds"));
	assert_non_null(strstr(err, "(from "));
	assert_non_null(strstr(err, "clash.lodge:2)"));
	config_free(&cfg);

	assert_int_equal(parse(&cfg, err, sizeof(err), "--cdrom", "/nonexistent.iso", NULL), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "--cdrom: CD/DVD image '/nonexistent.iso': No such file or directory");
	config_free(&cfg);

	vm = write_file("media.lodge", "[ide0]\nmedia = floppy\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), -1);
	assert_non_null(strstr(err, "media.lodge:2: media 'floppy' is not disk or cdrom"));
	config_free(&cfg);

	/* undo=true on a CD is a mistake worth one sentence. */
	vm = write_file("cdundo.lodge", "[ide2]\nmedia = cdrom\nfile = cd.iso\nundo = true\n");
	assert_int_equal(parse(&cfg, err, sizeof(err), (char *)vm, NULL), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a CD/DVD image, which is read-only: undo applies to disks"));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ide_sections_and_flags),
		cmocka_unit_test(test_drive_errors),
		cmocka_unit_test(test_cdrom),
	};
	return cmocka_run_group_tests(tests, disk_tmp_group_setup, disk_tmp_group_teardown);
}
