/*
 * fw_cfg: QEMU firmware configuration device on the ISA ports of a PC.
 *
 * Reference: QEMU docs/specs/fw_cfg.rst (the guest-visible interface:
 * selector at 0x510, data at 0x511, DMA address at 0x514/0x518, the file
 * directory at key 0x19) and the way SeaBIOS 1.16 uses it (the project's
 * reference/seabios-platform.md, section 2).
 *
 * Port interface: a 16-bit write to 0x510 selects an item and rewinds it;
 * each byte read from 0x511 returns the next byte, 0 past the end or for an
 * absent item. Writes to 0x511 are ignored (QEMU dropped them in 2.4).
 *
 * DMA interface: the guest writes the guest-physical address of a 16-byte
 * descriptor {be32 control, be32 length, be64 address} to 0x514 (high half)
 * and 0x518 (low half, which starts the transfer). The transfer runs to the
 * end before the OUT instruction completes: select (control bits 31:16) if
 * SELECT is set, then READ (copy item bytes to address, zeros past the item's
 * end), SKIP (advance), or WRITE. The device writes control back as 0 or
 * ERROR. Hostile descriptors are contained: a target range that is not all
 * guest RAM (checked before anything is copied, so nothing changes), a
 * wrapping address, more than one operation bit or a WRITE (no item here is
 * writable) ends in ERROR; a descriptor that itself cannot be read or written
 * back is logged and dropped, and the guest sees no completion. Nothing a
 * descriptor says can reach memory outside guest RAM, because every copy goes
 * through guestmem.
 *
 * The high address half is cleared after each transfer, so a guest that only
 * writes 0x518 (SeaBIOS) always means a 32-bit address.
 */
#include "isa/fw_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"

#define FW_CFG_WRITE_CHANNEL 0x4000     /* ignored, as in QEMU */
#define FW_CFG_ENTRY_MASK 0x3fff
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02
#define FW_CFG_DIR_ENTRY 64             /* be32 size, be16 select, be16 0, name[56] */
#define FW_CFG_DMA_DESC 16
#define NO_ITEM (-1)

static const char dma_signature[8] = "QEMU CFG";

struct fw_cfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
	char name[FW_CFG_NAME_MAX];     /* "" for fixed keys */
};

struct fw_cfg {
	struct machine *m;
	struct fw_cfg_item *items;
	unsigned nitems, cap;
	unsigned nfiles;
	int cur;                        /* selected item index or NO_ITEM */
	uint32_t cur_offset;
	uint32_t dma_high;
	struct iobus_region *io, *dma;
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fw_cfg_find(const struct fw_cfg *fw, uint16_t key)
{
	for (unsigned i = 0; i < fw->nitems; i++)
		if (fw->items[i].key == key)
			return (int)i;
	return NO_ITEM;
}

/* Store a copy of data under key, replacing an earlier value if replace. */
static int fw_cfg_store(struct fw_cfg *fw, uint16_t key, const char *name, const void *data,
			size_t len, bool replace)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	int i = fw_cfg_find(fw, key);
	if (i != NO_ITEM && !replace)
		return -EEXIST;
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	if (i == NO_ITEM) {
		if (fw->nitems == fw->cap) {
			unsigned cap = fw->cap ? fw->cap * 2 : 32;
			struct fw_cfg_item *n = realloc(fw->items, cap * sizeof(*n));
			if (!n) {
				free(copy);
				return -ENOMEM;
			}
			fw->items = n;
			fw->cap = cap;
		}
		i = (int)fw->nitems++;
		memset(&fw->items[i], 0, sizeof(fw->items[i]));
	}
	struct fw_cfg_item *it = &fw->items[i];
	free(it->data);
	it->key = key;
	it->data = copy;
	it->len = (uint32_t)len;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	return 0;
}

/* The directory (key 0x19) lists every file item in the order added. */
static int fw_cfg_rebuild_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nfiles * FW_CFG_DIR_ENTRY;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	put_be32(dir, fw->nfiles);
	uint8_t *e = dir + 4;
	for (unsigned i = 0; i < fw->nitems; i++) {
		const struct fw_cfg_item *it = &fw->items[i];
		if (!it->name[0])
			continue;
		put_be32(e, it->len);
		put_be16(e + 4, it->key);
		memcpy(e + 8, it->name, strlen(it->name));
		e += FW_CFG_DIR_ENTRY;
	}
	int rc = fw_cfg_store(fw, FW_CFG_FILE_DIR, NULL, dir, len, true);
	free(dir);
	return rc;
}

