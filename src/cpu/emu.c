/* emu: the software x86 CPU engine — lands in following commits. */
#include <stdio.h>
#include "cpu/accel.h"

static int emu_probe(char *why, size_t len)
{
	snprintf(why, len, "the software CPU is not part of this build yet; use --accel kvm");
	return -1;
}

const struct accel_ops accel_emu = {
	.name = "emu",
	.probe = emu_probe,
};
