"""Shared pieces of the test matrix: the Case record, paths, and checks that
read the hypervisor's and guests' output. Case files in scripts/cases/ use
them; scripts/run-tests runs what they return."""

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
BOOT = os.path.join(ROOT, "scripts", "boot")
BARE = os.path.join(ROOT, "scripts", "bare-test")
CFG = os.path.join(ROOT, "guest-tests", "configs")
BOCHS_IPS = 50_000_000
# QEMU with one host thread running the emulated CPUs by turns, for cases
# whose VMs time-slice several vCPUs on one pCPU and for the exit-heavy
# exerciser: with a thread per CPU, QEMU 7.2 sometimes makes a second
# #VMEXIT right after the first, which writes the hypervisor's own state
# into the vCPU's VMCB (docs/platform.md, "Host state in a VMCB"). The other
# cases keep the default, so truly concurrent pCPUs stay tested.
TCG_SINGLE = ["--tcg-threads", "single"]


class Case:
    def __init__(self, name, argv, timeout=300, ok_status=(0,), skip_status=(),
                 must=(), must_not=(), check=None, weight=1):
        self.name, self.argv, self.timeout = name, argv, timeout
        self.ok_status, self.skip_status = ok_status, skip_status
        self.must, self.must_not, self.check = must, must_not, check
        self.weight = weight  # rough cost, to start slow cases first


_host_khz = None


def host_tsc_khz():
    """This machine's TSC rate (the rate QEMU TCG gives its guests), measured once."""
    global _host_khz
    if _host_khz is not None:
        return _host_khz
    exe = os.path.join(BUILD, "host-tsc-khz")
    _host_khz = int(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)
    return _host_khz


def calib_within(expected_khz, tol_pct):
    """A check: the hypervisor's calibrated host TSC is within tol_pct of expected."""
    def check(out):
        m = re.search(r"calib: host TSC (\d+) kHz", out)
        if not m:
            return "no calibration line in the log"
        got = int(m.group(1))
        err = abs(got - expected_khz) * 100.0 / expected_khz
        if err > tol_pct:
            return f"calibrated {got} kHz, expected {expected_khz} kHz within {tol_pct}% (off {err:.3f}%)"
        return None
    return check


def exit_count(out, vm, reason):
    """How many exits of `reason` the hypervisor counted for VM `vm` (0 if none)."""
    m = re.search(rf"vm {re.escape(vm)}: exit {re.escape(reason)}\s+(\d+)\s", out)
    return int(m.group(1)) if m else 0


def guest_khz(out, vm):
    m = re.search(rf"^\[{re.escape(vm)}\] # tsc_khz=(\d+)", out, re.M)
    return int(m.group(1)) if m else None


def all_checks(*checks):
    def check(out):
        for c in checks:
            msg = c(out)
            if msg:
                return msg
        return None
    return check


def exits_at_least(vm, reason, n):
    def check(out):
        got = exit_count(out, vm, reason)
        return None if got >= n else f"VM {vm}: {got} {reason} exits, expected at least {n}"
    return check


def exits_none(vm, *reasons):
    def check(out):
        for r in reasons:
            got = exit_count(out, vm, r)
            if got:
                return f"VM {vm}: {got} {r} exits, expected none (native mode must not trap)"
        return None
    return check


def guest_rate_near(vm, khz, ppm):
    def check(out):
        got = guest_khz(out, vm)
        if got is None:
            return f"VM {vm}: no '# tsc_khz=' line"
        err = abs(got - khz) * 1e6 / khz
        return None if err <= ppm else f"VM {vm}: guest measured {got} kHz, expected {khz} within {ppm} ppm (off {err:.0f})"
    return check


def _guest_ns_at_most(vm, label, max_us, what):
    """A check: the guest's "# LABEL: N ns" line is there and N lies in
    0..max_us microseconds; `what` names the measure in the message."""
    def check(out):
        m = re.search(rf"^\[{re.escape(vm)}\] # {re.escape(label)}: (-?\d+) ns", out, re.M)
        if not m:
            return f"VM {vm}: no '# {label}' line"
        ns = int(m.group(1))
        if ns < 0 or ns > max_us * 1000:
            return f"VM {vm}: {what} {ns} ns across the save/restore, allowed 0..{max_us} us"
        return None
    return check


