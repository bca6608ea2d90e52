/*
 * mptable: the Intel MultiProcessor Specification 1.4 tables that tell a
 * directly booted kernel how many CPUs the PC has and how its interrupts are
 * wired, the job a BIOS does before it hands over.
 *
 * Layout (MP spec chapter 4): a 16-byte floating pointer structure (4.1)
 * pointing at a configuration table header (4.2) followed by entries sorted
 * by type (4.3): one processor entry per CPU, one bus (ISA), one I/O APIC,
 * the I/O interrupt assignments and the local interrupt assignments.
 *
 * The wiring described is the one both engines build (see
 * host-driver/linux/kvm_irq.c): ISA IRQ n reaches I/O APIC input n, except
 * IRQ0 (the PIT), which arrives on input 2 because input 0 is the 8259's
 * INTR output; IRQ2 is the 8259 cascade and has no entry. Every local APIC
 * has the 8259 on LINT0 (ExtINT, virtual wire mode) and NMI on LINT1. There
 * is no IMCR (feature byte 2 bit 7 clear), so a kernel switches from virtual
 * wire to symmetric I/O mode through the local APIC alone (5.1, 3.6.2.2).
 *
 * APIC IDs are the vCPU indexes (0 is the BSP) and the I/O APIC takes the
 * first ID after them, as firmware usually assigns it.
 */
#include <string.h>

#include "boot/boot.h"

#define MP_FLOAT_SIZE 16
#define MP_HEADER_SIZE 44
#define MP_PROC_SIZE 20
#define MP_ENTRY_SIZE 8                 /* bus, I/O APIC, interrupt entries */
#define MP_SPEC_REV 4                   /* version 1.4 */

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
/* Interrupt entry flags (table 4-10): polarity bits 1:0, trigger bits 3:2. */
#define MP_IRQ_CONFORMS 0x0000
#define MP_IRQ_EDGE_HIGH 0x0005         /* active high, edge triggered */

#define MP_LAPIC_BASE 0xfee00000u
#define MP_LAPIC_VERSION 0x14           /* integrated APIC, as KVM's and ours report */
#define MP_IOAPIC_BASE 0xfec00000u
#define MP_IOAPIC_VERSION 0x11          /* 82093AA */
#define MP_ISA_IRQS 16
#define MP_ALL_LAPICS 0xff
/* Family 6, FPU and on-chip APIC in the feature flags (table 4-5). */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES 0x201

static void mptable_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void mptable_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The value that makes len bytes sum to zero (both structures use it). */
static uint8_t mptable_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* Interrupt assignment entry (tables 4-9 and 4-11 share the layout). */
static uint8_t *mptable_put_irq(uint8_t *p, uint8_t kind, uint8_t type, uint16_t flags,
				uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
	p[0] = kind;
	p[1] = type;
	mptable_put16(p + 2, flags);
	p[4] = 0;                       /* source bus: the ISA bus, ID 0 */
	p[5] = src_irq;
	p[6] = dst_id;
	p[7] = dst_pin;
	return p + MP_ENTRY_SIZE;
}

/* Entries: processors, one bus, one I/O APIC, 15 ISA IRQs, 2 local. */
static unsigned mptable_entries(unsigned ncpus)
{
	return ncpus + 1 + 1 + (MP_ISA_IRQS - 1) + 2;
}

size_t mptable_size(unsigned ncpus)
{
	return MP_FLOAT_SIZE + MP_HEADER_SIZE + (size_t)ncpus * MP_PROC_SIZE +
	       (mptable_entries(ncpus) - ncpus) * MP_ENTRY_SIZE;
}

/*
 * Main thread, at boot: build the floating pointer at base and the
 * configuration table right after it into buf (mptable_size(ncpus) bytes).
 * ncpus is at most CONFIG_MAX_CPUS, so every ID fits in a byte.
 */
void mptable_build(uint8_t *buf, uint64_t base, unsigned ncpus)
{
	size_t size = mptable_size(ncpus);
	uint8_t ioapic_id = (uint8_t)ncpus;
	memset(buf, 0, size);

	uint8_t *fp = buf;
	memcpy(fp, "_MP_", 4);
	mptable_put32(fp + 4, (uint32_t)(base + MP_FLOAT_SIZE));
	fp[8] = 1;                      /* length in 16-byte paragraphs */
	fp[9] = MP_SPEC_REV;
	/* Feature bytes 1-5 stay 0: a configuration table is present and
	 * there is no IMCR. */
	fp[10] = mptable_checksum(fp, MP_FLOAT_SIZE);

	uint8_t *hdr = buf + MP_FLOAT_SIZE;
	uint16_t table_len = (uint16_t)(size - MP_FLOAT_SIZE);
	memcpy(hdr, "PCMP", 4);
	mptable_put16(hdr + 4, table_len);
	hdr[6] = MP_SPEC_REV;
	memcpy(hdr + 8, "LODGE   ", 8);      /* OEM ID, space padded */
	memcpy(hdr + 16, "PC          ", 12);  /* product ID */
	mptable_put16(hdr + 34, (uint16_t)mptable_entries(ncpus));
	mptable_put32(hdr + 36, MP_LAPIC_BASE);

	uint8_t *p = hdr + MP_HEADER_SIZE;
	for (unsigned i = 0; i < ncpus; i++, p += MP_PROC_SIZE) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i;
		p[2] = MP_LAPIC_VERSION;
		p[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		mptable_put32(p + 4, MP_CPU_SIGNATURE);
		mptable_put32(p + 8, MP_CPU_FEATURES);
	}

	p[0] = MP_BUS;
	p[1] = 0;
	memcpy(p + 2, "ISA   ", 6);
	p += MP_ENTRY_SIZE;

	p[0] = MP_IOAPIC;
	p[1] = ioapic_id;
	p[2] = MP_IOAPIC_VERSION;
	p[3] = 0x01;                    /* enabled */
	mptable_put32(p + 4, MP_IOAPIC_BASE);
	p += MP_ENTRY_SIZE;

	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;       /* the cascade: nothing is wired to it */
		p = mptable_put_irq(p, MP_IOINT, MP_INT, MP_IRQ_EDGE_HIGH, irq, ioapic_id,
				    irq == 0 ? 2 : irq);
	}
	p = mptable_put_irq(p, MP_LINT, MP_EXTINT, MP_IRQ_CONFORMS, 0, MP_ALL_LAPICS, 0);
	mptable_put_irq(p, MP_LINT, MP_NMI, MP_IRQ_CONFORMS, 0, MP_ALL_LAPICS, 1);

	hdr[7] = mptable_checksum(hdr, table_len);
}
