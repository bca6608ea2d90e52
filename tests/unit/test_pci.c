/*
 * Unit tests for the PCI core: identity and read-only bits, BAR sizing for
 * I/O, 32-bit, 64-bit and ROM BARs, decoding under COMMAND, moves, clashes,
 * the capability list, INTx to PIRQ with the slot rotation and sharing, MSI,
 * reset, and every offset/size from a hostile guest.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "pci/pci.h"

struct fake_fn {
	struct pci_dev *pci;
	unsigned last_bar, last_size, reads, writes, moves;
	uint64_t last_off, last_value, moved_addr;
	unsigned cfg_writes, cfg_last_off;
};

static uint64_t fn_bar_read(void *dev, unsigned bar, uint64_t off, unsigned size)
{
	struct fake_fn *f = dev;
	f->reads++;
	f->last_bar = bar;
	f->last_off = off;
	f->last_size = size;
	return 0xa5 + bar;
}

static void fn_bar_write(void *dev, unsigned bar, uint64_t off, unsigned size, uint64_t v)
{
	struct fake_fn *f = dev;
	f->writes++;
	f->last_bar = bar;
	f->last_off = off;
	f->last_size = size;
	f->last_value = v;
}

static void fn_config_write(void *dev, unsigned off, unsigned size, uint32_t v)
{
	struct fake_fn *f = dev;
	f->cfg_writes++;
	f->cfg_last_off = off;
}

static void fn_bar_moved(void *dev, unsigned bar, uint64_t addr)
{
	struct fake_fn *f = dev;
	f->moves++;
	f->moved_addr = addr;
}

static const struct pci_dev_ops fn_ops = {
	.bar_read = fn_bar_read,
	.bar_write = fn_bar_write,
	.config_write = fn_config_write,
	.bar_moved = fn_bar_moved,
};

struct router_log {
	int level[4];
	unsigned calls;
};

static void test_router(void *opaque, unsigned pirq, bool level)
{
	struct router_log *r = opaque;
	r->level[pirq] = level;
	r->calls++;
}

struct env {
	struct machine *m;
	struct pci_bus *bus;
	struct fake_fn fn;
	struct router_log router;
};

static uint8_t rom_image[3000];

/* A function at 00:03.0 with an I/O BAR, a 32-bit prefetchable BAR, a 64-bit
 * BAR and an expansion ROM. */
static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->m = fake_machine_create();
	e->bus = pci_bus_create(e->m);
	pci_bus_set_router(e->bus, test_router, &e->router);
	for (size_t i = 0; i < sizeof(rom_image); i++)
		rom_image[i] = (uint8_t)(i * 7 + 1);
	rom_image[0] = 0x55;
	rom_image[1] = 0xaa;
	struct pci_dev_params p = {
		.name = "fake",
		.devfn = PCI_DEVFN(3, 0),
		.vendor_id = 0x1234, .device_id = 0x5678,
		.subsys_vendor_id = 0x1af4, .subsys_id = 0x1100,
		.revision = 7,
		.class_code = 0x020000,
		.int_pin = 1,
		.bar = {
			[0] = { PCI_BAR_IO, 32, false, 4 },
			[1] = { PCI_BAR_MEM32, 4096, true, 4 },
			[2] = { PCI_BAR_MEM64, 1 << 20, false, 8 },
		},
		.rom = rom_image, .rom_size = sizeof(rom_image),
		.ops = &fn_ops,
		.opaque = &e->fn,
	};
	e->fn.pci = pci_register(e->bus, &p);
	assert_non_null(e->fn.pci);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	pci_unregister(e->fn.pci);
	pci_bus_destroy(e->bus);
	fake_machine_destroy(e->m);
	free(e);
	return 0;
}

static uint32_t cfg_rd(struct env *e, unsigned off, unsigned size)
{
	return pci_bus_config_read(e->bus, PCI_DEVFN(3, 0), off, size);
}

