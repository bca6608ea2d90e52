/*
 * bmdma: the bus-master IDE registers of one channel and the walk of its
 * physical region descriptor (PRD) table, as in SFF-8038i rev. 1.0
 * ("Programming Interface for Bus Master IDE Controller") and the Intel
 * PIIX3 datasheet (290550): bus-master IDE registers and their operation.
 *
 * Registers (offset in the channel's 8 bytes): 0 command (bit 0 start,
 * bit 3 direction), 2 status (0 active, 1 error and 2 interrupt are
 * write-one-to-clear, 5-6 are scratch bits for software), 4-7 the table
 * pointer (dword aligned).
 *
 * A PRD entry is {u32 base, u16 count, u16 flags}: the base's bit 0 and the
 * count's bit 0 are ignored, a count of 0 means 64 KiB, flag bit 15 (EOT)
 * ends the table. The table must not cross a 64 KiB boundary: the PIIX's
 * descriptor pointer only counts inside its 64 KiB region. We end the walk
 * with a fault when it would leave that region, so a table without EOT (or
 * one that points at itself) costs at most 8192 entries and never loops.
 *
 * Everything runs with the device lock held (see ide.h).
 */
#include <errno.h>
#include <string.h>

#include "guestmem.h"
#include "ide/ide.h"

#define PRD_EOT 0x80000000u
#define PRD_REGION 0x10000u

struct prd {
	uint32_t addr, len;
	bool eot;
};

void bmdma_reset(struct bmdma *bm)
{
	memset(bm, 0, sizeof(*bm));
}

uint8_t bmdma_read(const struct bmdma *bm, unsigned off)
{
	switch (off) {
	case 0:
		return bm->cmd;
	case 2:
		return bm->status;
	case 4: case 5: case 6: case 7:
		return (uint8_t)(bm->prd >> (8 * (off - 4)));
	default:
		return 0;
	}
}

void bmdma_rewind(struct bmdma *bm)
{
	bm->base = bm->entry = bm->prd;
	bm->off = 0;
}

/*
 * A register write. Starting the engine sets Active and rewinds the walk to
 * the table's start; stopping clears Active and, as on the PIIX, loses the
 * position (a stopped transfer cannot be resumed, only restarted).
 */
enum bmdma_event bmdma_write(struct bmdma *bm, unsigned off, uint8_t v)
{
	switch (off) {
	case 0: {
		uint8_t old = bm->cmd;
		bm->cmd = v & (BM_CMD_START | BM_CMD_TO_MEM);
		if (!(old & BM_CMD_START) && (v & BM_CMD_START)) {
			bm->status |= BM_ST_ACTIVE;
			bmdma_rewind(bm);
			return BMDMA_STARTED;
		}
		if ((old & BM_CMD_START) && !(v & BM_CMD_START)) {
			bm->status &= ~BM_ST_ACTIVE;
			return BMDMA_STOPPED;
		}
		return BMDMA_NONE;
	}
	case 2:
		bm->status &= ~(v & (BM_ST_ERROR | BM_ST_INTR));
		bm->status = (bm->status & ~(BM_ST_DMA0 | BM_ST_DMA1)) |
			     (v & (BM_ST_DMA0 | BM_ST_DMA1));
		return BMDMA_NONE;
	case 4: case 5: case 6: case 7: {
		unsigned shift = 8 * (off - 4);
		bm->prd = (bm->prd & ~(0xffu << shift)) | ((uint32_t)v << shift);
		bm->prd &= ~3u;
		return BMDMA_NONE;
	}
	default:
		return BMDMA_NONE;
	}
}

static int bmdma_load(const struct guestmem *gm, uint32_t entry, struct prd *p)
{
	uint32_t w[2];
	if (guestmem_read_u32(gm, entry, &w[0]) || guestmem_read_u32(gm, (uint64_t)entry + 4, &w[1]))
		return -EFAULT;
	p->addr = w[0] & ~1u;
	p->len = w[1] & 0xfffeu;
	if (!p->len)
		p->len = 0x10000;
	p->eot = w[1] & PRD_EOT;
	return 0;
}

