/*
 * Unit tests for the PC chipset functions through their ports, as a guest
 * sees them: configuration mechanism #1 and the reset register (i440FX),
 * PAM/SMRAM, PIRQ routing with shared lines (PIIX3), and the PIIX4 PM
 * function — PM block decoding, the 3.579545 MHz timer with a deterministic
 * clock, TMR_STS, SCI, the power button, ACPI enable through SMI_CMD, S5,
 * GPE0 — plus every offset and size of every handler with hostile values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "iobus.h"
#include "pci/i440fx.h"
#include "pci/pci.h"
#include "pci/piix3.h"
#include "pci/piix4_pm.h"
#include "vclock.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define ENABLE 0x80000000u
#define PM_BASE 0xb000

struct env {
	struct machine *m;
	void *host, *isa, *pm;
	struct pci_bus *bus;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->m = fake_machine_create();
	struct machine *m = e->m;
	e->host = i440fx_desc.create(m, NULL);
	assert_non_null(e->host);
	e->bus = i440fx_bus(e->host);
	struct piix3_params ip = { e->bus, PCI_DEVFN(1, 0) };
	e->isa = piix3_desc.create(m, &ip);
	struct piix4_pm_params pp = { e->bus, PCI_DEVFN(1, 3), 9, true, false, false };
	e->pm = piix4_pm_desc.create(m, &pp);
	assert_non_null(e->isa);
	assert_non_null(e->pm);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	piix4_pm_desc.destroy(e->pm);
	piix3_desc.destroy(e->isa);
	i440fx_desc.destroy(e->host);
	fake_machine_destroy(e->m);
	free(e);
	return 0;
}

static struct iobus *pio(struct env *e)
{
	return e->m->pio;
}

static uint32_t cfg_read(struct env *e, unsigned devfn, unsigned off, unsigned size)
{
	iobus_write(pio(e), CF8, 4, ENABLE | devfn << 8 | (off & 0xfc));
	return (uint32_t)iobus_read(pio(e), CFC + (off & 3), size);
}

static void cfg_write(struct env *e, unsigned devfn, unsigned off, unsigned size, uint32_t v)
{
	iobus_write(pio(e), CF8, 4, ENABLE | devfn << 8 | (off & 0xfc));
	iobus_write(pio(e), CFC + (off & 3), size, v);
}

#define ISA PCI_DEVFN(1, 0)
#define PM PCI_DEVFN(1, 3)

static void test_config_mechanism_1(void **state)
{
	struct env *e = *state;
	/* SeaBIOS's probe: write 0x80000000, read it back. */
	iobus_write(pio(e), CF8, 4, 0x80000000);
	assert_int_equal(iobus_read(pio(e), CF8, 4), 0x80000000);
	/* Reserved bits and bits 1:0 read as zero. */
	iobus_write(pio(e), CF8, 4, 0xffffffff);
	assert_int_equal(iobus_read(pio(e), CF8, 4), 0x80fffffc);
	/* Byte and word I/O to 0xcf8-0xcfb is not CONFIG_ADDRESS. */
	iobus_write(pio(e), CF8, 4, 0x80000000);
	iobus_write(pio(e), CF8 + 3, 1, 0x01);
	iobus_write(pio(e), CF8 + 2, 2, 0x1234);
	assert_int_equal(iobus_read(pio(e), CF8, 4), 0x80000000);
	assert_int_equal(iobus_read(pio(e), CF8, 1), 0xff);
	assert_int_equal(iobus_read(pio(e), CF8 + 2, 2), 0xffff);
	/* Host bridge identity through CFC, in every width. */
	assert_int_equal(cfg_read(e, 0, 0, 4), 0x12378086);
	assert_int_equal(cfg_read(e, 0, 0, 2), 0x8086);
	assert_int_equal(cfg_read(e, 0, 2, 2), 0x1237);
	assert_int_equal(cfg_read(e, 0, 3, 1), 0x12);
	assert_int_equal(cfg_read(e, 0, 0x2c, 4), 0x11001af4);
	assert_int_equal(cfg_read(e, 0, 0x0b, 1), 0x06);       /* bridge class */
	assert_int_equal(cfg_read(e, ISA, 0, 4), 0x70008086);
	assert_int_equal(cfg_read(e, ISA, 0x0e, 1), 0x80);     /* multi-function */
	assert_int_equal(cfg_read(e, PM, 0, 4), 0x71138086);
	assert_int_equal(cfg_read(e, PM, 0x08, 4), 0x06800003);
	/* Absent functions, other buses and a cleared enable bit: all ones. */
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 1), 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(e, PCI_DEVFN(31, 7), 0, 2), 0xffff);
	iobus_write(pio(e), CF8, 4, ENABLE | 1u << 16);
	assert_int_equal(iobus_read(pio(e), CFC, 4), 0xffffffff);
	iobus_write(pio(e), CF8, 4, 0);
	assert_int_equal(iobus_read(pio(e), CFC, 4), 0xffffffff);
	iobus_write(pio(e), CFC, 4, 0);
	assert_int_equal(cfg_read(e, 0, 0, 4), 0x12378086);
}

