/*
 * piix4_pm: Intel 82371AB PIIX4 function 3, power management (ACPI).
 *
 * References: Intel 82371AB PIIX4 datasheet, 3.4 (function 3 configuration
 * registers: PMBA 0x40, DEVACTB 0x58, DEVRESA 0x5c, DEVRESC 0x64,
 * PMREGMISC 0x80, SMBBA 0x90, SMBHSTCFG 0xd2), 3.5 (PM I/O registers),
 * 3.3.3 (APMC 0xb2 / APMS 0xb3); ACPI 6.4, 4.8 (fixed hardware: PM1
 * event/control blocks, PM timer, GPE blocks, SCI_EN, SLP_TYP/SLP_EN), 7.4.2
 * (sleep states). The layout follows what SeaBIOS's legacy ACPI builder puts
 * in the FADT for this device: PM1a_EVT at PMBA, PM1a_CNT at PMBA+4, PM_TMR at
 * PMBA+8, GPE0 at the fixed port 0xafe0, SCI on IRQ 9, SMI_CMD 0xb2 with
 * ACPI_ENABLE 0xf1 / ACPI_DISABLE 0xf0.
 *
 * Decisions:
 *  - No System Management Mode. DEVACTB.APMC_EN (config 0x5b bit 1) is set
 *    at reset, which tells SeaBIOS SMM is "already initialised" so it never
 *    waits for an SMI handler. Writes of 0xf1/0xf0 to APMC set/clear SCI_EN
 *    directly: that is the whole job of the SMI handler on a real board.
 *  - The SCI is level-triggered and active-high: it is asserted while SCI_EN
 *    is set and an enabled PM1 or GPE0 status bit is set, and drops when the
 *    OS clears the status. The guest's ELCR makes IRQ 9 level.
 *  - The PM timer is the guest clock (vclock) scaled to 3.579545 MHz, 24
 *    bits; TMR_STS is set whenever bit 23 toggles, worked out when status is
 *    read, with a guest-time timer only while TMR_EN and SCI_EN ask for an
 *    interrupt.
 *  - SLP_EN with SLP_TYP 0 (S5) or 2 (S4) powers the machine off; other
 *    sleep states are not offered (the firmware is told S3 is absent) and are
 *    refused by setting WAK_STS at once, so an OS waiting for wake returns.
 *  - The PIIX4's SMBus host controller is not emulated: SMBBA and SMBHSTCFG
 *    are storage, the SMBus ports stay unclaimed and read all ones.
 *  - 0xae00-0xae0f is the PCI hotplug block SeaBIOS's DSDT and SSDT read
 *    (PCIU, PCID, B0EJ, RMV): it reads 0 — no slot is hot-pluggable or
 *    ejectable.
 */
#include "pci/piix4_pm.h"

#include <stdlib.h>
#include <string.h>

#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"
#include "pci/pci.h"
#include "vclock.h"

#define PIIX4_VENDOR 0x8086
#define PIIX4_PM_DEVICE 0x7113
#define PIIX4_PM_REVISION 0x03
#define PCI_CLASS_BRIDGE_OTHER 0x068000

/* Configuration registers. */
#define PM_PMBA 0x40
#define  PMBA_IO 0x00000001u            /* read-only "I/O space" bit */
#define  PMBA_MASK 0x0000ffc0u
#define PM_DEVACTB 0x58
#define  DEVACTB_APMC_EN 0x02000000u
#define PM_DEVRESA_HI 0x5f
#define  DEVRESA_LPT_EN 0x80
#define PM_DEVRESC_HI 0x67
#define  DEVRESC_COM1_EN 0x08
#define  DEVRESC_COM2_EN 0x80
#define PM_PMREGMISC 0x80
#define  PMREGMISC_PMIOSE 0x01
#define PM_SMBBA 0x90
#define  SMBBA_IO 0x00000001u
#define PM_SMBHSTCFG 0xd2

/* PM I/O block (offsets from PMBA). */
#define PM_IO_LEN 64
#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PM_TMR 0x08
#define PM_PLVL2 0x14
#define PM_PLVL3 0x15
#define PM_GPIREG 0x30
#define PM_STORAGE_START 0x0c           /* GPSTS... GPOREG: plain storage */

