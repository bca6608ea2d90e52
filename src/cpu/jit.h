/*
 * jit: host code for hot blocks of the software CPU.
 *
 * A block (decode.c) runs as a chain of threaded handlers. Once a 64-bit or
 * 32-bit protected-mode block has been entered often enough, the JIT writes one host function for
 * it with the same signature as a threaded handler (op_exec) and makes it
 * the block's entry. The function does what the ops' fast paths do, with
 * the operands folded into the code; wherever a fast path would give up
 * (a TLB miss, a write to a page with decoded code, an op it does not
 * translate) it jumps into the threaded chain at that op, with nothing of
 * the op done, so faults and everything rare stay with the interpreter.
 */
#ifndef LODGE_CPU_JIT_H
#define LODGE_CPU_JIT_H

#include <stdbool.h>

struct cpu;
struct block;

/* Per vCPU: the code area, or nothing when the JIT is off (LODGE_JIT=off). */
int jit_create(struct cpu *c);
void jit_destroy(struct cpu *c);
/* A new block: count its entries if the JIT may compile it. */
void jit_attach(struct cpu *c, struct block *b);
/* The code area is full (the JIT then also raises c->flush_code, so the
 * run loop calls decode_service): decode.c drops every block, then calls
 * jit_reset (no host code runs at that point). */
bool jit_wants_reset(const struct cpu *c);
void jit_reset(struct cpu *c);

#endif