static void test_reset_control_register(void **state)
{
	struct env *e = *state;
	fake_machine_take_requests(e->m);
	iobus_write(pio(e), 0xcf9, 1, 0x02);
	assert_int_equal(iobus_read(pio(e), 0xcf9, 1), 0x02);
	assert_int_equal(fake_machine_take_requests(e->m), 0);
	/* A dword write to 0xcf8 is the address, never a reset. */
	iobus_write(pio(e), CF8, 4, 0x80000600);
	assert_int_equal(fake_machine_take_requests(e->m), 0);
	iobus_write(pio(e), 0xcf9, 1, 0x06);
	assert_int_equal(fake_machine_take_requests(e->m), MACHINE_REQ_RESET);
	/* A word write covering 0xcf9 reaches it too. */
	iobus_write(pio(e), CF8, 2, 0x0400);
	assert_int_equal(fake_machine_take_requests(e->m), MACHINE_REQ_RESET);
	i440fx_desc.reset(e->host);
	assert_int_equal(iobus_read(pio(e), 0xcf9, 1), 0);
	assert_int_equal(iobus_read(pio(e), CF8, 4), 0);
}

static void test_pam_and_smram(void **state)
{
	struct env *e = *state;
	/* SeaBIOS's make_bios_writable, as dwords at 0x58 and 0x5c. */
	cfg_write(e, 0, 0x58, 4, 0x33333000);
	cfg_write(e, 0, 0x5c, 4, 0x33333333);
	assert_int_equal(cfg_read(e, 0, 0x58, 4), 0x33333000);
	assert_int_equal(cfg_read(e, 0, 0x5c, 4), 0x33333333);
	/* Reserved PAM bits stay zero; PAM0's low nibble is reserved. */
	cfg_write(e, 0, 0x59, 1, 0xff);
	cfg_write(e, 0, 0x5a, 1, 0xff);
	assert_int_equal(cfg_read(e, 0, 0x59, 1), 0x30);
	assert_int_equal(cfg_read(e, 0, 0x5a, 1), 0x33);
	/* SMRAM: C_BASE_SEG is fixed, D_LCK freezes everything but D_CLS. */
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x02);
	cfg_write(e, 0, 0x72, 1, 0x4f);
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x4a);
	cfg_write(e, 0, 0x72, 1, 0x5a);         /* lock while open: D_OPEN drops */
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x1a);
	cfg_write(e, 0, 0x72, 1, 0x42);
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x1a);
	cfg_write(e, 0, 0x72, 1, 0x20);
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x3a);
	/* Reset: PAM closed, SMRAM unlocked. */
	i440fx_desc.reset(e->host);
	assert_int_equal(cfg_read(e, 0, 0x58, 4), 0);
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x02);
	cfg_write(e, 0, 0x72, 1, 0x08);
	assert_int_equal(cfg_read(e, 0, 0x72, 1), 0x0a);
}

/* A function with INTA# at slot s, to drive PIRQs. */
static struct pci_dev *add_fn(struct env *e, unsigned slot, unsigned pin)
{
	struct pci_dev_params p = { .name = "fn", .devfn = PCI_DEVFN(slot, 0), .int_pin = (uint8_t)pin };
	return pci_register(e->bus, &p);
}