#define PM1_TMR_STS 0x0001
#define PM1_BM_STS 0x0010
#define PM1_GBL_STS 0x0020
#define PM1_PWRBTN_STS 0x0100
#define PM1_RTC_STS 0x0400
#define PM1_PWRBTNOR_STS 0x0800
#define PM1_WAK_STS 0x8000
#define PM1_STS_MASK (PM1_TMR_STS | PM1_BM_STS | PM1_GBL_STS | PM1_PWRBTN_STS | \
		      PM1_RTC_STS | PM1_PWRBTNOR_STS | PM1_WAK_STS)
#define PM1_EN_MASK (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_RTC_STS)

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_BM_RLD 0x0002
#define PM1_CNT_GBL_RLS 0x0004
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP 0x1c00
#define PM1_CNT_SLP_EN 0x2000
#define PM1_CNT_MASK (PM1_CNT_SCI_EN | PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP)

#define PM_TMR_BITS 24
#define PM_TMR_TOGGLE_SHIFT 23          /* TMR_STS on every change of bit 23 */

/* Fixed ports. */
#define GPE0_PORT 0xafe0
#define GPE0_LEN 4
#define APM_PORT 0xb2
#define APM_CMD_ACPI_ENABLE 0xf1
#define APM_CMD_ACPI_DISABLE 0xf0
#define PCIHP_PORT 0xae00
#define PCIHP_LEN 16

struct piix4_pm {
	struct machine *m;
	struct pci_dev *pci;
	struct piix4_pm_params params;
	struct irq_line sci;
	struct vtimer *tmr_timer;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe_sts, gpe_en;
	uint8_t regs[PM_IO_LEN];        /* the storage registers of the block */
	uint8_t apmc, apms;
	int64_t tmr_period;             /* PM timer >> 23 when TMR_STS was last synced */
	struct iobus_region *pm_io, *gpe_io, *apm_io, *pcihp_io;
};

/* ---- PM timer ---------------------------------------------------------- */

/* Ticks of the 3.579545 MHz clock since power-on (exact, no overflow for
 * centuries: the remainder product stays below 2^52). */
static int64_t pm_ticks(const struct piix4_pm *pm)
{
	int64_t ns = vclock_now(pm->m->clock);
	if (ns < 0)
		ns = 0;
	return ns / NS_PER_SEC * PIIX4_PM_TIMER_HZ + ns % NS_PER_SEC * PIIX4_PM_TIMER_HZ / NS_PER_SEC;
}

/* First guest time (ns) at which pm_ticks() reaches ticks. */
static int64_t pm_ticks_to_ns(int64_t ticks)
{
	return ticks / PIIX4_PM_TIMER_HZ * NS_PER_SEC +
	       (ticks % PIIX4_PM_TIMER_HZ * NS_PER_SEC + PIIX4_PM_TIMER_HZ - 1) / PIIX4_PM_TIMER_HZ;
}

/* Set TMR_STS if bit 23 toggled since the last look. */
static void pm_tmr_sync(struct piix4_pm *pm)
{
	int64_t period = pm_ticks(pm) >> PM_TMR_TOGGLE_SHIFT;
	if (period != pm->tmr_period) {
		pm->tmr_period = period;
		pm->pm1_sts |= PM1_TMR_STS;
	}
}

static void pm_update_sci(struct piix4_pm *pm)
{
	bool pending = (pm->pm1_sts & pm->pm1_en & PM1_EN_MASK) || (pm->gpe_sts & pm->gpe_en);
	irq_line_set(&pm->sci, (pm->pm1_cnt & PM1_CNT_SCI_EN) && pending);
}

/* The timer interrupt needs a wake-up only while it can raise the SCI. */
static void pm_tmr_arm(struct piix4_pm *pm)
{
	if ((pm->pm1_en & PM1_TMR_STS) && (pm->pm1_cnt & PM1_CNT_SCI_EN))
		vtimer_arm(pm->tmr_timer,
			   pm_ticks_to_ns((pm->tmr_period + 1) << PM_TMR_TOGGLE_SHIFT));
	else
		vtimer_disarm(pm->tmr_timer);
}

/* Timer thread, device lock held. */
static void pm_tmr_fire(void *opaque, int64_t now)
{
	struct piix4_pm *pm = opaque;
	pm_tmr_sync(pm);
	pm_update_sci(pm);
	pm_tmr_arm(pm);
}

/* ---- sleep and power button -------------------------------------------- */

