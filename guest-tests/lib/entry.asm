; entry.asm — multiboot v1 entry of a guest test, 32-bit protected mode to
; long mode, the application processors' way from real mode to the same
; place, and the exception stubs.
;
; Multiboot v1 hand-off (Multiboot Specification 0.6.96, section 3.2):
; EAX = 0x2BADB002, EBX = physical address of the multiboot info, CS/DS/ES/SS
; flat 32-bit, paging off, interrupts off, GDTR/IDTR undefined, no stack.
;
; We load our own GDT, zero .bss, identity-map the first 4 GiB with 2 MiB
; pages (so the LAPIC at 0xFEE00000, the ACPI tables and all of a small
; guest's RAM are reachable), enable PAE + EFER.LME + paging (SDM vol. 3A
; 10.8.5 "Initializing IA-32e Mode") and far-jump into 64-bit code, which
; calls lib_start(magic, mbi) in C on our own stack.

MB_HEADER_MAGIC equ 0x1BADB002
MB_HEADER_FLAGS equ 0x00000003		; bit 0: page-align modules, bit 1: want mem info

SEL_CODE64	equ 0x08
SEL_DATA	equ 0x10
SEL_CODE32	equ 0x18

STACK_SIZE	equ 16384

section .multiboot progbits alloc noexec nowrite align=4
	dd MB_HEADER_MAGIC
	dd MB_HEADER_FLAGS
	dd -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

section .rodata
align 16
gdt:
	dq 0				; null
	dq 0x00AF9A000000FFFF		; 0x08: 64-bit code, DPL 0
	dq 0x00CF92000000FFFF		; 0x10: flat data, 4 GiB
	dq 0x00CF9A000000FFFF		; 0x18: flat 32-bit code, 4 GiB
gdt_end:

align 4
gdt_desc:
	dw gdt_end - gdt - 1
	dd gdt				; 32-bit base: usable from 32-bit and 64-bit mode
	dd 0

section .data
global mb_magic, mb_info_addr
mb_magic:	dd 0
mb_info_addr:	dd 0

section .bss nobits alloc noexec write align=4096
alignb 4096
pml4:		resb 4096
pdpt:		resb 4096
pds:		resb 4 * 4096		; 4 page directories: 4 x 1 GiB
alignb 16
stack_bottom:	resb STACK_SIZE
stack_top:

section .text
extern __bss_start, __bss_end
extern lib_start, lib_exception

bits 32
global mb_entry32
mb_entry32:
	cli
	cld
	mov	ebp, eax		; magic
	mov	esi, ebx		; multiboot info
	lgdt	[gdt_desc]
	mov	ax, SEL_DATA
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	fs, ax
	mov	gs, ax
	jmp	SEL_CODE32:.flat

.flat:
	; Zero .bss (page tables and stack live there). The loader may have done
	; it already; a loader that did not must not hurt us.
	mov	edi, __bss_start
	mov	ecx, __bss_end
	sub	ecx, edi
	shr	ecx, 2
	xor	eax, eax
	rep stosd
	mov	[mb_magic], ebp
	mov	[mb_info_addr], esi
	mov	esp, stack_top

	; PML4[0] -> PDPT, PDPT[0..3] -> the four page directories.
	mov	eax, pdpt + 0x3			; present, writable
	mov	[pml4], eax
	mov	eax, pds + 0x3
	xor	ecx, ecx
.pdpt_loop:
	mov	[pdpt + ecx * 8], eax
	add	eax, 4096
	inc	ecx
	cmp	ecx, 4
	jb	.pdpt_loop

	; 2048 2 MiB pages: entry i maps i << 21. From 3 GiB up (MMIO: LAPIC,
	; IOAPIC, PCI holes) the pages are uncacheable (PCD | PWT), whatever the
	; MTRRs say. The high dwords stay zero (all addresses < 4 GiB).
	xor	ecx, ecx
.pd_loop:
	mov	eax, ecx
	shl	eax, 21
	or	eax, 0x83			; present, writable, PS (2 MiB)
	cmp	ecx, 1536
	jb	.cacheable
	or	eax, 0x18			; PWT | PCD
.cacheable:
	mov	[pds + ecx * 8], eax
	inc	ecx
	cmp	ecx, 2048
	jb	.pd_loop

	mov	eax, pml4
	mov	cr3, eax
	mov	eax, cr4
	or	eax, 1 << 5			; CR4.PAE
	mov	cr4, eax
	mov	ecx, 0xC0000080			; IA32_EFER
	rdmsr
	or	eax, 1 << 8			; LME
	wrmsr
	mov	eax, cr0
	or	eax, 0x80000001			; PG | PE
	mov	cr0, eax
	jmp	SEL_CODE64:long_entry

bits 64
long_entry:
	mov	ax, SEL_DATA
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	xor	eax, eax
	mov	fs, ax
	mov	gs, ax
	mov	rsp, stack_top
	xor	ebp, ebp
	mov	edi, [rel mb_magic]
	mov	esi, [rel mb_info_addr]
	call	lib_start			; never returns
