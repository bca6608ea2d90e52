/*
 * ide_rig: see ide_rig.h.
 */
#include "ide_rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_blk.h"
#include "fake_machine.h"
#include "guestmem.h"
#include "iobus.h"
#include "machine.h"
#include "pci/pci.h"

void rig_init(struct rig *r, const enum ide_kind kind[PIIX_IDE_DRIVES],
	      struct blk *blk[PIIX_IDE_DRIVES])
{
	struct piix_ide_params p;
	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->m = fake_machine_create();
	r->bus = pci_bus_create(r->m);
	p.bus = r->bus;
	p.devfn = PCI_DEVFN(1, 1);
	for (unsigned i = 0; i < PIIX_IDE_DRIVES; i++) {
		p.drive[i].kind = kind[i];
		p.drive[i].blk = blk[i];
		r->blk[i] = blk[i];
	}
	r->ide = machine_add_device(r->m, &piix_ide_desc, &p);
	assert_non_null(r->ide);
	rig_power_on(r);
}

void rig_power_on(struct rig *r)
{
	fake_machine_reset(r->m);
	/* What firmware does: BAR4, I/O decoding and bus mastering on. */
	assert_int_equal(rig_config_read(r, PCI_VENDOR_ID, 4), 0x70108086);
	rig_config_write(r, PCI_BASE_ADDRESS_0 + 16, 4, RIG_BM_BASE);
	rig_config_write(r, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
}

uint32_t rig_config_read(struct rig *r, unsigned off, unsigned size)
{
	machine_lock(r->m);
	uint32_t v = pci_bus_config_read(r->bus, PCI_DEVFN(1, 1), off, size);
	machine_unlock(r->m);
	return v;
}

void rig_config_write(struct rig *r, unsigned off, unsigned size, uint32_t v)
{
	machine_lock(r->m);
	pci_bus_config_write(r->bus, PCI_DEVFN(1, 1), off, size, v);
	machine_unlock(r->m);
}

void rig_fini(struct rig *r)
{
	/* The controller goes first: it waits for requests in flight. */
	struct pci_bus *bus = r->bus;
	fake_machine_destroy(r->m);
	pci_bus_destroy(bus);
	for (unsigned i = 0; i < PIIX_IDE_DRIVES; i++) {
		if (!r->blk[i])
			continue;
		struct fake_blk_stats s;
		fake_blk_stats(r->blk[i], &s);
		assert_int_equal(s.violations, 0);
		bool dup = false;
		for (unsigned j = 0; j < i; j++)
			dup |= r->blk[j] == r->blk[i];
		if (!dup)
			fake_blk_destroy(r->blk[i]);
	}
}

uint32_t rig_in(struct rig *r, uint16_t port, unsigned size)
{
	return (uint32_t)iobus_read(r->m->pio, port, size);
}

void rig_out(struct rig *r, uint16_t port, unsigned size, uint32_t v)
{
	iobus_write(r->m->pio, port, size, v);
}

uint8_t rig_inb(struct rig *r, uint16_t port)
{
	return (uint8_t)rig_in(r, port, 1);
}

void rig_outb(struct rig *r, uint16_t port, uint8_t v)
{
	rig_out(r, port, 1, v);
}

uint8_t rig_alt(struct rig *r, uint16_t base)
{
	return rig_inb(r, (uint16_t)(base + 0x206));
}

void rig_ctl(struct rig *r, uint16_t base, uint8_t v)
{
	rig_outb(r, (uint16_t)(base + 0x206), v);
}

uint8_t rig_wait(struct rig *r, uint16_t base)
{
	for (unsigned i = 0; i < 100000; i++) {
		uint8_t st = rig_alt(r, base);
		if (!(st & 0x80))
			return st;
		bool progressed = false;
		for (unsigned d = 0; d < PIIX_IDE_DRIVES; d++)
			if (r->blk[d] && fake_blk_complete_one(r->blk[d]))
				progressed = true;
		if (!progressed)
			fail_msg("device busy with no request pending (status %#x)", st);
	}
	fail_msg("device stays busy");
	return 0xff;
}

void rig_read_words(struct rig *r, uint16_t base, void *buf, size_t words)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < words; i++) {
		uint16_t w = (uint16_t)rig_in(r, base, 2);
		p[2 * i] = (uint8_t)w;
		p[2 * i + 1] = (uint8_t)(w >> 8);
	}
}

void rig_write_words(struct rig *r, uint16_t base, const void *buf, size_t words)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < words; i++)
		rig_out(r, base, 2, (uint32_t)(p[2 * i] | p[2 * i + 1] << 8));
}

void rig_select(struct rig *r, uint16_t base, unsigned unit)
{
	rig_outb(r, (uint16_t)(base + R_DEV), (uint8_t)(0xa0 | unit << 4));
}

