"""The guest's COM1 16550A and console input (guest-tests/uart.c,
pure/uart16550.c, vmm/console.c): scratch, IER, FIFO bits in IIR, THRE
interrupt pending and cleared by reading IIR, loopback echo, receive
interrupt and timeout, overrun; then bytes typed on the hypervisor's console
(QEMU's stdio) arrive in the guest in order, a full FIFO holding the rest
back, and the Ctrl-A keys answer. The VM after it keeps its FIFO's bytes,
trigger level and pending THRE across a snapshot and the restore from it.
On QEMU SVM. And Linux's 8250 driver finds a 16550A there."""

import os

from testlib.common import *  # noqa: F401,F403

INPUT = "tscvisor uart input 0123456789 abcdefghijklmnopqrstuvwxyz!"
# Ctrl-A h (help), Ctrl-A n (next: the only VM), Ctrl-A 9 (no such VM),
# Ctrl-A Ctrl-A (a Ctrl-A for the guest), then the text.
TYPED = r"\x01h\x01n\x019\x01\x01" + INPUT

MUST_NOT = [r"^\[[\w-]+\] not ok", r"\*\*\* VM", r"\[ERROR\]"]
MUST = vm_passed("uart", "uart-after") + [
    r"\[uart\] ok \d+ - IER\.ETBEI set with THR empty: IIR 0xc2",
    r"\[uart\] ok \d+ - THRE cleared by reading IIR: IIR 0xc1",
    r"\[uart\] ok \d+ - FIFOs on \(FCR 0x07\): IIR 0xc1",
    r"\[uart\] ok \d+ - loopback MCR 0x1a: MSR bits 7:4 0x90",
    r"\[uart\] ok \d+ - loopback returned 4 bytes 'LOOP'",
    r"\[uart\] ok \d+ - one byte below trigger 4: IIR 0xcc",
    r"\[uart\] ok \d+ - 17 bytes into the FIFO: LSR 0x63 then 0x61",
    r"\[uart\] ok \d+ - the FIFO kept 16 bytes in order",
    r"\[uart\] ok \d+ - input arrived without an exit: first IIR 0xc4",
    r"\[uart\] ok \d+ - input waiting: LSR 0x61",
    r"\[uart\] ok \d+ - first read took (1[6-9]|[2-5]\d) bytes",
    r"\[uart\] ok \d+ - received 59 of 59 bytes, in order: equal",
    r"\[uart\] # uart: received \"" + INPUT + r"\"",
    r"\[uart-after\] ok \d+ - the FIFO kept 16 bytes in order",
    r"\[uart-after\] ok \d+ - a snapshot was taken \(0\) and the VM restored",
    r"\[uart-after\] ok \d+ - after the restore: IIR 0xcc",
    r"\[uart-after\] ok \d+ - the FIFO's bytes came back: 'SNP'",
    r"\[uart-after\] ok \d+ - THRE still pending: IIR 0xc2 then 0xc1",
    r"console: VM 1 'uart' has the console; keys: Ctrl-A n next VM",
    r"console: VM 1 'uart' has the console$",
    r"console: no VM 9 \(VMs 1-1 so far\); VM 1 'uart' keeps the console",
    r"TSCVISOR-RESULT: PASS",
]


def cases():
    cfg = os.path.join(CFG, "uart.cfg")
    return [
        Case("qemu-svm:uart",
             [BOOT, "--emulator", "qemu", "--cpus", "1", "--timeout", "240",
              "--type", r"# uart: ready for input", TYPED, cfg],
             timeout=300, weight=2, must=MUST, must_not=MUST_NOT),
        # Linux's own probe of the same UART (needs `make linux-guest`).
        Case("qemu-svm:uart-linux-16550a",
             [BOOT, "--emulator", "qemu", "--cpus", "1", "--timeout", "400",
              os.path.join(CFG, "uart-linux.cfg")],
             timeout=460, weight=8,
             must=[r"^\[linux\] \[ *[\d.]+\] serial8250: ttyS0 at I/O 0x3f8 \(irq = 4, "
                   r"base_baud = 115200\) is a 16550A$",
                   r"^\[linux\] RESULT: PASS", r"TSCVISOR-RESULT: PASS"] + vm_passed("linux"),
             must_not=[r"is a 16450", r"LSR safety check", r"Kernel panic",
                       r"^\[linux\] not ok"]),
    ]
