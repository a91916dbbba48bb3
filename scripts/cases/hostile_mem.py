"""Guest-physical memory containment (guest-tests/hostile_mem.c,
guest-tests/configs/hostile-mem*.cfg): a guest reaching past its RAM, into
the MMIO hole, through its own page tables, kvmclock MSRs and the pvclock
window hypercall gets all-ones, #GP or EINVAL and never a host byte; a guest
whose page tables lie outside RAM is ended with a reason; an odd `memory` is
refused before anything runs. On QEMU SVM and on Bochs VMX."""

import os

from testlib.common import *  # noqa: F401,F403

SKYLAKE = ["--emulator", "bochs", "--cpu-model", "corei7_skylake_x", "--ips", str(BOCHS_IPS)]

CONTAIN_CHECKS = [
    r"ok \d+ - the memory map's RAM ends at 0x\w+ \((16|18) MiB; config says \1\)",
    r"ok \d+ - the last byte of RAM \(0x\w+\) reads back what was written",
    r"ok \d+ - past RAM: 512 pages from 0x\w+ read all-ones \(0 did not",
    r"ok \d+ - past RAM: writes to 512 pages dropped \(0 read back otherwise\)",
    r"ok \d+ - MMIO hole 0xc0000000 \(the hole's start\): all-ones",
    r"ok \d+ - MMIO hole 0xfec01000 \(above the IOAPIC's page\): all-ones",
    r"ok \d+ - MMIO hole 0xfed00000 \(where an HPET would be\): all-ones",
    r"ok \d+ - MMIO hole 0xfffff000 \(the hole's last page\): all-ones",
    r"ok \d+ - 0xFEE00000 is the local APIC",
    r"ok \d+ - a guest PTE onto 0x\w+ \(past RAM\): all-ones, write dropped",
    r"ok \d+ - a guest PTE onto GPA 0x10000000000: (#PF|all-ones)",
    r"ok \d+ - a guest PTE onto GPA 0xffffffffff000: (#PF|all-ones)",
    r"ok \d+ - a guest PTE onto the last page of RAM aliases it",
    r"ok \d+ - kvmclock system time at 9 GPAs outside RAM or wrapping: #GP",
    r"ok \d+ - kvmclock wall clock at 6 GPAs outside RAM or wrapping: #GP",
    r"ok \d+ - the last 32 bytes of RAM take the kvmclock area",
    r"ok \d+ - hypercall 4 \(pvclock window\) at 10 GPAs not a page of RAM: -22",
    r"ok \d+ - a window on the last page of RAM is taken \(0\), past RAM still all-ones",
    r"ok \d+ - decode cache: one RIP remapped between a 2-byte and a 3-byte MMIO load runs each as it is",
    r"ok \d+ - exit fast path: RDTSC and RDTSCP at one RIP, remapped with INVLPG and with a CR3 "
    r"reload, each run as it is \(0 of 12 wrong\)",
]


def must_for(vms):
    out = vm_passed(*vms, "after-mem")
    for vm in vms:
        out += [rf"^\[{vm}\] " + c for c in CONTAIN_CHECKS]
    for vm in ("pde-past-ram", "cr3-past-ram"):
        out += [rf"vm {vm}: the guest's page-table walk reached unbacked address 0x1400000",
                rf"vm {vm}: ended by stopped by the hypervisor \(nested page fault the "
                rf"hypervisor cannot emulate \(GPA 0x14000"]
    out += [r"vmm: 5 VM\(s\): 3 passed, 0 skipped, 2 failed"]
    return out


MUST_NOT = [r"^\[(mem-16|mem-18|after-mem|pde-past-ram|cr3-past-ram)\] not ok",
            r"^\[(mem-16|mem-18)\] ok \d+ # SKIP",
            r"\*\*\* VM '(mem-16|mem-18|after-mem)'",
            r"\*\*\* hypervisor exception"]


def cases():
    cfg = os.path.join(CFG, "hostile-mem.cfg")
    odd = os.path.join(CFG, "hostile-mem-odd.cfg")
    return [
        Case("qemu-svm:hostile-mem", [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "300", cfg],
             timeout=360, weight=4, ok_status=(1,),
             must=must_for(("mem-16", "mem-18")) + [r"vmm: SVM backend enabled"], must_not=MUST_NOT),
        Case("bochs-vmx:hostile-mem", [BOOT] + SKYLAKE + ["--cpus", "2", "--timeout", "600", cfg],
             timeout=660, weight=30, ok_status=(1,),
             must=must_for(("mem-16", "mem-18")) + [r"vmm: VMX backend enabled"], must_not=MUST_NOT),
        # memory = 17: refused by the config parser, naming line and key;
        # nothing runs.
        Case("bad-config:hostile-mem-odd", [BOOT, "--emulator", "qemu", odd],
             timeout=180, ok_status=(1,), weight=2,
             must=[r"tscvisor\.cfg:7: key 'memory': \"17\" is not allowed: memory must be a multiple of 2 MiB",
                   r"no VM started", r"TSCVISOR-RESULT: FAIL"],
             must_not=[r"TSCVISOR-RESULT: PASS", r"config: VM '", r"vm odd: starting"]),
    ]
