#!/usr/bin/env python3
"""Marks one symbol-version requirement of an ELF64 shared library weak (VER_FLG_WEAK), in place.

The dynamic loader refuses a library whose .gnu.version_r asks for a version (e.g. GLIBCXX_3.4.32) that the
named dependency does not define, unless the requirement is weak; a weak one is only checked symbol by symbol,
so a definition found elsewhere (an unversioned one in a library loaded beside it) satisfies it.
Usage: weak_version.py LIBRARY VERSION_NAME
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def mark_weak(path, version):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a little-endian ELF64 file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        for sh in sections:
            if sh[1] != SHT_GNU_VERNEED:
                continue
            strtab_off = sections[sh[6]][4]  # sh_link names the string table
            count = sh[7]                      # sh_info: number of Verneed entries
            need = sh[4]
            for _ in range(count):
                _ver, cnt, _file, aux, nxt = struct.unpack_from("<HHIII", data, need)
                a = need + aux
                for _ in range(cnt):
                    _hash, flags, _other, name, anext = struct.unpack_from("<IHHII", data, a)
                    end = data.index(b"\0", strtab_off + name)
                    if data[strtab_off + name:end].decode() == version:
                        struct.pack_into("<H", data, a + 4, flags | VER_FLG_WEAK)
                        f.seek(0)
                        f.write(data)
                        return True
                    a += anext
                need += nxt
    return False


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if not mark_weak(sys.argv[1], sys.argv[2]):
        sys.exit(f"{sys.argv[1]}: no requirement of version {sys.argv[2]}")
    print(f"{sys.argv[1]}: {sys.argv[2]} marked weak")
