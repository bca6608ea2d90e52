/*
 * ide: one IDE (parallel ATA) channel with its two device positions, as the
 * PIIX3 IDE function has two of them (primary and secondary).
 *
 * The channel code (ide.c) owns the task-file registers, the data port, the
 * interrupt line, reset, the one block request a channel can have in flight
 * and the bus-master DMA data phase. The command sets live next to it:
 * ata.c for disks, atapi.c for the CD-ROM's packet commands, bmdma.c for the
 * bus-master registers and the PRD table walk.
 *
 * Specifications followed:
 *  - ATA/ATAPI-6 (T13/1410D rev. 3b): register descriptions, reset and
 *    signatures, the protocols, the commands and IDENTIFY data;
 *  - SFF-8038i rev. 1.0 and the Intel PIIX3 datasheet (290550): bus-master
 *    IDE registers and the physical region descriptor table;
 *  - SPC-3 and MMC-3 (T10) for the CD-ROM's SCSI commands.
 *
 * Threads and locks: every function here runs with the machine's device
 * lock held: bus handlers are called with it, and block completions take it
 * in ide.c before they call back into ata.c or atapi.c.
 */
#ifndef LODGE_IDE_H
#define LODGE_IDE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "disk/blk.h"
#include "iobus.h"
#include "irq.h"

struct machine;
struct guestmem;

/* Status register (ATA-6). DSC is "device seek complete" (obsolete,
 * still set by every drive and checked by old drivers). */
#define ATA_ST_ERR  0x01
#define ATA_ST_DRQ  0x08
#define ATA_ST_DSC  0x10
#define ATA_ST_DF   0x20
#define ATA_ST_DRDY 0x40
#define ATA_ST_BSY  0x80
#define ATA_ST_READY (ATA_ST_DRDY | ATA_ST_DSC)

/* Error register (ATA-6). */
#define ATA_ERR_AMNF 0x01
#define ATA_ERR_ABRT 0x04
#define ATA_ERR_IDNF 0x10
#define ATA_ERR_UNC  0x40

/* Device control register (ATA-6). */
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB  0x80

/* Device register bits. Bits 7 and 5 are obsolete and read back as 1. */
#define ATA_DEV_LBA 0x40
#define ATA_DEV_DEV 0x10
#define ATA_DEV_OBS 0xa0

/* Commands both kinds of device understand. */
#define ATA_CMD_NOP            0x00
#define ATA_CMD_DEVICE_RESET   0x08
#define ATA_CMD_DIAGNOSTIC     0x90
#define ATA_CMD_PACKET         0xa0
#define ATA_CMD_ID_PACKET      0xa1
#define ATA_CMD_STANDBY_IMM    0xe0
#define ATA_CMD_IDLE_IMM       0xe1
#define ATA_CMD_STANDBY        0xe2
#define ATA_CMD_IDLE           0xe3
#define ATA_CMD_CHECK_POWER    0xe5
#define ATA_CMD_IDENTIFY       0xec
#define ATA_CMD_SET_FEATURES   0xef

/* SET FEATURES subcommands. */
#define ATA_SF_WCACHE_ON   0x02
#define ATA_SF_XFER_MODE   0x03
#define ATA_SF_LOOKAHEAD_OFF 0x55
#define ATA_SF_REVERT_OFF  0x66
#define ATA_SF_WCACHE_OFF  0x82
#define ATA_SF_LOOKAHEAD_ON 0xaa
#define ATA_SF_REVERT_ON   0xcc

/* Bus-master IDE registers (SFF-8038i; PIIX3 datasheet), per channel. */
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEM 0x08              /* "read": the device writes memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR  0x02
#define BM_ST_INTR   0x04
#define BM_ST_DMA0   0x20               /* "drive 0 DMA capable", software's */
#define BM_ST_DMA1   0x40

#define IDE_SECTOR 512u
#define CD_SECTOR 2048u
/* Per-device PIO buffer: one read-ahead chunk (256 disk or 64 CD sectors). */
#define IDE_BUF_SIZE (128u * 1024)
/* Largest multiple-mode DRQ block we offer (IDENTIFY word 47). */
#define ATA_MAX_MULT 16
/* One DMA chunk: what a single block request moves at most. */
#define IDE_DMA_CHUNK (1u << 20)
/* Scatter list of one DMA chunk. 1024 entries always hold at least one
 * sector even when the guest's PRD table is made of 2-byte regions. */
#define BMDMA_SEG_MAX 1024

enum ide_kind { IDE_NONE, IDE_DISK, IDE_CDROM };

/* What the board puts at one position. */
struct ide_drive_params {
	enum ide_kind kind;
	struct blk *blk;                /* NULL: an empty CD drive */
	const char *serial;             /* NULL: derived from the position */
};

