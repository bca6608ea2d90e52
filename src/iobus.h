/*
 * iobus: port-I/O and MMIO dispatch.
 *
 * A machine has two buses, "pio" (16-bit port space) and "mmio" (64-bit
 * physical space outside RAM). A device claims a region {base, len} with a
 * read/write pair that sees only an offset into the region, never an absolute
 * address, so the same model works wherever a PCI BAR puts it.
 *
 * Rules the bus enforces:
 *  - regions never overlap (iobus_add/iobus_move fail with -EEXIST);
 *  - an access wider than the region's max_access is split into naturally
 *    ordered narrower accesses (a 16-bit IN from an 8-bit ISA device reads two
 *    consecutive registers, as the ISA bus does);
 *  - an access that straddles a region edge is split into bytes, each routed
 *    on its own;
 *  - unclaimed reads return all ones, unclaimed writes are dropped, both are
 *    logged at a limited rate; in strict mode (--strict-io) the bus calls the
 *    strict handler instead, which ends the run.
 *
 * Locking: every handler runs with the machine's device lock held, except for
 * regions added with IOBUS_NOLOCK (which must do their own locking and may
 * only be removed once vCPUs have stopped). The region table is itself
 * protected by the device lock: add, move and remove must be called with it
 * held (or before any vCPU runs). Because handlers run under the same lock, a
 * region can never be moved or freed while another thread is inside it; a
 * handler may move or remove its own region (a PCI BAR write does).
 */
#ifndef LODGE_IOBUS_H
#define LODGE_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct iobus;
struct iobus_region;

struct iobus_ops {
	/* size is 1, 2, 4 or 8 and never larger than max_access. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
	/* Widest access the device decodes (1, 2, 4 or 8); 0 means 8. */
	unsigned max_access;
};

/* The handler synchronises itself; the device lock is not taken. */
#define IOBUS_NOLOCK 0x1u

/* Called (with the device lock held) for an unclaimed access in strict mode. */
typedef void iobus_strict_fn(void *opaque, const char *bus, uint64_t addr,
			     unsigned size, bool write);

/* lock may be NULL (unit tests, single-threaded tools). */
struct iobus *iobus_create(const char *name, uint64_t limit, pthread_mutex_t *lock);
void iobus_destroy(struct iobus *bus);
void iobus_set_strict(struct iobus *bus, iobus_strict_fn *fn, void *opaque);

int iobus_add(struct iobus *bus, const char *name, uint64_t base, uint64_t len,
	      const struct iobus_ops *ops, void *opaque, unsigned flags,
	      struct iobus_region **out);
int iobus_move(struct iobus_region *r, uint64_t new_base);
void iobus_remove(struct iobus_region *r);
uint64_t iobus_region_base(const struct iobus_region *r);

/* Any thread; these take the device lock themselves. */
uint64_t iobus_read(struct iobus *bus, uint64_t addr, unsigned size);
void iobus_write(struct iobus *bus, uint64_t addr, unsigned size, uint64_t value);
/* True if some region claims addr (used by the software CPU and tests). */
bool iobus_claimed(struct iobus *bus, uint64_t addr);

/* Accessors for data buffers in little-endian guest order (KVM run page). */
uint64_t iobus_load_le(const void *p, unsigned size);
void iobus_store_le(void *p, unsigned size, uint64_t v);

#endif
