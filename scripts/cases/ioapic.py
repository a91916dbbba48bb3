"""The I/O APIC at 0xFEC00000 (guest-tests/ioapic.c, configs/ioapic.cfg;
its pci=none part is no longer run here: PCI has a host bridge now, checked
by platform.py): the MADT's I/O APIC entry and
overrides, ID/version/arbitration registers, the 24 redirection entries and
their read-only bits, two vCPUs writing entries at once. Bare QEMU is the
reference for the same checks (its IOAPIC is version 0x20; foundation's
bare-qemu:ioapic runs them with no options), and in bare-qemu:ioapic-uart an
interrupt goes through QEMU's IOAPIC from the UART (IRQ 4): edge, level with
remote IRR cleared by the EOI, masked; qemu-svm:ioapic does the same through
tscvisor's IOAPIC from its 16550A model (option irq_source=uart)."""

import os

from testlib.common import *  # noqa: F401,F403

CHECKS = [
    r"ok \d+ - one I/O APIC in the MADT: 1, address 0xfec00000, GSI base 0",
    r"ok \d+ - override IRQ 0 -> GSI 2, flags 0x0",
    r"ok \d+ - override IRQ 9 \(SCI\) -> GSI 9, flags 0xd",
    r"ok \d+ - version register 0x00170011: version 0x11, maximum redirection entry 23",
    r"ok \d+ - entry 7 with all-ones written: 0xff0000000001afff,",
    r"ok \d+ - entry 7: reserved bits 55:17 read 0 \(checked\)",
    r"ok \d+ - a distinct pattern in each of the 24 entries reads back \(0 differ\)",
    r"ok \d+ - 2 CPUs wrote entries at once",
    r"ok \d+ - after that no entry has a read-only or reserved bit set \(0 do\)",
    r"ok \d+ - edge entry: the UART's IRQ 4 arrives once at vector 0x48 \(got 1\)",
    r"ok \d+ - level entry: remote IRR set in the handler",
    r"ok \d+ - level entry: remote IRR cleared by the LAPIC's EOI",
    r"ok \d+ - masked entry: nothing delivered \(got 0\)",
]

BARE_CHECKS = [
    r"^ok \d+ - version register 0x00170020",
    r"^ok \d+ - edge entry: the UART's IRQ 4 arrives once at vector 0x48 \(got 1\)",
    r"^ok \d+ - level entry: remote IRR set in the handler",
    r"^ok \d+ - level entry: remote IRR cleared by the LAPIC's EOI",
    r"^ok \d+ - masked entry: nothing delivered \(got 0\)",
    r"^RESULT: PASS",
]


def cases():
    elf = os.path.join(BUILD, "guest-tests", "ioapic.elf")
    return [
        Case("qemu-svm:ioapic", [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300",
                                 os.path.join(CFG, "ioapic.cfg")],
             timeout=360, weight=3,
             must=vm_passed("ioapic") + [r"^\[ioapic\] " + c for c in CHECKS],
             must_not=[r"^\[ioapic\] not ok", r"\*\*\* hypervisor exception",
                       r"vm ioapic: .*unbacked"]),
        Case("bare-qemu:ioapic-uart", [BARE, elf, "-smp", "2", "-append",
                                  "ioapic_version=0x20 irq_source=uart"],
             timeout=180, weight=1, must=BARE_CHECKS, must_not=[r"^not ok"]),
    ]
