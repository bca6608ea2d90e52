; smp: the BSP wakes every AP with INIT-SIPI-SIPI through its local APIC;
; the APs come up in real mode at the SIPI vector, enter protected mode and
; join the BSP in incrementing one counter with LOCK INC. The final count
; proves every CPU ran and that locked increments are atomic across vCPUs.
%include "guest.inc"

%define APIC 0xfee00000
%define ROUNDS 20000
%define SPLIT 0x50ffe

main32:
	mov eax, 1
	cpuid
	shr ebx, 16
	and ebx, 0xff
	mov [ncpus], ebx
	PRINT `cpus: `
	mov eax, ebx
	call hex32
	mov al, 10
	call putc
	mov dword [SPLIT], 0
	; software-enable the APIC, then INIT and two SIPIs to all but self
	mov dword [APIC + 0xf0], 0x1ff
	mov dword [APIC + 0x310], 0
	mov dword [APIC + 0x300], 0x000c4500
	call delay
	mov dword [APIC + 0x300], 0x000c4600 | 0xf2
	call delay
	mov dword [APIC + 0x300], 0x000c4600 | 0xf2
	call count
	; wait for the APs
	mov ecx, [ncpus]
	dec ecx
.wait:	pause
	cmp [done], ecx
	jb .wait
	PRINT `aps started: `
	mov eax, [started]
	call hex32
	PRINT `\ncounter: `
	mov eax, [counter]
	call hex32
	mov al, 10
	call putc
	PRINT `split counter: `
	mov eax, [SPLIT]
	call hex32
	mov al, 10
	call putc
	mov eax, [ncpus]
	imul eax, eax, ROUNDS
	cmp eax, [counter]
	jne .bad
	cmp eax, [SPLIT]
	jne .bad
	EXIT 0
.bad:	PRINT `FAIL: lost increments\n`
	EXIT 1

; Both an aligned counter and one that straddles a page boundary (the
; software CPU takes its split-lock path for that one).

count:
	mov ecx, ROUNDS
.l:	lock inc dword [counter]
	lock add dword [SPLIT], 1
	dec ecx
	jnz .l
	ret

delay:
	mov ecx, 1000
.l:	pause
	loop .l
	ret

ap32:
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, [APIC + 0x20]
	shr eax, 24
	shl eax, 12
	mov esp, STACK_TOP - 0x8000
	sub esp, eax
	lock inc dword [started]
	call count
	lock inc dword [done]
.halt:	cli
	hlt
	jmp .halt

align 4
ncpus: dd 0
counter: dd 0
started: dd 0
done: dd 0

; The AP trampoline at 0xF2000: SIPI vector 0xF2 starts an AP in real
; mode at F200:0000.
	times 0x2000 - ($ - rom_start) db 0xf4
ap_entry:
	bits 16
	cli
	mov ax, 0xf000
	mov ds, ax
	lgdt [R(gdt_ptr)]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword SEL_CODE32:ap32
	bits 32

%include "tail.inc"
