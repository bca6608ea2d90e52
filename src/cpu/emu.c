/*
 * emu: the software x86-64 CPU as an execution engine (accel_ops).
 *
 * Each vCPU runs decoded blocks (decode.c) in a loop on its own thread. At
 * every block boundary it looks for work from outside: a kick (pause/stop
 * requests from vcpu.c), decoded code invalidated by another agent, and
 * events from its local APIC (INIT, SIPI, NMI, maskable interrupts), which
 * are delivered when the architectural conditions allow (RFLAGS.IF, the
 * STI/MOV SS shadow, NMI blocking until IRET; Intel SDM Vol. 3A 6.7-6.8,
 * 6.9 priorities). Port I/O and MMIO go straight to the machine's buses;
 * there are no I/O exits. HLT with nothing pending returns VCPU_EXIT_HLT and
 * the generic loop sleeps until vcpu_kick().
 *
 * Faults unwind with longjmp to vcpu_run (cpu_raise), which delivers them
 * with the double-fault rules of SDM Table 6-5; a fault while delivering #DF
 * is a triple fault: VCPU_EXIT_SHUTDOWN, and the machine resets.
 *
 * In instruction-count mode (--icount) guest time is retired instructions
 * (one per nanosecond): the vCPUs run due timers themselves and an idle vCPU
 * warps time to the next deadline, so a single-vCPU run is reproducible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "cpu/cpu.h"
#include "cpu/fast.h"
#include "cpu/jit.h"
#include "cpu/simd.h"
#include "cpu/vcpu.h"
#include "devices/apic/lapic.h"
#include "guestmem.h"
#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

/* MAXPHYADDR 40: one byte per 4 KiB page, reserved but not committed. */
#define EMU_CODE_PAGES (1ULL << 28)
/* icount: run due timers at least this often (instructions). */
#define EMU_TIMER_SLICE 4096
/* Blocks run between two looks at the local APIC. */
#define EMU_BLOCKS_PER_POLL 64
/* Marker added to a vector being delivered that is not an exception. */
#define EMU_BENIGN 256

static int emu_probe(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0;
}

static int64_t emu_icount_now(void *opaque)
{
	struct emu_vm *vm = opaque;
	return atomic_load_explicit(&vm->icount_ns, memory_order_relaxed);
}

/* Port 0xF0: a write clears FERR# (IRQ13), as the PC/AT's coprocessor
 * error latch. Device lock held. */
static uint64_t emu_ferr_read(void *opaque, uint64_t off, unsigned size)
{
	return 0xff;
}

static void emu_ferr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct emu_vm *vm = opaque;
	struct machine *m = vm->m;
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct cpu *c = m->vcpus[i] ? m->vcpus[i]->accel : NULL;
		if (c)
			c->ferr = false;
	}
	irq_set(m, 13, 0);
}

static const struct iobus_ops emu_ferr_ops = { emu_ferr_read, emu_ferr_write, 1 };

/* Any thread: a device or loader wrote guest memory. */
static void emu_mem_written(void *opaque, uint64_t gpa, uint64_t len)
{
	struct emu_vm *vm = opaque;
	uint64_t first = gpa >> 12, last = (gpa + len - 1) >> 12;
	for (uint64_t p = first; p <= last && p < vm->code_pages_n; p++)
		if (atomic_load_explicit(&vm->code_pages[p], memory_order_relaxed)) {
			decode_code_written(vm, NULL, gpa, len);
			return;
		}
}

static int emu_vm_create(struct machine *m)
{
	struct emu_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->m = m;
	vm->a20 = true;
	void *p = mmap(NULL, EMU_CODE_PAGES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(vm);
		log_err("emu", "cannot reserve the decoded-code page map: %s", strerror(errno));
		return -ENOMEM;
	}
	vm->code_pages = p;
	vm->code_pages_n = EMU_CODE_PAGES;
	pthread_mutex_init(&vm->split_lock, NULL);
	m->accel_state = vm;
	guestmem_set_write_hook(m->mem, emu_mem_written, vm);
	if (iobus_add(m->pio, "ferr", 0xf0, 1, &emu_ferr_ops, vm, 0, NULL))
		log_warn("emu", "port 0xf0 is taken; FERR# cannot be cleared by the guest");
	vm->icount = m->cfg && m->cfg->icount;
	if (vm->icount) {
		vclock_set_source(m->clock, emu_icount_now, vm);
		log_info("emu", "guest time follows retired instructions (--icount)");
	}
	return 0;
}

