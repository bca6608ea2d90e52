/*
 * Unit tests for the ATA disk behind the PIIX IDE function: signatures and
 * IDENTIFY, PIO/multiple/DMA reads and writes with LBA28, LBA48 and CHS
 * addresses, verify, flush, SET FEATURES, soft reset, interrupts and nIEN,
 * and what a hostile guest can do to the registers and the data port.
 * The disk is a fake_blk; requests complete when the test says so.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_blk.h"
#include "fake_machine.h"
#include "ide_rig.h"
#include "machine.h"
#include "pci/pci.h"

#define DISK_BYTES (8u << 20)
#define DISK_SECTORS (DISK_BYTES / 512)
#define IRQ_PRI 14

static struct rig R;
static struct blk *disk;

static int setup_disk(void **state)
{
	disk = fake_blk_create(DISK_BYTES, false);
	enum ide_kind k[4] = { IDE_DISK };
	struct blk *b[4] = { disk };
	rig_init(&R, k, b);
	return 0;
}

static int teardown(void **state)
{
	rig_fini(&R);
	return 0;
}

static void id_string(const uint16_t *id, unsigned first, unsigned words, char *out)
{
	for (unsigned i = 0; i < words; i++) {
		out[2 * i] = (char)(id[first + i] >> 8);
		out[2 * i + 1] = (char)id[first + i];
	}
	out[2 * words] = 0;
	for (int i = (int)(2 * words) - 1; i >= 0 && out[i] == ' '; i--)
		out[i] = 0;
}

static void identify(uint16_t base, unsigned unit, uint16_t id[256])
{
	uint8_t raw[512];
	rig_cmd28(&R, base, unit, 0xec, 0, 0, 0);
	assert_int_equal(rig_alt(&R, base), 0x58);
	rig_read_words(&R, base, raw, 256);
	assert_int_equal(rig_alt(&R, base), 0x50);
	for (unsigned i = 0; i < 256; i++)
		id[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
	uint8_t sum = 0;
	for (unsigned i = 0; i < 512; i++)
		sum = (uint8_t)(sum + raw[i]);
	assert_int_equal(sum, 0);       /* integrity word */
	assert_int_equal(raw[510], 0xa5);
}

/* PIO read of count sectors (one DRQ block of block sectors at a time),
 * checking status and the interrupt at each block. */
static void pio_read(uint16_t base, uint8_t *buf, unsigned count, unsigned block)
{
	unsigned done = 0;
	while (done < count) {
		uint8_t st = rig_wait(&R, base);
		assert_int_equal(st, 0x58);
		assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
		assert_int_equal(rig_inb(&R, base + R_STATUS), 0x58);
		assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
		unsigned n = count - done < block ? count - done : block;
		rig_read_words(&R, base, buf + done * 512, n * 256);
		done += n;
	}
	assert_int_equal(rig_wait(&R, base), 0x50);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
}

static void pio_write(uint16_t base, const uint8_t *buf, unsigned count, unsigned block)
{
	unsigned done = 0;
	bool first = true;
	while (done < count) {
		uint8_t st = rig_wait(&R, base);
		assert_int_equal(st, 0x58);
		/* PIO out: no interrupt before the first block, one after each. */
		assert_int_equal(fake_machine_irq_level(R.m, IRQ_PRI), !first);
		rig_inb(&R, base + R_STATUS);
		unsigned n = count - done < block ? count - done : block;
		rig_write_words(&R, base, buf + done * 512, n * 256);
		done += n;
		first = false;
	}
	assert_int_equal(rig_wait(&R, base), 0x50);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_inb(&R, base + R_STATUS);
}

static void expect_error(uint16_t base, uint8_t error)
{
	assert_int_equal(rig_wait(&R, base), 0x51);
	assert_int_equal(rig_inb(&R, base + R_ERR), error);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_inb(&R, base + R_STATUS);
}

/* ---- signature, IDENTIFY ----------------------------------------------- */

static void test_power_on_signature(void **state)
{
	assert_int_equal(rig_inb(&R, PRI + R_STATUS), 0x50);
	assert_int_equal(rig_inb(&R, PRI + R_ERR), 0x01);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 1);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 1);
	assert_int_equal(rig_inb(&R, PRI + R_LBAM), 0);
	assert_int_equal(rig_inb(&R, PRI + R_LBAH), 0);
	/* The missing slave: its status reads 0, its signature ff/ff. */
	rig_select(&R, PRI, 1);
	assert_int_equal(rig_inb(&R, PRI + R_STATUS), 0);
	assert_int_equal(rig_alt(&R, PRI), 0);
	assert_int_equal(rig_inb(&R, PRI + R_LBAM), 0xff);
	assert_int_equal(rig_inb(&R, PRI + R_LBAH), 0xff);
	/* ...but its registers latch, as SeaBIOS's 55/aa probe sees. */
	rig_outb(&R, PRI + R_NSECT, 0x55);
	rig_outb(&R, PRI + R_LBAL, 0xaa);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 0x55);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 0xaa);
	assert_int_equal(rig_inb(&R, PRI + R_DEV), 0xb0);
	/* Commands to it go nowhere. */
	rig_outb(&R, PRI + R_STATUS, 0xec);
	assert_int_equal(rig_alt(&R, PRI), 0);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	/* The empty secondary channel floats. */
	assert_int_equal(rig_inb(&R, SEC + R_STATUS), 0xff);
	assert_int_equal(rig_in(&R, SEC, 2), 0xffff);
	assert_int_equal(rig_alt(&R, SEC), 0xff);
}