int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	if (key == FW_CFG_SIGNATURE || key == FW_CFG_ID || key == FW_CFG_FILE_DIR ||
	    (key & FW_CFG_WRITE_CHANNEL) || (key & FW_CFG_ENTRY_MASK) >= FW_CFG_FILE_FIRST)
		return -EINVAL;
	return fw_cfg_store(fw, key, NULL, data, len, false);
}

int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t value)
{
	uint8_t b[2] = { (uint8_t)value, (uint8_t)(value >> 8) };
	return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t value)
{
	uint8_t b[4];
	iobus_store_le(b, 4, value);
	return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= FW_CFG_NAME_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < fw->nitems; i++)
		if (!strcmp(fw->items[i].name, name))
			return -EEXIST;
	if (fw->nfiles == FW_CFG_MAX_FILES)
		return -ENOSPC;
	int rc = fw_cfg_store(fw, (uint16_t)(FW_CFG_FILE_FIRST + fw->nfiles), name, data, len,
			      false);
	if (rc)
		return rc;
	fw->nfiles++;
	return fw_cfg_rebuild_dir(fw);
}

/* ---- guest interface --------------------------------------------------- */

static void fw_cfg_select(struct fw_cfg *fw, uint16_t selector)
{
	fw->cur = fw_cfg_find(fw, selector & (uint16_t)~FW_CFG_WRITE_CHANNEL);
	fw->cur_offset = 0;
}

static uint8_t fw_cfg_next_byte(struct fw_cfg *fw)
{
	if (fw->cur == NO_ITEM)
		return 0;
	const struct fw_cfg_item *it = &fw->items[fw->cur];
	if (fw->cur_offset >= it->len)
		return 0;
	return it->data[fw->cur_offset++];
}

/* vCPU thread, device lock held. */
static uint64_t fw_cfg_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct fw_cfg *fw = opaque;
	if (off == 1 && size == 1)
		return fw_cfg_next_byte(fw);
	return (1ULL << (8 * size)) - 1;      /* the selector is write-only */
}

static void fw_cfg_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct fw_cfg *fw = opaque;
	if (off == 0 && size == 2)
		fw_cfg_select(fw, (uint16_t)v);
	else
		log_guest(LOG_DEBUG, "fw_cfg", "ignored %u-byte write to port %#llx", size,
			  (unsigned long long)(FW_CFG_PORT_SELECTOR + off));
}

static const struct iobus_ops fw_cfg_io_ops = { fw_cfg_io_read, fw_cfg_io_write, 2 };

/* READ or SKIP length bytes of the selected item; true on error. */
static bool fw_cfg_dma_transfer(struct fw_cfg *fw, bool read, uint64_t addr, uint32_t length)
{
	const struct fw_cfg_item *it = fw->cur == NO_ITEM ? NULL : &fw->items[fw->cur];
	uint32_t avail = it && fw->cur_offset < it->len ? it->len - fw->cur_offset : 0;
	uint32_t n = length < avail ? length : avail;
	if (read) {
		/* Check the whole target first: a bad range changes nothing. */
		struct iovec iov[GUESTMEM_MAX_REGIONS];
		if (length && guestmem_iov(fw->m->mem, addr, length, true, iov,
					   GUESTMEM_MAX_REGIONS) < 0)
			return true;
		if (n && guestmem_write(fw->m->mem, addr, it->data + fw->cur_offset, n))
			return true;
		if (length > n && guestmem_fill(fw->m->mem, addr + n, 0, length - n))
			return true;
	}
	fw->cur_offset += n;
	return false;
}

