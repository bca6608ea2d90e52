/*
 * bzimage: booting a Linux bzImage directly through the 64-bit boot protocol
 * (Linux Documentation/arch/x86/boot.rst: "The Real-Mode Kernel Header",
 * "Details of Header Fields", "64-bit Boot Protocol"; zero-page.rst).
 *
 * The real-mode setup code in the image is never run. Like a boot loader
 * that uses the 64-bit entry, we:
 *   1. check the setup header (boot sector signature, "HdrS", protocol 2.12
 *      or later with XLF_KERNEL_64, sizes that agree with the file and RAM);
 *   2. load the protected-mode kernel (everything after the setup sectors)
 *      at pref_address, where it decompresses itself within init_size bytes;
 *   3. put the initrd as high as it can go below initrd_addr_max and the end
 *      of low RAM, and the command line in low memory;
 *   4. build the zero page (struct boot_params): the image's setup header,
 *      the loader fields, the e820 map;
 *   5. start the BSP in 64-bit mode with paging on: an identity map of the
 *      first 4 GiB, CS = __BOOT_CS (0x10), DS/ES/SS = __BOOT_DS (0x18),
 *      interrupts off, RIP = load address + 0x200, RSI = the zero page.
 * Steps 1-3 only read the image and plan; guest memory is written once the
 * whole plan is known to fit, so a bad image leaves the VM untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "guestmem.h"
#include "log.h"
#include "machine.h"

/* Setup header fields, as offsets in the image and in boot_params. */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_EXT_LOADER_VER 0x226
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_END 0x264               /* init_size is the last field we use */
#define HDR_MAX_END 0x290               /* boot_params.edd_mbr_sig_buffer */

/* Other boot_params fields (zero-page.rst). */
#define ZP_SIZE 4096
#define ZP_EXT_MEM_K 0x002              /* screen_info.ext_mem_k */
#define ZP_ALT_MEM_K 0x1e0
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_MAX 128

#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448           /* "HdrS" */
#define PROTOCOL_MIN 0x020c             /* 2.12: xloadflags */
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define LOADER_UNDEFINED 0xff           /* type_of_loader: no assigned ID */
#define VID_MODE_NORMAL 0xffff
#define HEAP_END 0xfe00                 /* the documented end of setup heap */

#define ONE_MIB 0x100000ULL
#define FOUR_GIB 0x100000000ULL
#define PAGE 4096ULL

/* Page tables: 2 MiB pages identity-mapping [0, 4 GiB). */
#define PT_PML4 (BOOT_PAGE_TABLES)
#define PT_PDPT (BOOT_PAGE_TABLES + 0x1000)
#define PT_PD (BOOT_PAGE_TABLES + 0x2000)
#define PT_PDS 4
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

#define CR0_PE 0x00000001ULL
#define CR0_MP 0x00000002ULL
#define CR0_ET 0x00000010ULL
#define CR0_NE 0x00000020ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

/* What the checks decided; written to the guest only when all passed. */
struct bzimage_plan {
	const char *path;
	const uint8_t *img;
	uint64_t img_size;
	size_t hdr_end;                 /* end of the setup header in the image */
	uint64_t setup_size;            /* real-mode part, not loaded */
	uint64_t kernel_addr, kernel_size, kernel_span;
	const char *cmdline;
	size_t cmdline_len;
	const uint8_t *initrd;
	uint64_t initrd_addr, initrd_size;
};

static uint16_t bz_get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t bz_get32(const uint8_t *p, size_t off)
{
	return (uint32_t)bz_get16(p, off) | (uint32_t)bz_get16(p, off + 2) << 16;
}

static uint64_t bz_get64(const uint8_t *p, size_t off)
{
	return bz_get32(p, off) | (uint64_t)bz_get32(p, off + 4) << 32;
}

static void bz_put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void bz_put32(uint8_t *p, size_t off, uint32_t v)
{
	bz_put16(p, off, (uint16_t)v);
	bz_put16(p, off + 2, (uint16_t)(v >> 16));
}

static void bz_put64(uint8_t *p, size_t off, uint64_t v)
{
	bz_put32(p, off, (uint32_t)v);
	bz_put32(p, off + 4, (uint32_t)(v >> 32));
}