static void cfg_wr(struct env *e, unsigned off, unsigned size, uint32_t v)
{
	pci_bus_config_write(e->bus, PCI_DEVFN(3, 0), off, size, v);
}

static void test_identity_and_read_only_bits(void **state)
{
	struct env *e = *state;
	assert_int_equal(cfg_rd(e, 0, 4), 0x56781234);
	assert_int_equal(cfg_rd(e, PCI_CLASS_PROG - 1, 4), 0x02000007);
	assert_int_equal(cfg_rd(e, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_PIN, 1), 1);
	/* Identity, class, header type, pin and subsystem ignore writes. */
	cfg_wr(e, 0, 4, 0);
	cfg_wr(e, 8, 4, 0xffffffff);
	cfg_wr(e, PCI_HEADER_TYPE, 1, 0xff);
	cfg_wr(e, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	cfg_wr(e, PCI_INTERRUPT_PIN, 1, 4);
	assert_int_equal(cfg_rd(e, 0, 4), 0x56781234);
	assert_int_equal(cfg_rd(e, 8, 4), 0x02000007);
	assert_int_equal(cfg_rd(e, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_rd(e, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_PIN, 1), 1);
	/* COMMAND keeps only the bits a function implements. */
	cfg_wr(e, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg_rd(e, PCI_COMMAND, 2), 0x0547);
	/* STATUS: DEVSEL timing read-only, error bits write-one-to-clear. */
	assert_int_equal(cfg_rd(e, PCI_STATUS, 2), PCI_STATUS_DEVSEL_MEDIUM);
	pci_config_set16(e->fn.pci, PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM | 0x8000 | 0x2000);
	cfg_wr(e, PCI_STATUS, 2, 0x8000);
	assert_int_equal(cfg_rd(e, PCI_STATUS, 2), PCI_STATUS_DEVSEL_MEDIUM | 0x2000);
	/* Scratch registers of the header are writable. */
	cfg_wr(e, PCI_INTERRUPT_LINE, 1, 11);
	cfg_wr(e, PCI_LATENCY_TIMER, 1, 0x40);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(cfg_rd(e, PCI_LATENCY_TIMER, 1), 0x40);
	/* Device registers are read-only unless the device says otherwise,
	 * and the device's hook sees every write. */
	unsigned before = e->fn.cfg_writes;
	cfg_wr(e, 0x80, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, 0x80, 4), 0);
	pci_config_set_wmask(e->fn.pci, 0x80, 2, 0x0ff0);
	cfg_wr(e, 0x80, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, 0x80, 4), 0x0ff0);
	assert_int_equal(e->fn.cfg_writes, before + 2);
	assert_int_equal(e->fn.cfg_last_off, 0x80);
}

static void test_absent_functions_read_all_ones(void **state)
{
	struct env *e = *state;
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(4, 0), 0, 2), 0xffff);
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(4, 0), 0, 4), 0xffffffff);
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(3, 1), 0, 1), 0xff);
	pci_bus_config_write(e->bus, PCI_DEVFN(4, 0), 4, 2, 0xffff);
	/* Malformed cycles (never made by the host bridge) are harmless too. */
	assert_int_equal(cfg_rd(e, 0xfe, 4), 0xffffffff);
	assert_int_equal(cfg_rd(e, 1, 4), 0xffffffff);
	assert_int_equal(cfg_rd(e, 0, 3), 0xffffff);
	assert_int_equal(pci_bus_config_read(e->bus, 999, 0, 4), 0xffffffff);
}

static void test_multifunction_bit(void **state)
{
	struct env *e = *state;
	struct pci_dev_params p = { .name = "fn1", .devfn = PCI_DEVFN(3, 1) };
	assert_int_equal(cfg_rd(e, PCI_HEADER_TYPE, 1), 0);
	struct pci_dev *d = pci_register(e->bus, &p);
	assert_non_null(d);
	assert_int_equal(cfg_rd(e, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MULTI);
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(3, 1), PCI_HEADER_TYPE, 1), 0);
	/* A second function at the same address is refused. */
	assert_null(pci_register(e->bus, &p));
	pci_unregister(d);
	assert_int_equal(cfg_rd(e, PCI_HEADER_TYPE, 1), 0);
}

