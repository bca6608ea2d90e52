/*
 * bios: what the PC tells its BIOS (SeaBIOS) about the machine, through the
 * two channels SeaBIOS reads: fw_cfg items and CMOS bytes.
 *
 * The contract is the project's SeaBIOS platform reference
 * (reference/seabios-platform.md, sections 2-5 and 9): which keys and files
 * SeaBIOS looks up, their formats, and which CMOS bytes it reads. Both
 * fillers run once on the main thread while the board is built; the contents
 * never change while the guest runs.
 */
#ifndef LODGE_BIOS_H
#define LODGE_BIOS_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct fw_cfg;

/* COM1's port; etc/sercon-port names it when the BIOS screen is mirrored. */
#define BIOS_SERCON_PORT 0x3f8

/*
 * Fill fw_cfg: CPU counts, the RAM map (etc/e820), boot menu and failure
 * behaviour, the serial console rule, ACPI sleep states, IRQ0 override,
 * SMBIOS type 1 strings and the user's option ROMs (genroms/NAME). Returns 0,
 * or -EINVAL after one sentence naming a bad option ROM file, or -ENOMEM.
 */
int bios_config_fill(struct machine *m, struct fw_cfg *fw);

/* True if the BIOS screen is mirrored to COM1 (the rule is in bios_config.c). */
bool bios_config_sercon(const struct machine *m);

/* IDE drive positions the CMOS translation bytes describe. */
#define BIOS_CMOS_DISKS 4

/*
 * Write the CMOS bytes only the BIOS reads: the boot order (cfg->boot_order)
 * and the ATA translation hints for up to four disks (disk_bytes[0..3] =
 * primary master, primary slave, secondary master, secondary slave; 0 =
 * none). rtc is the RTC/CMOS device (isa/rtc.h). Memory, CPU count and
 * equipment bytes are the board's (board_pc.c).
 */
void bios_cmos_fill(struct machine *m, void *rtc, const uint64_t disk_bytes[BIOS_CMOS_DISKS]);

#endif