static uint64_t bz_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Main thread: step 1, the setup header. */
static int bzimage_check_header(struct bzimage_plan *p)
{
	const uint8_t *img = p->img;
	const char *path = p->path;

	if (p->img_size >= 4 && !memcmp(img, "\177ELF", 4)) {
		log_err("boot", "kernel '%s' is an ELF file (vmlinux), not a bzImage; give "
			"arch/x86/boot/bzImage or /boot/vmlinuz-*", path);
		return -EINVAL;
	}
	if (p->img_size < HDR_MIN_END) {
		log_err("boot", "kernel '%s' is %llu bytes, too small to hold a Linux setup header",
			path, (unsigned long long)p->img_size);
		return -EINVAL;
	}
	if (bz_get16(img, HDR_BOOT_FLAG) != BOOT_FLAG) {
		log_err("boot", "kernel '%s' has no boot signature 0xAA55 at offset 0x1fe; it is "
			"not a Linux bzImage", path);
		return -EINVAL;
	}
	if (bz_get32(img, HDR_MAGIC) != HDRS_MAGIC) {
		log_err("boot", "kernel '%s' has no \"HdrS\" setup header at offset 0x202; it is "
			"not a Linux bzImage (or predates Linux 1.3.73)", path);
		return -EINVAL;
	}
	uint16_t version = bz_get16(img, HDR_VERSION);
	if (version < PROTOCOL_MIN) {
		log_err("boot", "kernel '%s' uses boot protocol %u.%02u (offset 0x206); Lodge needs "
			"2.12 or later (Linux 3.8 and newer)", path, version >> 8, version & 0xff);
		return -EINVAL;
	}
	/* The header ends where the jump at 0x200 lands (boot.rst, "64-bit
	 * boot protocol": copy from 0x1f1 to 0x202 + the byte at 0x201). */
	p->hdr_end = 0x202 + (size_t)img[HDR_JUMP + 1];
	if (p->hdr_end < HDR_MIN_END || p->hdr_end > HDR_MAX_END || p->hdr_end > p->img_size) {
		log_err("boot", "kernel '%s' has a setup header ending at %#zx (jump at 0x200), "
			"outside 0x264-0x290 or the file", path, p->hdr_end);
		return -EINVAL;
	}
	if (!(bz_get16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		log_err("boot", "kernel '%s' has no 64-bit entry point (XLF_KERNEL_64 clear in "
			"xloadflags at 0x236); Lodge boots 64-bit x86 kernels only", path);
		return -EINVAL;
	}
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH)) {
		log_err("boot", "kernel '%s' is a zImage that loads below 1 MiB (LOADED_HIGH clear "
			"at 0x211); only bzImages are supported", path);
		return -EINVAL;
	}
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	p->setup_size = (uint64_t)(sects + 1) * 512;
	if (p->setup_size >= p->img_size) {
		log_err("boot", "kernel '%s' is truncated: setup_sects (%u at 0x1f1) says the "
			"setup code alone is %llu bytes, the file has %llu", path, sects,
			(unsigned long long)p->setup_size, (unsigned long long)p->img_size);
		return -EINVAL;
	}
	p->kernel_size = p->img_size - p->setup_size;
	uint64_t syssize = (uint64_t)bz_get32(img, HDR_SYSSIZE) * 16;
	if (syssize == 0 || syssize > p->kernel_size) {
		log_err("boot", "kernel '%s' is truncated or corrupt: syssize (at 0x1f4) says the "
			"kernel is %llu bytes after the setup code, the file has %llu", path,
			(unsigned long long)syssize, (unsigned long long)p->kernel_size);
		return -EINVAL;
	}
	return 0;
}

