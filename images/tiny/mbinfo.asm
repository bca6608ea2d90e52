; mbinfo: prints the Multiboot information structure it was given
; (Multiboot 0.6.96, 3.3): flags, memory sizes, command line, boot loader
; name, the memory map and every module with its command line and first line
; of content.
;
; It is also the loader's two-segment ELF test: the code segment is linked at
; virtual 0xc0100000 but loads at physical 1 MiB (the entry point is
; translated, as GRUB does); the data segment at 3 MiB carries a value and a
; bss that must arrive zeroed.

        bits 32
TEXT_PHYS       equ 0x100000
TEXT_VIRT       equ 0xc0100000
DATA_PHYS       equ 0x300000

%include "lib/multiboot.inc"

        section .text start=TEXT_PHYS vstart=TEXT_PHYS
        ELF32_HEADER start - TEXT_PHYS + TEXT_VIRT, 2
        ELF32_LOAD 0, TEXT_VIRT, TEXT_PHYS, text_end - TEXT_PHYS, text_end - TEXT_PHYS
        ELF32_LOAD section..data.start - TEXT_PHYS, DATA_PHYS, DATA_PHYS, \
                   data_end - DATA_PHYS, bss_end - DATA_PHYS
        MB_HEADER MB_PAGE_ALIGN | MB_MEMORY_INFO

start:
        mov esp, stack_top
        mov ebp, ebx                    ; the boot information
        cmp eax, MB_BOOT_MAGIC
        je main
        mov al, EXIT_FAIL
        out 0xf4, al

%include "lib/serial.inc"

main:
        PRINT "mbinfo: flags="
        HEX [ebp], 8
        PRINT 10, "mbinfo: mem_lower="
        mov eax, [ebp + 4]
        call putdec
        PRINT " KiB mem_upper="
        mov eax, [ebp + 8]
        call putdec
        PRINT " KiB", 10

        PRINT 'mbinfo: cmdline "'
        mov esi, [ebp + 16]
        mov ecx, 256
        call putn
        PRINT '"', 10, 'mbinfo: boot loader "'
        mov esi, [ebp + 64]
        call putn
        PRINT '"', 10

        ; mmap: entries of (size, base, length, type); size excludes itself.
        PRINT "mbinfo: memory map at "
        mov esi, [ebp + 48]
        HEX esi, 8
        PRINT ", "
        mov eax, [ebp + 44]
        call putdec
        PRINT " bytes", 10
        mov edi, esi
        add edi, [ebp + 44]
.mmap:  cmp esi, edi
        jae .mods
        PRINT "mbinfo:   "
        HEX [esi + 8], 8                ; base, high half first
        HEX [esi + 4], 8
        PRINT " "
        HEX [esi + 16], 8               ; length
        HEX [esi + 12], 8
        PRINT " "
        mov eax, [esi + 20]
        call putdec
        PRINT 10
        add esi, [esi]
        add esi, 4
        jmp .mmap

.mods:  PRINT "mbinfo: "
        mov ebx, [ebp + 20]
        mov eax, ebx
        call putdec
        PRINT " modules", 10
        mov edi, [ebp + 24]
.mod:   test ebx, ebx
        jz .data
        PRINT "mbinfo:   "
        HEX [edi], 8
        PRINT "-"
        HEX [edi + 4], 8
        PRINT ' "'
        mov esi, [edi + 8]
        mov ecx, 256
        call putn
        PRINT '": "'
        mov esi, [edi]
        mov ecx, [edi + 4]
        sub ecx, esi
        call putn
        PRINT '"', 10
        add edi, 16
        dec ebx
        jmp .mod

.data:  PRINT "mbinfo: data segment holds "
        HEX [data_value], 8
        BSS_IS_ZERO bss_start, zeroed_end
        jne .dirty
        PRINT ", bss is zero", 10
        EXIT EXIT_PASS
.dirty: PRINT ", bss is NOT zero", 10
        EXIT EXIT_FAIL
        align 4, db 0
text_end:

        section .data follows=.text align=16 vstart=DATA_PHYS
data_value:     dd 0x600dda7a
data_end:

        section .bss nobits vfollows=.data
bss_start:      resb 1024               ; checked: must be zero
zeroed_end:     resb 4096
stack_top:
bss_end:
