; bios: a real-mode firmware image (--bios), the smallest thing Lodge boots.
;
; Lodge maps the image at the top of 4 GiB and copies its last 128 KiB (all of
; it, here) just below 1 MiB. The CPU starts at the reset vector, physical
; 0xfffffff0 (the image's last 16 bytes), with CS selector 0xf000 but CS base
; 0xffff0000 (Intel SDM Vol. 3A 9.1.4). The first far jump loads CS base
; 0xf000 << 4 = 0xf0000, and from then on the code runs from the low copy.
;
; Checks: the reset vector and the far jump into the low copy, the register
; state after RESET (DX = processor signature), real-mode segment arithmetic,
; a software interrupt through the real-mode IVT, polled COM1 output.
; Build with -DROM_SIZE=4096 (default) or up to 65536.

%ifndef ROM_SIZE
 %define ROM_SIZE 4096
%endif
        bits 16
        org 0x10000 - ROM_SIZE          ; offsets in segment 0xf000

start:
        mov ebp, edx                    ; DX after RESET, before anything else
        mov ax, cs
        mov ds, ax                      ; strings live in this segment
        xor ax, ax
        mov ss, ax
        mov sp, 0x7c00                  ; a stack in low RAM
        jmp main

%include "lib/serial.inc"

main:
        PRINT "bios: ", %str(ROM_SIZE), "-byte image, running at cs="
        mov ax, cs
        movzx eax, ax
        HEX eax, 4
        PRINT " (the low copy)", 10, "bios: dx after reset="
        HEX ebp, 4
        PRINT 10

        ; 0x1234:0x0010 and 0x1235:0x0000 are both physical 0x12350.
        mov ax, 0x1234
        mov es, ax
        mov dword [es:0x0010], 0x600dcafe
        mov ax, 0x1235
        mov es, ax
        mov eax, [es:0x0000]
        PRINT "bios: 1235:0000 reads "
        HEX eax, 8
        PRINT " written at 1234:0010", 10

        ; A software interrupt through vector 0x41 of the IVT at 0:0. (Not
        ; 0x80: the kvm_pvm module of our CI hosts hangs on INT 0x80 in real
        ; mode.)
        xor ax, ax
        mov es, ax
        mov word [es:0x41 * 4], int41
        mov word [es:0x41 * 4 + 2], cs
        xor ebx, ebx
        int 0x41
        PRINT "bios: int 0x41 returned bx="
        HEX ebx, 4
        PRINT 10
        EXIT EXIT_PASS

int41:
        mov bx, 0x41
        iret

        times ROM_SIZE - 16 - ($ - $$) db 0
reset_vector:                           ; physical 0xfffffff0
        jmp 0xf000:start
        times ROM_SIZE - ($ - $$) db 0
