/*
 * kvm: the hardware execution engine on Linux, through /dev/kvm.
 *
 * One VM fd with the in-kernel 8259s, I/O APIC, local APICs and 8254 PIT
 * (so has_irqchip is set and the board does not create our own models), RAM
 * and ROM as user memory slots, one vCPU fd plus its mmap'd kvm_run page per
 * vCPU. Application processors start in the wait-for-SIPI state and are woken
 * by the guest's INIT/SIPI through the in-kernel LAPIC.
 *
 * References: Documentation/virt/kvm/api.rst; Intel SDM Vol. 3A 9.1.1
 * (processor state after reset), 10.4.7.1 (local APIC state after reset).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/accel.h"
#include "cpu/cpuid.h"
#include "cpu/vcpu.h"
#include "guestmem.h"
#include "kvm_priv.h"
#include "log.h"
#include "machine.h"

/* KVM needs three pages below 4 GiB for its real-mode TSS and an identity
 * map on hosts without unrestricted guest. The board reserves
 * [0xfeffc000, 0xff000000) in e820 on every engine, so guests see one map. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR 0xfeffd000ULL

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APICBASE 0x1b
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_CR_PAT 0x277
#define MISC_ENABLE_FAST_STRING 1
#define APICBASE_BSP (1ULL << 8)
#define APICBASE_ENABLE (1ULL << 11)
#define APIC_DEFAULT_BASE 0xfee00000ULL

static int kvm_kick_signal(void)
{
	return SIGRTMIN + 1;
}

static void kvm_kick_handler(int sig)
{
	/* Nothing to do: the signal exists to interrupt KVM_RUN. */
}

static int kvm_probe(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES)
			snprintf(why, len, "cannot open /dev/kvm: permission denied "
				 "(add your user to the 'kvm' group)");
		else
			snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	int ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
	static const int caps[] = { KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_SET_TSS_ADDR,
				    KVM_CAP_PIT2, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_IRQ_ROUTING,
				    KVM_CAP_EXT_CPUID };
	const char *missing = NULL;
	for (size_t i = 0; ok && i < sizeof(caps) / sizeof(caps[0]); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i]) <= 0) {
			ok = 0;
			missing = "a required capability";
		}
	close(fd);
	if (!ok) {
		snprintf(why, len, "this host's KVM is too old (%s is missing)",
			 missing ? missing : "API version 12");
		return -1;
	}
	return 0;
}

static int kvm_vm_create(struct machine *m)
{
	struct kvm_vm *kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	m->accel_state = kvm;
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0)
		goto fail_errno;
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0)
		goto fail_errno;
	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0)
		goto fail_errno;
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0 ||
	    ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		goto fail_errno;
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail_errno;
	/* The dummy speaker lets the in-kernel PIT own port 0x61 (gate, OUT2). */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail_errno;
	if (kvm_irq_setup(m))
		return -EIO;

	int nent = 256;
	for (;;) {
		kvm->cpuid = calloc(1, sizeof(*kvm->cpuid) + nent * sizeof(kvm->cpuid->entries[0]));
		if (!kvm->cpuid)
			return -ENOMEM;
		kvm->cpuid->nent = nent;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, kvm->cpuid) == 0)
			break;
		free(kvm->cpuid);
		kvm->cpuid = NULL;
		if (errno != E2BIG || nent > 4096)
			goto fail_errno;
		nent *= 2;
	}

	struct sigaction sa = { .sa_handler = kvm_kick_handler };
	sigemptyset(&sa.sa_mask);
	sigaction(kvm_kick_signal(), &sa, NULL);
	return 0;

fail_errno:
	log_err("kvm", "cannot create the VM: %s", strerror(errno));
	return -errno;
}

static void kvm_vm_destroy(struct machine *m)
{
	struct kvm_vm *kvm = m->accel_state;
	if (!kvm)
		return;
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	free(kvm);
	m->accel_state = NULL;
}

static int kvm_mem_map(struct machine *m, const struct guestmem_region *r)
{
	struct kvm_vm *kvm = m->accel_state;
	struct kvm_userspace_memory_region mr = {
		.slot = kvm->next_slot,
		.flags = r->kind == GUESTMEM_ROM ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uintptr_t)r->host,
	};
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
		log_err("kvm", "cannot map %s at %#llx: %s", r->name,
			(unsigned long long)r->gpa, strerror(errno));
		return -errno;
	}
	kvm->next_slot++;
	return 0;
}

