/*
 * Unit tests for the 8259A pair: initialization sequences, priorities and
 * nesting, EOI commands and rotation, automatic EOI, the cascade, spurious
 * IR7/IR15, ELCR level mode, poll, special mask and special fully nested
 * modes, and reads of IRR/ISR/IMR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fake_irqmachine.h"
#include "isa/pic.h"
#include "machine.h"

struct ctx {
	struct fim *f;
	struct pic *pic;
	bool intr;
	unsigned intr_rises;
};

static void on_intr(void *opaque, bool level)
{
	struct ctx *c = opaque;
	if (level && !c->intr)
		c->intr_rises++;
	c->intr = level;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	c->f = fim_create(1);
	c->pic = machine_add_device(c->f->m, &pic_desc, NULL);
	assert_non_null(c->pic);
	pic_set_output(c->pic, on_intr, c);
	fim_pic_init(c->f, 0x01);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	fim_destroy(c->f);
	free(c);
	return 0;
}

static void irq(struct ctx *c, unsigned n, bool level)
{
	machine_lock(c->f->m);
	pic_set_irq(c->pic, n, level);
	machine_unlock(c->f->m);
}

static void pulse(struct ctx *c, unsigned n)
{
	irq(c, n, true);
	irq(c, n, false);
}

static int intack(struct ctx *c)
{
	machine_lock(c->f->m);
	int v = pic_intack(c->pic);
	machine_unlock(c->f->m);
	return v;
}

static uint8_t read_isr(struct ctx *c, uint16_t port)
{
	fim_outb(c->f, port, 0x0b);
	return fim_inb(c->f, port);
}

static uint8_t read_irr(struct ctx *c, uint16_t port)
{
	fim_outb(c->f, port, 0x0a);
	return fim_inb(c->f, port);
}

static void test_init_vectors_and_eoi(void **state)
{
	struct ctx *c = *state;
	assert_false(c->intr);
	assert_int_equal(fim_inb(c->f, 0x21), 0x00);   /* ICW1 cleared the mask */
	pulse(c, 1);
	assert_true(c->intr);
	assert_int_equal(read_irr(c, 0x20), 0x02);
	assert_int_equal(intack(c), 0x09);
	assert_false(c->intr);
	assert_int_equal(read_isr(c, 0x20), 0x02);
	assert_int_equal(read_irr(c, 0x20), 0x00);
	fim_outb(c->f, 0x20, 0x20);                    /* non-specific EOI */
	assert_int_equal(read_isr(c, 0x20), 0x00);
	/* The mask register and its effect. */
	fim_outb(c->f, 0x21, 0xfd);
	assert_int_equal(fim_inb(c->f, 0x21), 0xfd);
	pulse(c, 1);
	assert_true(c->intr);
	pulse(c, 3);
	assert_int_equal(intack(c), 0x09);
	fim_outb(c->f, 0x20, 0x20);
	assert_false(c->intr);                          /* IRQ3 latched but masked */
	assert_int_equal(read_irr(c, 0x20), 0x08);
	fim_outb(c->f, 0x21, 0x00);
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x0b);
}

static void test_priority_and_nesting(void **state)
{
	struct ctx *c = *state;
	pulse(c, 3);
	pulse(c, 1);
	assert_int_equal(intack(c), 0x09);              /* IR1 beats IR3 */
	assert_false(c->intr);                          /* IR3 is lower than IR1 in service */
	pulse(c, 0);
	assert_true(c->intr);                           /* IR0 nests above IR1 */
	assert_int_equal(intack(c), 0x08);
	assert_int_equal(read_isr(c, 0x20), 0x03);
	fim_outb(c->f, 0x20, 0x20);                    /* ends IR0, the highest */
	assert_int_equal(read_isr(c, 0x20), 0x02);
	assert_false(c->intr);
	fim_outb(c->f, 0x20, 0x20);
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x0b);
}