static void test_pirq_routing_and_sharing(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	struct pci_dev *a = add_fn(e, 2, 1);    /* PIRQB */
	struct pci_dev *b = add_fn(e, 3, 1);    /* PIRQC */
	/* Power-on: every PIRQ disabled (0x80). */
	assert_int_equal(cfg_read(e, ISA, 0x60, 4), 0x80808080);
	pci_set_irq(a, true);
	for (unsigned g = 0; g < IRQ_MAX_GSI; g++)
		assert_int_equal(fake_machine_irq_level(m, g), 0);
	/* SeaBIOS's routing: A, B -> 10; C, D -> 11. Routing an asserted PIRQ
	 * raises its IRQ at once. */
	cfg_write(e, ISA, 0x60, 4, 0x0b0b0a0a);
	assert_int_equal(fake_machine_irq_level(m, 10), 1);
	assert_int_equal(fake_machine_irq_level(m, 11), 0);
	/* Both PIRQs on IRQ 11: a shared, OR'ed line. */
	cfg_write(e, ISA, 0x61, 1, 11);
	assert_int_equal(fake_machine_irq_level(m, 10), 0);
	assert_int_equal(fake_machine_irq_level(m, 11), 1);
	pci_set_irq(b, true);
	pci_set_irq(a, false);
	assert_int_equal(fake_machine_irq_level(m, 11), 1);
	pci_set_irq(b, false);
	assert_int_equal(fake_machine_irq_level(m, 11), 0);
	/* Bit 7 disconnects; reserved IRQs (0-2, 8, 13) are never driven. */
	pci_set_irq(a, true);
	assert_int_equal(fake_machine_irq_level(m, 11), 1);
	cfg_write(e, ISA, 0x61, 1, 0x8b);
	assert_int_equal(fake_machine_irq_level(m, 11), 0);
	cfg_write(e, ISA, 0x61, 1, 0x02);
	assert_int_equal(fake_machine_irq_level(m, 2), 0);
	cfg_write(e, ISA, 0x61, 1, 0x08);
	assert_int_equal(fake_machine_irq_level(m, 8), 0);
	/* Reserved bits 6:4 are not writable. */
	cfg_write(e, ISA, 0x61, 1, 0x7a);
	assert_int_equal(cfg_read(e, ISA, 0x61, 1), 0x0a);
	assert_int_equal(fake_machine_irq_level(m, 10), 1);
	/* An ISA device on IRQ 10 shares with the PIRQ. */
	struct irq_line isa;
	irq_line_init(&isa, m, 10);
	irq_line_set(&isa, true);
	pci_set_irq(a, false);
	assert_int_equal(fake_machine_irq_level(m, 10), 1);
	irq_line_set(&isa, false);
	assert_int_equal(fake_machine_irq_level(m, 10), 0);
	/* Reset disconnects everything. */
	pci_set_irq(a, true);
	piix3_desc.reset(e->isa);
	assert_int_equal(fake_machine_irq_level(m, 10), 0);
	assert_int_equal(cfg_read(e, ISA, 0x60, 4), 0x80808080);
	pci_unregister(a);
	pci_unregister(b);
}

/* ---- PIIX4 PM ---------------------------------------------------------- */

static void pm_enable(struct env *e, unsigned base)
{
	cfg_write(e, PM, 0x40, 4, base | 1);
	cfg_write(e, PM, 0x80, 1, 1);
}

static uint32_t pm_tmr(struct env *e)
{
	return (uint32_t)iobus_read(pio(e), PM_BASE + 8, 4);
}

static void test_pm_config_defaults(void **state)
{
	struct env *e = *state;
	assert_int_equal(cfg_read(e, PM, 0x40, 4), 1);         /* I/O space bit */
	assert_int_equal(cfg_read(e, PM, 0x5b, 1), 0x02);      /* APMC_EN: no SMM */
	assert_int_equal(cfg_read(e, PM, 0x67, 1), 0x08);      /* COM1 only */
	assert_int_equal(cfg_read(e, PM, 0x5f, 1), 0x00);      /* no LPT */
	assert_int_equal(cfg_read(e, PM, 0x3d, 1), 1);         /* INTA# */
	assert_int_equal(cfg_read(e, PM, 0x90, 4), 1);
	/* PMBA keeps only bits 15:6; SMBBA bits 15:4. */
	cfg_write(e, PM, 0x40, 4, 0xffffffff);
	assert_int_equal(cfg_read(e, PM, 0x40, 4), 0xffc1);
	cfg_write(e, PM, 0x90, 4, 0xffffffff);
	assert_int_equal(cfg_read(e, PM, 0x90, 4), 0xfff1);
	cfg_write(e, PM, 0xd2, 1, 0xff);
	assert_int_equal(cfg_read(e, PM, 0xd2, 1), 0x0f);
}

