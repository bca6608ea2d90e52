/* multiboot: multiboot v1 direct boot — the loader lands in a following commit. */
#include <errno.h>
#include "boot/boot.h"
#include "log.h"
#include "machine.h"

int boot_multiboot(struct machine *m)
{
	log_err("boot", "multiboot is not available in this build yet");
	return -EINVAL;
}