static void test_identify_device(void **state)
{
	uint16_t id[256];
	char s[41];
	identify(PRI, 0, id);
	assert_int_equal(id[0], 0x0040);
	assert_int_equal(id[1], 240);   /* VHD geometry of 8 MiB: 240/4/17 */
	assert_int_equal(id[3], 4);
	assert_int_equal(id[6], 17);
	id_string(id, 27, 20, s);
	assert_string_equal(s, "Lodge HARDDISK");
	id_string(id, 10, 10, s);
	assert_string_equal(s, "LODGE-IDE00");
	id_string(id, 23, 4, s);
	assert_string_equal(s, LODGE_VERSION);
	assert_int_equal(id[47], 0x8010);
	assert_int_equal(id[49] & 0x0300, 0x0300);      /* LBA, DMA */
	assert_int_equal(id[53] & 7, 7);
	assert_int_equal(id[54], 240);
	assert_int_equal(id[55], 4);
	assert_int_equal(id[56], 17);
	assert_int_equal(id[57] | id[58] << 16, 240 * 4 * 17);
	assert_int_equal(id[59], 0x0110);
	assert_int_equal(id[60] | id[61] << 16, DISK_SECTORS);
	assert_int_equal(id[63] & 7, 7);
	assert_int_equal(id[64], 3);
	assert_int_equal(id[83] & 0xc400, 0x4400);      /* 48-bit */
	assert_int_equal(id[83] & 0x3000, 0x3000);      /* FLUSH CACHE (EXT) */
	assert_int_equal(id[85] & 0x0020, 0x0020);      /* write cache on */
	assert_int_equal(id[86] & 0x0400, 0x0400);
	assert_int_equal(id[88] & 0x3f, 0x3f);
	assert_int_equal(id[93] & 0xdf61, 0x4041);      /* no slave: SeaBIOS skips it */
	assert_int_equal(id[100] | id[101] << 16, DISK_SECTORS);
	assert_int_equal(id[102] | id[103], 0);
}

static void test_identify_packet_aborts_on_disk(void **state)
{
	rig_cmd28(&R, PRI, 0, 0xa1, 0, 0, 0);
	expect_error(PRI, 0x04);
	/* ...and the disk stays a disk. */
	assert_int_equal(rig_inb(&R, PRI + R_LBAM), 0);
	rig_cmd28(&R, PRI, 0, 0xa0, 0, 0, 0);
	expect_error(PRI, 0x04);
	rig_cmd28(&R, PRI, 0, 0x08, 0, 0, 0);    /* DEVICE RESET: packet devices only */
	expect_error(PRI, 0x04);
}

static void test_slave_disk_and_reset_result(void **state)
{
	struct blk *slave = fake_blk_create(1 << 20, false);
	struct rig r2;
	enum ide_kind k[4] = { IDE_DISK, IDE_DISK };
	struct blk *b[4] = { fake_blk_create(1 << 20, false), slave };
	struct rig saved = R;
	rig_init(&r2, k, b);
	R = r2;
	uint16_t id[256];
	identify(PRI, 0, id);
	assert_int_not_equal(id[93] & 0xdf61, 0x4041);  /* there is a slave */
	assert_int_equal(id[93] & 0x0020, 0x0020);
	identify(PRI, 1, id);
	assert_int_equal(id[93] & 0x1f00, 0x0b00);
	assert_int_equal(id[60] | id[61] << 16, 2048);
	/* Read from the slave: its data, not the master's. */
	uint8_t buf[512];
	fake_blk_data(slave)[5 * 512] ^= 0xff;
	rig_cmd28(&R, PRI, 1, 0x20, 0, 1, 5);
	pio_read(PRI, buf, 1, 1);
	assert_int_equal(buf[0], fake_blk_pattern(5 * 512) ^ 0xff);
	rig_fini(&R);
	R = saved;
}

/* ---- PIO reads and writes ---------------------------------------------- */

static void test_read_sectors_lba28(void **state)
{
	uint8_t buf[3 * 512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 3, 100);
	pio_read(PRI, buf, 3, 1);
	rig_expect_pattern(buf, 100 * 512, sizeof(buf));
	assert_int_equal(fake_machine_irq_edges(R.m, IRQ_PRI), 3);
}

static void test_read_count_zero_is_256(void **state)
{
	uint8_t *buf = malloc(256 * 512);
	rig_cmd28(&R, PRI, 0, 0x21, 0, 0, 1000);
	pio_read(PRI, buf, 256, 1);
	rig_expect_pattern(buf, 1000 * 512, 256 * 512);
	free(buf);
}

static void test_read_ext_lba48_across_chunks(void **state)
{
	/* 300 sectors: the device's read-ahead refills in the middle. */
	uint8_t *buf = malloc(300 * 512);
	rig_cmd48(&R, PRI, 0, 0x24, 300, 9000);
	pio_read(PRI, buf, 300, 1);
	rig_expect_pattern(buf, 9000ULL * 512, 300 * 512);
	free(buf);
	/* 32-bit data port accesses move two words. */
	uint8_t b2[512];
	rig_cmd48(&R, PRI, 0, 0x24, 1, 77);
	assert_int_equal(rig_wait(&R, PRI), 0x58);
	for (unsigned i = 0; i < 128; i++) {
		uint32_t v = rig_in(&R, PRI, 4);
		memcpy(b2 + 4 * i, &v, 4);
	}
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_expect_pattern(b2, 77 * 512, 512);
}

static void test_read_chs(void **state)
{
	uint8_t buf[2 * 512];
	/* Cylinder 3, head 2, sector 5 of 240/4/17 = LBA (3*4+2)*17+4. */
	rig_cmd_chs(&R, PRI, 0, 0x20, 2, 3, 2, 5);
	pio_read(PRI, buf, 2, 1);
	rig_expect_pattern(buf, ((3 * 4 + 2) * 17 + 4) * 512, sizeof(buf));
	/* Sector 0 and a head past the translation do not exist. */
	rig_cmd_chs(&R, PRI, 0, 0x20, 1, 0, 0, 0);
	expect_error(PRI, 0x10);
	rig_cmd_chs(&R, PRI, 0, 0x20, 1, 0, 4, 1);
	expect_error(PRI, 0x10);
	rig_cmd_chs(&R, PRI, 0, 0x20, 1, 240, 0, 1);
	expect_error(PRI, 0x10);
}

static void test_initialize_device_parameters(void **state)
{
	uint16_t id[256];
	uint8_t buf[512];
	/* 8 heads, 32 sectors per track. */
	rig_outb(&R, PRI + R_DEV, 0xa0 | 7);
	rig_outb(&R, PRI + R_NSECT, 32);
	rig_outb(&R, PRI + R_STATUS, 0x91);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	identify(PRI, 0, id);
	assert_int_equal(id[54], DISK_SECTORS / (8 * 32));
	assert_int_equal(id[55], 8);
	assert_int_equal(id[56], 32);
	assert_int_equal(id[1], 240);           /* the default stays */
	rig_cmd_chs(&R, PRI, 0, 0x20, 1, 10, 7, 32);
	pio_read(PRI, buf, 1, 1);
	rig_expect_pattern(buf, ((10 * 8 + 7) * 32 + 31) * 512, 512);
	/* 0 sectors per track is refused. */
	rig_outb(&R, PRI + R_NSECT, 0);
	rig_outb(&R, PRI + R_STATUS, 0x91);
	expect_error(PRI, 0x04);
}

