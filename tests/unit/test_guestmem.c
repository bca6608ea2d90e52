/*
 * Unit tests for guestmem: the map (alignment, overlaps, sorting), copies
 * across adjacent regions, holes, ROM write refusal, addresses at the top of
 * the 64-bit space, iovec building for DMA, and the write hook.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guestmem.h"

#define PAGE GUESTMEM_PAGE_SIZE
#define KIB 1024ULL
#define MIB (1024 * KIB)

/*
 * The map used by most tests:
 *   [0, 640K)          RAM "low"
 *   [640K, 768K)       hole
 *   [768K, 1M)         ROM "bios" (4 pages)... directly followed by
 *   [1M, 2M)           RAM "high"
 */
struct fixture {
	struct guestmem *gm;
	uint8_t rom[256 * 1024];
	uint64_t hook_gpa, hook_len;
	unsigned hooks;
};

static void hook(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fixture *f = opaque;
	f->hook_gpa = gpa;
	f->hook_len = len;
	f->hooks++;
}

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	f.gm = guestmem_create();
	memset(f.rom, 0xee, sizeof(f.rom));
	/* Added out of order on purpose: the map keeps them sorted. */
	assert_int_equal(guestmem_add(f.gm, "high", 1 * MIB, 1 * MIB, NULL, GUESTMEM_RAM, NULL), 0);
	assert_int_equal(guestmem_add(f.gm, "low", 0, 640 * KIB, NULL, GUESTMEM_RAM, NULL), 0);
	assert_int_equal(guestmem_add(f.gm, "bios", 768 * KIB, sizeof(f.rom), f.rom,
				      GUESTMEM_ROM, NULL), 0);
	guestmem_set_write_hook(f.gm, hook, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	guestmem_destroy(f->gm);
	return 0;
}

static void test_map_rules(void **state)
{
	struct fixture *f = *state;
	struct guestmem_region *r;
	assert_true(f->gm->ram_bytes == 640 * KIB + 1 * MIB);
	assert_int_equal(guestmem_add(f->gm, "x", 100, PAGE, NULL, GUESTMEM_RAM, NULL), -EINVAL);
	assert_int_equal(guestmem_add(f->gm, "x", PAGE, 100, NULL, GUESTMEM_RAM, NULL), -EINVAL);
	assert_int_equal(guestmem_add(f->gm, "x", PAGE, 0, NULL, GUESTMEM_RAM, NULL), -EINVAL);
	assert_int_equal(guestmem_add(f->gm, "x", 636 * KIB, 8 * KIB, NULL, GUESTMEM_RAM, NULL),
			 -EEXIST);
	assert_int_equal(guestmem_add(f->gm, "x", 2 * MIB - PAGE, 2 * PAGE, NULL, GUESTMEM_RAM,
				      NULL), -EEXIST);
	/* A region that would wrap past the top of the address space. */
	assert_int_equal(guestmem_add(f->gm, "x", UINT64_MAX - PAGE + 1, 2 * PAGE, NULL,
				      GUESTMEM_RAM, NULL), -EINVAL);
	/* The hole can be filled exactly. */
	assert_int_equal(guestmem_add(f->gm, "vga", 640 * KIB, 128 * KIB, NULL, GUESTMEM_RAM, &r),
			 0);
	assert_string_equal(r->name, "vga");
	assert_ptr_equal(guestmem_region_at(f->gm, 700 * KIB), r);
	for (unsigned i = 1; i < f->gm->count; i++)
		assert_true(f->gm->regions[i - 1].gpa < f->gm->regions[i].gpa);
}

static void test_lookup_and_ptr(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(guestmem_region_at(f->gm, 0)->name, "low");
	assert_string_equal(guestmem_region_at(f->gm, 640 * KIB - 1)->name, "low");
	assert_null(guestmem_region_at(f->gm, 640 * KIB));
	assert_null(guestmem_region_at(f->gm, 2 * MIB));
	assert_null(guestmem_region_at(f->gm, UINT64_MAX));
	assert_non_null(guestmem_ptr(f->gm, 0, 640 * KIB));
	/* A pointer never spans two regions, even adjacent ones. */
	assert_null(guestmem_ptr(f->gm, 1 * MIB - 4, 8));
	assert_null(guestmem_ptr(f->gm, 640 * KIB - 4, 8));
	assert_null(guestmem_ptr(f->gm, 0, UINT64_MAX));
	assert_ptr_equal(guestmem_ptr(f->gm, 768 * KIB, 1), f->rom);
	assert_true(guestmem_is_ram(f->gm, 1 * MIB, 1 * MIB));
	assert_false(guestmem_is_ram(f->gm, 1 * MIB, 1 * MIB + 1));
	assert_false(guestmem_is_ram(f->gm, 800 * KIB, 1));
}

