; lm64: a Multiboot kernel that switches itself to 64-bit long mode (see
; lib/longmode.inc: 4-level paging, CR4.PAE, EFER.LME, CR0.PG, a 64-bit code
; segment).
;
; Checks: CPUID reports long mode; EFER.LMA after the switch; control
; registers; 64-bit arithmetic; a page directory mapped at two virtual
; addresses reads the same through both (a real page walk, not just identity).

        bits 32
LOAD    equ 0x100000
ALIAS   equ 0x100000000                 ; PDPT[4]: virtual 4 GiB -> physical 0
        org LOAD

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

start:
        mov esp, stack_top
        mov eax, 0x80000000             ; CPUID 0x80000001 EDX bit 29: LM
        cpuid
        cmp eax, 0x80000001
        jb no_long_mode
        mov eax, 0x80000001
        cpuid
        bt edx, 29
        jc enter_long_mode
no_long_mode:                           ; no serial code in 32-bit here
        mov al, EXIT_FAIL
        out 0xf4, al
        hlt

%include "lib/longmode.inc"
%include "lib/serial.inc"

main64:
        lea rax, [rel main64]           ; RIP-relative...
        mov rbx, main64                 ; ...and absolute
        cmp rax, rbx
        jne .rip_bad
        PRINT "lm64: in 64-bit mode, RIP-relative addressing works", 10
        PRINT "lm64: efer="
        mov ecx, 0xc0000080
        rdmsr
        and eax, 0x500                  ; LME | LMA
        HEX rax, 4
        PRINT " cr0="
        mov rax, cr0
        HEX rax, 8
        PRINT " cr4="
        mov rax, cr4
        HEX rax, 8
        PRINT 10, "lm64: rol(0123456789abcdef, 16)="
        mov rax, 0x0123456789abcdef
        rol rax, 16
        HEX rax, 16
        PRINT 10

        mov qword [lm_pdpt + 4 * 8], lm_pd + 3
        mov rax, cr3                    ; flush the TLB
        mov cr3, rax
        mov rax, [signature]
        mov rbx, ALIAS + signature
        mov rbx, [rbx]
        cmp rax, rbx
        jne .alias_bad
        PRINT "lm64: virtual 4 GiB + x reads "
        HEX rbx, 16
        PRINT " like physical x", 10
        EXIT EXIT_PASS
.rip_bad:
        PRINT "lm64: RIP-relative and absolute addresses differ", 10
        EXIT EXIT_FAIL
.alias_bad:
        PRINT "lm64: the alias mapping reads something else", 10
        EXIT EXIT_FAIL

signature:      dq 0x5a5a0123456789a5
        MB_FILE_END
        LONGMODE_BSS
        MB_STACK_END