static int kvm_set_cpuid(struct vcpu *v)
{
	struct kvm_vm *kvm = v->m->accel_state;
	struct kvm_vcpu *kv = v->accel;
	unsigned n = kvm->cpuid->nent;
	struct cpuid_leaf *leaves = calloc(n, sizeof(*leaves));
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	int rc = -ENOMEM;
	if (!leaves || !c)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		const struct kvm_cpuid_entry2 *e = &kvm->cpuid->entries[i];
		leaves[i] = (struct cpuid_leaf){ e->function, e->index,
			(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? CPUID_FLAG_INDEXED : 0,
			e->eax, e->ebx, e->ecx, e->edx };
	}
	n = cpuid_filter_host(leaves, n, v->index, v->m->ncpus);
	for (unsigned i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		e->function = leaves[i].function;
		e->index = leaves[i].index;
		e->flags = (leaves[i].flags & CPUID_FLAG_INDEXED) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		e->eax = leaves[i].eax;
		e->ebx = leaves[i].ebx;
		e->ecx = leaves[i].ecx;
		e->edx = leaves[i].edx;
	}
	c->nent = n;
	rc = ioctl(kv->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	if (rc)
		log_err("kvm", "cannot set CPUID for vCPU %u: %s", v->index, strerror(-rc));
out:
	free(leaves);
	free(c);
	return rc;
}

static int kvm_vcpu_create(struct vcpu *v)
{
	struct kvm_vm *kvm = v->m->accel_state;
	struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	v->accel = kv;
	kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
	if (kv->fd < 0) {
		log_err("kvm", "cannot create vCPU %u: %s", v->index, strerror(errno));
		return -errno;
	}
	kv->run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		kv->run = NULL;
		return -errno;
	}
	return kvm_set_cpuid(v);
}

static void kvm_vcpu_destroy(struct vcpu *v)
{
	struct kvm_vm *kvm = v->m->accel_state;
	struct kvm_vcpu *kv = v->accel;
	if (kv->run)
		munmap(kv->run, kvm->vcpu_mmap_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
	v->accel = NULL;
}

static int kvm_set_msrs(struct kvm_vcpu *kv, const uint32_t *idx, const uint64_t *val, unsigned n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[8];
	} msrs;
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = n;
	for (unsigned i = 0; i < n; i++) {
		msrs.e[i].index = idx[i];
		msrs.e[i].data = val[i];
	}
	int rc = ioctl(kv->fd, KVM_SET_MSRS, &msrs);
	return rc == (int)n ? 0 : -EINVAL;
}

static void kvm_seg_reset(struct kvm_segment *s, uint16_t sel, uint64_t base, uint8_t type, uint8_t sys)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = sys;
}

/* The local APIC as it is after RESET (SDM 10.4.7.1), with QEMU's and the
 * BIOS's convention that the BSP's LINT0 is ExtINT so 8259 interrupts reach
 * it in virtual-wire mode. */
static int kvm_lapic_reset(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_lapic_state st;
	if (ioctl(kv->fd, KVM_GET_LAPIC, &st) < 0)
		return -errno;
	uint32_t version;
	memcpy(&version, st.regs + 0x30, 4);
	memset(st.regs, 0, sizeof(st.regs));
	uint32_t id = v->index << 24, dfr = 0xffffffff, svr = 0xff, masked = 1u << 16;
	memcpy(st.regs + 0x20, &id, 4);
	memcpy(st.regs + 0x30, &version, 4);
	memcpy(st.regs + 0xe0, &dfr, 4);
	memcpy(st.regs + 0xf0, &svr, 4);
	for (unsigned off = 0x320; off <= 0x370; off += 0x10)
		memcpy(st.regs + off, &masked, 4);
	if (v->index == 0) {
		uint32_t extint = 0x700;
		memcpy(st.regs + 0x350, &extint, 4);
	}
	if (ioctl(kv->fd, KVM_SET_LAPIC, &st) < 0)
		return -errno;
	return 0;
}

