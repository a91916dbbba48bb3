; AMD SVM world switch (APM Vol. 2, 15.5 VMRUN; 15.5.2 VMSAVE/VMLOAD).
bits 64
default rel
section .text

%include "gprs.inc"

; void svm_run(struct gprs *g, uint64_t vmcb_pa, uint64_t host_vmcb_pa)
; RAX, RSP, RIP and RFLAGS travel in the VMCB; the other GPRs are switched
; here. VMLOAD/VMSAVE switch FS, GS, TR, LDTR, KernelGSBase and the SYSCALL
; and SYSENTER MSRs, which VMRUN itself leaves alone. Called with GIF clear.
global svm_run
svm_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdx                ; host VMCB pa
	push rdi                ; struct gprs *
	push rsi                ; guest VMCB pa
	mov rax, rsi
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
	vmload		; [rax]
	; With V_INTR_MASKING the host's IF at VMRUN (HIF) decides whether a
	; physical interrupt makes the guest exit (APM 15.21.1). GIF is 0 here,
	; so setting IF lets no interrupt into the hypervisor before VMRUN.
	sti
	vmrun		; [rax]
	cli
	mov rax, [rsp]          ; guest VMCB pa (do not rely on RAX after #VMEXIT)
	vmsave		; [rax]
	push rdi                ; guest rdi
	mov rdi, [rsp + 16]     ; struct gprs *
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
	add rsp, 8              ; guest VMCB pa
	pop rdi
	pop rax                 ; host VMCB pa
	vmload                  ; [rax]: the hypervisor's FS, GS, TR, ...
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; void svm_save_host(uint64_t host_vmcb_pa): record the hypervisor's own
; VMLOAD/VMSAVE state once per CPU.
global svm_save_host
svm_save_host:
	mov rax, rdi
	vmsave		; [rax]
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
