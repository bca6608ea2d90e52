; modes: real mode -> 32-bit protected mode -> 32-bit paging (4 KiB and
; 4 MiB pages) -> PAE with NX -> long mode (64-bit and compatibility mode).
; Each step prints what it checked; any mismatch exits with status 1.
%include "guest.inc"

%define PD32   0x10000
%define PT32   0x11000
%define PDPT   0x12000
%define PDPAE  0x13000
%define PTPAE  0x14000
%define PML4   0x15000
%define PDPT64 0x16000
%define PD64   0x17000
%define DATA   0x20000

main32:
	PRINT `pm32\n`
	; --- 32-bit paging: PDE 0 = 4 MiB PSE page (identity), PDE 1 = a
	; page table that maps linear 0x400000 to physical DATA.
	mov edi, PD32
	mov ecx, 2048
	xor eax, eax
	rep stosd
	mov dword [PD32], 0x83                  ; 4 MiB, RW, present
	mov dword [PD32 + 4], PT32 | 3
	mov dword [PT32], DATA | 3
	mov dword [DATA], 0x12345678
	mov eax, cr4
	or eax, 0x10                            ; PSE
	mov cr4, eax
	mov eax, PD32
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	mov eax, [0x400000]
	cmp eax, 0x12345678
	jne fail
	mov dword [0x400004], 0xcafe
	PRINT `paging32 alias ok\n`
	; accessed/dirty bits of the 4 KiB PTE
	mov eax, [PT32]
	and eax, 0x60
	call hex32
	PRINT ` pte A/D\n`
	; #PF: not-present read at 0x800000
	mov dword [resume], .pf1
	mov eax, [0x800000]
.pf1:
	; #PF: write to a read-only page (WP=1 at CPL 0)
	and dword [PT32], ~2
	invlpg [0x400000]
	mov eax, cr0
	or eax, 0x10000                         ; WP
	mov cr0, eax
	mov dword [resume], .pf2
	mov dword [0x400000], 1
.pf2:
	mov eax, cr0
	and eax, 0x7fffffff
	mov cr0, eax
	cmp dword [DATA + 4], 0xcafe
	jne fail

	; --- PAE: PDPTE 0 -> PD with a 2 MiB identity page and a page table for
	; 0x200000.. that maps 0x200000 to DATA, NX on the page at 0x201000.
	mov edi, PDPT
	mov ecx, 0x6000 / 4
	xor eax, eax
	rep stosd
	mov dword [PDPT], PDPAE | 1
	mov dword [PDPAE], 0x83                 ; 2 MiB identity
	mov dword [PDPAE + 8], PTPAE | 3
	mov dword [PTPAE], DATA | 3
	mov dword [PTPAE + 8], 0x30000 | 3
	mov dword [PTPAE + 12], 0x80000000      ; NX
	mov byte [0x30000], 0xc3                ; ret
	mov ecx, 0xc0000080
	rdmsr
	or eax, 0x800                           ; NXE
	wrmsr
	mov eax, cr4
	or eax, 0x20
	mov cr4, eax
	mov eax, PDPT
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	cmp dword [0x200000], 0x12345678
	jne fail
	PRINT `pae alias ok\n`
	mov dword [resume], .nx
	call 0x201000                           ; fetch from an NX page
.nx:
	mov eax, cr0
	and eax, 0x7fffffff
	mov cr0, eax

	; --- long mode (paging off here: the INVLPG test's two pages, by
	; physical address)
	mov dword [0x201000], 0x11111111
	mov dword [0x601000], 0x22222222
	mov edi, PML4
	mov ecx, 0x3000 / 4
	xor eax, eax
	rep stosd
	mov dword [PML4], PDPT64 | 3
	mov dword [PDPT64], PD64 | 3
	mov dword [PD64], 0x83
	mov dword [PD64 + 8], 0x200083
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, 0x100                           ; LME
	wrmsr
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	rdmsr
	test eax, 0x400                         ; LMA
	jz fail
	jmp SEL_CODE64:long64

	bits 64
long64:
	mov rax, 0x123456789abcdef0
	mov rbx, rax
	shr rbx, 32
	cmp ebx, 0x12345678
	jne fail64
	mov r8, -1
	add r8, 2
	cmp r8, 1
	jne fail64
	mov rsi, msg64
	call puts64
	; INVLPG of any address in a 2 MiB page drops the whole page's
	; translation (SDM Vol. 3A 4.10.4.1), not just that 4 KiB: read through
	; 0x201000, move the 2 MiB page at 0x200000 to physical 0x600000,
	; INVLPG its first 4 KiB, and 0x201000 must show the new page.
	cmp dword [0x201000], 0x11111111
	jne fail64
	mov dword [PD64 + 8], 0x600083
	invlpg [0x200000]
	cmp dword [0x201000], 0x22222222
	jne fail64
	mov dword [PD64 + 8], 0x200083
	invlpg [0x200000]
	cmp dword [0x201000], 0x11111111
	jne fail64
	mov rsi, msginvlpg
	call puts64
	; CPUID.7.0 claims IA32_ARCH_CAPABILITIES (EDX bit 29) and no
	; structured feature (EBX 0); the MSR holds RDCL_NO, SSB_NO, MDS_NO
	; and ITS_NO (msr.c).
	mov eax, 7
	xor ecx, ecx
	cpuid
	test ebx, ebx
	jnz fail64
	cmp edx, 1 << 29
	jne fail64
	mov ecx, 0x10a
	rdmsr
	cmp eax, 0x31
	jne fail64
	cmp edx, 0x40000000
	jne fail64
	mov rsi, msgarchcap
	call puts64
	; compatibility mode and back
	push SEL_CODE32
	lea rax, [rel compat]
	push rax
	retfq

puts64:
	lodsb
	test al, al
	jz .d
	mov dx, COM1
	out dx, al
	jmp puts64
.d:	ret

fail64:
	mov al, 1
	out 0xf4, al
	hlt

	bits 32
compat:
	mov eax, 0xffffffff
	inc eax
	jnz fail
	PRINT `compat32\n`
	jmp SEL_CODE64:back64
	bits 64
back64:
	mov rsi, msgback
	call puts64
	mov al, 0
	out 0xf4, al
	hlt
msg64: db `long64\n`, 0
msgarchcap: db `arch caps ok\n`, 0
msginvlpg: db `invlpg 2m ok\n`, 0
msgback: db `back in 64-bit mode\n`, 0

	bits 32
fail:
	PRINT `FAIL\n`
	EXIT 1

%include "tail.inc"
