/*
 * piix4_pm: the Intel 82371AB PIIX4 power-management function (ACPI), as
 * QEMU's PC places it at 00:01.3 next to a PIIX3: the PM register block
 * (PM1 event/control, the 3.579545 MHz PM timer), GPE0 at 0xafe0, the SCI on
 * IRQ 9, the APM ports 0xb2/0xb3 and the power button.
 */
#ifndef LODGE_PIIX4_PM_H
#define LODGE_PIIX4_PM_H

#include <stdbool.h>

#include "device.h"

struct pci_bus;

/* SLP_TYP values this model acts on. S5 (soft off) is 0 in SeaBIOS's
 * DSDT; S4 uses the value the firmware is told through etc/system-states. */
#define PIIX4_PM_SLP_TYP_S5 0
#define PIIX4_PM_SLP_TYP_S4 2

#define PIIX4_PM_TIMER_HZ 3579545

struct piix4_pm_params {
	struct pci_bus *bus;
	unsigned devfn;                 /* PCI_DEVFN(1, 3) on the PC */
	unsigned sci_irq;               /* 9 */
	/* Legacy ports present: the DSDT's _STA methods read these from config
	 * space (0x5f bit 7 LPT, 0x67 bit 3 COM1, bit 7 COM2). */
	bool com1, com2, lpt;
};

extern const struct device_desc piix4_pm_desc;

/*
 * Press the ACPI power button (PM1 PWRBTN_STS). Device lock held. Returns
 * true if the guest will see it — ACPI is enabled (SCI_EN) and the button
 * event is enabled (PWRBTN_EN) — false if nobody is listening.
 */
bool piix4_pm_power_button(void *pm);

#endif
