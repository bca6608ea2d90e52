/*
 * disk_ops: the `lodge disk` operations that are not one format's business —
 * converting between formats and describing an image (info) — shared by the
 * CLI and the tests.
 */
#ifndef LODGE_DISK_OPS_H
#define LODGE_DISK_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "progress.h"

enum disk_target { DISK_TO_RAW, DISK_TO_VHD_FIXED, DISK_TO_VHD_DYNAMIC };

/* Copy in (any format, through a differencing chain) into a new file out.
 * All-zero ranges are not written (holes / unallocated blocks). */
int disk_convert(const char *in, const char *out, enum disk_target to, struct progress *pr,
		 char *err, size_t errlen);
/* Print what `lodge disk info` prints, as text or JSON. 0 or -errno with err. */
int disk_info(const char *path, bool json, FILE *out, char *err, size_t errlen);

#endif
