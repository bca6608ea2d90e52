/*
 * Unit tests for the multiboot loader (src/boot/multiboot.c): ELF32 and
 * a.out-kludge images, bss zeroing, entry translation, modules, the boot
 * information structure and the 32-bit start state; and that every bad
 * header, segment or module is refused with -EINVAL before guest memory
 * changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "fake_ram_machine.h"
#include "guestmem.h"
#include "le_bytes.h"

#define MEM (32ULL << 20)
#define IMG_MAX 16384
#define MB_MAGIC 0x1badb002u
#define HDR_OFF 0x100                   /* where our images put the header */

struct fixture {
	struct machine *m;
	uint8_t img[IMG_MAX];
	size_t len;
	char *kernel;
	char *modules[3];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->m = fake_ram_machine_create(MEM, 1, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fake_ram_machine_unlink(f->kernel);
	for (int i = 0; i < 3; i++)
		fake_ram_machine_unlink(f->modules[i]);
	fake_ram_machine_destroy(f->m);
	free(f);
	return 0;
}

static void put_header(uint8_t *img, size_t off, uint32_t flags)
{
	le_put32(img, off, MB_MAGIC);
	le_put32(img, off + 4, flags);
	le_put32(img, off + 8, (uint32_t)-(MB_MAGIC + flags));
}

/* An ELF32 executable: two PT_LOADs (text linked at 0xc0100000 but loaded
 * at 1 MiB, data at 3 MiB with 0x3000 bytes of bss) and the header. */
static void make_elf(struct fixture *f)
{
	uint8_t *p = f->img;
	memset(p, 0, IMG_MAX);
	memcpy(p, "\177ELF\1\1\1", 7);
	le_put16(p, 16, 2);                     /* ET_EXEC */
	le_put16(p, 18, 3);                     /* EM_386 */
	le_put32(p, 20, 1);
	le_put32(p, 24, 0xc0100000 + 0x1000);   /* e_entry: virtual */
	le_put32(p, 28, 52);                    /* e_phoff */
	le_put16(p, 40, 52);
	le_put16(p, 42, 32);
	le_put16(p, 44, 2);
	uint8_t *ph = p + 52;
	le_put32(ph, 0, 1);                     /* text: file 0x0-0x2000 */
	le_put32(ph, 4, 0);
	le_put32(ph, 8, 0xc0100000);
	le_put32(ph, 12, 0x100000);
	le_put32(ph, 16, 0x2000);
	le_put32(ph, 20, 0x2000);
	ph += 32;
	le_put32(ph, 0, 1);                     /* data: file 0x2000-0x2800 */
	le_put32(ph, 4, 0x2000);
	le_put32(ph, 8, 0x300000);
	le_put32(ph, 12, 0x300000);
	le_put32(ph, 16, 0x800);
	le_put32(ph, 20, 0x3800);
	put_header(p, HDR_OFF, 0x3);
	for (size_t i = 0x1000; i < 0x2800; i++)
		p[i] = (uint8_t)(i * 13 + 5);
	f->len = 0x2800;
}

/* A flat image with the a.out kludge: loaded at 2 MiB, header at offset
 * HDR_OFF, 0x1000 bytes of file then bss up to 0x3000, entry at +0x200. */
static void make_aout(struct fixture *f)
{
	uint8_t *p = f->img;
	memset(p, 0, IMG_MAX);
	put_header(p, HDR_OFF, 0x10003);
	le_put32(p, HDR_OFF + 12, 0x200000 + HDR_OFF);  /* header_addr */
	le_put32(p, HDR_OFF + 16, 0x200000);            /* load_addr */
	le_put32(p, HDR_OFF + 20, 0x201000);            /* load_end_addr */
	le_put32(p, HDR_OFF + 24, 0x203000);            /* bss_end_addr */
	le_put32(p, HDR_OFF + 28, 0x200200);            /* entry_addr */
	for (size_t i = 0x200; i < 0x1400; i++)
		p[i] = (uint8_t)(i * 3 + 1);
	f->len = 0x1400;                /* 0x400 bytes past load_end: not loaded */
}

static int boot(struct fixture *f, const char *append)
{
	fake_ram_machine_unlink(f->kernel);
	f->kernel = fake_ram_machine_file(f->img, f->len);
	free(f->m->cfg->multiboot.path);
	f->m->cfg->multiboot.path = strdup(f->kernel);
	free(f->m->cfg->append);
	f->m->cfg->append = append ? strdup(append) : NULL;
	return boot_multiboot(f->m);
}

static void add_module(struct fixture *f, const void *data, size_t len, const char *args)
{
	struct config *cfg = f->m->cfg;
	unsigned i = cfg->nmodules++;
	f->modules[i] = fake_ram_machine_file(data, len);
	cfg->modules[i].file.path = strdup(f->modules[i]);
	cfg->modules[i].args = strdup(args);
}

static uint8_t *ram(struct fixture *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guestmem_ptr(f->m->mem, gpa, len);
	assert_non_null(p);
	return p;
}

static const char *ram_str(struct fixture *f, uint32_t gpa)
{
	return (const char *)ram(f, gpa, 1);
}

static void test_elf_segments_and_state(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	fake_ram_machine_fill(f->m, 0xa5);      /* so zeroing is visible */
	assert_int_equal(boot(f, "one two"), 0);

	assert_memory_equal(ram(f, 0x100000, 0x2000), f->img, 0x2000);
	assert_memory_equal(ram(f, 0x300000, 0x800), f->img + 0x2000, 0x800);
	for (uint64_t a = 0x300800; a < 0x303800; a++)
		assert_int_equal(*ram(f, a, 1), 0);
	assert_int_equal(*ram(f, 0x303800, 1), 0xa5);  /* and no further */

	const struct machine_boot *b = &f->m->boot;
	assert_true(b->valid);
	assert_int_equal(b->regs.rip, 0x101000);        /* e_entry translated */
	assert_int_equal(b->regs.rax, 0x2badb002);
	assert_int_equal(b->regs.rbx, BOOT_INFO);
	assert_int_equal(b->regs.rflags, 0x2);
	assert_int_equal(b->sregs.cr0 & 0x80000001, 1); /* PE on, PG off */
	assert_int_equal(b->sregs.efer, 0);
	assert_int_equal(b->sregs.cs.db, 1);
	assert_int_equal(b->sregs.cs.l, 0);
	assert_int_equal(b->sregs.cs.limit, 0xffffffff);
	assert_int_equal(b->sregs.cs.base, 0);
	assert_int_equal(b->sregs.ds.limit, 0xffffffff);
	assert_int_equal(b->sregs.ss.type, 3);

	uint8_t *mbi = ram(f, BOOT_INFO, 0x80);
	assert_int_equal(le_get32(mbi, 0), 0x24d);
	assert_int_equal(le_get32(mbi, 4), 639);
	assert_int_equal(le_get32(mbi, 8), (MEM >> 10) - 1024);
	/* GRUB's convention: the kernel's name first. */
	char want[512];
	snprintf(want, sizeof(want), "%s one two", f->kernel);
	assert_string_equal(ram_str(f, le_get32(mbi, 16)), want);
	assert_string_equal(ram_str(f, le_get32(mbi, 64)), "Lodge");
	assert_int_equal(le_get32(mbi, 20), 0);         /* no modules */

	/* The memory map: 4 entries of 24 bytes, sorted, size field 20. */
	assert_int_equal(le_get32(mbi, 44), 4 * 24);
	uint8_t *mm = ram(f, le_get32(mbi, 48), 4 * 24);
	assert_int_equal(le_get32(mm, 0), 20);
	assert_int_equal(le_get64(mm, 4), 0);
	assert_int_equal(le_get64(mm, 12), 0x9fc00);
	assert_int_equal(le_get32(mm, 20), 1);
	assert_int_equal(le_get64(mm, 3 * 24 + 4), 0x100000);
	assert_int_equal(le_get64(mm, 3 * 24 + 12), MEM - 0x100000);
	assert_int_equal(le_get32(mm, 3 * 24 + 20), 1);
	assert_int_equal(le_get32(mm, 1 * 24 + 20), 2);
}

static void test_aout_kludge(void **state)
{
	struct fixture *f = *state;
	make_aout(f);
	fake_ram_machine_fill(f->m, 0xa5);
	assert_int_equal(boot(f, NULL), 0);
	assert_memory_equal(ram(f, 0x200000, 0x1000), f->img, 0x1000);
	for (uint64_t a = 0x201000; a < 0x203000; a++)
		assert_int_equal(*ram(f, a, 1), 0);
	assert_int_equal(f->m->boot.regs.rip, 0x200200);
	/* No --append: just the name. */
	assert_string_equal(ram_str(f, le_get32(ram(f, BOOT_INFO, 32), 16)), f->kernel);
}

static void test_aout_load_to_end_of_file(void **state)
{
	struct fixture *f = *state;
	make_aout(f);
	le_put32(f->img, HDR_OFF + 20, 0);      /* load_end_addr 0: whole file */
	le_put32(f->img, HDR_OFF + 24, 0);      /* no bss */
	assert_int_equal(boot(f, NULL), 0);
	assert_memory_equal(ram(f, 0x200000, 0x1400), f->img, 0x1400);
}

static void test_modules(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	uint8_t one[5000], two[3] = { 'a', 'b', 'c' };
	memset(one, 0x11, sizeof(one));
	add_module(f, one, sizeof(one), "one.bin arg");
	add_module(f, two, sizeof(two), "two.bin");
	add_module(f, "", 0, "empty");
	assert_int_equal(boot(f, NULL), 0);

	uint8_t *mbi = ram(f, BOOT_INFO, 0x80);
	assert_int_equal(le_get32(mbi, 20), 3);
	uint8_t *mods = ram(f, le_get32(mbi, 24), 48);
	/* Page-aligned, after the kernel's end (its bss ends at 0x303800). */
	assert_int_equal(le_get32(mods, 0), 0x304000);
	assert_int_equal(le_get32(mods, 4), 0x304000 + sizeof(one));
	assert_string_equal(ram_str(f, le_get32(mods, 8)), "one.bin arg");
	assert_int_equal(le_get32(mods, 16), 0x306000);
	assert_int_equal(le_get32(mods, 20), 0x306003);
	assert_string_equal(ram_str(f, le_get32(mods, 24)), "two.bin");
	assert_int_equal(le_get32(mods, 32), 0x307000);
	assert_int_equal(le_get32(mods, 36), 0x307000);
	assert_string_equal(ram_str(f, le_get32(mods, 40)), "empty");
	assert_memory_equal(ram(f, 0x304000, sizeof(one)), one, sizeof(one));
	assert_memory_equal(ram(f, 0x306000, 3), two, 3);
}

static void test_reboot_reloads(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	assert_int_equal(boot(f, NULL), 0);
	memset(ram(f, 0x300000, 0x3800), 0xee, 0x3800);
	memset(ram(f, BOOT_INFO, 0x80), 0xee, 0x80);
	assert_int_equal(boot_multiboot(f->m), 0);
	assert_memory_equal(ram(f, 0x300000, 0x800), f->img + 0x2000, 0x800);
	assert_int_equal(*ram(f, 0x3037ff, 1), 0);
	assert_int_equal(le_get32(ram(f, BOOT_INFO, 4), 0), 0x24d);
}

/* -EINVAL and guest memory exactly as before. */
static void expect_refused(struct fixture *f, const char *append)
{
	fake_ram_machine_fill(f->m, 0xa5);
	assert_int_equal(boot(f, append), -EINVAL);
	assert_true(fake_ram_machine_all(f->m, 0xa5));
	assert_false(f->m->boot.valid);
}

static void test_refuses_no_header(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	memset(f->img + HDR_OFF, 0, 12);
	expect_refused(f, NULL);
}

static void test_refuses_bad_checksum(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	f->img[HDR_OFF + 8] ^= 1;
	expect_refused(f, NULL);
}

static void test_refuses_header_too_far(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	memset(f->img + HDR_OFF, 0, 12);
	put_header(f->img, 8192, 0x3);          /* just past the search area */
	f->len = 8192 + 12;
	expect_refused(f, NULL);
}

static void test_header_at_end_of_search_area(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	memset(f->img + HDR_OFF, 0, 12);
	put_header(f->img, 8192 - 12, 0x3);     /* last place it may be */
	f->len = 0x2800;
	assert_int_equal(boot(f, NULL), 0);
}

static void test_refuses_multiboot2(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	memset(f->img + HDR_OFF, 0, 12);
	le_put32(f->img, HDR_OFF, 0xe85250d6);
	expect_refused(f, NULL);
}

static void test_refuses_unmet_requirements(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	put_header(f->img, HDR_OFF, 0x7);       /* bit 2: a video mode */
	expect_refused(f, NULL);
	put_header(f->img, HDR_OFF, 0x8003);    /* bit 15: unknown */
	expect_refused(f, NULL);
	put_header(f->img, HDR_OFF, 0x80000003); /* bit 31 is optional */
	assert_int_equal(boot(f, NULL), 0);
}

static void test_refuses_bad_elf(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	f->img[4] = 2;                          /* ELFCLASS64 */
	expect_refused(f, NULL);
	make_elf(f);
	le_put16(f->img, 18, 62);               /* EM_X86_64 */
	expect_refused(f, NULL);
	make_elf(f);
	le_put16(f->img, 44, 500);              /* absurdly many phdrs */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(f->img, 28, 0x27f0);           /* phdrs past the end */
	expect_refused(f, NULL);
	make_elf(f);
	le_put16(f->img, 42, 16);               /* phdrs too small */
	expect_refused(f, NULL);
	make_elf(f);
	memcpy(f->img, "\177ELG", 4);           /* no ELF, no kludge */
	expect_refused(f, NULL);
}

static void test_refuses_bad_segments(void **state)
{
	struct fixture *f = *state;
	uint8_t *ph2 = f->img + 52 + 32;
	make_elf(f);
	le_put32(ph2, 16, 0x4000);              /* filesz > memsz */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 4, 0x2400);               /* file bytes past the end */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 12, MEM - 0x1000);        /* runs past the end of RAM */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 12, 0x9f000);             /* into the EBDA */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 12, 0x10000);             /* over the boot information */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 12, 0xfffff000);          /* wraps past 4 GiB */
	le_put32(ph2, 20, 0x2000);
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(ph2, 12, 0x101000);            /* overlaps the text */
	expect_refused(f, NULL);
	make_elf(f);
	le_put32(f->img, 24, 0xd0000000);       /* entry in no segment */
	expect_refused(f, NULL);
}

