/*
 * Unit tests for the ATAPI CD-ROM behind the PIIX IDE function (secondary
 * master, as `--cdrom` places it): signature, IDENTIFY PACKET DEVICE, the
 * PACKET protocol with byte-count limits and DMA, every SCSI command the
 * drive offers, sense data, the tray, locking, media changes, an empty
 * drive and hostile packets. The medium is a fake_blk.
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

#define CD_BYTES (4u << 20)             /* 2048 sectors of 2048 bytes */
#define CD_SECTORS (CD_BYTES / 2048)
#define IRQ_SEC 15
#define TABLE 0x10000u
#define BUF 0x100000u

static struct rig R;
static struct blk *cd;

static int setup_cd(void **state)
{
	cd = fake_blk_create(CD_BYTES, true);
	enum ide_kind k[4] = { IDE_NONE, IDE_NONE, IDE_CDROM };
	struct blk *b[4] = { NULL, NULL, cd };
	rig_init(&R, k, b);
	return 0;
}

static int teardown(void **state)
{
	rig_fini(&R);
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PACKET: features (DMA bit), byte-count limit, then the 12 CDB bytes. */
static void packet(const uint8_t cdb[12], uint16_t bcl, bool dma)
{
	rig_outb(&R, SEC + R_DEV, 0xa0);
	rig_outb(&R, SEC + R_ERR, dma ? 0x01 : 0x00);
	rig_outb(&R, SEC + R_LBAM, (uint8_t)bcl);
	rig_outb(&R, SEC + R_LBAH, (uint8_t)(bcl >> 8));
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	assert_int_equal(rig_alt(&R, SEC), 0x58);
	assert_int_equal(rig_inb(&R, SEC + R_NSECT) & 3, 1);    /* C/D, to device */
	assert_false(fake_machine_irq_level(R.m, IRQ_SEC));              /* no INTRQ for the CDB */
	rig_write_words(&R, SEC, cdb, 6);
}

/*
 * Collect a PIO data-in phase into buf; returns the byte count and the
 * final status. Each DRQ block must interrupt, say "data to host" and
 * stay within the byte-count limit.
 */
static size_t pio_in(uint8_t *buf, size_t max, uint16_t bcl, uint8_t *status, unsigned *blocks)
{
	size_t got = 0;
	unsigned limit = bcl == 0xffff ? 0xfffe : bcl;
	if (blocks)
		*blocks = 0;
	for (;;) {
		uint8_t st = rig_wait(&R, SEC);
		assert_true(fake_machine_irq_level(R.m, IRQ_SEC));
		assert_int_equal(rig_inb(&R, SEC + R_STATUS), st);
		if (!(st & 0x08)) {
			assert_int_equal(rig_inb(&R, SEC + R_NSECT) & 3, 3);
			*status = st;
			return got;
		}
		assert_int_equal(rig_inb(&R, SEC + R_NSECT) & 3, 2);
		unsigned n = rig_inb(&R, SEC + R_LBAM) | rig_inb(&R, SEC + R_LBAH) << 8;
		assert_true(n > 0 && n <= limit);
		for (unsigned i = 0; i < n; i += 2) {
			uint16_t w = (uint16_t)rig_in(&R, SEC, 2);
			if (got + i < max)
				buf[got + i] = (uint8_t)w;
			if (got + i + 1 < max && i + 1 < n)
				buf[got + i + 1] = (uint8_t)(w >> 8);
		}
		got += n;
		if (blocks)
			(*blocks)++;
	}
}

/* Run a command by PIO with a generous limit; returns the final status. */
static uint8_t run(const uint8_t cdb[12], uint8_t *buf, size_t max, size_t *len)
{
	uint8_t st;
	size_t n;
	packet(cdb, 0xfffe, false);
	n = pio_in(buf, max, 0xfffe, &st, NULL);
	if (len)
		*len = n;
	return st;
}

static void run_ok(const uint8_t cdb[12], uint8_t *buf, size_t max, size_t *len)
{
	assert_int_equal(run(cdb, buf, max, len), 0x50);
}

static void request_sense(uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, s[18];
	size_t n;
	run_ok(cdb, s, sizeof(s), &n);
	assert_int_equal(n, 18);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[7], 10);
	*key = s[2];
	*asc = s[12];
	*ascq = s[13];
}

/* The command ended in CHECK CONDITION with this sense. */
static void expect_sense(uint8_t st, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t k, a, q;
	assert_int_equal(st, 0x51);
	assert_int_equal(rig_inb(&R, SEC + R_ERR) >> 4, key);
	request_sense(&k, &a, &q);
	assert_int_equal(k, key);
	assert_int_equal(a, asc);
	assert_int_equal(q, ascq);
	/* Reading the sense clears it. */
	request_sense(&k, &a, &q);
	assert_int_equal(k, 0);
}

static uint8_t run_status(const uint8_t cdb[12])
{
	uint8_t buf[256];
	return run(cdb, buf, sizeof(buf), NULL);
}

/* ---- signature, IDENTIFY ----------------------------------------------- */

