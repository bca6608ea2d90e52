; acpi: a 4 KiB firmware image (--bios) that does what an ACPI OS does at
; shutdown, in a few hundred instructions. It programs the PIIX4 PM
; function's I/O base through PCI configuration mechanism #1, switches to
; ACPI mode through SMI_CMD (0xf1 to port 0xb2) and checks SCI_EN, enables
; the power-button event, says so on COM1 and waits for the button (lodge
; presses it on SIGTERM). Then it clears the event and enters S5 (SLP_TYP 0,
; SLP_EN), which powers the machine off: lodge exits with status 0.
; tests/firmware sends the signal; without one the guest waits.

        bits 16
        org 0xf000                      ; offsets in segment 0xf000

PM_BASE   equ 0xb000
PM1_STS   equ PM_BASE
PM1_EN    equ PM_BASE + 2
PM1_CNT   equ PM_BASE + 4
PWRBTN    equ 0x0100
SLP_EN    equ 0x2000
SCI_EN    equ 0x0001
PM_DEVFN  equ (1 << 3) | 3              ; 00:01.3

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ax, cs
        mov ds, ax
        jmp main

%include "lib/serial.inc"

main:
        ; PMBA (config 0x40) = PM_BASE | 1, PMREGMISC (config 0x80) = PMIOSE.
        mov eax, 0x80000000 | (PM_DEVFN << 8) | 0x40
        mov dx, 0xcf8
        out dx, eax
        mov eax, PM_BASE | 1
        mov dx, 0xcfc
        out dx, eax
        mov eax, 0x80000000 | (PM_DEVFN << 8) | 0x80
        mov dx, 0xcf8
        out dx, eax
        mov al, 1
        mov dx, 0xcfc
        out dx, al

        ; ACPI_ENABLE through SMI_CMD: the "SMI handler" sets SCI_EN.
        mov al, 0xf1
        out 0xb2, al
        mov dx, PM1_CNT
        in ax, dx
        test ax, SCI_EN
        jz no_acpi

        mov dx, PM1_EN
        mov ax, PWRBTN
        out dx, ax
        PRINT "lodge-acpi: waiting for the power button", 10
.poll:
        mov dx, PM1_STS
        in ax, dx
        test ax, PWRBTN
        jz .poll

        PRINT "lodge-acpi: power button pressed, entering S5", 10
        mov dx, PM1_STS
        mov ax, PWRBTN
        out dx, ax                      ; write one to clear
        mov dx, PM1_CNT
        mov ax, SLP_EN | SCI_EN         ; SLP_TYP 0 = S5 in SeaBIOS's tables
        out dx, ax
.off:
        hlt
        jmp .off

no_acpi:
        PRINT "lodge-acpi: SCI_EN did not come on", 10
        EXIT EXIT_FAIL

        times 0xff0 - ($ - $$) db 0
        jmp 0xf000:start                ; the reset vector, 0xfffffff0
        times 0x1000 - ($ - $$) db 0
