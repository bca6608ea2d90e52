; ide_boot: a 1 MiB raw disk that SeaBIOS boots from the first IDE disk
; (`--disk ide-boot.img --boot c`). Everything it asks of the BIOS's disk
; services, SeaBIOS does over Lodge's ATA PIO path (READ/WRITE SECTORS,
; polled with nIEN), so it checks that path end to end:
;
;   sector 0      stage 1: loads stage 2 from sectors 1-7 with INT 13h
;                 AH=02h (CHS), checks its signature, jumps to it
;   sectors 1-7   stage 2, which prints on COM1 and checks
;                   INT 13h AH=41h  EDD is there
;                   INT 13h AH=42h  sectors 8-70 in one call; sector L holds
;                                   the word L, then 510 bytes of L & 0xff
;                   INT 13h AH=43h  a pattern to LBA 100, read back by AH=42h
;                 and leaves with EXIT_PASS (lodge status 33)
;   sector 100    where the write lands; tests/guest/ide_boot.sh then finds
;                 the pattern in the image file
;
; A failing step prints "ide-boot: FAIL <step>" and leaves with EXIT_FAIL
; (status 3); stage 1 fails silently with EXIT_FAIL.
        bits 16
        org 0x7c00

STAGE2_SECTORS  equ 7
DATA_LBA        equ 8
DATA_SECTORS    equ 63
WRITE_LBA       equ 100

stage1:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        cld
        mov [drive], dl
        mov ax, 0x0200 | STAGE2_SECTORS ; CHS 0/0/2: the sectors after this
        mov bx, stage2
        mov cx, 0x0002
        xor dh, dh
        int 0x13
        jc .fail
        cmp dword [stage2_magic], 'STG2'
        jne .fail
        jmp stage2
.fail:  mov al, 0x01                    ; EXIT_FAIL, before serial.inc
        out 0xf4, al
.halt:  cli
        hlt
        jmp .halt

drive:  db 0
        times 510 - ($ - $$) db 0
        dw 0xaa55

stage2:
        jmp main
stage2_magic:
        db "STG2"

%include "lib/serial.inc"
%include "lib/bios.inc"

; fail: print the step named at SI and leave.
fail:
        PRINT "ide-boot: FAIL "
        call puts
        PRINT 10
        EXIT EXIT_FAIL

main:
        call bios_settle
        PRINT "ide-boot: stage 2 loaded by CHS from drive "
        movzx eax, byte [drive]
        HEX eax, 2
        PRINT 10

        mov ah, 0x41
        mov bx, 0x55aa
        mov dl, [drive]
        int 0x13
        mov si, f_ext
        jc fail
        cmp bx, 0xaa55
        jne fail

        mov si, dap                     ; sectors 8-70 to 1000:0000
        mov ah, 0x42
        mov dl, [drive]
        int 0x13
        mov si, f_read
        jc fail
        mov ax, 0x1000
        mov es, ax
        xor di, di
        mov cx, DATA_LBA
.check: mov si, f_data
        cmp [es:di], cx
        jne fail
        cmp [es:di + 511], cl
        jne fail
        add di, 512
        inc cx
        cmp cx, DATA_LBA + DATA_SECTORS
        jne .check
        PRINT "ide-boot: EDD read of 63 sectors ok", 10

        mov ax, 0x3000                  ; (i & 0xff) ^ 0x5a at 3000:0000
        mov es, ax
        xor di, di
        mov cx, 512
.fill:  mov ax, di
        xor al, 0x5a
        stosb
        loop .fill
        mov word [dap.count], 1
        mov word [dap.seg], 0x3000
        mov dword [dap.lba], WRITE_LBA
        mov si, dap
        mov ax, 0x4300
        mov dl, [drive]
        int 0x13
        mov si, f_write
        jc fail
        mov word [dap.seg], 0x4000      ; read back to 4000:0000
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
        PRINT "ide-boot: write and read back ok", 10
        PRINT "ide-boot: ok", 10
        EXIT EXIT_PASS

align 4
dap:    db 16, 0
.count: dw DATA_SECTORS
.off:   dw 0
.seg:   dw 0x1000
.lba:   dq DATA_LBA

f_ext:          db "ext", 0
f_read:         db "read", 0
f_data:         db "data", 0
f_write:        db "write", 0
f_reread:       db "reread", 0
f_compare:      db "compare", 0

        times (1 + STAGE2_SECTORS) * 512 - ($ - $$) db 0

%assign lba DATA_LBA
%rep DATA_SECTORS
        dw lba
        times 510 db (lba & 0xff)
%assign lba lba + 1
%endrep

        times (1 << 20) - ($ - $$) db 0