static void test_signature_and_identify(void **state)
{
	uint8_t raw[512];
	uint16_t id[256];
	assert_int_equal(rig_alt(&R, SEC), 0x00);      /* packet devices: no DRDY */
	assert_int_equal(rig_inb(&R, SEC + R_LBAM), 0x14);
	assert_int_equal(rig_inb(&R, SEC + R_LBAH), 0xeb);
	assert_int_equal(rig_inb(&R, SEC + R_NSECT), 1);
	assert_int_equal(rig_inb(&R, SEC + R_ERR), 1);
	/* IDENTIFY DEVICE: refused, with the signature in place. */
	rig_outb(&R, SEC + R_STATUS, 0xec);
	assert_int_equal(rig_alt(&R, SEC), 0x51);
	assert_int_equal(rig_inb(&R, SEC + R_ERR), 0x04);
	assert_int_equal(rig_inb(&R, SEC + R_LBAM), 0x14);
	assert_int_equal(rig_inb(&R, SEC + R_LBAH), 0xeb);
	rig_outb(&R, SEC + R_STATUS, 0xa1);
	assert_int_equal(rig_alt(&R, SEC), 0x58);
	assert_true(fake_machine_irq_level(R.m, IRQ_SEC));
	rig_read_words(&R, SEC, raw, 256);
	assert_int_equal(rig_alt(&R, SEC), 0x50);
	uint8_t sum = 0;
	for (unsigned i = 0; i < 512; i++)
		sum = (uint8_t)(sum + raw[i]);
	assert_int_equal(sum, 0);
	for (unsigned i = 0; i < 256; i++)
		id[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
	assert_int_equal(id[0], 0x85c0);
	assert_int_equal((id[0] >> 8) & 0x1f, 5);      /* SeaBIOS: a CD */
	char model[41];
	for (unsigned i = 0; i < 20; i++) {
		model[2 * i] = (char)(id[27 + i] >> 8);
		model[2 * i + 1] = (char)id[27 + i];
	}
	model[13] = 0;
	assert_string_equal(model, "Lodge DVD-ROM");
	assert_int_equal(id[49] & 0x0300, 0x0300);
	assert_int_equal(id[82] & 0x0210, 0x0210);      /* PACKET, DEVICE RESET */
	assert_int_equal(id[93] & 0xdf61, 0x4041);
	assert_int_equal(id[125], 0);
	/* SET FEATURES transfer mode shows up in the next IDENTIFY. */
	rig_outb(&R, SEC + R_ERR, 0x03);
	rig_outb(&R, SEC + R_NSECT, 0x21);
	rig_outb(&R, SEC + R_STATUS, 0xef);
	assert_int_equal(rig_alt(&R, SEC), 0x50);
	rig_outb(&R, SEC + R_STATUS, 0xa1);
	rig_read_words(&R, SEC, raw, 256);
	assert_int_equal(raw[126] | raw[127] << 8, 0x0207);
	rig_outb(&R, SEC + R_ERR, 0x02);                /* write cache: not for a CD */
	rig_outb(&R, SEC + R_STATUS, 0xef);
	assert_int_equal(rig_alt(&R, SEC), 0x51);
}

/* ---- basic commands ---------------------------------------------------- */

static void test_tur_inquiry_capacity(void **state)
{
	uint8_t b[64];
	size_t n;
	uint8_t tur[12] = { 0x00 };
	run_ok(tur, b, sizeof(b), &n);
	assert_int_equal(n, 0);
	uint8_t inq[12] = { 0x12, 0, 0, 0, 96 };
	run_ok(inq, b, sizeof(b), &n);
	assert_int_equal(n, 36);
	assert_int_equal(b[0], 0x05);
	assert_int_equal(b[1], 0x80);
	assert_memory_equal(b + 8, "Lodge   ", 8);
	assert_memory_equal(b + 16, "DVD-ROM         ", 16);
	inq[4] = 5;
	run_ok(inq, b, sizeof(b), &n);
	assert_int_equal(n, 5);
	inq[1] = 1;                     /* EVPD */
	expect_sense(run_status(inq), 5, 0x24, 0);
	uint8_t cap[12] = { 0x25 };
	run_ok(cap, b, sizeof(b), &n);
	assert_int_equal(n, 8);
	assert_int_equal(be32(b), CD_SECTORS - 1);
	assert_int_equal(be32(b + 4), 2048);
}

static void read10_cdb(uint8_t cdb[12], uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 12);
	cdb[0] = 0x28;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(n >> 8);
	cdb[8] = (uint8_t)n;
}

static void test_read10_pio_seabios_style(void **state)
{
	uint8_t cdb[12], buf[3 * 2048], st;
	unsigned blocks;
	read10_cdb(cdb, 16, 3);
	packet(cdb, 2048, false);
	size_t n = pio_in(buf, sizeof(buf), 2048, &st, &blocks);
	assert_int_equal(st, 0x50);
	assert_int_equal(n, sizeof(buf));
	assert_int_equal(blocks, 3);    /* one DRQ block per sector */
	rig_expect_pattern(buf, 16 * 2048, sizeof(buf));
}

