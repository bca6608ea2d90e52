/*
 * board_pc: the PC. Creates every device in a fixed order and decides how
 * the machine boots.
 *
 * Order matters in two ways: devices are reset in reverse creation order
 * (so a device is reset before the ones it depends on), and a device can
 * only use what was created before it. Interrupt controllers come first,
 * then timers, then everything that raises interrupts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apic/apicbus.h"
#include "apic/hpet.h"
#include "apic/ioapic.h"
#include "apic/lapic.h"
#include "boot/bios.h"
#include "boot/boot.h"
#include "chardev.h"
#include "disk/blk.h"
#include "disk/drives.h"
#include "ide/piix_ide.h"
#include "isa/debugexit.h"
#include "isa/debugport.h"
#include "isa/fw_cfg.h"
#include "isa/i8042.h"
#include "isa/pic.h"
#include "isa/pit.h"
#include "isa/rtc.h"
#include "isa/sysctl.h"
#include "isa/uart.h"
#include "log.h"
#include "machine.h"
#include "pci/i440fx.h"
#include "pci/pci.h"
#include "pci/piix3.h"
#include "pci/piix4_pm.h"
#include "ui/input.h"

#define EBDA_BASE 0x9fc00ULL
#define BIOS_AREA 0xe0000ULL
#define ENGINE_RESERVED_BASE 0xfeffc000ULL
#define ENGINE_RESERVED_SIZE 0x4000ULL
#define SCI_IRQ 9

/* PCI functions, as on QEMU's i440FX PC (SeaBIOS's DSDT and $PIR assume
 * them): 00:00.0 is the host bridge itself, 00:01.0 the ISA bridge, 00:01.1
 * the IDE controller, 00:01.3 power management. */
#define DEVFN_ISA PCI_DEVFN(1, 0)
#define DEVFN_IDE PCI_DEVFN(1, 1)
#define DEVFN_PM PCI_DEVFN(1, 3)

