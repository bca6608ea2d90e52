/*
 * fuzz_ide: libFuzzer target over what a guest can do to an IDE channel:
 * task-file, data-port, device-control and bus-master accesses of any
 * offset, width and value, guest memory contents (PRD tables, DMA buffers,
 * command packets), block requests completing in any order, media changes
 * and bus-mastering switched on and off. The channel holds an ATA disk
 * (master) and an ATAPI CD-ROM (slave) on in-memory fake images. Any input
 * must leave the monitor sound: no crash, hang, leak or out-of-bounds
 * access (built with ASan and UBSan), and no request the block layer's
 * contract forbids (fake_blk counts those; one aborts the run).
 *
 * Input: a sequence of operations, each one opcode byte and its operands.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_blk.h"
#include "guestmem.h"
#include "ide/ide.h"
#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"

#define FUZZ_RAM (1u << 20)
#define DISK_BYTES (1u << 20)
#define CD_BYTES (256u << 10)
#define CMD_BASE 0x1f0
#define CTL_PORT 0x3f6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The device lock helpers, without the rest of machine.c. */
void machine_lock(struct machine *m)
{
	pthread_mutex_lock(&m->dev_lock);
}

void machine_unlock(struct machine *m)
{
	pthread_mutex_unlock(&m->dev_lock);
}

static void fuzz_set_line(void *opaque, unsigned gsi, int level)
{
}

static const struct irqchip_ops fuzz_irqchip = { .set_line = fuzz_set_line };

struct rig {
	struct machine m;
	struct blk *disk, *cd, *cd2;
	struct ide_channel *ch;
};

static struct rig *rig_get(void)
{
	static struct rig *r;
	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	log_set_level(LOG_ERROR);
	pthread_mutex_init(&r->m.dev_lock, NULL);
	r->m.mem = guestmem_create();
	guestmem_add(r->m.mem, "ram", 0, FUZZ_RAM, NULL, GUESTMEM_RAM, NULL);
	r->m.pio = iobus_create("pio", 0xffff, &r->m.dev_lock);
	irq_register_chip(&r->m, &fuzz_irqchip, NULL);
	r->disk = fake_blk_create(DISK_BYTES, false);
	r->cd = fake_blk_create(CD_BYTES, true);
	r->cd2 = fake_blk_create(CD_BYTES / 2, true);
	const struct ide_drive_params p[2] = {
		{ .kind = IDE_DISK, .blk = r->disk },
		{ .kind = IDE_CDROM, .blk = r->cd },
	};
	r->ch = ide_channel_create(&r->m, 0, 14, p);
	iobus_add(r->m.pio, "cmd", CMD_BASE, 8, &ide_cmd_ops, r->ch, 0, NULL);
	iobus_add(r->m.pio, "ctl", CTL_PORT, 1, &ide_ctl_ops, r->ch, 0, NULL);
	return r;
}

static uint32_t take(const uint8_t **p, const uint8_t *end, unsigned n)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint32_t)**p << (8 * i);
	return v;
}

static void drain(struct rig *r)
{
	while (fake_blk_complete_one(r->disk) || fake_blk_complete_one(r->cd) ||
	       fake_blk_complete_one(r->cd2))
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 2 };
	struct rig *r = rig_get();
	const uint8_t *p = data, *end = data + size;

	/* Power-on state first: nothing is in flight (the last input drained
	 * its requests), and the reset must not wait for one that only this
	 * thread could complete. */
	machine_lock(&r->m);
	ide_change_media(r->ch, 1, r->cd, true);
	ide_channel_reset(r->ch);
	ide_set_bus_master(r->ch, true);
	machine_unlock(&r->m);
	guestmem_fill(r->m.mem, 0, 0, FUZZ_RAM);

	while (p < end) {
		uint8_t op = (uint8_t)take(&p, end, 1);
		unsigned sz = sizes[(op >> 3) & 3];
		switch (op & 7) {
		case 0:                 /* task file / data port write */
			iobus_write(r->m.pio, CMD_BASE + (op >> 5), sz, take(&p, end, sz));
			break;
		case 1:                 /* ...read */
			iobus_read(r->m.pio, CMD_BASE + (op >> 5), sz);
			break;
		case 2:                 /* device control / alternate status */
			if (op & 0x80)
				iobus_write(r->m.pio, CTL_PORT, 1, take(&p, end, 1));
			else
				iobus_read(r->m.pio, CTL_PORT, 1);
			break;
		case 3: {               /* bus-master register */
			unsigned off = (op >> 5) & 7;
			uint8_t v = (uint8_t)take(&p, end, 1);
			machine_lock(&r->m);
			if (op & 0x10)
				ide_bm_write(r->ch, off, v);
			else
				ide_bm_read(r->ch, off);
			machine_unlock(&r->m);
			break;
		}
		case 4:                 /* a block request comes back */
			fake_blk_complete_one((op & 0x80) ? r->cd : r->disk);
			fake_blk_complete_one(r->cd2);
			break;
		case 5: {               /* guest memory: PRD tables, buffers */
			uint32_t gpa = take(&p, end, 3) % FUZZ_RAM;
			uint8_t bytes[8];
			unsigned n = 0;
			while (n < sizeof(bytes) && p < end)
				bytes[n++] = *p++;
			guestmem_write(r->m.mem, gpa, bytes, n);
			break;
		}
		case 6: {               /* the host changes the CD, or PCI bus mastering */
			drain(r);       /* a change waits for the request in flight */
			machine_lock(&r->m);
			if (op & 0x80)
				ide_set_bus_master(r->ch, op & 0x40);
			else
				ide_change_media(r->ch, (op >> 6) & 1,
						 (op & 0x20) ? NULL : (op & 0x10) ? r->cd2 : r->cd,
						 op & 0x08);
			machine_unlock(&r->m);
			break;
		}
		default:                /* many data-port words at once (rep insw) */
			for (unsigned i = 0; i < 256; i++)
				iobus_read(r->m.pio, CMD_BASE, 2);
			break;
		}
	}
	drain(r);
	for (struct blk *b = r->disk; b; b = b == r->disk ? r->cd : b == r->cd ? r->cd2 : NULL) {
		struct fake_blk_stats s;
		fake_blk_stats(b, &s);
		if (s.violations)
			abort();        /* a request outside the block layer's contract */
	}
	return 0;
}
