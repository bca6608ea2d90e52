/*
 * Unit tests for iobus: dispatch by offset, overlap rejection, all-ones
 * default reads, access splitting, moves, removal and strict mode.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iobus.h"

struct fake_dev {
	uint8_t regs[16];
	unsigned reads, writes;
	uint64_t last_off;
	unsigned last_size;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d->regs[(off + i) % 16] << (8 * i);
	return v;
}

static void fake_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct fake_dev *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_size = size;
	for (unsigned i = 0; i < size; i++)
		d->regs[(off + i) % 16] = (uint8_t)(v >> (8 * i));
}

static const struct iobus_ops wide_ops = { fake_read, fake_write, 8 };
static const struct iobus_ops byte_ops = { fake_read, fake_write, 1 };

static void test_dispatch_by_offset(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	struct fake_dev d = { 0 };
	assert_int_equal(iobus_add(bus, "dev", 0x3f8, 8, &wide_ops, &d, 0, NULL), 0);
	iobus_write(bus, 0x3fa, 1, 0xab);
	assert_int_equal(d.last_off, 2);
	assert_int_equal(d.regs[2], 0xab);
	assert_int_equal(iobus_read(bus, 0x3fa, 1), 0xab);
	assert_int_equal(d.last_off, 2);
	assert_true(iobus_claimed(bus, 0x3ff));
	assert_false(iobus_claimed(bus, 0x400));
	iobus_destroy(bus);
}

static void test_overlap_rejected(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	struct fake_dev a = { 0 }, b = { 0 };
	assert_int_equal(iobus_add(bus, "a", 0x60, 1, &wide_ops, &a, 0, NULL), 0);
	assert_int_equal(iobus_add(bus, "a2", 0x64, 1, &wide_ops, &a, 0, NULL), 0);
	assert_int_equal(iobus_add(bus, "b", 0x5f, 2, &wide_ops, &b, 0, NULL), -EEXIST);
	assert_int_equal(iobus_add(bus, "b", 0x60, 1, &wide_ops, &b, 0, NULL), -EEXIST);
	assert_int_equal(iobus_add(bus, "b", 0x61, 8, &wide_ops, &b, 0, NULL), -EEXIST);
	assert_int_equal(iobus_add(bus, "b", 0x61, 3, &wide_ops, &b, 0, NULL), 0);
	/* Out of range and empty regions are refused too. */
	assert_int_equal(iobus_add(bus, "c", 0xfffe, 4, &wide_ops, &b, 0, NULL), -EINVAL);
	assert_int_equal(iobus_add(bus, "c", 0x100, 0, &wide_ops, &b, 0, NULL), -EINVAL);
	iobus_destroy(bus);
}

static void test_unclaimed_reads_all_ones(void **state)
{
	struct iobus *bus = iobus_create("mmio", UINT64_MAX, NULL);
	assert_int_equal(iobus_read(bus, 0x1234, 1), 0xff);
	assert_int_equal(iobus_read(bus, 0x1234, 2), 0xffff);
	assert_int_equal(iobus_read(bus, 0x1234, 4), 0xffffffffu);
	assert_true(iobus_read(bus, 0x1234, 8) == UINT64_MAX);
	iobus_write(bus, 0x1234, 4, 0); /* dropped, must not crash */
	/* A nonsense size is clamped rather than trusted. */
	assert_int_equal(iobus_read(bus, 0x1234, 3), 0xff);
	iobus_destroy(bus);
}

static void test_wide_access_split_for_byte_device(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	struct fake_dev d = { .regs = { 0x11, 0x22, 0x33, 0x44 } };
	assert_int_equal(iobus_add(bus, "uart", 0x3f8, 8, &byte_ops, &d, 0, NULL), 0);
	assert_int_equal(iobus_read(bus, 0x3f8, 4), 0x44332211);
	assert_int_equal(d.reads, 4);
	assert_int_equal(d.last_size, 1);
	iobus_write(bus, 0x3fc, 2, 0xbeef);
	assert_int_equal(d.regs[4], 0xef);
	assert_int_equal(d.regs[5], 0xbe);
	iobus_destroy(bus);
}

static void test_straddling_access(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	struct fake_dev d = { .regs = { [7] = 0x5a } };
	assert_int_equal(iobus_add(bus, "dev", 0x3f8, 8, &wide_ops, &d, 0, NULL), 0);
	/* 0x3ff is the device's last byte; 0x400 is unclaimed. */
	assert_int_equal(iobus_read(bus, 0x3ff, 2), 0xff5a);
	iobus_write(bus, 0x3fe, 4, 0x01020304);
	assert_int_equal(d.regs[6], 0x04);
	assert_int_equal(d.regs[7], 0x03);
	/* An access at the very top of the bus does not wrap around. */
	assert_int_equal(iobus_read(bus, 0xffff, 2), 0xffff);
	iobus_destroy(bus);
}

static void test_move_and_remove(void **state)
{
	struct iobus *bus = iobus_create("mmio", UINT64_MAX, NULL);
	struct fake_dev d = { .regs = { 0x77 } }, e = { 0 };
	struct iobus_region *r;
	assert_int_equal(iobus_add(bus, "bar", 0xfebf0000, 16, &wide_ops, &d, 0, &r), 0);
	assert_int_equal(iobus_add(bus, "other", 0xfebe0000, 16, &wide_ops, &e, 0, NULL), 0);
	assert_int_equal(iobus_move(r, 0xfebe0008), -EEXIST);
	assert_int_equal(iobus_region_base(r), 0xfebf0000);
	assert_int_equal(iobus_move(r, 0xe0000000), 0);
	assert_int_equal(iobus_read(bus, 0xe0000000, 1), 0x77);
	assert_int_equal(iobus_read(bus, 0xfebf0000, 1), 0xff);
	iobus_remove(r);
	assert_int_equal(iobus_read(bus, 0xe0000000, 1), 0xff);
	assert_int_equal(d.reads, 1);
	iobus_destroy(bus);
}

static int strict_hits;
static void strict_fn(void *opaque, const char *bus, uint64_t addr, unsigned size, bool write)
{
	strict_hits++;
}

static void test_strict_mode(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	iobus_set_strict(bus, strict_fn, NULL);
	strict_hits = 0;
	iobus_read(bus, 0x1234, 1);
	iobus_write(bus, 0x1234, 1, 0);
	assert_int_equal(strict_hits, 2);
	iobus_destroy(bus);
}

static void test_many_regions_sorted(void **state)
{
	struct iobus *bus = iobus_create("pio", 0xffff, NULL);
	static struct fake_dev devs[100];
	/* Insert out of order; lookups must still find each one. */
	for (unsigned i = 0; i < 100; i++) {
		unsigned k = (i * 37) % 100;
		devs[k].regs[0] = (uint8_t)k;
		assert_int_equal(iobus_add(bus, "d", 0x1000 + k * 16, 16, &wide_ops, &devs[k], 0,
					   NULL), 0);
	}
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(iobus_read(bus, 0x1000 + k * 16, 1), k);
	iobus_destroy(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_by_offset),
		cmocka_unit_test(test_overlap_rejected),
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_wide_access_split_for_byte_device),
		cmocka_unit_test(test_straddling_access),
		cmocka_unit_test(test_move_and_remove),
		cmocka_unit_test(test_strict_mode),
		cmocka_unit_test(test_many_regions_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
