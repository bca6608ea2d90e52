/*
 * bios_cmos: the CMOS bytes only the BIOS reads — the boot order and the ATA
 * translation hints — written into the RTC's CMOS RAM once, as a BIOS setup
 * screen would have left them. (Memory sizes, CPU count and equipment are
 * the board's, board_pc.c; the clock and century are the RTC's own.)
 *
 * Reference: the Bochs/QEMU conventions SeaBIOS reads (seabios-platform.md,
 * section 9): 0x3d bits 3:0 first and 7:4 second boot device, 0x38 bits 7:4
 * third (bit 0 set would skip the floppy signature check); device codes 1
 * floppy, 2 hard disk, 3 CD-ROM, 4 network (the first BEV). 0x39/0x3a give 2
 * bits per ATA drive, drive i at bit 2*(i%4) of 0x39 + i/4: 0 none, 1 LBA.
 * These bytes lie outside the AT checksum range (0x10-0x2d).
 */
#include "boot/bios.h"

#include "isa/rtc.h"
#include "machine.h"

#define CMOS_BOOT_FLAG1 0x38            /* bits 7:4 third boot device */
#define CMOS_DISK_TRANSLATION 0x39      /* 2 bits per drive, 0x39-0x3a */
#define CMOS_BOOT_FLAG2 0x3d            /* bits 3:0 first, 7:4 second */
#define TRANSLATION_LBA 1
/* The largest disk CHS addressing reaches without translation (1024/16/63). */
#define CHS_LIMIT_BYTES (1024ULL * 16 * 63 * 512)

static uint8_t boot_code(char c)
{
	return c == 'c' ? 2 : c == 'd' ? 3 : c == 'n' ? 4 : 0;
}

void bios_cmos_fill(struct machine *m, void *rtc, const uint64_t disk_bytes[BIOS_CMOS_DISKS])
{
	const char *order = m->cfg->boot_order;
	uint8_t first = boot_code(order[0]);
	uint8_t second = first ? boot_code(order[1]) : 0;
	uint8_t third = second ? boot_code(order[2]) : 0;
	rtc_cmos_set(rtc, CMOS_BOOT_FLAG2, (uint8_t)(first | second << 4));
	/* Bit 0 clear: check the floppy boot signature, as QEMU does. */
	rtc_cmos_set(rtc, CMOS_BOOT_FLAG1, (uint8_t)(third << 4));

	uint8_t translation = 0;
	for (unsigned i = 0; i < BIOS_CMOS_DISKS; i++)
		if (disk_bytes[i] > CHS_LIMIT_BYTES)
			translation |= (uint8_t)(TRANSLATION_LBA << (2 * i));
	rtc_cmos_set(rtc, CMOS_DISK_TRANSLATION, translation);
	rtc_cmos_set(rtc, CMOS_DISK_TRANSLATION + 1, 0);
}
