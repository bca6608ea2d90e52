/*
 * cpuid: what the guest's CPUID instruction reports.
 *
 * For KVM the host's supported set (KVM_GET_SUPPORTED_CPUID) is filtered down
 * to features the VMM can stand behind: nothing that needs a device or MSR we
 * do not emulate (MONITOR/MWAIT, VMX, performance counters, thermal and power
 * management), the hypervisor bit set, per-vCPU APIC IDs filled in.
 * The software CPU builds its own table of exactly what it implements.
 *
 * Intel SDM Vol. 2A, CPUID; AMD APM Vol. 3, E.3.
 */
#ifndef LODGE_CPUID_H
#define LODGE_CPUID_H

#include <stdint.h>

#define CPUID_FLAG_INDEXED 0x1u         /* the leaf depends on ECX */

struct cpuid_leaf {
	uint32_t function, index, flags;
	uint32_t eax, ebx, ecx, edx;
};

/* Leaf 1 bits used by several places. */
#define CPUID_1_ECX_SSE3       (1u << 0)
#define CPUID_1_ECX_MONITOR    (1u << 3)
#define CPUID_1_ECX_DSCPL      (1u << 4)
#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_1_ECX_SMX        (1u << 6)
#define CPUID_1_ECX_EST        (1u << 7)
#define CPUID_1_ECX_TM2        (1u << 8)
#define CPUID_1_ECX_SDBG       (1u << 11)
#define CPUID_1_ECX_XTPR       (1u << 14)
#define CPUID_1_ECX_PDCM       (1u << 15)
#define CPUID_1_ECX_DCA        (1u << 18)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_DS         (1u << 21)
#define CPUID_1_EDX_ACPI       (1u << 22)
#define CPUID_1_EDX_HTT        (1u << 28)
#define CPUID_1_EDX_TM         (1u << 29)
#define CPUID_1_EDX_PBE        (1u << 31)

/*
 * Filter a host-supported table in place for vCPU `index` of `ncpus`.
 * Returns the new number of leaves.
 */
unsigned cpuid_filter_host(struct cpuid_leaf *leaves, unsigned n, unsigned index,
			   unsigned ncpus);

#endif
