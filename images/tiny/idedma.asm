; idedma: the PIIX3 IDE function driven the way Linux's ata_piix drives it,
; with no firmware in between (`--multiboot idedma.elf --disk ide-boot.img
; --cdrom cd.iso`, see tests/guest/ide_boot.sh):
;
;   PCI 00:01.1   vendor/device 8086:7010, class 010180h, IDETIM decode on;
;                 BAR4 programmed to 0xc000, COMMAND = I/O + bus master
;   primary       READ DMA (C8h) of 16 sectors through a two-entry PRD
;                 table, WRITE DMA (CAh) of one sector, READ DMA EXT (25h)
;                 of it back; each completes on IRQ 14 through the 8259s,
;                 the handler finds the bus-master Interrupt bit set and
;                 Active clear, stops the engine and acknowledges
;   secondary     ATAPI PACKET with the DMA feature bit: READ(10) of ISO
;                 sector 16 (the primary volume descriptor) on IRQ 15
;
; The disk is ide-boot.img: its sector L (8 to 70) starts with the word L.
; Prints one line per step and leaves with EXIT_PASS (status 33); a failing
; step prints "idedma: FAIL <step>" and leaves with EXIT_FAIL (status 3).
; Runs in long mode, as interrupts need (lib/longmode.inc).

        bits 32
LOAD    equ 0x100000
        org LOAD
%define GUEST_NAME "idedma"

%include "lib/multiboot.inc"
        MB_ELF32_KERNEL start

PCI_ADDR        equ 0xcf8
PCI_DATA        equ 0xcfc
IDE_CONFIG      equ 0x80000000 | (((1 << 3) | 1) << 8)  ; bus 0, 00:01.1
BM              equ 0xc000              ; BAR4: channel 0 at +0, 1 at +8
PRI             equ 0x1f0
SEC             equ 0x170
PRD0            equ 0x200000            ; PRD tables (dword aligned, one
PRD1            equ 0x201000            ; 64 KiB region each)
BUF             equ 0x300000
WBUF            equ 0x310000
CDBUF           equ 0x320000
WRITE_LBA       equ 200

start:
        mov esp, stack_top
        jmp enter_long_mode

%include "lib/longmode.inc"
%include "lib/serial.inc"
%include "lib/intr64.inc"
%include "lib/portio.inc"
%macro CHECK 2                          ; condition code, step name
        j%1 %%ok
        mov rsi, %%name
        jmp fail
%%name: db %2, 0
%%ok:
%endmacro

; EBX = config offset; EAX = the dword there.
pci_read:
        push rdx
        mov eax, IDE_CONFIG
        or eax, ebx
        mov dx, PCI_ADDR
        out dx, eax
        mov dx, PCI_DATA
        in eax, dx
        pop rdx
        ret

; EBX = config offset, ECX = dword to write.
pci_write:
        push rax
        push rdx
        mov eax, IDE_CONFIG
        or eax, ebx
        mov dx, PCI_ADDR
        out dx, eax
        mov eax, ecx
        mov dx, PCI_DATA
        out dx, eax
        pop rdx
        pop rax
        ret

; Bus master of channel RDI (BM or BM + 8): table RSI, direction AL (8 =
; to memory), Error and Interrupt cleared. The command comes next, then
; bm_start, as ata_bmdma_setup/start do.
bm_setup:
        push rax
        mov dx, di
        add dx, 4
        mov eax, esi
        out dx, eax
        pop rax
        mov dx, di
        out dx, al
        add dx, 2
        mov al, 0x06
        out dx, al
        ret

bm_start:
        mov dx, di
        in al, dx
        or al, 0x01
        out dx, al
        ret

; ATA command AL on channel RSI (task-file base) with LBA28 ECX, count BL.
ata_cmd28:
        push rax
        mov eax, ecx
        shr eax, 24
        and al, 0x0f
        or al, 0xe0
        lea edx, [esi + 6]
        out dx, al
        lea edx, [esi + 2]
        mov al, bl
        out dx, al
        mov eax, ecx
        lea edx, [esi + 3]
        out dx, al
        shr eax, 8
        inc edx
        out dx, al
        shr eax, 8
        inc edx
        out dx, al
        pop rax
        lea edx, [esi + 7]
        out dx, al
        ret

