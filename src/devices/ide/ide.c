/*
 * ide: one IDE channel (ATA/ATAPI-6): the task-file registers each device
 * latches, device selection, the 16/32-bit data port, INTRQ with nIEN, soft
 * reset (SRST) and the signatures devices leave behind, EXECUTE
 * DEVICE DIAGNOSTIC, and the machinery the command sets share: the PIO data
 * window, the channel's one block request and the bus-master DMA data phase
 * (SFF-8038i).
 *
 * A channel runs one command at a time: command-register writes are ignored
 * while either device is busy, has DRQ set, waits for DMA, or while a reset
 * is pending. So one blk_req per channel is enough. Its completion comes on
 * a block worker; ide_io_complete() takes the device lock and continues the
 * command. A reset (SRST, DEVICE RESET) never frees or reuses buffers under
 * a request in flight: it marks the request cancelled, keeps the devices
 * busy, and completes when the request has come back. Power-on reset and
 * destroy run on the main thread and wait for it on io_idle.
 *
 * Registers a device does not drive: with no device on the channel every
 * port floats (reads 0xff). With only one device, the absent one's
 * registers still latch (they are the channel's), its status reads 0 and its
 * signature is ff/ff, which is what SeaBIOS and Linux expect of a missing
 * slave.
 */
#include "ide/ide.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "log.h"
#include "machine.h"

static struct ide_drive *ide_selected(struct ide_channel *ch)
{
	return &ch->drive[ch->sel];
}

/* INTRQ is driven by the selected device, gated by nIEN; the PIIX latches
 * each rising edge in the bus-master Interrupt bit. */
static void ide_update_irq(struct ide_channel *ch)
{
	const struct ide_drive *d = ide_selected(ch);
	bool level = d->intrq && !(ch->devctl & ATA_CTL_NIEN) && !ch->srst;
	if (level && !ch->irq.level)
		ch->bm.status |= BM_ST_INTR;
	irq_line_set(&ch->irq, level);
}

void ide_raise_irq(struct ide_drive *d)
{
	d->intrq = true;
	ide_update_irq(d->ch);
}

static void ide_pio_clear(struct ide_drive *d)
{
	d->pio_pos = d->pio_end = 0;
	d->pio_drained = NULL;
}

void ide_cmd_ok(struct ide_drive *d)
{
	ide_pio_clear(d);
	d->status = ATA_ST_READY;
	d->error = 0;
	ide_raise_irq(d);
}

void ide_cmd_error(struct ide_drive *d, uint8_t error, uint8_t extra_status)
{
	ide_pio_clear(d);
	d->status = ATA_ST_READY | ATA_ST_ERR | extra_status;
	d->error = error;
	ide_raise_irq(d);
}

void ide_cmd_abort(struct ide_drive *d)
{
	ide_cmd_error(d, ATA_ERR_ABRT, 0);
}

void ide_pio_start(struct ide_drive *d, uint32_t off, uint32_t len, bool to_host,
		   ide_step_fn *drained, bool irq)
{
	if (len == 0 || off > IDE_BUF_SIZE || len > IDE_BUF_SIZE - off) {
		log_err("ide", "ide%u-%u: internal error: PIO block %u+%u outside the buffer",
			d->ch->index, d->unit, off, len);
		ide_cmd_abort(d);
		return;
	}
	d->pio_pos = off;
	d->pio_end = off + len;
	d->pio_to_host = to_host;
	d->pio_drained = drained;
	d->status = ATA_ST_READY | ATA_ST_DRQ;
	if (irq)
		ide_raise_irq(d);
}

void ide_pio_end(struct ide_drive *d)
{
	ide_pio_clear(d);
	d->status = ATA_ST_READY;
}

/* The host moved the last byte of the window: the device goes busy and the
 * command decides what comes next. */
static void ide_pio_drained(struct ide_drive *d)
{
	ide_step_fn *next = d->pio_drained;
	ide_pio_clear(d);
	d->status = ATA_ST_BSY;
	if (next)
		next(d);
	else
		ide_pio_end(d);
}

static bool ide_pio_ready(struct ide_drive *d, bool to_host)
{
	if ((d->status & (ATA_ST_DRQ | ATA_ST_BSY)) == ATA_ST_DRQ && d->pio_to_host == to_host &&
	    d->pio_pos < d->pio_end)
		return true;
	log_guest(LOG_WARN, "ide", "ide%u-%u: data port %s with no data phase (status %#x)",
		  d->ch->index, d->unit, to_host ? "read" : "write", d->status);
	return false;
}

