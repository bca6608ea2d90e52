/*
 * lodge: command line → config → machine → main loop. Nothing else lives here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "disk/disk_cli.h"
#include "log.h"
#include "loop.h"
#include "machine.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lodge run [FILE.lodge] [options]   run a virtual machine\n"
		"       lodge FILE.lodge                   the same (for file managers)\n"
		"       lodge disk COMMAND ...             create, inspect, convert disk images\n"
		"       lodge --help | --version\n\n"
		"`lodge run --help` lists the options of run.\n");
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static int cmd_run(int argc, char **argv)
{
	struct config cfg;
	char err[512];
	int status;

	config_init(&cfg);
	int rc = config_parse_run(&cfg, argc, argv, err, sizeof(err));
	if (rc == 0)
		rc = config_validate(&cfg, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "lodge: %s\n", err);
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (cfg.debug_tags)
		log_set_debug_tags(cfg.debug_tags);

	struct loop *loop = loop_create();
	if (!loop) {
		fprintf(stderr, "lodge: cannot create the event loop\n");
		config_free(&cfg);
		return 1;
	}
	struct machine *m = machine_create(&cfg, loop, &status);
	if (!m) {
		loop_destroy(loop);
		config_free(&cfg);
		return status;
	}
	int start = machine_start(m);
	if (start) {
		/* -EINVAL: the loader already named the bad file (exit 2, like
		 * any bad input); anything else is a host problem. */
		if (start != -EINVAL)
			log_err("machine", "the VM could not be started");
		status = start == -EINVAL ? 2 : 1;
	} else {
		loop_run(loop);
		status = machine_exit_status(m);
	}
	machine_destroy(m);
	loop_destroy(loop);
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("lodge %s\n", LODGE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "disk"))
		return disk_cli_main(argc - 1, argv + 1);
	if (has_suffix(cmd, ".lodge")) {
		/* `lodge vm.lodge [flags]`: treat as `lodge run vm.lodge [flags]`. */
		argv[0] = "run";
		return cmd_run(argc, argv);
	}
	fprintf(stderr, "lodge: '%s' is not a command (try lodge --help)\n", cmd);
	return 2;
}
