/*
 * guestmem: guest-physical memory map and bounds-checked access.
 *
 * Guest RAM (and ROM images such as the BIOS) are host mappings placed at
 * guest-physical addresses. Everything that touches guest memory on behalf of
 * a device (DMA, boot loaders, firmware tables) goes through these calls, so
 * an address or length chosen by the guest can never reach outside a mapping:
 * a bad access fails with -EFAULT and the device reports an error to the guest.
 *
 * Writes through guestmem_write()/guestmem_unmap_iov() are reported to the
 * write hook, which the software CPU uses to drop decoded code for pages that
 * changed (self-modifying code, DMA over code).
 *
 * Threading: the map is built before vCPUs start and changed only with the
 * device lock held and vCPUs paused; lookups are lock-free.
 */
#ifndef LODGE_GUESTMEM_H
#define LODGE_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GUESTMEM_MAX_REGIONS 16
#define GUESTMEM_PAGE_SIZE 4096ULL

enum guestmem_kind { GUESTMEM_RAM, GUESTMEM_ROM };

struct guestmem_region {
	uint64_t gpa, size;
	uint8_t *host;
	enum guestmem_kind kind;
	bool owned;                     /* we mmap'd it and must unmap it */
	char name[16];
};

typedef void guestmem_write_hook(void *opaque, uint64_t gpa, uint64_t len);

struct guestmem {
	struct guestmem_region regions[GUESTMEM_MAX_REGIONS];
	unsigned count;
	uint64_t ram_bytes;             /* sum of RAM regions */
	guestmem_write_hook *write_hook;
	void *write_hook_opaque;
};

struct guestmem *guestmem_create(void);
void guestmem_destroy(struct guestmem *gm);

/* Map size bytes at gpa; host NULL allocates zeroed anonymous memory. */
int guestmem_add(struct guestmem *gm, const char *name, uint64_t gpa, uint64_t size,
		 void *host, enum guestmem_kind kind, struct guestmem_region **out);

const struct guestmem_region *guestmem_region_at(const struct guestmem *gm, uint64_t gpa);
/* Host pointer for [gpa, gpa+len) if it lies inside one mapping, else NULL. */
void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len);
bool guestmem_is_ram(const struct guestmem *gm, uint64_t gpa, uint64_t len);

/* Copies that may span adjacent mappings; -EFAULT if any byte is unmapped.
 * guestmem_write refuses ROM (-EFAULT) unless via guestmem_write_rom. */
int guestmem_read(const struct guestmem *gm, uint64_t gpa, void *buf, size_t len);
int guestmem_write(struct guestmem *gm, uint64_t gpa, const void *buf, size_t len);
int guestmem_write_rom(struct guestmem *gm, uint64_t gpa, const void *buf, size_t len);
int guestmem_fill(struct guestmem *gm, uint64_t gpa, uint8_t byte, size_t len);

/*
 * Build an iovec over [gpa, gpa+len) for DMA (at most max entries). Returns
 * the number of entries or -EFAULT/-E2BIG. After a device wrote into the
 * buffers it calls guestmem_dma_written() so decoded code is invalidated.
 */
int guestmem_iov(const struct guestmem *gm, uint64_t gpa, uint64_t len, bool write,
		 struct iovec *iov, int max);
void guestmem_dma_written(struct guestmem *gm, uint64_t gpa, uint64_t len);

void guestmem_set_write_hook(struct guestmem *gm, guestmem_write_hook *fn, void *opaque);

/* Little-endian scalar helpers for firmware tables; return -EFAULT when unmapped. */
int guestmem_read_u32(const struct guestmem *gm, uint64_t gpa, uint32_t *v);
int guestmem_write_u32(struct guestmem *gm, uint64_t gpa, uint32_t v);

#endif
