/*
 * kvm_irq: the in-kernel interrupt controllers (8259 pair, I/O APIC) and the
 * GSI routing table that wires device lines to them.
 *
 * Routing follows the PC convention every firmware table we generate states:
 * ISA IRQ n goes to 8259 input n and I/O APIC pin n, except IRQ0 (the PIT),
 * which the I/O APIC sees on pin 2 (an "interrupt source override"); IRQ2 is
 * the 8259 cascade and has no route of its own. GSI 16-23 reach only the
 * I/O APIC. See Documentation/virt/kvm/api.rst, KVM_SET_GSI_ROUTING.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_priv.h"
#include "log.h"
#include "machine.h"

#define KVM_IRQCHIP_PIC_MASTER 0
#define KVM_IRQCHIP_PIC_SLAVE 1
#define KVM_IRQCHIP_IOAPIC 2

static void route_irqchip(struct kvm_irq_routing_entry *e, unsigned gsi, unsigned chip,
			  unsigned pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int kvm_irq_setup(struct machine *m)
{
	struct kvm_vm *kvm = m->accel_state;
	size_t max = 16 + IRQ_MAX_GSI;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	unsigned n = 0;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		route_irqchip(&r->entries[n++], gsi,
			      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	for (unsigned gsi = 0; gsi < IRQ_MAX_GSI; gsi++) {
		if (gsi == 2)
			continue;
		route_irqchip(&r->entries[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	}
	r->nr = n;
	int rc = ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	if (rc < 0) {
		log_err("kvm", "cannot set the interrupt routing: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Any thread. */
void kvm_irq_line(struct machine *m, unsigned gsi, int level)
{
	struct kvm_vm *kvm = m->accel_state;
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_guest(LOG_WARN, "kvm", "KVM_IRQ_LINE %u failed: %s", gsi, strerror(errno));
}

void kvm_msi(struct machine *m, uint64_t addr, uint32_t data)
{
	struct kvm_vm *kvm = m->accel_state;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		log_guest(LOG_WARN, "kvm", "KVM_SIGNAL_MSI failed: %s", strerror(errno));
}
