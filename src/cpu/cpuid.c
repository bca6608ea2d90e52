/*
 * cpuid: filtering the host's CPUID for KVM guests (see cpuid.h).
 */
#include "cpu/cpuid.h"

#include <string.h>

/* KVM paravirtual features handled entirely in the kernel (Documentation/virt/kvm/x86/cpuid.rst). */
#define KVM_PV_CLOCKSOURCE        (1u << 0)
#define KVM_PV_NOP_IO_DELAY       (1u << 1)
#define KVM_PV_CLOCKSOURCE2       (1u << 3)
#define KVM_PV_EOI                (1u << 6)
#define KVM_PV_CLOCKSOURCE_STABLE (1u << 24)

unsigned cpuid_filter_host(struct cpuid_leaf *leaves, unsigned n, unsigned index,
			   unsigned ncpus)
{
	unsigned out = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cpuid_leaf l = leaves[i];
		switch (l.function) {
		case 1:
			l.ebx = (l.ebx & 0x0000ffff) | (index << 24) |
				((ncpus > 1 ? ncpus : 1) << 16);
			l.ecx &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_DSCPL | CPUID_1_ECX_VMX |
				   CPUID_1_ECX_SMX | CPUID_1_ECX_EST | CPUID_1_ECX_TM2 |
				   CPUID_1_ECX_SDBG | CPUID_1_ECX_XTPR | CPUID_1_ECX_PDCM |
				   CPUID_1_ECX_DCA);
			l.ecx |= CPUID_1_ECX_HYPERVISOR;
			l.edx &= ~(CPUID_1_EDX_DS | CPUID_1_EDX_ACPI | CPUID_1_EDX_TM |
				   CPUID_1_EDX_PBE);
			if (ncpus > 1)
				l.edx |= CPUID_1_EDX_HTT;
			else
				l.edx &= ~CPUID_1_EDX_HTT;
			break;
		case 5:         /* MONITOR/MWAIT parameters: not offered */
		case 6:         /* thermal and power management */
		case 0xa:       /* architectural performance monitoring */
			l.eax = l.ebx = l.ecx = l.edx = 0;
			break;
		case 0xb:       /* x2APIC topology: one thread per core */
		case 0x1f:
			l.edx = index;
			if (l.index == 0) {
				l.eax = 0;
				l.ebx = 1;
				l.ecx = (l.ecx & ~0xffu) | 0 | (1u << 8);
			} else if (l.index == 1) {
				l.eax = 0;
				l.ebx = ncpus;
				l.ecx = (l.ecx & ~0xffffu) | 1 | (2u << 8);
			} else {
				l.eax = l.ebx = 0;
				l.ecx = l.index;
			}
			break;
		case 0x40000001:
			l.eax &= KVM_PV_CLOCKSOURCE | KVM_PV_NOP_IO_DELAY | KVM_PV_CLOCKSOURCE2 |
				 KVM_PV_EOI | KVM_PV_CLOCKSOURCE_STABLE;
			break;
		default:
			break;
		}
		leaves[out++] = l;
	}
	return out;
}
