/*
 * fake_machine: the smallest struct machine a device unit test needs: the
 * device lock, guest RAM at 0, the port and MMIO buses (taking the lock as
 * the real ones do) and an interrupt controller that records each GSI's
 * level and how often it rose. No engine, no vCPUs, no board.
 */
#ifndef LODGE_FAKE_MACHINE_H
#define LODGE_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

struct machine *fake_machine_create(uint64_t ram_bytes);
void fake_machine_destroy(struct machine *m);
bool fake_irq_level(const struct machine *m, unsigned gsi);
unsigned fake_irq_rises(const struct machine *m, unsigned gsi);
void fake_irq_clear_counts(struct machine *m);

#endif
