/*
 * Unit tests for the local APIC: reset state, TPR/PPR masking, acknowledge
 * and EOI, the timer in one-shot, periodic and TSC-deadline mode, IPIs in
 * every destination mode and shorthand, lowest priority, NMI/INIT/SIPI,
 * virtual wire through LINT0, x2APIC MSRs and the IA32_APIC_BASE rules,
 * ESR, and EOI broadcast to the I/O APIC.
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
#include "vclock.h"

#define ID 0x020
#define VER 0x030
#define TPR 0x080
#define APR 0x090
#define PPR 0x0a0
#define EOI 0x0b0
#define LDR 0x0d0
#define DFR 0x0e0
#define SVR 0x0f0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR 0x300
#define ICR2 0x310
#define LVT_TIMER 0x320
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERROR 0x370
#define TMICT 0x380
#define TMCCT 0x390
#define TDCR 0x3e0

static int setup(void **state)
{
	struct fim *f = fim_create(2);
	fim_add_pc(f, false);
	*state = f;
	return 0;
}

static int setup4(void **state)
{
	struct fim *f = fim_create(4);
	fim_add_pc(f, false);
	*state = f;
	return 0;
}

static uint32_t rd(struct lapic *l, uint32_t reg)
{
	return lapic_mmio_read(l, reg);
}

static void wr(struct lapic *l, uint32_t reg, uint32_t v)
{
	lapic_mmio_write(l, reg, v);
}

static bool irr_has(struct lapic *l, unsigned v)
{
	return rd(l, IRR + (v >> 5) * 0x10) & (1u << (v & 31));
}

static void enable(struct lapic *l)
{
	wr(l, SVR, 0x1ff);
}

static void test_reset_state(void **state)
{
	struct fim *f = *state;
	struct lapic *bsp = fim_lapic(f, 0), *ap = fim_lapic(f, 1);
	uint64_t base;
	assert_int_equal(lapic_rdmsr(bsp, MSR_IA32_APIC_BASE, &base), 0);
	assert_int_equal(base, 0xfee00900);             /* enabled, BSP */
	assert_int_equal(lapic_rdmsr(ap, MSR_IA32_APIC_BASE, &base), 0);
	assert_int_equal(base, 0xfee00800);
	assert_int_equal(lapic_base(ap), 0xfee00000);
	assert_true(lapic_mmio_active(ap));
	assert_int_equal(rd(bsp, ID), 0);
	assert_int_equal(rd(ap, ID), 1u << 24);
	assert_int_equal(rd(bsp, VER), 0x00050014);
	assert_int_equal(rd(bsp, SVR), 0xff);
	assert_int_equal(rd(bsp, DFR), 0xffffffff);
	assert_int_equal(rd(bsp, LVT_LINT0), 0x700);    /* ExtINT, as KVM and QEMU */
	assert_int_equal(rd(ap, LVT_LINT0), 0x10000);
	for (uint32_t r = LVT_TIMER; r <= LVT_ERROR; r += 0x10)
		if (r != LVT_LINT0)
			assert_int_equal(rd(bsp, r), 0x10000);
	assert_int_equal(lapic_events(bsp), 0);
	/* Sub-dword reads see the bytes of the register. */
	assert_int_equal(lapic_mmio_read(bsp, VER + 2), 0x0005);
}

