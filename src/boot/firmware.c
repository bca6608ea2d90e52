/*
 * firmware: mapping a BIOS image the way a PC decodes its flash, and the
 * PC's BIOS shadow area.
 *
 * The whole image is ROM at [4 GiB - size, 4 GiB), so the reset vector at
 * 0xfffffff0 is the image's last 16 bytes. Its last 256 KiB (all of
 * Debian's bios-256k.bin, or all of a smaller image) also appear at the top
 * of the first megabyte, in the shadow area 0xc0000-0xfffff where real-mode
 * code runs after the first far jump.
 *
 * That low copy lives in RAM, as if the chipset had already shadowed it
 * (i440FX PAM registers, see devices/pci/i440fx.c): KVM cannot overlay a ROM
 * slot on the RAM below 1 MiB, and SeaBIOS expects to write its shadow. The
 * copy is made again at every reset, which is what real hardware shows after
 * a reset clears the PAM registers and the BIOS copies itself anew — so every
 * reset (0xcf9, port 0x92, the keyboard controller, a triple fault) returns
 * to a full POST. SeaBIOS needs the full 256 KiB low: its one-time init code
 * starts near 0xd2720, below the classic 128 KiB window.
 *
 * Without --bios, --kernel or --multiboot the BIOS is Debian's SeaBIOS
 * (CONFIG_DEFAULT_BIOS).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "guestmem.h"
#include "log.h"
#include "machine.h"

#define FIRMWARE_MAX (16u << 20)
#define SHADOW_SIZE (256u << 10)        /* 0xc0000-0xfffff */
#define ONE_MIB 0x100000ULL
#define FOUR_GIB 0x100000000ULL

uint8_t *boot_read_file(const char *path, const char *what, uint64_t max, uint64_t *size)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		log_err("boot", "cannot open %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	uint8_t *buf = NULL;
	if (fseek(fp, 0, SEEK_END) != 0)
		goto read_error;
	long len = ftell(fp);
	if (len < 0 || fseek(fp, 0, SEEK_SET) != 0)
		goto read_error;
	if ((uint64_t)len > max) {
		log_err("boot", "%s '%s' is %ld bytes, more than the %llu this machine can load",
			what, path, len, (unsigned long long)max);
		fclose(fp);
		return NULL;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len)
		goto read_error;
	fclose(fp);
	*size = (uint64_t)len;
	return buf;
read_error:
	log_err("boot", "cannot read %s '%s': %s", what, path, strerror(errno ? errno : EIO));
	free(buf);
	fclose(fp);
	return NULL;
}

int boot_firmware(struct machine *m)
{
	const char *path = m->cfg->bios.path ? m->cfg->bios.path : CONFIG_DEFAULT_BIOS;
	uint64_t size;
	uint8_t *img = boot_read_file(path, "firmware image", FIRMWARE_MAX, &size);
	if (!img)
		return -EINVAL;
	int rc = -EINVAL;
	if (size < 512 || size % 4096) {
		log_err("boot", "firmware image '%s' is %llu bytes; it must be a multiple of "
			"4 KiB (a BIOS ROM image)", path, (unsigned long long)size);
		goto out;
	}
	uint64_t base = FOUR_GIB - size;
	const struct guestmem_region *r = guestmem_region_at(m->mem, base);
	if (!r) {
		rc = machine_map_memory(m, "bios", base, size, NULL, GUESTMEM_ROM, NULL);
		if (rc)
			goto out;
		machine_add_e820(m, base, size, E820_RESERVED);
	} else if (r->gpa != base || r->size != size) {
		log_err("boot", "firmware image '%s' changed size since power-on", path);
		goto out;
	}
	guestmem_write_rom(m->mem, base, img, size);

	uint64_t low = size < SHADOW_SIZE ? size : SHADOW_SIZE;
	if (guestmem_write(m->mem, ONE_MIB - low, img + size - low, low)) {
		log_err("boot", "no RAM below 1 MiB for the firmware's shadow copy");
		goto out;
	}
	/* The reset state from the engine is the firmware's start state. */
	m->boot.valid = false;
	rc = 0;
out:
	free(img);
	return rc;
}
