/*
 * piix3: Intel 82371SB PIIX3, function 0 — the PCI-to-ISA bridge and the
 * PCI interrupt router.
 *
 * Reference: Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator
 * datasheet, 2.2 (function 0 configuration registers) and 2.2.10 (PIRQRC[A:D]
 * at 0x60-0x63). The other registers (ISA clock, XBCS, top of memory, motherboard
 * IRQ/DMA routing, SMI control) are plain storage with their power-on values:
 * nothing they select exists in a virtual PC.
 *
 * Interrupt routing: the PCI core ORs the INTx pins wired to each PIRQ line;
 * PIRQRCx bit 7 clear connects that line to ISA IRQ bits 3:0. The IRQ is a
 * GSI, so in APIC mode the same interrupt arrives on I/O APIC pin n — which
 * is what SeaBIOS's MP table ("pin = PCI_INTERRUPT_LINE") and the ACPI link
 * devices LNKA-D of its DSDT promise, and what QEMU's i440FX does. PIRQs are
 * level-triggered and active-high on both paths: the guest programs ELCR
 * (0x4d0/0x4d1, part of the 8259 model) for the IRQs it routes there, and
 * several PIRQs (or a PIRQ and an ISA device) on one IRQ are OR'ed by
 * struct irq_line.
 */
#include "pci/piix3.h"

#include <stdlib.h>

#include "irq.h"
#include "log.h"
#include "machine.h"
#include "pci/pci.h"

#define PIIX3_VENDOR 0x8086
#define PIIX3_DEVICE 0x7000
#define PCI_CLASS_ISA_BRIDGE 0x060100

#define PIIX3_PIRQRC 0x60
#define  PIRQRC_DISABLE 0x80
#define  PIRQRC_IRQ_MASK 0x0f
#define PIIX3_NUM_PIRQS 4
/* IRQs a PIRQ may be routed to (datasheet 2.2.10): 3-7, 9-12, 14, 15. */
#define PIIX3_VALID_IRQS 0xdef8u
#define PIRQ_UNROUTED 0xffu

struct piix3 {
	struct machine *m;
	struct pci_bus *bus;
	struct pci_dev *pci;
	struct irq_line line[PIIX3_NUM_PIRQS];
	uint8_t routed_to[PIIX3_NUM_PIRQS];     /* ISA IRQ or PIRQ_UNROUTED */
};

/* Power-on values of the registers that have one (datasheet table 2). */
static const struct {
	uint8_t reg, value, wmask;
} piix3_regs[] = {
	{ 0x4c, 0x4d, 0xff },   /* IORT: ISA I/O recovery timer */
	{ 0x4e, 0x03, 0xff },   /* XBCS: X-bus chip select */
	{ 0x4f, 0x00, 0xff },
	{ 0x60, 0x80, 0x8f },   /* PIRQRCA-D */
	{ 0x61, 0x80, 0x8f },
	{ 0x62, 0x80, 0x8f },
	{ 0x63, 0x80, 0x8f },
	{ 0x69, 0x02, 0xff },   /* TOM: top of memory */
	{ 0x6a, 0x00, 0xff },   /* MSTAT */
	{ 0x6b, 0x00, 0xff },
	{ 0x70, 0x80, 0xff },   /* MBIRQ0 */
	{ 0x76, 0x0c, 0xff },   /* MBDMA0-1 */
	{ 0x77, 0x0c, 0xff },
	{ 0x78, 0x02, 0xff },   /* PCSC */
	{ 0x79, 0x00, 0xff },
	{ 0x80, 0x00, 0xff },   /* APICBASE */
	{ 0x82, 0x00, 0xff },   /* DLC: deterministic latency */
	{ 0xa0, 0x08, 0xff },   /* SMICNTL */
	{ 0xa2, 0x00, 0xff },   /* SMIEN */
	{ 0xa3, 0x00, 0xff },
	{ 0xa4, 0x00, 0xff },   /* SEE */
	{ 0xa5, 0x00, 0xff },
	{ 0xa6, 0x00, 0xff },
	{ 0xa7, 0x00, 0xff },
	{ 0xa8, 0x0f, 0xff },   /* FTMR */
	{ 0xaa, 0x00, 0xff },   /* SMIREQ */
	{ 0xab, 0x00, 0xff },
	{ 0xac, 0x00, 0xff },   /* CTLTMR */
	{ 0xae, 0x00, 0xff },   /* CTHTMR */
};