static void test_tpr_ppr_ack_eoi(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	wr(l, TPR, 0x50);
	wr(l, ICR, 0x40045);                            /* self, fixed, vector 0x45 */
	assert_true(irr_has(l, 0x45));
	assert_false(lapic_events(l) & LAPIC_EV_INTR);  /* class 4 <= TPR class 5 */
	assert_int_equal(lapic_ack_interrupt(l), -1);
	wr(l, ICR, 0x40065);
	assert_true(lapic_events(l) & LAPIC_EV_INTR);
	assert_int_equal(lapic_ack_interrupt(l), 0x65);
	assert_int_equal(rd(l, ISR + 0x30) & (1u << 5), 1u << 5);
	assert_int_equal(rd(l, PPR), 0x60);             /* ISR class above TPR */
	wr(l, ICR, 0x40066);                            /* same class: blocked */
	assert_false(lapic_events(l) & LAPIC_EV_INTR);
	wr(l, ICR, 0x40071);
	assert_true(lapic_events(l) & LAPIC_EV_INTR);
	assert_int_equal(lapic_ack_interrupt(l), 0x71); /* nests */
	wr(l, EOI, 0);                                  /* ends 0x71 */
	wr(l, EOI, 0);                                  /* ends 0x65 */
	assert_int_equal(rd(l, PPR), 0x50);
	assert_int_equal(lapic_ack_interrupt(l), 0x66);
	wr(l, EOI, 0);
	/* CR8 is TPR[7:4]. */
	lapic_set_cr8(l, 3);
	assert_int_equal(rd(l, TPR), 0x30);
	assert_int_equal(lapic_get_cr8(l), 3);
	assert_int_equal(lapic_ack_interrupt(l), 0x45);
	wr(l, EOI, 0);
	assert_int_equal(rd(l, APR), 0x30);
	assert_int_equal(lapic_events(l), 0);
}

static void test_timer_oneshot(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	wr(l, TDCR, 0x3);                               /* divide by 16 */
	wr(l, LVT_TIMER, 0x30);
	int64_t t0 = f->now;
	wr(l, TMICT, 1000);
	assert_int_equal(rd(l, TMCCT), 1000);
	fim_run_until(f, t0 + 8000);
	assert_int_equal(rd(l, TMCCT), 500);
	assert_false(irr_has(l, 0x30));
	fim_run_until(f, t0 + 15999);
	assert_false(irr_has(l, 0x30));
	unsigned kicks = f->kicks[0];
	fim_run_until(f, t0 + 16000);
	assert_true(irr_has(l, 0x30));
	assert_int_equal(f->kicks[0], kicks + 1);
	assert_int_equal(rd(l, TMCCT), 0);
	assert_int_equal(lapic_ack_interrupt(l), 0x30);
	wr(l, EOI, 0);
	fim_advance(f, NS_PER_SEC);
	assert_false(irr_has(l, 0x30));
	/* Divide change mid-count keeps the current count. */
	t0 = f->now;
	wr(l, TMICT, 1000);
	fim_run_until(f, t0 + 1600);                    /* 100 ticks of 16 ns */
	wr(l, TDCR, 0xb);                               /* divide by 1 */
	assert_int_equal(rd(l, TMCCT), 900);
	fim_run_until(f, t0 + 1600 + 899);
	assert_false(irr_has(l, 0x30));
	fim_run_until(f, t0 + 1600 + 900);
	assert_true(irr_has(l, 0x30));
	/* Masked: the count still runs but nothing is delivered or armed. */
	assert_int_equal(lapic_ack_interrupt(l), 0x30);
	wr(l, EOI, 0);
	wr(l, LVT_TIMER, 0x10030);
	wr(l, TMICT, 500);
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
	fim_advance(f, 250);
	assert_int_equal(rd(l, TMCCT), 250);
	fim_advance(f, 1000);
	assert_int_equal(rd(l, TMCCT), 0);
	wr(l, LVT_TIMER, 0x30);                         /* expired while masked: lost */
	fim_advance(f, 1000);
	assert_false(irr_has(l, 0x30));
}

static void test_timer_periodic(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	wr(l, TDCR, 0xb);
	wr(l, LVT_TIMER, 0x20040);                      /* periodic, vector 0x40 */
	int64_t t0 = f->now;
	wr(l, TMICT, 1000000);                          /* 1 ms */
	for (unsigned i = 1; i <= 10; i++) {
		fim_run_until(f, t0 + i * 1000000 - 1);
		assert_false(irr_has(l, 0x40));
		fim_run_until(f, t0 + i * 1000000);
		assert_true(irr_has(l, 0x40));
		assert_int_equal(lapic_ack_interrupt(l), 0x40);
		wr(l, EOI, 0);
	}
	fim_run_until(f, t0 + 10 * 1000000 + 250000);
	assert_int_equal(rd(l, TMCCT), 750000);
	/* A 1 ns period is delivered at most every 100 us, and reads exactly. */
	unsigned runs = f->timer_runs;
	wr(l, TMICT, 7);
	fim_advance(f, 10 * 1000 * 1000);
	assert_true(f->timer_runs - runs <= 101);
	assert_true(f->timer_runs - runs >= 99);
	assert_in_range(rd(l, TMCCT), 1, 7);
	/* Periodic to one-shot: the current count runs out, then it stops. */
	wr(l, TMICT, 1000);
	fim_advance(f, 1500);
	wr(l, LVT_TIMER, 0x40);
	assert_int_equal(rd(l, TMCCT), 500);
	fim_advance(f, 500);
	assert_int_equal(rd(l, TMCCT), 0);
	fim_advance(f, 5000);
	assert_int_equal(rd(l, TMCCT), 0);
	wr(l, TMICT, 0);                                /* zero stops the timer */
	assert_int_equal(fim_next_deadline(f), INT64_MAX);
}