static uint16_t ide_data_in16(struct ide_channel *ch)
{
	struct ide_drive *d = ide_selected(ch);
	if (!ide_pio_ready(d, true))
		return 0xffff;
	uint16_t v = d->buf[d->pio_pos];
	/* An odd ATAPI byte count ends in a padded word. */
	if (d->pio_pos + 1 < d->pio_end)
		v |= (uint16_t)(d->buf[d->pio_pos + 1] << 8);
	d->pio_pos += 2;
	if (d->pio_pos >= d->pio_end)
		ide_pio_drained(d);
	return v;
}

static void ide_data_out16(struct ide_channel *ch, uint16_t v)
{
	struct ide_drive *d = ide_selected(ch);
	if (!ide_pio_ready(d, false))
		return;
	d->buf[d->pio_pos] = (uint8_t)v;
	if (d->pio_pos + 1 < d->pio_end)
		d->buf[d->pio_pos + 1] = (uint8_t)(v >> 8);
	d->pio_pos += 2;
	if (d->pio_pos >= d->pio_end)
		ide_pio_drained(d);
}

/* ---- block requests ---------------------------------------------------- */

static void ide_finish_resets(struct ide_channel *ch);

/* Block worker, no lock held on entry. */
static void ide_io_complete(struct blk_req *req, int result)
{
	struct ide_channel *ch = req->opaque;
	machine_lock(ch->m);
	struct ide_drive *d = ch->io_drive;
	ide_done_fn *done = ch->io_done;
	ch->io_busy = false;
	ch->io_drive = NULL;
	ch->io_done = NULL;
	if (ch->io_cancelled) {
		ch->io_cancelled = false;
		ide_finish_resets(ch);
	} else {
		done(d, result);
	}
	pthread_cond_broadcast(&ch->io_idle);
	machine_unlock(ch->m);
}

static void ide_io_submit(struct ide_drive *d, enum blk_op op, uint64_t offset,
			  const struct iovec *iov, int iovcnt, ide_done_fn *done)
{
	struct ide_channel *ch = d->ch;
	d->status = ATA_ST_BSY;
	ch->req = (struct blk_req){ .op = op, .offset = offset, .iov = iov, .iovcnt = iovcnt,
				    .done = ide_io_complete, .opaque = ch };
	ch->io_busy = true;
	ch->io_drive = d;
	ch->io_done = done;
	int rc = blk_submit(d->blk, &ch->req);
	if (rc) {
		ch->io_busy = false;
		ch->io_drive = NULL;
		ch->io_done = NULL;
		done(d, rc);
	}
}

void ide_io_buf(struct ide_drive *d, enum blk_op op, uint64_t offset, uint32_t buf_off,
		uint32_t len, ide_done_fn *done)
{
	struct ide_channel *ch = d->ch;
	if (buf_off > IDE_BUF_SIZE || len > IDE_BUF_SIZE - buf_off) {
		done(d, -EINVAL);
		return;
	}
	ch->iov = (struct iovec){ d->buf + buf_off, len };
	ide_io_submit(d, op, offset, len ? &ch->iov : NULL, len ? 1 : 0, done);
}

/* Main thread or vCPU with the device lock held: wait until the channel's
 * request has come back (its completion needs the lock, which the wait
 * releases). */
static void ide_wait_idle(struct ide_channel *ch)
{
	while (ch->io_busy)
		pthread_cond_wait(&ch->io_idle, &ch->m->dev_lock);
}

/* ---- bus-master DMA data phase ---------------------------------------- */

static void ide_dma_kick(struct ide_channel *ch);

/* End the data phase. -EFAULT is the engine's own failure (bad PRD table or
 * memory): the PIIX reports it in the bus-master Error bit. */
