; AMD SVM world switch (APM Vol. 2, 15.5 VMRUN; 15.5.2 VMSAVE/VMLOAD).
bits 64
default rel
section .text

%include "gprs.inc"

; VMCB offsets (arch/x86/svm.h, APM Vol. 2 appendix B).
%define VMCB_INT_SHADOW    0x068
%define VMCB_EXIT_CODE     0x070
%define VMCB_EVENT_INJ     0x0a8
%define VMCB_CS_BASE       0x418
%define VMCB_CR4           0x548
%define VMCB_CR3           0x550
%define VMCB_CR0           0x558
%define VMCB_RIP           0x578
%define VMCB_RAX           0x5f8

%define SVM_EXIT_RDTSC     0x6e
%define SVM_EXIT_CPUID     0x72
%define SVM_EXIT_VMMCALL   0x81
%define SVM_EXIT_RDTSCP    0x87

%include "fastexit.inc"

; void svm_run(struct gprs *g, uint64_t vmcb_pa, uint64_t host_vmcb_pa,
;              struct fastexit *fx)
; RAX, RSP, RIP and RFLAGS travel in the VMCB; the other GPRs are switched
; here. VMLOAD/VMSAVE switch FS, GS, TR, LDTR, KernelGSBase and the SYSCALL
; and SYSENTER MSRs, which VMRUN itself leaves alone. Called with GIF clear.
;
; The exit fast path (docs/performance.md) runs right after VMRUN, before
; anything of the guest's is saved: GIF is still 0 (no interrupt, no NMI
; can come), FS, GS, TR... are still the guest's and stay so, because the
; guest is entered again from here. It answers RDTSC, RDTSCP, CPUID of
; the leaves in fx->cpuid and the null hypercall, and goes to the slow
; path (the C run loop, through the usual return) for anything else, with
; every register as the exit left it.
global svm_run
svm_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rcx                ; struct fastexit *
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
.enter:
	vmrun		; [rax]
	; Frame: [rsp] guest VMCB pa, +8 gprs, +16 host VMCB pa, +24 fx. The
	; guest's RBX, RCX, RDX are the fast path's scratch registers: pushed
	; here, each popped back (possibly replaced by a result) on either way
	; out.
	push rbx
	push rcx
	push rdx                ; [rsp] RDX, +8 RCX, +16 RBX, +24 VMCB pa, +48 fx
	mov rax, [rsp + 24]
	mov rcx, [rsp + 48]
	mov ebx, [rax + VMCB_EXIT_CODE]
	cmp ebx, SVM_EXIT_RDTSC
	je .fx_tsc
	cmp ebx, SVM_EXIT_CPUID
	je .fx_cpuid
	cmp ebx, SVM_EXIT_VMMCALL
	je .fx_hc
	cmp ebx, SVM_EXIT_RDTSCP
	je .fx_tsc
.fx_slow:
	pop rdx
	pop rcx
	pop rbx
	jmp .slow

; RDX := the first 4 bytes of the exiting instruction, when RIP's page is
; the one recorded and still translates as then (every check XORed into
; RBX, one branch); else to the slow path. RAX = VMCB, RCX = fx. The page
; of RIP + 3 is compared: the same page, and all four bytes in it. An
; intercepted instruction's exit never comes during the delivery of an
; event (EXITINTINFO is valid only for those, APM 15.7.2): no check.
%macro insn_bytes 0
	mov rbx, [rax + VMCB_CR3]
	xor rbx, [rcx + FX_CR3]
	mov rdx, [rax + VMCB_CR0]
	xor rdx, [rcx + FX_CR0]
	or rbx, rdx
	or rbx, [rax + VMCB_CS_BASE]
	mov rdx, [rax + VMCB_RIP]
	add rdx, 3
	and rdx, -4096
	xor rdx, [rcx + FX_PAGE]
	or rbx, rdx
%assign i 0
%rep 4
	mov rdx, [rcx + FX_PTE + 8 * i]
	mov rdx, [rdx]
	xor rdx, [rcx + FX_VAL + 8 * i]
	or rbx, rdx
%assign i i + 1
%endrep
	jnz .fx_slow
	mov rdx, [rax + VMCB_RIP]
	add rdx, [rcx + FX_HOST_DELTA]
	mov edx, [rdx]
%endmacro

.fx_tsc:
	test byte [rcx + FX_OK], FX_OK_TSC
	jz .fx_slow
	insn_bytes
	cmp dx, 0x310f          ; RDTSC
	je .fx_rdtsc
	and edx, 0xffffff
	cmp edx, 0xf9010f       ; RDTSCP (QEMU: also an exit 0x6e)
	jne .fx_slow
	FX_GUEST_TSC .fx_slow
	mov ebx, [rcx + FX_TSC_AUX]
	mov [rsp + 8], rbx      ; guest RCX = TSC_AUX
	inc qword [rcx + FX_N_RDTSCP]
	mov rdx, [rsp + 24]     ; VMCB
	add qword [rdx + VMCB_RIP], 3
	jmp .fx_tsc_out
.fx_rdtsc:
	FX_GUEST_TSC .fx_slow
	inc qword [rcx + FX_N_RDTSC]
	mov rdx, [rsp + 24]     ; VMCB
	add qword [rdx + VMCB_RIP], 2
.fx_tsc_out:
	mov ebx, eax
	mov [rdx + VMCB_RAX], rbx   ; guest RAX = low half
	shr rax, 32
	mov [rsp], rax          ; guest RDX = high half
	mov rax, rdx
	jmp .fx_over

.fx_cpuid:
	test byte [rcx + FX_OK], FX_OK_CPUID
	jz .fx_slow
	FX_DEADLINE .fx_slow
	mov rax, [rsp + 24]     ; VMCB
	insn_bytes
	cmp dx, 0xa20f
	jne .fx_slow
	mov edx, [rax + VMCB_RAX]
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
	mov [rax + VMCB_RAX], rdx
	mov edx, [rbx + 8]
	mov [rsp + 16], rdx     ; guest RBX
	mov edx, [rbx + 12]
	mov [rsp + 8], rdx      ; guest RCX
	mov edx, [rbx + 16]
	mov [rsp], rdx          ; guest RDX
	inc qword [rcx + FX_N_CPUID]
	mov ebx, 2
	jmp .fx_done

.fx_hc:
	test byte [rcx + FX_OK], FX_OK_HC
	jz .fx_slow
	cmp qword [rax + VMCB_RAX], 0   ; the null hypercall: returns 0
	jne .fx_slow
	FX_DEADLINE .fx_slow
	mov rax, [rsp + 24]     ; VMCB
	insn_bytes
	and edx, 0xffffff
	cmp edx, 0xd9010f       ; VMMCALL
	jne .fx_slow
	inc qword [rcx + FX_N_HC]
	mov ebx, 3

; The instruction is done: RIP past it (same page: no wrap), its STI/MOV SS
; shadow over, nothing to inject (an exit during event delivery never
; comes here: see insn_bytes).
.fx_done:
	add [rax + VMCB_RIP], rbx
.fx_over:
	xor ebx, ebx
	mov [rax + VMCB_INT_SHADOW], rbx
	mov [rax + VMCB_EVENT_INJ], rbx
	pop rdx
	pop rcx
	pop rbx
	jmp .enter              ; RAX = guest VMCB pa

.slow:
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
	add rsp, 8              ; fx
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
