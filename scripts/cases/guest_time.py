"""Guest-time cases (kvmclock, time leaf, TSC MSRs, modes) on QEMU SVM."""

import os

from testlib.common import *  # noqa: F401,F403


def cases():
    out = []
    no_fail = [r"^\[[\w-]+\] not ok", r"\*\*\* VM"]
    out.append(Case("qemu-svm:time-modes", [BOOT, "--emulator", "qemu", "--cpus", "1",
                                            os.path.join(CFG, "time.cfg")],
                    timeout=600, weight=8,
                    must=vm_passed("msrs-native", "msrs-emulate", "leaf-emulate", "leaf-auto",
                                   "leaf-pvrdtscp", "pvclock-emulate", "pvclock-native")
                    + [r"vm leaf-auto: tsc: auto -> emulate",
                       r"vm leaf-pvrdtscp: tsc: pvrdtscp -> emulated",
                       r"TSCVISOR-RESULT: PASS"],
                    must_not=no_fail,
                    check=exits_at_least("leaf-emulate", "RDTSC", 1)))
    out.append(Case("qemu-svm:time-reliable-host", [BOOT, "--emulator", "qemu", "--cpus", "1",
                                                    os.path.join(CFG, "time-reliable.cfg")],
                    timeout=600, weight=6,
                    must=vm_passed("leaf-auto-native", "leaf-pvrdtscp-native", "pvclock-stable",
                                   "auto-1ghz")
                    + [r"vm leaf-auto-native: tsc: auto -> native", r"TSCVISOR-RESULT: PASS"],
                    must_not=no_fail,
                    check=all_checks(exits_none("leaf-auto-native", "RDTSC", "RDTSCP"),
                                     exits_none("leaf-pvrdtscp-native", "RDTSC", "RDTSCP"))))
    out.append(Case("qemu-svm:pvclock-window",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300",
                     os.path.join(CFG, "window.cfg")],
                    timeout=360, weight=6, ok_status=(1,),
                    must=WINDOW_MUST, must_not=WINDOW_MUST_NOT))
    for cpus in (2, 4):
        out.append(Case(f"qemu-svm:pvclock-smp-{cpus}cpu",
                        [BOOT, "--emulator", "qemu", "--cpus", str(cpus), "--timeout", "600"]
                        + (TCG_SINGLE if cpus == 2 else []) + [os.path.join(CFG, "pvclock-smp.cfg")],
                        timeout=660, weight=12,
                        must=vm_passed("pvclock-native", "pvclock-emulate", "pvclock-auto")
                        + [r"\[pvclock-native\] ok \d+ - no pvclock warp across CPUs: 0 warp",
                           r"\[pvclock-native\] ok \d+ - after CPU 1 moved its own TSC, no area carries the stable bit",
                           r"TSCVISOR-RESULT: PASS"],
                        must_not=no_fail))
    return out