static void ide_dma_end(struct ide_channel *ch, int result)
{
	struct ide_dma *x = &ch->dma;
	struct ide_drive *d = x->d;
	ide_done_fn *done = x->done;
	x->d = NULL;
	if (result == -EFAULT)
		ch->bm.status = (ch->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR;
	else if (result || bmdma_table_done(&ch->bm, ch->gm))
		ch->bm.status &= ~BM_ST_ACTIVE;
	done(d, result);
}

static void ide_dma_advance(struct ide_channel *ch)
{
	struct ide_dma *x = &ch->dma;
	if (x->to_guest)
		for (int i = 0; i < x->map.nseg; i++)
			guestmem_dma_written(ch->m->mem, x->map.seg[i].gpa, x->map.seg[i].len);
	x->pos += x->map.bytes;
	x->left -= x->map.bytes;
}

static void ide_dma_chunk_done(struct ide_drive *d, int result)
{
	struct ide_channel *ch = d->ch;
	if (result) {
		ide_dma_end(ch, result == -EFAULT ? -EIO : result);
		return;
	}
	ide_dma_advance(ch);
	ide_dma_kick(ch);
}

/* Copy one mapped chunk between the device buffer and guest memory. */
static void ide_dma_copy(struct ide_channel *ch)
{
	struct ide_dma *x = &ch->dma;
	uint8_t *p = x->d->buf + x->pos;
	for (int i = 0; i < x->map.niov; i++) {
		const struct iovec *v = &x->map.iov[i];
		if (x->to_guest)
			memcpy(v->iov_base, p, v->iov_len);
		else
			memcpy(p, v->iov_base, v->iov_len);
		p += v->iov_len;
	}
}

/*
 * Move data while the engine is started and no request is in flight. The
 * device finishes when every byte has moved, whether or not the host still
 * has START set (it may have stopped the engine after the last chunk).
 */
static void ide_dma_kick(struct ide_channel *ch)
{
	struct ide_dma *x = &ch->dma;
	for (;;) {
		if (!x->d || ch->io_busy)
			return;
		if (!x->left) {
			ide_dma_end(ch, 0);
			return;
		}
		if (!(ch->bm.cmd & BM_CMD_START) || !ch->bus_master)
			return;
		uint32_t want = x->left < IDE_DMA_CHUNK ? (uint32_t)x->left : IDE_DMA_CHUNK;
		enum bmdma_result r = bmdma_map(&ch->bm, ch->gm, want, x->from_buf ? 1 : IDE_SECTOR,
						x->to_guest, &x->map);
		if (r != BMDMA_MAPPED) {
			log_guest(LOG_WARN, "ide", "ide%u: bus-master DMA %s at PRD entry %#x",
				  ch->index, r == BMDMA_SHORT ? "table too short" : "fault",
				  ch->bm.entry);
			ide_dma_end(ch, -EFAULT);
			return;
		}
		if (!x->from_buf) {
			ide_io_submit(x->d, x->to_guest ? BLK_READ : BLK_WRITE, x->pos, x->map.iov,
				      x->map.niov, ide_dma_chunk_done);
			return;
		}
		ide_dma_copy(ch);
		ide_dma_advance(ch);
	}
}

void ide_dma_begin(struct ide_drive *d, bool to_guest, bool from_buf, uint64_t pos,
		   uint64_t len, ide_done_fn *done)
{
	struct ide_dma *x = &d->ch->dma;
	ide_pio_clear(d);
	x->d = d;
	x->to_guest = to_guest;
	x->from_buf = from_buf;
	x->pos = pos;
	x->left = len;
	x->done = done;
	if (from_buf && (pos > IDE_BUF_SIZE || len > IDE_BUF_SIZE - pos))
		x->left = 0;            /* never happens: callers reply from buf */
	/* DRQ without BSY while the device waits for the engine, as drives
	 * assert DMARQ. */
	d->status = ATA_ST_READY | ATA_ST_DRQ;
	ide_dma_kick(d->ch);
}

void ide_set_decode(struct ide_channel *ch, bool decode)
{
	ch->decode = decode;
}

void ide_set_bus_master(struct ide_channel *ch, bool enabled)
{
	ch->bus_master = enabled;
	ide_dma_kick(ch);
}

uint8_t ide_bm_read(struct ide_channel *ch, unsigned off)
{
	return bmdma_read(&ch->bm, off & 7);
}

void ide_bm_write(struct ide_channel *ch, unsigned off, uint8_t v)
{
	if (bmdma_write(&ch->bm, off & 7, v) == BMDMA_STARTED)
		ide_dma_kick(ch);
}

/* ---- signatures and resets -------------------------------------------- */

/* ATA-6 "Signature and persistence": what each kind of device leaves in the task file after a
 * reset, a diagnostic or a refused IDENTIFY. */
void ide_set_signature(struct ide_drive *d)
{
	d->nsector = d->sector = 1;
	d->hob_nsector = d->hob_sector = d->hob_lcyl = d->hob_hcyl = 0;
	d->error = 0x01;                /* diagnostics passed */
	switch (d->kind) {
	case IDE_DISK:
		d->lcyl = d->hcyl = 0;
		d->status = ATA_ST_READY;
		break;
	case IDE_CDROM:
		d->lcyl = 0x14;
		d->hcyl = 0xeb;
		d->status = 0;          /* packet devices clear DRDY */
		break;
	default:
		d->lcyl = d->hcyl = 0xff;
		d->status = 0;
		break;
	}
}

static void ide_drive_soft_reset(struct ide_drive *d)
{
	ide_pio_clear(d);
	d->intrq = false;
	if (d->kind == IDE_DISK)
		ata_reset(d, false);
	else if (d->kind == IDE_CDROM)
		atapi_reset(d, false);
	ide_set_signature(d);
}

/* Drop the channel's data phase and mark its request cancelled; the caller
 * keeps the devices busy until ide_finish_resets() runs. */
static void ide_cancel(struct ide_channel *ch)
{
	if (ch->io_busy)
		ch->io_cancelled = true;
	ch->dma.d = NULL;
}

/* Complete the pending resets once SRST is released and no request is in
 * flight. */
static void ide_finish_resets(struct ide_channel *ch)
{
	if (ch->srst || ch->io_busy || !ch->reset_mask)
		return;
	for (unsigned u = 0; u < 2; u++)
		if (ch->reset_mask & (1u << u))
			ide_drive_soft_reset(&ch->drive[u]);
	ch->reset_mask = 0;
	ide_update_irq(ch);
}

static void ide_select(struct ide_channel *ch, uint8_t v)
{
	for (unsigned u = 0; u < 2; u++)
		ch->drive[u].select = v | ATA_DEV_OBS;
	ch->sel = (v & ATA_DEV_DEV) ? 1 : 0;
	ide_update_irq(ch);
}

/* DEVICE RESET (packet devices only): accepted even while the
 * device is busy, which is what it is for. */
static void ide_device_reset(struct ide_drive *d)
{
	struct ide_channel *ch = d->ch;
	const struct ide_drive *o = &ch->drive[d->unit ^ 1];
	if (ch->srst || (o->status & (ATA_ST_BSY | ATA_ST_DRQ)) ||
	    (ch->io_busy && ch->io_drive != d) || (ch->dma.d && ch->dma.d != d)) {
		log_guest(LOG_WARN, "ide", "ide%u-%u: DEVICE RESET while the other device is busy",
			  ch->index, d->unit);
		return;
	}
	ide_cancel(ch);
	ide_pio_clear(d);
	d->intrq = false;
	d->status = ATA_ST_BSY;
	ch->reset_mask |= 1u << d->unit;
	ide_finish_resets(ch);
}

/* EXECUTE DEVICE DIAGNOSTIC goes to both devices whatever DEV
 * says; device 0 reports for both and interrupts. */
static void ide_diagnostic(struct ide_channel *ch)
{
	for (unsigned u = 0; u < 2; u++) {
		ide_pio_clear(&ch->drive[u]);
		ide_set_signature(&ch->drive[u]);
	}
	ide_select(ch, 0);
	struct ide_drive *d = &ch->drive[ch->drive[0].kind != IDE_NONE ? 0 : 1];
	ide_raise_irq(d);
}

/* ---- registers --------------------------------------------------------- */

static bool ide_channel_active(const struct ide_channel *ch)
{
	return ch->io_busy || ch->dma.d || ch->reset_mask || ch->srst ||
	       ((ch->drive[0].status | ch->drive[1].status) & (ATA_ST_BSY | ATA_ST_DRQ));
}

static void ide_command(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = ide_selected(ch);
	if (d->kind == IDE_NONE) {
		/* Commands to a missing device go nowhere, except the
		 * diagnostic, which both devices hear. */
		if (cmd == ATA_CMD_DIAGNOSTIC && !ide_channel_active(ch))
			ide_diagnostic(ch);
		return;
	}
	if (cmd == ATA_CMD_DEVICE_RESET && d->kind == IDE_CDROM) {
		ide_device_reset(d);
		return;
	}
	if (ide_channel_active(ch)) {
		log_guest(LOG_WARN, "ide", "ide%u-%u: command %#x while busy (status %#x) ignored",
			  ch->index, d->unit, cmd, d->status);
		return;
	}
	d->intrq = false;               /* writing the command clears INTRQ */
	ide_update_irq(ch);
	if (cmd == ATA_CMD_DIAGNOSTIC)
		ide_diagnostic(ch);
	else if (d->kind == IDE_DISK)
		ata_exec(d, cmd);
	else
		atapi_exec(d, cmd);
}

static uint8_t ide_reg_read(struct ide_channel *ch, unsigned reg)
{
	struct ide_drive *d = ide_selected(ch);
	bool hob = ch->devctl & ATA_CTL_HOB;
	switch (reg) {
	case 1:
		return d->error;
	case 2:
		return hob ? d->hob_nsector : d->nsector;
	case 3:
		return hob ? d->hob_sector : d->sector;
	case 4:
		return hob ? d->hob_lcyl : d->lcyl;
	case 5:
		return hob ? d->hob_hcyl : d->hcyl;
	case 6:
		return d->select;
	default:
		if (d->kind == IDE_NONE)
			return 0;
		d->intrq = false;       /* reading status acknowledges */
		ide_update_irq(ch);
		return d->status;
	}
}

/* Registers 1-5 keep the previous value for 48-bit commands (HOB). */
static void ide_latch(uint8_t *cur, uint8_t *hob, uint8_t v)
{
	*hob = *cur;
	*cur = v;
}

static void ide_reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
	if (reg == 7) {
		ide_command(ch, v);
		return;
	}
	if (ch->srst || (ide_selected(ch)->status & ATA_ST_BSY)) {
		log_guest(LOG_WARN, "ide", "ide%u: register %u written while busy", ch->index, reg);
		return;
	}
	ch->devctl &= ~ATA_CTL_HOB;
	if (reg == 6) {
		ide_select(ch, v);
		return;
	}
	for (unsigned u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drive[u];
		switch (reg) {
		case 1: ide_latch(&d->feature, &d->hob_feature, v); break;
		case 2: ide_latch(&d->nsector, &d->hob_nsector, v); break;
		case 3: ide_latch(&d->sector, &d->hob_sector, v); break;
		case 4: ide_latch(&d->lcyl, &d->hob_lcyl, v); break;
		case 5: ide_latch(&d->hcyl, &d->hob_hcyl, v); break;
		}
	}
}

