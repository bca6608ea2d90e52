/*
 * iobus: port-I/O and MMIO dispatch (see iobus.h for the contract).
 *
 * The table is a sorted array of regions searched by bisection. Buses hold a
 * few dozen regions, change rarely (BAR moves at boot) and are read on every
 * exit, so a sorted array beats a tree on both speed and clarity.
 */
#include "iobus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct iobus_region {
	struct iobus *bus;
	char name[32];
	uint64_t base, len;
	const struct iobus_ops *ops;
	void *opaque;
	unsigned flags;
};

struct iobus {
	char name[8];
	uint64_t limit;                 /* last valid address */
	pthread_mutex_t *lock;
	struct iobus_region **regions;  /* sorted by base */
	size_t count, cap;
	iobus_strict_fn *strict_fn;
	void *strict_opaque;
	struct log_ratelimit unclaimed_rl;
	struct log_ratelimit overlap_rl;  /* a guest can ask for clashes (PCI BARs) */
};

struct iobus *iobus_create(const char *name, uint64_t limit, pthread_mutex_t *lock)
{
	struct iobus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	snprintf(bus->name, sizeof(bus->name), "%s", name);
	bus->limit = limit;
	bus->lock = lock;
	return bus;
}

void iobus_destroy(struct iobus *bus)
{
	if (!bus)
		return;
	for (size_t i = 0; i < bus->count; i++)
		free(bus->regions[i]);
	free(bus->regions);
	free(bus);
}

void iobus_set_strict(struct iobus *bus, iobus_strict_fn *fn, void *opaque)
{
	bus->strict_fn = fn;
	bus->strict_opaque = opaque;
}

