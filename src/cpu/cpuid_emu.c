/*
 * cpuid_emu: the CPUID table of the software CPU (Intel SDM Vol. 2A CPUID;
 * AMD APM Vol. 3 E.3 for the 0x8000000x leaves).
 *
 * It advertises exactly what this engine implements: the integer ISA with
 * CMOV, CX8, CX16, POPCNT, LZCNT (ABM), LAHF/SAHF in 64-bit mode, SYSCALL,
 * SYSENTER, RDTSCP, NX, long mode; paging with PSE, PSE-36, PAE, PGE, PAT,
 * MTRR; TSC (invariant, 1 GHz, leaves 0x15/0x16); the local APIC, x2APIC and
 * TSC-deadline timer when the machine has our LAPIC models; and whatever the
 * SIMD unit reports for x87/MMX/SSE..SSSE3 (simd_cpuid_features); and
 * IA32_ARCH_CAPABILITIES (leaf 7, msr.c). Nothing is
 * claimed that a guest could use and find missing (no MONITOR, XSAVE, AVX,
 * BMI, 1 GiB pages, PCID, SMEP/SMAP, performance counters or MCE).
 */
#include "cpu/cpu.h"
#include "cpu/simd.h"
#include "machine.h"

#define CPUID_MAX_BASIC 0x16
#define CPUID_MAX_EXT 0x80000008

/* Family 6, model 15, stepping 1 (a Core 2 class part: no model quirks
 * that need hardware we do not have). */
#define CPUID_SIGNATURE 0x000006f1

static const char cpuid_brand[48] = "Lodge software x86-64 CPU";

void cpuid_emu(struct cpu *c, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	unsigned ncpus = c->m->ncpus;
	bool apic = c->lapic != NULL;
	r[0] = r[1] = r[2] = r[3] = 0;
	if (leaf > CPUID_MAX_BASIC && leaf < 0x80000000)
		leaf = CPUID_MAX_BASIC;         /* Intel returns the highest basic leaf */
	if (leaf > CPUID_MAX_EXT)
		leaf = CPUID_MAX_BASIC;
	switch (leaf) {
	case 0:
		r[0] = CPUID_MAX_BASIC;
		memcpy(&r[1], "Genu", 4);
		memcpy(&r[3], "ineI", 4);
		memcpy(&r[2], "ntel", 4);
		break;
	case 1: {
		uint32_t ecx = (1u << 13) /* CX16 */ | (1u << 23) /* POPCNT */ |
			       (1u << 31) /* hypervisor: a virtual CPU */;
		uint32_t edx = (1u << 3) /* PSE */ | (1u << 4) /* TSC */ | (1u << 5) /* MSR */ |
			       (1u << 6) /* PAE */ | (1u << 8) /* CX8 */ | (1u << 11) /* SEP */ |
			       (1u << 12) /* MTRR */ | (1u << 13) /* PGE */ |
			       (1u << 15) /* CMOV */ | (1u << 16) /* PAT */ |
			       (1u << 17) /* PSE-36 */ | (1u << 19) /* CLFSH */;
		if (apic) {
			edx |= 1u << 9;                         /* APIC */
			ecx |= (1u << 21) | (1u << 24);         /* x2APIC, TSC-deadline */
		}
		if (ncpus > 1)
			edx |= 1u << 28;                        /* HTT: several logical CPUs */
		simd_cpuid_features(&ecx, &edx);
		r[0] = CPUID_SIGNATURE;
		r[1] = (8u << 8) /* CLFLUSH line 64 bytes */ | (ncpus << 16) | (c->index << 24);
		r[2] = ecx;
		r[3] = edx;
		break;
	}
	case 7:
		/* Structured features: none but IA32_ARCH_CAPABILITIES (msr.c),
		 * which says what this CPU is not susceptible to. */
		if (sub == 0)
			r[3] = 1u << 29;
		break;
	case 0xb:
		/* x2APIC topology: one thread per core, ncpus cores. */
		r[3] = c->index;
		if (sub == 0) {
			r[0] = 0;
			r[1] = 1;
			r[2] = 1u << 8;
		} else if (sub == 1) {
			r[0] = ncpus > 1 ? 32 - (unsigned)__builtin_clz(ncpus - 1) : 0;
			r[1] = ncpus;
			r[2] = 2u << 8 | 1;
		} else {
			r[2] = sub;
		}
		break;
	case 0x15:
		/* TSC = crystal * EBX / EAX: a 1 GHz crystal, ratio 1. */
		r[0] = 1;
		r[1] = 1;
		r[2] = (uint32_t)TSC_HZ;
		break;
	case 0x16:
		r[0] = r[1] = r[2] = (uint32_t)(TSC_HZ / 1000000);
		break;
	case 0x80000000:
		r[0] = CPUID_MAX_EXT;
		break;
	case 0x80000001:
		r[2] = (1u << 0) /* LAHF/SAHF in 64-bit mode */ | (1u << 5) /* ABM: LZCNT */;
		r[3] = (1u << 11) /* SYSCALL */ | (1u << 20) /* NX */ | (1u << 27) /* RDTSCP */ |
		       (1u << 29) /* LM */;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		memcpy(r, cpuid_brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000007:
		r[3] = 1u << 8;                 /* invariant TSC */
		break;
	case 0x80000008:
		r[0] = 40 | 48 << 8;            /* physical and linear address bits */
		break;
	default:
		break;                          /* leaves 2-0x14 we do not describe: zero */
	}
}