/* Something answers on the channel's ports. */
static bool ide_driven(const struct ide_channel *ch)
{
	return ch->any && ch->decode;
}

uint32_t ide_cmd_read(struct ide_channel *ch, unsigned off, unsigned size)
{
	uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (!ide_driven(ch))
		return ones;            /* nothing drives the bus */
	if (off == 0) {
		if (size == 1) {
			log_guest(LOG_WARN, "ide", "ide%u: 8-bit data port read ignored", ch->index);
			return ones;
		}
		uint32_t v = ide_data_in16(ch);
		if (size == 4)
			v |= (uint32_t)ide_data_in16(ch) << 16;
		return v;
	}
	uint32_t v = 0;
	for (unsigned i = 0; i < size && off + i < 8; i++)
		v |= (uint32_t)ide_reg_read(ch, off + i) << (8 * i);
	return v;
}

void ide_cmd_write(struct ide_channel *ch, unsigned off, unsigned size, uint32_t v)
{
	if (!ide_driven(ch))
		return;
	if (off == 0) {
		if (size == 1) {
			log_guest(LOG_WARN, "ide", "ide%u: 8-bit data port write ignored", ch->index);
			return;
		}
		ide_data_out16(ch, (uint16_t)v);
		if (size == 4)
			ide_data_out16(ch, (uint16_t)(v >> 16));
		return;
	}
	for (unsigned i = 0; i < size && off + i < 8; i++)
		ide_reg_write(ch, off + i, (uint8_t)(v >> (8 * i)));
}

