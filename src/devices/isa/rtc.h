/*
 * rtc: Motorola MC146818A real-time clock and CMOS RAM (ports 0x70/0x71,
 * ISA IRQ 8).
 */
#ifndef LODGE_RTC_H
#define LODGE_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

/* CMOS bytes with a meaning on the PC (IBM PC/AT Technical Reference, and
 * the SeaBIOS/QEMU conventions for the bytes above 0x33). */
#define RTC_CMOS_SHUTDOWN 0x0f
#define RTC_CMOS_FLOPPY 0x10
#define RTC_CMOS_DISK 0x12
#define RTC_CMOS_EQUIPMENT 0x14
#define RTC_CMOS_BASE_MEM_LO 0x15       /* KiB below 640 KiB */
#define RTC_CMOS_BASE_MEM_HI 0x16
#define RTC_CMOS_EXT_MEM_LO 0x17        /* KiB above 1 MiB, at most 65535 */
#define RTC_CMOS_EXT_MEM_HI 0x18
#define RTC_CMOS_CHECKSUM_HI 0x2e       /* sum of 0x10-0x2d */
#define RTC_CMOS_CHECKSUM_LO 0x2f
#define RTC_CMOS_EXT_MEM2_LO 0x30       /* the same as 0x17/0x18 */
#define RTC_CMOS_EXT_MEM2_HI 0x31
#define RTC_CMOS_CENTURY 0x32
#define RTC_CMOS_MEM_16M_LO 0x34        /* 64 KiB units above 16 MiB, below 4 GiB */
#define RTC_CMOS_MEM_16M_HI 0x35
#define RTC_CMOS_MEM_4G_LO 0x5b         /* 64 KiB units above 4 GiB, 3 bytes */
#define RTC_CMOS_NCPUS 0x5f             /* CPUs - 1 */
#define RTC_CMOS_SIZE 128

struct rtc_params {
	/* Start at start_epoch (seconds since 1970, UTC) instead of the host's
	 * time at power-on; for reproducible runs and tests. */
	bool fixed_start;
	int64_t start_epoch;
};

/* params may be NULL: the clock starts at the host's UTC time. */
extern const struct device_desc rtc_desc;

/*
 * CMOS access for the board and platform code (memory size, boot order...).
 * index 0-127; the clock registers (0-13 and the century byte) behave as a
 * guest access would, except that reading register C does not clear it.
 * Main thread before the VM runs, or with the device lock held.
 */
void rtc_cmos_set(void *rtc, unsigned index, uint8_t value);
uint8_t rtc_cmos_get(void *rtc, unsigned index);

#endif