static void test_pm_block_decoding(void **state)
{
	struct env *e = *state;
	struct iobus *bus = pio(e);
	cfg_write(e, PM, 0x40, 4, PM_BASE | 1);
	assert_false(iobus_claimed(bus, PM_BASE));              /* PMIOSE off */
	cfg_write(e, PM, 0x80, 1, 1);
	assert_true(iobus_claimed(bus, PM_BASE));
	assert_true(iobus_claimed(bus, PM_BASE + 63));
	assert_false(iobus_claimed(bus, PM_BASE + 64));
	/* Wherever the BIOS puts it (0x600 when it has a table loader). */
	cfg_write(e, PM, 0x40, 4, 0x601);
	assert_false(iobus_claimed(bus, PM_BASE));
	assert_true(iobus_claimed(bus, 0x600));
	/* On top of another device: it stays off, nothing breaks. */
	assert_true(iobus_claimed(bus, 0xcf8));
	cfg_write(e, PM, 0x40, 4, 0xcc1);
	assert_false(iobus_claimed(bus, 0x600));
	assert_int_equal(cfg_read(e, 0, 0, 4), 0x12378086);
	cfg_write(e, PM, 0x40, 4, PM_BASE | 1);
	assert_true(iobus_claimed(bus, PM_BASE));
	cfg_write(e, PM, 0x80, 1, 0);
	assert_false(iobus_claimed(bus, PM_BASE));
	/* Fixed blocks: GPE0, APM, PCI hotplug (reads 0: nothing ejectable). */
	assert_true(iobus_claimed(bus, 0xafe0));
	assert_true(iobus_claimed(bus, 0xb2));
	assert_int_equal(iobus_read(bus, 0xae0c, 4), 0);
	/* Reset turns the block off again. */
	pm_enable(e, PM_BASE);
	piix4_pm_desc.reset(e->pm);
	assert_false(iobus_claimed(bus, PM_BASE));
}

/* Move guest time forward to ns since power-on. */
static void set_time(struct env *e, int64_t ns)
{
	int64_t now = fake_machine_now(e->m);
	assert_true(ns >= now);
	fake_machine_advance(e->m, ns - now);
}

/* Guest time (ns) at which the PM timer has counted ticks. */
static int64_t ticks_to_ns(uint64_t ticks)
{
	return (int64_t)(ticks / 3579545 * 1000000000ULL +
			 (ticks % 3579545 * 1000000000ULL + 3579544) / 3579545);
}

static void test_pm_timer_rate_and_wrap(void **state)
{
	struct env *e = *state;
	pm_enable(e, PM_BASE);
	assert_int_equal(pm_tmr(e), 0);
	set_time(e, 1000);                      /* 1 us = 3.58 ticks */
	assert_int_equal(pm_tmr(e), 3);
	set_time(e, NS_PER_SEC);                /* one second: 3579545 ticks */
	assert_int_equal(pm_tmr(e), 3579545);
	/* Byte and word reads see the same counter; it is read-only. */
	assert_int_equal(iobus_read(pio(e), PM_BASE + 8, 1), 3579545 & 0xff);
	assert_int_equal(iobus_read(pio(e), PM_BASE + 10, 2), 3579545 >> 16);
	iobus_write(pio(e), PM_BASE + 8, 4, 0);
	assert_int_equal(pm_tmr(e), 3579545);
	/* 24 bits: 10 s = 35795450 ticks, wrapped. */
	set_time(e, 10 * NS_PER_SEC);
	assert_int_equal(pm_tmr(e), 35795450 & 0xffffff);
	/* After days of uptime the value is still exact. */
	set_time(e, 86400LL * 3 * NS_PER_SEC + 500000000);
	uint64_t ticks = 86400ULL * 3 * 3579545 + 3579545 / 2;
	assert_int_equal(pm_tmr(e), ticks & 0xffffff);
	/* Monotonic between wraps, at the right rate: step across the next
	 * wrap in 7 us steps (25.06 ticks each). */
	uint64_t wrap = ((ticks >> 24) + 1) << 24;
	set_time(e, ticks_to_ns(wrap) - 2000000);
	uint32_t prev = pm_tmr(e), wraps = 0;
	for (int i = 0; i < 1000; i++) {
		fake_machine_advance(e->m, 7000);
		uint32_t v = pm_tmr(e);
		assert_true(v <= 0xffffff);
		if (v < prev)
			wraps++;
		else
			assert_in_range(v - prev, 25, 26);
		prev = v;
	}
	assert_int_equal(wraps, 1);
}