static void emu_vm_destroy(struct machine *m)
{
	struct emu_vm *vm = m->accel_state;
	if (!vm)
		return;
	guestmem_set_write_hook(m->mem, NULL, NULL);
	munmap((void *)vm->code_pages, EMU_CODE_PAGES);
	pthread_mutex_destroy(&vm->split_lock);
	free(vm);
	m->accel_state = NULL;
}

static int emu_mem_map(struct machine *m, const struct guestmem_region *r)
{
	/* The MMU looks regions up in m->mem directly. */
	(void)m;
	(void)r;
	return 0;
}

/* Device lock held (port 0x92 or the i8042 output port). */
static void emu_set_a20(struct machine *m, bool enabled)
{
	struct emu_vm *vm = m->accel_state;
	vm->a20 = enabled;
	for (unsigned i = 0; i < m->ncpus; i++) {
		struct cpu *c = m->vcpus[i] ? m->vcpus[i]->accel : NULL;
		if (c)
			atomic_store(&c->flush_tlb, true);
	}
}

static int emu_vcpu_create(struct vcpu *v)
{
	struct cpu *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->v = v;
	c->m = v->m;
	c->vm = v->m->accel_state;
	c->index = v->index;
	c->delivering = -1;
	c->icount_mode = c->vm->icount;
	v->accel = c;
	c->simd = simd_state_create();
	if (!c->simd || decode_create(c) || jit_create(c))
		return -ENOMEM;
	return 0;
}

static void emu_vcpu_destroy(struct vcpu *v)
{
	struct cpu *c = v->accel;
	if (!c)
		return;
	decode_destroy(c);
	jit_destroy(c);
	simd_state_destroy(c->simd);
	free(c);
	v->accel = NULL;
}

static void emu_seg_reset(struct vcpu_segment *s, uint16_t sel, uint64_t base, uint8_t type,
			  uint8_t code_data)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = code_data;
}

/* Processor state after RESET or INIT (SDM Vol. 3A 9.1.1, Table 9-1). INIT
 * keeps the MSRs, caches and x87/SSE state. */
void emu_cpu_reset(struct cpu *c, bool init_only)
{
	memset(c->gpr, 0, sizeof(c->gpr));
	c->gpr[R_DX] = 0x600;           /* same signature as the KVM engine reports */
	c->rip = 0xfff0;
	c->rflags = 2;
	c->cc_op = CC_EFLAGS;
	c->cc_src = 0;
	c->cc_dst = 0;
	emu_seg_reset(&c->seg[S_CS], 0xf000, 0xffff0000ULL, 0xb, 1);
	for (unsigned s = 0; s < 6; s++)
		if (s != S_CS)
			emu_seg_reset(&c->seg[s], 0, 0, 3, 1);
	emu_seg_reset(&c->ldt, 0, 0, 2, 0);
	emu_seg_reset(&c->tr, 0, 0, 0xb, 0);
	c->gdt = (struct vcpu_dtable){ 0, 0xffff };
	c->idt = (struct vcpu_dtable){ 0, 0xffff };
	c->cr0 = 0x60000010;
	c->cr2 = c->cr3 = c->cr4 = 0;
	c->efer = 0;
	memset(c->dr, 0, sizeof(c->dr));
	c->dr[6] = 0xffff0ff0;
	c->dr[7] = 0x400;
	c->cpl = 0;
	c->shadow = c->nmi_blocked = c->halted = false;
	c->shutdown = false;
	c->delivering = -1;
	c->ferr = false;
	c->lapic = c->m->lapic[c->index];
	if (!init_only) {
		msr_reset(c);
		/* Every TSC restarts from 0 at the same instant: vCPU 0 is reset
		 * first and fixes it for all (Linux checks the TSCs are in sync). */
		if (c->index == 0)
			c->vm->tsc_reset_ns = vclock_now(c->m->clock);
		c->tsc_offset = (uint64_t)-c->vm->tsc_reset_ns;
		simd_reset(c->simd);
	}
	cpu_update_mode(c);
	mmu_flush(c, true);
}

