; smp: finds the CPUs in the MP table and starts the application processors
; (Intel MultiProcessor Specification 1.4: 4 "MP Configuration Table", B.4
; "Application Processor Startup"; Intel SDM Vol. 3A 10.6.1 "Interrupt
; Command Register").
;
; The BSP (in long mode, see lib/longmode.inc) searches for the floating
; pointer where the spec says to look, checks both checksums and prints the
; table: processors, bus, I/O APIC, interrupt assignments. Then, one AP at a
; time, it sends INIT, SIPI, SIPI through its local APIC. Each AP starts in
; real mode at 0x8000 (SIPI vector 0x08), reads its APIC ID from CPUID,
; prints "cpu N up" itself, sets its bit in a mask and halts; the BSP waits
; for it before starting the next, so the transcript does not depend on
; timing. The expected output depends on --cpus.

        bits 32
LOAD            equ 0x100000
TRAMPOLINE      equ 0x8000              ; SIPI vector 0x08
LAPIC           equ 0xfee00000
LAPIC_SVR       equ 0x0f0
LAPIC_ICR_LO    equ 0x300
LAPIC_ICR_HI    equ 0x310
ICR_BUSY        equ 1 << 12
ICR_INIT        equ 0x4500              ; INIT, level assert
ICR_SIPI        equ 0x4600 | (TRAMPOLINE >> 12)
AP_TICKS        equ 40                  ; wait 40 x 55 ms for each AP
        org LOAD

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

start:
        mov esp, stack_top
        jmp enter_long_mode

%include "lib/longmode.inc"
%include "lib/serial.inc"

; mp_scan: look for "_MP_" with a valid checksum in [RSI, RSI+RCX), on
; 16-byte boundaries. RSI = the structure, ZF set if found.
mp_scan:
.next:  cmp dword [rsi], "_MP_"
        jne .skip
        push rcx
        movzx ecx, byte [rsi + 8]       ; length in paragraphs
        shl ecx, 4
        call checksum
        pop rcx
        jz .done
.skip:  add rsi, 16
        sub rcx, 16
        ja .next
        or ecx, 1                       ; clear ZF: not found
.done:  ret

; checksum: ZF set if the RCX bytes at RSI add up to 0 (mod 256).
checksum:
        push rax
        push rcx
        push rsi
        xor eax, eax
.add:   add al, [rsi]
        inc rsi
        loop .add
        test al, al
        pop rsi
        pop rcx
        pop rax
        ret

; putfixed: RCX characters at RSI
putfixed:
        push rax
        push rcx
        push rsi
.next:  lodsb
        call putc
        loop .next
        pop rsi
        pop rcx
        pop rax
        ret

main64:
        ; Where the MP spec says to look: the first KiB of the EBDA, the
        ; last KiB of base memory, then the BIOS ROM area.
        movzx esi, word [0x40e]         ; EBDA segment
        shl esi, 4
        mov ecx, 1024
        call mp_scan
        jz found
        movzx esi, word [0x413]         ; base memory in KiB
        shl esi, 10
        sub esi, 1024
        mov ecx, 1024
        call mp_scan
        jz found
        mov esi, 0xf0000
        mov ecx, 0x10000
        call mp_scan
        jz found
        PRINT "smp: no MP floating pointer", 10
        EXIT EXIT_FAIL

found:
        mov r12, rsi                    ; floating pointer
        PRINT "smp: MP floating pointer at "
        HEX r12, 8
        PRINT ", spec 1."
        movzx eax, byte [r12 + 9]
        call putdec
        mov r13d, [r12 + 4]             ; configuration table
        PRINT ", table at "
        HEX r13, 8
        PRINT 10
        mov rsi, r13
        movzx ecx, word [r13 + 4]
        cmp dword [r13], "PCMP"
        jne .bad_table
        call checksum
        jz .table_ok
.bad_table:
        PRINT "smp: bad configuration table", 10
        EXIT EXIT_FAIL
.table_ok:
        PRINT 'smp: table "'
        lea rsi, [r13 + 8]
        mov ecx, 20
        call putfixed
        PRINT '": '
        movzx eax, word [r13 + 34]
        call putdec
        PRINT " entries, local APIC at "
        HEX [r13 + 36], 8
        PRINT 10

        ; Walk the entries: processors (20 bytes), then 8-byte ones.
        lea r14, [r13 + 44]             ; entry
        movzx r15d, word [r13 + 34]     ; entries left
        xor ebx, ebx                    ; processors found
.entry: test r15d, r15d
        jz .walked
        movzx eax, byte [r14]
        cmp al, 0
        je .cpu
        cmp al, 1
        je .bus
        cmp al, 2
        je .ioapic
        cmp al, 3
        je .ioint
        cmp al, 4
        je .lint
        PRINT "smp: unknown entry type", 10
        EXIT EXIT_FAIL
.cpu:   PRINT "smp: processor, APIC ID "
        movzx eax, byte [r14 + 1]
        mov [apic_ids + rbx], al
        inc ebx
        call putdec
        test byte [r14 + 3], 2
        jz .cpu_ap
        PRINT " (BSP)"
.cpu_ap:
        PRINT 10
        add r14, 20
        jmp .next
.bus:   PRINT 'smp: bus '
        movzx eax, byte [r14 + 1]
        call putdec
        PRINT ' "'
        lea rsi, [r14 + 2]
        mov ecx, 6
        call putfixed
        PRINT '"', 10
        jmp .next8
.ioapic:
        PRINT "smp: I/O APIC, ID "
        movzx eax, byte [r14 + 1]
        call putdec
        PRINT " at "
        HEX [r14 + 4], 8
        PRINT 10
        jmp .next8
.ioint: PRINT "smp: ISA IRQ "
        movzx eax, byte [r14 + 5]
        call putdec
        PRINT " -> I/O APIC "
        movzx eax, byte [r14 + 6]
        call putdec
        PRINT " pin "
        movzx eax, byte [r14 + 7]
        call putdec
        PRINT ", flags "
        movzx eax, word [r14 + 2]
        HEX rax, 4
        PRINT 10
        jmp .next8
.lint:  PRINT "smp: local interrupt type "
        movzx eax, byte [r14 + 1]
        call putdec
        PRINT " -> LINT"
        movzx eax, byte [r14 + 7]
        call putdec
        PRINT 10
.next8: add r14, 8
.next:  dec r15d
        jmp .entry
.walked:
        mov [ncpus], ebx

        ; Start the APs one at a time.
        mov rsi, trampoline
        mov edi, TRAMPOLINE
        mov ecx, trampoline_end - trampoline
        rep movsb
        mov rdi, LAPIC                  ; above 2 GiB: no 32-bit displacement
        mov dword [rdi + LAPIC_SVR], 0x1ff      ; software enable, vector 0xff
        mov eax, [rdi + 0x20]
        shr eax, 24
        mov [bsp_id], eax
        xor r12d, r12d                  ; index into apic_ids
.ap:    cmp r12d, [ncpus]
        je .all
        movzx r13d, byte [apic_ids + r12]
        cmp r13d, [bsp_id]
        je .ap_next
        movzx r14d, word [TRAMPOLINE + ap_count - trampoline]
        mov ebx, r13d                   ; (count read first: the AP may
        shl ebx, 24                     ; report before the last SIPI is out)
        mov [rdi + LAPIC_ICR_HI], ebx
        mov eax, ICR_INIT
        call send_ipi
        mov eax, ICR_SIPI
        call send_ipi
        mov eax, ICR_SIPI               ; the second SIPI of B.4; an AP that
        call send_ipi                   ; already runs ignores it
        mov r15d, AP_TICKS              ; time it by the PIT, not by spins
        call pit_start                  ; or the TSC, whose rates vary
.wait:  pause
        movzx eax, word [TRAMPOLINE + ap_count - trampoline]
        cmp eax, r14d
        jne .ap_next
        in al, 0x61
        test al, 0x20                   ; PIT channel 2 output: 55 ms passed
        jz .wait
        call pit_start
        dec r15d
        jnz .wait
        PRINT "smp: the AP with APIC ID "
        mov eax, r13d
        call putdec
        PRINT " did not start", 10
        EXIT EXIT_FAIL
.ap_next:
        inc r12d
        jmp .ap
.all:   PRINT "smp: "
        mov eax, [ncpus]
        call putdec
        PRINT " cpus up, mask "
        mov rax, [TRAMPOLINE + ap_mask - trampoline]
        mov ecx, [bsp_id]
        bts rax, rcx
        HEX rax, 16
        PRINT 10
        EXIT EXIT_PASS

; pit_start: PIT channel 2 counts down 65535 ticks of 1.193182 MHz (55 ms),
; in mode 0, so its output (port 0x61 bit 5) goes high at the end (8254
; datasheet; the gate is port 0x61 bit 0, the speaker bit 1 stays off).
pit_start:
        in al, 0x61
        and al, 0xfc
        or al, 0x01
        out 0x61, al
        mov al, 0xb0                    ; channel 2, low then high byte, mode 0
        out 0x43, al
        mov al, 0xff
        out 0x42, al
        out 0x42, al
        ret

; send_ipi: ICR low = EAX (RDI = the local APIC), then wait until it is sent
send_ipi:
        mov [rdi + LAPIC_ICR_LO], eax
.busy:  pause
        test dword [rdi + LAPIC_ICR_LO], ICR_BUSY
        jnz .busy
        ret

; The AP trampoline, copied to 0x8000 and entered in real mode at 0800:0000
; (SDM 8.4.4.1: CS = vector << 8, IP = 0). Addresses inside it are offsets
; from its start; the APs run it one at a time, so one stack is enough.
        bits 16
trampoline:
        cli
        mov ax, cs
        mov ds, ax
        mov ss, ax
        mov sp, 0x1000
        mov eax, 1
        cpuid
        shr ebx, 24                     ; initial APIC ID
        mov si, ap_msg - trampoline
        call ap_puts
        mov ax, bx
        mov cl, 10
        div cl                          ; APIC IDs are below 100
        test al, al
        jz .ones
        add al, '0'
        call ap_putc
.ones:  mov al, ah
        add al, '0'
        call ap_putc
        mov si, ap_msg_end - trampoline
        call ap_puts
        lock bts [ap_mask - trampoline], ebx
        lock inc word [ap_count - trampoline]
.halt:  hlt
        jmp .halt

ap_puts:
        lodsb
        test al, al
        jz .done
        call ap_putc
        jmp ap_puts
.done:  ret

ap_putc:
        push ax
        push dx
        mov dx, COM1_LSR
.wait:  in al, dx
        test al, LSR_THRE
        jz .wait
        pop dx
        pop ax
        push dx
        mov dx, COM1
        out dx, al
        pop dx
        ret

ap_msg:         db "smp: cpu ", 0
ap_msg_end:     db " up (real mode, from the SIPI)", 10, 0
        align 8, db 0
ap_mask:        dq 0
ap_count:       dw 0
trampoline_end:
        bits 64

ncpus:          dd 0
bsp_id:         dd 0
apic_ids:       times 64 db 0
        MB_FILE_END
        LONGMODE_BSS
        MB_STACK_END