static uint16_t pm1_sts(struct env *e)
{
	return (uint16_t)iobus_read(pio(e), PM_BASE, 2);
}

static void test_pm_timer_status_and_sci(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	pm_enable(e, PM_BASE);
	assert_int_equal(pm1_sts(e) & 1, 0);
	/* Bit 23 toggles every 2^23 ticks (2.34 s). */
	set_time(e, 2 * NS_PER_SEC);
	assert_int_equal(pm1_sts(e) & 1, 0);
	set_time(e, 2400 * 1000 * 1000LL);
	assert_int_equal(pm1_sts(e) & 1, 1);
	iobus_write(pio(e), PM_BASE, 2, 1);     /* write one to clear */
	assert_int_equal(pm1_sts(e) & 1, 0);
	/* TMR_EN without ACPI enabled raises nothing. */
	iobus_write(pio(e), PM_BASE + 2, 2, 1);
	fake_machine_advance(m, 3 * NS_PER_SEC);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	iobus_write(pio(e), PM_BASE, 2, 1);
	/* ACPI enabled: the timer event raises the SCI at the next toggle. */
	iobus_write(pio(e), 0xb2, 1, 0xf1);
	assert_int_equal(iobus_read(pio(e), PM_BASE + 4, 2) & 1, 1);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	int64_t next_toggle = ticks_to_ns(3ULL << 23);
	set_time(e, next_toggle - 1000);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	set_time(e, next_toggle + 1000);
	assert_int_equal(fake_machine_irq_level(m, 9), 1);
	/* Level-triggered: it stays up until the status is cleared. */
	fake_machine_advance(m, 1000);
	assert_int_equal(fake_machine_irq_level(m, 9), 1);
	iobus_write(pio(e), PM_BASE, 2, 1);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	/* Disabling the event stops the wake-ups. */
	iobus_write(pio(e), PM_BASE + 2, 2, 0);
	assert_false(fake_machine_timer_armed(m));
}

static void test_power_button_and_acpi_enable(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	pm_enable(e, PM_BASE);
	/* Nobody listening: legacy mode, or the event not enabled. */
	assert_false(piix4_pm_power_button(e->pm));
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	assert_true(pm1_sts(e) & 0x100);
	iobus_write(pio(e), PM_BASE, 2, 0x100);
	iobus_write(pio(e), 0xb2, 1, 0xf1);     /* ACPI_ENABLE via SMI_CMD */
	assert_int_equal(iobus_read(pio(e), 0xb2, 1), 0xf1);
	assert_false(piix4_pm_power_button(e->pm));
	iobus_write(pio(e), PM_BASE, 2, 0x100);
	iobus_write(pio(e), PM_BASE + 2, 2, 0x100);     /* PWRBTN_EN */
	assert_true(piix4_pm_power_button(e->pm));
	assert_int_equal(fake_machine_irq_level(m, 9), 1);
	assert_int_equal(fake_machine_irq_edges(m, 9), 1);
	iobus_write(pio(e), PM_BASE, 2, 0x100);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	/* ACPI_DISABLE hands events back to "SMM": no SCI. */
	iobus_write(pio(e), 0xb2, 1, 0xf0);
	assert_int_equal(iobus_read(pio(e), PM_BASE + 4, 2) & 1, 0);
	assert_false(piix4_pm_power_button(e->pm));
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
	/* Other commands only store the byte; APMS is a scratch register. */
	iobus_write(pio(e), 0xb2, 1, 0x00);
	iobus_write(pio(e), 0xb3, 1, 0x5a);
	assert_int_equal(iobus_read(pio(e), 0xb3, 1), 0x5a);
	assert_int_equal(iobus_read(pio(e), PM_BASE + 4, 2) & 1, 0);
}

