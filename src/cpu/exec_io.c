/*
 * exec_io: port I/O instructions (Intel SDM Vol. 2: IN, OUT; Vol. 1 19.5
 * "I/O Permission Bit Map": in protected mode with CPL > IOPL, and always in
 * virtual-8086 mode, every port accessed must be allowed by the TSS bitmap).
 * Ports go straight to the machine's port bus (emu_port_in/out).
 */
#include "cpu/cpu.h"

void io_check(struct cpu *c, uint16_t port, unsigned size)
{
	if (!(c->cr0 & CR0_PE))
		return;
	unsigned iopl = (c->rflags & FL_IOPL) >> 12;
	if ((c->rflags & FL_VM) || c->cpl > iopl)
		task_check_io(c, port, size);
}

int io_in(struct cpu *c, const struct op *op)
{
	uint16_t port = op->k[1] == K_IMM ? (uint16_t)op->imm : (uint16_t)c->gpr[R_DX];
	io_check(c, port, op->size);
	cpu_reg_set(c, R_AX, op->size, emu_port_in(c, port, op->size));
	return 0;
}

int io_out(struct cpu *c, const struct op *op)
{
	uint16_t port = op->k[0] == K_IMM ? (uint16_t)op->imm : (uint16_t)c->gpr[R_DX];
	io_check(c, port, op->size);
	emu_port_out(c, port, op->size, cpu_reg_get(c, R_AX, op->size));
	/* A port write may reset the machine or change A20: end the block. */
	c->brk = true;
	return 0;
}
