; Low-level entry points of the hypervisor (64-bit, position independent).
bits 64
default rel
section .text

; void arch_switch_stack(uint64_t stack_top, void (*fn)(void *), void *arg)
; Leave the firmware's stack for ours and call fn(arg); fn never returns.
global arch_switch_stack
arch_switch_stack:
	mov rsp, rdi
	xor ebp, ebp
	mov rdi, rdx
	call rsi
.hang:
	cli
	hlt
	jmp .hang

; Stubs for all 256 vectors (exceptions 0-31, host interrupts above), each TRAP_STUB_SIZE bytes apart so C can
; compute their addresses without relocations. Each pushes a dummy error code
; when the CPU does not push one (SDM Vol. 3A 6.13), then the vector number.
TRAP_STUB_SIZE equ 16
extern trap_dispatch

global trap_stubs
align 16
trap_stubs:
%assign v 0
%rep 256
	align TRAP_STUB_SIZE
%if v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30
	push qword v
%else
	push qword 0
	push qword v
%endif
	jmp trap_common
%assign v v+1
%endrep

; Frame layout (struct trap_frame in trap.h): r15 .. rax, vector, error code,
; then what the CPU pushed: rip, cs, rflags, rsp, ss.
trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call trap_dispatch
	mov rsp, rbx
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16
	iretq

section .note.GNU-stack noalloc noexec nowrite progbits
