/*
 * Unit tests for the I/O APIC and the APIC bus routing: the register window,
 * redirection entries, edge and level pins with Remote IRR, masking, delivery
 * modes and destinations, the ISA IRQ0 -> pin 2 override and the cascade,
 * the 8259's INTR on pin 0, and MSI decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apic/apicbus.h"
#include "apic/ioapic.h"
#include "apic/lapic.h"
#include "fake_irqmachine.h"
#include "machine.h"

#define SEL 0xfec00000ULL
#define WIN 0xfec00010ULL

static int setup(void **state)
{
	struct fim *f = fim_create(2);
	fim_add_pc(f, false);
	lapic_mmio_write(fim_lapic(f, 0), 0xf0, 0x1ff);
	lapic_mmio_write(fim_lapic(f, 1), 0xf0, 0x1ff);
	/* Keep the 8259 (which sees ISA IRQs too) out of the way. */
	fim_outb(f, 0x21, 0xff);
	fim_outb(f, 0xa1, 0xff);
	*state = f;
	return 0;
}

static uint32_t reg_read(struct fim *f, uint8_t reg)
{
	fim_write(f, SEL, 4, reg);
	return (uint32_t)fim_read(f, WIN, 4);
}

static void reg_write(struct fim *f, uint8_t reg, uint32_t v)
{
	fim_write(f, SEL, 4, reg);
	fim_write(f, WIN, 4, v);
}

static void rte(struct fim *f, unsigned pin, uint64_t e)
{
	reg_write(f, (uint8_t)(0x10 + 2 * pin), (uint32_t)e);
	reg_write(f, (uint8_t)(0x11 + 2 * pin), (uint32_t)(e >> 32));
}

static uint64_t rte_read(struct fim *f, unsigned pin)
{
	uint64_t lo = reg_read(f, (uint8_t)(0x10 + 2 * pin));
	return lo | (uint64_t)reg_read(f, (uint8_t)(0x11 + 2 * pin)) << 32;
}

static bool irr_has(struct lapic *l, unsigned v)
{
	return lapic_mmio_read(l, 0x200 + (v >> 5) * 0x10) & (1u << (v & 31));
}

static void eoi(struct lapic *l, unsigned vector)
{
	assert_int_equal(lapic_ack_interrupt(l), (int)vector);
	lapic_mmio_write(l, 0xb0, 0);
}

static void test_registers(void **state)
{
	struct fim *f = *state;
	assert_int_equal(reg_read(f, 0x01), 0x00170011);
	assert_int_equal(reg_read(f, 0x00), 0);
	reg_write(f, 0x00, 0x0f000000);
	assert_int_equal(reg_read(f, 0x00), 0x0f000000);
	assert_int_equal(reg_read(f, 0x02), 0x0f000000);
	reg_write(f, 0x01, 0);                          /* read-only */
	assert_int_equal(reg_read(f, 0x01), 0x00170011);
	for (unsigned pin = 0; pin < 24; pin++)
		assert_int_equal(rte_read(f, pin), 0x10000);   /* masked at reset */
	/* Delivery status and Remote IRR cannot be written. */
	rte(f, 5, 0xff000000000171ffULL | (1u << 12) | (1u << 14));
	assert_int_equal(rte_read(f, 5), 0xff000000000121ffULL);
	assert_int_equal(rte_read(f, 5) & (1u << 12), 0);
	/* IOREGSEL reads back; byte reads of IOWIN see its bytes. */
	fim_write(f, SEL, 4, 0x01);
	assert_int_equal(fim_read(f, SEL, 4), 0x01);
	assert_int_equal(fim_read(f, WIN + 2, 1), 0x17);
	/* Registers beyond the table read as zero. */
	assert_int_equal(reg_read(f, 0x40), 0);
	assert_int_equal(reg_read(f, 0xff), 0);
}

static void test_edge_pins(void **state)
{
	struct fim *f = *state;
	struct lapic *l0 = fim_lapic(f, 0), *l1 = fim_lapic(f, 1);
	rte(f, 4, 0x0100000000000031ULL);               /* vector 0x31 to APIC 1 */
	fim_irq(f, 4, 1);
	assert_true(irr_has(l1, 0x31));
	assert_false(irr_has(l0, 0x31));
	eoi(l1, 0x31);
	fim_irq(f, 4, 1);                               /* no edge: nothing */
	assert_false(irr_has(l1, 0x31));
	fim_irq(f, 4, 0);
	/* An edge on a masked pin is lost, and unmasking does not bring it back. */
	rte(f, 4, 0x0100000000010031ULL);
	fim_irq(f, 4, 1);
	fim_irq(f, 4, 0);
	rte(f, 4, 0x0100000000000031ULL);
	assert_false(irr_has(l1, 0x31));
	/* Edge pins have no Remote IRR and set no TMR bit. */
	fim_irq(f, 4, 1);
	assert_int_equal(rte_read(f, 4) & (1u << 14), 0);
	assert_int_equal(lapic_mmio_read(l1, 0x180 + 0x10) & (1u << 17), 0);
}