/*
 * Give back the tail of the map so that it holds a multiple of unit bytes
 * (the block layer moves whole sectors), and put the cursor back at the
 * first byte given back.
 */
static void bmdma_trim(struct bmdma *bm, const struct guestmem *gm, uint32_t unit,
		       bool to_guest, struct bmdma_map *map)
{
	uint32_t excess = map->bytes % unit;
	while (excess && map->nseg) {
		struct bmdma_seg *s = &map->seg[map->nseg - 1];
		bm->entry = s->entry;
		if (s->len <= excess) {
			excess -= s->len;
			map->bytes -= s->len;
			map->niov = s->iov_first;
			bm->off = s->off;
			map->nseg--;
			continue;
		}
		s->len -= excess;
		map->bytes -= excess;
		bm->off = s->off + s->len;
		/* It fitted before with more bytes, so it fits again. */
		int n = guestmem_iov(gm, s->gpa, s->len, to_guest, &map->iov[s->iov_first],
				     BMDMA_SEG_MAX - s->iov_first);
		map->niov = s->iov_first + (n > 0 ? n : 0);
		excess = 0;
	}
}

/*
 * Map up to want bytes from the cursor into map (iovecs over guest RAM) and
 * advance the cursor past them. Unless the whole of want is mapped, the
 * result is a multiple of unit bytes. BMDMA_SHORT: the table ended (EOT)
 * before anything could be mapped; BMDMA_FAULT: an entry or a region is
 * outside guest memory (or ROM for a device-to-memory transfer), or the
 * table runs off its 64 KiB region without EOT.
 */
enum bmdma_result bmdma_map(struct bmdma *bm, const struct guestmem *gm, uint32_t want,
			    uint32_t unit, bool to_guest, struct bmdma_map *map)
{
	map->niov = map->nseg = 0;
	map->bytes = 0;
	while (map->bytes < want) {
		struct prd p;
		if (bmdma_load(gm, bm->entry, &p))
			return BMDMA_FAULT;
		if (bm->off >= p.len) {
			if (p.eot)
				break;
			uint32_t next = bm->entry + 8;
			if ((next & ~(PRD_REGION - 1)) != (bm->base & ~(PRD_REGION - 1)))
				return BMDMA_FAULT;
			bm->entry = next;
			bm->off = 0;
			continue;
		}
		if (map->nseg == BMDMA_SEG_MAX)
			break;
		uint32_t take = p.len - bm->off;
		if (take > want - map->bytes)
			take = want - map->bytes;
		uint64_t gpa = (uint64_t)p.addr + bm->off;
		if (gpa + take > (1ULL << 32))
			return BMDMA_FAULT;     /* the PIIX drives 32 address bits */
		int n = guestmem_iov(gm, gpa, take, to_guest, &map->iov[map->niov],
				     BMDMA_SEG_MAX - map->niov);
		if (n == -E2BIG)
			break;
		if (n < 0)
			return BMDMA_FAULT;
		map->seg[map->nseg++] = (struct bmdma_seg){ gpa, take, bm->entry, bm->off,
							    map->niov };
		map->niov += n;
		map->bytes += take;
		bm->off += take;
	}
	if (map->bytes < want)
		bmdma_trim(bm, gm, unit, to_guest, map);
	return map->bytes ? BMDMA_MAPPED : BMDMA_SHORT;
}

/* True when the cursor sits at the end of the EOT entry: the PIIX clears
 * Active then, and leaves it set when the device needed fewer bytes. */
bool bmdma_table_done(const struct bmdma *bm, const struct guestmem *gm)
{
	struct prd p;
	if (bmdma_load(gm, bm->entry, &p))
		return true;
	return p.eot && bm->off >= p.len;
}