static int emu_vcpu_reset(struct vcpu *v)
{
	struct cpu *c = v->accel;
	emu_cpu_reset(c, false);
	c->wait_sipi = v->index != 0;
	if (c->lapic)
		lapic_reset(c->lapic, v->index == 0);
	return 0;
}

static void emu_icount_tick(struct cpu *c, uint64_t retired, bool force);

/* Deliver an exception raised by cpu_raise, applying SDM Table 6-5. A
 * delivery counts as one retired instruction, so guest time moves (icount)
 * even when a guest does nothing but fault. */
static void emu_fault(struct cpu *c)
{
	int vec = c->exc_vec;
	uint32_t err = c->exc_err;
	bool has = c->exc_has_err;
	c->cur_block = NULL;
	if (c->delivering >= 0) {
		int prev = c->delivering;
		if (prev == EXC_DF) {
			c->delivering = -1;
			c->shutdown = true;
			return;
		}
		bool prev_contrib = prev == EXC_DE || (prev >= EXC_TS && prev <= EXC_GP);
		bool cur_contrib = vec == EXC_DE || (vec >= EXC_TS && vec <= EXC_GP);
		if ((prev_contrib && cur_contrib) ||
		    (prev == EXC_PF && (cur_contrib || vec == EXC_PF))) {
			vec = EXC_DF;
			err = 0;
			has = true;
		}
	}
	if (!(c->cr0 & CR0_PE))
		has = false;            /* real mode pushes no error codes */
	if (c->icount_mode)
		emu_icount_tick(c, 1, false);
	c->delivering = vec;
	intr_deliver(c, vec, has, err, false, false, c->rip);
	c->delivering = -1;
}

/* INIT, SIPI, NMI and maskable interrupts from the local APIC. */
static void emu_events(struct cpu *c)
{
	struct lapic *l = c->lapic;
	unsigned ev = lapic_events(l);
	if (!ev)
		return;
	if ((ev & LAPIC_EV_INIT) && lapic_take_init(l)) {
		emu_cpu_reset(c, true);
		/* Only APs wait for a SIPI; the BSP restarts at the reset vector. */
		c->wait_sipi = !(c->apic_base & (1ULL << 8)) && c->index != 0;
	}
	if (c->wait_sipi) {
		if (ev & LAPIC_EV_SIPI) {
			int vec = lapic_take_sipi(l);
			if (vec >= 0) {
				c->wait_sipi = false;
				c->halted = false;
				seg_load_real(c, S_CS, (uint16_t)(vec << 8));
				c->rip = 0;
			}
		}
		return;
	}
	if (ev & LAPIC_EV_SIPI)
		lapic_take_sipi(l);     /* ignored outside wait-for-SIPI */
	bool shadow = c->shadow;
	if ((ev & LAPIC_EV_NMI) && !c->nmi_blocked && !shadow && lapic_take_nmi(l)) {
		c->delivering = EMU_BENIGN + EXC_NMI;
		intr_deliver(c, EXC_NMI, false, 0, false, true, c->rip);
		c->delivering = -1;
		return;
	}
	if ((ev & LAPIC_EV_INTR) && (c->rflags & FL_IF) && !shadow) {
		int vec = lapic_ack_interrupt(l);
		if (vec >= 0) {
			c->delivering = EMU_BENIGN + vec;
			intr_deliver(c, vec, false, 0, false, true, c->rip);
			c->delivering = -1;
		}
	}
}

/* icount: publish retired instructions as time and run due timers. */
static void emu_icount_tick(struct cpu *c, uint64_t retired, bool force)
{
	struct emu_vm *vm = c->vm;
	atomic_fetch_add_explicit(&vm->icount_ns, (int64_t)retired, memory_order_relaxed);
	static _Thread_local uint64_t since;
	since += retired;
	if (!force && since < EMU_TIMER_SLICE)
		return;
	since = 0;
	machine_lock(c->m);
	vclock_run_due(c->m->clock);
	machine_unlock(c->m);
}

/* icount: nothing runnable; jump guest time to the next timer. Returns false
 * when no timer is armed (the vCPU must really sleep). */
