/*
 * guestmem: guest-physical memory map and bounds-checked access (guestmem.h).
 *
 * Host memory for RAM is an anonymous MAP_NORESERVE mapping: the host commits
 * pages only as the guest touches them, so a 4 GiB VM that uses 300 MiB costs
 * 300 MiB. Guest RAM is marked MADV_DONTDUMP so a monitor core dump does not
 * contain the guest's data.
 */
#include "guestmem.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct guestmem *guestmem_create(void)
{
	return calloc(1, sizeof(struct guestmem));
}

void guestmem_destroy(struct guestmem *gm)
{
	if (!gm)
		return;
	for (unsigned i = 0; i < gm->count; i++)
		if (gm->regions[i].owned)
			munmap(gm->regions[i].host, gm->regions[i].size);
	free(gm);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guestmem_add(struct guestmem *gm, const char *name, uint64_t gpa, uint64_t size,
		 void *host, enum guestmem_kind kind, struct guestmem_region **out)
{
	if (size == 0 || gpa + size < gpa || (gpa | size) & (GUESTMEM_PAGE_SIZE - 1))
		return -EINVAL;
	if (gm->count == GUESTMEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < gm->count; i++)
		if (ranges_overlap(gpa, size, gm->regions[i].gpa, gm->regions[i].size))
			return -EEXIST;

	bool owned = false;
	if (!host) {
		host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (host == MAP_FAILED)
			return -ENOMEM;
		madvise(host, size, MADV_DONTDUMP);
		owned = true;
	}
	/* Keep regions sorted by address so lookups can stop early. */
	unsigned i = gm->count;
	while (i > 0 && gm->regions[i - 1].gpa > gpa) {
		gm->regions[i] = gm->regions[i - 1];
		i--;
	}
	struct guestmem_region *r = &gm->regions[i];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	r->kind = kind;
	r->owned = owned;
	snprintf(r->name, sizeof(r->name), "%s", name);
	gm->count++;
	if (kind == GUESTMEM_RAM)
		gm->ram_bytes += size;
	if (out)
		*out = r;
	return 0;
}

const struct guestmem_region *guestmem_region_at(const struct guestmem *gm, uint64_t gpa)
{
	for (unsigned i = 0; i < gm->count; i++) {
		const struct guestmem_region *r = &gm->regions[i];
		if (gpa < r->gpa)
			return NULL;
		if (gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	const struct guestmem_region *r = guestmem_region_at(gm, gpa);
	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->host + (gpa - r->gpa);
}

bool guestmem_is_ram(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	const struct guestmem_region *r = guestmem_region_at(gm, gpa);
	return r && r->kind == GUESTMEM_RAM && len <= r->size - (gpa - r->gpa);
}

/* Walk [gpa, gpa+len) mapping by mapping; fails on the first hole. */
static int guestmem_copy(struct guestmem *gm, uint64_t gpa, void *buf, size_t len,
			 bool write, bool allow_rom)
{
	uint8_t *p = buf;
	if (gpa + len < gpa)
		return -EFAULT;
	/* Check the whole range first so a failed copy changes nothing. */
	for (uint64_t a = gpa, left = len; left;) {
		const struct guestmem_region *r = guestmem_region_at(gm, a);
		if (!r || (write && r->kind == GUESTMEM_ROM && !allow_rom))
			return -EFAULT;
		uint64_t n = r->size - (a - r->gpa);
		n = n < left ? n : left;
		a += n;
		left -= n;
	}
	for (uint64_t a = gpa, left = len; left;) {
		const struct guestmem_region *r = guestmem_region_at(gm, a);
		uint64_t n = r->size - (a - r->gpa);
		n = n < left ? n : left;
		if (write)
			memcpy(r->host + (a - r->gpa), p, n);
		else
			memcpy(p, r->host + (a - r->gpa), n);
		p += n;
		a += n;
		left -= n;
	}
	if (write && len && gm->write_hook)
		gm->write_hook(gm->write_hook_opaque, gpa, len);
	return 0;
}

int guestmem_read(const struct guestmem *gm, uint64_t gpa, void *buf, size_t len)
{
	return guestmem_copy((struct guestmem *)gm, gpa, buf, len, false, false);
}

int guestmem_write(struct guestmem *gm, uint64_t gpa, const void *buf, size_t len)
{
	return guestmem_copy(gm, gpa, (void *)buf, len, true, false);
}

int guestmem_write_rom(struct guestmem *gm, uint64_t gpa, const void *buf, size_t len)
{
	return guestmem_copy(gm, gpa, (void *)buf, len, true, true);
}

int guestmem_fill(struct guestmem *gm, uint64_t gpa, uint8_t byte, size_t len)
{
	uint8_t chunk[4096];
	memset(chunk, byte, sizeof(chunk));
	while (len) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);
		int rc = guestmem_write(gm, gpa, chunk, n);
		if (rc)
			return rc;
		gpa += n;
		len -= n;
	}
	return 0;
}

int guestmem_iov(const struct guestmem *gm, uint64_t gpa, uint64_t len, bool write,
		 struct iovec *iov, int max)
{
	int n = 0;
	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct guestmem_region *r = guestmem_region_at(gm, gpa);
		if (!r || (write && r->kind == GUESTMEM_ROM))
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		uint64_t chunk = r->size - (gpa - r->gpa);
		chunk = chunk < len ? chunk : len;
		iov[n].iov_base = r->host + (gpa - r->gpa);
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}

void guestmem_dma_written(struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	if (len && gm->write_hook)
		gm->write_hook(gm->write_hook_opaque, gpa, len);
}

void guestmem_set_write_hook(struct guestmem *gm, guestmem_write_hook *fn, void *opaque)
{
	gm->write_hook = fn;
	gm->write_hook_opaque = opaque;
}

int guestmem_read_u32(const struct guestmem *gm, uint64_t gpa, uint32_t *v)
{
	uint8_t b[4];
	int rc = guestmem_read(gm, gpa, b, 4);
	if (rc)
		return rc;
	*v = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

int guestmem_write_u32(struct guestmem *gm, uint64_t gpa, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return guestmem_write(gm, gpa, b, 4);
}