static void test_write_sectors(void **state)
{
	uint8_t buf[2 * 512];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 3 + 1);
	rig_cmd28(&R, PRI, 0, 0x30, 0, 2, 50);
	pio_write(PRI, buf, 2, 1);
	assert_memory_equal(fake_blk_data(disk) + 50 * 512, buf, sizeof(buf));
	rig_expect_pattern(fake_blk_data(disk) + 52 * 512, 52 * 512, 512);
	rig_cmd48(&R, PRI, 0, 0x34, 1, 60);
	pio_write(PRI, buf, 1, 1);
	assert_memory_equal(fake_blk_data(disk) + 60 * 512, buf, 512);
}

static void test_multiple_mode(void **state)
{
	uint8_t *buf = malloc(10 * 512);
	rig_outb(&R, PRI + R_NSECT, 4);
	rig_outb(&R, PRI + R_STATUS, 0xc6);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	uint16_t id[256];
	identify(PRI, 0, id);
	assert_int_equal(id[59], 0x0104);
	fake_machine_clear_irq_edges(R.m);
	rig_cmd28(&R, PRI, 0, 0xc4, 0, 10, 200);
	pio_read(PRI, buf, 10, 4);
	rig_expect_pattern(buf, 200 * 512, 10 * 512);
	assert_int_equal(fake_machine_irq_edges(R.m, IRQ_PRI), 3);     /* 4 + 4 + 2 */
	for (unsigned i = 0; i < 10 * 512; i++)
		buf[i] = (uint8_t)~i;
	rig_cmd48(&R, PRI, 0, 0x39, 10, 300);
	pio_write(PRI, buf, 10, 4);
	assert_memory_equal(fake_blk_data(disk) + 300 * 512, buf, 10 * 512);
	/* Not a power of two, or too big: refused, the setting stays. */
	rig_outb(&R, PRI + R_NSECT, 3);
	rig_outb(&R, PRI + R_STATUS, 0xc6);
	expect_error(PRI, 0x04);
	rig_outb(&R, PRI + R_NSECT, 32);
	rig_outb(&R, PRI + R_STATUS, 0xc6);
	expect_error(PRI, 0x04);
	/* 0 disables multiple mode; READ MULTIPLE is then refused. */
	rig_outb(&R, PRI + R_NSECT, 0);
	rig_outb(&R, PRI + R_STATUS, 0xc6);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0xc4, 0, 1, 0);
	expect_error(PRI, 0x04);
	rig_cmd48(&R, PRI, 0, 0x29, 1, 0);
	expect_error(PRI, 0x04);
	free(buf);
}

/* ---- range, errors ----------------------------------------------------- */

static void test_out_of_range_is_idnf(void **state)
{
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, DISK_SECTORS);
	expect_error(PRI, 0x10);
	rig_cmd28(&R, PRI, 0, 0x20, 0, 2, DISK_SECTORS - 1);     /* runs off the end */
	expect_error(PRI, 0x10);
	/* The failing address is reported. */
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), (uint8_t)DISK_SECTORS);
	assert_int_equal(rig_inb(&R, PRI + R_LBAM), (uint8_t)(DISK_SECTORS >> 8));
	rig_cmd48(&R, PRI, 0, 0x24, 1, 1ULL << 40);
	expect_error(PRI, 0x10);
	rig_cmd48(&R, PRI, 0, 0x25, 0, 0);       /* 65536 sectors of 16384 */
	expect_error(PRI, 0x10);
	rig_cmd28(&R, PRI, 0, 0x30, 0, 1, 0x0fffffff);
	expect_error(PRI, 0x10);
	rig_cmd28(&R, PRI, 0, 0x40, 0, 1, DISK_SECTORS);
	expect_error(PRI, 0x10);
	rig_cmd28(&R, PRI, 0, 0x70, 0, 0, DISK_SECTORS);   /* SEEK */
	expect_error(PRI, 0x10);
	struct fake_blk_stats s;
	fake_blk_stats(disk, &s);
	assert_int_equal(s.reads + s.writes, 0);
}

static void test_read_error_is_unc(void **state)
{
	fake_blk_fail_next(disk, BLK_READ, -EIO);
	rig_cmd28(&R, PRI, 0, 0x20, 0, 4, 123);
	expect_error(PRI, 0x40);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 123);
	/* The next command works. */
	uint8_t buf[512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 123);
	pio_read(PRI, buf, 1, 1);
	rig_expect_pattern(buf, 123 * 512, 512);
	/* A request the block layer refuses outright is an error too. */
	fake_blk_refuse_next(disk, -ENOMEM);
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 1);
	expect_error(PRI, 0x40);
}

static void test_write_error_sets_df(void **state)
{
	uint8_t buf[512] = { 1 };
	fake_blk_fail_next(disk, BLK_WRITE, -EIO);
	rig_cmd28(&R, PRI, 0, 0x30, 0, 1, 7);
	assert_int_equal(rig_wait(&R, PRI), 0x58);
	rig_write_words(&R, PRI, buf, 256);
	assert_int_equal(rig_wait(&R, PRI), 0x71);      /* DRDY DF DSC ERR */
	assert_int_equal(rig_inb(&R, PRI + R_ERR), 0x04);
}

static void test_read_only_disk_refuses_writes(void **state)
{
	struct rig saved = R;
	enum ide_kind k[4] = { IDE_DISK };
	struct blk *b[4] = { fake_blk_create(1 << 20, true) };
	rig_init(&R, k, b);
	rig_cmd28(&R, PRI, 0, 0x30, 0, 1, 0);
	expect_error(PRI, 0x04);
	rig_cmd28(&R, PRI, 0, 0xca, 0, 1, 0);
	expect_error(PRI, 0x04);
	uint8_t buf[512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 0);
	pio_read(PRI, buf, 1, 1);
	rig_fini(&R);
	R = saved;
}

/* ---- verify, flush, features, misc ------------------------------------- */

static void test_verify_reads_without_transfer(void **state)
{
	struct fake_blk_stats s;
	rig_cmd28(&R, PRI, 0, 0x40, 0, 0, 10);   /* 256 sectors */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	fake_blk_stats(disk, &s);
	assert_int_equal(s.bytes_read, 256 * 512);
	fake_blk_fail_next(disk, BLK_READ, -EIO);
	rig_cmd48(&R, PRI, 0, 0x42, 300, 1000);
	expect_error(PRI, 0x40);
}