static bool emu_icount_warp(struct cpu *c)
{
	struct emu_vm *vm = c->vm;
	machine_lock(c->m);
	int64_t next = vclock_next_deadline(c->m->clock);
	if (next != INT64_MAX) {
		int64_t now = atomic_load(&vm->icount_ns);
		if (next > now)
			atomic_store(&vm->icount_ns, next);
		vclock_run_due(c->m->clock);
	}
	machine_unlock(c->m);
	return next != INT64_MAX;
}

/*
 * The threaded handler of every op without a specialised form: run the
 * reference handler with rip at the instruction, then carry on with the
 * block unless the handler ended it (or something it did, like a write to
 * this block's own code, asked to end it).
 */
const struct op *emu_exec_ref(struct cpu *c, const struct op *op)
{
	uint64_t start = c->rip;
	c->rip = start + op->off;
	if (op->fn(c, op))
		return op + 1;
	if (unlikely(c->brk)) {
		c->rip += op->len;
		return op + 1;
	}
	c->rip = start;
	FAST_NEXT(c, op);
}

/* After the last instruction: rip moves to the one that follows. */
const struct op *emu_exec_end(struct cpu *c, const struct op *op)
{
	c->rip += op->off;
	return fast_exit(c, op);
}

/* Execute the block at CS:RIP and any blocks it goes on to (fast_exit);
 * single-step (TF) runs one instruction through its reference handler and
 * then raises the #DB trap. */
static void emu_exec_block(struct cpu *c)
{
	const struct block *b = decode_lookup(c);
	c->cur_block = b;
	c->brk = false;
	bool step = c->rflags & FL_TF;
	const struct op *end;
	if (likely(!step && !c->icount_mode)) {
		end = b->ops[0].exec(c, b->ops);
	} else if (!step) {
		/* icount: one block at a time, so each is counted (a budget of
		 * one stops fast_exit). */
		int left = c->budget;
		c->budget = 1;
		end = b->ops[0].exec(c, b->ops);
		c->budget = left;
	} else {
		end = b->ops + 1;
		if (!b->ops[0].fn(c, b->ops))
			c->rip += b->ops[0].len;
	}
	if (unlikely(c->icount_mode)) {
		/* Unchained: b is the only block that ran. */
		uint64_t n = (uint64_t)(end - b->ops) + c->extra_retired;
		c->extra_retired = 0;
		emu_icount_tick(c, n, false);
	}
	if (step && !c->halted) {
		c->dr[6] |= 0x4000;     /* BS */
		intr_deliver(c, EXC_DB, false, 0, false, false, c->rip);
	}
}

/*
 * Run blocks until the generic loop has something to do. Kept out of line
 * and free of setjmp so the compiler can hold the CPU state in registers.
 */
static __attribute__((noinline)) enum vcpu_exit_reason emu_run_blocks(struct cpu *c)
{
	for (;;) {
		if (c->shutdown) {
			if (!c->halted) {
				c->halted = true;
				return VCPU_EXIT_SHUTDOWN;
			}
			return VCPU_EXIT_HLT;
		}
		if (atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
			atomic_store(&c->kicked, false);
			return VCPU_EXIT_NONE;
		}
		if (unlikely(atomic_load_explicit(&c->flush_tlb, memory_order_relaxed))) {
			atomic_store(&c->flush_tlb, false);
			mmu_flush(c, true);
		}
		if (c->lapic)
			emu_events(c);
		c->shadow = false;
		if (c->wait_sipi || c->halted) {
			if (!c->wait_sipi && c->vm->icount && emu_icount_warp(c))
				continue;
			return VCPU_EXIT_HLT;
		}
		/* Events are looked at every EMU_BLOCKS_PER_POLL blocks (well under
		 * a microsecond of guest time) and whenever a block halts, opens an
		 * interrupt shadow, or another thread wants this vCPU. */
		c->budget = EMU_BLOCKS_PER_POLL;
		do {
			emu_exec_block(c);
			if (unlikely(c->halted | c->shadow |
				     atomic_load_explicit(&c->kicked, memory_order_relaxed) |
				     atomic_load_explicit(&c->flush_tlb, memory_order_relaxed) |
				     atomic_load_explicit(&c->flush_code, memory_order_relaxed)))
				break;
		} while (--c->budget > 0);
	}
}

