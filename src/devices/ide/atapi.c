/*
 * atapi: a CD/DVD-ROM drive behind the ATA PACKET command (ATA/ATAPI-6:
 * PACKET, IDENTIFY PACKET DEVICE and the packet protocols),
 * running the SCSI commands a guest's CD driver uses (SPC-3: INQUIRY, TEST
 * UNIT READY, REQUEST SENSE, MODE SENSE(6/10); SBC/MMC-3: READ CAPACITY,
 * READ(10/12), SEEK(10), START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ
 * TOC/PMA/ATIP formats 0-2, GET CONFIGURATION, GET EVENT STATUS
 * NOTIFICATION (polled, media class), READ DISC INFORMATION, MECHANISM
 * STATUS, SET CD SPEED).
 *
 * The medium is an image through blk with 2048-byte sectors (ISO 9660,
 * read-only). It reports the DVD-ROM profile when it holds more than a CD
 * can (80 minutes, 360000 sectors), else CD-ROM. The drive has a tray the
 * guest can open and close unless it locked it; opening it removes the
 * medium from view, closing it brings it back with a UNIT ATTENTION
 * (MEDIUM MAY HAVE CHANGED), as does an insertion from the host.
 *
 * Data phase: PIO in DRQ blocks of at most the byte-count limit (rounded
 * down to even except for the last block; a limit of 0 aborts a command
 * that has data, as IDENTIFY word 125 = 0 says), one interrupt per block;
 * or bus-master DMA when the host set the DMA bit in Features. Errors are
 * CHECK CONDITION: ERR in status, the sense key in the Error register's
 * high nibble, and sense data kept for REQUEST SENSE.
 *
 * Device lock held throughout (see ide.h).
 */
#include <errno.h>
#include <string.h>

#include "ide/ide.h"
#include "log.h"

#define ATAPI_VENDOR "Lodge"
#define ATAPI_PRODUCT "DVD-ROM"
#define ATAPI_MODEL "Lodge DVD-ROM"
#define CD_MAX_SECTORS (80u * 60 * 75)  /* an 80-minute CD */
#define CD_READ_SPEED 7056              /* kB/s reported: 40x */

/* Interrupt reason, in the Sector Count register (ATA-6). */
#define IREASON_COD 0x01
#define IREASON_IO  0x02

/* Sense keys and additional sense codes (SPC-3, sense data and its ASC/ASCQ table). */
#define SENSE_NONE            0x00
#define SENSE_NOT_READY       0x02
#define SENSE_MEDIUM_ERROR    0x03
#define SENSE_ILLEGAL_REQUEST 0x05
#define SENSE_UNIT_ATTENTION  0x06
#define SENSE_ABORTED_COMMAND 0x0b
#define ASC_UNRECOVERED_READ  0x11
#define ASC_INVALID_OPCODE    0x20
#define ASC_LBA_OUT_OF_RANGE  0x21
#define ASC_INVALID_FIELD     0x24
#define ASC_MEDIUM_CHANGED    0x28
#define ASC_SAVING_PARAMS     0x39
#define ASC_NO_MEDIUM         0x3a
#define ASC_REMOVAL_PREVENTED 0x53

/* GET EVENT STATUS NOTIFICATION media event codes (MMC-3). */
#define EVENT_NONE          0
#define EVENT_NEW_MEDIA     2
#define EVENT_MEDIA_REMOVAL 3

#define OP_TEST_UNIT_READY   0x00
#define OP_REQUEST_SENSE     0x03
#define OP_INQUIRY           0x12
#define OP_MODE_SENSE_6      0x1a
#define OP_START_STOP        0x1b
#define OP_PREVENT_ALLOW     0x1e
#define OP_READ_CAPACITY     0x25
#define OP_READ_10           0x28
#define OP_SEEK_10           0x2b
#define OP_READ_TOC          0x43
#define OP_GET_CONFIGURATION 0x46
#define OP_GET_EVENT_STATUS  0x4a
#define OP_READ_DISC_INFO    0x51
#define OP_MODE_SENSE_10     0x5a
#define OP_READ_12           0xa8
#define OP_SET_CD_SPEED      0xbb
#define OP_MECHANISM_STATUS  0xbd

