/*
 * Unit tests for what the board tells SeaBIOS: the fw_cfg items
 * (bios_config.c) read back through the port interface as SeaBIOS reads
 * them, the CMOS bytes (bios_cmos.c) through a recording RTC, option ROM
 * validation, and the boot settings of the VM file and command line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/bios.h"
#include "config.h"
#include "fake_machine.h"
#include "iobus.h"
#include "isa/fw_cfg.h"
#include "isa/rtc.h"

struct env {
	struct machine *m;
	struct fw_cfg *fw;
	char tmpdir[64];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->m = fake_machine_create();
	e->fw = fw_cfg_desc.create(e->m, NULL);
	snprintf(e->tmpdir, sizeof(e->tmpdir), "/tmp/lodge-test-bios-XXXXXX");
	assert_non_null(mkdtemp(e->tmpdir));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fw_cfg_desc.destroy(e->fw);
	fake_machine_destroy(e->m);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->tmpdir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void read_item(struct env *e, uint16_t key, uint8_t *buf, size_t n)
{
	struct iobus *pio = e->m->pio;
	iobus_write(pio, 0x510, 2, key);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)iobus_read(pio, 0x511, 1);
}

/* Look a file up in the directory the way SeaBIOS does; its size or -1. */
static long find_file(struct env *e, const char *name, uint16_t *key)
{
	uint8_t count[4], ent[64];
	struct iobus *pio = e->m->pio;
	read_item(e, FW_CFG_FILE_DIR, count, 4);
	for (uint32_t i = 0; i < be32(count); i++) {
		for (size_t j = 0; j < sizeof(ent); j++)
			ent[j] = (uint8_t)iobus_read(pio, 0x511, 1);
		if (!strcmp((char *)ent + 8, name)) {
			*key = (uint16_t)(ent[4] << 8 | ent[5]);
			return (long)be32(ent);
		}
	}
	return -1;
}

/* The little-endian integer romfile_loadint() would see, or -1. */
static int64_t load_int(struct env *e, const char *name)
{
	uint16_t key;
	long size = find_file(e, name, &key);
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -1;
	uint8_t b[8] = { 0 };
	read_item(e, key, b, (size_t)size);
	return (int64_t)iobus_load_le(b, (unsigned)size);
}

static void test_cpus_e820_and_fixed_keys(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	m->ncpus = 4;
	m->ram_below_4g = 0xc0000000ULL;
	m->ram_above_4g = 1ULL << 30;
	machine_add_e820(m, 0, 0x9fc00, E820_RAM);
	machine_add_e820(m, 0x9fc00, 0x400, E820_RESERVED);
	machine_add_e820(m, 0xe0000, 0x20000, E820_RESERVED);
	machine_add_e820(m, 0xfeffc000, 0x4000, E820_RESERVED);
	assert_int_equal(bios_config_fill(m, e->fw), 0);

	uint8_t b[64];
	read_item(e, FW_CFG_NB_CPUS, b, 2);
	assert_int_equal(b[0] | b[1] << 8, 4);
	read_item(e, FW_CFG_MAX_CPUS, b, 2);
	assert_int_equal(b[0] | b[1] << 8, 4);
	read_item(e, FW_CFG_IRQ0_OVERRIDE, b, 1);
	assert_int_equal(b[0], 1);

	uint16_t key;
	assert_int_equal(find_file(e, "etc/e820", &key), 3 * 20);
	uint8_t t[60];
	read_item(e, key, t, sizeof(t));
	assert_int_equal(iobus_load_le(t, 8), 0);
	assert_int_equal(iobus_load_le(t + 8, 8), 0xc0000000ULL);
	assert_int_equal(iobus_load_le(t + 16, 4), E820_RAM);
	assert_int_equal(iobus_load_le(t + 20, 8), 0x100000000ULL);
	assert_int_equal(iobus_load_le(t + 28, 8), 1ULL << 30);
	assert_int_equal(iobus_load_le(t + 36, 4), E820_RAM);
	assert_int_equal(iobus_load_le(t + 40, 8), 0xfeffc000ULL);
	assert_int_equal(iobus_load_le(t + 48, 8), 0x4000);
	assert_int_equal(iobus_load_le(t + 56, 4), E820_RESERVED);

	/* Defaults: no menu, never reboot on failure, S3 withdrawn. */
	assert_int_equal(load_int(e, "etc/show-boot-menu"), 0);
	assert_int_equal(load_int(e, "etc/boot-menu-wait"), -1);
	assert_int_equal(load_int(e, "etc/boot-fail-wait"), 0xffffffffLL);
	assert_int_equal(find_file(e, "etc/system-states", &key), 6);
	read_item(e, key, b, 6);
	const uint8_t states[6] = { 0x80, 0, 0, 0, 0x82, 0x80 };
	assert_memory_equal(b, states, 6);
	/* No table loader: SeaBIOS builds ACPI itself (with PM base 0xb000). */
	assert_int_equal(find_file(e, "etc/table-loader", &key), -1);
	assert_int_equal(find_file(e, "bootorder", &key), -1);
}

