"""The random exerciser (guest-tests/exerciser.c): seeded random hypercalls,
MSRs, ports, MMIO, LAPIC/IPIs, INIT/SIPI, CPUID, TSC and HLT on every vCPU,
with fixed seeds. Each exerciser VM must pass (every answer the architectural
or ABI one, clocks monotonic, every vCPU finished, the console alive), the
hypervisor must neither panic nor hang nor stop the VM, its log must stay
bounded, and the ordinary guest test after them must pass too."""

import os
import re

from testlib.common import *  # noqa: F401,F403

# Hypervisor log lines one exerciser VM may cause (its start and end lines
# and exit table are about 25): a guest must not be able to flood the log.
EXER_LOG_LINES = 200


def log_bounded(vms, limit=EXER_LOG_LINES):
    def check(out):
        for vm in vms:
            n = len(re.findall(rf"^\[[A-Z ]{{5}}\] vm {re.escape(vm)}: ", out, re.M))
            if n > limit:
                return (f"VM {vm}: {n} hypervisor log lines, expected at most {limit} "
                        f"(a guest must not be able to flood the log)")
        return None
    return check


def exer_case(name, argv, vms, timeout, weight):
    must = vm_passed(*vms, "exer-after")
    for vm in vms:
        must += [rf"^\[{re.escape(vm)}\] # exerciser: seed=\d+$",
                 rf"^\[{re.escape(vm)}\] ok \d+ - every answer was the architectural / ABI one \(0 wrong\)",
                 rf"^\[{re.escape(vm)}\] ok \d+ - the console still works"]
    return Case(name, argv, timeout=timeout, weight=weight,
                must=must + [r"TSCVISOR-RESULT: PASS"],
                must_not=[r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"hypervisor exception", r"PANIC"],
                check=log_bounded(vms))


def cases():
    out = []
    cfg2 = os.path.join(CFG, "exerciser-2.cfg")
    cfg4 = os.path.join(CFG, "exerciser-4.cfg")
    cfgv = os.path.join(CFG, "exerciser-vmx.cfg")
    # Both QEMU cases on one QEMU thread (TCG_SINGLE): exit-heavy, they met
    # QEMU's host-state fault in most runs with a thread per CPU.
    qemu = [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "400"] + TCG_SINGLE
    out.append(exer_case("qemu-svm:exerciser-2cpu", qemu + [cfg2],
                         ["exer-emulate-2", "exer-native-2", "exer-save-2"], 460, 20))
    out.append(exer_case("qemu-svm:exerciser-4vcpu", qemu + [cfg4],
                         ["exer-emulate-4", "exer-native-4"], 460, 20))
    out.append(exer_case("bochs-vmx:exerciser",
                         [BOOT, "--emulator", "bochs", "--cpu-model", "corei7_skylake_x", "--cpus", "2",
                          "--ips", str(BOCHS_IPS), "--timeout", "700", cfgv],
                         ["exer-vmx-emulate", "exer-vmx-native"], 760, 30))
    return out