static void test_flush_reaches_blk(void **state)
{
	struct fake_blk_stats s;
	rig_cmd28(&R, PRI, 0, 0xe7, 0, 0, 0);
	assert_int_equal(rig_alt(&R, PRI), 0x80);       /* busy while flushing */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0xea, 0, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	fake_blk_stats(disk, &s);
	assert_int_equal(s.flushes, 2);
	fake_blk_fail_next(disk, BLK_FLUSH, -EIO);
	rig_cmd28(&R, PRI, 0, 0xe7, 0, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x71);
}

static void test_set_features(void **state)
{
	uint16_t id[256];
	struct fake_blk_stats s;
	/* Transfer mode: multiword DMA 2, then UDMA 5. */
	rig_cmd28(&R, PRI, 0, 0xef, 0x03, 0x22, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	identify(PRI, 0, id);
	assert_int_equal(id[63], 0x0407);
	assert_int_equal(id[88], 0x003f);
	rig_cmd28(&R, PRI, 0, 0xef, 0x03, 0x45, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	identify(PRI, 0, id);
	assert_int_equal(id[63], 0x0007);
	assert_int_equal(id[88], 0x203f);
	rig_cmd28(&R, PRI, 0, 0xef, 0x03, 0x46, 0);      /* UDMA 6: not offered */
	expect_error(PRI, 0x04);
	rig_cmd28(&R, PRI, 0, 0xef, 0x03, 0x23, 0);
	expect_error(PRI, 0x04);
	rig_cmd28(&R, PRI, 0, 0xef, 0x03, 0x0c, 0);      /* PIO 4 */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	/* Write cache off: flushed now, and every write completes after one. */
	rig_cmd28(&R, PRI, 0, 0xef, 0x82, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	fake_blk_stats(disk, &s);
	assert_int_equal(s.flushes, 1);
	identify(PRI, 0, id);
	assert_int_equal(id[85] & 0x20, 0);
	uint8_t buf[512] = { 9 };
	rig_cmd28(&R, PRI, 0, 0x30, 0, 1, 3);
	pio_write(PRI, buf, 1, 1);
	fake_blk_stats(disk, &s);
	assert_int_equal(s.flushes, 2);
	rig_cmd28(&R, PRI, 0, 0xef, 0x02, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	identify(PRI, 0, id);
	assert_int_equal(id[85] & 0x20, 0x20);
	/* Look-ahead off/on, revert-to-defaults; an unknown feature aborts. */
	rig_cmd28(&R, PRI, 0, 0xef, 0x55, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	identify(PRI, 0, id);
	assert_int_equal(id[85] & 0x40, 0);
	rig_cmd28(&R, PRI, 0, 0xef, 0xaa, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0xef, 0x66, 0, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0xef, 0x05, 0, 0);         /* APM: not offered */
	expect_error(PRI, 0x04);
}

static void test_misc_commands(void **state)
{
	rig_cmd28(&R, PRI, 0, 0x10, 0, 0, 0);            /* RECALIBRATE */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0x70, 0, 0, 100);          /* SEEK */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_cmd28(&R, PRI, 0, 0xe5, 0, 0, 0);            /* CHECK POWER MODE */
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 0xff);
	for (uint8_t c = 0xe0; c <= 0xe3; c++) {
		rig_cmd28(&R, PRI, 0, c, 0, 0, 0);
		assert_int_equal(rig_wait(&R, PRI), 0x50);
	}
	rig_cmd28(&R, PRI, 0, 0x00, 0, 0, 0);            /* NOP aborts */
	expect_error(PRI, 0x04);
	/* EXECUTE DEVICE DIAGNOSTIC: signature, code 01, device 0 interrupts. */
	rig_outb(&R, PRI + R_NSECT, 0x33);
	rig_outb(&R, PRI + R_STATUS, 0x90);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	assert_int_equal(rig_inb(&R, PRI + R_ERR), 0x01);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 1);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
}

/* Every opcode: the device answers each one and never hangs or crashes. */
static void test_every_opcode(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		if (c == 0x90)
			continue;
		rig_cmd28(&R, PRI, 0, (uint8_t)c, 0, 1, 0);
		uint8_t st = rig_wait(&R, PRI);
		/* Drain any data phase, in or out, so the next command runs. */
		for (unsigned i = 0; i < 600 && (st & 0x08); i++) {
			rig_in(&R, PRI, 2);
			rig_out(&R, PRI, 2, 0);
			st = rig_wait(&R, PRI);
		}
		if (st & 0x08) {
			/* A DMA command waiting for the engine: reset it away. */
			rig_ctl(&R, PRI, 0x04);
			rig_ctl(&R, PRI, 0x00);
			st = rig_wait(&R, PRI);
		}
		assert_int_equal(st & 0xc8, 0x40);
		rig_inb(&R, PRI + R_STATUS);
	}
}

/* ---- interrupts, reset ------------------------------------------------- */

static void test_nien_and_status_acknowledge(void **state)
{
	rig_ctl(&R, PRI, 0x02);                 /* nIEN */
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x58);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	assert_int_equal(rig_bm_status(&R, 0) & 0x04, 0);
	/* Clearing nIEN with the interrupt pending asserts it. */
	rig_ctl(&R, PRI, 0x00);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	assert_int_equal(rig_bm_status(&R, 0) & 0x04, 0x04);
	rig_alt(&R, PRI);                       /* alternate status does not ack */
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	/* Selecting the other device hides it, selecting back shows it. */
	rig_select(&R, PRI, 1);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_select(&R, PRI, 0);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_inb(&R, PRI + R_STATUS);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	uint8_t buf[512];
	rig_read_words(&R, PRI, buf, 256);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
}

static void test_soft_reset(void **state)
{
	/* Mid-transfer, registers dirty, multiple mode set. */
	rig_cmd28(&R, PRI, 0, 0x20, 0, 4, 10);
	assert_int_equal(rig_wait(&R, PRI), 0x58);
	rig_ctl(&R, PRI, 0x0e);                 /* SRST | nIEN, as SeaBIOS does */
	assert_int_equal(rig_alt(&R, PRI), 0x80);
	rig_outb(&R, PRI + R_NSECT, 0x77);      /* ignored while in reset */
	rig_outb(&R, PRI + R_STATUS, 0xec);
	rig_ctl(&R, PRI, 0x0a);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 1);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 1);
	assert_int_equal(rig_inb(&R, PRI + R_ERR), 1);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	assert_int_equal(rig_in(&R, PRI, 2), 0xffff);   /* the transfer is gone */
	assert_int_equal(rig_alt(&R, PRI), 0x50);
}