static void test_bad_descriptions_refused(void **state)
{
	struct env *e = *state;
	struct pci_dev_params p = { .name = "bad", .devfn = PCI_DEVFN(5, 0) };
	p.bar[0] = (struct pci_bar_desc){ PCI_BAR_IO, 24, false, 0 };   /* not 2^n */
	assert_null(pci_register(e->bus, &p));
	p.bar[0] = (struct pci_bar_desc){ PCI_BAR_IO, 512, false, 0 };  /* too big */
	assert_null(pci_register(e->bus, &p));
	p.bar[0] = (struct pci_bar_desc){ PCI_BAR_MEM32, 8, false, 0 }; /* too small */
	assert_null(pci_register(e->bus, &p));
	p.bar[0] = (struct pci_bar_desc){ PCI_BAR_MEM32, 4096, false, 3 };
	assert_null(pci_register(e->bus, &p));
	p.bar[0] = (struct pci_bar_desc){ 0 };
	p.bar[5] = (struct pci_bar_desc){ PCI_BAR_MEM64, 4096, false, 0 }; /* no slot 6 */
	assert_null(pci_register(e->bus, &p));
	p.bar[5] = (struct pci_bar_desc){ 0 };
	p.bar[1] = (struct pci_bar_desc){ PCI_BAR_MEM64, 4096, false, 0 };
	p.bar[2] = (struct pci_bar_desc){ PCI_BAR_IO, 16, false, 0 };   /* upper half used */
	assert_null(pci_register(e->bus, &p));
	p.bar[1] = p.bar[2] = (struct pci_bar_desc){ 0 };
	p.int_pin = 5;
	assert_null(pci_register(e->bus, &p));
	p.int_pin = 0;
	p.devfn = 256;
	assert_null(pci_register(e->bus, &p));
}

static void test_bar_sizing(void **state)
{
	struct env *e = *state;
	/* Power-on values carry only the type bits. */
	assert_int_equal(cfg_rd(e, 0x10, 4), 0x1);
	assert_int_equal(cfg_rd(e, 0x14, 4), 0x8);
	assert_int_equal(cfg_rd(e, 0x18, 4), 0x4);
	assert_int_equal(cfg_rd(e, 0x1c, 4), 0);
	for (unsigned off = 0x10; off <= 0x24; off += 4)
		cfg_wr(e, off, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, 0x10, 4), 0xffffffe1);      /* 32 bytes of I/O */
	assert_int_equal(cfg_rd(e, 0x14, 4), 0xfffff008);      /* 4 KiB prefetchable */
	assert_int_equal(cfg_rd(e, 0x18, 4), 0xfff00004);      /* 1 MiB, 64-bit */
	assert_int_equal(cfg_rd(e, 0x1c, 4), 0xffffffff);      /* upper half */
	assert_int_equal(cfg_rd(e, 0x20, 4), 0);               /* unimplemented */
	assert_int_equal(cfg_rd(e, 0x24, 4), 0);
	/* The ROM BAR: size rounded up to 4 KiB, enable bit writable. */
	cfg_wr(e, PCI_ROM_ADDRESS, 4, 0xfffff800);
	assert_int_equal(cfg_rd(e, PCI_ROM_ADDRESS, 4), 0xfffff000);
	cfg_wr(e, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, PCI_ROM_ADDRESS, 4), 0xfffff001);
	/* Sizing with decode on must not map anything at the top of 4 GiB. */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(pci_bar_address(e->fn.pci, 1) == PCI_BAR_UNMAPPED);
	assert_true(pci_bar_address(e->fn.pci, PCI_ROM_SLOT) == PCI_BAR_UNMAPPED);
	assert_false(iobus_claimed(e->m->mmio, 0xfffff000));
	/* Byte and word writes to BARs keep the masks too. */
	cfg_wr(e, 0x10, 1, 0xff);
	assert_int_equal(cfg_rd(e, 0x10, 1), 0xe1);
}