struct ide_drive;
struct ide_channel;
/* Continuations of a command, run with the device lock held. */
typedef void ide_step_fn(struct ide_drive *d);
typedef void ide_done_fn(struct ide_drive *d, int result);

/* ---- bus-master DMA (bmdma.c) ------------------------------------------ */

/* One piece of a mapped chunk: guest range, where it came from in the PRD
 * table (to rewind to it) and its first iovec. */
struct bmdma_seg {
	uint64_t gpa;
	uint32_t len;
	uint32_t entry, off;
	int iov_first;
};

struct bmdma_map {
	struct iovec iov[BMDMA_SEG_MAX];
	struct bmdma_seg seg[BMDMA_SEG_MAX];
	int niov, nseg;
	uint32_t bytes;
};

struct bmdma {
	uint8_t cmd, status;
	uint32_t prd;                   /* descriptor table pointer register */
	/* Walk cursor, set when START is written: table base (its 64 KiB
	 * region bounds the walk), current entry and bytes used of it. */
	uint32_t base, entry, off;
};

enum bmdma_event { BMDMA_NONE, BMDMA_STARTED, BMDMA_STOPPED };
enum bmdma_result { BMDMA_MAPPED, BMDMA_SHORT, BMDMA_FAULT };

void bmdma_reset(struct bmdma *bm);
uint8_t bmdma_read(const struct bmdma *bm, unsigned off);
enum bmdma_event bmdma_write(struct bmdma *bm, unsigned off, uint8_t v);
void bmdma_rewind(struct bmdma *bm);
enum bmdma_result bmdma_map(struct bmdma *bm, const struct guestmem *gm, uint32_t want,
			    uint32_t unit, bool to_guest, struct bmdma_map *map);
bool bmdma_table_done(const struct bmdma *bm, const struct guestmem *gm);

/* ---- devices ----------------------------------------------------------- */

struct ata_state {
	uint64_t sectors;               /* capacity in 512-byte sectors */
	uint16_t cyls, heads, spt;      /* default geometry (IDENTIFY 1, 3, 6) */
	uint16_t cur_cyls, cur_heads, cur_spt;
	uint8_t mult;                   /* multiple-mode block; 0 = disabled */
	bool wcache, lookahead;
	/* The read/write/verify command in progress. */
	enum { ATA_ADDR_CHS, ATA_ADDR_LBA28, ATA_ADDR_LBA48 } mode;
	uint64_t lba;                   /* next sector to move at the image */
	uint32_t left;                  /* sectors the host has not moved yet */
	uint32_t block;                 /* sectors per DRQ block */
	uint32_t cur;                   /* sectors in the current DRQ block */
	uint32_t buf_first, buf_count;  /* read-ahead sectors held in buf */
	uint32_t chunk;                 /* sectors of the request in flight */
	bool write;
};

struct atapi_state {
	uint8_t cdb[12];
	uint16_t bcl;                   /* byte-count limit of this PACKET */
	bool dma;                       /* data phase by bus-master DMA */
	bool tray_open, locked;
	bool unit_attention;            /* medium changed since last reported */
	uint8_t sense_key, asc, ascq;
	uint8_t event;                  /* pending GESN media event code */
	/* Data phase: bytes of buf still to hand out, and READ(10/12)
	 * sectors still to fetch from the image. */
	uint32_t reply_pos, reply_left, cur;
	uint64_t lba;
	uint32_t left, chunk;
};

struct ide_drive {
	struct ide_channel *ch;
	unsigned unit;                  /* 0 master, 1 slave */
	enum ide_kind kind;
	struct blk *blk;
	char serial[21];

	/* This device's copy of the task file; writes reach both devices. */
	uint8_t feature, nsector, sector, lcyl, hcyl, select;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t status, error;
	bool intrq;                     /* interrupt pending until status is read */
	uint8_t xfer_mode;              /* SET FEATURES 03h value, 0 = PIO default */

	/* PIO data window [pio_pos, pio_end) of buf. */
	uint8_t *buf;
	uint32_t pio_pos, pio_end;
	bool pio_to_host;
	ide_step_fn *pio_drained;

	struct ata_state ata;
	struct atapi_state atapi;
};

/* The DMA data phase of the command in progress. */
struct ide_dma {
	struct ide_drive *d;            /* NULL: no data phase waiting */
	bool to_guest;
	bool from_buf;                  /* data is in d->buf, not at the image */
	uint64_t pos;                   /* image byte offset or buf offset */
	uint64_t left;
	ide_done_fn *done;
	struct bmdma_map map;           /* the chunk being moved */
};