static void test_specific_eoi_and_rotation(void **state)
{
	struct ctx *c = *state;
	pulse(c, 2 + 3);                                /* IR5 */
	assert_int_equal(intack(c), 0x0d);
	fim_outb(c->f, 0x20, 0x60 | 4);                 /* specific EOI of IR4: nothing */
	assert_int_equal(read_isr(c, 0x20), 0x20);
	fim_outb(c->f, 0x20, 0x60 | 5);
	assert_int_equal(read_isr(c, 0x20), 0x00);

	/* Set priority: IR4 lowest, so IR5 is the highest level. */
	fim_outb(c->f, 0x20, 0xc0 | 4);
	pulse(c, 1);
	pulse(c, 6);
	assert_int_equal(intack(c), 0x0e);
	/* Rotate on non-specific EOI: IR6 becomes lowest, IR7 highest, then IR0. */
	fim_outb(c->f, 0x20, 0xa0);
	pulse(c, 0);
	pulse(c, 7);
	assert_int_equal(intack(c), 0x0f);
	fim_outb(c->f, 0x20, 0xe0 | 7);                 /* rotate on specific EOI */
	assert_int_equal(intack(c), 0x08);
	fim_outb(c->f, 0x20, 0x20);
	assert_int_equal(intack(c), 0x09);
}

static void test_auto_eoi(void **state)
{
	struct ctx *c = *state;
	fim_pic_init(c->f, 0x03);                        /* ICW4: 8086, AEOI */
	pulse(c, 4);
	pulse(c, 6);
	assert_int_equal(intack(c), 0x0c);
	assert_int_equal(read_isr(c, 0x20), 0x00);      /* no ISR bit in AEOI */
	assert_true(c->intr);                           /* so IR6 is not blocked */
	assert_int_equal(intack(c), 0x0e);
	/* Rotate in AEOI mode: the acknowledged level becomes the lowest. */
	fim_outb(c->f, 0x20, 0x80);
	pulse(c, 3);
	assert_int_equal(intack(c), 0x0b);
	pulse(c, 2 + 1);
	pulse(c, 5);
	assert_int_equal(intack(c), 0x0d);              /* IR5 is now above IR3 */
	fim_outb(c->f, 0x20, 0x00);                     /* clear rotate in AEOI */
}

static void test_cascade_and_spurious(void **state)
{
	struct ctx *c = *state;
	pulse(c, 10);
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x72);
	assert_int_equal(read_isr(c, 0x20), 0x04);
	assert_int_equal(read_isr(c, 0xa0), 0x04);
	fim_outb(c->f, 0xa0, 0x20);
	fim_outb(c->f, 0x20, 0x20);
	assert_int_equal(read_isr(c, 0x20), 0x00);
	assert_int_equal(read_isr(c, 0xa0), 0x00);

	/* Nothing pending: the master answers with IR7, no ISR bit. */
	assert_int_equal(intack(c), 0x0f);
	assert_int_equal(read_isr(c, 0x20), 0x00);

	/* A level request on the slave that goes away before INTA: the master
	 * latched the cascade edge, the slave answers with its IR7. */
	fim_outb(c->f, 0x4d1, 0x04);                    /* IRQ10 level */
	irq(c, 10, true);
	irq(c, 10, false);
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x77);
	assert_int_equal(read_isr(c, 0x20), 0x04);
	assert_int_equal(read_isr(c, 0xa0), 0x00);
}

static void test_elcr_level_mode(void **state)
{
	struct ctx *c = *state;
	fim_outb(c->f, 0x4d0, 0xff);
	fim_outb(c->f, 0x4d1, 0xff);
	assert_int_equal(fim_inb(c->f, 0x4d0), 0xf8);  /* IRQ0-2 cannot be level */
	assert_int_equal(fim_inb(c->f, 0x4d1), 0xde);  /* nor IRQ8 and IRQ13 */
	fim_outb(c->f, 0x4d0, 0x20);                    /* IRQ5 level */
	irq(c, 5, true);
	assert_int_equal(intack(c), 0x0d);
	assert_int_equal(read_irr(c, 0x20), 0x20);      /* IRR follows the line */
	fim_outb(c->f, 0x20, 0x20);
	assert_true(c->intr);                           /* still asserted: again */
	assert_int_equal(intack(c), 0x0d);
	irq(c, 5, false);
	fim_outb(c->f, 0x20, 0x20);
	assert_false(c->intr);
	assert_int_equal(read_irr(c, 0x20), 0x00);
	/* Edge mode keeps a latched request when the line drops. */
	fim_outb(c->f, 0x4d0, 0x00);
	pulse(c, 5);
	assert_int_equal(read_irr(c, 0x20), 0x20);
	/* ICW1 LTIM makes every input level-triggered. */
	fim_outb(c->f, 0x20, 0x19);
	fim_outb(c->f, 0x21, 0x08);
	fim_outb(c->f, 0x21, 0x04);
	fim_outb(c->f, 0x21, 0x01);
	assert_int_equal(read_irr(c, 0x20), 0x00);
	irq(c, 3, true);
	assert_int_equal(read_irr(c, 0x20), 0x08);
	irq(c, 3, false);
	assert_int_equal(read_irr(c, 0x20), 0x00);
}