static uint64_t other_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x77;
}

static void other_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
}

static const struct iobus_ops other_ops = { other_read, other_write, 1 };

static void test_64bit_bar_sizes_above_4g(void **state)
{
	struct env *e = *state;
	struct fake_fn f = { 0 };
	struct pci_dev_params p = {
		.name = "big", .devfn = PCI_DEVFN(6, 0), .ops = &fn_ops, .opaque = &f,
		.bar = { [4] = { PCI_BAR_MEM64, 8ULL << 30, true, 8 } },
	};
	f.pci = pci_register(e->bus, &p);
	assert_non_null(f.pci);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x20, 4, 0xffffffff);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x24, 4, 0xffffffff);
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(6, 0), 0x20, 4), 0x0000000c);
	assert_int_equal(pci_bus_config_read(e->bus, PCI_DEVFN(6, 0), 0x24, 4), 0xfffffffe);
	/* Place it at 16 GiB and decode. */
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x20, 4, 0);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x24, 4, 4);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(pci_bar_address(f.pci, 4) == 16ULL << 30);
	assert_int_equal(f.moves, 1);
	assert_int_equal(f.moved_addr, 16ULL << 30);
	assert_true(iobus_claimed(e->m->mmio, (16ULL << 30) + (8ULL << 30) - 1));
	assert_false(iobus_claimed(e->m->mmio, (16ULL << 30) + (8ULL << 30)));
	assert_int_equal(iobus_read(e->m->mmio, (16ULL << 30) + 0x1234, 8), 0xa5 + 4);
	assert_int_equal(f.last_bar, 4);
	assert_int_equal(f.last_off, 0x1234);
	assert_int_equal(f.last_size, 8);
	/* A clash near the end of a huge BAR is found at once (no byte scan). */
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), PCI_COMMAND, 2, 0);
	assert_int_equal(iobus_add(e->m->mmio, "small", (24ULL << 30) - 4096, 16, &other_ops,
				   NULL, 0, NULL), 0);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(pci_bar_address(f.pci, 4) == PCI_BAR_UNMAPPED);
	/* The all-ones pattern in both halves is never decoded. */
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x20, 4, 0xffffffff);
	pci_bus_config_write(e->bus, PCI_DEVFN(6, 0), 0x24, 4, 0xffffffff);
	assert_true(pci_bar_address(f.pci, 4) == PCI_BAR_UNMAPPED);
	pci_unregister(f.pci);
}

