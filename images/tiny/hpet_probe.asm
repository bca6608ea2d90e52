; hpet_probe: a 64 KiB firmware image that checks the HPET (IA-PC HPET 1.0a)
; from inside a guest, by polling, and reports on COM1:
;
;   1. the capabilities: vendor 8086, 3 timers, legacy route, 64-bit
;      counter, 10 ns period;
;   2. the main counter runs while enabled and stops while halted;
;   3. timer 1 in the legacy replacement route, one-shot 20 ms ahead, raises
;      IRQ8: the slave 8259's IRR bit 0 is clear before the comparator and set
;      after it (the 8259 is the engine's: KVM's in-kernel one, or ours);
;   4. timer 2, level-triggered with its interrupt disabled, sets its bit in
;      the general interrupt status register at the match, and a write of 1
;      clears it.
;
; Prints "hpet: ok" and exits through the debug-exit port with status
; (0x10 << 1) | 1 = 33, or "hpet: FAIL n" (n = the step) with status 35.
; Interrupts stay off (flat protected mode without paging, which the
; non-hardware KVM on the CI hosts runs, but cannot deliver interrupts in).
BASE equ 0x000F0000                     ; the image's low copy (RAM shadow)
HPET equ 0xFED00000
%define LIN(x) (BASE + (x))

bits 16
org 0
start16:
	cli
	o32 lgdt [cs:gdtr]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword 0x08:LIN(pm)

align 8
gdt:	dq 0
	dq 0x00CF9A000000FFFF           ; flat code
	dq 0x00CF92000000FFFF           ; flat data
gdtr:	dw 3*8-1
	dd LIN(gdt)

bits 32
pm:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x90000
	mov esi, LIN(banner)
	call puts

	mov bl, '1'                     ; 1: capabilities
	cmp dword [HPET], 0x8086A201
	jne fail
	cmp dword [HPET+4], 10000000
	jne fail

	mov bl, '2'                     ; 2: the counter runs only while enabled
	mov dword [HPET+0x10], 1
	mov eax, [HPET+0xF0]
	call delay
	cmp [HPET+0xF0], eax
	jbe fail
	mov dword [HPET+0x10], 0
	mov eax, [HPET+0xF0]
	call delay
	cmp [HPET+0xF0], eax
	jne fail

	mov bl, '3'                     ; 3: timer 1, legacy route, IRQ8
	mov al, 0x11                    ; 8259s: edge, cascade, 8086 mode
	out 0x20, al
	out 0xA0, al
	mov al, 0x20
	out 0x21, al
	mov al, 0x28
	out 0xA1, al
	mov al, 4
	out 0x21, al
	mov al, 2
	out 0xA1, al
	mov al, 1
	out 0x21, al
	out 0xA1, al
	mov al, 0xff                    ; all masked: IRR still latches
	out 0x21, al
	out 0xA1, al
	mov dword [HPET+0x10], 3        ; enable, legacy replacement route
	mov dword [HPET+0x120], 4       ; timer 1: edge, interrupt enabled
	mov dword [HPET+0x12C], 0
	mov edi, [HPET+0xF0]
	add edi, 2000000                ; 20 ms ahead: the write must land before it
	mov [HPET+0x128], edi
	call slave_irr
	test al, 1
	jnz fail
	; Give up 2 s after the comparator: a loaded host may run the timer
	; thread late, and only a missing interrupt should fail the test.
	lea ebp, [edi + 200000000]
.wait3:	call slave_irr
	test al, 1
	jnz .fired3
	cmp [HPET+0xF0], ebp
	jb .wait3
	jmp fail
.fired3:
	cmp [HPET+0xF0], edi            ; not before the comparator
	jb fail

	mov bl, '4'                     ; 4: level status without an interrupt
	mov dword [HPET+0x20], 4        ; clear a stale status bit
	mov dword [HPET+0x140], 0x2A02  ; timer 2: level, route 21, disabled
	mov dword [HPET+0x14C], 0
	mov edi, [HPET+0xF0]
	add edi, 2000000                ; 20 ms: exits are slow on some hosts
	mov [HPET+0x148], edi
	lea ebp, [edi + 200000000]      ; 2 s, as above
.wait4:	mov eax, [HPET+0x20]
	test eax, 4
	jnz .fired4
	cmp [HPET+0xF0], ebp
	jb .wait4
	jmp fail
.fired4:
	mov dword [HPET+0x20], 4
	test dword [HPET+0x20], 4
	jnz fail

	mov esi, LIN(ok_msg)
	call puts
	mov al, 0x10
	out 0xf4, al
.halt:	hlt
	jmp .halt

fail:
	mov esi, LIN(fail_msg)
	call puts
	mov al, bl
	call putc
	mov al, 10
	call putc
	mov al, 0x11
	out 0xf4, al
	jmp pm.halt

; The slave 8259's IRR (OCW3 "read IRR") in AL.
slave_irr:
	mov al, 0x0a
	out 0xA0, al
	in al, 0xA0
	ret

delay:
	mov ecx, 20000
.l:	loop .l
	ret

%include "lib/serial.inc"

banner:		db "hpet: probing", 10, 0
ok_msg:		db "hpet: ok", 10, 0
fail_msg:	db "hpet: FAIL ", 0

	times 0xFFF0 - ($-$$) db 0
bits 16
	jmp start16
	times 0x10000 - ($-$$) db 0