static void test_level_pins_and_polarity(void **state)
{
	struct fim *f = *state;
	struct lapic *l0 = fim_lapic(f, 0);
	/* Active low, as the MP table declares PCI pins; lines carry the
	 * asserted state, so 1 still means "interrupt". */
	rte(f, 19, 0xa0a2);
	assert_true(rte_read(f, 19) & (1u << 13));
	fim_irq(f, 19, 1);
	assert_true(irr_has(l0, 0xa2));
	assert_true(rte_read(f, 19) & (1u << 14));
	eoi(l0, 0xa2);
	assert_true(irr_has(l0, 0xa2));                 /* still asserted: again */
	fim_irq(f, 19, 0);
	eoi(l0, 0xa2);
	assert_false(rte_read(f, 19) & (1u << 14));
	/* Masked while asserted: unmasking sends it. */
	rte(f, 19, 0x1a0a2);
	fim_irq(f, 19, 1);
	assert_false(irr_has(l0, 0xa2));
	rte(f, 19, 0xa0a2);
	assert_true(irr_has(l0, 0xa2));
	eoi(l0, 0xa2);
	/* Switching to edge clears Remote IRR. */
	rte(f, 19, 0x1a0a2);
	rte(f, 19, 0x20a2);
	assert_false(rte_read(f, 19) & (1u << 14));
	fim_irq(f, 19, 0);
	/* Level pin with no APIC that accepts it: Remote IRR stays clear. */
	rte(f, 18, 0x0700000000008055ULL);              /* APIC 7 does not exist */
	fim_irq(f, 18, 1);
	assert_false(rte_read(f, 18) & (1u << 14));
}

static void test_isa_routing(void **state)
{
	struct fim *f = *state;
	struct lapic *l0 = fim_lapic(f, 0);
	/* ISA IRQ0 is pin 2; pin 0 is the 8259's INTR. */
	rte(f, 2, 0x30);
	rte(f, 0, 0x3f);
	fim_outb(f, 0x21, 0xff);                        /* 8259 fully masked */
	fim_irq(f, 0, 1);
	fim_irq(f, 0, 0);
	assert_true(irr_has(l0, 0x30));
	assert_false(irr_has(l0, 0x3f));
	/* GSI 2 is the cascade: routed nowhere. */
	rte(f, 2, 0x32);
	fim_irq(f, 2, 1);
	fim_irq(f, 2, 0);
	assert_false(irr_has(l0, 0x32));
	/* The 8259's INTR rising reaches pin 0 (virtual wire, mode B). */
	fim_pic_init(f, 0x01);
	lapic_mmio_write(l0, 0x350, 0x10000);           /* LINT0 masked */
	fim_irq(f, 6, 1);
	assert_true(irr_has(l0, 0x3f));
	fim_irq(f, 6, 0);
}

static void test_delivery_modes(void **state)
{
	struct fim *f = *state;
	struct lapic *l0 = fim_lapic(f, 0), *l1 = fim_lapic(f, 1);
	/* Logical flat destination. */
	lapic_mmio_write(l0, 0xd0, 0x01000000);
	lapic_mmio_write(l1, 0xd0, 0x02000000);
	rte(f, 9, 0x0300000000000840ULL);
	fim_irq(f, 9, 1);
	assert_true(irr_has(l0, 0x40));
	assert_true(irr_has(l1, 0x40));
	fim_irq(f, 9, 0);
	/* Lowest priority picks the less busy APIC. */
	lapic_mmio_write(l0, 0x80, 0xf0);
	rte(f, 10, 0x0300000000000941ULL);
	fim_irq(f, 10, 1);
	assert_true(irr_has(l1, 0x41));
	assert_false(irr_has(l0, 0x41));
	fim_irq(f, 10, 0);
	lapic_mmio_write(l0, 0x80, 0);
	eoi(l0, 0x40);
	eoi(l1, 0x41);
	eoi(l1, 0x40);
	/* NMI and INIT ignore the vector. */
	rte(f, 11, 0x0100000000000400ULL);
	fim_irq(f, 11, 1);
	assert_true(lapic_take_nmi(l1));
	fim_irq(f, 11, 0);
	rte(f, 12, 0x0100000000000500ULL);
	fim_irq(f, 12, 1);
	assert_true(lapic_events(l1) & LAPIC_EV_INIT);
	assert_true(lapic_take_init(l1));
	fim_irq(f, 12, 0);
	/* ExtINT asks the target for an INTA cycle on the 8259. */
	fim_outb(f, 0x20, 0x11);
	fim_outb(f, 0x21, 0x20);
	fim_outb(f, 0x21, 0x04);
	fim_outb(f, 0x21, 0x01);
	lapic_mmio_write(l0, 0x80, 0);
	lapic_mmio_write(l0, 0x350, 0x10000);
	rte(f, 13, 0x0000000000000700ULL);
	fim_irq(f, 5, 1);
	fim_irq(f, 13, 1);
	assert_true(lapic_events(l0) & LAPIC_EV_INTR);
	assert_int_equal(lapic_ack_interrupt(l0), 0x25);
	/* SIPI through an I/O APIC pin is reserved and dropped. */
	rte(f, 14, 0x0100000000000610ULL);
	fim_irq(f, 14, 1);
	assert_int_equal(lapic_take_sipi(l1), -1);
}

static void test_msi(void **state)
{
	struct fim *f = *state;
	struct lapic *l1 = fim_lapic(f, 1);
	struct apic_msg msg;
	assert_true(apic_msg_from_msi(&msg, 0xfee01008, 0xc1a5));
	assert_int_equal(msg.dest, 1);
	assert_false(msg.logical);
	assert_int_equal(msg.vector, 0xa5);
	assert_int_equal(msg.mode, APIC_DM_LOWEST);
	assert_true(msg.level);
	assert_true(msg.assert);
	assert_false(apic_msg_from_msi(&msg, 0xfed00000, 0x30));
	fim_msi(f, 0xfee01000, 0x0033);
	assert_true(irr_has(l1, 0x33));
	fim_msi(f, 0xfec01000, 0x0034);                 /* outside the window: dropped */
	assert_false(irr_has(l1, 0x34));
	fim_msi(f, 0xfee01000, 0x0734);                 /* ExtINT by MSI: dropped */
	assert_false(lapic_events(fim_lapic(f, 0)) & LAPIC_EV_INTR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_edge_pins, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_level_pins_and_polarity, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_isa_routing, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_delivery_modes, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, fim_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