static const struct {
	uint16_t base;
	unsigned gsi;
} com_ports[CONFIG_MAX_SERIAL] = {
	{ 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

struct board_pc {
	void *uart[CONFIG_MAX_SERIAL];
	struct pci_bus *pci;            /* bus 0, for every PCI device */
	void *pm;                       /* PIIX4 PM: ACPI power button */
	struct fw_cfg *fw_cfg;
	void *rtc;
};

/* The physical memory map as firmware would report it (ACPI 6.4, 15). */
static void board_pc_e820(struct machine *m)
{
	machine_add_e820(m, 0, EBDA_BASE, E820_RAM);
	machine_add_e820(m, EBDA_BASE, 0xa0000 - EBDA_BASE, E820_RESERVED);
	machine_add_e820(m, BIOS_AREA, 0x100000 - BIOS_AREA, E820_RESERVED);
	machine_add_e820(m, 0x100000, m->ram_below_4g - 0x100000, E820_RAM);
	if (m->ram_above_4g)
		machine_add_e820(m, 0x100000000ULL, m->ram_above_4g, E820_RAM);
	/* KVM's real-mode TSS and identity map live here (host-driver/linux/kvm.c);
	 * reserved on every engine so that both show guests the same map. */
	machine_add_e820(m, ENGINE_RESERVED_BASE, ENGINE_RESERVED_SIZE, E820_RESERVED);
}

/* Loop thread: Ctrl-A <key> on the serial console. */
static void board_pc_escape(void *opaque, int key)
{
	struct machine *m = opaque;
	if (key == 'x' || key == 'X') {
		log_info("machine", "Ctrl-A x: stopping the VM");
		machine_request_exit(m, 0);
	}
}

static int board_pc_serial(struct machine *m, struct board_pc *b)
{
	char err[512];
	for (unsigned i = 0; i < CONFIG_MAX_SERIAL; i++) {
		const struct config_serial *s = &m->cfg->serial[i];
		if (s->mode == SERIAL_NONE)
			continue;       /* "none" means the port is absent */
		m->serial[i] = chardev_open(m->loop, s, err, sizeof(err));
		if (!m->serial[i]) {
			log_err("machine", "%s", err);
			return -EINVAL;
		}
		chardev_set_escape(m->serial[i], board_pc_escape, m);
		struct uart_params p = { com_ports[i].base, com_ports[i].gsi, m->serial[i] };
		b->uart[i] = machine_add_device(m, &uart_desc, &p);
		if (!b->uart[i])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Interrupt controllers and timers. KVM brings its own 8259s, I/O APIC,
 * LAPICs and 8254; other engines get ours, joined by the APIC bus, which
 * must come first (the others attach to it). The HPET serves every engine.
 */
static int board_pc_irqchips(struct machine *m)
{
	struct pit *pit = NULL;
	if (!m->accel->has_irqchip) {
		if (!machine_add_device(m, &apicbus_desc, NULL) ||
		    !machine_add_device(m, &pic_desc, NULL) ||
		    !machine_add_device(m, &ioapic_desc, NULL))
			return -ENOMEM;
		for (unsigned i = 0; i < m->ncpus; i++) {
			struct lapic_params lp = { i };
			if (!machine_add_device(m, &lapic_desc, &lp))
				return -ENOMEM;
		}
		pit = machine_add_device(m, &pit_desc, NULL);
		if (!pit)
			return -ENOMEM;
	}
	struct hpet_params hp = { pit };
	return machine_add_device(m, &hpet_desc, &hp) ? 0 : -ENOMEM;
}

static void board_pc_cmos_word(void *rtc, unsigned index, uint64_t v, uint64_t max)
{
	v = v < max ? v : max;
	rtc_cmos_set(rtc, index, (uint8_t)v);
	rtc_cmos_set(rtc, index + 1, (uint8_t)(v >> 8));
}

/*
 * The CMOS bytes DOS, Linux and firmware read for the machine's equipment
 * and memory (IBM PC/AT Technical Reference, "CMOS RAM"; 0x30-0x5f as
 * seabios-platform.md section 3 describes). The boot-order and disk bytes
 * belong to the devices and firmware code that know them.
 */
static void board_pc_cmos(struct machine *m, void *rtc)
{
	uint64_t below = m->ram_below_4g;
	rtc_cmos_set(rtc, RTC_CMOS_FLOPPY, 0x00);       /* no diskette drives */
	/* Equipment: math coprocessor, pointing device, VGA, no diskettes. */
	rtc_cmos_set(rtc, RTC_CMOS_EQUIPMENT, 0x06);
	board_pc_cmos_word(rtc, RTC_CMOS_BASE_MEM_LO, 640, 640);
	board_pc_cmos_word(rtc, RTC_CMOS_EXT_MEM_LO, (below - 0x100000) >> 10, 0xffff);
	board_pc_cmos_word(rtc, RTC_CMOS_EXT_MEM2_LO, (below - 0x100000) >> 10, 0xffff);
	board_pc_cmos_word(rtc, RTC_CMOS_MEM_16M_LO,
			   below > 0x1000000 ? (below - 0x1000000) >> 16 : 0, 0xffff);
	uint64_t high = m->ram_above_4g >> 16;
	high = high < 0xffffff ? high : 0xffffff;
	for (unsigned i = 0; i < 3; i++)
		rtc_cmos_set(rtc, RTC_CMOS_MEM_4G_LO + i, (uint8_t)(high >> (8 * i)));
	rtc_cmos_set(rtc, RTC_CMOS_NCPUS, (uint8_t)(m->ncpus - 1));
	/* The AT BIOS checksum over 0x10-0x2d, high byte first. */
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += rtc_cmos_get(rtc, i);
	rtc_cmos_set(rtc, RTC_CMOS_CHECKSUM_HI, (uint8_t)(sum >> 8));
	rtc_cmos_set(rtc, RTC_CMOS_CHECKSUM_LO, (uint8_t)sum);
}

/* lodge run --type-at: watch every serial port for the markers. */
static int board_pc_type_at(struct machine *m)
{
	const struct config *cfg = m->cfg;
	for (unsigned i = 0; i < cfg->ntype_at; i++)
		if (input_type_at(m->input, cfg->type_at[i].marker, cfg->type_at[i].text))
			return -ENOMEM;
	for (unsigned i = 0; cfg->ntype_at && i < CONFIG_MAX_SERIAL; i++)
		if (m->serial[i])
			chardev_set_tap(m->serial[i], input_watch_output, m->input);
	return 0;
}

int board_pc_build(struct machine *m)
{
	struct board_pc *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	m->board = b;
	m->a20 = true;
	board_pc_e820(m);
	m->input = input_create(&m->dev_lock, m->clock, m->loop);
	if (!m->input)
		return -ENOMEM;

	int rc = board_pc_irqchips(m);
	if (rc)
		return rc;

	/* System functions: reset lines, A20, diagnostics. */
	if (!machine_add_device(m, &sysctl_desc, NULL) ||
	    !machine_add_device(m, &i8042_desc, NULL) ||
	    !machine_add_device(m, &debugport_desc, NULL))
		return -ENOMEM;
	if (m->cfg->debug_exit && !machine_add_device(m, &debugexit_desc, NULL))
		return -ENOMEM;

	/* PCI: the i440FX host bridge owns bus 0 and ports 0xcf8-0xcff; the
	 * PIIX3 routes PIRQA-D to ISA IRQs; the PIIX4 PM function is ACPI. */
	void *host = machine_add_device(m, &i440fx_desc, NULL);
	if (!host)
		return -ENOMEM;
	b->pci = i440fx_bus(host);
	const struct piix3_params isa = { b->pci, DEVFN_ISA };
	const struct piix4_pm_params pm = {
		.bus = b->pci,
		.devfn = DEVFN_PM,
		.sci_irq = SCI_IRQ,
		.com1 = m->cfg->serial[0].mode != SERIAL_NONE,
		.com2 = m->cfg->serial[1].mode != SERIAL_NONE,
	};
	if (!machine_add_device(m, &piix3_desc, &isa))
		return -ENOMEM;
	b->pm = machine_add_device(m, &piix4_pm_desc, &pm);
	if (!b->pm)
		return -ENOMEM;

	/* Disk images, before the controllers that will take them and the
	 * CMOS that describes them. */
	rc = drives_open(m);
	if (rc)
		return rc;
	/* The PIIX IDE function takes the four positions; an empty position
	 * has no device (the BIOS and the OS see nothing there). */
	struct piix_ide_params ide = { .bus = b->pci, .devfn = DEVFN_IDE };
	uint64_t disks[BIOS_CMOS_DISKS] = { 0 };
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES && i < PIIX_IDE_DRIVES; i++) {
		if (!m->drive[i])
			continue;
		bool cd = m->cfg->drive[i].media == MEDIA_CDROM;
		ide.drive[i].kind = cd ? IDE_CDROM : IDE_DISK;
		ide.drive[i].blk = m->drive[i];
		if (!cd)
			disks[i] = blk_size(m->drive[i]);
	}
	if (!machine_add_device(m, &piix_ide_desc, &ide))
		return -ENOMEM;

	/* Devices that raise interrupts, after the interrupt controllers. */
	b->rtc = machine_add_device(m, &rtc_desc, NULL);
	if (!b->rtc)
		return -ENOMEM;
	board_pc_cmos(m, b->rtc);

	/* What the BIOS learns about this machine: fw_cfg and CMOS. */
	bios_cmos_fill(m, b->rtc, disks);
	b->fw_cfg = machine_add_device(m, &fw_cfg_desc, NULL);
	if (!b->fw_cfg)
		return -ENOMEM;
	rc = bios_config_fill(m, b->fw_cfg);
	if (rc)
		return rc;

	rc = board_pc_serial(m, b);
	if (rc)
		return rc;
	return board_pc_type_at(m);
}

int board_pc_boot(struct machine *m)
{
	if (m->cfg->kernel.path)
		return boot_linux(m);
	if (m->cfg->multiboot.path)
		return boot_multiboot(m);
	return boot_firmware(m);
}

/* Loop thread (a SIGTERM): takes the device lock itself. */
int board_pc_power_button(struct machine *m)
{
	struct board_pc *b = m->board;
	if (!b || !b->pm)
		return -ENODEV;
	machine_lock(m);
	bool seen = piix4_pm_power_button(b->pm);
	machine_unlock(m);
	return seen ? 0 : -EAGAIN;
}

void board_pc_destroy(struct machine *m)
{
	for (unsigned i = 0; i < CONFIG_MAX_SERIAL; i++)
		if (m->serial[i])
			chardev_set_tap(m->serial[i], NULL, NULL);
	input_destroy(m->input);
	m->input = NULL;
	free(m->board);
	m->board = NULL;
}
