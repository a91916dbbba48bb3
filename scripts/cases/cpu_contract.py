"""A consistent virtual CPU: IA32_APIC_BASE and the local APIC's modes
(guest-tests/apic_state.c, configs/apic-state.cfg) and every instruction form
on memory outside RAM (guest-tests/mmio_insns.c, configs/mmio-insns.cfg). On
QEMU SVM, Bochs VMX (corei7_skylake_x) and Bochs SVM (ryzen), 2 vCPUs; the
normal VM after each must pass."""

import os

from testlib.common import *  # noqa: F401,F403

BOCHS = ["--emulator", "bochs", "--ips", str(BOCHS_IPS)]
EMUS = [
    ("qemu-svm", ["--emulator", "qemu"], r"vmm: SVM backend enabled"),
    ("bochs-vmx", BOCHS + ["--cpu-model", "corei7_skylake_x"], r"vmm: VMX backend enabled"),
    ("bochs-svm", BOCHS + ["--cpu-model", "ryzen"], r"vmm: SVM backend enabled"),
]

APIC_CHECKS = [
    r"ok \d+ - xAPIC: x2APIC MSRs #GP",
    r"ok \d+ - xAPIC -> EN=0 EXTD=1 \(0x\w+\): #GP, APIC_BASE unchanged",
    r"ok \d+ - bit MAXPHYADDR \(0x\w+\): #GP",
    r"ok \d+ - xAPIC -> x2APIC$",
    r"ok \d+ - x2APIC: the xAPIC page reads all-ones",
    r"ok \d+ - x2APIC -> xAPIC \(0x\w+\): #GP, APIC_BASE unchanged",
    r"ok \d+ - x2APIC -> disabled$",
    r"ok \d+ - disabled: the xAPIC page reads all-ones",
    r"ok \d+ - disabled: x2APIC MSRs #GP",
    r"ok \d+ - disabled -> x2APIC \(0x\w+\): #GP, APIC_BASE unchanged",
    r"ok \d+ - re-enabled: reset values",
    r"ok \d+ - the IPI sent while disabled was not delivered \(0\)",
    r"ok \d+ - BSP -> AP IPI after re-enable \(taken 1\)",
    r"ok \d+ - AP -> BSP IPI after re-enable \(taken 1\)",
]

MMIO_CHECKS = [
    r"ok 74 - MMIO hole: repe scasb \(stops at once\) as on the same data in RAM, write dropped",
    r"ok \d+ - past RAM: lock cmpxchg \(not equal\) as on the same data in RAM",
    r"ok \d+ - past RAM: rep stosd \(rcx=2\) as on the same data in RAM",
]

# The MOVSB VM: ended with the bytes, nothing else failed.
MOVS_CHECKS = [
    r"vm mmio-movs: access to unbacked address 0x1000000 at RIP 0x\w+ by an instruction the "
    r"hypervisor does not emulate \(second memory operand; bytes: a4 ",
    r"vm mmio-movs: ended by stopped by the hypervisor \(nested page fault the hypervisor cannot emulate",
    r"vmm: 3 VM\(s\): 2 passed, 0 skipped, 1 failed",
]


def cases():
    apic = os.path.join(CFG, "apic-state.cfg")
    mmio = os.path.join(CFG, "mmio-insns.cfg")
    out = []
    for name, argv, backend in EMUS:
        bochs = name.startswith("bochs")
        out.append(Case(f"{name}:apic-state", [BOOT] + argv + ["--cpus", "2", "--timeout",
                                                               "600" if bochs else "300", apic],
                        timeout=660 if bochs else 360, weight=20 if bochs else 3,
                        must=vm_passed("apic-state", "after-apic") + [backend] +
                        [r"^\[apic-state\] " + c for c in APIC_CHECKS],
                        must_not=[r"^\[apic-state\] not ok", r"\*\*\* hypervisor exception"]))
        out.append(Case(f"{name}:mmio-insns", [BOOT] + argv + ["--cpus", "2", "--timeout",
                                                               "600" if bochs else "300", mmio],
                        timeout=660 if bochs else 360, weight=20 if bochs else 3,
                        ok_status=(1,),
                        must=vm_passed("mmio-insns", "after-mmio") + [backend] + MOVS_CHECKS +
                        [r"^\[mmio-insns\] " + c for c in MMIO_CHECKS],
                        must_not=[r"^\[mmio-insns\] not ok", r"vm mmio-insns: access to unbacked",
                                  r"^\[mmio-movs\] not ok", r"\*\*\* hypervisor exception"]))
    return out
