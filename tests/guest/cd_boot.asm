; cd_boot: a 2 KiB El Torito no-emulation boot image (the test puts it on
; an ISO with xorriso). SeaBIOS finds the boot catalog and loads all four
; 512-byte sectors of it over Lodge's ATAPI path (PACKET, READ(10) in
; 2048-byte DRQ blocks), then this code reports on COM1:
;
;   "cd-boot: loaded dl=E0"      loaded whole (the marker at its end is
;                                there), from the first CD drive
;   INT 13h AH=42h on DL         read ISO sector 16, the primary volume
;                                descriptor: "\x01CD001"
;   "cd-boot: ok"                then debug-exit with (0x22 << 1) | 1 = 69
;
; Any failure prints "cd-boot: FAIL <step>" and exits with 0x31 -> 99.
bits 16
org 0x7c00


start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	cld
	mov [drive], dl
	mov si, msg_loaded
	call puts
	mov al, [drive]
	call put_hex
	call newline
	mov si, f_marker
	cmp dword [marker], 'END!'
	jne fail

	mov si, dap                     ; ISO sector 16 to 1000:0000
	mov ah, 0x42
	mov dl, [drive]
	int 0x13
	mov si, f_read
	jc fail
	mov ax, 0x1000
	mov es, ax
	mov si, f_pvd
	cmp byte [es:0], 1
	jne fail
	cmp dword [es:1], 'CD00'
	jne fail
	cmp byte [es:5], '1'
	jne fail

	mov si, msg_ok
	call puts
	mov al, 0x22
	out 0xf4, al
	jmp halt

%include "guest.inc"

align 4
dap:
	db 16, 0
	dw 1                            ; one 2048-byte CD sector
	dw 0, 0x1000
	dq 16

drive:		db 0
msg_loaded:	db "cd-boot: loaded dl=", 0
msg_ok:		db "cd-boot: ok", 13, 10, 0
msg_fail:	db "cd-boot: FAIL ", 0
f_marker:	db "marker", 0
f_read:		db "read", 0
f_pvd:		db "pvd", 0

	times 2048 - 4 - ($ - $$) db 0
marker:	db "END!"
