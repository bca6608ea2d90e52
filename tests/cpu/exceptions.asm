; exceptions: vectors and error codes in 32-bit protected mode, privilege
; checks from ring 3 (IOPL, I/O permission bitmap, gate DPL), a double fault
; and the STI shadow bookkeeping. The transcript lists every exception taken.
%include "guest.inc"

main32:
	PRINT `exceptions\n`
	; #DE
	mov dword [resume], .de
	xor edx, edx
	mov eax, 1
	xor ecx, ecx
	div ecx
.de:
	; #DE on quotient overflow
	mov dword [resume], .de2
	mov edx, 2
	mov ecx, 1
	div ecx
.de2:
	; #UD
	mov dword [resume], .ud
	ud2
.ud:
	; #GP(sel): selector beyond the GDT limit
	mov dword [resume], .gp
	mov ax, 0x1000
	mov ds, ax
.gp:
	mov ax, SEL_DATA32
	mov ds, ax
	; #NP(sel): not-present data segment
	mov dword [resume], .np
	mov ax, SEL_NPDATA
	mov es, ax
.np:
	; #GP(0): null DS then access
	mov dword [resume], .gp0
	xor ax, ax
	mov fs, ax
	mov eax, [fs:0]
.gp0:
	; #GP(0): limit violation (16-bit data segment of 64 KiB)
	mov dword [resume], .lim
	mov ax, SEL_DATA16
	mov gs, ax
	mov eax, [gs:0xfffe]
.lim:
	mov ax, SEL_DATA32
	mov gs, ax
	; #BR
	mov dword [resume], .br
	mov eax, 50
	bound eax, [bounds]
.br:
	; INT3 and INTO are traps: they resume after themselves anyway
	mov dword [resume], .bp
	int3
.bp:
	mov dword [resume], .of
	mov al, 0x7f
	add al, 1
	into
.of:
	; #AC is not enabled (CR0.AM=0): an unaligned access is fine
	mov eax, [0x20001]
	; #TS: LTR of a busy TSS is #GP(sel); a far jump to it too
	mov dword [resume], .busy
	mov ax, SEL_TSS
	ltr ax
.busy:
	; double fault: #GP while the #GP gate is not present -> #NP -> #DF
	mov dword [resume], .df
	and byte [IDT_BASE + 13 * 8 + 5], 0x7f
	mov ax, 0x1008
	mov ds, ax
.df:
	or byte [IDT_BASE + 13 * 8 + 5], 0x80
	mov ax, SEL_DATA32
	mov ds, ax

	; --- ring 3: gates for INT 0x80 (DPL 3) and INT 0x81 (DPL 0)
	mov eax, int80
	mov ecx, 0x80
	mov edx, 0xee00
	call set_gate
	mov eax, int80
	mov ecx, 0x81
	mov edx, 0x8e00
	call set_gate
	mov dword [resume], ring3_fault
	push dword SEL_DATA3
	push dword STACK_TOP - 0x2000
	push dword 0x002                ; IOPL 0, IF 0
	push dword SEL_CODE3
	push dword ring3
	iretd

ring3:
	mov ax, SEL_DATA3
	mov ds, ax
	mov es, ax
	PRINT `ring 3\n`                ; COM1 is allowed by the I/O bitmap
	mov dword [resume], .r1
	cli                             ; IOPL 0: #GP(0)
.r1:
	mov dword [resume], .r2
	in al, 0x80                     ; denied by the bitmap: #GP(0)
.r2:
	mov dword [resume], .r3
	hlt                             ; CPL 3: #GP(0)
.r3:
	mov dword [resume], .r4
	int 0x81                        ; gate DPL 0: #GP(0x81 * 8 + 2)
.r4:
	mov dword [resume], .r5
	mov eax, [0x7000]               ; fine: flat DPL 3 data, no paging
	mov ax, SEL_DATA32              ; DPL 0 data from CPL 3: #GP(sel)
	mov ds, ax
.r5:
	int 0x80                        ; to ring 0 and back
	PRINT `back in ring 3\n`
	mov dword [resume], .r6
	int 0x80
.r6:
	EXIT3 0

int80:
	PRINT `int 0x80 at cpl 0, cs=`
	mov eax, [esp + 4]
	call hex32
	mov al, 10
	call putc
	iretd

ring3_fault:
	PRINT `unexpected\n`
	EXIT 2

fail:
	PRINT `FAIL\n`
	EXIT 1

bounds: dd 0, 10

%include "tail.inc"