static void test_soft_reset_with_request_in_flight(void **state)
{
	rig_cmd28(&R, PRI, 0, 0x20, 0, 8, 10);
	assert_int_equal(rig_alt(&R, PRI), 0x80);
	assert_int_equal(fake_blk_pending(disk), 1);
	rig_ctl(&R, PRI, 0x04);
	rig_ctl(&R, PRI, 0x00);
	/* The reset waits for the request: still busy. */
	assert_int_equal(rig_alt(&R, PRI), 0x80);
	rig_outb(&R, PRI + R_STATUS, 0x20);     /* ignored */
	assert_int_equal(fake_blk_drain(disk), 1);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 1);
	assert_int_equal(rig_in(&R, PRI, 2), 0xffff);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	/* And the channel works afterwards. */
	uint8_t buf[512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 11);
	pio_read(PRI, buf, 1, 1);
	rig_expect_pattern(buf, 11 * 512, 512);
	/* A flush and a write cut short by SRST: when their requests come
	 * back, nothing completes and nothing interrupts. */
	rig_inb(&R, PRI + R_STATUS);
	rig_cmd28(&R, PRI, 0, 0xe7, 0, 0, 0);
	rig_ctl(&R, PRI, 0x04);
	rig_ctl(&R, PRI, 0x00);
	assert_int_equal(fake_blk_drain(disk), 1);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_cmd28(&R, PRI, 0, 0x30, 0, 2, 11);
	rig_write_words(&R, PRI, buf, 256);
	assert_int_equal(rig_alt(&R, PRI), 0x80);
	rig_ctl(&R, PRI, 0x04);
	rig_ctl(&R, PRI, 0x00);
	assert_int_equal(fake_blk_drain(disk), 1);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
}

static void test_power_on_reset_waits_for_io(void **state)
{
	/* A worker thread completes the request 20 ms later; the machine's
	 * reset must wait for it and then start clean. */
	fake_blk_set_threaded(disk, 20000);
	rig_cmd28(&R, PRI, 0, 0x20, 0, 8, 10);
	rig_power_on(&R);
	assert_int_equal(fake_blk_pending(disk), 0);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	uint16_t id[256];
	rig_cmd28(&R, PRI, 0, 0x30, 0, 1, 20);
	for (unsigned i = 0; i < 1000 && rig_alt(&R, PRI) != 0x58; i++)
		;
	assert_int_equal(rig_alt(&R, PRI), 0x58);
	memset(id, 0x5a, sizeof(id));
	rig_write_words(&R, PRI, id, 256);
	/* Destroy (in teardown) with the write still in flight waits too. */
}

static void test_hob_and_register_readback(void **state)
{
	rig_outb(&R, PRI + R_LBAL, 0x11);
	rig_outb(&R, PRI + R_LBAL, 0x22);
	rig_outb(&R, PRI + R_NSECT, 0x33);
	rig_outb(&R, PRI + R_NSECT, 0x44);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 0x22);
	rig_ctl(&R, PRI, 0x80);                 /* HOB */
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 0x11);
	assert_int_equal(rig_inb(&R, PRI + R_NSECT), 0x33);
	rig_outb(&R, PRI + R_LBAM, 0x55);       /* any write clears HOB */
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 0x22);
	/* Device register reads back with the obsolete bits set. */
	rig_outb(&R, PRI + R_DEV, 0x0f);
	assert_int_equal(rig_inb(&R, PRI + R_DEV), 0xaf);
	/* Wide accesses to the task file reach consecutive registers. */
	rig_out(&R, PRI + R_NSECT, 2, 0x6655);
	assert_int_equal(rig_in(&R, PRI + R_NSECT, 2), 0x6655);
	rig_out(&R, PRI + R_ERR, 4, 0x99887766);
	assert_int_equal(rig_in(&R, PRI + R_NSECT, 1), 0x77);
	assert_int_equal(rig_in(&R, PRI + R_LBAL, 1), 0x88);
	assert_int_equal(rig_in(&R, PRI + R_LBAM, 1), 0x99);
}

/* ---- DMA --------------------------------------------------------------- */

#define TABLE 0x10000u
#define BUF 0x100000u

static void dma_complete_ok(unsigned expect_bm)
{
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	assert_true(fake_machine_irq_level(R.m, IRQ_PRI));
	assert_int_equal(rig_bm_status(&R, 0) & 0x07, expect_bm);
	rig_bm_cmd(&R, 0, 0x00);
	rig_inb(&R, PRI + R_STATUS);
	rig_bm_clear(&R, 0);
}

static void test_dma_read(void **state)
{
	struct rig_prd prd[2] = { { BUF, 4096, false }, { BUF + 0x20000, 2048, true } };
	rig_prd_table(&R, TABLE, prd, 2);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 12, 500);
	assert_int_equal(rig_alt(&R, PRI), 0x58);       /* waits for the engine */
	assert_int_equal(fake_blk_pending(disk), 0);
	rig_bm_cmd(&R, 0, 0x09);
	assert_int_equal(rig_bm_status(&R, 0) & 0x01, 0x01);
	dma_complete_ok(0x04);                  /* table consumed: not active */
	rig_expect_pattern(rig_ram(&R, BUF, 4096), 500 * 512, 4096);
	rig_expect_pattern(rig_ram(&R, BUF + 0x20000, 2048), 508 * 512, 2048);
}

static void test_dma_start_before_command_and_big_ext(void **state)
{
	/* 600 sectors (300 KiB) over 64 KiB regions (count 0 = 64 KiB);
	 * the table is longer than the transfer, so Active stays set. */
	struct rig_prd prd[6];
	for (unsigned i = 0; i < 6; i++)
		prd[i] = (struct rig_prd){ BUF + i * 0x10000, 0, i == 5 };
	rig_prd_table(&R, TABLE, prd, 6);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_bm_cmd(&R, 0, 0x09);
	rig_cmd48(&R, PRI, 0, 0x25, 600, 2000);
	dma_complete_ok(0x05);
	rig_expect_pattern(rig_ram(&R, BUF, 600 * 512), 2000ULL * 512, 600 * 512);
}