static void pm_sleep(struct piix4_pm *pm)
{
	unsigned typ = (pm->pm1_cnt & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT;
	switch (typ) {
	case PIIX4_PM_SLP_TYP_S5:
		log_info("acpi", "the guest entered S5 (soft off)");
		machine_request_poweroff(pm->m);
		break;
	case PIIX4_PM_SLP_TYP_S4:
		log_info("acpi", "the guest entered S4 (hibernation); powering off");
		machine_request_poweroff(pm->m);
		break;
	default:
		log_guest(LOG_WARN, "acpi", "sleep type %u is not supported; waking at once", typ);
		pm->pm1_sts |= PM1_WAK_STS;
		break;
	}
}

bool piix4_pm_power_button(void *opaque)
{
	struct piix4_pm *pm = opaque;
	pm->pm1_sts |= PM1_PWRBTN_STS;
	pm_update_sci(pm);
	return (pm->pm1_cnt & PM1_CNT_SCI_EN) && (pm->pm1_en & PM1_PWRBTN_STS);
}

/* ---- PM I/O block ------------------------------------------------------ */

/* Does an access [off, off+size) touch register [reg, reg+len)? */
static bool pm_touches(uint64_t off, unsigned size, unsigned reg, unsigned len)
{
	return off < reg + len && reg < off + size;
}

static uint8_t pm_read_byte(struct piix4_pm *pm, unsigned off, uint32_t tmr)
{
	switch (off) {
	case PM1_STS: case PM1_STS + 1:
		return (uint8_t)(pm->pm1_sts >> (8 * (off - PM1_STS)));
	case PM1_EN: case PM1_EN + 1:
		return (uint8_t)(pm->pm1_en >> (8 * (off - PM1_EN)));
	case PM1_CNT: case PM1_CNT + 1:
		return (uint8_t)(pm->pm1_cnt >> (8 * (off - PM1_CNT)));
	case PM_TMR: case PM_TMR + 1: case PM_TMR + 2: case PM_TMR + 3:
		return (uint8_t)(tmr >> (8 * (off - PM_TMR)));
	case PM_PLVL2: case PM_PLVL3:
		return 0;       /* entering C2/C3: nothing to do */
	default:
		if (off >= PM_GPIREG && off < PM_GPIREG + 4)
			return 0;       /* no general-purpose inputs are wired */
		return off >= PM_STORAGE_START ? pm->regs[off] : 0;
	}
}

static void pm_write_byte(struct piix4_pm *pm, unsigned off, uint8_t b)
{
	unsigned sh;
	switch (off) {
	case PM1_STS: case PM1_STS + 1:
		sh = 8 * (off - PM1_STS);
		pm->pm1_sts &= (uint16_t)~((b << sh) & PM1_STS_MASK);
		break;
	case PM1_EN: case PM1_EN + 1:
		sh = 8 * (off - PM1_EN);
		pm->pm1_en = (uint16_t)(((pm->pm1_en & ~(0xff << sh)) | (b << sh)) & PM1_EN_MASK);
		break;
	case PM1_CNT: case PM1_CNT + 1:
		sh = 8 * (off - PM1_CNT);
		/* SLP_EN and GBL_RLS are write-only triggers, kept until the
		 * access is complete. */
		pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & ~(0xff << sh)) | (b << sh));
		break;
	case PM_PLVL2: case PM_PLVL3:
		break;
	default:
		if (off >= PM_STORAGE_START && !(off >= PM_GPIREG && off < PM_GPIREG + 4))
			pm->regs[off] = b;
		break;      /* reserved, timer and input registers are read-only */
	}
}

/* vCPU thread, device lock held. */
static uint64_t pm_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *pm = opaque;
	uint32_t tmr = 0;
	if (pm_touches(off, size, PM_TMR, 4))
		tmr = (uint32_t)(pm_ticks(pm) & ((1 << PM_TMR_BITS) - 1));
	if (pm_touches(off, size, PM1_STS, 2))
		pm_tmr_sync(pm);
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)pm_read_byte(pm, (unsigned)off + i, tmr) << (8 * i);
	return v;
}

static void pm_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct piix4_pm *pm = opaque;
	if (pm_touches(off, size, PM1_STS, 2))
		pm_tmr_sync(pm);     /* a pending toggle is cleared with the rest */
	for (unsigned i = 0; i < size; i++)
		pm_write_byte(pm, (unsigned)off + i, (uint8_t)(v >> (8 * i)));
	if (pm->pm1_cnt & PM1_CNT_SLP_EN) {
		pm->pm1_cnt &= PM1_CNT_MASK;
		pm_sleep(pm);
	}
	pm->pm1_cnt &= PM1_CNT_MASK;
	pm_update_sci(pm);
	pm_tmr_arm(pm);
}