uint8_t ide_ctl_read(struct ide_channel *ch)
{
	if (!ide_driven(ch))
		return 0xff;
	const struct ide_drive *d = ide_selected(ch);
	return d->kind == IDE_NONE ? 0 : d->status;
}

/*
 * Device control. SRST going to 1 resets both devices: they stay busy while
 * it is held and until a request in flight has come back; the reset
 * completes when the host releases SRST (ATA-6 software reset protocol).
 */
void ide_ctl_write(struct ide_channel *ch, uint8_t v)
{
	if (!ide_driven(ch))
		return;
	bool was = ch->srst, now = v & ATA_CTL_SRST;
	ch->devctl = v & (ATA_CTL_NIEN | ATA_CTL_SRST | ATA_CTL_HOB);
	if (!was && now) {
		ch->srst = true;
		ide_cancel(ch);
		for (unsigned u = 0; u < 2; u++) {
			struct ide_drive *d = &ch->drive[u];
			ide_pio_clear(d);
			d->intrq = false;
			d->status = d->kind == IDE_NONE ? 0 : ATA_ST_BSY;
		}
		ch->reset_mask = 3;
		ide_select(ch, 0);
	} else if (was && !now) {
		ch->srst = false;
		ide_finish_resets(ch);
	}
	ide_update_irq(ch);
}

