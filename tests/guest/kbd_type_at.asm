; kbd_type_at: a 64 KiB firmware image that reads the keyboard the way a
; BIOS or boot loader polls it (i8042 status bit 0, then port 0x60) and
; echoes every byte as hex on COM1. It prints "kbd: READY" first, so
; `lodge run --type-at 'READY:...'` can type into it; the break code of
; Enter (0x9c in set 1, translated by the controller) ends the run through
; the debug-exit port with status (0x10 << 1) | 1 = 33.
;
; Real mode, no interrupts, no RAM needed: it runs in milliseconds on KVM
; and on the software CPU alike.
bits 16
org 0

COM1 equ 0x3f8

start:
	cli
	mov ax, 0xf000
	mov ds, ax
	mov si, ready
.banner:
	lodsb
	test al, al
	jz .poll
	mov dx, COM1
	out dx, al
	jmp .banner
.poll:
	in al, 0x64
	test al, 1                      ; output buffer full?
	jz .poll
	in al, 0x60
	mov bl, al
	shr al, 4
	call hex_digit
	mov al, bl
	and al, 0x0f
	call hex_digit
	mov al, ' '
	mov dx, COM1
	out dx, al
	cmp bl, 0x9c                    ; Enter released
	jne .poll
	mov al, 0x10
	out 0xf4, al
.halt:
	hlt
	jmp .halt

hex_digit:
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'A' - '9' - 1
.out:
	mov dx, COM1
	out dx, al
	ret

ready:	db "kbd: READY", 13, 10, 0

	times 0xfff0 - ($ - $$) db 0
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0
