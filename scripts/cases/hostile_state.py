"""Registers a guest can set are its own (guest-tests/hostile_state.c): a VM
leaves debug registers, XCR0, vector registers (XMM/YMM/ZMM/opmask), MXCSR,
TSC_AUX and PKRU dirty; the next VM finds them as after reset; XSETBV, PAT
and RDPMC give the architectural faults and CPUID agrees with XSETBV; vCPUs
time-sliced on one pCPU keep their own; a save and restore keeps XCR0,
DR0-DR3 and the vector registers (the snapshot's XSTATE sections). On QEMU SVM (one and two pCPUs),
Bochs VMX (corei7_skylake_x: AVX-512) and Bochs SVM (ryzen: AVX)."""

import os

from testlib.common import *  # noqa: F401,F403

STATE_VMS = ("dirty", "clean", "rules", "save", "slice", "after")
STATE_MUST_NOT = [r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"\[ERROR\]"]


def state_must(extra):
    """Every VM passes; the clean VM's decisive checks ran (not skipped)."""
    return vm_passed(*STATE_VMS) + [
        r"\[clean\] ok \d+ - CPU 0: DR0-DR3 are 0 ",
        r"\[clean\] ok \d+ - CPU 0: DR7 = 0x400 ",
        r"\[clean\] ok \d+ - CPU 0: XCR0 = 0x1 after setting CR4.OSXSAVE",
        r"\[clean\] ok \d+ - CPU 1: XCR0 = 0x1 after setting CR4.OSXSAVE",
        r"\[clean\] ok \d+ - CPU 0: TSC_AUX 0 ",
        r"\[clean\] ok \d+ - the breakpoint addresses ran without a #DB",
        r"\[rules\] ok \d+ - XSETBV with CR4.OSXSAVE clear: #UD",
        r"\[rules\] ok \d+ - XSETBV 5 \(AVX without SSE\): #GP",
        r"\[rules\] ok \d+ - WRMSR PAT with type 2: #GP",
        r"\[rules\] ok \d+ - RDPMC 0: #GP",
        r"\[save\] ok \d+ - XCR0 0x[0-9a-f]+ after the restore",
        r"\[save\] ok \d+ - DR0-DR3 kept through the restore",
        r"\[slice\] ok \d+ - CPU 1: DR0-DR3 and DR7 stayed its own",
        r"\[slice\] ok \d+ - CPU 0: XCR0 stayed its own",
        r"TSCVISOR-RESULT: PASS"] + extra


def cases():
    out = []
    qemu_cfg = os.path.join(CFG, "hostile-state-qemu.cfg")
    bochs_cfg = os.path.join(CFG, "hostile-state.cfg")
    # QEMU's TCG offers XSAVE with x87/SSE/AVX state: YMM upper halves.
    qemu_extra = [r"\[clean\] ok \d+ - CPU 0: YMM0-15 upper halves are 0"]
    for cpus, sliced in (("1", "dirty: 2 vCPU\\(s\\) on 1 pCPU"), ("2", "slice: 3 vCPU\\(s\\) on 2 pCPU")):
        out.append(Case(f"qemu-svm:hostile-state-{cpus}cpu",
                        [BOOT, "--emulator", "qemu", "--cpus", cpus, "--timeout", "300"] + TCG_SINGLE + [qemu_cfg],
                        timeout=360, weight=4,
                        must=state_must(qemu_extra + [rf"vm {sliced}"]),
                        must_not=STATE_MUST_NOT))
    bochs = ["--emulator", "bochs", "--ips", str(BOCHS_IPS), "--cpus", "1", "--timeout", "840"]
    bochs2 = ["--emulator", "bochs", "--ips", str(BOCHS_IPS), "--cpus", "2", "--timeout", "840"]
    out.append(Case("bochs-vmx:hostile-state",
                    [BOOT] + bochs + ["--cpu-model", "corei7_skylake_x", bochs_cfg],
                    timeout=900, weight=30,
                    must=state_must([r"vmm: VMX backend enabled",
                                     r"\[clean\] ok \d+ - CPU 0: YMM0-15 upper halves are 0",
                                     r"\[clean\] ok \d+ - CPU 0: ZMM0-31 and k1-k7 are 0",
                                     r"\[save\] ok \d+ - ZMM0-31 and k1-k7 kept through the restore",
                                     r"\[rules\] ok \d+ - XSETBV with any bit CPUID.0DH.0 does not list: #GP",
                                     r"\[rules\] ok \d+ - RDPMC fixed counter 0: #GP"]),
                    must_not=STATE_MUST_NOT))
    # Bochs ryzen: two pCPUs. With one, an AP sharing the BSP's pCPU never
    # checks in (the base commit too), so the clean VM would see one CPU.
    out.append(Case("bochs-svm:hostile-state",
                    [BOOT] + bochs2 + ["--cpu-model", "ryzen", bochs_cfg],
                    timeout=900, weight=30,
                    must=state_must([r"vmm: SVM backend enabled",
                                     r"\[clean\] ok \d+ - CPU 0: YMM0-15 upper halves are 0",
                                     r"\[rules\] ok \d+ - XSETBV with any bit CPUID.0DH.0 does not list: #GP",
                                     r"vm dirty: exit XSETBV +[1-9]"]),
                    must_not=STATE_MUST_NOT))
    return out
