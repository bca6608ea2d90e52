; bootrom: a PnP option ROM with a Boot Entry Vector (BIOS Boot
; Specification 1.01, 3.2 and appendix A "PnP expansion header"), the way a
; network boot ROM presents itself to the BIOS. Booting its BEV copies the
; embedded boot sector (bootsect.asm) to 0000:7C00 and jumps to it with
; DL = 0x80, just as the BIOS does for a hard disk.
;
; lodge run --option-rom bootrom.rom hands it to SeaBIOS as genroms/bootrom.rom.
; signrom pads it to whole 512-byte blocks and fixes the checksum.

bits 16
org 0

        db 0x55, 0xaa
        db 0                    ; size in 512-byte blocks (signrom)
        jmp init                ; initialisation entry, far-called at POST
        times 0x18 - ($ - $$) db 0
        dw 0                    ; no PCI data structure
        dw pnp                  ; PnP expansion header

        align 16
pnp:
        db "$PnP"
        db 1                    ; structure revision
        db 2                    ; length in 16-byte units
        dw 0                    ; no next header
        db 0
        db 0                    ; checksum (signrom makes it right)
        dd 0                    ; device identifier
        dw manufacturer
        dw product
        db 0x02, 0x00, 0x00     ; device type: mass storage, other
        db 0x04                 ; indicators: bootable (IPL) device
        dw 0                    ; no Boot Connection Vector
        dw 0                    ; no disconnect vector
        dw bev                  ; Boot Entry Vector
        dw 0
        dw 0                    ; no static resource information

manufacturer: db "Lodge", 0
product:      db "Lodge test ROM", 0

; Nothing to set up: report success.
init:
        xor ax, ax
        retf

; The BIOS chose us: load the "disk" and start it.
bev:
        cli
        xor ax, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        push cs
        pop ds
        mov si, sector
        mov di, 0x7c00
        mov cx, 512 / 2
        cld
        rep movsw
        mov dl, 0x80
        sti
        jmp 0x0000:0x7c00

        align 16
sector:
        incbin "bootsect.img"
