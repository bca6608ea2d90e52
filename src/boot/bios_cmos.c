/*
 * bios_cmos: the CMOS bytes of a PC that describe the machine rather than
 * the time — written into the RTC's CMOS RAM once, as a real BIOS setup
 * screen would have left them.
 *
 * References: IBM PC/AT Technical Reference, "CMOS RAM address map" (0x10
 * floppy types, 0x14 equipment, 0x15-0x18 base/extended memory, 0x30-0x31
 * extended memory, 0x32 century); the Bochs/QEMU extensions SeaBIOS reads
 * (seabios-platform.md, sections 3, 5 and 9): 0x34-0x35 memory above
 * 16 MiB and 0x5b-0x5d memory above 4 GiB in 64 KiB units, 0x5f CPU count
 * minus one, 0x3d/0x38 boot order, 0x39/0x3a ATA translation. SeaBIOS uses
 * the memory bytes only when fw_cfg has no etc/e820, and the CPU count as a
 * lower bound of NB_CPUS; the boot order and translation bytes it always
 * reads from here.
 */
#include "boot/bios.h"

#include <time.h>

#include "machine.h"
#include "vclock.h"

/* isa/rtc.h (the RTC/CMOS device, written in parallel): until it lands on
 * main this declaration stands in for it; the integrator swaps in the include. */
void rtc_cmos_set(void *rtc, unsigned index, uint8_t value);

#define CMOS_FLOPPY_TYPES 0x10
#define CMOS_EQUIPMENT 0x14
#define  EQUIPMENT_FPU 0x02
#define  EQUIPMENT_PS2_MOUSE 0x04
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_EXT_MEM_LO 0x17
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_CENTURY 0x32
#define CMOS_MEM_16M_LO 0x34
#define CMOS_BOOT_FLAG1 0x38            /* bits 7:4 third boot device */
#define CMOS_DISK_TRANSLATION 0x39      /* 2 bits per drive, 0x39-0x3a */
#define CMOS_BOOT_FLAG2 0x3d            /* bits 3:0 first, 7:4 second */
#define CMOS_MEM_4G_LO 0x5b
#define CMOS_CPU_COUNT 0x5f

#define BASE_MEM_KIB 640
#define ONE_MIB (1ULL << 20)
#define SIXTEEN_MIB (16ULL << 20)
#define UNIT_64K (64ULL << 10)
#define TRANSLATION_LBA 1
/* The largest disk CHS addressing reaches without translation (1024/16/63). */
#define CHS_LIMIT_BYTES (1024ULL * 16 * 63 * 512)

static void cmos_set16(void *rtc, unsigned index, uint64_t v, uint64_t cap)
{
	v = v > cap ? cap : v;
	rtc_cmos_set(rtc, index, (uint8_t)v);
	rtc_cmos_set(rtc, index + 1, (uint8_t)(v >> 8));
}

/* SeaBIOS boot device codes: 2 hard disk, 3 CD-ROM, 4 network (first BEV). */
static uint8_t boot_code(char c)
{
	return c == 'c' ? 2 : c == 'd' ? 3 : c == 'n' ? 4 : 0;
}

static uint8_t bcd(unsigned v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

void bios_cmos_fill(struct machine *m, void *rtc, const uint64_t disk_bytes[BIOS_CMOS_DISKS])
{
	uint64_t low = m->ram_below_4g;
	uint64_t ext_kib = low > ONE_MIB ? (low - ONE_MIB) >> 10 : 0;
	uint64_t above_16m = low > SIXTEEN_MIB ? (low - SIXTEEN_MIB) / UNIT_64K : 0;
	uint64_t above_4g = m->ram_above_4g / UNIT_64K;

	rtc_cmos_set(rtc, CMOS_FLOPPY_TYPES, 0);
	rtc_cmos_set(rtc, CMOS_EQUIPMENT, EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE);
	cmos_set16(rtc, CMOS_BASE_MEM_LO, BASE_MEM_KIB, 0xffff);
	cmos_set16(rtc, CMOS_EXT_MEM_LO, ext_kib, 0xffff);
	cmos_set16(rtc, CMOS_EXT_MEM2_LO, ext_kib, 0xffff);
	cmos_set16(rtc, CMOS_MEM_16M_LO, above_16m, 0xffff);
	rtc_cmos_set(rtc, CMOS_MEM_4G_LO, (uint8_t)above_4g);
	rtc_cmos_set(rtc, CMOS_MEM_4G_LO + 1, (uint8_t)(above_4g >> 8));
	rtc_cmos_set(rtc, CMOS_MEM_4G_LO + 2, (uint8_t)(above_4g >> 16));
	rtc_cmos_set(rtc, CMOS_CPU_COUNT, (uint8_t)(m->ncpus - 1));

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

	time_t now = (time_t)vclock_epoch_at_start(m->clock);
	struct tm tm;
	if (gmtime_r(&now, &tm))
		rtc_cmos_set(rtc, CMOS_CENTURY, bcd((unsigned)(tm.tm_year + 1900) / 100));
}
