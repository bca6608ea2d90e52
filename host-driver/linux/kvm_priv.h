/*
 * kvm: private state shared by the KVM engine's files (kvm.c, kvm_irq.c).
 * Nothing outside host-driver/linux includes this or <linux/kvm.h>.
 */
#ifndef LODGE_KVM_PRIV_H
#define LODGE_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>

struct machine;

struct kvm_vm {
	int sys_fd;                     /* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;
	unsigned next_slot;
	struct kvm_cpuid2 *cpuid;       /* host-supported leaves */
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	_Atomic bool thread_known;
};

int kvm_irq_setup(struct machine *m);
void kvm_irq_line(struct machine *m, unsigned gsi, int level);
void kvm_msi(struct machine *m, uint64_t addr, uint32_t data);

#endif