static void test_decode_enable_and_moves(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	cfg_wr(e, 0x10, 4, 0xc000);
	cfg_wr(e, 0x14, 4, 0xfe000000);
	cfg_wr(e, 0x18, 4, 0xfd000000);
	cfg_wr(e, 0x1c, 4, 0);
	/* Nothing decodes until COMMAND says so. */
	assert_false(iobus_claimed(m->pio, 0xc000));
	assert_false(iobus_claimed(m->mmio, 0xfe000000));
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_true(iobus_claimed(m->pio, 0xc000));
	assert_true(iobus_claimed(m->pio, 0xc01f));
	assert_false(iobus_claimed(m->pio, 0xc020));
	assert_false(iobus_claimed(m->mmio, 0xfe000000));
	assert_int_equal(iobus_read(m->pio, 0xc005, 1), 0xa5);
	assert_int_equal(e->fn.last_bar, 0);
	assert_int_equal(e->fn.last_off, 5);
	iobus_write(m->pio, 0xc010, 4, 0xdeadbeef);
	assert_int_equal(e->fn.last_value, 0xdeadbeef);
	assert_int_equal(e->fn.last_off, 0x10);
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(iobus_claimed(m->mmio, 0xfe000fff));
	assert_true(iobus_claimed(m->mmio, 0xfd0fffff));
	assert_int_equal(pci_bar_address(e->fn.pci, 1), 0xfe000000);
	iobus_read(m->mmio, 0xfd000010, 4);
	assert_int_equal(e->fn.last_bar, 2);
	assert_int_equal(e->fn.last_off, 0x10);
	/* Moving a BAR moves its region. */
	cfg_wr(e, 0x10, 4, 0xd040);
	assert_false(iobus_claimed(m->pio, 0xc000));
	assert_true(iobus_claimed(m->pio, 0xd040));
	cfg_wr(e, 0x14, 2, 0x1000);     /* a word write moves it too */
	assert_int_equal(pci_bar_address(e->fn.pci, 1), 0xfe001000);
	/* Address 0 and an I/O range past 64 KiB do not decode. */
	cfg_wr(e, 0x10, 4, 0);
	assert_true(pci_bar_address(e->fn.pci, 0) == PCI_BAR_UNMAPPED);
	cfg_wr(e, 0x10, 4, 0x1fff0);
	assert_true(pci_bar_address(e->fn.pci, 0) == PCI_BAR_UNMAPPED);
	cfg_wr(e, 0x10, 4, 0xc000);
	assert_true(iobus_claimed(m->pio, 0xc000));
	/* Turning decode off removes the regions. */
	cfg_wr(e, PCI_COMMAND, 2, 0);
	assert_false(iobus_claimed(m->pio, 0xc000));
	assert_false(iobus_claimed(m->mmio, 0xfe001000));
	assert_false(iobus_claimed(m->mmio, 0xfd000000));
}

static void test_bar_clash_stays_unmapped(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	assert_int_equal(iobus_add(m->pio, "uart", 0x3f8, 8, &other_ops, NULL, 0, NULL), 0);
	cfg_wr(e, 0x10, 4, 0x3e0);      /* 0x3e0-0x3ff covers the UART */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_true(pci_bar_address(e->fn.pci, 0) == PCI_BAR_UNMAPPED);
	assert_int_equal(iobus_read(m->pio, 0x3f8, 1), 0x77);
	assert_false(iobus_claimed(m->pio, 0x3e0));
	cfg_wr(e, 0x10, 4, 0x400);
	assert_int_equal(pci_bar_address(e->fn.pci, 0), 0x400);
	/* Moving onto it fails the same way and leaves it off. */
	cfg_wr(e, 0x10, 4, 0x3e0);
	assert_true(pci_bar_address(e->fn.pci, 0) == PCI_BAR_UNMAPPED);
	assert_false(iobus_claimed(m->pio, 0x400));
}

static void test_expansion_rom(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	cfg_wr(e, PCI_ROM_ADDRESS, 4, 0xfeb00000);
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_false(iobus_claimed(m->mmio, 0xfeb00000));       /* enable bit clear */
	cfg_wr(e, PCI_ROM_ADDRESS, 4, 0xfeb00001);
	assert_int_equal(pci_bar_address(e->fn.pci, PCI_ROM_SLOT), 0xfeb00000);
	assert_int_equal(iobus_read(m->mmio, 0xfeb00000, 2), 0xaa55);
	for (unsigned i = 0; i < sizeof(rom_image); i += 97)
		assert_int_equal(iobus_read(m->mmio, 0xfeb00000 + i, 1), rom_image[i]);
	assert_int_equal(iobus_read(m->mmio, 0xfeb00000 + 4000, 4), 0);   /* padding */
	/* The ROM cannot be written. */
	iobus_write(m->mmio, 0xfeb00000, 4, 0);
	assert_int_equal(iobus_read(m->mmio, 0xfeb00000, 2), 0xaa55);
	assert_int_equal(e->fn.writes, 0);
	cfg_wr(e, PCI_ROM_ADDRESS, 4, 0xfeb00000);
	assert_false(iobus_claimed(m->mmio, 0xfeb00000));
}

