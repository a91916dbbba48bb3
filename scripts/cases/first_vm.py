"""First-VM cases (SVM): every guest test in native and emulate VMs."""

import os

from testlib.common import *  # noqa: F401,F403


def cases():
    hz = host_tsc_khz()
    out = []
    # First VMs (SVM): every guest test in native and emulate mode.
    modes = os.path.join(CFG, "modes.cfg")
    out.append(Case("qemu-svm:modes", [BOOT, "--emulator", "qemu", "--timeout", "600", modes],
                    timeout=660, weight=20,
                    must=vm_passed("mono-native", "mono-emulate", "rate-native", "rate-emulate-1ghz",
                                   "rate-emulate-3500mhz", "aux-native", "aux-emulate", "mono-elf64")
                    + [r"vm mono-emulate: tsc: emulate: RDTSC/RDTSCP trapped",
                       r"vm mono-elf64: tsc_monotonic\.elf64 ELF64 kernel",
                       r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"^\[[\w-]+\] not ok", r"\*\*\* VM"],
                    check=all_checks(
                        exits_at_least("mono-emulate", "RDTSC", 1_000_000),
                        exits_at_least("aux-emulate", "RDTSCP", 5),
                        exits_at_least("rate-emulate-1ghz", "RDTSC", 100),
                        exits_none("mono-native", "RDTSC", "RDTSCP"),
                        exits_none("aux-native", "RDTSC", "RDTSCP"),
                        exits_none("rate-native", "RDTSC", "RDTSCP"),
                        guest_rate_near("rate-native", hz, 1000),
                        guest_rate_near("rate-emulate-1ghz", 1_000_000, 1000),
                        guest_rate_near("rate-emulate-3500mhz", 3_500_000, 1000))))

    # A hostile guest gets #UD/#GP or its VM stopped; the others go on.
    out.append(Case("qemu-svm:hostile",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300",
                     os.path.join(CFG, "hostile.cfg")],
                    timeout=360, weight=4, ok_status=(1,),
                    must=HOSTILE_MUST, must_not=HOSTILE_MUST_NOT))
    return out
