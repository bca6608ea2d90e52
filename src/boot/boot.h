/*
 * boot: putting a kernel or firmware into guest memory and choosing the
 * boot CPU's first instruction.
 *
 * Each loader validates its image completely before touching guest memory:
 * a truncated file, a bad magic number or a size that does not fit gets one
 * sentence naming the file and what is wrong, and -EINVAL.
 *
 * They run on the main thread at power-on and after every reset, with vCPUs
 * paused, and fill m->boot with the BSP's start state.
 */
#ifndef LODGE_BOOT_H
#define LODGE_BOOT_H

#include <stdint.h>

struct machine;

/* Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst). */
int boot_linux(struct machine *m);
/* Multiboot v1 kernel (ELF32 or a.out kludge) with modules. */
int boot_multiboot(struct machine *m);
/* Firmware image (--bios, default SeaBIOS): mapped at the top of 4 GiB, its
 * last 256 KiB copied to the shadow RAM below 1 MiB; the BSP starts at the
 * reset vector. */
int boot_firmware(struct machine *m);

/* Read a whole file (at most max bytes); NULL after logging why. */
uint8_t *boot_read_file(const char *path, const char *what, uint64_t max, uint64_t *size);

#endif
