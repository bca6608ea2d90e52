/*
 * Unit tests for the Linux loader (src/boot/bzimage.c): what a good image
 * leaves in guest memory and in the BSP's start state, where the initrd
 * goes, and that every kind of malformed image or impossible layout is
 * refused with -EINVAL before a single byte of guest memory changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "fake_ram_machine.h"
#include "le_bytes.h"
#include "guestmem.h"

#define MEM (64ULL << 20)
#define SETUP_SECTS 1
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE 8192
#define IMAGE_SIZE (SETUP_SIZE + KERNEL_SIZE)
#define PREF 0x1000000ULL
#define HDR_END 0x26c

struct fixture {
	struct machine *m;
	uint8_t img[IMAGE_SIZE];
	char *kernel, *initrd;
};

/* A small but complete bzImage: protocol 2.15, relocatable, 64-bit entry. */
static void make_image(uint8_t *img)
{
	memset(img, 0, IMAGE_SIZE);
	img[0x1f1] = SETUP_SECTS;
	le_put32(img, 0x1f4, KERNEL_SIZE / 16);
	le_put16(img, 0x1fa, 0xfffd);
	le_put16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = HDR_END - 0x202;
	memcpy(img + 0x202, "HdrS", 4);
	le_put16(img, 0x206, 0x020f);
	img[0x211] = 0x01;                      /* LOADED_HIGH */
	le_put32(img, 0x22c, 0x7fffffff);          /* initrd_addr_max */
	le_put32(img, 0x230, 0x200000);            /* kernel_alignment */
	img[0x234] = 1;                         /* relocatable */
	le_put16(img, 0x236, 0x0001);              /* XLF_KERNEL_64 */
	le_put32(img, 0x238, 255);                 /* cmdline_size */
	le_put64(img, 0x250, 0xdeadbeef);          /* setup_data: must not pass */
	le_put64(img, 0x258, PREF);
	le_put32(img, 0x260, 0x20000);             /* init_size */
	for (size_t i = 0; i < KERNEL_SIZE; i++)
		img[SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->m = fake_ram_machine_create(MEM, 1, true);
	make_image(f->img);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fake_ram_machine_unlink(f->kernel);
	fake_ram_machine_unlink(f->initrd);
	fake_ram_machine_destroy(f->m);
	free(f);
	return 0;
}

/* Write the image (its first len bytes) and point the config at it. */
static int boot(struct fixture *f, size_t len, const char *append)
{
	fake_ram_machine_unlink(f->kernel);
	f->kernel = fake_ram_machine_file(f->img, len);
	free(f->m->cfg->kernel.path);
	f->m->cfg->kernel.path = strdup(f->kernel);
	free(f->m->cfg->append);
	f->m->cfg->append = append ? strdup(append) : NULL;
	return boot_linux(f->m);
}

static void set_initrd(struct fixture *f, const void *data, size_t len)
{
	fake_ram_machine_unlink(f->initrd);
	f->initrd = fake_ram_machine_file(data, len);
	free(f->m->cfg->initrd.path);
	f->m->cfg->initrd.path = strdup(f->initrd);
}

static uint8_t *ram(struct fixture *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guestmem_ptr(f->m->mem, gpa, len);
	assert_non_null(p);
	return p;
}

static void test_good_image(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(boot(f, IMAGE_SIZE, "console=ttyS0 quiet"), 0);

	/* The protected-mode kernel, and nothing of the setup, at pref_address. */
	assert_memory_equal(ram(f, PREF, KERNEL_SIZE), f->img + SETUP_SIZE, KERNEL_SIZE);

	/* The zero page: the image's setup header plus the loader's fields. */
	uint8_t *zp = ram(f, BOOT_INFO, 4096);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x1f1], SETUP_SECTS);
	assert_int_equal(le_get32(zp, 0x1f4), KERNEL_SIZE / 16);
	assert_int_equal(le_get32(zp, 0x260), 0x20000);
	assert_int_equal(le_get16(zp, 0x1fa), 0xffff);     /* vid_mode: normal */
	assert_int_equal(zp[0x210], 0xff);              /* type_of_loader */
	assert_int_equal(zp[0x211], 0x81);              /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(le_get16(zp, 0x224), 0xfe00);     /* heap_end_ptr */
	assert_int_equal(le_get32(zp, 0x228), BOOT_CMDLINE);
	assert_int_equal(le_get64(zp, 0x250), 0);          /* setup_data */
	assert_int_equal(le_get32(zp, 0x218), 0);          /* no initrd */
	assert_int_equal(le_get32(zp, 0x21c), 0);
	/* Nothing past the header, and screen_info says "no VGA console". */
	assert_int_equal(zp[HDR_END], 0);
	assert_int_equal(zp[0x07], 0);                  /* orig_video_cols */
	assert_int_equal(zp[0x0e], 0);                  /* orig_video_lines */
	assert_int_equal(le_get16(zp, 0x02), 0xfc00);      /* ext_mem_k, capped */
	assert_int_equal(le_get32(zp, 0x1e0), (MEM >> 10) - 1024);
	assert_string_equal((char *)ram(f, BOOT_CMDLINE, 20), "console=ttyS0 quiet");

	/* e820: sorted by address, KVM's pages (added first) last. */
	assert_int_equal(zp[0x1e8], 5);
	static const uint64_t want[5][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 },
		{ 0x100000, MEM - 0x100000, 1 }, { 0xfeffc000, 0x4000, 2 },
	};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(le_get64(zp, 0x2d0 + i * 20), want[i][0]);
		assert_int_equal(le_get64(zp, 0x2d0 + i * 20 + 8), want[i][1]);
		assert_int_equal(le_get32(zp, 0x2d0 + i * 20 + 16), want[i][2]);
	}

	/* The start state of the 64-bit boot protocol. */
	const struct machine_boot *b = &f->m->boot;
	assert_true(b->valid);
	assert_int_equal(b->regs.rip, PREF + 0x200);
	assert_int_equal(b->regs.rsi, BOOT_INFO);
	assert_int_equal(b->regs.rflags & 0x200, 0);    /* interrupts off */
	assert_int_equal(b->sregs.cs.selector, 0x10);
	assert_int_equal(b->sregs.cs.l, 1);
	assert_int_equal(b->sregs.cs.db, 0);
	assert_int_equal(b->sregs.ds.selector, 0x18);
	assert_int_equal(b->sregs.ss.selector, 0x18);
	assert_int_equal(b->sregs.es.selector, 0x18);
	assert_int_equal(b->sregs.efer & 0x500, 0x500); /* LME | LMA */
	assert_int_equal(b->sregs.cr0 & 0x80000001, 0x80000001);
	assert_int_equal(b->sregs.cr4 & 0x20, 0x20);
	assert_int_equal(b->sregs.gdt.base, BOOT_GDT);

	/* The GDT has __BOOT_CS = 64-bit code and __BOOT_DS = flat data. */
	uint8_t *gdt = ram(f, BOOT_GDT, 32);
	assert_int_equal(le_get64(gdt, 0x10), 0x00af9b000000ffffULL);
	assert_int_equal(le_get64(gdt, 0x18), 0x00cf93000000ffffULL);

	/* The identity map covers 4 GiB: walk it for a few addresses. */
	uint64_t cr3 = b->sregs.cr3;
	uint64_t pml4e = le_get64(ram(f, cr3, 8), 0);
	assert_int_equal(pml4e & 1, 1);
	for (uint64_t va = 0; va < 0x100000000ULL; va += 0x3fe00000ULL) {
		uint64_t pdpte = le_get64(ram(f, (pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8, 8), 0);
		assert_int_equal(pdpte & 1, 1);
		uint64_t pde = le_get64(ram(f, (pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8, 8), 0);
		assert_int_equal(pde & 0x83, 0x83);     /* present, writable, 2 MiB */
		assert_int_equal(pde & ~0x1fffffULL, va & ~0x1fffffULL);
	}

	/* An MP table for the one CPU. */
	assert_memory_equal(ram(f, BOOT_MPTABLE, 4), "_MP_", 4);
}

static void test_initrd_goes_high(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[10000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	set_initrd(f, data, sizeof(data));
	assert_int_equal(boot(f, IMAGE_SIZE, NULL), 0);
	uint8_t *zp = ram(f, BOOT_INFO, 4096);
	uint32_t addr = le_get32(zp, 0x218);
	/* The highest page boundary that leaves room below the end of RAM. */
	assert_int_equal(addr, (MEM - sizeof(data)) & ~0xfffULL);
	assert_int_equal(le_get32(zp, 0x21c), sizeof(data));
	assert_memory_equal(ram(f, addr, sizeof(data)), data, sizeof(data));
	assert_string_equal((char *)ram(f, BOOT_CMDLINE, 1), "");
}

static void test_initrd_below_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	uint8_t data[100] = { 1, 2, 3 };
	le_put32(f->img, 0x22c, 0x2000000 - 1);    /* 32 MiB */
	set_initrd(f, data, sizeof(data));
	assert_int_equal(boot(f, IMAGE_SIZE, NULL), 0);
	assert_int_equal(le_get32(ram(f, BOOT_INFO, 4096), 0x218), 0x2000000 - 0x1000);
}

static void test_reboot_restores_everything(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(boot(f, IMAGE_SIZE, "a b c"), 0);
	/* The guest scribbles over its kernel, zero page and page tables... */
	memset(ram(f, PREF, KERNEL_SIZE), 0xcc, KERNEL_SIZE);
	memset(ram(f, BOOT_INFO, 4096), 0xcc, 4096);
	memset(ram(f, BOOT_PAGE_TABLES, 0x6000), 0xcc, 0x6000);
	memset(&f->m->boot, 0, sizeof(f->m->boot));
	/* ...and the reset runs the loader again. */
	assert_int_equal(boot_linux(f->m), 0);
	assert_memory_equal(ram(f, PREF, KERNEL_SIZE), f->img + SETUP_SIZE, KERNEL_SIZE);
	assert_int_equal(ram(f, BOOT_INFO, 4096)[0x210], 0xff);
	assert_int_equal(ram(f, BOOT_INFO, 4096)[0x800], 0);
	assert_int_equal(le_get64(ram(f, BOOT_PAGE_TABLES + 0x2000, 8), 0), 0x83);
	assert_string_equal((char *)ram(f, BOOT_CMDLINE, 6), "a b c");
	assert_true(f->m->boot.valid);
	assert_int_equal(f->m->boot.regs.rip, PREF + 0x200);
}

/* A broken image or layout: -EINVAL and guest memory exactly as before. */
static void expect_refused(struct fixture *f, size_t len, const char *append)
{
	fake_ram_machine_fill(f->m, 0xa5);
	assert_int_equal(boot(f, len, append), -EINVAL);
	assert_true(fake_ram_machine_all(f->m, 0xa5));
	assert_false(f->m->boot.valid);
}

static void test_refuses_tiny_file(void **state)
{
	expect_refused(*state, 0x200, NULL);
}

static void test_refuses_elf(void **state)
{
	struct fixture *f = *state;
	memcpy(f->img, "\177ELF", 4);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_bad_boot_flag(void **state)
{
	struct fixture *f = *state;
	le_put16(f->img, 0x1fe, 0x55aa);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_missing_hdrs(void **state)
{
	struct fixture *f = *state;
	memcpy(f->img + 0x202, "HdrZ", 4);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_old_protocol(void **state)
{
	struct fixture *f = *state;
	le_put16(f->img, 0x206, 0x020b);           /* 2.11: no xloadflags yet */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_header_past_its_space(void **state)
{
	struct fixture *f = *state;
	f->img[0x201] = 0xff;                   /* header would end at 0x301 */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_32bit_only(void **state)
{
	struct fixture *f = *state;
	le_put16(f->img, 0x236, 0);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_zimage(void **state)
{
	struct fixture *f = *state;
	f->img[0x211] = 0;
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_setup_past_end(void **state)
{
	struct fixture *f = *state;
	f->img[0x1f1] = 200;                    /* 100 KiB of setup code */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_truncated_kernel(void **state)
{
	struct fixture *f = *state;
	/* The file ends before the syssize the header promises. */
	expect_refused(f, IMAGE_SIZE - 16, NULL);
}

static void test_refuses_zero_syssize(void **state)
{
	struct fixture *f = *state;
	le_put32(f->img, 0x1f4, 0);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_kernel_bigger_than_ram(void **state)
{
	struct fixture *f = *state;
	le_put32(f->img, 0x260, 0x4000000);        /* init_size 64 MiB from 16 MiB */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_bad_pref_address(void **state)
{
	struct fixture *f = *state;
	le_put64(f->img, 0x258, 0x1010000);        /* not 2 MiB aligned */
	expect_refused(f, IMAGE_SIZE, NULL);
	le_put64(f->img, 0x258, 0x80000);          /* below 1 MiB */
	expect_refused(f, IMAGE_SIZE, NULL);
	le_put64(f->img, 0x258, 0x100000000ULL);   /* above 4 GiB */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_bad_alignment(void **state)
{
	struct fixture *f = *state;
	le_put32(f->img, 0x230, 0x300000);         /* not a power of two */
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_long_cmdline(void **state)
{
	struct fixture *f = *state;
	char line[257];
	memset(line, 'x', 256);
	line[256] = 0;
	expect_refused(f, IMAGE_SIZE, line);
	line[255] = 0;                          /* exactly cmdline_size fits */
	fake_ram_machine_fill(f->m, 0);
	assert_int_equal(boot(f, IMAGE_SIZE, line), 0);
}

static void test_refuses_initrd_too_big(void **state)
{
	struct fixture *f = *state;
	/* 48 MiB above a kernel that needs 16-16.125 MiB of a 64 MiB VM. */
	size_t len = 48u << 20;
	uint8_t *data = calloc(1, len);
	set_initrd(f, data, len);
	free(data);
	expect_refused(f, IMAGE_SIZE, NULL);
}

static void test_refuses_missing_files(void **state)
{
	struct fixture *f = *state;
	free(f->m->cfg->initrd.path);
	f->m->cfg->initrd.path = strdup("/nonexistent/initrd");
	expect_refused(f, IMAGE_SIZE, NULL);
	free(f->m->cfg->kernel.path);
	f->m->cfg->kernel.path = strdup("/nonexistent/bzImage");
	assert_int_equal(boot_linux(f->m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_goes_high, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_below_initrd_addr_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot_restores_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_tiny_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_boot_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_missing_hdrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_old_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_header_past_its_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_32bit_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_zimage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_setup_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_truncated_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_zero_syssize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_kernel_bigger_than_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_pref_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_long_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_initrd_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_missing_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
