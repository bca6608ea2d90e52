/*
 * multiboot: booting a Multiboot v1 kernel directly (Multiboot Specification
 * version 0.6.96: 3.1 "OS image format", 3.2 "Machine state", 3.3 "Boot
 * information format").
 *
 * The kernel image carries a header in its first 8192 bytes (3.1.1): a
 * magic number, flags and a checksum. Flag bit 16 (the "a.out kludge") adds
 * the load addresses to the header itself (3.1.3), so any flat binary can be
 * loaded; without it the image must be ELF32 and we load its PT_LOAD
 * segments at their physical addresses. Modules follow the kernel, each on a
 * page boundary. The kernel is entered in flat 32-bit protected mode with
 * paging off, A20 on, EAX = 0x2BADB002 and EBX = the boot information (3.2).
 *
 * As in bzimage.c, the image is checked and the whole layout planned before
 * guest memory is written: a bad image or module changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "guestmem.h"
#include "log.h"
#include "machine.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB_SEARCH_END 8192
#define MB_HEADER_SIZE 12
#define MB_AOUT_HEADER_SIZE 32

/* Header flags (3.1.2). Bits 0-15 are requirements a loader must meet. */
#define MB_PAGE_ALIGN (1u << 0)
#define MB_MEMORY_INFO (1u << 1)
#define MB_VIDEO_MODE (1u << 2)
#define MB_AOUT_KLUDGE (1u << 16)
#define MB_REQUIRED_MASK 0xffffu

/* Boot information flags and layout (3.3). */
#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)
#define MBI_SIZE 0x80                   /* 116 bytes in 0.6.96, rounded up */
#define MBI_MODS_ADDR (BOOT_INFO + 0x80)
#define MBI_MOD_SIZE 16
#define MBI_MMAP_ADDR (BOOT_INFO + 0x200)
#define MBI_MMAP_ENTRY 24               /* size field + 20 bytes */
#define MB_LOADER_NAME "Lodge"

/* ELF32 (System V gABI, "ELF Header" and "Program Header"). */
#define ELF_EHDR_SIZE 52
#define ELF_PHDR_SIZE 32
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define PT_LOAD 1
#define MB_MAX_PHDRS 64
#define MB_MAX_SEGMENTS 16

#define PAGE 4096ULL
#define FOUR_GIB 0x100000000ULL

struct mb_segment {
	uint64_t offset, filesz;        /* bytes in the file */
	uint64_t addr, memsz;           /* where they go; memsz - filesz is bss */
};

struct mb_module {
	const char *path, *args;
	uint8_t *data;
	uint64_t size, addr;
	uint32_t args_addr;
};

