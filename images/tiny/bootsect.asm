; bootsect: a 512-byte boot sector, the smallest "operating system" a PC
; BIOS can start. The BIOS loads it at 0000:7C00 and jumps to it with DL =
; the boot drive; it prints one line through the video BIOS (INT 10h, AH=0Eh
; teletype) and hands control back with INT 18h, the BIOS Boot Specification's
; "this device did not boot, try the next one" — so a test sees the BIOS go
; on to its remaining boot devices afterwards.
;
; Used as a raw disk image (bootsect.img) and embedded in bootrom.rom, which
; boots it from an option ROM's Boot Entry Vector.

bits 16
org 0x7c00

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        mov si, banner
        call puts
        mov al, dl              ; the boot drive, as the BIOS passed it
        call puthex
        mov si, crlf
        call puts
        int 0x18
.halt:
        hlt
        jmp .halt

; Print the NUL-terminated string at DS:SI.
puts:
        lodsb
        test al, al
        jz .done
        mov ah, 0x0e
        mov bx, 0x0007
        int 0x10
        jmp puts
.done:
        ret

; Print AL as two hex digits.
puthex:
        push ax
        shr al, 4
        call .digit
        pop ax
        and al, 0x0f
.digit:
        and al, 0x0f
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'a' - '9' - 1
.out:
        mov ah, 0x0e
        mov bx, 0x0007
        int 0x10
        ret

banner: db "lodge: boot sector running, drive 0x", 0
crlf:   db 13, 10, 0

        times 510 - ($ - $$) db 0
        dw 0xaa55