static void test_read12_odd_limit_and_big_reads(void **state)
{
	uint8_t cdb[12] = { 0xa8 }, st;
	unsigned blocks;
	uint8_t *buf = malloc(100 * 2048);
	/* Odd limit 4095: blocks of 4094, the last one what remains. */
	cdb[5] = 7;
	cdb[9] = 3;
	packet(cdb, 4095, false);
	size_t n = pio_in(buf, 3 * 2048, 4095, &st, &blocks);
	assert_int_equal(st, 0x50);
	assert_int_equal(n, 3 * 2048);
	assert_int_equal(blocks, 2);
	rig_expect_pattern(buf, 7 * 2048, 3 * 2048);
	/* 100 sectors with limit ffff: several image reads behind it. */
	cdb[5] = 200;
	cdb[9] = 100;
	packet(cdb, 0xffff, false);
	n = pio_in(buf, 100 * 2048, 0xffff, &st, &blocks);
	assert_int_equal(st, 0x50);
	assert_int_equal(n, 100 * 2048);
	rig_expect_pattern(buf, 200 * 2048, 100 * 2048);
	/* A zero-length read transfers nothing. */
	cdb[9] = 0;
	packet(cdb, 2048, false);
	assert_int_equal(pio_in(buf, 0, 2048, &st, NULL), 0);
	assert_int_equal(st, 0x50);
	free(buf);
}

static void test_byte_count_limit_zero_or_one(void **state)
{
	uint8_t cdb[12], st, buf[64];
	read10_cdb(cdb, 0, 1);
	packet(cdb, 0, false);
	assert_int_equal(pio_in(buf, 0, 2, &st, NULL), 0);
	assert_int_equal(st, 0x51);
	assert_int_equal(rig_inb(&R, SEC + R_ERR) & 0x04, 0x04);      /* ABRT */
	/* Limit 1 cannot carry 36 bytes of INQUIRY either. */
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	packet(inq, 1, false);
	assert_int_equal(pio_in(buf, 0, 2, &st, NULL), 0);
	assert_int_equal(st, 0x51);
	/* ...but one byte of it, yes. */
	inq[4] = 1;
	packet(inq, 1, false);
	assert_int_equal(pio_in(buf, 1, 1, &st, NULL), 1);
	assert_int_equal(st, 0x50);
	assert_int_equal(buf[0], 0x05);
	/* Commands without data do not care. */
	uint8_t tur[12] = { 0 };
	packet(tur, 0, false);
	assert_int_equal(pio_in(buf, 0, 2, &st, NULL), 0);
	assert_int_equal(st, 0x50);
}