/* What the checks decided; written to the guest only when all passed. */
struct mb_plan {
	const char *path;
	const uint8_t *img;
	uint64_t img_size;
	uint32_t hdr_off, flags;
	struct mb_segment seg[MB_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t entry, kernel_end;
	struct mb_module mod[CONFIG_MAX_MODULES];
	unsigned nmod;
	char *strings;                  /* BOOT_STRINGS .. BOOT_STRINGS_END */
	size_t strings_len;
	uint32_t cmdline_addr, name_addr;
};

static uint16_t mb_get16(const uint8_t *p, uint64_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t mb_get32(const uint8_t *p, uint64_t off)
{
	return (uint32_t)mb_get16(p, off) | (uint32_t)mb_get16(p, off + 2) << 16;
}

static void mb_put32(uint8_t *p, uint64_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static void mb_put64(uint8_t *p, uint64_t off, uint64_t v)
{
	mb_put32(p, off, (uint32_t)v);
	mb_put32(p, off + 4, (uint32_t)(v >> 32));
}

static bool mb_header_at(const uint8_t *img, uint64_t off)
{
	uint32_t magic = mb_get32(img, off), flags = mb_get32(img, off + 4);
	return magic == MB_HEADER_MAGIC && magic + flags + mb_get32(img, off + 8) == 0;
}

/* Main thread: 3.1.1, the header in the first 8192 bytes, 32-bit aligned.
 * When there is none, look a little further to say what is wrong. */
static int multiboot_find_header(struct mb_plan *p)
{
	const uint8_t *img = p->img;
	uint64_t size = p->img_size;
	uint64_t end = size < MB_SEARCH_END ? size : MB_SEARCH_END;
	int64_t bad_checksum = -1, mb2 = -1;

	for (uint64_t off = 0; off + MB_HEADER_SIZE <= end; off += 4) {
		if (mb_header_at(img, off)) {
			p->hdr_off = (uint32_t)off;
			p->flags = mb_get32(img, off + 4);
			return 0;
		}
		if (mb_get32(img, off) == MB_HEADER_MAGIC && bad_checksum < 0)
			bad_checksum = (int64_t)off;
		if (mb_get32(img, off) == MB2_HEADER_MAGIC && mb2 < 0 && !(off & 7))
			mb2 = (int64_t)off;
	}
	if (bad_checksum >= 0) {
		log_err("boot", "multiboot kernel '%s' has a header at offset %#llx whose checksum "
			"is wrong (magic + flags + checksum must be 0)", p->path,
			(unsigned long long)bad_checksum);
		return -EINVAL;
	}
	if (mb2 >= 0) {
		log_err("boot", "'%s' is a Multiboot2 kernel (header at offset %#llx); Lodge boots "
			"Multiboot v1 kernels only", p->path, (unsigned long long)mb2);
		return -EINVAL;
	}
	for (uint64_t off = end; off + MB_HEADER_SIZE <= size && off < 16 * MB_SEARCH_END; off += 4)
		if (mb_header_at(img, off)) {
			log_err("boot", "multiboot kernel '%s' has its header at offset %#llx, past the "
				"first 8192 bytes where boot loaders look for it", p->path,
				(unsigned long long)off);
			return -EINVAL;
		}
	log_err("boot", "'%s' is not a multiboot kernel: no multiboot header (magic 0x1BADB002) "
		"in its first 8192 bytes", p->path);
	return -EINVAL;
}

static int multiboot_check_flags(const struct mb_plan *p)
{
	/* We always page-align modules and always give memory information;
	 * any other requirement (a video mode, future bits) we cannot meet,
	 * and 3.1.2 says to refuse the kernel then. */
	uint32_t unmet = p->flags & MB_REQUIRED_MASK & ~(MB_PAGE_ALIGN | MB_MEMORY_INFO);
	if (unmet & MB_VIDEO_MODE) {
		log_err("boot", "multiboot kernel '%s' requires a graphics mode (header flag bit 2), "
			"which direct boot cannot set up", p->path);
		return -EINVAL;
	}
	if (unmet) {
		log_err("boot", "multiboot kernel '%s' requires features this loader does not know "
			"(header flags %#x at offset %#x)", p->path, p->flags, p->hdr_off + 4);
		return -EINVAL;
	}
	return 0;
}

/* Main thread: 3.1.3, load addresses taken from the header (a.out kludge). */
static int multiboot_plan_aout(struct mb_plan *p)
{
	const uint8_t *h = p->img + p->hdr_off;
	if (p->hdr_off + MB_AOUT_HEADER_SIZE > p->img_size) {
		log_err("boot", "multiboot kernel '%s' is truncated inside its header (a.out kludge "
			"fields at offset %#x)", p->path, p->hdr_off + MB_HEADER_SIZE);
		return -EINVAL;
	}
	uint64_t header_addr = mb_get32(h, 12), load_addr = mb_get32(h, 16);
	uint64_t load_end = mb_get32(h, 20), bss_end = mb_get32(h, 24);
	uint64_t entry = mb_get32(h, 28);

	if (header_addr < load_addr || header_addr - load_addr > p->hdr_off) {
		log_err("boot", "multiboot kernel '%s': load_addr %#llx is %s header_addr %#llx "
			"(the header is at file offset %#x)", p->path, (unsigned long long)load_addr,
			header_addr < load_addr ? "above" : "too far below",
			(unsigned long long)header_addr, p->hdr_off);
		return -EINVAL;
	}
	uint64_t offset = p->hdr_off - (header_addr - load_addr);
	if (load_end == 0)
		load_end = load_addr + (p->img_size - offset);
	if (load_end < load_addr || load_end - load_addr > p->img_size - offset) {
		log_err("boot", "multiboot kernel '%s': load_end_addr %#llx is %s", p->path,
			(unsigned long long)load_end,
			load_end < load_addr ? "below load_addr" : "past the end of the file");
		return -EINVAL;
	}
	if (bss_end == 0)
		bss_end = load_end;
	if (bss_end < load_end) {
		log_err("boot", "multiboot kernel '%s': bss_end_addr %#llx is below load_end_addr "
			"%#llx", p->path, (unsigned long long)bss_end, (unsigned long long)load_end);
		return -EINVAL;
	}
	if (entry < load_addr || entry >= bss_end) {
		log_err("boot", "multiboot kernel '%s': entry_addr %#llx is outside the loaded image "
			"(%#llx-%#llx)", p->path, (unsigned long long)entry,
			(unsigned long long)load_addr, (unsigned long long)bss_end);
		return -EINVAL;
	}
	p->seg[0] = (struct mb_segment){ offset, load_end - load_addr, load_addr,
					 bss_end - load_addr };
	p->nseg = 1;
	p->entry = entry;
	return 0;
}

/* Main thread: an ELF32 executable's PT_LOAD segments at their physical
 * addresses; the entry point is translated like GRUB does when the kernel is
 * linked at a virtual address other than where it loads. */
static int multiboot_plan_elf(struct mb_plan *p)
{
	const uint8_t *img = p->img;
	const char *path = p->path;

	if (p->img_size < 4 || memcmp(img, "\177ELF", 4)) {
		log_err("boot", "multiboot kernel '%s' is neither ELF nor flagged as an a.out "
			"kludge image (header flag bit 16), so there is no way to load it", path);
		return -EINVAL;
	}
	if (p->img_size < ELF_EHDR_SIZE) {
		log_err("boot", "multiboot kernel '%s' is truncated inside its ELF header", path);
		return -EINVAL;
	}
	if (img[4] == ELFCLASS64) {
		log_err("boot", "multiboot kernel '%s' is a 64-bit ELF file; Multiboot v1 loads "
			"ELF32 (convert it with objcopy -O elf32-i386, or use the a.out kludge)", path);
		return -EINVAL;
	}
	if (img[4] != ELFCLASS32 || img[5] != ELFDATA2LSB || mb_get16(img, 16) != ET_EXEC ||
	    mb_get16(img, 18) != EM_386) {
		log_err("boot", "multiboot kernel '%s' is not a little-endian i386 ELF32 "
			"executable (class %u, data %u, type %u, machine %u)", path, img[4], img[5],
			mb_get16(img, 16), mb_get16(img, 18));
		return -EINVAL;
	}
	uint64_t entry = mb_get32(img, 24), phoff = mb_get32(img, 28);
	unsigned phentsize = mb_get16(img, 42), phnum = mb_get16(img, 44);
	if (phentsize < ELF_PHDR_SIZE || phnum == 0 || phnum > MB_MAX_PHDRS ||
	    phoff > p->img_size || (uint64_t)phnum * phentsize > p->img_size - phoff) {
		log_err("boot", "multiboot kernel '%s' has a bad program header table (%u entries "
			"of %u bytes at offset %#llx)", path, phnum, phentsize,
			(unsigned long long)phoff);
		return -EINVAL;
	}

	bool entry_found = false;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
		uint64_t offset = mb_get32(ph, 4), vaddr = mb_get32(ph, 8), paddr = mb_get32(ph, 12);
		uint64_t filesz = mb_get32(ph, 16), memsz = mb_get32(ph, 20);
		if (mb_get32(ph, 0) != PT_LOAD || memsz == 0)
			continue;
		if (filesz > memsz || offset > p->img_size || filesz > p->img_size - offset) {
			log_err("boot", "multiboot kernel '%s': program header %u (offset %#llx, %llu "
				"bytes in the file, %llu in memory) does not fit the file", path, i,
				(unsigned long long)offset, (unsigned long long)filesz,
				(unsigned long long)memsz);
			return -EINVAL;
		}
		if (p->nseg == MB_MAX_SEGMENTS) {
			log_err("boot", "multiboot kernel '%s' has more than %d loadable segments",
				path, MB_MAX_SEGMENTS);
			return -EINVAL;
		}
		p->seg[p->nseg++] = (struct mb_segment){ offset, filesz, paddr, memsz };
		if (!entry_found && entry >= vaddr && entry - vaddr < memsz) {
			p->entry = entry - vaddr + paddr;
			entry_found = true;
		}
	}
	if (p->nseg == 0) {
		log_err("boot", "multiboot kernel '%s' has no loadable (PT_LOAD) segment", path);
		return -EINVAL;
	}
	if (!entry_found) {
		log_err("boot", "multiboot kernel '%s': its entry point %#llx is in no loadable "
			"segment", path, (unsigned long long)entry);
		return -EINVAL;
	}
	return 0;
}

/* Main thread: every segment in usable RAM, clear of our boot data and of
 * each other. */
static int multiboot_check_segments(struct machine *m, struct mb_plan *p)
{
	p->kernel_end = 0;
	for (unsigned i = 0; i < p->nseg; i++) {
		const struct mb_segment *s = &p->seg[i];
		uint64_t end = s->addr + s->memsz;
		if (s->addr < BOOT_STRINGS_END) {
			log_err("boot", "multiboot kernel '%s': segment %u (%#llx-%#llx) overlaps "
				"0-%#llx, where Lodge puts the boot information", p->path, i,
				(unsigned long long)s->addr, (unsigned long long)end,
				(unsigned long long)BOOT_STRINGS_END);
			return -EINVAL;
		}
		if (end > FOUR_GIB || !bootmem_is_ram(m, s->addr, s->memsz)) {
			log_err("boot", "multiboot kernel '%s': segment %u (%#llx-%#llx) is not in the "
				"VM's usable RAM (below %#llx, except 0x9fc00-0x100000); give the VM "
				"more memory (--mem) or link the kernel elsewhere", p->path, i,
				(unsigned long long)s->addr, (unsigned long long)end,
				(unsigned long long)m->ram_below_4g);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct mb_segment *o = &p->seg[j];
			if (s->addr < o->addr + o->memsz && o->addr < end) {
				log_err("boot", "multiboot kernel '%s': segments %u and %u overlap "
					"(%#llx-%#llx and %#llx-%#llx)", p->path, j, i,
					(unsigned long long)o->addr,
					(unsigned long long)(o->addr + o->memsz),
					(unsigned long long)s->addr, (unsigned long long)end);
				return -EINVAL;
			}
		}
		if (end > p->kernel_end)
			p->kernel_end = end;
	}
	return 0;
}

/* Append a NUL-terminated string to the strings area; its guest address. */
static int multiboot_add_string(struct mb_plan *p, const char *a, const char *b, uint32_t *addr)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	size_t need = la + (lb ? 1 + lb : 0) + 1;
	size_t room = BOOT_STRINGS_END - BOOT_STRINGS;
	if (need > room - p->strings_len) {
		log_err("boot", "the multiboot command lines (--append, --module) are longer than "
			"the %zu bytes Lodge has room for", room);
		return -EINVAL;
	}
	char *d = p->strings + p->strings_len;
	memcpy(d, a, la);
	if (lb) {
		d[la] = ' ';
		memcpy(d + la + 1, b, lb);
	}
	d[need - 1] = 0;
	*addr = (uint32_t)(BOOT_STRINGS + p->strings_len);
	p->strings_len += need;
	return 0;
}

/* Main thread: read the modules and place them page by page after the
 * kernel (3.1.2 bit 0 asks for page alignment; we always give it). */
static int multiboot_plan_modules(struct machine *m, struct mb_plan *p)
{
	const struct config *cfg = m->cfg;
	uint64_t cursor = (p->kernel_end + PAGE - 1) & ~(PAGE - 1);
	for (unsigned i = 0; i < cfg->nmodules; i++) {
		struct mb_module *mod = &p->mod[i];
		mod->path = cfg->modules[i].file.path;
		mod->args = cfg->modules[i].args;
		mod->data = boot_read_file(mod->path, "module", m->ram_below_4g, &mod->size);
		if (!mod->data)
			return -EINVAL;
		p->nmod++;
		mod->addr = cursor;
		if (!bootmem_is_ram(m, cursor, mod->size ? mod->size : 1)) {
			log_err("boot", "module '%s' (%llu KiB) does not fit in RAM after the kernel "
				"and the modules before it (from %#llx); give the VM more memory "
				"(--mem)", mod->path, (unsigned long long)(mod->size >> 10),
				(unsigned long long)cursor);
			return -EINVAL;
		}
		cursor = (cursor + mod->size + PAGE - 1) & ~(PAGE - 1);
		if (multiboot_add_string(p, mod->args, NULL, &mod->args_addr))
			return -EINVAL;
	}
	return 0;
}

/* The boot information structure and what it points to (3.3). */
static int multiboot_write_info(struct machine *m, const struct mb_plan *p)
{
	uint8_t info[MBI_SIZE] = { 0 };
	uint8_t mods[CONFIG_MAX_MODULES * MBI_MOD_SIZE] = { 0 };
	uint8_t mmap[E820_MAX * MBI_MMAP_ENTRY] = { 0 };

	struct e820_entry map[E820_MAX];
	unsigned n = bootmem_e820(m, map);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = mmap + i * MBI_MMAP_ENTRY;
		mb_put32(e, 0, MBI_MMAP_ENTRY - 4);
		mb_put64(e, 4, map[i].addr);
		mb_put64(e, 12, map[i].size);
		mb_put32(e, 20, bootmem_e820_type(map[i].type));
	}
	for (unsigned i = 0; i < p->nmod; i++) {
		uint8_t *d = mods + i * MBI_MOD_SIZE;
		mb_put32(d, 0, (uint32_t)p->mod[i].addr);
		mb_put32(d, 4, (uint32_t)(p->mod[i].addr + p->mod[i].size));
		mb_put32(d, 8, p->mod[i].args_addr);
	}

