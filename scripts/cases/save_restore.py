"""Save/restore cases: in one boot (save, destroy, restore, continue)."""

import os

from testlib.common import *  # noqa: F401,F403


def cases():
    out = []
    vms = ["save-emulate", "save-native", "save-pvrdtscp", "save-smp-emulate", "save-continue"]
    out.append(Case("qemu-svm:save-restore-inboot",
                    [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "600",
                     os.path.join(CFG, "save-inboot.cfg")],
                    timeout=660, weight=10,
                    must=vm_passed(*vms)
                    + [rf"vm {n}: restored: incarnation 1, guest TSC resumes at \d+" for n in vms[:4]]
                    + [r"vm save-continue: saved: \d+ bytes", r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"vm save-continue: restored"]))
    return out
