/*
 * disk_cli: the `lodge disk` command (create, info, check, commit, compact,
 * convert). argv[0] is "disk". Returns the process exit status: 0 success,
 * 1 the operation failed or check found errors, 2 bad usage.
 */
#ifndef LODGE_DISK_CLI_H
#define LODGE_DISK_CLI_H

int disk_cli_main(int argc, char **argv);

#endif