static void test_dma_write(void **state)
{
	uint8_t *src = rig_ram(&R, BUF, 8192);
	for (unsigned i = 0; i < 8192; i++)
		src[i] = (uint8_t)(i ^ 0x5a);
	/* Odd-sized regions: sectors straddle PRD entries. */
	struct rig_prd prd[3] = { { BUF, 1000, false }, { BUF + 1000, 7000, false },
				  { BUF + 8000, 192, true } };
	rig_prd_table(&R, TABLE, prd, 3);
	rig_bm_setup(&R, 0, TABLE, false);
	rig_cmd28(&R, PRI, 0, 0xca, 0, 16, 40);
	rig_bm_cmd(&R, 0, 0x01);
	dma_complete_ok(0x04);
	assert_memory_equal(fake_blk_data(disk) + 40 * 512, src, 8192);
	rig_cmd48(&R, PRI, 0, 0x35, 16, 4000);
	rig_bm_setup(&R, 0, TABLE, false);
	rig_bm_cmd(&R, 0, 0x01);
	dma_complete_ok(0x04);
	assert_memory_equal(fake_blk_data(disk) + 4000 * 512, src, 8192);
}

static void test_dma_tiny_prd_regions(void **state)
{
	/* A 6-byte region, then 2045 two-byte regions: 4 KiB in more pieces
	 * than one chunk's scatter list holds. The first chunk ends off a
	 * sector boundary, so the engine gives the tail back and resumes
	 * from the middle of the table. */
	const unsigned n = 2046;
	struct rig_prd *prd = calloc(n, sizeof(*prd));
	prd[0] = (struct rig_prd){ BUF, 6, false };
	for (unsigned i = 1; i < n; i++)
		prd[i] = (struct rig_prd){ BUF + 8 + 4 * (i - 1), 2, i == n - 1 };
	rig_prd_table(&R, TABLE, prd, n);
	free(prd);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 8, 77);
	rig_bm_cmd(&R, 0, 0x09);
	dma_complete_ok(0x04);
	const uint8_t *ram = rig_ram(&R, BUF, 8 + 4 * n);
	for (unsigned k = 0; k < 4096; k++) {
		unsigned at = k < 6 ? k : 8 + 4 * ((k - 6) / 2) + (k - 6) % 2;
		if (ram[at] != fake_blk_pattern(77 * 512 + k))
			fail_msg("transfer byte %u landed wrong", k);
	}
	for (unsigned i = 1; i < n; i++)
		assert_int_equal(ram[8 + 4 * (i - 1) + 2], 0);
}

static void expect_dma_fault(void)
{
	assert_int_equal(rig_wait(&R, PRI), 0x51);
	assert_int_equal(rig_inb(&R, PRI + R_ERR), 0x04);
	assert_int_equal(rig_bm_status(&R, 0) & 0x07, 0x06);    /* error, irq */
	rig_bm_cmd(&R, 0, 0);
	rig_bm_clear(&R, 0);
}

static void test_dma_hostile_tables(void **state)
{
	struct fake_blk_stats s;
	/* Table outside RAM. */
	rig_bm_setup(&R, 0, 0xfff00000u, true);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 1, 0);
	rig_bm_cmd(&R, 0, 0x09);
	expect_dma_fault();
	/* A region outside RAM, and one running past 4 GiB. */
	struct rig_prd bad[2] = { { RIG_RAM - 256, 512, true }, { 0xffffff00u, 512, true } };
	for (unsigned i = 0; i < 2; i++) {
		rig_prd_table(&R, TABLE, &bad[i], 1);
		rig_bm_setup(&R, 0, TABLE, true);
		rig_cmd28(&R, PRI, 0, 0xc8, 0, 1, 0);
		rig_bm_cmd(&R, 0, 0x09);
		expect_dma_fault();
	}
	/* No EOT anywhere: the walk stops at the table's 64 KiB region. */
	struct rig_prd *loop = calloc(8192, sizeof(*loop));
	for (unsigned i = 0; i < 8192; i++)
		loop[i] = (struct rig_prd){ BUF, 2, false };
	rig_prd_table(&R, TABLE, loop, 8192);
	free(loop);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_cmd48(&R, PRI, 0, 0x25, 100, 0);    /* 51200 bytes > 8192 * 2 */
	rig_bm_cmd(&R, 0, 0x09);
	expect_dma_fault();
	/* Too short a table (EOT before the transfer ends): the whole
	 * sectors it holds move, then the engine fails. */
	struct rig_prd shortp[1] = { { BUF, 700, true } };
	rig_prd_table(&R, TABLE, shortp, 1);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 4, 0);
	rig_bm_cmd(&R, 0, 0x09);
	expect_dma_fault();
	/* Reads into ROM-less but unmapped space from the device side are
	 * fine to try for writes too: DMA out of a hole faults. */
	rig_prd_table(&R, TABLE, bad, 1);
	rig_bm_setup(&R, 0, TABLE, false);
	rig_cmd28(&R, PRI, 0, 0xca, 0, 1, 0);
	rig_bm_cmd(&R, 0, 0x01);
	expect_dma_fault();
	fake_blk_stats(disk, &s);
	assert_int_equal(s.writes, 0);
	/* The channel still works. */
	struct rig_prd good[1] = { { BUF, 512, true } };
	rig_prd_table(&R, TABLE, good, 1);
	rig_bm_setup(&R, 0, TABLE, true);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 1, 3);
	rig_bm_cmd(&R, 0, 0x09);
	dma_complete_ok(0x04);
	rig_expect_pattern(rig_ram(&R, BUF, 512), 3 * 512, 512);
}

static void test_dma_stop_and_bus_master_off(void **state)
{
	struct rig_prd prd[1] = { { BUF, 0, true } };
	rig_prd_table(&R, TABLE, prd, 1);
	rig_bm_setup(&R, 0, TABLE, true);
	/* Bus mastering disabled in PCI: nothing moves until it is on. */
	rig_config_write(&R, PCI_COMMAND, 2, PCI_COMMAND_IO);
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 8, 0);
	rig_bm_cmd(&R, 0, 0x09);
	assert_int_equal(fake_blk_pending(disk), 0);
	assert_int_equal(rig_alt(&R, PRI), 0x58);
	rig_config_write(&R, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	assert_int_equal(fake_blk_pending(disk), 1);
	/* The host stops the engine with the request in flight: the data
	 * lands, and since it was all of it the command completes. */
	rig_bm_cmd(&R, 0, 0x08);
	assert_int_equal(rig_bm_status(&R, 0) & 0x01, 0);
	assert_int_equal(rig_wait(&R, PRI), 0x50);
	rig_expect_pattern(rig_ram(&R, BUF, 4096), 0, 4096);
	rig_inb(&R, PRI + R_STATUS);
	rig_bm_clear(&R, 0);
	/* A DMA command with the engine never started is cancelled by SRST. */
	rig_cmd28(&R, PRI, 0, 0xc8, 0, 1, 0);
	assert_int_equal(rig_alt(&R, PRI), 0x58);
	rig_ctl(&R, PRI, 0x04);
	rig_ctl(&R, PRI, 0x00);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	rig_bm_cmd(&R, 0, 0x09);
	assert_int_equal(fake_blk_pending(disk), 0);
}