/* Main thread: step 2, where the kernel goes and how much RAM it needs. */
static int bzimage_place_kernel(struct machine *m, struct bzimage_plan *p)
{
	const uint8_t *img = p->img;
	const char *path = p->path;
	uint64_t pref = bz_get64(img, HDR_PREF_ADDRESS);
	uint32_t init_size = bz_get32(img, HDR_INIT_SIZE);
	uint32_t align = bz_get32(img, HDR_KERNEL_ALIGNMENT);
	bool relocatable = img[HDR_RELOCATABLE] != 0;

	if (relocatable && (align < PAGE || (align & (align - 1)))) {
		log_err("boot", "kernel '%s' has kernel_alignment %#x (at 0x230), which is not a "
			"power of two of at least 4 KiB", path, align);
		return -EINVAL;
	}
	if (pref < ONE_MIB || pref >= FOUR_GIB || (relocatable && (pref & (align - 1)))) {
		log_err("boot", "kernel '%s' asks to be loaded at %#llx (pref_address at 0x258), "
			"which is not an aligned address between 1 MiB and 4 GiB", path,
			(unsigned long long)pref);
		return -EINVAL;
	}
	p->kernel_addr = pref;
	/* The kernel decompresses in place and needs init_size bytes from its
	 * load address, which is never less than what we copy. */
	p->kernel_span = bz_align_up(init_size > p->kernel_size ? init_size : p->kernel_size, PAGE);
	if (!bootmem_is_ram(m, p->kernel_addr, p->kernel_span)) {
		log_err("boot", "kernel '%s' needs %llu MiB of RAM at %#llx to decompress "
			"(init_size at 0x260), more than this VM has there; give it more memory "
			"(--mem)", path, (unsigned long long)((p->kernel_span + ONE_MIB - 1) >> 20),
			(unsigned long long)p->kernel_addr);
		return -EINVAL;
	}
	return 0;
}

/* Main thread: step 3, the command line and the initrd. */
static int bzimage_place_extras(struct machine *m, struct bzimage_plan *p, const char *initrd_path,
				uint64_t initrd_size)
{
	const uint8_t *img = p->img;
	uint32_t max = bz_get32(img, HDR_CMDLINE_SIZE);
	if (max > BOOT_CMDLINE_MAX - 1)
		max = BOOT_CMDLINE_MAX - 1;
	p->cmdline = m->cfg->append ? m->cfg->append : "";
	p->cmdline_len = strlen(p->cmdline);
	if (p->cmdline_len > max) {
		log_err("boot", "the kernel command line (--append) is %zu bytes; kernel '%s' "
			"accepts at most %u (cmdline_size at 0x238)", p->cmdline_len, p->path, max);
		return -EINVAL;
	}
	if (!p->initrd)
		return 0;

	/* As high as possible: below initrd_addr_max and the end of the RAM
	 * the kernel is in, above the kernel's decompression area. */
	uint64_t top = (uint64_t)bz_get32(img, HDR_INITRD_ADDR_MAX) + 1;
	uint64_t ram_end = bootmem_ram_end(m, p->kernel_addr);
	if (ram_end < top)
		top = ram_end;
	uint64_t bottom = p->kernel_addr + p->kernel_span;
	p->initrd_size = initrd_size;
	if (top < bottom || top - bottom < bz_align_up(initrd_size, PAGE)) {
		uint64_t room = top > bottom ? top - bottom : 0;
		log_err("boot", "initrd '%s' is %llu KiB but only %llu KiB of RAM is free between "
			"the kernel and the initrd limit (%#llx); give the VM more memory (--mem)",
			initrd_path, (unsigned long long)(initrd_size >> 10),
			(unsigned long long)(room >> 10), (unsigned long long)top);
		return -EINVAL;
	}
	p->initrd_addr = (top - initrd_size) & ~(PAGE - 1);
	return 0;
}

/* Main thread: step 4, the zero page, built in buf (ZP_SIZE bytes). */
static void bzimage_build_zero_page(struct machine *m, const struct bzimage_plan *p, uint8_t *zp)
{
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + HDR_START, p->img + HDR_START, p->hdr_end - HDR_START);

	/* screen_info stays zero: with orig_video_cols/lines 0 the kernel keeps
	 * its VGA text console off, and the console is the serial port named by
	 * console=ttyS0. Only the legacy memory size is filled. */
	uint64_t ram_end = bootmem_ram_end(m, ONE_MIB);
	uint64_t above_1m_kib = ram_end > ONE_MIB ? (ram_end - ONE_MIB) >> 10 : 0;
	bz_put16(zp, ZP_EXT_MEM_K, (uint16_t)(above_1m_kib > 0xfc00 ? 0xfc00 : above_1m_kib));
	bz_put32(zp, ZP_ALT_MEM_K, (uint32_t)(above_1m_kib > UINT32_MAX ? UINT32_MAX : above_1m_kib));

	bz_put16(zp, HDR_VID_MODE, VID_MODE_NORMAL);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	bz_put16(zp, HDR_HEAP_END_PTR, HEAP_END);
	zp[HDR_EXT_LOADER_VER] = 0;
	bz_put32(zp, HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
	bz_put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_addr);
	bz_put32(zp, HDR_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	/* The image's own value is meaningless here; a kernel would follow it. */
	bz_put64(zp, HDR_SETUP_DATA, 0);

	struct e820_entry map[E820_MAX];
	unsigned n = bootmem_e820(m, map);
	if (n > ZP_E820_MAX)
		n = ZP_E820_MAX;
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + i * 20;
		bz_put64(e, 0, map[i].addr);
		bz_put64(e, 8, map[i].size);
		bz_put32(e, 16, bootmem_e820_type(map[i].type));
	}
}

