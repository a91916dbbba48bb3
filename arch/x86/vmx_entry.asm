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
; switched here. A VM exit lands at vmx_exit (VMCS host RIP) with RSP = fx
; (the VMCS host RSP written below: the fast path finds its data and its
; scratch slots at [rsp + FX_...]; interrupts are off, NMI, #DF and #MC have
; their own stack), stores the guest's GPRs and returns 0 from here. When
; VMLAUNCH/VMRESUME itself fails the instruction falls through:
; 1 = VMfailValid (error number in the VMCS), 2 = VMfailInvalid.
; fx: the exit fast path's data (docs/performance.md).
global vmx_run
vmx_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov [rdx + FX_HOST_RSP], rsp
	mov [rdx + FX_GPRS], rdi
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rdx
	mov rsp, rdx
	test esi, esi           ; launched? MOVs below leave the flags alone
	mov rax, [rdi + G_RAX]
	GPRS_LOAD_FROM_RDI
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
	mov rsp, [rsp + FX_HOST_RSP]
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; RIP past the instruction (the CPU gives its length, prefixes included,
; which no result here depends on) and its STI/MOV SS blocking over.
; Clobbers RAX, RDX; the RCX slot is scratch.
%macro skip_insn 1
	mov eax, VMCS_EXIT_INSN_LEN
	vmread rdx, rax
	mov eax, VMCS_GUEST_RIP
	vmread [rsp + FX_RCX], rax
	add rdx, [rsp + FX_RCX]
	vmwrite rax, rdx
	mov eax, VMCS_GUEST_INTERRUPTIBILITY
	vmread rdx, rax
	test dl, 3
	jnz .fx_shadow_%1
.fx_shadow_done_%1:
%endmacro

%macro shadow_off 1
.fx_shadow_%1:
	and edx, ~3
	vmwrite rax, rdx
	jmp .fx_shadow_done_%1
%endmacro

; The TSC in RBX to the guest's EDX:EAX, the guest's RBX back, and in.
%macro tsc_enter 0
	mov eax, ebx
	mov rdx, rbx
	shr rdx, 32
	mov rbx, [rsp + FX_RBX]
	vmresume
	jmp vmx_run.failed      ; flags say how; the guest's GPRs are lost with the VM
%endmacro

; VM exit: RSP = fx, RFLAGS = 2 (interrupts off), guest GPRs still in the
; registers.
global vmx_exit
vmx_exit:
	; The exit fast path: RDTSC, RDTSCP, CPUID of the leaves in fx->cpuid
	; and the null hypercall answered here and the guest resumed (an
	; instruction's own exit never comes during the delivery of an event:
	; the IDT-vectoring information is valid only for exits that do, SDM
	; Vol. 3C 28.2.4). Anything else: the registers as the exit left them,
	; to the slow path below. The VMX-preemption timer keeps counting
	; across these entries (its value is saved at every exit; where the CPU
	; cannot, fx->leave_tsc and leave_at are 0 and nothing is answered
	; here), so a guest looping here with IF = 0 still leaves by the
	; deadline the run loop set.
	mov [rsp + FX_RAX], rax
	mov [rsp + FX_RDX], rdx
	mov [rsp + FX_RBX], rbx
	mov eax, VMCS_EXIT_REASON
	vmread rbx, rax
	cmp ebx, VMX_EXIT_RDTSC
	jne .fx_other
	FX_GUEST_TSC .fx_back, rd
	inc qword [rsp + FX_N_RDTSC]
	skip_insn rd
	tsc_enter

.fx_other:
	cmp ebx, VMX_EXIT_RDTSCP
	jne .fx_other2
	FX_GUEST_TSC .fx_back, rdp
	mov ecx, [rsp + FX_TSC_AUX]     ; guest RCX = TSC_AUX
	inc qword [rsp + FX_N_RDTSCP]
	skip_insn rdp
	tsc_enter

	FX_GUEST_TSC_COLD rd
	FX_GUEST_TSC_COLD rdp
	shadow_off rd
	shadow_off rdp

.fx_other2:
	cmp ebx, VMX_EXIT_CPUID
	je .fx_cpuid
	cmp ebx, VMX_EXIT_VMCALL
	jne .fx_back

	cmp qword [rsp + FX_RAX], 0     ; the null hypercall: RAX = 0 in and out
	jne .fx_back
	FX_DEADLINE .fx_back
	inc qword [rsp + FX_N_HC]
	skip_insn hc
	xor eax, eax
	mov rdx, [rsp + FX_RDX]
	mov rbx, [rsp + FX_RBX]
	vmresume
	jmp vmx_run.failed
	shadow_off hc

.fx_cpuid:
	FX_DEADLINE .fx_back
	mov edx, [rsp + FX_RAX]         ; the leaf
	FX_CPUID_FIND .fx_cpuid_hit, .fx_back
.fx_cpuid_hit:
	inc qword [rsp + FX_N_CPUID]
	skip_insn cpuid
	mov eax, [rbx + 4]
	mov ecx, [rbx + 12]
	mov edx, [rbx + 16]
	mov ebx, [rbx + 8]
	vmresume
	jmp vmx_run.failed
	shadow_off cpuid

; Not answered after all: the guest's RBX and RDX back (RAX is in its
; slot), then the slow path.
.fx_back:
	mov rbx, [rsp + FX_RBX]
	mov rdx, [rsp + FX_RDX]
	mov rax, [rsp + FX_GPRS]
	GPRS_STORE_TO_RAX
	mov rcx, [rsp + FX_RAX]
	mov [rax + G_RAX], rcx
	mov rsp, [rsp + FX_HOST_RSP]
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
