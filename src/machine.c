/*
 * machine: lifecycle, memory map, device list and power requests of one
 * virtual PC (see machine.h).
 */
#include "machine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chardev.h"
#include "cpu/vcpu.h"
#include "disk/drives.h"
#include "guestmem.h"
#include "iobus.h"
#include "log.h"
#include "loop.h"
#include "vclock.h"

/* Exit status when --strict-io catches an unclaimed access (even, so it can
 * never be confused with a debug-exit status, which is always odd). */
#define EXIT_STRICT_IO 4

/* i440FX-style split: RAM of 3.5 GiB or more leaves 3 GiB below 4 GiB and
 * puts the rest above, keeping room for PCI, APICs and the BIOS. */
#define LOW_RAM_LIMIT 0xe0000000ULL
#define LOW_RAM_SPLIT 0xc0000000ULL
#define HIGH_RAM_BASE 0x100000000ULL

void machine_lock(struct machine *m)
{
	pthread_mutex_lock(&m->dev_lock);
}

void machine_unlock(struct machine *m)
{
	pthread_mutex_unlock(&m->dev_lock);
}

void machine_set_a20(struct machine *m, bool enabled)
{
	if (m->a20 == enabled)
		return;
	m->a20 = enabled;
	if (m->accel->set_a20)
		m->accel->set_a20(m, enabled);
}

static void machine_strict_io(void *opaque, const char *bus, uint64_t addr, unsigned size,
			      bool write)
{
	struct machine *m = opaque;
	log_err("iobus", "strict I/O: the guest %s unclaimed %s address %#llx (size %u); stopping",
		write ? "wrote to" : "read from", bus, (unsigned long long)addr, size);
	machine_request_exit(m, EXIT_STRICT_IO);
}

int machine_map_memory(struct machine *m, const char *name, uint64_t gpa, uint64_t size,
		       void *host, int kind, uint8_t **host_out)
{
	struct guestmem_region *r;
	int rc = guestmem_add(m->mem, name, gpa, size, host, kind, &r);
	if (rc) {
		log_err("machine", "cannot map %s at %#llx (%llu KiB): %s", name,
			(unsigned long long)gpa, (unsigned long long)(size >> 10), strerror(-rc));
		return rc;
	}
	uint8_t *h = r->host;
	rc = m->accel->mem_map(m, r);
	if (rc)
		return rc;
	if (host_out)
		*host_out = h;
	return 0;
}

int machine_add_e820(struct machine *m, uint64_t addr, uint64_t size, enum e820_type type)
{
	if (m->ne820 == E820_MAX)
		return -ENOSPC;
	m->e820[m->ne820++] = (struct e820_entry){ addr, size, type };
	return 0;
}

void *machine_add_device(struct machine *m, const struct device_desc *desc, const void *params)
{
	if (m->ndevs == m->capdevs) {
		unsigned cap = m->capdevs ? m->capdevs * 2 : 32;
		struct machine_device *n = realloc(m->devs, cap * sizeof(*n));
		if (!n)
			return NULL;
		m->devs = n;
		m->capdevs = cap;
	}
	void *inst = desc->create(m, params);
	if (!inst)
		return NULL;
	m->devs[m->ndevs++] = (struct machine_device){ desc, inst };
	return inst;
}

/* Main thread, vCPUs paused: devices in reverse creation order. */
static void machine_reset_devices(struct machine *m)
{
	machine_lock(m);
	for (unsigned i = m->ndevs; i-- > 0;)
		if (m->devs[i].desc->reset)
			m->devs[i].desc->reset(m->devs[i].inst);
	machine_unlock(m);
}

/* Main thread, vCPUs paused or not started: put every vCPU at power-on state,
 * then give the BSP the boot loader's registers. */