static void test_timer_tsc_deadline(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	lapic_set_tsc_deadline(l, f->now + 100);        /* not in deadline mode: ignored */
	assert_false(lapic_tsc_deadline_armed(l));
	wr(l, LVT_TIMER, 0x40050);
	wr(l, TMICT, 1234);                             /* ignored in deadline mode */
	assert_int_equal(rd(l, TMICT), 0);
	int64_t t0 = f->now;
	lapic_set_tsc_deadline(l, t0 + 5000);
	assert_true(lapic_tsc_deadline_armed(l));
	fim_run_until(f, t0 + 4999);
	assert_false(irr_has(l, 0x50));
	fim_run_until(f, t0 + 5000);
	assert_true(irr_has(l, 0x50));
	assert_false(lapic_tsc_deadline_armed(l));
	assert_int_equal(lapic_ack_interrupt(l), 0x50);
	wr(l, EOI, 0);
	/* A deadline in the past fires at once; INT64_MAX disarms. */
	lapic_set_tsc_deadline(l, t0);
	assert_true(irr_has(l, 0x50));
	assert_int_equal(lapic_ack_interrupt(l), 0x50);
	wr(l, EOI, 0);
	lapic_set_tsc_deadline(l, f->now + 1000);
	lapic_set_tsc_deadline(l, INT64_MAX);
	assert_false(lapic_tsc_deadline_armed(l));
	fim_advance(f, 10000);
	assert_false(irr_has(l, 0x50));
	/* Leaving deadline mode disarms. */
	lapic_set_tsc_deadline(l, f->now + 1000);
	wr(l, LVT_TIMER, 0x50);
	assert_false(lapic_tsc_deadline_armed(l));
	wr(l, LVT_TIMER, 0x40050);
	fim_advance(f, 10000);
	assert_false(irr_has(l, 0x50));
	assert_false(lapic_tsc_deadline_armed(l));
}

