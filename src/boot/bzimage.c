/* bzimage: Linux direct boot — the loader lands in a following commit. */
#include <errno.h>
#include "boot/boot.h"
#include "log.h"
#include "machine.h"

int boot_linux(struct machine *m)
{
	log_err("boot", "Linux direct boot is not available in this build yet");
	return -EINVAL;
}
