/*
 * test_cpu_harness: see test_cpu_harness.h.
 */
#include "test_cpu_harness.h"

#include <string.h>

#include "guestmem.h"
#include "iobus.h"
#include "vclock.h"

static bool harness_init_common(struct harness *h, bool icount)
{
	memset(h, 0, sizeof(*h));
	config_init(&h->cfg);
	h->cfg.icount = icount;
	struct machine *m = &h->m;
	m->cfg = &h->cfg;
	m->ncpus = 1;
	m->accel = &accel_emu;
	pthread_mutex_init(&m->dev_lock, NULL);
	m->clock = vclock_create(&m->dev_lock);
	m->mem = guestmem_create();
	m->pio = iobus_create("pio", 0xffff, &m->dev_lock);
	m->mmio = iobus_create("mmio", UINT64_MAX, &m->dev_lock);
	if (!m->clock || !m->mem || !m->pio || !m->mmio)
		return false;
	if (accel_emu.vm_create(m))
		return false;
	if (guestmem_add(m->mem, "ram", 0, HARNESS_RAM, NULL, GUESTMEM_RAM, NULL))
		return false;
	h->v.m = m;
	h->v.index = 0;
	pthread_mutex_init(&h->v.lock, NULL);
	pthread_cond_init(&h->v.cond, NULL);
	m->vcpus[0] = &h->v;
	if (accel_emu.vcpu_create(&h->v))
		return false;
	accel_emu.vcpu_reset(&h->v);
	return true;
}

bool harness_init(struct harness *h)
{
	return harness_init_common(h, false);
}

bool harness_init_icount(struct harness *h)
{
	return harness_init_common(h, true);
}

void harness_fini(struct harness *h)
{
	struct machine *m = &h->m;
	accel_emu.vcpu_destroy(&h->v);
	accel_emu.vm_destroy(m);
	iobus_destroy(m->pio);
	iobus_destroy(m->mmio);
	guestmem_destroy(m->mem);
	vclock_destroy(m->clock);
	pthread_mutex_destroy(&m->dev_lock);
	pthread_mutex_destroy(&h->v.lock);
	pthread_cond_destroy(&h->v.cond);
	config_free(&h->cfg);
}

static void harness_flat(struct vcpu_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->present = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

void harness_long_mode(struct harness *h)
{
	struct guestmem *gm = h->m.mem;
	/* PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 (2 MiB pages). */
	guestmem_fill(gm, 0x1000, 0, 0x3000);
	uint64_t e = 0x2000 | 3;
	guestmem_write(gm, 0x1000, &e, 8);
	e = 0x3000 | 3;
	guestmem_write(gm, 0x2000, &e, 8);
	for (uint64_t i = 0; i < 512; i++) {
		e = (i << 21) | 0x83;
		guestmem_write(gm, 0x3000 + i * 8, &e, 8);
	}
	struct vcpu_sregs s;
	accel_emu.get_sregs(&h->v, &s);
	harness_flat(&s.cs, 8, true);
	harness_flat(&s.ds, 16, false);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.cr0 = 0x80000011;
	s.cr3 = 0x1000;
	s.cr4 = 0x20;
	s.efer = 0x500 | 0x800;
	accel_emu.set_sregs(&h->v, &s);
}

enum vcpu_exit_reason harness_run(struct harness *h, const uint8_t *code, unsigned len,
				  unsigned max_runs)
{
	guestmem_write(h->m.mem, HARNESS_CODE, code, len);
	struct vcpu_regs r;
	accel_emu.get_regs(&h->v, &r);
	r.rip = HARNESS_CODE;
	accel_emu.set_regs(&h->v, &r);
	struct vcpu_exit e = { 0 };
	for (unsigned i = 0; i < max_runs; i++) {
		memset(&e, 0, sizeof(e));
		accel_emu.vcpu_run(&h->v, &e);
		if (e.reason != VCPU_EXIT_NONE)
			break;
	}
	return e.reason;
}