static int machine_reset_cpus(struct machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		int rc = m->accel->vcpu_reset(m->vcpus[i]);
		if (rc)
			return rc;
	}
	if (m->boot.valid) {
		struct vcpu *bsp = m->vcpus[0];
		int rc = m->accel->set_sregs(bsp, &m->boot.sregs);
		if (!rc)
			rc = m->accel->set_regs(bsp, &m->boot.regs);
		if (rc) {
			log_err("machine", "cannot load the boot CPU state: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int machine_layout_ram(struct machine *m)
{
	uint64_t mem = m->cfg->mem_bytes;
	m->ram_below_4g = mem >= LOW_RAM_LIMIT ? LOW_RAM_SPLIT : mem;
	m->ram_above_4g = mem - m->ram_below_4g;
	int rc = machine_map_memory(m, "ram-low", 0, m->ram_below_4g, NULL, GUESTMEM_RAM, NULL);
	if (!rc && m->ram_above_4g)
		rc = machine_map_memory(m, "ram-high", HIGH_RAM_BASE, m->ram_above_4g, NULL,
					GUESTMEM_RAM, NULL);
	return rc;
}

/*
 * Loop thread. SIGTERM asks the guest to shut down, as a desktop's "shut
 * down" does: the ACPI power button, and lodge exits 0 when the guest reaches
 * S5. A guest that is not listening (no ACPI OS yet), SIGINT, or a second
 * signal of either kind stops the VM at once.
 */
static void machine_on_signal(void *arg, int signo)
{
	struct machine *m = arg;
	static int count;
	if (++count > 1) {
		log_warn("machine", "second %s: stopping at once", strsignal(signo));
		machine_request_exit(m, 128 + signo);
		return;
	}
	if (signo == SIGTERM) {
		int rc = board_pc_power_button(m);
		if (rc == 0) {
			log_info("machine", "%s received: pressed the power button; the guest is "
				 "shutting down (send it again to stop at once)", strsignal(signo));
			return;
		}
		if (rc == -EAGAIN)
			log_info("machine", "the guest does not handle the power button");
	}
	log_info("machine", "%s received: stopping the VM", strsignal(signo));
	machine_request_exit(m, 0);
}

struct machine *machine_create(struct config *cfg, struct loop *loop, int *status)
{
	char why[256];
	struct machine *m = calloc(1, sizeof(*m));
	if (!m) {
		*status = 1;
		return NULL;
	}
	*status = 1;
	m->cfg = cfg;
	m->loop = loop;
	m->ncpus = cfg->cpus;
	pthread_mutex_init(&m->dev_lock, NULL);

	m->accel = accel_choose(cfg->accel, why, sizeof(why));
	if (!m->accel) {
		log_err("machine", "%s", why);
		goto fail;
	}
	m->clock = vclock_create(&m->dev_lock);
	m->mem = guestmem_create();
	m->pio = iobus_create("pio", 0xffff, &m->dev_lock);
	m->mmio = iobus_create("mmio", UINT64_MAX, &m->dev_lock);
	if (!m->clock || !m->mem || !m->pio || !m->mmio)
		goto fail;
	if (cfg->strict_io) {
		iobus_set_strict(m->pio, machine_strict_io, m);
		iobus_set_strict(m->mmio, machine_strict_io, m);
	}
	if (m->accel->vm_create(m))
		goto fail;
	if (machine_layout_ram(m))
		goto fail;
	/* The board reports bad user input (a bad disk file...) as -EINVAL. */
	int rc = board_pc_build(m);
	if (rc) {
		*status = rc == -EINVAL ? 2 : 1;
		goto fail;
	}
	if (vcpu_create_all(m))
		goto fail;
	loop_on_signal(loop, machine_on_signal, m);
	return m;
fail:
	machine_destroy(m);
	return NULL;
}

int machine_start(struct machine *m)
{
	int rc = board_pc_boot(m);
	if (rc)
		return rc;
	machine_reset_devices(m);
	rc = machine_reset_cpus(m);
	if (rc)
		return rc;
	if (!vclock_is_custom(m->clock) && vclock_start_thread(m->clock))
		return -EAGAIN;
	m->running = true;
	m->started = true;
	return vcpu_start_all(m);
}

/* Main thread: a reset request, with the vCPUs running. */
static void machine_do_reset(struct machine *m)
{
	vcpu_pause_all(m);
	machine_reset_devices(m);
	if (board_pc_boot(m) || machine_reset_cpus(m)) {
		log_err("machine", "the machine could not be reset; stopping");
		machine_request_exit(m, 1);
		return;
	}
	m->resets++;
	vcpu_resume_all(m);
}

static void machine_stop(struct machine *m)
{
	if (!m->running)
		return;
	m->running = false;
	vcpu_stop_all(m);
	vclock_stop_thread(m->clock);
	loop_stop(m->loop);
}

static void machine_process(void *arg)
{
	struct machine *m = arg;
	unsigned req = atomic_exchange(&m->requests, 0);
	if (!m->running)
		return;
	if (req & (MACHINE_REQ_EXIT | MACHINE_REQ_POWEROFF)) {
		if (req & MACHINE_REQ_POWEROFF && !(req & MACHINE_REQ_EXIT))
			log_info("machine", "the guest powered off");
		machine_stop(m);
	} else if (req & MACHINE_REQ_RESET) {
		log_info("machine", "reset");
		machine_do_reset(m);
	}
}

static void machine_post(struct machine *m, unsigned req)
{
	unsigned old = atomic_fetch_or(&m->requests, req);
	if (!(old & req))
		loop_defer(m->loop, machine_process, m);
}

void machine_request_reset(struct machine *m)
{
	machine_post(m, MACHINE_REQ_RESET);
}

void machine_request_poweroff(struct machine *m)
{
	machine_post(m, MACHINE_REQ_POWEROFF);
}

void machine_request_exit(struct machine *m, int status)
{
	/* The first reason to stop wins; later ones are consequences. */
	unsigned old = atomic_load(&m->requests);
	if (!(old & MACHINE_REQ_EXIT))
		atomic_store(&m->exit_status, status);
	machine_post(m, MACHINE_REQ_EXIT);
}

int machine_exit_status(const struct machine *m)
{
	return atomic_load(&m->exit_status);
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	if (m->running) {
		m->running = false;
		vcpu_stop_all(m);
	}
	if (m->clock)
		vclock_stop_thread(m->clock);
	vcpu_destroy_all(m);
	for (unsigned i = m->ndevs; i-- > 0;)
		if (m->devs[i].desc->destroy)
			m->devs[i].desc->destroy(m->devs[i].inst);
	free(m->devs);
	board_pc_destroy(m);
	for (unsigned i = 0; i < CONFIG_MAX_SERIAL; i++)
		if (m->serial[i])
			chardev_close(m->serial[i]);
	/* After the terminal is back in normal mode: it may ask about undo disks. */
	drives_close(m);
	if (m->accel && m->accel_state)
		m->accel->vm_destroy(m);
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	guestmem_destroy(m->mem);
	vclock_destroy(m->clock);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}