static void test_read_errors(void **state)
{
	uint8_t cdb[12];
	read10_cdb(cdb, CD_SECTORS - 1, 2);
	expect_sense(run_status(cdb), 5, 0x21, 0);
	read10_cdb(cdb, 0xffffffffu, 1);
	expect_sense(run_status(cdb), 5, 0x21, 0);
	uint8_t r12[12] = { 0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	expect_sense(run_status(r12), 5, 0x21, 0);
	fake_blk_fail_next(cd, BLK_READ, -EIO);
	read10_cdb(cdb, 5, 1);
	expect_sense(run_status(cdb), 3, 0x11, 0);
	/* Sense describes the last command only: a good one clears it. */
	uint8_t k, a, q, tur[12] = { 0 };
	read10_cdb(cdb, CD_SECTORS, 1);
	assert_int_equal(run_status(cdb), 0x51);
	assert_int_equal(run_status(tur), 0x50);
	request_sense(&k, &a, &q);
	assert_int_equal(k, 0);
	assert_int_equal(a, 0);
	uint8_t seek[12] = { 0x2b, 0, 0, 0, 0, 0x10 };
	assert_int_equal(run_status(seek), 0x50);
	seek[2] = 0x01;
	expect_sense(run_status(seek), 5, 0x21, 0);
}

/* ---- DMA --------------------------------------------------------------- */

static void dma_cmd(const uint8_t cdb[12], uint32_t region, uint32_t len)
{
	struct rig_prd prd[1] = { { region, len & 0xffff, true } };
	rig_prd_table(&R, TABLE, prd, 1);
	rig_bm_setup(&R, 1, TABLE, true);
	packet(cdb, 0, true);           /* the limit does not matter for DMA */
	rig_bm_cmd(&R, 1, 0x09);
}

static uint8_t dma_finish(uint8_t *bm)
{
	uint8_t st = rig_wait(&R, SEC);
	assert_true(fake_machine_irq_level(R.m, IRQ_SEC));
	*bm = rig_bm_status(&R, 1) & 7;
	rig_bm_cmd(&R, 1, 0);
	rig_bm_clear(&R, 1);
	assert_int_equal(rig_inb(&R, SEC + R_STATUS), st);
	assert_int_equal(rig_inb(&R, SEC + R_NSECT) & 3, 3);
	return st;
}

static void test_dma_reads(void **state)
{
	uint8_t cdb[12], bm;
	read10_cdb(cdb, 33, 8);
	dma_cmd(cdb, BUF, 8 * 2048);
	assert_int_equal(dma_finish(&bm), 0x50);
	assert_int_equal(bm, 0x04);
	rig_expect_pattern(rig_ram(&R, BUF, 8 * 2048), 33 * 2048, 8 * 2048);
	/* A reply from the drive's buffer, shorter than the region: the
	 * engine stays active, as on the PIIX. */
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	memset(rig_ram(&R, BUF, 64), 0xee, 64);
	dma_cmd(inq, BUF, 64);
	assert_int_equal(dma_finish(&bm), 0x50);
	assert_int_equal(bm, 0x05);
	assert_int_equal(rig_ram(&R, BUF, 64)[0], 0x05);
	assert_int_equal(rig_ram(&R, BUF, 64)[36], 0xee);
	/* A table too short for the read: the engine reports an error. */
	read10_cdb(cdb, 0, 4);
	dma_cmd(cdb, BUF, 2048);
	assert_int_equal(dma_finish(&bm), 0x51);
	assert_int_equal(bm, 0x06);
	assert_int_equal(rig_inb(&R, SEC + R_ERR) >> 4, 0x0b);
	/* A command without data completes without the engine. */
	uint8_t tur[12] = { 0 };
	dma_cmd(tur, BUF, 2048);
	assert_int_equal(dma_finish(&bm), 0x50);
	assert_int_equal(bm & 0x04, 0x04);      /* the interrupt latched anyway */
}

/* ---- table of contents, configuration, mode pages ---------------------- */

static void test_read_toc(void **state)
{
	uint8_t cdb[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24 }, b[128];
	size_t n;
	run_ok(cdb, b, sizeof(b), &n);            /* format 0, LBA */
	assert_int_equal(n, 20);
	assert_int_equal(be16(b), 18);
	assert_int_equal(b[2], 1);
	assert_int_equal(b[3], 1);
	assert_int_equal(b[5], 0x14);
	assert_int_equal(b[6], 1);
	assert_int_equal(be32(b + 8), 0);
	assert_int_equal(b[14], 0xaa);
	assert_int_equal(be32(b + 16), CD_SECTORS);
	cdb[1] = 0x02;                            /* MSF */
	run_ok(cdb, b, sizeof(b), &n);
	assert_memory_equal(b + 8, "\x00\x00\x02\x00", 4);
	uint32_t f = CD_SECTORS + 150;
	assert_int_equal(b[17], f / 4500);
	assert_int_equal(b[18], f / 75 % 60);
	assert_int_equal(b[19], f % 75);
	cdb[6] = 0xaa;                            /* from the lead-out */
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 12);
	assert_int_equal(b[6], 0xaa);
	cdb[6] = 2;
	expect_sense(run_status(cdb), 5, 0x24, 0);
	cdb[6] = 0;
	cdb[2] = 1;                               /* session info */
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 12);
	assert_int_equal(be16(b), 10);
	assert_int_equal(b[6], 1);
	cdb[2] = 2;                               /* raw TOC */
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 48);
	assert_int_equal(b[7], 0xa0);
	assert_int_equal(b[12], 1);
	assert_int_equal(b[18], 0xa1);
	assert_int_equal(b[29], 0xa2);
	assert_int_equal(b[34], f / 4500);
	assert_int_equal(b[40], 0x01);
	assert_memory_equal(b + 45, "\x00\x02\x00", 3);
	cdb[2] = 0;                               /* old SFF-8020 format field */
	cdb[9] = 0x40;
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 12);
	cdb[9] = 0;
	cdb[2] = 5;
	expect_sense(run_status(cdb), 5, 0x24, 0);
	/* Allocation length cuts the data, not the length field. */
	cdb[2] = 0;
	cdb[7] = 0;
	cdb[8] = 4;
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 4);
	assert_int_equal(be16(b), 18);
}

/* Find feature code in GET CONFIGURATION data; NULL if absent. */
static const uint8_t *find_feature(const uint8_t *b, size_t n, uint16_t code)
{
	size_t p = 8;
	while (p + 4 <= n) {
		if (be16(b + p) == code)
			return b + p;
		p += 4u + b[p + 3];
	}
	return NULL;
}

static void test_get_configuration(void **state)
{
	uint8_t cdb[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00 }, b[256];
	size_t n;
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(be32(b), n - 4);
	assert_int_equal(be16(b + 6), 0x0008);          /* CD-ROM */
	const uint8_t *f = find_feature(b, n, 0x0000);
	assert_non_null(f);
	assert_int_equal(f[3], 8);
	assert_int_equal(be16(f + 4), 0x0010);
	assert_int_equal(f[6] & 1, 0);
	assert_int_equal(be16(f + 8), 0x0008);
	assert_int_equal(f[10] & 1, 1);
	f = find_feature(b, n, 0x0001);
	assert_non_null(f);
	assert_int_equal(be32(f + 4), 2);               /* ATAPI */
	assert_non_null(find_feature(b, n, 0x0003));
	f = find_feature(b, n, 0x0010);
	assert_non_null(f);
	assert_int_equal(be32(f + 4), 2048);
	assert_int_equal(find_feature(b, n, 0x001e)[2] & 1, 1);
	assert_int_equal(find_feature(b, n, 0x001f)[2] & 1, 0);
	cdb[1] = 1;                                     /* current only */
	run_ok(cdb, b, sizeof(b), &n);
	assert_null(find_feature(b, n, 0x001f));
	assert_non_null(find_feature(b, n, 0x001e));
	cdb[1] = 2;                                     /* just 001Fh */
	cdb[3] = 0x1f;
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 12);
	assert_int_equal(be16(b + 8), 0x001f);
	cdb[1] = 3;
	expect_sense(run_status(cdb), 5, 0x24, 0);
}