static void test_ipi_physical_logical_shorthand(void **state)
{
	struct fim *f = *state;
	struct lapic *l[4];
	for (unsigned i = 0; i < 4; i++) {
		l[i] = fim_lapic(f, i);
		enable(l[i]);
	}
	/* Physical. */
	unsigned kicks = f->kicks[2];
	wr(l[0], ICR2, 2u << 24);
	wr(l[0], ICR, 0x00041);
	assert_true(irr_has(l[2], 0x41));
	assert_false(irr_has(l[1], 0x41));
	assert_false(irr_has(l[0], 0x41));
	assert_int_equal(f->kicks[2], kicks + 1);
	assert_int_equal(rd(l[0], ICR) & (1u << 12), 0); /* delivery status idle */
	/* Physical broadcast. */
	wr(l[0], ICR2, 0xffu << 24);
	wr(l[0], ICR, 0x00042);
	for (unsigned i = 0; i < 4; i++)
		assert_true(irr_has(l[i], 0x42));
	/* Logical flat: LDR bit i for CPU i. */
	for (unsigned i = 0; i < 4; i++)
		wr(l[i], LDR, (1u << i) << 24);
	wr(l[0], ICR2, 0x0au << 24);                    /* CPUs 1 and 3 */
	wr(l[0], ICR, 0x00843);
	assert_false(irr_has(l[0], 0x43));
	assert_true(irr_has(l[1], 0x43));
	assert_false(irr_has(l[2], 0x43));
	assert_true(irr_has(l[3], 0x43));
	/* Logical cluster: cluster 1 members 1 and 2. */
	for (unsigned i = 0; i < 4; i++) {
		wr(l[i], DFR, 0x0fffffff);
		wr(l[i], LDR, (i < 2 ? 0x10u : 0x20u) << 24 | (1u << (i & 1)) << 24);
	}
	wr(l[0], ICR2, 0x12u << 24);                    /* cluster 1, member bit 1 */
	wr(l[0], ICR, 0x00844);
	assert_false(irr_has(l[0], 0x44));
	assert_true(irr_has(l[1], 0x44));
	assert_false(irr_has(l[3], 0x44));
	wr(l[0], ICR2, 0xf1u << 24);                    /* all clusters, member bit 0 */
	wr(l[0], ICR, 0x00845);
	assert_true(irr_has(l[0], 0x45));
	assert_false(irr_has(l[1], 0x45));
	assert_true(irr_has(l[2], 0x45));
	/* Shorthands. */
	wr(l[1], ICR, 0x40046);                         /* self */
	assert_true(irr_has(l[1], 0x46));
	assert_false(irr_has(l[0], 0x46));
	wr(l[1], ICR, 0x80047);                         /* all including self */
	for (unsigned i = 0; i < 4; i++)
		assert_true(irr_has(l[i], 0x47));
	wr(l[1], ICR, 0xc0048);                         /* all excluding self */
	assert_false(irr_has(l[1], 0x48));
	assert_true(irr_has(l[0], 0x48));
	assert_true(irr_has(l[3], 0x48));
	/* A software-disabled APIC does not accept fixed interrupts. */
	wr(l[3], SVR, 0xff);
	wr(l[1], ICR, 0xc0049);
	assert_false(irr_has(l[3], 0x49));
	assert_true(irr_has(l[2], 0x49));
}

static void test_lowest_priority(void **state)
{
	struct fim *f = *state;
	struct lapic *l[4];
	for (unsigned i = 0; i < 4; i++) {
		l[i] = fim_lapic(f, i);
		enable(l[i]);
		wr(l[i], LDR, 0x01u << 24);             /* everyone in the same group */
		wr(l[i], TPR, 0x80);
	}
	wr(l[2], TPR, 0x20);
	wr(l[0], ICR2, 0x01u << 24);
	wr(l[0], ICR, 0x00951);                         /* lowest, logical */
	assert_true(irr_has(l[2], 0x51));
	for (unsigned i = 0; i < 4; i++)
		if (i != 2)
			assert_false(irr_has(l[i], 0x51));
	assert_int_equal(lapic_ack_interrupt(l[2]), 0x51);
	wr(l[2], EOI, 0);
	/* Ties rotate over the candidates. */
	for (unsigned i = 0; i < 4; i++)
		wr(l[i], TPR, 0);
	unsigned got[4] = { 0 };
	for (unsigned n = 0; n < 8; n++) {
		wr(l[0], ICR, 0x00960);
		for (unsigned i = 0; i < 4; i++) {
			if (lapic_ack_interrupt(l[i]) == 0x60) {
				got[i]++;
				wr(l[i], EOI, 0);
			}
		}
	}
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(got[i], 2);
	/* The same through an MSI with lowest-priority delivery. */
	wr(l[1], TPR, 0x10);
	for (unsigned i = 0; i < 4; i++)
		if (i != 1)
			wr(l[i], TPR, 0x90);
	fim_msi(f, 0xfee01004, 0x0161);                 /* logical dest 1, lowest, vector 0x61 */
	assert_true(irr_has(l[1], 0x61));
}

