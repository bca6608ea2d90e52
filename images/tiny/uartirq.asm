; uartirq: COM1 driven by interrupts through the 8259 PIC (IRQ4), as the PC
; wires it: the 16550's INTR output reaches the PIC only while MCR OUT2 is set
; (PC16550D datasheet: IER, IIR table IV, MCR, LSR; 8259A datasheet).
;
; Checks: no interrupt while OUT2 is clear even with one pending; a message
; sent one byte per THR-empty interrupt, the handler identifying each through
; IIR; IIR "no interrupt" afterwards; in loopback mode a byte comes back in
; RBR with IIR reporting received data and LSR data ready.
; On KVM the PICs are the kernel's; on the software CPU they are Lodge's own.
; It runs in long mode (see lib/longmode.inc for why).

        bits 32
LOAD    equ 0x100000
        org LOAD
%define GUEST_NAME "uartirq"

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

UART_IER        equ COM1 + 1
UART_IIR        equ COM1 + 2            ; FCR when written
UART_LCR        equ COM1 + 3
UART_MCR        equ COM1 + 4
IER_RDA         equ 0x01
IER_THRE        equ 0x02
MCR_DTR_RTS     equ 0x03
MCR_OUT2        equ 0x08
MCR_LOOP        equ 0x10
IIR_THRE        equ 0x02

start:
        mov esp, stack_top
        jmp enter_long_mode

%include "lib/longmode.inc"
%include "lib/serial.inc"
%include "lib/intr64.inc"
%include "lib/portio.inc"

main64:
        call intr_init
        mov eax, PIC_VECTOR + 4
        mov rdx, uart_isr
        call intr_set_gate
        OUTB PIC1 + 1, 0xef             ; unmask IRQ4 only

        OUTB UART_LCR, 0x80             ; DLAB: divisor 1 = 115200 baud
        OUTB COM1, 1
        OUTB UART_IER, 0
        OUTB UART_LCR, 0x03             ; 8 data bits, no parity, 1 stop bit
        OUTB UART_IIR, 0x07             ; FCR: FIFOs on and cleared
        OUTB UART_MCR, MCR_DTR_RTS      ; OUT2 clear: the IRQ line is gated off
        OUTB UART_IER, IER_THRE         ; a THR-empty interrupt is now pending

        sti
        mov ecx, 1000
.idle:  dec ecx                         ; room for a wrongly gated interrupt
        jnz .idle
        cli
        cmp dword [irq_count], 0
        jne .leak
        PRINT "uartirq: no interrupt while OUT2 is clear", 10

        mov qword [tx_ptr], message
        OUTB UART_MCR, MCR_DTR_RTS | MCR_OUT2
.wait:  sti                             ; STI's shadow covers the HLT: no
        hlt                             ; interrupt is lost between them
        cli
        cmp byte [tx_done], 0
        je .wait

        PRINT "uartirq: "
        mov eax, [irq_count]
        call putdec
        PRINT " THR-empty interrupts for a "
        mov eax, message_len
        call putdec
        PRINT "-byte message, then IIR="
        INB UART_IIR
        movzx eax, al
        HEX rax, 2
        PRINT 10

        ; In loopback the transmitter feeds the receiver and nothing reaches
        ; the line, so the results are printed only after leaving it.
        OUTB UART_MCR, MCR_DTR_RTS | MCR_LOOP
        OUTB UART_IER, IER_RDA
        OUTB COM1, 'L'
        INB UART_IIR
        movzx r8d, al
        INB COM1 + 5                    ; LSR
        movzx r9d, al
        INB COM1                        ; RBR
        movzx r10d, al
        INB UART_IIR
        movzx r11d, al
        OUTB UART_IER, 0
        OUTB UART_MCR, MCR_DTR_RTS
        PRINT "uartirq: loopback: IIR="
        HEX r8, 2
        PRINT " LSR="
        HEX r9, 2
        PRINT " RBR="
        mov eax, r10d
        call putc
        PRINT " then IIR="
        HEX r11, 2
        PRINT 10
        EXIT EXIT_PASS

.leak:  PRINT "uartirq: an interrupt arrived while OUT2 was clear", 10
        EXIT EXIT_FAIL

; IRQ4: one byte per THR-empty interrupt; IIR says which source it is.
uart_isr:
        push rax
        push rdx
        push rsi
        inc dword [irq_count]
        INB UART_IIR
        and al, 0x0f
        cmp al, IIR_THRE
        jne .other
        mov rsi, [tx_ptr]
        lodsb
        test al, al
        jz .last
        mov [tx_ptr], rsi
        mov dx, COM1                    ; THR is empty: no need to poll LSR
        out dx, al
        jmp .eoi
.last:  OUTB UART_IER, 0
        mov byte [tx_done], 1
        jmp .eoi
.other: OUTB UART_IER, 0                ; not ours to handle: stop and report
        mov byte [tx_done], 1
        mov dword [irq_count], 0
.eoi:   PIC_EOI 4
        pop rsi
        pop rdx
        pop rax
        iretq

message:        db "uartirq: this line was sent by the IRQ4 handler", 10
message_len     equ $ - message
                db 0
irq_count:      dd 0
        align 8, db 0
tx_ptr:         dq 0
tx_done:        db 0
        MB_FILE_END
        LONGMODE_BSS
        MB_STACK_END
