; AP start-up trampoline (SDM Vol. 3A 8.4.4 and 9.9): copied to a page below
; 1 MiB whose number is the SIPI vector; an AP starts here in real mode with
; CS = page << 8, IP = 0, and leaves in 64-bit mode on its own stack,
; calling ap_entry(index). Position independent: every address is computed
; from CS, the page base, at run time.
bits 16
default abs
section .rodata

global ap_trampoline_start, ap_trampoline_end
global ap_tramp_cr3, ap_tramp_entry, ap_tramp_count, ap_tramp_stacks

ap_trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                       ; ebx = linear base of this page
	lea eax, [ebx + (tr_gdt - ap_trampoline_start)]
	mov [tr_gdtr - ap_trampoline_start + 2], eax
	lgdt [tr_gdtr - ap_trampoline_start]
	lea eax, [ebx + (tr_pm32 - ap_trampoline_start)]
	mov [tr_far32 - ap_trampoline_start], eax
	mov eax, cr0
	or eax, 1                        ; PE
	mov cr0, eax
	jmp dword far [tr_far32 - ap_trampoline_start]

bits 32
tr_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 1 << 5                   ; PAE
	mov cr4, eax
	mov eax, [ebx + (ap_tramp_cr3 - ap_trampoline_start)]
	mov cr3, eax
	mov ecx, 0xc0000080              ; EFER
	rdmsr
	or eax, 1 << 8                   ; LME
	wrmsr
	mov eax, cr0
	or eax, 0x80000001               ; PG | PE
	mov cr0, eax
	lea eax, [ebx + (tr_lm64 - ap_trampoline_start)]
	mov [ebx + (tr_far64 - ap_trampoline_start)], eax
	jmp far [ebx + (tr_far64 - ap_trampoline_start)]

bits 64
tr_lm64:
	mov eax, 1
	lock xadd [rbx + (ap_tramp_count - ap_trampoline_start)], eax
	inc eax                          ; this AP's index: 1, 2, ...
	mov rsp, [rbx + (ap_tramp_stacks - ap_trampoline_start) + rax * 8]
	mov edi, eax
	mov rax, [rbx + (ap_tramp_entry - ap_trampoline_start)]
	xor ebp, ebp
	call rax
.hang:
	cli
	hlt
	jmp .hang

align 16
tr_gdt:
	dq 0
	dq 0x00cf9a000000ffff            ; 0x08: 32-bit code
	dq 0x00cf92000000ffff            ; 0x10: data
	dq 0x00af9a000000ffff            ; 0x18: 64-bit code
tr_gdtr:
	dw 4 * 8 - 1
	dd 0
tr_far32:
	dd 0
	dw 0x08
tr_far64:
	dd 0
	dw 0x18
align 8
ap_tramp_cr3:    dq 0
ap_tramp_entry:  dq 0
ap_tramp_count:  dd 0
	dd 0
ap_tramp_stacks: times 16 dq 0
ap_trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