static void test_nmi_init_sipi(void **state)
{
	struct fim *f = *state;
	struct lapic *bsp = fim_lapic(f, 0), *ap = fim_lapic(f, 1);
	enable(bsp);
	wr(bsp, ICR2, 1u << 24);
	wr(bsp, ICR, 0x00400);                          /* NMI */
	assert_true(lapic_events(ap) & LAPIC_EV_NMI);
	assert_true(lapic_take_nmi(ap));
	assert_false(lapic_take_nmi(ap));
	/* The Linux/SeaBIOS INIT-SIPI-SIPI sequence. */
	wr(ap, SVR, 0x1ff);
	wr(ap, TPR, 0x20);
	wr(bsp, ICR, 0x0c500);                          /* INIT, level, assert */
	assert_true(lapic_events(ap) & LAPIC_EV_INIT);
	wr(bsp, ICR, 0x08500);                          /* INIT de-assert: no effect */
	assert_true(lapic_take_init(ap));
	assert_false(lapic_events(ap) & LAPIC_EV_INIT);
	assert_int_equal(rd(ap, SVR), 0xff);            /* INIT state */
	assert_int_equal(rd(ap, TPR), 0);
	assert_int_equal(rd(ap, ID), 1u << 24);         /* but the ID stays */
	wr(bsp, ICR, 0x0069a);                          /* SIPI, vector 0x9a */
	assert_true(lapic_events(ap) & LAPIC_EV_SIPI);
	assert_int_equal(lapic_take_sipi(ap), 0x9a);
	wr(bsp, ICR, 0x0069b);                          /* running: SIPI ignored */
	assert_int_equal(lapic_take_sipi(ap), -1);
	/* SIPI broadcast to all but self, as SeaBIOS does, reaches only APs that
	 * wait; the BSP never takes one. */
	wr(bsp, ICR, 0xc4500);
	assert_true(lapic_take_init(ap));
	assert_false(lapic_events(bsp) & LAPIC_EV_INIT);
	wr(bsp, ICR, 0xc4610);
	assert_int_equal(lapic_take_sipi(ap), 0x10);
	wr(ap, SVR, 0x1ff);
	wr(ap, ICR, 0x4069c);                           /* SIPI to self while running */
	assert_int_equal(lapic_take_sipi(ap), -1);
	/* A SIPI right behind an INIT the CPU has not taken yet still counts. */
	wr(bsp, ICR, 0x0c500);
	wr(bsp, ICR, 0x00620);
	assert_true(lapic_take_init(ap));
	assert_int_equal(lapic_take_sipi(ap), 0x20);
	/* lapic_reset puts an AP back in wait-for-SIPI. */
	lapic_reset(ap, false);
	wr(bsp, ICR, 0x00621);
	assert_int_equal(lapic_take_sipi(ap), 0x21);
}

static void test_virtual_wire_and_extint(void **state)
{
	struct fim *f = *state;
	struct lapic *bsp = fim_lapic(f, 0), *ap = fim_lapic(f, 1);
	fim_pic_init(f, 0x01);
	/* The guest never touched its APIC: 8259 interrupts reach the BSP. */
	fim_irq(f, 1, 1);
	fim_irq(f, 1, 0);
	assert_true(lapic_events(bsp) & LAPIC_EV_INTR);
	assert_false(lapic_events(ap) & LAPIC_EV_INTR);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x09);
	assert_false(lapic_events(bsp) & LAPIC_EV_INTR);
	fim_outb(f, 0x20, 0x20);
	/* The request vanished between the signal and the INTA: IR7. */
	fim_outb(f, 0x4d0, 0x08);                       /* IRQ3 level */
	fim_irq(f, 3, 1);
	assert_true(lapic_events(bsp) & LAPIC_EV_INTR);
	fim_irq(f, 3, 0);
	fim_irq(f, 3, 1);
	assert_true(lapic_events(bsp) & LAPIC_EV_INTR);
	fim_outb(f, 0x4d0, 0x00);
	fim_irq(f, 3, 0);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x0b);
	fim_outb(f, 0x20, 0x20);
	/* Masking LINT0 cuts the wire; a globally disabled APIC passes the 8259
	 * straight to the CPU. */
	wr(bsp, SVR, 0x1ff);
	wr(bsp, LVT_LINT0, 0x10700);
	fim_irq(f, 4, 1);
	assert_false(lapic_events(bsp) & LAPIC_EV_INTR);
	assert_int_equal(lapic_wrmsr(ap, MSR_IA32_APIC_BASE, 0xfee00000), 0);
	assert_false(lapic_mmio_active(ap));
	assert_true(lapic_events(ap) & LAPIC_EV_INTR);
	assert_int_equal(lapic_ack_interrupt(ap), 0x0c);
	fim_outb(f, 0x20, 0x20);
	fim_irq(f, 4, 0);
	/* A disabled APIC takes no messages. */
	wr(bsp, ICR2, 1u << 24);
	wr(bsp, ICR, 0x00455);
	assert_false(lapic_events(ap) & LAPIC_EV_INTR);
	/* LINT0 as a fixed level interrupt: once per EOI while asserted. */
	wr(bsp, LVT_LINT0, 0x08077);
	fim_irq(f, 5, 1);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x77);
	assert_true(rd(bsp, LVT_LINT0) & (1u << 14));   /* remote IRR */
	assert_int_equal(lapic_ack_interrupt(bsp), -1);
	wr(bsp, EOI, 0);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x77);
	/* LINT1 as NMI. */
	wr(bsp, LVT_LINT1, 0x400);
	lapic_set_lint(bsp, 1, true);
	assert_true(lapic_take_nmi(bsp));
}