/* Index of the first region whose end is above addr (may be count). */
static size_t iobus_bisect(const struct iobus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct iobus_region *r = bus->regions[mid];
		if (r->base + r->len - 1 < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct iobus_region *iobus_find(const struct iobus *bus, uint64_t addr)
{
	size_t i = iobus_bisect(bus, addr);
	if (i < bus->count && bus->regions[i]->base <= addr)
		return bus->regions[i];
	return NULL;
}

static bool iobus_range_free(const struct iobus *bus, uint64_t base, uint64_t len,
			     const struct iobus_region *ignore)
{
	size_t i = iobus_bisect(bus, base);
	for (; i < bus->count; i++) {
		const struct iobus_region *r = bus->regions[i];
		if (r == ignore)
			continue;
		if (r->base > base + len - 1)
			break;
		return false;
	}
	return true;
}

static void iobus_insert_sorted(struct iobus *bus, struct iobus_region *r)
{
	size_t i = iobus_bisect(bus, r->base);
	memmove(&bus->regions[i + 1], &bus->regions[i],
		(bus->count - i) * sizeof(bus->regions[0]));
	bus->regions[i] = r;
	bus->count++;
}

static void iobus_unlink(struct iobus *bus, struct iobus_region *r)
{
	for (size_t i = 0; i < bus->count; i++) {
		if (bus->regions[i] == r) {
			memmove(&bus->regions[i], &bus->regions[i + 1],
				(bus->count - i - 1) * sizeof(bus->regions[0]));
			bus->count--;
			return;
		}
	}
}

static bool iobus_range_valid(const struct iobus *bus, uint64_t base, uint64_t len)
{
	return len != 0 && base <= bus->limit && len - 1 <= bus->limit - base;
}

/* Caller holds the device lock (or no vCPU runs yet). */
int iobus_add(struct iobus *bus, const char *name, uint64_t base, uint64_t len,
	      const struct iobus_ops *ops, void *opaque, unsigned flags,
	      struct iobus_region **out)
{
	if (!iobus_range_valid(bus, base, len) || !ops || !ops->read || !ops->write)
		return -EINVAL;
	if (!iobus_range_free(bus, base, len, NULL)) {
		/* The first region ending at or after base is the one in the way
		 * (no byte-by-byte search: a PCI BAR can be gigabytes long). */
		size_t i = iobus_bisect(bus, base);
		struct iobus_region *other = i < bus->count ? bus->regions[i] : NULL;
		log_msg_ratelimited(&bus->overlap_rl, LOG_ERROR, "iobus",
				    "%s region %s at %#llx+%#llx overlaps %s",
				    bus->name, name, (unsigned long long)base,
				    (unsigned long long)len, other ? other->name : "another region");
		return -EEXIST;
	}
	if (bus->count == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 32;
		struct iobus_region **n = realloc(bus->regions, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		bus->regions = n;
		bus->cap = cap;
	}
	struct iobus_region *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->bus = bus;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->base = base;
	r->len = len;
	r->ops = ops;
	r->opaque = opaque;
	r->flags = flags;
	iobus_insert_sorted(bus, r);
	if (out)
		*out = r;
	return 0;
}

/* Caller holds the device lock. The region keeps its identity and handler. */
int iobus_move(struct iobus_region *r, uint64_t new_base)
{
	struct iobus *bus = r->bus;
	if (!iobus_range_valid(bus, new_base, r->len))
		return -EINVAL;
	if (!iobus_range_free(bus, new_base, r->len, r))
		return -EEXIST;
	iobus_unlink(bus, r);
	r->base = new_base;
	iobus_insert_sorted(bus, r);
	return 0;
}

/* Caller holds the device lock. */
void iobus_remove(struct iobus_region *r)
{
	if (!r)
		return;
	iobus_unlink(r->bus, r);
	free(r);
}

uint64_t iobus_region_base(const struct iobus_region *r)
{
	return r->base;
}

bool iobus_claimed(struct iobus *bus, uint64_t addr)
{
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
	bool claimed = iobus_find(bus, addr) != NULL;
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
	return claimed;
}

uint64_t iobus_load_le(const void *p, unsigned size)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void iobus_store_le(void *p, unsigned size, uint64_t v)
{
	uint8_t *b = p;
	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void iobus_unclaimed(struct iobus *bus, uint64_t addr, unsigned size,
			    bool write, uint64_t value)
{
	if (bus->strict_fn) {
		bus->strict_fn(bus->strict_opaque, bus->name, addr, size, write);
		return;
	}
	if (write)
		log_msg_ratelimited(&bus->unclaimed_rl, LOG_DEBUG, "iobus",
				    "unclaimed %s write %#llx size %u value %#llx",
				    bus->name, (unsigned long long)addr, size,
				    (unsigned long long)value);
	else
		log_msg_ratelimited(&bus->unclaimed_rl, LOG_DEBUG, "iobus",
				    "unclaimed %s read %#llx size %u", bus->name,
				    (unsigned long long)addr, size);
}

static unsigned region_max(const struct iobus_region *r)
{
	return r->ops->max_access ? r->ops->max_access : 8;
}

/*
 * One access that lies wholly inside r, split by the region's width.
 * Called with the device lock held; drops it around NOLOCK handlers.
 */
static uint64_t region_access(struct iobus *bus, struct iobus_region *r, uint64_t addr,
			      unsigned size, bool write, uint64_t value)
{
	const struct iobus_ops *ops = r->ops;
	void *opaque = r->opaque;
	uint64_t off = addr - r->base;
	unsigned step = region_max(r) < size ? region_max(r) : size;
	bool unlock = (r->flags & IOBUS_NOLOCK) && bus->lock;
	uint64_t result = 0;

	if (unlock)
		pthread_mutex_unlock(bus->lock);
	for (unsigned done = 0; done < size; done += step) {
		uint64_t mask = step == 8 ? ~0ULL : (1ULL << (8 * step)) - 1;
		if (write)
			ops->write(opaque, off + done, step, (value >> (8 * done)) & mask);
		else
			result |= (ops->read(opaque, off + done, step) & mask) << (8 * done);
	}
	if (unlock)
		pthread_mutex_lock(bus->lock);
	return result;
}

static uint64_t iobus_access(struct iobus *bus, uint64_t addr, unsigned size,
			     bool write, uint64_t value)
{
	uint64_t result = 0;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		size = size > 8 ? 8 : 1;

	if (bus->lock)
		pthread_mutex_lock(bus->lock);
	struct iobus_region *r = iobus_find(bus, addr);
	if (r && addr - r->base + size <= r->len) {
		result = region_access(bus, r, addr, size, write, value);
	} else if (r || (addr + size - 1 > addr && iobus_find(bus, addr + size - 1))) {
		/* Straddles an edge: route byte by byte. */
		for (unsigned i = 0; i < size; i++) {
			uint64_t a = addr + i;
			uint8_t byte = (uint8_t)(value >> (8 * i));
			struct iobus_region *br = a <= bus->limit ? iobus_find(bus, a) : NULL;
			uint64_t v = 0xff;
			if (br)
				v = region_access(bus, br, a, 1, write, byte);
			else
				iobus_unclaimed(bus, a, 1, write, byte);
			result |= (v & 0xff) << (8 * i);
		}
	} else {
		iobus_unclaimed(bus, addr, size, write, value);
		result = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	}
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
	return result;
}

uint64_t iobus_read(struct iobus *bus, uint64_t addr, unsigned size)
{
	return iobus_access(bus, addr, size, false, 0);
}

void iobus_write(struct iobus *bus, uint64_t addr, unsigned size, uint64_t value)
{
	iobus_access(bus, addr, size, true, value);
}