static int emu_vcpu_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct cpu *c = v->accel;
	if (setjmp(c->jb))
		emu_fault(c);
	e->reason = emu_run_blocks(c);
	return 0;
}

static void emu_vcpu_kick(struct vcpu *v)
{
	struct cpu *c = v->accel;
	if (c)
		atomic_store(&c->kicked, true);
}

static int emu_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
	struct cpu *c = v->accel;
	uint64_t *g = c->gpr;
	*r = (struct vcpu_regs){ g[0], g[3], g[1], g[2], g[6], g[7], g[4], g[5],
				 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15],
				 c->rip, flags_get(c) };
	return 0;
}

static int emu_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
	struct cpu *c = v->accel;
	uint64_t *g = c->gpr;
	g[0] = r->rax; g[3] = r->rbx; g[1] = r->rcx; g[2] = r->rdx;
	g[6] = r->rsi; g[7] = r->rdi; g[4] = r->rsp; g[5] = r->rbp;
	g[8] = r->r8; g[9] = r->r9; g[10] = r->r10; g[11] = r->r11;
	g[12] = r->r12; g[13] = r->r13; g[14] = r->r14; g[15] = r->r15;
	c->rip = r->rip;
	flags_set(c, r->rflags, ~0ULL);
	c->halted = false;
	cpu_update_mode(c);
	return 0;
}

static int emu_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	struct cpu *c = v->accel;
	s->es = c->seg[S_ES];
	s->cs = c->seg[S_CS];
	s->ss = c->seg[S_SS];
	s->ds = c->seg[S_DS];
	s->fs = c->seg[S_FS];
	s->gs = c->seg[S_GS];
	s->tr = c->tr;
	s->ldt = c->ldt;
	s->gdt = c->gdt;
	s->idt = c->idt;
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->cr8 = c->lapic ? lapic_get_cr8(c->lapic) : 0;
	s->efer = c->efer;
	s->apic_base = c->apic_base;
	return 0;
}

static int emu_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	struct cpu *c = v->accel;
	c->seg[S_ES] = s->es;
	c->seg[S_CS] = s->cs;
	c->seg[S_SS] = s->ss;
	c->seg[S_DS] = s->ds;
	c->seg[S_FS] = s->fs;
	c->seg[S_GS] = s->gs;
	c->tr = s->tr;
	c->ldt = s->ldt;
	c->gdt = s->gdt;
	c->idt = s->idt;
	c->cr0 = s->cr0 | CR0_ET;
	c->cr2 = s->cr2;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	c->efer = s->efer;
	if ((c->efer & EFER_LME) && (c->cr0 & CR0_PG))
		c->efer |= EFER_LMA;
	if (s->apic_base)
		c->apic_base = s->apic_base;
	if (c->lapic)
		lapic_set_cr8(c->lapic, (uint8_t)s->cr8);
	/* CPL is SS.DPL in protected mode (as KVM's interface defines it). */
	c->cpl = (c->cr0 & CR0_PE) ? s->ss.dpl : 0;
	c->halted = false;
	c->wait_sipi = false;
	cpu_update_mode(c);
	mmu_flush(c, true);
	return 0;
}

static int emu_set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	return msr_write(v->accel, index, value) ? -EINVAL : 0;
}

uint64_t emu_port_in(struct cpu *c, uint16_t port, unsigned size)
{
	return iobus_read(c->m->pio, port, size);
}

void emu_port_out(struct cpu *c, uint16_t port, unsigned size, uint64_t v)
{
	iobus_write(c->m->pio, port, size, v);
}

const struct accel_ops accel_emu = {
	.name = "emu",
	.has_irqchip = false,
	.probe = emu_probe,
	.vm_create = emu_vm_create,
	.vm_destroy = emu_vm_destroy,
	.mem_map = emu_mem_map,
	.set_a20 = emu_set_a20,
	.vcpu_create = emu_vcpu_create,
	.vcpu_destroy = emu_vcpu_destroy,
	.vcpu_reset = emu_vcpu_reset,
	.vcpu_run = emu_vcpu_run,
	.vcpu_kick = emu_vcpu_kick,
	.get_regs = emu_get_regs,
	.set_regs = emu_set_regs,
	.get_sregs = emu_get_sregs,
	.set_sregs = emu_set_sregs,
	.set_msr = emu_set_msr,
};
