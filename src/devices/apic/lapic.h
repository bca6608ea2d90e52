/*
 * lapic: the local APIC of one vCPU, for engines without in-kernel interrupt
 * controllers (the software CPU). Intel SDM Vol. 3A chapter 10 (11 in newer
 * editions): xAPIC MMIO at the APIC base, x2APIC MSRs 0x800-0x8ff, timer
 * one-shot/periodic/TSC-deadline, LVT, TPR/PPR, EOI, IPIs incl. INIT/SIPI.
 *
 * Contract with the CPU (src/cpu):
 *  - The CPU polls lapic_events() between instructions; it is a lock-free
 *    atomic load, cheap enough for the hot loop. Any nonzero bit means "look".
 *  - When RFLAGS.IF=1 and no interrupt shadow is active, the CPU calls
 *    lapic_ack_interrupt(): it returns the vector to deliver (moving it from
 *    IRR to ISR, or acknowledging the 8259 for ExtINT) or -1.
 *  - NMI, INIT and SIPI are taken with lapic_take_*; the CPU implements what
 *    they do to its own state (INIT: wait-for-SIPI; SIPI: start at VV00:0000).
 *  - The CPU routes accesses to the 4 KiB page at lapic_base() (per vCPU, it
 *    can move) to lapic_mmio_*, and x2APIC/APIC_BASE MSRs to lapic_*msr.
 *  - IA32_TSC_DEADLINE belongs to the CPU (it owns the TSC): it converts the
 *    deadline to guest nanoseconds and calls lapic_set_tsc_deadline().
 *  - When something becomes pending the LAPIC calls vcpu_kick() on its vCPU.
 *
 * Threads: every function may be called from the owning vCPU thread without
 * the device lock; IPIs and I/O APIC/MSI delivery arrive from other threads.
 * The implementation locks internally; lock order is device lock -> LAPIC.
 */
#ifndef LODGE_LAPIC_H
#define LODGE_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

struct lapic;
struct machine;

#define LAPIC_EV_INTR 0x1u              /* a maskable interrupt may be deliverable */
#define LAPIC_EV_NMI 0x2u
#define LAPIC_EV_INIT 0x4u
#define LAPIC_EV_SIPI 0x8u

#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0

unsigned lapic_events(struct lapic *l);
int lapic_ack_interrupt(struct lapic *l);
bool lapic_take_nmi(struct lapic *l);
bool lapic_take_init(struct lapic *l);
int lapic_take_sipi(struct lapic *l);   /* start-up vector, or -1 */

uint64_t lapic_base(struct lapic *l);   /* physical address of the MMIO page */
uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset);
void lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t value);
/* 0, or -1 when the access must raise #GP. */
int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *value);
int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t value);

/* CR8 is TPR[7:4] (SDM 10.8.6.1). */
uint8_t lapic_get_cr8(struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint8_t cr8);

/* TSC-deadline mode: fire at guest time deadline_ns; INT64_MAX disarms.
 * lapic_tsc_deadline_armed() turns false once it fired (MSR then reads 0). */
void lapic_set_tsc_deadline(struct lapic *l, int64_t deadline_ns);
bool lapic_tsc_deadline_armed(struct lapic *l);

/* Power-on / INIT state (SDM 10.4.7.1); the BSP flag for vCPU 0. */
void lapic_reset(struct lapic *l, bool bsp);

/*
 * Additions to the contract above:
 *  - None of the functions above may be called with the device lock held:
 *    they take it themselves when they reach the timer or the 8259.
 *  - lapic_take_init() also puts the LAPIC in its INIT state (SDM 10.4.7.3:
 *    everything but the APIC ID and IA32_APIC_BASE reset, LVTs masked), so
 *    the CPU need not call lapic_reset() for an INIT. A SIPI is accepted only
 *    while INIT is pending or after it was taken (wait-for-SIPI); APs start
 *    in wait-for-SIPI after lapic_reset(l, false).
 *  - lapic_set_tsc_deadline() is ignored unless LVT timer is in TSC-deadline
 *    mode; a deadline at or before now fires at once.
 *  - lapic_mmio_read(offset) returns the register dword holding offset,
 *    shifted right by 8 * (offset & 3), so byte and word reads need only a
 *    mask; lapic_mmio_write() acts on whole registers (offset & 0xf == 0)
 *    and ignores other writes (SDM 10.4.1: 32-bit aligned accesses only).
 *    Both read 0 / do nothing while lapic_mmio_active() is false.
 */
/* True while the xAPIC MMIO page is decoded: globally enabled and not in
 * x2APIC mode. Otherwise accesses to lapic_base() go to memory. */
bool lapic_mmio_active(struct lapic *l);

/* ---- Board and APIC bus side (src/devices/apic) ---- */

struct apic_msg;

struct lapic_params {
	unsigned index;                 /* vCPU index: initial APIC ID, m->lapic[index] */
};

extern const struct device_desc lapic_desc;

/* Any thread, device lock held or not, no LAPIC lock held. */
bool lapic_match(struct lapic *l, const struct apic_msg *msg);
unsigned lapic_arb_priority(struct lapic *l);
/* Take a message addressed to this LAPIC; false if it was not accepted
 * (APIC disabled, or a fixed interrupt while software-disabled). */
bool lapic_accept(struct lapic *l, const struct apic_msg *msg);
/* LINT0 (the 8259's INTR) or LINT1 input level. */
void lapic_set_lint(struct lapic *l, unsigned pin, bool level);

#endif