void rig_cmd28(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint8_t feature,
	       uint8_t count, uint32_t lba)
{
	rig_outb(r, (uint16_t)(base + R_DEV), (uint8_t)(0xe0 | unit << 4 | ((lba >> 24) & 0xf)));
	rig_outb(r, (uint16_t)(base + R_ERR), feature);
	rig_outb(r, (uint16_t)(base + R_NSECT), count);
	rig_outb(r, (uint16_t)(base + R_LBAL), (uint8_t)lba);
	rig_outb(r, (uint16_t)(base + R_LBAM), (uint8_t)(lba >> 8));
	rig_outb(r, (uint16_t)(base + R_LBAH), (uint8_t)(lba >> 16));
	rig_outb(r, (uint16_t)(base + R_STATUS), cmd);
}

void rig_cmd_chs(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint8_t count,
		 unsigned cyl, unsigned head, unsigned sector)
{
	rig_outb(r, (uint16_t)(base + R_DEV), (uint8_t)(0xa0 | unit << 4 | (head & 0xf)));
	rig_outb(r, (uint16_t)(base + R_NSECT), count);
	rig_outb(r, (uint16_t)(base + R_LBAL), (uint8_t)sector);
	rig_outb(r, (uint16_t)(base + R_LBAM), (uint8_t)cyl);
	rig_outb(r, (uint16_t)(base + R_LBAH), (uint8_t)(cyl >> 8));
	rig_outb(r, (uint16_t)(base + R_STATUS), cmd);
}

void rig_cmd48(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint16_t count,
	       uint64_t lba)
{
	rig_outb(r, (uint16_t)(base + R_DEV), (uint8_t)(0xe0 | unit << 4));
	rig_outb(r, (uint16_t)(base + R_NSECT), (uint8_t)(count >> 8));
	rig_outb(r, (uint16_t)(base + R_LBAL), (uint8_t)(lba >> 24));
	rig_outb(r, (uint16_t)(base + R_LBAM), (uint8_t)(lba >> 32));
	rig_outb(r, (uint16_t)(base + R_LBAH), (uint8_t)(lba >> 40));
	rig_outb(r, (uint16_t)(base + R_NSECT), (uint8_t)count);
	rig_outb(r, (uint16_t)(base + R_LBAL), (uint8_t)lba);
	rig_outb(r, (uint16_t)(base + R_LBAM), (uint8_t)(lba >> 8));
	rig_outb(r, (uint16_t)(base + R_LBAH), (uint8_t)(lba >> 16));
	rig_outb(r, (uint16_t)(base + R_STATUS), cmd);
}

uint8_t *rig_ram(struct rig *r, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guestmem_ptr(r->m->mem, gpa, len);
	assert_non_null(p);
	return p;
}

void rig_prd_table(struct rig *r, uint32_t table, const struct rig_prd *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t flags = (e[i].len & 0xffff) | (e[i].eot ? 0x80000000u : 0);
		guestmem_write_u32(r->m->mem, table + 8 * i, e[i].addr);
		guestmem_write_u32(r->m->mem, table + 8 * i + 4, flags);
	}
}

void rig_bm_write(struct rig *r, unsigned off, unsigned size, uint32_t v)
{
	rig_out(r, (uint16_t)(RIG_BM_BASE + off), size, v);
}

uint32_t rig_bm_read(struct rig *r, unsigned off, unsigned size)
{
	return rig_in(r, (uint16_t)(RIG_BM_BASE + off), size);
}

void rig_bm_setup(struct rig *r, unsigned ch, uint32_t table, bool to_mem)
{
	rig_bm_write(r, 8 * ch + 4, 4, table);
	rig_bm_write(r, 8 * ch, 1, to_mem ? 0x08 : 0x00);
	rig_bm_write(r, 8 * ch + 2, 1, 0x06);   /* clear error and interrupt */
}

void rig_bm_cmd(struct rig *r, unsigned ch, uint8_t v)
{
	rig_bm_write(r, 8 * ch, 1, v);
}

uint8_t rig_bm_status(struct rig *r, unsigned ch)
{
	return (uint8_t)rig_bm_read(r, 8 * ch + 2, 1);
}

void rig_bm_clear(struct rig *r, unsigned ch)
{
	rig_bm_write(r, 8 * ch + 2, 1, 0x06);
}

void rig_expect_pattern(const uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != fake_blk_pattern(off + i))
			fail_msg("byte %zu (image offset %llu) is %#x, want %#x", i,
				 (unsigned long long)(off + i), buf[i], fake_blk_pattern(off + i));
}

uint32_t rig_rand(void)
{
	static uint64_t state = 0x9e3779b97f4a7c15ULL;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)state;
}
