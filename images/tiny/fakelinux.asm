; fakelinux: a "kernel" with a valid bzImage header whose 64-bit entry point
; prints the boot_params (zero page) it was given, so the Linux loader is
; tested end to end without Linux.
;
; Layout of a bzImage (Documentation/arch/x86/boot.rst): the real-mode setup
; (setup_sects + 1 sectors; the setup header at 0x1f1) then the protected-mode
; kernel, which the loader copies to pref_address. With the 64-bit boot
; protocol the loader enters it at load address + 0x200, in long mode with
; paging on, RSI = boot_params. The code is position independent (it is
; relocatable_kernel), so it would work at any 2 MiB-aligned address.
;
; Variants for the loader's error tests: -DOLD_PROTOCOL (2.09),
; -DNO_64BIT (no XLF_KERNEL_64), -DHUGE (init_size of 2 GiB),
; -DTRUNCATED (syssize larger than the file).

%ifdef OLD_PROTOCOL
 %define VERSION 0x0209
%else
 %define VERSION 0x020f
%endif
%ifdef NO_64BIT
 %define XLOADFLAGS 0
%else
 %define XLOADFLAGS 1                   ; XLF_KERNEL_64
%endif
%ifdef HUGE
 %define INIT_SIZE 0x80000000
%else
 %define INIT_SIZE 0x10000
%endif
SETUP_SECTS     equ 1
KERNEL_OFF      equ (SETUP_SECTS + 1) * 512

        bits 16
        org 0
setup:                                  ; never run: we have no real-mode part
        times 0x1f1 - ($ - $$) db 0
        db SETUP_SECTS                  ; 0x1f1 setup_sects
        dw 0                            ; 0x1f2 root_flags
        dd SYSSIZE                      ; 0x1f4 syssize, in 16-byte units
        dw 0                            ; 0x1f8 ram_size
        dw 0xfffd                       ; 0x1fa vid_mode: "ask" (the loader overrides it)
        dw 0                            ; 0x1fc root_dev
        dw 0xaa55                       ; 0x1fe boot_flag
        db 0xeb, hdr_end - 0x202        ; 0x200 jump over the header: its length
        db "HdrS"                       ; 0x202 header
        dw VERSION                      ; 0x206 version
        dd 0                            ; 0x208 realmode_swtch
        dw 0                            ; 0x20c start_sys_seg
        dw 0                            ; 0x20e kernel_version
        db 0                            ; 0x210 type_of_loader
        db 0x01                         ; 0x211 loadflags: LOADED_HIGH
        dw 0                            ; 0x212 setup_move_size
        dd 0x100000                     ; 0x214 code32_start
        dd 0                            ; 0x218 ramdisk_image
        dd 0                            ; 0x21c ramdisk_size
        dd 0                            ; 0x220 bootsect_kludge
        dw 0                            ; 0x224 heap_end_ptr
        db 0                            ; 0x226 ext_loader_ver
        db 0                            ; 0x227 ext_loader_type
        dd 0                            ; 0x228 cmd_line_ptr
        dd 0x7fffffff                   ; 0x22c initrd_addr_max
        dd 0x200000                     ; 0x230 kernel_alignment
        db 1                            ; 0x234 relocatable_kernel
        db 21                           ; 0x235 min_alignment: 2 MiB
        dw XLOADFLAGS                   ; 0x236 xloadflags
        dd 255                          ; 0x238 cmdline_size
        dd 0                            ; 0x23c hardware_subarch
        dq 0                            ; 0x240 hardware_subarch_data
        dd 0                            ; 0x248 payload_offset
        dd 0                            ; 0x24c payload_length
        dq 0                            ; 0x250 setup_data
        dq 0x1000000                    ; 0x258 pref_address: 16 MiB
        dd INIT_SIZE                    ; 0x260 init_size
        dd 0                            ; 0x264 handover_offset
        dd 0                            ; 0x268 kernel_info_offset
hdr_end:
        times KERNEL_OFF - ($ - $$) db 0

kernel:                                 ; file offset 0x400, loaded at 16 MiB
        bits 32
