/*
 * bootmem: what the two direct-boot loaders (bzimage.c, multiboot.c) share:
 * the e820 map as a kernel sees it, the question "is this range usable RAM",
 * and the few things a BIOS would have left in low memory: a GDT with flat
 * segments, the BIOS data area words that locate the EBDA, and the MP table.
 *
 * The layout of that low memory is in boot.h. The GDT follows the Intel SDM
 * Vol. 3A 3.4.5 (segment descriptors) and 5.2.1 (64-bit code segments).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "guestmem.h"
#include "log.h"
#include "machine.h"

/* Flat 4 GiB descriptors: base 0, limit 0xfffff in 4 KiB units, present,
 * DPL 0. Code is execute/read (type 0xb, accessed), data read/write (0x3). */
#define GDT_CODE32 0x00cf9b000000ffffULL        /* D=1 */
#define GDT_CODE64 0x00af9b000000ffffULL        /* L=1, D=0 */
#define GDT_DATA 0x00cf93000000ffffULL
#define GDT_ENTRIES 4

#define SEG_TYPE_CODE 0xb
#define SEG_TYPE_DATA 0x3
#define SEG_TYPE_TSS_BUSY 0xb
#define SEG_TYPE_LDT 0x2

#define CR0_PE 0x00000001ULL
#define CR0_ET 0x00000010ULL

static int bootmem_compare(const void *a, const void *b)
{
	const struct e820_entry *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* Any thread: the board and the engine add entries in their own order (the
 * KVM engine's private pages come first); kernels want them sorted. */
unsigned bootmem_e820(const struct machine *m, struct e820_entry *out)
{
	unsigned n = m->ne820 < E820_MAX ? m->ne820 : E820_MAX;
	memcpy(out, m->e820, n * sizeof(*out));
	qsort(out, n, sizeof(*out), bootmem_compare);
	return n;
}

uint32_t bootmem_e820_type(uint32_t type)
{
	switch (type) {
	case E820_RAM:
	case E820_RESERVED:
	case E820_ACPI:
	case E820_NVS:
		return type;
	default:
		return E820_RESERVED;   /* anything we do not know is not RAM */
	}
}

/* Whether [addr, addr+len) overlaps an entry that is not RAM: a reserved
 * entry inside a RAM one wins, as it does for the kernel. */
static bool bootmem_hits_reserved(const struct machine *m, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < m->ne820; i++) {
		const struct e820_entry *e = &m->e820[i];
		if (e->type != E820_RAM && addr < e->addr + e->size && e->addr < addr + len)
			return true;
	}
	return false;
}

bool bootmem_is_ram(const struct machine *m, uint64_t addr, uint64_t len)
{
	if (addr + len < addr || bootmem_hits_reserved(m, addr, len))
		return false;
	for (unsigned i = 0; i < m->ne820; i++) {
		const struct e820_entry *e = &m->e820[i];
		if (e->type == E820_RAM && addr >= e->addr && len <= e->size &&
		    addr - e->addr <= e->size - len)
			return guestmem_is_ram(m->mem, addr, len);
	}
	return false;
}

uint64_t bootmem_ram_end(const struct machine *m, uint64_t addr)
{
	for (unsigned i = 0; i < m->ne820; i++) {
		const struct e820_entry *e = &m->e820[i];
		if (e->type == E820_RAM && addr >= e->addr && addr - e->addr < e->size) {
			uint64_t end = e->addr + e->size;
			/* Stop at the first reserved entry carved out above addr. */
			for (unsigned j = 0; j < m->ne820; j++) {
				const struct e820_entry *r = &m->e820[j];
				if (r->type != E820_RAM && r->addr > addr && r->addr < end)
					end = r->addr;
			}
			return end;
		}
	}
	return 0;
}

static int bootmem_write_gdt(struct machine *m)
{
	uint64_t gdt[GDT_ENTRIES] = { 0, GDT_CODE32, GDT_CODE64, GDT_DATA };
	uint8_t buf[sizeof(gdt)];
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		for (unsigned b = 0; b < 8; b++)
			buf[i * 8 + b] = (uint8_t)(gdt[i] >> (8 * b));
	return guestmem_write(m->mem, BOOT_GDT, buf, sizeof(buf));
}

/* The BDA words an OS reads to find the EBDA and the end of base memory
 * (the MP spec's search starts there, 4 "MP Floating Pointer Structure"). */
static int bootmem_write_bda(struct machine *m)
{
	uint8_t ebda[2] = { (uint8_t)(BOOT_EBDA >> 4), (uint8_t)(BOOT_EBDA >> 12) };
	uint8_t base_kib[2] = { (uint8_t)(BOOT_EBDA >> 10), (uint8_t)(BOOT_EBDA >> 18) };
	if (guestmem_write(m->mem, BOOT_BDA_EBDA_SEG, ebda, 2) ||
	    guestmem_write(m->mem, BOOT_BDA_BASE_KIB, base_kib, 2))
		return -EFAULT;
	return 0;
}

/*
 * Main thread, vCPUs paused: the loader has validated its image; this part
 * cannot fail on a machine the board built (all of it is in the first MiB).
 */
int bootmem_write_common(struct machine *m)
{
	uint8_t buf[2048];
	size_t size = mptable_size(m->ncpus);
	if (size > sizeof(buf))
		return -E2BIG;
	mptable_build(buf, BOOT_MPTABLE, m->ncpus);
	if (bootmem_write_gdt(m) || bootmem_write_bda(m) ||
	    guestmem_write(m->mem, BOOT_MPTABLE, buf, size)) {
		log_err("boot", "the first MiB of guest memory is not RAM; cannot boot a kernel "
			"directly");
		return -EFAULT;
	}
	return 0;
}

static void bootmem_segment(struct vcpu_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct vcpu_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64, .g = 1,
	};
}

void bootmem_flat_state(struct machine_boot *b, bool long_mode)
{
	struct vcpu_sregs *s = &b->sregs;
	memset(b, 0, sizeof(*b));
	if (long_mode)
		bootmem_segment(&s->cs, BOOT_SEL_CODE64, SEG_TYPE_CODE, true);
	else
		bootmem_segment(&s->cs, BOOT_SEL_CODE32, SEG_TYPE_CODE, false);
	bootmem_segment(&s->ds, BOOT_SEL_DATA, SEG_TYPE_DATA, false);
	s->es = s->fs = s->gs = s->ss = s->ds;
	/* No TSS or LDT is loaded, but the hidden parts must look valid to
	 * hardware virtualization's entry checks, as after RESET (SDM 9.1.1). */
	s->tr = (struct vcpu_segment){ .limit = 0xffff, .type = SEG_TYPE_TSS_BUSY, .present = 1 };
	s->ldt = (struct vcpu_segment){ .limit = 0xffff, .type = SEG_TYPE_LDT, .present = 1 };
	s->gdt = (struct vcpu_dtable){ BOOT_GDT, GDT_ENTRIES * 8 - 1 };
	s->idt = (struct vcpu_dtable){ 0, 0 };
	s->cr0 = CR0_PE | CR0_ET;
	b->regs.rflags = 0x2;           /* reserved bit 1; IF clear */
	b->regs.rsp = BOOT_STACK_TOP;
	b->valid = true;
}
