; reset_cycle: a 4 KiB "BIOS" (lodge --bios --debug-exit) that resets the
; machine in each way a PC can and checks that every reset comes back through
; the reset vector with a fresh copy of the firmware in the shadow RAM below
; 1 MiB: boot 1 resets through the PIIX reset control register (0xcf9), boot
; 2 through System Control Port A (0x92), boot 3 through the keyboard
; controller (0xfe to port 0x64), boot 4 by a triple fault (an empty IDT in
; protected mode);
; boot 5 reports success through the debug-exit port: exit status 85.
;
; RAM keeps its contents across a reset, as on a PC, so the boot count lives
; at 0000:0500. The shadow copy of this image is writable RAM: each boot marks
; it, and the next boot must find it pristine again.

bits 16
org 0xf000

COUNT equ 0x500

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7000
	mov es, ax                      ; ES: low RAM
	mov ax, cs
	mov ds, ax                      ; DS: this image (its shadow copy)

	cmp byte [marker], 0
	jne stale
	mov byte [marker], 1            ; dirty the shadow: reset must undo it

	inc byte [es:COUNT]
	mov si, boot_msg
	call puts
	mov al, [es:COUNT]
	add al, '0'
	call putc
	mov si, crlf
	call puts

	mov al, [es:COUNT]
	cmp al, 1
	je via_cf9
	cmp al, 2
	je via_port92
	cmp al, 3
	je via_kbc
	cmp al, 4
	je via_triple_fault
	mov si, done_msg
	call puts
	mov al, 0x2a
	out 0xf4, al
	jmp halt

via_cf9:
	mov dx, 0xcf9
	mov al, 0x02
	out dx, al
	mov al, 0x06
	out dx, al
	jmp halt
via_port92:
	in al, 0x92
	or al, 1
	out 0x92, al
	jmp halt
via_kbc:
	mov al, 0xfe
	out 0x64, al
	jmp halt
via_triple_fault:
	; In real mode KVM does not check the IVT limit, so fault in 32-bit
	; protected mode, as SeaBIOS's own reboot does: #UD with an empty IDT
	; -> #GP -> #DF -> shutdown. (Not INT3: the kvm_pvm host this is tested
	; on reports an emulation failure for a software interrupt through an
	; empty IDT instead of a shutdown.)
	lgdt [gdt_desc]
	lidt [empty_idt]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(0xf0000 + pm32)
bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov ss, ax
	ud2
bits 16

stale:
	mov si, stale_msg
	call puts
	mov al, 0x01
	out 0xf4, al
halt:
	hlt
	jmp halt

%include "com1.inc"

empty_idt: dw 0
	dd 0
	align 8
gdt:       dq 0
	dq 0x00cf9a000000ffff           ; 0x08: flat 32-bit code
	dq 0x00cf92000000ffff           ; 0x10: flat data
gdt_desc:  dw 3 * 8 - 1
	dd 0xf0000 + gdt
marker:    db 0
boot_msg:  db "lodge-reset: boot ", 0
crlf:      db 13, 10, 0
done_msg:  db "lodge-reset: every reset returned to the reset vector", 13, 10, 0
stale_msg: db "lodge-reset: the firmware shadow was not refreshed by the reset", 13, 10, 0

	times 0xff0 - ($ - $$) db 0
	jmp 0xf000:start
	times 0x1000 - ($ - $$) db 0