static uint32_t bm_in(unsigned off, unsigned size)
{
	return rig_bm_read(&R, off, size);
}

static void bm_out(unsigned off, unsigned size, uint32_t v)
{
	rig_bm_write(&R, off, size, v);
}

static void test_bm_registers(void **state)
{
	for (unsigned ch = 0; ch < 2; ch++) {
		unsigned b = 8 * ch;
		/* Table pointer: dword aligned, any access width. */
		bm_out(b + 4, 4, 0x12345677);
		assert_int_equal(bm_in(b + 4, 4), 0x12345674);
		bm_out(b + 6, 2, 0xabcd);
		assert_int_equal(bm_in(b + 4, 4), 0xabcd5674);
		bm_out(b + 4, 1, 0xff);
		assert_int_equal(bm_in(b + 4, 2), 0x56fc);
		/* Command: start and direction only. */
		bm_out(b, 1, 0xff);
		assert_int_equal(bm_in(b, 1), 0x09);
		assert_int_equal(bm_in(b + 2, 1) & 0x01, 0x01);  /* active */
		bm_out(b, 1, 0x00);
		assert_int_equal(bm_in(b + 2, 1) & 0x01, 0x00);
		/* Status: scratch bits 5-6 stick, 1-2 clear by writing one, 0 and
		 * 7 are read-only; reserved bytes read 0. */
		bm_out(b + 2, 1, 0xff);
		assert_int_equal(bm_in(b + 2, 1), 0x60);
		bm_out(b + 2, 1, 0x00);
		assert_int_equal(bm_in(b + 2, 1), 0x00);
		assert_int_equal(bm_in(b + 1, 1), 0);
		assert_int_equal(bm_in(b + 3, 1), 0);
		/* A dword at 0 covers command, status and the reserved bytes. */
		bm_out(b, 4, 0xffff6008);
		assert_int_equal(bm_in(b, 4), 0x00600008);
	}
	/* The two channels are independent. */
	bm_out(4, 4, 0x1000);
	bm_out(12, 4, 0x2000);
	assert_int_equal(bm_in(4, 4), 0x1000);
	assert_int_equal(bm_in(12, 4), 0x2000);
	/* A power-on reset clears them. */
	rig_power_on(&R);
	assert_int_equal(bm_in(0, 4) | bm_in(4, 4) | bm_in(8, 4) | bm_in(12, 4), 0);
	/* The interrupt bit latches the rising edge of the channel's INTRQ
	 * and clears by writing one. */
	rig_cmd28(&R, PRI, 0, 0xe5, 0, 0, 0);
	assert_int_equal(bm_in(2, 1), 0x04);
	assert_int_equal(bm_in(10, 1), 0x00);
	bm_out(2, 1, 0x04);
	assert_int_equal(bm_in(2, 1), 0x00);
}

/* The PCI function: identity, IDETIM, and what COMMAND and IDETIM let
 * through. */
