/*
 * lapic_weak: the software CPU's view of the local APIC contract
 * (devices/apic/lapic.h), with the functions referenced weakly.
 *
 * The LAPIC models are built on their own branch. Until they are linked in,
 * the board leaves machine->lapic[] NULL and the CPU never calls these; the
 * weak references keep the engine linkable without them. Once the models
 * are present their strong definitions are used and these pragmas change
 * nothing.
 */
#ifndef LODGE_CPU_LAPIC_WEAK_H
#define LODGE_CPU_LAPIC_WEAK_H

#include "devices/apic/lapic.h"

#pragma weak lapic_events
#pragma weak lapic_ack_interrupt
#pragma weak lapic_take_nmi
#pragma weak lapic_take_init
#pragma weak lapic_take_sipi
#pragma weak lapic_base
#pragma weak lapic_mmio_read
#pragma weak lapic_mmio_write
#pragma weak lapic_rdmsr
#pragma weak lapic_wrmsr
#pragma weak lapic_get_cr8
#pragma weak lapic_set_cr8
#pragma weak lapic_set_tsc_deadline
#pragma weak lapic_tsc_deadline_armed
#pragma weak lapic_reset

#endif