static void test_eoi_broadcast_to_ioapic(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	/* Pin 16: level, active low, vector 0x90, physical APIC 0. */
	fim_write(f, 0xfec00000, 4, 0x10 + 2 * 16);
	fim_write(f, 0xfec00010, 4, 0xa090);
	fim_write(f, 0xfec00000, 4, 0x10 + 2 * 16 + 1);
	fim_write(f, 0xfec00010, 4, 0);
	fim_irq(f, 16, 1);
	assert_true(irr_has(l, 0x90));
	assert_true(rd(l, TMR + 0x40) & (1u << 16));    /* level: TMR bit 0x90 set */
	fim_write(f, 0xfec00000, 4, 0x10 + 2 * 16);
	assert_true(fim_read(f, 0xfec00010, 4) & (1u << 14));   /* Remote IRR */
	assert_int_equal(lapic_ack_interrupt(l), 0x90);
	wr(l, EOI, 0);
	/* Still asserted: the I/O APIC sent it again. */
	assert_true(irr_has(l, 0x90));
	assert_true(fim_read(f, 0xfec00010, 4) & (1u << 14));
	fim_irq(f, 16, 0);
	assert_int_equal(lapic_ack_interrupt(l), 0x90);
	wr(l, EOI, 0);
	assert_false(fim_read(f, 0xfec00010, 4) & (1u << 14));
	assert_false(irr_has(l, 0x90));
}

