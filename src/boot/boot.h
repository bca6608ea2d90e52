/*
 * boot: putting a kernel or firmware into guest memory and choosing the
 * boot CPU's first instruction.
 *
 * Each loader validates its image completely before touching guest memory:
 * a truncated file, a bad magic number or a size that does not fit gets one
 * sentence naming the file and what is wrong, and -EINVAL.
 *
 * They run on the main thread at power-on and after every reset, with vCPUs
 * paused, and fill m->boot with the BSP's start state.
 */
#ifndef LODGE_BOOT_H
#define LODGE_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct machine_boot;
struct e820_entry;

/*
 * Guest memory the direct-boot loaders (Linux, multiboot) write besides the
 * kernel. All of it is below BOOT_LOW_END, in the usable RAM under the EBDA,
 * except the MP table, which sits in the reserved BIOS area (0xe0000-0xfffff)
 * as a firmware's would. --bios writes none of it.
 *
 *   0x00000-0x004ff  real-mode IVT and BIOS data area (EBDA pointer, base memory)
 *   0x00500-0x0051f  GDT: 0x08 flat 32-bit code, 0x10 64-bit code, 0x18 flat data
 *   0x06000-0x06fff  stack the BSP starts with
 *   0x07000-0x07fff  Linux zero page (boot_params) / multiboot info, modules, mmap
 *   0x09000-0x0efff  Linux identity page tables: PML4, PDPT, 4 page directories
 *   0x10000-0x1ffff  multiboot strings: command lines, boot loader name
 *   0x20000-0x2ffff  Linux command line
 *   0xf0000-...      MP floating pointer and configuration table
 */
#define BOOT_BDA_EBDA_SEG 0x40eULL
#define BOOT_BDA_BASE_KIB 0x413ULL
#define BOOT_GDT 0x500ULL
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_STACK_TOP 0x7000ULL
#define BOOT_INFO 0x7000ULL
#define BOOT_PAGE_TABLES 0x9000ULL
#define BOOT_STRINGS 0x10000ULL
#define BOOT_STRINGS_END 0x20000ULL
#define BOOT_CMDLINE 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_LOW_END 0x30000ULL
#define BOOT_MPTABLE 0xf0000ULL
#define BOOT_EBDA 0x9fc00ULL

/* Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst). */
int boot_linux(struct machine *m);
/* Multiboot v1 kernel (ELF32 or a.out kludge) with modules. */
int boot_multiboot(struct machine *m);
/* Firmware image (--bios, default SeaBIOS): mapped at the top of 4 GiB, its
 * last 256 KiB copied to the shadow RAM below 1 MiB; the BSP starts at the
 * reset vector. */
int boot_firmware(struct machine *m);

/* Read a whole file (at most max bytes); NULL after logging why. */
uint8_t *boot_read_file(const char *path, const char *what, uint64_t max, uint64_t *size);

/* bootmem.c: what both direct-boot loaders share. */
/* The machine's e820 map sorted by address into out[E820_MAX]; the count. */
unsigned bootmem_e820(const struct machine *m, struct e820_entry *out);
/* True if [addr, addr+len) lies inside one usable-RAM e820 entry. */
bool bootmem_is_ram(const struct machine *m, uint64_t addr, uint64_t len);
/* End of the usable-RAM e820 entry that holds addr; 0 if none does. */
uint64_t bootmem_ram_end(const struct machine *m, uint64_t addr);
/* The multiboot-style e820 type of an entry: 1 RAM, 2 reserved, 3 ACPI, 4 NVS. */
uint32_t bootmem_e820_type(uint32_t type);
/* Write the GDT, the BIOS data area words and the MP table (at power-on and
 * every reset). */
int bootmem_write_common(struct machine *m);
/* Fill b with a flat protected-mode (long_mode false) or 64-bit start state
 * using the GDT above; registers other than segments are zero. */
void bootmem_flat_state(struct machine_boot *b, bool long_mode);

/* mptable.c: Intel MultiProcessor Specification 1.4 tables for m->ncpus CPUs. */
/* Bytes the floating pointer and configuration table take for ncpus. */
size_t mptable_size(unsigned ncpus);
/* Build them for a table at base into buf (mptable_size bytes). */
void mptable_build(uint8_t *buf, uint64_t base, unsigned ncpus);

#endif
