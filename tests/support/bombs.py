"""Decompression bombs, built quickly: a 32 KiB zstd frame of 1 GiB and a 2 MiB gzip member of 2 GiB."""

from __future__ import annotations

import struct
import zlib
from functools import cache

import zstandard

_MIB = 1 << 20
_ZEROS = bytes(_MIB)


@cache
def zstd_bomb(mib: int = 1024) -> bytes:
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join([*(compressor.compress(_ZEROS) for _ in range(mib)), compressor.flush()])


@cache
def gzip_bomb(mib: int = 2048) -> bytes:
    """A valid gzip member: after a full flush every MiB of zeros deflates to the same block, so one block is
    repeated instead of compressing gigabytes (the trailer's CRC is still computed, at memory speed)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate.compress(_ZEROS)
    deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(_ZEROS) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(_ZEROS, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * mib + end + struct.pack("<II", crc, (mib * _MIB) & 0xFFFFFFFF)