static const struct iobus_ops pm_io_ops = { pm_io_read, pm_io_write, 4 };

/* ---- GPE0 block -------------------------------------------------------- */

static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *pm = opaque;
	uint32_t regs = pm->gpe_sts | (uint32_t)pm->gpe_en << 16;
	return (regs >> (8 * off)) & ((1ULL << (8 * size)) - 1);
}

static void gpe_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct piix4_pm *pm = opaque;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = (unsigned)off + i;
		uint16_t b = (uint8_t)(v >> (8 * i));
		unsigned sh = 8 * (o & 1);
		if (o < 2)
			pm->gpe_sts &= (uint16_t)~(b << sh);
		else
			pm->gpe_en = (uint16_t)((pm->gpe_en & ~(0xff << sh)) | (b << sh));
	}
	pm_update_sci(pm);
}

static const struct iobus_ops gpe_ops = { gpe_read, gpe_write, 4 };

/* ---- APM control/status ------------------------------------------------ */

static uint64_t apm_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *pm = opaque;
	return off == 0 ? pm->apmc : pm->apms;
}

/* SMI_CMD: without SMM, the ACPI enable/disable handshake is done here. */
static void apm_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct piix4_pm *pm = opaque;
	if (off == 1) {
		pm->apms = (uint8_t)v;
		return;
	}
	pm->apmc = (uint8_t)v;
	if (pm->apmc == APM_CMD_ACPI_ENABLE)
		pm->pm1_cnt |= PM1_CNT_SCI_EN;
	else if (pm->apmc == APM_CMD_ACPI_DISABLE)
		pm->pm1_cnt &= (uint16_t)~PM1_CNT_SCI_EN;
	else
		return;
	log_debug("acpi", "ACPI %s through SMI_CMD", pm->apmc == APM_CMD_ACPI_ENABLE ?
		  "enabled" : "disabled");
	pm_update_sci(pm);
	pm_tmr_arm(pm);
}

static const struct iobus_ops apm_ops = { apm_read, apm_write, 1 };

static uint64_t pcihp_read(void *opaque, uint64_t off, unsigned size)
{
	return 0;
}

static void pcihp_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	log_guest(LOG_DEBUG, "acpi", "PCI hotplug register %#llx written; no hotplug slots",
		  (unsigned long long)off);
}

static const struct iobus_ops pcihp_ops = { pcihp_read, pcihp_write, 4 };

/* ---- configuration space ----------------------------------------------- */

/* Decode the PM block where PMBA says, while PMREGMISC.PMIOSE is set. */
static void pm_io_update(struct piix4_pm *pm)
{
	uint64_t base = pci_config_get32(pm->pci, PM_PMBA) & PMBA_MASK;
	bool on = (pci_config_get8(pm->pci, PM_PMREGMISC) & PMREGMISC_PMIOSE) && base;
	int rc = 0;
	if (!on) {
		iobus_remove(pm->pm_io);
		pm->pm_io = NULL;
		return;
	}
	if (pm->pm_io && iobus_region_base(pm->pm_io) == base)
		return;
	if (pm->pm_io)
		rc = iobus_move(pm->pm_io, base);
	else
		rc = iobus_add(pm->m->pio, "acpi-pm", base, PM_IO_LEN, &pm_io_ops, pm, 0,
			       &pm->pm_io);
	if (rc) {
		log_guest(LOG_WARN, "acpi", "PM block at %#llx clashes with another device; "
			  "it does not decode", (unsigned long long)base);
		iobus_remove(pm->pm_io);
		pm->pm_io = NULL;
	} else {
		log_debug("acpi", "PM block at %#llx", (unsigned long long)base);
	}
}

static void pm_config_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct piix4_pm *pm = opaque;
	if (pci_config_touches(off, size, PM_PMBA, 4) ||
	    pci_config_touches(off, size, PM_PMREGMISC, 1))
		pm_io_update(pm);
}

static const struct pci_dev_ops pm_pci_ops = {
	.config_write = pm_config_write,
};

