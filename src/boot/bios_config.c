/*
 * bios_config: the fw_cfg items Lodge gives SeaBIOS.
 *
 * Contract: the project's reference/seabios-platform.md, sections 2 (fw_cfg
 * keys and files SeaBIOS reads), 3 (etc/e820), 4 (ACPI: SeaBIOS builds its
 * own tables, so there is no etc/table-loader; etc/system-states) and 9
 * (boot menu and failure). SMBIOS: SeaBIOS's legacy builder (src/fw/smbios.c)
 * takes per-field overrides from key 0x8001 entries with a 6-byte header
 * {le16 length, u8 0 = field, u8 table type, le16 field offset}.
 *
 * Decisions:
 *  - etc/e820 lists RAM as the machine laid it out ([0, below 4 GiB) and
 *    [4 GiB, ...)) plus the reservations the machine made above 1 MiB (KVM's
 *    identity-map/TSS pages). SeaBIOS carves out the legacy areas below 1 MiB
 *    and its own ROM itself.
 *  - The serial console (etc/sercon-port = 0x3f8) is on when COM1 exists and
 *    the VM is headless or COM1 is the terminal (stdio): then the BIOS screen,
 *    the boot menu and boot loaders using INT 10h appear on the terminal and
 *    take keys from it. With a window and COM1 in a file, it is off.
 *  - etc/boot-fail-wait is "never" (as on QEMU): with nothing to boot the BIOS
 *    says "No bootable device." and waits instead of rebooting every minute.
 *  - Boot order and disk geometry go through CMOS (bios_cmos.c); no
 *    `bootorder` file is written, because a device-kind order (first disk,
 *    first CD) cannot be said with device paths.
 *  - S3 is withdrawn from the ACPI tables (no suspend-to-RAM); S4 is offered
 *    and the PM device treats it as power-off after the OS saved its image.
 *  - IRQ0 is routed to I/O APIC pin 2 on both engines (irq.h), so the MADT
 *    must say so: etc/irq0-override = 1.
 */
#include "boot/bios.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "iobus.h"
#include "isa/fw_cfg.h"
#include "log.h"
#include "machine.h"
#include "pci/piix4_pm.h"

#define ONE_MIB 0x100000ULL
#define FOUR_GIB 0x100000000ULL
#define E820_ENTRY 20                   /* le64 addr, le64 size, le32 type */
#define OPTION_ROM_MAX (256u << 10)
#define BOOT_MENU_WAIT_MS 2500
#define BOOT_FAIL_WAIT_NEVER 0xffffffffu

/* etc/system-states: one byte per S0..S5, bit 7 = offered, bits 2:0 SLP_TYP. */
#define SYSTEM_STATE_OFFERED 0x80

/* SMBIOS type 1 (System Information) string fields, SMBIOS 2.4 7.2. */
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_T1_MANUFACTURER 4
#define SMBIOS_T1_PRODUCT 5
#define SMBIOS_T1_VERSION 6
#define SMBIOS_FIELD_HEADER 6

bool bios_config_sercon(const struct machine *m)
{
	const struct config_serial *com1 = &m->cfg->serial[0];
	return com1->mode != SERIAL_NONE && (m->cfg->headless || com1->mode == SERIAL_STDIO);
}

static void put_le(uint8_t *p, unsigned size, uint64_t v)
{
	iobus_store_le(p, size, v);
}

static int bios_config_e820(struct machine *m, struct fw_cfg *fw)
{
	uint8_t table[E820_ENTRY * (E820_MAX + 2)];
	unsigned n = 0;
	struct e820_entry ram[2] = {
		{ 0, m->ram_below_4g, E820_RAM },
		{ FOUR_GIB, m->ram_above_4g, E820_RAM },
	};
	for (unsigned i = 0; i < 2; i++) {
		if (!ram[i].size)
			continue;
		put_le(table + n * E820_ENTRY, 8, ram[i].addr);
		put_le(table + n * E820_ENTRY + 8, 8, ram[i].size);
		put_le(table + n * E820_ENTRY + 16, 4, ram[i].type);
		n++;
	}
	for (unsigned i = 0; i < m->ne820; i++) {
		const struct e820_entry *e = &m->e820[i];
		if (e->type == E820_RAM || e->addr < ONE_MIB)
			continue;
		put_le(table + n * E820_ENTRY, 8, e->addr);
		put_le(table + n * E820_ENTRY + 8, 8, e->size);
		put_le(table + n * E820_ENTRY + 16, 4, e->type);
		n++;
	}
	return fw_cfg_add_file(fw, "etc/e820", table, (size_t)n * E820_ENTRY);
}

