; resets: a 4 KiB firmware image (--bios) that resets the machine in every
; way a PC can and checks that each reset comes back through the reset
; vector with a fresh copy of the firmware in the shadow RAM below 1 MiB.
;
; Boot 1 resets through the PIIX reset control register (0xcf9, as SeaBIOS's
; reboot does: 0x02, then 0x06), boot 2 through System Control Port A (0x92
; bit 0), boot 3 through the keyboard controller (command 0xfe), boot 4 by a
; triple fault; boot 5 passes. RAM keeps its contents across a reset, as on a
; PC, so the boot count lives at 0000:0500. The low copy of this image is
; writable RAM (Lodge shadows the BIOS there): each boot marks it, and the
; next boot must find it pristine again, or the firmware would not restart
; from a clean POST.

        bits 16
        org 0xf000                      ; offsets in segment 0xf000

COUNT   equ 0x500

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov es, ax                      ; ES: low RAM
        mov ax, cs
        mov ds, ax                      ; DS: this image's low copy
        jmp main

%include "lib/serial.inc"

main:
        cmp byte [marker], 0
        jne stale
        mov byte [marker], 1            ; dirty the shadow: a reset must undo it
        inc byte [es:COUNT]
        movzx eax, byte [es:COUNT]
        PRINT "resets: boot "
        call putdec
        cmp al, 1
        je via_cf9
        cmp al, 2
        je via_port92
        cmp al, 3
        je via_kbc
        cmp al, 4
        je via_triple_fault
        PRINT ": every reset came back through the reset vector with a fresh firmware copy", 10
        EXIT EXIT_PASS

via_cf9:
        PRINT ", resetting through port 0xcf9", 10
        mov dx, 0xcf9
        mov al, 0x02
        out dx, al
        mov al, 0x06
        out dx, al
        jmp halt

via_port92:
        PRINT ", resetting through port 0x92", 10
        in al, 0x92
        or al, 1
        out 0x92, al
        jmp halt

via_kbc:
        PRINT ", resetting through the keyboard controller", 10
        mov al, 0xfe
        out 0x64, al
        jmp halt

        ; KVM does not check the real-mode IVT limit, so fault in 32-bit
        ; protected mode, as SeaBIOS's own reboot does: #UD with an empty IDT
        ; -> #GP -> #DF -> shutdown. (Not INT3: the kvm_pvm hosts this is
        ; tested on report an emulation failure for a software interrupt
        ; through an empty IDT instead of a shutdown.)
via_triple_fault:
        PRINT ", resetting by a triple fault", 10
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
        PRINT "resets: the firmware copy below 1 MiB was not refreshed by the reset", 10
        EXIT EXIT_FAIL

halt:
        hlt
        jmp halt

empty_idt:
        dw 0
        dd 0
        align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff           ; 0x08: flat 32-bit code
        dq 0x00cf92000000ffff           ; 0x10: flat data
gdt_desc:
        dw 3 * 8 - 1
        dd 0xf0000 + gdt
marker: db 0

        times 0xff0 - ($ - $$) db 0
        jmp 0xf000:start                ; the reset vector, 0xfffffff0
        times 0x1000 - ($ - $$) db 0
