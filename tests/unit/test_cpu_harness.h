/*
 * test_cpu_harness: a minimal machine around the software CPU for unit
 * tests (RAM, the two buses, a clock, one vCPU) and helpers to put the vCPU
 * in 64-bit long mode with identity-mapped 2 MiB pages and run code until it
 * halts.
 */
#ifndef LODGE_TEST_CPU_HARNESS_H
#define LODGE_TEST_CPU_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "cpu/accel.h"
#include "cpu/vcpu.h"
#include "machine.h"

#define HARNESS_RAM (8u << 20)
#define HARNESS_CODE 0x100000ULL        /* where test code is placed */
#define HARNESS_DATA 0x200000ULL        /* scratch data */
#define HARNESS_STACK 0x300000ULL       /* top of the stack */

struct harness {
	struct config cfg;
	struct machine m;
	struct vcpu v;
};

/* Build the machine; false if any part could not be created. */
bool harness_init(struct harness *h);
/* The same in instruction-count mode (guest ns = retired instructions). */
bool harness_init_icount(struct harness *h);
void harness_fini(struct harness *h);
/* Flat 64-bit long mode at CPL 0, paging identity-maps the first 1 GiB. */
void harness_long_mode(struct harness *h);
/* Copy code to HARNESS_CODE and run from there until HLT. Returns the exit
 * reason of the last vcpu_run (VCPU_EXIT_HLT on success). */
enum vcpu_exit_reason harness_run(struct harness *h, const uint8_t *code, unsigned len,
				  unsigned max_runs);

#endif