startup_32:                             ; the 32-bit entry is not supported
        hlt
        jmp startup_32
        times KERNEL_OFF + 0x200 - ($ - $$) db 0

        bits 64
startup_64:                             ; load address + 0x200
        mov r15, rsi                    ; boot_params
        pushfq
        pop r14
        lea rsp, [rel stack_top]
        jmp main

%include "lib/serial.inc"

main:
        PRINT "fakelinux: 64-bit entry at "
        lea rax, [rel startup_64]
        HEX rax, 16
        PRINT ", boot_params at "
        HEX r15, 16
        PRINT 10, "fakelinux: protocol "
        movzx eax, word [r15 + 0x206]
        HEX rax, 4
        PRINT ", loader type "
        movzx eax, byte [r15 + 0x210]
        HEX rax, 2
        PRINT ", loadflags "
        movzx eax, byte [r15 + 0x211]
        HEX rax, 2
        PRINT ", heap_end_ptr "
        movzx eax, word [r15 + 0x224]
        HEX rax, 4
        PRINT ", vid_mode "
        movzx eax, word [r15 + 0x1fa]
        HEX rax, 4
        PRINT 10

        PRINT "fakelinux: cmdline at "
        mov esi, [r15 + 0x228]
        HEX rsi, 8
        PRINT ': "'
        mov ecx, 256
        call putn
        PRINT '"', 10

        PRINT "fakelinux: initrd at "
        mov esi, [r15 + 0x218]
        HEX rsi, 8
        PRINT ", "
        mov ecx, [r15 + 0x21c]
        mov eax, ecx
        call putdec
        PRINT ' bytes: "'
        call putn
        PRINT '"', 10

        PRINT "fakelinux: e820 map, "
        movzx ebx, byte [r15 + 0x1e8]
        mov eax, ebx
        call putdec
        PRINT " entries", 10
        lea rsi, [r15 + 0x2d0]
.e820:  test ebx, ebx
        jz .e820_done
        PRINT "fakelinux:   "
        HEX [rsi], 16
        PRINT " "
        HEX [rsi + 8], 16
        PRINT " "
        mov eax, [rsi + 16]
        call putdec
        PRINT 10
        add rsi, 20
        dec ebx
        jmp .e820
.e820_done:

        PRINT "fakelinux: cs="
        mov ax, cs
        movzx eax, ax
        HEX rax, 4
        PRINT " ds="
        mov ax, ds
        movzx eax, ax
        HEX rax, 4
        PRINT " ss="
        mov ax, ss
        movzx eax, ax
        HEX rax, 4
        PRINT ", interrupts "
        bt r14, 9
        jc .if_on
        PRINT "off"
        jmp .if_done
.if_on: PRINT "on"
.if_done:

        ; Walk the page tables from CR3: how much of the low address space is
        ; identity-mapped with 2 MiB pages, counted from 0.
        mov rdi, cr3
        mov rdi, [rdi]                  ; PML4[0]
        and rdi, ~0xfff
        xor ecx, ecx                    ; PDPT index
        xor edx, edx                    ; expected physical address
.pdpt:  cmp ecx, 512
        je .walked
        mov rsi, [rdi + rcx * 8]
        test sil, 1
        jz .walked
        and rsi, ~0xfff
        xor ebx, ebx
.pde:   mov rax, [rsi + rbx * 8]
        and rax, ~0x1fffff | 0x81       ; address, PS, present
        mov r8, rdx
        or r8, 0x81
        cmp rax, r8
        jne .walked
        add rdx, 0x200000
        inc ebx
        cmp ebx, 512
        jne .pde
        inc ecx
        jmp .pdpt
.walked:
        PRINT ", "
        mov rax, rdx
        shr rax, 20
        call putdec
        PRINT " MiB identity-mapped", 10
        EXIT EXIT_PASS

        align 16, db 0
        times 512 db 0
stack_top:
        align 16, db 0
kernel_end:
%ifdef TRUNCATED
SYSSIZE equ (kernel_end - kernel) / 16 + 0x1000
%else
SYSSIZE equ (kernel_end - kernel) / 16
%endif
