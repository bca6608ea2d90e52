/*
 * machine: one virtual PC. It owns the guest memory map, the two buses, the
 * device list, the vCPUs and the power state, and it is the only object that
 * knows about all of them.
 *
 * Lifecycle (main thread):
 *   machine_create()  engine chosen, RAM mapped, board devices created
 *   machine_start()   firmware/kernel loaded, vCPUs and timers running
 *   loop_run()        ...until a power-off or exit request
 *   machine_destroy() vCPUs stopped, devices destroyed in reverse order
 *
 * Power requests (reset, power-off, exit with a status) may come from any
 * thread: a vCPU writing 0xcf9, a triple fault, the debug-exit port, Ctrl-A x,
 * a signal. They are recorded atomically and carried out on the main thread,
 * which pauses the vCPUs first.
 */
#ifndef LODGE_MACHINE_H
#define LODGE_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "cpu/accel.h"
#include "device.h"
#include "irq.h"

struct loop;
struct vclock;
struct guestmem;
struct iobus;
struct vcpu;
struct chardev;
struct lapic;
struct input;
struct blk;
struct drives;

#define E820_MAX 16
enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* Register state the boot loader wants the BSP to start with. */
struct machine_boot {
	bool valid;
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
};

enum machine_req {
	MACHINE_REQ_RESET = 1u << 0,
	MACHINE_REQ_POWEROFF = 1u << 1,   /* the guest turned itself off: exit 0 */
	MACHINE_REQ_EXIT = 1u << 2,       /* stop now with exit_status */
};

struct machine_device {
	const struct device_desc *desc;
	void *inst;
};

struct machine {
	struct config *cfg;
	struct loop *loop;
	/* Protects all device state and the buses' region tables. */
	pthread_mutex_t dev_lock;
	struct vclock *clock;
	struct guestmem *mem;
	struct iobus *pio, *mmio;

	const struct accel_ops *accel;
	void *accel_state;
	unsigned ncpus;
	struct vcpu *vcpus[CONFIG_MAX_CPUS];

	const struct irqchip_ops *irqchip;
	void *irqchip_opaque;
	unsigned irq_count[IRQ_MAX_GSI];  /* asserted irq_lines per GSI */
	/* Our own local APICs, one per vCPU, when the engine has none. */
	struct lapic *lapic[CONFIG_MAX_CPUS];

	struct machine_device *devs;
	unsigned ndevs, capdevs;

	struct chardev *serial[CONFIG_MAX_SERIAL];
	/* Keyboard and mouse events into the guest (ui/input.h). */
	struct input *input;
	/* IDE positions (primary master/slave, secondary master/slave); NULL if
	 * empty. Opened by drives_open(), undo disks behind them in drives. */
	struct blk *drive[CONFIG_MAX_DRIVES];
	struct drives *drives;

	/* Guest RAM layout: [0, ram_below_4g) and [4 GiB, 4 GiB + ram_above_4g). */
	uint64_t ram_below_4g, ram_above_4g;
	struct e820_entry e820[E820_MAX];
	unsigned ne820;
	struct machine_boot boot;

	void *board;                      /* board_pc private state */

	_Atomic unsigned requests;
	_Atomic int exit_status;
	bool a20;                         /* under the device lock */
	bool running;
	bool started;                     /* the vCPUs ran (undo disks: ask at exit) */
	unsigned resets;                  /* how many resets happened */
};

/* Main thread. Returns NULL after printing one sentence; *status is the exit
 * status to use (2 for bad input, 1 for host problems). */
struct machine *machine_create(struct config *cfg, struct loop *loop, int *status);
int machine_start(struct machine *m);
void machine_destroy(struct machine *m);
/* Exit status after the loop returned. */
int machine_exit_status(const struct machine *m);

/* Main thread, before machine_start: create a device and add it to the list. */
void *machine_add_device(struct machine *m, const struct device_desc *desc,
			 const void *params);
/* Add RAM/ROM to the guest map and to the engine. */
int machine_map_memory(struct machine *m, const char *name, uint64_t gpa, uint64_t size,
		       void *host, int kind, uint8_t **host_out);
int machine_add_e820(struct machine *m, uint64_t addr, uint64_t size, enum e820_type type);

/* Any thread, any lock. */
void machine_request_reset(struct machine *m);
void machine_request_poweroff(struct machine *m);
void machine_request_exit(struct machine *m, int status);

/* Device lock held: A20 gate from port 0x92 or the keyboard controller. */
void machine_set_a20(struct machine *m, bool enabled);

/* Device lock helpers for entry points that are not bus handlers. */
void machine_lock(struct machine *m);
void machine_unlock(struct machine *m);

/* Board hooks (board_pc.c). */
int board_pc_build(struct machine *m);
/* Load firmware or kernel and set the BSP's start state; at power-on and
 * after every reset, with vCPUs paused. */
int board_pc_boot(struct machine *m);
void board_pc_destroy(struct machine *m);
/* Press the ACPI power button: 0 if the guest listens for it, -EAGAIN if it
 * has not enabled it, -ENODEV if the board has no ACPI. */
int board_pc_power_button(struct machine *m);

#endif