static void test_sleep_states(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	pm_enable(e, PM_BASE);
	fake_machine_take_requests(m);
	/* SLP_TYP alone does nothing. */
	iobus_write(pio(e), PM_BASE + 4, 2, 0x0001);
	assert_int_equal(fake_machine_take_requests(m), 0);
	/* S3 is refused: WAK_STS so the OS returns, no power-off. */
	iobus_write(pio(e), PM_BASE + 4, 2, 0x2000 | 1 << 10 | 1);
	assert_int_equal(fake_machine_take_requests(m), 0);
	assert_true(pm1_sts(e) & 0x8000);
	assert_int_equal(iobus_read(pio(e), PM_BASE + 4, 2), 1 << 10 | 1); /* SLP_EN reads 0 */
	/* S4 powers off (the OS saved its image). */
	iobus_write(pio(e), PM_BASE + 4, 2, 0x2000 | PIIX4_PM_SLP_TYP_S4 << 10 | 1);
	assert_int_equal(fake_machine_take_requests(m), MACHINE_REQ_POWEROFF);
	/* S5 soft off, the way Linux writes it (type first, then type | enable),
	 * also as a byte write to the high half. */
	iobus_write(pio(e), PM_BASE + 4, 2, 1);
	iobus_write(pio(e), PM_BASE + 5, 1, 0x20);
	assert_int_equal(fake_machine_take_requests(m), MACHINE_REQ_POWEROFF);
}

static void test_gpe0_block(void **state)
{
	struct env *e = *state;
	struct iobus *bus = pio(e);
	/* Status bits are set by hardware only; enables are plain registers. */
	iobus_write(bus, 0xafe0, 2, 0xffff);
	assert_int_equal(iobus_read(bus, 0xafe0, 2), 0);
	iobus_write(bus, 0xafe2, 2, 0x0006);
	assert_int_equal(iobus_read(bus, 0xafe0, 4), 0x00060000);
	assert_int_equal(iobus_read(bus, 0xafe3, 1), 0);
	piix4_pm_desc.reset(e->pm);
	assert_int_equal(iobus_read(bus, 0xafe0, 4), 0);
}

/* Every handler, every offset, every size, arbitrary values. Resets and
 * power-offs may be requested; nothing may crash or escape its region. */
static void test_hostile_ports(void **state)
{
	struct env *e = *state;
	struct machine *m = e->m;
	struct iobus *bus = pio(e);
	static const struct { uint16_t base, len; } ranges[] = {
		{ 0xcf8, 8 }, { PM_BASE, 64 }, { 0xafe0, 4 }, { 0xb2, 2 }, { 0xae00, 16 },
	};
	uint32_t seed = 99;
	for (unsigned round = 0; round < 3; round++) {
		for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
			for (unsigned off = 0; off < ranges[r].len + 3u; off++) {
				for (unsigned size = 1; size <= 4; size *= 2) {
					seed = seed * 1103515245 + 12345;
					uint32_t v = round == 0 ? seed : round == 1 ? 0xffffffff : 0;
					/* Keep the PM block decoded so it is exercised. */
					pm_enable(e, PM_BASE);
					iobus_write(bus, (uint16_t)(ranges[r].base + off), size, v);
					(void)iobus_read(bus, (uint16_t)(ranges[r].base + off), size);
				}
			}
		}
		/* Hostile configuration cycles to every function. */
		for (unsigned devfn = 0; devfn < 16; devfn++)
			for (unsigned off = 0; off < 256; off++) {
				seed = seed * 1103515245 + 12345;
				cfg_write(e, devfn, off, 1 << (seed % 3), seed);
				(void)cfg_read(e, devfn, off, 1 << (seed % 3));
			}
		fake_machine_advance(m, 10 * NS_PER_SEC);
		(void)piix4_pm_power_button(e->pm);
	}
	fake_machine_take_requests(m);
	/* The chipset still answers. */
	piix4_pm_desc.reset(e->pm);
	piix3_desc.reset(e->isa);
	i440fx_desc.reset(e->host);
	assert_int_equal(cfg_read(e, 0, 0, 4), 0x12378086);
	assert_int_equal(cfg_read(e, PM, 0x5b, 1), 0x02);
	assert_int_equal(fake_machine_irq_level(m, 9), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_mechanism_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_control_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pam_and_smram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pirq_routing_and_sharing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_config_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_block_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer_rate_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer_status_and_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button_and_acpi_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpe0_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_ports, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