static void test_dvd_profile(void **state)
{
	struct rig saved = R;
	enum ide_kind k[4] = { IDE_NONE, IDE_NONE, IDE_CDROM };
	struct blk *b[4] = { NULL, NULL, fake_blk_create_sparse(4ULL << 30) };
	rig_init(&R, k, b);
	uint8_t cdb[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00 }, d[256];
	size_t n;
	run_ok(cdb, d, sizeof(d), &n);
	assert_int_equal(be16(d + 6), 0x0010);
	assert_int_equal(find_feature(d, n, 0x001f)[2] & 1, 1);
	assert_int_equal(be16(find_feature(d, n, 0x0010) + 8), 16);
	uint8_t cap[12] = { 0x25 };
	run_ok(cap, d, sizeof(d), &n);
	assert_int_equal(be32(d), (4ULL << 30) / 2048 - 1);
	/* Reading the last sector of a 4 GiB disc. */
	uint8_t rd[12], st, buf[2048];
	read10_cdb(rd, (uint32_t)((4ULL << 30) / 2048 - 1), 1);
	packet(rd, 2048, false);
	assert_int_equal(pio_in(buf, sizeof(buf), 2048, &st, NULL), 2048);
	rig_expect_pattern(buf, (4ULL << 30) - 2048, 2048);
	rig_fini(&R);
	R = saved;
}

static void test_mode_sense(void **state)
{
	uint8_t b[128];
	size_t n;
	uint8_t ms10[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128 };
	run_ok(ms10, b, sizeof(b), &n);
	assert_int_equal(n, 8 + 22);
	assert_int_equal(be16(b), n - 2);
	assert_int_equal(be16(b + 6), 0);               /* no block descriptors */
	assert_int_equal(b[8], 0x2a);
	assert_int_equal(b[9], 0x14);
	assert_int_equal(b[10] & 0x08, 0x08);           /* reads DVD-ROM */
	assert_int_equal(b[14] & 0x03, 0x01);           /* lock supported, unlocked */
	uint8_t ms6[12] = { 0x1a, 0, 0x01, 0, 128 };
	run_ok(ms6, b, sizeof(b), &n);
	assert_int_equal(n, 4 + 8);
	assert_int_equal(b[0], n - 1);
	assert_int_equal(b[4], 0x01);
	assert_int_equal(b[7], 5);
	ms6[2] = 0x3f;
	run_ok(ms6, b, sizeof(b), &n);
	assert_int_equal(n, 4 + 8 + 22);
	assert_int_equal(b[12], 0x2a);
	ms10[2] = 0x40 | 0x2a;                          /* changeable: nothing */
	run_ok(ms10, b, sizeof(b), &n);
	assert_int_equal(n, 8 + 22);
	for (unsigned i = 10; i < n; i++)
		assert_int_equal(b[i], 0);
	ms10[2] = 0xc0 | 0x2a;                          /* saved */
	expect_sense(run_status(ms10), 5, 0x39, 0);
	ms10[2] = 0x05;
	expect_sense(run_status(ms10), 5, 0x24, 0);
	ms10[2] = 0x2a;                                 /* allocation length */
	ms10[8] = 10;
	run_ok(ms10, b, sizeof(b), &n);
	assert_int_equal(n, 10);
}

/* ---- tray, lock, events, media ----------------------------------------- */

