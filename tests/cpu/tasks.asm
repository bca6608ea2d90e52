; tasks: hardware task switches (CALL to a TSS, IRET back through the link,
; JMP through a task gate) and virtual-8086 mode (entered by IRET with VM=1;
; I/O through the TSS bitmap; INT n with IOPL 0 faults to the monitor).
%include "guest.inc"

%define V86_SEG 0x2000          ; v86 code and stack segment (linear 0x20000)

main32:
	PRINT `tasks\n`
	; Task B: its own stack, starts at task_b with IF=0.
	mov edi, TSSB_BASE
	mov ecx, 0x68 / 4
	xor eax, eax
	rep stosd
	mov dword [TSSB_BASE + 0x1c], 0                 ; CR3 (paging off)
	mov dword [TSSB_BASE + 0x20], task_b            ; EIP
	mov dword [TSSB_BASE + 0x24], 0x2               ; EFLAGS
	mov dword [TSSB_BASE + 0x38], STACK_TOP - 0x3000 ; ESP
	mov dword [TSSB_BASE + 0x28], 0x11111111        ; EAX
	mov word [TSSB_BASE + 0x48], SEL_DATA32         ; ES
	mov word [TSSB_BASE + 0x4c], SEL_CODE32         ; CS
	mov word [TSSB_BASE + 0x50], SEL_DATA32         ; SS
	mov word [TSSB_BASE + 0x54], SEL_DATA32         ; DS
	mov word [TSSB_BASE + 0x58], SEL_DATA32         ; FS
	mov word [TSSB_BASE + 0x5c], SEL_DATA32         ; GS
	mov eax, 0x22222222
	call SEL_TSSB:0
	; back from task B through IRET: EAX is ours again, task B's saved
	mov ebx, eax
	mov eax, ebx
	call hex32
	PRINT ` eax after return\n`
	mov eax, [TSSB_BASE + 0x28]
	call hex32
	PRINT ` saved eax of task B\n`
	; the busy bit of task B was cleared by its IRET; ours is set
	mov al, [gdt + SEL_TSSB + 5]
	movzx eax, al
	call hex32
	PRINT ` task B type\n`
	str ax
	movzx eax, ax
	call hex32
	PRINT ` TR\n`
	; a JMP through the task gate resumes task B after its IRET
	jmp SEL_TGATE:0
after_jmp:
	PRINT `back by jmp\n`

	; --- virtual-8086 mode
	mov esi, v86_code
	mov edi, V86_SEG * 16
	mov ecx, v86_end - v86_code
	rep movsb
	mov eax, v86_gp
	mov ecx, 13
	mov edx, 0x8e00
	call set_gate
	push dword 0                    ; GS
	push dword 0                    ; FS
	push dword V86_SEG              ; DS
	push dword V86_SEG              ; ES
	push dword V86_SEG              ; SS
	push dword 0xfffe               ; SP
	push dword 0x20002              ; EFLAGS: VM, IOPL 0
	push dword V86_SEG              ; CS
	push dword 0                    ; IP
	iretd

; #GP from virtual-8086 mode: the frame has the v86 segment registers.
v86_gp:
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	PRINT `#GP from v86: err=`
	mov eax, [esp]
	call hex32
	PRINT ` cs:ip=`
	mov eax, [esp + 8]
	call hex32
	mov al, ':'
	call putc
	mov eax, [esp + 4]
	call hex32
	PRINT ` eflags=`
	mov eax, [esp + 12]
	call hex32
	PRINT ` ds=`
	mov eax, [esp + 28]
	call hex32
	mov al, 10
	call putc
	EXIT 0

task_b:
	mov ebx, eax
	PRINT `in task B, eax=`
	mov eax, ebx
	call hex32
	pushfd
	pop eax
	and eax, 0x4000
	PRINT ` NT=`
	call hex32
	PRINT ` link=`
	movzx eax, word [TSSB_BASE]
	call hex32
	mov al, 10
	call putc
	mov eax, 0x33333333
	iretd
	; resumed here by the JMP through the task gate
	PRINT `task B again\n`
	jmp SEL_TSS:0

	bits 16
v86_code:
	mov al, 'v'
	mov dx, COM1
	out dx, al                      ; allowed by the bitmap
	mov ax, cs
	mov ds, ax
	mov al, [0]                     ; reads our own first byte (B0)
	cmp al, 0xb0
	jne .bad
	mov al, '8'
	out dx, al
	mov al, '6'
	out dx, al
	mov al, 10
	out dx, al
	int 0x21                        ; IOPL 0: #GP(0) to the monitor
.bad:
	jmp $
v86_end:
	bits 32

%include "tail.inc"
