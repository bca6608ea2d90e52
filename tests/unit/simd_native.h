/*
 * simd_native: runs one instruction natively, in this test process, on a
 * given register/memory state, and reports the resulting state or the fault
 * it raised (#MF, #XM, #GP, #UD as SIGFPE/SIGSEGV/SIGILL).
 */
#ifndef LODGE_TEST_SIMD_NATIVE_H
#define LODGE_TEST_SIMD_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

/* Offsets are used by the assembly in simd_native.c. */
struct native_frame {
	_Alignas(64) uint8_t fx_in[512];        /*    0: FXRSTOR64 before */
	_Alignas(64) uint8_t fx_out[512];       /*  512: FXSAVE64 after */
	uint64_t gpr[16];                       /* 1024: RAX..R15 in and out (RSP, R15 unused) */
	uint64_t rflags_in;                     /* 1152 */
	uint64_t rflags_out;                    /* 1160 */
	const void *code;                       /* 1168 */
	uint32_t mxcsr_default;                 /* 1176 */
};

enum native_outcome { NATIVE_OK, NATIVE_MF, NATIVE_XM, NATIVE_GP, NATIVE_UD, NATIVE_PF, NATIVE_OTHER };

struct native_result {
	enum native_outcome outcome;
	int signo, trapno;
	uint8_t fx[512];                /* FXSAVE64 image after, or at the fault */
	uint64_t gpr[16];
	uint64_t rflags;
};

/* Maps the code buffer; false if impossible. */
bool native_init(void);
/*
 * Installs the fault handlers. cmocka installs its own for every test, so
 * each test that runs native code calls this first.
 */
bool native_arm(void);
void native_run(const uint8_t *insn, unsigned len, struct native_frame *f,
		struct native_result *r);

#endif