/* Command table flags. */
#define NEED_MEDIUM 0x01                /* NOT READY without a medium */
#define ALLOW_UA    0x02                /* runs despite a pending UNIT ATTENTION */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put_padded(uint8_t *p, const char *s, size_t n)
{
	size_t len = strlen(s);
	memset(p, ' ', n);
	memcpy(p, s, len < n ? len : n);
}

static bool atapi_medium(const struct ide_drive *d)
{
	return d->blk && !d->atapi.tray_open;
}

static uint64_t atapi_sectors(const struct ide_drive *d)
{
	return d->blk ? blk_size(d->blk) / CD_SECTOR : 0;
}

static bool atapi_is_dvd(const struct ide_drive *d)
{
	return atapi_sectors(d) > CD_MAX_SECTORS;
}

/* ---- status ------------------------------------------------------------ */

static void atapi_set_sense(struct atapi_state *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	c->sense_key = key;
	c->asc = asc;
	c->ascq = ascq;
}

static void atapi_ok(struct ide_drive *d)
{
	d->nsector = IREASON_COD | IREASON_IO;
	d->atapi.reply_left = d->atapi.left = 0;
	ide_cmd_ok(d);
}

/* CHECK CONDITION with sense data. */
static void atapi_error(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
	struct atapi_state *c = &d->atapi;
	atapi_set_sense(c, key, asc, ascq);
	c->reply_left = c->left = 0;
	d->nsector = IREASON_COD | IREASON_IO;
	ide_cmd_error(d, (uint8_t)(key << 4), 0);
}