	/* mem_lower: conventional memory below the EBDA; mem_upper: the RAM
	 * from 1 MiB to the first hole, both in KiB. */
	uint64_t lower = bootmem_ram_end(m, 0), upper = bootmem_ram_end(m, 0x100000);
	mb_put32(info, 0, MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
	mb_put32(info, 4, (uint32_t)((lower > 0xa0000 ? 0xa0000 : lower) >> 10));
	mb_put32(info, 8, (uint32_t)(upper > 0x100000 ? (upper - 0x100000) >> 10 : 0));
	mb_put32(info, 16, p->cmdline_addr);
	mb_put32(info, 20, p->nmod);
	mb_put32(info, 24, (uint32_t)MBI_MODS_ADDR);
	mb_put32(info, 44, n * MBI_MMAP_ENTRY);
	mb_put32(info, 48, (uint32_t)MBI_MMAP_ADDR);
	mb_put32(info, 64, p->name_addr);

	if (guestmem_write(m->mem, BOOT_INFO, info, sizeof(info)) ||
	    guestmem_write(m->mem, MBI_MODS_ADDR, mods, sizeof(mods)) ||
	    guestmem_write(m->mem, MBI_MMAP_ADDR, mmap, sizeof(mmap)) ||
	    guestmem_write(m->mem, BOOT_STRINGS, p->strings, p->strings_len))
		return -EFAULT;
	return 0;
}

/* Main thread: all checks passed; put everything in place. */
static int multiboot_write(struct machine *m, const struct mb_plan *p)
{
	int rc = bootmem_write_common(m);
	if (rc)
		return rc;
	for (unsigned i = 0; i < p->nseg; i++) {
		const struct mb_segment *s = &p->seg[i];
		if (guestmem_write(m->mem, s->addr, p->img + s->offset, s->filesz) ||
		    guestmem_fill(m->mem, s->addr + s->filesz, 0, s->memsz - s->filesz))
			return -EFAULT;
	}
	for (unsigned i = 0; i < p->nmod; i++)
		if (guestmem_write(m->mem, p->mod[i].addr, p->mod[i].data, p->mod[i].size))
			return -EFAULT;
	rc = multiboot_write_info(m, p);
	if (rc)
		return rc;

	struct machine_boot *b = &m->boot;
	bootmem_flat_state(b, false);
	b->regs.rax = MB_BOOT_MAGIC;
	b->regs.rbx = BOOT_INFO;
	b->regs.rip = p->entry;
	return 0;
}

/*
 * Main thread, at power-on and after every reset with the vCPUs paused:
 * boot m->cfg->multiboot with its modules and --append. -EINVAL (after one
 * sentence naming the file and the problem) if it cannot be done.
 */
int boot_multiboot(struct machine *m)
{
	const struct config *cfg = m->cfg;
	struct mb_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = -EINVAL;
	p->path = cfg->multiboot.path;
	p->strings = malloc(BOOT_STRINGS_END - BOOT_STRINGS);
	uint8_t *img = boot_read_file(p->path, "multiboot kernel", m->ram_below_4g, &p->img_size);
	if (!img || !p->strings)
		goto out;
	p->img = img;
	if (multiboot_find_header(p) || multiboot_check_flags(p))
		goto out;
	if ((p->flags & MB_AOUT_KLUDGE) ? multiboot_plan_aout(p) : multiboot_plan_elf(p))
		goto out;
	if (multiboot_check_segments(m, p))
		goto out;
	/* The command line starts with the kernel's name, as GRUB and QEMU
	 * pass it; kernels skip the first word. */
	if (multiboot_add_string(p, p->path, cfg->append, &p->cmdline_addr) ||
	    multiboot_add_string(p, MB_LOADER_NAME, NULL, &p->name_addr) ||
	    multiboot_plan_modules(m, p))
		goto out;
	rc = multiboot_write(m, p);
	if (rc == -EFAULT)
		log_err("boot", "cannot write multiboot kernel '%s' into guest memory", p->path);
	if (!rc)
		log_debug("boot", "multiboot kernel '%s': %u segments up to %#llx, entry %#llx, "
			  "%u modules", p->path, p->nseg, (unsigned long long)p->kernel_end,
			  (unsigned long long)p->entry, p->nmod);
out:
	for (unsigned i = 0; i < p->nmod; i++)
		free(p->mod[i].data);
	free(p->strings);
	free(img);
	free(p);
	return rc;
}
