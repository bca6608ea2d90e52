/*
 * fake_ram_machine: a machine with RAM and an e820 map only (see the header).
 */
#include "fake_ram_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestmem.h"

struct machine *fake_ram_machine_create(uint64_t mem_bytes, unsigned ncpus, bool kvm_reserved)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (!m || !cfg)
		abort();
	config_init(cfg);
	cfg->mem_bytes = mem_bytes;
	cfg->cpus = ncpus;
	m->cfg = cfg;
	m->ncpus = ncpus;
	m->mem = guestmem_create();
	m->ram_below_4g = mem_bytes;
	if (!m->mem || guestmem_add(m->mem, "ram-low", 0, mem_bytes, NULL, GUESTMEM_RAM, NULL))
		abort();
	if (kvm_reserved)
		machine_add_e820(m, 0xfeffc000, 0x4000, E820_RESERVED);
	/* The same map as board_pc_e820(). */
	machine_add_e820(m, 0, 0x9fc00, E820_RAM);
	machine_add_e820(m, 0x9fc00, 0x400, E820_RESERVED);
	machine_add_e820(m, 0xe0000, 0x20000, E820_RESERVED);
	machine_add_e820(m, 0x100000, mem_bytes - 0x100000, E820_RAM);
	return m;
}

void fake_ram_machine_destroy(struct machine *m)
{
	guestmem_destroy(m->mem);
	config_free(m->cfg);
	free(m->cfg);
	free(m);
}

void fake_ram_machine_fill(struct machine *m, uint8_t byte)
{
	memset(guestmem_ptr(m->mem, 0, m->ram_below_4g), byte, m->ram_below_4g);
}

bool fake_ram_machine_all(const struct machine *m, uint8_t byte)
{
	static uint8_t want[65536];
	const uint8_t *p = guestmem_ptr(m->mem, 0, m->ram_below_4g);
	memset(want, byte, sizeof(want));
	/* RAM sizes are whole MiB: whole chunks, compared fast. */
	for (uint64_t off = 0; off < m->ram_below_4g; off += sizeof(want))
		if (memcmp(p + off, want, sizeof(want)))
			return false;
	return true;
}

char *fake_ram_machine_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/lodge-test-XXXXXX");
	int fd = path ? mkstemp(path) : -1;
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

void fake_ram_machine_unlink(char *path)
{
	if (path)
		unlink(path);
	free(path);
}
