; rtc: the MC146818A real-time clock at ports 0x70/0x71 (Motorola datasheet:
; registers A-D, update cycle, periodic and update-ended interrupts) and its
; IRQ8, which reaches the CPU through the slave 8259 and the master's IRQ2.
;
; Checks: the power-on values of registers A, B and D; reading the running
; (host) time the safe way (wait while UIP is set) in BCD; setting the clock
; with SET held; 64 periodic interrupts at 1024 Hz, each acknowledged by
; reading register C; the update-ended interrupt that follows 23:59:59 on
; 2024-02-29 shows Friday 2024-03-01 00:00:00 (leap day, month and weekday
; roll over). Runs in long mode (see lib/longmode.inc); takes up to a
; second of guest time.

        bits 32
LOAD    equ 0x100000
        org LOAD
%define GUEST_NAME "rtc"

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

RTC_INDEX       equ 0x70
RTC_DATA        equ 0x71
REG_SEC         equ 0x00
REG_MIN         equ 0x02
REG_HOUR        equ 0x04
REG_WDAY        equ 0x06
REG_MDAY        equ 0x07
REG_MONTH       equ 0x08
REG_YEAR        equ 0x09
REG_A           equ 0x0a
REG_B           equ 0x0b
REG_C           equ 0x0c
REG_D           equ 0x0d
CMOS_CENTURY    equ 0x32
A_UIP           equ 0x80
B_SET           equ 0x80
B_PIE           equ 0x40
B_UIE           equ 0x10
B_24H           equ 0x02
C_PF            equ 0x40
C_UF            equ 0x10
PERIODIC_COUNT  equ 64

start:
        mov esp, stack_top
        jmp enter_long_mode

%include "lib/longmode.inc"
%include "lib/serial.inc"
%include "lib/intr64.inc"

; rtc_read: AL = register AH
rtc_read:
        mov al, ah
        out RTC_INDEX, al
        in al, RTC_DATA
        ret

; rtc_write: register AH = AL
rtc_write:
        xchg al, ah
        out RTC_INDEX, al
        xchg al, ah
        out RTC_DATA, al
        ret

; putbcd: the register AH as two digits
putbcd:
        push rax
        call rtc_read
        movzx eax, al
        HEX rax, 2
        pop rax
        ret

; is_bcd: CF clear if AL holds two BCD digits
is_bcd:
        push rax
        mov ah, al
        and al, 0x0f
        cmp al, 10
        jae .no
        shr ah, 4
        cmp ah, 10
        jae .no
        pop rax
        clc
        ret
.no:    pop rax
        stc
        ret

; wait_no_uip: until register A's update-in-progress bit is clear; then
; the time registers stay stable for at least 244 us.
wait_no_uip:
        mov ah, REG_A
.poll:  call rtc_read
        test al, A_UIP
        jnz .poll
        ret

; SHOWN n: byte n of what was read, as two hex (BCD) digits
%macro SHOWN 1
        movzx eax, byte [shown + %1]
        HEX rax, 2
%endmacro

main64:
        call intr_init
        mov eax, PIC_VECTOR + 8
        mov rdx, rtc_isr
        call intr_set_gate
        mov al, 0xfb                    ; master: only IRQ2, the cascade
        out PIC1 + 1, al
        mov al, 0xfe                    ; slave: only IRQ8
        out PIC2 + 1, al

        ; UIP is status, not a power-on value: the clock's first update
        ; runs in the first 2 ms of guest time, and a fast CPU gets here
        ; sooner.
        call wait_no_uip
        PRINT "rtc: power-on registers A="
        mov ah, REG_A
        call putbcd
        PRINT " B="
        mov ah, REG_B
        call putbcd
        PRINT " D="
        mov ah, REG_D
        call putbcd
        PRINT 10

        ; The host's time: every field must be BCD.
        call wait_no_uip
        mov ecx, 7
        lea rsi, [rel time_regs]
.field: lodsb
        mov ah, al
        call rtc_read
        call is_bcd
        jc .not_bcd
        loop .field
        PRINT "rtc: the running clock reads as BCD", 10

        ; Set Thursday 2024-02-29 23:59:59 with the update cycle held.
        mov ah, REG_B
        mov al, B_SET | B_24H
        call rtc_write
        lea rsi, [rel set_time]
.set:   lodsw                           ; AL = register, AH = value
        cmp al, 0xff
        je .set_done
        xchg al, ah
        call rtc_write
        jmp .set
.set_done:
        mov ah, REG_C                   ; drop stale flags
        call rtc_read
        mov ah, REG_B                   ; run, with both interrupts on
        mov al, B_PIE | B_UIE | B_24H
        call rtc_write

.wait:  sti
        hlt
        cli
        cmp byte [update_seen], 0
        je .wait
        cmp dword [periodic], PERIODIC_COUNT
        jb .wait
        ; Read the clock at once, before the slow printing: the next update
        ; is a second away.
        call wait_no_uip
        lea rsi, [rel show_regs]
        lea rdi, [rel shown]
.save:  lodsb
        cmp al, 0xff
        je .saved
        mov ah, al
        call rtc_read
        stosb
        jmp .save
.saved: mov ah, REG_B
        mov al, B_24H
        call rtc_write

        PRINT "rtc: at least 64 periodic interrupts at 1024 Hz, then IRQ8 for the update", 10
        PRINT "rtc: after 23:59:59 on Thursday 2024-02-29 the clock reads "
        SHOWN 0                         ; century
        SHOWN 1                         ; year
        PRINT "-"
        SHOWN 2
        PRINT "-"
        SHOWN 3
        PRINT " "
        SHOWN 4
        PRINT ":"
        SHOWN 5
        PRINT ":"
        SHOWN 6
        PRINT ", weekday "
        SHOWN 7
        PRINT 10
        EXIT EXIT_PASS

.not_bcd:
        PRINT "rtc: a time register is not BCD", 10
        EXIT EXIT_FAIL

; IRQ8: register C says which interrupts happened and reading it clears
; them; without that read the RTC raises no further interrupt.
rtc_isr:
        push rax
        mov ah, REG_C
        call rtc_read
        test al, C_PF
        jz .no_pf
        inc dword [periodic]
.no_pf: test al, C_UF
        jz .eoi
        mov byte [update_seen], 1       ; the first update is the rollover
.eoi:   PIC_EOI 8
        pop rax
        iretq

time_regs:      db REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY, REG_MONTH, REG_YEAR
set_time:       db REG_SEC, 0x59, REG_MIN, 0x59, REG_HOUR, 0x23, REG_WDAY, 0x05
                db REG_MDAY, 0x29, REG_MONTH, 0x02, REG_YEAR, 0x24, CMOS_CENTURY, 0x20
                db 0xff, 0xff
; century, year, month, day, hour, minute, second, weekday
show_regs:      db CMOS_CENTURY, REG_YEAR, REG_MONTH, REG_MDAY, REG_HOUR, REG_MIN, REG_SEC
                db REG_WDAY, 0xff
shown:          times 8 db 0
        align 4, db 0
periodic:       dd 0
update_seen:    db 0
        MB_FILE_END
        LONGMODE_BSS
        MB_STACK_END
