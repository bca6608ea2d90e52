/*
 * ata: the ATA command set of a hard disk (ATA/ATAPI-6, T13/1410D rev. 3b,
 * command descriptions): IDENTIFY DEVICE, READ/WRITE SECTORS and MULTIPLE with
 * SET MULTIPLE MODE, READ/WRITE DMA, each also in its 48-bit EXT form, READ
 * VERIFY, FLUSH CACHE (EXT), SET FEATURES (transfer mode, write cache,
 * look-ahead), INITIALIZE DEVICE PARAMETERS, RECALIBRATE, SEEK and the power
 * commands, which a virtual disk can complete at once.
 *
 * Addresses come as CHS (through the current translation, which INITIALIZE
 * DEVICE PARAMETERS sets), 28-bit LBA or 48-bit LBA; a sector count of 0
 * means 256 (65536 for EXT). Anything outside the image is IDNF.
 *
 * PIO reads fetch up to 128 KiB ahead into the device buffer and hand it out
 * one DRQ block (1 sector, or the multiple count) at a time, raising an
 * interrupt per block (the PIO data-in protocol). PIO writes collect one DRQ block,
 * then write it while BSY (PIO data-out). DMA commands move data straight between
 * the image and guest memory through ide.c's bus-master data phase (the DMA protocol).
 * With the write cache disabled, a write command completes only after a
 * flush, so "on the medium" means on stable storage.
 *
 * Device lock held throughout (see ide.h).
 */
#include <errno.h>
#include <string.h>

#include "ide/ide.h"
#include "log.h"

#define ATA_MODEL "Lodge HARDDISK"
#define ATA_BUF_SECTORS (IDE_BUF_SIZE / IDE_SECTOR)

#define CMD_READ          0x20
#define CMD_READ_NR       0x21
#define CMD_READ_EXT      0x24
#define CMD_READ_DMA_EXT  0x25
#define CMD_READ_MULT_EXT 0x29
#define CMD_WRITE         0x30
#define CMD_WRITE_NR      0x31
#define CMD_WRITE_EXT     0x34
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_WRITE_MULT_EXT 0x39
#define CMD_VERIFY        0x40
#define CMD_VERIFY_NR     0x41
#define CMD_VERIFY_EXT    0x42
#define CMD_INIT_PARAMS   0x91
#define CMD_READ_MULT     0xc4
#define CMD_WRITE_MULT    0xc5
#define CMD_SET_MULT      0xc6
#define CMD_READ_DMA      0xc8
#define CMD_READ_DMA_NR   0xc9
#define CMD_WRITE_DMA     0xca
#define CMD_WRITE_DMA_NR  0xcb
#define CMD_FLUSH         0xe7
#define CMD_FLUSH_EXT     0xea

enum ata_xfer { ATA_PIO, ATA_PIO_MULT, ATA_DMA };

static uint32_t ata_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Geometry the drive reports: the image's (a VHD footer's, or the VHD
 * spec's computation) when it fits the ATA limits of 16383/16/63, else
 * the standard 16383/16/63 of a large drive. */
void ata_init(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	struct blk_geometry g;
	a->sectors = blk_size(d->blk) / IDE_SECTOR;
	blk_get_geometry(d->blk, &g);
	if (g.cylinders && g.heads && g.heads <= 16 && g.sectors && g.sectors <= 63) {
		a->heads = g.heads;
		a->spt = g.sectors;
		a->cyls = (uint16_t)(g.cylinders > 16383 ? 16383 : g.cylinders);
	} else {
		uint64_t c = a->sectors / (16 * 63);
		a->heads = 16;
		a->spt = 63;
		a->cyls = (uint16_t)(c > 16383 ? 16383 : c ? c : 1);
	}
}

/* Soft reset keeps the settings (as if SET FEATURES 66h were in force);
 * power-on restores the defaults. */
void ata_reset(struct ide_drive *d, bool power_on)
{
	struct ata_state *a = &d->ata;
	a->left = a->buf_first = a->buf_count = a->cur = a->chunk = 0;
	if (!power_on)
		return;
	a->mult = ATA_MAX_MULT;
	a->wcache = true;
	a->lookahead = true;
	a->cur_cyls = a->cyls;
	a->cur_heads = a->heads;
	a->cur_spt = a->spt;
}