static uint64_t ide_cmd_io_read(void *opaque, uint64_t off, unsigned size)
{
	return ide_cmd_read(opaque, (unsigned)off, size);
}

static void ide_cmd_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	ide_cmd_write(opaque, (unsigned)off, size, (uint32_t)v);
}

static uint64_t ide_ctl_io_read(void *opaque, uint64_t off, unsigned size)
{
	return ide_ctl_read(opaque);
}

static void ide_ctl_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	ide_ctl_write(opaque, (uint8_t)v);
}

const struct iobus_ops ide_cmd_ops = { ide_cmd_io_read, ide_cmd_io_write, 4 };
const struct iobus_ops ide_ctl_ops = { ide_ctl_io_read, ide_ctl_io_write, 1 };

/* ---- IDENTIFY helpers -------------------------------------------------- */

void ide_id_string(uint16_t *w, unsigned first, unsigned words, const char *s)
{
	size_t n = strlen(s);
	for (unsigned i = 0; i < words * 2; i++) {
		uint8_t c = i < n ? (uint8_t)s[i] : ' ';
		if (i & 1)
			w[first + i / 2] |= c;
		else
			w[first + i / 2] = (uint16_t)(c << 8);
	}
}

bool ide_xfer_mode_valid(uint8_t m)
{
	return m <= 0x01 || (m >= 0x08 && m <= 0x0c) || (m >= 0x20 && m <= 0x22) ||
	       (m >= 0x40 && m <= 0x45);
}

/* IDENTIFY word 93 (hardware reset result): how the last hardware reset went. With no
 * device 1, device 0 says it answers for it (bit 6), which is what SeaBIOS
 * checks ((w93 & 0xdf61) == 0x4041) to skip probing the slave. */
static uint16_t ide_id_reset_result(const struct ide_drive *d)
{
	const struct ide_drive *o = &d->ch->drive[d->unit ^ 1];
	uint16_t v = 0x4000 | 0x2000;   /* valid; 80-conductor cable */
	if (d->unit == 0) {
		v |= 0x0001 | 0x0002 | 0x0008;  /* jumper, diagnostics passed */
		if (o->kind != IDE_NONE)
			v |= 0x0010 | 0x0020;   /* saw PDIAG- and DASP- */
		else
			v |= 0x0040;
	} else {
		v |= 0x0100 | 0x0200 | 0x0800; /* jumper, asserted PDIAG- */
	}
	return v;
}

/* Words both kinds of device report the same way. */
void ide_id_common(const struct ide_drive *d, uint16_t *w)
{
	ide_id_string(w, 10, 10, d->serial);
	ide_id_string(w, 23, 4, LODGE_VERSION);
	w[49] = (1 << 11) | (1 << 10) | (1 << 9) | (1 << 8); /* IORDY, LBA, DMA */
	w[50] = 0x4000;
	w[51] = w[52] = 0x0200;         /* obsolete PIO/DMA timing: mode 2 */
	w[53] = 0x0006;                 /* words 64-70 and 88 are valid */
	w[63] = 0x0007;                 /* multiword DMA 0-2 */
	w[64] = 0x0003;                 /* PIO 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[88] = 0x003f;                 /* Ultra DMA 0-5 */
	uint8_t m = d->xfer_mode;
	if (m >= 0x20 && m <= 0x22)
		w[63] |= (uint16_t)(1u << (8 + (m & 7)));
	if (m >= 0x40 && m <= 0x45)
		w[88] |= (uint16_t)(1u << (8 + (m & 7)));
	w[93] = ide_id_reset_result(d);
}