static void fw_cfg_dma(struct fw_cfg *fw, uint64_t desc_addr)
{
	uint8_t desc[FW_CFG_DMA_DESC];
	if (desc_addr + FW_CFG_DMA_DESC < desc_addr ||
	    guestmem_read(fw->m->mem, desc_addr, desc, sizeof(desc))) {
		log_guest(LOG_WARN, "fw_cfg", "DMA descriptor at %#llx is outside guest memory",
			  (unsigned long long)desc_addr);
		return;
	}
	uint32_t control = get_be32(desc);
	uint32_t length = get_be32(desc + 4);
	uint64_t addr = (uint64_t)get_be32(desc + 8) << 32 | get_be32(desc + 12);

	if (control & FW_CFG_DMA_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	uint32_t op = control & (FW_CFG_DMA_READ | FW_CFG_DMA_SKIP | FW_CFG_DMA_WRITE);
	bool error = false;
	if (op == FW_CFG_DMA_READ || op == FW_CFG_DMA_SKIP)
		error = fw_cfg_dma_transfer(fw, op == FW_CFG_DMA_READ, addr, length);
	else if (op == FW_CFG_DMA_WRITE)
		error = length != 0;    /* no item accepts writes */
	else if (op)
		error = true;           /* more than one operation at once */
	if (error)
		log_guest(LOG_DEBUG, "fw_cfg", "DMA control %#x length %u address %#llx failed",
			  control, length, (unsigned long long)addr);

	uint8_t result[4];
	put_be32(result, error ? FW_CFG_DMA_ERROR : 0);
	if (guestmem_write(fw->m->mem, desc_addr, result, sizeof(result)))
		log_guest(LOG_WARN, "fw_cfg", "cannot complete the DMA descriptor at %#llx "
			  "(not in RAM)", (unsigned long long)desc_addr);
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t off, unsigned size)
{
	uint8_t b[8] = { 0 };
	for (unsigned i = 0; i < size && off + i < sizeof(dma_signature); i++)
		b[i] = (uint8_t)dma_signature[off + i];
	return iobus_load_le(b, size);
}

static uint32_t bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void fw_cfg_dma_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct fw_cfg *fw = opaque;
	if (size != 4 || (off != 0 && off != 4)) {
		log_guest(LOG_DEBUG, "fw_cfg", "ignored %u-byte DMA register write at +%llu", size,
			  (unsigned long long)off);
		return;
	}
	/* The register is big-endian: the first port byte is the top byte. */
	uint32_t half = bswap32((uint32_t)v);
	if (off == 0) {
		fw->dma_high = half;
		return;
	}
	uint64_t desc = (uint64_t)fw->dma_high << 32 | half;
	fw->dma_high = 0;
	fw_cfg_dma(fw, desc);
}

static const struct iobus_ops fw_cfg_dma_ops = { fw_cfg_dma_read, fw_cfg_dma_write, 4 };

/* ---- device ------------------------------------------------------------ */

static void fw_cfg_reset(void *dev)
{
	struct fw_cfg *fw = dev;
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	fw->dma_high = 0;
}

static void fw_cfg_destroy(void *dev)
{
	struct fw_cfg *fw = dev;
	iobus_remove(fw->io);
	iobus_remove(fw->dma);
	for (unsigned i = 0; i < fw->nitems; i++)
		free(fw->items[i].data);
	free(fw->items);
	free(fw);
}

static void *fw_cfg_create(struct machine *m, const void *params)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	fw->m = m;
	uint8_t id[4];
	iobus_store_le(id, 4, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	if (fw_cfg_store(fw, FW_CFG_SIGNATURE, NULL, "QEMU", 4, false) ||
	    fw_cfg_store(fw, FW_CFG_ID, NULL, id, 4, false) || fw_cfg_rebuild_dir(fw) ||
	    iobus_add(m->pio, "fw_cfg", FW_CFG_PORT_SELECTOR, 2, &fw_cfg_io_ops, fw, 0, &fw->io) ||
	    iobus_add(m->pio, "fw_cfg-dma", FW_CFG_PORT_DMA, 8, &fw_cfg_dma_ops, fw, 0, &fw->dma)) {
		log_err("fw_cfg", "cannot create the firmware configuration device");
		fw_cfg_destroy(fw);
		return NULL;
	}
	fw_cfg_reset(fw);
	return fw;
}

const struct device_desc fw_cfg_desc = {
	.name = "fw_cfg",
	.create = fw_cfg_create,
	.reset = fw_cfg_reset,
	.destroy = fw_cfg_destroy,
};