static void atapi_invalid_field(struct ide_drive *d)
{
	atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

static void atapi_no_medium(struct ide_drive *d)
{
	/* ASCQ 02: tray open; 01: tray closed. */
	atapi_error(d, SENSE_NOT_READY, ASC_NO_MEDIUM, d->atapi.tray_open ? 0x02 : 0x01);
}

/* ---- data phase -------------------------------------------------------- */

static void atapi_pio_next(struct ide_drive *d);

static void atapi_read_loaded(struct ide_drive *d, int result)
{
	struct atapi_state *c = &d->atapi;
	if (result) {
		atapi_error(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
		return;
	}
	c->lba += c->chunk;
	c->left -= c->chunk;
	c->reply_pos = 0;
	c->reply_left = c->chunk * CD_SECTOR;
	atapi_pio_next(d);
}

static void atapi_pio_drained(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	c->reply_pos += c->cur;
	c->reply_left -= c->cur;
	atapi_pio_next(d);
}

/*
 * Next PIO DRQ block: at most the byte-count limit (0xffff means 0xfffe),
 * even unless it is the last; the size goes to the Byte Count registers.
 * When buf is empty, fetch the next sectors of a READ.
 */
static void atapi_pio_next(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	if (!c->reply_left) {
		if (!c->left) {
			atapi_ok(d);
			return;
		}
		c->chunk = c->left < IDE_BUF_SIZE / CD_SECTOR ? c->left : IDE_BUF_SIZE / CD_SECTOR;
		ide_io_buf(d, BLK_READ, c->lba * CD_SECTOR, 0, c->chunk * CD_SECTOR,
			   atapi_read_loaded);
		return;
	}
	uint32_t limit = c->bcl == 0xffff ? 0xfffe : c->bcl;
	uint32_t n = c->reply_left < limit ? c->reply_left : limit;
	if (n < c->reply_left)
		n &= ~1u;
	if (!n) {
		/* Byte-count limit 0 (or 1 with more to come) for a command
		 * that has data: abort at the ATA level (IDENTIFY word 125). */
		log_guest(LOG_WARN, "ide", "ide%u-%u: PACKET with byte-count limit %u aborted",
			  d->ch->index, d->unit, c->bcl);
		atapi_set_sense(c, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
		c->reply_left = c->left = 0;
		d->nsector = IREASON_COD | IREASON_IO;
		ide_cmd_error(d, (uint8_t)(SENSE_ILLEGAL_REQUEST << 4 | ATA_ERR_ABRT), 0);
		return;
	}
	c->cur = n;
	d->lcyl = (uint8_t)n;
	d->hcyl = (uint8_t)(n >> 8);
	d->nsector = IREASON_IO;
	ide_pio_start(d, c->reply_pos, n, true, atapi_pio_drained, true);
}

static void atapi_dma_done(struct ide_drive *d, int result)
{
	if (result == -EFAULT)
		atapi_error(d, SENSE_ABORTED_COMMAND, 0, 0);
	else if (result)
		atapi_error(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
	else
		atapi_ok(d);
}

/* Return len bytes of buf, cut to the command's allocation length. */
static void atapi_reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
	struct atapi_state *c = &d->atapi;
	uint32_t n = len < alloc ? len : alloc;
	if (!n) {
		atapi_ok(d);
		return;
	}
	c->left = 0;
	c->reply_pos = 0;
	c->reply_left = n;
	if (c->dma)
		ide_dma_begin(d, true, true, 0, n, atapi_dma_done);
	else
		atapi_pio_next(d);
}

/* ---- commands ---------------------------------------------------------- */

static void atapi_test_unit_ready(struct ide_drive *d)
{
	atapi_ok(d);                    /* NEED_MEDIUM did the work */
}

/* REQUEST SENSE (SPC-3): fixed-format sense, then no sense. A pending
 * UNIT ATTENTION is reported (and cleared) here too. */
static void atapi_request_sense(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	uint8_t *b = d->buf;
	if (c->sense_key == SENSE_NONE && c->unit_attention) {
		atapi_set_sense(c, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		c->unit_attention = false;
	}
	memset(b, 0, 18);
	b[0] = 0x70;                    /* current error, fixed format */
	b[2] = c->sense_key;
	b[7] = 10;
	b[12] = c->asc;
	b[13] = c->ascq;
	atapi_set_sense(c, SENSE_NONE, 0, 0);
	atapi_reply(d, 18, c->cdb[4]);
}

/* INQUIRY (SPC-3): standard data only. */
static void atapi_inquiry(struct ide_drive *d)
{
	const uint8_t *cdb = d->atapi.cdb;
	uint8_t *b = d->buf;
	if (cdb[1] & 0x01) {
		atapi_invalid_field(d);  /* no vital product data pages */
		return;
	}
	memset(b, 0, 36);
	b[0] = 0x05;                    /* CD/DVD device */
	b[1] = 0x80;                    /* removable */
	b[2] = 0x00;                    /* ATAPI drives claim no SCSI version */
	b[3] = 0x21;                    /* ATAPI 2, response format 1 */
	b[4] = 31;
	put_padded(b + 8, ATAPI_VENDOR, 8);
	put_padded(b + 16, ATAPI_PRODUCT, 16);
	put_padded(b + 32, LODGE_VERSION, 4);
	atapi_reply(d, 36, be16(cdb + 3));
}

/* START STOP UNIT (MMC-3): LoEj opens (Start=0) or closes the tray. */
static void atapi_start_stop(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	bool start = c->cdb[4] & 0x01, loej = c->cdb[4] & 0x02;
	if (loej && !start) {
		if (c->locked) {
			atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
			return;
		}
		if (!c->tray_open && d->blk)
			c->event = EVENT_MEDIA_REMOVAL;
		c->tray_open = true;
	} else if (loej && start && c->tray_open) {
		c->tray_open = false;
		if (d->blk) {
			c->event = EVENT_NEW_MEDIA;
			c->unit_attention = true;
		}
	}
	atapi_ok(d);
}

static void atapi_prevent_allow(struct ide_drive *d)
{
	d->atapi.locked = d->atapi.cdb[4] & 0x01;
	atapi_ok(d);
}

/* READ CAPACITY (SBC): last LBA and the block size. */
static void atapi_read_capacity(struct ide_drive *d)
{
	uint64_t total = atapi_sectors(d), last = total ? total - 1 : 0;
	put32(d->buf, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	put32(d->buf + 4, CD_SECTOR);
	atapi_reply(d, 8, 8);
}

static void atapi_read(struct ide_drive *d, uint64_t lba, uint32_t n)
{
	struct atapi_state *c = &d->atapi;
	uint64_t total = atapi_sectors(d);
	if (lba > total || n > total - lba) {
		atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
		return;
	}
	if (!n) {
		atapi_ok(d);
		return;
	}
	if (c->dma) {
		ide_dma_begin(d, true, false, lba * CD_SECTOR, (uint64_t)n * CD_SECTOR,
			      atapi_dma_done);
		return;
	}
	c->lba = lba;
	c->left = n;
	c->reply_left = 0;
	atapi_pio_next(d);
}

static void atapi_read10(struct ide_drive *d)
{
	atapi_read(d, be32(d->atapi.cdb + 2), be16(d->atapi.cdb + 7));
}

static void atapi_read12(struct ide_drive *d)
{
	atapi_read(d, be32(d->atapi.cdb + 2), be32(d->atapi.cdb + 6));
}

static void atapi_seek(struct ide_drive *d)
{
	if (be32(d->atapi.cdb + 2) >= atapi_sectors(d))
		atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
	else
		atapi_ok(d);
}

/* An address as LBA, or as MSF (minute/second/frame with the 2-second
 * pregap), saturating where an MSF cannot express a large DVD. */
static void atapi_put_addr(uint8_t *p, uint64_t lba, bool msf)
{
	if (!msf) {
		put32(p, lba > 0xffffffffu ? 0xffffffffu : (uint32_t)lba);
		return;
	}
	uint64_t f = lba + 150;
	if (f > 255ULL * 60 * 75 + 59 * 75 + 74)
		f = 255ULL * 60 * 75 + 59 * 75 + 74;
	p[0] = 0;
	p[1] = (uint8_t)(f / (60 * 75));
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

/* READ TOC/PMA/ATIP (MMC-3): one data track and the lead-out. */
static void atapi_read_toc(struct ide_drive *d)
{
	const uint8_t *cdb = d->atapi.cdb;
	uint8_t *b = d->buf;
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f, track = cdb[6];
	uint64_t leadout = atapi_sectors(d);
	uint32_t len;
	if (!format)
		format = cdb[9] >> 6;   /* the SFF-8020 place for it */
	memset(b, 0, 64);
	switch (format) {
	case 0:                         /* TOC */
		if (track > 1 && track != 0xaa) {
			atapi_invalid_field(d);
			return;
		}
		b[2] = b[3] = 1;
		len = 4;
		if (track <= 1) {
			b[len + 1] = 0x14;      /* ADR 1, data track */
			b[len + 2] = 1;
			atapi_put_addr(b + len + 4, 0, msf);
			len += 8;
		}
		b[len + 1] = 0x14;
		b[len + 2] = 0xaa;
		atapi_put_addr(b + len + 4, leadout, msf);
		len += 8;
		break;
	case 1:                         /* session information */
		b[2] = b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		atapi_put_addr(b + 8, 0, msf);
		len = 12;
		break;
	case 2: {                       /* raw TOC: A0, A1, A2 and track 1 */
		static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 0x01 };
		b[2] = b[3] = 1;
		len = 4;
		for (unsigned i = 0; i < 4; i++, len += 11) {
			uint8_t *e = b + len;
			e[0] = 1;               /* session */
			e[1] = 0x14;
			e[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				e[8] = 1;       /* first/last track; disc type 0 */
			else
				atapi_put_addr(e + 7, points[i] == 0xa2 ? leadout : 0, true);
		}
		break;
	}
	default:
		atapi_invalid_field(d);
		return;
	}
	put16(b, (uint16_t)(len - 2));
	atapi_reply(d, len, be16(cdb + 7));
}

static uint32_t atapi_feature(uint8_t *p, uint16_t code, bool current, uint8_t len)
{
	put16(p, code);
	p[2] = (uint8_t)((code <= 0x0003 ? 0x02 : 0) | (current ? 0x01 : 0)); /* persistent */
	p[3] = len;
	memset(p + 4, 0, len);
	return 4u + len;
}

/* GET CONFIGURATION (MMC-3, with its feature descriptors): the profile list (DVD-ROM,
 * CD-ROM), Core (ATAPI), Removable Medium, Random Readable, CD Read and
 * DVD Read. RT 0: all from the starting feature; 1: the current ones; 2:
 * just that one. */
static void atapi_get_configuration(struct ide_drive *d)
{
	const uint8_t *cdb = d->atapi.cdb;
	uint8_t rt = cdb[1] & 0x03, *b = d->buf, *p;
	uint16_t start = be16(cdb + 2);
	bool medium = atapi_medium(d), dvd = medium && atapi_is_dvd(d), cd = medium && !dvd;
	if (rt == 3) {
		atapi_invalid_field(d);
		return;
	}
	memset(b, 0, 8);
	put16(b + 6, dvd ? 0x0010 : cd ? 0x0008 : 0x0000);
	uint32_t len = 8;
	static const uint16_t codes[] = { 0x0000, 0x0001, 0x0003, 0x0010, 0x001e, 0x001f };
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint16_t code = codes[i];
		bool current = code == 0x0010 ? medium : code == 0x001e ? cd :
			       code == 0x001f ? dvd : true;
		if (code < start || (rt == 1 && !current) || (rt == 2 && code != start))
			continue;
		p = b + len;
		switch (code) {
		case 0x0000:            /* profile list */
			len += atapi_feature(p, code, true, 8);
			put16(p + 4, 0x0010);
			p[6] = dvd;
			put16(p + 8, 0x0008);
			p[10] = cd;
			break;
		case 0x0001:            /* core: ATAPI */
			len += atapi_feature(p, code, true, 4);
			put32(p + 4, 2);
			break;
		case 0x0003:            /* removable: tray, eject, lock */
			len += atapi_feature(p, code, true, 4);
			p[4] = 0x29;
			break;
		case 0x0010:            /* random readable */
			len += atapi_feature(p, code, current, 8);
			put32(p + 4, CD_SECTOR);
			put16(p + 8, dvd ? 16 : 1);
			break;
		default:                /* CD read, DVD read */
			len += atapi_feature(p, code, current, code == 0x001e ? 4 : 0);
			break;
		}
	}
	put32(b, len - 4);
	atapi_reply(d, len, be16(cdb + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-3), polled, media class. */
static void atapi_get_event_status(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	uint8_t *b = d->buf;
	uint32_t len;
	if (!(c->cdb[1] & 0x01)) {
		atapi_invalid_field(d);  /* asynchronous notification */
		return;
	}
	memset(b, 0, 8);
	b[3] = 0x10;                    /* supported: media */
	if (c->cdb[4] & 0x10) {
		put16(b, 6);
		b[2] = 0x04;            /* media class */
		b[4] = c->event;
		b[5] = (uint8_t)((atapi_medium(d) ? 0x02 : 0) | (c->tray_open ? 0x01 : 0));
		c->event = EVENT_NONE;
		len = 8;
	} else {
		put16(b, 2);
		b[2] = 0x80;            /* no event available */
		len = 4;
	}
	atapi_reply(d, len, be16(c->cdb + 7));
}

/* READ DISC INFORMATION (MMC-3): a finalized single-session disc. */
static void atapi_read_disc_info(struct ide_drive *d)
{
	uint8_t *b = d->buf;
	if (d->atapi.cdb[1] & 0x07) {
		atapi_invalid_field(d);
		return;
	}
	memset(b, 0, 34);
	put16(b, 32);
	b[2] = 0x0e;                    /* last session and disc complete */
	b[3] = b[4] = b[5] = b[6] = 1;
	memset(b + 16, 0xff, 8);        /* no lead-in / lead-out to record */
	atapi_reply(d, 34, be16(d->atapi.cdb + 7));
}

static uint32_t atapi_mode_page(const struct ide_drive *d, uint8_t *p, uint8_t page, bool values)
{
	if (page == 0x01) {             /* read/write error recovery */
		memset(p, 0, 8);
		p[0] = 0x01;
		p[1] = 0x06;
		if (values)
			p[3] = 5;       /* read retry count */
		return 8;
	}
	memset(p, 0, 22);               /* 2Ah: capabilities (MMC-2 layout) */
	p[0] = 0x2a;
	p[1] = 0x14;
	if (!values)
		return 22;
	p[2] = 0x3b;                    /* reads CD-R/RW, DVD-ROM/R/RAM */
	p[4] = 0x70;                    /* mode 2 form 1/2, multi-session */
	p[6] = (uint8_t)(0x29 | (d->atapi.locked ? 0x02 : 0)); /* tray, eject, lock */
	put16(p + 8, CD_READ_SPEED);
	put16(p + 12, 512);             /* buffer, KiB */
	put16(p + 14, CD_READ_SPEED);
	return 22;
}

/* MODE SENSE(6) and (10) (SPC-3; page 2Ah from MMC): pages 01h, 2Ah and 3Fh (all). */
static void atapi_mode_sense(struct ide_drive *d)
{
	const uint8_t *cdb = d->atapi.cdb;
	bool ten = cdb[0] == OP_MODE_SENSE_10;
	uint8_t pc = cdb[2] >> 6, page = cdb[2] & 0x3f, *b = d->buf;
	uint32_t alloc = ten ? be16(cdb + 7) : cdb[4];
	uint32_t len = ten ? 8 : 4;
	if (pc == 3) {
		atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMS, 0);
		return;
	}
	if (page != 0x01 && page != 0x2a && page != 0x3f) {
		atapi_invalid_field(d);
		return;
	}
	memset(b, 0, len);
	bool values = pc != 1;          /* changeable: nothing is */
	if (page == 0x01 || page == 0x3f)
		len += atapi_mode_page(d, b + len, 0x01, values);
	if (page == 0x2a || page == 0x3f)
		len += atapi_mode_page(d, b + len, 0x2a, values);
	if (ten)
		put16(b, (uint16_t)(len - 2));
	else
		b[0] = (uint8_t)(len - 1);
	atapi_reply(d, len, alloc);
}

/* MECHANISM STATUS (MMC-3): no changer, tray state. */
static void atapi_mechanism_status(struct ide_drive *d)
{
	memset(d->buf, 0, 8);
	d->buf[1] = d->atapi.tray_open ? 0x10 : 0;
	atapi_reply(d, 8, be16(d->atapi.cdb + 8));
}

struct atapi_cmd {
	uint8_t op, flags;
	ide_step_fn *run;
};

static const struct atapi_cmd atapi_cmds[] = {
	{ OP_TEST_UNIT_READY, NEED_MEDIUM, atapi_test_unit_ready },
	{ OP_REQUEST_SENSE, ALLOW_UA, atapi_request_sense },
	{ OP_INQUIRY, ALLOW_UA, atapi_inquiry },
	{ OP_MODE_SENSE_6, 0, atapi_mode_sense },
	{ OP_START_STOP, 0, atapi_start_stop },
	{ OP_PREVENT_ALLOW, 0, atapi_prevent_allow },
	{ OP_READ_CAPACITY, NEED_MEDIUM, atapi_read_capacity },
	{ OP_READ_10, NEED_MEDIUM, atapi_read10 },
	{ OP_SEEK_10, NEED_MEDIUM, atapi_seek },
	{ OP_READ_TOC, NEED_MEDIUM, atapi_read_toc },
	{ OP_GET_CONFIGURATION, ALLOW_UA, atapi_get_configuration },
	{ OP_GET_EVENT_STATUS, ALLOW_UA, atapi_get_event_status },
	{ OP_READ_DISC_INFO, NEED_MEDIUM, atapi_read_disc_info },
	{ OP_MODE_SENSE_10, 0, atapi_mode_sense },
	{ OP_READ_12, NEED_MEDIUM, atapi_read12 },
	{ OP_SET_CD_SPEED, 0, atapi_ok },
	{ OP_MECHANISM_STATUS, 0, atapi_mechanism_status },
};

/* The 12-byte command packet has arrived: run it. */
static void atapi_packet_received(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	const struct atapi_cmd *cmd = NULL;
	memcpy(c->cdb, d->buf, sizeof(c->cdb));
	c->reply_left = c->left = 0;
	for (size_t i = 0; i < sizeof(atapi_cmds) / sizeof(atapi_cmds[0]); i++)
		if (atapi_cmds[i].op == c->cdb[0])
			cmd = &atapi_cmds[i];
	if (!cmd) {
		log_debug("ide", "ide%u-%u: SCSI command %#x not supported", d->ch->index, d->unit,
			  c->cdb[0]);
		atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
		return;
	}
	if (c->unit_attention && !(cmd->flags & ALLOW_UA)) {
		c->unit_attention = false;
		atapi_error(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return;
	}
	if (cmd->op != OP_REQUEST_SENSE)
		atapi_set_sense(c, SENSE_NONE, 0, 0);
	if ((cmd->flags & NEED_MEDIUM) && !atapi_medium(d)) {
		atapi_no_medium(d);
		return;
	}
	cmd->run(d);
}

/* PACKET: take 12 command bytes (no interrupt: IDENTIFY word 0
 * says DRQ comes within 50 us). Overlapped commands are not offered. */
static void atapi_packet(struct ide_drive *d)
{
	struct atapi_state *c = &d->atapi;
	if (d->feature & 0x02) {
		ide_cmd_abort(d);
		return;
	}
	c->dma = d->feature & 0x01;
	c->bcl = (uint16_t)(d->hcyl << 8 | d->lcyl);
	d->nsector = IREASON_COD;
	ide_pio_start(d, 0, sizeof(c->cdb), false, atapi_packet_received, false);
}

/* IDENTIFY PACKET DEVICE. */
static void atapi_identify(struct ide_drive *d)
{
	uint16_t w[256] = { 0 };
	/* ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets. */
	w[0] = 0x8000 | 0x0500 | 0x0080 | 0x0040;
	ide_id_common(d, w);
	ide_id_string(w, 27, 20, ATAPI_MODEL);
	w[71] = w[72] = 30;             /* bus release / service, ns */
	w[80] = 0x007e;
	w[82] = (1 << 14) | (1 << 9) | (1 << 4);   /* NOP, DEVICE RESET, PACKET */
	w[83] = w[84] = w[87] = 0x4000;
	w[85] = w[82];
	w[125] = 0;                     /* byte-count limit 0 aborts */
	ide_id_finish(w, d->buf);
	ide_pio_start(d, 0, 512, true, ide_pio_end, true);
}

void atapi_exec(struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case ATA_CMD_PACKET:
		atapi_packet(d);
		return;
	case ATA_CMD_ID_PACKET:
		atapi_identify(d);
		return;
	case ATA_CMD_IDENTIFY:
		/* Packet devices refuse and show their signature (IDENTIFY DEVICE). */
		ide_set_signature(d);
		ide_cmd_abort(d);
		return;
	case ATA_CMD_SET_FEATURES:
		if (d->feature == ATA_SF_XFER_MODE && ide_xfer_mode_valid(d->nsector)) {
			d->xfer_mode = d->nsector;
			ide_cmd_ok(d);
		} else {
			ide_cmd_abort(d);
		}
		return;
	case ATA_CMD_CHECK_POWER:
		d->nsector = 0xff;
		ide_cmd_ok(d);
		return;
	case ATA_CMD_STANDBY_IMM:
	case ATA_CMD_IDLE_IMM:
		ide_cmd_ok(d);
		return;
	default:
		log_debug("ide", "ide%u-%u: ATA command %#x aborted by the CD-ROM", d->ch->index,
			  d->unit, cmd);
		ide_cmd_abort(d);
		return;
	}
}

void atapi_init(struct ide_drive *d)
{
	memset(&d->atapi, 0, sizeof(d->atapi));
}

/* A soft reset keeps the medium, the tray and its lock. */
void atapi_reset(struct ide_drive *d, bool power_on)
{
	struct atapi_state *c = &d->atapi;
	c->reply_left = c->left = 0;
	c->dma = false;
	if (!power_on)
		return;
	c->tray_open = c->locked = c->unit_attention = false;
	c->event = EVENT_NONE;
	atapi_set_sense(c, SENSE_NONE, 0, 0);
}

/* The host inserted or removed the medium (ide_change_media). A command
 * caught in the middle fails; the next command sees UNIT ATTENTION after an
 * insertion; GET EVENT STATUS NOTIFICATION reports the event. */
void atapi_media_changed(struct ide_drive *d, bool inserted, bool interrupted)
{
	struct atapi_state *c = &d->atapi;
	c->tray_open = false;
	c->locked = false;
	c->event = inserted ? EVENT_NEW_MEDIA : EVENT_MEDIA_REMOVAL;
	c->unit_attention = inserted;
	if (interrupted)
		atapi_error(d, inserted ? SENSE_UNIT_ATTENTION : SENSE_NOT_READY,
			    inserted ? ASC_MEDIUM_CHANGED : ASC_NO_MEDIUM, 0);
}