static int kvm_vcpu_reset(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_fpu fpu;

	if (ioctl(kv->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	kvm_seg_reset(&s.cs, 0xf000, 0xffff0000, 0xb, 1);
	kvm_seg_reset(&s.ds, 0, 0, 3, 1);
	s.es = s.fs = s.gs = s.ss = s.ds;
	kvm_seg_reset(&s.tr, 0, 0, 0xb, 0);
	kvm_seg_reset(&s.ldt, 0, 0, 2, 0);
	s.gdt.base = s.idt.base = 0;
	s.gdt.limit = s.idt.limit = 0xffff;
	s.cr0 = 0x60000010;
	s.cr2 = s.cr3 = s.cr4 = s.cr8 = 0;
	s.efer = 0;
	s.apic_base = APIC_DEFAULT_BASE | APICBASE_ENABLE | (v->index == 0 ? APICBASE_BSP : 0);
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	if (ioctl(kv->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	memset(&r, 0, sizeof(r));
	r.rip = 0xfff0;
	r.rflags = 0x2;
	r.rdx = 0x600;  /* processor signature family 6 (SDM 9.1.4) */
	if (ioctl(kv->fd, KVM_SET_REGS, &r) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(kv->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;

	static const uint32_t idx[] = { MSR_IA32_TSC, MSR_IA32_MISC_ENABLE, MSR_IA32_CR_PAT };
	static const uint64_t val[] = { 0, MISC_ENABLE_FAST_STRING, 0x0007040600070406ULL };
	if (kvm_set_msrs(kv, idx, val, 3))
		log_warn("kvm", "vCPU %u: some MSRs could not be reset", v->index);

	int rc = kvm_lapic_reset(v);
	if (rc)
		return rc;
	struct kvm_mp_state mp = {
		.mp_state = v->index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
	};
	if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

static int kvm_vcpu_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_run *run = kv->run;

	if (!atomic_load(&kv->thread_known)) {
		kv->thread = pthread_self();
		atomic_store(&kv->thread_known, true);
	}
	if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			run->immediate_exit = 0;
			e->reason = VCPU_EXIT_NONE;
			return 0;
		}
		log_err("kvm", "KVM_RUN failed on vCPU %u: %s", v->index, strerror(errno));
		e->reason = VCPU_EXIT_ERROR;
		return 0;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = VCPU_EXIT_IO;
		e->io.port = run->io.port;
		e->io.size = run->io.size;
		e->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		e->reason = VCPU_EXIT_MMIO;
		e->mmio.addr = run->mmio.phys_addr;
		e->mmio.size = run->mmio.len;
		e->mmio.write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		e->reason = VCPU_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		e->reason = VCPU_EXIT_NONE;
		break;
	case KVM_EXIT_SHUTDOWN:
		e->reason = VCPU_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			e->reason = VCPU_EXIT_RESET;
		} else {
			log_err("kvm", "vCPU %u: system event %u", v->index, run->system_event.type);
			e->reason = VCPU_EXIT_ERROR;
		}
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("kvm", "vCPU %u: the CPU refused to enter the guest (reason %#llx)",
			v->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		e->reason = VCPU_EXIT_ERROR;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_err("kvm", "vCPU %u: KVM internal error (suberror %u): the guest did "
			"something KVM cannot emulate", v->index, run->internal.suberror);
		e->reason = VCPU_EXIT_ERROR;
		break;
	default:
		log_err("kvm", "vCPU %u: unexpected exit reason %u", v->index, run->exit_reason);
		e->reason = VCPU_EXIT_ERROR;
		break;
	}
	return 0;
}

/* Any thread: immediate_exit covers a kick that lands before KVM_RUN starts;
 * the signal covers one that lands while the guest runs. */
static void kvm_vcpu_kick(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->accel;
	if (!kv || !kv->run)
		return;
	kv->run->immediate_exit = 1;
	if (atomic_load(&kv->thread_known))
		pthread_kill(kv->thread, kvm_kick_signal());
}

static void seg_to_kvm(struct kvm_segment *k, const struct vcpu_segment *s)
{
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
	k->avl = s->avl;
	k->unusable = s->unusable;
}

static void seg_from_kvm(struct vcpu_segment *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->type = k->type;
	s->present = k->present;
	s->dpl = k->dpl;
	s->db = k->db;
	s->s = k->s;
	s->l = k->l;
	s->g = k->g;
	s->avl = k->avl;
	s->unusable = k->unusable;
}

static int kvm_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_regs k;
	if (ioctl(kv->fd, KVM_GET_REGS, &k) < 0)
		return -errno;
	*r = (struct vcpu_regs){ k.rax, k.rbx, k.rcx, k.rdx, k.rsi, k.rdi, k.rsp, k.rbp,
				 k.r8, k.r9, k.r10, k.r11, k.r12, k.r13, k.r14, k.r15,
				 k.rip, k.rflags };
	return 0;
}

static int kvm_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_regs k = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rsp, r->rbp,
			      r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
			      r->rip, r->rflags };
	return ioctl(kv->fd, KVM_SET_REGS, &k) < 0 ? -errno : 0;
}

static int kvm_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_sregs k;
	if (ioctl(kv->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct vcpu_dtable){ k.gdt.base, k.gdt.limit };
	s->idt = (struct vcpu_dtable){ k.idt.base, k.idt.limit };
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

static int kvm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	struct kvm_vcpu *kv = v->accel;
	struct kvm_sregs k;
	/* Start from the current state so pending-interrupt bits stay intact. */
	if (ioctl(kv->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	if (s->apic_base)
		k.apic_base = s->apic_base;
	return ioctl(kv->fd, KVM_SET_SREGS, &k) < 0 ? -errno : 0;
}

static int kvm_set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	return kvm_set_msrs(v->accel, &index, &value, 1);
}

const struct accel_ops accel_kvm = {
	.name = "kvm",
	.has_irqchip = true,
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.mem_map = kvm_mem_map,
	.irq_line = kvm_irq_line,
	.msi = kvm_msi,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_reset = kvm_vcpu_reset,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.set_msr = kvm_set_msr,
};