static void test_x2apic(void **state)
{
	struct fim *f = *state;
	struct lapic *bsp = fim_lapic(f, 0), *ap = fim_lapic(f, 1);
	uint64_t v;
	assert_int_equal(lapic_rdmsr(bsp, 0x802, &v), -1);      /* not in x2APIC mode */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00d00), 0);
	assert_int_equal(lapic_wrmsr(ap, MSR_IA32_APIC_BASE, 0xfee00c00), 0);
	assert_false(lapic_mmio_active(bsp));
	assert_int_equal(lapic_mmio_read(bsp, VER), 0);
	assert_int_equal(lapic_rdmsr(ap, 0x802, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(lapic_rdmsr(ap, 0x80d, &v), 0);
	assert_int_equal(v, 0x2);                       /* cluster 0, bit 1 */
	assert_int_equal(lapic_rdmsr(ap, 0x803, &v), 0);
	assert_int_equal(v, 0x00050014);
	assert_int_equal(lapic_wrmsr(bsp, 0x80f, 0x1ff), 0);
	assert_int_equal(lapic_wrmsr(ap, 0x80f, 0x1ff), 0);
	/* ICR is one 64-bit MSR with a 32-bit destination. */
	assert_int_equal(lapic_wrmsr(bsp, 0x830, (1ULL << 32) | 0x70), 0);
	assert_true(lapic_events(ap) & LAPIC_EV_INTR);
	assert_int_equal(lapic_rdmsr(bsp, 0x830, &v), 0);
	assert_int_equal(v, (1ULL << 32) | 0x70);
	assert_int_equal(lapic_ack_interrupt(ap), 0x70);
	assert_int_equal(lapic_wrmsr(ap, 0x80b, 0), 0); /* EOI */
	/* Logical: cluster 0, member bits 0 and 1. */
	assert_int_equal(lapic_wrmsr(bsp, 0x830, (3ULL << 32) | 0x871), 0);
	assert_int_equal(lapic_ack_interrupt(ap), 0x71);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x71);
	assert_int_equal(lapic_wrmsr(ap, 0x80b, 0), 0);
	assert_int_equal(lapic_wrmsr(bsp, 0x80b, 0), 0);
	/* SELF IPI. */
	assert_int_equal(lapic_wrmsr(bsp, 0x83f, 0x72), 0);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x72);
	assert_int_equal(lapic_wrmsr(bsp, 0x80b, 0), 0);
	/* #GP cases. */
	assert_int_equal(lapic_wrmsr(bsp, 0x80b, 1), -1);       /* EOI takes only 0 */
	assert_int_equal(lapic_wrmsr(bsp, 0x802, 5), -1);       /* ID read-only */
	assert_int_equal(lapic_wrmsr(bsp, 0x80d, 5), -1);       /* LDR read-only */
	assert_int_equal(lapic_rdmsr(bsp, 0x80e, &v), -1);      /* no DFR */
	assert_int_equal(lapic_rdmsr(bsp, 0x831, &v), -1);      /* no ICR2 */
	assert_int_equal(lapic_rdmsr(bsp, 0x83f, &v), -1);      /* SELF IPI write-only */
	assert_int_equal(lapic_rdmsr(bsp, 0x80b, &v), -1);      /* EOI write-only */
	assert_int_equal(lapic_wrmsr(bsp, 0x808, 0x100), -1);   /* TPR reserved bits */
	assert_int_equal(lapic_wrmsr(bsp, 0x808, 1ULL << 32), -1);
	assert_int_equal(lapic_rdmsr(bsp, 0x8ff, &v), -1);
	assert_int_equal(lapic_rdmsr(bsp, 0x10, &v), -1);       /* not an APIC MSR */
	/* IA32_APIC_BASE transitions (SDM 10.12.5). */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00900), -1); /* x2 -> x */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00500), -1); /* EXTD alone */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00901 | 0x1), -1);
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00100), 0);  /* disable */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00d00), -1); /* off -> x2 */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfed00900), 0);  /* moved xAPIC */
	assert_int_equal(lapic_base(bsp), 0xfed00000);
	assert_int_equal(lapic_rdmsr(bsp, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfed00900);
	assert_int_equal(rd(bsp, ID), 0);
	/* The BSP flag cannot be changed. */
	assert_int_equal(lapic_wrmsr(ap, MSR_IA32_APIC_BASE, 0xfee00100 & ~0x100ULL), 0);
	assert_int_equal(lapic_rdmsr(ap, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00000);
	/* x2APIC timer registers. */
	assert_int_equal(lapic_wrmsr(bsp, MSR_IA32_APIC_BASE, 0xfee00d00), 0);
	assert_int_equal(lapic_wrmsr(bsp, 0x80f, 0x1ff), 0);
	assert_int_equal(lapic_wrmsr(bsp, 0x83e, 0xb), 0);
	assert_int_equal(lapic_wrmsr(bsp, 0x832, 0x33), 0);
	assert_int_equal(lapic_wrmsr(bsp, 0x838, 100), 0);
	fim_advance(f, 40);
	assert_int_equal(lapic_rdmsr(bsp, 0x839, &v), 0);
	assert_int_equal(v, 60);
	fim_advance(f, 60);
	assert_int_equal(lapic_ack_interrupt(bsp), 0x33);
}

static void test_esr(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	wr(l, LVT_ERROR, 0xfe);
	wr(l, ICR, 0x40005);                            /* illegal vector 5 */
	assert_int_equal(rd(l, ESR), 0);                /* not latched yet */
	wr(l, ESR, 0);
	assert_int_equal(rd(l, ESR), 0x20);             /* send illegal vector */
	assert_int_equal(lapic_ack_interrupt(l), 0xfe); /* the error interrupt */
	wr(l, EOI, 0);
	fim_msi(f, 0xfee00000, 0x0003);                 /* received illegal vector */
	wr(l, ESR, 0);
	assert_int_equal(rd(l, ESR), 0x40);
	assert_int_equal(lapic_ack_interrupt(l), 0xfe);
	wr(l, EOI, 0);
	rd(l, 0x2f0);                                   /* reserved register */
	wr(l, ESR, 0);
	assert_int_equal(rd(l, ESR), 0x80);
	wr(l, ESR, 0);
	assert_int_equal(rd(l, ESR), 0);
	/* Software disable masks every LVT and keeps it masked. */
	wr(l, SVR, 0xff);
	assert_true(rd(l, LVT_ERROR) & 0x10000);
	wr(l, LVT_ERROR, 0xfe);
	assert_true(rd(l, LVT_ERROR) & 0x10000);
}

/* Advance to the next timer event until the LAPIC has an interrupt. */
static int wait_interrupt(struct fim *f, struct lapic *l)
{
	for (unsigned n = 0; n < 1000 && !(lapic_events(l) & LAPIC_EV_INTR); n++) {
		int64_t d = fim_next_deadline(f);
		assert_true(d != INT64_MAX);
		fim_run_until(f, d);
	}
	return lapic_ack_interrupt(l);
}

/*
 * Linux's calibrate_APIC_clock(): the LAPIC timer counts down from
 * 0xffffffff (divide by 16, periodic, masked) while the global clock event
 * ticks at HZ through I/O APIC pin 2; the count consumed over 100 ticks gives
 * the bus clock. Done once with the PIT as the clock event and once with the
 * HPET in legacy replacement mode.
 */
static void test_linux_apic_calibration(void **state)
{
	struct fim *f = *state;
	struct lapic *l = fim_lapic(f, 0);
	enable(l);
	fim_outb(f, 0x21, 0xff);                        /* 8259 masked: APIC mode */
	fim_outb(f, 0xa1, 0xff);
	fim_write(f, 0xfec00000, 4, 0x14);              /* pin 2: edge, vector 0x30 */
	fim_write(f, 0xfec00010, 4, 0x30);
	for (unsigned source = 0; source < 2; source++) {
		if (source == 0) {
			fim_outb(f, 0x43, 0x34);        /* PIT: mode 2, LATCH for HZ=1000 */
			fim_outb(f, 0x40, 1193 & 0xff);
			fim_outb(f, 0x40, 1193 >> 8);
		} else {
			uint64_t hpet = 0xfed00000, cnt;
			fim_write(f, hpet + 0x10, 8, 3);          /* enable, legacy route */
			fim_write(f, hpet + 0x100, 8, 0x4c);      /* periodic, SETVAL, on */
			cnt = fim_read(f, hpet + 0xf0, 8);
			fim_write(f, hpet + 0x108, 8, cnt + 100000);
			fim_write(f, hpet + 0x108, 8, 100000);    /* 1 ms */
		}
		wr(l, TDCR, 0x3);
		wr(l, LVT_TIMER, 0x30000 | 0xef);               /* periodic, masked */
		wr(l, TMICT, 0xffffffff);
		assert_int_equal(wait_interrupt(f, l), 0x30);
		uint32_t start = rd(l, TMCCT);
		wr(l, EOI, 0);
		for (unsigned tick = 0; tick < 100; tick++) {
			assert_int_equal(wait_interrupt(f, l), 0x30);
			wr(l, EOI, 0);
		}
		uint32_t delta = start - rd(l, TMCCT);
		/* Bus clocks per jiffy: 1 GHz / HZ = 1000000 (PIT: 1193 ticks
		 * are 999847 ns). */
		uint64_t per_jiffy = (uint64_t)delta * 16 / 100;
		assert_in_range(per_jiffy, 999000, 1001000);
		wr(l, TMICT, 0);
		fim_outb(f, 0x43, 0x30);                /* PIT: one-shot, silent */
		fim_write(f, 0xfed00010, 8, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_tpr_ppr_ack_eoi, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_timer_tsc_deadline, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_ipi_physical_logical_shorthand, setup4, fim_teardown),
		cmocka_unit_test_setup_teardown(test_lowest_priority, setup4, fim_teardown),
		cmocka_unit_test_setup_teardown(test_nmi_init_sipi, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_virtual_wire_and_extint, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_eoi_broadcast_to_ioapic, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_x2apic, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_esr, setup, fim_teardown),
		cmocka_unit_test_setup_teardown(test_linux_apic_calibration, fim_setup_pc, fim_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
