#!/usr/bin/env python3
"""Marks an ELF executable's version requirements on a library as weak.

Usage: elf-weaken-verneed.py BINARY LIBPREFIX

For a binary linked against one release of a versioned library (Debian's
cuBLAS 11 defines the symbol version "libcublas.so.11") and run against
another (libcublas.so.13 defines "libcublas.so.13"), `patchelf
--replace-needed` renames the library and --clear-symbol-version unversions
its symbols, but the version-requirement entry stays and the loader refuses
the program. This sets VER_FLG_WEAK on every requirement of the libraries
whose file name starts with LIBPREFIX, so a missing version is not fatal.
Only the flags of .gnu.version_r change. Used by scripts/gpu-check.sh.
"""
import struct
import sys

VER_FLG_WEAK = 0x2


def main(path, prefix):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        secs = []
        for i in range(shnum):
            name, typ, _flags, _addr, off, size, link = struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize)
            secs.append((name, typ, off, size, link))
        SHT_GNU_verneed = 0x6FFFFFFE
        changed = 0
        for _name, typ, off, size, link in secs:
            if typ != SHT_GNU_verneed:
                continue
            stroff = secs[link][2]

            def cstr(o):
                end = data.index(b"\0", stroff + o)
                return data[stroff + o:end].decode()

            p = off
            while True:
                _ver, cnt, file_, aux, nxt = struct.unpack_from("<HHIII", data, p)
                if cstr(file_).startswith(prefix):
                    a = p + aux
                    for _ in range(cnt):
                        _h, flags, _other, vname, anext = struct.unpack_from("<IHHII", data, a)
                        struct.pack_into("<H", data, a + 4, flags | VER_FLG_WEAK)
                        print(f"{path}: requirement {cstr(vname)} of {cstr(file_)} made weak")
                        changed += 1
                        if anext == 0:
                            break
                        a += anext
                if nxt == 0:
                    break
                p += nxt
        f.seek(0)
        f.write(data)
    if changed == 0:
        print(f"{path}: no version requirement on {prefix}*")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