/* PIRQ line -> ISA IRQ, as the routing register currently says. */
static uint8_t piix3_target(const struct piix3 *s, unsigned pirq)
{
	uint8_t r = pci_config_get8(s->pci, PIIX3_PIRQRC + pirq);
	unsigned irq = r & PIRQRC_IRQ_MASK;
	if (r & PIRQRC_DISABLE)
		return PIRQ_UNROUTED;
	if (!(PIIX3_VALID_IRQS & (1u << irq))) {
		log_guest(LOG_DEBUG, "piix3", "PIRQ%c routed to reserved IRQ %u; left unconnected",
			  'A' + pirq, irq);
		return PIRQ_UNROUTED;
	}
	return (uint8_t)irq;
}

/* Reconnect PIRQ lines whose routing register changed. Device lock held. */
static void piix3_reroute(struct piix3 *s)
{
	for (unsigned p = 0; p < PIIX3_NUM_PIRQS; p++) {
		uint8_t irq = piix3_target(s, p);
		if (irq == s->routed_to[p])
			continue;
		irq_line_set(&s->line[p], false);
		s->routed_to[p] = irq;
		if (irq == PIRQ_UNROUTED)
			continue;
		irq_line_init(&s->line[p], s->m, irq);
		irq_line_set(&s->line[p], pci_bus_pirq_level(s->bus, p));
	}
}

static void piix3_route(void *opaque, unsigned pirq, bool level)
{
	struct piix3 *s = opaque;
	if (pirq < PIIX3_NUM_PIRQS && s->routed_to[pirq] != PIRQ_UNROUTED)
		irq_line_set(&s->line[pirq], level);
}

static void piix3_config_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct piix3 *s = opaque;
	if (pci_config_touches(off, size, PIIX3_PIRQRC, PIIX3_NUM_PIRQS))
		piix3_reroute(s);
}

static const struct pci_dev_ops piix3_pci_ops = {
	.config_write = piix3_config_write,
};

static void piix3_reset(void *dev)
{
	struct piix3 *s = dev;
	pci_dev_reset(s->pci);
	/* Datasheet power-on: I/O, memory and bus-master decode on. */
	pci_config_set16(s->pci, PCI_COMMAND,
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	for (size_t i = 0; i < sizeof(piix3_regs) / sizeof(piix3_regs[0]); i++)
		pci_config_set8(s->pci, piix3_regs[i].reg, piix3_regs[i].value);
	piix3_reroute(s);
}

static void piix3_destroy(void *dev)
{
	struct piix3 *s = dev;
	pci_bus_set_router(s->bus, NULL, NULL);
	for (unsigned p = 0; p < PIIX3_NUM_PIRQS; p++)
		irq_line_set(&s->line[p], false);
	pci_unregister(s->pci);
	free(s);
}

static void *piix3_create(struct machine *m, const void *params)
{
	const struct piix3_params *pp = params;
	struct piix3 *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->bus = pp->bus;
	const struct pci_dev_params p = {
		.name = "piix3",
		.devfn = pp->devfn,
		.vendor_id = PIIX3_VENDOR,
		.device_id = PIIX3_DEVICE,
		.subsys_vendor_id = PCI_SUBVENDOR_QEMU,
		.subsys_id = PCI_SUBDEVICE_QEMU,
		.class_code = PCI_CLASS_ISA_BRIDGE,
		.ops = &piix3_pci_ops,
		.opaque = s,
	};
	s->pci = pci_register(pp->bus, &p);
	if (!s->pci) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(piix3_regs) / sizeof(piix3_regs[0]); i++)
		pci_config_set_wmask(s->pci, piix3_regs[i].reg, 1, piix3_regs[i].wmask);
	for (unsigned p = 0; p < PIIX3_NUM_PIRQS; p++) {
		irq_line_init(&s->line[p], m, 0);
		s->routed_to[p] = PIRQ_UNROUTED;
	}
	pci_bus_set_router(pp->bus, piix3_route, s);
	piix3_reset(s);
	return s;
}

const struct device_desc piix3_desc = {
	.name = "piix3",
	.create = piix3_create,
	.reset = piix3_reset,
	.destroy = piix3_destroy,
};
