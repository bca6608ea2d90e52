/*
 * simd_native: see simd_native.h. The instruction is copied into a buffer
 * mapped twice from one memfd (writable here, executable there), followed by
 * RET; native_call loads every register from the frame, calls it, and saves
 * every register back. A fault is caught by a signal handler that copies
 * the state at the fault from the signal frame and jumps back. Before
 * returning, FNCLEX/FNINIT/LDMXCSR leave this thread's FPU clean, so an x87
 * exception the instruction left pending never surfaces later.
 */
#include "simd_native.h"

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

_Static_assert(offsetof(struct native_frame, gpr) == 1024, "asm offsets");
_Static_assert(offsetof(struct native_frame, rflags_in) == 1152, "asm offsets");
_Static_assert(offsetof(struct native_frame, code) == 1168, "asm offsets");
_Static_assert(offsetof(struct native_frame, mxcsr_default) == 1176, "asm offsets");

void native_call(struct native_frame *f);

__asm__(
	"	.text\n"
	"	.globl native_call\n"
	"	.type native_call, @function\n"
	"native_call:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	mov %rdi, %r15\n"
	"	fxrstor64 0(%r15)\n"
	"	mov 1024(%r15), %rax\n mov 1032(%r15), %rcx\n mov 1040(%r15), %rdx\n"
	"	mov 1048(%r15), %rbx\n mov 1064(%r15), %rbp\n mov 1072(%r15), %rsi\n"
	"	mov 1080(%r15), %rdi\n mov 1088(%r15), %r8\n mov 1096(%r15), %r9\n"
	"	mov 1104(%r15), %r10\n mov 1112(%r15), %r11\n mov 1120(%r15), %r12\n"
	"	mov 1128(%r15), %r13\n mov 1136(%r15), %r14\n"
	"	pushq 1152(%r15)\n popfq\n"
	"	call *1168(%r15)\n"
	"	pushfq\n popq 1160(%r15)\n"
	"	fxsave64 512(%r15)\n"
	"	mov %rax, 1024(%r15)\n mov %rcx, 1032(%r15)\n mov %rdx, 1040(%r15)\n"
	"	mov %rbx, 1048(%r15)\n mov %rbp, 1064(%r15)\n mov %rsi, 1072(%r15)\n"
	"	mov %rdi, 1080(%r15)\n mov %r8, 1088(%r15)\n mov %r9, 1096(%r15)\n"
	"	mov %r10, 1104(%r15)\n mov %r11, 1112(%r15)\n mov %r12, 1120(%r15)\n"
	"	mov %r13, 1128(%r15)\n mov %r14, 1136(%r15)\n"
	"	fnclex\n fninit\n ldmxcsr 1176(%r15)\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n"
	"	.size native_call, . - native_call\n");

static uint8_t *code_rw;
static const uint8_t *code_rx;
static sigjmp_buf native_jb;
static struct native_result *native_cur;

static void native_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct native_result *r = native_cur;
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	(void)si;
	if (!r || pc < (uint64_t)(uintptr_t)code_rx || pc >= (uint64_t)(uintptr_t)code_rx + 4096) {
		/* Not the instruction under test: a real bug, crash normally. */
		char msg[96];
		int n = snprintf(msg, sizeof(msg), "native_fault: signal %d at pc %#llx\n", sig,
				 (unsigned long long)pc);
		if (write(2, msg, (size_t)n) < 0)
			_exit(99);
		signal(sig, SIG_DFL);
		return;
	}
	r->signo = sig;
	r->trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
	memcpy(r->fx, uc->uc_mcontext.fpregs, 512);
	static const int map[16] = {
		REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
		REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	};
	for (int i = 0; i < 16; i++)
		r->gpr[i] = (uint64_t)uc->uc_mcontext.gregs[map[i]];
	r->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	siglongjmp(native_jb, 1);
}

bool native_init(void)
{
	int fd = memfd_create("simd-native", 0);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return false;
	code_rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	code_rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	return code_rw != MAP_FAILED && code_rx != MAP_FAILED;
}

bool native_arm(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = native_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGFPE, &sa, NULL) == 0 && sigaction(SIGSEGV, &sa, NULL) == 0 &&
	       sigaction(SIGILL, &sa, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0;
}

void native_run(const uint8_t *insn, unsigned len, struct native_frame *f,
		struct native_result *r)
{
	memcpy(code_rw, insn, len);
	code_rw[len] = 0xc3;
	f->code = code_rx;
	f->mxcsr_default = 0x1f80;
	memset(r, 0, sizeof(*r));
	native_cur = r;
	if (sigsetjmp(native_jb, 1) == 0) {
		native_call(f);
		r->outcome = NATIVE_OK;
		memcpy(r->fx, f->fx_out, 512);
		memcpy(r->gpr, f->gpr, sizeof(r->gpr));
		r->rflags = f->rflags_out;
		native_cur = NULL;
		return;
	}
	native_cur = NULL;
	__asm__ volatile("fnclex\n fninit\n ldmxcsr %0" : : "m"(f->mxcsr_default));
	switch (r->signo) {
	case SIGFPE:
		r->outcome = r->trapno == 16 ? NATIVE_MF : r->trapno == 19 ? NATIVE_XM : NATIVE_OTHER;
		break;
	case SIGSEGV:
		r->outcome = r->trapno == 13 ? NATIVE_GP : r->trapno == 14 ? NATIVE_PF : NATIVE_OTHER;
		break;
	case SIGILL:
		r->outcome = NATIVE_UD;
		break;
	default:
		r->outcome = NATIVE_OTHER;
		break;
	}
}
