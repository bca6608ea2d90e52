/*
 * fake_ram_machine: a struct machine with RAM, an e820 map like the PC
 * board's and a config, but no engine, devices or threads: enough for the
 * boot loaders, which only read the config and write guest memory.
 */
#ifndef LODGE_FAKE_RAM_MACHINE_H
#define LODGE_FAKE_RAM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"

/* mem_bytes below 3.5 GiB; with kvm_reserved, the e820 entry the KVM engine
 * adds (first, as it does) for its private pages below 4 GiB. */
struct machine *fake_ram_machine_create(uint64_t mem_bytes, unsigned ncpus, bool kvm_reserved);
void fake_ram_machine_destroy(struct machine *m);

/* Fill all of RAM with byte; true if all of RAM still holds it. */
void fake_ram_machine_fill(struct machine *m, uint8_t byte);
bool fake_ram_machine_all(const struct machine *m, uint8_t byte);

/* Write len bytes to a new temporary file; its path (free with
 * fake_ram_machine_unlink). */
char *fake_ram_machine_file(const void *data, size_t len);
void fake_ram_machine_unlink(char *path);

#endif
