/*
 * apicbus: the interrupt fabric of a PC whose engine has no in-kernel
 * interrupt controllers (the software CPU).
 *
 * It is the irqchip (irq.h) of such a machine and joins its parts:
 *
 *   device lines --irq_set(gsi)--> apicbus --ISA IRQ 0-15--> 8259 pair (pic.c)
 *                                          \--pins 0-23----> I/O APIC (ioapic.c)
 *   8259 INTR ------------------> every LAPIC's LINT0 and I/O APIC pin 0
 *   I/O APIC, MSI writes, IPIs --apic_msg--> local APICs (lapic.c)
 *   LAPIC EOI of a level vector -----------> I/O APIC (Remote IRR)
 *   LAPIC ExtINT acknowledge --------------> 8259 INTA cycle
 *
 * GSI n < 16 is ISA IRQ n: it reaches 8259 input n and I/O APIC pin n, except
 * IRQ0 (the timer), which the I/O APIC sees on pin 2; IRQ2 is the 8259 cascade
 * and has no route. GSI 16-23 reach I/O APIC pins 16-23 only. This is the
 * routing the MP and ACPI tables of every PC firmware declare, and the one
 * host-driver/linux/kvm_irq.c gives KVM's in-kernel chips.
 *
 * Interrupt messages (SDM Vol. 3A 10.6 and 10.11) are described by struct
 * apic_msg whatever carried them: an I/O APIC redirection entry, an MSI
 * address/data pair or a LAPIC's ICR.
 *
 * Locking: the 8259 and I/O APIC state is under the machine's device lock;
 * each LAPIC has its own lock, taken after the device lock. apicbus_deliver()
 * needs only the LAPIC locks, so IPIs go out from vCPU threads without the
 * device lock; everything else here is called with the device lock held.
 */
#ifndef LODGE_APICBUS_H
#define LODGE_APICBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

struct apicbus;
struct lapic;
struct machine;
struct pic;
struct ioapic;

/* Delivery modes (SDM Vol. 3A table 10-1 / 82093AA 3.2.4). */
enum apic_delivery {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands (SDM Vol. 3A 10.6.1). */
enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_OTHERS = 3,
};

/* Broadcast destinations of 8-bit (xAPIC, I/O APIC, MSI) and x2APIC messages. */
#define APIC_BCAST_XAPIC 0xffu
#define APIC_BCAST_X2APIC 0xffffffffu

struct apic_msg {
	uint32_t dest;                  /* APIC ID or logical destination */
	uint8_t vector;
	uint8_t mode;                   /* enum apic_delivery */
	uint8_t shorthand;              /* enum apic_shorthand */
	bool logical;                   /* destination mode */
	bool level;                     /* trigger mode (level for I/O APIC level pins) */
	bool assert;                    /* level bit: an INIT with it clear is a de-assert */
	bool wide;                      /* 32-bit x2APIC destination, else 8-bit */
	const struct lapic *from;       /* sender, for shorthands; NULL otherwise */
};

extern const struct device_desc apicbus_desc;

/* The bus of machine m, or NULL when it has none (KVM, or a unit test that
 * builds a controller on its own). */
struct apicbus *apicbus_of(struct machine *m);

/* Main thread, at creation: the controllers announce themselves. */
void apicbus_attach_pic(struct apicbus *b, struct pic *pic);
void apicbus_attach_ioapic(struct apicbus *b, struct ioapic *io);

/*
 * Deliver an interrupt message to the LAPICs it addresses. Any thread; the
 * device lock may or may not be held, no LAPIC lock may be. Returns how many
 * LAPICs accepted it (the I/O APIC sets Remote IRR only if one did).
 */
unsigned apicbus_deliver(struct apicbus *b, const struct apic_msg *msg);

/* Device lock held. A LAPIC EOI'd a level-triggered vector. */
void apicbus_eoi(struct apicbus *b, uint8_t vector);
/* Device lock held. An INTA cycle on the 8259 pair: the vector, or -1 when
 * the machine has no 8259. */
int apicbus_pic_intack(struct apicbus *b);
/* Device lock held. The 8259 master's INTR output changed. */
void apicbus_pic_output(struct apicbus *b, bool level);

/*
 * Idle interrupt lines, so periodic timers need not run for nobody. Device
 * lock held throughout.
 *
 * apicbus_irq_idle(): true when another edge on GSI gsi would change nothing
 * a guest can see (masked at the 8259 with the request already latched, and
 * masked at the I/O APIC). apicbus_watch_irq() registers the one callback
 * that runs whenever that may have stopped being true; the controllers call
 * apicbus_irq_changed() after every write that can unmask or un-latch.
 */
bool apicbus_irq_idle(struct apicbus *b, unsigned gsi);
void apicbus_watch_irq(struct apicbus *b, unsigned gsi, void (*fn)(void *opaque),
		       void *opaque);
void apicbus_irq_changed(struct apicbus *b);

/* Decode an MSI address/data pair (SDM Vol. 3A 10.11.1-2); false if addr is
 * not in the 0xfeexxxxx window. */
bool apic_msg_from_msi(struct apic_msg *msg, uint64_t addr, uint32_t data);

#endif
