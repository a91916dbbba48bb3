"""Log floods: a guest causes events the hypervisor used to log one line
each (guest-tests/hostile_log.c, configs/hostile-log.cfg). Its lines are
rate-limited per VM (pure/ratelimit.c: VM_LOG_BURST at once, then
VM_LOG_PER_SEC a second), the count of those suppressed is reported, its
second vCPU keeps running, and the VM after it passes."""

import os
import re

from testlib.common import *  # noqa: F401,F403

# The hypervisor's lines about VM 'flood' (not its console lines "[flood] ..."):
# the unlimited ones (start, exit table, per-vCPU summaries, end: under 60)
# plus the limited ones, VM_LOG_BURST (20) at once and VM_LOG_PER_SEC (2) a
# second over the flood, whose length the guest reports in PM-timer time
# (the same clock as the host TSC the limiter uses: real time under QEMU,
# virtual under Bochs); 10 s of slack for the phases around the flood.
# Without the limit there are over 130000.
BURST, PER_SEC, FIXED = 20, 2, 60


def flood_lines_within(vm):
    def check(out):
        m = re.search(rf"^\[{re.escape(vm)}\] # flood took \d+ PM ticks \((\d+) ms\)", out, re.M)
        if not m:
            return f"VM {vm}: no '# flood took' line"
        bound = FIXED + BURST + PER_SEC * (int(m.group(1)) // 1000 + 10)
        n = len(re.findall(rf"^\[(?:ERROR|WARN |INFO |DEBUG)\] vm {re.escape(vm)}:", out, re.M))
        return None if n <= bound else f"{n} hypervisor log lines about VM {vm}, expected at most {bound}"
    return check


MUST = (vm_passed("flood", "after-flood")
        + [r"\[flood\] ok \d+ - 100000 kvmclock WRMSRs of areas beyond RAM: each #GP \(0 not\)",
           r"\[flood\] ok \d+ - CPU 1 not starved by the flood",
           r"\] vm flood: .*\[\d+ earlier lines of this VM suppressed: at most 20 at once",
           r"vm flood: [1-9]\d{4,} log lines it caused suppressed in all, \d+ shown",
           r"TSCVISOR-RESULT: PASS"])
MUST_NOT = [r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"vm after-flood: .*suppressed"]


def cases():
    cfg = os.path.join(CFG, "hostile-log.cfg")
    return fuzz_cases() + [
        Case("qemu-svm:hostile-log",
             [BOOT, "--emulator", "qemu", "--cpus", "2", "--timeout", "400", cfg],
             timeout=450, weight=4, must=MUST, must_not=MUST_NOT,
             check=flood_lines_within("flood")),
        Case("bochs-vmx:hostile-log",
             [BOOT, "--emulator", "bochs", "--cpu-model", "corei7_skylake_x",
              "--ips", str(BOCHS_IPS), "--cpus", "2", "--timeout", "840", cfg],
             timeout=900, weight=30, must=MUST + [r"vmm: VMX backend enabled"],
             must_not=MUST_NOT, check=flood_lines_within("flood")),
    ]


def fuzz_cases():
    """A few seconds of every libFuzzer target (tests/fuzz_*.c): each builds,
    replays its corpus and runs without a finding. The long runs are
    `make fuzz FUZZ_RUNS=10000000` (docs/testing.md, Fuzzing)."""
    import glob
    targets = sorted(os.path.basename(f)[:-2] for f in glob.glob(os.path.join(ROOT, "tests", "fuzz_*.c")))
    return [Case("fuzz:smoke", ["make", "-C", ROOT, "--no-print-directory", "BUILD=" + BUILD,
                                "fuzz", "FUZZ_SECONDS=3"],
                 timeout=900, weight=6,
                 must=[rf"^fuzz: {t}: \d+ runs in \d+ s, cov: \d+ ft: \d+, \d+ exec/s, no finding"
                       for t in targets],
                 must_not=[r"FAILED", r"ERROR: libFuzzer", r"ERROR: AddressSanitizer"])]
