"""The stock Linux guest's checker, bare on QEMU (docs/linux-guest.md).

`make linux-guest` (run by `make test` before the cases) leaves Debian's cloud
kernel and the clockcheck initramfs in build/linux/. Bare on QEMU TCG they are
the reference the same kernel under tscvisor will be held to; each run takes
about 5 s. TCG shows no invariant TSC, so a 2-CPU Linux marks the TSC unstable
unless told `tsc=reliable`: the first case trusts it and the checker must find
no warp; the second does not, and the checker must see the kernel's complaint
and fail; the third pretends one TSC read stepped back and must fail.

Under tscvisor (QEMU SVM, guest-tests/configs/linux.cfg): the same kernel
and initramfs on 2 vCPUs in emulate mode boot to the checker and pass it
(about 60 s); a kernel too large for its VM and a ramdisk given to a
multiboot kernel are refused before anything runs."""

import os

from testlib.common import *  # noqa: F401,F403

LINUX = os.path.join(BUILD, "linux")
BASE = "console=ttyS0 loglevel=4"


def bare_linux(append):
    return [BARE, os.path.join(LINUX, "vmlinuz"), "-initrd",
            os.path.join(LINUX, "initramfs.cpio.gz"), "-smp", "2", "-m", "256M",
            "-append", f"{BASE} {append}"]


def cases():
    linux_cfg = os.path.join(CFG, "linux.cfg")
    return [
        Case("qemu-svm:linux-emulate-2cpu",
             [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "400", linux_cfg],
             timeout=460, weight=8,
             must=[r"vm linux: vmlinuz Linux kernel 6\.\S+ .*\(boot protocol 2\.\d+\), "
                   r"entry 0x1000000, initramfs \d+ bytes at 0x[0-9a-f]+, 160 MiB RAM, 2 vCPU",
                   r"^\[linux\] # 2 CPU\(s\) online",
                   r"^\[linux\] ok \d+ - TSC never warps across CPUs \(0 warps",
                   r"^\[linux\] ok \d+ - CLOCK_MONOTONIC never warps across CPUs \(0 warps",
                   r"^\[linux\] ok \d+ - CLOCK_MONOTONIC runs at the PM timer's rate",
                   r"^\[linux\] ok \d+ - clocksource is tsc \(wanted tsc\)",
                   r"^\[linux\] RESULT: PASS",
                   r"TSCVISOR-RESULT: PASS"] + vm_passed("linux"),
             must_not=[r"^\[linux\] not ok", r"Kernel panic",
                       # The ACPI platform (docs/platform.md): the
                       # interpreter starts, PCI has a config access method.
                       r"ACPI (BIOS )?Error", r"Unable to start the ACPI Interpreter",
                       r"PCI: Fatal"],
             check=exits_at_least("linux", "RDTSC", 100)),
        # `make run-linux`'s guest: a busybox shell on the console, driven by
        # typing (the 16550A's receive interrupt through the IOAPIC, the tty's
        # output interrupt-driven): the shell computes 6 * 7 and reads /proc,
        # then `poweroff -f` ends the VM through ACPI S5.
        Case("qemu-svm:linux-shell",
             [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300",
              "--type", r"tscvisor-shell: 'poweroff -f' ends the VM",
              r"echo TYPED-$((6*7)) $(cat /proc/sys/kernel/osrelease)\n",
              "--type", r"^\[linux\] TYPED-42 ", r"poweroff -f\n",
              os.path.join(CFG, "linux-shell.cfg")],
             timeout=360, weight=6,
             must=[r"^\[linux\] tscvisor-shell: Linux 6\.\S+, 2 CPU\(s\), clocksource \S+",
                   r"^\[linux\] TYPED-42 6\.\S+-cloud-amd64$",
                   r"vm linux: ended by power-off \(ACPI S5: SLP_EN with SLP_TYP 7 in PM1a_CNT\)",
                   r"TSCVISOR-RESULT: PASS"] + vm_passed("linux"),
             must_not=[r"Kernel panic", r"\*\*\* hypervisor exception", r"boot: TIMEOUT"]),
        Case("bad-config:linux-memory", [BOOT, "--emulator", "qemu",
                                         os.path.join(CFG, "bad-linux-memory.cfg")],
             timeout=180, ok_status=(1,), weight=2,
             must=[r"tscvisor\.cfg:5: key 'kernel': VM 'small': Linux kernel \S+ refused: "
                   r"kernel needs \[0x1000000, 0x[0-9a-f]+\) .*\(BZ_ERR_KERNEL_FIT\)",
                   r"no VM started", r"TSCVISOR-RESULT: FAIL"],
             must_not=[r"TSCVISOR-RESULT: PASS", r"vm small: starting"]),
        Case("bad-config:ramdisk-multiboot", [BOOT, "--emulator", "qemu",
                                              os.path.join(CFG, "bad-ramdisk-multiboot.cfg")],
             timeout=180, ok_status=(1,), weight=2,
             must=[r"tscvisor\.cfg:6: key 'ramdisk': VM 'mb': kernel \S+ is not a Linux "
                   r"bzImage; a ramdisk is for Linux kernels only",
                   r"no VM started", r"TSCVISOR-RESULT: FAIL"],
             must_not=[r"TSCVISOR-RESULT: PASS", r"vm mb: starting"]),
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