/* IDENTIFY DEVICE. */
static void ata_identify(struct ide_drive *d)
{
	const struct ata_state *a = &d->ata;
	uint16_t w[256] = { 0 };
	w[0] = 0x0040;                          /* fixed device */
	w[1] = a->cyls;
	w[3] = a->heads;
	w[4] = (uint16_t)(IDE_SECTOR * a->spt); /* obsolete bytes per track */
	w[5] = IDE_SECTOR;
	w[6] = a->spt;
	w[20] = 3;                              /* obsolete: buffer type */
	w[21] = ATA_BUF_SECTORS;
	w[22] = 4;
	ide_id_common(d, w);
	ide_id_string(w, 27, 20, ATA_MODEL);
	w[47] = 0x8000 | ATA_MAX_MULT;
	w[53] |= 0x0001;                        /* words 54-58 are valid */
	uint32_t cap = (uint32_t)a->cur_cyls * a->cur_heads * a->cur_spt;
	w[54] = a->cur_cyls;
	w[55] = a->cur_heads;
	w[56] = a->cur_spt;
	w[57] = (uint16_t)cap;
	w[58] = (uint16_t)(cap >> 16);
	if (a->mult)
		w[59] = 0x0100 | a->mult;
	uint32_t lba28 = a->sectors > 0x0fffffff ? 0x0fffffff : (uint32_t)a->sectors;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	w[80] = 0x007e;                         /* ATA-1 to ATA/ATAPI-6 */
	/* Supported: NOP, look-ahead, write cache, power management; FLUSH
	 * CACHE (EXT) and 48-bit addressing. */
	w[82] = (1 << 14) | (1 << 6) | (1 << 5) | (1 << 3);
	w[83] = 0x4000 | (1 << 13) | (1 << 12) | (1 << 10);
	w[84] = 0x4000;
	w[85] = (uint16_t)((1 << 14) | (a->lookahead << 6) | (a->wcache << 5) | (1 << 3));
	w[86] = (1 << 13) | (1 << 12) | (1 << 10);
	w[87] = 0x4000;
	for (unsigned i = 0; i < 4; i++)
		w[100 + i] = (uint16_t)(a->sectors >> (16 * i));
	ide_id_finish(w, d->buf);
	ide_pio_start(d, 0, 512, true, ide_pio_end, true);
}

/* ---- addresses --------------------------------------------------------- */

static uint32_t ata_count(const struct ide_drive *d, bool ext)
{
	if (ext) {
		uint32_t n = (uint32_t)d->hob_nsector << 8 | d->nsector;
		return n ? n : 65536;
	}
	return d->nsector ? d->nsector : 256;
}

/* The command's starting sector; false if a CHS address does not exist in
 * the current translation. */
