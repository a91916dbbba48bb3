"""Foundation cases: host unit tests, guest tests bare on QEMU, tscvisor
booted (dry run) under QEMU and Bochs, configuration refusals, the
hypervisor's own exception path."""

import glob
import os

from testlib.common import *  # noqa: F401,F403

def cases():
    """Issue 2 (foundation): unit tests, bare guest tests, boots, refusals."""
    out = []
    for t in sorted(glob.glob(os.path.join(BUILD, "tests", "test_*"))):
        if os.access(t, os.X_OK) and not t.endswith((".log", ".d")):
            out.append(Case("unit:" + os.path.basename(t), [t], timeout=300,
                            must=[r"^1\.\.\d+$"], must_not=[r"^not ok"]))

    for elf in sorted(glob.glob(os.path.join(BUILD, "guest-tests", "*.elf"))):
        name = os.path.basename(elf)[:-4]
        out.append(Case("bare-qemu:" + name, [BARE, elf], timeout=180, skip_status=(77,),
                        must=[r"RESULT: (PASS|SKIP)"], must_not=[r"^not ok"], weight=2))
    rate = os.path.join(BUILD, "guest-tests", "tsc_rate.elf")
    if os.path.exists(rate):
        # Under icount the TSC runs at exactly 1 GHz of virtual time.
        out.append(Case("bare-qemu-icount:tsc_rate@1GHz",
                        [BARE, rate, "-icount", "shift=0,sleep=off",
                         "-append", "expect_khz=1000000 tol_ppm=100"],
                        timeout=300, must=[r"RESULT: PASS"], must_not=[r"^not ok"], weight=3))

    out.append(Case("lint:cppcheck", [os.path.join(ROOT, "scripts", "lint")], timeout=600,
                    weight=5, must=[r"^lint: PASS"]))
    # The layers of docs/architecture.md: the include graph and the objects'
    # symbols (the hypervisor is built before the cases run), and the check's
    # own self-test (three rules broken on purpose in a copy must be found).
    out.append(Case("layers:check", [os.path.join(ROOT, "scripts", "check-layers")], timeout=120,
                    weight=1, must=[r"^check-layers: PASS"], must_not=[r"may not"]))
    out.append(Case("layers:self-test", [os.path.join(ROOT, "scripts", "check-layers"),
                                         "--self-test"], timeout=120, weight=1,
                    must=[r"^check-layers self-test: PASS"]))

    hz = host_tsc_khz()
    boot_cfg = os.path.join(CFG, "foundation.cfg")
    out.append(Case("qemu-svm:boot", [BOOT, "--emulator", "qemu", "--cpus", "1", boot_cfg],
                    timeout=180, weight=3,
                    must=[r"cpu: vendor AuthenticAMD", r"cpu: SVM yes: NPT yes",
                          r"config: VM 'native'", r"config: VM 'emulate'.*tsc_mode emulate",
                          r"measured against the ACPI PM timer \(found by ACPI FADT",
                          r"identity map", r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"], check=calib_within(hz, 1.0)))
    out.append(Case("qemu-svm:boot-icount", [BOOT, "--emulator", "qemu", "--cpus", "1",
                                             "--icount", "3", boot_cfg],
                    timeout=240, weight=3,
                    must=[r"cpu: SVM yes", r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"], check=calib_within(1_000_000, 0.1)))
    out.append(Case("bochs-vmx:boot", [BOOT, "--emulator", "bochs", "--cpu-model", "corei7_skylake_x",
                                       "--ips", str(BOCHS_IPS), boot_cfg],
                    timeout=400, weight=10,
                    must=[r"cpu: vendor GenuineIntel",
                          r"cpu: VMX yes: EPT yes, VPID yes, unrestricted guest yes, TSC offsetting yes, "
                          r"RDTSC exiting yes, TSC multiplier yes",
                          r"measured against the ACPI PM timer \(found by PCI PIIX4",
                          r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"], check=calib_within(BOCHS_IPS // 1000, 1.0)))
    out.append(Case("bochs-svm:boot", [BOOT, "--emulator", "bochs", "--cpu-model", "ryzen",
                                       "--ips", str(BOCHS_IPS), boot_cfg],
                    timeout=400, weight=10,
                    must=[r"cpu: vendor AuthenticAMD", r"cpu: SVM yes: NPT yes, NRIPS yes",
                          r"TSCVISOR-RESULT: PASS"],
                    must_not=[r"\[ERROR\]"], check=calib_within(BOCHS_IPS // 1000, 1.0)))

    # Refusals: the hypervisor names file, line and key, starts nothing, fails.
    bad = [
        ("bad-config:unknown-key", "bad-unknown-key.cfg", r"tscvisor\.cfg:6: key 'tsc_mod': "),
        ("bad-config:bad-value", "bad-value.cfg", r"tscvisor\.cfg:5: key 'tsc_mode': "),
        ("bad-config:missing-kernel", "bad-missing-kernel.cfg",
         r"tscvisor\.cfg:8: key 'kernel': VM 'second': cannot load .*not found"),
        ("bad-config:no-vm", "bad-no-vm.cfg", r"tscvisor\.cfg: .*no VM"),
    ]
    for name, cfg, pattern in bad:
        out.append(Case(name, [BOOT, "--emulator", "qemu", os.path.join(CFG, cfg)],
                        timeout=180, ok_status=(1,), weight=2,
                        must=[pattern, r"no VM started", r"TSCVISOR-RESULT: FAIL"],
                        must_not=[r"TSCVISOR-RESULT: PASS", r"config: VM '"]))
    out.append(Case("hv-exception:register-dump", [BOOT, "--emulator", "qemu",
                                                   os.path.join(CFG, "selftest-fault.cfg")],
                    timeout=180, ok_status=(1,), weight=2,
                    must=[r"\*\*\* hypervisor exception: #UD invalid opcode \(vector 6\)",
                          r"RIP 0x[0-9a-f]{16} \(image base", r"CR0 0x", r"TSCVISOR-RESULT: FAIL"],
                    must_not=[r"TSCVISOR-RESULT: PASS"]))
    return out


