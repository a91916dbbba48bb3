"""Build a tscvisor EFI System Partition (ESP), as a directory or a FAT16 image.

Layout on the ESP (the hypervisor's contract):
    \\EFI\\BOOT\\BOOTX64.EFI   the hypervisor (tscvisor.efi)
    \\tscvisor.cfg            the config, kernel paths relative to the ESP root
    <kernel files>            where the config names them

A kernel path is resolved on the host relative to the config file's folder.  A
relative path without `..` keeps its place on the ESP; any other (absolute, or
with `..`) goes to kernels/BASENAME and the config's value is rewritten in place,
on the same line, so that line numbers in the hypervisor's messages still match
the file the user wrote.  A kernel missing on the host is left alone: reporting
it is the hypervisor's job (and a test case).

Standard library only; used by scripts/mkesp and scripts/boot.
"""

import os
import shutil
import subprocess
import sys

# Config keys whose value is a file to put on the ESP.
FILE_KEYS = ("kernel", "restore", "ramdisk")

# Bochs disk geometry: partitionless FAT16, 16 heads x 63 sectors per track.
HEADS = 16
SPT = 63
SECTOR = 512
MIN_CYLINDERS = 64
CYLINDER_BYTES = HEADS * SPT * SECTOR

EFI_ESP_PATH = "EFI/BOOT/BOOTX64.EFI"
CFG_ESP_PATH = "tscvisor.cfg"


class EspError(Exception):
    pass


def log(msg):
    print("mkesp: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Config scanning
# --------------------------------------------------------------------------

def _parse_value(line, start):
    """Parse the value that begins at or after line[start].

    Returns (vstart, vend, quote) where line[vstart:vend] is the value without
    its quotes and quote is '"', "'" or '' (bare), or None for an empty value.
    A bare value ends at '#' (comment) or at the end of the line; trailing
    blanks and a CR are not part of it.
    """
    n = len(line)
    i = start
    while i < n and line[i] in " \t":
        i += 1
    if i >= n or line[i] in "\r#":
        return None
    if line[i] in "\"'":
        q = line[i]
        j = line.find(q, i + 1)
        if j < 0:           # unterminated: let the hypervisor complain
            return None
        return (i + 1, j, q)
    j = i
    while j < n and line[j] != "#":
        j += 1
    while j > i and line[j - 1] in " \t\r":
        j -= 1
    return (i, j, "")


def scan_config(text):
    """Yield (index, line, key, vstart, vend, quote) for every file key.

    text is split on '\\n' only, so line i of the list is line i+1 of the file.
    """
    lines = text.split("\n")
    for idx, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("["):
            continue
        eq = line.find("=")
        if eq < 0:
            continue
        key = line[:eq].strip()
        if key.lower() not in FILE_KEYS:
            continue
        v = _parse_value(line, eq + 1)
        if v is None:
            continue
        yield (idx, line, key, v[0], v[1], v[2])


def _split(path):
    """Split a config path on '/' or '\\' into non-empty components."""
    return [c for c in path.replace("\\", "/").split("/") if c not in ("", ".")]


def _is_simple_relative(value):
    if value.startswith("/") or value.startswith("\\"):
        return False
    if len(value) >= 2 and value[1] == ":":          # C:... style
        return False
    return ".." not in value.replace("\\", "/").split("/")


# --------------------------------------------------------------------------
# Planning: which host file goes where, and what the config becomes
# --------------------------------------------------------------------------

class Plan:
    def __init__(self):
        self.files = []        # (esp_path with '/', host_path)
        self.cfg_text = ""
        self.notes = []        # human-readable lines about what was done


def make_plan(efi_path, config_path):
    if not os.path.isfile(efi_path):
        raise EspError("EFI image not found: %s (run make?)" % efi_path)
    if not os.path.isfile(config_path):
        raise EspError("config not found: %s" % config_path)
    with open(config_path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", "surrogateescape")
    cfg_dir = os.path.dirname(os.path.abspath(config_path))

    plan = Plan()
    # ESP paths taken, case-insensitively (FAT), -> real host path.
    taken = {EFI_ESP_PATH.lower(): None, CFG_ESP_PATH.lower(): None}
    plan.files.append((EFI_ESP_PATH, efi_path))
    lines = text.split("\n")

    for idx, line, key, vs, ve, quote in scan_config(text):
        value = line[vs:ve]
        lineno = idx + 1
        parts = _split(value)
        if value.startswith("/") or value.startswith("\\"):
            host = "/" + "/".join(parts)
        else:
            host = os.path.join(cfg_dir, *parts) if parts else cfg_dir
        if not os.path.isfile(host):
            plan.notes.append("line %d: %s %r not found on the host (left as is)"
                              % (lineno, key, value))
            continue
        real = os.path.realpath(host)

        if _is_simple_relative(value):
            esp = "/".join(parts)
            prev = taken.get(esp.lower(), "free")
            if prev == "free":
                taken[esp.lower()] = real
                plan.files.append((esp, host))
            elif prev != real:
                raise EspError("line %d: %r clashes on the (case-insensitive) ESP "
                               "with another file" % (lineno, value))
            plan.notes.append("line %d: %s %s" % (lineno, key, esp))
            continue

        # Absolute or with '..': put it under kernels/, reusing a slot that
        # already holds the same host file.
        base = parts[-1]
        esp = None
        n = 1
        while esp is None:
            cand = "kernels/%s" % base if n == 1 else "kernels/%d/%s" % (n, base)
            prev = taken.get(cand.lower(), "free")
            if prev == "free":
                taken[cand.lower()] = real
                plan.files.append((cand, host))
                esp = cand
            elif prev == real:
                esp = cand
            n += 1
        new = esp
        if quote:
            if quote in new:
                raise EspError("line %d: cannot quote rewritten path %r" % (lineno, new))
            line = line[:vs] + new + line[ve:]
        else:
            if any(c in new for c in " \t#\"'"):
                q = "'" if '"' in new else '"'
                new = q + new + q
            line = line[:vs] + new + line[ve:]
        lines[idx] = line
        plan.notes.append("line %d: %s %s -> %s (rewritten)" % (lineno, key, value, esp))

    plan.cfg_text = "\n".join(lines)
    assert plan.cfg_text.count("\n") == text.count("\n")
    return plan


# --------------------------------------------------------------------------
# Writing the ESP
# --------------------------------------------------------------------------

def _write_cfg(plan, dest):
    with open(dest, "wb") as f:
        f.write(plan.cfg_text.encode("utf-8", "surrogateescape"))


def build_dir(plan, outdir):
    os.makedirs(outdir, exist_ok=True)
    for esp, host in plan.files:
        dst = os.path.join(outdir, *esp.split("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(host, dst)
    _write_cfg(plan, os.path.join(outdir, CFG_ESP_PATH))


def _run(cmd, env=None):
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise EspError("%s failed (status %d):\n%s"
                       % (" ".join(cmd), p.returncode, p.stdout.decode(errors="replace")))


def image_cylinders(plan):
    """Cylinders for an image that holds everything, at least 64."""
    total = os.path.getsize(plan.files[0][1]) + len(plan.cfg_text) + 4096
    for _, host in plan.files[1:]:
        total += os.path.getsize(host) + 4096
    need = (total * 9 // 8) + (2 << 20)              # FATs, root dir, slack
    cyl = -(-need // CYLINDER_BYTES)
    if cyl > 4000:                                    # FAT16 tops out near 2 GiB
        raise EspError("ESP contents too large for FAT16 (%d bytes)" % total)
    return max(MIN_CYLINDERS, cyl)


def build_image(plan, img, scratch):
    """Partitionless FAT16 image, CYL x 16 x 63; mtools only, no root."""
    for tool in ("mkfs.vfat", "mmd", "mcopy"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool) \
                and not os.path.exists("/sbin/" + tool):
            raise EspError("%s not found (run scripts/install-deps)" % tool)
    mkfs = shutil.which("mkfs.vfat") or ("/usr/sbin/mkfs.vfat"
                                         if os.path.exists("/usr/sbin/mkfs.vfat")
                                         else "/sbin/mkfs.vfat")
    cyl = image_cylinders(plan)
    sectors = cyl * HEADS * SPT
    if os.path.exists(img):
        os.unlink(img)
    with open(img, "wb") as f:
        f.truncate(sectors * SECTOR)
    _run([mkfs, "-F", "16", "-n", "TSCVISOR", "-h", "0",
          "-g", "%d/%d" % (HEADS, SPT), img])
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLSRC="/dev/null")
    dirs = set()
    for esp, _ in plan.files:
        comps = esp.split("/")[:-1]
        for i in range(1, len(comps) + 1):
            dirs.add("/".join(comps[:i]))
    for d in sorted(dirs, key=lambda d: (d.count("/"), d)):
        _run(["mmd", "-i", img, "::/" + d], env)
    cfg_tmp = os.path.join(scratch, "tscvisor.cfg")
    _write_cfg(plan, cfg_tmp)
    for esp, host in plan.files + [(CFG_ESP_PATH, cfg_tmp)]:
        _run(["mcopy", "-i", img, "-D", "o", host, "::/" + esp], env)
    return cyl
