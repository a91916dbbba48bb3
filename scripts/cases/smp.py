"""SMP cases: physical CPU bring-up and the boot-time TSC sync check; the
multi-vCPU guest tests (warp, IPIs, timers) under tscvisor."""

import os

from testlib.common import *  # noqa: F401,F403


def sync_line(cpus, synchronised):
    state = "synchronised" if synchronised else "NOT synchronised"
    return (rf"smp: TSC sync check over {cpus} CPU\(s\): \d+ reads \(\d+ after another CPU's\), "
            rf"\d+ warps, largest \d+ cycles: host TSC {state}$")


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

    def vms_pass(*names):
        return vm_passed(*names)

    smp = os.path.join(CFG, "smp.cfg")
    smp_vms = ["bringup-native", "warp-emulate", "warp-native", "ipi-emulate", "lapic-timer",
               "deadline-native", "deadline-emulate", "hlt-wake"]
    for cpus in (2, 4):
        out.append(Case(f"qemu-svm:smp-guests-{cpus}cpu",
                        [BOOT, "--emulator", "qemu", "--cpus", str(cpus), "--timeout", "900"]
                        + (TCG_SINGLE if cpus < 4 else []) + [smp],
                        timeout=960, weight=40,
                        must=vms_pass(*smp_vms) + [r"TSCVISOR-RESULT: PASS",
                                                   rf"vm warp-emulate: 4 vCPU\(s\) on {cpus} pCPU"]
                        # The retry of page faults the emulator makes up
                        # (docs/platform.md), made 20 times on every vCPU.
                        + ([rf"vm warp-emulate: vCPU {i}: test_spurious_pf: 20 made" for i in range(4)]
                           if cpus == 2 else []),
                        must_not=[r"^\[[\w-]+\] not ok", r"\*\*\* VM"],
                        check=all_checks(exits_at_least("warp-emulate", "RDTSC", 400000),
                                         exits_none("warp-native", "RDTSC", "RDTSCP"))))
    # Each vCPU's SSE registers its own, time-sliced and moved.
    out.append(Case("qemu-svm:fpu-state",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300"] + TCG_SINGLE
                    + [os.path.join(CFG, "fpu.cfg")],
                    timeout=360, weight=4, must=FPU_MUST, must_not=FPU_MUST_NOT))
    out.append(Case("qemu-svm:smp-warp-4x10^6-emulate",
                    [BOOT, "--emulator", "qemu", "--cpus", "4", "--timeout", "1500",
                     os.path.join(CFG, "smp-warp-1m.cfg")],
                    timeout=1560, weight=100,
                    must=vms_pass("warp-emulate-1m") + [
                        r"\[warp-emulate-1m\] # total: 4000000 reads .*, 0 warp\(s\)",
                        r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"^\[[\w-]+\] not ok"],
                    check=exits_at_least("warp-emulate-1m", "RDTSC", 4_000_000)))
    out.append(Case("qemu-svm:smp-moves",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "900"] + TCG_SINGLE
                    + [os.path.join(CFG, "smp-moves.cfg")],
                    timeout=960, weight=30,
                    must=vms_pass("moves-warp-emulate", "moves-warp-native", "moves-monotonic-emulate",
                                  "moves-ipi")
                    + [r"vm moves-warp-emulate: vCPU 0: .* [1-9]\d* moves between pCPUs",
                       r"vm moves-warp-emulate: 3 vCPU\(s\) on 2 pCPU\(s\), time-sliced",
                       r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"^\[[\w-]+\] not ok"]))
    # Skewed host: emulate stays monotonic across vCPUs and across moves to
    # the skewed pCPU; auto picks emulate; native moved the same way must
    # show the skew (that VM fails, and must).
    out.append(Case("qemu-svm:smp-skewed-host",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "900",
                     os.path.join(CFG, "smp-skew.cfg")],
                    timeout=960, weight=30, ok_status=(1,),
                    must=vms_pass("skew-warp-emulate", "skew-moves-emulate", "skew-auto")
                    + [sync_line(2, False),
                       r"vm skew-auto: tsc: auto -> emulate: .*synchronisation check",
                       r"vm skew-moves-emulate: vCPU 0: .* [1-9]\d* moves between pCPUs",
                       r"\[skew-moves-native\] not ok \d+ - .*(back|backward)",
                       r"vm skew-moves-native: ended by exit port \(exit port 0xf4\), status 3: FAIL",
                       r"TSCVISOR-RESULT: FAIL a VM failed"],
                    must_not=[r"^\[skew-(warp|moves)-emulate\] not ok", r"^\[skew-auto\] not ok",
                              r"\*\*\* VM"]))
    return out
