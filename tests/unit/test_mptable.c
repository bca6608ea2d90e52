/*
 * Unit tests for the MP tables (src/boot/mptable.c) and the low memory both
 * direct-boot loaders share (src/boot/bootmem.c): checksums, entry order and
 * contents for 1 to 64 CPUs; the sorted e820 view and the RAM checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "fake_ram_machine.h"
#include "guestmem.h"
#include "le_bytes.h"

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	while (len--)
		s += *p++;
	return s;
}

static void check_table(unsigned ncpus)
{
	size_t size = mptable_size(ncpus);
	uint8_t *buf = malloc(size);
	mptable_build(buf, 0xf0000, ncpus);

	/* Floating pointer (MP spec 4.1). */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(le_get32(buf, 4), 0xf0010);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 4);
	assert_int_equal(sum(buf, 16), 0);
	assert_int_equal(buf[11], 0);           /* a table follows */
	assert_int_equal(buf[12], 0);           /* no IMCR */

	/* Header (4.2). */
	uint8_t *h = buf + 16;
	assert_memory_equal(h, "PCMP", 4);
	assert_int_equal(le_get16(h, 4), size - 16);
	assert_int_equal(h[6], 4);
	assert_int_equal(sum(h, size - 16), 0);
	assert_int_equal(le_get16(h, 34), ncpus + 19);
	assert_int_equal(le_get32(h, 36), 0xfee00000);
	assert_int_equal(le_get16(h, 40), 0);   /* no extended table */

	/* Entries, in the order 4.3 requires. */
	uint8_t *e = h + 44;
	for (unsigned i = 0; i < ncpus; i++, e += 20) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], i);
		assert_int_equal(e[3], i == 0 ? 3 : 1); /* enabled, BSP only on 0 */
	}
	assert_int_equal(e[0], 1);
	assert_memory_equal(e + 2, "ISA   ", 6);
	e += 8;
	assert_int_equal(e[0], 2);
	assert_int_equal(e[1], ncpus);          /* I/O APIC ID after the CPUs */
	assert_int_equal(e[3], 1);
	assert_int_equal(le_get32(e, 4), 0xfec00000);
	e += 8;
	for (unsigned irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;
		assert_int_equal(e[0], 3);
		assert_int_equal(e[1], 0);      /* INT */
		assert_int_equal(le_get16(e, 2), 5);    /* edge, active high */
		assert_int_equal(e[4], 0);      /* the ISA bus */
		assert_int_equal(e[5], irq);
		assert_int_equal(e[6], ncpus);
		assert_int_equal(e[7], irq == 0 ? 2 : irq);
		e += 8;
	}
	assert_int_equal(e[0], 4);
	assert_int_equal(e[1], 3);              /* ExtINT */
	assert_int_equal(e[6], 0xff);
	assert_int_equal(e[7], 0);              /* LINT0 */
	e += 8;
	assert_int_equal(e[0], 4);
	assert_int_equal(e[1], 1);              /* NMI */
	assert_int_equal(e[7], 1);              /* LINT1 */
	e += 8;
	assert_ptr_equal(e, buf + size);
	free(buf);
}

static void test_mptable_sizes(void **state)
{
	check_table(1);
	check_table(2);
	check_table(4);
	check_table(CONFIG_MAX_CPUS);
}

static void test_common_low_memory(void **state)
{
	struct machine *m = fake_ram_machine_create(16ULL << 20, 8, false);
	assert_int_equal(bootmem_write_common(m), 0);
	uint8_t *low = guestmem_ptr(m->mem, 0, 0x100000);
	assert_int_equal(le_get16(low, 0x40e), 0x9fc0);  /* EBDA segment */
	assert_int_equal(le_get16(low, 0x413), 639);     /* base memory, KiB */
	assert_memory_equal(low + 0xf0000, "_MP_", 4);
	assert_int_equal(sum(low + 0xf0010, le_get16(low, 0xf0014)), 0);
	assert_int_equal(le_get64(low, BOOT_GDT + 0x08), 0x00cf9b000000ffffULL);
	fake_ram_machine_destroy(m);
}

static void test_e820_view(void **state)
{
	struct machine *m = fake_ram_machine_create(64ULL << 20, 1, true);
	/* A reserved hole carved out of RAM at 32 MiB, added last. */
	machine_add_e820(m, 0x2000000, 0x100000, E820_RESERVED);
	machine_add_e820(m, 0x3000000, 0x1000, 77);

	struct e820_entry map[E820_MAX];
	unsigned n = bootmem_e820(m, map);
	assert_int_equal(n, m->ne820);
	for (unsigned i = 1; i < n; i++)
		assert_true(map[i - 1].addr <= map[i].addr);
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[n - 1].addr, 0xfeffc000);
	assert_int_equal(bootmem_e820_type(77), E820_RESERVED);
	assert_int_equal(bootmem_e820_type(E820_ACPI), E820_ACPI);

	assert_true(bootmem_is_ram(m, 0x100000, 0x1000000));
	assert_false(bootmem_is_ram(m, 0x1f00000, 0x200000));  /* into the hole */
	assert_false(bootmem_is_ram(m, 0x9f000, 0x2000));       /* into the EBDA */
	assert_false(bootmem_is_ram(m, 0x3fff000, 0x2000));     /* past the end */
	assert_false(bootmem_is_ram(m, UINT64_MAX - 10, 100));  /* wraps */
	assert_true(bootmem_is_ram(m, 0x3fff000, 0x1000));
	assert_int_equal(bootmem_ram_end(m, 0x100000), 0x2000000);
	assert_int_equal(bootmem_ram_end(m, 0x2100000), 0x3000000);
	assert_int_equal(bootmem_ram_end(m, 0), 0x9fc00);
	assert_int_equal(bootmem_ram_end(m, 0xa0000), 0);
	fake_ram_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mptable_sizes),
		cmocka_unit_test(test_common_low_memory),
		cmocka_unit_test(test_e820_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
