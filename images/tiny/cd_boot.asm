; cd_boot: a 2 KiB El Torito no-emulation boot image; tests/guest/ide_boot.sh
; puts it on an ISO with xorriso (`-b cd-boot.bin -no-emul-boot
; -boot-load-size 4`). SeaBIOS finds the boot catalog and loads all four
; 512-byte sectors of it over Lodge's ATAPI path (PACKET, READ(10) in
; 2048-byte DRQ blocks); then this code checks, on COM1:
;
;   the marker at its very end is there (the whole image was loaded), and it
;   came from the first CD drive (DL = e0);
;   INT 13h AH=42h on DL reads ISO sector 16, the primary volume
;   descriptor: "\x01CD001";
;
; and leaves with EXIT_PASS (lodge status 33). A failing step prints
; "cd-boot: FAIL <step>" and leaves with EXIT_FAIL (status 3).
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
        jmp main

%include "lib/serial.inc"
%include "lib/bios.inc"

fail:
        PRINT "cd-boot: FAIL "
        call puts
        PRINT 10
        EXIT EXIT_FAIL

main:
        call bios_settle
        PRINT "cd-boot: loaded from drive "
        movzx eax, byte [drive]
        HEX eax, 2
        PRINT 10
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
        PRINT "cd-boot: primary volume descriptor read ok", 10
        PRINT "cd-boot: ok", 10
        EXIT EXIT_PASS

align 4
dap:    db 16, 0
        dw 1                            ; one 2048-byte CD sector
        dw 0, 0x1000
        dq 16

drive:          db 0
f_marker:       db "marker", 0
f_read:         db "read", 0
f_pvd:          db "pvd", 0

        times 2048 - 4 - ($ - $$) db 0
marker: db "END!"
