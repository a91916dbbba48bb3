"""SMP cases: physical CPU bring-up and the boot-time TSC sync check; the
multi-vCPU guest tests (warp, IPIs, timers) under tscvisor."""

import os

from testlib.common import *  # noqa: F401,F403


def sync_line(cpus, synchronised):
    state = "synchronised" if synchronised else "NOT synchronised"
    return rf"smp: TSC sync check over {cpus} CPU\(s\): \d+ reads, \d+ warps, largest \d+ cycles: host TSC {state}$"


def cases():
    out = []
    found = os.path.join(CFG, "foundation.cfg")
    out.append(Case("qemu-svm:smp-bringup-4", [BOOT, "--emulator", "qemu", "--cpus", "4", found],
                    timeout=180, weight=3,
                    must=[r"smp: 4 CPU\(s\) online \(listed by the ACPI MADT\)", sync_line(4, True),
                          r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]", r"did not start"]))
    out.append(Case("qemu-svm:smp-skew-detected", [BOOT, "--emulator", "qemu", "--cpus", "4",
                                                   os.path.join(CFG, "smp-skew-dry.cfg")],
                    timeout=180, weight=3,
                    must=[r"TEST OPTION test_tsc_skew: pCPU 1", sync_line(4, False),
                          r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"]))
    out.append(Case("bochs-vmx:smp-bringup-2", [BOOT, "--emulator", "bochs", "--cpus", "2", found],
                    timeout=400, weight=10,
                    must=[r"smp: 2 CPU\(s\) online \(broadcast start-up, no MADT\)", sync_line(2, True),
                          r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"]))
    return out