struct ide_channel {
	struct machine *m;
	struct guestmem *gm;
	unsigned index;                 /* 0 primary, 1 secondary */
	struct irq_line irq;
	struct ide_drive drive[2];
	unsigned sel;                   /* selected device (DEV bit) */
	uint8_t devctl;
	bool any;                       /* a device is attached at all */
	bool decode;                    /* the controller decodes our ports */

	struct bmdma bm;
	bool bus_master;                /* PCI command: bus master enable */
	struct ide_dma dma;

	/* The channel's one block request. */
	struct blk_req req;
	struct iovec iov;
	bool io_busy, io_cancelled;
	struct ide_drive *io_drive;
	ide_done_fn *io_done;
	pthread_cond_t io_idle;

	/* Resets wait for the request in flight before they complete. */
	bool srst;                      /* SRST held by the host */
	unsigned reset_mask;            /* devices whose reset is pending */
};

/* ---- channel API (ide.c), for the PCI function, the board and tests ---- */

struct ide_channel *ide_channel_create(struct machine *m, unsigned index, unsigned gsi,
				       const struct ide_drive_params drives[2]);
/* Main thread, vCPUs stopped, no lock held: waits for the request in flight. */
void ide_channel_destroy(struct ide_channel *ch);
/* Power-on state; device lock held, vCPUs paused (waits for I/O). */
void ide_channel_reset(struct ide_channel *ch);

/* Command block (8 ports) and control block (device control/alt status). */
extern const struct iobus_ops ide_cmd_ops, ide_ctl_ops;
uint32_t ide_cmd_read(struct ide_channel *ch, unsigned off, unsigned size);
void ide_cmd_write(struct ide_channel *ch, unsigned off, unsigned size, uint32_t v);
uint8_t ide_ctl_read(struct ide_channel *ch);
void ide_ctl_write(struct ide_channel *ch, uint8_t v);

/* The channel's 8 bus-master registers, byte by byte. */
uint8_t ide_bm_read(struct ide_channel *ch, unsigned off);
void ide_bm_write(struct ide_channel *ch, unsigned off, uint8_t v);
void ide_set_bus_master(struct ide_channel *ch, bool enabled);
/* Whether the controller decodes the channel's ports (PCI I/O enable and
 * the PIIX's IDETIM decode bit); if not, they float like an empty bus. */
void ide_set_decode(struct ide_channel *ch, bool decode);

/* Main thread, device lock held: insert (b != NULL) or remove the CD-ROM
 * at unit; a command using the old medium fails. -ENODEV if it is not a CD
 * drive, -EBUSY if the guest locked the tray and force is false. */
int ide_change_media(struct ide_channel *ch, unsigned unit, struct blk *b, bool force);

/* ---- helpers for ata.c and atapi.c (ide.c) ----------------------------- */

void ide_raise_irq(struct ide_drive *d);
/* Command end: ready (+ interrupt), or an error with ERR set. */
void ide_cmd_ok(struct ide_drive *d);
void ide_cmd_error(struct ide_drive *d, uint8_t error, uint8_t extra_status);
void ide_cmd_abort(struct ide_drive *d);
/* Start a PIO data block over buf[off, off+len). */
void ide_pio_start(struct ide_drive *d, uint32_t off, uint32_t len, bool to_host,
		   ide_step_fn *drained, bool irq);
/* The last PIO-in block was read: ready, no interrupt (PIO data-in). */
void ide_pio_end(struct ide_drive *d);
/* Block request between the image and buf[buf_off, +len): BSY until done. */
void ide_io_buf(struct ide_drive *d, enum blk_op op, uint64_t offset, uint32_t buf_off,
		uint32_t len, ide_done_fn *done);
/* DMA data phase; done gets 0, -EFAULT (bad PRD table or memory) or -errno. */
void ide_dma_begin(struct ide_drive *d, bool to_guest, bool from_buf, uint64_t pos,
		   uint64_t len, ide_done_fn *done);
void ide_set_signature(struct ide_drive *d);
/* IDENTIFY helpers: ATA string (byte-swapped, space padded), words shared
 * by both kinds (timing, DMA modes, reset result) and the checksum. */
void ide_id_string(uint16_t *w, unsigned first, unsigned words, const char *s);
void ide_id_common(const struct ide_drive *d, uint16_t *w);
void ide_id_finish(uint16_t *w, uint8_t *out);
bool ide_xfer_mode_valid(uint8_t mode);

/* ---- command sets (ata.c, atapi.c) ------------------------------------- */

void ata_init(struct ide_drive *d);
void ata_reset(struct ide_drive *d, bool power_on);
void ata_exec(struct ide_drive *d, uint8_t cmd);

void atapi_init(struct ide_drive *d);
void atapi_reset(struct ide_drive *d, bool power_on);
void atapi_exec(struct ide_drive *d, uint8_t cmd);
void atapi_media_changed(struct ide_drive *d, bool inserted, bool interrupted);

#endif