static void test_capability_list_walk(void **state)
{
	struct env *e = *state;
	struct pci_dev *d = e->fn.pci;
	assert_false(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_PM, 0x40, 8), 0x40);
	assert_int_equal(pci_msi_init(d, 0x50, 1, true), 0);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0x70, 16), 0x70);
	/* Overlaps, misalignment and the header are refused. */
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0x58, 4), -EEXIST);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0x62, 4), -EINVAL);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0x30, 4), -EINVAL);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0xfc, 8), -EINVAL);
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Walk it as a guest does. */
	uint8_t ids[8];
	unsigned n = 0;
	for (unsigned p = cfg_rd(e, PCI_CAPABILITY_LIST, 1); p && n < 8;
	     p = cfg_rd(e, p + 1, 1))
		ids[n++] = (uint8_t)cfg_rd(e, p, 1);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], PCI_CAP_ID_PM);
	assert_int_equal(ids[1], PCI_CAP_ID_MSI);
	assert_int_equal(ids[2], PCI_CAP_ID_VNDR);
	/* The list is read-only to the guest and survives reset. */
	cfg_wr(e, PCI_CAPABILITY_LIST, 1, 0);
	cfg_wr(e, 0x41, 1, 0);
	pci_dev_reset(d);
	assert_int_equal(cfg_rd(e, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(cfg_rd(e, 0x41, 1), 0x50);
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
}

static void test_intx_rotation_and_sharing(void **state)
{
	struct env *e = *state;
	/* 00:03.0 INTA -> PIRQ (0 + 3 - 1) & 3 = C. */
	assert_int_equal(pci_bus_pirq_of(3, 1), 2);
	assert_int_equal(pci_bus_pirq_of(1, 1), 0);
	assert_int_equal(pci_bus_pirq_of(2, 4), 0);
	assert_int_equal(pci_bus_pirq_of(0, 1), 3);
	pci_set_irq(e->fn.pci, true);
	assert_int_equal(e->router.level[2], 1);
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* 00:07.0 INTA is PIRQC too (slot 7 = 3 + 4): the line is shared. */
	struct pci_dev_params p = { .name = "other", .devfn = PCI_DEVFN(7, 0), .int_pin = 1 };
	struct pci_dev *o = pci_register(e->bus, &p);
	pci_set_irq(o, true);
	unsigned calls = e->router.calls;
	pci_set_irq(e->fn.pci, false);
	assert_int_equal(e->router.level[2], 1);
	assert_int_equal(e->router.calls, calls);       /* the OR did not change */
	assert_true(pci_bus_pirq_level(e->bus, 2));
	pci_set_irq(o, false);
	assert_int_equal(e->router.level[2], 0);
	assert_false(pci_bus_pirq_level(e->bus, 2));
	/* INTX_DISABLE masks the pin but not the status bit. */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	pci_set_irq(e->fn.pci, true);
	assert_int_equal(e->router.level[2], 0);
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(e, PCI_COMMAND, 2, 0);
	assert_int_equal(e->router.level[2], 1);
	/* Unregistering a function drops its pin. */
	pci_set_irq(o, true);
	pci_set_irq(e->fn.pci, false);
	pci_unregister(o);
	assert_int_equal(e->router.level[2], 0);
	/* A function without a pin never reaches a PIRQ. */
	struct pci_dev_params q = { .name = "nopin", .devfn = PCI_DEVFN(8, 0) };
	struct pci_dev *np = pci_register(e->bus, &q);
	pci_set_irq(np, true);
	for (unsigned i = 0; i < 4; i++)
		assert_false(pci_bus_pirq_level(e->bus, i));
	pci_unregister(np);
}

static void test_msi(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	assert_int_equal(pci_msi_init(e->fn.pci, 0x60, 4, false), 0);
	assert_int_equal(pci_msi_init(e->fn.pci, 0x80, 4, false), -EINVAL);   /* one only */
	/* Capable of 4 vectors, 32-bit; only enable and MME are writable. */
	assert_int_equal(cfg_rd(e, 0x62, 2), 2 << 1);
	cfg_wr(e, 0x62, 2, 0xffff);
	assert_int_equal(cfg_rd(e, 0x62, 2), (2 << 1) | 0x71);
	cfg_wr(e, 0x62, 2, 0);
	cfg_wr(e, 0x64, 4, 0xfee00003);
	assert_int_equal(cfg_rd(e, 0x64, 4), 0xfee00000);
	cfg_wr(e, 0x68, 2, 0x4040);
	/* Disabled: nothing is sent. */
	pci_msi_notify(e->fn.pci, 0);
	assert_int_equal(fake_machine_msi_count(m), 0);
	cfg_wr(e, 0x62, 2, 0x0021);     /* enable, 4 vectors granted */
	pci_msi_notify(e->fn.pci, 1);
	assert_int_equal(fake_machine_msi_count(m), 0);  /* bus mastering is off */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	pci_msi_notify(e->fn.pci, 3);
	assert_int_equal(fake_machine_msi_count(m), 1);
	assert_int_equal(fake_machine_msi(m, 0).addr, 0xfee00000);
	assert_int_equal(fake_machine_msi(m, 0).data, 0x4043);
	/* One vector granted: every vector folds onto the message data. */
	cfg_wr(e, 0x62, 2, 0x0001);
	pci_msi_notify(e->fn.pci, 3);
	assert_int_equal(fake_machine_msi(m, 1).data, 0x4040);
	/* INTx is silent while MSI is on. */
	pci_set_irq(e->fn.pci, true);
	assert_int_equal(e->router.level[2], 0);
	cfg_wr(e, 0x62, 2, 0);
	assert_int_equal(e->router.level[2], 1);
	/* Reset turns MSI off and clears its address. */
	cfg_wr(e, 0x62, 2, 1);
	pci_dev_reset(e->fn.pci);
	assert_false(pci_msi_enabled(e->fn.pci));
	assert_int_equal(cfg_rd(e, 0x64, 4), 0);
	assert_int_equal(cfg_rd(e, 0x62, 2), 2 << 1);
	assert_int_equal(e->router.level[2], 0);
}

static void test_reset_unmaps(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	cfg_wr(e, 0x10, 4, 0xc000);
	cfg_wr(e, 0x14, 4, 0xfe000000);
	cfg_wr(e, PCI_INTERRUPT_LINE, 1, 10);
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	pci_set_irq(e->fn.pci, true);
	assert_true(iobus_claimed(m->pio, 0xc000));
	pci_dev_reset(e->fn.pci);
	assert_false(iobus_claimed(m->pio, 0xc000));
	assert_false(iobus_claimed(m->mmio, 0xfe000000));
	assert_int_equal(cfg_rd(e, 0x10, 4), 1);
	assert_int_equal(cfg_rd(e, PCI_COMMAND, 2), 0);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(e->router.level[2], 0);
	assert_false(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

/* Every offset and size with arbitrary values, including COMMAND and BAR
 * patterns, must leave the core consistent. */
static void test_hostile_config_cycles(void **state)
{
	struct env *e = *state;
	assert_int_equal(pci_msi_init(e->fn.pci, 0x60, 32, true), 0);
	uint32_t seed = 12345;
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned off = 0; off < 260; off++) {
			for (unsigned size = 0; size <= 8; size++) {
				seed = seed * 1103515245 + 12345;
				uint32_t v = round == 1 ? 0xffffffff : round == 2 ? 0 : seed;
				cfg_wr(e, off, size, v);
				(void)cfg_rd(e, off, size);
				pci_msi_notify(e->fn.pci, seed & 31);
				pci_set_irq(e->fn.pci, seed & 1);
			}
		}
	}
	/* Identity survived. */
	assert_int_equal(cfg_rd(e, 0, 4), 0x56781234);
	pci_dev_reset(e->fn.pci);
	assert_int_equal(cfg_rd(e, PCI_COMMAND, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_read_only_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_functions_read_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multifunction_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptions_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_64bit_bar_sizes_above_4g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_enable_and_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_clash_stays_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion_rom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_list_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_rotation_and_sharing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_unmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_config_cycles, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
