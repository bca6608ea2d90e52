/*
 * fake_irqmachine: a struct machine for interrupt-controller and timer unit
 * tests. Guest time is a plain variable the test moves (vclock_set_source),
 * timers run only inside fim_run_until(), the buses and clock use the
 * machine's device lock exactly as in a real run, and the vCPUs are stubs
 * whose kicks are counted.
 *
 * Two flavours: fim_create() leaves interrupt routing to whatever irqchip
 * the test or the devices register (the software-CPU path); fim_create_kvm()
 * gives the machine an engine with in-kernel controllers whose irq_line and
 * msi are recorded (the KVM path).
 */
#ifndef LODGE_FAKE_IRQMACHINE_H
#define LODGE_FAKE_IRQMACHINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "irq.h"

struct machine;
struct apicbus;
struct pic;
struct ioapic;
struct lapic;
struct pit;

struct fim {
	struct machine *m;
	_Atomic int64_t now;            /* atomic: threaded tests read it from vCPUs */
	_Atomic unsigned kicks[CONFIG_MAX_CPUS];
	/* Engine lines (fim_create_kvm) or a capture irqchip (fim_capture_irqs). */
	int level[IRQ_MAX_GSI];
	unsigned rises[IRQ_MAX_GSI];
	unsigned msis;
	uint64_t msi_addr;
	uint32_t msi_data;
	/* fim_add_pc() */
	struct apicbus *bus;
	struct pic *pic;
	struct ioapic *io;
	struct pit *pit;
	void *hpet;
	unsigned timer_runs;            /* vclock_run_due calls in fim_run_until */
};

struct fim *fim_create(unsigned ncpus);
struct fim *fim_create_kvm(unsigned ncpus);
void fim_destroy(struct fim *f);
/* Record GSI levels and MSIs with a capture irqchip instead of an APIC bus. */
void fim_capture_irqs(struct fim *f);
/* The board's software interrupt stack: APIC bus, 8259s, I/O APIC, LAPICs,
 * PIT, HPET (with_pit false leaves the PIT out). */
void fim_add_pc(struct fim *f, bool with_pit);
struct lapic *fim_lapic(struct fim *f, unsigned i);

/* cmocka fixtures: one CPU with the whole stack (PIT included); teardown of
 * any struct fim in *state. */
int fim_setup_pc(void **state);
int fim_teardown(void **state);

/* Move guest time to t, running every timer that falls due on the way.
 * Fails the test if timers spin at one instant. */
void fim_run_until(struct fim *f, int64_t t);
void fim_advance(struct fim *f, int64_t ns);
/* Earliest armed deadline, INT64_MAX when no timer is armed. */
int64_t fim_next_deadline(struct fim *f);

uint8_t fim_inb(struct fim *f, uint16_t port);
void fim_outb(struct fim *f, uint16_t port, uint8_t v);
uint64_t fim_read(struct fim *f, uint64_t addr, unsigned size);
void fim_write(struct fim *f, uint64_t addr, unsigned size, uint64_t v);
/* The PC BIOS's 8259 setup: edge, cascade on IR2, vectors 0x08 and 0x70,
 * with the given ICW4 for the master (0x01: 8086 mode). */
void fim_pic_init(struct fim *f, uint8_t icw4);
/* irq_set under the device lock, as devices call it. */
void fim_irq(struct fim *f, unsigned gsi, int level);
void fim_msi(struct fim *f, uint64_t addr, uint32_t data);

#endif
