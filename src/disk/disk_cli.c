/*
 * disk_cli: `lodge disk SUBCOMMAND` — the command-line front end of the disk
 * layer (see disk_cli.h and the README's "lodge disk" section). Every error
 * is one sentence on stderr naming the file (and field and offset when the
 * image itself is at fault).
 */
#include "disk_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk.h"
#include "blk_driver.h"
#include "config.h"
#include "disk_ops.h"
#include "progress.h"
#include "vhd.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static void disk_usage(FILE *out)
{
	fprintf(out,
		"usage: lodge disk create FILE --size SIZE [--type dynamic|fixed] [--block-size SIZE]\n"
		"       lodge disk create FILE --parent BASE.vhd\n"
		"       lodge disk info FILE [--json]\n"
		"       lodge disk check FILE\n"
		"       lodge disk commit CHILD.vhd [--parent BASE.vhd]\n"
		"       lodge disk compact FILE.vhd\n"
		"       lodge disk convert IN OUT --to raw|vhd-fixed|vhd-dynamic\n\n"
		"Creates, inspects and maintains virtual disks (VHD: fixed, dynamic and\n"
		"differencing; raw; ISO read-only). Sizes take K, M, G, T suffixes (powers\n"
		"of 1024). New files are never overwritten.\n");
}

static int disk_fail(const char *err)
{
	fprintf(stderr, "lodge disk: %s\n", err);
	return EXIT_FAIL;
}

static int disk_bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int disk_bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "lodge disk: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see lodge disk --help)\n");
	va_end(ap);
	return EXIT_USAGE;
}

/*
 * getopt_long over argv (argv[0] = the subcommand) for a command that takes
 * exactly `want` positional arguments (what = how the usage error names
 * them). Returns 0, -1 when help was printed, or EXIT_USAGE.
 */
static int disk_args(int argc, char **argv, const struct option *opts, char **pos, int want,
		     const char *what, int (*on_opt)(int c, const char *arg, void *ctx), void *ctx)
{
	int npos = 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "-h", opts, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			disk_usage(stdout);
			return -1;
		}
		if (c == 1) {
			if (npos == want)
				return disk_bad_usage("unexpected argument '%s'", optarg);
			pos[npos++] = optarg;
			continue;
		}
		if (c == '?' || c == ':')
			return disk_bad_usage(optopt ? "option needs a value or is unknown: %s"
						     : "unknown option %s", argv[optind - 1]);
		int rc = on_opt(c, optarg, ctx);
		if (rc)
			return rc;
	}
	if (npos != want)
		return disk_bad_usage("%s needs %s", argv[0], what);
	return 0;
}

/* ---- create ------------------------------------------------------------ */

struct create_args {
	const char *size, *type, *block_size, *parent;
};

static int create_opt(int c, const char *arg, void *ctx)
{
	struct create_args *a = ctx;
	switch (c) {
	case 's': a->size = arg; break;
	case 't': a->type = arg; break;
	case 'b': a->block_size = arg; break;
	case 'p': a->parent = arg; break;
	}
	return 0;
}

static int disk_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "parent", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = { 0 };
	char *pos[1] = { 0 };
	int rc = disk_args(argc, argv, opts, pos, 1, "one FILE", create_opt, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC };
	if (a.parent) {
		if (a.size || a.type)
			return disk_bad_usage("--parent makes a differencing disk of the parent's "
					      "size: leave out --size and --type");
		o.type = VHD_TYPE_DIFF;
		o.parent = a.parent;
	} else {
		if (!a.size)
			return disk_bad_usage("create needs --size (e.g. --size 10G) or --parent");
		if (config_parse_size(a.size, 1, &o.size))
			return disk_bad_usage("--size: '%s' is not a size like 10G or 512M", a.size);
		if (a.type && !strcmp(a.type, "fixed"))
			o.type = VHD_TYPE_FIXED;
		else if (a.type && strcmp(a.type, "dynamic"))
			return disk_bad_usage("--type: '%s' is not dynamic or fixed", a.type);
	}
	if (a.block_size) {
		uint64_t bs;
		if (o.type == VHD_TYPE_FIXED)
			return disk_bad_usage("--block-size: a fixed disk has no blocks");
		if (config_parse_size(a.block_size, 1, &bs) || bs > VHD_MAX_BLOCK || bs < VHD_MIN_BLOCK ||
		    (bs & (bs - 1)))
			return disk_bad_usage("--block-size: '%s' is not a power of two from 512 "
					      "to 256M", a.block_size);
		o.block_size = (uint32_t)bs;
		if (bs != (512u << 10) && bs != (2u << 20))
			fprintf(stderr, "lodge disk: note: Virtual PC and Virtual Server only know "
				"512K and 2M blocks\n");
	}
	char err[1024];
	if (vhd_create(pos[0], &o, err, sizeof(err)))
		return disk_fail(err);
	return 0;
}

