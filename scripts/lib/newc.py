"""newc cpio archives (the initramfs format Linux unpacks), written without a
cpio tool or root: device nodes are records, not mknod calls.

    write(path, [entry(name, mode, data, rdev), ...])
"""

import stat

_ino = [1]


def entry(name, mode, data=b"", rdev=(0, 0)):
    """One record: "070701", 13 fields of 8 hex digits, the name (NUL-ended)
    padded to 4 bytes, then the data padded to 4 bytes."""
    fields = [_ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(name) + 1, 0]
    _ino[0] += 1
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    rec = hdr + name.encode() + b"\0"
    rec += b"\0" * (-len(rec) % 4)
    rec += data + b"\0" * (-len(data) % 4)
    return rec


def directory(name, perm=0o755):
    return entry(name, stat.S_IFDIR | perm)


def chardev(name, major, minor, perm=0o600):
    return entry(name, stat.S_IFCHR | perm, rdev=(major, minor))


def regular(name, data, perm=0o644):
    return entry(name, stat.S_IFREG | perm, data)


def symlink(name, target):
    return entry(name, stat.S_IFLNK | 0o777, target.encode())


def write(path, records):
    """The records, the trailer, padded to 512 bytes."""
    arc = b"".join(records) + entry("TRAILER!!!", 0)
    arc += b"\0" * (-len(arc) % 512)
    with open(path, "wb") as f:
        f.write(arc)
