/*
 * fake_machine: a struct machine good enough for device unit tests — real
 * buses (no lock), real guest memory, a vclock driven by the test, a loop
 * that is never run (power requests just set bits in m.requests) and an
 * interrupt controller that records what it is told.
 */
#ifndef LODGE_FAKE_MACHINE_H
#define LODGE_FAKE_MACHINE_H

#include <stdint.h>

#include "config.h"
#include "machine.h"

#define FAKE_MSI_MAX 16

struct fake_machine {
	struct machine m;
	struct config cfg;
	int64_t now_ns;                 /* what vclock_now() returns */
	int level[IRQ_MAX_GSI];         /* last level set per GSI */
	unsigned raised[IRQ_MAX_GSI];   /* rising edges per GSI */
	struct { uint64_t addr; uint32_t data; } msi[FAKE_MSI_MAX];
	unsigned nmsi;
};

/* RAM at [0, ram_bytes). */
struct fake_machine *fake_machine_create(uint64_t ram_bytes);
void fake_machine_destroy(struct fake_machine *fm);
/* Advance guest time and run due timers. */
void fake_machine_advance(struct fake_machine *fm, int64_t ns);
/* Power requests seen (MACHINE_REQ_* bits), cleared by reading. */
unsigned fake_machine_take_requests(struct fake_machine *fm);

#endif
