; AMD SVM world switch (APM Vol. 2, 15.5 VMRUN; 15.5.2 VMSAVE/VMLOAD).
bits 64
default rel
section .text

%include "gprs.inc"

; VMCB offsets (arch/x86/svm.h, APM Vol. 2 appendix B).
%define VMCB_INT_SHADOW    0x068
%define VMCB_EXIT_CODE     0x070
%define VMCB_CS_BASE       0x418
%define VMCB_RIP           0x578
%define VMCB_RAX           0x5f8

%define SVM_EXIT_RDTSC     0x6e
%define SVM_EXIT_CPUID     0x72
%define SVM_EXIT_VMMCALL   0x81
%define SVM_EXIT_RDTSCP    0x87

%include "fastexit.inc"

; The guest's RBX and RDX to their slots, then RBX := the host address of
; the exiting instruction's bytes, when its
; linear address (RIP + CS base) lies in the page the slow path recorded
; (fx->page, fastexit_learn()) with four bytes to spare; else to the slow
; path. RAX = the VMCB. The recorded page stays valid while no translation
; changed: the backend intercepts INVLPG and MOV to CR0/CR3/CR4 while one
; is recorded, and forgets it at the first (docs/performance.md). An
; intercepted instruction's exit never comes during the delivery of an
; event (EXITINTINFO is valid only for those, APM 15.7.2): no check.
%macro insn_at_rip 0
	mov [rsp + FX_RDX], rdx
	mov [rsp + FX_RBX], rbx
	mov rbx, [rax + VMCB_RIP]
	add rbx, [rax + VMCB_CS_BASE]
	sub rbx, [rsp + FX_PAGE]
	cmp rbx, 4096 - 4
	ja .fx_back
	add rbx, [rsp + FX_HOST_PAGE]
%endmacro