; Wait for the interrupt of channel CL (0 or 1); the handler leaves the
; bus-master status in [bm_status] and the device status in [dev_status].
; It spins rather than halts: with the timer masked a lost interrupt would
; otherwise halt the guest for good.
wait_irq:
        mov ebx, 100000000
        sti
.wait:  bt dword [irq_seen], ecx
        jc .done
        pause
        dec ebx
        jnz .wait
        cli
        mov rsi, f_noirq
        jmp fail
.done:  cli
        btr dword [irq_seen], ecx
        ret

; IRQ 14 and 15, as ata_bmdma_port_intr: Interrupt bit set? stop the engine,
; read the status (acknowledges INTRQ), clear the bus-master bits.
%macro IDE_ISR 3                        ; channel, task-file base, irq
ide_isr_%1:
        push rax
        push rdx
        mov dx, BM + 8 * %1 + 2
        in al, dx
        mov [bm_status + %1], al
        mov dx, BM + 8 * %1
        in al, dx
        and al, ~0x01
        out dx, al
        mov dx, %2 + 7
        in al, dx
        mov [dev_status + %1], al
        mov dx, BM + 8 * %1 + 2
        mov al, 0x06
        out dx, al
        bts dword [irq_seen], %1
        PIC_EOI %3
        pop rdx
        pop rax
        iretq
%endmacro
        IDE_ISR 0, PRI, 14
        IDE_ISR 1, SEC, 15

; After a DMA command on channel CL: the engine consumed its table and
; interrupted (status 04h), the device is ready (50h).
check_done:
        movzx eax, byte [bm_status + rcx]
        cmp al, 0x04
        CHECK e, "bus-master status"
        movzx eax, byte [dev_status + rcx]
        cmp al, 0x50
        CHECK e, "device status"
        ret

fail:
        PRINT "idedma: FAIL "
        call puts
        PRINT 10
        EXIT EXIT_FAIL

main64:
        call intr_init
        mov eax, PIC_VECTOR + 14
        mov rdx, ide_isr_0
        call intr_set_gate
        mov eax, PIC_VECTOR + 15
        mov rdx, ide_isr_1
        call intr_set_gate
        OUTB PIC1 + 1, 0xfb             ; the cascade
        OUTB PIC2 + 1, 0x3f             ; IRQ 14 and 15

        ; --- PCI ---------------------------------------------------------
        xor ebx, ebx
        call pci_read
        cmp eax, 0x70108086
        CHECK e, "vendor/device"
        mov ebx, 0x08
        call pci_read
        shr eax, 8
        cmp eax, 0x010180
        CHECK e, "class"
        mov ebx, 0x40
        call pci_read
        cmp eax, 0x80008000
        CHECK e, "IDETIM decode enables"
        mov ebx, 0x20
        mov ecx, BM
        call pci_write
        mov ebx, 0x04
        mov ecx, 0x0005                 ; I/O space, bus master
        call pci_write
        mov ebx, 0x20
        call pci_read
        cmp eax, BM | 1
        CHECK e, "BAR4"
        OUTB PRI + 0x206, 0x00          ; nIEN clear on both channels
        OUTB SEC + 0x206, 0x00
        PRINT "idedma: PCI 00:01.1 8086:7010 class 010180, BAR4 at c000", 10

        ; --- READ DMA: LBA 8, 16 sectors over two PRD entries ------------
        mov dword [PRD0], BUF
        mov dword [PRD0 + 4], 4096
        mov dword [PRD0 + 8], BUF + 0x8000
        mov dword [PRD0 + 12], 0x80000000 | 4096
        mov edi, BM
        mov esi, PRD0
        mov al, 0x08
        call bm_setup
        mov esi, PRI
        mov ecx, 8
        mov bl, 16
        mov al, 0xc8
        call ata_cmd28
        mov edi, BM
        call bm_start
        xor ecx, ecx
        call wait_irq
        call check_done
        xor ecx, ecx                    ; sector i at BUF (+ 0x8000 - 4096
.sect:  mov eax, ecx                    ; for the second entry) holds 8 + i
        shl eax, 9
        cmp ecx, 8
        jb .first
        add eax, 0x8000 - 4096
