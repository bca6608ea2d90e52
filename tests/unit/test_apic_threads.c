/*
 * Concurrency test for the interrupt stack: two "vCPU" threads send IPIs to
 * each other, take interrupts (from their LAPIC and, through ExtINT, from
 * the 8259), EOI level-triggered vectors back to the I/O APIC and reprogram
 * their timers, while a "device and timer" thread moves guest time, runs
 * the LAPIC/PIT/HPET timers and raises ISA, PCI and MSI interrupts. It
 * checks that the lock order (device lock -> LAPIC lock -> vCPU lock) holds
 * up (no deadlock), that no IPI is lost outright, and gives ThreadSanitizer
 * something to look at.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apic/lapic.h"
#include "fake_irqmachine.h"
#include "log.h"
#include "machine.h"

#define ROUNDS 20000

struct vcpu_thread {
	struct fim *f;
	unsigned index;
	unsigned sent, got_ipi, got_other;
	_Atomic bool *stop;
	_Atomic unsigned *vcpus_done;   /* vCPU threads past their rounds */
	_Atomic unsigned *device_rounds;
};

/* Take and EOI everything deliverable now. */
static void vcpu_drain(struct vcpu_thread *t, struct lapic *l, unsigned other)
{
	for (int v; (v = lapic_ack_interrupt(l)) >= 0;) {
		if (v == 0x40 + (int)other)
			t->got_ipi++;
		else
			t->got_other++;
		if (v >= 0x20)
			lapic_mmio_write(l, 0xb0, 0);   /* LAPIC vector: EOI */
		else
			fim_outb(t->f, 0x20, 0x20);    /* 8259 vector */
	}
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct lapic *l = fim_lapic(t->f, t->index);
	unsigned other = t->index ^ 1;
	for (unsigned n = 0; n < ROUNDS; n++) {
		lapic_mmio_write(l, 0x310, other << 24);
		lapic_mmio_write(l, 0x300, 0x40 + t->index);    /* fixed IPI */
		t->sent++;
		if (n % 64 == 0) {
			lapic_mmio_write(l, 0x320, 0x20050);    /* periodic timer */
			lapic_mmio_write(l, 0x380, 200000 + n);
		}
		lapic_mmio_read(l, 0x390);
		if (n % 16 == 0)
			lapic_set_cr8(l, (uint8_t)(n & 3));
		vcpu_drain(t, l, other);
		lapic_take_nmi(l);
	}
	/*
	 * Keep taking interrupts until the partner has sent everything and the
	 * device thread has run a while: on a loaded host one thread may finish
	 * its rounds before the others start, and the checks below must not
	 * depend on scheduling.
	 */
	lapic_set_cr8(l, 0);
	atomic_fetch_add(t->vcpus_done, 1);
	while (atomic_load(t->vcpus_done) < 2 || atomic_load(t->device_rounds) < 256) {
		vcpu_drain(t, l, other);
		sched_yield();
	}
	vcpu_drain(t, l, other);
	return NULL;
}

static void *devices_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct fim *f = t->f;
	unsigned n = 0;
	while (!atomic_load(t->stop)) {
		fim_advance(f, 20000);
		fim_irq(f, 1, 1);                       /* ISA: 8259 -> BSP LINT0 */
		fim_irq(f, 1, 0);
		fim_irq(f, 16, (int)(n & 1));           /* PCI level pin */
		fim_msi(f, 0xfee00000 | (n & 1) << 12, 0x61);
		n++;
		atomic_fetch_add(t->device_rounds, 1);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fim *f = *state;
	log_set_level(LOG_ERROR);
	fim_pic_init(f, 0x01);
	fim_outb(f, 0x21, 0xfd);                        /* IRQ1 only */
	fim_outb(f, 0xa1, 0xff);
	/* Pin 16: level, lowest priority to both (logical flat 0x03), 0x90. */
	fim_write(f, 0xfec00000, 4, 0x30);
	fim_write(f, 0xfec00010, 4, 0x8990);
	fim_write(f, 0xfec00000, 4, 0x31);
	fim_write(f, 0xfec00010, 4, 0x03000000);
	for (unsigned i = 0; i < 2; i++) {
		struct lapic *l = fim_lapic(f, i);
		lapic_mmio_write(l, 0xf0, 0x1ff);
		lapic_mmio_write(l, 0xd0, (1u << i) << 24);
		if (i == 0)
			lapic_mmio_write(l, 0x350, 0x700);
	}
	_Atomic bool stop = false;
	_Atomic unsigned vcpus_done = 0, device_rounds = 0;
	struct vcpu_thread t[3];
	pthread_t th[3];
	for (unsigned i = 0; i < 3; i++) {
		t[i] = (struct vcpu_thread){ .f = f, .index = i, .stop = &stop,
					     .vcpus_done = &vcpus_done,
					     .device_rounds = &device_rounds };
		assert_int_equal(pthread_create(&th[i], NULL, i < 2 ? vcpu_main : devices_main,
						&t[i]), 0);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	atomic_store(&stop, true);
	pthread_join(th[2], NULL);
	/* IPIs to a vector already pending coalesce, but some arrived, and the
	 * devices' interrupts got through too. */
	for (unsigned i = 0; i < 2; i++) {
		assert_true(t[i].got_ipi > 0);
		assert_true(t[i].got_ipi <= t[i ^ 1].sent);
	}
	assert_true(t[0].got_other + t[1].got_other > 0);
	log_set_level(LOG_INFO);
}

static int setup(void **state)
{
	struct fim *f = fim_create(2);
	fim_add_pc(f, true);
	*state = f;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threads, setup, fim_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