static void test_refuses_bad_aout(void **state)
{
	struct fixture *f = *state;
	make_aout(f);
	le_put32(f->img, HDR_OFF + 16, 0x200200);       /* load_addr > header_addr */
	expect_refused(f, NULL);
	make_aout(f);
	le_put32(f->img, HDR_OFF + 12, 0x100000 + HDR_OFF);
	le_put32(f->img, HDR_OFF + 16, 0x0ff000);       /* starts before the file */
	expect_refused(f, NULL);
	make_aout(f);
	le_put32(f->img, HDR_OFF + 20, 0x202000);       /* load_end past the file */
	expect_refused(f, NULL);
	make_aout(f);
	le_put32(f->img, HDR_OFF + 24, 0x200800);       /* bss_end < load_end */
	expect_refused(f, NULL);
	make_aout(f);
	le_put32(f->img, HDR_OFF + 28, 0x204000);       /* entry outside */
	expect_refused(f, NULL);
	make_aout(f);
	f->len = HDR_OFF + 20;                          /* header cut short */
	expect_refused(f, NULL);
}

static void test_refuses_bad_modules(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	add_module(f, "x", 1, "ok");
	f->m->cfg->modules[1].file.path = strdup("/nonexistent/module");
	f->m->cfg->modules[1].args = strdup("missing");
	f->m->cfg->nmodules = 2;
	expect_refused(f, NULL);

	free(f->m->cfg->modules[1].file.path);
	free(f->m->cfg->modules[1].args);
	f->m->cfg->nmodules = 1;
	size_t big = MEM - 0x304000 + 1;        /* one byte too many */
	uint8_t *data = calloc(1, big);
	fake_ram_machine_unlink(f->modules[0]);
	f->modules[0] = fake_ram_machine_file(data, big);
	free(f->m->cfg->modules[0].file.path);
	f->m->cfg->modules[0].file.path = strdup(f->modules[0]);
	expect_refused(f, NULL);
	/* One byte less fits exactly. */
	fake_ram_machine_unlink(f->modules[0]);
	f->modules[0] = fake_ram_machine_file(data, big - 1);
	free(f->m->cfg->modules[0].file.path);
	f->m->cfg->modules[0].file.path = strdup(f->modules[0]);
	assert_int_equal(boot(f, NULL), 0);
	free(data);
}

static void test_refuses_huge_cmdline(void **state)
{
	struct fixture *f = *state;
	make_elf(f);
	char *line = malloc(70000);
	memset(line, 'y', 69999);
	line[69999] = 0;
	expect_refused(f, line);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_elf_segments_and_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aout_kludge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aout_load_to_end_of_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot_reloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_no_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_header_too_far, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_at_end_of_search_area, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_multiboot2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unmet_requirements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_aout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_huge_cmdline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
