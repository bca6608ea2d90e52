; icount: with --icount, guest time is retired instructions, so the TSC and
; the PIT counter read at fixed points of a program are the same on every
; run (the transcript is compared byte for byte): 60000 instructions per
; round are 60000 ns, i.e. 0xea60 TSC ticks and about 72 PIT ticks.
%include "guest.inc"

main32:
	PRINT `icount\n`
	; PIT channel 0, mode 2, full count: it counts down from 0x10000 at
	; 1.193182 MHz of guest time.
	mov al, 0x34
	out 0x43, al
	xor al, al
	out 0x40, al
	out 0x40, al
	mov esi, 3
.round:
	mov ecx, 20000
.work:	imul eax, ecx
	add ebx, eax
	loop .work
	rdtsc
	call hex32_edx_eax
	PRINT ` pit `
	mov al, 0x00                    ; latch channel 0
	out 0x43, al
	in al, 0x40
	mov ah, al
	in al, 0x40
	xchg al, ah
	movzx eax, ax
	call hex32
	mov al, 10
	call putc
	dec esi
	jnz .round
	EXIT 0

hex32_edx_eax:
	push eax
	mov eax, edx
	call hex32
	pop eax
	call hex32
	ret

%include "tail.inc"
