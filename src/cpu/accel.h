/*
 * accel: the interface between the machine and an execution engine.
 *
 * Two engines implement it: KVM (host-driver/linux/kvm.c), which runs guest
 * code on the host's VT-x/AMD-V through /dev/kvm, and the software x86 CPU
 * (src/cpu/), which interprets it. The machine, the boot loaders and every
 * device see only this header, so both engines run the same PC.
 *
 * Register state is exchanged in engine-neutral structs. vcpu_run() runs the
 * vCPU until something the generic loop in vcpu.c must handle happens and
 * describes it in a normalized struct vcpu_exit.
 *
 * Threads: vm_* and mem_map on the main thread before vCPUs run (or with them
 * paused); vcpu_run/get/set on the vCPU's own thread (or with it paused);
 * vcpu_kick and irq_line from any thread.
 */
#ifndef LODGE_ACCEL_H
#define LODGE_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct vcpu;
struct guestmem_region;

struct vcpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* A segment register as the hidden descriptor cache holds it. */
struct vcpu_segment {
	uint64_t base;
	uint32_t limit;                 /* byte granular (already scaled by G) */
	uint16_t selector;
	uint8_t type;                   /* descriptor type field (4 bits) */
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct vcpu_dtable {
	uint64_t base;
	uint16_t limit;
};

struct vcpu_sregs {
	struct vcpu_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct vcpu_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

enum vcpu_exit_reason {
	VCPU_EXIT_NONE,                 /* kicked, or nothing for the loop to do */
	VCPU_EXIT_IO,                   /* port I/O: emulate through machine->pio */
	VCPU_EXIT_MMIO,                 /* MMIO: emulate through machine->mmio */
	VCPU_EXIT_HLT,                  /* idle until vcpu_kick() (software CPU) */
	VCPU_EXIT_SHUTDOWN,             /* triple fault: the machine resets */
	VCPU_EXIT_RESET,                /* the engine saw a system reset request */
	VCPU_EXIT_ERROR,                /* unrecoverable; the engine logged why */
};

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;           /* 1, 2 or 4 */
			bool write;
			uint32_t count;         /* >1 for string I/O (REP INS/OUTS) */
			uint8_t *data;          /* count*size bytes, little-endian */
		} io;
		struct {
			uint64_t addr;
			uint8_t size;           /* 1..8 */
			bool write;
			uint8_t *data;
		} mmio;
	};
};

struct accel_ops {
	const char *name;
	/* The engine brings its own PIC, IOAPIC, LAPICs and PIT (KVM's in-kernel
	 * ones); otherwise the board creates our models from src/devices. */
	bool has_irqchip;

	/* 0 if the engine can run here; otherwise a sentence saying why not. */
	int (*probe)(char *why, size_t len);
	int (*vm_create)(struct machine *m);
	void (*vm_destroy)(struct machine *m);
	int (*mem_map)(struct machine *m, const struct guestmem_region *r);
	/* has_irqchip engines only; any thread. */
	void (*irq_line)(struct machine *m, unsigned gsi, int level);
	void (*msi)(struct machine *m, uint64_t addr, uint32_t data);
	/* Gate address line 20 (port 0x92, i8042 output port). Optional: KVM
	 * cannot mask A20 and leaves it enabled, which every modern OS expects. */
	void (*set_a20)(struct machine *m, bool enabled);
	int (*vcpu_create)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);
	/* Power-on state: the BSP at the reset vector, APs waiting for SIPI. */
	int (*vcpu_reset)(struct vcpu *v);
	int (*vcpu_run)(struct vcpu *v, struct vcpu_exit *exit);
	/* Any thread: make vcpu_run() return soon. */
	void (*vcpu_kick)(struct vcpu *v);
	int (*get_regs)(struct vcpu *v, struct vcpu_regs *r);
	int (*set_regs)(struct vcpu *v, const struct vcpu_regs *r);
	int (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	int (*set_sregs)(struct vcpu *v, const struct vcpu_sregs *s);
	int (*set_msr)(struct vcpu *v, uint32_t index, uint64_t value);
};

extern const struct accel_ops accel_kvm;
extern const struct accel_ops accel_emu;

/*
 * Pick the engine for the --accel choice (enum config_accel). Returns NULL
 * with why filled when the requested engine cannot run. Logs the choice and
 * warns plainly when KVM is present but not hardware-backed.
 */
const struct accel_ops *accel_choose(int choice, char *why, size_t len);
/* True if /proc/cpuinfo shows vmx or svm. */
bool accel_host_has_hw_virt(void);

#endif
