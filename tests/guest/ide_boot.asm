; ide_boot: a 1 MiB raw disk image that SeaBIOS boots from the first IDE
; disk. Its boot sector drives the BIOS's disk services, which SeaBIOS runs
; over Lodge's ATA PIO path (READ/WRITE SECTORS, polled with nIEN), and
; reports on COM1:
;
;   "ide-boot: mbr dl=80"        the BIOS loaded us from drive 80h
;   INT 13h AH=41h               EDD extensions are there
;   INT 13h AH=42h               sectors 1-63 in one call; sector k holds
;                                the word k, then 510 bytes of k & 0xff
;   INT 13h AH=02h               sector 5 of cylinder 0, head 0 (CHS)
;   INT 13h AH=43h then AH=42h   write a pattern to LBA 100, read it back
;   "ide-boot: ok"               then debug-exit with (0x21 << 1) | 1 = 67
;
; Any failure prints "ide-boot: FAIL <step>" and exits with 0x31 -> 99.
; The test script then checks that the write reached the image file.
bits 16
org 0x7c00

DATA_SECTORS equ 63
WRITE_LBA equ 100

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	cld
	mov [drive], dl
	mov si, msg_mbr
	call puts
	mov al, [drive]
	call put_hex
	call newline

	mov ah, 0x41                    ; extensions?
	mov bx, 0x55aa
	mov dl, [drive]
	int 0x13
	mov si, f_ext
	jc fail
	cmp bx, 0xaa55
	jne fail

	mov si, dap                     ; sectors 1..63 to 1000:0000
	mov ah, 0x42
	mov dl, [drive]
	int 0x13
	mov si, f_read
	jc fail
	mov ax, 0x1000
	mov es, ax
	xor di, di
	mov cx, 1
.check:
	mov si, f_data
	cmp [es:di], cx
	jne fail
	cmp [es:di + 511], cl
	jne fail
	add di, 512
	inc cx
	cmp cx, DATA_SECTORS + 1
	jne .check

	mov ax, 0x2000                  ; CHS 0/0/5 = LBA 4, to 2000:0000
	mov es, ax
	xor bx, bx
	mov ax, 0x0201
	mov cx, 0x0005
	xor dh, dh
	mov dl, [drive]
	int 0x13
	mov si, f_chs
	jc fail
	cmp word [es:0], 4
	jne fail

	mov ax, 0x3000                  ; pattern at 3000:0000
	mov es, ax
	xor di, di
	mov cx, 512
.fill:
	mov ax, di
	xor al, 0x5a
	stosb
	loop .fill
	mov word [dap.count], 1
	mov word [dap.seg], 0x3000
	mov word [dap.lba], WRITE_LBA
	mov si, dap
	mov ax, 0x4300
	mov dl, [drive]
	int 0x13
	mov si, f_write
	jc fail
	mov word [dap.seg], 0x4000      ; read it back to 4000:0000
	mov si, dap
	mov ah, 0x42
	mov dl, [drive]
	int 0x13
	mov si, f_reread
	jc fail
	push ds
	mov ax, 0x3000
	mov ds, ax
	mov ax, 0x4000
	mov es, ax
	xor si, si
	xor di, di
	mov cx, 512
	repe cmpsb
	pop ds
	mov si, f_compare
	jne fail

	mov si, msg_ok
	call puts
	mov al, 0x21
	out 0xf4, al
	jmp halt

%include "guest.inc"

align 4
dap:
	db 16, 0
.count:	dw DATA_SECTORS
.off:	dw 0
.seg:	dw 0x1000
.lba:	dq 1

drive:		db 0
msg_mbr:	db "ide-boot: mbr dl=", 0
msg_ok:		db "ide-boot: ok", 13, 10, 0
msg_fail:	db "ide-boot: FAIL ", 0
f_ext:		db "ext", 0
f_read:		db "read", 0
f_data:		db "data", 0
f_chs:		db "chs", 0
f_write:	db "write", 0
f_reread:	db "reread", 0
f_compare:	db "compare", 0

	times 510 - ($ - $$) db 0
	dw 0xaa55

%assign k 1
%rep DATA_SECTORS
	dw k
	times 510 db (k & 0xff)
%assign k k + 1
%endrep

	times (1 << 20) - ($ - $$) db 0