def step_at_most(vm, max_us):
    """The guest's own measure of its clock's step across a save and restore
    (save_restore's "# step across the save/restore: N ns")."""
    return _guest_ns_at_most(vm, "step across the save/restore", max_us, "the guest's clock stepped")


def step_beyond_sampling_at_most(vm, max_us):
    """For a guest that waits for the operator's save (save_restore's
    wait_save): its step less the sample intervals of its own that it spans
    ("# step beyond the guest's own sampling: N ns")."""
    return _guest_ns_at_most(vm, "step beyond the guest's own sampling", max_us,
                             "beyond its own sampling, the guest's clock stepped")


def vm_passed(*names):
    return [rf"vm {re.escape(n)}: ended by exit port \(exit port 0xf4\), status 1: PASS" for n in names]


# The per-vCPU pvclock window: one GPA, each vCPU's own area (nested
# page tables per vCPU), across vCPU moves and a save/restore; a guest
# that writes to it is stopped, and the VM after it still runs. The boot
# as a whole fails (that VM), so its status is 1.
WINDOW_MUST = (vm_passed("window-native", "window-emulate", "window-after")
               + [r"vm window-write: ended by stopped by the hypervisor \(write to the read-only pvclock window\)",
                  r"\*\*\* VM 'window-write' vCPU \d: write to the read-only pvclock window",
                  r"\[window-native\] ok \d+ - after CPU 1 moved its TSC: its window's pair differs",
                  r"\[window-native\] ok \d+ - after a save and restore .* every CPU still reads its own window",
                  r"\[window-emulate\] ok \d+ - no warp reading the time through the window: 0 warp",
                  r"vmm: 4 VM\(s\): 3 passed, 0 skipped, 1 failed"])
# x87/SSE registers per vCPU across time slicing and vCPU moves.
FPU_MUST = (vm_passed("fpu-sliced", "fpu-moves", "fpu-save")
            + [r"vm fpu-sliced: 4 vCPU\(s\) on 2 pCPU\(s\), time-sliced",
               r"\[fpu-sliced\] ok \d+ - CPU 3: its XMM0-15 and MXCSR stayed its own \(0 of [1-9]",
               r"\[fpu-moves\] ok \d+ - CPU 1: its XMM0-15 and MXCSR stayed its own \(0 of [1-9]",
               r"vm fpu-moves: vCPU 1: .* [1-9]\d* moves between pCPUs",
               r"\[fpu-save\] ok \d+ - half-way a snapshot was taken \(0\) and the VM restored",
               r"\[fpu-save\] ok \d+ - CPU 2: its XMM0-15 and MXCSR stayed its own \(0 of [1-9]",
               r"TSCVISOR-RESULT: PASS"])
FPU_MUST_NOT = [r"^\[[\w-]+\] not ok", r"\*\*\* VM"]

# A hostile guest (guest-tests/hostile.c, configs/hostile.cfg): #UD for the
# instructions it does not have, #GP for MSRs that do not exist, all-ones
# from nothing, INVD done as nothing; a triple fault through a broken IDT
# and a vCPU halted for ever each stop their VM alone, and the VMs after them
# pass. The boot as a whole fails (two VMs), so its status is 1.
HOSTILE_MUST = (vm_passed("probe", "after-triple", "after-all")
                + [r"\[probe\] ok \d+ - VMRUN raises #UD",
                   r"\[probe\] ok \d+ - VMXON raises #UD",
                   r"\[probe\] ok \d+ - MSR 0xbadc0de does not exist: RDMSR #GP",
                   r"\[probe\] ok \d+ - GPA 0xc0000000: no RAM, no device: reads 0xffffffff",
                   r"\[probe\] ok \d+ - INVD returns and loses no write",
                   r"vm probe: exit INVD/WBINVD +[12] ",
                   r"\*\*\* VM 'triple' vCPU 0: triple fault",
                   r"vm triple: ended by triple fault",
                   r"vm stuck: ended by halted forever",
                   r"vmm: 5 VM\(s\): 3 passed, 0 skipped, 2 failed"])
HOSTILE_MUST_NOT = [r"^\[(probe|after-triple|after-all)\] not ok", r"\[(probe|after-all)\] ok \d+ # SKIP",
                    r"\*\*\* VM '(probe|after-triple|stuck|after-all)'"]
WINDOW_MUST_NOT = [r"^\[window-(native|emulate|after)\] not ok", r"\*\*\* VM 'window-(native|emulate|after)'"]
