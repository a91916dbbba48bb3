"""The stock Linux guest's checker, bare on QEMU (docs/linux-guest.md).

`make linux-guest` (run by `make test` before the cases) leaves Debian's cloud
kernel and the clockcheck initramfs in build/linux/. Bare on QEMU TCG they are
the reference the same kernel under tscvisor will be held to; each run takes
about 5 s. TCG shows no invariant TSC, so a 2-CPU Linux marks the TSC unstable
unless told `tsc=reliable`: the first case trusts it and the checker must find
no warp; the second does not, and the checker must see the kernel's complaint
and fail; the third pretends one TSC read stepped back and must fail."""

import os

from testlib.common import *  # noqa: F401,F403

LINUX = os.path.join(BUILD, "linux")
BASE = "console=ttyS0 loglevel=4"


def bare_linux(append):
    return [BARE, os.path.join(LINUX, "vmlinuz"), "-initrd",
            os.path.join(LINUX, "initramfs.cpio.gz"), "-smp", "2", "-m", "256M",
            "-append", f"{BASE} {append}"]


def cases():
    return [
        Case("bare-qemu:linux-clockcheck",
             bare_linux("tsc=reliable clockcheck.clocksource=tsc"), timeout=180,
             must=[r"^ok \d+ - TSC never warps across CPUs \(0 warps",
                   r"^ok \d+ - CLOCK_MONOTONIC never warps across CPUs \(0 warps",
                   r"^ok \d+ - CLOCK_MONOTONIC runs at the PM timer's rate",
                   r"^ok \d+ - clocksource is tsc \(wanted tsc\)",
                   r"^# 2 CPU\(s\) online",
                   r"^RESULT: PASS"],
             must_not=[r"^not ok"]),
        Case("bare-qemu:linux-clockcheck-unstable-tsc", bare_linux(""), timeout=180,
             ok_status=(1,),
             must=[r"^# kernel log: .*Marking TSC unstable",
                   r"^not ok \d+ - kernel log .* complaint \([1-9]",
                   r"^RESULT: FAIL"]),
        Case("bare-qemu:linux-clockcheck-backstep",
             bare_linux("tsc=reliable clockcheck.inject_backstep=1"), timeout=180,
             ok_status=(1,),
             must=[r"^not ok \d+ - TSC never steps back on one CPU \(1 steps",
                   r"^not ok \d+ - TSC never warps across CPUs \([1-9]",
                   r"^ok \d+ - CLOCK_MONOTONIC never warps across CPUs \(0 warps",
                   r"^RESULT: FAIL"]),
    ]
