/*
 * fake_machine: a struct machine for device unit tests, without an engine,
 * vCPUs or threads.
 *
 * What it gives a test:
 *  - the real pio and mmio buses, guest memory, the device lock, an input hub
 *    and a loop (deferred work runs only when the test calls
 *    fake_machine_run_loop);
 *  - a deterministic clock: guest time starts at 0 and moves only when the
 *    test calls fake_machine_advance(), which also runs every timer that
 *    came due, in deadline order, with the device lock held, exactly as the
 *    timer thread would;
 *  - an interrupt controller that records each GSI's level and counts its
 *    rising edges, and keeps the first FAKE_MSI_MAX message-signalled
 *    interrupts;
 *  - an engine stub that records A20 changes; reset, power-off and exit
 *    requests are left in m->requests for the test to look at.
 *
 * Use:
 *   struct machine *m = fake_machine_create();
 *   void *uart = machine_add_device(m, &uart_desc, &params);
 *   fake_machine_reset(m);                 // power-on state, as machine_start
 *   iobus_write(m->pio, 0x3f8, 1, 'x');
 *   fake_machine_advance(m, 1000000);      // 1 ms of guest time
 *   assert_int_equal(fake_machine_irq_level(m, 4), 1);
 *   fake_machine_destroy(m);
 *
 * Link tests/fakes/fake_machine.c into the test (see tests/unit/CMakeLists.txt).
 */
#ifndef LODGE_FAKE_MACHINE_H
#define LODGE_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"

/* 16 MiB of RAM at 0; one vCPU. Never returns NULL (aborts instead). */
struct machine *fake_machine_create(void);
void fake_machine_destroy(struct machine *m);

/* Reset every device (reverse creation order, device lock held). */
void fake_machine_reset(struct machine *m);

/* Guest time now, and moving it forward by ns (running due timers). */
int64_t fake_machine_now(struct machine *m);
void fake_machine_advance(struct machine *m, int64_t ns);
/* Move time to the next armed timer's deadline and run it; false if none is
 * armed or it lies more than limit_ns ahead. */
bool fake_machine_run_next_timer(struct machine *m, int64_t limit_ns);
/* Whether any timer is armed (devices must not keep idle timers). */
bool fake_machine_timer_armed(struct machine *m);

/* Run the work queued with loop_defer() (power requests, --type-at). */
void fake_machine_run_loop(struct machine *m);

int fake_machine_irq_level(struct machine *m, unsigned gsi);
/* Message-signalled interrupts sent so far, and the i-th of them. */
#define FAKE_MSI_MAX 16
struct fake_msi {
	uint64_t addr;
	uint32_t data;
};
unsigned fake_machine_msi_count(struct machine *m);
struct fake_msi fake_machine_msi(struct machine *m, unsigned i);
unsigned fake_machine_irq_edges(struct machine *m, unsigned gsi);
void fake_machine_clear_irq_edges(struct machine *m);

/* MACHINE_REQ_* bits requested since the last call (cleared by the call). */
unsigned fake_machine_take_requests(struct machine *m);
/* A20 as the engine was last told. */
bool fake_machine_a20(struct machine *m);

#endif