static void test_smbios_type1_fields(void **state)
{
	struct env *e = *state;
	assert_int_equal(bios_config_fill(e->m, e->fw), 0);
	uint8_t b[256];
	read_item(e, FW_CFG_SMBIOS_ENTRIES, b, sizeof(b));
	assert_int_equal(b[0] | b[1] << 8, 3);
	/* Walk the entries as SeaBIOS's qemu_cfg_legacy() does. */
	const char *want[3] = { "Lodge", "Lodge Virtual Machine", LODGE_VERSION };
	const uint8_t offsets[3] = { 4, 5, 6 };
	size_t off = 2;
	for (int i = 0; i < 3; i++) {
		unsigned len = b[off] | b[off + 1] << 8;
		assert_int_equal(b[off + 2], 0);                /* field entry */
		assert_int_equal(b[off + 3], 1);                /* type 1 */
		assert_int_equal(b[off + 4] | b[off + 5] << 8, offsets[i]);
		assert_int_equal(len, 6 + strlen(want[i]) + 1);
		assert_string_equal((char *)b + off + 6, want[i]);
		off += len;
	}
}

static void test_sercon_rule(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	struct config *cfg = m->cfg;
	/* COM1 on the terminal (the default): mirrored. */
	assert_true(bios_config_sercon(m));
	assert_int_equal(bios_config_fill(m, e->fw), 0);
	assert_int_equal(load_int(e, "etc/sercon-port"), 0x3f8);
	/* COM1 into a file with a window: not mirrored; headless: mirrored. */
	cfg->serial[0].mode = SERIAL_FILE;
	assert_false(bios_config_sercon(m));
	cfg->headless = true;
	assert_true(bios_config_sercon(m));
	/* No COM1: never. */
	cfg->serial[0].mode = SERIAL_NONE;
	assert_false(bios_config_sercon(m));
}

