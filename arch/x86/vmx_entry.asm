; Intel VMX world switch (SDM Vol. 3C, 26 VM entries, 27 VM exits, 31.6
; VMLAUNCH/VMRESUME).
bits 64
default rel
section .text

%include "gprs.inc"

%define VMCS_HOST_RSP 0x6c14

; int vmx_run(struct gprs *g, int launched)
; RSP, RIP and RFLAGS travel in the VMCS; every other GPR, RAX included, is
; switched here. A VM exit lands at vmx_exit (VMCS host RIP) on the stack
; recorded below (host RSP), stores the guest's GPRs and returns 0 from
; here. When VMLAUNCH/VMRESUME itself fails the instruction falls through:
; 1 = VMfailValid (error number in the VMCS), 2 = VMfailInvalid.
global vmx_run
vmx_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdi                ; struct gprs *: [rsp] at the exit
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	test esi, esi           ; launched? MOVs below leave the flags alone
	mov rax, [rdi + G_RAX]
	mov rcx, [rdi + G_RCX]
	mov rdx, [rdi + G_RDX]
	mov rbx, [rdi + G_RBX]
	mov rbp, [rdi + G_RBP]
	mov rsi, [rdi + G_RSI]
	mov r8,  [rdi + G_R8]
	mov r9,  [rdi + G_R9]
	mov r10, [rdi + G_R10]
	mov r11, [rdi + G_R11]
	mov r12, [rdi + G_R12]
	mov r13, [rdi + G_R13]
	mov r14, [rdi + G_R14]
	mov r15, [rdi + G_R15]
	mov rdi, [rdi + G_RDI]
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	mov eax, 1              ; ZF: VMfailValid
	jz .out
	mov eax, 2              ; CF: VMfailInvalid
.out:
	add rsp, 8              ; struct gprs *
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; VM exit: host RSP/RIP from the VMCS, RFLAGS = 2 (interrupts off), guest
; GPRs still in the registers.
global vmx_exit
vmx_exit:
	push rdi                ; guest rdi
	mov rdi, [rsp + 8]      ; struct gprs *
	mov [rdi + G_RAX], rax
	mov [rdi + G_RCX], rcx
	mov [rdi + G_RDX], rdx
	mov [rdi + G_RBX], rbx
	mov [rdi + G_RBP], rbp
	mov [rdi + G_RSI], rsi
	mov [rdi + G_R8],  r8
	mov [rdi + G_R9],  r9
	mov [rdi + G_R10], r10
	mov [rdi + G_R11], r11
	mov [rdi + G_R12], r12
	mov [rdi + G_R13], r13
	mov [rdi + G_R14], r14
	mov [rdi + G_R15], r15
	pop rax
	mov [rdi + G_RDI], rax
	add rsp, 8              ; struct gprs *
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