; The TSC in RBX to the guest's EDX:EAX (RAX in the VMCB at RAX), its
; interrupt shadow over (RIP moved on; the CPU clears EVENTINJ at every
; #VMEXIT, APM 15.20, so nothing is injected again), the guest's RBX back.
%macro tsc_result 0
	mov rdx, rbx
	shr rdx, 32
	mov ebx, ebx
	mov [rax + VMCB_RAX], rbx
	mov qword [rax + VMCB_INT_SHADOW], 0
	mov rbx, [rsp + FX_RBX]
%endmacro

; void svm_run(struct gprs *g, uint64_t vmcb_pa, uint64_t host_vmcb_pa,
;              struct fastexit *fx)
; RAX, RSP, RIP and RFLAGS travel in the VMCB; the other GPRs are switched
; here. VMLOAD/VMSAVE switch FS, GS, TR, LDTR, KernelGSBase and the SYSCALL
; and SYSENTER MSRs, which VMRUN itself leaves alone. Called with GIF clear.
;
; From VMRUN to the slow path RSP is fx (VMRUN keeps the host's RSP; GIF
; is 0 throughout, so no interrupt or NMI uses that stack): the fast path
; finds its data and its scratch slots at [rsp + FX_...]. The exit fast
; path (docs/performance.md) runs right after VMRUN, before anything of the
; guest's is saved: FS, GS, TR... are still the guest's and stay so, since
; the guest is entered again from here. It answers RDTSC, RDTSCP, CPUID of
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
	mov [rcx + FX_HOST_RSP], rsp
	mov [rcx + FX_GPRS], rdi
	mov [rcx + FX_VMCB], rsi
	mov [rcx + FX_HOST_VMCB], rdx
	mov rsp, rcx
	mov rax, rsi
	GPRS_LOAD_FROM_RDI
	; With V_INTR_MASKING the host's IF at VMRUN (HIF) decides whether a
	; physical interrupt makes the guest exit (APM 15.21.1). GIF is 0 here,
	; so setting IF lets no interrupt into the hypervisor before VMRUN. STI
	; comes before VMLOAD, so that its one-instruction interrupt shadow
	; ends there: QEMU's TCG carries a shadow over VMRUN into the guest's
	; first instruction (a V_IRQ then waits one instruction, arch/x86/svm.c).
	sti
	vmload		; [rax]
.enter:
	vmrun		; [rax]
	mov rax, [rsp + FX_VMCB]
	cmp dword [rax + VMCB_EXIT_CODE], SVM_EXIT_RDTSC
	jne .fx_other
; RDTSC, or RDTSCP (QEMU reports a trapped RDTSCP as an RDTSC exit; real
; CPUs with their own exit come here from .fx_other): the guest's RBX and
; RDX go to their slots, the length comes from the instruction's bytes.
.fx_tsc:
	insn_at_rip
	cmp word [rbx], 0x310f          ; RDTSC
	jne .fx_rdtscp
	FX_GUEST_TSC .fx_back, rd
	inc qword [rsp + FX_N_RDTSC]
	mov rax, [rsp + FX_VMCB]
	add qword [rax + VMCB_RIP], 2
	tsc_result
	jmp .enter              ; RAX = guest VMCB pa

.fx_rdtscp:
	mov edx, [rbx]
	and edx, 0xffffff
	cmp edx, 0xf9010f               ; RDTSCP
	jne .fx_back
	FX_GUEST_TSC .fx_back, rdp
	mov ecx, [rsp + FX_TSC_AUX]     ; guest RCX = TSC_AUX
	inc qword [rsp + FX_N_RDTSCP]
	mov rax, [rsp + FX_VMCB]
	add qword [rax + VMCB_RIP], 3
	tsc_result
	jmp .enter

	FX_GUEST_TSC_COLD rd
	FX_GUEST_TSC_COLD rdp

.fx_other:
	cmp dword [rax + VMCB_EXIT_CODE], SVM_EXIT_CPUID
	je .fx_cpuid
	cmp dword [rax + VMCB_EXIT_CODE], SVM_EXIT_VMMCALL
	je .fx_hc
	cmp dword [rax + VMCB_EXIT_CODE], SVM_EXIT_RDTSCP
	je .fx_tsc
	jmp .slow

.fx_cpuid:
	insn_at_rip
	cmp word [rbx], 0xa20f          ; CPUID
	jne .fx_back
	FX_DEADLINE .fx_back
	mov rax, [rsp + FX_VMCB]
	mov edx, [rax + VMCB_RAX]       ; the leaf
	FX_CPUID_FIND .fx_cpuid_hit, .fx_back
.fx_cpuid_hit:
	mov edx, [rbx + 4]
	mov [rax + VMCB_RAX], rdx
	mov ecx, [rbx + 12]
	mov edx, [rbx + 16]
	mov ebx, [rbx + 8]
	inc qword [rsp + FX_N_CPUID]
	add qword [rax + VMCB_RIP], 2
	mov qword [rax + VMCB_INT_SHADOW], 0
	jmp .enter

.fx_hc:
	cmp qword [rax + VMCB_RAX], 0   ; the null hypercall: returns 0
	jne .slow
	insn_at_rip
	cmp word [rbx], 0x010f
	jne .fx_back
	cmp byte [rbx + 2], 0xd9        ; VMMCALL
	jne .fx_back
	FX_DEADLINE .fx_back
	inc qword [rsp + FX_N_HC]
	mov rax, [rsp + FX_VMCB]
	add qword [rax + VMCB_RIP], 3
	mov qword [rax + VMCB_INT_SHADOW], 0
	mov rdx, [rsp + FX_RDX]
	mov rbx, [rsp + FX_RBX]
	jmp .enter

; Not answered after all: the guest's RBX and RDX back, then the slow path.
.fx_back:
	mov rbx, [rsp + FX_RBX]
	mov rdx, [rsp + FX_RDX]

; Every guest register as the exit left it; RSP = fx.
.slow:
	cli
	mov rax, [rsp + FX_VMCB]        ; (RAX after #VMEXIT is not relied on)
	vmsave		; [rax]
	mov rax, [rsp + FX_GPRS]
	GPRS_STORE_TO_RAX
	mov rax, [rsp + FX_HOST_VMCB]
	vmload                  ; [rax]: the hypervisor's FS, GS, TR, ...
	mov rsp, [rsp + FX_HOST_RSP]
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