static void piix4_pm_reset(void *dev)
{
	struct piix4_pm *pm = dev;
	pci_dev_reset(pm->pci);
	for (unsigned off = PCI_HEADER_END; off < PCI_CONFIG_SIZE; off++)
		pci_config_set8(pm->pci, off, 0);
	pci_config_set32(pm->pci, PM_PMBA, PMBA_IO);
	pci_config_set32(pm->pci, PM_DEVACTB, DEVACTB_APMC_EN);
	pci_config_set8(pm->pci, PM_DEVRESA_HI, pm->params.lpt ? DEVRESA_LPT_EN : 0);
	pci_config_set8(pm->pci, PM_DEVRESC_HI,
			(uint8_t)((pm->params.com1 ? DEVRESC_COM1_EN : 0) |
				  (pm->params.com2 ? DEVRESC_COM2_EN : 0)));
	pci_config_set32(pm->pci, PM_SMBBA, SMBBA_IO);
	pm_io_update(pm);

	pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
	pm->gpe_sts = pm->gpe_en = 0;
	memset(pm->regs, 0, sizeof(pm->regs));
	pm->apmc = pm->apms = 0;
	pm->tmr_period = pm_ticks(pm) >> PM_TMR_TOGGLE_SHIFT;
	vtimer_disarm(pm->tmr_timer);
	pm_update_sci(pm);
}

static void piix4_pm_destroy(void *dev)
{
	struct piix4_pm *pm = dev;
	vtimer_destroy(pm->tmr_timer);
	irq_line_set(&pm->sci, false);
	iobus_remove(pm->pm_io);
	iobus_remove(pm->gpe_io);
	iobus_remove(pm->apm_io);
	iobus_remove(pm->pcihp_io);
	pci_unregister(pm->pci);
	free(pm);
}

static void *piix4_pm_create(struct machine *m, const void *params)
{
	const struct piix4_pm_params *pp = params;
	struct piix4_pm *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->m = m;
	pm->params = *pp;
	irq_line_init(&pm->sci, m, pp->sci_irq);
	const struct pci_dev_params p = {
		.name = "piix4-pm",
		.devfn = pp->devfn,
		.vendor_id = PIIX4_VENDOR,
		.device_id = PIIX4_PM_DEVICE,
		.subsys_vendor_id = PCI_SUBVENDOR_QEMU,
		.subsys_id = PCI_SUBDEVICE_QEMU,
		.revision = PIIX4_PM_REVISION,
		.class_code = PCI_CLASS_BRIDGE_OTHER,
		.int_pin = 1,
		.ops = &pm_pci_ops,
		.opaque = pm,
	};
	pm->tmr_timer = vtimer_create(m->clock, pm_tmr_fire, pm);
	pm->pci = pm->tmr_timer ? pci_register(pp->bus, &p) : NULL;
	if (!pm->pci)
		goto fail;
	pci_config_set_wmask(pm->pci, PM_PMBA, 4, PMBA_MASK);
	/* CNTA, CNTB, GPICTL, DEVRESD, DEVACTA/B, DEVRESA-C, DEVRESE-J:
	 * device decode/monitor enables that only matter to SMM firmware. */
	for (unsigned off = 0x44; off < PM_PMREGMISC; off += 4)
		pci_config_set_wmask(pm->pci, off, 4, 0xffffffff);
	pci_config_set_wmask(pm->pci, PM_PMREGMISC, 1, PMREGMISC_PMIOSE);
	pci_config_set_wmask(pm->pci, PM_SMBBA, 4, 0x0000fff0);
	pci_config_set_wmask(pm->pci, PM_SMBHSTCFG, 1, 0x0f);
	if (iobus_add(m->pio, "acpi-gpe0", GPE0_PORT, GPE0_LEN, &gpe_ops, pm, 0, &pm->gpe_io) ||
	    iobus_add(m->pio, "apm", APM_PORT, 2, &apm_ops, pm, 0, &pm->apm_io) ||
	    iobus_add(m->pio, "acpi-pcihp", PCIHP_PORT, PCIHP_LEN, &pcihp_ops, pm, 0,
		      &pm->pcihp_io))
		goto fail;
	piix4_pm_reset(pm);
	return pm;
fail:
	log_err("acpi", "cannot create the PIIX4 power-management function");
	iobus_remove(pm->gpe_io);
	iobus_remove(pm->apm_io);
	iobus_remove(pm->pcihp_io);
	pci_unregister(pm->pci);
	if (pm->tmr_timer)
		vtimer_destroy(pm->tmr_timer);
	free(pm);
	return NULL;
}

const struct device_desc piix4_pm_desc = {
	.name = "piix4-pm",
	.create = piix4_pm_create,
	.reset = piix4_pm_reset,
	.destroy = piix4_pm_destroy,
};
