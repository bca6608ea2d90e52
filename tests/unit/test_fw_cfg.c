/*
 * Unit tests for fw_cfg: the port interface (signature, ID, selector, reads
 * past the end), the file directory, item registration rules, and the DMA
 * interface — read, skip, select, write — including hostile descriptors:
 * targets outside RAM or over ROM, wrapping and huge lengths, descriptors
 * outside RAM or in ROM, and every port offset and size.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "guestmem.h"
#include "iobus.h"
#include "isa/fw_cfg.h"

#define ROM_BASE 0xfffc0000ULL
#define DESC 0x1000
#define BUF 0x2000

struct env {
	struct machine *m;
	struct fw_cfg *fw;
	uint8_t file[300];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->m = fake_machine_create();
	assert_int_equal(guestmem_add(e->m->mem, "rom", ROM_BASE, 0x40000, NULL, GUESTMEM_ROM,
				      NULL), 0);
	e->fw = fw_cfg_desc.create(e->m, NULL);
	assert_non_null(e->fw);
	for (size_t i = 0; i < sizeof(e->file); i++)
		e->file[i] = (uint8_t)(i + 1);
	assert_int_equal(fw_cfg_add_u16(e->fw, FW_CFG_NB_CPUS, 4), 0);
	assert_int_equal(fw_cfg_add_file(e->fw, "etc/first", "abc", 3), 0);
	assert_int_equal(fw_cfg_add_file(e->fw, "genroms/test.rom", e->file, sizeof(e->file)), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fw_cfg_desc.destroy(e->fw);
	fake_machine_destroy(e->m);
	free(e);
	return 0;
}

static struct iobus *pio(struct env *e)
{
	return e->m->pio;
}

static void select_key(struct env *e, uint16_t key)
{
	iobus_write(pio(e), 0x510, 2, key);
}

static uint8_t data_byte(struct env *e)
{
	return (uint8_t)iobus_read(pio(e), 0x511, 1);
}

static void read_bytes(struct env *e, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = data_byte(e);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_signature_and_id(void **state)
{
	struct env *e = *state;
	uint8_t b[4];
	/* After reset the signature is selected, as on QEMU. */
	read_bytes(e, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	select_key(e, FW_CFG_SIGNATURE);
	read_bytes(e, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	assert_int_equal(data_byte(e), 0);      /* past the end */
	select_key(e, FW_CFG_ID);
	read_bytes(e, b, 4);
	assert_int_equal(b[0], 0x03);           /* traditional + DMA */
	select_key(e, FW_CFG_NB_CPUS);
	assert_int_equal(data_byte(e), 4);
	assert_int_equal(data_byte(e), 0);
	/* The write-channel bit (14) is ignored. */
	select_key(e, FW_CFG_NB_CPUS | 0x4000);
	assert_int_equal(data_byte(e), 4);
	/* Unknown keys read zeros. */
	select_key(e, 0x1234);
	assert_int_equal(data_byte(e), 0);
	select_key(e, FW_CFG_IRQ0_OVERRIDE);
	assert_int_equal(data_byte(e), 0);
	/* rep insb arrives as byte reads; the DMA signature is "QEMU CFG". */
	assert_int_equal(iobus_read(pio(e), 0x514, 4), 0x554d4551);
	assert_int_equal(iobus_read(pio(e), 0x518, 4), 0x47464320);
	assert_int_equal(iobus_read(pio(e), 0x519, 1), 'C');
}

static void test_file_directory(void **state)
{
	struct env *e = *state;
	uint8_t dir[4 + 2 * 64];
	select_key(e, FW_CFG_FILE_DIR);
	read_bytes(e, dir, sizeof(dir));
	assert_int_equal(be32(dir), 2);
	const uint8_t *f0 = dir + 4, *f1 = dir + 68;
	assert_int_equal(be32(f0), 3);
	assert_int_equal(f0[4] << 8 | f0[5], FW_CFG_FILE_FIRST);
	assert_string_equal((const char *)f0 + 8, "etc/first");
	assert_int_equal(be32(f1), sizeof(e->file));
	assert_int_equal(f1[4] << 8 | f1[5], FW_CFG_FILE_FIRST + 1);
	assert_string_equal((const char *)f1 + 8, "genroms/test.rom");
	/* Files read back through their key. */
	select_key(e, FW_CFG_FILE_FIRST + 1);
	uint8_t buf[sizeof(e->file)];
	read_bytes(e, buf, sizeof(buf));
	assert_memory_equal(buf, e->file, sizeof(buf));
	assert_int_equal(data_byte(e), 0);
}

static void test_registration_rules(void **state)
{
	struct env *e = *state;
	char name[80];
	memset(name, 'x', sizeof(name));
	name[56] = 0;
	assert_int_equal(fw_cfg_add_file(e->fw, name, "a", 1), -EINVAL);     /* 56 + NUL */
	name[55] = 0;
	assert_int_equal(fw_cfg_add_file(e->fw, name, "a", 1), 0);
	assert_int_equal(fw_cfg_add_file(e->fw, "", "a", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_file(e->fw, "etc/first", "a", 1), -EEXIST);
	assert_int_equal(fw_cfg_add_bytes(e->fw, FW_CFG_SIGNATURE, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(e->fw, FW_CFG_ID, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(e->fw, FW_CFG_FILE_DIR, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(e->fw, FW_CFG_FILE_FIRST, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_bytes(e->fw, 0x4005, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(e->fw, FW_CFG_NB_CPUS, 2), -EEXIST);
	assert_int_equal(fw_cfg_add_u32(e->fw, FW_CFG_IRQ0_OVERRIDE, 1), 0);
	assert_int_equal(fw_cfg_add_bytes(e->fw, 0x0007, NULL, 0), 0);  /* empty item */
	/* The directory has room for FW_CFG_MAX_FILES. */
	int rc = 0;
	for (unsigned i = 0; rc == 0 && i < FW_CFG_MAX_FILES + 5; i++) {
		snprintf(name, sizeof(name), "opt/f%u", i);
		rc = fw_cfg_add_file(e->fw, name, &i, sizeof(i));
	}
	assert_int_equal(rc, -ENOSPC);
	select_key(e, FW_CFG_FILE_DIR);
	uint8_t count[4];
	read_bytes(e, count, 4);
	assert_int_equal(be32(count), FW_CFG_MAX_FILES);
}

/* ---- DMA ---------------------------------------------------------------- */

static void put_desc(struct env *e, uint64_t at, uint32_t control, uint32_t length, uint64_t addr)
{
	uint8_t d[16];
	for (int i = 0; i < 4; i++) {
		d[i] = (uint8_t)(control >> (24 - 8 * i));
		d[4 + i] = (uint8_t)(length >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++)
		d[8 + i] = (uint8_t)(addr >> (56 - 8 * i));
	guestmem_write_rom(e->m->mem, at, d, sizeof(d));
}

/* Start a transfer the way SeaBIOS does: outl(cpu_to_be32(addr), 0x518). */
static void dma_kick(struct env *e, uint64_t desc)
{
	if (desc >> 32)
		iobus_write(pio(e), 0x514, 4, __builtin_bswap32((uint32_t)(desc >> 32)));
	iobus_write(pio(e), 0x518, 4, __builtin_bswap32((uint32_t)desc));
}

static uint32_t dma_control(struct env *e, uint64_t at)
{
	uint8_t b[4];
	assert_int_equal(guestmem_read(e->m->mem, at, b, 4), 0);
	return be32(b);
}

static void test_dma_select_read_skip(void **state)
{
	struct env *e = *state;
	struct guestmem *gm = e->m->mem;
	uint8_t buf[400];
	/* SELECT + READ of the whole file. */
	put_desc(e, DESC, (FW_CFG_FILE_FIRST + 1) << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
		 100, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	guestmem_read(gm, BUF, buf, 100);
	assert_memory_equal(buf, e->file, 100);
	/* SKIP 50 then READ continues at the shared offset (ports too). */
	put_desc(e, DESC, FW_CFG_DMA_SKIP, 50, 0);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	assert_int_equal(data_byte(e), e->file[150]);
	put_desc(e, DESC, FW_CFG_DMA_READ, 10, BUF);
	dma_kick(e, DESC);
	guestmem_read(gm, BUF, buf, 10);
	assert_memory_equal(buf, e->file + 151, 10);
	/* READ past the end fills zeros and succeeds. */
	memset(buf, 0xee, sizeof(buf));
	guestmem_write(gm, BUF, buf, sizeof(buf));
	put_desc(e, DESC, FW_CFG_DMA_READ, 400, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	guestmem_read(gm, BUF, buf, 400);
	assert_memory_equal(buf, e->file + 161, sizeof(e->file) - 161);
	for (size_t i = sizeof(e->file) - 161; i < 400; i++)
		assert_int_equal(buf[i], 0);
	/* SELECT alone rewinds; a zero-length READ does nothing. */
	put_desc(e, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT, 0, 0);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	put_desc(e, DESC, FW_CFG_DMA_READ, 0, 0xffffffffffffULL);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	assert_int_equal(data_byte(e), 'Q');
	/* An absent key reads zeros. */
	put_desc(e, DESC, 0x3333u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
	guestmem_read(gm, BUF, buf, 4);
	assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);
}

static void test_dma_write_and_bad_control(void **state)
{
	struct env *e = *state;
	/* No item takes writes. */
	put_desc(e, DESC, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 3, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), FW_CFG_DMA_ERROR);
	select_key(e, FW_CFG_FILE_FIRST);
	assert_int_equal(data_byte(e), 'a');
	/* Two operations at once is an error. */
	put_desc(e, DESC, FW_CFG_DMA_READ | FW_CFG_DMA_SKIP, 3, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), FW_CFG_DMA_ERROR);
	/* The error bit from an earlier run is cleared by a good one. */
	put_desc(e, DESC, FW_CFG_DMA_ERROR | FW_CFG_DMA_SKIP, 1, 0);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
}

static void test_dma_hostile_targets(void **state)
{
	struct env *e = *state;
	const uint64_t ram_end = e->m->ram_below_4g;
	struct guestmem *gm = e->m->mem;
	uint8_t rom[16], after[16], sentinel[4] = { 9, 8, 7, 6 }, check[4];
	guestmem_read(gm, ROM_BASE, rom, sizeof(rom));
	guestmem_write(gm, BUF, sentinel, 4);
	const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ ram_end, 16 },                       /* just past RAM */
		{ ram_end - 8, 16 },                   /* straddles the end of RAM */
		{ 0x40000000, 4 },                      /* a hole */
		{ ROM_BASE, 16 },                       /* over the BIOS ROM */
		{ ROM_BASE - 4, 16 },                   /* into the ROM */
		{ 0xfffffffffffffff0ULL, 0x100 },       /* wraps around */
		{ 0, 0xffffffff },                      /* 4 GiB from 0: runs off RAM */
		{ 0xfee00000, 4 },                      /* MMIO, not RAM */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_desc(e, DESC, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
			 bad[i].len, bad[i].addr);
		dma_kick(e, DESC);
		assert_int_equal(dma_control(e, DESC), FW_CFG_DMA_ERROR);
	}
	/* A failed transfer changes nothing, even where RAM was in range. */
	put_desc(e, DESC, FW_CFG_DMA_READ, ram_end, BUF);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), FW_CFG_DMA_ERROR);
	guestmem_read(gm, BUF, check, 4);
	assert_memory_equal(check, sentinel, 4);
	guestmem_read(gm, ROM_BASE, after, sizeof(after));
	assert_memory_equal(rom, after, sizeof(rom));
	/* SKIP never touches memory, so any address is fine. */
	put_desc(e, DESC, FW_CFG_DMA_SKIP, 0xffffffff, 0xfffffffffffffff0ULL);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
}

static void test_dma_hostile_descriptors(void **state)
{
	struct env *e = *state;
	const uint64_t ram_end = e->m->ram_below_4g;
	struct guestmem *gm = e->m->mem;
	/* Outside RAM, straddling RAM's end, wrapping: dropped, no crash. */
	dma_kick(e, ram_end);
	dma_kick(e, ram_end - 8);
	dma_kick(e, 0xfffffffffffffff8ULL);
	dma_kick(e, 0x0000000500000000ULL);
	/* In the ROM: it can be read and acted on but not completed. */
	uint8_t rom[16];
	put_desc(e, ROM_BASE + 0x100, FW_CFG_DMA_READ, 4, BUF);
	guestmem_read(gm, ROM_BASE + 0x100, rom, sizeof(rom));
	dma_kick(e, ROM_BASE + 0x100);
	uint8_t after[16];
	guestmem_read(gm, ROM_BASE + 0x100, after, sizeof(after));
	assert_memory_equal(rom, after, sizeof(rom));
	/* A descriptor above 4 GiB through 0x514; the high half is then
	 * forgotten, so the next 0x518 write alone means below 4 GiB. */
	assert_int_equal(guestmem_add(gm, "high", 0x100000000ULL, 0x10000, NULL, GUESTMEM_RAM,
				      NULL), 0);
	put_desc(e, 0x100000000ULL, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
		 4, 0x100000100ULL);
	dma_kick(e, 0x100000000ULL);
	assert_int_equal(dma_control(e, 0x100000000ULL), 0);
	uint8_t sig[4];
	guestmem_read(gm, 0x100000100ULL, sig, 4);
	assert_memory_equal(sig, "QEMU", 4);
	put_desc(e, DESC, FW_CFG_DMA_SKIP, 1, 0);
	dma_kick(e, DESC);
	assert_int_equal(dma_control(e, DESC), 0);
}

/* Every port offset and size with arbitrary values, and random descriptors. */
static void test_hostile_ports(void **state)
{
	struct env *e = *state;
	struct guestmem *gm = e->m->mem;
	uint32_t seed = 7;
	for (unsigned round = 0; round < 200; round++) {
		for (unsigned off = 0; off < 12; off++) {
			for (unsigned size = 1; size <= 4; size *= 2) {
				seed = seed * 1103515245 + 12345;
				/* Aim DMA at a random but mostly valid descriptor. */
				uint8_t d[16];
				for (int i = 0; i < 16; i++)
					d[i] = (uint8_t)(seed >> (i % 4 * 8)) ^ (uint8_t)(i * 37);
				d[8] = d[9] = d[10] = d[11] = 0;
				d[4] = d[5] = 0;
				guestmem_write(gm, DESC, d, sizeof(d));
				uint32_t v = off == 8 ? __builtin_bswap32(DESC) : seed;
				iobus_write(pio(e), (uint16_t)(0x510 + off), size, v);
				(void)iobus_read(pio(e), (uint16_t)(0x510 + off), size);
			}
		}
	}
	fw_cfg_desc.reset(e->fw);
	uint8_t b[4];
	read_bytes(e, b, 4);
	assert_memory_equal(b, "QEMU", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_select_read_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_write_and_bad_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_hostile_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_hostile_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_ports, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