/* ---- info, check ---------------------------------------------------------- */

static int flag_opt(int c, const char *arg, void *ctx)
{
	*(bool *)ctx = true;
	return 0;
}

static int no_opt(int c, const char *arg, void *ctx)
{
	return 0;
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int disk_info_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	char *pos[1] = { 0 };
	int rc = disk_args(argc, argv, opts, pos, 1, "one FILE", flag_opt, &json);
	if (rc)
		return rc < 0 ? 0 : rc;
	char err[1024];
	if (disk_info(pos[0], json, stdout, err, sizeof(err)))
		return disk_fail(err);
	return 0;
}

static void check_print(void *ctx, enum vhd_severity sev, const char *msg)
{
	printf("%s: %s\n", sev == VHD_ERROR ? "error" : "warning", msg);
}

static int disk_check(int argc, char **argv)
{
	char *pos[1] = { 0 };
	int rc = disk_args(argc, argv, help_only, pos, 1, "one FILE", no_opt, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	char err[1024];
	const char *format;
	if (blk_probe(pos[0], &format, err, sizeof(err)))
		return disk_fail(err);
	if (strcmp(format, "vhd")) {
		printf("%s: a %s image has no structure to check\n", pos[0], format);
		return 0;
	}
	struct vhd_report r = { .fn = check_print };
	vhd_check(pos[0], &r);
	if (!r.errors && !r.warnings)
		printf("%s: no problems found\n", pos[0]);
	else
		printf("%s: %u error%s, %u warning%s\n", pos[0], r.errors, r.errors == 1 ? "" : "s",
		       r.warnings, r.warnings == 1 ? "" : "s");
	return r.errors ? EXIT_FAIL : 0;
}

/* ---- commit, compact, convert ------------------------------------------- */

static int parent_opt(int c, const char *arg, void *ctx)
{
	*(const char **)ctx = arg;
	return 0;
}

static int disk_commit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *parent = NULL;
	char *pos[1] = { 0 };
	int rc = disk_args(argc, argv, opts, pos, 1, "one differencing disk", parent_opt, &parent);
	if (rc)
		return rc < 0 ? 0 : rc;
	char err[1024];
	struct progress pr;
	progress_init(&pr, "committing");
	rc = vhd_commit(pos[0], parent, progress_cb, &pr, err, sizeof(err));
	progress_finish(&pr, rc == 0);
	if (rc)
		return disk_fail(err);
	printf("%s: committed into its parent; it still works on top of the parent, and may be "
	       "deleted\n", pos[0]);
	return 0;
}

static int disk_compact(int argc, char **argv)
{
	char *pos[1] = { 0 };
	int rc = disk_args(argc, argv, help_only, pos, 1, "one FILE", no_opt, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	char err[1024];
	struct progress pr;
	uint64_t freed = 0;
	progress_init(&pr, "compacting");
	rc = vhd_compact(pos[0], progress_cb, &pr, &freed, err, sizeof(err));
	progress_finish(&pr, rc == 0);
	if (rc)
		return disk_fail(err);
	printf("%s: compacted, %llu bytes smaller\n", pos[0], (unsigned long long)freed);
	return 0;
}

static int disk_convert_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL;
	char *pos[2] = { 0 };
	int rc = disk_args(argc, argv, opts, pos, 2, "IN and OUT", parent_opt, &to);
	if (rc)
		return rc < 0 ? 0 : rc;
	enum disk_target t;
	if (!to)
		return disk_bad_usage("convert needs --to raw, vhd-fixed or vhd-dynamic");
	if (!strcmp(to, "raw"))
		t = DISK_TO_RAW;
	else if (!strcmp(to, "vhd-fixed"))
		t = DISK_TO_VHD_FIXED;
	else if (!strcmp(to, "vhd-dynamic"))
		t = DISK_TO_VHD_DYNAMIC;
	else
		return disk_bad_usage("--to: '%s' is not raw, vhd-fixed or vhd-dynamic", to);
	char err[1024];
	struct progress pr;
	progress_init(&pr, "converting");
	rc = disk_convert(pos[0], pos[1], t, &pr, err, sizeof(err));
	progress_finish(&pr, rc == 0);
	if (rc)
		return disk_fail(err);
	return 0;
}

int disk_cli_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "create", disk_create }, { "info", disk_info_cmd }, { "check", disk_check },
		{ "commit", disk_commit }, { "compact", disk_compact },
		{ "convert", disk_convert_cmd },
	};
	if (argc < 2) {
		disk_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		disk_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "lodge disk: '%s' is not a disk command (see lodge disk --help)\n", cmd);
	return EXIT_USAGE;
}