/* Append one legacy SMBIOS string field to buf; returns the new length. */
static size_t smbios_add_field(uint8_t *buf, size_t len, uint8_t offset, const char *s)
{
	size_t n = strlen(s) + 1;
	put_le(buf + len, 2, SMBIOS_FIELD_HEADER + n);
	buf[len + 2] = 0;                       /* a field, not a whole table */
	buf[len + 3] = SMBIOS_TYPE_SYSTEM;
	put_le(buf + len + 4, 2, offset);
	memcpy(buf + len + SMBIOS_FIELD_HEADER, s, n);
	return len + SMBIOS_FIELD_HEADER + n;
}

static int bios_config_smbios(struct fw_cfg *fw)
{
	uint8_t buf[256];
	size_t len = 2;
	len = smbios_add_field(buf, len, SMBIOS_T1_MANUFACTURER, "Lodge");
	len = smbios_add_field(buf, len, SMBIOS_T1_PRODUCT, "Lodge Virtual Machine");
	len = smbios_add_field(buf, len, SMBIOS_T1_VERSION, LODGE_VERSION);
	put_le(buf, 2, 3);
	return fw_cfg_add_bytes(fw, FW_CFG_SMBIOS_ENTRIES, buf, len);
}

/* genroms/NAME for one --option-rom file, after checking it is one. */
static int bios_config_option_rom(struct fw_cfg *fw, const struct config_path *p)
{
	uint64_t size;
	uint8_t *img = boot_read_file(p->path, "option ROM", OPTION_ROM_MAX, &size);
	if (!img)
		return -EINVAL;
	int rc = -EINVAL;
	if (size < 512) {
		log_err("boot", "%s: option ROM '%s' is %llu bytes, less than one 512-byte block",
			p->origin, p->path, (unsigned long long)size);
		goto out;
	}
	if (img[0] != 0x55 || img[1] != 0xaa) {
		log_err("boot", "%s: '%s' is not an option ROM (no 55 AA signature at offset 0)",
			p->origin, p->path);
		goto out;
	}
	if ((uint64_t)img[2] * 512 > size || img[2] == 0) {
		log_err("boot", "%s: option ROM '%s' says it is %u bytes (byte 2) but the file "
			"has %llu", p->origin, p->path, img[2] * 512u, (unsigned long long)size);
		goto out;
	}
	char tmp[PATH_MAX], name[FW_CFG_NAME_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s", p->path);
	snprintf(name, sizeof(name), "genroms/%s", basename(tmp));
	rc = fw_cfg_add_file(fw, name, img, size);
	if (rc == -EINVAL)
		log_err("boot", "%s: option ROM file name '%s' is longer than %d characters",
			p->origin, name + 8, FW_CFG_NAME_MAX - 9);
	else if (rc == -EEXIST)
		log_err("boot", "%s: another option ROM is already called '%s'", p->origin,
			name + 8);
	if (rc == -EEXIST || rc == -ENOSPC)
		rc = -EINVAL;
out:
	free(img);
	return rc;
}

int bios_config_fill(struct machine *m, struct fw_cfg *fw)
{
	const struct config *cfg = m->cfg;
	uint8_t b[4];
	int rc = 0;

	rc |= fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)m->ncpus);
	rc |= fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)m->ncpus);
	rc |= fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, cfg->boot_menu);
	rc |= fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
	rc |= bios_config_smbios(fw);
	rc |= bios_config_e820(m, fw);

	put_le(b, 2, cfg->boot_menu);
	rc |= fw_cfg_add_file(fw, "etc/show-boot-menu", b, 2);
	if (cfg->boot_menu) {
		put_le(b, 2, BOOT_MENU_WAIT_MS);
		rc |= fw_cfg_add_file(fw, "etc/boot-menu-wait", b, 2);
	}
	put_le(b, 4, BOOT_FAIL_WAIT_NEVER);
	rc |= fw_cfg_add_file(fw, "etc/boot-fail-wait", b, 4);
	if (bios_config_sercon(m)) {
		put_le(b, 2, BIOS_SERCON_PORT);
		rc |= fw_cfg_add_file(fw, "etc/sercon-port", b, 2);
	}
	const uint8_t states[6] = {
		SYSTEM_STATE_OFFERED, 0, 0, 0,
		SYSTEM_STATE_OFFERED | PIIX4_PM_SLP_TYP_S4,
		SYSTEM_STATE_OFFERED | PIIX4_PM_SLP_TYP_S5,
	};
	rc |= fw_cfg_add_file(fw, "etc/system-states", states, sizeof(states));
	if (rc) {
		log_err("boot", "cannot fill the firmware configuration");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cfg->noption_roms; i++) {
		rc = bios_config_option_rom(fw, &cfg->option_roms[i]);
		if (rc)
			return rc;
	}
	return 0;
}
