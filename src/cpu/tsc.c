/*
 * tsc: the software CPU's time-stamp counter and instruction-count time
 * (Intel SDM Vol. 3B 17.17 "Time-Stamp Counter").
 *
 * The TSC counts at TSC_HZ (1 GHz, advertised in CPUID leaves 0x15/0x16 so a
 * guest need not calibrate it) from the guest clock, so it is invariant and
 * stops with the VM. Writes to IA32_TSC set a per-vCPU offset.
 */
#include "cpu/cpu.h"
#include "machine.h"
#include "vclock.h"

/* TSC_HZ is 1 GHz: one tick per guest nanosecond. */
_Static_assert(TSC_HZ == 1000000000ULL, "tsc.c assumes one tick per nanosecond");

uint64_t tsc_read(struct cpu *c)
{
	return (uint64_t)vclock_now(c->m->clock) + c->tsc_offset;
}

void tsc_write(struct cpu *c, uint64_t v)
{
	c->tsc_offset = v - (uint64_t)vclock_now(c->m->clock);
}

int64_t tsc_to_ns(struct cpu *c, uint64_t tsc)
{
	/* The offset is a signed quantity (a TSC written below the clock). */
	__int128 ns = (__int128)tsc - (__int128)(int64_t)c->tsc_offset;
	if (ns < 0)
		return 0;
	return ns > INT64_MAX ? INT64_MAX : (int64_t)ns;
}
