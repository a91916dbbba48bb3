"""The exit fast path, measured (scripts/bench, docs/performance.md): the
bench kernel on both backends with 100 iterations per sequence (the numbers
are exact instruction counts either way), failing when a trapped RDTSC or
RDTSCP, CPUID or the null hypercall costs the hypervisor more than 150
instructions: the fast path answers in 66-85 (QEMU SVM) and 40-62 (Bochs
VMX), the run loop in more than 500. `scripts/bench --check-targets` is not
this case: targets are still missed on both backends (docs/performance.md)."""

import os

from testlib.common import *  # noqa: F401,F403

BENCH = os.path.join(ROOT, "scripts", "bench")


def cases():
    must = [r"^bench: %s %s_hv \d+ insns" % (be, n)
            for be in ("svm", "vmx")
            for n in ("rdtsc_trapped", "rdtscp_trapped", "cpuid", "hypercall_null")]
    must.append(r"^bench: every fast exit within 150 hypervisor instructions")
    return [Case("bench:fast-path", [BENCH, "--iters", "100", "--max-hv", "150", "--timeout", "600"],
                 timeout=1500, weight=30, must=must, must_not=[r"ended FAIL", r"not measured"])]
