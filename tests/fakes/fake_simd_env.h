/*
 * fake_simd_env: a stand-in for the software CPU core when testing the
 * x87/MMX/SSE unit (src/cpu/simd.h): sixteen 64-bit general registers and
 * RFLAGS addressed by Zydis register id with x86-64 width rules, and a flat
 * window of "linear" memory with an optional faulting range.
 */
#ifndef LODGE_FAKE_SIMD_ENV_H
#define LODGE_FAKE_SIMD_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/simd.h"

struct fake_simd_cpu {
	uint64_t gpr[16];               /* RAX..R15 by Zydis GPR id */
	uint64_t rflags;
	uint8_t *mem;                   /* backing bytes of [mem_base, mem_base + mem_size) */
	uint64_t mem_base;
	size_t mem_size;
	uint64_t fault_lo, fault_hi;    /* accesses touching [lo, hi) fail */
	unsigned reads, writes, probes, faults;
	struct simd_env env;
};

/* Ready for 64-bit mode with CR0.PE|MP|NE|PG and CR4.OSFXSR|OSXMMEXCPT. */
void fake_simd_init(struct fake_simd_cpu *c, uint8_t *mem, uint64_t base, size_t size);

/*
 * Fills env.has_mem/mem_linear/mem_seg from the instruction's memory
 * operand (explicit or implicit), as the core would.
 */
void fake_simd_set_mem(struct fake_simd_cpu *c, const ZydisDecodedInstruction *insn,
		       const ZydisDecodedOperand *ops);

#endif