/* The identity map: PML4[0] -> PDPT, PDPT[0..3] -> 4 directories of
 * 512 large pages each (SDM Vol. 3A 4.5, 2-MByte pages). */
static int bzimage_write_page_tables(struct machine *m)
{
	size_t size = (2 + PT_PDS) * PAGE;
	uint8_t *buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	bz_put64(buf, 0, PT_PDPT | PTE_P | PTE_RW);
	for (unsigned i = 0; i < PT_PDS; i++)
		bz_put64(buf + PAGE, i * 8, (PT_PD + i * PAGE) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < PT_PDS * 512; i++)
		bz_put64(buf + 2 * PAGE, i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
	int rc = guestmem_write(m->mem, PT_PML4, buf, size);
	free(buf);
	return rc;
}

/* Main thread: step 5, everything that changes guest memory and m->boot. */
static int bzimage_write(struct machine *m, const struct bzimage_plan *p)
{
	uint8_t *zp = malloc(ZP_SIZE);
	if (!zp)
		return -ENOMEM;
	bzimage_build_zero_page(m, p, zp);
	int rc = bootmem_write_common(m);
	if (!rc && (guestmem_write(m->mem, BOOT_INFO, zp, ZP_SIZE) ||
		    guestmem_write(m->mem, BOOT_CMDLINE, p->cmdline, p->cmdline_len) ||
		    guestmem_fill(m->mem, BOOT_CMDLINE + p->cmdline_len, 0, 1) ||
		    bzimage_write_page_tables(m) ||
		    guestmem_write(m->mem, p->kernel_addr, p->img + p->setup_size, p->kernel_size) ||
		    (p->initrd && guestmem_write(m->mem, p->initrd_addr, p->initrd, p->initrd_size))))
		rc = -EFAULT;
	free(zp);
	if (rc)
		return rc;

	struct machine_boot *b = &m->boot;
	bootmem_flat_state(b, true);
	b->sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	b->sregs.cr3 = PT_PML4;
	b->sregs.cr4 = CR4_PAE;
	b->sregs.efer = EFER_LME | EFER_LMA;
	b->regs.rip = p->kernel_addr + 0x200;
	b->regs.rsi = BOOT_INFO;
	return 0;
}

/*
 * Main thread, at power-on and after every reset with the vCPUs paused:
 * boot m->cfg->kernel with m->cfg->initrd and --append. -EINVAL (after one
 * sentence naming the file and the problem) if the image or the VM's memory
 * cannot do it.
 */
int boot_linux(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct bzimage_plan p = { .path = cfg->kernel.path };
	uint8_t *initrd = NULL;
	uint64_t ram = m->ram_below_4g;
	int rc = -EINVAL;

	uint8_t *img = boot_read_file(p.path, "kernel", ram, &p.img_size);
	if (!img)
		return -EINVAL;
	p.img = img;
	if (bzimage_check_header(&p) || bzimage_place_kernel(m, &p))
		goto out;
	uint64_t initrd_size = 0;
	if (cfg->initrd.path) {
		initrd = boot_read_file(cfg->initrd.path, "initrd", ram, &initrd_size);
		if (!initrd)
			goto out;
		p.initrd = initrd;
	}
	if (bzimage_place_extras(m, &p, cfg->initrd.path, initrd_size))
		goto out;
	rc = bzimage_write(m, &p);
	if (rc == -EFAULT)
		log_err("boot", "cannot write kernel '%s' into guest memory", p.path);
	if (!rc)
		log_debug("boot", "Linux kernel at %#llx (%llu KiB), initrd at %#llx (%llu KiB), "
			  "entry %#llx", (unsigned long long)p.kernel_addr,
			  (unsigned long long)(p.kernel_size >> 10),
			  (unsigned long long)p.initrd_addr,
			  (unsigned long long)(p.initrd_size >> 10),
			  (unsigned long long)m->boot.regs.rip);
out:
	free(initrd);
	free(img);
	return rc;
}