.hang:
	cli
	hlt
	jmp	.hang

; ---- application processors ----
; smp.c copies ap_trampoline..ap_trampoline_end to AP_TRAMPOLINE (below
; 1 MiB, page aligned) and sends each AP INIT, SIPI, SIPI with vector
; AP_TRAMPOLINE >> 12. The AP starts in real mode at CS = vector << 8,
; IP = 0 (SDM vol. 3A 9.4.4.2, 11.6.1), so the trampoline refers to its own
; bytes relative to CS and to its copy's linear address once in protected
; mode. It counts its entry, loads our GDT, enters protected mode, then long
; mode with the BSP's page tables exactly as mb_entry32 does, and jumps to
; ap_long_entry in the kernel image above 1 MiB.

AP_TRAMPOLINE	equ 0x7000		; = AP_TRAMPOLINE_BASE in guest.h
%define TRAMP(x) (AP_TRAMPOLINE + ((x) - ap_trampoline))

global ap_trampoline, ap_trampoline_end, ap_trampoline_entries
extern ap_start, apic_to_cpu, ap_stack_tops, lapic_mmio

bits 16
ap_trampoline:
	cli
	cld
	mov	ax, cs
	mov	ds, ax
	lock inc dword [ap_trampoline_entries - ap_trampoline]
	o32 lgdt [ap_gdt_desc - ap_trampoline]
	mov	eax, cr0
	or	eax, 1				; PE
	mov	cr0, eax
	jmp	dword SEL_CODE32:TRAMP(ap_prot32)

bits 32
ap_prot32:
	mov	ax, SEL_DATA
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	fs, ax
	mov	gs, ax
	mov	eax, cr4
	or	eax, 1 << 5			; CR4.PAE
	mov	cr4, eax
	mov	eax, pml4			; the BSP's identity map
	mov	cr3, eax
	mov	ecx, 0xC0000080			; IA32_EFER
	rdmsr
	or	eax, 1 << 8			; LME
	wrmsr
	; PG | ET | PE. INIT leaves CD and NW set (caches off): clear them.
	mov	eax, 0x80000011
	mov	cr0, eax
	jmp	SEL_CODE64:ap_long_entry

align 4
ap_trampoline_entries:
	dd	0
ap_gdt_desc:
	dw	gdt_end - gdt - 1
	dd	gdt
ap_trampoline_end:

bits 64
; The AP finds who it is from its LAPIC ID (apic_to_cpu, filled by the BSP
; from the MADT) and takes that CPU's stack; an ID the BSP does not know
; halts for good.
ap_long_entry:
	mov	ax, SEL_DATA
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	xor	eax, eax
	mov	fs, ax
	mov	gs, ax
	mov	rax, [rel lapic_mmio]
	mov	eax, [rax + 0x20]		; LAPIC ID register
	shr	eax, 24
	lea	rdx, [rel apic_to_cpu]
	movzx	edi, byte [rdx + rax]
	cmp	edi, 0xff
	je	.dead
	lea	rdx, [rel ap_stack_tops]
	mov	rsp, [rdx + rdi * 8]
	test	rsp, rsp
	jz	.dead
	xor	ebp, ebp
	call	ap_start			; ap_start(cpu), never returns
.dead:
	cli
	hlt
	jmp	.dead

; ---- exceptions and interrupts ----
; One stub per vector pushes a dummy error code where the CPU pushes none,
; then the vector, then the general registers, and calls
; lib_exception(struct exc_frame *). That either does not return (the test
; fails) or returns after changing the saved RIP (rdmsr_safe and friends):
; then we restore the registers and IRETQ.
; Vectors with an error code: 8, 10-14, 17, 21, 29, 30 (SDM vol. 3A 6.3.1).

%macro ISR 1
isr_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
%else
	push	0
%endif
	push	%1
	jmp	isr_common
%endmacro

%assign v 0
%rep 256
ISR v
%assign v v + 1
%endrep

isr_common:
	push	rax
	push	rbx
	push	rcx
	push	rdx
	push	rsi
	push	rdi
	push	rbp
	push	r8
	push	r9
	push	r10
	push	r11
	push	r12
	push	r13
	push	r14
	push	r15
	mov	rdi, rsp
	mov	rbx, rsp			; callee-saved: the frame
	and	rsp, -16			; SysV: 16-byte aligned at the call
	cld
	call	lib_exception
	mov	rsp, rbx
	pop	r15
	pop	r14
	pop	r13
	pop	r12
	pop	r11
	pop	r10
	pop	r9
	pop	r8
	pop	rbp
	pop	rdi
	pop	rsi
	pop	rdx
	pop	rcx
	pop	rbx
	pop	rax
	add	rsp, 16				; vector, error code
	iretq

section .rodata
align 8
global isr_table
isr_table:
%assign v 0
%rep 256
	dq isr_ %+ v
%assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
