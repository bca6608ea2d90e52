; mbentry: the machine state a Multiboot v1 kernel starts in (Multiboot
; 0.6.96, 3.2), loaded as ELF32 or, with -DAOUT, through the a.out kludge.
;
; -DLOAD_32M links it at 32 MiB, for the loader's "not in RAM" test.
;
; Checks: EAX/EBX, flat segments, CR0 (protection on, paging off), EFLAGS
; (interrupts off), the loader's GDT, a zeroed bss, A20 enabled. Exits with
; 0x2a (lodge status 85) to show that any debug-exit value comes through.

        bits 32
%ifdef AOUT
 %define FORMAT "a.out kludge"
LOAD    equ 0x200000
%elifdef LOAD_32M
 %define FORMAT "ELF32"
LOAD    equ 0x2000000
%else
 %define FORMAT "ELF32"
LOAD    equ 0x100000
%endif
        org LOAD

%include "lib/multiboot.inc"
%ifdef AOUT
        MB_AOUT_HEADER file_end, bss_end, start
%else
        MB_ELF32_KERNEL start
%endif

start:
        mov [entry_eax], eax            ; before anything changes them
        mov [entry_ebx], ebx
        mov esp, stack_top              ; the spec leaves ESP undefined
        pushfd
        pop dword [entry_eflags]
        jmp main

%include "lib/serial.inc"

; print the selector in AX as 4 hex digits
putsel:
        movzx eax, ax
        HEX eax, 4
        ret

main:
        PRINT "mbentry: ", FORMAT, " image, entry at "
        HEX start, 8
        PRINT 10, "mbentry: eax="
        HEX [entry_eax], 8
        PRINT " ebx="
        HEX [entry_ebx], 8
        PRINT " eflags="
        HEX [entry_eflags], 8
        PRINT 10, "mbentry: cs="
        mov ax, cs
        call putsel
        PRINT " ds="
        mov ax, ds
        call putsel
        PRINT " es="
        mov ax, es
        call putsel
        PRINT " fs="
        mov ax, fs
        call putsel
        PRINT " gs="
        mov ax, gs
        call putsel
        PRINT " ss="
        mov ax, ss
        call putsel
        PRINT 10, "mbentry: cr0="
        mov eax, cr0
        HEX eax, 8
        sgdt [gdtr]
        PRINT " gdt="
        HEX [gdtr + 2], 8
        PRINT "/"
        movzx eax, word [gdtr]
        HEX eax, 4
        PRINT 10

        ; bss: the loader zeroes p_memsz - p_filesz (or up to bss_end_addr).
        BSS_IS_ZERO bss_start, zeroed_end
        jne .dirty
        PRINT "mbentry: bss is zero", 10
        jmp .a20
.dirty: PRINT "mbentry: bss is NOT zero", 10

        ; With A20 masked, an address with bit 20 set aliases the one without.
.a20:   mov dword [a20_probe], 0x11111111
        cmp dword [a20_probe - 0x100000], 0x11111111
        jne .a20_on
        mov dword [a20_probe], 0x22222222
        cmp dword [a20_probe - 0x100000], 0x22222222
        jne .a20_on
        PRINT "mbentry: A20 is masked", 10
        jmp .done
.a20_on:
        PRINT "mbentry: A20 is on", 10
.done:  EXIT 0x2a

entry_eax:      dd 0
entry_ebx:      dd 0
entry_eflags:   dd 0
gdtr:           dw 0
                dd 0
        MB_FILE_END
bss_start:      resb 4096               ; must be zero at entry
zeroed_end:
a20_probe:      resd 1
        MB_STACK_END