static void test_pci_function(void **state)
{
	assert_int_equal(rig_config_read(&R, PCI_CLASS_PROG, 1), 0x80);
	assert_int_equal(rig_config_read(&R, PCI_CLASS_DEVICE, 2), 0x0101);
	assert_int_equal(rig_config_read(&R, PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(rig_config_read(&R, PCI_BASE_ADDRESS_0 + 16, 4), RIG_BM_BASE | 1);
	for (unsigned bar = 0; bar < 4; bar++)
		assert_int_equal(rig_config_read(&R, PCI_BASE_ADDRESS_0 + 4 * bar, 4), 0);
	/* IDETIM: decode enabled for both channels, timings writable. */
	assert_int_equal(rig_config_read(&R, 0x40, 2), 0x8000);
	assert_int_equal(rig_config_read(&R, 0x42, 2), 0x8000);
	rig_config_write(&R, 0x40, 2, 0xa307);
	assert_int_equal(rig_config_read(&R, 0x40, 2), 0xa307);
	rig_config_write(&R, 0x44, 1, 0x5a);
	assert_int_equal(rig_config_read(&R, 0x44, 1), 0x5a);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	/* IDETIM decode off: the primary floats, the bus master still works. */
	rig_config_write(&R, 0x41, 1, 0x00);
	assert_int_equal(rig_alt(&R, PRI), 0xff);
	assert_int_equal(rig_inb(&R, PRI + R_STATUS), 0xff);
	rig_outb(&R, PRI + R_STATUS, 0xec);
	assert_false(fake_machine_irq_level(R.m, IRQ_PRI));
	rig_config_write(&R, 0x40, 2, 0x8000);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	/* COMMAND.IO off: neither the channels nor BAR4 decode. */
	rig_config_write(&R, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(rig_alt(&R, PRI), 0xff);
	assert_int_equal(rig_bm_read(&R, 4, 4), 0xffffffff);
	rig_config_write(&R, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	/* BAR4 moves: the registers follow. */
	rig_bm_write(&R, 4, 4, 0x1234);
	rig_config_write(&R, PCI_BASE_ADDRESS_0 + 16, 4, 0xd000);
	assert_int_equal(rig_in(&R, 0xd004, 4), 0x1234);
	assert_int_equal(rig_bm_read(&R, 4, 4), 0xffffffff);
}

/* ---- hostile port traffic ---------------------------------------------- */

static void test_data_port_abuse(void **state)
{
	/* No data phase: reads give all ones, writes vanish, forever. */
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(rig_in(&R, PRI, 2), 0xffff);
	for (unsigned i = 0; i < 1000; i++)
		rig_out(&R, PRI, 4, 0x12345678);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	/* Reading past the end of IDENTIFY data. */
	rig_cmd28(&R, PRI, 0, 0xec, 0, 0, 0);
	for (unsigned i = 0; i < 256; i++)
		rig_in(&R, PRI, 2);
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(rig_in(&R, PRI, 2), 0xffff);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	/* Byte accesses to the data port do not move data. */
	uint8_t buf[512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 9);
	rig_wait(&R, PRI);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(rig_inb(&R, PRI), 0xff);
	rig_read_words(&R, PRI, buf, 256);
	rig_expect_pattern(buf, 9 * 512, 512);
	/* Writing the data port during a read phase does not corrupt it. */
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 9);
	rig_wait(&R, PRI);
	rig_out(&R, PRI, 2, 0xdead);
	rig_read_words(&R, PRI, buf, 256);
	rig_expect_pattern(buf, 9 * 512, 512);
	/* A command while DRQ is set is ignored. */
	rig_cmd28(&R, PRI, 0, 0x20, 0, 2, 9);
	rig_wait(&R, PRI);
	rig_outb(&R, PRI + R_STATUS, 0xec);
	rig_read_words(&R, PRI, buf, 256);
	rig_expect_pattern(buf, 9 * 512, 512);
	rig_wait(&R, PRI);
	rig_read_words(&R, PRI, buf, 256);
	rig_expect_pattern(buf, 10 * 512, 512);
}

/* Random values of every size at every register, data port, control
 * port and bus-master register, with requests completing in between:
 * nothing crashes, hangs or breaks the block layer's contract. */
static void test_random_register_traffic(void **state)
{
	static const unsigned sizes[3] = { 1, 2, 4 };
	struct rig_prd prd[1] = { { BUF, 0, true } };
	rig_prd_table(&R, TABLE, prd, 1);
	for (unsigned round = 0; round < 200000; round++) {
		uint32_t x = rig_rand(), v = rig_rand();
		unsigned size = sizes[x % 3];
		switch ((x >> 4) % 8) {
		case 0: case 1: case 2:
			if (x & 0x100)
				rig_out(&R, (uint16_t)(PRI + ((x >> 9) & 7)), size, v);
			else
				rig_in(&R, (uint16_t)(PRI + ((x >> 9) & 7)), size);
			break;
		case 3:
			/* Reset rarely, so that commands get somewhere. */
			if (x & 0x100)
				rig_out(&R, 0x3f6, size, (x & 0xf000) ? v & ~0x04u : v);
			else
				rig_in(&R, 0x3f6, size);
			break;
		case 4: {
			unsigned off = (x >> 9) & 15;
			if (x & 0x100)
				rig_bm_write(&R, off, size, (x & 0x7000) ? v : TABLE);
			else
				rig_bm_read(&R, off, size);
			break;
		}
		case 5:
			/* A plausible command now and then. */
			rig_cmd28(&R, PRI, 0, (uint8_t)(v >> 24), (uint8_t)v, (uint8_t)(v >> 8),
				  (v >> 12) % DISK_SECTORS);
			break;
		default:
			fake_blk_complete_one(disk);
			rig_in(&R, (uint16_t)(SEC + ((x >> 9) & 7)), size);
			break;
		}
	}
	/* After a reset the device is sane. */
	fake_blk_drain(disk);
	rig_bm_cmd(&R, 0, 0);
	rig_ctl(&R, PRI, 0x04);
	rig_ctl(&R, PRI, 0x00);
	fake_blk_drain(disk);
	assert_int_equal(rig_alt(&R, PRI), 0x50);
	uint8_t buf[512];
	rig_cmd28(&R, PRI, 0, 0x20, 0, 1, 0);
	rig_wait(&R, PRI);
	rig_read_words(&R, PRI, buf, 256);
	assert_memory_equal(buf, fake_blk_data(disk), 512);
}

/* A disk beyond 128 GiB: LBA28 capacity saturates, LBA48 reaches it all,
 * every address byte included (a 1 PiB sparse image). */
static void test_big_disk_lba48(void **state)
{
	struct rig saved = R;
	uint64_t bytes = 1ULL << 50;
	struct blk *big = fake_blk_create_sparse(bytes);
	enum ide_kind k[4] = { IDE_DISK };
	struct blk *b[4] = { big };
	rig_init(&R, k, b);
	uint16_t id[256];
	identify(PRI, 0, id);
	assert_int_equal(id[60] | id[61] << 16, 0x0fffffff);
	uint64_t n = 0;
	for (unsigned i = 0; i < 4; i++)
		n |= (uint64_t)id[100 + i] << (16 * i);
	assert_int_equal(n, bytes / 512);
	assert_int_equal(id[1], 16383);
	assert_int_equal(id[3], 16);
	assert_int_equal(id[6], 63);
	uint8_t buf[512];
	static const uint64_t lbas[] = { 0x0123456789abULL, (1ULL << 41) - 1, 0x10000000 };
	for (unsigned i = 0; i < 3; i++) {
		rig_cmd48(&R, PRI, 0, 0x24, 1, lbas[i]);
		pio_read(PRI, buf, 1, 1);
		rig_expect_pattern(buf, lbas[i] * 512, 512);
	}
	rig_cmd48(&R, PRI, 0, 0x24, 1, 1ULL << 41);
	expect_error(PRI, 0x10);
	/* The failing address comes back in the HOB registers. */
	rig_ctl(&R, PRI, 0x80);
	assert_int_equal(rig_inb(&R, PRI + R_LBAL), 0);
	assert_int_equal(rig_inb(&R, PRI + R_LBAM), 0);
	assert_int_equal(rig_inb(&R, PRI + R_LBAH), 0x02);
	rig_ctl(&R, PRI, 0x00);
	rig_fini(&R);
	R = saved;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_disk, teardown)
	const struct CMUnitTest tests[] = {
		T(test_power_on_signature),
		T(test_identify_device),
		T(test_identify_packet_aborts_on_disk),
		T(test_slave_disk_and_reset_result),
		T(test_read_sectors_lba28),
		T(test_read_count_zero_is_256),
		T(test_read_ext_lba48_across_chunks),
		T(test_read_chs),
		T(test_initialize_device_parameters),
		T(test_write_sectors),
		T(test_multiple_mode),
		T(test_out_of_range_is_idnf),
		T(test_read_error_is_unc),
		T(test_write_error_sets_df),
		T(test_read_only_disk_refuses_writes),
		T(test_verify_reads_without_transfer),
		T(test_flush_reaches_blk),
		T(test_set_features),
		T(test_misc_commands),
		T(test_every_opcode),
		T(test_nien_and_status_acknowledge),
		T(test_soft_reset),
		T(test_soft_reset_with_request_in_flight),
		T(test_power_on_reset_waits_for_io),
		T(test_hob_and_register_readback),
		T(test_dma_read),
		T(test_dma_start_before_command_and_big_ext),
		T(test_dma_write),
		T(test_dma_tiny_prd_regions),
		T(test_dma_hostile_tables),
		T(test_dma_stop_and_bus_master_off),
		T(test_bm_registers),
		T(test_pci_function),
		T(test_data_port_abuse),
		T(test_random_register_traffic),
		T(test_big_disk_lba48),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