static void gesn(uint8_t *code, uint8_t *media)
{
	uint8_t cdb[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, b[8];
	size_t n;
	run_ok(cdb, b, sizeof(b), &n);
	assert_int_equal(n, 8);
	assert_int_equal(be16(b), 6);
	assert_int_equal(b[2], 0x04);
	assert_int_equal(b[3], 0x10);
	*code = b[4];
	*media = b[5];
}

static void test_tray_lock_and_events(void **state)
{
	uint8_t code, media, b[64], tur[12] = { 0 };
	size_t n;
	gesn(&code, &media);
	assert_int_equal(code, 0);
	assert_int_equal(media, 0x02);
	/* Asynchronous notification is not offered; a class without media
	 * gets "no event available". */
	uint8_t async[12] = { 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 };
	expect_sense(run_status(async), 5, 0x24, 0);
	uint8_t other[12] = { 0x4a, 1, 0, 0, 0x02, 0, 0, 0, 8 };
	run_ok(other, b, sizeof(b), &n);
	assert_int_equal(n, 4);
	assert_int_equal(b[2], 0x80);
	/* Lock, then eject: refused. */
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 }, eject[12] = { 0x1b, 0, 0, 0, 0x02 };
	uint8_t load[12] = { 0x1b, 0, 0, 0, 0x03 };
	run_ok(lock, b, sizeof(b), NULL);
	expect_sense(run_status(eject), 5, 0x53, 0x02);
	uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
	run_ok(ms, b, sizeof(b), &n);
	assert_int_equal(b[14] & 0x03, 0x03);
	machine_lock(R.m);
	assert_int_equal(ide_change_media(piix_ide_channel(R.ide, 1), 0, NULL, false), -EBUSY);
	machine_unlock(R.m);
	/* Unlock, eject: tray open, no medium, removal event. */
	lock[4] = 0;
	run_ok(lock, b, sizeof(b), NULL);
	run_ok(eject, b, sizeof(b), NULL);
	expect_sense(run_status(tur), 2, 0x3a, 0x02);
	uint8_t rd[12];
	read10_cdb(rd, 0, 1);
	expect_sense(run_status(rd), 2, 0x3a, 0x02);
	gesn(&code, &media);
	assert_int_equal(code, 3);
	assert_int_equal(media, 0x01);
	gesn(&code, &media);
	assert_int_equal(code, 0);
	uint8_t mech[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
	run_ok(mech, b, sizeof(b), &n);
	assert_int_equal(n, 8);
	assert_int_equal(b[1] & 0x10, 0x10);
	/* Close it: new-media event, then UNIT ATTENTION once. */
	run_ok(load, b, sizeof(b), NULL);
	gesn(&code, &media);
	assert_int_equal(code, 2);
	assert_int_equal(media, 0x02);
	expect_sense(run_status(tur), 6, 0x28, 0);
	assert_int_equal(run_status(tur), 0x50);
	run_ok(mech, b, sizeof(b), &n);
	assert_int_equal(b[1] & 0x10, 0);
	/* Start/stop without LoEj only spins. */
	uint8_t stop[12] = { 0x1b, 0, 0, 0, 0x00 };
	run_ok(stop, b, sizeof(b), NULL);
	assert_int_equal(run_status(tur), 0x50);
}

static void test_media_change_from_host(void **state)
{
	struct ide_channel *ch = piix_ide_channel(R.ide, 1);
	uint8_t tur[12] = { 0 }, code, media, b[64];
	size_t n;
	machine_lock(R.m);
	assert_int_equal(ide_change_media(ch, 0, NULL, false), 0);
	machine_unlock(R.m);
	expect_sense(run_status(tur), 2, 0x3a, 0x01);
	gesn(&code, &media);
	assert_int_equal(code, 3);
	assert_int_equal(media, 0);
	struct blk *other = fake_blk_create(1 << 20, true);
	machine_lock(R.m);
	assert_int_equal(ide_change_media(ch, 0, other, false), 0);
	machine_unlock(R.m);
	/* INQUIRY and GET CONFIGURATION run despite the UNIT ATTENTION;
	 * REQUEST SENSE reports it. */
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	run_ok(inq, b, sizeof(b), &n);
	uint8_t k, a, q;
	request_sense(&k, &a, &q);
	assert_int_equal(k, 6);
	assert_int_equal(a, 0x28);
	assert_int_equal(run_status(tur), 0x50);
	uint8_t cap[12] = { 0x25 };
	run_ok(cap, b, sizeof(b), &n);
	assert_int_equal(be32(b), 511);
	/* A read in flight when the medium goes fails; its request is
	 * cancelled first. */
	fake_blk_set_threaded(other, 10000);
	uint8_t rd[12];
	read10_cdb(rd, 0, 1);
	packet(rd, 2048, false);
	machine_lock(R.m);
	assert_int_equal(ide_change_media(ch, 0, cd, true), 0);
	machine_unlock(R.m);
	assert_int_equal(rig_alt(&R, SEC), 0x51);
	assert_int_equal(rig_inb(&R, SEC + R_ERR) >> 4, 6);
	rig_inb(&R, SEC + R_STATUS);
	fake_blk_destroy(other);
	/* A disk position has no medium to change. */
	assert_int_equal(ide_change_media(piix_ide_channel(R.ide, 0), 0, cd, true), -ENODEV);
}

static void test_empty_drive(void **state)
{
	struct rig saved = R;
	enum ide_kind k[4] = { IDE_NONE, IDE_NONE, IDE_CDROM };
	struct blk *b[4] = { NULL };
	rig_init(&R, k, b);
	uint8_t tur[12] = { 0 }, cap[12] = { 0x25 }, buf[256];
	size_t n;
	expect_sense(run_status(tur), 2, 0x3a, 0x01);
	expect_sense(run_status(cap), 2, 0x3a, 0x01);
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 0x20 };
	expect_sense(run_status(toc), 2, 0x3a, 0x01);
	uint8_t cfg[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 0xff };
	run_ok(cfg, buf, sizeof(buf), &n);
	assert_int_equal(be16(buf + 6), 0);
	assert_int_equal(find_feature(buf, n, 0x0010)[2] & 1, 0);
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	run_ok(inq, buf, sizeof(buf), &n);
	assert_int_equal(n, 36);
	uint8_t code, media;
	gesn(&code, &media);
	assert_int_equal(media, 0);
	/* Opening and closing an empty tray raises no attention. */
	uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 }, load[12] = { 0x1b, 0, 0, 0, 0x03 };
	run_ok(eject, buf, sizeof(buf), NULL);
	run_ok(load, buf, sizeof(buf), NULL);
	expect_sense(run_status(tur), 2, 0x3a, 0x01);
	/* Inserting a disc makes it ready. */
	struct blk *disc = fake_blk_create(CD_BYTES, true);
	machine_lock(R.m);
	ide_change_media(piix_ide_channel(R.ide, 1), 0, disc, false);
	machine_unlock(R.m);
	expect_sense(run_status(tur), 6, 0x28, 0);
	assert_int_equal(run_status(tur), 0x50);
	rig_fini(&R);
	fake_blk_destroy(disc);
	R = saved;
}