/* IDENTIFY word 255 (integrity word), then little-endian bytes. */
void ide_id_finish(uint16_t *w, uint8_t *out)
{
	uint8_t sum = 0xa5;
	for (unsigned i = 0; i < 255; i++)
		sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
	w[255] = (uint16_t)(0xa5 | ((uint8_t)-sum << 8));
	for (unsigned i = 0; i < 256; i++) {
		out[2 * i] = (uint8_t)w[i];
		out[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
}

/* ---- lifecycle --------------------------------------------------------- */

int ide_change_media(struct ide_channel *ch, unsigned unit, struct blk *b, bool force)
{
	struct ide_drive *d = &ch->drive[unit & 1];
	if (d->kind != IDE_CDROM)
		return -ENODEV;
	if (d->atapi.locked && !force && d->blk)
		return -EBUSY;
	/* A command reading the old medium fails; its request in flight is
	 * cancelled and must come back before the medium goes. */
	if (ch->io_busy && ch->io_drive == d) {
		ch->io_cancelled = true;
		ide_wait_idle(ch);
	}
	bool interrupted = (d->status & (ATA_ST_BSY | ATA_ST_DRQ)) || ch->dma.d == d;
	if (ch->dma.d == d) {
		ch->dma.d = NULL;
		ch->bm.status &= ~BM_ST_ACTIVE;
	}
	d->blk = b;
	atapi_media_changed(d, b != NULL, interrupted);
	return 0;
}

static void ide_drive_power_on(struct ide_drive *d)
{
	ide_pio_clear(d);
	d->feature = d->hob_feature = 0;
	d->select = ATA_DEV_OBS;
	d->intrq = false;
	d->xfer_mode = 0;
	if (d->kind == IDE_DISK)
		ata_reset(d, true);
	else if (d->kind == IDE_CDROM)
		atapi_reset(d, true);
	ide_set_signature(d);
}

void ide_channel_reset(struct ide_channel *ch)
{
	ide_cancel(ch);
	ide_wait_idle(ch);
	ch->srst = false;
	ch->reset_mask = 0;
	ch->devctl = 0;
	ch->sel = 0;
	bmdma_reset(&ch->bm);
	for (unsigned u = 0; u < 2; u++)
		ide_drive_power_on(&ch->drive[u]);
	irq_line_set(&ch->irq, false);
}

struct ide_channel *ide_channel_create(struct machine *m, unsigned index, unsigned gsi,
				       const struct ide_drive_params drives[2])
{
	struct ide_channel *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->m = m;
	ch->gm = m->mem;
	ch->index = index;
	ch->decode = true;
	irq_line_init(&ch->irq, m, gsi);
	pthread_cond_init(&ch->io_idle, NULL);
	for (unsigned u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drive[u];
		const struct ide_drive_params *p = &drives[u];
		d->ch = ch;
		d->unit = u;
		d->kind = p->kind;
		d->blk = p->blk;
		if (p->serial)
			snprintf(d->serial, sizeof(d->serial), "%s", p->serial);
		else
			snprintf(d->serial, sizeof(d->serial), "LODGE-IDE%u%u", index, u);
		if (d->kind == IDE_NONE)
			continue;
		if (d->kind == IDE_DISK && (!d->blk || blk_size(d->blk) < IDE_SECTOR)) {
			log_err("ide", "ide%u: the disk image is smaller than one sector", index * 2 + u);
			goto fail;
		}
		d->buf = calloc(1, IDE_BUF_SIZE);
		if (!d->buf)
			goto fail;
		ch->any = true;
		if (d->kind == IDE_DISK)
			ata_init(d);
		else
			atapi_init(d);
	}
	ide_channel_reset(ch);
	return ch;
fail:
	for (unsigned u = 0; u < 2; u++)
		free(ch->drive[u].buf);
	pthread_cond_destroy(&ch->io_idle);
	free(ch);
	return NULL;
}

void ide_channel_destroy(struct ide_channel *ch)
{
	if (!ch)
		return;
	machine_lock(ch->m);
	ide_cancel(ch);
	ide_wait_idle(ch);
	irq_line_set(&ch->irq, false);
	machine_unlock(ch->m);
	for (unsigned u = 0; u < 2; u++)
		free(ch->drive[u].buf);
	pthread_cond_destroy(&ch->io_idle);
	free(ch);
}