.first: movzx edx, word [BUF + rax]
        lea eax, [ecx + 8]
        cmp edx, eax
        CHECK e, "READ DMA data"
        inc ecx
        cmp ecx, 16
        jne .sect
        PRINT "idedma: READ DMA of 16 sectors on IRQ 14 ok", 10

        ; --- WRITE DMA of one sector, READ DMA EXT of it back ------------
        mov edi, WBUF
        mov ecx, 512
.fill:  mov eax, edi
        xor al, 0xa5
        mov [rdi], al
        inc edi
        loop .fill
        mov dword [PRD0], WBUF
        mov dword [PRD0 + 4], 0x80000000 | 512
        mov edi, BM
        mov esi, PRD0
        mov al, 0x00                    ; memory to device
        call bm_setup
        mov esi, PRI
        mov ecx, WRITE_LBA
        mov bl, 1
        mov al, 0xca
        call ata_cmd28
        mov edi, BM
        call bm_start
        xor ecx, ecx
        call wait_irq
        call check_done

        mov dword [PRD0], BUF
        mov edi, BM
        mov esi, PRD0
        mov al, 0x08
        call bm_setup
        OUTB PRI + 6, 0xe0              ; 48-bit: high bytes, then low
        OUTB PRI + 2, 0
        OUTB PRI + 3, 0
        OUTB PRI + 4, 0
        OUTB PRI + 5, 0
        OUTB PRI + 2, 1
        OUTB PRI + 3, WRITE_LBA
        OUTB PRI + 4, 0
        OUTB PRI + 5, 0
        OUTB PRI + 7, 0x25
        mov edi, BM
        call bm_start
        xor ecx, ecx
        call wait_irq
        call check_done
        mov rsi, WBUF
        mov rdi, BUF
        mov ecx, 512
        repe cmpsb
        CHECK e, "WRITE DMA data"
        PRINT "idedma: WRITE DMA and READ DMA EXT ok", 10

        ; --- ATAPI: PACKET (DMA) READ(10) of ISO sector 16 ---------------
        mov dword [PRD1], CDBUF
        mov dword [PRD1 + 4], 0x80000000 | 2048
        mov edi, BM + 8
        mov esi, PRD1
        mov al, 0x08
        call bm_setup
        OUTB SEC + 6, 0xa0
        OUTB SEC + 1, 0x01              ; features: DMA
        OUTB SEC + 4, 0
        OUTB SEC + 5, 0
        OUTB SEC + 7, 0xa0
        mov ebx, 1000000
.drq:   INB SEC + 0x206                 ; alternate status: DRQ, not BSY
        and al, 0x88
        cmp al, 0x08
        je .cdb
        dec ebx
        jnz .drq
        mov rsi, f_cdb
        jmp fail
.cdb:   mov dx, SEC
        mov rsi, read10
        mov ecx, 6
        rep outsw
        mov edi, BM + 8
        call bm_start
        mov ecx, 1
        call wait_irq
        call check_done
        INB SEC + 2                     ; interrupt reason: C/D and I/O
        and al, 0x03
        cmp al, 0x03
        CHECK e, "ATAPI interrupt reason"
        cmp byte [CDBUF], 1
        CHECK e, "ATAPI data"
        cmp dword [CDBUF + 1], 'CD00'
        CHECK e, "ATAPI data"
        PRINT "idedma: ATAPI READ(10) by DMA on IRQ 15 ok", 10
        EXIT EXIT_PASS

read10:         db 0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0, 0, 0
f_noirq:        db "no interrupt", 0
f_cdb:          db "no DRQ for the command packet", 0
        align 4, db 0
irq_seen:       dd 0
bm_status:      db 0, 0
dev_status:     db 0, 0
        MB_FILE_END
        LONGMODE_BSS
        MB_STACK_END
