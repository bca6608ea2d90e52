; isa_probe: a 64 KiB firmware image that looks at the ISA devices the way a
; BIOS or boot loader does, by polling, and reports on COM1:
;
;   1. "cmos:" and CMOS bytes 0x10-0x5f in hex (index written with bit 7
;      set, NMI masked, as firmware does), so a test can check the memory
;      size, equipment and CPU count the board put there;
;   2. "kbd: READY", then every byte read from the i8042 (status bit 0,
;      then port 0x60) in hex, so `lodge run --type-at 'READY:...'` can type
;      into it. The break code of Enter (0x9c in set 1, as the controller
;      translates it) ends the run through the debug-exit port with status
;      (0x10 << 1) | 1 = 33.
;
; Real mode, no interrupts, no RAM needed: milliseconds on KVM and on the
; software CPU alike.
bits 16
org 0

start:
	cli
	mov ax, 0xf000
	mov ds, ax
	mov si, cmos_banner
	call puts
	mov cl, 0x10
.cmos:
	mov al, cl
	or al, 0x80                     ; NMI stays masked
	out 0x70, al
	in al, 0x71
	call put_hex
	inc cl
	cmp cl, 0x60
	jne .cmos
	mov si, kbd_banner
	call puts
.poll:
	in al, 0x64
	test al, 1                      ; output buffer full?
	jz .poll
	in al, 0x60
	mov bl, al
	call put_hex
	cmp bl, 0x9c                    ; Enter released
	jne .poll
	mov al, 0x10
	out 0xf4, al
.halt:
	hlt
	jmp .halt

; AL as two hex digits and a space.
put_hex:
	push ax
	shr al, 4
	call put_digit
	pop ax
	and al, 0x0f
	call put_digit
	mov al, ' '
	jmp putc
put_digit:
	add al, '0'
	cmp al, '9'
	jbe putc
	add al, 'A' - '9' - 1
	jmp putc

%include "lib/serial.inc"

cmos_banner: db "cmos: ", 0
kbd_banner: db 13, 10, "kbd: READY", 13, 10, 0

	times 0xfff0 - ($ - $$) db 0
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0