static void test_copies_across_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16], back[16];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i + 1);
	/* The ROM's last bytes and the RAM after it, read as one. */
	assert_int_equal(guestmem_read(f->gm, 1 * MIB - 8, back, 16), 0);
	assert_int_equal(back[0], 0xee);
	assert_int_equal(back[7], 0xee);
	assert_int_equal(back[8], 0x00);
	/* Writes refuse ROM, all or nothing: the RAM half stays untouched. */
	assert_int_equal(guestmem_write(f->gm, 1 * MIB - 8, buf, 16), -EFAULT);
	assert_int_equal(guestmem_read(f->gm, 1 * MIB, back, 8), 0);
	assert_int_equal(back[0], 0);
	assert_int_equal(f->hooks, 0);
	/* The loader may write ROM. */
	assert_int_equal(guestmem_write_rom(f->gm, 1 * MIB - 8, buf, 16), 0);
	assert_int_equal(f->rom[sizeof(f->rom) - 8], 1);
	assert_int_equal(guestmem_read(f->gm, 1 * MIB, back, 8), 0);
	assert_int_equal(back[0], 9);
	assert_int_equal(f->hooks, 1);
	assert_true(f->hook_gpa == 1 * MIB - 8 && f->hook_len == 16);
	/* Across a hole: nothing is copied. */
	memset(back, 0x55, sizeof(back));
	assert_int_equal(guestmem_read(f->gm, 640 * KIB - 8, back, 16), -EFAULT);
	assert_int_equal(back[0], 0x55);
	assert_int_equal(guestmem_write(f->gm, 640 * KIB - 8, buf, 16), -EFAULT);
	assert_int_equal(guestmem_read(f->gm, 640 * KIB - 8, back, 8), 0);
	assert_int_equal(back[0], 0);
	/* Zero bytes is fine anywhere mapped or not. */
	assert_int_equal(guestmem_read(f->gm, 700 * KIB, back, 0), 0);
}

static void test_top_of_address_space(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16] = { 0 };
	assert_int_equal(guestmem_read(f->gm, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(guestmem_write(f->gm, UINT64_MAX, buf, 2), -EFAULT);
	assert_int_equal(guestmem_fill(f->gm, UINT64_MAX - 1, 0, 16), -EFAULT);
	struct iovec iov[4];
	assert_int_equal(guestmem_iov(f->gm, UINT64_MAX - 8, 16, false, iov, 4), -EFAULT);
	/* A length that wraps from a mapped address. */
	assert_int_equal(guestmem_read(f->gm, 4096, buf, SIZE_MAX), -EFAULT);
	assert_int_equal(guestmem_iov(f->gm, 4096, UINT64_MAX, false, iov, 4), -EFAULT);
	uint32_t v;
	assert_int_equal(guestmem_read_u32(f->gm, UINT64_MAX - 1, &v), -EFAULT);
}

static void test_iov(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[4];
	/* A read over ROM then RAM: two entries pointing into each mapping. */
	assert_int_equal(guestmem_iov(f->gm, 1 * MIB - 100, 200, false, iov, 4), 2);
	assert_ptr_equal(iov[0].iov_base, f->rom + sizeof(f->rom) - 100);
	assert_int_equal(iov[0].iov_len, 100);
	assert_int_equal(iov[1].iov_len, 100);
	assert_ptr_equal(iov[1].iov_base, guestmem_ptr(f->gm, 1 * MIB, 1));
	/* DMA into ROM is refused; so is a hole; so is running out of entries. */
	assert_int_equal(guestmem_iov(f->gm, 1 * MIB - 100, 200, true, iov, 4), -EFAULT);
	assert_int_equal(guestmem_iov(f->gm, 640 * KIB - 1, 2, false, iov, 4), -EFAULT);
	assert_int_equal(guestmem_iov(f->gm, 1 * MIB - 100, 200, false, iov, 1), -E2BIG);
	assert_int_equal(guestmem_iov(f->gm, 0, 0, true, iov, 4), 0);
	/* A device that wrote through the iovec reports it. */
	assert_int_equal(guestmem_iov(f->gm, 4096, 512, true, iov, 4), 1);
	memset(iov[0].iov_base, 0xab, 512);
	guestmem_dma_written(f->gm, 4096, 512);
	assert_int_equal(f->hooks, 1);
	uint32_t v;
	assert_int_equal(guestmem_read_u32(f->gm, 4096, &v), 0);
	assert_int_equal(v, 0xabababab);
}

static void test_scalars_and_fill(void **state)
{
	struct fixture *f = *state;
	uint32_t v;
	/* A u32 straddling two adjacent RAM regions after the hole is filled. */
	assert_int_equal(guestmem_add(f->gm, "mid", 640 * KIB, 128 * KIB, NULL, GUESTMEM_RAM,
				      NULL), 0);
	assert_int_equal(guestmem_write_u32(f->gm, 640 * KIB - 2, 0x11223344), 0);
	assert_int_equal(guestmem_read_u32(f->gm, 640 * KIB - 2, &v), 0);
	assert_int_equal(v, 0x11223344);
	uint8_t b;
	assert_int_equal(guestmem_read(f->gm, 640 * KIB - 2, &b, 1), 0);
	assert_int_equal(b, 0x44);              /* little-endian */
	assert_int_equal(guestmem_write_u32(f->gm, 800 * KIB, 1), -EFAULT);     /* ROM */
	/* Fill more than its internal chunk, across regions. */
	assert_int_equal(guestmem_fill(f->gm, 600 * KIB, 0x5c, 100 * KIB), 0);
	assert_int_equal(guestmem_read_u32(f->gm, 699 * KIB, &v), 0);
	assert_int_equal(v, 0x5c5c5c5c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_map_rules),
		T(test_lookup_and_ptr),
		T(test_copies_across_regions),
		T(test_top_of_address_space),
		T(test_iov),
		T(test_scalars_and_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
