"""A consistent virtual CPU (guest-tests/cpumodel.c, pure/cpumodel.c): the
guest reads every CPUID leaf it is shown; each shown feature's MSRs and
instructions work, each hidden feature's MSRs #GP and instructions #UD;
AMD's legacy PerfEvtSel/PerfCtr 0-3 read 0 and take writes, PerfCtrExtCore
and PDCM are hidden and their MSRs #GP; Intel's MISC_ENABLE and PLATFORM_ID
read. On QEMU SVM, Bochs VMX (corei7_skylake_x) and Bochs SVM (ryzen); the
VM after it passes."""

import os

from testlib.common import *  # noqa: F401,F403

MUST_NOT = [r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"\[ERROR\]"]
COMMON = [r"\[cpumodel\] ok \d+ - PDCM hidden: RDMSR 0x345 #GPs",
          r"\[cpumodel\] ok \d+ - MTRR hidden: RDMSR 0xfe #GPs",
          r"\[cpumodel\] ok \d+ - MCA hidden: RDMSR 0x179 #GPs",
          r"\[cpumodel\] ok \d+ - no PMU beyond the architectural",
          r"\[cpumodel\] ok \d+ - x2APIC shown: enabled it",
          r"TSCVISOR-RESULT: PASS"]
AMD = [r"\[cpumodel\] ok \d+ - AMD legacy PerfEvtSel0-3/PerfCtr0-3 read 0 without #GP",
       r"\[cpumodel\] ok \d+ - AMD legacy PerfEvtSel0-3/PerfCtr0-3 take writes",
       r"\[cpumodel\] ok \d+ - PerfCtrExtCore hidden: RDMSR 0xc0010200 #GPs"]
INTEL = [r"\[cpumodel\] ok \d+ - IA32_MISC_ENABLE reads",
         r"\[cpumodel\] ok \d+ - IA32_PLATFORM_ID reads",
         r"vmm: VMX backend enabled"]


def cases():
    cfg = os.path.join(CFG, "cpumodel.cfg")
    must = vm_passed("cpumodel", "after-cpumodel") + COMMON
    bochs = ["--emulator", "bochs", "--ips", str(BOCHS_IPS), "--cpus", "1", "--timeout", "840"]
    return [
        Case("qemu-svm:cpumodel",
             [BOOT, "--emulator", "qemu", "--cpus", "1", "--timeout", "300", cfg],
             timeout=360, weight=2, must=must + AMD, must_not=MUST_NOT),
        Case("bochs-vmx:cpumodel",
             [BOOT] + bochs + ["--cpu-model", "corei7_skylake_x", cfg],
             timeout=900, weight=20, must=must + INTEL, must_not=MUST_NOT),
        Case("bochs-svm:cpumodel",
             [BOOT] + bochs + ["--cpu-model", "ryzen", cfg],
             timeout=900, weight=20, must=must + AMD, must_not=MUST_NOT),
    ]
