/*
 * fake_simd_env: see fake_simd_env.h.
 */
#include "fake_simd_env.h"

#include <string.h>

static uint64_t *fake_gpr_slot(struct fake_simd_cpu *c, ZydisRegister reg, unsigned *shift,
			       unsigned *width)
{
	*shift = 0;
	switch (reg) {
	case ZYDIS_REGISTER_AH: case ZYDIS_REGISTER_CH:
	case ZYDIS_REGISTER_DH: case ZYDIS_REGISTER_BH:
		*shift = 8;
		*width = 8;
		return &c->gpr[reg - ZYDIS_REGISTER_AH];
	default:
		break;
	}
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
	if (ZydisRegisterGetClass(big) != ZYDIS_REGCLASS_GPR64)
		return NULL;
	*width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg);
	return &c->gpr[ZydisRegisterGetId(big)];
}

static uint64_t fake_get_gpr(void *cpu, ZydisRegister reg)
{
	struct fake_simd_cpu *c = cpu;
	if (reg == ZYDIS_REGISTER_RFLAGS || reg == ZYDIS_REGISTER_EFLAGS ||
	    reg == ZYDIS_REGISTER_FLAGS)
		return c->rflags;
	unsigned shift, width;
	uint64_t *p = fake_gpr_slot(c, reg, &shift, &width);
	if (!p)
		return 0;
	uint64_t v = *p >> shift;
	return width >= 64 ? v : v & ((1ull << width) - 1);
}

static void fake_set_gpr(void *cpu, ZydisRegister reg, uint64_t value)
{
	struct fake_simd_cpu *c = cpu;
	if (reg == ZYDIS_REGISTER_RFLAGS || reg == ZYDIS_REGISTER_EFLAGS ||
	    reg == ZYDIS_REGISTER_FLAGS) {
		c->rflags = value;
		return;
	}
	unsigned shift, width;
	uint64_t *p = fake_gpr_slot(c, reg, &shift, &width);
	if (!p)
		return;
	if (width >= 64 || width == 32) {       /* 32-bit writes zero-extend */
		*p = width == 32 ? (uint32_t)value : value;
		return;
	}
	uint64_t mask = ((1ull << width) - 1) << shift;
	*p = (*p & ~mask) | ((value << shift) & mask);
}

static bool fake_ok(struct fake_simd_cpu *c, uint64_t linear, unsigned len)
{
	if (linear < c->mem_base || linear - c->mem_base > c->mem_size ||
	    len > c->mem_size - (linear - c->mem_base))
		return false;
	return linear + len <= c->fault_lo || linear >= c->fault_hi;
}

static bool fake_read(void *cpu, uint64_t linear, void *buf, unsigned len)
{
	struct fake_simd_cpu *c = cpu;
	c->reads++;
	if (!fake_ok(c, linear, len)) {
		c->faults++;
		return false;
	}
	memcpy(buf, c->mem + (linear - c->mem_base), len);
	return true;
}

static bool fake_write(void *cpu, uint64_t linear, const void *buf, unsigned len)
{
	struct fake_simd_cpu *c = cpu;
	c->writes++;
	if (!fake_ok(c, linear, len)) {
		c->faults++;
		return false;
	}
	memcpy(c->mem + (linear - c->mem_base), buf, len);
	return true;
}

static bool fake_probe_write(void *cpu, uint64_t linear, unsigned len)
{
	struct fake_simd_cpu *c = cpu;
	c->probes++;
	if (!fake_ok(c, linear, len)) {
		c->faults++;
		return false;
	}
	return true;
}

void fake_simd_init(struct fake_simd_cpu *c, uint8_t *mem, uint64_t base, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->mem = mem;
	c->mem_base = base;
	c->mem_size = size;
	c->rflags = 0x202;
	c->env = (struct simd_env){
		.cpu = c,
		.cr0 = 0x80000033,      /* PG NE ET MP PE */
		.cr4 = 0x620,           /* OSXMMEXCPT OSFXSR PAE */
		.long_mode = true,
		.rip = 0x401000,
		.cs = 0x33,
		.ds = 0,
		.get_gpr = fake_get_gpr,
		.set_gpr = fake_set_gpr,
		.read = fake_read,
		.write = fake_write,
		.probe_write = fake_probe_write,
	};
}

void fake_simd_set_mem(struct fake_simd_cpu *c, const ZydisDecodedInstruction *insn,
		       const ZydisDecodedOperand *ops)
{
	c->env.has_mem = false;
	for (unsigned i = 0; i < insn->operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type != ZYDIS_MEMOP_TYPE_MEM)
			continue;
		uint64_t ea = (uint64_t)op->mem.disp.value;
		if (op->mem.base == ZYDIS_REGISTER_RIP)
			ea += c->env.rip + insn->length;
		else if (op->mem.base != ZYDIS_REGISTER_NONE)
			ea += fake_get_gpr(c, op->mem.base);
		if (op->mem.index != ZYDIS_REGISTER_NONE)
			ea += fake_get_gpr(c, op->mem.index) * op->mem.scale;
		if (insn->address_width == 32)
			ea = (uint32_t)ea;
		else if (insn->address_width == 16)
			ea = (uint16_t)ea;
		c->env.has_mem = true;
		c->env.mem_linear = ea;        /* flat segments */
		c->env.mem_seg = 0;
		return;
	}
}
