"""A hostile guest against the pause protocol, the snapshot budget, VMs that
can never wake and cross-vCPU time updates (guest-tests/hostile_sched.c,
configs/hostile-sched*.cfg): no panic, no hang, every call returns a defined
value, the pool does not shrink with what the guest does, and the normal VM
after the hostile ones passes."""

import os
import re

from testlib.common import *  # noqa: F401,F403

SKYLAKE = ["--emulator", "bochs", "--cpu-model", "corei7_skylake_x", "--ips", str(BOCHS_IPS)]
HALTED = (r"vm {}: ended by halted forever \(every vCPU halted with nothing that could wake it "
          r"\({} with IF=1, no vCPU left to send an IPI\)\)")
NO_TROUBLE = [r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"TSCVISOR-RESULT: FAIL panic", r"pool exhausted",
              r"pause: pCPU \d+"]


def pool(out, vm):
    m = re.search(rf"vm {re.escape(vm)}: \d+ pause\(s\); hypervisor pool: (\d+) bytes free", out)
    return int(m.group(1)) if m else None


def pool_steady(same, save_vms=()):
    """VMs `same` (identical configs but for how often the guest repeats its
    calls) each take the same pool; a VM in save_vms takes no more than its
    creation (well under 1 MiB: the snapshot buffer is reused)."""
    def check(out):
        got = [pool(out, v) for v in same]
        if None in got:
            return f"no pool line for one of {same}: {got}"
        drops = [a - b for a, b in zip(got, got[1:])]
        if len(set(drops)) != 1:
            return f"the pool shrank by {drops} across {same}: the guest's calls allocate"
        for a, b in zip(save_vms, save_vms[1:]):
            pa, pb = pool(out, a), pool(out, b)
            if pa is None or pb is None or pa - pb >= 1 << 20:
                return f"the pool went from {pa} to {pb} bytes across {a} -> {b}"
        return None
    return check


def cases():
    out = []
    alloc = ["sched-saves-continue", "sched-saves-big", "sched-saves-restore",
             "sched-badwin-a", "sched-badwin-b", "sched-badwin-c", "sched-after"]
    out.append(Case("qemu-svm:hostile-sched-alloc",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "400",
                     os.path.join(CFG, "hostile-sched.cfg")],
                    timeout=460, weight=6,
                    must=vm_passed(*alloc)
                    + [r"^\[sched-saves-continue\] ok \d+ - every save was taken \(0\): 8 of 8",
                       r"^\[sched-saves-big\] ok \d+ - every save over the budget failed \(-1\): 4 of 4",
                       r"vm sched-saves-big: cannot save: the snapshot needs \d+ bytes, more than the "
                       r"snapshot budget of 16777216 bytes",
                       r"^\[sched-saves-restore\] ok \d+ - every save was taken \(0\): 6 of 6",
                       r"vm sched-saves-restore: restored: incarnation 6",
                       r"^\[sched-badwin-c\] ok \d+ - 400 rounds of 3 bad window GPAs",
                       r"vmm: 7 VM\(s\): 7 passed, 0 skipped, 0 failed"],
                    must_not=NO_TROUBLE,
                    check=pool_steady(["sched-badwin-a", "sched-badwin-b", "sched-badwin-c"],
                                      ["sched-saves-continue", "sched-saves-big", "sched-saves-restore"])))
    pause = ["sched-race-2", "sched-race-4", "sched-time", "sched-endpause", "sched-after"]
    out.append(Case("qemu-svm:hostile-sched-pause",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "400"] + TCG_SINGLE
                    + [os.path.join(CFG, "hostile-sched-pause.cfg")],
                    timeout=460, weight=8,
                    must=vm_passed(*pause)
                    + [r"^\[sched-race-2\] ok \d+ - every CPU finished 300 window/save/refresh calls",
                       r"^\[sched-race-4\] ok \d+ - every call returned a value it may return \(0 did not\)",
                       r"vm sched-race-4: 4 vCPU\(s\) on 2 pCPU\(s\), time-sliced",
                       r"^\[sched-time\] ok \d+ - readers: [1-9]\d* pvclock reads, none failed",
                       r"^\[sched-time\] ok \d+ - the TSC never went back on or across the readers \(0 times\)",
                       r"vm sched-time: tsc: pvclock fast path on at guest TSC",
                       r"vm sched-time: tsc: pvclock fast path off at guest TSC",
                       r"^\[sched-endpause\] ok \d+ - the BSP ends the VM while [1-9]",
                       r"vmm: 5 VM\(s\): 5 passed, 0 skipped, 0 failed"],
                    must_not=NO_TROUBLE))
    # The two VMs that sleep for ever fail (their reason is the check); the
    # boot therefore ends with status 1. Before the fix they ran until the
    # boot's timeout.
    out.append(Case("qemu-svm:hostile-sched-hlt",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "120"] + TCG_SINGLE
                    + [os.path.join(CFG, "hostile-sched-hlt.cfg")],
                    timeout=180, weight=3, ok_status=(1,),
                    must=vm_passed("sched-hltwake", "sched-after")
                    + [HALTED.format("sched-hlt-all", 4), HALTED.format("sched-hlt-spin", 2),
                       r"^\[sched-hltwake\] ok \d+ - after 300 ms spinning the BSP woke the sleeping APs \(2 of 2\)",
                       r"vmm: 4 VM\(s\): 2 passed, 0 skipped, 2 failed"],
                    must_not=NO_TROUBLE))
    bochs = ["sched-saves-continue", "sched-race-2", "sched-badwin-a", "sched-badwin-b",
             "sched-time", "sched-endpause", "sched-after"]
    out.append(Case("bochs-vmx:hostile-sched",
                    [BOOT] + SKYLAKE + ["--cpus", "2", "--timeout", "420",
                                        os.path.join(CFG, "hostile-sched-bochs.cfg")],
                    timeout=480, weight=30, ok_status=(1,),
                    must=vm_passed(*bochs)
                    + [r"vmm: VMX backend enabled",
                       r"^\[sched-saves-continue\] ok \d+ - every save was taken \(0\): 4 of 4",
                       r"^\[sched-race-2\] ok \d+ - every call returned a value it may return \(0 did not\)",
                       r"^\[sched-time\] ok \d+ - readers: [1-9]\d* pvclock reads, none failed",
                       r"vm sched-time: tsc: pvclock fast path on at guest TSC",
                       HALTED.format("sched-hlt-all", 2),
                       r"vmm: 8 VM\(s\): 7 passed, 0 skipped, 1 failed"],
                    must_not=NO_TROUBLE))
    return out