static bool ata_address(struct ide_drive *d, bool ext, uint64_t *lba)
{
	struct ata_state *a = &d->ata;
	if (ext) {
		a->mode = ATA_ADDR_LBA48;
		*lba = (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
		       (uint64_t)d->hob_sector << 24 | (uint64_t)d->hcyl << 16 |
		       (uint64_t)d->lcyl << 8 | d->sector;
		return true;
	}
	if (d->select & ATA_DEV_LBA) {
		a->mode = ATA_ADDR_LBA28;
		*lba = (uint64_t)(d->select & 0x0f) << 24 | (uint64_t)d->hcyl << 16 |
		       (uint64_t)d->lcyl << 8 | d->sector;
		return true;
	}
	a->mode = ATA_ADDR_CHS;
	unsigned cyl = (unsigned)d->hcyl << 8 | d->lcyl, head = d->select & 0x0f, sec = d->sector;
	if (!sec || sec > a->cur_spt || head >= a->cur_heads || cyl >= a->cur_cyls)
		return false;
	*lba = ((uint64_t)cyl * a->cur_heads + head) * a->cur_spt + sec - 1;
	return true;
}

/* Error outputs: the address of the sector in error,
 * in the form the command used. */
static void ata_report_lba(struct ide_drive *d, uint64_t lba)
{
	const struct ata_state *a = &d->ata;
	switch (a->mode) {
	case ATA_ADDR_LBA48:
		d->hob_hcyl = (uint8_t)(lba >> 40);
		d->hob_lcyl = (uint8_t)(lba >> 32);
		d->hob_sector = (uint8_t)(lba >> 24);
		break;
	case ATA_ADDR_LBA28:
		d->select = (uint8_t)((d->select & 0xf0) | ((lba >> 24) & 0x0f));
		break;
	case ATA_ADDR_CHS: {
		uint64_t track = lba / a->cur_spt;
		unsigned cyl = (unsigned)(track / a->cur_heads);
		d->select = (uint8_t)((d->select & 0xf0) | (track % a->cur_heads));
		d->sector = (uint8_t)(lba % a->cur_spt + 1);
		d->lcyl = (uint8_t)cyl;
		d->hcyl = (uint8_t)(cyl >> 8);
		return;
	}
	}
	d->hcyl = (uint8_t)(lba >> 16);
	d->lcyl = (uint8_t)(lba >> 8);
	d->sector = (uint8_t)lba;
}

static void ata_fail(struct ide_drive *d, uint64_t lba, uint8_t error, uint8_t status)
{
	ata_report_lba(d, lba);
	d->ata.left = 0;
	ide_cmd_error(d, error, status);
}

/* Decode and range-check the command's sectors; on failure the command
 * has been ended with IDNF. */
static bool ata_range(struct ide_drive *d, bool ext, uint64_t *lba, uint32_t *count)
{
	const struct ata_state *a = &d->ata;
	*count = ata_count(d, ext);
	if (!ata_address(d, ext, lba)) {
		ide_cmd_error(d, ATA_ERR_IDNF, 0);
		return false;
	}
	if (*lba >= a->sectors || *count > a->sectors - *lba) {
		ata_fail(d, *lba < a->sectors ? a->sectors : *lba, ATA_ERR_IDNF, 0);
		return false;
	}
	return true;
}

/* ---- end of a read or write -------------------------------------------- */

static void ata_flushed(struct ide_drive *d, int result)
{
	if (result)
		ide_cmd_error(d, ATA_ERR_ABRT, ATA_ST_DF);
	else
		ide_cmd_ok(d);
}

/* Write-through when the write cache is off: complete after a flush. */
static void ata_write_complete(struct ide_drive *d)
{
	if (!d->ata.wcache)
		ide_io_buf(d, BLK_FLUSH, 0, 0, 0, ata_flushed);
	else
		ide_cmd_ok(d);
}

/* ---- PIO data-in ------------------------------------------------------- */

static void ata_pio_in_next(struct ide_drive *d);

static void ata_pio_in_loaded(struct ide_drive *d, int result)
{
	struct ata_state *a = &d->ata;
	if (result) {
		ata_fail(d, a->lba, ATA_ERR_UNC, 0);
		return;
	}
	a->buf_first = 0;
	a->buf_count = a->chunk;
	a->lba += a->chunk;
	ata_pio_in_next(d);
}

static void ata_pio_in_drained(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	a->buf_first += a->cur;
	a->buf_count -= a->cur;
	a->left -= a->cur;
	ata_pio_in_next(d);
}

static void ata_pio_in_next(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	if (!a->left) {
		ide_pio_end(d);
		return;
	}
	if (!a->buf_count) {
		a->chunk = ata_min(a->left, ATA_BUF_SECTORS);
		ide_io_buf(d, BLK_READ, a->lba * IDE_SECTOR, 0, a->chunk * IDE_SECTOR,
			   ata_pio_in_loaded);
		return;
	}
	a->cur = ata_min(a->block, a->buf_count);
	ide_pio_start(d, a->buf_first * IDE_SECTOR, a->cur * IDE_SECTOR, true,
		      ata_pio_in_drained, true);
}

/* ---- PIO data-out ------------------------------------------------------ */

static void ata_pio_out_drained(struct ide_drive *d);

static void ata_pio_out_block(struct ide_drive *d, bool irq)
{
	struct ata_state *a = &d->ata;
	if (!a->left) {
		ata_write_complete(d);
		return;
	}
	a->cur = ata_min(a->block, a->left);
	ide_pio_start(d, 0, a->cur * IDE_SECTOR, false, ata_pio_out_drained, irq);
}

static void ata_pio_out_written(struct ide_drive *d, int result)
{
	struct ata_state *a = &d->ata;
	if (result) {
		ata_fail(d, a->lba, ATA_ERR_ABRT, ATA_ST_DF);
		return;
	}
	a->lba += a->cur;
	a->left -= a->cur;
	ata_pio_out_block(d, true);
}

static void ata_pio_out_drained(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	ide_io_buf(d, BLK_WRITE, a->lba * IDE_SECTOR, 0, a->cur * IDE_SECTOR, ata_pio_out_written);
}

/* ---- DMA --------------------------------------------------------------- */

static void ata_dma_done(struct ide_drive *d, int result)
{
	struct ata_state *a = &d->ata;
	if (result == -EFAULT) {
		/* The bus master failed (PRD table, memory): its Error bit
		 * says so; the device aborts. */
		ata_fail(d, a->lba, ATA_ERR_ABRT, 0);
		return;
	}
	if (result) {
		ata_fail(d, a->lba, a->write ? ATA_ERR_ABRT : ATA_ERR_UNC, a->write ? ATA_ST_DF : 0);
		return;
	}
	a->lba += a->left;
	a->left = 0;
	if (a->write)
		ata_write_complete(d);
	else
		ide_cmd_ok(d);
}

/* ---- commands ---------------------------------------------------------- */

static void ata_rw(struct ide_drive *d, bool ext, bool write, enum ata_xfer how)
{
	struct ata_state *a = &d->ata;
	uint64_t lba;
	uint32_t count;
	if (how == ATA_PIO_MULT && !a->mult) {
		ide_cmd_abort(d);               /* multiple mode is off */
		return;
	}
	if (!ata_range(d, ext, &lba, &count))
		return;
	if (write && blk_is_read_only(d->blk)) {
		log_guest(LOG_INFO, "ide", "ide%u-%u: write to a read-only disk refused",
			  d->ch->index, d->unit);
		ide_cmd_abort(d);
		return;
	}
	a->lba = lba;
	a->left = count;
	a->write = write;
	a->block = how == ATA_PIO_MULT ? a->mult : 1;
	a->buf_first = a->buf_count = 0;
	if (how == ATA_DMA)
		ide_dma_begin(d, !write, false, lba * IDE_SECTOR, (uint64_t)count * IDE_SECTOR,
			      ata_dma_done);
	else if (write)
		ata_pio_out_block(d, false);    /* no interrupt for the first block */
	else
		ata_pio_in_next(d);
}

static void ata_verify_next(struct ide_drive *d);

static void ata_verify_read(struct ide_drive *d, int result)
{
	struct ata_state *a = &d->ata;
	if (result) {
		ata_fail(d, a->lba, ATA_ERR_UNC, 0);
		return;
	}
	a->lba += a->chunk;
	a->left -= a->chunk;
	ata_verify_next(d);
}

/* READ VERIFY SECTORS: read without transferring, so that a host
 * read error on the image surfaces as UNC. */
static void ata_verify_next(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	if (!a->left) {
		ide_cmd_ok(d);
		return;
	}
	a->chunk = ata_min(a->left, ATA_BUF_SECTORS);
	ide_io_buf(d, BLK_READ, a->lba * IDE_SECTOR, 0, a->chunk * IDE_SECTOR, ata_verify_read);
}

static void ata_verify(struct ide_drive *d, bool ext)
{
	struct ata_state *a = &d->ata;
	uint64_t lba;
	uint32_t count;
	if (!ata_range(d, ext, &lba, &count))
		return;
	a->lba = lba;
	a->left = count;
	ata_verify_next(d);
}

/* SET MULTIPLE MODE: a power of two up to our maximum; 0 turns
 * multiple mode off. */
static void ata_set_multiple(struct ide_drive *d)
{
	uint8_t n = d->nsector;
	if (n > ATA_MAX_MULT || (n & (n - 1))) {
		ide_cmd_abort(d);
		return;
	}
	d->ata.mult = n;
	ide_cmd_ok(d);
}

/* SET FEATURES. */
static void ata_set_features(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	switch (d->feature) {
	case ATA_SF_WCACHE_ON:
		a->wcache = true;
		break;
	case ATA_SF_WCACHE_OFF:
		/* What the cache holds goes to the medium first. */
		a->wcache = false;
		ide_io_buf(d, BLK_FLUSH, 0, 0, 0, ata_flushed);
		return;
	case ATA_SF_LOOKAHEAD_ON:
		a->lookahead = true;
		break;
	case ATA_SF_LOOKAHEAD_OFF:
		a->lookahead = false;
		break;
	case ATA_SF_REVERT_ON:
	case ATA_SF_REVERT_OFF:
		break;
	case ATA_SF_XFER_MODE:
		if (!ide_xfer_mode_valid(d->nsector)) {
			ide_cmd_abort(d);
			return;
		}
		d->xfer_mode = d->nsector;
		break;
	default:
		log_debug("ide", "ide%u-%u: SET FEATURES %#x not supported", d->ch->index, d->unit,
			  d->feature);
		ide_cmd_abort(d);
		return;
	}
	ide_cmd_ok(d);
}

/* INITIALIZE DEVICE PARAMETERS (ATA-5; obsolete in ATA-6, still used
 * by CHS-era software): the CHS translation for later commands. */
static void ata_init_params(struct ide_drive *d)
{
	struct ata_state *a = &d->ata;
	uint16_t heads = (uint16_t)((d->select & 0x0f) + 1), spt = d->nsector;
	if (!spt) {
		ide_cmd_abort(d);
		return;
	}
	uint64_t cyls = a->sectors / ((uint64_t)heads * spt);
	a->cur_heads = heads;
	a->cur_spt = spt;
	a->cur_cyls = (uint16_t)(cyls > 65535 ? 65535 : cyls);
	ide_cmd_ok(d);
}

/* SEEK: nothing moves, but the address must exist. */
static void ata_seek(struct ide_drive *d)
{
	uint64_t lba;
	if (!ata_address(d, false, &lba)) {
		ide_cmd_error(d, ATA_ERR_IDNF, 0);
		return;
	}
	if (lba >= d->ata.sectors) {
		ata_fail(d, lba, ATA_ERR_IDNF, 0);
		return;
	}
	ide_cmd_ok(d);
}

void ata_exec(struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case ATA_CMD_IDENTIFY:    ata_identify(d); return;
	case CMD_READ:
	case CMD_READ_NR:         ata_rw(d, false, false, ATA_PIO); return;
	case CMD_READ_EXT:        ata_rw(d, true, false, ATA_PIO); return;
	case CMD_READ_MULT:       ata_rw(d, false, false, ATA_PIO_MULT); return;
	case CMD_READ_MULT_EXT:   ata_rw(d, true, false, ATA_PIO_MULT); return;
	case CMD_READ_DMA:
	case CMD_READ_DMA_NR:     ata_rw(d, false, false, ATA_DMA); return;
	case CMD_READ_DMA_EXT:    ata_rw(d, true, false, ATA_DMA); return;
	case CMD_WRITE:
	case CMD_WRITE_NR:        ata_rw(d, false, true, ATA_PIO); return;
	case CMD_WRITE_EXT:       ata_rw(d, true, true, ATA_PIO); return;
	case CMD_WRITE_MULT:      ata_rw(d, false, true, ATA_PIO_MULT); return;
	case CMD_WRITE_MULT_EXT:  ata_rw(d, true, true, ATA_PIO_MULT); return;
	case CMD_WRITE_DMA:
	case CMD_WRITE_DMA_NR:    ata_rw(d, false, true, ATA_DMA); return;
	case CMD_WRITE_DMA_EXT:   ata_rw(d, true, true, ATA_DMA); return;
	case CMD_VERIFY:
	case CMD_VERIFY_NR:       ata_verify(d, false); return;
	case CMD_VERIFY_EXT:      ata_verify(d, true); return;
	case CMD_FLUSH:
	case CMD_FLUSH_EXT:       ide_io_buf(d, BLK_FLUSH, 0, 0, 0, ata_flushed); return;
	case CMD_SET_MULT:        ata_set_multiple(d); return;
	case ATA_CMD_SET_FEATURES: ata_set_features(d); return;
	case CMD_INIT_PARAMS:     ata_init_params(d); return;
	case ATA_CMD_CHECK_POWER:
		d->nsector = 0xff;      /* active or idle */
		ide_cmd_ok(d);
		return;
	case ATA_CMD_STANDBY_IMM:
	case ATA_CMD_IDLE_IMM:
	case ATA_CMD_STANDBY:
	case ATA_CMD_IDLE:
		ide_cmd_ok(d);
		return;
	}
	if ((cmd & 0xf0) == 0x10) {     /* RECALIBRATE */
		ide_cmd_ok(d);
		return;
	}
	if ((cmd & 0xf0) == 0x70) {
		ata_seek(d);
		return;
	}
	/* NOP, PACKET, IDENTIFY PACKET DEVICE, DEVICE RESET and the rest. */
	log_debug("ide", "ide%u-%u: ATA command %#x aborted", d->ch->index, d->unit, cmd);
	ide_cmd_abort(d);
}