static void test_poll(void **state)
{
	struct ctx *c = *state;
	fim_outb(c->f, 0x20, 0x0c);                     /* OCW3 poll */
	assert_int_equal(fim_inb(c->f, 0x20), 0x00);    /* nothing pending */
	pulse(c, 6);
	pulse(c, 4);
	fim_outb(c->f, 0x20, 0x0c);
	assert_int_equal(fim_inb(c->f, 0x20), 0x84);
	assert_int_equal(read_isr(c, 0x20), 0x10);      /* the poll acknowledged it */
	fim_outb(c->f, 0x20, 0x20);
	fim_outb(c->f, 0x21, 0x0c);                     /* poll also works on A0=1 */
	fim_outb(c->f, 0x20, 0x0c);
	assert_int_equal(fim_inb(c->f, 0x21), 0x86);
	/* The next read is a normal one again. */
	assert_int_equal(fim_inb(c->f, 0x21), 0x0c);
}

static void test_special_mask_mode(void **state)
{
	struct ctx *c = *state;
	pulse(c, 1);
	assert_int_equal(intack(c), 0x09);
	pulse(c, 4);
	assert_false(c->intr);                          /* blocked by IR1 in service */
	fim_outb(c->f, 0x21, 0x02);                     /* mask IR1 */
	fim_outb(c->f, 0x20, 0x68);                     /* set special mask mode */
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x0c);
	fim_outb(c->f, 0x20, 0x48);                     /* reset special mask mode */
	fim_outb(c->f, 0x20, 0x64);                     /* specific EOI IR4 */
	fim_outb(c->f, 0x20, 0x61);
	assert_int_equal(read_isr(c, 0x20), 0x00);
}

static void test_special_fully_nested(void **state)
{
	struct ctx *c = *state;
	fim_pic_init(c->f, 0x11);                        /* master ICW4: SFNM */
	pulse(c, 9);
	assert_int_equal(intack(c), 0x71);
	pulse(c, 8);
	/* Without SFNM the master's IR2 in service would block this. */
	assert_true(c->intr);
	assert_int_equal(intack(c), 0x70);
	/* A lower master level stays blocked behind IR2. */
	fim_outb(c->f, 0xa0, 0x20);
	fim_outb(c->f, 0xa0, 0x20);
	pulse(c, 5);
	assert_false(c->intr);
	fim_outb(c->f, 0x20, 0x20);
	assert_true(c->intr);
}

static void test_init_resets_edge_sense(void **state)
{
	struct ctx *c = *state;
	irq(c, 3, true);
	fim_outb(c->f, 0x21, 0xff);
	fim_pic_init(c->f, 0x01);
	/* The line is still high but made no new edge. */
	assert_int_equal(read_irr(c, 0x20), 0x00);
	assert_false(c->intr);
	irq(c, 3, false);
	irq(c, 3, true);
	assert_true(c->intr);
	/* Writes during initialization are ICWs, not masks. */
	fim_outb(c->f, 0x20, 0x11);
	fim_outb(c->f, 0x21, 0x20);
	assert_int_equal(fim_inb(c->f, 0x21), 0x00);
	fim_outb(c->f, 0x21, 0x04);
	fim_outb(c->f, 0x21, 0x01);
	fim_outb(c->f, 0x21, 0x55);
	assert_int_equal(fim_inb(c->f, 0x21), 0x55);
	irq(c, 3, false);
	irq(c, 3, true);
	assert_int_equal(intack(c), 0x23);              /* the new base */
}

static void test_idle_query(void **state)
{
	struct ctx *c = *state;
	machine_lock(c->f->m);
	assert_false(pic_irq_idle(c->pic, 0));
	machine_unlock(c->f->m);
	fim_outb(c->f, 0x21, 0x01);
	pulse(c, 0);
	machine_lock(c->f->m);
	assert_true(pic_irq_idle(c->pic, 0));           /* masked and latched */
	machine_unlock(c->f->m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_vectors_and_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_and_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_specific_eoi_and_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_and_spurious, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elcr_level_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_mask_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_fully_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_resets_edge_sense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_query, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
