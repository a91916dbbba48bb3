"""Guest RAM above 4 GiB past the MMIO hole (guest-tests/high_ram.c,
configs/high-ram.cfg): a VM of 3584 MiB sees RAM [1 MiB, 3 GiB) and
[4 GiB, 4.5 GiB) in its memory map, keeps patterns at the top of low RAM
and both ends of high RAM, finds the hole and what lies past high RAM not
RAM, and gets kvmclock areas and the pvclock window in high RAM (and
refusals in the hole). A VM asking more RAM than the host has is refused
at boot with a message, before anything runs."""

import os

from testlib.common import *  # noqa: F401,F403

CHECKS = [
    r"ok \d+ - memory map: RAM to 0x9fc00, reserved to 1 MiB, RAM to 3 GiB, RAM \[4 GiB, 0x120000000\) "
    r"\(4 entries, 0 wrong\)",
    r"ok \d+ - the last page below 3 GiB \(0xbffff000\) keeps a pattern",
    r"ok \d+ - the first page of high RAM \(4 GiB\) keeps a pattern",
    r"ok \d+ - the last page of high RAM \(0x11ffff000\) keeps a pattern",
    r"ok \d+ - 0x10000000 and 0x110000000 are different RAM \(0, 0 words changed\)",
    r"ok \d+ - the hole is not RAM",
    r"ok \d+ - past high RAM \(0x120000000, \+2 MiB - 4 KiB\): all-ones, writes dropped",
    r"ok \d+ - kvmclock area at 0x100200040, in high RAM: taken",
    r"ok \d+ - kvmclock areas reaching into the hole or past high RAM: #GP \(0 of 6 not\)",
    r"ok \d+ - pvclock window: the last page of high RAM taken \(0\), removed \(0\); 0 of 5",
]


def cases():
    cfg = os.path.join(CFG, "high-ram.cfg")
    return [
        Case("qemu-svm:high-ram", [BOOT, "--emulator", "qemu", "--memory", "8192", "--timeout", "150", cfg],
             timeout=200, weight=3,
             must=vm_passed("high") + [r"^\[high\] " + c for c in CHECKS] + [r"vmm: SVM backend enabled"],
             must_not=[r"^\[high\] not ok", r"^\[high\] ok \d+ # SKIP", r"\*\*\* hypervisor exception"]),
        # 64 GiB (the config's maximum) on a 512 MiB host: refused at boot,
        # naming the VM and the size; no VM runs, nothing crashes.
        Case("bad-config:memory-beyond-host", [BOOT, "--emulator", "qemu", os.path.join(CFG, "bad-memory-host.cfg")],
             timeout=180, ok_status=(1,), weight=2,
             must=[r"tscvisor\.cfg:6: key 'memory': VM 'huge': cannot reserve 65536 MiB of guest RAM",
                   r"boot: kernel loading failed; no VM started", r"TSCVISOR-RESULT: FAIL"],
             must_not=[r"TSCVISOR-RESULT: PASS", r"vm huge: starting", r"\*\*\* hypervisor exception"]),
    ]