static void test_disc_info_and_small_commands(void **state)
{
	uint8_t b[64];
	size_t n;
	uint8_t di[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 64 };
	run_ok(di, b, sizeof(b), &n);
	assert_int_equal(n, 34);
	assert_int_equal(be16(b), 32);
	assert_int_equal(b[2] & 0x03, 0x02);            /* complete disc */
	assert_int_equal(b[3], 1);
	di[1] = 1;
	expect_sense(run_status(di), 5, 0x24, 0);
	uint8_t speed[12] = { 0xbb, 0, 0xff, 0xff };
	assert_int_equal(run_status(speed), 0x50);
	/* CHECK POWER MODE, IDLE/STANDBY IMMEDIATE at the ATA level. */
	rig_outb(&R, SEC + R_STATUS, 0xe5);
	assert_int_equal(rig_alt(&R, SEC), 0x50);
	assert_int_equal(rig_inb(&R, SEC + R_NSECT), 0xff);
	rig_outb(&R, SEC + R_STATUS, 0xe1);
	assert_int_equal(rig_alt(&R, SEC), 0x50);
	rig_outb(&R, SEC + R_STATUS, 0x20);             /* READ SECTORS: aborted */
	assert_int_equal(rig_alt(&R, SEC), 0x51);
	rig_outb(&R, SEC + R_ERR, 0x02);                /* overlapped PACKET */
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	assert_int_equal(rig_alt(&R, SEC), 0x51);
}

static void test_unknown_cdbs(void **state)
{
	static const uint8_t known[] = { 0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b,
					 0x43, 0x46, 0x4a, 0x51, 0x5a, 0xa8, 0xbb, 0xbd };
	for (unsigned op = 0; op < 256; op++) {
		if (memchr(known, (int)op, sizeof(known)))
			continue;
		uint8_t cdb[12];
		for (unsigned i = 0; i < 12; i++)
			cdb[i] = (uint8_t)(op * 31 + i * 17);
		cdb[0] = (uint8_t)op;
		uint8_t st = run_status(cdb);
		assert_int_equal(st, 0x51);
		assert_int_equal(rig_inb(&R, SEC + R_ERR), 0x50);
		if (op % 16 == 0)
			expect_sense(run_status(cdb), 5, 0x20, 0);
	}
}

static void test_device_reset(void **state)
{
	uint8_t cdb[12], buf[2048];
	/* In the middle of a PIO data phase. */
	read10_cdb(cdb, 0, 4);
	packet(cdb, 2048, false);
	assert_int_equal(rig_wait(&R, SEC), 0x58);
	rig_read_words(&R, SEC, buf, 100);
	rig_outb(&R, SEC + R_STATUS, 0x08);
	assert_int_equal(rig_alt(&R, SEC), 0x00);
	assert_int_equal(rig_inb(&R, SEC + R_LBAM), 0x14);
	assert_int_equal(rig_inb(&R, SEC + R_LBAH), 0xeb);
	assert_int_equal(rig_in(&R, SEC, 2), 0xffff);
	/* With the image read in flight: busy until it is back. */
	packet(cdb, 2048, false);
	assert_int_equal(rig_alt(&R, SEC), 0x80);
	rig_outb(&R, SEC + R_STATUS, 0x08);
	assert_int_equal(rig_alt(&R, SEC), 0x80);
	fake_blk_drain(cd);
	assert_int_equal(rig_alt(&R, SEC), 0x00);
	assert_int_equal(rig_inb(&R, SEC + R_LBAM), 0x14);
	/* While waiting for the DMA engine to start. */
	rig_bm_setup(&R, 1, TABLE, true);
	packet(cdb, 0, true);
	assert_int_equal(rig_alt(&R, SEC), 0x58);
	assert_int_equal(fake_blk_pending(cd), 0);
	rig_outb(&R, SEC + R_STATUS, 0x08);
	assert_int_equal(rig_alt(&R, SEC), 0x00);
	/* The drive keeps working. */
	uint8_t tur[12] = { 0 };
	assert_int_equal(run_status(tur), 0x50);
}

