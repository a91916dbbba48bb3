"""The ACPI platform a stock kernel needs (guest-tests/platform.c,
configs/platform.cfg): the FADT's PM1a event and control blocks and SCI,
PM1_STS write-1-to-clear, PM1_EN kept, SCI_EN set in PM1_CNT, the DSDT's
checksum and \\_S5, the PCI host bridge at 00:00.0 and all-ones elsewhere;
a second VM saves and restores itself between setting PM1_EN and PM1_CNT
and reading them back (the snapshot's PM1 section, 0x8000000D); the last VM
writes S5 to PM1_CNT and must end as a power-off. Bare QEMU
q35 (foundation's bare-qemu:platform) runs the checks that are not of
tscvisor's own choices: its PM1 blocks are at the same ports, its PM1_STS
has TMR_STS set and a write of ones clears it."""

import os

from testlib.common import *  # noqa: F401,F403

CHECKS = [
    r"ok \d+ - FADT PM1a event block: port 0x600, 4 bytes, X_ form agrees",
    r"ok \d+ - FADT PM1a control block: port 0x604, 2 bytes, X_ form agrees",
    r"ok \d+ - FADT SCI_INT 9, SMI_CMD 0x0",
    r"ok \d+ - DSDT at 0xe0c00: signature, 107 bytes, checksum",
    r"ok \d+ - DSDT \\_S5: SLP_TYP 7",
    r"ok \d+ - PM1_CNT 0x0001: SCI_EN set",
    r"ok \d+ - PM1_CNT written 0: SCI_EN still set",
    r"ok \d+ - PM1_CNT: SLP_EN with SLP_TYP 3 ignored",
    r"ok \d+ - PM1_STS after writing ones: 0x0000",
    r"ok \d+ - PM1_EN keeps PWRBTN_EN \| RTC_EN \(0x0500\)",
    r"ok \d+ - dword read of the event block: 0x05000000",
    r"ok \d+ - PM1_EN high byte written 0: 0x0000",
    r"ok \d+ - tscvisor's FADT names the DSDT in X_DSDT",
    r"ok \d+ - PCI 00:00.0 vendor:device 0x00081b36",
    r"ok \d+ - PCI 00:00.0 class 0x060000: host bridge",
    r"ok \d+ - PCI 00:00.0 has no BARs",
    r"ok \d+ - PCI bus 0: no function but 00:00.0 answers \(0 did\)",
    r"ok \d+ - PCI: bus 1, extended register bits and a disabled CONFIG_ADDRESS read all-ones",
]


SKYLAKE = ["--emulator", "bochs", "--cpu-model", "corei7_skylake_x", "--ips", str(BOCHS_IPS)]


def must():
    return (vm_passed("platform", "pm1-save")
            + [r"^\[platform\] " + c for c in CHECKS]
            + [r"^\[pm1-save\] " + c for c in CHECKS]
            + [r"^\[pm1-save\] ok \d+ - after a save and restore \(0, incarnation \d+ -> \d+\): "
               r"PM1_EN 0x0520, PM1_CNT 0x1403"]
            + [r"^\[poweroff\] " + c for c in CHECKS]
            + [r"^\[platform\] RESULT: PASS",
               r"vm platform: PM1a_CNT: SLP_EN with SLP_TYP 3, a sleep state this VM does "
               r"not offer: ignored",
               r"^\[poweroff\] # writing SLP_TYP 7 \| SLP_EN to PM1_CNT \(0x604\)",
               r"vm poweroff: ended by power-off \(ACPI S5: SLP_EN with SLP_TYP 7 in "
               r"PM1a_CNT\), status 1: PASS",
               r"vmm: 3 VM\(s\): 3 passed, 0 skipped, 0 failed"])


MUST_NOT = [r"^\[(platform|pm1-save|poweroff)\] not ok", r"still running after S5",
            r"\*\*\* hypervisor exception", r"unbacked", r"unemulated port"]


def cases():
    cfg = os.path.join(CFG, "platform.cfg")
    return [
        Case("qemu-svm:platform", [BOOT, "--emulator", "qemu", "--timeout", "300", cfg],
             timeout=360, weight=2, must=must() + [r"vmm: SVM backend enabled"],
             must_not=MUST_NOT),
        Case("bochs-vmx:platform", [BOOT] + SKYLAKE + ["--timeout", "400", cfg],
             timeout=460, weight=6, must=must() + [r"vmm: VMX backend enabled"],
             must_not=MUST_NOT),
    ]
