; reset: the direct-boot loader runs again after every reset. The first boot
; dirties its data and bss, leaves a marker in RAM that a reset does not
; clear (as on a PC), and resets the machine through the PIIX4 reset control
; register (port 0xcf9). The second boot must find its image reloaded: data
; back to its initial value, bss zeroed again, EAX/EBX as at power-on.

        bits 32
LOAD    equ 0x100000
MARKER  equ 0x80000                     ; free RAM below the EBDA
        org LOAD

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

start:
        mov esp, stack_top
        mov ebp, eax
        jmp main

%include "lib/serial.inc"

; report: "eax=... data=... bss is zero|dirty"
report:
        PRINT " eax="
        HEX ebp, 8
        PRINT " data="
        HEX [data_value], 8
        BSS_IS_ZERO bss_start, zeroed_end
        jne .dirty
        PRINT " bss=zero", 10
        ret
.dirty: PRINT " bss=dirty", 10
        ret

main:
        cmp dword [MARKER], 0x5e7b007
        je second_boot
        PRINT "reset: first boot:"
        call report
        mov dword [data_value], 0xbadda7a
        mov edi, bss_start
        mov ecx, (zeroed_end - bss_start) / 4
        mov eax, 0xaaaaaaaa
        rep stosd
        mov dword [MARKER], 0x5e7b007
        PRINT "reset: dirtied data and bss; resetting through port 0xcf9", 10
        mov dx, 0xcf9
        mov al, 0x06                    ; SYS_RST | RST_CPU
        out dx, al
.wait:  hlt
        jmp .wait

second_boot:
        mov dword [MARKER], 0
        PRINT "reset: second boot:"
        call report
        EXIT EXIT_PASS

data_value:     dd 0x600d0001
        MB_FILE_END
bss_start:      resb 1024
zeroed_end:
        MB_STACK_END
