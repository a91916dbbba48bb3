; Intel VMX world switch (SDM Vol. 3C, 26 VM entries, 27 VM exits, 31.6
; VMLAUNCH/VMRESUME).
bits 64
default rel
section .text

%include "gprs.inc"
%include "fastexit.inc"

%define VMCS_HOST_RSP 0x6c14
%define VMCS_EXIT_REASON            0x4402
%define VMCS_EXIT_INSN_LEN          0x440c
%define VMCS_GUEST_INTERRUPTIBILITY 0x4824
%define VMCS_GUEST_RIP              0x681e

%define VMX_EXIT_CPUID   10
%define VMX_EXIT_RDTSC   16
%define VMX_EXIT_VMCALL  18
%define VMX_EXIT_RDTSCP  51


; int vmx_run(struct gprs *g, int launched, struct fastexit *fx)
; RSP, RIP and RFLAGS travel in the VMCS; every other GPR, RAX included, is
; switched here. A VM exit lands at vmx_exit (VMCS host RIP) on the stack
; recorded below (host RSP), stores the guest's GPRs and returns 0 from
; here. When VMLAUNCH/VMRESUME itself fails the instruction falls through:
; 1 = VMfailValid (error number in the VMCS), 2 = VMfailInvalid.
; fx: the exit fast path's data (docs/performance.md), or NULL for none.
global vmx_run
vmx_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdx                ; struct fastexit *: [rsp + 8] at the exit
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
	add rsp, 16             ; struct gprs *, fx
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
	; The exit fast path: RDTSC, RDTSCP, CPUID of the leaves in fx->cpuid
	; and the null hypercall answered here and the guest resumed, unless an
	; event was being delivered or the length is not the bare
	; instruction's. Anything else: the registers as the exit left them,
	; to the slow path below. The VMX-preemption timer keeps counting
	; across these entries (its value is saved at every exit: C passes fx
	; only then), so a guest looping here with IF = 0 still leaves by the
	; deadline the run loop set.
	push rax
	push rcx
	push rdx
	push rbx                ; [rsp] RBX, +8 RDX, +16 RCX, +24 RAX, +32 gprs, +40 fx
	mov rcx, [rsp + 40]
	test rcx, rcx
	jz .fx_slow
	mov eax, VMCS_EXIT_REASON
	vmread rbx, rax
	cmp ebx, VMX_EXIT_RDTSC
	je .fx_rdtsc
	cmp ebx, VMX_EXIT_CPUID
	je .fx_cpuid
	cmp ebx, VMX_EXIT_VMCALL
	je .fx_vmcall
	cmp ebx, VMX_EXIT_RDTSCP
	je .fx_rdtscp
.fx_slow:
	pop rbx
	pop rdx
	pop rcx
	pop rax
	jmp .slow

; Allowed (fx->ok bit %1). An instruction's own exit never comes during
; the delivery of an event (the IDT-vectoring information is valid only for
; exits that do, SDM Vol. 3C 28.2.4), and the CPU gives the length,
; prefixes included, which the result does not depend on.
%macro fx_check 1
	test byte [rcx + FX_OK], %1
	jz .fx_slow
%endmacro

.fx_rdtscp:
	fx_check FX_OK_TSC
	FX_GUEST_TSC .fx_slow
	mov ebx, [rcx + FX_TSC_AUX]
	mov [rsp + 16], rbx     ; guest RCX = TSC_AUX
	inc qword [rcx + FX_N_RDTSCP]
	jmp .fx_tsc_out
.fx_rdtsc:
	fx_check FX_OK_TSC
	FX_GUEST_TSC .fx_slow
	inc qword [rcx + FX_N_RDTSC]
.fx_tsc_out:
	mov ebx, eax
	mov [rsp + 24], rbx     ; guest RAX = low half
	shr rax, 32
	mov [rsp + 8], rax      ; guest RDX = high half
	jmp .fx_done

.fx_cpuid:
	fx_check FX_OK_CPUID
	FX_DEADLINE .fx_slow
	mov edx, [rsp + 24]     ; the leaf
%assign i 0
%rep 4
	lea rbx, [rcx + FX_CPUID + FX_CPUID_SZ * i]
	cmp edx, [rbx]
	je .fx_cpuid_hit
%assign i i + 1
%endrep
	jmp .fx_slow
.fx_cpuid_hit:
	mov edx, [rbx + 4]
	mov [rsp + 24], rdx     ; guest RAX
	mov edx, [rbx + 12]
	mov [rsp + 16], rdx     ; guest RCX
	mov edx, [rbx + 16]
	mov [rsp + 8], rdx      ; guest RDX
	mov edx, [rbx + 8]
	mov [rsp], rdx          ; guest RBX
	inc qword [rcx + FX_N_CPUID]
	jmp .fx_done

.fx_vmcall:
	fx_check FX_OK_HC
	cmp qword [rsp + 24], 0 ; the null hypercall: RAX = 0 in and out
	jne .fx_slow
	FX_DEADLINE .fx_slow
	inc qword [rcx + FX_N_HC]

; RIP past the instruction, its STI/MOV SS blocking over, and back into
; the guest.
.fx_done:
	mov eax, VMCS_EXIT_INSN_LEN
	vmread rbx, rax
	mov eax, VMCS_GUEST_RIP
	vmread rdx, rax
	add rdx, rbx
	vmwrite rax, rdx
	mov eax, VMCS_GUEST_INTERRUPTIBILITY
	vmread rbx, rax
	test bl, 3
	jnz .fx_shadow
.fx_enter:
	pop rbx
	pop rdx
	pop rcx
	pop rax
	vmresume
	jmp vmx_run.failed      ; flags say how; the guest's GPRs are lost with the VM
.fx_shadow:
	and ebx, ~3
	vmwrite rax, rbx
	jmp .fx_enter

.slow:
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
	add rsp, 16             ; struct gprs *, fx
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