static void test_hostile_packets(void **state)
{
	uint8_t cdb[12] = { 0x12, 0, 0, 0, 36 }, st, buf[64];
	/* Extra words after the CDB and reads during the CDB phase. */
	rig_outb(&R, SEC + R_ERR, 0);
	rig_outb(&R, SEC + R_LBAM, 0xfe);
	rig_outb(&R, SEC + R_LBAH, 0xff);
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(rig_in(&R, SEC, 2), 0xffff);
	assert_int_equal(rig_inb(&R, SEC), 0xff);       /* byte access: nothing */
	rig_write_words(&R, SEC, cdb, 6);
	for (unsigned i = 0; i < 50; i++)
		rig_out(&R, SEC, 2, 0x4141);
	assert_int_equal(pio_in(buf, sizeof(buf), 0xfffe, &st, NULL), 36);
	assert_int_equal(st, 0x50);
	assert_int_equal(buf[0], 0x05);
	/* Reading the data port forever afterwards. */
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(rig_in(&R, SEC, 4), 0xffffffffu);
	/* A new PACKET while DRQ is set for the CDB is ignored. */
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	rig_write_words(&R, SEC, cdb, 6);
	assert_int_equal(pio_in(buf, sizeof(buf), 0xfffe, &st, NULL), 36);
	/* 32-bit CDB writes. */
	uint8_t tur[12] = { 0 };
	rig_outb(&R, SEC + R_STATUS, 0xa0);
	for (unsigned i = 0; i < 3; i++)
		rig_out(&R, SEC, 4, 0);
	assert_int_equal(pio_in(buf, 0, 2, &st, NULL), 0);
	assert_int_equal(st, 0x50);
	(void)tur;
}

/* Random CDBs, limits, DMA or not, with data read back or abandoned. */
static void test_random_packets(void **state)
{
	struct rig_prd prd[1] = { { BUF, 0, true } };
	rig_prd_table(&R, TABLE, prd, 1);
	static const uint8_t ops[] = { 0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b,
				       0x43, 0x46, 0x4a, 0x51, 0x5a, 0xa8, 0xbb, 0xbd, 0x55, 0xad };
	for (unsigned round = 0; round < 20000; round++) {
		uint8_t cdb[12];
		for (unsigned i = 0; i < 12; i++)
			cdb[i] = (uint8_t)rig_rand();
		cdb[0] = ops[rig_rand() % sizeof(ops)];
		if (cdb[0] == 0x28 || cdb[0] == 0xa8) {
			cdb[2] = cdb[3] = 0;    /* mostly in range, short */
			cdb[6] = cdb[7] = 0;
			cdb[8] &= 0x0f;
			cdb[9] &= 0x0f;
		}
		bool dma = rig_rand() & 1;
		uint16_t bcl = (uint16_t)rig_rand();
		rig_bm_setup(&R, 1, TABLE, true);
		rig_outb(&R, SEC + R_DEV, 0xa0);
		rig_outb(&R, SEC + R_ERR, dma);
		rig_outb(&R, SEC + R_LBAM, (uint8_t)bcl);
		rig_outb(&R, SEC + R_LBAH, (uint8_t)(bcl >> 8));
		rig_outb(&R, SEC + R_STATUS, 0xa0);
		rig_write_words(&R, SEC, cdb, 6);
		if (dma)
			rig_bm_cmd(&R, 1, 0x09);
		for (unsigned i = 0; i < 64; i++) {
			uint8_t st = rig_wait(&R, SEC);
			if (!(st & 0x08))
				break;
			rig_in(&R, SEC, (rig_rand() & 1) ? 4 : 2);
		}
		rig_bm_cmd(&R, 1, 0);
		if (rig_alt(&R, SEC) & 0x08) {
			rig_outb(&R, SEC + R_STATUS, 0x08);     /* give up: DEVICE RESET */
			fake_blk_drain(cd);
		}
		assert_int_equal(rig_alt(&R, SEC) & 0x88, 0);
		rig_inb(&R, SEC + R_STATUS);
		/* Keep the tray closed and unlocked so reads keep reaching
		 * the image. */
		if (round % 64 == 0) {
			uint8_t allow[12] = { 0x1e }, load[12] = { 0x1b, 0, 0, 0, 3 };
			run_status(allow);
			run_status(load);
		}
	}
	struct fake_blk_stats s;
	fake_blk_stats(cd, &s);
	assert_true(s.reads > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_cd, teardown)
	const struct CMUnitTest tests[] = {
		T(test_signature_and_identify),
		T(test_tur_inquiry_capacity),
		T(test_read10_pio_seabios_style),
		T(test_read12_odd_limit_and_big_reads),
		T(test_byte_count_limit_zero_or_one),
		T(test_read_errors),
		T(test_dma_reads),
		T(test_read_toc),
		T(test_get_configuration),
		T(test_dvd_profile),
		T(test_mode_sense),
		T(test_tray_lock_and_events),
		T(test_media_change_from_host),
		T(test_empty_drive),
		T(test_disc_info_and_small_commands),
		T(test_unknown_cdbs),
		T(test_device_reset),
		T(test_hostile_packets),
		T(test_random_packets),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
