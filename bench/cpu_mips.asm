; cpu_mips: a CPU-bound integer workload for the software CPU benchmark.
; 64-bit long mode; a loop of 12 instructions (multiply, add, shift, mask,
; a read-modify-write to a 8 KiB table, a data-dependent branch) runs
; ITERS times, then the guest exits through the debug-exit port. The loop
; retires exactly 12 * ITERS instructions (11 on iterations that skip the
; INC): the benchmark counts them from the result printed on COM1.
%include "guest.inc"

%ifndef ITERS
%define ITERS 50000000
%endif
%define PML4 0x15000
%define TABLE 0x40000

main32:
	mov edi, PML4
	mov ecx, 0x3000 / 4
	xor eax, eax
	rep stosd
	mov dword [PML4], (PML4 + 0x1000) | 3
	mov dword [PML4 + 0x1000], (PML4 + 0x2000) | 3
	mov dword [PML4 + 0x2000], 0x83
	mov eax, PML4
	mov cr3, eax
	mov eax, cr4
	or eax, 0x20
	mov cr4, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, 0x100
	wrmsr
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	jmp SEL_CODE64:bench64

	bits 64
bench64:
	mov rcx, ITERS
	mov rax, 12345
	xor rsi, rsi
	xor rdi, rdi
	mov r8, 6364136223846793005
	mov r9, 1442695040888963407
.loop:
	imul rax, r8
	add rax, r9
	mov rbx, rax
	shr rbx, 33
	and ebx, 1023
	add [TABLE + rbx * 8], rax
	xor rsi, rax
	test al, 1
	jz .skip
	inc rdi
.skip:
	dec rcx
	jnz .loop
	; print the number of taken INCs (to count instructions exactly)
	mov rax, rdi
	mov ecx, 16
.hex:	rol rax, 4
	mov edx, eax
	and edx, 15
	mov dl, [hexdigits + rdx]
	push rax
	mov al, dl
	mov dx, COM1
	out dx, al
	pop rax
	loop .hex
	mov al, 10
	mov dx, COM1
	out dx, al
	mov al, 0
	out 0xf4, al
	cli
	hlt
hexdigits: db "0123456789abcdef"
	bits 32

%include "tail.inc"