static void test_boot_menu_on(void **state)
{
	struct env *e = *state;
	e->m->cfg->boot_menu = true;
	e->m->cfg->serial[0].mode = SERIAL_NONE;
	assert_int_equal(bios_config_fill(e->m, e->fw), 0);
	assert_int_equal(load_int(e, "etc/show-boot-menu"), 1);
	assert_int_equal(load_int(e, "etc/boot-menu-wait"), 2500);
	uint16_t key;
	assert_int_equal(find_file(e, "etc/sercon-port", &key), -1);
	uint8_t b[2];
	read_item(e, FW_CFG_BOOT_MENU, b, 2);
	assert_int_equal(b[0], 1);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void add_rom(struct env *e, const char *name)
{
	struct config *cfg = e->m->cfg;
	struct config_path *p = &cfg->option_roms[cfg->noption_roms++];
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", e->tmpdir, name);
	p->path = strdup(path);
	snprintf(p->origin, sizeof(p->origin), "--option-rom");
}

static void test_option_roms(void **state)
{
	struct env *e = *state;
	uint8_t rom[1024] = { 0x55, 0xaa, 2 };
	rom[100] = 0x42;
	char path[160];
	snprintf(path, sizeof(path), "%s/boot.rom", e->tmpdir);
	write_file(path, rom, sizeof(rom));
	add_rom(e, "boot.rom");
	assert_int_equal(bios_config_fill(e->m, e->fw), 0);
	uint16_t key;
	assert_int_equal(find_file(e, "genroms/boot.rom", &key), sizeof(rom));
	uint8_t back[128];
	read_item(e, key, back, sizeof(back));
	assert_memory_equal(back, rom, sizeof(back));
}

static void test_bad_option_roms(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *name;
		uint8_t b0, b1, blocks;
		size_t size;
	} bad[] = {
		{ "nosig.rom", 0x00, 0xaa, 1, 512 },
		{ "short.rom", 0x55, 0xaa, 1, 100 },
		{ "liar.rom", 0x55, 0xaa, 4, 1024 },            /* says 2 KiB */
		{ "empty.rom", 0x55, 0xaa, 0, 512 },
		{ "a-very-long-option-rom-file-name-that-cannot-fit.rom", 0x55, 0xaa, 1, 512 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t rom[1024] = { bad[i].b0, bad[i].b1, bad[i].blocks };
		char path[160];
		snprintf(path, sizeof(path), "%s/%s", e->tmpdir, bad[i].name);
		write_file(path, rom, bad[i].size);
		struct machine *m = fake_machine_create();
		struct fw_cfg *fw = fw_cfg_desc.create(m, NULL);
		struct config_path *p = &m->cfg->option_roms[m->cfg->noption_roms++];
		p->path = strdup(path);
		snprintf(p->origin, sizeof(p->origin), "test.lodge:%zu", i);
		assert_int_equal(bios_config_fill(m, fw), -EINVAL);
		fw_cfg_desc.destroy(fw);
		fake_machine_destroy(m);
	}
	/* A file that is not there. */
	add_rom(e, "missing.rom");
	assert_int_equal(bios_config_fill(e->m, e->fw), -EINVAL);
}

static void test_cmos_boot_order_and_translation(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	void *rtc = rtc_desc.create(m, NULL);
	assert_non_null(rtc);
	snprintf(m->cfg->boot_order, sizeof(m->cfg->boot_order), "dcn");
	const uint64_t disks[4] = { 1ULL << 30, 0, 100ULL << 20, 20ULL << 30 };
	bios_cmos_fill(m, rtc, disks);
	assert_int_equal(rtc_cmos_get(rtc, 0x3d), 0x23);        /* CD, then disk */
	assert_int_equal(rtc_cmos_get(rtc, 0x38), 0x40);        /* then network */
	assert_int_equal(rtc_cmos_get(rtc, 0x39), 0x01 | 0x40); /* LBA: > 528 MB */
	assert_int_equal(rtc_cmos_get(rtc, 0x3a), 0);
	/* One device; no disks; the BIOS reads the nibbles in order. */
	snprintf(m->cfg->boot_order, sizeof(m->cfg->boot_order), "c");
	const uint64_t none[4] = { 0 };
	bios_cmos_fill(m, rtc, none);
	assert_int_equal(rtc_cmos_get(rtc, 0x3d), 0x02);
	assert_int_equal(rtc_cmos_get(rtc, 0x38), 0x00);
	assert_int_equal(rtc_cmos_get(rtc, 0x39), 0);
	/* A disk of exactly the CHS limit needs no translation. */
	const uint64_t edge[4] = { 1024ULL * 16 * 63 * 512, 1024ULL * 16 * 63 * 512 + 512 };
	bios_cmos_fill(m, rtc, edge);
	assert_int_equal(rtc_cmos_get(rtc, 0x39), 0x04);
	snprintf(m->cfg->boot_order, sizeof(m->cfg->boot_order), "nd");
	bios_cmos_fill(m, rtc, none);
	assert_int_equal(rtc_cmos_get(rtc, 0x3d), 0x34);
	rtc_desc.destroy(rtc);
}

static int run_args(struct config *cfg, char *err, size_t errlen, int argc, const char **argv)
{
	config_init(cfg);
	return config_parse_run(cfg, argc, (char **)argv, err, errlen);
}

static void test_boot_settings(void **state)
{
	struct config cfg;
	char err[512];
	const char *ok[] = { "run", "--boot", "dcn", "--boot-menu" };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 4, ok), 0);
	assert_string_equal(cfg.boot_order, "dcn");
	assert_true(cfg.boot_menu);
	config_free(&cfg);

	config_init(&cfg);
	assert_string_equal(cfg.boot_order, "cd");              /* the default */
	assert_false(cfg.boot_menu);
	config_free(&cfg);

	const char *letter[] = { "run", "--boot", "cx" };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 3, letter), -1);
	assert_non_null(strstr(err, "--boot"));
	assert_non_null(strstr(err, "'x' is not a boot device"));
	config_free(&cfg);
	const char *twice[] = { "run", "--boot", "cdc" };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 3, twice), -1);
	assert_non_null(strstr(err, "names 'c' twice"));
	config_free(&cfg);
	const char *longer[] = { "run", "--boot", "cdnc" };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 3, longer), -1);
	config_free(&cfg);
	const char *empty[] = { "run", "--boot", "" };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 3, empty), -1);
	config_free(&cfg);

	/* The VM file spells them [boot] order / menu / option-rom. */
	char dir[] = "/tmp/lodge-test-cfg-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], rom[128];
	snprintf(path, sizeof(path), "%s/vm.lodge", dir);
	snprintf(rom, sizeof(rom), "%s/x.rom", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "[boot]\norder = n\nmenu = true\noption-rom = x.rom\n");
	fclose(f);
	const char *file[] = { "run", path };
	assert_int_equal(run_args(&cfg, err, sizeof(err), 2, file), 0);
	assert_string_equal(cfg.boot_order, "n");
	assert_true(cfg.boot_menu);
	assert_int_equal(cfg.noption_roms, 1);
	assert_string_equal(cfg.option_roms[0].path, rom);
	/* The ROM must exist by the time the VM starts. */
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "option ROM"));
	config_free(&cfg);
	f = fopen(path, "w");
	fprintf(f, "[boot]\norder = q\n");
	fclose(f);
	assert_int_equal(run_args(&cfg, err, sizeof(err), 2, file), -1);
	assert_non_null(strstr(err, "vm.lodge:2"));
	config_free(&cfg);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpus_e820_and_fixed_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smbios_type1_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sercon_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_menu_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_roms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_option_roms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_boot_order_and_translation, setup, teardown),
		cmocka_unit_test(test_boot_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
